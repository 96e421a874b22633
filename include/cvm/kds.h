/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* AMD Key Distribution Service (KDS) collateral for SEV-SNP: URL builders, and a disk cache in
 * front of KDS that fills in what a certificate chain lacks (VCEK, ASK/ASVK + ARK, CRL).
 * Nothing here logs: progress goes through KdsOptions.http.progress, failures through
 * ret_error. Nothing is trusted because it came from the cache or from KDS: snp_verify()
 * checks every signature against the pinned ARKs. */

#include <stdbool.h>
#include <stdint.h>

#include "cvm/http.h"
#include "cvm/snp.h"

#define KDS_DEFAULT_URL "https://kdsintf.amd.com"

/* GET {base}/vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=.. with hwid =
 * hex(CHIP_ID[0:64]) for Milan/Genoa, hex(CHIP_ID[0:8]) and an extra fmcSPL (first) for Turin.
 * The SPLs are REPORTED_TCB, decoded in the product's layout. base NULL means KDS_DEFAULT_URL;
 * a trailing '/' on base is ignored. Lowercase hex, decimal SPLs without padding. */
int kds_vcek_url(const char *base, SnpProduct p, const SnpReport *r, char **ret);
/* {base}/vcek/v1/{product}/cert_chain (ASK + ARK), or /vlek/ (ASVK + ARK). */
int kds_cert_chain_url(const char *base, SnpProduct p, bool vlek, char **ret);
/* {base}/vcek/v1/{product}/crl, or /vlek/. */
int kds_crl_url(const char *base, SnpProduct p, bool vlek, char **ret);

/* What the cache holds, per product, under <cache_dir>/snp/<Product>/. */
typedef enum KdsItem {
        KDS_ITEM_VCEK,            /* vcek/<hwid-hex>-<REPORTED_TCB raw hex>.der */
        KDS_ITEM_CERT_CHAIN,      /* cert_chain.pem: ASK + ARK */
        KDS_ITEM_VLEK_CERT_CHAIN, /* vlek_cert_chain.pem: ASVK + ARK */
        KDS_ITEM_CRL,             /* crl.der */
        KDS_ITEM_VLEK_CRL,        /* vlek_crl.der */
        _KDS_ITEM_MAX,
        _KDS_ITEM_INVALID = -EINVAL,
} KdsItem;

const char *kds_item_to_string(KdsItem item);
/* The cache path of an item; r is needed (only) for KDS_ITEM_VCEK. */
int kds_cache_path(const char *cache_dir, SnpProduct p, KdsItem item, const SnpReport *r, char **ret);

typedef struct KdsOptions {
        const char *base_url;  /* NULL: KDS_DEFAULT_URL */
        const char *cache_dir; /* NULL: no cache (everything is fetched; nothing with offline) */
        bool offline;          /* never fetch: the cache only */
        HttpOptions http;      /* http.progress also hears "Fetching VCEK from URL" */
        /* Optional: told about every cache file that went into the chain; fetched says whether
         * it was just fetched (and stored) or already cached. */
        void (*file_used)(void *userdata, KdsItem item, const char *path, bool fetched);
        void *file_userdata;
        /* Optional: set to the Retry-After (microseconds, uncapped) of a fetch that failed with
         * one, so that a caller can back off for as long as KDS asked. */
        uint64_t *retry_after_usec;
} KdsOptions;

/* Completes chain for report r: whatever it lacks of the leaf (VCEK), the intermediate and ARK,
 * and (only with want_crl) the CRL is taken from the cache when it is valid at `at` (certificates
 * parse and lie in their validity; a CRL's thisUpdate..nextUpdate covers `at`), else fetched from
 * KDS (unless offline) and stored in the cache atomically.
 *
 * product: an SnpProduct, or negative when unknown (v2 reports). Then the chain's own
 * certificates name it; failing that, the CHIP_ID shape decides: bytes 8..63 zero means Turin,
 * otherwise Milan and then Genoa are tried (a 404 or cache miss moves on to the next).
 *
 * A VLEK cannot be fetched by chip ID: if the report is VLEK-signed and the chain has no leaf,
 * this fails with -EOPNOTSUPP (after completing the VLEK chain when the product is known).
 * Returns 0 when the chain lacks nothing that was asked for, or -errno with a malloc'ed
 * *ret_error naming the URL or the cache file at fault: -ENOENT (KDS 404, or not cached
 * while offline), -ESTALE (cached but not valid at `at`, offline), -EBADMSG (KDS sent
 * something that is not what was asked for), or an http_get() error. */
int kds_complete_chain(const KdsOptions *o, const SnpReport *r, int product, int64_t at, bool want_crl,
                       SnpChain *chain, char **ret_error);

/* $CVM_CACHE_DIR if set; else /var/cache/cvmd when running as root; else
 * $XDG_CACHE_HOME/cvmd, or ~/.cache/cvmd. */
int kds_default_cache_dir(char **ret);
