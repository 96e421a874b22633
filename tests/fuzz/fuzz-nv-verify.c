/* SPDX-License-Identifier: Apache-2.0 */
/* A whole GPU verification (nv_verify) with its device chain: parts are the SPDM report, then
 * the chain (PEM, leaf first). The chain's own root is trusted besides NVIDIA's, so mutations
 * reach the signature, FWID and nonce checks. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/pem-bundle.h"
#include "fuzz-split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint8_t nonce[32] = {0xab, 0xab, 0xab, 0xab};
        FuzzPart parts[2] = {};
        NvChain *chain = NULL;
        NvPin pins[2] = {};
        size_t n_pins = 1;
        NvAppraisal *a = malloc(sizeof(NvAppraisal));
        Verdict v = {};

        if (!a)
                return 0;
        memcpy(pins[0].spki_sha256, nv_device_root_spki_sha256, 32);
        if (fuzz_split(data, size, parts, 2) == 2 && nv_chain_new(parts[1].data, parts[1].size, &chain) >= 0) {
                X509 *leaf = nv_chain_leaf(chain);
                (void) leaf;
        }
        if (chain) {
                /* the last certificate of the chain, whatever it is, as a second pin */
                STACK_OF(X509) *sk = NULL;
                if (pem_bundle_parse(parts[1].data, parts[1].size, &sk, NULL) >= 0) {
                        if (x509_spki_sha256(sk_X509_value(sk, sk_X509_num(sk) - 1), pins[1].spki_sha256) >= 0)
                                n_pins = 2;
                        sk_X509_pop_free(sk, X509_free);
                }
        }
        for (int run = 0; run < 2 && verdict_init(&v, "gpu") >= 0; run++) {
                /* twice: the second run takes the chain's cached results */
                NvVerifyParams p = {.root_pins = pins,
                                    .n_root_pins = n_pins,
                                    .at = 1735689600,
                                    .expected_nonce = run ? nonce : NULL,
                                    .prefix = "gpu0."};
                (void) nv_verify(parts[0].data, parts[0].size, chain, &p, a, &v);
                verdict_done(&v);
        }
        nv_chain_free(chain);
        free(a);
        return 0;
}
