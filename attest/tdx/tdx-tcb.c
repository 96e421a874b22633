/* SPDX-License-Identifier: Apache-2.0 */
/* TCB level matching for TDX as Intel's QVL does it (shared/specs/tdx.md §7, §8): the TDX
 * module identity, the platform level (SGX components + PCESVN from the PCK certificate, then
 * TEE_TCB_SVN against the TDX components), the module level, the QE identity level, and the
 * convergence of the three into one status with the union of their advisory IDs. */
#include <stdio.h>
#include <string.h>

#include "cvm/tdx.h"
#include "cvm/util.h"

void tdx_tcb_result_done(TdxTcbResult *r) {
        if (!r)
                return;
        tdx_advisories_done(&r->advisories);
}

int tdx_qe_identity_match(const TdxQeIdentity *qe, const TdxQeReport *r, char **ret_reason) {
        _cleanup_free_ char *got = NULL, *want = NULL;

        if ((r->miscselect & qe->miscselect_mask) != qe->miscselect)
                return set_reason(ret_reason, -EBADMSG,
                                  "QE MISCSELECT 0x%08x under mask 0x%08x is not the identity's 0x%08x", r->miscselect,
                                  qe->miscselect_mask, qe->miscselect);
        for (size_t i = 0; i < 16; i++)
                if ((r->attributes[i] & qe->attributes_mask[i]) != qe->attributes[i]) {
                        got = hex_encode(r->attributes, 16);
                        want = hex_encode(qe->attributes, 16);
                        return set_reason(ret_reason, -EBADMSG,
                                          "QE ATTRIBUTES %s under the identity's mask differ from %s", got ?: "?",
                                          want ?: "?");
                }
        if (memcmp(r->mr_signer, qe->mrsigner, 32) != 0) {
                got = hex_encode(r->mr_signer, 32);
                return set_reason(ret_reason, -EBADMSG, "QE MRSIGNER %s is not the TD_QE identity's", got ?: "?");
        }
        if (r->isv_prod_id != qe->isvprodid)
                return set_reason(ret_reason, -EBADMSG, "QE ISVPRODID %u is not the TD_QE identity's %u", r->isv_prod_id,
                                  qe->isvprodid);
        return 0;
}

static bool is_out_of_date(TdxTcbStatus s) {
        return s == TDX_TCB_OUT_OF_DATE || s == TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
}

