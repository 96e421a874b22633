/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP collateral for the appraisal (include/cvm/collateral.h): the chain's missing
 * certificates and the host's own CRL, from the cache (kds.h, offline), else fetched through the
 * provider's core (collateral.c). The host decides revocation: the guest's CRL is never used. */
#include <string.h>

#include "collateral-internal.h"
#include "cvm/crypto.h"
#include "cvm/kds.h"
#include "cvm/util.h"

/* What a fetch needs, copied: it may run on the fetch thread after the appraisal returned. */
typedef struct SnpJob {
        SnpReport report;
        int product;
        int64_t at; /* the time the fetched collateral must cover; past a CRL's nextUpdate to
                     * force a new CRL */
        bool want_crl;
        X509 *given[_SNP_ROLE_MAX]; /* the guest's certificates: KDS is asked for the others only */
} SnpJob;

static void snp_job_free(void *userdata) {
        SnpJob *j = userdata;

        for (int i = 0; i < _SNP_ROLE_MAX; i++)
                X509_free(j->given[i]);
        free(j);
}

static int snp_fetch(const CollateralFetch *f, void *userdata, char **ret_reason) {
        SnpJob *j = userdata;
        _cleanup_(snp_chain_freep) SnpChain *scratch = snp_chain_new();
        KdsOptions o = {
                .base_url = f->kds_url,
                .cache_dir = f->cache_dir,
                .http = f->http,
                .retry_after_usec = f->retry_after_usec,
        };

        if (!scratch)
                return -ENOMEM;
        for (int i = 0; i < _SNP_ROLE_MAX; i++)
                if (j->given[i] && snp_chain_add_cert(scratch, j->given[i], NULL) < 0)
                        return -ENOMEM;
        return kds_complete_chain(&o, &j->report, j->product, j->at, j->want_crl, scratch, ret_reason);
}

static const char *product_name(int product) {
        return product >= 0 && product < _SNP_PRODUCT_MAX ? snp_product_to_string(product) : "SEV-SNP";
}

/* One item per chip, TCB and product: the launches of one platform share it. */
static int snp_item(const SnpReport *r, int product, int64_t at, bool want_crl, const char *suffix,
                    const X509 *const given[_SNP_ROLE_MAX], CollateralItem *ret) {
        _cleanup_free_ char *chip = hex_encode(r->chip_id, sizeof(r->chip_id)), *tcb = NULL;
        SnpJob *j = calloc(1, sizeof(SnpJob));

        tcb = hex_encode(r->reported_tcb.raw, sizeof(r->reported_tcb.raw));
        if (!j || !chip || !tcb) {
                free(j);
                return -ENOMEM;
        }
        *j = (SnpJob) { .report = *r, .product = product, .at = at, .want_crl = want_crl };
        for (int i = 0; i < _SNP_ROLE_MAX; i++)
                if (given[i]) {
                        j->given[i] = (X509 *) given[i];
                        X509_up_ref(j->given[i]);
                }
        return collateral_item_new(strdup_printf("snp/%s/%s-%s%s", product_name(product), chip, tcb, suffix),
                                   strdup_printf("the %s certificates%s for this CHIP_ID and REPORTED_TCB",
                                                 product_name(product), want_crl ? " and CRL" : ""),
                                   snp_fetch, j, snp_job_free, ret);
}

static void drop_crl(SnpChain *chain) {
        X509_CRL_free(chain->crl);
        chain->crl = NULL;
        chain->crl_signature = -1;
}

/* The cache alone, into chain. */
static int lookup(Collateral *c, const SnpReport *r, int product, int64_t at, bool want_crl, SnpChain *chain,
                  char **ret_reason) {
        KdsOptions o = { .base_url = c->kds_url, .cache_dir = c->cache_dir, .offline = true };

        drop_crl(chain);
        return kds_complete_chain(&o, r, product, at, want_crl, chain, ret_reason);
}

static int crl_window(X509_CRL *crl, int64_t *ret_this, int64_t *ret_next) {
        const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

        if (asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), ret_this) < 0)
                return -EBADMSG;
        if (!next || asn1_time_to_unix(next, ret_next) < 0)
                *ret_next = INT64_MAX;
        return 0;
}

