/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The events of a TDX CC event log that say what booted and what runs, as the guest writes them
 * and the appraisal (src/engine/appraise-eventlog.c) recognises them. All are TCG_PCR_EVENT2
 * records (TCG PC Client PFP) whose SHA-384 digest is what was extended:
 *   kernel   RTMR1 (MR index 2), EV_EFI_BOOT_SERVICES_APPLICATION: the last image the firmware
 *            loaded, which on a direct or UKI boot is the kernel (PE/Authenticode digest)
 *   initrd   RTMR2 (MR index 3), EV_EVENT_TAG with the Linux EFI stub's tag 0x8F3B22ED
 *   cmdline  RTMR2, EV_EVENT_TAG with the stub's LoadOptions tag 0x8F3B22EE, or EV_IPL whose
 *            data starts "kernel_cmdline:" (GRUB)
 *   workload RTMR3 (MR index 4), EV_EVENT_TAG with cvm-agent's tag CVM_WORKLOAD_EVENT_TAG, data
 *            the description given to `cvm-agent measure-workload`; digest the workload's
 *            SHA-384, extended as is.
 * The tagged event data is TCG_PCClientTaggedEvent: le32 ID, le32 size, that many bytes. */

#include <stdint.h>

#define TCG_EV_EVENT_TAG                     UINT32_C(0x6)
#define TCG_EV_IPL                           UINT32_C(0xd)
#define TCG_EV_EFI_BOOT_SERVICES_APPLICATION UINT32_C(0x80000003)
#define LINUX_INITRD_EVENT_TAG               UINT32_C(0x8F3B22ED)
#define LINUX_LOAD_OPTIONS_EVENT_TAG         UINT32_C(0x8F3B22EE)
#define CVM_WORKLOAD_EVENT_TAG               UINT32_C(0x63766d77) /* "cvmw" */
#define GRUB_CMDLINE_PREFIX                  "kernel_cmdline:"

#define CC_MR_INDEX_RTMR1 2u
#define CC_MR_INDEX_RTMR2 3u
#define CC_MR_INDEX_RTMR3 4u

/* The longest workload description the agent logs. */
#define WORKLOAD_DESCRIPTION_MAX 256u
