/* SPDX-License-Identifier: Apache-2.0 */
/* Policy files: loading, the strict JSON front end, the top level, and the typed readers the
 * sections share. The format is described in README.md "Policy files". Policy files are
 * untrusted input: they go through json_parse_strict() (src/shared/json-strict.c). */
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


/* ---- readers only policies have ---- */

/* Large enough for any real allowlist; keeps hostile files from costing much. */
#define POLICY_DIGEST_LIST_MAX 4096u

static int cmp_digest(const void *a, const void *b, void *userdata) {
        return memcmp(a, b, *(const size_t *) userdata);
}

int policy_read_digest_list(json_object *v, const char *path, size_t n, PolicyDigestList *ret, char **reason) {
        _cleanup_free_ uint8_t *items = NULL, *sorted = NULL;
        size_t count;
        int r;

        r = json_read_array(v, path, POLICY_DIGEST_LIST_MAX, &count, reason);
        if (r < 0)
                return r;
        items = malloc(count ? count * n : 1);
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
                _cleanup_free_ char *p = json_path_index(path, i);
                if (!p)
                        return -ENOMEM;
                r = json_read_hex(json_object_array_get_idx(v, i), p, items + i * n, n, reason);
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
                        return json_error(reason, path, "%s is listed more than once", hex);
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

#define SIMULATOR_ROOTS_MAX 16u

static int parse_root_digest(json_object *v, const char *path, void *data, char **reason) {
        return json_read_hex(v, path, data, 32, reason);
}

static const JsonField simulator_root_fields[] = {
        { "spki_sha256", parse_root_digest },
};

/* [{"spki_sha256": "<64 hex>"}, ...]: simulator roots (cvmctl sim init) to trust besides Intel's. */
int policy_read_simulator_roots(json_object *v, const char *path, PolicyDigestList *ret, char **reason) {
        _cleanup_free_ uint8_t *items = NULL;
        size_t n;
        int r;

        r = json_read_array(v, path, SIMULATOR_ROOTS_MAX, &n, reason);
        if (r < 0)
                return r;
        items = calloc(n ? n : 1, 32);
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index(path, i);
                uint8_t digest[32];
                bool zero;

                if (!p)
                        return -ENOMEM;
                memset(digest, 0, sizeof(digest));
                r = json_read_object(json_object_array_get_idx(v, i), p, simulator_root_fields,
                                        ELEMENTSOF(simulator_root_fields), digest, reason);
                if (r < 0)
                        return r;
                zero = memeqzero(digest, sizeof(digest));
                if (zero)
                        return json_error(reason, p, "missing key \"spki_sha256\" (or an all-zero digest)");
                for (size_t k = 0; k < i; k++)
                        if (memcmp(items + 32 * k, digest, 32) == 0)
                                return json_error(reason, p, "the same root is listed more than once");
                memcpy(items + 32 * i, digest, 32);
        }
        policy_digest_list_done(ret);
        *ret = (PolicyDigestList) { .set = true, .n = n, .items = TAKE_PTR(items) };
        return 0;
}

const char *policy_hex(const uint8_t *p, size_t n, char *buf) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                buf[2 * i] = digits[p[i] >> 4];
                buf[2 * i + 1] = digits[p[i] & 0xf];
        }
        buf[2 * n] = '\0';
        return buf;
}

void policy_eval_digest_list(Verdict *v, const char *section, const char *rule, const char *field,
                             const PolicyDigestList *l, const uint8_t digest[48]) {
        char h[97];

        if (!l->set || policy_digest_list_contains(l, 48, digest))
                return;
        if (l->n == 0)
                verdict_reason(v, "policy.%s.%s: %s %s is not allowed: the policy's list is empty, so it allows none",
                               section, rule, field, policy_hex(digest, 48, h));
        else
                verdict_reason(v, "policy.%s.%s: %s %s is not among the %zu the policy allows", section, rule, field,
                               policy_hex(digest, 48, h), l->n);
}

void policy_digest_list_done(PolicyDigestList *l) {
        free(l->items);
        *l = (PolicyDigestList) {};
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

        r = json_read_string(v, path, POLICY_NAME_MAX, &s, &len, reason);
        if (r < 0)
                return r;
        if (len == 0)
                return json_error(reason, path, "the name is empty");
        if (!text_is_clean(s, len, false))
                return json_error(reason, path, "the name contains a control character");
        free(p->name);
        p->name = strdup(s);
        return p->name ? 0 : -ENOMEM;
}

static int parse_description(json_object *v, const char *path, void *data, char **reason) {
        Policy *p = data;
        const char *s;
        size_t len;
        int r;

        r = json_read_string(v, path, POLICY_DESCRIPTION_MAX, &s, &len, reason);
        if (r < 0)
                return r;
        if (!text_is_clean(s, len, true))
                return json_error(reason, path,
                                    "the description contains a control character other than "
                                    "newline or tab");
        free(p->description);
        p->description = strdup(s);
        return p->description ? 0 : -ENOMEM;
}

static const char *const failure_actions[_POLICY_FAILURE_MAX] = {
        [POLICY_FAILURE_DESTROY] = "destroy",
        [POLICY_FAILURE_PAUSE] = "pause",
        [POLICY_FAILURE_QUARANTINE] = "quarantine",
};

const char *policy_failure_action_to_string(PolicyFailureAction a) {
        return a >= 0 && a < _POLICY_FAILURE_MAX ? failure_actions[a] : NULL;
}

static int parse_failure_action(json_object *v, const char *path, void *data, char **reason) {
        Policy *p = data;
        const char *s;
        int r;

        r = json_read_string(v, path, 16, &s, NULL, reason);
        if (r < 0)
                return r;
        for (PolicyFailureAction a = 0; a < _POLICY_FAILURE_MAX; a++)
                if (streq(s, failure_actions[a])) {
                        p->failure_action = a;
                        return 0;
                }
        return json_error(reason, path, "expected \"destroy\", \"pause\" or \"quarantine\"");
}

/* 0 means no timer; anything else is bounded so that a typo cannot make cvmd re-attest in a tight
 * loop or never. */
static int parse_reattest_interval(json_object *v, const char *path, void *data, char **reason) {
        Policy *p = data;
        uint64_t u;
        int r;

        r = json_read_uint(v, path, 0, POLICY_REATTEST_MAX_SEC, &u, reason);
        if (r < 0)
                return r;
        if (u > 0 && u < POLICY_REATTEST_MIN_SEC)
                return json_error(reason, path, "expected 0 (none) or at least %d seconds", POLICY_REATTEST_MIN_SEC);
        p->reattest_interval_sec = (int64_t) u;
        return 0;
}

static const JsonField top_fields[] = {
        { "name", parse_name },       { "description", parse_description }, { "snp", policy_snp_parse },
        { "tdx", policy_tdx_parse }, { "gpu", policy_gpu_parse },
        { "allow_development", json_field_bool, offsetof(Policy, allow_development) },
        { "failure_action", parse_failure_action },
        { "reattest_interval_sec", parse_reattest_interval },
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
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *reason = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = json_parse_strict(json, size, POLICY_SIZE_MAX, POLICY_JSON_DEPTH, "policy", &root, &reason);
        if (r < 0)
                goto fail;
        p = policy_new();
        if (!p)
                return -ENOMEM;
        r = json_read_object(root, "", top_fields, ELEMENTSOF(top_fields), p, &reason);
        if (r < 0)
                goto fail;
        *ret = TAKE_PTR(p);
        return 0;

fail:
        if (r != -ENOMEM && ret_reason)
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
