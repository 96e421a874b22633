/* SPDX-License-Identifier: Apache-2.0 */
/* KEK providers: file: and cred: KEKs (the ownership, mode, symlink and type checks, raw and hex
 * contents, wrap/unwrap and envelope unwrap with the algorithm check), RFC 7512 pkcs11: URI
 * parsing (attributes, percent-encoding, pin-value kept out of the reference, refusals) and
 * the pkcs11 module checks. The token itself is exercised in tests/integration/test-softhsm.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/keys/kek-internal.h"
#include "cvm/keywrap.h"
#include "cvm/util.h"

static char dir[] = "/tmp/test-kek.XXXXXX";
static const uint8_t kek32[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0xfe };

static char *put(const char *name, const void *p, size_t n, mode_t mode) {
        char *path = strdup_printf("%s/%s", dir, name);

        assert_non_null(path);
        (void) unlink(path);
        assert_int_equal(write_file_atomic(path, p, n, mode), 0);
        assert_int_equal(chmod(path, mode), 0);
        return path;
}

static char *uri_for(const char *path) {
        return strdup_printf("file:%s", path);
}

static int open_fails(const char *uri, int want_r, const char *want) {
        Kek *sentinel = (Kek *) 0x1, *k = sentinel;
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(kek_open(uri, &k, &reason), want_r);
        assert_ptr_equal(k, sentinel);
        assert_non_null(reason);
        if (!strstr(reason, want))
                fail_msg("reason \"%s\" lacks \"%s\"", reason, want);
        return 0;
}

static void test_file_kek(void **state) {
        _cleanup_free_ char *path = put("kek.bin", kek32, 32, 0600), *uri = uri_for(path), *uri3 = NULL;
        _cleanup_(kek_freep) Kek *k = NULL, *k2 = NULL;
        _cleanup_(secret_freep) Secret *key = NULL, *back = NULL, *soft = NULL, *kek_s = NULL;
        _cleanup_free_ uint8_t *w = NULL, *w2 = NULL;
        size_t n, n2;

        assert_int_equal(kek_open(uri, &k, NULL), 0);
        assert_string_equal(kek_alg(k), "A256KWP");
        assert_string_equal(kek_reference(k), uri);
        assert_int_equal(secret_new_copy("0123456789abcdefXYZ", 19, &key), 0);
        assert_int_equal(kek_wrap(k, key, &w, &n), 0);
        assert_int_equal(n, keywrap_wrapped_size(19));
        assert_int_equal(kek_unwrap(k, w, n, &back), 0);
        assert_true(secret_equal(back, key));
        /* the same as RFC 5649 with the KEK's bytes */
        assert_int_equal(secret_new_copy(kek32, 32, &kek_s), 0);
        assert_int_equal(keywrap_wrap(kek_s, key, &w2, &n2), 0);
        assert_int_equal(n2, n);
        assert_memory_equal(w2, w, n);
        /* a tampered blob, short and unaligned blobs */
        w[3] ^= 0x80;
        assert_int_equal(kek_unwrap(k, w, n, &soft), -EBADMSG);
        assert_int_equal(kek_unwrap(k, w, 8, &soft), -EBADMSG);
        assert_int_equal(kek_unwrap(k, w, 17, &soft), -EBADMSG);
        assert_null(soft);

        /* file:///path works too; 0400 is fine */
        assert_int_equal(chmod(path, 0400), 0);
        uri3 = strdup_printf("file://%s", path);
        assert_int_equal(kek_open(uri3, &k2, NULL), 0);
}

