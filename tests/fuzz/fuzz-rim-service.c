/* SPDX-License-Identifier: Apache-2.0 */
/* A response body from NVIDIA's RIM service ({"id": ..., "rim": "<base64 XML>", ...}) as
 * nv_rim_service_decode() takes it apart, for the id asked for and for another. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/nvidia-fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const ids[] = {"NV_GPU_DRIVER_GH100_550.90.07", "NV_GPU_VBIOS_1010_0200_882_96009F0001"};

        for (size_t i = 0; i < 2; i++) {
                uint8_t *xml = NULL;
                char *error = NULL;
                size_t n;

                if (nv_rim_service_decode(data, size, ids[i], &xml, &n, &error) >= 0)
                        free(xml);
                free(error);
        }
        return 0;
}
