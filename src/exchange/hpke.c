/* SPDX-License-Identifier: Apache-2.0 */
/* HPKE base and auth modes, RFC 9180, for DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and any of
 * the AEADs AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 and export-only. Built from OpenSSL 3.0 EVP
 * primitives: X25519 through EVP_PKEY, HKDF Extract and Expand through the "HKDF" EVP_KDF in its
 * EXTRACT_ONLY / EXPAND_ONLY modes, the AEADs through EVP_CIPHER. Section numbers are RFC 9180's. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/hpke.h"
#include "cvm/util.h"

#define NH 32u      /* HKDF-SHA256 output */
#define NSECRET 32u /* DHKEM(X25519) shared secret */
#define NN_MAX 12u
#define HKDF_INFO_MAX 1024u /* OpenSSL's HKDF refuses a longer info */

typedef struct Aead {
        uint16_t id;
        size_t nk, nn;
        const EVP_CIPHER *(*cipher)(void);
} Aead;

static const Aead aeads[] = {
        { HPKE_AEAD_AES_128_GCM, 16, 12, EVP_aes_128_gcm },
        { HPKE_AEAD_AES_256_GCM, 32, 12, EVP_aes_256_gcm },
        { HPKE_AEAD_CHACHA20_POLY1305, 32, 12, EVP_chacha20_poly1305 },
        { HPKE_AEAD_EXPORT_ONLY, 0, 0, NULL },
};

struct HpkeContext {
        HpkeSuite suite;
        const Aead *aead;
        bool sender;
        Secret *key;
        uint8_t base_nonce[NN_MAX];
        uint64_t seq;
        Secret *exporter_secret;
};

static const Aead *aead_find(uint16_t id) {
        for (size_t i = 0; i < ELEMENTSOF(aeads); i++)
                if (aeads[i].id == id)
                        return &aeads[i];
        return NULL;
}

int hpke_suite_check(HpkeSuite suite) {
        if (suite.kem_id != HPKE_KEM_X25519_HKDF_SHA256 || suite.kdf_id != HPKE_KDF_HKDF_SHA256 ||
            !aead_find(suite.aead_id))
                return -EOPNOTSUPP;
        return 0;
}

/* suite_id for the KEM: "KEM" || I2OSP(kem_id, 2) (§4.1). */
static void kem_suite_id(HpkeSuite suite, uint8_t ret[5]) {
        memcpy(ret, "KEM", 3);
        ret[3] = (uint8_t) (suite.kem_id >> 8);
        ret[4] = (uint8_t) suite.kem_id;
}

/* suite_id for the key schedule: "HPKE" || kem_id || kdf_id || aead_id (§5.1). */
static void hpke_suite_id(HpkeSuite suite, uint8_t ret[10]) {
        memcpy(ret, "HPKE", 4);
        ret[4] = (uint8_t) (suite.kem_id >> 8);
        ret[5] = (uint8_t) suite.kem_id;
        ret[6] = (uint8_t) (suite.kdf_id >> 8);
        ret[7] = (uint8_t) suite.kdf_id;
        ret[8] = (uint8_t) (suite.aead_id >> 8);
        ret[9] = (uint8_t) suite.aead_id;
}

/* HKDF-SHA256 in one mode: EXTRACT_ONLY (salt, key = ikm; out is NH bytes) or EXPAND_ONLY
 * (key = prk, info). An empty salt is left unset: RFC 5869 treats it as NH zero bytes. */
