/* SPDX-License-Identifier: Apache-2.0 */
/* The NVSwitch report parser (SPDM request + MEASUREMENTS response + switch-side opaque TLVs)
 * and its claims; with a chain after FUZZ_SPLIT, one switch's verification and the board's
 * topology rule over it (no GPU: the rule must refuse, never crash). */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/nvswitch.h"
#include "fuzz-split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NvSwitchReport *r = calloc(1, sizeof(NvSwitchReport));
        NvSwitchAppraisal *a = calloc(1, sizeof(NvSwitchAppraisal));
        FuzzPart parts[2];
        size_t n = fuzz_split(data, size, parts, 2);
        char *reason = NULL;

        if (!r || !a)
                goto out;
        if (nv_switch_report_parse(parts[0].data, parts[0].size, r, &reason) >= 0)
                json_object_put(nv_switch_report_claims(r));
        if (n == 2) {
                NvChain *chain = NULL;
                NvSwitchInput in = {.report = parts[0].data, .report_size = parts[0].size};
                NvSwitchParams p = {.at = INT64_C(1767225600)};
                Verdict v = {};
                bool authentic;

                if (nv_chain_new(parts[1].data, parts[1].size, &chain) >= 0)
                        in.chain = chain;
                if (verdict_init(&v, "nvidia-gpu") >= 0) {
                        (void) nv_switch_verify(&in, 0, &p, a, &v);
                        (void) nv_switch_board_verify(NULL, 0, &in, 1, 1, &p, &authentic, &v);
                        verdict_done(&v);
                }
                nv_chain_free(chain);
        }
out:
        free(reason);
        free(a);
        free(r);
        return 0;
}
