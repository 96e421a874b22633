/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#11 KEKs: an AES key inside a token, found by RFC 7512 URI, the module loaded with
 * dlopen. Wrap and unwrap run inside the token (C_WrapKey / C_UnwrapKey with RFC 5649 key wrap
 * with padding); the data key passes through a short-lived session object and lands in a
 * Secret. The KEK object must be sensitive and non-extractable. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

#include "cvm/keywrap.h"
#include "cvm/util.h"
#include "kek-internal.h"

/* PKCS#11 3.0 names RFC 5649 unambiguously; 2.40 tokens (SoftHSM2 2.6) offer only
 * CKM_AES_KEY_WRAP_PAD, which SoftHSM2 implements as RFC 5649. */
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP 0x210bUL
#endif

#define P11_SLOTS_MAX 256u
#define P11_MECHS_MAX 4096u
#define P11_PIN_MAX 256u

/* ---- RFC 7512 URIs ---- */

void pkcs11_uri_done(Pkcs11Uri *u) {
        if (!u)
                return;
        free(u->token);
        free(u->manufacturer);
        free(u->serial);
        free(u->model);
        free(u->object);
        free(u->type);
        free(u->id);
        free(u->module_path);
        free(u->module_name);
        free(u->pin_source);
        secret_free(u->pin_value);
        free(u->reference);
        *u = (Pkcs11Uri) {};
}

/* Percent-decodes s[0..n); the result has a NUL after *ret_size bytes. */
static int pct_decode(const char *s, size_t n, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *out = malloc(n + 1);
        size_t k = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%') {
                        int hi, lo;
                        if (i + 2 >= n)
                                return -EINVAL;
                        hi = unhex_digit(s[i + 1]);
                        lo = unhex_digit(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        out[k++] = (uint8_t) (hi << 4 | lo);
                        i += 2;
                } else if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] >= 0x7f)
                        return -EINVAL;
                else
                        out[k++] = (uint8_t) s[i];
        }
        out[k] = 0;
        *ret = TAKE_PTR(out);
        *ret_size = k;
        return 0;
}

static int set_text_attr(char **field, const char *name, const char *v, size_t n, char **ret_reason) {
        uint8_t *d;
        size_t k;
        int r;

        if (*field)
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: '%s' given twice", name);
        r = pct_decode(v, n, &d, &k);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || memchr(d, 0, k)) {
                if (r >= 0)
                        free(d);
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: '%s' is not validly percent-encoded", name);
        }
        *field = (char *) d;
        return 0;
}

