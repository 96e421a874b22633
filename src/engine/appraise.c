/* SPDX-License-Identifier: Apache-2.0 */
/* Appraising a guest's evidence for the exchange (include/cvm/appraise.h): the dispatcher.
 * Each TEE's appraisal lives in its own file (appraise-snp.c, ...). */
#include <openssl/crypto.h>
#include <time.h>

#include "appraise-internal.h"
#include "cvm/gpu.h"
#include "cvm/parallel.h"
#include "cvm/util.h"

void appraise_check_equal(Verdict *v, const char *name, const uint8_t *got, const uint8_t *want, size_t n,
                          const char *what) {
        if (CRYPTO_memcmp(got, want, n) == 0)
                verdict_check(v, name, CHECK_PASS, "%s", what);
        else
                verdict_check(v, name, CHECK_FAIL, "%s does not hold", what);
}

typedef struct CpuAppraisal {
        const AppraiseConfig *c;
        const ExchangeEvidence *e;
        Verdict *v;
        int r;
} CpuAppraisal;

static void appraise_cpu(void *userdata) {
        CpuAppraisal *a = userdata;

        if (a->e->msg->tee == CVM_TEE_SEV_SNP)
                a->r = appraise_snp(a->c, a->e, a->v);
        else if (a->e->msg->tee == CVM_TEE_TDX)
                a->r = appraise_tdx(a->c, a->e, a->v);
        else {
                verdict_check(a->v, "tee", CHECK_FAIL, "%s evidence cannot be appraised by this build",
                              cvm_tee_to_string(a->e->msg->tee) ?: "unknown");
                a->r = 0;
        }
}

/* The GPUs' device chains decoded and their links verified into the process's caches, on another
 * core while this one appraises the CPU evidence; appraise_gpus() then finds them done. Records
 * nothing: the verdict is the same with or without it. */
static void prepare_gpu_chains(void *userdata) {
        CpuAppraisal *a = userdata;
        int64_t at = a->c->at ? a->c->at : (int64_t) time(NULL);

        for (size_t i = 0; i < a->e->msg->n_gpus && i < PROTO_GPUS_MAX; i++)
                (void) nv_chain_prepare(a->e->msg->gpu_chains[i].data, a->e->msg->gpu_chains[i].size, at);
}

int appraise_evidence(void *userdata, const ExchangeEvidence *e, Verdict *v) {
        const AppraiseConfig *c = userdata;
        CpuAppraisal cpu = { .c = userdata, .e = e, .v = v };
        int r;

        v->authentic = v->accepted = false;
        if (!c->policy)
                return -EINVAL;
        parallel_beside(appraise_cpu, &cpu, e->msg->n_gpus > 0 ? prepare_gpu_chains : NULL, &cpu);
        r = cpu.r;
        if (r < 0)
                return r;
        /* GPU evidence is appraised when GPUs were asked for or sent, and when the policy requires
         * GPUs (gpu.gpu_count): a policy for an 8-GPU board never accepts a challenge for none. */
        if (e->gpus_requested > 0 || e->msg->n_gpus > 0 || e->switches_requested > 0 || e->msg->n_switches > 0 ||
            c->gpu_switches > 0 ||
            (policy_has_gpu(c->policy) && c->policy->gpu.gpu_count > 0)) {
                r = appraise_gpus(c, e, v);
                if (r < 0)
                        return r;
        }
        v->accepted = v->authentic && v->n_reasons == 0 && !v->oom;
        return 0;
}