/* Folds a module or QE status into the platform status (QVL's convergence rules). */
static TdxTcbStatus converge(TdxTcbStatus s, TdxTcbStatus other) {
        if (other == TDX_TCB_REVOKED)
                return TDX_TCB_REVOKED;
        if (!is_out_of_date(other))
                return s;
        if (s == TDX_TCB_UP_TO_DATE || s == TDX_TCB_SW_HARDENING_NEEDED)
                return TDX_TCB_OUT_OF_DATE;
        if (s == TDX_TCB_CONFIGURATION_NEEDED || s == TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
                return TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
        return s;
}

static const TdxIsvLevel *find_isv_level(const TdxIsvLevel *levels, size_t n, uint16_t svn) {
        /* levels are sorted highest first */
        for (size_t i = 0; i < n; i++)
                if (levels[i].isvsvn <= svn)
                        return &levels[i];
        return NULL;
}

static bool sgx_level_matches(const TdxTcbLevel *l, const TdxPckInfo *pck) {
        for (size_t i = 0; i < 16; i++)
                if (pck->sgx_tcb_comp_svn[i] < l->sgx[i])
                        return false;
        return pck->pcesvn >= l->pcesvn;
}

static bool level_matches(const TdxTcbLevel *l, const TdxPckInfo *pck, const TdxQuote *q) {
        bool skip_module = q->tee_tcb_svn[1] > 0;

        if (!sgx_level_matches(l, pck))
                return false;
        for (size_t i = 0; i < 16; i++) {
                if (skip_module && i < 2)
                        continue; /* the module's SVN and version are judged by its identity */
                if (q->tee_tcb_svn[i] < l->tdx[i])
                        return false;
        }
        return true;
}

static const TdxModuleIdentity *find_module_identity(const TdxTcbInfo *ti, uint8_t version, char id[16]) {
        snprintf(id, 16, "TDX_%02X", version);
        for (size_t i = 0; i < ti->n_module_identities; i++)
                if (streq(ti->module_identities[i].id, id))
                        return &ti->module_identities[i];
        return NULL;
}

static bool is_up_to_date_for_sgx(TdxTcbStatus s) {
        return s == TDX_TCB_UP_TO_DATE || s == TDX_TCB_SW_HARDENING_NEEDED || s == TDX_TCB_CONFIGURATION_NEEDED ||
               s == TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED;
}

/* Intel QVL's TD relaunch check for a TD 1.5 body (shared/specs/tdx.md §2, §8): the TD runs
 * on a TDX module that is out of date (TEE_TCB_SVN, which the levels are matched with), while
 * the module it was updated to in place (TEE_TCB_SVN2) reaches the newest TCB level; the SGX
 * side and the QE are current. Relaunching the TD would make it current, so the verdict says
 * that instead of OutOfDate. */
static bool td_relaunch_advised(const TdxTcbInfo *ti, const TdxPckInfo *pck, const TdxQuote *q,
                                const TdxTcbLevel *match, const TdxIsvLevel *ml, const TdxIsvLevel *ql) {
        const TdxTcbLevel *sgx_level = NULL, *newest;
        const uint8_t *svn2 = q->tee_tcb_svn2;
        unsigned newest_module_svn;

        if (q->body_type != 3 || ti->n_levels == 0 || !ql || is_out_of_date(ql->status) ||
            ql->status == TDX_TCB_REVOKED)
                return false;
        for (size_t i = 0; i < ti->n_levels && !sgx_level; i++)
                if (sgx_level_matches(&ti->levels[i], pck))
                        sgx_level = &ti->levels[i];
        if (!sgx_level || !is_up_to_date_for_sgx(sgx_level->status))
                return false;
        if (!is_out_of_date(match->status) && !(ml && ml->status == TDX_TCB_OUT_OF_DATE))
                return false;

        newest = &ti->levels[0];
        newest_module_svn = newest->tdx[0];
        if (svn2[1] > 0) {
                /* The updated module is judged by its own identity's newest level. */
                char id[16];
                const TdxModuleIdentity *mod = ti->has_module_identities ? find_module_identity(ti, svn2[1], id) : NULL;

                if (!mod || mod->n_levels == 0)
                        return false;
                newest_module_svn = mod->levels[0].isvsvn;
        }
        return svn2[0] >= newest_module_svn && svn2[2] >= newest->tdx[2];
}

int tdx_tcb_evaluate(const TdxTcbInfo *ti, const TdxQeIdentity *qe, const TdxPckInfo *pck, const TdxQuote *q,
                     TdxTcbResult *ret, char **ret_reason) {
        _cleanup_(tdx_tcb_result_done) TdxTcbResult res = { .module_status = _TDX_TCB_STATUS_INVALID };
        const TdxModuleIdentity *mod = &ti->module;
        uint8_t ver = q->tee_tcb_svn[1], isv = q->tee_tcb_svn[0];
        const TdxTcbLevel *match = NULL;
        const TdxIsvLevel *ql, *ml = NULL;
        int r;

        if (ver > 0) {
                char id[16];

                if (!ti->has_module_identities)
                        return set_reason(ret_reason, -EBADMSG,
                                          "TEE_TCB_SVN[1] is %u but the TCB info has no tdxModuleIdentities", ver);
                mod = find_module_identity(ti, ver, id);
                if (!mod)
                        return set_reason(ret_reason, -EBADMSG, "the TCB info has no TDX module identity %s", id);
                memcpy(res.module_id, id, sizeof(res.module_id));
        }
        if (memcmp(q->mrsignerseam, mod->mrsigner, 48) != 0)
                return set_reason(ret_reason, -EBADMSG, "MRSIGNERSEAM is not the %s signer",
                                  ver > 0 ? res.module_id : "tdxModule");
        for (size_t i = 0; i < 8; i++)
                if (q->seam_attributes[i] != 0 || (q->seam_attributes[i] & mod->attributes_mask[i]) != mod->attributes[i])
                        return set_reason(ret_reason, -EBADMSG,
                                          "SEAM_ATTRIBUTES are not zero or differ from the %s attributes",
                                          ver > 0 ? res.module_id : "tdxModule");

        /* The first level, highest first, that both the SGX and the TDX components reach. */
        for (size_t i = 0; i < ti->n_levels && !match; i++)
                if (level_matches(&ti->levels[i], pck, q))
                        match = &ti->levels[i];

        res.qe_status = TDX_TCB_NOT_SUPPORTED;
        ql = qe ? find_isv_level(qe->levels, qe->n_levels, q->qe_report.isv_svn) : NULL;
        if (ql) {
                res.qe_status = ql->status;
                res.qe_tcb_date = ql->tcb_date;
        }

        if (!match) {
                res.platform_status = res.status = TDX_TCB_NOT_SUPPORTED;
                goto done;
        }
        res.platform_status = res.status = match->status;
        res.tcb_date = match->tcb_date;
        r = tdx_advisories_merge(&res.advisories, &match->advisories);
        if (r < 0)
                return r;

        if (ver > 0) {
                ml = find_isv_level(mod->levels, mod->n_levels, isv);
                if (!ml) {
                        res.status = TDX_TCB_NOT_SUPPORTED;
                        goto done;
                }
                res.module_status = ml->status;
                res.module_tcb_date = ml->tcb_date;
                r = tdx_advisories_merge(&res.advisories, &ml->advisories);
                if (r < 0)
                        return r;
                res.status = converge(res.status, ml->status);
        }

        if (!ql) {
                res.status = TDX_TCB_NOT_SUPPORTED;
                goto done;
        }
        r = tdx_advisories_merge(&res.advisories, &ql->advisories);
        if (r < 0)
                return r;
        res.status = converge(res.status, ql->status);
        /* Only an out-of-date verdict can become a relaunch advice, never Revoked. */
        if (is_out_of_date(res.status) && td_relaunch_advised(ti, pck, q, match, ml, ql))
                res.status = res.status == TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED
                                     ? TDX_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
                                     : TDX_TCB_TD_RELAUNCH_ADVISED;

done:
        if (res.status == TDX_TCB_NOT_SUPPORTED)
                tdx_advisories_done(&res.advisories);
        *ret = res;
        res = (TdxTcbResult) {};
        return 0;
}
