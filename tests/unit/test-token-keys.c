/* SPDX-License-Identifier: Apache-2.0 */
/* Result-token signing keys in a state directory: made on first open (0600 whatever the umask),
 * the same kid after a reopen, refusal of key files others may read or that are not ours,
 * rotation with overlap (both keys in the JWKS, then only the new one, the old file removed),
 * and a token signed with token_keys_sign() verifying with a key rebuilt from nothing but the
 * JWK's x and y. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/cleanup.h"
#include "cvm/token-keys.h"
#include "cvm/token.h"
#include "cvm/util.h"

#define T0      1700000000
#define ROTATE  3600
#define OVERLAP 600

typedef struct Fixture {
        char dir[64];
        char key[128];
        char previous[128];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/test-token-keys.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->key, sizeof(f->key), "%s/%s", f->dir, TOKEN_KEYS_FILE);
        snprintf(f->previous, sizeof(f->previous), "%s/%s", f->dir, TOKEN_KEYS_PREVIOUS_FILE);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        (void) unlink(f->key);
        (void) unlink(f->previous);
        (void) rmdir(f->dir);
        free(f);
        return 0;
}

static int open_keys(Fixture *f, int64_t now, TokenKeys **ret) {
        _cleanup_free_ char *reason = NULL;
        int r = token_keys_open(f->dir, ROTATE, OVERLAP, now, ret, &reason);

        if (r < 0)
                print_message("token_keys_open: %s\n", reason ?: "(no reason)");
        return r;
}

static char *kid_of(TokenKeys *k) {
        char *kid;

        assert_int_equal(token_keys_current_kid(k, &kid), 0);
        return kid;
}

/* The "kid" members of a JWKS, in order, joined by spaces. */
static char *jwks_kids(TokenKeys *k, int64_t now) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        json_object *keys;
        char *out = strdup("");

        assert_int_equal(token_keys_jwks_json(k, now, &text), 0);
        doc = json_tokener_parse(text);
        assert_non_null(doc);
        assert_true(json_object_object_get_ex(doc, "keys", &keys));
        for (size_t i = 0; i < json_object_array_length(keys); i++) {
                json_object *kid;
                char *joined;

                assert_true(json_object_object_get_ex(json_object_array_get_idx(keys, i), "kid", &kid));
                joined = strdup_printf("%s%s%s", out, i ? " " : "", json_object_get_string(kid));
                free(out);
                out = joined;
        }
        return out;
}

