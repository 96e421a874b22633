/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by the policy file parser (policy.c) and its sections (policy-snp.c, policy-tdx.c,
 * policy-gpu.c). The typed readers are the tree's (cvm/json-read.h); these add the readers only
 * policies have (digest allowlists, simulator roots) and the sections' entry points. */

#include "cvm/json-read.h"
#include "cvm/policy.h"

/* An array of strings of 2*n hex digits, each n bytes; duplicates are refused. An empty array is allowed
 * (the list matches nothing). */
int policy_read_digest_list(json_object *v, const char *path, size_t n, PolicyDigestList *ret, char **reason);

bool policy_digest_list_contains(const PolicyDigestList *l, size_t n, const uint8_t *digest);
void policy_digest_list_done(PolicyDigestList *l);

/* [{"spki_sha256": "<64 hex>"}, ...]: simulator roots a policy trusts besides the vendor's (at
 * most 16, no duplicates, none all-zero), into a list of 32-byte digests. */
int policy_read_simulator_roots(json_object *v, const char *path, PolicyDigestList *ret, char **reason);

/* Lowercase hex of n bytes into buf (at least 2n+1 bytes), for denial messages. */
const char *policy_hex(const uint8_t *p, size_t n, char *buf);
/* A denial "policy.<section>.<rule>: <field> <hex> is not among ..." when the list is set and
 * lacks the 48-byte digest. */
void policy_eval_digest_list(Verdict *v, const char *section, const char *rule, const char *field,
                             const PolicyDigestList *l, const uint8_t digest[48]);

/* A digest list of 48-byte digests, or the string "predicted" (policy-predicted.c): then
 * *ret_predicted is set and the list stays unset. */
int policy_read_digest_list_or_predicted(json_object *v, const char *path, PolicyDigestList *ret,
                                         bool *ret_predicted, char **reason);
/* A denial "policy.<section>.<rule>: ..." when predicted (48 bytes) is NULL or differs from got;
 * the reason names both values. */
void policy_eval_predicted(Verdict *v, const char *section, const char *rule, const char *field,
                           const uint8_t got[48], const uint8_t *predicted);

/* The "snp" section (policy-snp.c). */
void policy_snp_init(PolicySnp *s);
void policy_snp_done(PolicySnp *s);
/* A JsonFieldParser for the top-level "snp" key; data is the Policy. */
int policy_snp_parse(json_object *v, const char *path, void *data, char **reason);

/* The "tdx" section (policy-tdx.c). */
void policy_tdx_init(PolicyTdx *s);
void policy_tdx_done(PolicyTdx *s);
int policy_tdx_parse(json_object *v, const char *path, void *data, char **reason);

/* The "gpu" section (policy-gpu.c). */
void policy_gpu_init(PolicyGpu *s);
void policy_gpu_done(PolicyGpu *s);
int policy_gpu_parse(json_object *v, const char *path, void *data, char **reason);
