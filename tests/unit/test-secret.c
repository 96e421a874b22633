/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets: allocation from the secure heap and from locked private mappings, lengths, copies,
 * constant-time comparison, bounded reads from a file descriptor, truncation, and the erase
 * helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cvm/secret.h"

static void test_before_init_uses_mappings(void **state) {
        _cleanup_(secret_freep) Secret *s = NULL;

        /* before secret_init(): a private mapping, still usable and wiped on free */
        assert_false(CRYPTO_secure_malloc_initialized());
        assert_int_equal(secret_new_copy("abc", 3, &s), 0);
        assert_false(CRYPTO_secure_allocated(s));
        assert_int_equal(secret_size(s), 3);
        assert_memory_equal(secret_data(s), "abc", 3);
}

static void test_init(void **state) {
        _cleanup_(secret_freep) Secret *s = NULL, *big = NULL;

        assert_int_equal(secret_init(), 0);
        assert_int_equal(secret_init(), 0); /* idempotent */
        assert_true(CRYPTO_secure_malloc_initialized());
        assert_int_equal(prctl(PR_GET_DUMPABLE), 0);
        assert_int_equal(secret_new(32, &s), 0);
        assert_true(CRYPTO_secure_allocated(s));
        assert_true(CRYPTO_secure_allocated(secret_data(s)));
        { static const uint8_t z[32]; assert_memory_equal(secret_data(s), z, 32); }
        /* larger than the whole secure heap: falls back to a mapping */
        assert_int_equal(secret_new(SECRET_HEAP_SIZE, &big), 0);
        assert_false(CRYPTO_secure_allocated(big));
        memset(secret_data_mut(big), 0x5a, SECRET_HEAP_SIZE);
}

static void test_sizes(void **state) {
        Secret *sentinel = (Secret *) 0x1, *s = sentinel;
        _cleanup_(secret_freep) Secret *empty = NULL, *a = NULL, *b = NULL;

        assert_int_equal(secret_new(SECRET_SIZE_MAX + 1, &s), -EINVAL);
        assert_ptr_equal(s, sentinel);
        assert_int_equal(secret_new_copy(NULL, 1, &s), -EINVAL);
        assert_int_equal(secret_new(0, &empty), 0);
        assert_int_equal(secret_size(empty), 0);
        assert_non_null(secret_data(empty));
        assert_int_equal(secret_size(NULL), 0);
        assert_null(secret_data(NULL));

        assert_int_equal(secret_new_copy("0123456789", 10, &a), 0);
        assert_int_equal(secret_truncate(a, 11), -EINVAL);
        assert_int_equal(secret_truncate(a, 4), 0);
        assert_int_equal(secret_size(a), 4);
        assert_memory_equal(secret_data(a), "0123", 4);
        /* the bytes cut off are wiped */
        assert_int_equal(secret_data(a)[4], 0);
        assert_int_equal(secret_data(a)[9], 0);
        assert_int_equal(secret_dup(a, &b), 0);
        assert_true(secret_equal(a, b));
        assert_ptr_not_equal(secret_data(a), secret_data(b));
        assert_null(secret_free(NULL));
}

static void test_equal(void **state) {
        _cleanup_(secret_freep) Secret *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e1 = NULL, *e2 = NULL;

        assert_int_equal(secret_new_copy("key-1", 5, &a), 0);
        assert_int_equal(secret_new_copy("key-1", 5, &b), 0);
        assert_int_equal(secret_new_copy("key-2", 5, &c), 0);
        assert_int_equal(secret_new_copy("key-1x", 6, &d), 0);
        assert_int_equal(secret_new(0, &e1), 0);
        assert_int_equal(secret_new(0, &e2), 0);
        assert_true(secret_equal(a, b));
        assert_false(secret_equal(a, c));
        assert_false(secret_equal(a, d));
        assert_false(secret_equal(a, NULL));
        assert_true(secret_equal(NULL, NULL));
        assert_true(secret_equal(e1, e2));
        assert_true(secret_equal_bytes(a, "key-1", 5));
        assert_false(secret_equal_bytes(a, "key-1", 4));
        assert_false(secret_equal_bytes(a, "kez-1", 5));
}

static int pipe_with(const void *p, size_t n) {
        int fds[2];

        assert_int_equal(pipe(fds), 0);
        assert_int_equal(write(fds[1], p, n), (ssize_t) n);
        close(fds[1]);
        return fds[0];
}

static void test_read_fd(void **state) {
        _cleanup_(secret_freep) Secret *s = NULL;
        Secret *t = NULL;
        int fd;

        fd = pipe_with("\x00\x01\x02secret\xff", 10);
        assert_int_equal(secret_read_fd(fd, 10, &s), 0);
        close(fd);
        assert_true(secret_equal_bytes(s, "\x00\x01\x02secret\xff", 10));

        fd = pipe_with("0123456789A", 11);
        assert_int_equal(secret_read_fd(fd, 10, &t), -EFBIG);
        close(fd);
        assert_null(t);

        fd = pipe_with("", 0);
        assert_int_equal(secret_read_fd(fd, 10, &t), -ENODATA);
        close(fd);
        assert_int_equal(secret_read_fd(-1, 10, &t), -EBADF);
        assert_int_equal(secret_read_fd(0, 0, &t), -EINVAL);
        assert_null(t);
}

static void test_erase(void **state) {
        char *p = strdup("transient secret");
        uint8_t stack[16];

        assert_non_null(p);
        assert_null(erase_and_free(p));
        assert_null(erase_and_free(NULL));
        {
                uint8_t k[16];
                CLEANUP_ERASE(k);
                memset(k, 0x77, sizeof(k));
                memcpy(stack, k, sizeof(k));
        }
        assert_int_equal(stack[0], 0x77);
        {
                _cleanup_(erase_and_freep) char *q = strdup("x");
                assert_non_null(q);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_before_init_uses_mappings),
                cmocka_unit_test(test_init),
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_equal),
                cmocka_unit_test(test_read_fd),
                cmocka_unit_test(test_erase),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
