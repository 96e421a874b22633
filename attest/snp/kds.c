/* SPDX-License-Identifier: Apache-2.0 */
/* AMD KDS collateral: URLs (spec §10), and a disk cache in front of KDS that completes a
 * certificate chain. Nothing read from the cache or fetched is trusted: snp_verify() checks
 * every signature up to a pinned ARK. What is checked here only keeps junk out of the cache. */
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/crypto.h"
#include "cvm/kds.h"
#include "cvm/util.h"

static const char *const item_names[_KDS_ITEM_MAX] = {
        [KDS_ITEM_VCEK] = "VCEK",
        [KDS_ITEM_CERT_CHAIN] = "cert_chain (ASK + ARK)",
        [KDS_ITEM_VLEK_CERT_CHAIN] = "VLEK cert_chain (ASVK + ARK)",
        [KDS_ITEM_CRL] = "CRL",
        [KDS_ITEM_VLEK_CRL] = "VLEK CRL",
};

static const char *const item_files[_KDS_ITEM_MAX] = {
        [KDS_ITEM_CERT_CHAIN] = "cert_chain.pem",
        [KDS_ITEM_VLEK_CERT_CHAIN] = "vlek_cert_chain.pem",
        [KDS_ITEM_CRL] = "crl.der",
        [KDS_ITEM_VLEK_CRL] = "vlek_crl.der",
};

const char *kds_item_to_string(KdsItem item) {
        return item >= 0 && item < _KDS_ITEM_MAX ? item_names[item] : NULL;
}

static bool product_is_valid(SnpProduct p) {
        return p >= 0 && p < _SNP_PRODUCT_MAX;
}

/* KDS names a Turin chip by the first 8 bytes of CHIP_ID, Milan and Genoa by all 64. */
static size_t hwid_size(SnpProduct p) {
        return p == SNP_PRODUCT_TURIN ? 8 : 64;
}

static char *base_url_dup(const char *base) {
        size_t n;

        if (!base || !*base)
                base = KDS_DEFAULT_URL;
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        return strndup(base, n);
}

int kds_vcek_url(const char *base, SnpProduct p, const SnpReport *r, char **ret) {
        _cleanup_free_ char *b = NULL, *hwid = NULL;
        SnpTcb t;
        char *url;

        if (!product_is_valid(p) || !r || !ret)
                return -EINVAL;
        /* A v2 report does not say which TCB layout it uses: the product decides. */
        snp_tcb_decode(r->reported_tcb.raw, p == SNP_PRODUCT_TURIN, &t);
        b = base_url_dup(base);
        hwid = hex_encode(r->chip_id, hwid_size(p));
        if (!b || !hwid)
                return -ENOMEM;
        if (p == SNP_PRODUCT_TURIN)
                url = strdup_printf("%s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", b,
                                    snp_product_to_string(p), hwid, t.fmc, t.bl, t.tee, t.snp, t.ucode);
        else
                url = strdup_printf("%s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", b,
                                    snp_product_to_string(p), hwid, t.bl, t.tee, t.snp, t.ucode);
        if (!url)
                return -ENOMEM;
        *ret = url;
        return 0;
}

static int product_url(const char *base, SnpProduct p, bool vlek, const char *what, char **ret) {
        _cleanup_free_ char *b = NULL;
        char *url;

        if (!product_is_valid(p) || !ret)
                return -EINVAL;
        b = base_url_dup(base);
        if (!b)
                return -ENOMEM;
        url = strdup_printf("%s/%s/v1/%s/%s", b, vlek ? "vlek" : "vcek", snp_product_to_string(p), what);
        if (!url)
                return -ENOMEM;
        *ret = url;
        return 0;
}

int kds_cert_chain_url(const char *base, SnpProduct p, bool vlek, char **ret) {
        return product_url(base, p, vlek, "cert_chain", ret);
}

int kds_crl_url(const char *base, SnpProduct p, bool vlek, char **ret) {
        return product_url(base, p, vlek, "crl", ret);
}

