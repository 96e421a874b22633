/* SPDX-License-Identifier: Apache-2.0 */
/* ES256 compact JWS. The signature is r || s, 32 bytes each (RFC 7518 §3.4), not DER. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/token.h"
#include "cvm/util.h"
#include "cvm/verdict.h"

static char *b64url(const uint8_t *p, size_t n) {
        char *s = malloc(4 * ((n + 2) / 3) + 1);
        int len;

        if (!s || n > INT_MAX)
                return free(s), NULL;
        len = EVP_EncodeBlock((unsigned char *) s, p, (int) n);
        while (len > 0 && s[len - 1] == '=')
                len--;
        s[len] = '\0';
        for (char *c = s; *c; c++)
                *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
        return s;
}

static int unb64url(const char *s, size_t len, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *t = malloc(len + 4);
        _cleanup_free_ uint8_t *out = NULL;
        size_t n = len, pad;
        int k;

        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '-')
                        c = '+';
                else if (c == '_')
                        c = '/';
                else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                        return -EBADMSG;
                t[i] = c;
        }
        if (len % 4 == 1)
                return -EBADMSG;
        pad = (4 - len % 4) % 4;
        for (size_t i = 0; i < pad; i++)
                t[n++] = '=';
        out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        k = EVP_DecodeBlock(out, (unsigned char *) t, (int) n);
        if (k < 0 || (size_t) k < pad)
                return -EBADMSG;
        *ret_size = (size_t) k - pad;
        *ret = TAKE_PTR(out);
        return 0;
}

int token_key_generate(EVP_PKEY **ret) {
        EVP_PKEY *k = EVP_EC_gen("P-256");

        if (!k) {
                openssl_clear_errors();
                return -EIO;
        }
        *ret = k;
        return 0;
}

int token_sign(EVP_PKEY *key, const char *kid, json_object *claims, char **ret) {
        _cleanup_(json_object_putp) json_object *hdr = json_object_new_object();
        _cleanup_free_ char *h = NULL, *p = NULL, *input = NULL, *sig64 = NULL;
        uint8_t raw[64];
        const char *s;

        if (!hdr || !pkey_is_ec_curve(key, NID_X9_62_prime256v1))
                return -EINVAL;
        json_object_object_add(hdr, "alg", json_object_new_string("ES256"));
        json_object_object_add(hdr, "typ", json_object_new_string("JWT"));
        if (kid)
                json_object_object_add(hdr, "kid", json_object_new_string(kid));
        s = json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN);
        h = s ? b64url((const uint8_t *) s, strlen(s)) : NULL;
        s = json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN);
        p = s ? b64url((const uint8_t *) s, strlen(s)) : NULL;
        if (!h || !p)
                return -ENOMEM;
        input = strdup_printf("%s.%s", h, p);
        if (!input)
                return -ENOMEM;
        if (ecdsa_sign_raw(key, EVP_sha256(), (const uint8_t *) input, strlen(input), raw, 32) < 0)
                return -EIO;
        sig64 = b64url(raw, sizeof(raw));
        if (!sig64)
                return -ENOMEM;
        *ret = strdup_printf("%s.%s", input, sig64);
        return *ret ? 0 : -ENOMEM;
}

int token_verify(EVP_PKEY *key, const char *token, json_object **ret_claims) {
        _cleanup_free_ uint8_t *payload = NULL, *sigraw = NULL;
        _cleanup_(BN_freep) BIGNUM *r = NULL, *s = NULL;
        const char *dot1, *dot2;
        uint8_t digest[SHA256_DIGEST_LENGTH];
        size_t plen, slen;
        json_object *claims;
        json_tokener *tok;

        dot1 = strchr(token, '.');
        dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
        if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
                return -EBADMSG;
        if (unb64url(dot2 + 1, strlen(dot2 + 1), &sigraw, &slen) < 0 || slen != 64 ||
            unb64url(dot1 + 1, (size_t) (dot2 - dot1 - 1), &payload, &plen) < 0)
                return -EBADMSG;
        SHA256((const unsigned char *) token, (size_t) (dot2 - token), digest);
        r = BN_bin2bn(sigraw, 32, NULL);
        s = BN_bin2bn(sigraw + 32, 32, NULL);
        if (!r || !s)
                return -ENOMEM;
        if (ecdsa_verify_digest(key, digest, sizeof(digest), r, s) != 1)
                return -EBADMSG;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        claims = json_tokener_parse_ex(tok, (const char *) payload, (int) plen);
        if (!claims || json_tokener_get_parse_end(tok) != plen || !json_object_is_type(claims, json_type_object)) {
                json_tokener_free(tok);
                json_object_put(claims);
                return -EBADMSG;
        }
        json_tokener_free(tok);
        *ret_claims = claims;
        return 0;
}

/* x and y, base64url of the 32-byte big-endian coordinates (RFC 7518 §6.2.1.2). */
static int ec_p256_xy(EVP_PKEY *key, char **ret_x, char **ret_y) {
        _cleanup_(BN_freep) BIGNUM *x = NULL, *y = NULL;
        _cleanup_free_ char *sx = NULL, *sy = NULL;
        uint8_t bx[32], by[32];

        if (!pkey_is_ec_curve(key, NID_X9_62_prime256v1))
                return -EINVAL;
        if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
            !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
            BN_bn2binpad(x, bx, sizeof(bx)) != sizeof(bx) || BN_bn2binpad(y, by, sizeof(by)) != sizeof(by))
                return openssl_fail(-EIO);
        sx = b64url(bx, sizeof(bx));
        sy = b64url(by, sizeof(by));
        if (!sx || !sy)
                return -ENOMEM;
        *ret_x = TAKE_PTR(sx);
        *ret_y = TAKE_PTR(sy);
        return 0;
}

int token_key_id(EVP_PKEY *key, char **ret) {
        _cleanup_free_ char *x = NULL, *y = NULL, *canon = NULL;
        uint8_t digest[SHA256_DIGEST_LENGTH];
        char *kid;
        int r;

        r = ec_p256_xy(key, &x, &y);
        if (r < 0)
                return r;
        /* RFC 7638 §3.2: the required members only, sorted, no whitespace. */
        canon = strdup_printf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
        if (!canon)
                return -ENOMEM;
        SHA256((const unsigned char *) canon, strlen(canon), digest);
        kid = b64url(digest, sizeof(digest));
        if (!kid)
                return -ENOMEM;
        *ret = kid;
        return 0;
}

int token_jwk(EVP_PKEY *key, json_object **ret) {
        _cleanup_(json_object_putp) json_object *jwk = NULL;
        _cleanup_free_ char *x = NULL, *y = NULL, *kid = NULL;
        int r;

        r = ec_p256_xy(key, &x, &y);
        if (r < 0)
                return r;
        r = token_key_id(key, &kid);
        if (r < 0)
                return r;
        jwk = json_object_new_object();
        if (!jwk)
                return -ENOMEM;
        if (json_object_object_add(jwk, "kty", json_object_new_string("EC")) < 0 ||
            json_object_object_add(jwk, "crv", json_object_new_string("P-256")) < 0 ||
            json_object_object_add(jwk, "x", json_object_new_string(x)) < 0 ||
            json_object_object_add(jwk, "y", json_object_new_string(y)) < 0 ||
            json_object_object_add(jwk, "kid", json_object_new_string(kid)) < 0 ||
            json_object_object_add(jwk, "alg", json_object_new_string("ES256")) < 0 ||
            json_object_object_add(jwk, "use", json_object_new_string("sig")) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(jwk);
        return 0;
}
