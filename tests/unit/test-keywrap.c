/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 5649 key wrap with padding: the two published examples of RFC 5649 §6 (192-bit KEK, 20- and
 * 7-byte keys) both ways, round trips for every length and KEK size, and the refusals: tampered
 * bytes, a wrong KEK, impossible lengths, bad KEK sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/rand.h>
#include <string.h>

#include "cvm/keywrap.h"
#include "cvm/util.h"

static Secret *secret_hex(const char *hex) {
        _cleanup_free_ uint8_t *b = NULL;
        Secret *s = NULL;
        size_t n;

        assert_int_equal(hex_decode(hex, &b, &n), 0);
        assert_int_equal(secret_new_copy(b, n, &s), 0);
        return s;
}

static void check_example(const char *kek_hex, const char *key_hex, const char *wrapped_hex) {
        _cleanup_(secret_freep) Secret *kek = secret_hex(kek_hex), *key = secret_hex(key_hex), *back = NULL;
        _cleanup_free_ uint8_t *wrapped = NULL, *want = NULL;
        size_t n, want_n;

        assert_int_equal(hex_decode(wrapped_hex, &want, &want_n), 0);
        assert_int_equal(keywrap_wrap(kek, key, &wrapped, &n), 0);
        assert_int_equal(n, want_n);
        assert_memory_equal(wrapped, want, n);
        assert_int_equal(n, keywrap_wrapped_size(secret_size(key)));
        assert_int_equal(keywrap_unwrap(kek, want, want_n, &back), 0);
        assert_true(secret_equal(back, key));

        /* every single-bit change anywhere is detected, and nothing is returned */
        for (size_t i = 0; i < want_n; i++)
                for (int bit = 0; bit < 8; bit++) {
                        Secret *sentinel = (Secret *) 0x1, *out = sentinel;
                        want[i] ^= (uint8_t) (1u << bit);
                        assert_int_equal(keywrap_unwrap(kek, want, want_n, &out), -EBADMSG);
                        assert_ptr_equal(out, sentinel);
                        want[i] ^= (uint8_t) (1u << bit);
                }
}

