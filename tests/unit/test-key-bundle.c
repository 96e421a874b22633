/* SPDX-License-Identifier: Apache-2.0 */
/* The key bundle, version 2: what the host builds the agent parses back with every key's
 * install metadata; the limits (64 keys, 4 KiB a key, what fits the protocol's 256 KiB
 * ciphertext) and duplicate IDs are refused on both sides, the host's before anything is
 * released (key_bundle_check_keys() over the key store); version 1 and malformed bundles are
 * refused with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cvm/key-bundle.h"
#include "cvm/util.h"
#include "../common/test-dir.h"

static Secret *key_of(size_t n, uint8_t seed) {
        Secret *s;

        assert_int_equal(secret_new(n, &s), 0);
        for (size_t i = 0; i < n; i++)
                secret_data_mut(s)[i] = (uint8_t) (seed + i * 7);
        return s;
}

static void test_round_trip(void **state) {
        _cleanup_(secret_freep) Secret *b = NULL, *k1 = key_of(32, 1), *k2 = key_of(64, 2), *k3 = key_of(4096, 3);
        _cleanup_free_ KeyBundle *p = NULL;
        _cleanup_free_ char *reason = NULL;
        KeyInstall file = { .target = KEY_TARGET_FILE, .owner = "trainer", .group = "trainer", .mode = 0440 };
        KeyInstall luks = { .target = KEY_TARGET_LUKS, .device = "/dev/vdb", .dm_name = "data" };

        assert_int_equal(key_bundle_new(&b), 0);
        assert_int_equal(key_bundle_add(&b, "plain-1", k1), 0);
        assert_int_equal(key_bundle_add_install(&b, "ds.key", &file, k2, &reason), 0);
        assert_int_equal(key_bundle_add_install(&b, "vol_1", &luks, k3, &reason), 0);
        assert_int_equal(secret_size(b), 7 + key_bundle_record_size("plain-1", NULL, 32) +
                                                 key_bundle_record_size("ds.key", &file, 64) +
                                                 key_bundle_record_size("vol_1", &luks, 4096));
        assert_int_equal(key_bundle_parse(b, &p, &reason), 0);
        assert_true(p->replace);
        assert_int_equal(p->n, 3);
        assert_string_equal(p->entries[0].kid, "plain-1");
        assert_int_equal(p->entries[0].install.target, KEY_TARGET_DEFAULT);
        assert_true(secret_equal_bytes(k1, p->entries[0].key, p->entries[0].key_size));
        assert_string_equal(p->entries[1].kid, "ds.key");
        assert_memory_equal(&p->entries[1].install, &file, sizeof(file));
        assert_true(secret_equal_bytes(k2, p->entries[1].key, p->entries[1].key_size));
        assert_memory_equal(&p->entries[2].install, &luks, sizeof(luks));
        assert_true(secret_equal_bytes(k3, p->entries[2].key, p->entries[2].key_size));

        /* "leave installed keys as they are" travels as a flag */
        key_bundle_set_replace(b, false);
        free(p);
        p = NULL;
        assert_int_equal(key_bundle_parse(b, &p, &reason), 0);
        assert_false(p->replace);
}

