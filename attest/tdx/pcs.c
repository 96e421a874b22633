/* SPDX-License-Identifier: Apache-2.0 */
/* Intel PCS / PCCS collateral for TDX (shared/specs/tdx.md §10): URL builders, the issuer
 * chains from the response headers, and a disk cache with the seven-file bundle shape. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/pcs.h"
#include "cvm/util.h"

#define BUNDLE_FILE_MAX (1024u * 1024u)

/* base without a trailing '/' or "/sgx/certification/v4"; malloc'ed. */
static char *normalize_base(const char *base) {
        static const char *const suffixes[] = { "/sgx/certification/v4", "/tdx/certification/v4" };
        char *b = strdup(base ? base : PCS_DEFAULT_URL);
        size_t n;

        if (!b)
                return NULL;
        n = strlen(b);
        while (n > 0 && b[n - 1] == '/')
                b[--n] = 0;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t k = strlen(suffixes[i]);
                if (n >= k && streq(b + n - k, suffixes[i])) {
                        n -= k;
                        b[n] = 0;
                }
        }
        while (n > 0 && b[n - 1] == '/')
                b[--n] = 0;
        return b;
}

static int build_url(char **ret, const char *base, const char *fmt, const char *arg) {
        _cleanup_free_ char *b = normalize_base(base);
        char *u;

        if (!b)
                return -ENOMEM;
        u = strdup_printf("%s%s%s", b, fmt, arg ? arg : "");
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

int pcs_tcb_info_url(const char *base, const uint8_t fmspc[6], char **ret) {
        _cleanup_free_ char *h = hex_encode(fmspc, 6);

        if (!h)
                return -ENOMEM;
        return build_url(ret, base, "/tdx/certification/v4/tcb?fmspc=", h);
}

int pcs_qe_identity_url(const char *base, char **ret) {
        return build_url(ret, base, "/tdx/certification/v4/qe/identity", NULL);
}

int pcs_pck_crl_url(const char *base, TdxPckCa ca, char **ret) {
        _cleanup_free_ char *arg = NULL;

        if (!tdx_pck_ca_to_string(ca))
                return -EINVAL;
        arg = strdup_printf("%s&encoding=der", tdx_pck_ca_to_string(ca));
        if (!arg)
                return -ENOMEM;
        return build_url(ret, base, "/sgx/certification/v4/pckcrl?ca=", arg);
}

int pcs_root_crl_url(const char *base, bool pccs, char **ret) {
        char *u;

        if (pccs)
                return build_url(ret, base, "/sgx/certification/v4/rootcacrl", NULL);
        u = strdup(PCS_ROOT_CA_CRL_URL);
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int pcs_percent_decode(const char *s, char **ret, size_t *ret_size) {
        size_t n = strlen(s), k = 0;
        char *out = malloc(n + 1);

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%') {
                        int hi, lo;
                        if (i + 2 >= n) {
                                free(out);
                                return -EBADMSG;
                        }
                        hi = unhex(s[i + 1]);
                        lo = hi >= 0 ? unhex(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                                free(out);
                                return -EBADMSG;
                        }
                        out[k++] = (char) (hi << 4 | lo);
                        i += 2;
                } else
                        out[k++] = s[i];
        }
        out[k] = 0;
        *ret = out;
        *ret_size = k;
        return 0;
}

