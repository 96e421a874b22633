/* SPDX-License-Identifier: Apache-2.0 */
/* TDX evidence in the exchange: the verifier with the policy's anchors and the collateral
 * bundle (an explicit one, else the host's provider's for the quote's platform), then the
 * bindings (REPORTDATA, MRCONFIGID) and the policy. */
#include <string.h>
#include <time.h>

#include "appraise-eventlog.h"
#include "appraise-internal.h"
#include "cvm/collateral.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

/* The bundle from the host's provider, for the platform the quote's PCK certificate names.
 * 0 with *ret (NULL after a failure, which is then a failed check in v), -EINPROGRESS, -ENOMEM. */
static int host_collateral(const AppraiseConfig *c, const ProtoMsg *m, int64_t at, TdxCollateral **ret, Verdict *v) {
        _cleanup_free_ char *reason = NULL;
        uint8_t fmspc[6];
        TdxPckCa ca;
        int r;

        *ret = NULL;
        if (collateral_tdx_platform(m->report.data, m->report.size, fmspc, &ca, NULL) < 0)
                return 0; /* tdx_verify() says why */
        r = collateral_tdx(c->collateral, fmspc, ca, at, c->policy->tdx.max_collateral_age_sec, ret, &reason);
        if (r == -EINPROGRESS || r == -ENOMEM)
                return r;
        if (r < 0)
                verdict_check(v, "collateral", CHECK_FAIL, "%s", reason ? reason : strerror(-r));
        return 0;
}

int appraise_tdx(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v) {
        _cleanup_free_ TdxAnchor *anchors = NULL;
        _cleanup_free_ TdxAppraisal *a = calloc(1, sizeof(TdxAppraisal));
        _cleanup_(tdx_collateral_freep) TdxCollateral *fetched = NULL;
        TdxCollateral *collateral = c->tdx_collateral;
        const ProtoMsg *m = e->msg;
        TdxVerifyParams p = { .at = c->at ? c->at : (int64_t) time(NULL) };
        int r;

        if (!a)
                return -ENOMEM;
        if (m->cert_table.size > 0)
                verdict_check(v, "evidence.cert-table", CHECK_FAIL,
                              "TDX evidence carries its certificates in the quote; a certificate table is not expected");
        /* an explicit bundle (cvmctl launch --collateral) overrides the provider */
        if (!collateral && c->collateral) {
                r = host_collateral(c, m, p.at, &fetched, v);
                if (r < 0)
                        return r;
                collateral = fetched;
        } else if (!collateral)
                verdict_check(v, "collateral", CHECK_FAIL,
                              "no TDX collateral was configured: the TCB status, CRLs and QE identity cannot be checked");
        r = policy_tdx_anchors(c->policy, &anchors, &p.n_anchors);
        if (r < 0)
                return r;
        p.anchors = anchors;
        r = tdx_verify(m->report.data, m->report.size, collateral, &p, a, v);
        if (r < 0) {
                tdx_appraisal_done(a);
                return r;
        }
        if (verdict_has_failed_check(v))
                v->authentic = false;
        if (a->parsed) {
                appraise_check_equal(v, "binding.report-data", a->quote.report_data, e->report_data, 64,
                                     "REPORTDATA = SHA-512(\"cvmd-attest-v1\" || nonce || guest key)");
                if (c->has_launch_digest)
                        appraise_check_equal(v, "binding.mrconfigid", a->quote.mrconfigid, c->launch_digest, 48,
                                             "MRCONFIGID = the launch digest");
                policy_evaluate_tdx_predicted(c->policy, a, p.at, c->has_predicted ? c->predicted : NULL, v);
                /* what booted and runs: only from a log that replays to this quote */
                r = appraise_tdx_eventlog(c, e, &a->quote, v);
                if (r < 0) {
                        tdx_appraisal_done(a);
                        return r;
                }
        }
        tdx_appraisal_done(a);
        return 0;
}
