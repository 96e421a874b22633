/* SPDX-License-Identifier: Apache-2.0 */
/* "measurements": "predicted" (snp) and "mrtds": "predicted" (tdx): instead of a list of
 * digests, the one value the launch computed from the files it booted (launch-predict.h). The
 * policy only says that the prediction is the rule; the appraisal hands the value in. */
#include <string.h>

#include "cvm/util.h"
#include "policy-internal.h"

int policy_read_digest_list_or_predicted(json_object *v, const char *path, PolicyDigestList *ret,
                                         bool *ret_predicted, char **reason) {
        /* any other string is refused by the list's reader, as it always was */
        if (!json_object_is_type(v, json_type_string) || !streq(json_object_get_string(v), "predicted"))
                return policy_read_digest_list(v, path, 48, ret, reason);
        *ret_predicted = true;
        return 0;
}

void policy_eval_predicted(Verdict *v, const char *section, const char *rule, const char *field,
                           const uint8_t got[48], const uint8_t *predicted) {
        char h1[97], h2[97];

        if (!predicted)
                verdict_reason(v, "policy.%s.%s: \"predicted\", and no %s was predicted for this guest (only a launch "
                               "predicts it, from the files it boots), so %s %s cannot be accepted",
                               section, rule, field, field, policy_hex(got, 48, h1));
        else if (memcmp(got, predicted, 48) != 0)
                verdict_reason(v, "policy.%s.%s: %s %s differs from the %s predicted at launch from the files "
                               "booted, %s", section, rule, field, policy_hex(got, 48, h1), field,
                               policy_hex(predicted, 48, h2));
}
