/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A thread for the calls that block (libvirt above all: a stalled libvirtd must never stop
 * cvmd's event loop from answering D-Bus). Jobs run one at a time, in order, on the worker
 * thread; each job's completion is delivered on the sd-event loop that made the worker. */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "cvm/macro.h"

typedef struct Worker Worker;

/* Runs on the worker thread; returns 0 or -errno. */
typedef int (*WorkerJobFn)(void *userdata);
/* Runs on the event loop with the job's result. */
typedef void (*WorkerDoneFn)(int r, void *userdata);

int worker_new(sd_event *e, Worker **ret);
/* Stops the thread after the job it is running; the callbacks of jobs not yet completed on the
 * loop are never called (the owner frees what they would have touched). */
Worker *worker_free(Worker *w);
DEFINE_CLEANUP(Worker *, worker_free)

int worker_submit(Worker *w, WorkerJobFn fn, WorkerDoneFn done, void *userdata);
/* Jobs submitted and not yet completed on the loop. */
unsigned worker_pending(const Worker *w);
/* How long the job now running on the thread has run, in microseconds; 0 when none runs. An
 * owner with several workers sends new work past one whose job has hung. */
uint64_t worker_busy_usec(Worker *w);