static void test_file_refusals(void **state) {
        _cleanup_free_ char *path = put("loose.bin", kek32, 32, 0640), *uri = uri_for(path);
        _cleanup_free_ char *p2 = put("other.bin", kek32, 32, 0604), *u2 = uri_for(p2);
        _cleanup_free_ char *p3 = put("short.bin", kek32, 20, 0600), *u3 = uri_for(p3);
        _cleanup_free_ char *p4 = put("long.bin", "0123456789012345678901234567890123456789012345678901234567890123456789",
                                      70, 0600), *u4 = uri_for(p4);
        _cleanup_free_ char *p5 = put("empty.bin", "", 0, 0600), *u5 = uri_for(p5);
        _cleanup_free_ char *good = put("good.bin", kek32, 32, 0600), *link = strdup_printf("%s/link.bin", dir),
                            *ulink = uri_for(link), *udir = uri_for(dir);
        _cleanup_free_ char *missing = strdup_printf("file:%s/none", dir);

        open_fails(uri, -EPERM, "mode 0640 gives group or others access");
        open_fails(u2, -EPERM, "mode 0604");
        open_fails(u3, -EINVAL, "not a KEK");
        open_fails(u4, -EINVAL, "too long");
        open_fails(u5, -EINVAL, "empty");
        (void) unlink(link);
        assert_int_equal(symlink(good, link), 0);
        open_fails(ulink, -EPERM, "symbolic link");
        assert_int_equal(chmod(dir, 0700), 0);
        open_fails(udir, -EPERM, "not a regular file");
        open_fails(missing, -ENOENT, "cannot open");
        open_fails("file:relative/kek", -EINVAL, "absolute path");
        open_fails("file://host/kek", -EINVAL, "names a host");
        open_fails("file:/a%20b", -EINVAL, "absolute path");
        open_fails("http://x", -EINVAL, "unknown KEK URI scheme");
        if (geteuid() == 0) {
                /* owned by someone else: refused even with the right mode */
                _cleanup_free_ char *p6 = put("foreign.bin", kek32, 32, 0600), *u6 = uri_for(p6);
                assert_int_equal(chown(p6, 4242, 4242), 0);
                open_fails(u6, -EPERM, "owned by UID 4242");
        } else
                print_message("not root: the foreign-owner case is checked only as root\n");
}

static void test_hex_and_sizes(void **state) {
        const char *hex64 = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1ffe\n";
        _cleanup_free_ char *p = put("hex.txt", hex64, strlen(hex64), 0600), *u = uri_for(p);
        _cleanup_free_ char *p16 = put("k16.bin", kek32, 16, 0600), *u16 = uri_for(p16);
        _cleanup_free_ char *p24 = put("k24.bin", kek32, 24, 0600), *u24 = uri_for(p24);
        _cleanup_free_ char *ph = put("hex32.txt", "000102030405060708090a0b0c0d0e0f", 32, 0600), *uh = uri_for(ph);
        _cleanup_free_ char *pb = put("badhex.txt", "zz02030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1ffe", 64, 0600),
                            *ub = uri_for(pb);
        _cleanup_(kek_freep) Kek *a = NULL, *b = NULL, *c = NULL, *d = NULL, *raw = NULL;
        _cleanup_(secret_freep) Secret *key = NULL, *back = NULL;
        _cleanup_free_ char *praw = put("raw.bin", kek32, 32, 0600), *uraw = uri_for(praw);
        _cleanup_free_ uint8_t *w = NULL;
        size_t n;

        assert_int_equal(kek_open(u, &a, NULL), 0);
        assert_string_equal(kek_alg(a), "A256KWP");
        assert_int_equal(kek_open(u16, &b, NULL), 0);
        assert_string_equal(kek_alg(b), "A128KWP");
        assert_int_equal(kek_open(u24, &c, NULL), 0);
        assert_string_equal(kek_alg(c), "A192KWP");
        assert_int_equal(kek_open(uh, &d, NULL), 0);
        assert_string_equal(kek_alg(d), "A128KWP"); /* 32 hex digits: a 16-byte key */
        open_fails(ub, -EINVAL, "not a KEK");
        /* the hex file and the raw file hold the same KEK */
        assert_int_equal(kek_open(uraw, &raw, NULL), 0);
        assert_int_equal(secret_new_copy("data key", 8, &key), 0);
        assert_int_equal(kek_wrap(a, key, &w, &n), 0);
        assert_int_equal(kek_unwrap(raw, w, n, &back), 0);
        assert_true(secret_equal(back, key));
}

