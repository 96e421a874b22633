/* SPDX-License-Identifier: Apache-2.0 */
/* Key envelopes: strict parsing (every error names the field; out-params untouched on error),
 * formatting and parsing back, the key directory (atomic 0600 writes, no silent replace, kid
 * matching the file name, sorted listing that skips what is not an envelope). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/keystore.h"
#include "cvm/keywrap.h"
#include "cvm/util.h"

/* 24 bytes: 00 01 .. 17 */
#define W24 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
#define GOOD "{\"kid\":\"train-1\",\"kek\":\"file:/etc/cvmd/kek\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}"

static void parse_ok(const char *json, KeyEnvelope *e) {
        _cleanup_free_ char *reason = NULL;
        int r = key_envelope_parse(json, strlen(json), e, &reason);

        if (r < 0)
                fail_msg("parse failed: %d %s", r, reason ? reason : "");
        assert_null(reason);
}

static void parse_fails(const char *json, int want_r, const char *want) {
        KeyEnvelope e = { .kid = (char *) "sentinel" };
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(key_envelope_parse(json, strlen(json), &e, &reason), want_r);
        assert_string_equal(e.kid, "sentinel");
        assert_non_null(reason);
        if (strncmp(reason, want, strlen(want)) != 0)
                fail_msg("reason \"%s\" does not start with \"%s\"", reason, want);
}

static void test_parse_good(void **state) {
        _cleanup_(key_envelope_done) KeyEnvelope e = {};

        parse_ok(GOOD, &e);
        assert_string_equal(e.kid, "train-1");
        assert_string_equal(e.kek, "file:/etc/cvmd/kek");
        assert_string_equal(e.alg, "A256KWP");
        assert_int_equal(e.wrapped_size, 24);
        for (size_t i = 0; i < 24; i++)
                assert_int_equal(e.wrapped[i], i);
}

static void test_parse_errors(void **state) {
        parse_fails("", -EINVAL, "the key envelope is empty");
        parse_fails("[]", -EINVAL, "the key envelope must be a JSON object");
        parse_fails("{\"kid\":\"a\"", -EINVAL, "not valid JSON");
        parse_fails(GOOD " x", -EINVAL, "not valid JSON");
        parse_fails(GOOD "{}", -EINVAL, "not valid JSON");
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\"}", -EINVAL, "wrapped: missing");
        parse_fails("{\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}", -EINVAL, "kid: missing");
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\",\"x\":1}", -EINVAL,
                    "x: unknown key");
        parse_fails("{\"kid\":1,\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}", -EINVAL,
                    "kid: expected a string, got an integer");
        parse_fails("{\"kid\":\"../x\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}", -EINVAL,
                    "kid: not a valid key ID");
        parse_fails("{\"kid\":\".x\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}", -EINVAL,
                    "kid: not a valid key ID");
        parse_fails("{\"kid\":\"a\",\"kek\":\"http://x\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}", -EINVAL,
                    "kek: unknown KEK URI scheme");
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/a b\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}", -EINVAL,
                    "kek: not a KEK URI");
        parse_fails("{\"kid\":\"a\",\"kek\":[],\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}", -EINVAL,
                    "kek: expected a string, got an array");
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KW\",\"wrapped\":\"" W24 "\"}", -EINVAL,
                    "alg: unsupported algorithm");
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"AAEC AwQF\"}", -EINVAL,
                    "wrapped: not valid base64");
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRY\"}",
                    -EINVAL, "wrapped: not valid base64");
        /* non-canonical padding bits */
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFR==\"}",
                    -EINVAL, "wrapped: not valid base64");
        /* 16 bytes is the minimum, multiples of 8 only */
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"AAECAwQFBgc=\"}", -EINVAL,
                    "wrapped: 8 bytes is not a wrapped key");
        parse_fails("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"AAECAwQFBgcICQoLDA0ODxA=\"}",
                    -EINVAL, "wrapped: 17 bytes is not a wrapped key");
        /* duplicates, even of a valid value */
        parse_fails("{\"kid\":\"a\",\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}",
                    -EINVAL, "duplicate key");
        parse_fails("{\"kid\":5,\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}",
                    -EINVAL, "duplicate key");
        parse_fails("{\"kid\":\"a\\u0000b\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\"}", -EINVAL,
                    "kid: the string contains a NUL");
        parse_fails("{'kid':'a'}", -EINVAL, "not valid JSON");
        {
                _cleanup_free_ char *big = malloc(KEY_ENVELOPE_MAX + 2);
                assert_non_null(big);
                memset(big, ' ', KEY_ENVELOPE_MAX + 1);
                big[KEY_ENVELOPE_MAX + 1] = 0;
                parse_fails(big, -EFBIG, "the key envelope is");
        }
        /* a wrapped value over the maximum: base64 longer than allowed */
        {
                size_t n = (KEYWRAP_WRAPPED_MAX + 2) / 3 * 4 + 4;
                _cleanup_free_ char *w = malloc(n + 1), *doc = NULL;
                memset(w, 'A', n);
                w[n] = 0;
                doc = strdup_printf("{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"%s\"}", w);
                parse_fails(doc, -EINVAL, "wrapped: the string is");
        }
}