int pkcs11_uri_parse(const char *uri, Pkcs11Uri *ret, char **ret_reason) {
        _cleanup_(pkcs11_uri_done) Pkcs11Uri u = {};
        _cleanup_free_ char *ref = NULL;
        const char *path, *query, *end;
        size_t ref_len;
        int r;

        if (!uri || !ret)
                return -EINVAL;
        if (strncmp(uri, "pkcs11:", 7) != 0)
                return set_reason(ret_reason, -EINVAL, "not a pkcs11: URI");
        if (strlen(uri) > KEK_URI_MAX)
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI longer than %u bytes", KEK_URI_MAX);
        if (strchr(uri, '#'))
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: a fragment ('#') is not allowed");

        path = uri + 7;
        query = strchr(path, '?');
        end = query ? query : path + strlen(path);

        /* the reference keeps everything but pin-value */
        ref = malloc(strlen(uri) + 1);
        if (!ref)
                return -ENOMEM;
        memcpy(ref, uri, (size_t) (end - uri));
        ref_len = (size_t) (end - uri);

        for (const char *a = path; a < end;) {
                const char *semi = memchr(a, ';', (size_t) (end - a)), *e = semi ? semi : end, *eq;
                size_t nlen;

                eq = memchr(a, '=', (size_t) (e - a));
                if (!eq)
                        return set_reason(ret_reason, -EINVAL, "pkcs11 URI: path attribute without '='");
                nlen = (size_t) (eq - a);
#define IS(s) (nlen == strlen(s) && strncmp(a, s, nlen) == 0)
                if (IS("token"))
                        r = set_text_attr(&u.token, "token", eq + 1, (size_t) (e - eq - 1), ret_reason);
                else if (IS("manufacturer"))
                        r = set_text_attr(&u.manufacturer, "manufacturer", eq + 1, (size_t) (e - eq - 1), ret_reason);
                else if (IS("serial"))
                        r = set_text_attr(&u.serial, "serial", eq + 1, (size_t) (e - eq - 1), ret_reason);
                else if (IS("model"))
                        r = set_text_attr(&u.model, "model", eq + 1, (size_t) (e - eq - 1), ret_reason);
                else if (IS("object"))
                        r = set_text_attr(&u.object, "object", eq + 1, (size_t) (e - eq - 1), ret_reason);
                else if (IS("type"))
                        r = set_text_attr(&u.type, "type", eq + 1, (size_t) (e - eq - 1), ret_reason);
                else if (IS("id")) {
                        if (u.has_id)
                                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: 'id' given twice");
                        r = pct_decode(eq + 1, (size_t) (e - eq - 1), &u.id, &u.id_size);
                        if (r == -EINVAL || (r >= 0 && u.id_size == 0))
                                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: 'id' is not validly percent-encoded");
                        u.has_id = true;
                } else if (IS("slot-id")) {
                        _cleanup_free_ char *s = NULL;
                        char *p;
                        if (u.has_slot_id)
                                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: 'slot-id' given twice");
                        r = set_text_attr(&s, "slot-id", eq + 1, (size_t) (e - eq - 1), ret_reason);
                        if (r < 0)
                                return r;
                        errno = 0;
                        u.slot_id = strtoul(s, &p, 10);
                        if (!*s || *p || errno != 0 || s[0] == '-' || s[0] == '+')
                                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: 'slot-id' is not a number");
                        u.has_slot_id = true;
                } else if (IS("library-manufacturer") || IS("library-description") || IS("library-version") ||
                           IS("slot-description") || IS("slot-manufacturer"))
                        r = 0; /* informational; the module is named by module-path */
                else {
                        _cleanup_free_ char *n = strndup(a, nlen > 32 ? 32 : nlen);
                        return set_reason(ret_reason, -EINVAL, "pkcs11 URI: unknown path attribute '%s'",
                                          n ? n : "?");
                }
#undef IS
                if (r < 0)
                        return r;
                a = semi ? semi + 1 : end;
        }

        if (query) {
                bool first = true;
                for (const char *a = query + 1; *a;) {
                        const char *amp = strchr(a, '&'), *e = amp ? amp : a + strlen(a), *eq;
                        size_t nlen;

                        eq = memchr(a, '=', (size_t) (e - a));
                        if (!eq)
                                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: query attribute without '='");
                        nlen = (size_t) (eq - a);
#define IS(s) (nlen == strlen(s) && strncmp(a, s, nlen) == 0)
                        if (IS("pin-value")) {
                                _cleanup_free_ uint8_t *pin = NULL;
                                size_t pn;
                                if (u.pin_value)
                                        return set_reason(ret_reason, -EINVAL, "pkcs11 URI: 'pin-value' given twice");
                                r = pct_decode(eq + 1, (size_t) (e - eq - 1), &pin, &pn);
                                if (r == -ENOMEM)
                                        return r;
                                if (r < 0 || pn == 0 || pn > P11_PIN_MAX) {
                                        if (pin)
                                                explicit_bzero(pin, pn);
                                        return set_reason(ret_reason, -EINVAL, "pkcs11 URI: 'pin-value' is invalid");
                                }
                                r = secret_new_copy(pin, pn, &u.pin_value);
                                explicit_bzero(pin, pn);
                                if (r < 0)
                                        return r;
                        } else {
                                if (IS("module-path"))
                                        r = set_text_attr(&u.module_path, "module-path", eq + 1, (size_t) (e - eq - 1),
                                                          ret_reason);
                                else if (IS("module-name"))
                                        r = set_text_attr(&u.module_name, "module-name", eq + 1, (size_t) (e - eq - 1),
                                                          ret_reason);
                                else if (IS("pin-source"))
                                        r = set_text_attr(&u.pin_source, "pin-source", eq + 1, (size_t) (e - eq - 1),
                                                          ret_reason);
                                else {
                                        _cleanup_free_ char *n = strndup(a, nlen > 32 ? 32 : nlen);
                                        return set_reason(ret_reason, -EINVAL, "pkcs11 URI: unknown query attribute '%s'",
                                                          n ? n : "?");
                                }
                                if (r < 0)
                                        return r;
                                ref[ref_len++] = first ? '?' : '&';
                                memcpy(ref + ref_len, a, (size_t) (e - a));
                                ref_len += (size_t) (e - a);
                                first = false;
                        }
#undef IS
                        a = amp ? amp + 1 : e;
                }
        }
        ref[ref_len] = '\0';

        if (u.pin_value && u.pin_source)
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: give pin-value or pin-source, not both");
        if (u.type && !streq(u.type, "secret-key"))
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: type=%s, but a KEK is a secret-key",
                                  u.type);
        if (!u.object && !u.has_id)
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: name the KEK with object= or id=");
        u.reference = TAKE_PTR(ref);
        *ret = u;
        u = (Pkcs11Uri) {};
        return 0;
}

