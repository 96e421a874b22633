/* SPDX-License-Identifier: Apache-2.0 */
/* The CC event log of the simulated TDX guest: what TDVF and the Linux EFI stub would write
 * into the CCEL log area for a direct boot, in the TCG2 crypto-agile format (a Spec ID event
 * declaring SHA-384, then TCG_PCR_EVENT2 records): the firmware configuration into RTMR0, the
 * separators, the kernel image into RTMR1, the command line and the initrd as the stub's tagged
 * events into RTMR2. The simulated quote's RTMRs are the replay of this log (agent-eventlog.c),
 * so an honest simulated guest's log agrees with its quote. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "eventlog-write.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"
#include "cvm/workload-event.h"

#define TCG_EV_EFI_PLATFORM_FIRMWARE_BLOB2 UINT32_C(0x8000000a)
#define TCG_EV_EFI_VARIABLE_DRIVER_CONFIG  UINT32_C(0x80000001)

static void sha384(const void *p, size_t n, uint8_t ret[TDX_MR_SIZE]) {
        (void) EVP_Digest(p, n, ret, NULL, EVP_sha384(), NULL);
}

/* An event whose digest is the SHA-384 of its own data. */
static void put_hashed(LogBuf *b, uint32_t mr_index, uint32_t type, const void *data, uint32_t size) {
        uint8_t d[TDX_MR_SIZE];

        sha384(data, size, d);
        logbuf_event(b, mr_index, type, d, data, size);
}

/* The stub measures LoadOptions as the firmware holds them: UTF-16LE with its NUL. The
 * simulated command line is ASCII. */
static int cmdline_digest(const char *cmdline, uint8_t ret[TDX_MR_SIZE]) {
        size_t n = strlen(cmdline) + 1;
        _cleanup_free_ uint8_t *u = calloc(n, 2);

        if (!u)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                u[2 * i] = (uint8_t) cmdline[i];
        sha384(u, 2 * n, ret);
        return 0;
}

void eventlog_sim_boot_default(SimFirmwareBoot *ret) {
        *ret = (SimFirmwareBoot) { .cmdline = "console=hvc0", .has_initrd = true };
        sha384("cvmd simulated kernel", strlen("cvmd simulated kernel"), ret->kernel);
        sha384("cvmd simulated initrd", strlen("cvmd simulated initrd"), ret->initrd);
}

int eventlog_sim_firmware(const SimFirmwareBoot *boot, uint8_t **ret, size_t *ret_size) {
        static const char fw[] = "cvmd simulated TDVF configuration";
        static const uint8_t separator[4];
        /* UEFI_IMAGE_LOAD_EVENT of the kernel: location, length, link-time address, no path */
        static const uint8_t image_load[32];
        uint8_t cmd[TDX_MR_SIZE];
        LogBuf b = {};

        if (cmdline_digest(boot->cmdline ? boot->cmdline : "", cmd) < 0)
                return -ENOMEM;
        logbuf_spec_id(&b);
        put_hashed(&b, 1, TCG_EV_EFI_PLATFORM_FIRMWARE_BLOB2, fw, sizeof(fw));
        put_hashed(&b, 1, TCG_EV_EFI_VARIABLE_DRIVER_CONFIG, "SecureBoot=0", 12);
        for (uint32_t mr = 1; mr <= 3; mr++)
                put_hashed(&b, mr, TCG_EV_SEPARATOR, separator, sizeof(separator));
        logbuf_event(&b, CC_MR_INDEX_RTMR1, TCG_EV_EFI_BOOT_SERVICES_APPLICATION, boot->kernel, image_load,
                     sizeof(image_load));
        logbuf_tagged(&b, CC_MR_INDEX_RTMR2, LINUX_LOAD_OPTIONS_EVENT_TAG, cmd, "LOADED_IMAGE::LoadOptions");
        if (boot->has_initrd)
                logbuf_tagged(&b, CC_MR_INDEX_RTMR2, LINUX_INITRD_EVENT_TAG, boot->initrd, "Linux initrd");
        if (b.oom) {
                free(b.p);
                return -ENOMEM;
        }
        *ret = b.p;
        *ret_size = b.n;
        return 0;
}
