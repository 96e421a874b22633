/* SPDX-License-Identifier: Apache-2.0 */
/* The wrapped-key envelope and the key directory (see cvm/keystore.h). */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/cleanup.h"
#include "cvm/json-read.h"
#include "cvm/keystore.h"
#include "cvm/keywrap.h"
#include "cvm/util.h"

static inline void closedirp_(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

void key_envelope_done(KeyEnvelope *e) {
        if (!e)
                return;
        free(e->kid);
        free(e->kek);
        free(e->alg);
        free(e->wrapped);
        *e = (KeyEnvelope) {};
}

bool key_id_is_valid(const char *kid) {
        size_t n;

        if (!kid)
                return false;
        n = strlen(kid);
        if (n == 0 || n > KEY_ID_MAX || kid[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = kid[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* ---- fields ---- */

static bool kek_uri_scheme_known(const char *s) {
        return strncmp(s, "file:", 5) == 0 || strncmp(s, "cred:", 5) == 0 || strncmp(s, "pkcs11:", 7) == 0;
}

static bool text_is_printable(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] >= 0x7f)
                        return false;
        return true;
}

static int parse_kid(json_object *v, const char *path, void *data, char **reason) {
        char **out = data;
        const char *s;
        int r;

        r = json_read_string(v, path, KEY_ID_MAX, &s, NULL, reason);
        if (r < 0)
                return r;
        if (!key_id_is_valid(s))
                return json_error(reason, path, "not a valid key ID (1 to %u characters A-Z a-z 0-9 . _ -, not "
                                    "starting with '.')", KEY_ID_MAX);
        free(*out);
        *out = strdup(s);
        return *out ? 0 : -ENOMEM;
}

static int parse_kek(json_object *v, const char *path, void *data, char **reason) {
        char **out = data;
        const char *s;
        size_t n;
        int r;

        r = json_read_string(v, path, KEK_URI_MAX, &s, &n, reason);
        if (r < 0)
                return r;
        if (n == 0 || !text_is_printable(s, n))
                return json_error(reason, path, "not a KEK URI (printable ASCII, no spaces)");
        if (!kek_uri_scheme_known(s))
                return json_error(reason, path, "unknown KEK URI scheme (expected file:, cred: or pkcs11:)");
        free(*out);
        *out = strdup(s);
        return *out ? 0 : -ENOMEM;
}

static int parse_alg(json_object *v, const char *path, void *data, char **reason) {
        char **out = data;
        const char *s;
        int r;

        r = json_read_string(v, path, 16, &s, NULL, reason);
        if (r < 0)
                return r;
        if (keywrap_alg_kek_size(s) < 0)
                return json_error(reason, path, "unsupported algorithm (expected A256KWP, A192KWP or A128KWP)");
        free(*out);
        *out = strdup(s);
        return *out ? 0 : -ENOMEM;
}

static int parse_wrapped(json_object *v, const char *path, void *data, char **reason) {
        KeyEnvelope *e = (KeyEnvelope *) ((uint8_t *) data - offsetof(KeyEnvelope, wrapped));
        _cleanup_free_ uint8_t *b = NULL;
        size_t n;
        int r;

        r = json_read_base64(v, path, KEYWRAP_WRAPPED_MAX, &b, &n, reason);
        if (r < 0)
                return r;
        if (n < KEYWRAP_WRAPPED_MIN || n % 8 != 0)
                return json_error(reason, path, "%zu bytes is not a wrapped key (16 to %u bytes, a multiple of 8)",
                                    n, KEYWRAP_WRAPPED_MAX);
        free(e->wrapped);
        e->wrapped = TAKE_PTR(b);
        e->wrapped_size = n;
        return 0;
}

static const JsonField envelope_fields[] = {
        { "kid", parse_kid, offsetof(KeyEnvelope, kid), JSON_FIELD_REQUIRED },
        { "kek", parse_kek, offsetof(KeyEnvelope, kek), JSON_FIELD_REQUIRED },
        { "alg", parse_alg, offsetof(KeyEnvelope, alg), JSON_FIELD_REQUIRED },
        { "wrapped", parse_wrapped, offsetof(KeyEnvelope, wrapped), JSON_FIELD_REQUIRED },
};

/* json-c keeps the last of duplicate keys. The envelope is a flat object whose values are all
 * strings (checked before this runs), so counting the strings in the text counts its members. */
static size_t count_strings(const char *s, size_t n) {
        size_t count = 0;
        bool in = false;

        for (size_t i = 0; i < n; i++) {
                if (!in) {
                        if (s[i] == '"') {
                                in = true;
                                count++;
                        }
                } else if (s[i] == '\\')
                        i++;
                else if (s[i] == '"')
                        in = false;
        }
        return count;
}

static int parse_fail(char **ret_reason, char **reason, int r) {
        if (ret_reason)
                *ret_reason = TAKE_PTR(*reason);
        return r;
}

int key_envelope_parse(const char *json, size_t size, KeyEnvelope *ret, char **ret_reason) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(key_envelope_done) KeyEnvelope e = {};
        _cleanup_free_ char *reason = NULL, *text = NULL;
        enum json_tokener_error err;
        size_t end;
        int r;

        if (!ret || (!json && size > 0))
                return -EINVAL;
        if (size == 0)
                return parse_fail(ret_reason, &reason, json_error(&reason, NULL, "the key envelope is empty"));
        if (size > KEY_ENVELOPE_MAX) {
                r = json_error(&reason, NULL, "the key envelope is %zu bytes, larger than the maximum of %u", size,
                                 KEY_ENVELOPE_MAX);
                return parse_fail(ret_reason, &reason, r == -EINVAL ? -EFBIG : r);
        }
        if (memchr(json, '\0', size))
                return parse_fail(ret_reason, &reason, json_error(&reason, NULL, "the key envelope contains a NUL byte"));

        text = malloc(size + 1);
        tok = json_tokener_new_ex(4);
        if (!text || !tok)
                return -ENOMEM;
        memcpy(text, json, size);
        text[size] = '\0';
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int) size + 1);
        err = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (err != json_tokener_success)
                return parse_fail(ret_reason, &reason,
                                  json_error(&reason, NULL, "not valid JSON: %s",
                                               err == json_tokener_continue ? "unexpected end of input"
                                                                            : json_tokener_error_desc(err)));
        for (size_t i = end; i < size; i++)
                if (!strchr(" \t\r\n", json[i]))
                        return parse_fail(ret_reason, &reason,
                                          json_error(&reason, NULL, "trailing data after the JSON object"));
        if (!json_object_is_type(root, json_type_object))
                return parse_fail(ret_reason, &reason,
                                  json_error(&reason, NULL, "the key envelope must be a JSON object, got %s",
                                               json_type_name(root)));

        r = json_read_object(root, "", envelope_fields, ELEMENTSOF(envelope_fields), &e, &reason);
        if (r < 0)
                return parse_fail(ret_reason, &reason, r);
        if (count_strings(json, size) != 2 * (size_t) json_object_object_length(root))
                return parse_fail(ret_reason, &reason, json_error(&reason, NULL, "duplicate key"));
        if (keywrap_alg_kek_size(e.alg) < 0) /* unreachable: parse_alg checked it */
                return -EINVAL;

        *ret = e;
        e = (KeyEnvelope) {};
        return 0;
}

