/* SPDX-License-Identifier: Apache-2.0 */
/* OCSP responses for a GPU device chain (nv_ocsp_response_verify): the input is the certificate
 * and its issuer (one bundle, certificate first), then the DER response. Checked with and
 * without a nonce, at a time inside the certificate's validity. The response alone is also read
 * as the collateral cache's lister reads it (nv_ocsp_response_info). */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/crypto.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/pem-bundle.h"
#include "fuzz-split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint8_t nonce[32] = {0x5a};
        STACK_OF(X509) *sk = NULL;
        FuzzPart parts[2];
        int64_t at = 1700000000;
        NvOcspInfo info;

        if (fuzz_split(data, size, parts, 2) != 2)
                return 0;
        (void) nv_ocsp_response_info(parts[1].data, parts[1].size, &info);
        if (pem_bundle_parse(parts[0].data, parts[0].size, &sk, NULL) < 0)
                return 0;
        if (sk_X509_num(sk) >= 2) {
                X509 *cert = sk_X509_value(sk, 0), *issuer = sk_X509_value(sk, 1);
                (void) x509_not_before(cert, &at);
                for (int i = 0; i < 2; i++) {
                        NvOcspStatus st;
                        char *reason = NULL;
                        (void) nv_ocsp_response_verify(parts[1].data, parts[1].size, cert, issuer, at + 60,
                                                       i ? nonce : NULL, &st, &reason);
                        free(reason);
                }
        }
        sk_X509_pop_free(sk, X509_free);
        return 0;
}
