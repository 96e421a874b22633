/* SPDX-License-Identifier: Apache-2.0 */
/* What a launch can know is wrong before it defines a domain: a policy other than the one the
 * spec names, a key that is not in the key store, a KEK that cannot be opened. Without these
 * checks such a launch would boot a VM, attest it, and only then fail at unwrap. */
#include <errno.h>
#include <string.h>

#include "cvm/kek.h"
#include "cvm/key-bundle.h"
#include "cvm/keystore.h"
#include "cvm/launch-checks.h"
#include "cvm/util.h"

int launch_check_policy(const LaunchSpec *spec, const Policy *policy, char **ret_reason) {
        if (!policy)
                return set_reason(ret_reason, -EINVAL, "policy: no policy is loaded");
        /* A policy without a name cannot show it is the one the spec asks for. */
        if (!policy->name)
                return set_reason(ret_reason, -EINVAL,
                                  "policy: the spec names policy '%s', the policy given has no \"name\"", spec->policy);
        if (!streq(policy->name, spec->policy))
                return set_reason(ret_reason, -EINVAL, "policy: the spec names policy '%s', the policy given is '%s'",
                                  spec->policy, policy->name);
        return 0;
}

int launch_check_keys(const char *keys_dir, char *const *key_ids, size_t n_key_ids, char **ret_reason) {
        for (size_t i = 0; i < n_key_ids; i++) {
                _cleanup_(kek_freep) Kek *kek = NULL;
                _cleanup_free_ char *why = NULL;
                KeyEnvelope e = {};
                int r;

                if (!key_id_is_valid(key_ids[i]))
                        return set_reason(ret_reason, -EINVAL, "key_ids: '%s' is not a valid key ID", key_ids[i]);
                r = keystore_read(keys_dir, key_ids[i], &e, &why);
                if (r == -ENOENT)
                        return set_reason(ret_reason, r, "key '%s' is not in the key store %s", key_ids[i],
                                          keystore_dir(keys_dir));
                if (r < 0)
                        return set_reason(ret_reason, r, "key '%s': %s", key_ids[i], why ? why : strerror(-r));
                /* opening the KEK reaches its provider (file, credential, token login) without
                 * unwrapping anything */
                r = kek_open(e.kek, &kek, &why);
                key_envelope_done(&e);
                if (r < 0)
                        return set_reason(ret_reason, r, "key '%s': its KEK cannot be opened: %s", key_ids[i],
                                          why ? why : strerror(-r));
        }
        /* the keys fit in one release, as the agent will check too */
        return key_bundle_check_keys(keys_dir, key_ids, n_key_ids, ret_reason);
}
