/* SPDX-License-Identifier: Apache-2.0 */
/* The firmware image parser (footer GUID table, SEV metadata, TDVF metadata) and the digests
 * computed from what it accepts: SEV-SNP launch measurement and TDX MRTD. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/snp-measure.h"
#include "cvm/tdx-measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const SnpKernelHashes kh = {};
        uint8_t mrtd[TDX_MR_SIZE];
        SnpMeasurement m;
        OvmfImage img;
        char *reason = NULL;

        if (ovmf_parse(data, size, OVMF_FOUR_GIB, OVMF_WANT_SEV | OVMF_WANT_TDVF, &img, &reason) >= 0)
                (void) tdx_mrtd(&img, mrtd, &reason);
        free(reason);
        reason = NULL;
        for (int with_kernel = 0; with_kernel < 2; with_kernel++) {
                SnpMeasureParams p = {
                        .vmm = SNP_VMM_QEMU,
                        .vcpus = 2,
                        .vcpu_sig = 0x800f12,
                        .guest_features = 1,
                        .firmware = data,
                        .firmware_size = size,
                        .kernel_hashes = with_kernel ? &kh : NULL,
                };
                (void) snp_measure(&p, &m, &reason);
                free(reason);
                reason = NULL;
        }
        return 0;
}
