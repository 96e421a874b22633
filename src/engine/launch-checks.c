/* SPDX-License-Identifier: Apache-2.0 */
/* What a launch can know is wrong before it defines a domain: a policy other than the one the
 * spec names, SEV-SNP launch parameters the policy refuses, an unmeasured disk boot, a
 * prediction without a firmware to predict from, a key that is not in the key store,
 * a KEK that cannot be opened. Without these
 * checks such a launch would boot a VM, attest it, and only then fail at unwrap. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cvm/kek.h"
#include "cvm/key-bundle.h"
#include "cvm/keystore.h"
#include "cvm/launch-checks.h"
#include "cvm/launch-predict.h"
#include "cvm/snp.h"
#include "cvm/util.h"

/* SEV-SNP launch parameters the policy would refuse in every report the guest could produce:
 * the guest policy bits, a VLEK when the policy allows only a VCEK, no ID block when the policy
 * requires an ID key. */
static int check_snp_launch(const LaunchSpec *spec, const Policy *policy, char **ret_reason) {
        const PolicySnp *p = &policy->snp;
        uint64_t bits = launch_spec_tee_policy(spec);

        if ((bits & SNP_POLICY_DEBUG) && !p->allow_debug)
                return set_reason(ret_reason, -EINVAL, "launch_security.policy: 0x%" PRIx64 " allows debugging, and "
                                  "policy '%s' refuses it (snp.allow_debug)", bits, policy->name);
        if ((bits & SNP_POLICY_MIGRATE_MA) && !p->allow_migration_agent)
                return set_reason(ret_reason, -EINVAL, "launch_security.policy: 0x%" PRIx64 " allows a migration "
                                  "agent, and policy '%s' refuses it (snp.allow_migration_agent)", bits, policy->name);
        if ((bits & SNP_POLICY_SMT) && !p->allow_smt)
                return set_reason(ret_reason, -EINVAL, "launch_security.policy: 0x%" PRIx64 " allows SMT, and policy "
                                  "'%s' refuses it (snp.allow_smt)", bits, policy->name);
        if (!(bits & SNP_POLICY_SINGLE_SOCKET) && p->require_single_socket)
                return set_reason(ret_reason, -EINVAL, "launch_security.policy: 0x%" PRIx64 " does not restrict the "
                                  "guest to one socket, and policy '%s' requires it (snp.require_single_socket)",
                                  bits, policy->name);
        if (spec->security.vlek_only && !p->allow_vlek)
                return set_reason(ret_reason, -EINVAL, "launch_security.vcek: false makes every report VLEK-signed, "
                                  "and policy '%s' refuses VLEK-signed reports (snp.allow_vlek)", policy->name);
        if (!spec->security.id_block && p->id_key_digests.set && p->id_key_digests.n > 0)
                return set_reason(ret_reason, -EINVAL, "launch_security: no id_block, and policy '%s' requires an ID "
                                  "key (snp.id_key_digests)", policy->name);
        if (!spec->security.author_key && p->author_key_digests.set && p->author_key_digests.n > 0)
                return set_reason(ret_reason, -EINVAL, "launch_security: no author key, and policy '%s' requires one "
                                  "(snp.author_key_digests)", policy->name);
        return 0;
}

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
        if (spec->tee == CVM_TEE_SEV_SNP)
                return check_snp_launch(spec, policy, ret_reason);
        return 0;
}

int launch_check_boot(const LaunchSpec *spec, const Policy *policy, CvmTee evidence, char **ret_reason) {
        if (!policy)
                return set_reason(ret_reason, -EINVAL, "policy: no policy is loaded");
        /* a disk boot measures the firmware alone: whatever the disk holds runs unattested */
        if (spec->tee == CVM_TEE_SEV_SNP && !launch_spec_is_direct_boot(spec) && !policy->snp.allow_unmeasured_disk_boot)
                return set_reason(ret_reason, -EINVAL, "boot: the spec boots from its disk without a kernel, so the "
                                  "SEV-SNP measurement covers no kernel, initrd or command line, and policy '%s' "
                                  "does not allow that (snp.allow_unmeasured_disk_boot)", policy->name ?: "");
        if (launch_policy_predicts(policy, evidence) && !spec->boot.firmware)
                return set_reason(ret_reason, -EINVAL, "boot.firmware: none given, and policy '%s' compares the %s "
                                  "with the one predicted from the files booted (%s: \"predicted\"), which needs "
                                  "the firmware image", policy->name ?: "",
                                  evidence == CVM_TEE_TDX ? "MRTD" : "measurement",
                                  evidence == CVM_TEE_TDX ? "tdx.mrtds" : "snp.measurements");
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