/* ---- the token ---- */

typedef struct P11 {
        void *dl;
        CK_FUNCTION_LIST *f;
        bool finalize;
        CK_SESSION_HANDLE session;
        bool has_session;
        bool logged_in;
        CK_OBJECT_HANDLE kek;
        CK_MECHANISM_TYPE mech;
} P11;

static const char *ckr_name(CK_RV rv) {
        switch (rv) {
        case CKR_OK: return "CKR_OK";
        case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
        case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
        case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
        case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
        case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
        case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
        case CKR_ENCRYPTED_DATA_INVALID: return "CKR_ENCRYPTED_DATA_INVALID";
        case CKR_ENCRYPTED_DATA_LEN_RANGE: return "CKR_ENCRYPTED_DATA_LEN_RANGE";
        case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
        case CKR_KEY_NOT_WRAPPABLE: return "CKR_KEY_NOT_WRAPPABLE";
        case CKR_KEY_UNEXTRACTABLE: return "CKR_KEY_UNEXTRACTABLE";
        case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
        case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
        case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
        case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY";
        case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
        case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
        case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
        case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
        case CKR_WRAPPED_KEY_INVALID: return "CKR_WRAPPED_KEY_INVALID";
        case CKR_WRAPPED_KEY_LEN_RANGE: return "CKR_WRAPPED_KEY_LEN_RANGE";
        case CKR_WRAPPING_KEY_HANDLE_INVALID: return "CKR_WRAPPING_KEY_HANDLE_INVALID";
        case CKR_WRAPPING_KEY_TYPE_INCONSISTENT: return "CKR_WRAPPING_KEY_TYPE_INCONSISTENT";
        case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
        default: return "a PKCS#11 error";
        }
}

static void p11_free(P11 *p) {
        if (!p)
                return;
        if (p->f) {
                if (p->logged_in)
                        (void) p->f->C_Logout(p->session);
                if (p->has_session)
                        (void) p->f->C_CloseSession(p->session);
                if (p->finalize)
                        (void) p->f->C_Finalize(NULL);
        }
        /* The module stays loaded: some modules (and the libraries they pull in) do not survive
         * being unloaded and loaded again within one process. */
        free(p);
}

static void p11_freep(P11 **p) {
        if (*p)
                p11_free(*p);
}

/* The module file: absolute, a regular file owned by root or the euid, not group/other
 * writable. It is code that will run as root. */