int kds_cache_path(const char *cache_dir, SnpProduct p, KdsItem item, const SnpReport *r, char **ret) {
        char *path;

        if (!cache_dir || !product_is_valid(p) || item < 0 || item >= _KDS_ITEM_MAX || !ret)
                return -EINVAL;
        if (item == KDS_ITEM_VCEK) {
                _cleanup_free_ char *hwid = NULL, *tcb = NULL;

                if (!r)
                        return -EINVAL;
                hwid = hex_encode(r->chip_id, hwid_size(p));
                tcb = hex_encode(r->reported_tcb.raw, sizeof(r->reported_tcb.raw));
                if (!hwid || !tcb)
                        return -ENOMEM;
                path = strdup_printf("%s/snp/%s/vcek/%s-%s.der", cache_dir, snp_product_to_string(p), hwid, tcb);
        } else
                path = strdup_printf("%s/snp/%s/%s", cache_dir, snp_product_to_string(p), item_files[item]);
        if (!path)
                return -ENOMEM;
        *ret = path;
        return 0;
}

int kds_default_cache_dir(char **ret) {
        const char *e;
        char *d;

        e = secure_getenv("CVM_CACHE_DIR");
        if (e && *e)
                d = strdup(e);
        else if (geteuid() == 0)
                d = strdup("/var/cache/cvmd");
        else if ((e = getenv("XDG_CACHE_HOME")) && e[0] == '/')
                d = strdup_printf("%s/cvmd", e);
        else if ((e = getenv("HOME")) && e[0] == '/')
                d = strdup_printf("%s/.cache/cvmd", e);
        else {
                struct passwd *pw = getpwuid(geteuid());

                if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
                        return -ENXIO;
                d = strdup_printf("%s/.cache/cvmd", pw->pw_dir);
        }
        if (!d)
                return -ENOMEM;
        *ret = d;
        return 0;
}

/* ---- completing a chain ---- */

typedef struct Ctx {
        const KdsOptions *o;
        const SnpReport *r;
        int64_t at;
        SnpChain *chain;
        char **ret_error;
} Ctx;

static void ctx_progress(Ctx *c, const char *fmt, ...) _printf_(2, 3);
static void ctx_progress(Ctx *c, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        if (!c->o->http.progress)
                return;
        va_start(ap, fmt);
        m = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (m)
                c->o->http.progress(c->o->http.userdata, m);
}

/* The cache had nothing usable for `what`: offline that is the end (naming the stale file or
 * the missing one), online it is announced and the caller fetches. */
/* A cache miss (or a stale entry) for product p's `what`: an error when offline, else a fetch. */
static int cache_miss(Ctx *c, const char *stale, const char *path, SnpProduct p, const char *what) {
        const char *product = snp_product_to_string(p);

        if (c->o->offline) {
                if (stale)
                        return set_reason(c->ret_error, -ESTALE, "%s (offline: not fetching another)", stale);
                if (!path)
                        return set_reason(c->ret_error, -ENOENT, "no %s %s: offline and no cache directory", product,
                                          what);
                return set_reason(c->ret_error, -ENOENT, "no %s %s in the cache (%s), and offline", product, what,
                                  path);
        }
        if (stale)
                ctx_progress(c, "The %s, fetching it again", stale);
        return 0;
}

static void ctx_file_used(Ctx *c, KdsItem item, const char *path, bool fetched) {
        if (c->o->file_used)
                c->o->file_used(c->o->file_userdata, item, path, fetched);
}

static const char *validity_to_string(Validity v) {
        return v == VALIDITY_NOT_YET_VALID ? "not yet valid" : v == VALIDITY_EXPIRED ? "expired" : "valid";
}

/* Reads a cache file. -ENOENT when it is not there. */
static int cache_read(const char *path, uint8_t **ret, size_t *ret_size) {
        return read_file_bounded(path, CVM_INPUT_MAX, ret, ret_size);
}