static int hkdf(int mode, const uint8_t *salt, size_t salt_size, const uint8_t *key, size_t key_size,
                const uint8_t *info, size_t info_size, uint8_t *out, size_t out_size) {
        _cleanup_(EVP_KDF_freep) EVP_KDF *kdf = NULL;
        _cleanup_(EVP_KDF_CTX_freep) EVP_KDF_CTX *kctx = NULL;
        OSSL_PARAM params[6], *p = params;

        kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
        if (!kdf) {
                openssl_clear_errors();
                return -EOPNOTSUPP;
        }
        kctx = EVP_KDF_CTX_new(kdf);
        if (!kctx)
                return -ENOMEM;
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0);
        *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *) key, key_size);
        if (salt_size > 0)
                *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *) salt, salt_size);
        if (info_size > 0)
                *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *) info, info_size);
        *p = OSSL_PARAM_construct_end();
        if (EVP_KDF_derive(kctx, out, out_size, params) <= 0) {
                openssl_clear_errors();
                return -EIO;
        }
        return 0;
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
static int labeled_extract(const uint8_t *suite_id, size_t suite_id_size, const uint8_t *salt, size_t salt_size,
                           const char *label, const uint8_t *ikm, size_t ikm_size, uint8_t ret[NH]) {
        _cleanup_(erase_and_freep) uint8_t *buf = NULL;
        size_t label_size = strlen(label), n;

        if (ikm_size > HPKE_IKM_MAX + HPKE_INFO_MAX)
                return -EINVAL;
        n = 7 + suite_id_size + label_size + ikm_size;
        buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, "HPKE-v1", 7);
        memcpy(buf + 7, suite_id, suite_id_size);
        memcpy(buf + 7 + suite_id_size, label, label_size);
        if (ikm_size > 0)
                memcpy(buf + 7 + suite_id_size + label_size, ikm, ikm_size);
        return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, salt_size, buf, n, NULL, 0, ret, NH);
}

/* LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id ||
 * label || info, L). */
static int labeled_expand(const uint8_t *suite_id, size_t suite_id_size, const uint8_t *prk, size_t prk_size,
                          const char *label, const uint8_t *info, size_t info_size, uint8_t *ret, size_t len) {
        uint8_t buf[HKDF_INFO_MAX];
        size_t label_size = strlen(label), n;
        int r;

        if (len == 0 || len > 255 * NH)
                return -EINVAL;
        if (info_size > HKDF_INFO_MAX || 2 + 7 + suite_id_size + label_size > HKDF_INFO_MAX - info_size)
                return -EINVAL;
        n = 2 + 7 + suite_id_size + label_size + info_size;
        buf[0] = (uint8_t) (len >> 8);
        buf[1] = (uint8_t) len;
        memcpy(buf + 2, "HPKE-v1", 7);
        memcpy(buf + 9, suite_id, suite_id_size);
        memcpy(buf + 9 + suite_id_size, label, label_size);
        if (info_size > 0)
                memcpy(buf + 9 + suite_id_size + label_size, info, info_size);
        r = hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, prk, prk_size, buf, n, ret, len);
        explicit_bzero(buf, n);
        return r;
}

static int x25519_private_key(const Secret *sk, EVP_PKEY **ret) {
        EVP_PKEY *k;

        if (!sk || secret_size(sk) != HPKE_PRIVATE_KEY_SIZE)
                return -EINVAL;
        k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret_data(sk), HPKE_PRIVATE_KEY_SIZE);
        if (!k) {
                openssl_clear_errors();
                return -EINVAL;
        }
        *ret = k;
        return 0;
}

static int x25519_public_of(const Secret *sk, uint8_t ret[HPKE_PUBLIC_KEY_SIZE]) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        size_t n = HPKE_PUBLIC_KEY_SIZE;
        int r;

        r = x25519_private_key(sk, &k);
        if (r < 0)
                return r;
        if (EVP_PKEY_get_raw_public_key(k, ret, &n) <= 0 || n != HPKE_PUBLIC_KEY_SIZE) {
                openssl_clear_errors();
                return -EIO;
        }
        return 0;
}

/* DH(sk, pk) (§4.1); an all-zero result (a low-order public key) is refused (§7.1.4). */
static int x25519_dh(const Secret *sk, const uint8_t pk[HPKE_PUBLIC_KEY_SIZE], uint8_t ret[32]) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *priv = NULL, *pub = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        uint8_t dh[32];
        size_t n = sizeof(dh);
        int r;

        r = x25519_private_key(sk, &priv);
        if (r < 0)
                return r;
        pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pk, HPKE_PUBLIC_KEY_SIZE);
        if (!pub) {
                openssl_clear_errors();
                return -EINVAL;
        }
        ctx = EVP_PKEY_CTX_new(priv, NULL);
        if (!ctx)
                return -ENOMEM;
        if (EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, pub) <= 0) {
                openssl_clear_errors();
                return -EIO;
        }
        /* OpenSSL itself fails the derivation when the result is all zero. */
        if (EVP_PKEY_derive(ctx, dh, &n) <= 0 || n != sizeof(dh)) {
                openssl_clear_errors();
                explicit_bzero(dh, sizeof(dh));
                return -EPROTO;
        }
        if (memeqzero(dh, sizeof(dh)))
                return -EPROTO;
        memcpy(ret, dh, sizeof(dh));
        explicit_bzero(dh, sizeof(dh));
        return 0;
}

