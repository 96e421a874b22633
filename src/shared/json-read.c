/* SPDX-License-Identifier: Apache-2.0 */
/* Typed, path-naming readers over json-c trees (see cvm/json-read.h). The trees come from
 * json_parse_strict(), so duplicate keys and non-RFC 8259 input never reach these; what they
 * check is the shape each format expects. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cvm/json-read.h"
#include "cvm/util.h"

int json_read_bool(json_object *v, const char *path, bool *ret, char **reason) {
        if (!json_object_is_type(v, json_type_boolean))
                return json_error(reason, path, "expected a boolean (true or false), got %s", json_type_name(v));
        *ret = json_object_get_boolean(v);
        return 0;
}

int json_field_bool(json_object *v, const char *path, void *data, char **reason) {
        return json_read_bool(v, path, data, reason);
}

int json_read_uint(json_object *v, const char *path, uint64_t min, uint64_t max, uint64_t *ret, char **reason) {
        int64_t i;

        if (!json_object_is_type(v, json_type_int))
                return json_error(reason, path, "expected an integer from %" PRIu64 " to %" PRIu64 ", got %s", min,
                                  max, json_type_name(v));
        /* json-c saturates numbers beyond 64 bits; the serialisation shows the stored value. */
        i = json_object_get_int64(v);
        if (i < 0 || (uint64_t) i < min || (uint64_t) i > max)
                return json_error(reason, path, "expected an integer from %" PRIu64 " to %" PRIu64 ", got %s", min,
                                  max, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        *ret = (uint64_t) i;
        return 0;
}

int json_read_string(json_object *v, const char *path, size_t max_len, const char **ret, size_t *ret_len,
                     char **reason) {
        const char *s;
        int len;

        if (!json_object_is_type(v, json_type_string))
                return json_error(reason, path, "expected a string, got %s", json_type_name(v));
        s = json_object_get_string(v);
        len = json_object_get_string_len(v);
        if (!s || len < 0)
                return json_error(reason, path, "cannot read the string");
        /* json_parse_strict() already refused \u0000; this guards trees from elsewhere. */
        if (memchr(s, '\0', (size_t) len))
                return json_error(reason, path, "the string contains a NUL character");
        if ((size_t) len > max_len)
                return json_error(reason, path, "the string is %d bytes long, the maximum is %zu", len, max_len);
        *ret = s;
        if (ret_len)
                *ret_len = (size_t) len;
        return 0;
}

/* The position (from 1) of the first non-hex character, or 0. */
static size_t hex_bad_position(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (unhex_digit(s[i]) < 0)
                        return i + 1;
        return 0;
}

static void hex_decode_into(const char *s, size_t n, uint8_t *out) {
        for (size_t i = 0; i < n; i++)
                out[i] = (uint8_t) (unhex_digit(s[2 * i]) << 4 | unhex_digit(s[2 * i + 1]));
}

int json_read_hex(json_object *v, const char *path, void *dst, size_t n, char **reason) {
        const char *s;
        size_t len, bad;
        int r;

        if (!json_object_is_type(v, json_type_string))
                return json_error(reason, path, "expected %zu bytes as a string of %zu hex digits, got %s", n, 2 * n,
                                  json_type_name(v));
        r = json_read_string(v, path, SIZE_MAX, &s, &len, reason);
        if (r < 0)
                return r;
        bad = hex_bad_position(s, len);
        if (bad > 0)
                return json_error(reason, path,
                                  "expected %zu bytes (%zu hex digits), got a non-hex character at position %zu", n,
                                  2 * n, bad);
        if (len != 2 * n) {
                if (len % 2 != 0)
                        return json_error(reason, path, "expected %zu bytes (%zu hex digits), got %zu hex digits", n,
                                          2 * n, len);
                return json_error(reason, path, "expected %zu bytes (%zu hex digits), got %zu", n, 2 * n, len / 2);
        }
        hex_decode_into(s, n, dst);
        return 0;
}

int json_read_hex_bounded(json_object *v, const char *path, void *dst, size_t max, size_t *ret_n, char **reason) {
        const char *s;
        size_t len;
        int r;

        if (!json_object_is_type(v, json_type_string))
                return json_error(reason, path, "expected 1 to %zu bytes as a string of hex digits, got %s", max,
                                  json_type_name(v));
        r = json_read_string(v, path, 2 * max + 1, &s, &len, reason);
        if (r < 0)
                return r;
        if (hex_bad_position(s, len) > 0 || len == 0 || len % 2 != 0 || len / 2 > max)
                return json_error(reason, path, "expected 1 to %zu bytes as an even number of hex digits", max);
        hex_decode_into(s, len / 2, dst);
        *ret_n = len / 2;
        return 0;
}

int json_read_base64(json_object *v, const char *path, size_t max, uint8_t **ret, size_t *ret_size,
                     char **reason) {
        const char *s;
        size_t len;
        int r;

        r = json_read_string(v, path, (max + 2) / 3 * 4, &s, &len, reason);
        if (r < 0)
                return r;
        r = b64_decode(s, len, max, ret, ret_size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return json_error(reason, path, "not valid base64 (RFC 4648, padded, no whitespace)");
        return 0;
}

int json_read_array(json_object *v, const char *path, size_t max_n, size_t *ret_n, char **reason) {
        size_t n;

        if (!json_object_is_type(v, json_type_array))
                return json_error(reason, path, "expected an array, got %s", json_type_name(v));
        n = json_object_array_length(v);
        if (n > max_n)
                return json_error(reason, path, "has %zu elements, more than the maximum of %zu", n, max_n);
        *ret_n = n;
        return 0;
}

int json_read_member(json_object *o, const char *path, const char *key, json_type type, bool optional,
                     json_object **ret, char **reason) {
        _cleanup_free_ char *p = json_path_key(path, key);
        json_object *v;

        if (!p)
                return -ENOMEM;
        if (!json_object_is_type(o, json_type_object))
                return json_error(reason, path, "expected an object, got %s", json_type_name(o));
        if (!json_object_object_get_ex(o, key, &v)) {
                if (!optional)
                        return json_error(reason, p, "missing");
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, type))
                return json_error(reason, p, "expected %s, got %s", json_type_article(type), json_type_name(v));
        *ret = v;
        return 0;
}

static const JsonField *field_find(const JsonField *fields, size_t n_fields, const char *key) {
        for (size_t i = 0; i < n_fields; i++)
                if (streq(fields[i].key, key))
                        return &fields[i];
        return NULL;
}

int json_read_object(json_object *o, const char *path, const JsonField *fields, size_t n_fields, void *data,
                     char **reason) {
        if (!json_object_is_type(o, json_type_object))
                return json_error(reason, path, "expected an object, got %s", json_type_name(o));

        json_object_object_foreach(o, key, val) {
                _cleanup_free_ char *p = json_path_key(path, key);
                const JsonField *f = field_find(fields, n_fields, key);
                int r;

                if (!p)
                        return -ENOMEM;
                if (!f)
                        return json_error(reason, p, "unknown key");
                r = f->parse(val, p, (uint8_t *) data + f->offset, reason);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_fields; i++)
                if ((fields[i].flags & JSON_FIELD_REQUIRED) && !json_object_object_get_ex(o, fields[i].key, NULL)) {
                        _cleanup_free_ char *p = json_path_key(path, fields[i].key);
                        return p ? json_error(reason, p, "missing (required)") : -ENOMEM;
                }
        return 0;
}
