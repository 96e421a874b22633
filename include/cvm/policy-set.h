/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The daemon's named policies: every "*.json" in the policies directory, parsed with
 * policy_load() and indexed by the policy's "name". A set is immutable once loaded and
 * reference-counted: a launch takes a reference to the set in force when it starts and keeps
 * appraising against it even if the set is reloaded meanwhile. Nothing here logs. */

#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/policy.h"

/* Most policy files one directory may hold. */
#define POLICY_SET_FILES_MAX 1024u

typedef struct PolicySet PolicySet;

/* Loads every "*.json" (not hidden) in dir. Fails, with a malloc'ed reason naming the file, on a
 * file that does not parse, a file without a "name", two files with the same name (naming both),
 * a "*.json" that is not a regular file, a missing or unreadable directory, or more than
 * POLICY_SET_FILES_MAX files. An empty directory gives an empty set (every launch is refused).
 * *ret has one reference and generation 1; out-parameters are untouched on failure. */
int policy_set_load(const char *dir, PolicySet **ret, char **ret_reason);

/* Loads dir into a new set and, only if the whole of it loads, drops the caller's reference to
 * *current and puts the new set (generation one above the old) in its place. On failure *current
 * is untouched (the old set stays in force) and the reason names the broken file. *current may
 * be NULL (a first load). */
int policy_set_reload(PolicySet **current, const char *dir, char **ret_reason);

/* Reference counting; both accept NULL. The count is atomic, so a reference may be dropped on
 * another thread than the one that took it. unref returns NULL. */
PolicySet *policy_set_ref(PolicySet *s);
PolicySet *policy_set_unref(PolicySet *s);
DEFINE_CLEANUP(PolicySet *, policy_set_unref)

/* The policy with this name, or NULL; valid while the caller holds a reference to s. */
const Policy *policy_set_find(const PolicySet *s, const char *name);
/* The file the named policy came from, or NULL. */
const char *policy_set_path(const PolicySet *s, const char *name);
size_t policy_set_size(const PolicySet *s);
/* The i-th policy in name order (i < policy_set_size()), for listing. */
const Policy *policy_set_get(const PolicySet *s, size_t i);
/* 1 for the first load, one more for each successful reload: tells apart the set a launch
 * started with from the one now in force. */
uint64_t policy_set_generation(const PolicySet *s);
const char *policy_set_directory(const PolicySet *s);
