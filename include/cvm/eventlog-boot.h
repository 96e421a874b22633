/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What a replayed TDX CC event log says booted and runs (src/engine/appraise-eventlog.c): the
 * kernel, initrd and command-line digests and the workloads cvm-agent measured into RTMR3, as
 * the appraisal's claims and as `cvmctl eventlog tdx` prints them. Only meaningful for a log that
 * replayed to the quote's RTMRs: before that it is the guest's word. */

#include <json-c/json.h>
#include <stdint.h>

#include "cvm/policy.h"
#include "cvm/tdx-measure.h"

/* Fills *b and returns the claims {"kernel", "initrd", "cmdline" (each present when the log has
 * it), "workloads": [{"digest", "description"}]}. With ret_workloads, *ret_workloads (malloc'ed,
 * b->n_workloads × 48 bytes) is what b->workloads points to; without, b->workloads is NULL.
 * 0 or -ENOMEM. */
int eventlog_read_boot(const CcEventLog *log, PolicyMeasuredBoot *b, uint8_t **ret_workloads,
                       json_object **ret_claims);
