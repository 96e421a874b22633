/* SPDX-License-Identifier: Apache-2.0 */
/* The process's cache of decoded objects (include/cvm/object-cache.h): a fixed table of
 * entries chained in 256 buckets by the first byte of their digest, one mutex. Lookups cost a
 * SHA-256 of the input and a compare; decoding a certificate with OpenSSL 3 costs about a
 * hundred times more. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cvm/crypto.h"
#include "cvm/object-cache.h"

#define BUCKETS 256u
#define NONE UINT32_MAX

typedef struct Entry {
        const ObjectCacheType *type; /* NULL: free slot */
        uint8_t digest[32];
        uint8_t *bytes;
        size_t size;
        void *obj;
        int64_t until;
        uint64_t last_use;
        uint32_t next; /* in its bucket */
} Entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static Entry entries[OBJECT_CACHE_MAX_ENTRIES];
static uint32_t bucket[BUCKETS];
static size_t n_entries, n_bytes;
static uint64_t clock_tick, n_hits, n_misses;
static bool initialised, disabled;

static void lock_prepare(void) {
        pthread_mutex_lock(&lock);
}

static void lock_release(void) {
        pthread_mutex_unlock(&lock);
}

static void atfork_setup(void) {
        /* a child forked while another thread held the lock would otherwise wait forever */
        (void) pthread_atfork(lock_prepare, lock_release, lock_release);
}

static void cache_lock(void) {
        (void) pthread_once(&atfork_once, atfork_setup);
        pthread_mutex_lock(&lock);
        if (!initialised) {
                for (size_t i = 0; i < BUCKETS; i++)
                        bucket[i] = NONE;
                initialised = true;
        }
}

static uint32_t *find_link(const ObjectCacheType *t, const uint8_t digest[32], const uint8_t *data, size_t size) {
        uint32_t *link = &bucket[digest[0]];

        while (*link != NONE) {
                Entry *e = &entries[*link];

                if (e->type == t && e->size == size && memcmp(e->digest, digest, 32) == 0 &&
                    memcmp(e->bytes, data, size) == 0)
                        return link;
                link = &e->next;
        }
        return NULL;
}

/* Unlinks and releases entry i; the caller holds the lock. The object is unref'ed after the
 * unlink, so a reader that already took its reference keeps a valid object. */
static void drop(uint32_t i) {
        Entry *e = &entries[i];
        uint32_t *link = &bucket[e->digest[0]];

        while (*link != i)
                link = &entries[*link].next;
        *link = e->next;
        e->type->unref(e->obj);
        free(e->bytes);
        n_bytes -= e->size;
        n_entries--;
        *e = (Entry) {};
}

/* Room for one more entry of `size` bytes: expired entries first, then the least recently used. */
static void make_room(size_t size) {
        int64_t now = (int64_t) time(NULL);

        for (uint32_t i = 0; i < OBJECT_CACHE_MAX_ENTRIES && (n_entries >= OBJECT_CACHE_MAX_ENTRIES ||
                                                             n_bytes + size > OBJECT_CACHE_MAX_BYTES);
             i++)
                if (entries[i].type && entries[i].until < now)
                        drop(i);
        while (n_entries > 0 && (n_entries >= OBJECT_CACHE_MAX_ENTRIES || n_bytes + size > OBJECT_CACHE_MAX_BYTES)) {
                uint32_t oldest = NONE;

                for (uint32_t i = 0; i < OBJECT_CACHE_MAX_ENTRIES; i++)
                        if (entries[i].type && (oldest == NONE || entries[i].last_use < entries[oldest].last_use))
                                oldest = i;
                drop(oldest);
        }
}

void *object_cache_get(const ObjectCacheType *t, const uint8_t *data, size_t size, uint8_t ret_digest[32]) {
        uint8_t digest[32];
        uint32_t *link;
        void *obj = NULL;

        sha256(data, size, digest);
        if (ret_digest)
                memcpy(ret_digest, digest, 32);
        cache_lock();
        link = disabled ? NULL : find_link(t, digest, data, size);
        if (link) {
                Entry *e = &entries[*link];
                obj = t->ref(e->obj);
                e->last_use = ++clock_tick;
        }
        if (obj)
                n_hits++;
        else
                n_misses++;
        pthread_mutex_unlock(&lock);
        return obj;
}

void object_cache_put(const ObjectCacheType *t, const uint8_t digest[32], const uint8_t *data, size_t size, void *obj,
                      int64_t until) {
        uint8_t *copy;
        void *held;
        uint32_t slot = NONE;

        if (size == 0 || size > OBJECT_CACHE_ENTRY_MAX)
                return;
        copy = malloc(size);
        if (!copy)
                return;
        memcpy(copy, data, size);
        cache_lock();
        if (disabled || find_link(t, digest, data, size)) {
                /* another thread decoded the same bytes first: keep its object */
                pthread_mutex_unlock(&lock);
                free(copy);
                return;
        }
        held = t->ref(obj);
        if (!held) {
                pthread_mutex_unlock(&lock);
                free(copy);
                return;
        }
        make_room(size);
        for (uint32_t i = 0; i < OBJECT_CACHE_MAX_ENTRIES && slot == NONE; i++)
                if (!entries[i].type)
                        slot = i;
        entries[slot] = (Entry) {
                .type = t,
                .bytes = copy,
                .size = size,
                .obj = held,
                .until = until,
                .last_use = ++clock_tick,
                .next = bucket[digest[0]],
        };
        memcpy(entries[slot].digest, digest, 32);
        bucket[digest[0]] = slot;
        n_entries++;
        n_bytes += size;
        pthread_mutex_unlock(&lock);
}

void object_cache_stats(ObjectCacheStats *ret) {
        cache_lock();
        *ret = (ObjectCacheStats) { .hits = n_hits, .misses = n_misses, .entries = n_entries, .bytes = n_bytes };
        pthread_mutex_unlock(&lock);
}

void object_cache_flush(void) {
        cache_lock();
        for (uint32_t i = 0; i < OBJECT_CACHE_MAX_ENTRIES; i++)
                if (entries[i].type)
                        drop(i);
        n_hits = n_misses = 0;
        pthread_mutex_unlock(&lock);
}

void object_cache_set_enabled(bool enabled) {
        cache_lock();
        disabled = !enabled;
        pthread_mutex_unlock(&lock);
}