int pcs_cache_path(const char *cache_dir, const uint8_t fmspc[6], TdxPckCa ca, char **ret) {
        _cleanup_free_ char *h = hex_encode(fmspc, 6);
        char *p;

        if (!cache_dir || !tdx_pck_ca_to_string(ca))
                return -EINVAL;
        if (!h)
                return -ENOMEM;
        p = strdup_printf("%s/tdx/%s-%s", cache_dir, h, tdx_pck_ca_to_string(ca));
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static void free_files(uint8_t *data[_TDX_FILE_MAX]) {
        for (int f = 0; f < _TDX_FILE_MAX; f++) {
                free(data[f]);
                data[f] = NULL;
        }
}

/* Reads the files of dir; *ret_missing counts those that are absent. */
static int read_bundle(const char *dir, uint8_t *data[_TDX_FILE_MAX], size_t size[_TDX_FILE_MAX],
                       unsigned *ret_missing, char **ret_error) {
        struct stat st;
        unsigned missing = 0;

        if (stat(dir, &st) < 0)
                return set_reason(ret_error, -errno, "%s: %s", dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return set_reason(ret_error, -ENOTDIR, "%s: not a directory", dir);
        for (int f = 0; f < _TDX_FILE_MAX; f++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s", dir, tdx_collateral_file_name(f));
                int r;

                if (!p)
                        return -ENOMEM;
                r = read_file_bounded(p, BUNDLE_FILE_MAX, &data[f], &size[f]);
                if (r == -ENOENT) {
                        missing++;
                        size[f] = 0;
                        continue;
                }
                if (r < 0)
                        return set_reason(ret_error, r, "%s: cannot read: %s", p, strerror(-r));
        }
        *ret_missing = missing;
        return 0;
}

int pcs_collateral_load_dir(const char *dir, TdxCollateral **ret, char **ret_error) {
        uint8_t *data[_TDX_FILE_MAX] = {};
        size_t size[_TDX_FILE_MAX] = {};
        _cleanup_free_ char *why = NULL;
        unsigned missing;
        int r;

        r = read_bundle(dir, data, size, &missing, ret_error);
        if (r >= 0) {
                r = tdx_collateral_parse((const uint8_t *const *) data, size, ret, &why);
                if (r == -EBADMSG)
                        (void) set_reason(ret_error, r, "%s: %s", dir, why ? why : "does not parse");
        }
        free_files(data);
        return r;
}

/* A cached bundle is used only when complete and current at `at`. */
static int load_cached(const char *dir, int64_t at, TdxCollateral **ret, char **ret_error) {
        _cleanup_(tdx_collateral_freep) TdxCollateral *c = NULL;
        uint8_t *data[_TDX_FILE_MAX] = {};
        size_t size[_TDX_FILE_MAX] = {};
        int64_t from, until;
        unsigned missing = 0;
        char t1[32], t2[32];
        int r;

        r = read_bundle(dir, data, size, &missing, NULL);
        if (r >= 0 && missing > 0)
                r = -ENOENT;
        if (r >= 0)
                r = tdx_collateral_parse((const uint8_t *const *) data, size, &c, NULL);
        free_files(data);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_error, -ENOENT, "%s: no complete collateral bundle in the cache", dir);
        if (!c->tcb_info_chain || !c->qe_identity_chain || !c->pck_crl_chain ||
            tdx_collateral_window(c, &from, &until) < 0)
                return set_reason(ret_error, -ENOENT, "%s: no complete collateral bundle in the cache", dir);
        if (at < from || at > until)
                return set_reason(ret_error, -ESTALE, "%s: cached collateral is current only from %s to %s", dir,
                                  format_rfc3339(from, t1, sizeof(t1)), format_rfc3339(until, t2, sizeof(t2)));
        *ret = TAKE_PTR(c);
        return 0;
}

static int fetch_one(const PcsOptions *o, const char *url, const char *const *headers, size_t n_headers,
                     uint8_t **ret_body, size_t *ret_size, uint8_t **ret_chain, size_t *ret_chain_size,
                     char **ret_error) {
        _cleanup_(http_result_done) HttpResult res = {};
        HttpRequest get = {
                .method = HTTP_METHOD_GET,
                .url = url,
                .want_headers = headers,
                .n_want_headers = n_headers,
                .options = o->http,
        };
        int r;

        r = http_request(&get, &res);
        if (r < 0) {
                if (o->retry_after_usec && res.retry_after_usec)
                        *o->retry_after_usec = res.retry_after_usec;
                if (ret_error && res.error_message)
                        *ret_error = TAKE_PTR(res.error_message);
                return r;
        }
        if (n_headers > 0) {
                const char *v = res.header_values[0] ?: n_headers > 1 ? res.header_values[1] : NULL;
                char *chain = NULL;

                r = v ? pcs_percent_decode(v, &chain, ret_chain_size) : -EBADMSG;
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return set_reason(ret_error, -EBADMSG, "GET %s: no usable %s header", url, headers[0]);
                *ret_chain = (uint8_t *) chain;
        }
        *ret_body = TAKE_PTR(res.body);
        *ret_size = res.body_size;
        return 0;
}

static bool is_hex_text(const uint8_t *p, size_t n) {
        if (n == 0 || n % 2)
                return false;
        for (size_t i = 0; i < n; i++)
                if (unhex((char) p[i]) < 0)
                        return false;
        return true;
}

static int fetch_bundle(const PcsOptions *o, const uint8_t fmspc[6], TdxPckCa ca, uint8_t *data[_TDX_FILE_MAX],
                        size_t size[_TDX_FILE_MAX], char **ret_error) {
        static const char *const tcb_headers[] = { "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain" };
        static const char *const qe_headers[] = { "SGX-Enclave-Identity-Issuer-Chain" };
        static const char *const crl_headers[] = { "SGX-PCK-CRL-Issuer-Chain" };
        _cleanup_free_ char *u1 = NULL, *u2 = NULL, *u3 = NULL, *u4 = NULL;
        int r;

        if (pcs_tcb_info_url(o->base_url, fmspc, &u1) < 0 || pcs_qe_identity_url(o->base_url, &u2) < 0 ||
            pcs_pck_crl_url(o->base_url, ca, &u3) < 0 || pcs_root_crl_url(o->base_url, o->pccs, &u4) < 0)
                return -ENOMEM;
        if (o->http.progress) {
                _cleanup_free_ char *m = strdup_printf("Fetching TDX collateral from %s", u1);
                if (m)
                        o->http.progress(o->http.userdata, m);
        }
        r = fetch_one(o, u1, tcb_headers, 2, &data[TDX_FILE_TCB_INFO], &size[TDX_FILE_TCB_INFO],
                      &data[TDX_FILE_TCB_INFO_CHAIN], &size[TDX_FILE_TCB_INFO_CHAIN], ret_error);
        if (r >= 0)
                r = fetch_one(o, u2, qe_headers, 1, &data[TDX_FILE_QE_IDENTITY], &size[TDX_FILE_QE_IDENTITY],
                              &data[TDX_FILE_QE_IDENTITY_CHAIN], &size[TDX_FILE_QE_IDENTITY_CHAIN], ret_error);
        if (r >= 0)
                r = fetch_one(o, u3, crl_headers, 1, &data[TDX_FILE_PCK_CRL], &size[TDX_FILE_PCK_CRL],
                              &data[TDX_FILE_PCK_CRL_CHAIN], &size[TDX_FILE_PCK_CRL_CHAIN], ret_error);
        if (r >= 0)
                r = fetch_one(o, u4, NULL, 0, &data[TDX_FILE_ROOT_CRL], &size[TDX_FILE_ROOT_CRL], NULL, NULL,
                              ret_error);
        if (r < 0)
                return r;
        /* A PCCS may send the root CA CRL as hex text. */
        if (is_hex_text(data[TDX_FILE_ROOT_CRL], size[TDX_FILE_ROOT_CRL])) {
                _cleanup_free_ char *text = strndup((char *) data[TDX_FILE_ROOT_CRL], size[TDX_FILE_ROOT_CRL]);
                uint8_t *der;
                size_t n;

                if (!text || hex_decode(text, &der, &n) < 0)
                        return -ENOMEM;
                free(data[TDX_FILE_ROOT_CRL]);
                data[TDX_FILE_ROOT_CRL] = der;
                size[TDX_FILE_ROOT_CRL] = n;
        }
        return 0;
}

int pcs_get_collateral(const PcsOptions *o, const uint8_t fmspc[6], TdxPckCa ca, int64_t at, TdxCollateral **ret,
                       char **ret_error) {
        _cleanup_free_ char *dir = NULL, *cache_error = NULL, *why = NULL;
        _cleanup_(tdx_collateral_freep) TdxCollateral *c = NULL;
        uint8_t *data[_TDX_FILE_MAX] = {};
        size_t size[_TDX_FILE_MAX] = {};
        int r;

        if (!o || !ret || !tdx_pck_ca_to_string(ca))
                return -EINVAL;
        if (o->cache_dir) {
                r = pcs_cache_path(o->cache_dir, fmspc, ca, &dir);
                if (r < 0)
                        return r;
                r = load_cached(dir, at, ret, &cache_error);
                if (r >= 0 || r == -ENOMEM)
                        return r;
                if (o->offline) {
                        if (ret_error)
                                *ret_error = TAKE_PTR(cache_error);
                        return r;
                }
        } else if (o->offline)
                return set_reason(ret_error, -ENOENT, "offline and no collateral cache to use");

        r = fetch_bundle(o, fmspc, ca, data, size, ret_error);
        if (r >= 0) {
                r = tdx_collateral_parse((const uint8_t *const *) data, size, &c, &why);
                if (r == -EBADMSG)
                        (void) set_reason(ret_error, r, "PCS sent unusable collateral: %s", why ? why : "?");
        }
        if (r >= 0 && dir) {
                r = mkdir_p(dir, 0755);
                for (int f = 0; f < _TDX_FILE_MAX && r >= 0; f++) {
                        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, tdx_collateral_file_name(f));
                        r = p ? write_file_atomic(p, data[f], size[f], 0644) : -ENOMEM;
                }
                if (r < 0 && r != -ENOMEM)
                        (void) set_reason(ret_error, r, "%s: cannot write the cache: %s", dir, strerror(-r));
        }
        free_files(data);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}
