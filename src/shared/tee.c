/* SPDX-License-Identifier: Apache-2.0 */
/* TEE names (include/cvm/tee.h). */
#include "cvm/macro.h"
#include "cvm/tee.h"

static const char *const tee_names[_CVM_TEE_MAX] = {
        [CVM_TEE_SEV_SNP] = "sev-snp",
        [CVM_TEE_TDX] = "tdx",
        [CVM_TEE_NONE] = "none",
};

const char *cvm_tee_to_string(CvmTee t) {
        return t >= 0 && t < _CVM_TEE_MAX ? tee_names[t] : NULL;
}

CvmTee cvm_tee_from_string(const char *s) {
        for (int i = 0; s && i < _CVM_TEE_MAX; i++)
                if (streq(s, tee_names[i]))
                        return (CvmTee) i;
        return _CVM_TEE_INVALID;
}