static void test_create_and_reopen(void **state) {
        Fixture *f = *state;
        _cleanup_(token_keys_freep) TokenKeys *k = NULL, *again = NULL;
        _cleanup_free_ char *kid = NULL, *kid2 = NULL;
        struct stat st;
        mode_t old_umask;

        old_umask = umask(0);
        assert_int_equal(open_keys(f, T0, &k), 0);
        umask(old_umask);
        assert_int_equal(stat(f->key, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_mtim.tv_sec, T0); /* the creation time is the mtime */
        assert_int_equal(access(f->previous, F_OK), -1);
        kid = kid_of(k);
        assert_int_equal(strlen(kid), 43); /* base64url of SHA-256 */

        assert_int_equal(open_keys(f, T0 + 10, &again), 0);
        kid2 = kid_of(again);
        assert_string_equal(kid, kid2);
}

static void test_refusals(void **state) {
        Fixture *f = *state;
        _cleanup_(token_keys_freep) TokenKeys *k = NULL;
        _cleanup_free_ char *reason = NULL;
        TokenKeys *bad = NULL;

        assert_int_equal(open_keys(f, T0, &k), 0);
        k = token_keys_free(k);

        assert_int_equal(chmod(f->key, 0640), 0);
        assert_int_equal(token_keys_open(f->dir, ROTATE, OVERLAP, T0, &bad, &reason), -EPERM);
        assert_null(bad);
        assert_non_null(strstr(reason, "mode 0640"));
        assert_int_equal(chmod(f->key, 0604), 0);
        assert_int_equal(token_keys_open(f->dir, ROTATE, OVERLAP, T0, &bad, NULL), -EPERM);
        assert_int_equal(chmod(f->key, 0600), 0);

        if (geteuid() == 0) {
                assert_int_equal(chown(f->key, 65534, 65534), 0);
                assert_int_equal(token_keys_open(f->dir, ROTATE, OVERLAP, T0, &bad, &reason), -EPERM);
                assert_non_null(strstr(reason, "owned by uid 65534"));
                assert_int_equal(chown(f->key, 0, 0), 0);
        }

        /* a symbolic link is not followed */
        assert_int_equal(rename(f->key, f->previous), 0);
        assert_int_equal(symlink(f->previous, f->key), 0);
        assert_true(token_keys_open(f->dir, ROTATE, OVERLAP, T0, &bad, NULL) < 0);
        assert_int_equal(unlink(f->key), 0);
        assert_int_equal(rename(f->previous, f->key), 0);

        /* not a key */
        {
                int fd = open(f->key, O_WRONLY | O_TRUNC);

                assert_true(fd >= 0);
                assert_int_equal(write(fd, "garbage\n", 8), 8);
                close(fd);
        }
        assert_int_equal(token_keys_open(f->dir, ROTATE, OVERLAP, T0, &bad, &reason), -EBADMSG);
        assert_non_null(strstr(reason, "not a PEM private key"));

        assert_int_equal(token_keys_open(f->dir, 0, OVERLAP, T0, &bad, NULL), -EINVAL);
}

static void test_rotation(void **state) {
        Fixture *f = *state;
        _cleanup_(token_keys_freep) TokenKeys *k = NULL, *reopened = NULL;
        _cleanup_free_ char *old = NULL, *new = NULL, *kids = NULL, *both = NULL, *reason = NULL;

        assert_int_equal(open_keys(f, T0, &k), 0);
        old = kid_of(k);
        kids = jwks_kids(k, T0);
        assert_string_equal(kids, old);
        kids = mfree_str(kids);

        assert_int_equal(token_keys_rotate_if_due(k, T0 + ROTATE - 1, &reason), 0);
        assert_int_equal(token_keys_rotate_if_due(k, T0 + ROTATE, &reason), 1);
        new = kid_of(k);
        assert_string_not_equal(old, new);
        assert_int_equal(access(f->previous, F_OK), 0);

        /* during the overlap: the new key first, the old one still published */
        both = strdup_printf("%s %s", new, old);
        kids = jwks_kids(k, T0 + ROTATE + OVERLAP - 1);
        assert_string_equal(kids, both);
        kids = mfree_str(kids);

        /* a restart within the overlap finds both */
        assert_int_equal(open_keys(f, T0 + ROTATE + 1, &reopened), 0);
        kids = jwks_kids(reopened, T0 + ROTATE + 1);
        assert_string_equal(kids, both);
        kids = mfree_str(kids);
        reopened = token_keys_free(reopened);

        /* after it: only the new one, and the old file goes on the next check */
        kids = jwks_kids(k, T0 + ROTATE + OVERLAP);
        assert_string_equal(kids, new);
        kids = mfree_str(kids);
        assert_int_equal(token_keys_rotate_if_due(k, T0 + ROTATE + OVERLAP, &reason), 0);
        assert_int_equal(access(f->previous, F_OK), -1);

        /* a restart long after drops a stale previous too */
        assert_int_equal(token_keys_rotate(k, T0 + 2 * ROTATE, &reason), 0);
        assert_int_equal(access(f->previous, F_OK), 0);
        assert_int_equal(open_keys(f, T0 + 2 * ROTATE + OVERLAP, &reopened), 0);
        assert_int_equal(access(f->previous, F_OK), -1);
}

static uint8_t *unb64url(const char *s, size_t *ret_size) {
        size_t n = strlen(s);
        _cleanup_free_ char *t = calloc(1, n + 4);
        uint8_t *out = calloc(1, n + 4);
        size_t pad = (4 - n % 4) % 4;
        int k;

        assert_non_null(t);
        assert_non_null(out);
        for (size_t i = 0; i < n; i++)
                t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
        memset(t + n, '=', pad);
        k = EVP_DecodeBlock(out, (unsigned char *) t, (int) (n + pad));
        assert_true(k >= 0);
        *ret_size = (size_t) k - pad;
        return out;
}

/* An EC public key built from nothing but a JWK's crv, x and y. */
static EVP_PKEY *key_from_jwk(json_object *jwk) {
        _cleanup_free_ uint8_t *x = NULL, *y = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM *params;
        EVP_PKEY *key = NULL;
        uint8_t point[65];
        json_object *v;
        size_t nx, ny;

        assert_true(json_object_object_get_ex(jwk, "crv", &v));
        assert_string_equal(json_object_get_string(v), "P-256");
        assert_true(json_object_object_get_ex(jwk, "x", &v));
        x = unb64url(json_object_get_string(v), &nx);
        assert_true(json_object_object_get_ex(jwk, "y", &v));
        y = unb64url(json_object_get_string(v), &ny);
        assert_int_equal(nx, 32);
        assert_int_equal(ny, 32);
        point[0] = 0x04;
        memcpy(point + 1, x, 32);
        memcpy(point + 33, y, 32);

        assert_non_null(bld);
        assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0));
        assert_true(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)));
        params = OSSL_PARAM_BLD_to_param(bld);
        assert_non_null(params);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        return key;
}