/* Stores a fetched item; a failure is reported and ignored: the chain gets the data anyway. */
static void cache_store(Ctx *c, KdsItem item, const char *path, const uint8_t *data, size_t size) {
        _cleanup_free_ char *dir = NULL;
        char *slash;
        int r;

        if (!path) {
                ctx_file_used(c, item, NULL, true);
                return;
        }
        dir = strdup(path);
        if (!dir) {
                ctx_file_used(c, item, NULL, true);
                return;
        }
        slash = strrchr(dir, '/');
        if (slash && slash != dir)
                *slash = '\0';
        r = slash && slash != dir ? mkdir_p(dir, 0755) : 0;
        if (r >= 0)
                r = write_file_atomic(path, data, size, 0644);
        if (r < 0) {
                ctx_progress(c, "Cannot store the %s in the cache as %s: %s, ignoring", item_names[item], path,
                             strerror(-r));
                ctx_file_used(c, item, NULL, true);
                return;
        }
        ctx_file_used(c, item, path, true);
}

static int fetch(Ctx *c, KdsItem item, const char *url, uint8_t **ret, size_t *ret_size) {
        _cleanup_(http_result_done) HttpResult res = {};
        HttpRequest get = { .method = HTTP_METHOD_GET, .url = url, .options = c->o->http };
        int r;

        ctx_progress(c, "Fetching %s from %s", item_names[item], url);
        r = http_request(&get, &res);
        if (r < 0) {
                if (c->o->retry_after_usec && res.retry_after_usec)
                        *c->o->retry_after_usec = res.retry_after_usec;
                return set_reason(c->ret_error, r, "cannot fetch the %s: %s", item_names[item],
                                  res.error_message ? res.error_message : strerror(-r));
        }
        *ret = TAKE_PTR(res.body);
        *ret_size = res.body_size;
        return 0;
}

/* "SEV-Milan" or "SEV-VLEK-Milan" as issuer of a leaf: the product. */
static SnpProduct leaf_product(X509 *leaf) {
        _cleanup_free_ char *cn = x509_issuer_cn(leaf);

        if (!cn)
                return _SNP_PRODUCT_INVALID;
        if (strncmp(cn, "SEV-VLEK-", 9) == 0)
                return snp_product_from_string(cn + 9);
        if (strncmp(cn, "SEV-", 4) == 0)
                return snp_product_from_string(cn + 4);
        return _SNP_PRODUCT_INVALID;
}

/* Is this the VCEK of this chip at this TCB, for this product? KDS hands out a different
 * certificate per TCB, so anything else must not be stored under this name. */
static int vcek_check(X509 *cert, SnpProduct p, const SnpReport *r, char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        SnpLeafInfo info;
        SnpTcb t;

        if (snp_cert_identify(cert, NULL) != SNP_ROLE_VCEK) {
                _cleanup_free_ char *cn = x509_subject_cn(cert);
                *ret_reason = strdup_printf("its subject CN is '%s', not SEV-VCEK", cn ? cn : "(none)");
                return -EBADMSG;
        }
        if (leaf_product(cert) != p) {
                _cleanup_free_ char *cn = x509_issuer_cn(cert);
                *ret_reason =
                        strdup_printf("it is issued by '%s', not SEV-%s", cn ? cn : "(none)", snp_product_to_string(p));
                return -EBADMSG;
        }
        if (snp_leaf_info_parse(cert, &info, &reason) < 0) {
                *ret_reason = strdup_printf("its AMD extensions do not parse: %s", reason ? reason : "invalid");
                return -EBADMSG;
        }
        if (info.hwid_size != hwid_size(p) || memcmp(info.hwid, r->chip_id, info.hwid_size) != 0) {
                *ret_reason = strdup("its hwID is not the report's CHIP_ID");
                return -EBADMSG;
        }
        snp_tcb_decode(r->reported_tcb.raw, p == SNP_PRODUCT_TURIN, &t);
        if (info.bl_spl != t.bl || info.tee_spl != t.tee || info.snp_spl != t.snp || info.ucode_spl != t.ucode ||
            (p == SNP_PRODUCT_TURIN && info.fmc_spl != t.fmc)) {
                *ret_reason = strdup("its SPL extensions are not the report's REPORTED_TCB");
                return -EBADMSG;
        }
        return 0;
}

