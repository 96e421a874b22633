/* SPDX-License-Identifier: Apache-2.0 */
/* What the collateral cache holds (collateral_list()): one entry per cached item, with its
 * validity and whether it is fresh, about to expire, stale or unreadable. One lister per
 * vendor: AMD (snp/), Intel (tdx/), NVIDIA RIMs and OCSP responses (nvidia/). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "collateral-internal.h"
#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/kds.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/pcs.h"
#include "cvm/util.h"

static const char *const state_names[_COLLATERAL_STATE_MAX] = {
        [COLLATERAL_FRESH] = "fresh",
        [COLLATERAL_EXPIRING] = "expiring",
        [COLLATERAL_STALE] = "stale",
        [COLLATERAL_INVALID] = "invalid",
};

const char *collateral_state_to_string(CollateralState s) {
        return s >= 0 && s < _COLLATERAL_STATE_MAX ? state_names[s] : NULL;
}

typedef struct Walk {
        int64_t at, refresh_sec;
        int (*cb)(void *userdata, const CollateralEntry *e);
        void *userdata;
} Walk;

static int emit(const Walk *w, CollateralEntry *e, bool parsed) {
        if (!parsed)
                e->state = COLLATERAL_INVALID;
        else if (w->at < e->valid_from || w->at > e->valid_until)
                e->state = COLLATERAL_STALE;
        else if (e->valid_until - w->at < w->refresh_sec)
                e->state = COLLATERAL_EXPIRING;
        else
                e->state = COLLATERAL_FRESH;
        return w->cb(w->userdata, e);
}

static void window_narrow(X509 *x, int64_t *from, int64_t *until) {
        int64_t t;

        if (x509_not_before(x, &t) >= 0 && t > *from)
                *from = t;
        if (x509_not_after(x, &t) >= 0 && t < *until)
                *until = t;
}

/* A certificate file (the VCEK, or a cert_chain of two): valid where all of them are. */
static int list_certs(const Walk *w, CollateralEntry *e) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        size_t size;
        bool parsed;

        e->valid_from = INT64_MIN;
        e->valid_until = INT64_MAX;
        parsed = read_file_bounded(e->path, CVM_INPUT_MAX, &data, &size) >= 0 && x509_parse_many(data, size, &sk) >= 0;
        if (parsed)
                for (int i = 0; i < sk_X509_num(sk); i++)
                        window_narrow(sk_X509_value(sk, i), &e->valid_from, &e->valid_until);
        else
                e->valid_from = e->valid_until = 0;
        return emit(w, e, parsed);
}

static int list_crl(const Walk *w, CollateralEntry *e) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        size_t size;
        bool parsed;

        e->valid_from = e->valid_until = 0;
        parsed = read_file_bounded(e->path, CVM_INPUT_MAX, &data, &size) >= 0 && x509_crl_parse(data, size, &crl) >= 0 &&
                 asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &e->valid_from) >= 0;
        if (parsed && (!X509_CRL_get0_nextUpdate(crl) ||
                       asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &e->valid_until) < 0))
                e->valid_until = INT64_MAX;
        return emit(w, e, parsed);
}

static bool is_file(const char *path) {
        struct stat st;

        return stat(path, &st) >= 0 && S_ISREG(st.st_mode);
}

