/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What a simulated hypervisor booted. Real hardware measures the firmware, kernel, initrd and
 * command line a guest is given; a simulated guest whose simulator directory holds the libvirt
 * domain XML the launch defined (SIM_BOOT_XML) does the same: its report's MEASUREMENT (or its
 * quote's MRTD) is computed from that XML's <os> files and <vcpu> count with the attest/measure
 * code, so a guest booted with other files or another command line attests another value.
 * Without the file the simulator's fixed values stand. */

#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"

#define SIM_BOOT_XML "domain.xml"
#define SIM_BOOT_XML_MAX (1024u * 1024u)

typedef struct SimBoot {
        char *firmware; /* <os><loader> text; NULL when the domain names none */
        char *kernel;   /* <os><kernel>, <initrd>, <cmdline>; NULL when absent */
        char *initrd;
        char *cmdline;
        unsigned vcpus; /* <vcpu> */
} SimBoot;

/* Parses a domain XML (at most SIM_BOOT_XML_MAX bytes, no network, no entities): -EBADMSG with
 * a reason naming the element when it is malformed or lacks <os> or a valid <vcpu>. */
int sim_boot_parse(const char *xml, size_t size, SimBoot *ret, char **ret_reason);
/* <dir>/SIM_BOOT_XML, parsed: 0, -ENOENT when there is none, or an error with a reason. */
int sim_boot_load(const char *dir, SimBoot *ret, char **ret_reason);
void sim_boot_done(SimBoot *b);

/* The SEV-SNP MEASUREMENT of a QEMU guest booted so (vCPUs of signature vcpu_sig, SEV_FEATURES
 * SNPActive), and the TDX MRTD of its firmware; -EINVAL with a reason when there is no firmware
 * or it cannot be measured. */
int sim_boot_snp_measurement(const SimBoot *b, uint32_t vcpu_sig, uint8_t ret[48], char **ret_reason);
int sim_boot_tdx_mrtd(const SimBoot *b, uint8_t ret[48], char **ret_reason);