/* ExtractAndExpand(dh, kem_context) (§4.1); dh is one DH result (base) or two (auth, §4.1
 * AuthEncap: DH(skE, pkR) || DH(skS, pkR)). */
static int extract_and_expand(HpkeSuite suite, const uint8_t *dh, size_t dh_size, const uint8_t *kem_context,
                              size_t kem_context_size, uint8_t ret[NSECRET]) {
        uint8_t sid[5], prk[NH];
        int r;

        kem_suite_id(suite, sid);
        r = labeled_extract(sid, sizeof(sid), NULL, 0, "eae_prk", dh, dh_size, prk);
        if (r >= 0)
                r = labeled_expand(sid, sizeof(sid), prk, NH, "shared_secret", kem_context, kem_context_size, ret,
                                   NSECRET);
        explicit_bzero(prk, sizeof(prk));
        return r;
}

int hpke_derive_key_pair(HpkeSuite suite, const uint8_t *ikm, size_t ikm_size, Secret **ret_sk,
                         uint8_t ret_pk[HPKE_PUBLIC_KEY_SIZE]) {
        _cleanup_(secret_freep) Secret *sk = NULL;
        uint8_t sid[5], prk[NH], pk[HPKE_PUBLIC_KEY_SIZE];
        int r;

        r = hpke_suite_check(suite);
        if (r < 0)
                return r;
        if (!ikm || ikm_size < HPKE_IKM_MIN || ikm_size > HPKE_IKM_MAX || !ret_sk || !ret_pk)
                return -EINVAL;
        r = secret_new(HPKE_PRIVATE_KEY_SIZE, &sk);
        if (r < 0)
                return r;
        kem_suite_id(suite, sid);
        r = labeled_extract(sid, sizeof(sid), NULL, 0, "dkp_prk", ikm, ikm_size, prk);
        if (r >= 0)
                r = labeled_expand(sid, sizeof(sid), prk, NH, "sk", NULL, 0, secret_data_mut(sk),
                                   HPKE_PRIVATE_KEY_SIZE);
        explicit_bzero(prk, sizeof(prk));
        if (r < 0)
                return r;
        r = x25519_public_of(sk, pk);
        if (r < 0)
                return r;
        memcpy(ret_pk, pk, sizeof(pk));
        *ret_sk = TAKE_PTR(sk);
        return 0;
}

int hpke_generate_key_pair(HpkeSuite suite, Secret **ret_sk, uint8_t ret_pk[HPKE_PUBLIC_KEY_SIZE]) {
        _cleanup_(secret_freep) Secret *ikm = NULL;
        int r;

        r = hpke_suite_check(suite);
        if (r < 0)
                return r;
        r = secret_new(HPKE_IKM_MIN, &ikm);
        if (r < 0)
                return r;
        if (RAND_priv_bytes(secret_data_mut(ikm), (int) secret_size(ikm)) != 1) {
                openssl_clear_errors();
                return -EIO;
        }
        return hpke_derive_key_pair(suite, secret_data(ikm), secret_size(ikm), ret_sk, ret_pk);
}

int hpke_public_key(HpkeSuite suite, const Secret *sk, uint8_t ret_pk[HPKE_PUBLIC_KEY_SIZE]) {
        int r = hpke_suite_check(suite);

        if (r < 0)
                return r;
        return x25519_public_of(sk, ret_pk);
}

HpkeContext *hpke_context_free(HpkeContext *ctx) {
        if (!ctx)
                return NULL;
        secret_free(ctx->key);
        secret_free(ctx->exporter_secret);
        explicit_bzero(ctx, sizeof(*ctx));
        free(ctx);
        return NULL;
}

