/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Thin, bounded wrappers over OpenSSL shared by the SNP, TDX and GPU verifiers. */

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "cvm/cleanup.h"
#include "cvm/macro.h"

typedef enum Validity {
        VALIDITY_OK,
        VALIDITY_NOT_YET_VALID,
        VALIDITY_EXPIRED,
} Validity;

/* One DER certificate, or PEM certificates in any shape pem_bundle_parse() accepts (CRLF,
 * glued blocks, percent-encoded); -EBADMSG otherwise. Use pem_bundle_parse() for the reason. */
int x509_parse_many(const uint8_t *data, size_t size, STACK_OF(X509) **ret);
int x509_parse_one(const uint8_t *data, size_t size, X509 **ret);
int x509_crl_parse(const uint8_t *data, size_t size, X509_CRL **ret);

/* SHA-256 with the digest fetched once: OpenSSL 3's one-shot SHA256() looks the algorithm up
 * on every call, which costs more than hashing a certificate. */
void sha256(const void *data, size_t size, uint8_t ret[32]);
void sha384(const void *data, size_t size, uint8_t ret[48]);

/* SHA-256 over the DER SubjectPublicKeyInfo: the form every trust anchor pin uses. */
int x509_spki_sha256(X509 *cert, uint8_t ret[32]);
Validity x509_validity_at(X509 *cert, int64_t at);
/* Subject or issuer commonName, malloc'ed; NULL when absent. */
char *x509_subject_cn(X509 *cert);
char *x509_issuer_cn(X509 *cert);
/* notBefore / notAfter as Unix time. */
int x509_not_before(X509 *cert, int64_t *ret);
int x509_not_after(X509 *cert, int64_t *ret);
int asn1_time_to_unix(const ASN1_TIME *t, int64_t *ret);
/* 1 when issuer's key verifies cert's signature, 0 when it does not, -errno on error. */
int x509_signed_by(X509 *cert, EVP_PKEY *issuer_key);
/* True when the certificate is signed with RSASSA-PSS over SHA-384. */
bool x509_sig_is_rsa_pss_sha384(X509 *cert);
bool pkey_is_ec_curve(EVP_PKEY *key, int curve_nid);

/* Verifies an ECDSA signature given as big-endian r and s over a precomputed digest.
 * 1 valid, 0 invalid, -errno on error. */
int ecdsa_verify_digest(EVP_PKEY *key, const uint8_t *digest, size_t digest_size, const BIGNUM *r,
                        const BIGNUM *s);

/* Clears OpenSSL's error queue: errors are translated where they cross into our code. */
void openssl_clear_errors(void);

/* Clears the error queue and returns err: `return openssl_fail(-EIO);` */
static inline int openssl_fail(int err) {
        openssl_clear_errors();
        return err;
}

/* ECDSA over msg with md; the signature as r || s, each `half` bytes big-endian (32 for P-256,
 * 48 for P-384), into ret (2 * half bytes). -EINVAL when key is not on that curve size. */
int ecdsa_sign_raw(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg, size_t n, uint8_t *ret, size_t half);
