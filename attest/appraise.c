/* SPDX-License-Identifier: Apache-2.0 */
/* Appraising a guest's evidence for the exchange (include/cvm/appraise.h). */
#include <openssl/crypto.h>
#include <string.h>
#include <time.h>

#include "cvm/appraise.h"
#include "cvm/snp.h"
#include "cvm/util.h"

static void check_equal(Verdict *v, const char *name, const uint8_t *got, const uint8_t *want, size_t n,
                        const char *what) {
        if (CRYPTO_memcmp(got, want, n) == 0)
                verdict_check(v, name, CHECK_PASS, "%s", what);
        else
                verdict_check(v, name, CHECK_FAIL, "%s does not hold", what);
}

static int appraise_snp(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v) {
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
        check_equal(v, "binding.report-data", a->report.report_data, e->report_data, 64,
                    "REPORT_DATA = SHA-512(\"cvmd-attest-v1\" || nonce || guest key)");
        if (c->has_launch_digest)
                check_equal(v, "binding.host-data", a->report.host_data, c->launch_digest, 32,
                            "HOST_DATA = the launch digest");
        policy_evaluate_snp(c->policy, a, v);
        return 0;
}

int appraise_evidence(void *userdata, const ExchangeEvidence *e, Verdict *v) {
        const AppraiseConfig *c = userdata;
        int r;

        v->authentic = v->accepted = false;
        if (!c->policy)
                return -EINVAL;
        if (streq(e->msg->tee, "sev-snp"))
                r = appraise_snp(c, e, v);
        else {
                verdict_check(v, "tee", CHECK_FAIL, "%s evidence cannot be appraised by this build", e->msg->tee);
                r = 0;
        }
        if (r < 0)
                return r;
        if (e->gpus_requested > 0)
                verdict_check(v, "gpu", CHECK_FAIL, "%u GPUs were asked for and this build cannot verify GPU evidence",
                              e->gpus_requested);
        v->accepted = v->authentic && v->n_reasons == 0 && !v->oom;
        return 0;
}
