/* SPDX-License-Identifier: Apache-2.0 */
/* Appraising a guest's evidence for the exchange (include/cvm/appraise.h): the dispatcher.
 * Each TEE's appraisal lives in its own file (appraise-snp.c, ...). */
#include <openssl/crypto.h>

#include "appraise-internal.h"
#include "cvm/util.h"

void appraise_check_equal(Verdict *v, const char *name, const uint8_t *got, const uint8_t *want, size_t n,
                          const char *what) {
        if (CRYPTO_memcmp(got, want, n) == 0)
                verdict_check(v, name, CHECK_PASS, "%s", what);
        else
                verdict_check(v, name, CHECK_FAIL, "%s does not hold", what);
}

int appraise_evidence(void *userdata, const ExchangeEvidence *e, Verdict *v) {
        const AppraiseConfig *c = userdata;
        int r;

        v->authentic = v->accepted = false;
        if (!c->policy)
                return -EINVAL;
        if (e->msg->tee == CVM_TEE_SEV_SNP)
                r = appraise_snp(c, e, v);
        else if (e->msg->tee == CVM_TEE_TDX)
                r = appraise_tdx(c, e, v);
        else {
                verdict_check(v, "tee", CHECK_FAIL, "%s evidence cannot be appraised by this build",
                              cvm_tee_to_string(e->msg->tee) ?: "unknown");
                r = 0;
        }
        if (r < 0)
                return r;
        /* GPU evidence is appraised when GPUs were asked for or sent, and when the policy requires
         * GPUs (gpu.gpu_count): a policy for an 8-GPU board never accepts a challenge for none. */
        if (e->gpus_requested > 0 || e->msg->n_gpus > 0 ||
            (policy_has_gpu(c->policy) && c->policy->gpu.gpu_count > 0)) {
                r = appraise_gpus(c, e, v);
                if (r < 0)
                        return r;
        }
        v->accepted = v->authentic && v->n_reasons == 0 && !v->oom;
        return 0;
}
