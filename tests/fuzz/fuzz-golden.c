/* SPDX-License-Identifier: Apache-2.0 */
/* The GPU golden list (--golden, golden.json from cvmctl sim init): strict JSON of
 * {"index", "values"} entries. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/gpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NvGolden *g = NULL;
        char *reason = NULL;

        if (nv_golden_parse((const char *) data, size, &g, &reason) >= 0)
                nv_golden_free(g);
        else if (!reason)
                abort();
        free(reason);
        return 0;
}
