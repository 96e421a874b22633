/* SPDX-License-Identifier: Apache-2.0 */
/* A whole TDX verification with collateral (tdx_verify): parts are the quote, then the seven
 * collateral files in the order of TdxCollateralFile (an empty part is a missing file). The
 * root the quote's PCK chain ends at is trusted besides Intel's, so mutations reach the
 * collateral and TCB checks. Without parseable collateral the quote is verified alone. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/crypto.h"
#include "cvm/tdx.h"
#include "fuzz-split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzPart parts[1 + _TDX_FILE_MAX] = {};
        const uint8_t *files[_TDX_FILE_MAX] = {};
        size_t sizes[_TDX_FILE_MAX] = {}, n_builtin, k;
        const TdxAnchor *builtin = tdx_builtin_anchors(&n_builtin);
        TdxAnchor anchors[4];
        size_t n_anchors = 0;
        TdxCollateral *col = NULL;
        TdxQuote q;
        char *reason = NULL;

        k = fuzz_split(data, size, parts, 1 + _TDX_FILE_MAX);
        for (size_t i = 1; i < k; i++) {
                files[i - 1] = parts[i].data;
                sizes[i - 1] = parts[i].size;
        }
        if (k > 1 && tdx_collateral_parse(files, sizes, &col, &reason) < 0)
                col = NULL;
        free(reason);
        reason = NULL;
        for (size_t i = 0; i < n_builtin && n_anchors < 3; i++)
                anchors[n_anchors++] = builtin[i];
        if (tdx_quote_parse(parts[0].data, parts[0].size, &q, NULL) >= 0) {
                STACK_OF(X509) *sk = NULL;
                if (tdx_pck_chain_parse(q.pck_chain, q.pck_chain_size, &sk, NULL) >= 0) {
                        if (x509_spki_sha256(sk_X509_value(sk, sk_X509_num(sk) - 1), anchors[n_anchors].spki_sha256) >=
                            0)
                                anchors[n_anchors++].label = "fuzz input root";
                        sk_X509_pop_free(sk, X509_free);
                }
        }
        {
                TdxVerifyParams params = {.anchors = anchors, .n_anchors = n_anchors, .at = 1735689600};
                for (int run = 0; run < 2; run++) {
                        /* twice: the second run takes the collateral's cached results */
                        TdxAppraisal a;
                        Verdict v = {};
                        if (verdict_init(&v, "tdx") < 0)
                                break;
                        if (tdx_verify(parts[0].data, parts[0].size, col, &params, &a, &v) >= 0)
                                tdx_appraisal_done(&a);
                        verdict_done(&v);
                }
        }
        tdx_collateral_free(col);
        return 0;
}
