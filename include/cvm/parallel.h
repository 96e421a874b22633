/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Running independent pieces of CPU work (the chains of a board's GPUs, a CPU report) on the
 * available cores. Results must go to per-item slots that the caller merges in item order
 * afterwards, so the outcome never depends on which thread ran what. */

#include <stddef.h>

/* Calls fn(userdata, i) for every i in [0, n), on up to parallel_workers() threads (the calling
 * thread and the process's parked helper threads, src/shared/parallel.c), and returns when all
 * are done. Falls back to running everything on the calling thread when threads cannot be
 * started. Safe to call from several threads and from inside fn. */
void parallel_for(size_t n, void (*fn)(void *userdata, size_t i), void *userdata);
/* Runs fg(fg_data) on the calling thread and, when parallel_workers() > 1, bg(bg_data) on another
 * thread at the same time; returns when both are done. bg (may be NULL) must be work whose only
 * effect is to make later work faster (filling caches), since it is skipped on one worker, when
 * no thread can be started, or when no helper thread took it up before fg finished. */
void parallel_beside(void (*fg)(void *fg_data), void *fg_data, void (*bg)(void *bg_data), void *bg_data);
/* The number of threads parallel_for() uses: the online CPUs (at most PARALLEL_WORKERS_MAX), or
 * what parallel_set_workers() set; CVM_WORKERS in the environment overrides the default. */
unsigned parallel_workers(void);
/* 0 restores the default; the benchmarks use 1 for their single-core figures. */
void parallel_set_workers(unsigned n);

#define PARALLEL_WORKERS_MAX 16u
