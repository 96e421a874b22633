/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NVIDIA collateral: RIMs from the RIM service (GET {base}/v1/rim/<id>, JSON {"id", "rim": base64
 * XML}) and OCSP for certificate chains (POST application/ocsp-request), each fetched into a disk
 * cache under <cache>/nvidia/{rim,ocsp}/. When to use the cache and when to fetch (single flight,
 * backoff, freshness, offline) is the host's collateral provider's (collateral.h). Nothing is
 * trusted because it came from the cache or the network: RIMs are verified by nv_rim_verify(),
 * OCSP responses by nv_ocsp_response_verify() every time they are used. Nothing here logs. */

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/gpu.h"
#include "cvm/http.h"
#include "cvm/verdict.h"

#define NV_RIM_SERVICE_DEFAULT_URL "https://rim.attestation.nvidia.com"
#define NV_OCSP_DEFAULT_URL "https://ocsp.ndis.nvidia.com"
/* A response without nextUpdate is good for this long after thisUpdate (as NVIDIA's SDK). */
#define NV_OCSP_DEFAULT_VALIDITY_SEC 3600
/* Clock skew allowed on thisUpdate. */
#define NV_OCSP_SKEW_SEC 300

typedef struct NvFetchOptions {
        const char *rim_url;   /* NULL: NV_RIM_SERVICE_DEFAULT_URL */
        const char *ocsp_url;  /* NULL: NV_OCSP_DEFAULT_URL */
        const char *cache_dir; /* where a fetch stores what it got (required) */
        HttpOptions http;
} NvFetchOptions;

/* RIM ids are [A-Za-z0-9._-], 1..128 characters, not starting with '.'. */
bool nv_rim_id_is_valid(const char *id);
int nv_rim_url(const char *base, const char *id, char **ret);
/* Decodes a RIM service answer; the "id" must equal want_id. */
int nv_rim_service_decode(const uint8_t *body, size_t size, const char *want_id, uint8_t **ret_xml, size_t *ret_size,
                          char **ret_error);
typedef enum NvOcspStatus {
        NV_OCSP_GOOD,
        NV_OCSP_REVOKED,
        NV_OCSP_UNKNOWN,
        _NV_OCSP_STATUS_MAX,
        _NV_OCSP_STATUS_INVALID = -EINVAL,
} NvOcspStatus;

const char *nv_ocsp_status_to_string(NvOcspStatus s);

/* A DER OCSP request for cert (issued by issuer), SHA-1 CertID, with a nonce extension when nonce
 * (32 bytes) is not NULL. */
int nv_ocsp_request(X509 *cert, X509 *issuer, const uint8_t *nonce, uint8_t **ret_der, size_t *ret_size);
/* Checks a DER OCSP response for cert: responseStatus successful, a basic response signed by the
 * issuer or by a responder certificate the issuer signed with the OCSPSigning EKU (valid at `at`),
 * a SingleResponse for cert's CertID, thisUpdate <= at + skew and at <= nextUpdate (or thisUpdate +
 * 1 h), and, when nonce is given, no different nonce. 1 usable (the status in *ret_status), 0 not
 * usable (reason), -errno. */
int nv_ocsp_response_verify(const uint8_t *der, size_t size, X509 *cert, X509 *issuer, int64_t at,
                            const uint8_t *nonce, NvOcspStatus *ret_status, char **ret_reason);
/* ---- the cache files, and fetching one item into the cache ---- */

/* <cache>/nvidia/rim/<id>.xml; -EINVAL for an invalid id, -ENOMEM. */
int nv_rim_cache_path(const char *cache_dir, const char *id, char **ret);
/* <cache>/nvidia/ocsp/<SHA-256 of the DER CertID (SHA-1) of cert and issuer, hex>.der */
int nv_ocsp_cache_path(const char *cache_dir, X509 *cert, X509 *issuer, char **ret);
/* Asks the RIM service for id whatever the cache holds, and stores the decoded RIM in
 * o->cache_dir (required). *retry_after_usec (may be NULL) gets the service's last Retry-After.
 * 0, or -errno with a reason (-ENOENT: the service has no such RIM). */
int nv_rim_fetch(const NvFetchOptions *o, const char *id, uint64_t *retry_after_usec, char **ret_reason);
/* Asks the OCSP responder about cert (with a nonce) whatever the cache holds, and stores the
 * response in o->cache_dir (required) once it verifies and is current at `at`, whatever status
 * it gives. 0, or -errno with a reason (-EBADMSG: the answer is not usable). */
