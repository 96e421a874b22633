/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON for untrusted documents (policies, launch specs, key envelopes).
 *
 * json-c parses them (JSON_TOKENER_STRICT, UTF-8 validated), but even in strict mode json-c
 * accepts single-quoted strings, NaN/Infinity, raw control characters in strings, keys with an
 * escaped NUL (silently truncated), and duplicate keys (the last one wins). A second, small pass
 * over the text (json_strict_check) refuses all of these, so what the tree says is exactly what
 * the file says. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/json-strict.h"
#include "cvm/util.h"

/* Keys are shortened to this many bytes in messages. */
#define JSON_KEY_SHOW_MAX 64u

/* ---- messages and paths ---- */

int json_error(char **reason, const char *path, const char *fmt, ...) {
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

char *json_escape(const char *s, size_t len) {
        size_t show = len > JSON_KEY_SHOW_MAX ? JSON_KEY_SHOW_MAX : len;
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

char *json_path_key(const char *path, const char *key) {
        _cleanup_free_ char *k = json_escape(key, strlen(key));

        if (!k)
                return NULL;
        if (!path || !path[0])
                return TAKE_PTR(k);
        return strdup_printf("%s.%s", path, k);
}

char *json_path_index(const char *path, size_t i) {
        return strdup_printf("%s[%zu]", path, i);
}

const char *json_type_name(json_object *v) {
        return json_type_article(json_object_get_type(v));
}

const char *json_type_article(json_type t) {
        switch (t) {
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

/* ---- strict JSON check ---- */

typedef struct JsonKey {
        char *s;
        size_t len;
        size_t offset; /* where the key starts in the text, for the message */
} JsonKey;

typedef struct Scan {
        const char *s;
        size_t n, i;
        unsigned depth, max_depth;
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
        return json_error(reason, NULL, "invalid JSON at line %zu, column %zu (byte %zu): %s", line, col, off, what);
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

/* Length of the well-formed UTF-8 sequence at p (n bytes available), or 0 when it is not one:
 * RFC 3629 only, so overlong forms (C0 AF for '/'), UTF-16 surrogates (ED A0..BF) and code
 * points past U+10FFFF are refused. json-c's own check lets overlong forms through, and two
 * spellings of one character would let a policy string compare unequal to what it shows. */
static size_t utf8_sequence_length(const uint8_t *p, size_t n) {
        uint8_t lo = 0x80, hi = 0xbf;
        size_t len;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                len = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                len = 3;
                if (p[0] == 0xe0)
                        lo = 0xa0; /* below is overlong */
                else if (p[0] == 0xed)
                        hi = 0x9f; /* above are surrogates */
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                len = 4;
                if (p[0] == 0xf0)
                        lo = 0x90; /* below is overlong */
                else if (p[0] == 0xf4)
                        hi = 0x8f; /* above is past U+10FFFF */
        } else
                return 0; /* a continuation byte, C0, C1 or F5..FF */
        if (n < len || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return len;
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
                if (c >= 0x80) {
                        size_t len = utf8_sequence_length((const uint8_t *) sc->s + sc->i, sc->n - sc->i);
                        if (len == 0)
                                return scan_error(sc, "invalid UTF-8 in a string (overlong form, surrogate or "
                                                      "malformed sequence)");
                        if (buf) {
                                memcpy(buf + o, sc->s + sc->i, len);
                                o += len;
                        }
                        sc->i += len;
                        continue;
                }
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
                child = json_path_key(path, k.s);
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
                        _cleanup_free_ char *p = json_path_key(path, keys[i].s);
                        size_t line, col;

                        if (!p) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        text_position(sc->s, sc->n, keys[i].offset, &line, &col);
                        r = json_error(sc->reason, p, "duplicate key (again at line %zu, column %zu)", line, col);
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
                _cleanup_free_ char *child = json_path_index(path, idx);
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
                if (sc->depth >= sc->max_depth)
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
static int json_strict_check(const char *s, size_t n, unsigned max_depth, char **reason) {
        Scan sc = { .s = s, .n = n, .reason = reason, .max_depth = max_depth };
        int r;

        r = scan_value(&sc, "");
        if (r < 0)
                return r;
        scan_ws(&sc);
        if (sc.i != n)
                return scan_error(&sc, "trailing data after the JSON value");
        return 0;
}

int json_parse_strict_value(const char *json, size_t size, size_t max_size, unsigned max_depth, const char *what,
                            json_object **ret, char **ret_reason) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_free_ char *reason = NULL, *text = NULL;
        enum json_tokener_error e;
        const char *nul;
        size_t end;
        int r;

        if (!ret || (!json && size > 0))
                return -EINVAL;
        if (size == 0) {
                r = json_error(&reason, NULL, "the %s is empty", what);
                goto fail;
        }
        if (size > max_size) {
                r = json_error(&reason, NULL, "the %s is %zu bytes, larger than the maximum of %zu bytes", what, size,
                               max_size);
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
        tok = json_tokener_new_ex((int) max_depth);
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
        r = json_strict_check(json, size, max_depth, &reason);
        if (r < 0)
                goto fail;
        *ret = TAKE_PTR(root);
        return 0;

fail:
        if (r == -ENOMEM)
                return r;
        if (ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}

int json_parse_strict(const char *json, size_t size, size_t max_size, unsigned max_depth, const char *what,
                      json_object **ret, char **ret_reason) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        int r;

        r = json_parse_strict_value(json, size, max_size, max_depth, what, &root, ret_reason);
        if (r < 0)
                return r;
        if (!json_object_is_type(root, json_type_object))
                return set_reason(ret_reason, -EINVAL, "the %s must be a JSON object, got %s", what,
                                  json_type_name(root));
        *ret = TAKE_PTR(root);
        return 0;
}