/* Names in dir, sorted, that end in suffix ("" for any), not starting with '.'. */
static int sorted_names(const char *dir, const char *suffix, char ***ret, size_t *ret_n) {
        struct dirent **l = NULL;
        char **names;
        size_t n = 0, k = strlen(suffix);
        int m = scandir(dir, &l, NULL, alphasort);

        *ret = NULL;
        *ret_n = 0;
        if (m < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        names = calloc((size_t) m + 1, sizeof(char *));
        for (int i = 0; i < m; i++) {
                size_t len = strlen(l[i]->d_name);

                if (names && l[i]->d_name[0] != '.' && len > k && streq(l[i]->d_name + len - k, suffix) &&
                    !(names[n++] = strdup(l[i]->d_name))) {
                        for (size_t j = 0; j + 1 < n; j++)
                                free(names[j]);
                        free(names);
                        names = NULL;
                }
                free(l[i]);
        }
        free(l);
        if (!names)
                return -ENOMEM;
        *ret = names;
        *ret_n = n;
        return 0;
}

static void names_free(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* vcek/<hwid hex>-<REPORTED_TCB hex>.der: "chip <hwid> tcb <tcb>" */
static char *vcek_detail(const char *name) {
        const char *dash = strrchr(name, '-');
        size_t n = strlen(name);

        if (!dash || n < 4)
                return strdup(name);
        return strdup_printf("chip %.*s tcb %.*s", (int) (dash - name), name, (int) (n - 4 - (size_t) (dash - name) - 1),
                             dash + 1);
}

static int list_snp(const char *cache_dir, const Walk *w) {
        static const struct {
                const char *file, *kind;
                bool crl;
        } files[] = {
                { "cert_chain.pem", "cert_chain", false },
                { "vlek_cert_chain.pem", "vlek_cert_chain", false },
                { "crl.der", "crl", true },
                { "vlek_crl.der", "vlek_crl", true },
        };
        int r;

        for (SnpProduct p = 0; p < _SNP_PRODUCT_MAX; p++) {
                _cleanup_free_ char *vdir = strdup_printf("%s/snp/%s/vcek", cache_dir, snp_product_to_string(p));
                char **names;
                size_t n;

                if (!vdir)
                        return -ENOMEM;
                r = sorted_names(vdir, ".der", &names, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n && r >= 0; i++) {
                        _cleanup_free_ char *path = strdup_printf("%s/%s", vdir, names[i]), *detail = vcek_detail(names[i]);
                        CollateralEntry e = { .tee = "sev-snp", .kind = "vcek", .platform = snp_product_to_string(p),
                                              .detail = detail, .path = path };

                        r = path && detail ? list_certs(w, &e) : -ENOMEM;
                }
                names_free(names, n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        _cleanup_free_ char *path =
                                strdup_printf("%s/snp/%s/%s", cache_dir, snp_product_to_string(p), files[i].file);
                        CollateralEntry e = { .tee = "sev-snp", .kind = files[i].kind,
                                              .platform = snp_product_to_string(p), .path = path };

                        if (!path)
                                return -ENOMEM;
                        if (!is_file(path))
                                continue;
                        r = files[i].crl ? list_crl(w, &e) : list_certs(w, &e);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* tdx/<fmspc hex>-<platform|processor>/: one bundle. */
static int list_tdx(const char *cache_dir, const Walk *w) {
        _cleanup_free_ char *tdir = strdup_printf("%s/tdx", cache_dir);
        char **names;
        size_t n;
        int r;

        if (!tdir)
                return -ENOMEM;
        r = sorted_names(tdir, "", &names, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
                _cleanup_free_ char *path = strdup_printf("%s/%s", tdir, names[i]), *platform = NULL;
                const char *dash = strrchr(names[i], '-');
                CollateralEntry e = { .tee = "tdx", .kind = "bundle", .path = path };
                bool parsed;

                platform = dash ? strdup_printf("fmspc %.*s", (int) (dash - names[i]), names[i]) : strdup(names[i]);
                if (!path || !platform) {
                        r = -ENOMEM;
                        break;
                }
                e.platform = platform;
                e.detail = dash ? dash + 1 : NULL;
                parsed = pcs_collateral_load_dir(path, &col, NULL) >= 0 &&
                         tdx_collateral_window(col, &e.valid_from, &e.valid_until) >= 0;
                if (!parsed)
                        e.valid_from = e.valid_until = 0;
                r = emit(w, &e, parsed);
        }
        names_free(names, n);
        return r;
}

/* nvidia/rim/<id>.xml: valid while its signing certificate is */
static int list_rim(const Walk *w, CollateralEntry *e) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(nv_rim_freep) NvRim *rim = NULL;
        size_t size;
        bool parsed;

        parsed = read_file_bounded(e->path, NV_RIM_SIZE_MAX, &data, &size) >= 0 &&
                 nv_rim_parse(data, size, &rim, NULL) >= 0 && nv_rim_window(rim, &e->valid_from, &e->valid_until) >= 0;
        if (!parsed)
                e->valid_from = e->valid_until = 0;
        return emit(w, e, parsed);
}

/* nvidia/ocsp/<certid>.der: from thisUpdate to nextUpdate; the detail names the certificate's
 * serial number and the status the responder gave */
static int list_ocsp(const Walk *w, CollateralEntry *e, char **ret_detail) {
        _cleanup_free_ uint8_t *data = NULL;
        NvOcspInfo info = {};
        Walk ocsp = *w;
        size_t size;
        bool parsed;

        parsed = read_file_bounded(e->path, 64 * 1024, &data, &size) >= 0 &&
                 nv_ocsp_response_info(data, size, &info) >= 0;
        if (parsed) {
                e->valid_from = info.this_update;
                e->valid_until = info.next_update;
                *ret_detail = strdup_printf("serial %s %s", info.serial, nv_ocsp_status_to_string(info.status));
                if (!*ret_detail)
                        return -ENOMEM;
                e->detail = *ret_detail;
                /* expiring as the provider judges it: within its refresh window or its last half */
                if ((info.next_update - info.this_update) / 2 < ocsp.refresh_sec)
                        ocsp.refresh_sec = (info.next_update - info.this_update) / 2;
        } else
                e->valid_from = e->valid_until = 0;
        return emit(&ocsp, e, parsed);
}

static int list_nvidia(const char *cache_dir, const Walk *w) {
        static const char *const kinds[] = { "rim", "ocsp" };
        int r = 0;

        for (size_t k = 0; k < ELEMENTSOF(kinds) && r >= 0; k++) {
                _cleanup_free_ char *dir = strdup_printf("%s/nvidia/%s", cache_dir, kinds[k]);
                const char *suffix = k == 0 ? ".xml" : ".der";
                char **names;
                size_t n;

                if (!dir)
                        return -ENOMEM;
                r = sorted_names(dir, suffix, &names, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n && r >= 0; i++) {
                        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, names[i]), *id = NULL, *detail = NULL;
                        CollateralEntry e = { .tee = "gpu", .kind = kinds[k], .platform = "nvidia", .path = path };

                        if (!path) {
                                r = -ENOMEM;
                                break;
                        }
                        if (k == 0) {
                                id = strndup(names[i], strlen(names[i]) - 4);
                                e.detail = id;
                                r = id ? list_rim(w, &e) : -ENOMEM;
                        } else
                                r = list_ocsp(w, &e, &detail);
                }
                names_free(names, n);
        }
        return r;
}

int collateral_list(const char *cache_dir, int64_t at, int64_t refresh_sec,
                    int (*cb)(void *userdata, const CollateralEntry *e), void *userdata) {
        /* one per vendor, in this order */
        static int (*const listers[])(const char *cache_dir, const Walk *w) = { list_snp, list_tdx, list_nvidia };
        Walk w = { .at = at, .refresh_sec = refresh_sec > 0 ? refresh_sec : refresh_sec < 0 ? 0 : COLLATERAL_REFRESH_SEC_DEFAULT,
                   .cb = cb, .userdata = userdata };
        int r;

        if (!cache_dir || !cb)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(listers); i++) {
                r = listers[i](cache_dir, &w);
                if (r < 0)
                        return r;
        }
        return 0;
}
