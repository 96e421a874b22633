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
#include "cvm/secure-file.h"
#include "cvm/util.h"

static inline void closedirp_(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
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
        /* The ID names a file on both sides (<kid>.json here, <keys-dir>/<kid> in the guest) and
         * a keyring description: no '/', no leading '.' or '-'. */
        if (n == 0 || n > KEY_ID_MAX || !is_alnum(kid[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(kid[i]) && kid[i] != '.' && kid[i] != '_' && kid[i] != '-')
                        return false;
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
                return json_error(reason, path, "not a valid key ID (" KEY_ID_GRAMMAR ")");
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

/* ---- install metadata ---- */

typedef struct InstallFields {
        const char *target, *owner, *group, *mode, *user, *device, *name;
} InstallFields;

static int parse_install_string(json_object *v, const char *path, void *data, char **reason) {
        return json_read_string(v, path, KEY_INSTALL_DEVICE_MAX, (const char **) data, NULL, reason);
}

static const JsonField install_fields[] = {
        { "target", parse_install_string, offsetof(InstallFields, target), 0 },
        { "owner", parse_install_string, offsetof(InstallFields, owner), 0 },
        { "group", parse_install_string, offsetof(InstallFields, group), 0 },
        { "mode", parse_install_string, offsetof(InstallFields, mode), 0 },
        { "user", parse_install_string, offsetof(InstallFields, user), 0 },
        { "device", parse_install_string, offsetof(InstallFields, device), 0 },
        { "name", parse_install_string, offsetof(InstallFields, name), 0 },
};

static int copy_field(char *dst, size_t size, const char *s, const char *path, const char *key, char **reason) {
        if (!s)
                return 0;
        if (strlen(s) >= size)
                return json_error(reason, NULL, "%s.%s: longer than %zu characters", path, key, size - 1);
        memcpy(dst, s, strlen(s) + 1);
        return 0;
}

static int parse_mode(const char *s, uint16_t *ret) {
        size_t n = strlen(s);
        unsigned m = 0;

        /* "0440" or "440": octal permission bits, written the way chmod takes them */
        if (n < 3 || n > 4 || (n == 4 && s[0] != '0'))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '7')
                        return -EINVAL;
                m = m * 8 + (unsigned) (s[i] - '0');
        }
        *ret = (uint16_t) m;
        return 0;
}

static int parse_install(json_object *v, const char *path, void *data, char **reason) {
        KeyInstall *k = data, out = { .target = KEY_TARGET_FILE };
        InstallFields f = {};
        _cleanup_free_ char *why = NULL;
        int r;

        r = json_read_object(v, path, install_fields, ELEMENTSOF(install_fields), &f, reason);
        if (r < 0)
                return r;
        if (f.target) {
                r = key_target_from_string(f.target);
                if (r < 0)
                        return json_error(reason, NULL, "%s.target: expected \"file\", \"keyring\" or \"luks\"", path);
                out.target = (KeyTarget) r;
        }
        if (f.owner && out.target != KEY_TARGET_FILE)
                return json_error(reason, NULL, "%s.owner: only for the file target (the keyring's is \"user\")", path);
        if (f.user && out.target != KEY_TARGET_KEYRING)
                return json_error(reason, NULL, "%s.user: only for the keyring target (a file's is \"owner\")", path);
        if ((r = copy_field(out.owner, sizeof(out.owner), f.owner ? f.owner : f.user, path, f.owner ? "owner" : "user",
                            reason)) < 0 ||
            (r = copy_field(out.group, sizeof(out.group), f.group, path, "group", reason)) < 0 ||
            (r = copy_field(out.device, sizeof(out.device), f.device, path, "device", reason)) < 0 ||
            (r = copy_field(out.dm_name, sizeof(out.dm_name), f.name, path, "name", reason)) < 0)
                return r;
        if (f.mode && (parse_mode(f.mode, &out.mode) < 0 || out.mode == 0))
                return json_error(reason, NULL, "%s.mode: expected octal permission bits such as \"0400\"", path);
        if (key_install_validate(&out, &why) < 0) {
                /* the shared checks name the field as the bundle does; here "user" is the owner */
                if (f.user && strncmp(why, "owner:", 6) == 0)
                        return json_error(reason, NULL, "%s.user:%s", path, why + 6);
                return json_error(reason, NULL, "%s.%s", path, why);
        }
        *k = out;
        return 0;
}

static const JsonField envelope_fields[] = {
        { "kid", parse_kid, offsetof(KeyEnvelope, kid), JSON_FIELD_REQUIRED },
        { "kek", parse_kek, offsetof(KeyEnvelope, kek), JSON_FIELD_REQUIRED },
        { "alg", parse_alg, offsetof(KeyEnvelope, alg), JSON_FIELD_REQUIRED },
        { "wrapped", parse_wrapped, offsetof(KeyEnvelope, wrapped), JSON_FIELD_REQUIRED },
        { "install", parse_install, offsetof(KeyEnvelope, install), 0 },
};

/* json-c keeps the last of duplicate keys. Every value in the envelope is a string except
 * "install", an object of strings (checked before this runs), so counting the strings in the
 * text counts the members: two per member, less one for "install"'s value. */
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
        {
                json_object *inst = NULL;
                size_t want = 2 * (size_t) json_object_object_length(root);

                if (json_object_object_get_ex(root, "install", &inst))
                        want += 2 * (size_t) json_object_object_length(inst) - 1;
                if (count_strings(json, size) != want)
                        return parse_fail(ret_reason, &reason, json_error(&reason, NULL, "duplicate key"));
        }
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
               e->wrapped_size <= KEYWRAP_WRAPPED_MAX && e->wrapped_size % 8 == 0 &&
               key_install_validate(&e->install, NULL) >= 0;
}

static json_object *install_json(const KeyInstall *k) {
        json_object *o = json_object_new_object();
        char mode[8];

        if (!o)
                return NULL;
        json_object_object_add(o, "target", json_object_new_string(key_target_to_string(k->target)));
        if (k->owner[0])
                json_object_object_add(o, k->target == KEY_TARGET_KEYRING ? "user" : "owner",
                                       json_object_new_string(k->owner));
        if (k->group[0])
                json_object_object_add(o, "group", json_object_new_string(k->group));
        if (k->mode) {
                snprintf(mode, sizeof(mode), "%04o", (unsigned) k->mode);
                json_object_object_add(o, "mode", json_object_new_string(mode));
        }
        if (k->device[0])
                json_object_object_add(o, "device", json_object_new_string(k->device));
        if (k->dm_name[0])
                json_object_object_add(o, "name", json_object_new_string(k->dm_name));
        return o;
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
        if (e->install.target != KEY_TARGET_DEFAULT) {
                json_object *inst = install_json(&e->install);
                if (!inst || json_object_object_add(o, "install", inst) < 0) {
                        json_object_put(inst);
                        return -ENOMEM;
                }
        }
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

int keystore_write_full(const char *dir, const KeyEnvelope *e, bool replace, char **ret_reason) {
        _cleanup_free_ char *path = NULL, *text = NULL, *name = NULL;
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
                return set_reason(ret_reason, r, "%s: cannot create: %s", dir, strerror(-r));
        name = strdup_printf("%s.json", e->kid);
        if (!name)
                return -ENOMEM;
        return secure_file_write(dir, name, text, strlen(text), 0600, replace, ret_reason);
}

int keystore_write(const char *dir, const KeyEnvelope *e, bool replace) {
        return keystore_write_full(dir, e, replace, NULL);
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
