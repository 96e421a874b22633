/* SPDX-License-Identifier: Apache-2.0 */
/* Policy files: loading, the strict JSON front end, the top level, and the typed readers the
 * sections share. The format is described in README.md "Policy files".
 *
 * Policy files are untrusted input. json-c parses them (JSON_TOKENER_STRICT, UTF-8 validated),
 * but even in strict mode json-c accepts single-quoted strings, NaN/Infinity, raw control
 * characters in strings, keys with an escaped NUL (silently truncated), and duplicate keys (the
 * last one wins). A second, small pass over the text (json_strict_check) refuses all of these,
 * so what the tree says is exactly what the file says. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/policy.h"
#include "cvm/util.h"
#include "policy-internal.h"

/* Deep enough for every policy (the deepest path is snp.trusted_simulator_arks[i].product). */
#define POLICY_JSON_DEPTH 16
#define POLICY_NAME_MAX 255u
#define POLICY_DESCRIPTION_MAX 4096u
/* Keys are shortened to this many bytes in messages. */
#define POLICY_KEY_SHOW_MAX 64u

DEFINE_CLEANUP(json_tokener *, json_tokener_free)

/* ---- messages and paths ---- */

int policy_error(char **reason, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (!reason)
                return -EINVAL;
        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!msg)
                return -ENOMEM;
        free(*reason);
        *reason = path && path[0] ? strdup_printf("%s: %s", path, msg) : TAKE_PTR(msg);
        return *reason ? -EINVAL : -ENOMEM;
}

char *policy_escape(const char *s, size_t len) {
        size_t show = len > POLICY_KEY_SHOW_MAX ? POLICY_KEY_SHOW_MAX : len;
        char *out, *o;

        /* Every byte may become "\xNN" (4), plus "..." and the NUL. */
        out = malloc(show * 4 + 4);
        if (!out)
                return NULL;
        o = out;
        for (size_t i = 0; i < show; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c >= 0x7f || c == '\\')
                        o += sprintf(o, "\\x%02x", c);
                else
                        *o++ = (char) c;
        }
        if (show < len)
                o = stpcpy(o, "...");
        *o = '\0';
        return out;
}

char *policy_path_key(const char *path, const char *key) {
        _cleanup_free_ char *k = policy_escape(key, strlen(key));

        if (!k)
                return NULL;
        if (!path || !path[0])
                return TAKE_PTR(k);
        return strdup_printf("%s.%s", path, k);
}

char *policy_path_index(const char *path, size_t i) {
        return strdup_printf("%s[%zu]", path, i);
}

const char *policy_type_name(json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
                return "a number with a fraction or exponent";
        case json_type_int:
                return "an integer";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        }
        return "an unknown type";
}

/* ---- typed readers ---- */

int policy_read_bool(json_object *v, const char *path, bool *ret, char **reason) {
        if (!json_object_is_type(v, json_type_boolean))
                return policy_error(reason, path, "expected a boolean (true or false), got %s", policy_type_name(v));
        *ret = json_object_get_boolean(v);
        return 0;
}

int policy_field_bool(json_object *v, const char *path, void *data, char **reason) {
        return policy_read_bool(v, path, data, reason);
}

