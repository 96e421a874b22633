/* SPDX-License-Identifier: Apache-2.0 */
/* An issuer-chain header value from Intel PCS/PCCS (TCB-Info-Issuer-Chain and the like), as
 * pcs.c handles it: percent-decoded, then read as a certificate bundle; and the raw value
 * through the bundle reader, which decodes percent-encoded bundles itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/pcs.h"
#include "cvm/pem-bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        STACK_OF(X509) *sk = NULL;
        char *text, *decoded = NULL, *reason = NULL;
        size_t n;

        /* A header value is a C string: what libcurl hands over ends at the first NUL. */
        text = strndup((const char *) data, size);
        if (!text)
                return 0;
        if (pcs_percent_decode(text, &decoded, &n) >= 0) {
                if (n > strlen(text) || memchr(decoded, 0, n))
                        abort(); /* decoding only shrinks, and %00 is refused */
                if (pem_bundle_parse((const uint8_t *) decoded, n, &sk, &reason) >= 0)
                        sk_X509_pop_free(sk, X509_free);
                free(reason);
                reason = NULL;
                free(decoded);
        }
        sk = NULL;
        if (pem_bundle_parse(data, size, &sk, &reason) >= 0)
                sk_X509_pop_free(sk, X509_free);
        free(reason);
        free(text);
        return 0;
}