static void test_format_round_trip(void **state) {
        _cleanup_(key_envelope_done) KeyEnvelope e = {}, back = {};
        _cleanup_free_ char *text = NULL;
        KeyEnvelope bad;

        parse_ok(GOOD, &e);
        assert_int_equal(key_envelope_format(&e, &text), 0);
        assert_non_null(strstr(text, "\"wrapped\": \"" W24 "\""));
        assert_int_equal(text[strlen(text) - 1], '\n');
        parse_ok(text, &back);
        assert_string_equal(back.kid, e.kid);
        assert_string_equal(back.kek, e.kek);
        assert_string_equal(back.alg, e.alg);
        assert_int_equal(back.wrapped_size, e.wrapped_size);
        assert_memory_equal(back.wrapped, e.wrapped, e.wrapped_size);
        /* every length base64 can end with */
        for (size_t n = 16; n <= 64; n += 8) {
                _cleanup_(key_envelope_done) KeyEnvelope b2 = {};
                _cleanup_free_ char *t = NULL;
                uint8_t w[64];
                for (size_t i = 0; i < n; i++)
                        w[i] = (uint8_t) (i * 37 + 1);
                KeyEnvelope x = { .kid = (char *) "k", .kek = (char *) "cred:kek", .alg = (char *) "A128KWP",
                                  .wrapped = w, .wrapped_size = n };
                assert_int_equal(key_envelope_format(&x, &t), 0);
                parse_ok(t, &b2);
                assert_int_equal(b2.wrapped_size, n);
                assert_memory_equal(b2.wrapped, w, n);
        }
        bad = e;
        bad.kid = (char *) "a/b";
        assert_int_equal(key_envelope_format(&bad, &text), -EINVAL);
        bad = e;
        bad.wrapped_size = 20;
        assert_int_equal(key_envelope_format(&bad, &text), -EINVAL);
}

static void test_key_ids(void **state) {
        assert_true(key_id_is_valid("a"));
        assert_true(key_id_is_valid("Train_2025-01.v2"));
        assert_false(key_id_is_valid(""));
        assert_false(key_id_is_valid(NULL));
        assert_false(key_id_is_valid(".hidden"));
        assert_false(key_id_is_valid("a/b"));
        assert_false(key_id_is_valid(".."));
        assert_false(key_id_is_valid("a b"));
        assert_false(key_id_is_valid("ключ"));
        /* one grammar for the spec, the store, the bundle and the agent: no ':' or '/', no leading
         * '-' or '_' */
        assert_false(key_id_is_valid("kms:datasets/med-2025"));
        assert_false(key_id_is_valid("-rf"));
        assert_false(key_id_is_valid("_x"));
        assert_true(key_id_is_valid("9a.b_c-d"));
        char long_id[KEY_ID_MAX + 2];
        memset(long_id, 'a', sizeof(long_id) - 1);
        long_id[KEY_ID_MAX + 1] = 0;
        assert_false(key_id_is_valid(long_id));
        long_id[KEY_ID_MAX] = 0;
        assert_true(key_id_is_valid(long_id));
}

