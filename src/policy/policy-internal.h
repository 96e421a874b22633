/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by the policy file parser (policy.c) and its sections (policy-snp.c, later policy-tdx.c
 * and policy-gpu.c): typed, path-naming readers for JSON values. Each reader takes the value and
 * its full JSON path ("snp.min_tcb.ucode", "snp.measurements[2]"), and on failure returns -EINVAL
 * (or -ENOMEM) with a malloc'ed reason "<path>: <what is wrong>" in *reason. */

#include <json-c/json.h>

#include "cvm/json-strict.h"

#include "cvm/policy.h"

/* Parses one member of a JSON object into data: the struct being filled plus the field's
 * offset (as in systemd's conf-parser tables). */
typedef int (*PolicyFieldParser)(json_object *v, const char *path, void *data, char **reason);

typedef struct PolicyField {
        const char *key;
        PolicyFieldParser parse;
        size_t offset;
} PolicyField;

/* Checks that o is an object, then parses each member with the field of the same key, in
 * document order, passing (uint8_t *) section + field->offset; a key with no field is an error
 * ("<path>.<key>: unknown key"). */
int policy_parse_object(json_object *o, const char *path, const PolicyField *fields, size_t n_fields,
                        void *section, char **reason);

/* "<path>.<key>" (just "<key>" at the top level), the key made printable and shortened if
 * needed; NULL on OOM. */
#define policy_path_key json_path_key
/* "<path>[<i>]"; NULL on OOM. */
#define policy_path_index json_path_index
/* A printable, length-limited copy of untrusted text for a message; NULL on OOM. */
#define policy_escape json_escape

/* Sets *reason to "<path>: <message>" (when reason is not NULL) and returns -EINVAL, or -ENOMEM
 * when the message could not be allocated. */
#define policy_error json_error

/* "a string", "an integer", ... for messages. */
#define policy_type_name json_type_name

int policy_read_bool(json_object *v, const char *path, bool *ret, char **reason);
/* A PolicyFieldParser for a bool field. */
int policy_field_bool(json_object *v, const char *path, void *data, char **reason);
/* An integer in [min, max]; numbers with a fraction or exponent are refused. */
int policy_read_uint(json_object *v, const char *path, uint64_t min, uint64_t max, uint64_t *ret, char **reason);
/* A string of at most max_len bytes; *ret points into v. */
int policy_read_string(json_object *v, const char *path, size_t max_len, const char **ret, size_t *ret_len,
                       char **reason);
/* A string of exactly 2*n hex digits (either case, no prefix) decoded into dst. */
int policy_read_hex(json_object *v, const char *path, void *dst, size_t n, char **reason);
/* An array of such strings, each n bytes; duplicates are refused. An empty array is allowed
 * (the list matches nothing). */
int policy_read_digest_list(json_object *v, const char *path, size_t n, PolicyDigestList *ret, char **reason);
/* Checks that v is an array of at most max_n elements; returns the count. */
int policy_read_array(json_object *v, const char *path, size_t max_n, size_t *ret_n, char **reason);

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

/* The "snp" section (policy-snp.c). */
void policy_snp_init(PolicySnp *s);
void policy_snp_done(PolicySnp *s);
/* A PolicyFieldParser for the top-level "snp" key; data is the Policy. */
int policy_snp_parse(json_object *v, const char *path, void *data, char **reason);

/* The "tdx" section (policy-tdx.c). */
void policy_tdx_init(PolicyTdx *s);
void policy_tdx_done(PolicyTdx *s);
int policy_tdx_parse(json_object *v, const char *path, void *data, char **reason);

/* The "gpu" section (policy-gpu.c). */
void policy_gpu_init(PolicyGpu *s);
void policy_gpu_done(PolicyGpu *s);
int policy_gpu_parse(json_object *v, const char *path, void *data, char **reason);
