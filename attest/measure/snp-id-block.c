/* SPDX-License-Identifier: Apache-2.0 */
/* The SEV-SNP ID block and ID authentication information structure (SNP ABI specification,
 * SNP_LAUNCH_FINISH): what lets a guest owner's key vouch for a launch digest, so that the
 * report's ID_KEY_DIGEST / AUTHOR_KEY_DIGEST name the keys and FAMILY_ID / IMAGE_ID the image.
 * Layouts (all integers little-endian):
 *   ID block (96):  LD[48] FAMILY_ID[16] IMAGE_ID[16] VERSION u32 GUEST_SVN u32 POLICY u64
 *   public key (0x404): CURVE u32 (2 = P-384), QX[72], QY[72], reserved
 *   signature (0x200):  R[72], S[72], reserved
 *   ID auth (0x1000): ID_KEY_ALGO u32 @0, AUTH_KEY_ALGO u32 @4, ID_BLOCK_SIG @0x40,
 *                     ID_KEY @0x240, ID_KEY_SIG @0x680, AUTHOR_KEY @0x880 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/snp-measure.h"
#include "cvm/util.h"

#define CURVE_P384 2u
#define ALGO_ECDSA_P384_SHA384 1u
#define COORD_SIZE 72u /* each coordinate or signature half, zero-padded */
#define P384_SIZE 48u
#define SIG_SIZE 0x200u

#define AUTH_ID_BLOCK_SIG 0x040u
#define AUTH_ID_KEY 0x240u
#define AUTH_ID_KEY_SIG 0x680u
#define AUTH_AUTHOR_KEY 0x880u

static void put_le(uint8_t *p, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Big-endian n bytes into a little-endian field of COORD_SIZE bytes (the rest zero). */
static void be_to_le_field(const uint8_t *be, size_t n, uint8_t *field) {
        memset(field, 0, COORD_SIZE);
        for (size_t i = 0; i < n; i++)
                field[i] = be[n - 1 - i];
}

void snp_id_block_encode(const SnpIdBlock *b, uint8_t ret[SNP_ID_BLOCK_SIZE]) {
        memcpy(ret, b->ld, SNP_LD_SIZE);
        memcpy(ret + 48, b->family_id, 16);
        memcpy(ret + 64, b->image_id, 16);
        put_le(ret + 80, b->version, 4);
        put_le(ret + 84, b->guest_svn, 4);
        put_le(ret + 88, b->policy, 8);
}

int snp_pubkey_encode(EVP_PKEY *key, uint8_t ret[SNP_PUBKEY_SIZE]) {
        _cleanup_(BN_freep) BIGNUM *x = NULL, *y = NULL;
        uint8_t be[P384_SIZE];

        if (!pkey_is_ec_curve(key, NID_secp384r1))
                return -EINVAL;
        if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
            !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
                return openssl_fail(-EIO);
        memset(ret, 0, SNP_PUBKEY_SIZE);
        put_le(ret, CURVE_P384, 4);
        if (BN_bn2binpad(x, be, P384_SIZE) != P384_SIZE)
                return openssl_fail(-EIO);
        be_to_le_field(be, P384_SIZE, ret + 4);
        if (BN_bn2binpad(y, be, P384_SIZE) != P384_SIZE)
                return openssl_fail(-EIO);
        be_to_le_field(be, P384_SIZE, ret + 4 + COORD_SIZE);
        return 0;
}

int snp_pubkey_digest(EVP_PKEY *key, uint8_t ret[SNP_LD_SIZE]) {
        uint8_t pub[SNP_PUBKEY_SIZE];
        unsigned n = 0;
        int r = snp_pubkey_encode(key, pub);

        if (r < 0)
                return r;
        return EVP_Digest(pub, sizeof(pub), ret, &n, EVP_sha384(), NULL) && n == SNP_LD_SIZE ? 0 : -EIO;
}

/* ECDSA P-384 over msg with SHA-384, in the AMD signature format. */
static int sign(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t ret[SIG_SIZE]) {
        uint8_t rs[2 * P384_SIZE];
        int r = ecdsa_sign_raw(key, EVP_sha384(), msg, n, rs, P384_SIZE);

        if (r < 0)
                return r;
        memset(ret, 0, SIG_SIZE);
        be_to_le_field(rs, P384_SIZE, ret);
        be_to_le_field(rs + P384_SIZE, P384_SIZE, ret + COORD_SIZE);
        return 0;
}

int snp_id_auth_build(const uint8_t id_block[SNP_ID_BLOCK_SIZE], EVP_PKEY *id_key, EVP_PKEY *author_key,
                      SnpIdAuth *ret, char **ret_reason) {
        SnpIdAuth a = {};
        uint8_t *auth = a.id_auth;
        unsigned n = 0;

        if (!pkey_is_ec_curve(id_key, NID_secp384r1))
                return set_reason(ret_reason, -EINVAL, "the ID key is not an ECDSA P-384 key");
        if (author_key && !pkey_is_ec_curve(author_key, NID_secp384r1))
                return set_reason(ret_reason, -EINVAL, "the author key is not an ECDSA P-384 key");
        put_le(auth, ALGO_ECDSA_P384_SHA384, 4);
        if (snp_pubkey_encode(id_key, auth + AUTH_ID_KEY) < 0 ||
            sign(id_key, id_block, SNP_ID_BLOCK_SIZE, auth + AUTH_ID_BLOCK_SIG) < 0)
                return set_reason(ret_reason, -EIO, "signing the ID block failed");
        if (!EVP_Digest(auth + AUTH_ID_KEY, SNP_PUBKEY_SIZE, a.id_key_digest, &n, EVP_sha384(), NULL))
                return set_reason(ret_reason, -EIO, "SHA-384 failed");
        if (author_key) {
                put_le(auth + 4, ALGO_ECDSA_P384_SHA384, 4);
                if (snp_pubkey_encode(author_key, auth + AUTH_AUTHOR_KEY) < 0 ||
                    sign(author_key, auth + AUTH_ID_KEY, SNP_PUBKEY_SIZE, auth + AUTH_ID_KEY_SIG) < 0)
                        return set_reason(ret_reason, -EIO, "signing the ID key with the author key failed");
                if (!EVP_Digest(auth + AUTH_AUTHOR_KEY, SNP_PUBKEY_SIZE, a.author_key_digest, &n, EVP_sha384(), NULL))
                        return set_reason(ret_reason, -EIO, "SHA-384 failed");
                a.have_author_key = true;
        }
        *ret = a;
        return 0;
}

/* An AMD-format P-384 public key back into an EVP_PKEY. */
static int pubkey_decode(const uint8_t pub[SNP_PUBKEY_SIZE], EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        OSSL_PARAM_BLD *bld = NULL;
        OSSL_PARAM *params = NULL;
        uint8_t point[1 + 2 * P384_SIZE];
        EVP_PKEY *key = NULL;
        int r = -EBADMSG;

        if (get_le32(pub) != CURVE_P384 || !memeqzero(pub + 4 + P384_SIZE, COORD_SIZE - P384_SIZE) ||
            !memeqzero(pub + 4 + COORD_SIZE + P384_SIZE, COORD_SIZE - P384_SIZE))
                return -EBADMSG;
        point[0] = 0x04; /* uncompressed */
        for (size_t i = 0; i < P384_SIZE; i++) {
                point[1 + i] = pub[4 + P384_SIZE - 1 - i];
                point[1 + P384_SIZE + i] = pub[4 + COORD_SIZE + P384_SIZE - 1 - i];
        }
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        bld = OSSL_PARAM_BLD_new();
        if (ctx && bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-384", 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) &&
            (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) > 0 &&
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) > 0) {
                *ret = key;
                r = 0;
        }
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        return r < 0 ? openssl_fail(r) : 0;
}

