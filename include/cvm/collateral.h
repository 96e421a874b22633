/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The host-wide collateral provider that the appraisal of every launch uses (cvmd, cvmctl
 * launch, cvmctl attest-guest, cvmctl verify gpu): AMD KDS certificates and CRLs for SEV-SNP
 * (kds.h), Intel PCS/PCCS collateral for TDX (pcs.h), and NVIDIA RIMs and OCSP responses for
 * GPUs (nvidia-fetch.h), from one disk cache. What is cached and current is used;
 * what is missing, stale, or about to expire is fetched, one fetch per item at a time, with a
 * backoff after a failure that honours the service's Retry-After; offline, the cache only.
 * Stale collateral is never a silent pass: the lookup fails with a reason naming what is stale.
 *
 * Two modes:
 *   - blocking (collateral_new()): a fetch runs in the calling thread. For the CLI, whose loop
 *     serves one launch only.
 *   - on an event loop (collateral_new_event()): a lookup never blocks and never touches the
 *     network. A miss starts the fetch on the provider's own thread and answers -EINPROGRESS;
 *     the caller asks again once it is in: collateral_wait() tells it when a fetch ended (the
 *     launch's exchange holds the evidence meanwhile and appraises it again). Every launch
 *     that needs the same item while it is in flight joins that one fetch. The fetch's own
 *     limits (each HTTP request's timeout) bound the wait: a failed fetch makes the next lookup
 *     fail with the fetch's reason.
 * Processes sharing a cache serialize the fetches of one item with a lock file in the cache;
 * whoever comes second finds it cached.
 *
 * Nothing is trusted because it was cached or fetched: the verifiers check every signature up
 * to the pinned roots. Nothing here logs: CollateralConfig.progress and .fetched hear of it.
 *
 * Cache layout (under cache_dir): snp/<Product>/... (kds.h), tdx/<fmspc>-<ca>/ (pcs.h),
 * nvidia/rim/<id>.xml and nvidia/ocsp/<certid>.der (nvidia-fetch.h), locks/. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cvm/macro.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/snp.h"
#include "cvm/tdx.h"

/* Fetch anew what expires within this (a CRL's or TCB info's nextUpdate). */
#define COLLATERAL_REFRESH_SEC_DEFAULT (24 * 3600)
/* After a failed fetch: the first wait, doubled per failure up to the maximum. */
#define COLLATERAL_BACKOFF_SEC_INITIAL 5u
#define COLLATERAL_BACKOFF_SEC_MAX 300u

typedef struct CollateralConfig {
        const char *cache_dir; /* NULL: kds_default_cache_dir() */
        const char *kds_url;   /* NULL: AMD KDS */
        const char *pcs_url;   /* NULL: Intel PCS */
        bool pccs;             /* pcs_url is a PCCS (it serves the root CA CRL too) */
        /* NVIDIA's RIM service and OCSP responder (NULL: NVIDIA's own): RIMs and OCSP answers go
         * to cache_dir/nvidia/ (a source may name others: collateral_gpu_source()) */
        const char *nvidia_rim_url, *nvidia_ocsp_url;
        bool offline;          /* never fetch: the cache only */
        unsigned timeout_sec;  /* each HTTP request; 0: HTTP_TIMEOUT_SEC_DEFAULT */
        int64_t refresh_sec;   /* 0: COLLATERAL_REFRESH_SEC_DEFAULT; negative: never early */
        /* Optional: "Fetching ... from URL" and the like. Called on the thread that fetches. */
        void (*progress)(void *userdata, const char *message);
        /* Optional: each fetch's outcome (error 0 or -errno, with a reason), on the loop in the
         * event mode, else in the caller's thread. For the log and the metrics. */
        void (*fetched)(void *userdata, const char *item, int error, const char *reason);
        void *userdata;
} CollateralConfig;

typedef struct Collateral Collateral;

int collateral_new(const CollateralConfig *c, Collateral **ret);
int collateral_new_event(const CollateralConfig *c, sd_event *e, Collateral **ret);
/* Stops the fetch thread after the fetch in progress. */
Collateral *collateral_free(Collateral *c);
DEFINE_CLEANUP(Collateral *, collateral_free)

/* Event mode: calls fn(userdata) once, on the loop, when the next fetch ends, whichever item it
 * was and however it ended: a lookup that answered -EINPROGRESS has another answer by then (or
 * answers -EINPROGRESS again for another item still in flight; wait again). *ret is the caller's:
 * collateral_waiter_free() before the call cancels it, after it just frees it, and a waiter may
 * outlive its provider (it is then never called). -EOPNOTSUPP in the blocking mode, where a
 * lookup never answers -EINPROGRESS. */
typedef struct CollateralWaiter CollateralWaiter;
typedef void (*CollateralWaitFn)(void *userdata);
int collateral_wait(Collateral *c, CollateralWaitFn fn, void *userdata, CollateralWaiter **ret);
CollateralWaiter *collateral_waiter_free(CollateralWaiter *w);
DEFINE_CLEANUP(CollateralWaiter *, collateral_waiter_free)

const char *collateral_cache_dir(const Collateral *c);
/* Whose collateral an item is (the item names CollateralConfig.fetched hears): "amd", "intel"
 * or "nvidia"; NULL for a name that is none of theirs. For the metrics. */
const char *collateral_item_vendor(const char *item);
bool collateral_is_offline(const Collateral *c);

typedef struct CollateralStats {
        unsigned fetches;     /* fetches run (each may be several HTTP requests) */
        unsigned failures;    /* of which failed */
        unsigned joined;      /* lookups that found their item already in flight */
        unsigned in_flight;
} CollateralStats;

void collateral_stats(const Collateral *c, CollateralStats *ret);

/* SEV-SNP: completes `chain` for report r. What the chain lacks of the VCEK, the ASK and the
 * ARK (a guest that sent no certificate table: all of them) comes from the cache or KDS, and
 * with want_crl the host's CRL for the product, always from the cache or KDS, never from the
 * guest: a CRL already in the chain is dropped first. A CRL issued more than crl_max_age_sec
 * before `at` (0: no limit) is stale like one past its nextUpdate. product: an SnpProduct, or
 * negative when the report does not name it (kds_complete_chain()).
 * Returns 0; -EINPROGRESS (event mode: being fetched, ask again; *ret_reason says what); or
 * -errno with *ret_reason naming what is missing or stale and where (-ENOENT, -ESTALE, ...). */
int collateral_snp(Collateral *c, const SnpReport *r, int product, int64_t at, bool want_crl,
                   int64_t crl_max_age_sec, SnpChain *chain, char **ret_reason);

/* TDX: the collateral bundle for the platform (FMSPC and PCK CA type, from the quote's PCK
 * certificate), current at `at`, and issued no more than max_age_sec before it (0: no limit).
 * Returns as collateral_snp(); *ret is the loaded bundle. */
int collateral_tdx(Collateral *c, const uint8_t fmspc[6], TdxPckCa ca, int64_t at, int64_t max_age_sec,
                   TdxCollateral **ret, char **ret_reason);
/* The FMSPC and CA type named by a quote's PCK leaf. -EBADMSG with a reason when the quote or
 * its chain does not parse. */
int collateral_tdx_platform(const uint8_t *quote, size_t size, uint8_t ret_fmspc[6], TdxPckCa *ret_ca,
                            char **ret_reason);

/* NVIDIA GPUs: a board's RIMs and OCSP answers (nvidia-fetch.h's NvSource) through the provider,
 * for nv_rims_for_reports() and nv_board_ocsp(). A RIM is current while its signing certificate
 * is valid, an OCSP answer from its thisUpdate to its nextUpdate (verified for the certificate
 * every time it is used); what is missing or stale is fetched (-EINPROGRESS in the event mode),
 * what expires within the refresh window (for OCSP: or within half its window) is fetched anew
 * meanwhile. Offline, what the cache lacks or holds stale is a refusal naming it. rim_url and
 * ocsp_url (may be NULL: the provider's) are borrowed by *ret, as c is. */
void collateral_gpu_source(Collateral *c, const char *rim_url, const char *ocsp_url, NvSource *ret);

/* What the cache holds, one entry per item. */
typedef enum CollateralState {
        COLLATERAL_FRESH,    /* current at `at`, not about to expire */
        COLLATERAL_EXPIRING, /* current, but within the refresh window: fetched anew on next use */
        COLLATERAL_STALE,    /* not current at `at` */
        COLLATERAL_INVALID,  /* does not parse */
        _COLLATERAL_STATE_MAX,
} CollateralState;

const char *collateral_state_to_string(CollateralState s);

typedef struct CollateralEntry {
        const char *tee;      /* "sev-snp", "tdx", "gpu" */
        const char *kind;     /* "vcek", "cert_chain", "vlek_cert_chain", "crl", "vlek_crl", "bundle", "rim", "ocsp" */
        const char *platform; /* SNP: the product; TDX: "fmspc <hex>"; GPU: "nvidia" */
        const char *detail;   /* SNP VCEK: "chip <hex> tcb <hex>"; TDX: the PCK CA; RIM: its id;
                               * OCSP: "serial <hex> <status>"; else NULL */
        const char *path;
        int64_t valid_from, valid_until; /* 0 when unknown (INVALID) */
        CollateralState state;
} CollateralEntry;

/* Calls cb for every item in the cache at cache_dir, judged at `at` with the refresh window
 * (0: the default), in a stable order; a negative return from cb stops the walk with it.
 * An absent cache is empty. */
int collateral_list(const char *cache_dir, int64_t at, int64_t refresh_sec,
                    int (*cb)(void *userdata, const CollateralEntry *e), void *userdata);
