/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated hypervisor's boot (sim_boot_parse(): a libvirt domain XML's <os> files and
 * <vcpu>): whatever parses holds a vCPU count in range and no initrd or command line without a
 * kernel. Nothing is read from the paths it names. */
#include <stdint.h>

#include "cvm/sim-boot.h"
#include "cvm/snp-measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sim_boot_done) SimBoot b = {};
        _cleanup_free_ char *reason = NULL;

        if (sim_boot_parse((const char *) data, size, &b, &reason) < 0) {
                if (!reason)
                        __builtin_trap();
                return 0;
        }
        if (b.vcpus == 0 || b.vcpus > SNP_VCPUS_MAX || (!b.kernel && (b.initrd || b.cmdline)))
                __builtin_trap();
        return 0;
}