static void test_host_limits(void **state) {
        _cleanup_(secret_freep) Secret *b = NULL, *small = key_of(32, 1), *big = key_of(4096, 2), *over = key_of(4097, 3),
                                       *before = NULL;
        _cleanup_free_ char *reason = NULL;
        KeyInstall bad_mode = { .target = KEY_TARGET_FILE, .mode = 0664 };
        char kid[16];
        size_t i;

        assert_int_equal(key_bundle_new(&b), 0);
        assert_int_equal(key_bundle_add_install(&b, "a", NULL, over, &reason), -EINVAL);
        assert_non_null(strstr(reason, "4097 bytes"));
        assert_int_equal(key_bundle_add_install(&b, "kms:a", NULL, small, &reason), -EINVAL);
        assert_non_null(strstr(reason, "not a valid key ID"));
        assert_int_equal(key_bundle_add_install(&b, "a", &bad_mode, small, &reason), -EINVAL);
        assert_non_null(strstr(reason, "mode"));
        assert_int_equal(key_bundle_add(&b, "a", small), 0);
        assert_int_equal(key_bundle_add_install(&b, "a", NULL, small, &reason), -EINVAL);
        assert_non_null(strstr(reason, "twice"));

        /* 64 keys of 4 KiB do not fit in 256 KiB: the host stops at the size, not the agent */
        secret_free(b);
        assert_int_equal(key_bundle_new(&b), 0);
        for (i = 0; i < KEY_BUNDLE_MAX_KEYS; i++) {
                snprintf(kid, sizeof(kid), "k%zu", i);
                if (key_bundle_add_install(&b, kid, NULL, big, &reason) < 0)
                        break;
        }
        assert_true(i < KEY_BUNDLE_MAX_KEYS);
        assert_non_null(strstr(reason, "over the"));
        assert_true(secret_size(b) <= KEY_BUNDLE_SIZE_MAX);
        /* the bundle is unchanged by the refusal, and still parses */
        assert_int_equal(secret_dup(b, &before), 0);
        assert_int_equal(key_bundle_add_install(&b, "one-more", NULL, big, &reason), -E2BIG);
        assert_true(secret_equal(b, before));

        /* 64 small keys fit; the 65th does not */
        secret_free(b);
        assert_int_equal(key_bundle_new(&b), 0);
        for (i = 0; i < KEY_BUNDLE_MAX_KEYS; i++) {
                snprintf(kid, sizeof(kid), "k%zu", i);
                assert_int_equal(key_bundle_add(&b, kid, small), 0);
        }
        assert_int_equal(key_bundle_add_install(&b, "k64", NULL, small, &reason), -E2BIG);
        assert_non_null(strstr(reason, "more than 64 keys"));
}

static void parse_fails(const uint8_t *p, size_t n, int want, const char *want_reason) {
        _cleanup_(secret_freep) Secret *s = NULL;
        _cleanup_free_ KeyBundle *b = NULL;
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(secret_new_copy(p, n, &s), 0);
        assert_int_equal(key_bundle_parse(s, &b, &reason), want);
        assert_null(b);
        assert_non_null(reason);
        if (!strstr(reason, want_reason))
                fail_msg("reason \"%s\" does not contain \"%s\"", reason, want_reason);
}

/* A record as the host would write it, for bundles the host's builder refuses to make. */
static size_t put_record(uint8_t *p, const char *kid, uint8_t target, uint16_t mode, const char *device, size_t key_len) {
        size_t o = 0, kl = strlen(kid), dl = strlen(device);

        p[o++] = (uint8_t) kl;
        memcpy(p + o, kid, kl), o += kl;
        p[o++] = target;
        p[o++] = 0; /* owner */
        p[o++] = 0; /* group */
        p[o++] = (uint8_t) (mode >> 8), p[o++] = (uint8_t) mode;
        p[o++] = (uint8_t) dl;
        memcpy(p + o, device, dl), o += dl;
        p[o++] = 0; /* dm name */
        p[o++] = (uint8_t) (key_len >> 8), p[o++] = (uint8_t) key_len;
        memset(p + o, 0x5a, key_len);
        return o + key_len;
}

