/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Between the collateral provider's core (collateral.c: modes, flights, locks, backoff) and each
 * vendor's collateral (collateral-snp.c, collateral-tdx.c, collateral-gpu.c). A vendor file does its cache-only lookup itself, and on a miss hands
 * the core a fetch: a blocking function that fills the cache, and the core decides when and
 * where it runs (now in this thread, or on the fetch thread), that it runs once per item at a
 * time, and when it may run again after a failure. */

#include "cvm/collateral.h"
#include "cvm/http.h"

struct Collateral {
        CollateralConfig config; /* strings owned below */
        char *cache_dir, *kds_url, *pcs_url, *nvidia_rim_url, *nvidia_ocsp_url;
        struct Worker *worker;   /* event mode: the fetch thread; NULL: blocking */
        struct Flight **flights; /* by item key, event mode (blocking: backoff only) */
        size_t n_flights;
        struct CollateralWaiter *waiters; /* collateral_wait(): called when the next fetch ends */
        uint64_t fetch_ends;              /* fetches ended on the loop so far */
        CollateralStats stats;
};

/* What a fetch may use. The fetch runs on another thread in event mode: it must not touch the
 * Collateral, only this and its own userdata. */
typedef struct CollateralFetch {
        const char *cache_dir;
        const char *kds_url, *pcs_url;
        bool pccs;
        const char *nvidia_rim_url, *nvidia_ocsp_url; /* NULL: NVIDIA's */
        HttpOptions http;           /* timeouts and progress, no retries beyond HTTP's own */
        uint64_t *retry_after_usec; /* the fetch sets it from the service's last Retry-After */
} CollateralFetch;

typedef struct CollateralItem {
        char *key;  /* the cache item: "snp/Milan/<chip>-<tcb>", "tdx/<fmspc>-<ca>", "nvidia/rim/<id>" */
        char *what; /* for reasons: "the Milan VCEK, cert_chain and CRL" */
        /* Fills the cache; 0 or -errno with a reason. */
        int (*fetch)(const CollateralFetch *f, void *userdata, char **ret_reason);
        void *userdata;
        void (*free_userdata)(void *userdata);
} CollateralItem;

typedef int (*CollateralFetchFn)(const CollateralFetch *f, void *userdata, char **ret_reason);

/* An item, taking over key, what and userdata whatever happens: -ENOMEM (userdata freed with
 * free_userdata) when any of them is NULL, as after a failed strdup_printf(). */
int collateral_item_new(char *key, char *what, CollateralFetchFn fetch, void *userdata,
                        void (*free_userdata)(void *userdata), CollateralItem *ret);

/* Has item fetched, taking over its members whatever happens. Blocking: under the item's lock
 * file, now; returns the fetch's result. Event mode: joins the item's fetch in flight or starts
 * one, and returns -EINPROGRESS; while the item backs off after a failure, returns that failure
 * at once, saying when the next try is. Either mode: -EALREADY when the item was fetched within
 * COLLATERAL_BACKOFF_SEC_MAX, so that what the cache has is the answer (the caller reports its
 * own lookup's reason). *ret_reason says what in every case but 0. */
int collateral_obtain(Collateral *c, CollateralItem *item, char **ret_reason);
/* Like collateral_obtain(), for an item the cache still has in its window but that should be
 * fetched anew (about to expire): event mode starts the fetch unless it is in flight or backing
 * off, or was fetched within the last COLLATERAL_BACKOFF_SEC_MAX; blocking mode does nothing. */
void collateral_refresh(Collateral *c, CollateralItem *item);
void collateral_item_done(CollateralItem *item);

int64_t collateral_refresh_sec(const Collateral *c);
/* The fetch settings every vendor's fetch gets. */
void collateral_fetch_params(const Collateral *c, CollateralFetch *ret);