int policy_read_uint(json_object *v, const char *path, uint64_t min, uint64_t max, uint64_t *ret, char **reason) {
        int64_t i;

        if (!json_object_is_type(v, json_type_int))
                return policy_error(reason, path, "expected an integer from %" PRIu64 " to %" PRIu64 ", got %s", min,
                                    max, policy_type_name(v));
        /* json-c saturates numbers beyond 64 bits; the serialisation shows the stored value. */
        i = json_object_get_int64(v);
        if (i < 0 || (uint64_t) i < min || (uint64_t) i > max)
                return policy_error(reason, path, "expected an integer from %" PRIu64 " to %" PRIu64 ", got %s", min,
                                    max, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        *ret = (uint64_t) i;
        return 0;
}

int policy_read_string(json_object *v, const char *path, size_t max_len, const char **ret, size_t *ret_len,
                       char **reason) {
        const char *s;
        int len;

        if (!json_object_is_type(v, json_type_string))
                return policy_error(reason, path, "expected a string, got %s", policy_type_name(v));
        s = json_object_get_string(v);
        len = json_object_get_string_len(v);
        if (!s || len < 0)
                return policy_error(reason, path, "cannot read the string");
        /* json_strict_check() already refused \u0000; this guards the invariant. */
        if (memchr(s, '\0', (size_t) len))
                return policy_error(reason, path, "the string contains a NUL character");
        if ((size_t) len > max_len)
                return policy_error(reason, path, "the string is %d bytes long, the maximum is %zu", len, max_len);
        *ret = s;
        if (ret_len)
                *ret_len = (size_t) len;
        return 0;
}

int policy_read_hex(json_object *v, const char *path, void *dst, size_t n, char **reason) {
        uint8_t *out = dst;
        const char *s;
        size_t len;
        int r;

        if (!json_object_is_type(v, json_type_string))
                return policy_error(reason, path, "expected %zu bytes as a string of %zu hex digits, got %s", n, 2 * n,
                                    policy_type_name(v));
        r = policy_read_string(v, path, SIZE_MAX, &s, &len, reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < len; i++)
                if (unhex_digit(s[i]) < 0)
                        return policy_error(reason, path,
                                            "expected %zu bytes (%zu hex digits), got a non-hex character at "
                                            "position %zu",
                                            n, 2 * n, i + 1);
        if (len != 2 * n) {
                if (len % 2 != 0)
                        return policy_error(reason, path, "expected %zu bytes (%zu hex digits), got %zu hex digits", n,
                                            2 * n, len);
                return policy_error(reason, path, "expected %zu bytes (%zu hex digits), got %zu", n, 2 * n, len / 2);
        }
        for (size_t i = 0; i < n; i++)
                out[i] = (uint8_t) (unhex_digit(s[2 * i]) << 4 | unhex_digit(s[2 * i + 1]));
        return 0;
}

int policy_read_array(json_object *v, const char *path, size_t max_n, size_t *ret_n, char **reason) {
        size_t n;

        if (!json_object_is_type(v, json_type_array))
                return policy_error(reason, path, "expected an array, got %s", policy_type_name(v));
        n = json_object_array_length(v);
        if (n > max_n)
                return policy_error(reason, path, "the array has %zu elements, the maximum is %zu", n, max_n);
        *ret_n = n;
        return 0;
}

/* Large enough for any real allowlist; keeps hostile files from costing much. */
#define POLICY_DIGEST_LIST_MAX 4096u

static int cmp_digest(const void *a, const void *b, void *userdata) {
        return memcmp(a, b, *(const size_t *) userdata);
}

int policy_read_digest_list(json_object *v, const char *path, size_t n, PolicyDigestList *ret, char **reason) {
        _cleanup_free_ uint8_t *items = NULL, *sorted = NULL;
        size_t count;
        int r;

        r = policy_read_array(v, path, POLICY_DIGEST_LIST_MAX, &count, reason);
        if (r < 0)
                return r;
        items = malloc(count ? count * n : 1);
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
                _cleanup_free_ char *p = policy_path_index(path, i);
                if (!p)
                        return -ENOMEM;
                r = policy_read_hex(json_object_array_get_idx(v, i), p, items + i * n, n, reason);
                if (r < 0)
                        return r;
        }

        /* Duplicates: almost certainly an editing mistake, and cheap to find sorted. */
        sorted = malloc(count ? count * n : 1);
        if (!sorted)
                return -ENOMEM;
        memcpy(sorted, items, count * n);
        qsort_r(sorted, count, n, cmp_digest, &n);
        for (size_t i = 1; i < count; i++)
                if (memcmp(sorted + (i - 1) * n, sorted + i * n, n) == 0) {
                        _cleanup_free_ char *hex = hex_encode(sorted + i * n, n);
                        if (!hex)
                                return -ENOMEM;
                        return policy_error(reason, path, "%s is listed more than once", hex);
                }

        policy_digest_list_done(ret);
        *ret = (PolicyDigestList) { .set = true, .n = count, .items = TAKE_PTR(items) };
        return 0;
}

bool policy_digest_list_contains(const PolicyDigestList *l, size_t n, const uint8_t *digest) {
        for (size_t i = 0; i < l->n; i++)
                if (memcmp(l->items + i * n, digest, n) == 0)
                        return true;
        return false;
}

void policy_digest_list_done(PolicyDigestList *l) {
        free(l->items);
        *l = (PolicyDigestList) {};
}

