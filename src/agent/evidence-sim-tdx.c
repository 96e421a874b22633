/* SPDX-License-Identifier: Apache-2.0 */
/* Simulated TDX evidence: a real-format quote v4 from the simulator's attestation key, its QE
 * report signed by the simulator's PCK key, the simulated PCK chain inside. Verifiers trust it
 * only when a policy names the simulator's root ("tdx.trusted_simulator_roots"). */
#include <string.h>

#include "agent.h"
#include "cvm/sim-boot.h"
#include "cvm/tdx-sim.h"
#include "cvm/util.h"

/* The MRTD of the firmware the simulated VMM booted, when the simulator directory holds the
 * domain XML the launch defined (sim-boot.h); otherwise the template's fixed value stays. */
static int booted_mrtd(const char *dir, uint8_t mrtd[48], char **ret_reason) {
        _cleanup_(sim_boot_done) SimBoot b = {};
        int r = sim_boot_load(dir, &b, ret_reason);

        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = sim_boot_tdx_mrtd(&b, mrtd, ret_reason);
        return r;
}

int evidence_sim_tdx(const char *dir, const uint8_t mrconfigid[48], const uint8_t (*rtmr)[48],
                     const uint8_t report_data[64], ProtoBlob *ret_report, char **ret_reason) {
        _cleanup_(tdx_sim_freep) TdxSim *s = NULL;
        _cleanup_free_ TdxQuote *q = calloc(1, sizeof(TdxQuote));
        uint8_t *quote;
        size_t size;
        int r;

        if (!q)
                return -ENOMEM;
        r = tdx_sim_load(dir, &s);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot load the TDX simulator from %s: %s", dir, strerror(-r));
        r = tdx_sim_quote_template(s, 4, q);
        if (r < 0)
                return set_reason(ret_reason, r, "simulator quote template: %s", strerror(-r));
        memcpy(q->report_data, report_data, 64);
        memcpy(q->mrconfigid, mrconfigid, 48);
        r = booted_mrtd(dir, q->mrtd, ret_reason);
        if (r < 0)
                return r;
        /* the simulated TD's registers: the replay of its firmware's log and its RTMR3 */
        if (rtmr)
                memcpy(q->rtmr, rtmr, sizeof(q->rtmr));
        r = tdx_sim_quote_sign(s, q, &quote, &size);
        if (r < 0)
                return set_reason(ret_reason, r, "simulator signing: %s", strerror(-r));
        *ret_report = (ProtoBlob) { .data = quote, .size = size };
        return 0;
}
