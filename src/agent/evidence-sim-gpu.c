/* SPDX-License-Identifier: Apache-2.0 */
/* Simulated GPU evidence: for each GPU a real-format NVIDIA attestation report for its nonce,
 * signed by the simulator's leaf key, with the simulated five-certificate chain. Verifiers trust
 * it only when a policy names the simulator's root ("gpu.trusted_simulator_roots"). */
#include <string.h>

#include "agent.h"
#include "cvm/gpu-sim.h"
#include "cvm/util.h"

int evidence_sim_gpus(const char *dir, uint32_t n, const uint8_t nonces[][32], ProtoBlob *ret_reports,
                      ProtoBlob *ret_chains, char **ret_reason) {
        _cleanup_(gpu_sim_freep) GpuSim *s = NULL;
        ProtoBlob reports[PROTO_GPUS_MAX] = {}, chains[PROTO_GPUS_MAX] = {};
        int r;

        if (n == 0)
                return 0;
        if (n > PROTO_GPUS_MAX)
                return set_reason(ret_reason, -EINVAL, "%u GPUs asked for, at most %u are supported", n,
                                  PROTO_GPUS_MAX);
        r = gpu_sim_load(dir, &s);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot load the GPU simulator from %s: %s", dir, strerror(-r));
        for (uint32_t i = 0; i < n; i++) {
                r = gpu_sim_report(s, nonces[i], &reports[i].data, &reports[i].size);
                if (r >= 0)
                        r = gpu_sim_chain_pem(s, &chains[i].data, &chains[i].size);
                if (r < 0) {
                        for (uint32_t k = 0; k <= i; k++) {
                                free(reports[k].data);
                                free(chains[k].data);
                        }
                        return set_reason(ret_reason, r, "simulated GPU %u: %s", i, strerror(-r));
                }
        }
        memcpy(ret_reports, reports, n * sizeof(ProtoBlob));
        memcpy(ret_chains, chains, n * sizeof(ProtoBlob));
        return 0;
}
