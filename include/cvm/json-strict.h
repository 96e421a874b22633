/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Strict JSON for untrusted documents: RFC 8259 only, no duplicate keys, no NUL bytes, bounded
 * size and depth; errors name the JSON path and the line and column. */

#include <json-c/json.h>
#include <stddef.h>

#include "cvm/macro.h"

/* Parses a document whose top level must be an object. what names it in messages ("policy",
 * "launch spec"). -EINVAL with a reason for a malformed document, -EFBIG when over max_size,
 * -ENOMEM. */
int json_parse_strict(const char *json, size_t size, size_t max_size, unsigned max_depth, const char *what,
                      json_object **ret, char **ret_reason);
/* The same for a document whose top level may be any value (a golden list is an array). */
int json_parse_strict_value(const char *json, size_t size, size_t max_size, unsigned max_depth, const char *what,
                            json_object **ret, char **ret_reason);

/* Sets *reason to "<path>: <message>" (just the message without a path) and returns -EINVAL,
 * or -ENOMEM when it could not be allocated. */
int json_error(char **reason, const char *path, const char *fmt, ...) _printf_(3, 4);
/* "a string", "an integer", ... for messages. */
const char *json_type_name(json_object *v);
/* The same for a type ("an array"), for "expected ..." messages. */
const char *json_type_article(json_type t);
/* A printable, length-limited copy of untrusted text for a message; NULL on OOM. */
char *json_escape(const char *s, size_t len);
/* "<path>.<key>" ("<key>" at the top level), the key made printable; NULL on OOM. */
char *json_path_key(const char *path, const char *key);
/* "<path>[<i>]"; NULL on OOM. */
char *json_path_index(const char *path, size_t i);
