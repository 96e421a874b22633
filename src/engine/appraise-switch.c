/* SPDX-License-Identifier: Apache-2.0 */
/* NVSwitch evidence in the exchange (docs/nvswitch.md): when the launch passes NVSwitches through
 * (an HGX board in protected-PCIe mode), each switch's report against its chain (rooted where the
 * GPUs' are: NVIDIA's Device Identity CA, or a simulator root the policy names), its nonce
 * against the one derived from the exchange nonce and the guest's key, and the board's topology
 * against the GPU reports. All or nothing: one switch that fails leaves the evidence not
 * authentic, and the whole attestation is refused. */
#include <time.h>

#include "appraise-internal.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/nvswitch.h"
#include "cvm/util.h"

int appraise_switch_chains(const ExchangeEvidence *e, NvChain *chains[PROTO_SWITCHES_MAX]) {
        const ProtoMsg *m = e->msg;

        if (m->n_switches > PROTO_SWITCHES_MAX)
                return -EINVAL;
        for (size_t i = 0; i < m->n_switches; i++) {
                /* an unreadable chain stays NULL: its checks fail ("nvswitch<i>.chain", ".ocsp") */
                int r = nv_chain_new(m->switch_chains[i].data, m->switch_chains[i].size, &chains[i]);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

int appraise_switches(const AppraiseConfig *c, const ExchangeEvidence *e, const NvBoardAppraisal *b,
                      NvChain *const *chains, Verdict *v) {
        const ProtoMsg *m = e->msg;
        const NvReport *gpus[PROTO_GPUS_MAX] = {};
        NvSwitchInput in[PROTO_SWITCHES_MAX] = {};
        uint8_t nonces[PROTO_SWITCHES_MAX][NV_NONCE_SIZE] = {};
        _cleanup_free_ NvPin *pins = NULL;
        size_t n = m->n_switches, n_pins;
        bool authentic = false;
        int r;

        if (n > PROTO_SWITCHES_MAX || b->n_gpus > PROTO_GPUS_MAX)
                return -EINVAL;
        r = policy_gpu_pins(c->policy, &pins, &n_pins);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b->n_gpus; i++)
                gpus[i] = b->gpus[i].a.parsed ? &b->gpus[i].a.report : NULL;
        for (size_t i = 0; i < n; i++) {
                in[i] = (NvSwitchInput){.report = m->switch_reports[i].data,
                                        .report_size = m->switch_reports[i].size,
                                        .chain = chains[i]};
                /* a switch beyond those asked for has no nonce: all zero, which no report signs */
                if (i < e->switches_requested)
                        memcpy(nonces[i], e->switch_nonces[i], NV_NONCE_SIZE);
        }
        /* the switches the spec passes through, or as many as were asked for if more: never fewer */
        r = nv_switch_board_verify(gpus, b->n_gpus, in, n,
                                   c->gpu_switches > e->switches_requested ? c->gpu_switches : e->switches_requested,
                                   &(NvSwitchParams){.root_pins = pins,
                                                     .n_root_pins = n_pins,
                                                     .at = c->at ? c->at : (int64_t) time(NULL),
                                                     .nonces = (const uint8_t(*)[NV_NONCE_SIZE]) nonces},
                                   &authentic, v);
        if (r >= 0 && !authentic)
                v->authentic = false;
        return r < 0 ? r : 0;
}

int appraise_switches_ocsp(const AppraiseConfig *c, const ExchangeEvidence *e, NvChain *const *chains, int64_t at,
                           Verdict *v) {
        size_t n = e->msg->n_switches;

        if (n == 0)
                return 1;
        return nv_chains_ocsp(c->gpu_source, "nvswitch", chains, n, at, v);
}
