/* SPDX-License-Identifier: Apache-2.0 */
/* The TDX quote parser, its claims, the type-5 PEM chain splitter and the PCK SGX extension. */
#include <stdint.h>

#include "cvm/crypto.h"
#include "cvm/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        STACK_OF(X509) *sk = NULL;
        char *reason = NULL;
        TdxPckInfo pck;
        TdxQuote q;

        if (tdx_quote_parse(data, size, &q, &reason) < 0) {
                free(reason);
                return 0;
        }
        json_object_put(tdx_quote_claims(&q));
        (void) tdx_quote_td_attributes(&q);
        if (tdx_pck_chain_parse(q.pck_chain, q.pck_chain_size, &sk, &reason) < 0) {
                free(reason);
                return 0;
        }
        for (int i = 0; i < sk_X509_num(sk); i++) {
                reason = NULL;
                if (tdx_pck_info_parse(sk_X509_value(sk, i), &pck, &reason) < 0)
                        free(reason);
        }
        sk_X509_pop_free(sk, X509_free);
        return 0;
}
