/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets in locked, non-dumpable memory, wiped on free (see cvm/secret.h). Never logs. */
#include <errno.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cvm/secret.h"

struct Secret {
        size_t size;     /* bytes in use */
        size_t capacity; /* bytes allocated after the header */
        size_t map_size; /* > 0: a private mapping of this many bytes; 0: the OpenSSL secure heap */
        uint8_t data[];
};

int secret_init(void) {
        int r;

        (void) prctl(PR_SET_DUMPABLE, 0);
        if (CRYPTO_secure_malloc_initialized())
                return 0;
        /* 1: heap set up and locked; 2: set up, but mlock failed (tolerated); 0: failed. */
        r = CRYPTO_secure_malloc_init(SECRET_HEAP_SIZE, 32);
        return r == 0 ? -ENOMEM : 0;
}

static Secret *secret_alloc_mapped(size_t total) {
        long page = sysconf(_SC_PAGESIZE);
        size_t map_size;
        Secret *s;

        if (page <= 0)
                page = 4096;
        if (total > SIZE_MAX - (size_t) page)
                return NULL;
        map_size = (total + (size_t) page - 1) / (size_t) page * (size_t) page;
        s = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (s == MAP_FAILED)
                return NULL;
        (void) mlock(s, map_size); /* RLIMIT_MEMLOCK may be too small: not an error */
        if (madvise(s, map_size, MADV_DONTDUMP) < 0) {
                (void) munmap(s, map_size);
                return NULL;
        }
        (void) madvise(s, map_size, MADV_WIPEONFORK); /* kernels before 4.14 lack it */
        s->map_size = map_size;
        return s;
}

int secret_new(size_t n, Secret **ret) {
        size_t total;
        Secret *s = NULL;

        if (!ret || n > SECRET_SIZE_MAX)
                return -EINVAL;
        total = sizeof(Secret) + (n ? n : 1);
        if (CRYPTO_secure_malloc_initialized())
                s = OPENSSL_secure_zalloc(total);
        if (s && !CRYPTO_secure_allocated(s)) {
                /* Not from the secure heap after all: never keep a secret in ordinary memory. */
                OPENSSL_secure_clear_free(s, total);
                s = NULL;
        }
        if (s)
                s->map_size = 0;
        else {
                s = secret_alloc_mapped(total);
                if (!s)
                        return -ENOMEM;
        }
        s->size = n;
        s->capacity = n ? n : 1;
        *ret = s;
        return 0;
}

int secret_new_copy(const void *p, size_t n, Secret **ret) {
        Secret *s;
        int r;

        if (!p && n > 0)
                return -EINVAL;
        r = secret_new(n, &s);
        if (r < 0)
                return r;
        if (n > 0)
                memcpy(s->data, p, n);
        *ret = s;
        return 0;
}

int secret_dup(const Secret *s, Secret **ret) {
        if (!s)
                return -EINVAL;
        return secret_new_copy(s->data, s->size, ret);
}

int secret_read_fd(int fd, size_t max, Secret **ret) {
        _cleanup_(secret_freep) Secret *buf = NULL, *s = NULL;
        size_t n = 0;
        int r;

        if (max == 0 || max >= SECRET_SIZE_MAX)
                return -EINVAL;
        /* One byte more than allowed, so an over-long input is seen without keeping it. */
        r = secret_new(max + 1, &buf);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t k = read(fd, buf->data + n, max + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max)
                        return -EFBIG;
        }
        if (n == 0)
                return -ENODATA;
        r = secret_new_copy(buf->data, n, &s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Secret *secret_free(Secret *s) {
        if (!s)
                return NULL;
        if (s->map_size > 0) {
                size_t map_size = s->map_size;
                explicit_bzero(s, map_size);
                (void) munmap(s, map_size);
        } else {
                size_t total = sizeof(Secret) + s->capacity;
                explicit_bzero(s->data, s->capacity);
                OPENSSL_secure_clear_free(s, total);
        }
        return NULL;
}

const uint8_t *secret_data(const Secret *s) {
        return s ? s->data : NULL;
}

uint8_t *secret_data_mut(Secret *s) {
        return s ? s->data : NULL;
}

size_t secret_size(const Secret *s) {
        return s ? s->size : 0;
}

int secret_truncate(Secret *s, size_t n) {
        if (!s || n > s->size)
                return -EINVAL;
        explicit_bzero(s->data + n, s->size - n);
        s->size = n;
        return 0;
}

bool secret_equal_bytes(const Secret *a, const void *p, size_t n) {
        if (!a || (!p && n > 0) || a->size != n)
                return false;
        return n == 0 || CRYPTO_memcmp(a->data, p, n) == 0;
}

bool secret_equal(const Secret *a, const Secret *b) {
        if (!a || !b)
                return a == b;
        return secret_equal_bytes(a, b->data, b->size);
}

void *erase_and_free(void *p) {
        if (!p)
                return NULL;
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
        return NULL;
}

void erase_region(EraseRegion *r) {
        if (r->p && r->n > 0)
                explicit_bzero(r->p, r->n);
}
