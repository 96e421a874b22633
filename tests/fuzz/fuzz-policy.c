/* SPDX-License-Identifier: Apache-2.0 */
/* The policy file parser: strict JSON front end, duplicate-key scan, every section, and the
 * evaluation and anchor list of whatever parsed. */
#include <stdint.h>
#include <string.h>

#include "cvm/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *reason = NULL;
        _cleanup_free_ SnpAnchor *anchors = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        SnpAppraisal a = { .parsed = true };
        size_t n;

        if (policy_parse((const char *) data, size, &p, &reason) < 0)
                return 0;
        /* A parsed policy is usable: evaluating it and listing its anchors must not fail. */
        (void) policy_snp_anchors(p, &anchors, &n);
        if (verdict_init(&v, "sev-snp") == 0)
                policy_evaluate_snp(p, &a, &v);
        return 0;
}