/* The VCEK for product p: cached, or fetched. -ENOENT when KDS (404) or the offline cache do
 * not have it, so that the caller may try another product. */
static int get_vcek(Ctx *c, SnpProduct p) {
        _cleanup_free_ char *path = NULL, *url = NULL, *stale = NULL, *reason = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        char at[32];
        size_t size;
        int r;

        format_rfc3339(c->at, at, sizeof(at));
        if (c->o->cache_dir) {
                r = kds_cache_path(c->o->cache_dir, p, KDS_ITEM_VCEK, c->r, &path);
                if (r < 0)
                        return r;
                r = cache_read(path, &data, &size);
                if (r >= 0) {
                        Validity v;

                        if (x509_parse_one(data, size, &cert) < 0)
                                stale = strdup_printf("cached VCEK %s does not parse", path);
                        else if (vcek_check(cert, p, c->r, &reason) < 0)
                                stale = strdup_printf("cached VCEK %s does not fit the report: %s", path,
                                                      reason ? reason : "invalid");
                        else if ((v = x509_validity_at(cert, c->at)) != VALIDITY_OK)
                                stale = strdup_printf("cached VCEK %s is %s at %s", path, validity_to_string(v), at);
                        else {
                                r = snp_chain_add_cert(c->chain, cert, &reason);
                                if (r < 0)
                                        return set_reason(c->ret_error, r, "cannot use the cached VCEK %s: %s", path,
                                                          reason ? reason : strerror(-r));
                                ctx_file_used(c, KDS_ITEM_VCEK, path, false);
                                return 0;
                        }
                        if (!stale)
                                return -ENOMEM;
                        X509_free(TAKE_PTR(cert));
                        free(TAKE_PTR(data));
                } else if (r != -ENOENT)
                        return set_reason(c->ret_error, r, "cannot read the cached VCEK %s: %s", path, strerror(-r));
        }
        r = cache_miss(c, stale, path, p, "VCEK for this CHIP_ID and REPORTED_TCB");
        if (r < 0)
                return r;

        r = kds_vcek_url(c->o->base_url, p, c->r, &url);
        if (r < 0)
                return r;
        r = fetch(c, KDS_ITEM_VCEK, url, &data, &size);
        if (r == -ENOENT)
                return set_reason(c->ret_error, -ENOENT,
                                  "KDS has no %s VCEK for this CHIP_ID and REPORTED_TCB (GET %s: 404 Not Found)",
                                  snp_product_to_string(p), url);
        if (r < 0)
                return r;
        if (x509_parse_one(data, size, &cert) < 0)
                return set_reason(c->ret_error, -EBADMSG, "the answer from %s is not a certificate", url);
        reason = mfree_str(reason);
        if (vcek_check(cert, p, c->r, &reason) < 0)
                return set_reason(c->ret_error, -EBADMSG, "the certificate from %s is not the %s VCEK asked for: %s",
                                  url, snp_product_to_string(p), reason ? reason : "invalid");
        r = snp_chain_add_cert(c->chain, cert, &reason);
        if (r < 0)
                return set_reason(c->ret_error, r, "cannot use the VCEK from %s: %s", url,
                                  reason ? reason : strerror(-r));
        cache_store(c, KDS_ITEM_VCEK, path, data, size);
        return 0;
}

/* Checks a cert_chain bundle: it must hold the product's intermediate (ASK, or ASVK for vlek)
 * and ARK. With check_time, every certificate must be valid at c->at. */
