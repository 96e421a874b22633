/* SPDX-License-Identifier: Apache-2.0 */
/* The collateral provider's core (include/cvm/collateral.h): the two modes, one flight per cache
 * item (a fetch in progress, or the failure of the last one and when it may be tried again), the
 * lock file that keeps processes sharing the cache from fetching the same item twice, and the
 * backoff. What to look up and fetch is each vendor's (collateral-snp.c, collateral-tdx.c,
 * collateral-gpu.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "collateral-internal.h"
#include "cvm/kds.h"
#include "cvm/util.h"
#include "cvm/worker.h"

/* A Retry-After longer than this is taken as this: a service does not get to park us for days. */
#define RETRY_AFTER_SEC_MAX (24u * 3600u)

typedef struct Flight {
        Collateral *c;
        char *key, *what;
        /* the fetch in progress (event mode): job and params are touched by the fetch thread
         * only between worker_submit() and the done callback */
        bool running;
        CollateralItem job;
        CollateralFetch params;
        uint64_t retry_after_usec;
        int job_result;
        char *job_reason;
        /* the last outcome */
        int error; /* 0 or the last failure */
        char *reason;
        unsigned failures;        /* in a row */
        uint64_t not_before_usec; /* CLOCK_MONOTONIC: no fetch before this after a failure */
        uint64_t done_usec;       /* CLOCK_MONOTONIC of the last success; 0: none */
} Flight;

/* collateral_wait(): in the provider's list until its fetch end comes, then on its own. */
struct CollateralWaiter {
        Collateral *c; /* NULL once called, cancelled by the provider's end, or never listed */
        CollateralWaitFn fn;
        void *userdata;
        uint64_t generation; /* the fetch ends it waits past: c->fetch_ends when it was made */
        CollateralWaiter *prev, *next;
};

static void waiter_unlink(CollateralWaiter *w) {
        if (!w->c)
                return;
        if (w->prev)
                w->prev->next = w->next;
        else
                w->c->waiters = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
        w->c = NULL;
}

int collateral_wait(Collateral *c, CollateralWaitFn fn, void *userdata, CollateralWaiter **ret) {
        CollateralWaiter *w;

        if (!c || !fn || !ret)
                return -EINVAL;
        if (!c->worker)
                return -EOPNOTSUPP;
        w = calloc(1, sizeof(CollateralWaiter));
        if (!w)
                return -ENOMEM;
        *w = (CollateralWaiter) { .c = c, .fn = fn, .userdata = userdata, .generation = c->fetch_ends,
                                  .next = c->waiters };
        if (c->waiters)
                c->waiters->prev = w;
        c->waiters = w;
        *ret = w;
        return 0;
}

CollateralWaiter *collateral_waiter_free(CollateralWaiter *w) {
        if (!w)
                return NULL;
        waiter_unlink(w);
        free(w);
        return NULL;
}

/* A fetch ended: calls everyone who waited before it, once. A callback may free any waiter, or
 * wait again (for the next end: the new waiter has the new generation, so it is not called now). */