static void test_rfc5649_examples(void **state) {
        /* RFC 5649 §6: "Wrap 20 octets of Key Data with a 192-bit KEK" and "Wrap 7 octets" */
        check_example("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "c37b7e6492584340bed12207808941155068f738",
                      "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
        check_example("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "466f7250617369",
                      "afbeb0f07dfbf5419200f2ccb50bb24f");
}

static void test_round_trips(void **state) {
        const size_t kek_sizes[] = { 16, 24, 32 };

        for (size_t k = 0; k < ELEMENTSOF(kek_sizes); k++) {
                _cleanup_(secret_freep) Secret *kek = NULL, *other = NULL;
                assert_int_equal(secret_new(kek_sizes[k], &kek), 0);
                assert_int_equal(secret_new(kek_sizes[k], &other), 0);
                assert_int_equal(RAND_bytes(secret_data_mut(kek), (int) kek_sizes[k]), 1);
                assert_int_equal(RAND_bytes(secret_data_mut(other), (int) kek_sizes[k]), 1);
                for (size_t n = 1; n <= 80; n++) {
                        _cleanup_(secret_freep) Secret *key = NULL, *back = NULL, *wrong = NULL;
                        _cleanup_free_ uint8_t *w = NULL;
                        size_t wn;

                        assert_int_equal(secret_new(n, &key), 0);
                        assert_int_equal(RAND_bytes(secret_data_mut(key), (int) n), 1);
                        assert_int_equal(keywrap_wrap(kek, key, &w, &wn), 0);
                        assert_int_equal(wn, keywrap_wrapped_size(n));
                        assert_int_equal(wn % 8, 0);
                        assert_int_equal(keywrap_unwrap(kek, w, wn, &back), 0);
                        assert_true(secret_equal(back, key));
                        assert_int_equal(keywrap_unwrap(other, w, wn, &wrong), -EBADMSG);
                        assert_null(wrong);
                }
        }
        /* the largest key allowed, and one byte more */
        {
                _cleanup_(secret_freep) Secret *kek = NULL, *key = NULL, *big = NULL, *back = NULL;
                _cleanup_free_ uint8_t *w = NULL, *w2 = NULL;
                size_t wn, wn2;
                assert_int_equal(secret_new(32, &kek), 0);
                assert_int_equal(secret_new(KEYWRAP_KEY_MAX, &key), 0);
                assert_int_equal(secret_new(KEYWRAP_KEY_MAX + 1, &big), 0);
                assert_int_equal(keywrap_wrap(kek, key, &w, &wn), 0);
                assert_int_equal(wn, KEYWRAP_KEY_MAX + 8);
                assert_int_equal(keywrap_unwrap(kek, w, wn, &back), 0);
                assert_true(secret_equal(back, key));
                assert_int_equal(keywrap_wrap(kek, big, &w2, &wn2), -EINVAL);
                assert_null(w2);
        }
}

static void test_refusals(void **state) {
        _cleanup_(secret_freep) Secret *kek = secret_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        _cleanup_(secret_freep) Secret *bad_kek = secret_hex("0001020304050607"), *empty = NULL, *key = NULL;
        _cleanup_free_ uint8_t *w = NULL;
        uint8_t junk[64] = {};
        Secret *out = NULL;
        size_t wn;

        assert_int_equal(secret_new(0, &empty), 0);
        assert_int_equal(secret_new(16, &key), 0);
        /* short, unaligned and oversize inputs */
        const size_t lengths[] = { 0, 1, 8, 15, 17, 23, 25, 63 };
        for (size_t i = 0; i < ELEMENTSOF(lengths); i++)
                assert_int_equal(keywrap_unwrap(kek, junk, lengths[i], &out), -EBADMSG);
        assert_int_equal(keywrap_unwrap(kek, junk, KEYWRAP_WRAPPED_MAX + 1, &out), -EBADMSG);
        /* aligned garbage fails the integrity check */
        assert_int_equal(keywrap_unwrap(kek, junk, 16, &out), -EBADMSG);
        assert_int_equal(keywrap_unwrap(kek, junk, 64, &out), -EBADMSG);
        assert_null(out);
        /* KEK sizes and empty keys */
        assert_int_equal(keywrap_wrap(bad_kek, key, &w, &wn), -EINVAL);
        assert_int_equal(keywrap_unwrap(bad_kek, junk, 16, &out), -EINVAL);
        assert_int_equal(keywrap_wrap(kek, empty, &w, &wn), -EINVAL);
        assert_null(w);

        /* a wrapped 16-byte key cut short or extended by a block */
        assert_int_equal(keywrap_wrap(kek, key, &w, &wn), 0);
        assert_int_equal(wn, 24);
        assert_int_equal(keywrap_unwrap(kek, w, 16, &out), -EBADMSG);
        {
                uint8_t longer[32] = {};
                memcpy(longer, w, 24);
                assert_int_equal(keywrap_unwrap(kek, longer, 32, &out), -EBADMSG);
        }
        assert_null(out);
}

static void test_alg_names(void **state) {
        assert_string_equal(keywrap_alg_for_kek_size(16), "A128KWP");
        assert_string_equal(keywrap_alg_for_kek_size(24), "A192KWP");
        assert_string_equal(keywrap_alg_for_kek_size(32), "A256KWP");
        assert_null(keywrap_alg_for_kek_size(20));
        assert_int_equal(keywrap_alg_kek_size("A256KWP"), 32);
        assert_int_equal(keywrap_alg_kek_size("A128KWP"), 16);
        assert_int_equal(keywrap_alg_kek_size("A256KW"), -EOPNOTSUPP);
        assert_int_equal(keywrap_alg_kek_size("a256kwp"), -EOPNOTSUPP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rfc5649_examples),
                cmocka_unit_test(test_round_trips),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_alg_names),
        };

        secret_init();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
