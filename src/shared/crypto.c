/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/pem-bundle.h"
#include "cvm/x509-cache.h"

void openssl_clear_errors(void) {
        ERR_clear_error();
}

static pthread_once_t digests_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md, *sha384_md;

static void digests_fetch(void) {
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
        sha384_md = EVP_MD_fetch(NULL, "SHA384", NULL);
}

void sha256(const void *data, size_t size, uint8_t ret[32]) {
        (void) pthread_once(&digests_once, digests_fetch);
        if (!sha256_md || !EVP_Digest(data, size, ret, NULL, sha256_md, NULL))
                SHA256(data, size, ret); /* not expected; the slower path gives the same bytes */
}

void sha384(const void *data, size_t size, uint8_t ret[48]) {
        (void) pthread_once(&digests_once, digests_fetch);
        if (!sha384_md || !EVP_Digest(data, size, ret, NULL, sha384_md, NULL))
                SHA384(data, size, ret);
}

int x509_parse_one(const uint8_t *data, size_t size, X509 **ret) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        int r;

        r = x509_parse_many(data, size, &sk);
        if (r < 0)
                return r;
        if (sk_X509_num(sk) != 1)
                return -EBADMSG;
        *ret = sk_X509_shift(sk);
        return 0;
}

/* Both go through the one bundle reader, so every caller accepts and refuses the same shapes. */
int x509_parse_many(const uint8_t *data, size_t size, STACK_OF(X509) **ret) {
        return x509_bundle_parse(data, size, ret, NULL);
}

int x509_crl_parse(const uint8_t *data, size_t size, X509_CRL **ret) {
        return pem_bundle_parse_crl(data, size, ret, NULL);
}

int x509_spki_sha256(X509 *cert, uint8_t ret[32]) {
        unsigned char *der = NULL;
        int len;

        /* remembered when the certificate was decoded (include/cvm/x509-cache.h) */
        if (x509_cached_spki_sha256(cert, ret))
                return 0;
        /* The SubjectPublicKeyInfo exactly as the certificate carries it. (i2d_PUBKEY() on the
         * EVP_PKEY gives the same DER but goes through OpenSSL 3's encoders: several times slower.) */
        len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
        if (len <= 0) {
                openssl_clear_errors();
                return -EBADMSG;
        }
        sha256(der, (size_t) len, ret);
        OPENSSL_free(der);
        return 0;
}

int asn1_time_to_unix(const ASN1_TIME *t, int64_t *ret) {
        struct tm tm = {};
        time_t v;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
                openssl_clear_errors();
                return -EBADMSG;
        }
        v = timegm(&tm);
        if (v == (time_t) -1)
                return -EBADMSG;
        *ret = (int64_t) v;
        return 0;
}

int x509_not_before(X509 *cert, int64_t *ret) {
        return asn1_time_to_unix(X509_get0_notBefore(cert), ret);
}

int x509_not_after(X509 *cert, int64_t *ret) {
        return asn1_time_to_unix(X509_get0_notAfter(cert), ret);
}

Validity x509_validity_at(X509 *cert, int64_t at) {
        int64_t nb, na;

        if (x509_not_before(cert, &nb) < 0 || x509_not_after(cert, &na) < 0)
                return VALIDITY_EXPIRED; /* unreadable dates never pass */
        if (at < nb)
                return VALIDITY_NOT_YET_VALID;
        if (at > na)
                return VALIDITY_EXPIRED;
        return VALIDITY_OK;
}

static char *name_cn(const X509_NAME *name) {
        int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
        const ASN1_STRING *s;
        unsigned char *utf8 = NULL;
        char *ret;
        int len;

        if (idx < 0)
                return NULL;
        s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
        len = ASN1_STRING_to_UTF8(&utf8, s);
        if (len < 0) {
                openssl_clear_errors();
                return NULL;
        }
        /* An embedded NUL would let "SEV-VCEK\0evil" pass as "SEV-VCEK". */
        if (memchr(utf8, 0, (size_t) len)) {
                OPENSSL_free(utf8);
                return NULL;
        }
        ret = strndup((char *) utf8, (size_t) len);
        OPENSSL_free(utf8);
        return ret;
}

char *x509_subject_cn(X509 *cert) {
        return name_cn(X509_get_subject_name(cert));
}

char *x509_issuer_cn(X509 *cert) {
        return name_cn(X509_get_issuer_name(cert));
}

int x509_signed_by(X509 *cert, EVP_PKEY *issuer_key) {
        int r = X509_verify(cert, issuer_key);

        openssl_clear_errors();
        if (r < 0)
                return -EBADMSG;
        return r == 1;
}

bool x509_sig_is_rsa_pss_sha384(X509 *cert) {
        int mdnid = NID_undef, pknid = NID_undef;
        uint32_t flags = 0;

        if (X509_get_signature_nid(cert) != NID_rsassaPss)
                return false;
        if (!X509_get_signature_info(cert, &mdnid, &pknid, NULL, &flags)) {
                openssl_clear_errors();
                return false;
        }
        return mdnid == NID_sha384 && (flags & X509_SIG_INFO_VALID);
}

bool pkey_is_ec_curve(EVP_PKEY *key, int curve_nid) {
        char name[64];
        size_t len = 0;

        if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
                return false;
        if (!EVP_PKEY_get_group_name(key, name, sizeof(name), &len)) {
                openssl_clear_errors();
                return false;
        }
        return OBJ_sn2nid(name) == curve_nid || OBJ_ln2nid(name) == curve_nid ||
               EC_curve_nist2nid(name) == curve_nid;
}

int ecdsa_verify_digest(EVP_PKEY *key, const uint8_t *digest, size_t digest_size, const BIGNUM *r,
                        const BIGNUM *s) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(BN_freep) BIGNUM *rr = BN_dup(r), *ss = BN_dup(s);
        unsigned char *der = NULL;
        int len, ok;

        if (!sig || !rr || !ss)
                return -ENOMEM;
        if (!ECDSA_SIG_set0(sig, rr, ss))
                return -ENOMEM;
        rr = ss = NULL; /* owned by sig now */
        len = i2d_ECDSA_SIG(sig, &der);
        if (len <= 0) {
                openssl_clear_errors();
                return -ENOMEM;
        }
        ctx = EVP_PKEY_CTX_new(key, NULL);
        if (!ctx || EVP_PKEY_verify_init(ctx) <= 0) {
                OPENSSL_free(der);
                openssl_clear_errors();
                return -EIO;
        }
        ok = EVP_PKEY_verify(ctx, der, (size_t) len, digest, digest_size);
        OPENSSL_free(der);
        openssl_clear_errors();
        return ok == 1;
}

int ecdsa_sign_raw(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg, size_t n, uint8_t *ret, size_t half) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = NULL;
        const BIGNUM *br, *bs;
        uint8_t der[160];
        const unsigned char *p = der;
        size_t dn = sizeof(der);

        if (!ctx)
                return -ENOMEM;
        if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != (int) half * 8)
                return -EINVAL;
        if (EVP_DigestSignInit(ctx, NULL, md, NULL, key) <= 0 || EVP_DigestSign(ctx, der, &dn, msg, n) <= 0)
                return openssl_fail(-EIO);
        sig = d2i_ECDSA_SIG(NULL, &p, (long) dn);
        if (!sig)
                return openssl_fail(-EIO);
        ECDSA_SIG_get0(sig, &br, &bs);
        if (BN_bn2binpad(br, ret, (int) half) != (int) half || BN_bn2binpad(bs, ret + half, (int) half) != (int) half)
                return openssl_fail(-EIO);
        return 0;
}