/* KeySchedule(mode, shared_secret, info, psk = "", psk_id = "") (§5.1), for mode_base and
 * mode_auth: neither uses a PSK. */
static int key_schedule(HpkeSuite suite, uint8_t mode, bool sender, const uint8_t shared_secret[NSECRET],
                        const uint8_t *info, size_t info_size, HpkeContext **ret) {
        _cleanup_(hpke_context_freep) HpkeContext *ctx = NULL;
        uint8_t sid[10], ksc[1 + 2 * NH], secret[NH];
        int r;

        ctx = calloc(1, sizeof(HpkeContext));
        if (!ctx)
                return -ENOMEM;
        ctx->suite = suite;
        ctx->aead = aead_find(suite.aead_id);
        ctx->sender = sender;
        hpke_suite_id(suite, sid);

        ksc[0] = mode;
        r = labeled_extract(sid, sizeof(sid), NULL, 0, "psk_id_hash", NULL, 0, ksc + 1);
        if (r < 0)
                return r;
        r = labeled_extract(sid, sizeof(sid), NULL, 0, "info_hash", info, info_size, ksc + 1 + NH);
        if (r < 0)
                return r;
        r = labeled_extract(sid, sizeof(sid), shared_secret, NSECRET, "secret", NULL, 0, secret);
        if (r < 0)
                goto finish;

        if (ctx->aead->nk > 0) {
                r = secret_new(ctx->aead->nk, &ctx->key);
                if (r < 0)
                        goto finish;
                r = labeled_expand(sid, sizeof(sid), secret, NH, "key", ksc, sizeof(ksc), secret_data_mut(ctx->key),
                                   ctx->aead->nk);
                if (r < 0)
                        goto finish;
                r = labeled_expand(sid, sizeof(sid), secret, NH, "base_nonce", ksc, sizeof(ksc), ctx->base_nonce,
                                   ctx->aead->nn);
                if (r < 0)
                        goto finish;
        }
        r = secret_new(NH, &ctx->exporter_secret);
        if (r < 0)
                goto finish;
        r = labeled_expand(sid, sizeof(sid), secret, NH, "exp", ksc, sizeof(ksc),
                           secret_data_mut(ctx->exporter_secret), NH);
        if (r < 0)
                goto finish;
        *ret = TAKE_PTR(ctx);
finish:
        explicit_bzero(secret, sizeof(secret));
        return r;
}

static int check_setup_args(HpkeSuite suite, const uint8_t *info, size_t info_size) {
        int r = hpke_suite_check(suite);

        if (r < 0)
                return r;
        if (info_size > HPKE_INFO_MAX || (!info && info_size > 0))
                return -EINVAL;
        return 0;
}

/* Encap(pkR) (base) or AuthEncap(pkR, skS) (auth), then the key schedule (§4.1, §5.1.1, §5.1.3):
 * sk_s is NULL in base mode. */
static int setup_sender(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size, const uint8_t *info,
                        size_t info_size, const Secret *sk_s, const Secret *sk_e, uint8_t ret_enc[HPKE_ENC_SIZE],
                        HpkeContext **ret) {
        _cleanup_(hpke_context_freep) HpkeContext *ctx = NULL;
        uint8_t dh[2 * 32], enc[HPKE_ENC_SIZE], kem_context[3 * HPKE_PUBLIC_KEY_SIZE], shared_secret[NSECRET];
        size_t dh_size = 32, kem_context_size = 2 * HPKE_PUBLIC_KEY_SIZE;
        int r;

        r = check_setup_args(suite, info, info_size);
        if (r < 0)
                return r;
        if (!pk_r || pk_r_size != HPKE_PUBLIC_KEY_SIZE || !sk_e || !ret_enc || !ret)
                return -EINVAL;

        r = x25519_public_of(sk_e, enc);
        if (r < 0)
                return r;
        memcpy(kem_context, enc, HPKE_ENC_SIZE);
        memcpy(kem_context + HPKE_ENC_SIZE, pk_r, HPKE_PUBLIC_KEY_SIZE);
        r = x25519_dh(sk_e, pk_r, dh);
        if (r >= 0 && sk_s) {
                /* the sender's static key: only its holder can compute this half */
                r = x25519_dh(sk_s, pk_r, dh + 32);
                if (r >= 0)
                        r = x25519_public_of(sk_s, kem_context + 2 * HPKE_PUBLIC_KEY_SIZE);
                dh_size = 64;
                kem_context_size = 3 * HPKE_PUBLIC_KEY_SIZE;
        }
        if (r >= 0)
                r = extract_and_expand(suite, dh, dh_size, kem_context, kem_context_size, shared_secret);
        explicit_bzero(dh, sizeof(dh));
        if (r >= 0)
                r = key_schedule(suite, sk_s ? HPKE_MODE_AUTH : HPKE_MODE_BASE, true, shared_secret, info, info_size,
                                 &ctx);
        explicit_bzero(shared_secret, sizeof(shared_secret));
        if (r < 0)
                return r;
        memcpy(ret_enc, enc, HPKE_ENC_SIZE);
        *ret = TAKE_PTR(ctx);
        return 0;
}