static void test_cred(void **state) {
        _cleanup_free_ char *p = put("kek-cred", kek32, 32, 0400), *pl = put("loose-cred", kek32, 32, 0644);
        _cleanup_(kek_freep) Kek *k = NULL, *k2 = NULL;
        KekOptions o = { .credentials_dir = dir };
        _cleanup_free_ char *reason = NULL;

        setenv("CREDENTIALS_DIRECTORY", dir, 1);
        assert_int_equal(kek_open("cred:kek-cred", &k, NULL), 0);
        assert_string_equal(kek_reference(k), "cred:kek-cred");
        assert_int_equal(kek_open_full("cred:kek-cred", &o, &k2, NULL), 0);
        open_fails("cred:loose-cred", -EPERM, "gives group or others access");
        open_fails("cred:../kek-cred", -EINVAL, "without '/'");
        open_fails("cred:", -EINVAL, "credential name");
        open_fails("cred:none", -ENOENT, "cannot open");
        unsetenv("CREDENTIALS_DIRECTORY");
        open_fails("cred:kek-cred", -ENOENT, "CREDENTIALS_DIRECTORY is not set");
}

static void test_envelope_unwrap(void **state) {
        _cleanup_free_ char *p = put("env.bin", kek32, 32, 0600), *u = uri_for(p), *reason = NULL;
        _cleanup_free_ char *p16 = put("env16.bin", kek32, 16, 0600), *u16 = uri_for(p16);
        _cleanup_(kek_freep) Kek *k = NULL;
        _cleanup_(secret_freep) Secret *key = NULL, *back = NULL;
        _cleanup_free_ uint8_t *w = NULL;
        KeyEnvelope e;
        size_t n;

        assert_int_equal(kek_open(u, &k, NULL), 0);
        assert_int_equal(secret_new_copy("0123456789abcdef0123456789abcdef", 32, &key), 0);
        assert_int_equal(kek_wrap(k, key, &w, &n), 0);
        e = (KeyEnvelope) { .kid = (char *) "k", .kek = u, .alg = (char *) "A256KWP", .wrapped = w, .wrapped_size = n };
        assert_int_equal(kek_unwrap_envelope(&e, NULL, &back, &reason), 0);
        assert_true(secret_equal(back, key));
        back = secret_free(back);
        /* the alg must match the KEK */
        e.alg = (char *) "A128KWP";
        assert_int_equal(kek_unwrap_envelope(&e, NULL, &back, &reason), -EINVAL);
        assert_non_null(strstr(reason, "the envelope says A128KWP"));
        free(reason), reason = NULL;
        /* the wrong KEK fails the integrity check, and the reason shows no key material */
        e.alg = (char *) "A128KWP";
        e.kek = u16;
        assert_int_equal(kek_unwrap_envelope(&e, NULL, &back, &reason), -EBADMSG);
        assert_non_null(strstr(reason, "integrity check"));
        assert_null(back);
}

