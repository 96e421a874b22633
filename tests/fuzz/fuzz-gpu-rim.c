/* SPDX-License-Identifier: Apache-2.0 */
/* The RIM (signed SWID XML) parser and, for what parses, the signer-chain and XML-signature
 * check, which must refuse without crashing. */
#include <stdint.h>

#include "cvm/gpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NvRim *rim = NULL;
        char *reason = NULL;

        if (nv_rim_parse(data, size, &rim, &reason) >= 0) {
                char *why = NULL;
                (void) nv_rim_verify(rim, NULL, 0, 1700000000, &why);
                (void) nv_rim_is_debug(rim);
                free(why);
                nv_rim_free(rim);
        }
        free(reason);
        return 0;
}