static void test_install_metadata(void **state) {
        _cleanup_(key_envelope_done) KeyEnvelope e = {}, back = {}, k = {}, l = {}, d = {};
        _cleanup_free_ char *text = NULL;
#define ENV(install) "{\"kid\":\"a\",\"kek\":\"file:/k\",\"alg\":\"A256KWP\",\"wrapped\":\"" W24 "\",\"install\":" install "}"

        parse_ok(ENV("{\"target\":\"file\",\"owner\":\"trainer\",\"group\":\"ml\",\"mode\":\"0440\"}"), &e);
        assert_int_equal(e.install.target, KEY_TARGET_FILE);
        assert_string_equal(e.install.owner, "trainer");
        assert_string_equal(e.install.group, "ml");
        assert_int_equal(e.install.mode, 0440);
        assert_int_equal(key_envelope_format(&e, &text), 0);
        assert_non_null(strstr(text, "\"mode\": \"0440\""));
        parse_ok(text, &back);
        assert_memory_equal(&back.install, &e.install, sizeof(e.install));
        parse_ok(ENV("{\"target\":\"keyring\",\"user\":\"trainer\"}"), &k);
        assert_int_equal(k.install.target, KEY_TARGET_KEYRING);
        assert_string_equal(k.install.owner, "trainer");
        parse_ok(ENV("{\"target\":\"luks\",\"device\":\"/dev/vdb\",\"name\":\"data\"}"), &l);
        assert_string_equal(l.install.device, "/dev/vdb");
        assert_string_equal(l.install.dm_name, "data");
        parse_ok(ENV("{}"), &d); /* present: a file with the defaults */
        assert_int_equal(d.install.target, KEY_TARGET_FILE);
        assert_int_equal(key_install_file_mode(&d.install), 0400);

        parse_fails(ENV("{\"mode\":\"0666\"}"), -EINVAL, "install.mode: 0666 is not allowed");
        parse_fails(ENV("{\"mode\":\"0500\"}"), -EINVAL, "install.mode: 0500 is not allowed");
        parse_fails(ENV("{\"mode\":\"rw\"}"), -EINVAL, "install.mode: expected octal");
        parse_fails(ENV("{\"target\":\"disk\"}"), -EINVAL, "install.target: expected");
        parse_fails(ENV("{\"user\":\"x\"}"), -EINVAL, "install.user: only for the keyring target");
        parse_fails(ENV("{\"target\":\"keyring\",\"owner\":\"x\"}"), -EINVAL, "install.owner: only for the file");
        parse_fails(ENV("{\"owner\":\"-x\"}"), -EINVAL, "install.owner: not a user name");
        parse_fails(ENV("{\"target\":\"luks\"}"), -EINVAL, "install.device: required");
        parse_fails(ENV("{\"target\":\"luks\",\"device\":\"/dev/../etc/x\"}"), -EINVAL, "install.device: not a device");
        parse_fails(ENV("{\"target\":\"luks\",\"device\":\"/dev/vdb\",\"name\":\"a/b\"}"), -EINVAL, "install.name:");
        parse_fails(ENV("{\"group\":\"g\",\"group\":\"g\"}"), -EINVAL, "duplicate key");
        parse_fails(ENV("{\"x\":\"y\"}"), -EINVAL, "install.x: unknown key");
        parse_fails(ENV("\"file\""), -EINVAL, "install: expected an object");
#undef ENV
}

