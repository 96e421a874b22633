/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Certificates, CRLs and public keys decoded once per process, and chain links verified once:
 * the OpenSSL side of the object cache (include/cvm/object-cache.h) and of the verified cache
 * (include/cvm/verified-cache.h). */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

/* Exactly one DER certificate / CRL, nothing after it, decoded once per process: the object
 * cache (include/cvm/object-cache.h) keeps it by the SHA-256 of these bytes, and the same
 * bytes give the same shared object again. Callers must not modify what they get. */
int x509_decode_der(const uint8_t *der, size_t size, X509 **ret);
int x509_crl_decode_der(const uint8_t *der, size_t size, X509_CRL **ret);
/* pem_bundle_parse() once per distinct bundle: the same bytes give a new stack holding the same
 * shared certificates (skipping the base64 and the per-certificate lookups). A refusal is not
 * kept: its reason comes from parsing again. */
int x509_bundle_parse(const uint8_t *data, size_t size, STACK_OF(X509) **ret, char **ret_reason);
/* SHA-256 of the certificate's DER: remembered for decoded certificates, computed otherwise. */
int x509_der_sha256(X509 *cert, uint8_t ret[32]);
int x509_crl_der_sha256(X509_CRL *crl, uint8_t ret[32]);
/* Chain links verified before (include/cvm/verified-cache.h): whether cert's signature by
 * issuer passed the caller's `kind` of check for a window (both certificates' common validity)
 * holding `at`; remember records a pass. */
bool x509_link_known(const char *kind, X509 *cert, X509 *issuer, int64_t at);
void x509_link_remember(const char *kind, X509 *cert, X509 *issuer);
/* The same for a CRL signed by issuer; the window is the CRL's thisUpdate..nextUpdate within
 * the issuer's validity. */
bool x509_crl_link_known(const char *kind, X509_CRL *crl, X509 *issuer, int64_t at);
void x509_crl_link_remember(const char *kind, X509_CRL *crl, X509 *issuer);
/* An EC public key from its raw big-endian coordinates x ‖ y (n bytes, 64 for P-256, 96 for
 * P-384), built once per distinct point and curve and shared (do not modify it). -EBADMSG
 * when the point is not on the curve. */
int ec_pubkey_from_xy(int curve_nid, const uint8_t *xy, size_t n, EVP_PKEY **ret);
/* The SHA-256 of the SubjectPublicKeyInfo remembered when the certificate was decoded; false
 * when it was not (x509_spki_sha256() then computes it). */
bool x509_cached_spki_sha256(X509 *cert, uint8_t ret[32]);
