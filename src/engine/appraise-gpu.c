/* SPDX-License-Identifier: Apache-2.0 */
/* GPU evidence in the exchange: each GPU's report against its chain (rooted at NVIDIA's Device
 * Identity CA or a simulator root the policy names), its nonce against the one derived from the
 * exchange nonce and the guest's key, its measurements against the golden list, then the
 * policy's gpu section. */
#include <string.h>
#include <time.h>

#include "appraise-internal.h"
#include "cvm/gpu.h"
#include "cvm/util.h"

int appraise_gpus(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v) {
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        NvChain *chains[PROTO_GPUS_MAX] = {};
        NvGpuInput in[PROTO_GPUS_MAX] = {};
        _cleanup_free_ NvPin *pins = NULL;
        const ProtoMsg *m = e->msg;
        bool cpu_authentic = v->authentic;
        NvBoardParams p = {};
        size_t n = m->n_gpus, n_pins;
        int r;

        if (n > PROTO_GPUS_MAX)
                return -EINVAL;
        if (n != e->gpus_requested)
                verdict_check(v, "gpu.count", CHECK_FAIL, "%zu GPU reports for the %u GPUs asked for", n,
                              e->gpus_requested);
        else
                verdict_check(v, "gpu.count", CHECK_PASS, "one report and chain for each of the %u GPUs asked for",
                              e->gpus_requested);
        r = policy_gpu_pins(c->policy, &pins, &n_pins);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                r = nv_chain_new(m->gpu_chains[i].data, m->gpu_chains[i].size, &chains[i]);
                if (r == -ENOMEM)
                        goto finish;
                if (r < 0) {
                        chains[i] = NULL; /* nv_verify() records the failed "gpu<i>.chain" check */
                        r = 0;
                }
                in[i] = (NvGpuInput){
                        .report = m->gpu_reports[i].data, .report_size = m->gpu_reports[i].size, .chain = chains[i]};
        }
        p.gpu = (NvVerifyParams){.root_pins = pins, .n_root_pins = n_pins, .at = c->at ? c->at : (int64_t) time(NULL)};
        p.nonces = (const uint8_t(*)[NV_NONCE_SIZE]) e->gpu_nonces;
        p.golden = c->gpu_golden;
        r = nv_verify_gpus(in, n, &p, &b, v);
        if (r < 0)
                goto finish;
        /* nv_verify_gpus() sets v->authentic for the GPUs alone: the evidence is authentic only when
         * the CPU's and every GPU's is. */
        v->authentic = cpu_authentic && b.authentic && !v->oom;
        policy_evaluate_gpu(c->policy, &b, v);
        r = 0;
finish:
        for (size_t i = 0; i < n; i++)
                nv_chain_free(chains[i]);
        return r;
}