static int chain_bundle_check(Ctx *c, STACK_OF(X509) * sk, SnpProduct p, bool vlek, bool check_time,
                              char **ret_reason) {
        SnpCertRole want = vlek ? SNP_ROLE_ASVK : SNP_ROLE_ASK;
        bool have_intermediate = false, have_ark = false;

        for (int i = 0; i < sk_X509_num(sk); i++) {
                X509 *x = sk_X509_value(sk, i);
                SnpProduct q = _SNP_PRODUCT_INVALID;
                SnpCertRole role = snp_cert_identify(x, &q);
                Validity v;

                if (role == want && q == p)
                        have_intermediate = true;
                else if (role == SNP_ROLE_ARK && q == p)
                        have_ark = true;
                else {
                        _cleanup_free_ char *cn = x509_subject_cn(x);
                        *ret_reason = strdup_printf("it holds '%s', which is not the %s %s or ARK", cn ? cn : "(no CN)",
                                                    snp_product_to_string(p), snp_cert_role_to_string(want));
                        return -EBADMSG;
                }
                if (check_time && (v = x509_validity_at(x, c->at)) != VALIDITY_OK) {
                        _cleanup_free_ char *cn = x509_subject_cn(x);
                        char at[32];
                        *ret_reason = strdup_printf("%s is %s at %s", cn ? cn : "a certificate", validity_to_string(v),
                                                    format_rfc3339(c->at, at, sizeof(at)));
                        return -ESTALE;
                }
        }
        if (!have_intermediate || !have_ark) {
                *ret_reason = strdup_printf("it lacks the %s %s", snp_product_to_string(p),
                                            !have_intermediate ? snp_cert_role_to_string(want) : "ARK");
                return -EBADMSG;
        }
        return 0;
}

/* Adds the intermediate and ARK of a checked bundle where the chain lacks them. */
static int chain_bundle_add(Ctx *c, STACK_OF(X509) * sk, const char *source) {
        for (int i = 0; i < sk_X509_num(sk); i++) {
                _cleanup_free_ char *reason = NULL;
                X509 *x = sk_X509_value(sk, i);
                SnpCertRole role = snp_cert_identify(x, NULL);
                int r;

                if (role < 0 || c->chain->cert[role])
                        continue;
                r = snp_chain_add_cert(c->chain, x, &reason);
                if (r < 0)
                        return set_reason(c->ret_error, r, "cannot use %s: %s", source, reason ? reason : strerror(-r));
        }
        return 0;
}

static int get_cert_chain(Ctx *c, SnpProduct p, bool vlek) {
        KdsItem item = vlek ? KDS_ITEM_VLEK_CERT_CHAIN : KDS_ITEM_CERT_CHAIN;
        _cleanup_free_ char *path = NULL, *url = NULL, *stale = NULL, *reason = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        size_t size;
        int r;

        if (c->o->cache_dir) {
                r = kds_cache_path(c->o->cache_dir, p, item, NULL, &path);
                if (r < 0)
                        return r;
                r = cache_read(path, &data, &size);
                if (r >= 0) {
                        if (x509_parse_many(data, size, &sk) < 0)
                                stale = strdup_printf("cached %s %s does not parse", item_names[item], path);
                        else if (chain_bundle_check(c, sk, p, vlek, true, &reason) < 0)
                                stale = strdup_printf("cached %s %s is unusable: %s", item_names[item], path,
                                                      reason ? reason : "invalid");
                        else {
                                r = chain_bundle_add(c, sk, path);
                                if (r < 0)
                                        return r;
                                ctx_file_used(c, item, path, false);
                                return 0;
                        }
                        if (!stale)
                                return -ENOMEM;
                        sk_X509_pop_freep(&sk);
                        sk = NULL;
                        free(TAKE_PTR(data));
                        reason = mfree_str(reason);
                } else if (r != -ENOENT)
                        return set_reason(c->ret_error, r, "cannot read the cached %s %s: %s", item_names[item], path,
                                          strerror(-r));
        }
        r = cache_miss(c, stale, path, p, item_names[item]);
        if (r < 0)
                return r;

        r = kds_cert_chain_url(c->o->base_url, p, vlek, &url);
        if (r < 0)
                return r;
        r = fetch(c, item, url, &data, &size);
        if (r < 0)
                return r;
        if (x509_parse_many(data, size, &sk) < 0)
                return set_reason(c->ret_error, -EBADMSG, "the answer from %s holds no certificate", url);
        if (chain_bundle_check(c, sk, p, vlek, false, &reason) < 0)
                return set_reason(c->ret_error, -EBADMSG, "the answer from %s is not the %s %s: %s", url,
                                  snp_product_to_string(p), item_names[item], reason ? reason : "invalid");
        r = chain_bundle_add(c, sk, url);
        if (r < 0)
                return r;
        cache_store(c, item, path, data, size);
        return 0;
}