/* 1 when sig (AMD format) is key's ECDSA signature over msg with SHA-384. */
static int verify(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t sig[SIG_SIZE]) {
        _cleanup_(BN_freep) BIGNUM *r = NULL, *s = NULL;
        uint8_t digest[SNP_LD_SIZE];
        unsigned dn = 0;

        if (!EVP_Digest(msg, n, digest, &dn, EVP_sha384(), NULL))
                return openssl_fail(-EIO);
        r = BN_lebin2bn(sig, COORD_SIZE, NULL);
        s = BN_lebin2bn(sig + COORD_SIZE, COORD_SIZE, NULL);
        if (!r || !s)
                return openssl_fail(-ENOMEM);
        return ecdsa_verify_digest(key, digest, sizeof(digest), r, s);
}

int snp_id_auth_verify(const uint8_t id_block[SNP_ID_BLOCK_SIZE], const uint8_t id_auth[SNP_ID_AUTH_SIZE]) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *id_key = NULL, *author_key = NULL;
        int r;

        if (get_le32(id_auth) != ALGO_ECDSA_P384_SHA384 || pubkey_decode(id_auth + AUTH_ID_KEY, &id_key) < 0)
                return 0;
        r = verify(id_key, id_block, SNP_ID_BLOCK_SIZE, id_auth + AUTH_ID_BLOCK_SIG);
        if (r <= 0)
                return r;
        if (get_le32(id_auth + 4) == 0)
                return 1;
        if (get_le32(id_auth + 4) != ALGO_ECDSA_P384_SHA384 || pubkey_decode(id_auth + AUTH_AUTHOR_KEY, &author_key) < 0)
                return 0;
        return verify(author_key, id_auth + AUTH_ID_KEY, SNP_PUBKEY_SIZE, id_auth + AUTH_ID_KEY_SIG);
}