static void test_pkcs11_uri(void **state) {
        _cleanup_(pkcs11_uri_done) Pkcs11Uri u = {}, v = {};
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(pkcs11_uri_parse("pkcs11:token=My%20Token;object=kek;id=%01%ff;type=secret-key;"
                                          "slot-id=7;library-description=x?module-path=/usr/lib/m.so&pin-value=12%2534"
                                          "&pin-source=/x",
                                          &u, &reason),
                         -EINVAL);
        assert_non_null(strstr(reason, "not both"));
        free(reason), reason = NULL;
        assert_int_equal(pkcs11_uri_parse("pkcs11:token=My%20Token;object=kek;id=%01%ff;type=secret-key;slot-id=7;"
                                          "library-description=x?module-path=/usr/lib/m.so&pin-value=12%2534",
                                          &u, &reason),
                         0);
        assert_string_equal(u.token, "My Token");
        assert_string_equal(u.object, "kek");
        assert_true(u.has_id);
        assert_int_equal(u.id_size, 2);
        assert_int_equal(u.id[0], 0x01);
        assert_int_equal(u.id[1], 0xff);
        assert_true(u.has_slot_id);
        assert_int_equal(u.slot_id, 7);
        assert_string_equal(u.module_path, "/usr/lib/m.so");
        assert_true(secret_equal_bytes(u.pin_value, "12%34", 5));
        /* the stored reference drops the PIN */
        assert_string_equal(u.reference, "pkcs11:token=My%20Token;object=kek;id=%01%ff;type=secret-key;slot-id=7;"
                                         "library-description=x?module-path=/usr/lib/m.so");
        assert_int_equal(pkcs11_uri_parse("pkcs11:object=k?pin-value=1&module-path=/m.so&pin-source=", &v, &reason),
                         -EINVAL);
        free(reason), reason = NULL;
        assert_int_equal(pkcs11_uri_parse("pkcs11:object=k?pin-value=1234", &v, NULL), 0);
        assert_string_equal(v.reference, "pkcs11:object=k");

        const struct {
                const char *uri, *want;
        } bad[] = {
                { "pkcs11:", "name the KEK" },
                { "pkcs11:token=t", "name the KEK" },
                { "pkcs11:object=k;object=j", "given twice" },
                { "pkcs11:object=k;frob=1", "unknown path attribute 'frob'" },
                { "pkcs11:object=k?frob=1", "unknown query attribute 'frob'" },
                { "pkcs11:object=k;type=private", "secret-key" },
                { "pkcs11:object=k%2", "percent-encoded" },
                { "pkcs11:object=k%zz", "percent-encoded" },
                { "pkcs11:object=a%00b", "percent-encoded" },
                { "pkcs11:object=a b", "percent-encoded" },
                { "pkcs11:object", "without '='" },
                { "pkcs11:object=k?pin-value", "without '='" },
                { "pkcs11:object=k?pin-value=", "pin-value" },
                { "pkcs11:object=k#frag", "fragment" },
                { "pkcs11:id=", "'id'" },
                { "pkcs11:object=k;slot-id=x", "slot-id" },
                { "pkcs11:object=k;slot-id=-1", "slot-id" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Pkcs11Uri w = { .token = (char *) "sentinel" };
                _cleanup_free_ char *why = NULL;
                assert_int_equal(pkcs11_uri_parse(bad[i].uri, &w, &why), -EINVAL);
                assert_string_equal(w.token, "sentinel");
                if (!why || !strstr(why, bad[i].want))
                        fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].uri, why ? why : "(none)", bad[i].want);
                /* no PIN in any reason */
                assert_null(strstr(why, "1234"));
        }
}

static void test_pkcs11_module_checks(void **state) {
        _cleanup_free_ char *loose = put("loose.so", "x", 1, 0666), *uri = NULL, *notso = put("notso.so", "x", 1, 0755),
                            *u2 = NULL;

        unsetenv("CVMD_PKCS11_MODULE");
        open_fails("pkcs11:object=k", -EINVAL, "no PKCS#11 module is configured");
        open_fails("pkcs11:object=k?module-path=lib.so", -EINVAL, "must be absolute");
        open_fails("pkcs11:object=k?module-name=softhsm2", -EINVAL, "module-name is not supported");
        open_fails("pkcs11:object=k?module-path=/nonexistent/m.so", -ENOENT, "/nonexistent/m.so");
        uri = strdup_printf("pkcs11:object=k?module-path=%s", loose);
        open_fails(uri, -EPERM, "not writable by group or others");
        u2 = strdup_printf("pkcs11:object=k?module-path=%s", notso);
        open_fails(u2, -ENOENT, "cannot load PKCS#11 module");
        /* the configured module is used when the URI has none */
        setenv("CVMD_PKCS11_MODULE", loose, 1);
        open_fails("pkcs11:object=k", -EPERM, "not writable by group or others");
        unsetenv("CVMD_PKCS11_MODULE");
        /* a PIN from a loose pin-source file is refused before the module is loaded */
        {
                _cleanup_free_ char *pin = put("pin", "1234\n", 5, 0644), *u3 = NULL, *why = NULL;
                Kek *k = NULL;
                u3 = strdup_printf("pkcs11:object=k?module-path=%s&pin-source=%s", notso, pin);
                assert_int_equal(kek_open(u3, &k, &why), -EPERM);
                assert_non_null(strstr(why, "mode 0644"));
                assert_null(strstr(why, "1234"));
        }
}

static int setup(void **state) {
        secret_init();
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_file_kek),
                cmocka_unit_test(test_file_refusals),
                cmocka_unit_test(test_hex_and_sizes),
                cmocka_unit_test(test_cred),
                cmocka_unit_test(test_envelope_unwrap),
                cmocka_unit_test(test_pkcs11_uri),
                cmocka_unit_test(test_pkcs11_module_checks),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
