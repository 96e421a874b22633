/* SPDX-License-Identifier: Apache-2.0 */
/* TDX evidence in the exchange: the verifier with the policy's anchors and the collateral
 * bundle, then the bindings (REPORTDATA, MRCONFIGID) and the policy. */
#include <string.h>
#include <time.h>

#include "appraise-internal.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

int appraise_tdx(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v) {
        _cleanup_free_ TdxAnchor *anchors = NULL;
        _cleanup_free_ TdxAppraisal *a = calloc(1, sizeof(TdxAppraisal));
        const ProtoMsg *m = e->msg;
        TdxVerifyParams p = { .at = c->at ? c->at : (int64_t) time(NULL) };
        int r;

        if (!a)
                return -ENOMEM;
        if (m->cert_table.size > 0)
                verdict_check(v, "evidence.cert-table", CHECK_FAIL,
                              "TDX evidence carries its certificates in the quote; a certificate table is not expected");
        if (!c->tdx_collateral)
                verdict_check(v, "collateral", CHECK_FAIL,
                              "no TDX collateral was configured: the TCB status, CRLs and QE identity cannot be checked");
        r = policy_tdx_anchors(c->policy, &anchors, &p.n_anchors);
        if (r < 0)
                return r;
        p.anchors = anchors;
        r = tdx_verify(m->report.data, m->report.size, c->tdx_collateral, &p, a, v);
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
                policy_evaluate_tdx(c->policy, a, p.at, v);
        }
        tdx_appraisal_done(a);
        return 0;
}
