/* SPDX-License-Identifier: Apache-2.0 */
/* Simulated GPU evidence: for each GPU of the simulated board (cvmctl sim init's gpu/), its
 * guest PCI address and CC mode, and a real-format NVIDIA attestation report for the nonce bound
 * to them, signed by that GPU's simulated leaf key, with its five-certificate chain. Verifiers
 * trust it only when a policy names the simulator's root ("gpu.trusted_simulator_roots"). */
#include <string.h>

#include "agent.h"
#include "cvm/gpu-sim.h"
#include "cvm/util.h"

static int one_gpu(const char *dir, uint32_t i, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev,
                   char **ret_reason) {
        _cleanup_(gpu_sim_freep) GpuSim *s = NULL;
        _cleanup_free_ char *sub = NULL;
        uint8_t gpu_nonce[32];
        int r;

        r = gpu_sim_board_gpu_dir(dir, i, &sub);
        if (r < 0)
                return r;
        r = gpu_sim_load(sub, &s);
        if (r == -ENOENT)
                return set_reason(ret_reason, r, "GPU %u was asked for, and the simulator in %s has no %s", i, dir, sub);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot load simulated GPU %u from %s: %s", i, sub, strerror(-r));
        memcpy(ev->gpu_pci[i], s->pci_address, sizeof(ev->gpu_pci[i]));
        ev->gpu_cc[i] = s->cc_mode;
        proto_gpu_nonce(nonce, ev->pubkey, i, ev->gpu_pci[i], ev->gpu_cc[i], gpu_nonce);
        r = gpu_sim_report(s, gpu_nonce, &ev->gpu_reports[i].data, &ev->gpu_reports[i].size);
        if (r >= 0)
                r = gpu_sim_chain_pem(s, &ev->gpu_chains[i].data, &ev->gpu_chains[i].size);
        if (r < 0)
                return set_reason(ret_reason, r, "simulated GPU %u: %s", i, strerror(-r));
        return 0;
}

int evidence_sim_gpus(const char *dir, uint32_t n, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev,
                      char **ret_reason) {
        int r;

        if (n > PROTO_GPUS_MAX)
                return set_reason(ret_reason, -EINVAL, "%u GPUs asked for, at most %u are supported", n, PROTO_GPUS_MAX);
        for (uint32_t i = 0; i < n; i++) {
                /* ev owns what is filled in: proto_msg_done() frees it on failure */
                ev->n_gpus = i + 1;
                r = one_gpu(dir, i, nonce, ev, ret_reason);
                if (r < 0)
                        return r;
        }
        ev->n_gpus = n;
        return 0;
}
