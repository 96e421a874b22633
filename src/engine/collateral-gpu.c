/* SPDX-License-Identifier: Apache-2.0 */
/* NVIDIA GPU collateral for the appraisal (include/cvm/collateral.h): RIMs and OCSP responses
 * from the cache (nvidia-fetch.h's layout), else fetched from the RIM service and the OCSP
 * responder through the provider's core (collateral.c), as an NvSource for the board's
 * appraisal. The host decides revocation: the answers are the host's own, never the guest's. */
#include <string.h>
#include <time.h>

#include "collateral-internal.h"
#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/util.h"

/* What a fetch needs, copied: it may run on the fetch thread after the appraisal returned. */
typedef struct GpuJob {
        char *id;            /* a RIM's */
        X509 *cert, *issuer; /* an OCSP answer's; references held */
        int64_t at;          /* the answer must be current then */
        char *url;           /* the source's service; NULL: the provider's */
} GpuJob;

static void gpu_job_free(void *userdata) {
        GpuJob *j = userdata;

        free(j->id);
        X509_free(j->cert);
        X509_free(j->issuer);
        free(j->url);
        free(j);
}

static GpuJob *gpu_job_new(const char *id, X509 *cert, X509 *issuer, int64_t at, const char *url) {
        GpuJob *j = calloc(1, sizeof(GpuJob));

        if (!j)
                return NULL;
        j->at = at;
        if ((id && !(j->id = strdup(id))) || (url && !(j->url = strdup(url)))) {
                gpu_job_free(j);
                return NULL;
        }
        if (cert && X509_up_ref(cert))
                j->cert = cert;
        if (issuer && X509_up_ref(issuer))
                j->issuer = issuer;
        if ((cert && !j->cert) || (issuer && !j->issuer)) {
                gpu_job_free(j);
                return NULL;
        }
        return j;
}

static int rim_fetch(const CollateralFetch *f, void *userdata, char **ret_reason) {
        GpuJob *j = userdata;
        NvFetchOptions o = { .rim_url = j->url ?: f->nvidia_rim_url, .cache_dir = f->cache_dir, .http = f->http };

        return nv_rim_fetch(&o, j->id, f->retry_after_usec, ret_reason);
}

static int ocsp_fetch(const CollateralFetch *f, void *userdata, char **ret_reason) {
        GpuJob *j = userdata;
        NvFetchOptions o = { .ocsp_url = j->url ?: f->nvidia_ocsp_url, .cache_dir = f->cache_dir, .http = f->http };

        return nv_ocsp_fetch(&o, j->cert, j->issuer, j->at, f->retry_after_usec, ret_reason);
}

/* One item per RIM id: every launch whose GPUs name it shares it. */
static int rim_item(const char *id, int64_t at, const char *url, CollateralItem *ret) {
        return collateral_item_new(strdup_printf("nvidia/rim/%s", id), strdup_printf("NVIDIA RIM %s", id), rim_fetch,
                                   gpu_job_new(id, NULL, NULL, at, url), gpu_job_free, ret);
}

/* One item per certificate (its CertID): the boards that share an intermediate share its answer. */
static int ocsp_item(const char *path, X509 *cert, int64_t at, X509 *issuer, const char *url, CollateralItem *ret) {
        _cleanup_free_ char *cn = x509_subject_cn(cert);
        const char *name = strrchr(path, '/');

        return collateral_item_new(strdup_printf("nvidia/ocsp/%.64s", name ? name + 1 : path),
                                   strdup_printf("the OCSP answer for %s", cn ?: "a GPU certificate"), ocsp_fetch,
                                   gpu_job_new(NULL, cert, issuer, at, url), gpu_job_free, ret);
}

/* The cache alone: the RIM, current at `at`. -ENOENT or -ESTALE with a reason. */
static int rim_lookup(Collateral *c, const char *id, int64_t at, uint8_t **ret, size_t *ret_size, int64_t *ret_until,
                      char **ret_reason) {
        _cleanup_free_ char *path = NULL, *why = NULL;
        _cleanup_free_ uint8_t *xml = NULL;
        _cleanup_(nv_rim_freep) NvRim *rim = NULL;
        int64_t from, until;
        char t1[32], t2[32], t3[32];
        size_t size;
        int r;

        r = nv_rim_cache_path(c->cache_dir, id, &path);
        if (r < 0)
                return set_reason(ret_reason, r, "\"%.64s\" is not a valid RIM id", id);
        r = read_file_bounded(path, NV_RIM_SIZE_MAX, &xml, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_reason, -ENOENT, "RIM %s is not in the cache (%s)", id, path);
        r = nv_rim_parse(xml, size, &rim, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || nv_rim_window(rim, &from, &until) < 0)
                return set_reason(ret_reason, -ESTALE, "the cached RIM %s does not parse: %s", id,
                                  why ?: "no signing certificate");
        if (at < from || at > until)
                return set_reason(ret_reason, -ESTALE,
                                  "the cached RIM %s is signed with a certificate valid from %s to %s, not at %s", id,
                                  format_rfc3339(from, t1, sizeof(t1)), format_rfc3339(until, t2, sizeof(t2)),
                                  format_rfc3339(at, t3, sizeof(t3)));
        *ret = TAKE_PTR(xml);
        *ret_size = size;
        *ret_until = until;
        return 0;
}

