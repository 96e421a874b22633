/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Decoded objects (certificates, CRLs, collateral documents, public keys) kept by the SHA-256 of
 * the exact bytes they were decoded from, so that a process decodes each of them once. A hit
 * needs the same type, the same digest and the same bytes (the entry keeps a copy and compares
 * it): a hit on other bytes cannot happen, collisions included. Decoding does not depend on the
 * time, so a cached object is exactly what decoding the bytes again would give; whatever
 * depends on the time (validity windows, nextUpdate, revocation) is checked by every
 * verification, never cached here.
 *
 * Bounded (OBJECT_CACHE_MAX_ENTRIES entries, OBJECT_CACHE_MAX_BYTES bytes of input kept); when
 * room is needed, entries past their `until` (a certificate's notAfter, a CRL's nextUpdate,
 * a document's nextUpdate) by the wall clock go first, then the least recently used.
 * Thread-safe; fork-safe (the lock is held across fork()). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OBJECT_CACHE_MAX_ENTRIES 2048u
#define OBJECT_CACHE_MAX_BYTES (16u * 1024u * 1024u)
#define OBJECT_CACHE_ENTRY_MAX (1024u * 1024u) /* larger inputs are decoded every time */

/* What a cached object is and how to hold it. ref returns the object with one more reference
 * (NULL when that fails); unref drops one. */
typedef struct ObjectCacheType {
        const char *name;
        void *(*ref)(void *obj);
        void (*unref)(void *obj);
} ObjectCacheType;

/* The object of type t decoded from exactly these bytes, with a reference for the caller; NULL
 * when not cached. ret_digest (may be NULL) receives the SHA-256 of the bytes, for a later
 * object_cache_put(). */
void *object_cache_get(const ObjectCacheType *t, const uint8_t *data, size_t size, uint8_t ret_digest[32]);
/* Keeps obj (taking its own reference) as the decoding of these bytes, whose SHA-256 is digest.
 * until: Unix seconds after which the entry goes first when room is needed. Best effort: when
 * the bytes are too large or memory is short nothing is kept. */
void object_cache_put(const ObjectCacheType *t, const uint8_t digest[32], const uint8_t *data, size_t size, void *obj,
                      int64_t until);

typedef struct ObjectCacheStats {
        uint64_t hits, misses;
        size_t entries, bytes;
} ObjectCacheStats;

void object_cache_stats(ObjectCacheStats *ret);
/* Drops every entry (the benchmarks' cold runs; tests). */
void object_cache_flush(void);
/* Turns the cache off (get always misses, put keeps nothing) or back on; for the benchmarks'
 * cold figures. */
void object_cache_set_enabled(bool enabled);
