/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The trusted execution environment a guest runs in. An enum everywhere in the code; spelled as
 * a string only on the guest channel, in JSON and in messages ("sev-snp", "tdx", "none"). The
 * order matches the launch spec's, so a spec's TEE and an exchange's are the same value. */

#include <errno.h>
#include <stdbool.h>

typedef enum CvmTee {
        CVM_TEE_SEV_SNP,
        CVM_TEE_TDX,
        CVM_TEE_NONE, /* no TEE: development launches only, never on the guest channel */
        _CVM_TEE_MAX,
        _CVM_TEE_INVALID = -EINVAL,
} CvmTee;

/* NULL for a value out of range. */
const char *cvm_tee_to_string(CvmTee t);
/* _CVM_TEE_INVALID for anything but the spellings above (and for NULL). */
CvmTee cvm_tee_from_string(const char *s);

/* Whether the TEE makes evidence, i.e. may be asked for on the guest channel. */
static inline bool cvm_tee_has_evidence(CvmTee t) {
        return t == CVM_TEE_SEV_SNP || t == CVM_TEE_TDX;
}
