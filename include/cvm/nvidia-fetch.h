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

#include "cvm/http.h"

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
