/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates as handed to `--certs` (DER or PEM), their AMD role and the VCEK/VLEK
 * extensions the verifier binds to the report. */
#include <stdint.h>

#include "cvm/crypto.h"
#include "cvm/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        STACK_OF(X509) *sk = NULL;
        char *reason = NULL;

        if (x509_parse_many(data, size, &sk) < 0)
                return 0;
        for (int i = 0; i < sk_X509_num(sk); i++) {
                X509 *c = sk_X509_value(sk, i);
                SnpLeafInfo info;
                SnpProduct p;

                (void) snp_cert_identify(c, &p);
                if (snp_leaf_info_parse(c, &info, &reason) < 0)
                        free(reason);
                reason = NULL;
        }
        sk_X509_pop_free(sk, X509_free);
        return 0;
}