static bool key_envelope_is_valid(const KeyEnvelope *e) {
        return e && key_id_is_valid(e->kid) && e->kek && strlen(e->kek) > 0 && strlen(e->kek) <= KEK_URI_MAX &&
               text_is_printable(e->kek, strlen(e->kek)) && kek_uri_scheme_known(e->kek) &&
               keywrap_alg_kek_size(e->alg) > 0 && e->wrapped && e->wrapped_size >= KEYWRAP_WRAPPED_MIN &&
               e->wrapped_size <= KEYWRAP_WRAPPED_MAX && e->wrapped_size % 8 == 0;
}

int key_envelope_format(const KeyEnvelope *e, char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *b64 = NULL;
        const char *s;
        char *out;

        if (!ret || !key_envelope_is_valid(e))
                return -EINVAL;
        b64 = b64_encode(e->wrapped, e->wrapped_size);
        o = json_object_new_object();
        if (!b64 || !o)
                return -ENOMEM;
        if (json_object_object_add(o, "kid", json_object_new_string(e->kid)) < 0 ||
            json_object_object_add(o, "kek", json_object_new_string(e->kek)) < 0 ||
            json_object_object_add(o, "alg", json_object_new_string(e->alg)) < 0 ||
            json_object_object_add(o, "wrapped", json_object_new_string(b64)) < 0)
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        out = strdup_printf("%s\n", s);
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}

