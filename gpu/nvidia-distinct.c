/* SPDX-License-Identifier: Apache-2.0 */
/* One device per GPU: several reports signed by one device would let one GPU stand in for a
 * board. The device is its leaf key (per device, in the per-device BROM CA's certificate), not
 * its FWID (the firmware's digest, shared by every GPU that runs the same firmware). */
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/util.h"

int nv_board_distinct(const NvGpuInput *gpus, size_t n, Verdict *v) {
        _cleanup_free_ uint8_t(*keys)[32] = calloc(n ? n : 1, 32);
        _cleanup_free_ bool *have = calloc(n ? n : 1, sizeof(bool));

        if (!keys || !have)
                return -ENOMEM;
        if (n < 2) {
                verdict_check(v, "gpu.distinct", CHECK_SKIP, "one GPU: nothing to tell apart");
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                X509 *leaf = gpus[i].chain ? nv_chain_leaf(gpus[i].chain) : NULL;
                int r = leaf ? x509_spki_sha256(leaf, keys[i]) : -ENOENT;

                if (r == -ENOMEM)
                        return r;
                have[i] = r >= 0;
        }
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < i; k++)
                        if (have[i] && have[k] && memcmp(keys[i], keys[k], 32) == 0) {
                                verdict_check(v, "gpu.distinct", CHECK_FAIL,
                                              "GPU %zu and GPU %zu are one device: their reports are signed by the same "
                                              "device key, so one GPU answers for several",
                                              k, i);
                                return 0;
                        }
        verdict_check(v, "gpu.distinct", CHECK_PASS, "no two of the %zu GPU reports are signed by one device key", n);
        return 0;
}
