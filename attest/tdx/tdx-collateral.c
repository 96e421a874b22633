/* SPDX-License-Identifier: Apache-2.0 */
/* Intel collateral for TDX (shared/specs/tdx.md §6): TCB info v3 ("TDX") and the TD QE
 * identity ("TD_QE", v2) as PCS/PCCS serve them, their issuer chains and the two CRLs.
 *
 * The signature covers the exact bytes of the "tcbInfo" / "enclaveIdentity" value as written
 * in the body. A small scanner locates that byte range in the raw text (refusing repeated
 * top-level keys); only those bytes are then handed to json-c, so what is used is exactly what
 * was signed. Nothing is re-serialized. */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/json-read.h"
#include "cvm/object-cache.h"
#include "cvm/pem-bundle.h"
#include "cvm/tdx.h"
#include "cvm/util.h"
#include "cvm/x509-cache.h"

#define JSON_DEPTH_MAX 32u
#define LEVELS_MAX 256u
#define IDENTITIES_MAX 32u
#define ADVISORIES_MAX 256u
#define ADVISORY_ID_LEN_MAX 64u

static const char *const file_names[_TDX_FILE_MAX] = {
        [TDX_FILE_TCB_INFO] = "tcb_info.json",
        [TDX_FILE_TCB_INFO_CHAIN] = "tcb_info_issuer_chain.pem",
        [TDX_FILE_QE_IDENTITY] = "qe_identity.json",
        [TDX_FILE_QE_IDENTITY_CHAIN] = "qe_identity_issuer_chain.pem",
        [TDX_FILE_PCK_CRL] = "pck_crl.der",
        [TDX_FILE_PCK_CRL_CHAIN] = "pck_crl_issuer_chain.pem",
        [TDX_FILE_ROOT_CRL] = "root_ca_crl.der",
};

const char *tdx_collateral_file_name(TdxCollateralFile f) {
        return f >= 0 && f < _TDX_FILE_MAX ? file_names[f] : NULL;
}