int hpke_setup_sender_with_ephemeral(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size, const uint8_t *info,
                                     size_t info_size, const Secret *sk_e, uint8_t ret_enc[HPKE_ENC_SIZE],
                                     HpkeContext **ret) {
        return setup_sender(suite, pk_r, pk_r_size, info, info_size, NULL, sk_e, ret_enc, ret);
}

int hpke_setup_auth_sender_with_ephemeral(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size,
                                          const uint8_t *info, size_t info_size, const Secret *sk_s,
                                          const Secret *sk_e, uint8_t ret_enc[HPKE_ENC_SIZE], HpkeContext **ret) {
        if (!sk_s)
                return -EINVAL;
        return setup_sender(suite, pk_r, pk_r_size, info, info_size, sk_s, sk_e, ret_enc, ret);
}

/* A fresh ephemeral key for each sender context. */
static int setup_sender_fresh(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size, const uint8_t *info,
                              size_t info_size, const Secret *sk_s, uint8_t ret_enc[HPKE_ENC_SIZE], HpkeContext **ret) {
        _cleanup_(secret_freep) Secret *sk_e = NULL;
        uint8_t pk_e[HPKE_PUBLIC_KEY_SIZE];
        int r;

        r = check_setup_args(suite, info, info_size);
        if (r < 0)
                return r;
        r = hpke_generate_key_pair(suite, &sk_e, pk_e);
        if (r < 0)
                return r;
        return setup_sender(suite, pk_r, pk_r_size, info, info_size, sk_s, sk_e, ret_enc, ret);
}

int hpke_setup_sender(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size, const uint8_t *info, size_t info_size,
                      uint8_t ret_enc[HPKE_ENC_SIZE], HpkeContext **ret) {
        return setup_sender_fresh(suite, pk_r, pk_r_size, info, info_size, NULL, ret_enc, ret);
}

int hpke_setup_auth_sender(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size, const uint8_t *info,
                           size_t info_size, const Secret *sk_s, uint8_t ret_enc[HPKE_ENC_SIZE], HpkeContext **ret) {
        if (!sk_s)
                return -EINVAL;
        return setup_sender_fresh(suite, pk_r, pk_r_size, info, info_size, sk_s, ret_enc, ret);
}

/* Decap(enc, skR) (base) or AuthDecap(enc, skR, pkS) (auth), then the key schedule: pk_s is
 * NULL in base mode. */
