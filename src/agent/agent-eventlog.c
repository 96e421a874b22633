/* SPDX-License-Identifier: Apache-2.0 */
/* The CPU evidence together with what was measured (agent.h, evidence_get_measured()): the
 * runtime log is read under a shared lock held until the report exists, so the log and the
 * register (TDX RTMR3) or REPORT_DATA (SEV-SNP) describe the same set of workloads. */
#include <string.h>

#include <openssl/evp.h>

#include "agent.h"
#include "cvm/measure-files.h"
#include "cvm/sim-boot.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"

/* What the simulated hypervisor booted: the <os> files of the domain XML in the simulator
 * directory when the launch left one there (sim-boot.h), each measured as the SHA-384 of its
 * contents (real firmware extends the kernel's PE/Authenticode digest), else fixed values; then
 * --sim-cmdline. The strings point into *xml. */
static int sim_boot_values(const AgentConfig *c, SimBoot *xml, SimFirmwareBoot *ret, char **ret_reason) {
        int r;

        eventlog_sim_boot_default(ret);
        r = sim_boot_load(c->sim_dir, xml, ret_reason);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && xml->kernel) {
                r = measure_file_digest(xml->kernel, EVP_sha384(), ret->kernel, ret_reason);
                ret->has_initrd = xml->initrd != NULL;
                if (r >= 0 && xml->initrd)
                        r = measure_file_digest(xml->initrd, EVP_sha384(), ret->initrd, ret_reason);
                if (r < 0)
                        return r;
                ret->cmdline = xml->cmdline ? xml->cmdline : "";
        }
        if (c->sim_cmdline)
                ret->cmdline = c->sim_cmdline;
        return 0;
}

/* The simulated TD: the log its firmware wrote (claiming sim_log_cmdline when set, to simulate
 * a guest whose log lies) and the registers the honest boot left: RTMR0-2 the replay of the
 * firmware log of what really booted, RTMR3 the simulated register. */
static int sim_tdx_boot(const AgentConfig *c, uint8_t **ret_log, size_t *ret_size, uint8_t rtmr[4][48],
                        char **ret_reason) {
        _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
        _cleanup_(sim_boot_done) SimBoot xml = {};
        _cleanup_free_ uint8_t *honest = NULL;
        SimFirmwareBoot boot;
        size_t size;
        int r;

        r = sim_boot_values(c, &xml, &boot, ret_reason);
        if (r < 0)
                return r;
        r = eventlog_sim_firmware(&boot, &honest, &size);
        if (r < 0)
                return r;
        r = cc_eventlog_parse(honest, size, &log, ret_reason);
        if (r < 0)
                return r;
        memcpy(rtmr, log->rtmr, 4 * 48);
        r = sim_rtmr3_read(c->runtime_dir, rtmr[3]);
        if (r < 0)
                return set_reason(ret_reason, r, "the simulated RTMR3 in %s: %s", c->runtime_dir, strerror(-r));
        if (c->sim_log_cmdline) {
                boot.cmdline = c->sim_log_cmdline;
                return eventlog_sim_firmware(&boot, ret_log, ret_size);
        }
        *ret_log = TAKE_PTR(honest);
        *ret_size = size;
        return 0;
}

/* The firmware's log followed by the runtime records, into ev->eventlog. */
static int join_logs(uint8_t *firmware, size_t size, const WorkloadLog *wl, ProtoMsg *ev, char **ret_reason) {
        size_t extra = wl->size - wl->records, total = size + extra;
        uint8_t *p;

        if (total > PROTO_EVENTLOG_MAX)
                return set_reason(ret_reason, -EFBIG,
                                  "the event log takes %zu bytes, more than the %u the protocol carries", total,
                                  PROTO_EVENTLOG_MAX);
        p = realloc(firmware, total ? total : 1);
        if (!p)
                return -ENOMEM;
        if (extra > 0)
                memcpy(p + size, wl->data + wl->records, extra);
        ev->eventlog = (ProtoBlob){.data = p, .size = total};
        return 0;
}

int evidence_get_measured(const AgentConfig *c, CvmTee tee, const uint8_t base_report_data[64], ProtoMsg *ev,
                          char **ret_reason) {
        _cleanup_(workload_log_close) WorkloadLog wl = {.lock_fd = -1};
        _cleanup_free_ uint8_t *firmware = NULL;
        uint8_t report_data[64], rtmr[4][48];
        bool sim = c->source == EVIDENCE_SIM_TDX;
        size_t size = 0;
        int r;

        r = workload_log_open(c->runtime_dir, &wl, ret_reason);
        if (r < 0)
                return r;
        if (tee != CVM_TEE_TDX) {
                /* no runtime register: the digests are bound into REPORT_DATA */
                proto_report_data_workloads(base_report_data, wl.digests, wl.n, report_data);
                r = evidence_get(c, tee, report_data, NULL, &ev->report, &ev->cert_table, ret_reason);
                if (r < 0 || wl.n == 0)
                        return r;
                ev->workload_digests.data = TAKE_PTR(wl.digests);
                ev->workload_digests.size = wl.n * PROTO_WORKLOAD_DIGEST_SIZE;
                return 0;
        }
        if (sim)
                r = sim_tdx_boot(c, &firmware, &size, rtmr, ret_reason);
        else {
                _cleanup_free_ char *why = NULL;
                r = eventlog_read_ccel(c->acpi_dir, &firmware, &size, &why);
                /* without the firmware's log nothing can be replayed: none is sent */
                if (r == -ENOENT)
                        r = 0;
                else if (r < 0)
                        return set_reason(ret_reason, r, "%s", why ? why : strerror(-r));
        }
        if (r < 0)
                return r;
        r = evidence_get(c, tee, base_report_data, sim ? (const uint8_t(*)[48]) rtmr : NULL, &ev->report,
                         &ev->cert_table, ret_reason);
        if (r < 0 || !firmware)
                return r;
        r = join_logs(firmware, size, &wl, ev, ret_reason);
        if (r >= 0)
                firmware = NULL; /* now ev->eventlog */
        return r;
}
