/* SPDX-License-Identifier: Apache-2.0 */
/* NVSwitch evidence. Simulated: for each switch of the simulated board (cvmctl sim init
 * --switches N writes DIR/gpu/switch<i>/), a real-format report for the nonce bound to it
 * (proto_switch_nonce()), signed by that switch's simulated leaf key, with its chain. Real: an
 * NVSwitch is reached through NVIDIA's NSCQ library (libnvidia-nscq, with the fabric manager);
 * this agent has no NSCQ binding yet, so it says switch evidence is unavailable, and the host,
 * which asked for it, refuses the attestation: a board's switches are never taken on trust. */
#include <string.h>

#include "agent.h"
#include "cvm/switch-sim.h"
#include "cvm/util.h"

static int one_switch(const char *dir, uint32_t i, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev,
                      char **ret_reason) {
        _cleanup_(switch_sim_freep) SwitchSim *s = NULL;
        _cleanup_free_ char *sub = NULL;
        uint8_t switch_nonce[32];
        int r;

        r = switch_sim_board_dir(dir, i, &sub);
        if (r < 0)
                return r;
        r = switch_sim_load(sub, &s);
        if (r == -ENOENT)
                return set_reason(ret_reason, r, "NVSwitch %u was asked for, and the simulator in %s has no %s", i, dir,
                                  sub);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot load simulated NVSwitch %u from %s: %s", i, sub, strerror(-r));
        proto_switch_nonce(nonce, ev->pubkey, i, switch_nonce);
        r = switch_sim_report(s, switch_nonce, &ev->switch_reports[i].data, &ev->switch_reports[i].size);
        if (r >= 0)
                r = switch_sim_chain_pem(s, &ev->switch_chains[i].data, &ev->switch_chains[i].size);
        if (r < 0)
                return set_reason(ret_reason, r, "simulated NVSwitch %u: %s", i, strerror(-r));
        return 0;
}

int evidence_sim_switches(const char *dir, uint32_t n, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev,
                          char **ret_reason) {
        int r;

        if (n > PROTO_SWITCHES_MAX)
                return set_reason(ret_reason, -EINVAL, "%u NVSwitches asked for, at most %u are supported", n,
                                  PROTO_SWITCHES_MAX);
        for (uint32_t i = 0; i < n; i++) {
                ev->n_switches = i + 1; /* ev owns what is filled in */
                r = one_switch(dir, i, nonce, ev, ret_reason);
                if (r < 0)
                        return r;
        }
        ev->n_switches = n;
        return 0;
}

int switch_evidence_get(uint32_t n, char **ret_reason) {
        if (n == 0)
                return 0;
        return set_reason(ret_reason, -EOPNOTSUPP,
                          "%u NVSwitches asked for, and this agent cannot collect NVSwitch evidence (no NSCQ "
                          "support): refusing rather than sending evidence without them",
                          n);
}
