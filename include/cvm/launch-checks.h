/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Checks a launch makes before it defines a domain (the launch run calls them first), so that a
 * launch that cannot end with keys released is refused before a VM exists. */

#include <stddef.h>

#include "cvm/launch-spec.h"
#include "cvm/policy.h"

/* The policy is the one the spec names (policy->name equals spec->policy), and for SEV-SNP the
 * launch parameters (guest policy bits, VLEK, ID block, author key) are ones the policy accepts.
 * -EINVAL naming the spec's field and the policy's rule. */
int launch_check_policy(const LaunchSpec *spec, const Policy *policy, char **ret_reason);
/* What the spec boots, against the policy: a SEV-SNP spec that boots from its disk (no kernel,
 * so nothing of the OS is in the measurement) is refused unless the policy says
 * snp.allow_unmeasured_disk_boot; when the policy compares evidence of kind `evidence` (the
 * spec's TEE, or the simulated kind a development launch asks for) with a predicted value, the
 * spec must name the firmware to predict from. -EINVAL naming the field and the rule. */
int launch_check_boot(const LaunchSpec *spec, const Policy *policy, CvmTee evidence, char **ret_reason);
/* Every key ID is valid, in the key store at keys_dir (NULL: the default store), and
 * its KEK can be opened (its provider is reachable). Nothing is unwrapped. */
int launch_check_keys(const char *keys_dir, char *const *key_ids, size_t n_key_ids, char **ret_reason);