int policy_parse_object(json_object *o, const char *path, const PolicyField *fields, size_t n_fields, void *section,
                        char **reason) {
        if (!json_object_is_type(o, json_type_object))
                return policy_error(reason, path, "expected an object, got %s", policy_type_name(o));

        json_object_object_foreach(o, key, val) {
                _cleanup_free_ char *p = policy_path_key(path, key);
                const PolicyField *f = NULL;
                int r;

                if (!p)
                        return -ENOMEM;
                for (size_t i = 0; i < n_fields; i++)
                        if (streq(fields[i].key, key)) {
                                f = &fields[i];
                                break;
                        }
                if (!f)
                        return policy_error(reason, p, "unknown key");
                r = f->parse(val, p, (uint8_t *) section + f->offset, reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- strict JSON check ---- */

typedef struct JsonKey {
        char *s;
        size_t len;
        size_t offset; /* where the key starts in the text, for the message */
} JsonKey;

typedef struct Scan {
        const char *s;
        size_t n, i;
        unsigned depth;
        char **reason;
} Scan;

static void text_position(const char *s, size_t n, size_t off, size_t *ret_line, size_t *ret_col) {
        size_t line = 1, col = 1;

        for (size_t i = 0; i < off && i < n; i++)
                if (s[i] == '\n') {
                        line++;
                        col = 1;
                } else
                        col++;
        *ret_line = line;
        *ret_col = col;
}

static int syntax_error(char **reason, const char *s, size_t n, size_t off, const char *what) {
        size_t line, col;

        text_position(s, n, off, &line, &col);
        return policy_error(reason, NULL, "invalid JSON at line %zu, column %zu (byte %zu): %s", line, col, off, what);
}

static int scan_error(Scan *sc, const char *what) {
        return syntax_error(sc->reason, sc->s, sc->n, sc->i, what);
}

static void scan_ws(Scan *sc) {
        while (sc->i < sc->n && strchr(" \t\n\r", sc->s[sc->i]) && sc->s[sc->i])
                sc->i++;
}

static int scan_peek(Scan *sc) {
        return sc->i < sc->n ? (unsigned char) sc->s[sc->i] : -1;
}

static int scan_hex4(Scan *sc, unsigned *ret) {
        unsigned u = 0;

        if (sc->n - sc->i < 4)
                return scan_error(sc, "truncated \\u escape");
        for (size_t k = 0; k < 4; k++) {
                int d = unhex_digit(sc->s[sc->i + k]);
                if (d < 0)
                        return scan_error(sc, "invalid \\u escape");
                u = u << 4 | (unsigned) d;
        }
        sc->i += 4;
        *ret = u;
        return 0;
}

static size_t utf8_put(char *o, unsigned cp) {
        if (cp < 0x80) {
                o[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                o[0] = (char) (0xc0 | cp >> 6);
                o[1] = (char) (0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                o[0] = (char) (0xe0 | cp >> 12);
                o[1] = (char) (0x80 | (cp >> 6 & 0x3f));
                o[2] = (char) (0x80 | (cp & 0x3f));
                return 3;
        }
        o[0] = (char) (0xf0 | cp >> 18);
        o[1] = (char) (0x80 | (cp >> 12 & 0x3f));
        o[2] = (char) (0x80 | (cp >> 6 & 0x3f));
        o[3] = (char) (0x80 | (cp & 0x3f));
        return 4;
}

/* A string at sc->i (which is a '"'). With ret, the decoded bytes (UTF-8) are returned; the
 * decoded form is never longer than the escaped one. */
static int scan_string(Scan *sc, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t start = ++sc->i, o = 0;

        if (ret) {
                /* The closing quote: the first '"' not preceded by an escaping backslash. */
                size_t end = start;
                while (end < sc->n && sc->s[end] != '"')
                        end += sc->s[end] == '\\' ? 2 : 1;
                buf = malloc((end > sc->n ? sc->n : end) - start + 1);
                if (!buf)
                        return -ENOMEM;
        }

        for (;;) {
                int c = scan_peek(sc);
                size_t esc;

                if (c < 0)
                        return scan_error(sc, "unterminated string");
                if (c == '"') {
                        sc->i++;
                        break;
                }
                if (c < 0x20)
                        return scan_error(sc, "control character in a string (escape it)");
                if (c != '\\') {
                        if (buf)
                                buf[o++] = (char) c;
                        sc->i++;
                        continue;
                }
                esc = sc->i++;
                c = scan_peek(sc);
                if (c < 0)
                        return scan_error(sc, "unterminated string");
                sc->i++;
                if (c == 'u') {
                        unsigned cp;
                        int r = scan_hex4(sc, &cp);
                        if (r < 0)
                                return r;
                        if (cp == 0)
                                return syntax_error(sc->reason, sc->s, sc->n, esc,
                                                    "\\u0000 (NUL) is not allowed in strings");
                        if (cp >= 0xdc00 && cp <= 0xdfff)
                                return syntax_error(sc->reason, sc->s, sc->n, esc,
                                                    "unpaired low surrogate in a \\u escape");
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                                unsigned lo;
                                if (sc->n - sc->i < 2 || sc->s[sc->i] != '\\' || sc->s[sc->i + 1] != 'u')
                                        return syntax_error(sc->reason, sc->s, sc->n, esc,
                                                            "unpaired high surrogate in a \\u escape");
                                sc->i += 2;
                                r = scan_hex4(sc, &lo);
                                if (r < 0)
                                        return r;
                                if (lo < 0xdc00 || lo > 0xdfff)
                                        return syntax_error(sc->reason, sc->s, sc->n, esc,
                                                            "unpaired high surrogate in a \\u escape");
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        }
                        if (buf)
                                o += utf8_put(buf + o, cp);
                        continue;
                }
                {
                        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
                        const char *e = strchr(from, c);
                        if (!e || c == 0)
                                return syntax_error(sc->reason, sc->s, sc->n, esc, "invalid escape in a string");
                        if (buf)
                                buf[o++] = to[e - from];
                }
        }
        if (ret) {
                buf[o] = '\0';
                *ret = TAKE_PTR(buf);
                *ret_len = o;
        }
        return 0;
}

static bool is_digit(int c) {
        return c >= '0' && c <= '9';
}

static int scan_number(Scan *sc) {
        if (scan_peek(sc) == '-')
                sc->i++;
        if (scan_peek(sc) == '0')
                sc->i++;
        else if (is_digit(scan_peek(sc)))
                while (is_digit(scan_peek(sc)))
                        sc->i++;
        else
                return scan_error(sc, "invalid number");
        if (scan_peek(sc) == '.') {
                sc->i++;
                if (!is_digit(scan_peek(sc)))
                        return scan_error(sc, "invalid number");
                while (is_digit(scan_peek(sc)))
                        sc->i++;
        }
        if (scan_peek(sc) == 'e' || scan_peek(sc) == 'E') {
                sc->i++;
                if (scan_peek(sc) == '+' || scan_peek(sc) == '-')
                        sc->i++;
                if (!is_digit(scan_peek(sc)))
                        return scan_error(sc, "invalid number");
                while (is_digit(scan_peek(sc)))
                        sc->i++;
        }
        return 0;
}

static int scan_literal(Scan *sc, const char *word) {
        size_t len = strlen(word);

        if (sc->n - sc->i < len || memcmp(sc->s + sc->i, word, len) != 0)
                return scan_error(sc, "unexpected character (not JSON)");
        sc->i += len;
        return 0;
}

static int cmp_key(const void *a, const void *b) {
        const JsonKey *x = a, *y = b;
        int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

        if (c != 0)
                return c;
        if (x->len != y->len)
                return x->len < y->len ? -1 : 1;
        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void keys_free(JsonKey *keys, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(keys[i].s);
        free(keys);
}

static int scan_value(Scan *sc, const char *path);

static int scan_object(Scan *sc, const char *path) {
        JsonKey *keys = NULL;
        size_t n_keys = 0, n_alloc = 0;
        int r = 0;

        sc->i++; /* '{' */
        scan_ws(sc);
        if (scan_peek(sc) == '}') {
                sc->i++;
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *child = NULL;
                JsonKey k = { .offset = sc->i };
                JsonKey *nk;

                if (scan_peek(sc) != '"') {
                        r = scan_error(sc, scan_peek(sc) == '\'' ? "single-quoted strings are not JSON"
                                                                 : "expected a double-quoted key");
                        goto finish;
                }
                r = scan_string(sc, &k.s, &k.len);
                if (r < 0)
                        goto finish;
                if (n_keys == n_alloc) {
                        n_alloc = n_alloc ? n_alloc * 2 : 8;
                        nk = reallocarray(keys, n_alloc, sizeof(JsonKey));
                        if (!nk) {
                                free(k.s);
                                r = -ENOMEM;
                                goto finish;
                        }
                        keys = nk;
                }
                keys[n_keys++] = k;

                scan_ws(sc);
                if (scan_peek(sc) != ':') {
                        r = scan_error(sc, "expected ':'");
                        goto finish;
                }
                sc->i++;
                child = policy_path_key(path, k.s);
                if (!child) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = scan_value(sc, child);
                if (r < 0)
                        goto finish;
                scan_ws(sc);
                if (scan_peek(sc) == ',') {
                        sc->i++;
                        scan_ws(sc);
                        continue;
                }
                if (scan_peek(sc) == '}') {
                        sc->i++;
                        break;
                }
                r = scan_error(sc, "expected ',' or '}'");
                goto finish;
        }

        /* The keys as decoded, so "a" and "\u0061" collide, as they do in the tree. */
        qsort(keys, n_keys, sizeof(JsonKey), cmp_key);
        for (size_t i = 1; i < n_keys; i++)
                if (keys[i - 1].len == keys[i].len && memcmp(keys[i - 1].s, keys[i].s, keys[i].len) == 0) {
                        _cleanup_free_ char *p = policy_path_key(path, keys[i].s);
                        size_t line, col;

                        if (!p) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        text_position(sc->s, sc->n, keys[i].offset, &line, &col);
                        r = policy_error(sc->reason, p, "duplicate key (again at line %zu, column %zu)", line, col);
                        goto finish;
                }
finish:
        keys_free(keys, n_keys);
        return r;
}

static int scan_array(Scan *sc, const char *path) {
        sc->i++; /* '[' */
        scan_ws(sc);
        if (scan_peek(sc) == ']') {
                sc->i++;
                return 0;
        }
        for (size_t idx = 0;; idx++) {
                _cleanup_free_ char *child = policy_path_index(path, idx);
                int r;

                if (!child)
                        return -ENOMEM;
                r = scan_value(sc, child);
                if (r < 0)
                        return r;
                scan_ws(sc);
                if (scan_peek(sc) == ',') {
                        sc->i++;
                        continue;
                }
                if (scan_peek(sc) == ']') {
                        sc->i++;
                        return 0;
                }
                return scan_error(sc, "expected ',' or ']'");
        }
}

static int scan_value(Scan *sc, const char *path) {
        int r;

        scan_ws(sc);
        switch (scan_peek(sc)) {
        case '{':
        case '[':
                if (sc->depth >= POLICY_JSON_DEPTH)
                        return scan_error(sc, "nested too deeply");
                sc->depth++;
                r = scan_peek(sc) == '{' ? scan_object(sc, path) : scan_array(sc, path);
                sc->depth--;
                return r;
        case '"':
                return scan_string(sc, NULL, NULL);
        case 't':
                return scan_literal(sc, "true");
        case 'f':
                return scan_literal(sc, "false");
        case 'n':
                return scan_literal(sc, "null");
        case '-':
        case '0' ... '9':
                return scan_number(sc);
        case '\'':
                return scan_error(sc, "single-quoted strings are not JSON");
        case -1:
                return scan_error(sc, "unexpected end of input");
        default:
                return scan_error(sc, "unexpected character (not JSON)");
        }
}

/* Refuses what json-c accepts but RFC 8259 does not, and duplicate keys. */
static int json_strict_check(const char *s, size_t n, char **reason) {
        Scan sc = { .s = s, .n = n, .reason = reason };
        int r;

        r = scan_value(&sc, "");
        if (r < 0)
                return r;
        scan_ws(&sc);
        if (sc.i != n)
                return scan_error(&sc, "trailing data after the JSON value");
        return 0;
}

/* ---- the top level ---- */

static int text_is_clean(const char *s, size_t len, bool multiline) {
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7f)
                        return false;
        }
        return true;
}

static int parse_name(json_object *v, const char *path, void *data, char **reason) {
        Policy *p = data;
        const char *s;
        size_t len;
        int r;

        r = policy_read_string(v, path, POLICY_NAME_MAX, &s, &len, reason);
        if (r < 0)
                return r;
        if (len == 0)
                return policy_error(reason, path, "the name is empty");
        if (!text_is_clean(s, len, false))
                return policy_error(reason, path, "the name contains a control character");
        free(p->name);
        p->name = strdup(s);
        return p->name ? 0 : -ENOMEM;
}

static int parse_description(json_object *v, const char *path, void *data, char **reason) {
        Policy *p = data;
        const char *s;
        size_t len;
        int r;

        r = policy_read_string(v, path, POLICY_DESCRIPTION_MAX, &s, &len, reason);
        if (r < 0)
                return r;
        if (!text_is_clean(s, len, true))
                return policy_error(reason, path,
                                    "the description contains a control character other than "
                                    "newline or tab");
        free(p->description);
        p->description = strdup(s);
        return p->description ? 0 : -ENOMEM;
}

static const PolicyField top_fields[] = {
        { "name", parse_name },       { "description", parse_description }, { "snp", policy_snp_parse },
        { "tdx", policy_tdx_parse }, { "gpu", policy_gpu_parse },
        { "allow_development", policy_field_bool, offsetof(Policy, allow_development) },
};

Policy *policy_new(void) {
        Policy *p = calloc(1, sizeof(Policy));

        if (!p)
                return NULL;
        policy_snp_init(&p->snp);
        policy_tdx_init(&p->tdx);
        policy_gpu_init(&p->gpu);
        return p;
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->description);
        policy_snp_done(&p->snp);
        policy_tdx_done(&p->tdx);
        policy_gpu_done(&p->gpu);
        free(p);
        return NULL;
}

int policy_parse(const char *json, size_t size, Policy **ret, char **ret_reason) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *reason = NULL, *text = NULL;
        enum json_tokener_error e;
        const char *nul;
        size_t end;
        int r;

        if (!ret || (!json && size > 0))
                return -EINVAL;
        if (size == 0) {
                r = policy_error(&reason, NULL, "the policy is empty");
                goto fail;
        }
        if (size > POLICY_SIZE_MAX) {
                r = policy_error(&reason, NULL, "the policy is %zu bytes, larger than the maximum of %u bytes (1 MiB)",
                                 size, POLICY_SIZE_MAX);
                if (r == -EINVAL)
                        r = -EFBIG;
                goto fail;
        }
        nul = memchr(json, '\0', size);
        if (nul) {
                r = syntax_error(&reason, json, size, (size_t) (nul - json), "NUL byte");
                goto fail;
        }
        if (size >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0) {
                r = syntax_error(&reason, json, size, 0, "byte order mark (save the file as UTF-8 without a BOM)");
                goto fail;
        }

        /* json-c takes a NUL as the end of the input; without one it cannot finish a top-level
         * value that has no closing bracket ("null", "42") and waits for more. */
        text = malloc(size + 1);
        tok = json_tokener_new_ex(POLICY_JSON_DEPTH);
        if (!text || !tok)
                return -ENOMEM;
        memcpy(text, json, size);
        text[size] = '\0';
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int) size + 1);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (e == json_tokener_continue || e == json_tokener_error_parse_eof) {
                r = syntax_error(&reason, json, size, size, "unexpected end of input");
                goto fail;
        }
        if (e != json_tokener_success) {
                r = syntax_error(&reason, json, size, end, json_tokener_error_desc(e));
                goto fail;
        }
        if (end < size) {
                r = syntax_error(&reason, json, size, end, "trailing data after the JSON value");
                goto fail;
        }
        r = json_strict_check(json, size, &reason);
        if (r < 0)
                goto fail;
        if (!json_object_is_type(root, json_type_object)) {
                r = policy_error(&reason, NULL, "the top level must be a JSON object, got %s", policy_type_name(root));
                goto fail;
        }

        p = policy_new();
        if (!p)
                return -ENOMEM;
        r = policy_parse_object(root, "", top_fields, ELEMENTSOF(top_fields), p, &reason);
        if (r < 0)
                goto fail;

        *ret = TAKE_PTR(p);
        return 0;

fail:
        if (ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}

int policy_load(const char *path, Policy **ret, char **ret_reason) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *reason = NULL;
        size_t size;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_file_bounded(path, POLICY_SIZE_MAX, &data, &size);
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = r == -EFBIG ? strdup_printf("%s: larger than the maximum of %u bytes (1 MiB)",
                                                                  path, POLICY_SIZE_MAX)
                                                  : strdup_printf("%s: cannot read: %s", path, strerror(-r));
                return r;
        }
        r = policy_parse((const char *) data, size, ret, &reason);
        if (r < 0 && ret_reason)
                *ret_reason = reason ? strdup_printf("%s: %s", path, reason) : NULL;
        return r;
}

bool policy_has_snp(const Policy *p) {
        return p && p->has_snp;
}
