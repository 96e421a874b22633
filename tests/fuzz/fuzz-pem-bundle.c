/* SPDX-License-Identifier: Apache-2.0 */
/* The one certificate-bundle reader (PEM in every shape, percent-encoded, DER) and its CRL
 * twin: whatever the bytes, a stack of whole certificates or a refusal with a reason. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/pem-bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        STACK_OF(X509) *sk = NULL;
        X509_CRL *crl = NULL;
        char *reason = NULL;

        if (pem_bundle_parse(data, size, &sk, &reason) >= 0) {
                if (sk_X509_num(sk) < 1 || sk_X509_num(sk) > PEM_BUNDLE_MAX_CERTS || reason)
                        abort(); /* success means whole certificates, within the bound, no reason */
                sk_X509_pop_free(sk, X509_free);
        } else if (!reason)
                abort(); /* every refusal says why */
        free(reason);
        reason = NULL;
        if (pem_bundle_parse_crl(data, size, &crl, &reason) >= 0)
                X509_CRL_free(crl);
        free(reason);
        return 0;
}