/* -ESTALE unless thisUpdate <= at <= nextUpdate (no nextUpdate: no upper bound). */
static int crl_current_at(X509_CRL *crl, int64_t at) {
        const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
        int64_t t;

        if (asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &t) < 0 || at < t)
                return -ESTALE;
        if (next && (asn1_time_to_unix(next, &t) < 0 || at > t))
                return -ESTALE;
        return 0;
}

static int get_crl(Ctx *c, SnpProduct p, bool vlek) {
        KdsItem item = vlek ? KDS_ITEM_VLEK_CRL : KDS_ITEM_CRL;
        _cleanup_free_ char *path = NULL, *url = NULL, *stale = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        char at[32];
        size_t size;
        int r;

        format_rfc3339(c->at, at, sizeof(at));
        if (c->o->cache_dir) {
                r = kds_cache_path(c->o->cache_dir, p, item, NULL, &path);
                if (r < 0)
                        return r;
                r = cache_read(path, &data, &size);
                if (r >= 0) {
                        if (x509_crl_parse(data, size, &crl) < 0)
                                stale = strdup_printf("cached %s %s does not parse", item_names[item], path);
                        else if (crl_current_at(crl, c->at) < 0)
                                stale = strdup_printf("cached %s %s is not current at %s", item_names[item], path, at);
                        else {
                                r = snp_chain_set_crl(c->chain, crl);
                                if (r < 0)
                                        return r;
                                ctx_file_used(c, item, path, false);
                                return 0;
                        }
                        if (!stale)
                                return -ENOMEM;
                        X509_CRL_free(TAKE_PTR(crl));
                        free(TAKE_PTR(data));
                } else if (r != -ENOENT)
                        return set_reason(c->ret_error, r, "cannot read the cached %s %s: %s", item_names[item], path,
                                          strerror(-r));
        }
        r = cache_miss(c, stale, path, p, item_names[item]);
        if (r < 0)
                return r;

        r = kds_crl_url(c->o->base_url, p, vlek, &url);
        if (r < 0)
                return r;
        r = fetch(c, item, url, &data, &size);
        if (r < 0)
                return r;
        if (x509_crl_parse(data, size, &crl) < 0)
                return set_reason(c->ret_error, -EBADMSG, "the answer from %s is not an X.509 CRL", url);
        r = snp_chain_set_crl(c->chain, crl);
        if (r < 0)
                return r;
        cache_store(c, item, path, data, size);
        return 0;
}

/* The product named by the certificates the chain already has. */
static SnpProduct chain_product(const SnpChain *chain) {
        X509 *leaf = snp_chain_leaf(chain);
        SnpProduct p;

        if (leaf && (p = leaf_product(leaf)) >= 0)
                return p;
        for (SnpCertRole role = SNP_ROLE_ASK; role < _SNP_ROLE_MAX; role++) {
                p = _SNP_PRODUCT_INVALID;
                if (chain->cert[role] && snp_cert_identify(chain->cert[role], &p) == role && p >= 0)
                        return p;
        }
        return _SNP_PRODUCT_INVALID;
}

