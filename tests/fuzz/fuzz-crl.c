/* SPDX-License-Identifier: Apache-2.0 */
/* CRLs as they arrive: PCK and Root CA CRLs from PCS/PCCS (DER, PEM, or hex text from a PCCS)
 * and KDS CRLs (DER): parse, then the lookups and window the verifiers make. */
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/pem-bundle.h"
#include "cvm/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(X509_CRL *crl) {
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        X509_REVOKED *rev = NULL;
        int64_t t;

        (void) asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &t);
        if (X509_CRL_get0_nextUpdate(crl))
                (void) asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &t);
        if (serial && ASN1_INTEGER_set(serial, 0x10001))
                (void) X509_CRL_get0_by_serial(crl, &rev, serial);
        ASN1_INTEGER_free(serial);
        openssl_clear_errors();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        X509_CRL *crl = NULL;
        char *reason = NULL, *text;
        uint8_t *der = NULL;
        size_t n;

        if (pem_bundle_parse_crl(data, size, &crl, &reason) >= 0) {
                use(crl);
                X509_CRL_free(crl);
                crl = NULL;
        }
        free(reason);
        reason = NULL;
        /* a PCCS may send the Root CA CRL as hex text */
        text = strndup((const char *) data, size);
        if (text && hex_decode(text, &der, &n) >= 0) {
                if (pem_bundle_parse_crl(der, n, &crl, &reason) >= 0) {
                        use(crl);
                        X509_CRL_free(crl);
                }
                free(reason);
                free(der);
        }
        free(text);
        return 0;
}
