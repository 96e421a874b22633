/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The appraisal the host runs on a guest's Evidence: the TEE verifier with the policy's trust
 * anchors, the bindings (REPORT_DATA from the nonce and the guest's key, each GPU's nonce, the
 * launch digest in HOST_DATA), the GPU count, then the policy. Used by the exchange. */

#include <stdint.h>

#include "cvm/exchange.h"
#include "cvm/policy.h"

typedef struct AppraiseConfig {
        const Policy *policy; /* required: no policy, no keys */
        int64_t at;           /* verification time; 0 = now */
        bool has_launch_digest;
        uint8_t launch_digest[48]; /* SNP HOST_DATA is its first 32 bytes; TDX MRCONFIGID all 48 */
        struct TdxCollateral *tdx_collateral; /* TDX: the loaded bundle (pcs_collateral_load_dir());
                                               * NULL: TDX evidence is refused */
        const struct NvGolden *gpu_golden; /* GPUs: the golden measurements (nv_golden_parse()); NULL: the
                                            * measurements are not checked, which the policy's default
                                            * gpu.require_measurements refuses */
} AppraiseConfig;

/* An ExchangeHost.appraise callback; userdata is an AppraiseConfig. */
int appraise_evidence(void *userdata, const ExchangeEvidence *e, Verdict *v);