int collateral_snp(Collateral *c, const SnpReport *r, int product, int64_t at, bool want_crl,
                   int64_t crl_max_age_sec, SnpChain *chain, char **ret_reason) {
        _cleanup_(collateral_item_done) CollateralItem item = {};
        _cleanup_free_ char *reason = NULL;
        const X509 *given[_SNP_ROLE_MAX];
        int64_t this_update, next_update;
        char t1[32], t2[32];
        int k;

        if (!c || !r || !chain)
                return -EINVAL;
        for (int i = 0; i < _SNP_ROLE_MAX; i++)
                given[i] = chain->cert[i];
        /* the given certificates stay referenced by chain while the item holds its own refs */
        k = lookup(c, r, product, at, want_crl, chain, &reason);
        if (k == -ENOENT || k == -ESTALE) {
                _cleanup_free_ char *why = NULL;
                int miss = k;

                if (c->config.offline)
                        return set_reason(ret_reason, k, "%s", reason ? reason : "not in the cache, and offline");
                k = snp_item(r, product, at, want_crl, "", given, &item);
                if (k < 0)
                        return k;
                k = collateral_obtain(c, &item, &why);
                if (k == -EALREADY) /* fetched moments ago: the cache's answer stands */
                        return set_reason(ret_reason, miss, "%s", reason ? reason : "not in the cache");
                if (k < 0)
                        return set_reason(ret_reason, k, "%s", why ? why : strerror(-k));
                reason = mfree_str(reason);
                k = lookup(c, r, product, at, want_crl, chain, &reason);
        }
        if (k < 0)
                return set_reason(ret_reason, k, "%s", reason ? reason : strerror(-k));
        if (!want_crl || !chain->crl)
                return 0;

        /* The CRL is current; the policy may want it younger, and it may be about to expire. */
        if (crl_window(chain->crl, &this_update, &next_update) < 0)
                return set_reason(ret_reason, -EBADMSG, "the cached %s CRL has no readable thisUpdate",
                                  product_name(product));
        if (crl_max_age_sec > 0 && at - this_update > crl_max_age_sec) {
                if (c->config.offline)
                        return set_reason(ret_reason, -ESTALE,
                                          "the cached %s CRL was issued %s, more than the policy's %lld s before %s "
                                          "(snp.max_crl_age_sec), and offline",
                                          product_name(product), format_rfc3339(this_update, t1, sizeof(t1)),
                                          (long long) crl_max_age_sec, format_rfc3339(at, t2, sizeof(t2)));
                /* ask KDS for the CRL that follows this one: the fetch must cover its nextUpdate */
                k = snp_item(r, product, next_update == INT64_MAX ? at : next_update + 1, true, "/crl", given, &item);
                if (k < 0)
                        return k;
                k = collateral_obtain(c, &item, &reason);
                if (k < 0 && k != -EALREADY)
                        return set_reason(ret_reason, k, "the cached %s CRL is older than the policy allows: %s",
                                          product_name(product), reason ? reason : strerror(-k));
                reason = mfree_str(reason);
                k = lookup(c, r, product, at, want_crl, chain, &reason);
                if (k < 0)
                        return set_reason(ret_reason, k, "%s", reason ? reason : strerror(-k));
                if (crl_window(chain->crl, &this_update, &next_update) < 0 || at - this_update > crl_max_age_sec)
                        return set_reason(ret_reason, -ESTALE,
                                          "the newest %s CRL from KDS was issued %s, more than the policy's %lld s "
                                          "before %s (snp.max_crl_age_sec)",
                                          product_name(product), format_rfc3339(this_update, t1, sizeof(t1)),
                                          (long long) crl_max_age_sec, format_rfc3339(at, t2, sizeof(t2)));
        } else if (next_update != INT64_MAX && next_update - at < collateral_refresh_sec(c)) {
                /* still good: used now, and its successor fetched meanwhile */
                k = snp_item(r, product, next_update + 1, true, "/crl", given, &item);
                if (k < 0)
                        return k;
                collateral_refresh(c, &item);
        }
        return 0;
}