/* v2 reports: find the VCEK by trying the products the CHIP_ID shape allows. */
static int probe_vcek(Ctx *c, SnpProduct *ret) {
        static const SnpProduct turin[] = {SNP_PRODUCT_TURIN};
        static const SnpProduct milan_genoa[] = {SNP_PRODUCT_MILAN, SNP_PRODUCT_GENOA};
        _cleanup_free_ char *misses = NULL;
        const SnpProduct *candidates;
        size_t n;
        int r;

        if (memeqzero(c->r->chip_id + 8, 56)) {
                candidates = turin;
                n = ELEMENTSOF(turin);
        } else {
                candidates = milan_genoa;
                n = ELEMENTSOF(milan_genoa);
        }
        for (size_t i = 0; i < n; i++) {
                r = get_vcek(c, candidates[i]);
                if (r >= 0) {
                        *ret = candidates[i];
                        return 0;
                }
                if (r != -ENOENT)
                        return r;
                if (c->ret_error && *c->ret_error) {
                        char *m = misses ? strdup_printf("%s; %s", misses, *c->ret_error) : strdup(*c->ret_error);
                        if (!m)
                                return -ENOMEM;
                        free(misses);
                        misses = m;
                        *c->ret_error = mfree_str(*c->ret_error);
                }
        }
        return set_reason(c->ret_error, -ENOENT,
                          "the version %" PRIu32 " report does not name its product, and no VCEK was found "
                          "for any product it could be: %s",
                          c->r->version, misses ? misses : "not found");
}

int kds_complete_chain(const KdsOptions *o, const SnpReport *r, int product, int64_t at, bool want_crl, SnpChain *chain,
                       char **ret_error) {
        Ctx c = {.o = o, .r = r, .at = at, .chain = chain, .ret_error = ret_error};
        SnpSigningKey key;
        SnpProduct p;
        bool vlek;
        int k;

        if (!o || !r || !chain)
                return -EINVAL;
        if (ret_error)
                *ret_error = NULL;

        key = snp_report_signing_key(r);
        if (key != SNP_SIGNING_KEY_VCEK && key != SNP_SIGNING_KEY_VLEK)
                return set_reason(ret_error, -EBADMSG,
                                  "the report names no signing key (KEY_INFO signing key %d): "
                                  "there is nothing to fetch for it",
                                  (int) key);
        vlek = key == SNP_SIGNING_KEY_VLEK || chain->cert[SNP_ROLE_VLEK];

        p = product >= 0 && product < _SNP_PRODUCT_MAX ? (SnpProduct) product : chain_product(chain);

        if (!snp_chain_leaf(chain)) {
                if (vlek) {
                        /* Still complete what can be had, so that the VLEK alone is missing; the
                         * VLEK is what to report, whatever else failed. */
                        if (product_is_valid(p)) {
                                k = 0;
                                if (!chain->cert[SNP_ROLE_ASVK] || !chain->cert[SNP_ROLE_ARK])
                                        k = get_cert_chain(&c, p, true);
                                if (k >= 0 && want_crl && !chain->crl)
                                        (void) get_crl(&c, p, true);
                        }
                        return set_reason(ret_error, -EOPNOTSUPP,
                                          "the report is signed with a VLEK, and none was given: a VLEK cannot be "
                                          "fetched from AMD KDS by chip ID; it comes from the cloud provider or from "
                                          "the report's certificate table");
                }
                if (memeqzero(r->chip_id, sizeof(r->chip_id)))
                        return set_reason(ret_error, -EOPNOTSUPP,
                                          "the report's CHIP_ID is all zero (masked by the guest policy?), so its "
                                          "VCEK cannot be fetched from AMD KDS; give the VCEK instead");
                k = product_is_valid(p) ? get_vcek(&c, p) : probe_vcek(&c, &p);
                if (k < 0)
                        return k;
        }
        if (!product_is_valid(p))
                return set_reason(ret_error, -EINVAL,
                                  "cannot tell whether the report comes from a Milan, Genoa or Turin "
                                  "processor: name the product");

        if (!snp_chain_intermediate(chain) || !chain->cert[SNP_ROLE_ARK]) {
                k = get_cert_chain(&c, p, vlek);
                if (k < 0)
                        return k;
        }
        if (want_crl && !chain->crl) {
                k = get_crl(&c, p, vlek);
                if (k < 0)
                        return k;
        }
        return 0;
}