static void test_token_verifies_with_jwk(void **state) {
        Fixture *f = *state;
        _cleanup_(token_keys_freep) TokenKeys *k = NULL;
        _cleanup_(json_object_putp) json_object *claims = json_object_new_object(), *doc = NULL, *got = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pub = NULL;
        _cleanup_free_ char *token = NULL, *jwks = NULL, *kid = NULL, *old_token = NULL, *reason = NULL;
        _cleanup_free_ uint8_t *hdr = NULL;
        json_object *keys, *jwk, *v;
        size_t n;

        assert_int_equal(open_keys(f, T0, &k), 0);
        json_object_object_add(claims, "eat_nonce", json_object_new_string("abc"));
        assert_int_equal(token_keys_sign(k, claims, &old_token), 0);
        assert_int_equal(token_keys_rotate(k, T0 + 5, &reason), 0);
        assert_int_equal(token_keys_sign(k, claims, &token), 0);
        kid = kid_of(k);

        /* the header names the key */
        *strchr(token, '.') = '\0';
        hdr = unb64url(token, &n);
        token[strlen(token)] = '.';
        assert_non_null(strstr((char *) hdr, kid));

        assert_int_equal(token_keys_jwks_json(k, T0 + 5, &jwks), 0);
        doc = json_tokener_parse(jwks);
        assert_non_null(doc);
        assert_true(json_object_object_get_ex(doc, "keys", &keys));
        assert_int_equal(json_object_array_length(keys), 2);
        jwk = json_object_array_get_idx(keys, 0);
        assert_true(json_object_object_get_ex(jwk, "kty", &v));
        assert_string_equal(json_object_get_string(v), "EC");
        assert_true(json_object_object_get_ex(jwk, "alg", &v));
        assert_string_equal(json_object_get_string(v), "ES256");
        assert_true(json_object_object_get_ex(jwk, "use", &v));
        assert_string_equal(json_object_get_string(v), "sig");
        assert_true(json_object_object_get_ex(jwk, "kid", &v));
        assert_string_equal(json_object_get_string(v), kid);
        assert_false(json_object_object_get_ex(jwk, "d", &v)); /* never the private scalar */

        pub = key_from_jwk(jwk);
        assert_int_equal(token_verify(pub, token, &got), 0);
        assert_true(json_object_equal(got, claims));
        got = (json_object_put(got), NULL);
        /* the old key's token verifies with the old JWK, not with the new one */
        assert_int_equal(token_verify(pub, old_token, &got), -EBADMSG);
        pub = (EVP_PKEY_free(pub), NULL);
        pub = key_from_jwk(json_object_array_get_idx(keys, 1));
        assert_int_equal(token_verify(pub, old_token, &got), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create_and_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_token_verifies_with_jwk, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
