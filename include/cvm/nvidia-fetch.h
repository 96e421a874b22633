/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NVIDIA collateral: RIMs from the RIM service (GET {base}/v1/rim/<id>, JSON {"id", "rim": base64
 * XML}) and OCSP for certificate chains (POST application/ocsp-request), both behind a disk cache
 * under <cache>/nvidia/{rim,ocsp}/ and an offline mode that uses only the cache. Nothing is
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
        const char *cache_dir; /* NULL: no cache */
        bool offline;          /* never fetch */
        HttpOptions http;
} NvFetchOptions;

/* RIM ids are [A-Za-z0-9._-], 1..128 characters, not starting with '.'. */
bool nv_rim_id_is_valid(const char *id);
int nv_rim_url(const char *base, const char *id, char **ret);
/* Decodes a RIM service answer; the "id" must equal want_id. */
int nv_rim_service_decode(const uint8_t *body, size_t size, const char *want_id, uint8_t **ret_xml, size_t *ret_size,
                          char **ret_error);
/* The RIM XML for id: from the cache, else (unless offline) from the service, stored in the cache.
 * -ENOENT when not found (404 or not cached offline). */
int nv_rim_get(const NvFetchOptions *o, const char *id, uint8_t **ret, size_t *ret_size, char **ret_error);

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
/* OCSP for one certificate: a cached response still usable at `at`, else (unless offline) a fresh
 * one, stored in the cache. 1 status known (in *ret_status), 0 no usable answer (reason), -errno. */
int nv_ocsp_check(const NvFetchOptions *o, X509 *cert, X509 *issuer, int64_t at, NvOcspStatus *ret_status,
                  char **ret_reason);
/* OCSP for certs[first .. last) of a chain (leaf first; each issued by the next): 1 every one good,
 * 0 not (the reason names the certificate and its status), -errno. */
int nv_ocsp_check_chain(const NvFetchOptions *o, STACK_OF(X509) *certs, size_t first, size_t last, int64_t at,
                        char **ret_reason);

/* ---- collateral for a board: the same code for cvmctl verify gpu and the launch ---- */

#define NV_WANTS_MAX 64u
#define NV_RIM_SET_MAX 256u

/* What an appraisal that may not block (it runs on an event loop) found missing in the cache:
 * the caller fetches it off the loop with nv_wants_fetch() and runs a fresh exchange. */
typedef struct NvWants {
        char *rim_ids[NV_WANTS_MAX];
        size_t n_rim_ids;
        X509 *ocsp_certs[NV_WANTS_MAX], *ocsp_issuers[NV_WANTS_MAX]; /* references held */
        size_t n_ocsp;
} NvWants;

void nv_wants_done(NvWants *w);
bool nv_wants_empty(const NvWants *w);
/* Fetches every RIM and OCSP response w lists into o's cache (o->cache_dir must be set; nothing
 * is fetched when o->offline). Blocking: call it on a worker thread. 0 when every one was fetched,
 * else -EIO with the first failure's reason (the appraisal that follows refuses what is still
 * missing); -ENOMEM. */
int nv_wants_fetch(const NvFetchOptions *o, const NvWants *w, int64_t at, char **ret_reason);

/* RIMs for a board, owned. */
typedef struct NvRimSet {
        NvRim *rims[NV_RIM_SET_MAX];
        size_t n;
} NvRimSet;

void nv_rim_set_done(NvRimSet *s);
/* Parses data as a RIM and adds it under id (may be NULL). A RIM that does not parse is a failed
 * check "rim.load" naming `what`, and 0; -E2BIG when the set is full, -ENOMEM. */
int nv_rim_set_add(NvRimSet *s, const uint8_t *data, size_t size, const char *what, const char *id, Verdict *v);

/* The driver and VBIOS RIMs the reports name, each once: from o's cache, else from the RIM
 * service unless o->offline, or unless wants is given: then the cache only, and each id it lacks
 * is added to wants. A RIM that cannot be had is a failed check "rim.fetch" (the GPUs'
 * measurements then fail for want of it). Returns 0, -ENOMEM. */
int nv_rims_for_reports(const NvFetchOptions *o, const NvGpuInput *gpus, size_t n, NvRimSet *set, NvWants *wants,
                        Verdict *v);

/* OCSP for every GPU chain (certificates 1..3: BROM, provisioner ICA, identity CA; the leaf and
 * the root are not checked, as upstream) and for the signer chain of every RIM the board used
 * (all but its root). Checks "gpu<i>.ocsp" and "rim.<id>.ocsp". With wants, the cache only: each
 * certificate without a usable cached answer is added to wants, and its check fails. Returns 1
 * when every certificate is good, 0 when not, -ENOMEM. */
int nv_board_ocsp(const NvFetchOptions *o, const NvGpuInput *gpus, size_t n, const NvRimSet *rims,
                  const NvBoardAppraisal *b, int64_t at, NvWants *wants, Verdict *v);
