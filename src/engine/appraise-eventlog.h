/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What booted and what runs (appraise-eventlog.c), called by appraise-tdx.c and appraise-snp.c
 * once the quote or report is verified. */

#include "appraise-internal.h"

struct TdxQuote;

/* The event log the Evidence carries, replayed against q's RTMR0-3: a failed check
 * "eventlog.replay" naming each register that differs, else the claims "eventlog" (kernel,
 * initrd, cmdline, workloads) and the tdx section's log rules. No log: the rules that need one
 * refuse. 0 or -ENOMEM. */
int appraise_tdx_eventlog(const AppraiseConfig *c, const ExchangeEvidence *e, const struct TdxQuote *q, Verdict *v);
/* REPORT_DATA against the binding, with the workload digests the Evidence carries
 * (proto_report_data_workloads()), the claim "workloads" and snp.workload_digests. */
int appraise_snp_workloads(const AppraiseConfig *c, const ExchangeEvidence *e, const uint8_t report_data[64],
                           Verdict *v);