static int setup_receiver(HpkeSuite suite, const uint8_t *enc, size_t enc_size, const Secret *sk_r,
                          const uint8_t *info, size_t info_size, const uint8_t *pk_s, HpkeContext **ret) {
        _cleanup_(hpke_context_freep) HpkeContext *ctx = NULL;
        uint8_t dh[2 * 32], kem_context[3 * HPKE_PUBLIC_KEY_SIZE], shared_secret[NSECRET];
        size_t dh_size = 32, kem_context_size = 2 * HPKE_PUBLIC_KEY_SIZE;
        int r;

        r = check_setup_args(suite, info, info_size);
        if (r < 0)
                return r;
        if (!enc || enc_size != HPKE_ENC_SIZE || !sk_r || !ret)
                return -EINVAL;

        r = x25519_dh(sk_r, enc, dh);
        if (r >= 0 && pk_s) {
                /* DH(skR, pkS): equal to the sender's DH(skS, pkR) only when pkS is its key */
                r = x25519_dh(sk_r, pk_s, dh + 32);
                memcpy(kem_context + 2 * HPKE_PUBLIC_KEY_SIZE, pk_s, HPKE_PUBLIC_KEY_SIZE);
                dh_size = 64;
                kem_context_size = 3 * HPKE_PUBLIC_KEY_SIZE;
        }
        memcpy(kem_context, enc, HPKE_ENC_SIZE);
        if (r >= 0)
                r = x25519_public_of(sk_r, kem_context + HPKE_ENC_SIZE);
        if (r >= 0)
                r = extract_and_expand(suite, dh, dh_size, kem_context, kem_context_size, shared_secret);
        explicit_bzero(dh, sizeof(dh));
        if (r >= 0)
                r = key_schedule(suite, pk_s ? HPKE_MODE_AUTH : HPKE_MODE_BASE, false, shared_secret, info, info_size,
                                 &ctx);
        explicit_bzero(shared_secret, sizeof(shared_secret));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}

int hpke_setup_receiver(HpkeSuite suite, const uint8_t *enc, size_t enc_size, const Secret *sk_r, const uint8_t *info,
                        size_t info_size, HpkeContext **ret) {
        return setup_receiver(suite, enc, enc_size, sk_r, info, info_size, NULL, ret);
}

int hpke_setup_auth_receiver(HpkeSuite suite, const uint8_t *enc, size_t enc_size, const Secret *sk_r,
                             const uint8_t *info, size_t info_size, const uint8_t *pk_s, size_t pk_s_size,
                             HpkeContext **ret) {
        if (!pk_s || pk_s_size != HPKE_PUBLIC_KEY_SIZE)
                return -EINVAL;
        return setup_receiver(suite, enc, enc_size, sk_r, info, info_size, pk_s, ret);
}

/* ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn) (§5.2). */
static int compute_nonce(const HpkeContext *ctx, uint8_t ret[NN_MAX]) {
        uint64_t seq = ctx->seq;

        /* Nn is 12 bytes, so the RFC limit 2^96 - 1 is out of reach; stop at 2^64 - 1. */
        if (seq == UINT64_MAX)
                return -ERANGE;
        memcpy(ret, ctx->base_nonce, ctx->aead->nn);
        for (size_t i = 0; i < 8; i++)
                ret[ctx->aead->nn - 1 - i] ^= (uint8_t) (seq >> (8 * i));
        return 0;
}

static int check_aead_args(const HpkeContext *ctx, const uint8_t *aad, size_t aad_size) {
        if (!ctx)
                return -EINVAL;
        if (!ctx->aead->cipher)
                return -EOPNOTSUPP; /* export-only suite */
        if (aad_size > HPKE_AAD_MAX || (!aad && aad_size > 0))
                return -EINVAL;
        return 0;
}

int hpke_seal(HpkeContext *ctx, const uint8_t *aad, size_t aad_size, const uint8_t *pt, size_t pt_size,
              uint8_t **ret_ct, size_t *ret_ct_size) {
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = NULL;
        _cleanup_free_ uint8_t *ct = NULL;
        uint8_t nonce[NN_MAX];
        int r, outl = 0, finl = 0;

        r = check_aead_args(ctx, aad, aad_size);
        if (r < 0)
                return r;
        if (!ctx->sender)
                return -EPERM;
        if (pt_size > HPKE_PLAINTEXT_MAX || (!pt && pt_size > 0) || !ret_ct || !ret_ct_size)
                return -EINVAL;
        r = compute_nonce(ctx, nonce);
        if (r < 0)
                return r;
        ct = malloc(pt_size + HPKE_TAG_SIZE);
        if (!ct)
                return -ENOMEM;
        c = EVP_CIPHER_CTX_new();
        if (!c)
                return -ENOMEM;
        if (EVP_EncryptInit_ex(c, ctx->aead->cipher(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int) ctx->aead->nn, NULL) != 1 ||
            EVP_EncryptInit_ex(c, NULL, NULL, secret_data(ctx->key), nonce) != 1 ||
            (aad_size > 0 && EVP_EncryptUpdate(c, NULL, &outl, aad, (int) aad_size) != 1) ||
            (pt_size > 0 && EVP_EncryptUpdate(c, ct, &outl, pt, (int) pt_size) != 1) ||
            EVP_EncryptFinal_ex(c, ct + (pt_size > 0 ? outl : 0), &finl) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, HPKE_TAG_SIZE, ct + pt_size) != 1) {
                openssl_clear_errors();
                return -EIO;
        }
        ctx->seq++;
        *ret_ct = TAKE_PTR(ct);
        *ret_ct_size = pt_size + HPKE_TAG_SIZE;
        return 0;
}

