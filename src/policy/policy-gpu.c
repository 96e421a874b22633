/* SPDX-License-Identifier: Apache-2.0 */
/* The "gpu" section of a policy: its parser and its evaluation against an NvBoardAppraisal (the
 * result of verifying every GPU of a board), and the device roots it trusts. Only struct fields
 * of cvm/gpu.h and the built-in root pin (nv_device_root_spki_sha256) are used from gpu/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/gpu.h"
#include "cvm/policy.h"
#include "cvm/util.h"
#include "policy-internal.h"

#define GPU_COUNT_MAX 64u
#define RIM_IDS_MAX 256u

void policy_gpu_init(PolicyGpu *s) {
        *s = (PolicyGpu) {
                /* revocation is the host's to decide: OCSP from its cache or the responder */
                .require_ocsp = true,
                .require_measurements = true,
                .require_nonce = true,
                .require_cc = true,
        };
}

void policy_gpu_done(PolicyGpu *s) {
        for (size_t i = 0; i < s->n_allowed_rim_ids; i++)
                free(s->allowed_rim_ids[i]);
        free(s->allowed_rim_ids);
        policy_digest_list_done(&s->simulator_roots);
        policy_digest_list_done(&s->simulator_rim_roots);
        policy_gpu_init(s);
}

/* Compares dotted versions component by component (base 10 or 16); missing components are 0.
 * Returns <0, 0, >0; components are at most 8 digits (validated by the parser / the report). */
static int version_cmp(const char *a, const char *b, int base) {
        while (*a || *b) {
                char *ea, *eb;
                unsigned long x = strtoul(a, &ea, base), y = strtoul(b, &eb, base);

                if ((ea == a && *a) || (eb == b && *b))
                        return 0; /* not a version; callers validated both */
                if (x != y)
                        return x < y ? -1 : 1;
                a = *ea == '.' ? ea + 1 : ea;
                b = *eb == '.' ? eb + 1 : eb;
        }
        return 0;
}

static bool version_is_valid(const char *s, bool hex, size_t max_parts) {
        size_t parts = 0, digits = 0;

        if (!*s)
                return false;
        for (const char *p = s;; p++) {
                if (*p == '.' || *p == 0) {
                        if (digits == 0 || digits > 8)
                                return false;
                        parts++;
                        digits = 0;
                        if (*p == 0)
                                break;
                } else if ((*p >= '0' && *p <= '9') || (hex && ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))))
                        digits++;
                else
                        return false;
        }
        return parts <= max_parts;
}

static int parse_gpu_count(json_object *v, const char *path, void *data, char **reason) {
        uint64_t u;
        int r;

        r = json_read_uint(v, path, 1, GPU_COUNT_MAX, &u, reason);
        if (r < 0)
                return r;
        *(unsigned *) data = (unsigned) u;
        return 0;
}

static int parse_version(json_object *v, const char *path, char *dst, size_t size, bool hex, char **reason) {
        const char *s;
        size_t len;
        int r;

        r = json_read_string(v, path, size - 1, &s, &len, reason);
        if (r < 0)
                return r;
        if (!version_is_valid(s, hex, hex ? 5 : 4))
                return json_error(reason, path,
                                    hex ? "expected a VBIOS version like \"96.00.9F.00.01\" (hex parts separated by dots)"
                                        : "expected a driver version like \"550.90.07\" (decimal parts separated by dots)");
        memcpy(dst, s, len + 1);
        return 0;
}

static int parse_min_driver(json_object *v, const char *path, void *data, char **reason) {
        return parse_version(v, path, data, sizeof(((PolicyGpu *) NULL)->min_driver_version), false, reason);
}

static int parse_min_vbios(json_object *v, const char *path, void *data, char **reason) {
        return parse_version(v, path, data, sizeof(((PolicyGpu *) NULL)->min_vbios_version), true, reason);
}

