/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP evidence in the exchange: the chain from the guest's certificate table, completed by
 * the host's collateral (what the guest did not send, and always the host's own CRL), the
 * verifier with the policy's anchors, then the bindings (REPORT_DATA, HOST_DATA) and the policy. */
#include <string.h>
#include <time.h>

#include "appraise-eventlog.h"
#include "appraise-internal.h"
#include "cvm/collateral.h"
#include "cvm/crypto.h"
#include "cvm/snp.h"
#include "cvm/util.h"

/* The host decides revocation: a CRL the guest put in its certificate table is not used. A
 * guest could send an old CRL that is still inside its window and predates a revocation. */
static void drop_guest_crl(SnpChain *chain) {
        X509_CRL_free(chain->crl);
        chain->crl = NULL;
        chain->crl_signature = -1;
}

/* Completes the chain from the provider. 0 (a failure is a failed check in v), -EINPROGRESS,
 * or -ENOMEM. */
static int host_collateral(const AppraiseConfig *c, const ProtoMsg *m, int64_t at, bool want_crl, SnpChain *chain,
                           Verdict *v) {
        _cleanup_free_ char *reason = NULL;
        SnpReport report;
        SnpProduct product;
        int r;

        if (snp_report_parse(m->report.data, m->report.size, &report, NULL) < 0)
                return 0; /* snp_verify() says why */
        if (snp_report_product(&report, &product) < 0)
                product = _SNP_PRODUCT_INVALID; /* v2: the chain or the CHIP_ID shape tells */
        r = collateral_snp(c->collateral, &report, product, at, want_crl, c->policy->snp.max_crl_age_sec, chain,
                           &reason);
        if (r == -EINPROGRESS || r == -ENOMEM)
                return r;
        if (r < 0)
                verdict_check(v, "collateral", CHECK_FAIL, "%s", reason ? reason : strerror(-r));
        return 0;
}

int appraise_snp(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_free_ SnpAnchor *anchors = NULL;
        _cleanup_free_ SnpAppraisal *a = calloc(1, sizeof(SnpAppraisal));
        _cleanup_free_ char *reason = NULL;
        const ProtoMsg *m = e->msg;
        SnpVerifyParams p = { .at = c->at ? c->at : (int64_t) time(NULL) };
        int64_t crl_this_update;
        size_t n;
        int r;

        if (!chain || !a)
                return -ENOMEM;
        if (m->cert_table.size > 0 && snp_chain_add_cert_table(chain, m->cert_table.data, m->cert_table.size, &reason) < 0)
                verdict_check(v, "chain.load", CHECK_FAIL, "certificate table: %s", reason ? reason : "invalid");
        drop_guest_crl(chain);
        p.require_crl = policy_snp_requires_crl(c->policy);
        if (c->collateral) {
                r = host_collateral(c, m, p.at, p.require_crl, chain, v);
                if (r < 0)
                        return r;
        }
        r = policy_snp_anchors(c->policy, &anchors, &n);
        if (r < 0)
                return r;
        p.anchors = anchors;
        p.n_anchors = n;
        r = snp_verify(m->report.data, m->report.size, chain, &p, a, v);
        if (r < 0)
                return r;
        if (verdict_has_failed_check(v))
                v->authentic = false;
        if (!a->parsed)
                return 0;
        /* REPORT_DATA, with the workload digests the agent measured bound into it */
        r = appraise_snp_workloads(c, e, a->report.report_data, v);
        if (r < 0)
                return r;
        if (c->has_launch_digest)
                appraise_check_equal(v, "binding.host-data", a->report.host_data, c->launch_digest, 32,
                            "HOST_DATA = the launch digest");
        policy_evaluate_snp_predicted(c->policy, a, c->has_predicted ? c->predicted : NULL, v);
        if (chain->crl && asn1_time_to_unix(X509_CRL_get0_lastUpdate(chain->crl), &crl_this_update) >= 0)
                policy_evaluate_snp_crl_age(c->policy, a, crl_this_update, p.at, v);
        return 0;
}