static void test_directory(void **state) {
        char dir[] = "/tmp/test-keystore.XXXXXX";
        _cleanup_free_ char *sub = NULL, *path = NULL, *reason = NULL;
        _cleanup_(key_envelope_done) KeyEnvelope e = {}, r1 = {};
        KeyEnvelope r2 = { .kid = (char *) "sentinel" };
        char **kids = NULL;
        size_t n;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        sub = strdup_printf("%s/keys", dir);
        /* a missing directory lists empty */
        assert_int_equal(keystore_list(sub, &kids, &n), 0);
        assert_int_equal(n, 0);

        parse_ok(GOOD, &e);
        assert_int_equal(keystore_write(sub, &e, false), 0);
        assert_int_equal(stat(sub, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(keystore_path(sub, "train-1", &path), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(keystore_write(sub, &e, false), -EEXIST);
        assert_int_equal(keystore_write(sub, &e, true), 0);
        assert_int_equal(keystore_read(sub, "train-1", &r1, NULL), 0);
        assert_memory_equal(r1.wrapped, e.wrapped, e.wrapped_size);

        /* a second key, a renamed copy, and things that are not envelopes */
        free(e.kid);
        e.kid = strdup("alpha");
        assert_int_equal(keystore_write(sub, &e, false), 0);
        {
                _cleanup_free_ char *a = strdup_printf("%s/alpha.json", sub), *b = strdup_printf("%s/beta.json", sub),
                                    *c = strdup_printf("%s/.hidden.json", sub), *d = strdup_printf("%s/notes.txt", sub),
                                    *f = strdup_printf("%s/dir.json", sub);
                _cleanup_free_ uint8_t *data = NULL;
                size_t size;
                assert_int_equal(read_file_bounded(a, KEY_ENVELOPE_MAX, &data, &size), 0);
                assert_int_equal(write_file_atomic(b, data, size, 0600), 0);
                assert_int_equal(write_file_atomic(c, data, size, 0600), 0);
                assert_int_equal(write_file_atomic(d, data, size, 0600), 0);
                assert_int_equal(mkdir(f, 0700), 0);
        }
        assert_int_equal(keystore_list(sub, &kids, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(kids[0], "alpha");
        assert_string_equal(kids[1], "beta");
        assert_string_equal(kids[2], "train-1");
        keystore_list_free(kids, n);
        /* beta.json holds kid "alpha": refused */
        assert_int_equal(keystore_read(sub, "beta", &r2, &reason), -EINVAL);
        assert_string_equal(r2.kid, "sentinel");
        assert_non_null(strstr(reason, "does not match"));
        assert_int_equal(keystore_read(sub, "../x", &r2, NULL), -EINVAL);
        assert_int_equal(keystore_read(sub, "missing", &r2, NULL), -ENOENT);

        /* a store others may write to is refused; a planted temporary name changes nothing */
        {
                _cleanup_free_ char *planted = strdup_printf("%s/train-1.json.tmp.%d", sub, (int) getpid()),
                                    *why = NULL;
                int fd = open(planted, O_WRONLY | O_CREAT | O_EXCL, 0666);
                assert_true(fd >= 0);
                close(fd);
                assert_int_equal(chmod(planted, 0666), 0);
                assert_int_equal(keystore_write(sub, &e, true), 0);
                assert_int_equal(stat(planted, &st), 0);
                assert_int_equal(st.st_size, 0);
                assert_int_equal(chmod(sub, 0777), 0);
                assert_int_equal(keystore_write_full(sub, &e, true, &why), -EPERM);
                assert_non_null(strstr(why, "writable by"));
                assert_int_equal(chmod(sub, 0700), 0);
                assert_int_equal(unlink(planted), 0);
        }

        /* the default directory and its override */
        assert_string_equal(keystore_dir("/x"), "/x");
        unsetenv("CVMD_KEYS_DIR");
        assert_string_equal(keystore_dir(NULL), KEYSTORE_DIR_DEFAULT);
        setenv("CVMD_KEYS_DIR", "/y", 1);
        assert_string_equal(keystore_dir(NULL), "/y");
        unsetenv("CVMD_KEYS_DIR");

        {
                _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
                assert_int_equal(system(cmd), 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_good),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_format_round_trip),
                cmocka_unit_test(test_key_ids),
                cmocka_unit_test(test_install_metadata),
                cmocka_unit_test(test_directory),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
