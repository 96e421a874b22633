/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Cleanup helpers for third-party types, declared once for the whole tree: a file that needs
 * _cleanup_(X509_freep) includes this header instead of writing its own DEFINE_CLEANUP (two
 * definitions of one static inline function do not compile together). Our own types declare
 * theirs beside their destructor, in their module's header. */

#include <curl/curl.h>
#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <libxml/tree.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <xmlsec/xmldsig.h>

#include "cvm/macro.h"

/* json-c */
DEFINE_CLEANUP(json_object *, json_object_put)
DEFINE_CLEANUP(json_tokener *, json_tokener_free)

/* OpenSSL */
DEFINE_CLEANUP(X509 *, X509_free)
DEFINE_CLEANUP(X509_CRL *, X509_CRL_free)
DEFINE_CLEANUP(X509_STORE *, X509_STORE_free)
DEFINE_CLEANUP(X509_STORE_CTX *, X509_STORE_CTX_free)
DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
DEFINE_CLEANUP(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
DEFINE_CLEANUP(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_CLEANUP(BIGNUM *, BN_free)
DEFINE_CLEANUP(ECDSA_SIG *, ECDSA_SIG_free)
DEFINE_CLEANUP(BIO *, BIO_free)
DEFINE_CLEANUP(ASN1_OBJECT *, ASN1_OBJECT_free)
DEFINE_CLEANUP(ASN1_OCTET_STRING *, ASN1_OCTET_STRING_free)
DEFINE_CLEANUP(ASN1_INTEGER *, ASN1_INTEGER_free)
DEFINE_CLEANUP(ASN1_TIME *, ASN1_TIME_free)
DEFINE_CLEANUP(X509_EXTENSION *, X509_EXTENSION_free)
DEFINE_CLEANUP(X509_REVOKED *, X509_REVOKED_free)
DEFINE_CLEANUP(EVP_KDF *, EVP_KDF_free)
DEFINE_CLEANUP(EVP_KDF_CTX *, EVP_KDF_CTX_free)
DEFINE_CLEANUP(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)
DEFINE_CLEANUP(OCSP_REQUEST *, OCSP_REQUEST_free)
DEFINE_CLEANUP(OCSP_RESPONSE *, OCSP_RESPONSE_free)
DEFINE_CLEANUP(OCSP_BASICRESP *, OCSP_BASICRESP_free)
DEFINE_CLEANUP(OCSP_CERTID *, OCSP_CERTID_free)

/* A stack that owns its certificates. */
static inline void sk_X509_pop_freep(STACK_OF(X509) **p) {
        if (*p)
                sk_X509_pop_free(*p, X509_free);
}

/* A stack that borrows its certificates: they belong to someone else. */
static inline void sk_X509_freep(STACK_OF(X509) **p) {
        if (*p)
                sk_X509_free(*p);
}

/* libxml2 and xmlsec */
DEFINE_CLEANUP(xmlDoc *, xmlFreeDoc)
DEFINE_CLEANUP(xmlSecDSigCtxPtr, xmlSecDSigCtxDestroy)

/* xmlFree is a function pointer variable, not a function: spelled out. */
static inline void xml_freep(xmlChar **p) {
        if (*p)
                xmlFree(*p);
}
#define _cleanup_xmlfree_ _cleanup_(xml_freep)

/* libvirt */
DEFINE_CLEANUP(virDomainPtr, virDomainFree)

/* libcurl */
DEFINE_CLEANUP(CURL *, curl_easy_cleanup)
DEFINE_CLEANUP(struct curl_slist *, curl_slist_free_all)
