/* SPDX-License-Identifier: Apache-2.0 */
/* Successful signature checks with their windows (include/cvm/verified-cache.h), kept in the
 * object cache under a 32-byte key: the same bound, lock and eviction as decoded objects. */
#include <stdlib.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/object-cache.h"
#include "cvm/verified-cache.h"

typedef struct Window {
        int64_t from, until;
        unsigned n_ref;
} Window;

static void *window_ref(void *p) {
        __atomic_add_fetch(&((Window *) p)->n_ref, 1, __ATOMIC_RELAXED);
        return p;
}

static void window_unref(void *p) {
        if (__atomic_sub_fetch(&((Window *) p)->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
                free(p);
}

static const ObjectCacheType window_type = { "verified", window_ref, window_unref };

void verified_cache_key(uint8_t ret[32], const char *kind, const uint8_t signer[32], const uint8_t subject[32]) {
        uint8_t buf[64 + 64 + 1] = {};
        size_t n = strnlen(kind, 64);

        /* kinds are short constants; the NUL after one keeps "a" + signer apart from "ab" + ... */
        memcpy(buf, kind, n);
        memcpy(buf + n + 1, signer, 32);
        memcpy(buf + n + 33, subject, 32);
        sha256(buf, n + 65, ret);
}

bool verified_cache_lookup(const uint8_t key[32], int64_t at) {
        Window *w = object_cache_get(&window_type, key, 32, NULL);
        bool ok;

        if (!w)
                return false;
        ok = at >= w->from && at <= w->until;
        window_unref(w);
        return ok;
}

void verified_cache_remember(const uint8_t key[32], int64_t from, int64_t until) {
        uint8_t digest[32];
        Window *w;

        if (from > until)
                return;
        w = calloc(1, sizeof(Window));
        if (!w)
                return;
        *w = (Window) { .from = from, .until = until, .n_ref = 1 };
        sha256(key, 32, digest);
        object_cache_put(&window_type, digest, key, 32, w, until);
        window_unref(w);
}
