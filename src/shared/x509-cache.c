/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates, CRLs and EC public keys decoded once per process, and chain links verified
 * once (include/cvm/x509-cache.h). OpenSSL 3 spends about 100-200 us decoding a certificate
 * with its public key, as much as a signature check; verifiers see the same few certificates
 * over and over (a platform's chain, the vendors' roots, a board's GPUs). */
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/object-cache.h"
#include "cvm/pem-bundle.h"
#include "cvm/verified-cache.h"
#include "cvm/x509-cache.h"

/* What a decoded certificate carries beside it (X509 ex_data), set before the certificate is
 * shared, read-only after. */
typedef struct CertDigests {
        uint8_t der[32];
        uint8_t spki[32];
        bool spki_ok;
} CertDigests;

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static int ex_index = -1;

static void digests_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
        free(ptr);
}

static void ex_setup(void) {
        ex_index = X509_get_ex_new_index(0, NULL, NULL, NULL, digests_free);
}

static const CertDigests *cert_digests(X509 *cert) {
        (void) pthread_once(&ex_once, ex_setup);
        return ex_index >= 0 ? X509_get_ex_data(cert, ex_index) : NULL;
}

static void *x509_ref(void *p) {
        return X509_up_ref(p) ? p : NULL;
}

static void x509_unref(void *p) {
        X509_free(p);
}

static void *crl_ref(void *p) {
        return X509_CRL_up_ref(p) ? p : NULL;
}

static void crl_unref(void *p) {
        X509_CRL_free(p);
}

static void *pkey_ref(void *p) {
        return EVP_PKEY_up_ref(p) ? p : NULL;
}

static void pkey_unref(void *p) {
        EVP_PKEY_free(p);
}

static const ObjectCacheType x509_type = { "x509", x509_ref, x509_unref };
static const ObjectCacheType crl_type = { "x509-crl", crl_ref, crl_unref };
static const ObjectCacheType pkey_type = { "ec-point", pkey_ref, pkey_unref };

int x509_decode_der(const uint8_t *der, size_t size, X509 **ret) {
        const unsigned char *q = der;
        CertDigests *d;
        uint8_t digest[32];
        int64_t until;
        X509 *c;

        if (size == 0 || size > INT_MAX)
                return -EBADMSG;
        c = object_cache_get(&x509_type, der, size, digest);
        if (c) {
                *ret = c;
                return 0;
        }
        c = d2i_X509(NULL, &q, (long) size);
        if (!c)
                return openssl_fail(-EBADMSG);
        /* Trailing bytes after a DER certificate mean it is not what it claims to be. */
        if (q != der + size) {
                X509_free(c);
                return -EBADMSG;
        }
        /* Fill OpenSSL's lazily computed extension cache now, before the certificate is shared. */
        (void) X509_check_purpose(c, -1, 0);
        openssl_clear_errors();
        (void) pthread_once(&ex_once, ex_setup);
        d = calloc(1, sizeof(CertDigests));
        if (d && ex_index >= 0) {
                memcpy(d->der, digest, 32);
                d->spki_ok = x509_spki_sha256(c, d->spki) >= 0;
                if (X509_set_ex_data(c, ex_index, d))
                        d = NULL;
        }
        free(d);
        if (x509_not_after(c, &until) < 0)
                until = INT64_MAX;
        object_cache_put(&x509_type, digest, der, size, c, until);
        *ret = c;
        return 0;
}

/* A parsed bundle as the cache holds it: the stack is never modified once kept. */
typedef struct Bundle {
        STACK_OF(X509) *certs;
        unsigned n_ref;
} Bundle;

static void *bundle_ref(void *p) {
        __atomic_add_fetch(&((Bundle *) p)->n_ref, 1, __ATOMIC_RELAXED);
        return p;
}

static void bundle_unref(void *p) {
        Bundle *b = p;

        if (__atomic_sub_fetch(&b->n_ref, 1, __ATOMIC_ACQ_REL) != 0)
                return;
        sk_X509_pop_free(b->certs, X509_free);
        free(b);
}

static const ObjectCacheType bundle_type = { "x509-bundle", bundle_ref, bundle_unref };

int x509_bundle_parse(const uint8_t *data, size_t size, STACK_OF(X509) **ret, char **ret_reason) {
        STACK_OF(X509) *sk = NULL;
        uint8_t digest[32];
        int64_t until = INT64_MAX;
        Bundle *b;
        int r;

        b = size > 0 ? object_cache_get(&bundle_type, data, size, digest) : NULL;
        if (b) {
                sk = X509_chain_up_ref(b->certs);
                bundle_unref(b);
                if (!sk)
                        return openssl_fail(-ENOMEM);
                *ret = sk;
                return 0;
        }
        r = pem_bundle_parse(data, size, &sk, ret_reason);
        if (r < 0)
                return r;
        b = calloc(1, sizeof(Bundle));
        if (b)
                b->certs = X509_chain_up_ref(sk);
        if (b && b->certs) {
                b->n_ref = 1;
                for (int i = 0; i < sk_X509_num(sk); i++) {
                        int64_t na;
                        if (x509_not_after(sk_X509_value(sk, i), &na) >= 0 && na < until)
                                until = na;
                }
                object_cache_put(&bundle_type, digest, data, size, b, until);
                bundle_unref(b);
        } else
                free(b);
        openssl_clear_errors();
        *ret = sk;
        return 0;
}

