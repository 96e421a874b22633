/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by the appraisal dispatcher (appraise.c) and each TEE's appraisal. Each fills v's
 * checks, reasons and claims and sets v->authentic; appraise_evidence() decides v->accepted. */

#include "cvm/appraise.h"

int appraise_snp(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v);
int appraise_tdx(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v);
/* Every GPU's report and chain (checks "gpu<i>.*") with the policy's device roots, the per-GPU
 * nonces and the golden list, then the policy's gpu section. Keeps v->authentic false when it
 * was false; makes it false when a GPU is not authentic. */
int appraise_gpus(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v);
/* The switch chains in the evidence, parsed once for appraise_switches() and
 * appraise_switches_ocsp(): an unreadable chain stays NULL (its checks fail). -EINVAL above
 * PROTO_SWITCHES_MAX, -ENOMEM; the caller frees chains[0 .. n_switches). */
struct NvChain;
int appraise_switch_chains(const ExchangeEvidence *e, struct NvChain *chains[PROTO_SWITCHES_MAX]);
/* The NVSwitches passed through (c->gpu_switches) against the GPUs' appraisal b (checks
 * "nvswitch*", appraise-switch.c): makes v->authentic false when a switch is not authentic. */
struct NvBoardAppraisal;
int appraise_switches(const AppraiseConfig *c, const ExchangeEvidence *e, const struct NvBoardAppraisal *b,
                      struct NvChain *const *chains, Verdict *v);
/* OCSP for the switches' chains from c->gpu_source (checks "nvswitch<i>.ocsp"): 1 all good or no
 * switch, 0 not, -EINPROGRESS while the source fetches answers, -ENOMEM. */
int appraise_switches_ocsp(const AppraiseConfig *c, const ExchangeEvidence *e, struct NvChain *const *chains,
                           int64_t at, Verdict *v);

/* A binding check: passes when got equals want (constant time), named `name`. */
void appraise_check_equal(Verdict *v, const char *name, const uint8_t *got, const uint8_t *want, size_t n,
                          const char *what);