static int gpu_rim(Collateral *c, const char *url, const char *id, int64_t at, uint8_t **ret, size_t *ret_size,
                   char **ret_reason) {
        _cleanup_(collateral_item_done) CollateralItem item = {};
        _cleanup_free_ char *reason = NULL;
        int64_t until;
        int k;

        k = rim_lookup(c, id, at, ret, ret_size, &until, &reason);
        if (k == -ENOENT || k == -ESTALE) {
                _cleanup_free_ char *why = NULL;
                int miss = k;

                if (c->config.offline)
                        return set_reason(ret_reason, k, "%s, and offline", reason);
                k = rim_item(id, at, url, &item);
                if (k < 0)
                        return k;
                k = collateral_obtain(c, &item, &why);
                if (k == -EALREADY) /* fetched moments ago: the cache's answer stands */
                        return set_reason(ret_reason, miss, "%s", reason);
                if (k < 0)
                        return set_reason(ret_reason, k, "%s", why ?: strerror(-k));
                reason = mfree_str(reason);
                k = rim_lookup(c, id, at, ret, ret_size, &until, &reason);
        }
        if (k < 0)
                return set_reason(ret_reason, k, "%s", reason ?: strerror(-k));
        /* still good: used now, and fetched anew meanwhile when its signer is about to expire */
        if (until - at < collateral_refresh_sec(c) && rim_item(id, at, url, &item) >= 0)
                collateral_refresh(c, &item);
        return 0;
}

/* The cache alone: a verified answer for cert current at `at`. 1 (its status and window), 0 none
 * usable (reason), -errno. */
static int ocsp_lookup(const char *path, X509 *cert, X509 *issuer, int64_t at, NvOcspStatus *ret_status,
                       NvOcspInfo *ret_info, char **ret_reason) {
        _cleanup_free_ uint8_t *der = NULL;
        _cleanup_free_ char *why = NULL;
        size_t size;
        int r;

        r = read_file_bounded(path, 64 * 1024, &der, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_reason, 0, "no usable OCSP response in the cache (%s)", path);
        r = nv_ocsp_response_verify(der, size, cert, issuer, at, NULL, ret_status, &why);
        if (r < 0)
                return r;
        if (r == 0)
                return set_reason(ret_reason, 0, "no usable OCSP response in the cache: %s", why ?: "invalid");
        if (nv_ocsp_response_info(der, size, ret_info) < 0)
                return set_reason(ret_reason, 0, "the cached OCSP answer has no readable window");
        return 1;
}

/* Refreshed before the end of its window: within the refresh window, or within its last half
 * (a responder's answers often live for hours, not days). */
static bool ocsp_expiring(const Collateral *c, const NvOcspInfo *info, int64_t at) {
        int64_t left = info->next_update - at, margin = collateral_refresh_sec(c);
        int64_t half = (info->next_update - info->this_update) / 2;

        if (half < margin)
                margin = half;
        return left < margin;
}

static int gpu_ocsp(Collateral *c, const char *url, X509 *cert, X509 *issuer, int64_t at, NvOcspStatus *ret_status,
                    char **ret_reason) {
        _cleanup_(collateral_item_done) CollateralItem item = {};
        _cleanup_free_ char *path = NULL, *reason = NULL;
        NvOcspInfo info;
        int k;

        k = nv_ocsp_cache_path(c->cache_dir, cert, issuer, &path);
        if (k < 0)
                return k;
        k = ocsp_lookup(path, cert, issuer, at, ret_status, &info, &reason);
        if (k == 0) {
                _cleanup_free_ char *why = NULL;

                if (c->config.offline)
                        return set_reason(ret_reason, 0, "%s, and offline", reason);
                k = ocsp_item(path, cert, at, issuer, url, &item);
                if (k < 0)
                        return k;
                k = collateral_obtain(c, &item, &why);
                if (k == -EALREADY)
                        return set_reason(ret_reason, 0, "%s", reason);
                if (k == -EINPROGRESS || k == -ENOMEM)
                        return set_reason(ret_reason, k, "%s", why ?: strerror(-k));
                /* no answer from the responder: the certificate is not known good */
                if (k < 0)
                        return set_reason(ret_reason, 0, "%s", why ?: strerror(-k));
                reason = mfree_str(reason);
                k = ocsp_lookup(path, cert, issuer, at, ret_status, &info, &reason);
        }
        if (k <= 0)
                return k < 0 ? k : set_reason(ret_reason, 0, "%s", reason);
        if (ocsp_expiring(c, &info, at) && ocsp_item(path, cert, at, issuer, url, &item) >= 0)
                collateral_refresh(c, &item);
        return 1;
}

static int source_rim(const NvSource *s, const char *id, int64_t at, uint8_t **ret, size_t *ret_size,
                      char **ret_reason) {
        return gpu_rim(s->userdata, s->rim_url, id, at ? at : (int64_t) time(NULL), ret, ret_size, ret_reason);
}

static int source_ocsp(const NvSource *s, X509 *cert, X509 *issuer, int64_t at, NvOcspStatus *ret_status,
                       char **ret_reason) {
        return gpu_ocsp(s->userdata, s->ocsp_url, cert, issuer, at ? at : (int64_t) time(NULL), ret_status, ret_reason);
}

void collateral_gpu_source(Collateral *c, const char *rim_url, const char *ocsp_url, NvSource *ret) {
        *ret = (NvSource) { .rim = source_rim, .ocsp = source_ocsp, .userdata = c, .rim_url = rim_url,
                            .ocsp_url = ocsp_url };
}