static int check_module(const char *path, char **ret_reason) {
        struct stat st;

        if (!path || path[0] != '/')
                return set_reason(ret_reason, -EINVAL, "PKCS#11 module path must be absolute");
        if (stat(path, &st) < 0)
                return set_reason(ret_reason, -errno, "PKCS#11 module %s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return set_reason(ret_reason, -EPERM, "PKCS#11 module %s: not a regular file", path);
        if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
                return set_reason(ret_reason, -EPERM, "PKCS#11 module %s: must be owned by root and not writable by "
                                  "group or others", path);
        return 0;
}

static int read_pin_source(const char *src, Secret **ret, char **ret_reason) {
        _cleanup_(secret_freep) Secret *pin = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *path = src;
        const uint8_t *nl;
        int r;

        if (strncmp(path, "file:///", 8) == 0)
                path += 7;
        else if (strncmp(path, "file:/", 6) == 0 && path[6] != '/')
                path += 5;
        if (path[0] != '/')
                return set_reason(ret_reason, -EINVAL, "pin-source must be an absolute path or a file: URI");
        r = kek_open_protected_file(path, &fd, ret_reason);
        if (r < 0)
                return r;
        r = secret_read_fd(fd, P11_PIN_MAX, &pin);
        if (r < 0)
                return set_reason(ret_reason, r == -EFBIG || r == -ENODATA ? -EINVAL : r, "pin-source %s: %s", path,
                                  r == -EFBIG ? "too long" : r == -ENODATA ? "empty" : strerror(-r));
        nl = memchr(secret_data(pin), '\n', secret_size(pin));
        if (nl)
                (void) secret_truncate(pin, (size_t) (nl - secret_data(pin)));
        if (secret_size(pin) > 0 && secret_data(pin)[secret_size(pin) - 1] == '\r')
                (void) secret_truncate(pin, secret_size(pin) - 1);
        if (secret_size(pin) == 0)
                return set_reason(ret_reason, -EINVAL, "pin-source %s: empty PIN", path);
        *ret = TAKE_PTR(pin);
        return 0;
}

/* A blank-padded fixed-size token field equals s. */
static bool padded_eq(const unsigned char *field, size_t size, const char *s) {
        size_t n = size;

        while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0'))
                n--;
        return strlen(s) == n && memcmp(field, s, n) == 0;
}

static int find_slot(P11 *p, const Pkcs11Uri *u, CK_SLOT_ID *ret, CK_TOKEN_INFO *ret_info, char **ret_reason) {
        _cleanup_free_ CK_SLOT_ID *slots = NULL;
        CK_ULONG n = 0;
        CK_RV rv;
        size_t matches = 0;

        rv = p->f->C_GetSlotList(CK_TRUE, NULL, &n);
        if (rv != CKR_OK)
                return set_reason(ret_reason, -EIO, "C_GetSlotList failed: %s", ckr_name(rv));
        if (n == 0 || n > P11_SLOTS_MAX)
                return set_reason(ret_reason, -ENOENT, "the PKCS#11 module has no token");
        slots = calloc(n, sizeof(CK_SLOT_ID));
        if (!slots)
                return -ENOMEM;
        rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
        if (rv != CKR_OK)
                return set_reason(ret_reason, -EIO, "C_GetSlotList failed: %s", ckr_name(rv));
        for (CK_ULONG i = 0; i < n && i < P11_SLOTS_MAX; i++) {
                CK_TOKEN_INFO ti;

                if (u->has_slot_id && slots[i] != u->slot_id)
                        continue;
                if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
                        continue;
                if ((u->token && !padded_eq(ti.label, sizeof(ti.label), u->token)) ||
                    (u->manufacturer && !padded_eq(ti.manufacturerID, sizeof(ti.manufacturerID), u->manufacturer)) ||
                    (u->serial && !padded_eq(ti.serialNumber, sizeof(ti.serialNumber), u->serial)) ||
                    (u->model && !padded_eq(ti.model, sizeof(ti.model), u->model)))
                        continue;
                if (matches++ == 0) {
                        *ret = slots[i];
                        *ret_info = ti;
                }
        }
        if (matches == 0)
                return set_reason(ret_reason, -ENOENT, "no PKCS#11 token matches the URI");
        if (matches > 1)
                return set_reason(ret_reason, -ENOTUNIQ, "%zu PKCS#11 tokens match the URI; name one with token=, "
                                  "serial= or slot-id=", matches);
        return 0;
}

static int pick_mechanism(P11 *p, CK_SLOT_ID slot, char **ret_reason) {
        _cleanup_free_ CK_MECHANISM_TYPE *m = NULL;
        CK_ULONG n = 0;
        bool pad = false, kwp = false;

        if (p->f->C_GetMechanismList(slot, NULL, &n) != CKR_OK || n == 0 || n > P11_MECHS_MAX)
                return set_reason(ret_reason, -EIO, "cannot list the token's mechanisms");
        m = calloc(n, sizeof(CK_MECHANISM_TYPE));
        if (!m)
                return -ENOMEM;
        if (p->f->C_GetMechanismList(slot, m, &n) != CKR_OK)
                return set_reason(ret_reason, -EIO, "cannot list the token's mechanisms");
        for (CK_ULONG i = 0; i < n && i < P11_MECHS_MAX; i++) {
                kwp = kwp || m[i] == CKM_AES_KEY_WRAP_KWP;
                pad = pad || m[i] == CKM_AES_KEY_WRAP_PAD;
        }
        if (kwp)
                p->mech = CKM_AES_KEY_WRAP_KWP;
        else if (pad)
                p->mech = CKM_AES_KEY_WRAP_PAD;
        else
                return set_reason(ret_reason, -EOPNOTSUPP, "the token offers no AES key wrap with padding "
                                  "(CKM_AES_KEY_WRAP_KWP or CKM_AES_KEY_WRAP_PAD)");
        return 0;
}

static int find_kek(P11 *p, const Pkcs11Uri *u, size_t *ret_len, char **ret_reason) {
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_ATTRIBUTE tmpl[3] = { { CKA_CLASS, &cls, sizeof(cls) } };
        CK_ULONG nt = 1, found = 0;
        CK_OBJECT_HANDLE h[2];
        CK_KEY_TYPE kt = 0;
        CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
        CK_ULONG len = 0;
        CK_RV rv;

        if (u->object)
                tmpl[nt++] = (CK_ATTRIBUTE) { CKA_LABEL, u->object, strlen(u->object) };
        if (u->has_id)
                tmpl[nt++] = (CK_ATTRIBUTE) { CKA_ID, u->id, u->id_size };
        rv = p->f->C_FindObjectsInit(p->session, tmpl, nt);
        if (rv != CKR_OK)
                return set_reason(ret_reason, -EIO, "C_FindObjectsInit failed: %s", ckr_name(rv));
        rv = p->f->C_FindObjects(p->session, h, 2, &found);
        (void) p->f->C_FindObjectsFinal(p->session);
        if (rv != CKR_OK)
                return set_reason(ret_reason, -EIO, "C_FindObjects failed: %s", ckr_name(rv));
        if (found == 0)
                return set_reason(ret_reason, -ENOENT, "no secret key in the token matches the URI%s",
                                  p->logged_in ? "" : " (no PIN was given: a private key needs pin-source)");
        if (found > 1)
                return set_reason(ret_reason, -ENOTUNIQ, "several secret keys match the URI; name one with object= "
                                  "and id=");
        p->kek = h[0];

        CK_ATTRIBUTE attrs[] = {
                { CKA_KEY_TYPE, &kt, sizeof(kt) },
                { CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
                { CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
                { CKA_VALUE_LEN, &len, sizeof(len) },
        };
        rv = p->f->C_GetAttributeValue(p->session, p->kek, attrs, ELEMENTSOF(attrs));
        if (rv != CKR_OK)
                return set_reason(ret_reason, -EIO, "cannot read the KEK's attributes: %s", ckr_name(rv));
        if (kt != CKK_AES)
                return set_reason(ret_reason, -EINVAL, "the KEK is not an AES key");
        if (!sensitive || extractable)
                return set_reason(ret_reason, -EPERM, "the KEK must be CKA_SENSITIVE and not CKA_EXTRACTABLE, refusing "
                                  "it");
        if (!keywrap_alg_for_kek_size(len))
                return set_reason(ret_reason, -EINVAL, "the KEK is %lu bytes, not an AES-128/192/256 key",
                                  (unsigned long) len);
        *ret_len = len;
        return 0;
}

static int p11_unwrap(Kek *k, const uint8_t *wrapped, size_t n, Secret **ret);

/* Unwraps a fresh wrap inside the token and compares. SoftHSM2 2.6's CKM_AES_KEY_WRAP_PAD
 * zero-pads a key to a multiple of 8 bytes before RFC 5649 wrapping (its unwrap of a correct
 * RFC 5649 blob is right), so a key of another length would come back longer: refuse that
 * rather than store an envelope that no RFC 5649 implementation opens to the original key.
 * A KEK without CKA_UNWRAP cannot be checked; then only multiples of 8 bytes are allowed. */
static int p11_self_check(Kek *k, const Secret *key, const uint8_t *wrapped, size_t n) {
        _cleanup_(secret_freep) Secret *back = NULL;
        int r;

        r = p11_unwrap(k, wrapped, n, &back);
        if (r == -EPERM)
                return secret_size(key) % 8 == 0 ? 0 : -EPROTO;
        if (r < 0 || !secret_equal(back, key))
                return -EPROTO;
        return 0;
}

static int p11_wrap(Kek *k, const Secret *key, uint8_t **ret, size_t *ret_size) {
        P11 *p = k->data;
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
        CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
        CK_ATTRIBUTE tmpl[] = {
                { CKA_CLASS, &cls, sizeof(cls) },
                { CKA_KEY_TYPE, &kt, sizeof(kt) },
                { CKA_TOKEN, &no, sizeof(no) },
                { CKA_PRIVATE, &yes, sizeof(yes) },
                { CKA_SENSITIVE, &no, sizeof(no) },
                { CKA_EXTRACTABLE, &yes, sizeof(yes) },
                { CKA_VALUE, (void *) secret_data(key), secret_size(key) },
        };
        CK_MECHANISM mech = { p->mech, NULL, 0 };
        CK_OBJECT_HANDLE h;
        _cleanup_free_ uint8_t *out = NULL;
        CK_ULONG n = 0;
        CK_RV rv;
        int r = 0;

        /* Public session object when not logged in: CKA_PRIVATE true needs a login. */
        if (!p->logged_in)
                tmpl[3].pValue = &no;
        rv = p->f->C_CreateObject(p->session, tmpl, ELEMENTSOF(tmpl), &h);
        if (rv != CKR_OK)
                return -EIO;
        rv = p->f->C_WrapKey(p->session, &mech, p->kek, h, NULL, &n);
        if (rv == CKR_OK && (n < KEYWRAP_WRAPPED_MIN || n > KEYWRAP_WRAPPED_MAX))
                r = -EIO;
        else if (rv == CKR_OK) {
                out = malloc(n);
                if (!out)
                        r = -ENOMEM;
                else
                        rv = p->f->C_WrapKey(p->session, &mech, p->kek, h, out, &n);
        }
        (void) p->f->C_DestroyObject(p->session, h);
        if (r < 0)
                return r;
        if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED)
                return -EPERM; /* the KEK lacks CKA_WRAP */
        if (rv != CKR_OK)
                return -EIO;
        /* RFC 5649 output is exactly this long; a token doing PKCS#7 padding + RFC 3394 is not. */
        if (n != keywrap_wrapped_size(secret_size(key)))
                return -EPROTO;
        r = p11_self_check(k, key, out, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}

static int p11_unwrap(Kek *k, const uint8_t *wrapped, size_t n, Secret **ret) {
        P11 *p = k->data;
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
        CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
        CK_ATTRIBUTE tmpl[] = {
                { CKA_CLASS, &cls, sizeof(cls) },
                { CKA_KEY_TYPE, &kt, sizeof(kt) },
                { CKA_TOKEN, &no, sizeof(no) },
                { CKA_PRIVATE, &yes, sizeof(yes) },
                { CKA_SENSITIVE, &no, sizeof(no) },
                { CKA_EXTRACTABLE, &yes, sizeof(yes) },
        };
        CK_MECHANISM mech = { p->mech, NULL, 0 };
        _cleanup_(secret_freep) Secret *key = NULL;
        CK_OBJECT_HANDLE h;
        CK_ATTRIBUTE value = { CKA_VALUE, NULL, 0 };
        CK_RV rv;
        int r = 0;

        if (!p->logged_in)
                tmpl[3].pValue = &no;
        rv = p->f->C_UnwrapKey(p->session, &mech, p->kek, (CK_BYTE_PTR) wrapped, n, tmpl, ELEMENTSOF(tmpl), &h);
        switch (rv) {
        case CKR_OK:
                break;
        case CKR_WRAPPED_KEY_INVALID:
        case CKR_WRAPPED_KEY_LEN_RANGE:
        case CKR_ENCRYPTED_DATA_INVALID:
        case CKR_ENCRYPTED_DATA_LEN_RANGE:
        case CKR_GENERAL_ERROR: /* SoftHSM2 reports a failed integrity check this way */
                return -EBADMSG;
        case CKR_KEY_FUNCTION_NOT_PERMITTED:
                return -EPERM; /* the KEK lacks CKA_UNWRAP */
        default:
                return -EIO;
        }
        rv = p->f->C_GetAttributeValue(p->session, h, &value, 1);
        if (rv != CKR_OK || value.ulValueLen == 0 || value.ulValueLen > KEYWRAP_KEY_MAX ||
            value.ulValueLen + 15 < n || value.ulValueLen > n - 8)
                r = -EIO;
        else {
                r = secret_new(value.ulValueLen, &key);
                if (r >= 0) {
                        value.pValue = secret_data_mut(key);
                        rv = p->f->C_GetAttributeValue(p->session, h, &value, 1);
                        if (rv != CKR_OK || value.ulValueLen != secret_size(key))
                                r = -EIO;
                }
        }
        (void) p->f->C_DestroyObject(p->session, h);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(key);
        return 0;
}

static void p11_done(Kek *k) {
        p11_free(k->data);
        k->data = NULL;
}

static const KekOps p11_ops = {
        .wrap = p11_wrap,
        .unwrap = p11_unwrap,
        .done = p11_done,
};

int kek_pkcs11_open(const char *uri, const KekOptions *opts, Kek **ret, char **ret_reason) {
        _cleanup_(pkcs11_uri_done) Pkcs11Uri u = {};
        _cleanup_(secret_freep) Secret *pin = NULL;
        _cleanup_(p11_freep) P11 *p = NULL;
        _cleanup_(kek_freep) Kek *k = NULL;
        CK_C_INITIALIZE_ARGS init = { .flags = CKF_OS_LOCKING_OK };
        CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
        const char *module;
        CK_TOKEN_INFO ti = {};
        CK_SLOT_ID slot = 0;
        size_t kek_len = 0;
        CK_RV rv;
        int r;

        r = pkcs11_uri_parse(uri, &u, ret_reason);
        if (r < 0)
                return r;
        if (u.module_name && !u.module_path)
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: module-name is not supported; use module-path");
        module = u.module_path ? u.module_path : opts && opts->pkcs11_module ? opts->pkcs11_module
                                                                              : getenv("CVMD_PKCS11_MODULE");
        if (!module || !*module)
                return set_reason(ret_reason, -EINVAL, "pkcs11 URI: no module-path, and no PKCS#11 module is "
                                  "configured ($CVMD_PKCS11_MODULE)");
        r = check_module(module, ret_reason);
        if (r < 0)
                return r;
        if (u.pin_source) {
                r = read_pin_source(u.pin_source, &pin, ret_reason);
                if (r < 0)
                        return r;
        } else if (u.pin_value) {
                r = secret_dup(u.pin_value, &pin);
                if (r < 0)
                        return r;
        }

        p = calloc(1, sizeof(P11));
        if (!p)
                return -ENOMEM;
        p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
        if (!p->dl)
                return set_reason(ret_reason, -ENOENT, "cannot load PKCS#11 module %s: %s", module, dlerror());
        *(void **) &get_list = dlsym(p->dl, "C_GetFunctionList");
        if (!get_list)
                return set_reason(ret_reason, -ENOENT, "%s is not a PKCS#11 module (no C_GetFunctionList)", module);
        rv = get_list(&p->f);
        if (rv != CKR_OK || !p->f) {
                p->f = NULL;
                return set_reason(ret_reason, -EIO, "%s: C_GetFunctionList failed: %s", module, ckr_name(rv));
        }
        rv = p->f->C_Initialize(&init);
        if (rv == CKR_OK)
                p->finalize = true;
        else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
                return set_reason(ret_reason, -EIO, "%s: C_Initialize failed: %s", module, ckr_name(rv));

        r = find_slot(p, &u, &slot, &ti, ret_reason);
        if (r < 0)
                return r;
        r = pick_mechanism(p, slot, ret_reason);
        if (r < 0)
                return r;
        rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &p->session);
        if (rv != CKR_OK)
                return set_reason(ret_reason, -EIO, "C_OpenSession failed: %s", ckr_name(rv));
        p->has_session = true;
        if (pin) {
                rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR) secret_data(pin), secret_size(pin));
                if (rv == CKR_OK)
                        p->logged_in = true;
                else if (rv != CKR_USER_ALREADY_LOGGED_IN)
                        return set_reason(ret_reason, rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ? -EACCES : -EIO,
                                          "PKCS#11 login failed: %s", ckr_name(rv));
        } else if (ti.flags & CKF_LOGIN_REQUIRED)
                return set_reason(ret_reason, -EACCES, "the token needs a PIN: add pin-source=FILE to the URI");

        r = find_kek(p, &u, &kek_len, ret_reason);
        if (r < 0)
                return r;

        k = calloc(1, sizeof(Kek));
        if (!k)
                return -ENOMEM;
        k->reference = strdup(u.reference);
        if (!k->reference)
                return -ENOMEM;
        k->alg = keywrap_alg_for_kek_size(kek_len);
        k->ops = &p11_ops;
        k->data = TAKE_PTR(p);
        *ret = TAKE_PTR(k);
        return 0;
}
