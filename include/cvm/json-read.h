/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Typed readers for trees from json_parse_strict(): policies, launch specs, key envelopes,
 * collateral, golden lists. Each takes a value and its full JSON path ("snp.min_tcb.ucode",
 * "gpus[2]") and on failure returns -EINVAL (or -ENOMEM) with a malloc'ed reason
 * "<path>: <what is wrong>" in *reason (see json_error()). Value checks beyond these (charsets,
 * enumerations) belong to the caller, which words them for its format. */

#include <stdbool.h>
#include <stdint.h>

#include "cvm/json-strict.h"

int json_read_bool(json_object *v, const char *path, bool *ret, char **reason);
/* An integer in [min, max]; numbers with a fraction or exponent are refused. */
int json_read_uint(json_object *v, const char *path, uint64_t min, uint64_t max, uint64_t *ret, char **reason);
/* A string of at most max_len bytes without NUL; *ret points into v. */
int json_read_string(json_object *v, const char *path, size_t max_len, const char **ret, size_t *ret_len,
                     char **reason);
/* A string of exactly 2*n hex digits (either case, no prefix) decoded into dst. */
int json_read_hex(json_object *v, const char *path, void *dst, size_t n, char **reason);
/* Hex of 1 to max bytes decoded into dst (max bytes long); the size in *ret_n. */
int json_read_hex_bounded(json_object *v, const char *path, void *dst, size_t max, size_t *ret_n, char **reason);
/* Strict base64 (RFC 4648, padded, canonical, no whitespace) of at most max bytes. */
int json_read_base64(json_object *v, const char *path, size_t max, uint8_t **ret, size_t *ret_size,
                     char **reason);
/* Checks that v is an array of at most max_n elements; returns the count. */
int json_read_array(json_object *v, const char *path, size_t max_n, size_t *ret_n, char **reason);
/* The member key of object o, of the given type, for formats that allow unknown keys:
 * "<path>.<key>: missing" unless optional (then *ret is NULL), "<path>.<key>: expected an array,
 * got a string" for another type; "<path>: expected an object, ..." when o is none. */
int json_read_member(json_object *o, const char *path, const char *key, json_type type, bool optional,
                     json_object **ret, char **reason);

/* Parses one member of an object into data: the struct being filled plus the field's offset
 * (as in systemd's conf-parser tables). */
typedef int (*JsonFieldParser)(json_object *v, const char *path, void *data, char **reason);

typedef enum JsonFieldFlags {
        JSON_FIELD_REQUIRED = 1 << 0, /* "<path>.<key>: missing (required)" when absent */
} JsonFieldFlags;

typedef struct JsonField {
        const char *key;
        JsonFieldParser parse;
        size_t offset;
        JsonFieldFlags flags;
} JsonField;

/* Checks that o is an object, parses each member with the field of the same key in document
 * order, passing (uint8_t *) data + field->offset; a key with no field is refused
 * ("<path>.<key>: unknown key"), and so is a missing required one, after all members parsed. */
int json_read_object(json_object *o, const char *path, const JsonField *fields, size_t n_fields, void *data,
                     char **reason);
/* A JsonFieldParser for a bool field. */
int json_field_bool(json_object *v, const char *path, void *data, char **reason);
