/* SPDX-License-Identifier: Apache-2.0 */
/* The policy rules about what booted and what runs: the kernel, initrd and command line a TDX
 * event log shows once it replays to the quote's RTMRs, and the workloads the guest agent
 * measured (RTMR3 events on TDX, digests bound into REPORT_DATA on SEV-SNP). The appraisal
 * (src/engine/appraise-eventlog.c) finds these in the log; here they meet the policy. */
#include "cvm/policy.h"
#include "policy-internal.h"

bool policy_tdx_wants_eventlog(const Policy *p) {
        const PolicyTdx *s;

        if (!p || !p->has_tdx)
                return false;
        s = &p->tdx;
        return s->require_eventlog || s->kernel_digests.set || s->initrd_digests.set || s->cmdline_digests.set ||
               s->workload_digests.set;
}

/* One boot component: the policy's list, when set, needs the log to show it. */
static void eval_boot(Verdict *v, const char *rule, const char *field, const PolicyDigestList *l, bool has,
                      const uint8_t digest[48]) {
        if (!l->set)
                return;
        if (!has) {
                verdict_reason(v, "policy.tdx.%s: the event log shows no %s measurement, and the policy requires one",
                               rule, field);
                return;
        }
        policy_eval_digest_list(v, "tdx", rule, field, l, digest);
}

/* Every workload measured must be allowed, and at least one must have been measured. */
static void eval_workloads(Verdict *v, const char *section, const PolicyDigestList *l, const uint8_t *digests,
                           size_t n) {
        if (!l->set)
                return;
        if (n == 0) {
                verdict_reason(
                        v,
                        "policy.%s.workload_digests: the guest measured no workload, and the policy requires one "
                        "of its list",
                        section);
                return;
        }
        for (size_t i = 0; i < n; i++)
                policy_eval_digest_list(v, section, "workload_digests", "workload", l, digests + 48 * i);
}

void policy_evaluate_tdx_eventlog(const Policy *p, const PolicyMeasuredBoot *b, Verdict *v) {
        const PolicyTdx *s;

        if (!p || !p->has_tdx || !b || !v)
                return;
        s = &p->tdx;
        if (!b->has_eventlog) {
                if (s->require_eventlog)
                        verdict_reason(v,
                                       "policy.tdx.require_eventlog: the guest sent no event log that replays to its "
                                       "quote, and the policy requires one");
                else if (policy_tdx_wants_eventlog(p))
                        verdict_reason(v,
                                       "policy.tdx: the policy names kernel, initrd, command-line or workload digests, "
                                       "which only an event log shows, and the guest sent none");
                return;
        }
        eval_boot(v, "kernel_digests", "kernel", &s->kernel_digests, b->has_kernel, b->kernel);
        eval_boot(v, "initrd_digests", "initrd", &s->initrd_digests, b->has_initrd, b->initrd);
        eval_boot(v, "cmdline_digests", "command line", &s->cmdline_digests, b->has_cmdline, b->cmdline);
        eval_workloads(v, "tdx", &s->workload_digests, b->workloads, b->n_workloads);
}

void policy_evaluate_snp_workloads(const Policy *p, const uint8_t *digests, size_t n, Verdict *v) {
        if (!p || !p->has_snp || !v)
                return;
        eval_workloads(v, "snp", &p->snp.workload_digests, digests, n);
}
