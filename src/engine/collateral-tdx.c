/* SPDX-License-Identifier: Apache-2.0 */
/* TDX collateral for the appraisal (include/cvm/collateral.h): the bundle for the platform's
 * FMSPC and PCK CA from the cache (pcs.h, offline), else fetched from PCS/PCCS through the
 * provider's core (collateral.c). */
#include <string.h>

#include "collateral-internal.h"
#include "cvm/crypto.h"
#include "cvm/pcs.h"
#include "cvm/util.h"

typedef struct TdxJob {
        uint8_t fmspc[6];
        TdxPckCa ca;
        int64_t at; /* the time the fetched bundle must cover; past nextUpdate to force a new one */
} TdxJob;

static int tdx_fetch(const CollateralFetch *f, void *userdata, char **ret_reason) {
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        TdxJob *j = userdata;
        PcsOptions o = {
                .base_url = f->pcs_url,
                .pccs = f->pccs,
                .cache_dir = f->cache_dir,
                .http = f->http,
                .retry_after_usec = f->retry_after_usec,
        };

        return pcs_get_collateral(&o, j->fmspc, j->ca, j->at, &col, ret_reason);
}

static int tdx_item(const uint8_t fmspc[6], TdxPckCa ca, int64_t at, CollateralItem *ret) {
        _cleanup_free_ char *hex = hex_encode(fmspc, 6);
        TdxJob *j = calloc(1, sizeof(TdxJob));

        if (!j || !hex) {
                free(j);
                return -ENOMEM;
        }
        *j = (TdxJob) { .ca = ca, .at = at };
        memcpy(j->fmspc, fmspc, 6);
        return collateral_item_new(strdup_printf("tdx/%s-%s", hex, tdx_pck_ca_to_string(ca)),
                                   strdup_printf("the TDX collateral for FMSPC %s (%s CA)", hex, tdx_pck_ca_to_string(ca)),
                                   tdx_fetch, j, free, ret);
}

static int lookup(Collateral *c, const uint8_t fmspc[6], TdxPckCa ca, int64_t at, TdxCollateral **ret,
                  char **ret_reason) {
        PcsOptions o = { .base_url = c->pcs_url, .pccs = c->config.pccs, .cache_dir = c->cache_dir, .offline = true };

        return pcs_get_collateral(&o, fmspc, ca, at, ret, ret_reason);
}

/* The oldest issue date of the signed documents: what the policy's max_collateral_age_sec
 * limits (as policy_evaluate_tdx() does). */
static int64_t oldest_issue(const TdxCollateral *col) {
        return col->tcb_info->issue_date < col->qe_identity->issue_date ? col->tcb_info->issue_date
                                                                        : col->qe_identity->issue_date;
}

int collateral_tdx(Collateral *c, const uint8_t fmspc[6], TdxPckCa ca, int64_t at, int64_t max_age_sec,
                   TdxCollateral **ret, char **ret_reason) {
        _cleanup_(collateral_item_done) CollateralItem item = {};
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        _cleanup_free_ char *reason = NULL;
        int64_t from, until;
        char t1[32], t2[32];
        int k;

        if (!c || !fmspc || !ret || !tdx_pck_ca_to_string(ca))
                return -EINVAL;
        k = lookup(c, fmspc, ca, at, &col, &reason);
        if (k == -ENOENT || k == -ESTALE) {
                _cleanup_free_ char *why = NULL;
                int miss = k;

                if (c->config.offline)
                        return set_reason(ret_reason, k, "%s, and offline", reason ? reason : "not in the cache");
                k = tdx_item(fmspc, ca, at, &item);
                if (k < 0)
                        return k;
                k = collateral_obtain(c, &item, &why);
                if (k == -EALREADY) /* fetched moments ago: the cache's answer stands */
                        return set_reason(ret_reason, miss, "%s", reason ? reason : "not in the cache");
                if (k < 0)
                        return set_reason(ret_reason, k, "%s", why ? why : strerror(-k));
                reason = mfree_str(reason);
                k = lookup(c, fmspc, ca, at, &col, &reason);
        }
        if (k < 0)
                return set_reason(ret_reason, k, "%s", reason ? reason : strerror(-k));
        if (tdx_collateral_window(col, &from, &until) < 0)
                return set_reason(ret_reason, -EBADMSG, "the cached TDX collateral has no validity window");

        if (max_age_sec > 0 && at - oldest_issue(col) > max_age_sec) {
                if (c->config.offline)
                        return set_reason(ret_reason, -ESTALE,
                                          "the cached TDX collateral was issued %s, more than the policy's %lld s "
                                          "before %s (tdx.max_collateral_age_sec), and offline",
                                          format_rfc3339(oldest_issue(col), t1, sizeof(t1)), (long long) max_age_sec,
                                          format_rfc3339(at, t2, sizeof(t2)));
                k = tdx_item(fmspc, ca, until == INT64_MAX ? at : until + 1, &item);
                if (k < 0)
                        return k;
                k = collateral_obtain(c, &item, &reason);
                if (k < 0 && k != -EALREADY)
                        return set_reason(ret_reason, k, "the cached TDX collateral is older than the policy allows: %s",
                                          reason ? reason : strerror(-k));
                col = tdx_collateral_free(col);
                reason = mfree_str(reason);
                k = lookup(c, fmspc, ca, at, &col, &reason);
                if (k < 0)
                        return set_reason(ret_reason, k, "%s", reason ? reason : strerror(-k));
                /* still too old: the policy's reason says so (policy_evaluate_tdx()) */
        } else if (until != INT64_MAX && until - at < collateral_refresh_sec(c)) {
                k = tdx_item(fmspc, ca, until + 1, &item);
                if (k < 0)
                        return k;
                collateral_refresh(c, &item);
        }
        *ret = TAKE_PTR(col);
        return 0;
}

int collateral_tdx_platform(const uint8_t *quote, size_t size, uint8_t ret_fmspc[6], TdxPckCa *ret_ca,
                            char **ret_reason) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
        _cleanup_free_ char *why = NULL;
        TdxQuote q;
        TdxPckInfo pck;

        if (tdx_quote_parse(quote, size, &q, &why) < 0)
                return set_reason(ret_reason, -EBADMSG, "the quote does not parse: %s", why ? why : "invalid");
        if (tdx_pck_chain_parse(q.pck_chain, q.pck_chain_size, &chain, &why) < 0)
                return set_reason(ret_reason, -EBADMSG, "the quote's PCK chain does not parse: %s", why ? why : "invalid");
        if (tdx_pck_info_parse(sk_X509_value(chain, 0), &pck, &why) < 0)
                return set_reason(ret_reason, -EBADMSG, "the PCK certificate's SGX extension does not parse: %s",
                                  why ? why : "invalid");
        if (!tdx_pck_ca_to_string(pck.ca))
                return set_reason(ret_reason, -EBADMSG, "the PCK certificate's issuer is not a known Intel PCK CA");
        memcpy(ret_fmspc, pck.fmspc, 6);
        *ret_ca = pck.ca;
        return 0;
}
