/* SPDX-License-Identifier: Apache-2.0 */
/* VerifyEvidence: the appraisal a launch runs, for evidence another tool collected (no VM, no
 * keys released, nothing recorded). It runs on the loop, as a launch's appraisal does, with the
 * host's collateral provider in its non-blocking mode: collateral that is not cached yet is
 * fetched off the loop while the caller is told to try again. */
#include <errno.h>
#include <string.h>

#include "cvm/appraise.h"
#include "cvm/collateral.h"
#include "cvm/evidence-request.h"
#include "cvm/util.h"
#include "cvmd-internal.h"

int manager_verify_evidence(Manager *m, const char *request, const char *policy_name, json_object **ret,
                            char **ret_reason) {
        _cleanup_(evidence_request_done) EvidenceRequest req = {};
        _cleanup_(verdict_done) Verdict v = {};
        AppraiseConfig c;
        NvSource gpu_source;
        const Policy *p;
        int r;

        p = m->policies ? policy_set_find(m->policies, policy_name) : NULL;
        if (!p)
                return set_reason(ret_reason, -ENOENT, "policy: no policy named '%s' is loaded", policy_name);
        r = evidence_request_parse(request, strlen(request), &req, ret_reason);
        if (r < 0)
                return r;
        c = (AppraiseConfig) {
                .policy = p,
                .at = req.at,
                .has_launch_digest = req.has_launch_digest,
                .collateral = m->settings.collateral,
                .gpu_golden = m->settings.gpu_golden, /* GPUs: the golden list launches use */
        };
        /* GPUs: RIMs and OCSP answers from the host-wide provider, as a launch's appraisal gets them */
        if (m->settings.collateral) {
                collateral_gpu_source(m->settings.collateral, m->settings.nvidia_rim_url, m->settings.nvidia_ocsp_url,
                                      &gpu_source);
                c.gpu_source = &gpu_source;
        }
        memcpy(c.launch_digest, req.launch_digest, sizeof(c.launch_digest));
        r = verdict_init(&v, cvm_tee_to_string(req.msg.tee));
        if (r < 0)
                return r;
        r = appraise_evidence(&c, &req.binding, &v);
        if (r == -EINPROGRESS)
                return set_reason(ret_reason, r, "collateral this evidence needs is being fetched: try again shortly");
        if (r < 0)
                return set_reason(ret_reason, r, "the appraisal failed: %s", strerror(-r));
        *ret = verdict_to_json(&v);
        return *ret ? 0 : -ENOMEM;
}