int hpke_open(HpkeContext *ctx, const uint8_t *aad, size_t aad_size, const uint8_t *ct, size_t ct_size,
              Secret **ret_pt) {
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = NULL;
        _cleanup_(secret_freep) Secret *pt = NULL;
        uint8_t nonce[NN_MAX], tag[HPKE_TAG_SIZE];
        size_t pt_size;
        int r, outl = 0, finl = 0;

        r = check_aead_args(ctx, aad, aad_size);
        if (r < 0)
                return r;
        if (ctx->sender)
                return -EPERM;
        if (!ct || !ret_pt)
                return -EINVAL;
        if (ct_size < HPKE_TAG_SIZE || ct_size - HPKE_TAG_SIZE > HPKE_PLAINTEXT_MAX)
                return -EBADMSG;
        pt_size = ct_size - HPKE_TAG_SIZE;
        r = compute_nonce(ctx, nonce);
        if (r < 0)
                return r;
        r = secret_new(pt_size, &pt);
        if (r < 0)
                return r;
        memcpy(tag, ct + pt_size, HPKE_TAG_SIZE);
        c = EVP_CIPHER_CTX_new();
        if (!c)
                return -ENOMEM;
        if (EVP_DecryptInit_ex(c, ctx->aead->cipher(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int) ctx->aead->nn, NULL) != 1 ||
            EVP_DecryptInit_ex(c, NULL, NULL, secret_data(ctx->key), nonce) != 1 ||
            (aad_size > 0 && EVP_DecryptUpdate(c, NULL, &outl, aad, (int) aad_size) != 1) ||
            (pt_size > 0 && EVP_DecryptUpdate(c, secret_data_mut(pt), &outl, ct, (int) pt_size) != 1) ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, HPKE_TAG_SIZE, tag) != 1) {
                openssl_clear_errors();
                return -EIO;
        }
        if (EVP_DecryptFinal_ex(c, secret_data_mut(pt) + (pt_size > 0 ? outl : 0), &finl) != 1) {
                openssl_clear_errors();
                return -EBADMSG; /* pt is wiped by its cleanup */
        }
        ctx->seq++;
        *ret_pt = TAKE_PTR(pt);
        return 0;
}

int hpke_export(const HpkeContext *ctx, const uint8_t *exporter_context, size_t exporter_context_size, uint8_t *ret,
                size_t len) {
        uint8_t sid[10];

        if (!ctx || !ret || len == 0 || len > 255 * NH || exporter_context_size > HPKE_EXPORTER_CONTEXT_MAX ||
            (!exporter_context && exporter_context_size > 0))
                return -EINVAL;
        hpke_suite_id(ctx->suite, sid);
        return labeled_expand(sid, sizeof(sid), secret_data(ctx->exporter_secret), NH, "sec", exporter_context,
                              exporter_context_size, ret, len);
}

int hpke_key_confirmation(const HpkeContext *ctx, uint8_t ret[HPKE_CONFIRM_SIZE]) {
        return hpke_export(ctx, (const uint8_t *) HPKE_CONFIRM_CONTEXT, strlen(HPKE_CONFIRM_CONTEXT), ret,
                           HPKE_CONFIRM_SIZE);
}

uint64_t hpke_context_seq(const HpkeContext *ctx) {
        return ctx ? ctx->seq : 0;
}
