/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Intel collateral for TDX from Intel's Provisioning Certification Service (PCS) or a local
 * caching service (PCCS), kept in a disk cache with the same seven-file shape as a collateral
 * bundle directory (tcb_info.json, tcb_info_issuer_chain.pem, qe_identity.json,
 * qe_identity_issuer_chain.pem, pck_crl.der, pck_crl_issuer_chain.pem, root_ca_crl.der).
 * Nothing here logs; nothing is trusted because it came from the cache or the network:
 * tdx_verify() checks every signature against the pinned root. */

#include <stdbool.h>
#include <stdint.h>

#include "cvm/http.h"
#include "cvm/tdx.h"

#define PCS_DEFAULT_URL "https://api.trustedservices.intel.com"
#define PCS_ROOT_CA_CRL_URL "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

/* URLs (base NULL: PCS_DEFAULT_URL; a trailing '/' or a trailing "/sgx/certification/v4" on
 * base is ignored, so a QCNL-style PCCS URL works too):
 *   {base}/tdx/certification/v4/tcb?fmspc=<12 hex>
 *   {base}/tdx/certification/v4/qe/identity
 *   {base}/sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der
 *   root CA CRL: PCS_ROOT_CA_CRL_URL for Intel PCS, {base}/sgx/certification/v4/rootcacrl for a PCCS */
int pcs_tcb_info_url(const char *base, const uint8_t fmspc[6], char **ret);
int pcs_qe_identity_url(const char *base, char **ret);
int pcs_pck_crl_url(const char *base, TdxPckCa ca, char **ret);
int pcs_root_crl_url(const char *base, bool pccs, char **ret);

/* Decodes a percent-encoded header value (the issuer chains); -EBADMSG on a bad escape or NUL. */
int pcs_percent_decode(const char *s, char **ret, size_t *ret_size);

typedef struct PcsOptions {
        const char *base_url;  /* NULL: Intel PCS */
        bool pccs;             /* base_url is a PCCS (the root CA CRL comes from it as well) */
        const char *cache_dir; /* NULL: no cache */
        bool offline;          /* never fetch: the cache only */
        HttpOptions http;
        /* Optional: set to the Retry-After (microseconds, uncapped) of a fetch that failed with
         * one, so that a caller can back off for as long as the service asked. */
        uint64_t *retry_after_usec;
} PcsOptions;

/* <cache_dir>/tdx/<fmspc hex>-<platform|processor> */
int pcs_cache_path(const char *cache_dir, const uint8_t fmspc[6], TdxPckCa ca, char **ret);
/* Reads a bundle directory: each of the seven files (a missing one stays empty, and the
 * verifier then names it). -ENOTDIR / -ENOENT when dir is not a readable directory; a file that
 * does not parse gives -EBADMSG with a reason naming it. */
int pcs_collateral_load_dir(const char *dir, TdxCollateral **ret, char **ret_error);
/* The bundle for (fmspc, ca) from the cache when complete and current at `at` (every document's
 * window covers it), else fetched from PCS/PCCS (unless offline), written into the cache (each
 * file atomically) and loaded. Returns 0, or -errno with a malloc'ed *ret_error naming the URL
 * or the cache directory: -ENOENT (404, or not cached while offline), -ESTALE (cached but not
 * current, offline), -EBADMSG (the service sent something unusable), or an http error. */
int pcs_get_collateral(const PcsOptions *o, const uint8_t fmspc[6], TdxPckCa ca, int64_t at, TdxCollateral **ret,
                       char **ret_error);