static void wake_waiters(Collateral *c) {
        c->fetch_ends++;
        for (;;) {
                CollateralWaiter *w = c->waiters;

                while (w && w->generation >= c->fetch_ends)
                        w = w->next;
                if (!w)
                        return;
                waiter_unlink(w);
                w->fn(w->userdata); /* last: it may free w */
        }
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int collateral_item_new(char *key, char *what, CollateralFetchFn fetch, void *userdata,
                        void (*free_userdata)(void *userdata), CollateralItem *ret) {
        *ret = (CollateralItem) { .key = key, .what = what, .fetch = fetch, .userdata = userdata,
                                  .free_userdata = free_userdata };
        if (!key || !what || !userdata) {
                collateral_item_done(ret);
                return -ENOMEM;
        }
        return 0;
}

void collateral_item_done(CollateralItem *item) {
        if (!item)
                return;
        if (item->free_userdata && item->userdata)
                item->free_userdata(item->userdata);
        free(item->key);
        free(item->what);
        *item = (CollateralItem) {};
}

static Flight *flight_free(Flight *f) {
        if (!f)
                return NULL;
        collateral_item_done(&f->job);
        free(f->job_reason);
        free(f->reason);
        free(f->key);
        free(f->what);
        free(f);
        return NULL;
}

static int dup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int collateral_alloc(const CollateralConfig *config, Collateral **ret) {
        _cleanup_(collateral_freep) Collateral *c = calloc(1, sizeof(Collateral));
        int r;

        if (!c)
                return -ENOMEM;
        c->config = *config;
        if (config->cache_dir)
                r = dup_or_null(config->cache_dir, &c->cache_dir);
        else
                r = kds_default_cache_dir(&c->cache_dir);
        if (r < 0)
                return r;
        if (dup_or_null(config->kds_url, &c->kds_url) < 0 || dup_or_null(config->pcs_url, &c->pcs_url) < 0 ||
            dup_or_null(config->nvidia_rim_url, &c->nvidia_rim_url) < 0 ||
            dup_or_null(config->nvidia_ocsp_url, &c->nvidia_ocsp_url) < 0)
                return -ENOMEM;
        c->config.cache_dir = c->cache_dir;
        c->config.kds_url = c->kds_url;
        c->config.pcs_url = c->pcs_url;
        c->config.nvidia_rim_url = c->nvidia_rim_url;
        c->config.nvidia_ocsp_url = c->nvidia_ocsp_url;
        *ret = TAKE_PTR(c);
        return 0;
}

int collateral_new(const CollateralConfig *config, Collateral **ret) {
        if (!config || !ret)
                return -EINVAL;
        return collateral_alloc(config, ret);
}

int collateral_new_event(const CollateralConfig *config, sd_event *e, Collateral **ret) {
        _cleanup_(collateral_freep) Collateral *c = NULL;
        int r;

        if (!config || !e || !ret)
                return -EINVAL;
        r = collateral_alloc(config, &c);
        if (r < 0)
                return r;
        r = worker_new(e, &c->worker);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

Collateral *collateral_free(Collateral *c) {
        if (!c)
                return NULL;
        /* the thread first: no fetch may still run against a flight freed below */
        worker_free(c->worker);
        while (c->waiters)
                waiter_unlink(c->waiters); /* theirs to free; never called now */
        for (size_t i = 0; i < c->n_flights; i++)
                flight_free(c->flights[i]);
        free(c->flights);
        free(c->cache_dir);
        free(c->kds_url);
        free(c->pcs_url);
        free(c->nvidia_rim_url);
        free(c->nvidia_ocsp_url);
        free(c);
        return NULL;
}

const char *collateral_cache_dir(const Collateral *c) {
        return c->cache_dir;
}

const char *collateral_item_vendor(const char *item) {
        static const struct {
                const char *prefix, *vendor;
        } vendors[] = { { "snp/", "amd" }, { "tdx/", "intel" }, { "nvidia/", "nvidia" } };

        for (size_t i = 0; item && i < ELEMENTSOF(vendors); i++)
                if (strncmp(item, vendors[i].prefix, strlen(vendors[i].prefix)) == 0)
                        return vendors[i].vendor;
        return NULL;
}

bool collateral_is_offline(const Collateral *c) {
        return c->config.offline;
}

void collateral_stats(const Collateral *c, CollateralStats *ret) {
        *ret = c->stats;
        ret->in_flight = 0;
        for (size_t i = 0; i < c->n_flights; i++)
                ret->in_flight += c->flights[i]->running;
}

int64_t collateral_refresh_sec(const Collateral *c) {
        if (c->config.refresh_sec < 0)
                return 0;
        return c->config.refresh_sec ? c->config.refresh_sec : COLLATERAL_REFRESH_SEC_DEFAULT;
}

void collateral_fetch_params(const Collateral *c, CollateralFetch *ret) {
        *ret = (CollateralFetch) {
                .cache_dir = c->cache_dir,
                .kds_url = c->kds_url,
                .pcs_url = c->pcs_url,
                .pccs = c->config.pccs,
                .nvidia_rim_url = c->nvidia_rim_url,
                .nvidia_ocsp_url = c->nvidia_ocsp_url,
                .http = {
                        .timeout_sec = c->config.timeout_sec ? (long) c->config.timeout_sec : 0,
                        /* one retry inside the request; the flight's backoff does the rest, and
                         * honours a long Retry-After without holding the fetch thread */
                        .max_retries = 1,
                        .max_retry_after_sec = 2,
                        .progress = c->config.progress,
                        .userdata = c->config.userdata,
                },
        };
}

static Flight *flight_find(Collateral *c, const char *key) {
        for (size_t i = 0; i < c->n_flights; i++)
                if (streq(c->flights[i]->key, key))
                        return c->flights[i];
        return NULL;
}

static int flight_get(Collateral *c, const CollateralItem *item, Flight **ret) {
        Flight *f = flight_find(c, item->key), **l;

        if (f) {
                *ret = f;
                return 0;
        }
        f = calloc(1, sizeof(Flight));
        if (!f)
                return -ENOMEM;
        f->c = c;
        f->key = strdup(item->key);
        f->what = strdup(item->what);
        l = reallocarray(c->flights, c->n_flights + 1, sizeof(Flight *));
        if (!f->key || !f->what || !l) {
                flight_free(f);
                return -ENOMEM;
        }
        c->flights = l;
        c->flights[c->n_flights++] = f;
        *ret = f;
        return 0;
}

/* <cache>/locks/<key, '/' as '_'>.lock, held (flock) while the item is fetched. -1 when the lock
 * cannot be had (an unwritable cache): the fetch goes on unlocked, at worst twice. */
static int lock_item(const char *cache_dir, const char *key) {
        _cleanup_free_ char *dir = strdup_printf("%s/locks", cache_dir), *name = strdup(key), *path = NULL;
        int fd;

        if (!dir || !name || mkdir_p(dir, 0755) < 0)
                return -1;
        for (char *p = name; *p; p++)
                if (*p == '/')
                        *p = '_';
        path = strdup_printf("%s/%s.lock", dir, name);
        if (!path)
                return -1;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -1;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        close(fd);
                        return -1;
                }
        return fd;
}

/* Runs a fetch under the item's lock: in the caller's thread (blocking) or the fetch thread. */
static int run_fetch(const CollateralFetch *params, CollateralItem *job, char **ret_reason) {
        int fd = lock_item(params->cache_dir, job->key), r;

        r = job->fetch(params, job->userdata, ret_reason);
        if (r < 0 && ret_reason && !*ret_reason)
                (void) set_reason(ret_reason, r, "%s", strerror(-r));
        if (fd >= 0)
                close(fd); /* releases the lock */
        return r;
}

/* A fetch ended (on the loop in event mode): the flight remembers the outcome, and after a
 * failure when it may try again: the backoff, or the service's Retry-After when longer. */
static void flight_record(Flight *f, int r, char *reason, uint64_t retry_after_usec) {
        Collateral *c = f->c;
        uint64_t now = now_usec();

        c->stats.fetches++;
        free(f->reason);
        f->reason = NULL;
        if (r >= 0) {
                f->error = 0;
                f->failures = 0;
                f->not_before_usec = 0;
                f->done_usec = now;
                free(reason);
        } else {
                uint64_t wait = (uint64_t) COLLATERAL_BACKOFF_SEC_INITIAL
                                << (f->failures < 8 ? f->failures : 8);

                c->stats.failures++;
                if (wait > COLLATERAL_BACKOFF_SEC_MAX)
                        wait = COLLATERAL_BACKOFF_SEC_MAX;
                wait *= 1000000u;
                if (retry_after_usec > (uint64_t) RETRY_AFTER_SEC_MAX * 1000000u)
                        retry_after_usec = (uint64_t) RETRY_AFTER_SEC_MAX * 1000000u;
                if (retry_after_usec > wait)
                        wait = retry_after_usec;
                f->error = r;
                f->reason = reason;
                f->failures++;
                f->not_before_usec = now + wait;
        }
        if (c->config.fetched)
                c->config.fetched(c->config.userdata, f->key, f->error, f->reason);
}

static int job_fetch(void *userdata) {
        Flight *f = userdata;

        f->job_result = run_fetch(&f->params, &f->job, &f->job_reason);
        return f->job_result;
}

static void on_fetched(int r, void *userdata) {
        Flight *f = userdata;

        f->running = false;
        collateral_item_done(&f->job);
        flight_record(f, f->job_result, TAKE_PTR(f->job_reason), f->retry_after_usec);
        wake_waiters(f->c);
}

static int start(Collateral *c, Flight *f, CollateralItem *item) {
        int r;

        f->job = *item;
        *item = (CollateralItem) {};
        collateral_fetch_params(c, &f->params);
        f->retry_after_usec = 0;
        f->params.retry_after_usec = &f->retry_after_usec;
        f->job_result = 0;
        f->job_reason = NULL;
        r = worker_submit(c->worker, job_fetch, on_fetched, f);
        if (r < 0) {
                collateral_item_done(&f->job);
                return r;
        }
        f->running = true;
        return 0;
}

/* While a failed item waits for its next try: that failure, with when. */
static int backing_off(const Flight *f, uint64_t now, char **ret_reason) {
        uint64_t left = (f->not_before_usec - now + 999999u) / 1000000u;

        return set_reason(ret_reason, f->error, "cannot fetch %s: %s (next try in %llu s)", f->what,
                          f->reason ? f->reason : strerror(-f->error), (unsigned long long) left);
}

int collateral_obtain(Collateral *c, CollateralItem *item, char **ret_reason) {
        _cleanup_(collateral_item_done) CollateralItem it = *item;
        _cleanup_free_ char *reason = NULL;
        CollateralFetch params;
        uint64_t retry_after = 0, now = now_usec();
        Flight *f;
        int r;

        *item = (CollateralItem) {};
        if (c->config.offline)
                return set_reason(ret_reason, -ENOENT, "%s is needed, and the collateral is offline", it.what);
        r = flight_get(c, &it, &f);
        if (r < 0)
                return r;
        if (f->running) {
                c->stats.joined++;
                return set_reason(ret_reason, -EINPROGRESS, "%s is being fetched", it.what);
        }
        if (f->error < 0 && now < f->not_before_usec)
                return backing_off(f, now, ret_reason);
        /* fetched a moment ago, and the cache still lacks it (KDS has nothing newer than a stale
         * CRL, say): what the lookup found stands, rather than fetching the same again */
        if (f->error == 0 && f->done_usec && now - f->done_usec < (uint64_t) COLLATERAL_BACKOFF_SEC_MAX * 1000000u)
                return set_reason(ret_reason, -EALREADY, "%s was fetched moments ago", it.what);
        if (c->worker) {
                r = start(c, f, &it);
                if (r < 0)
                        return r;
                return set_reason(ret_reason, -EINPROGRESS, "%s is being fetched", f->what);
        }
        collateral_fetch_params(c, &params);
        params.retry_after_usec = &retry_after;
        r = run_fetch(&params, &it, &reason);
        if (r < 0) {
                (void) set_reason(ret_reason, r, "cannot fetch %s: %s", it.what, reason ? reason : strerror(-r));
                flight_record(f, r, TAKE_PTR(reason), retry_after);
                return r;
        }
        flight_record(f, 0, NULL, 0);
        return 0;
}

void collateral_refresh(Collateral *c, CollateralItem *item) {
        _cleanup_(collateral_item_done) CollateralItem it = *item;
        _cleanup_free_ char *reason = NULL;
        uint64_t now = now_usec();
        Flight *f;

        *item = (CollateralItem) {};
        if (c->config.offline || flight_get(c, &it, &f) < 0)
                return;
        if (f->running || (f->error < 0 && now < f->not_before_usec) ||
            (f->done_usec && now - f->done_usec < (uint64_t) COLLATERAL_BACKOFF_SEC_MAX * 1000000u))
                return;
        if (c->worker) {
                (void) start(c, f, &it);
                return;
        }
        /* blocking: once per process and item; the cached one stays in use if this fails */
        if (collateral_obtain(c, &it, &reason) < 0 && c->config.progress) {
                _cleanup_free_ char *m = strdup_printf("Cannot refresh %s, using the cached one: %s", f->what,
                                                       reason ? reason : "failed");
                if (m)
                        c->config.progress(c->config.userdata, m);
        }
}