int key_envelope_load(const char *path, KeyEnvelope *ret, char **ret_reason) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = read_file_bounded(path, KEY_ENVELOPE_MAX, &data, &size);
        if (r < 0)
                return r;
        return key_envelope_parse((const char *) data, size, ret, ret_reason);
}

/* ---- the key directory ---- */

const char *keystore_dir(const char *dir) {
        const char *e;

        if (dir && *dir)
                return dir;
        e = getenv("CVMD_KEYS_DIR");
        if (e && *e)
                return e;
        return KEYSTORE_DIR_DEFAULT;
}

int keystore_path(const char *dir, const char *kid, char **ret) {
        char *p;

        if (!key_id_is_valid(kid) || !ret)
                return -EINVAL;
        p = strdup_printf("%s/%s.json", keystore_dir(dir), kid);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int keystore_write(const char *dir, const KeyEnvelope *e, bool replace) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct stat st;
        int r;

        if (!key_envelope_is_valid(e))
                return -EINVAL;
        dir = keystore_dir(dir);
        r = keystore_path(dir, e->kid, &path);
        if (r < 0)
                return r;
        r = key_envelope_format(e, &text);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        if (!replace && lstat(path, &st) == 0)
                return -EEXIST;
        return write_file_atomic(path, text, strlen(text), 0600);
}

int keystore_read(const char *dir, const char *kid, KeyEnvelope *ret, char **ret_reason) {
        _cleanup_(key_envelope_done) KeyEnvelope e = {};
        _cleanup_free_ char *path = NULL;
        int r;

        r = keystore_path(dir, kid, &path);
        if (r < 0)
                return r;
        r = key_envelope_load(path, &e, ret_reason);
        if (r < 0)
                return r;
        if (!streq(e.kid, kid))
                return set_reason(ret_reason, -EINVAL, "kid: \"%s\" does not match the file name %s.json", e.kid, kid);
        *ret = e;
        e = (KeyEnvelope) {};
        return 0;
}

void keystore_list_free(char **kids, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(kids[i]);
        free(kids);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int keystore_list(const char *dir, char ***ret_kids, size_t *ret_n) {
        _cleanup_(closedirp_) DIR *d = NULL;
        char **kids = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!ret_kids || !ret_n)
                return -EINVAL;
        d = opendir(keystore_dir(dir));
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret_kids = NULL;
                *ret_n = 0;
                return 0;
        }
        while ((errno = 0, de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char *kid, **k;

                if (len <= 5 || !streq(de->d_name + len - 5, ".json"))
                        continue;
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                kid = strndup(de->d_name, len - 5);
                if (!kid) {
                        keystore_list_free(kids, n);
                        return -ENOMEM;
                }
                if (!key_id_is_valid(kid)) {
                        free(kid);
                        continue;
                }
                k = reallocarray(kids, n + 1, sizeof(char *));
                if (!k) {
                        free(kid);
                        keystore_list_free(kids, n);
                        return -ENOMEM;
                }
                kids = k;
                kids[n++] = kid;
        }
        if (errno != 0) {
                int r = -errno;
                keystore_list_free(kids, n);
                return r;
        }
        if (n > 1)
                qsort(kids, n, sizeof(char *), cmp_str);
        *ret_kids = kids;
        *ret_n = n;
        return 0;
}
