/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Secrets (data keys, KEKs, PINs, HPKE private keys and key-schedule secrets) in memory.
 *
 * A Secret records its own length and lives in locked, non-dumpable memory: OpenSSL's secure
 * heap once secret_init() has set it up (locked pages with guard pages on both sides), and
 * otherwise, or when the secure heap is full, a private anonymous mapping of its own that is
 * mlock()ed (a failed mlock, e.g. under RLIMIT_MEMLOCK, is tolerated), excluded from core dumps
 * (MADV_DONTDUMP) and zeroed in a forked child (MADV_WIPEONFORK). Every Secret is wiped when it
 * is freed. Secrets are compared in constant time with CRYPTO_memcmp.
 *
 * Rules for code that handles secrets: never log a secret, never put one into an error message,
 * a reason string, a D-Bus reply, JSON output or the audit log; keep the plaintext in a Secret
 * and nowhere else; wipe transient buffers with _cleanup_(erase_and_freep) or explicit_bzero(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"

/* The largest Secret that may be allocated (a key bundle, never bulk data). */
#define SECRET_SIZE_MAX (1024u * 1024u)
/* Size of the OpenSSL secure heap set up by secret_init(). */
#define SECRET_HEAP_SIZE (1024u * 1024u)

typedef struct Secret Secret;

/* Called once at program start, before any thread: sets up OpenSSL's secure heap and makes the
 * process non-dumpable (PR_SET_DUMPABLE 0). Idempotent. Returns 0 when the heap is set up (its
 * pages may still be unlocked if RLIMIT_MEMLOCK is too small: that is not an error), or -errno
 * when it could not be set up; Secrets then fall back to per-secret locked mappings, so callers
 * may ignore the error. */
int secret_init(void);

/* A zeroed Secret of n bytes (n may be 0); -EINVAL when n > SECRET_SIZE_MAX, -ENOMEM. */
int secret_new(size_t n, Secret **ret);
/* A Secret holding a copy of n bytes at p. */
int secret_new_copy(const void *p, size_t n, Secret **ret);
int secret_dup(const Secret *s, Secret **ret);
/* Reads everything from fd up to EOF into a Secret: -EFBIG when more than max bytes arrive,
 * -ENODATA when nothing does. Nothing read is left behind outside the Secret. */
int secret_read_fd(int fd, size_t max, Secret **ret);

/* Wipes and frees; accepts NULL; returns NULL. */
Secret *secret_free(Secret *s);
static inline void secret_freep(Secret **s) {
        if (*s)
                *s = secret_free(*s);
}

const uint8_t *secret_data(const Secret *s);
uint8_t *secret_data_mut(Secret *s);
size_t secret_size(const Secret *s);
/* Shortens the Secret to n bytes (n <= its size), wiping the bytes cut off. */
int secret_truncate(Secret *s, size_t n);

/* Constant time in the contents (the lengths are not secret): true when both hold the same
 * bytes. NULL equals only NULL. */
bool secret_equal(const Secret *a, const Secret *b);
bool secret_equal_bytes(const Secret *a, const void *p, size_t n);

/* For transient heap buffers that held secret bytes (malloc'ed): wipes the whole allocation
 * (malloc_usable_size) and frees it. Returns NULL. */
void *erase_and_free(void *p);
static inline void erase_and_freep(void *p) {
        erase_and_free(*(void **) p);
}
/* Wipes a stack buffer when it goes out of scope: _cleanup_(erase_bufferp) uint8_t k[32]; is not
 * possible with arrays, so use CLEANUP_ERASE(k) after the declaration instead. */
typedef struct EraseRegion {
        void *p;
        size_t n;
} EraseRegion;
void erase_region(EraseRegion *r);
#define CLEANUP_ERASE_CONCAT2(a, b) a##b
#define CLEANUP_ERASE_CONCAT(a, b) CLEANUP_ERASE_CONCAT2(a, b)
#define CLEANUP_ERASE(var)                                                                                     \
        _cleanup_(erase_region) _unused_ EraseRegion CLEANUP_ERASE_CONCAT(_erase_, __COUNTER__) = {        \
                .p = &(var), .n = sizeof(var)                                                                \
        }