static int parse_rim_ids(json_object *v, const char *path, void *data, char **reason) {
        PolicyGpu *s = data;
        char **ids;
        size_t n;
        int r;

        r = json_read_array(v, path, RIM_IDS_MAX, &n, reason);
        if (r < 0)
                return r;
        ids = calloc(n ? n : 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index(path, i);
                const char *id;
                size_t len;

                r = p ? json_read_string(json_object_array_get_idx(v, i), p, 128, &id, &len, reason) : -ENOMEM;
                if (r >= 0 && len == 0)
                        r = json_error(reason, p, "a RIM id cannot be empty");
                for (size_t k = 0; r >= 0 && k < i; k++)
                        if (streq(ids[k], id))
                                r = json_error(reason, p, "\"%s\" is listed more than once", id);
                if (r >= 0 && !(ids[i] = strdup(id)))
                        r = -ENOMEM;
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                free(ids[k]);
                        free(ids);
                        return r;
                }
        }
        for (size_t i = 0; i < s->n_allowed_rim_ids; i++)
                free(s->allowed_rim_ids[i]);
        free(s->allowed_rim_ids);
        s->allowed_rim_ids = ids;
        s->n_allowed_rim_ids = n;
        s->allowed_rim_ids_set = true;
        return 0;
}

/* [{"spki_sha256": "<64 hex>"}, ...]: simulated NVIDIA roots (cvmctl sim init) to trust besides NVIDIA's. */
static int parse_simulator_roots(json_object *v, const char *path, void *data, char **reason) {
        return policy_read_simulator_roots(v, path, &((PolicyGpu *) data)->simulator_roots, reason);
}

static int parse_simulator_rim_roots(json_object *v, const char *path, void *data, char **reason) {
        return policy_read_simulator_roots(v, path, &((PolicyGpu *) data)->simulator_rim_roots, reason);
}

/* The built-in root, then the policy's simulator roots. */
static int pins_with(const uint8_t builtin[32], const PolicyDigestList *sim, NvPin **ret, size_t *ret_n) {
        size_t n_sim = sim ? sim->n : 0;
        NvPin *pins;

        if (!ret || !ret_n)
                return -EINVAL;
        pins = calloc(1 + n_sim, sizeof(NvPin));
        if (!pins)
                return -ENOMEM;
        memcpy(pins[0].spki_sha256, builtin, 32);
        for (size_t i = 0; i < n_sim; i++)
                memcpy(pins[1 + i].spki_sha256, sim->items + 32 * i, 32);
        *ret = pins;
        *ret_n = 1 + n_sim;
        return 0;
}

int policy_gpu_pins(const Policy *p, NvPin **ret, size_t *ret_n) {
        return pins_with(nv_device_root_spki_sha256, p ? &p->gpu.simulator_roots : NULL, ret, ret_n);
}

int policy_gpu_rim_pins(const Policy *p, NvPin **ret, size_t *ret_n) {
        return pins_with(nv_rim_root_spki_sha256, p ? &p->gpu.simulator_rim_roots : NULL, ret, ret_n);
}

static const JsonField gpu_fields[] = {
        { "gpu_count", parse_gpu_count, offsetof(PolicyGpu, gpu_count) },
        { "min_driver_version", parse_min_driver, offsetof(PolicyGpu, min_driver_version) },
        { "min_vbios_version", parse_min_vbios, offsetof(PolicyGpu, min_vbios_version) },
        { "allowed_rim_ids", parse_rim_ids },
        { "allow_debug_rims", json_field_bool, offsetof(PolicyGpu, allow_debug_rims) },
        { "require_ocsp", json_field_bool, offsetof(PolicyGpu, require_ocsp) },
        { "require_measurements", json_field_bool, offsetof(PolicyGpu, require_measurements) },
        { "require_nonce", json_field_bool, offsetof(PolicyGpu, require_nonce) },
        { "require_cc", json_field_bool, offsetof(PolicyGpu, require_cc) },
        { "allow_devtools", json_field_bool, offsetof(PolicyGpu, allow_devtools) },
        { "trusted_simulator_roots", parse_simulator_roots },
        { "trusted_simulator_rim_roots", parse_simulator_rim_roots },
};

int policy_gpu_parse(json_object *v, const char *path, void *data, char **reason) {
        Policy *p = data;
        int r;

        r = json_read_object(v, path, gpu_fields, ELEMENTSOF(gpu_fields), &p->gpu, reason);
        if (r < 0)
                return r;
        p->has_gpu = true;
        return 0;
}

bool policy_has_gpu(const Policy *p) {
        return p && p->has_gpu;
}

bool policy_gpu_requires_ocsp(const Policy *p) {
        return p && p->has_gpu && p->gpu.require_ocsp;
}

static bool rim_id_allowed(const PolicyGpu *s, const char *id) {
        for (size_t i = 0; i < s->n_allowed_rim_ids; i++)
                if (streq(s->allowed_rim_ids[i], id))
                        return true;
        return false;
}

