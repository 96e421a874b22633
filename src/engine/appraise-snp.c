/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP evidence in the exchange: the verifier with the policy's anchors, then the bindings
 * (REPORT_DATA, HOST_DATA) and the policy. */
#include <string.h>
#include <time.h>

#include "appraise-internal.h"
#include "cvm/snp.h"
#include "cvm/util.h"

int appraise_snp(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_free_ SnpAnchor *anchors = NULL;
        _cleanup_free_ SnpAppraisal *a = calloc(1, sizeof(SnpAppraisal));
        _cleanup_free_ char *reason = NULL;
        const ProtoMsg *m = e->msg;
        SnpVerifyParams p = { .at = c->at ? c->at : (int64_t) time(NULL) };
        size_t n;
        int r;

        if (!chain || !a)
                return -ENOMEM;
        if (m->cert_table.size > 0 && snp_chain_add_cert_table(chain, m->cert_table.data, m->cert_table.size, &reason) < 0)
                verdict_check(v, "chain.load", CHECK_FAIL, "certificate table: %s", reason ? reason : "invalid");
        r = policy_snp_anchors(c->policy, &anchors, &n);
        if (r < 0)
                return r;
        p.anchors = anchors;
        p.n_anchors = n;
        p.require_crl = policy_snp_requires_crl(c->policy);
        r = snp_verify(m->report.data, m->report.size, chain, &p, a, v);
        if (r < 0)
                return r;
        if (verdict_has_failed_check(v))
                v->authentic = false;
        if (!a->parsed)
                return 0;
        appraise_check_equal(v, "binding.report-data", a->report.report_data, e->report_data, 64,
                    "REPORT_DATA = SHA-512(\"cvmd-attest-v1\" || nonce || guest key)");
        if (c->has_launch_digest)
                appraise_check_equal(v, "binding.host-data", a->report.host_data, c->launch_digest, 32,
                            "HOST_DATA = the launch digest");
        policy_evaluate_snp(c->policy, a, v);
        return 0;
}