int x509_crl_decode_der(const uint8_t *der, size_t size, X509_CRL **ret) {
        const unsigned char *q = der;
        uint8_t digest[32];
        int64_t until = INT64_MAX;
        X509_CRL *crl;

        if (size == 0 || size > INT_MAX)
                return -EBADMSG;
        crl = object_cache_get(&crl_type, der, size, digest);
        if (crl) {
                *ret = crl;
                return 0;
        }
        crl = d2i_X509_CRL(NULL, &q, (long) size);
        if (!crl)
                return openssl_fail(-EBADMSG);
        if (q != der + size) {
                X509_CRL_free(crl);
                return -EBADMSG;
        }
        if (X509_CRL_get0_nextUpdate(crl))
                (void) asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &until);
        object_cache_put(&crl_type, digest, der, size, crl, until);
        *ret = crl;
        return 0;
}

bool x509_cached_spki_sha256(X509 *cert, uint8_t ret[32]) {
        const CertDigests *d = cert_digests(cert);

        if (!d || !d->spki_ok)
                return false;
        memcpy(ret, d->spki, 32);
        return true;
}

int x509_der_sha256(X509 *cert, uint8_t ret[32]) {
        const CertDigests *d = cert_digests(cert);
        unsigned char *der = NULL;
        int len;

        if (d) {
                memcpy(ret, d->der, 32);
                return 0;
        }
        len = i2d_X509(cert, &der);
        if (len <= 0)
                return openssl_fail(-EBADMSG);
        sha256(der, (size_t) len, ret);
        OPENSSL_free(der);
        return 0;
}

int x509_crl_der_sha256(X509_CRL *crl, uint8_t ret[32]) {
        unsigned char *der = NULL;
        int len = i2d_X509_CRL(crl, &der);

        if (len <= 0)
                return openssl_fail(-EBADMSG);
        sha256(der, (size_t) len, ret);
        OPENSSL_free(der);
        return 0;
}

/* The window in which both are valid; false when either date is unreadable. */
static bool common_window(X509 *a, X509 *b, int64_t *ret_from, int64_t *ret_until) {
        int64_t nb1, na1, nb2, na2;

        if (x509_not_before(a, &nb1) < 0 || x509_not_after(a, &na1) < 0 || x509_not_before(b, &nb2) < 0 ||
            x509_not_after(b, &na2) < 0)
                return false;
        *ret_from = nb1 > nb2 ? nb1 : nb2;
        *ret_until = na1 < na2 ? na1 : na2;
        return true;
}

static bool link_key(const char *kind, X509 *cert, X509 *issuer, uint8_t ret[32]) {
        uint8_t signer[32], subject[32];

        if (x509_der_sha256(issuer, signer) < 0 || x509_der_sha256(cert, subject) < 0)
                return false;
        verified_cache_key(ret, kind, signer, subject);
        return true;
}

bool x509_link_known(const char *kind, X509 *cert, X509 *issuer, int64_t at) {
        uint8_t key[32];

        return link_key(kind, cert, issuer, key) && verified_cache_lookup(key, at);
}

void x509_link_remember(const char *kind, X509 *cert, X509 *issuer) {
        uint8_t key[32];
        int64_t from, until;

        if (link_key(kind, cert, issuer, key) && common_window(cert, issuer, &from, &until))
                verified_cache_remember(key, from, until);
}

static bool crl_key(const char *kind, X509_CRL *crl, X509 *issuer, uint8_t ret[32]) {
        uint8_t signer[32], subject[32];

        if (x509_der_sha256(issuer, signer) < 0 || x509_crl_der_sha256(crl, subject) < 0)
                return false;
        verified_cache_key(ret, kind, signer, subject);
        return true;
}

bool x509_crl_link_known(const char *kind, X509_CRL *crl, X509 *issuer, int64_t at) {
        uint8_t key[32];

        return crl_key(kind, crl, issuer, key) && verified_cache_lookup(key, at);
}

void x509_crl_link_remember(const char *kind, X509_CRL *crl, X509 *issuer) {
        uint8_t key[32];
        int64_t from, until, tu, nu;

        if (!crl_key(kind, crl, issuer, key) || x509_not_before(issuer, &from) < 0 || x509_not_after(issuer, &until) < 0 ||
            asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &tu) < 0 || !X509_CRL_get0_nextUpdate(crl) ||
            asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &nu) < 0)
                return;
        verified_cache_remember(key, tu > from ? tu : from, nu < until ? nu : until);
}

int ec_pubkey_from_xy(int curve_nid, const uint8_t *xy, size_t n, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        uint8_t key_bytes[4 + 132], point[1 + 132], digest[32];
        const char *group = OBJ_nid2sn(curve_nid);
        EVP_PKEY *key;

        if (!group || n == 0 || n > 132 || n % 2)
                return -EINVAL;
        /* the cache key: the curve, then the coordinates */
        key_bytes[0] = (uint8_t) (curve_nid >> 24);
        key_bytes[1] = (uint8_t) (curve_nid >> 16);
        key_bytes[2] = (uint8_t) (curve_nid >> 8);
        key_bytes[3] = (uint8_t) curve_nid;
        memcpy(key_bytes + 4, xy, n);
        key = object_cache_get(&pkey_type, key_bytes, 4 + n, digest);
        if (key) {
                *ret = key;
                return 0;
        }
        point[0] = 0x04; /* uncompressed */
        memcpy(point + 1, xy, n);
        {
                OSSL_PARAM params[] = {
                        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) group, 0),
                        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, n + 1),
                        OSSL_PARAM_construct_end(),
                };
                ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
                if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
                    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
                        return openssl_fail(-EBADMSG); /* not a point on the curve */
        }
        if (EVP_PKEY_get_bits(key) != (int) (n / 2) * 8) {
                EVP_PKEY_free(key);
                return -EBADMSG;
        }
        object_cache_put(&pkey_type, digest, key_bytes, 4 + n, key, INT64_MAX);
        *ret = key;
        return 0;
}