static void eval_rim(const PolicyGpu *s, size_t i, const char *kind, const char *id, bool debug, Verdict *v) {
        if (!id[0])
                return;
        if (debug && !s->allow_debug_rims)
                verdict_reason(v, "policy.gpu.allow_debug_rims: GPU %zu's %s RIM %s is a debug RIM, and the policy "
                                  "forbids debug RIMs", i, kind, id);
        if (s->allowed_rim_ids_set && !rim_id_allowed(s, id))
                verdict_reason(v, "policy.gpu.allowed_rim_ids: GPU %zu's %s RIM %s is not among the %zu the policy allows",
                               i, kind, id, s->n_allowed_rim_ids);
}

static const char *meas_word(NvMeasResult m) {
        return m == NV_MEAS_MATCH ? "match" : m == NV_MEAS_MISMATCH ? "mismatch" : "not-checked";
}

void policy_evaluate_gpu(const Policy *p, const NvBoardAppraisal *a, Verdict *v) {
        PolicyGpu defaults;
        const PolicyGpu *s;

        if (!a || !v)
                return;
        if (p && !p->has_gpu) {
                verdict_reason(v, "policy.gpu: the policy%s%s%s has no \"gpu\" section, so it accepts no GPU evidence",
                               p->name ? " \"" : "", p->name ?: "", p->name ? "\"" : "");
                return;
        }
        if (p)
                s = &p->gpu;
        else {
                policy_gpu_init(&defaults);
                s = &defaults;
        }

        if (s->gpu_count > 0 && a->n_gpus != s->gpu_count)
                verdict_reason(v, "policy.gpu.gpu_count: %zu GPU%s verified, and the policy requires exactly %u", a->n_gpus,
                               a->n_gpus == 1 ? "" : "s", s->gpu_count);
        if (s->require_ocsp && !a->ocsp_checked)
                verdict_reason(v, "policy.gpu.require_ocsp: the certificate chains were not all checked good by OCSP, "
                                  "and the policy requires it");

        for (size_t i = 0; i < a->n_gpus; i++) {
                const NvGpuAppraisal *g = &a->gpus[i];
                const NvReport *r = &g->a.report;

                if (!g->a.parsed) {
                        verdict_reason(v, "policy.gpu: GPU %zu's report could not be parsed, so no rule can be evaluated", i);
                        continue;
                }
                if (s->min_driver_version[0] &&
                    (!r->driver_version[0] || version_cmp(r->driver_version, s->min_driver_version, 10) < 0))
                        verdict_reason(v, "policy.gpu.min_driver_version: GPU %zu's driver %s is older than the minimum %s", i,
                                       r->driver_version[0] ? r->driver_version : "(none reported)", s->min_driver_version);
                if (s->min_vbios_version[0] &&
                    (!r->has_vbios || version_cmp(r->vbios_version, s->min_vbios_version, 16) < 0))
                        verdict_reason(v, "policy.gpu.min_vbios_version: GPU %zu's VBIOS %s is older than the minimum %s", i,
                                       r->has_vbios ? r->vbios_version : "(none reported)", s->min_vbios_version);
                if (s->require_nonce && !g->a.nonce_checked)
                        verdict_reason(v, "policy.gpu.require_nonce: GPU %zu's nonce was not checked (no expected nonce "
                                          "given), and the policy requires fresh evidence", i);
                if (s->require_measurements && g->measurements != NV_MEAS_MATCH)
                        verdict_reason(v, "policy.gpu.require_measurements: GPU %zu's measurements are %s, and the policy "
                                          "requires them to match the RIMs or the golden list", i, meas_word(g->measurements));
                /* the driver's word, bound into the report's nonce; not judged where there is none */
                if (s->require_cc && g->cc_mode == NV_CC_OFF)
                        verdict_reason(v, "policy.gpu.require_cc: GPU %zu's driver reports confidential computing "
                                          "off, and the policy requires it on", i);
                if (!s->allow_devtools && g->cc_mode == NV_CC_DEVTOOLS)
                        verdict_reason(v, "policy.gpu.allow_devtools: GPU %zu is in CC developer-tools mode, which is "
                                          "not confidential, and the policy forbids it", i);
                eval_rim(s, i, "driver", g->driver_rim_id, g->driver_rim_debug, v);
                eval_rim(s, i, "VBIOS", g->vbios_rim_id, g->vbios_rim_debug, v);
        }
}