static const char *const status_names[_TDX_TCB_STATUS_MAX] = {
        [TDX_TCB_UP_TO_DATE] = "UpToDate",
        [TDX_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
        [TDX_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
        [TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
        [TDX_TCB_OUT_OF_DATE] = "OutOfDate",
        [TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
        [TDX_TCB_REVOKED] = "Revoked",
        [TDX_TCB_NOT_SUPPORTED] = "NotSupported",
        [TDX_TCB_TD_RELAUNCH_ADVISED] = "TDRelaunchAdvised",
        [TDX_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED] = "TDRelaunchAdvisedConfigurationNeeded",
};

const char *tdx_tcb_status_to_string(TdxTcbStatus s) {
        return s >= 0 && s < _TDX_TCB_STATUS_MAX ? status_names[s] : NULL;
}

TdxTcbStatus tdx_tcb_status_from_string(const char *s) {
        for (int i = 0; s && i < _TDX_TCB_STATUS_MAX; i++)
                if (streq(s, status_names[i]))
                        return i;
        return _TDX_TCB_STATUS_INVALID;
}

/* ---- locating a top-level member in the raw text ---- */

typedef struct Scan {
        const char *s;
        size_t n, i;
} Scan;

static void scan_ws(Scan *c) {
        while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
                c->i++;
}

static bool scan_char(Scan *c, char ch) {
        if (c->i >= c->n || c->s[c->i] != ch)
                return false;
        c->i++;
        return true;
}

/* A string starting at c->i; [*ret_start, *ret_end) are the bytes between the quotes. */
static int scan_string(Scan *c, size_t *ret_start, size_t *ret_end) {
        size_t start;

        if (!scan_char(c, '"'))
                return -EBADMSG;
        start = c->i;
        while (c->i < c->n) {
                unsigned char ch = (unsigned char) c->s[c->i];

                if (ch == '"') {
                        *ret_start = start;
                        *ret_end = c->i++;
                        return 0;
                }
                if (ch < 0x20)
                        return -EBADMSG;
                if (ch == '\\') {
                        if (c->i + 1 >= c->n)
                                return -EBADMSG;
                        c->i += c->s[c->i + 1] == 'u' ? 6 : 2;
                        if (c->i > c->n)
                                return -EBADMSG;
                        continue;
                }
                c->i++;
        }
        return -EBADMSG;
}

static int scan_value(Scan *c, unsigned depth) {
        size_t a, b;

        if (depth > JSON_DEPTH_MAX || c->i >= c->n)
                return -EBADMSG;
        switch (c->s[c->i]) {
        case '{':
                c->i++;
                scan_ws(c);
                if (scan_char(c, '}'))
                        return 0;
                for (;;) {
                        scan_ws(c);
                        if (scan_string(c, &a, &b) < 0)
                                return -EBADMSG;
                        scan_ws(c);
                        if (!scan_char(c, ':'))
                                return -EBADMSG;
                        scan_ws(c);
                        if (scan_value(c, depth + 1) < 0)
                                return -EBADMSG;
                        scan_ws(c);
                        if (scan_char(c, '}'))
                                return 0;
                        if (!scan_char(c, ','))
                                return -EBADMSG;
                }
        case '[':
                c->i++;
                scan_ws(c);
                if (scan_char(c, ']'))
                        return 0;
                for (;;) {
                        scan_ws(c);
                        if (scan_value(c, depth + 1) < 0)
                                return -EBADMSG;
                        scan_ws(c);
                        if (scan_char(c, ']'))
                                return 0;
                        if (!scan_char(c, ','))
                                return -EBADMSG;
                }
        case '"':
                return scan_string(c, &a, &b);
        default: {
                size_t start = c->i;
                while (c->i < c->n && c->s[c->i] && strchr("0123456789+-.eEtruefalsn", c->s[c->i]))
                        c->i++;
                return c->i > start ? 0 : -EBADMSG;
        }
        }
}

int tdx_json_member_span(const char *text, size_t size, const char *key, size_t *ret_off, size_t *ret_len) {
        Scan c = { .s = text, .n = size };
        size_t klen = strlen(key), off = 0, len = 0;
        bool found = false;

        if (!text)
                return -EBADMSG;
        scan_ws(&c);
        if (!scan_char(&c, '{'))
                return -EBADMSG;
        scan_ws(&c);
        if (!scan_char(&c, '}'))
                for (;;) {
                        size_t a, b, v;

                        scan_ws(&c);
                        if (scan_string(&c, &a, &b) < 0)
                                return -EBADMSG;
                        scan_ws(&c);
                        if (!scan_char(&c, ':'))
                                return -EBADMSG;
                        scan_ws(&c);
                        v = c.i;
                        if (scan_value(&c, 1) < 0)
                                return -EBADMSG;
                        if (b - a == klen && memcmp(text + a, key, klen) == 0) {
                                if (found)
                                        return -EBADMSG; /* which one would be used? */
                                found = true;
                                off = v;
                                len = c.i - v;
                        }
                        scan_ws(&c);
                        if (scan_char(&c, '}'))
                                break;
                        if (!scan_char(&c, ','))
                                return -EBADMSG;
                }
        scan_ws(&c);
        if (c.i != c.n || !found)
                return -EBADMSG;
        *ret_off = off;
        *ret_len = len;
        return 0;
}

/* ---- typed readers with JSON paths ---- */

/* Malformed collateral is -EBADMSG, as everywhere in the verifiers; the shared readers say
 * -EINVAL. Intel adds members over time, so unknown keys are ignored here. */
static int malformed(int r) {
        return r == -EINVAL ? -EBADMSG : r;
}

static int get_member(json_object *o, const char *path, const char *key, json_type type, bool optional,
                      json_object **ret, char **reason) {
        return malformed(json_read_member(o, path, key, type, optional, ret, reason));
}

static int get_uint(json_object *o, const char *path, const char *key, uint64_t max, uint64_t *ret, char **reason) {
        _cleanup_free_ char *p = json_path_key(path, key);
        json_object *v;
        int r;

        if (!p)
                return -ENOMEM;
        r = get_member(o, path, key, json_type_int, false, &v, reason);
        if (r < 0)
                return r;
        return malformed(json_read_uint(v, p, 0, max, ret, reason));
}

static int get_string(json_object *o, const char *path, const char *key, const char **ret, char **reason) {
        _cleanup_free_ char *p = json_path_key(path, key);
        json_object *v;
        int r;

        if (!p)
                return -ENOMEM;
        r = get_member(o, path, key, json_type_string, false, &v, reason);
        if (r < 0)
                return r;
        return malformed(json_read_string(v, p, TDX_COLLATERAL_JSON_MAX, ret, NULL, reason));
}

static int get_hex(json_object *o, const char *path, const char *key, void *dst, size_t n, char **reason) {
        _cleanup_free_ char *p = json_path_key(path, key);
        json_object *v;
        int r;

        if (!p)
                return -ENOMEM;
        r = get_member(o, path, key, json_type_string, false, &v, reason);
        if (r < 0)
                return r;
        return malformed(json_read_hex(v, p, dst, n, reason));
}

static int get_date(json_object *o, const char *path, const char *key, int64_t *ret, char **reason) {
        const char *s;
        int r;

        r = get_string(o, path, key, &s, reason);
        if (r < 0)
                return r;
        if (parse_rfc3339(s, ret) < 0)
                return set_reason(reason, -EBADMSG, "%s.%s: not an RFC 3339 time", path, key);
        return 0;
}

static int get_status(json_object *o, const char *path, TdxTcbStatus *ret, char **reason) {
        const char *s;
        TdxTcbStatus st;
        int r;

        r = get_string(o, path, "tcbStatus", &s, reason);
        if (r < 0)
                return r;
        st = tdx_tcb_status_from_string(s);
        /* NotSupported and the relaunch statuses are verdicts, never a level's status. */
        if (st < 0 || st >= TDX_TCB_NOT_SUPPORTED)
                return set_reason(reason, -EBADMSG, "%s.tcbStatus: unknown status", path);
        *ret = st;
        return 0;
}

void tdx_advisories_done(TdxAdvisories *a) {
        for (size_t i = 0; i < a->n; i++)
                free(a->ids[i]);
        free(a->ids);
        *a = (TdxAdvisories) {};
}

static int advisories_add(TdxAdvisories *a, const char *id) {
        size_t pos = 0;
        char **n, *copy;

        while (pos < a->n) {
                int c = strcmp(a->ids[pos], id);
                if (c == 0)
                        return 0;
                if (c > 0)
                        break;
                pos++;
        }
        copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        n = reallocarray(a->ids, a->n + 1, sizeof(char *));
        if (!n) {
                free(copy);
                return -ENOMEM;
        }
        a->ids = n;
        memmove(a->ids + pos + 1, a->ids + pos, (a->n - pos) * sizeof(char *));
        a->ids[pos] = copy;
        a->n++;
        return 0;
}

int tdx_advisories_merge(TdxAdvisories *a, const TdxAdvisories *b) {
        for (size_t i = 0; i < b->n; i++) {
                int r = advisories_add(a, b->ids[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int get_advisories(json_object *o, const char *path, TdxAdvisories *ret, char **reason) {
        _cleanup_free_ char *p = json_path_key(path, "advisoryIDs");
        json_object *arr;
        size_t n;
        int r;

        if (!p)
                return -ENOMEM;
        r = get_member(o, path, "advisoryIDs", json_type_array, true, &arr, reason);
        if (r < 0 || !arr)
                return r;
        r = json_read_array(arr, p, ADVISORIES_MAX, &n, reason);
        if (r < 0)
                return malformed(r);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *pi = json_path_index(p, i);
                const char *s;
                size_t len;

                if (!pi)
                        return -ENOMEM;
                r = json_read_string(json_object_array_get_idx(arr, i), pi, ADVISORY_ID_LEN_MAX, &s, &len, reason);
                if (r < 0)
                        return malformed(r);
                if (len == 0 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != len)
                        return set_reason(reason, -EBADMSG, "%s: not an advisory ID", pi);
                r = advisories_add(ret, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int get_components(json_object *o, const char *path, const char *key, uint8_t ret[16], char **reason) {
        _cleanup_free_ char *p = json_path_key(path, key);
        json_object *arr;
        size_t n;
        int r;

        if (!p)
                return -ENOMEM;
        r = get_member(o, path, key, json_type_array, false, &arr, reason);
        if (r < 0)
                return r;
        r = json_read_array(arr, p, 16, &n, reason);
        if (r < 0)
                return malformed(r);
        if (n != 16)
                return set_reason(reason, -EBADMSG, "%s: must have 16 components", p);
        for (size_t i = 0; i < 16; i++) {
                _cleanup_free_ char *pi = json_path_index(p, i);
                uint64_t svn;

                if (!pi)
                        return -ENOMEM;
                r = get_uint(json_object_array_get_idx(arr, i), pi, "svn", 255, &svn, reason);
                if (r < 0)
                        return r;
                ret[i] = (uint8_t) svn;
        }
        return 0;
}

static void isv_levels_free(TdxIsvLevel *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                tdx_advisories_done(&l[i].advisories);
        free(l);
}

static int cmp_isv_level(const void *a, const void *b) {
        const TdxIsvLevel *x = a, *y = b;

        return x->isvsvn == y->isvsvn ? 0 : x->isvsvn > y->isvsvn ? -1 : 1;
}

static int get_isv_levels(json_object *o, const char *path, TdxIsvLevel **ret, size_t *ret_n, char **reason) {
        _cleanup_free_ char *p = strdup_printf("%s.tcbLevels", path);
        TdxIsvLevel *levels;
        json_object *arr;
        size_t n;
        int r;

        if (!p)
                return -ENOMEM;
        r = get_member(o, path, "tcbLevels", json_type_array, false, &arr, reason);
        if (r < 0)
                return r;
        n = json_object_array_length(arr);
        if (n == 0 || n > LEVELS_MAX)
                return set_reason(reason, -EBADMSG, "%s: must have 1 to %u levels", p, LEVELS_MAX);
        levels = calloc(n, sizeof(TdxIsvLevel));
        if (!levels)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *pi = strdup_printf("%s[%zu]", p, i), *pt = NULL;
                json_object *e = json_object_array_get_idx(arr, i), *tcb;
                uint64_t svn;

                if (!pi || !(pt = strdup_printf("%s.tcb", pi))) {
                        r = -ENOMEM;
                        goto fail;
                }
                if ((r = get_member(e, pi, "tcb", json_type_object, false, &tcb, reason)) < 0 ||
                    (r = get_uint(tcb, pt, "isvsvn", UINT16_MAX, &svn, reason)) < 0 ||
                    (r = get_date(e, pi, "tcbDate", &levels[i].tcb_date, reason)) < 0 ||
                    (r = get_status(e, pi, &levels[i].status, reason)) < 0 ||
                    (r = get_advisories(e, pi, &levels[i].advisories, reason)) < 0)
                        goto fail;
                levels[i].isvsvn = (uint16_t) svn;
        }
        qsort(levels, n, sizeof(TdxIsvLevel), cmp_isv_level);
        *ret = levels;
        *ret_n = n;
        return 0;
fail:
        isv_levels_free(levels, n);
        return r;
}

/* Parses the signed member of a PCS body: json-c sees only the signed bytes. */
static int parse_signed_body(const char *text, size_t size, const char *key, json_object **ret,
                             uint8_t digest[32], uint8_t signature[64], char **reason) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *sig = NULL, *why = NULL;
        size_t off, len, soff, slen;
        int r;

        if (!text || size == 0)
                return set_reason(reason, -EBADMSG, "empty document");
        if (size > TDX_COLLATERAL_JSON_MAX)
                return set_reason(reason, -EBADMSG, "larger than %u bytes", TDX_COLLATERAL_JSON_MAX);
        if (memchr(text, 0, size))
                return set_reason(reason, -EBADMSG, "NUL byte in the document");
        if (tdx_json_member_span(text, size, key, &off, &len) < 0)
                return set_reason(reason, -EBADMSG,
                                  "not a JSON object with exactly one \"%s\" member (malformed, missing or repeated)",
                                  key);
        if (tdx_json_member_span(text, size, "signature", &soff, &slen) < 0)
                return set_reason(reason, -EBADMSG, "no single \"signature\" member");
        if (slen != 130 || text[soff] != '"' || text[soff + slen - 1] != '"')
                return set_reason(reason, -EBADMSG, "signature: not a string of 128 hex digits");
        sig = strndup(text + soff + 1, 128);
        if (!sig)
                return -ENOMEM;
        if (hex_decode_exact(sig, signature, 64) < 0)
                return set_reason(reason, -EBADMSG, "signature: not a string of 128 hex digits");

        r = json_parse_strict(text + off, len, TDX_COLLATERAL_JSON_MAX, JSON_DEPTH_MAX, key, &o, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(reason, -EBADMSG, "%s: %s", key, why ?: "not a valid JSON object");
        SHA256((const unsigned char *) text + off, len, digest);
        *ret = TAKE_PTR(o);
        return 0;
}

static int parse_module_identity(json_object *o, const char *path, bool with_levels, TdxModuleIdentity *m,
                                 char **reason) {
        int r;

        if (!json_object_is_type(o, json_type_object))
                return set_reason(reason, -EBADMSG, "%s: not an object", path);
        if (with_levels) {
                const char *id;
                r = get_string(o, path, "id", &id, reason);
                if (r < 0)
                        return r;
                if (strlen(id) == 0 || strlen(id) >= sizeof(m->id))
                        return set_reason(reason, -EBADMSG, "%s.id: too long", path);
                for (size_t i = 0; id[i]; i++)
                        m->id[i] = (char) (id[i] >= 'a' && id[i] <= 'z' ? id[i] - 32 : id[i]);
        }
        if ((r = get_hex(o, path, "mrsigner", m->mrsigner, 48, reason)) < 0 ||
            (r = get_hex(o, path, "attributes", m->attributes, 8, reason)) < 0 ||
            (r = get_hex(o, path, "attributesMask", m->attributes_mask, 8, reason)) < 0)
                return r;
        if (with_levels)
                return get_isv_levels(o, path, &m->levels, &m->n_levels, reason);
        return 0;
}

/* QVL's TCB level order: SGX components, then PCESVN, then TDX components; highest first. */
static int cmp_tcb_level(const void *a, const void *b) {
        const TdxTcbLevel *x = a, *y = b;
        int c = memcmp(x->sgx, y->sgx, 16);

        if (c == 0)
                c = x->pcesvn == y->pcesvn ? 0 : x->pcesvn < y->pcesvn ? -1 : 1;
        if (c == 0)
                c = memcmp(x->tdx, y->tdx, 16);
        return -c;
}

static int parse_tcb_levels(json_object *o, TdxTcbInfo *t, char **reason) {
        json_object *arr;
        size_t n;
        int r;

        r = get_member(o, "tcbInfo", "tcbLevels", json_type_array, false, &arr, reason);
        if (r < 0)
                return r;
        n = json_object_array_length(arr);
        if (n == 0 || n > LEVELS_MAX)
                return set_reason(reason, -EBADMSG, "tcbInfo.tcbLevels: must have 1 to %u levels", LEVELS_MAX);
        t->levels = calloc(n, sizeof(TdxTcbLevel));
        if (!t->levels)
                return -ENOMEM;
        t->n_levels = n;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *pi = strdup_printf("tcbInfo.tcbLevels[%zu]", i), *pt = NULL;
                json_object *e = json_object_array_get_idx(arr, i), *tcb;
                TdxTcbLevel *l = &t->levels[i];
                uint64_t pcesvn;

                if (!pi || !(pt = strdup_printf("%s.tcb", pi)))
                        return -ENOMEM;
                if ((r = get_member(e, pi, "tcb", json_type_object, false, &tcb, reason)) < 0 ||
                    (r = get_components(tcb, pt, "sgxtcbcomponents", l->sgx, reason)) < 0 ||
                    (r = get_uint(tcb, pt, "pcesvn", UINT16_MAX, &pcesvn, reason)) < 0 ||
                    (r = get_components(tcb, pt, "tdxtcbcomponents", l->tdx, reason)) < 0 ||
                    (r = get_date(e, pi, "tcbDate", &l->tcb_date, reason)) < 0 ||
                    (r = get_status(e, pi, &l->status, reason)) < 0 ||
                    (r = get_advisories(e, pi, &l->advisories, reason)) < 0)
                        return r;
                l->pcesvn = (uint16_t) pcesvn;
        }
        qsort(t->levels, n, sizeof(TdxTcbLevel), cmp_tcb_level);
        return 0;
}

TdxTcbInfo *tdx_tcb_info_free(TdxTcbInfo *t) {
        if (!t)
                return NULL;
        if (__atomic_fetch_sub(&t->n_shared, 1, __ATOMIC_ACQ_REL) != 0)
                return NULL; /* someone else still holds it */
        for (size_t i = 0; i < t->n_module_identities; i++)
                isv_levels_free(t->module_identities[i].levels, t->module_identities[i].n_levels);
        free(t->module_identities);
        for (size_t i = 0; i < t->n_levels; i++)
                tdx_advisories_done(&t->levels[i].advisories);
        free(t->levels);
        free(t);
        return NULL;
}

static int get_id(json_object *o, const char *path, char *dst, size_t n, char **reason) {
        const char *s;
        int r;

        r = get_string(o, path, "id", &s, reason);
        if (r < 0)
                return r;
        if (strlen(s) >= n)
                return set_reason(reason, -EBADMSG, "%s.id: unexpected value", path);
        strcpy(dst, s);
        return 0;
}

/* What TCB info and QE identity share: the signed body, an id and a version as expected, the
 * issue and next-update dates. */
typedef struct SignedHead {
        const char *root; /* "tcbInfo", "enclaveIdentity" */
        const char *want_id;
        unsigned want_version;
        char *id;
        size_t id_size;
        unsigned *version;
        int64_t *issue_date, *next_update;
} SignedHead;

static int parse_signed_head(const char *text, size_t size, const SignedHead *h, json_object **ret_o,
                             uint8_t digest[32], uint8_t signature[64], char **ret_reason) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        uint64_t u;
        int r;

        r = parse_signed_body(text, size, h->root, &o, digest, signature, ret_reason);
        if (r < 0)
                return r;
        if ((r = get_id(o, h->root, h->id, h->id_size, ret_reason)) < 0)
                return r;
        if (!streq(h->id, h->want_id))
                return set_reason(ret_reason, -EBADMSG, "%s.id: \"%s\" is not \"%s\"", h->root, h->id, h->want_id);
        if ((r = get_uint(o, h->root, "version", 1000, &u, ret_reason)) < 0)
                return r;
        *h->version = (unsigned) u;
        if (*h->version != h->want_version)
                return set_reason(ret_reason, -EBADMSG, "%s.version: %u is not %u", h->root, *h->version,
                                  h->want_version);
        if ((r = get_date(o, h->root, "issueDate", h->issue_date, ret_reason)) < 0 ||
            (r = get_date(o, h->root, "nextUpdate", h->next_update, ret_reason)) < 0)
                return r;
        *ret_o = TAKE_PTR(o);
        return 0;
}

int tdx_tcb_info_parse(const char *text, size_t size, TdxTcbInfo **ret, char **ret_reason) {
        _cleanup_(tdx_tcb_info_freep) TdxTcbInfo *t = calloc(1, sizeof(TdxTcbInfo));
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *module, *ids;
        uint64_t u;
        int r;
        if (!t)
                return -ENOMEM;
        r = parse_signed_head(text, size,
                              &(SignedHead) { "tcbInfo", "TDX", 3, t->id, sizeof(t->id), &t->version, &t->issue_date,
                                              &t->next_update },
                              &o, t->digest, t->signature, ret_reason);
        if (r < 0)
                return r;
        if ((r = get_hex(o, "tcbInfo", "fmspc", t->fmspc, 6, ret_reason)) < 0 ||
            (r = get_hex(o, "tcbInfo", "pceId", t->pce_id, 2, ret_reason)) < 0)
                return r;
        if ((r = get_uint(o, "tcbInfo", "tcbType", 255, &u, ret_reason)) < 0)
                return r;
        t->tcb_type = (unsigned) u;
        if (t->tcb_type != 0)
                return set_reason(ret_reason, -EBADMSG, "tcbInfo.tcbType: %u is not 0", t->tcb_type);
        if ((r = get_uint(o, "tcbInfo", "tcbEvaluationDataNumber", UINT32_MAX, &u, ret_reason)) < 0)
                return r;
        t->tcb_evaluation_data_number = (unsigned) u;
        if ((r = get_member(o, "tcbInfo", "tdxModule", json_type_object, false, &module, ret_reason)) < 0 ||
            (r = parse_module_identity(module, "tcbInfo.tdxModule", false, &t->module, ret_reason)) < 0)
                return r;
        if ((r = get_member(o, "tcbInfo", "tdxModuleIdentities", json_type_array, true, &ids, ret_reason)) < 0)
                return r;
        if (ids) {
                size_t n = json_object_array_length(ids);

                if (n > IDENTITIES_MAX)
                        return set_reason(ret_reason, -EBADMSG, "tcbInfo.tdxModuleIdentities: more than %u",
                                          IDENTITIES_MAX);
                t->has_module_identities = true;
                t->module_identities = calloc(n ? n : 1, sizeof(TdxModuleIdentity));
                if (!t->module_identities)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *p = strdup_printf("tcbInfo.tdxModuleIdentities[%zu]", i);
                        if (!p)
                                return -ENOMEM;
                        r = parse_module_identity(json_object_array_get_idx(ids, i), p, true,
                                                  &t->module_identities[i], ret_reason);
                        t->n_module_identities = i + 1; /* so the free sees the levels */
                        if (r < 0)
                                return r;
                        for (size_t k = 0; k < i; k++)
                                if (streq(t->module_identities[k].id, t->module_identities[i].id))
                                        return set_reason(ret_reason, -EBADMSG, "%s.id: repeated", p);
                }
        }
        r = parse_tcb_levels(o, t, ret_reason);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

TdxQeIdentity *tdx_qe_identity_free(TdxQeIdentity *q) {
        if (!q)
                return NULL;
        if (__atomic_fetch_sub(&q->n_shared, 1, __ATOMIC_ACQ_REL) != 0)
                return NULL;
        isv_levels_free(q->levels, q->n_levels);
        free(q);
        return NULL;
}

static uint32_t be32(const uint8_t b[4]) {
        return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
}

int tdx_qe_identity_parse(const char *text, size_t size, TdxQeIdentity **ret, char **ret_reason) {
        _cleanup_(tdx_qe_identity_freep) TdxQeIdentity *q = calloc(1, sizeof(TdxQeIdentity));
        _cleanup_(json_object_putp) json_object *o = NULL;
        uint8_t ms[4], mm[4];
        uint64_t u;
        int r;

        if (!q)
                return -ENOMEM;
        r = parse_signed_head(text, size,
                              &(SignedHead) { "enclaveIdentity", "TD_QE", 2, q->id, sizeof(q->id), &q->version,
                                              &q->issue_date, &q->next_update },
                              &o, q->digest, q->signature, ret_reason);
        if (r < 0)
                return r;
        if ((r = get_uint(o, "enclaveIdentity", "tcbEvaluationDataNumber", UINT32_MAX, &u, ret_reason)) < 0)
                return r;
        q->tcb_evaluation_data_number = (unsigned) u;
        /* MISCSELECT is written as the big-endian hex of the u32. */
        if ((r = get_hex(o, "enclaveIdentity", "miscselect", ms, 4, ret_reason)) < 0 ||
            (r = get_hex(o, "enclaveIdentity", "miscselectMask", mm, 4, ret_reason)) < 0 ||
            (r = get_hex(o, "enclaveIdentity", "attributes", q->attributes, 16, ret_reason)) < 0 ||
            (r = get_hex(o, "enclaveIdentity", "attributesMask", q->attributes_mask, 16, ret_reason)) < 0 ||
            (r = get_hex(o, "enclaveIdentity", "mrsigner", q->mrsigner, 32, ret_reason)) < 0 ||
            (r = get_uint(o, "enclaveIdentity", "isvprodid", UINT16_MAX, &u, ret_reason)) < 0)
                return r;
        q->miscselect = be32(ms);
        q->miscselect_mask = be32(mm);
        q->isvprodid = (uint16_t) u;
        r = get_isv_levels(o, "enclaveIdentity", &q->levels, &q->n_levels, ret_reason);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

TdxCollateral *tdx_collateral_free(TdxCollateral *c) {
        if (!c)
                return NULL;
        tdx_tcb_info_free(c->tcb_info);
        tdx_qe_identity_free(c->qe_identity);
        sk_X509_pop_freep(&c->tcb_info_chain);
        sk_X509_pop_freep(&c->qe_identity_chain);
        sk_X509_pop_freep(&c->pck_crl_chain);
        sk_X509_pop_freep(&c->pck_chain);
        X509_CRL_free(c->pck_crl);
        X509_CRL_free(c->root_crl);
        free(c);
        return NULL;
}

/* ---- parsed documents, once per process ---- */

static void *tcb_info_ref(void *p) {
        __atomic_add_fetch(&((TdxTcbInfo *) p)->n_shared, 1, __ATOMIC_RELAXED);
        return p;
}

static void tcb_info_unref(void *p) {
        tdx_tcb_info_free(p);
}

static void *qe_identity_ref(void *p) {
        __atomic_add_fetch(&((TdxQeIdentity *) p)->n_shared, 1, __ATOMIC_RELAXED);
        return p;
}

static void qe_identity_unref(void *p) {
        tdx_qe_identity_free(p);
}

static const ObjectCacheType tcb_info_type = { "tdx-tcb-info", tcb_info_ref, tcb_info_unref };
static const ObjectCacheType qe_identity_type = { "tdx-qe-identity", qe_identity_ref, qe_identity_unref };

/* tdx_tcb_info_parse() / tdx_qe_identity_parse() through the object cache: the same document
 * bytes give the same shared, read-only document (include/cvm/object-cache.h). */
static int tcb_info_parse_cached(const uint8_t *data, size_t size, TdxTcbInfo **ret, char **ret_reason) {
        uint8_t digest[32];
        TdxTcbInfo *t = object_cache_get(&tcb_info_type, data, size, digest);
        int r;

        if (t) {
                *ret = t;
                return 0;
        }
        r = tdx_tcb_info_parse((const char *) data, size, &t, ret_reason);
        if (r < 0)
                return r;
        object_cache_put(&tcb_info_type, digest, data, size, t, t->next_update);
        *ret = t;
        return 0;
}

static int qe_identity_parse_cached(const uint8_t *data, size_t size, TdxQeIdentity **ret, char **ret_reason) {
        uint8_t digest[32];
        TdxQeIdentity *q = object_cache_get(&qe_identity_type, data, size, digest);
        int r;

        if (q) {
                *ret = q;
                return 0;
        }
        r = tdx_qe_identity_parse((const char *) data, size, &q, ret_reason);
        if (r < 0)
                return r;
        object_cache_put(&qe_identity_type, digest, data, size, q, q->next_update);
        *ret = q;
        return 0;
}

int tdx_collateral_parse(const uint8_t *const data[_TDX_FILE_MAX], const size_t size[_TDX_FILE_MAX],
                         TdxCollateral **ret, char **ret_reason) {
        _cleanup_(tdx_collateral_freep) TdxCollateral *c = calloc(1, sizeof(TdxCollateral));
        _cleanup_free_ char *why = NULL;
        int r;

        if (!c)
                return -ENOMEM;
        c->sig_tcb_info = c->sig_qe_identity = c->sig_root_crl = c->sig_pck_crl = -1;
        c->chain_tcb_info = c->chain_qe_identity = c->chain_pck_crl = -1;

        for (int f = 0; f < _TDX_FILE_MAX; f++) {
                if (!data[f] || size[f] == 0)
                        continue;
                switch (f) {
                case TDX_FILE_TCB_INFO:
                        r = tcb_info_parse_cached(data[f], size[f], &c->tcb_info, &why);
                        break;
                case TDX_FILE_QE_IDENTITY:
                        r = qe_identity_parse_cached(data[f], size[f], &c->qe_identity, &why);
                        break;
                case TDX_FILE_TCB_INFO_CHAIN:
                        r = x509_bundle_parse(data[f], size[f], &c->tcb_info_chain, &why);
                        break;
                case TDX_FILE_QE_IDENTITY_CHAIN:
                        r = x509_bundle_parse(data[f], size[f], &c->qe_identity_chain, &why);
                        break;
                case TDX_FILE_PCK_CRL_CHAIN:
                        r = x509_bundle_parse(data[f], size[f], &c->pck_crl_chain, &why);
                        break;
                case TDX_FILE_PCK_CRL:
                        r = pem_bundle_parse_crl(data[f], size[f], &c->pck_crl, &why);
                        break;
                default:
                        r = pem_bundle_parse_crl(data[f], size[f], &c->root_crl, &why);
                        break;
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return set_reason(ret_reason, -EBADMSG, "%s: %s", file_names[f],
                                          why ? why : "does not parse");
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static int crl_window(X509_CRL *crl, int64_t *from, int64_t *until) {
        int64_t a, b;

        if (!crl || !X509_CRL_get0_nextUpdate(crl) || asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &a) < 0 ||
            asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &b) < 0)
                return -EBADMSG;
        if (a > *from)
                *from = a;
        if (b < *until)
                *until = b;
        return 0;
}

int tdx_collateral_window(const TdxCollateral *c, int64_t *ret_from, int64_t *ret_until) {
        int64_t from = INT64_MIN, until = INT64_MAX;

        if (!c || !c->tcb_info || !c->qe_identity)
                return -ENODATA;
        from = c->tcb_info->issue_date > c->qe_identity->issue_date ? c->tcb_info->issue_date
                                                                    : c->qe_identity->issue_date;
        until = c->tcb_info->next_update < c->qe_identity->next_update ? c->tcb_info->next_update
                                                                       : c->qe_identity->next_update;
        if (crl_window(c->pck_crl, &from, &until) < 0 || crl_window(c->root_crl, &from, &until) < 0)
                return -ENODATA;
        *ret_from = from;
        *ret_until = until;
        return 0;
}