int nv_ocsp_fetch(const NvFetchOptions *o, X509 *cert, X509 *issuer, int64_t at, uint64_t *retry_after_usec,
                  char **ret_reason);

/* What an OCSP response says about the first certificate it answers for, unverified: for the
 * freshness of a response nv_ocsp_response_verify() accepted, and for listing a cache. */
typedef struct NvOcspInfo {
        int64_t this_update, next_update; /* next_update: thisUpdate + NV_OCSP_DEFAULT_VALIDITY_SEC when absent */
        NvOcspStatus status;
        char serial[2 * 20 + 1]; /* the certificate's serial number, hex (at most 20 bytes shown) */
} NvOcspInfo;
/* 0, -EBADMSG when it is not a successful basic OCSP response with a single response. */
int nv_ocsp_response_info(const uint8_t *der, size_t size, NvOcspInfo *ret);
/* A RIM's validity: its signing certificate's (the first KeyInfo certificate's) window.
 * -EBADMSG when it has none that reads. */
int nv_rim_window(const NvRim *rim, int64_t *ret_from, int64_t *ret_until);

/* ---- collateral for a board: the same code for cvmctl verify gpu and the launch ---- */

#define NV_RIM_SET_MAX 256u

/* Where a board's RIMs and OCSP answers come from: the host's collateral provider (collateral.h,
 * collateral_gpu_source()), which caches them, fetches what is missing or about to expire and,
 * on an event loop, answers -EINPROGRESS while it fetches.
 * A lookup never trusts what it returns: the RIM is verified with nv_rim_verify(), the OCSP
 * answer by the source with nv_ocsp_response_verify(). */
typedef struct NvSource NvSource;
struct NvSource {
        /* The RIM XML for id, for an appraisal at `at`: 0; -EINPROGRESS (being fetched: no answer
         * yet); -errno with a reason */
        int (*rim)(const NvSource *s, const char *id, int64_t at, uint8_t **ret, size_t *ret_size, char **ret_reason);
        /* OCSP for cert: 1 a verified answer current at `at` (its status in *ret_status); 0 none
         * usable (reason); -EINPROGRESS; -errno */
        int (*ocsp)(const NvSource *s, X509 *cert, X509 *issuer, int64_t at, NvOcspStatus *ret_status,
                    char **ret_reason);
        void *userdata;
        const char *rim_url, *ocsp_url; /* NULL: the source's own (NVIDIA's) */
};

/* RIMs for a board, owned. */
typedef struct NvRimSet {
        NvRim *rims[NV_RIM_SET_MAX];
        size_t n;
} NvRimSet;

void nv_rim_set_done(NvRimSet *s);
/* Parses data as a RIM and adds it under id (may be NULL). A RIM that does not parse is a failed
 * check "rim.load" naming `what`, and 0; -E2BIG when the set is full, -ENOMEM. */
int nv_rim_set_add(NvRimSet *s, const uint8_t *data, size_t size, const char *what, const char *id, Verdict *v);

/* The driver and VBIOS RIMs the reports name, each once, from src. A RIM that cannot be had is a
 * failed check "rim.fetch" (the GPUs' measurements then fail for want of it). Returns 0,
 * -ENOMEM, or -EINPROGRESS when src is fetching one or more of them (every one is asked for
 * first, so that their fetches start together): no verdict then, ask again once they are in. */
int nv_rims_for_reports(const NvSource *src, const NvGpuInput *gpus, size_t n, int64_t at, NvRimSet *set, Verdict *v);

/* OCSP for every GPU chain (certificates 1..3: BROM, provisioner ICA, identity CA; the leaf and
 * the root are not checked, as upstream) and for the signer chain of every RIM the board used
 * (all but its root), from src. Checks "gpu<i>.ocsp" and "rim.<id>.ocsp". Returns 1 when every
 * certificate is good, 0 when not, -ENOMEM, or -EINPROGRESS as nv_rims_for_reports(). */
int nv_board_ocsp(const NvSource *src, const NvGpuInput *gpus, size_t n, const NvRimSet *rims,
                  const NvBoardAppraisal *b, int64_t at, Verdict *v);
/* OCSP for device chains of another kind, NVSwitches: certificates 1..3 of each, as for the
 * GPUs, checks "<kind><i>.ocsp" (a NULL chain is a failed check). Returns as nv_board_ocsp(). */
int nv_chains_ocsp(const NvSource *src, const char *kind, NvChain *const *chains, size_t n, int64_t at, Verdict *v);