static void test_agent_refusals(void **state) {
        static uint8_t buf[300 * 1024];
        size_t n;

        /* version 1 (the old format) and unknown versions */
        memcpy(buf, "CVMK\x01\x00\x00", 7);
        parse_fails(buf, 7, -EPROTONOSUPPORT, "version 1 is not supported");
        memcpy(buf, "CVMK\x03\x01\x00", 7);
        parse_fails(buf, 7, -EPROTONOSUPPORT, "version 3");
        parse_fails((const uint8_t *) "CVMX\x02\x01\x00", 7, -EBADMSG, "not a key bundle");
        parse_fails((const uint8_t *) "CVMK\x02\x03\x00", 7, -EBADMSG, "unknown flags");
        parse_fails((const uint8_t *) "CVMK\x02\x01\x41", 7, -EBADMSG, "65 keys");
        parse_fails((const uint8_t *) "CVMK\x02\x01\x01", 7, -EBADMSG, "key 1: truncated");

        /* a duplicate ID */
        memcpy(buf, "CVMK\x02\x01\x02", 7);
        n = 7 + put_record(buf + 7, "a", 0, 0, "", 32);
        n += put_record(buf + n, "a", 0, 0, "", 16);
        parse_fails(buf, n, -EBADMSG, "key 'a' appears twice");
        /* metadata that is not allowed */
        memcpy(buf, "CVMK\x02\x01\x01", 7);
        n = 7 + put_record(buf + 7, "a", KEY_TARGET_FILE, 0666, "", 32);
        parse_fails(buf, n, -EBADMSG, "key 'a': mode");
        n = 7 + put_record(buf + 7, "a", KEY_TARGET_LUKS, 0, "/dev/../etc/shadow", 32);
        parse_fails(buf, n, -EBADMSG, "key 'a': device");
        n = 7 + put_record(buf + 7, "a", 7, 0, "", 32);
        parse_fails(buf, n, -EBADMSG, "unknown install target 7");
        n = 7 + put_record(buf + 7, "a/b", 0, 0, "", 32);
        parse_fails(buf, n, -EBADMSG, "not a valid key ID");
        n = 7 + put_record(buf + 7, "a", 0, 0, "", 4097);
        parse_fails(buf, n, -EBADMSG, "over 4096 bytes");
        n = 7 + put_record(buf + 7, "a", 0, 0, "", 32);
        parse_fails(buf, n - 1, -EBADMSG, "truncated");
        buf[n] = 0;
        parse_fails(buf, n + 1, -EBADMSG, "trailing data");

        /* over the size limit as a whole, however it is laid out */
        memcpy(buf, "CVMK\x02\x01\x40", 7);
        n = 7;
        for (int i = 0; i < 64; i++) {
                char kid[sizeof("k") + 11];
                snprintf(kid, sizeof(kid), "k%d", i);
                n += put_record(buf + n, kid, 0, 0, "", 4096);
        }
        assert_true(n > KEY_BUNDLE_SIZE_MAX);
        parse_fails(buf, n, -EBADMSG, "over the limit");
}

static void write_envelope(const char *keys_dir, const char *kid, size_t wrapped_size) {
        _cleanup_free_ uint8_t *w = calloc(1, wrapped_size);
        KeyEnvelope e = { .kid = (char *) kid, .kek = (char *) "file:/nonexistent", .alg = (char *) "A256KWP",
                          .wrapped = w, .wrapped_size = wrapped_size };

        assert_non_null(w);
        assert_int_equal(keystore_write(keys_dir, &e, true), 0);
}

static void test_host_check_keys(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *keys = strdup_printf("%s/keys", dir), *reason = NULL;
        char *ids[KEY_BUNDLE_MAX_KEYS + 1], names[KEY_BUNDLE_MAX_KEYS + 1][sizeof("k") + 11];

        for (int i = 0; i <= (int) KEY_BUNDLE_MAX_KEYS; i++) {
                snprintf(names[i], sizeof(names[i]), "k%d", i);
                ids[i] = names[i];
                /* 4096-byte keys: wrapped, 4104 bytes */
                write_envelope(keys, names[i], 4104);
        }
        assert_int_equal(key_bundle_check_keys(keys, ids, 1, &reason), 0);
        assert_int_equal(key_bundle_check_keys(keys, ids, 60, &reason), 0);
        /* 64 keys of 4 KiB: refused before anything is released, naming the limit */
        assert_int_equal(key_bundle_check_keys(keys, ids, KEY_BUNDLE_MAX_KEYS, &reason), -E2BIG);
        assert_non_null(strstr(reason, "over the 262128 a release may carry"));
        assert_int_equal(key_bundle_check_keys(keys, ids, KEY_BUNDLE_MAX_KEYS + 1, &reason), -E2BIG);
        assert_non_null(strstr(reason, "at most 64 keys"));
        /* duplicates, unknown keys and the grammar */
        {
                char *dup[] = { names[1], names[2], names[1] }, *missing[] = { (char *) "nope" },
                     *colon[] = { (char *) "kms:datasets/med-2025" };
                assert_int_equal(key_bundle_check_keys(keys, dup, 3, &reason), -EINVAL);
                assert_non_null(strstr(reason, "key 'k1' is named twice"));
                assert_int_equal(key_bundle_check_keys(keys, missing, 1, &reason), -ENOENT);
                assert_non_null(strstr(reason, "not in the key store"));
                assert_int_equal(key_bundle_check_keys(keys, colon, 1, &reason), -EINVAL);
                assert_non_null(strstr(reason, "not a valid key ID"));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_host_limits),
                cmocka_unit_test(test_agent_refusals),
                cmocka_unit_test_setup_teardown(test_host_check_keys, test_dir_setup, test_dir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
