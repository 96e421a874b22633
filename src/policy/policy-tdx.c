/* SPDX-License-Identifier: Apache-2.0 */
/* The "tdx" section of a policy: its parser and its evaluation against a TdxAppraisal.
 * README.md "Policy files" documents every key; facts are in shared/specs/tdx.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/policy.h"
#include "cvm/tdx.h"
#include "cvm/util.h"
#include "policy-internal.h"

#define ADVISORY_IDS_MAX 256u
#define ADVISORY_ID_LEN_MAX 64u
#define STATUS_BIT(s) (1u << (s))
#define DEFAULT_STATUSES (STATUS_BIT(TDX_TCB_UP_TO_DATE) | STATUS_BIT(TDX_TCB_SW_HARDENING_NEEDED))

void policy_tdx_init(PolicyTdx *s) {
        *s = (PolicyTdx) {
                .require_sept_ve_disable = true,
                .accepted_tcb_statuses = DEFAULT_STATUSES,
        };
}

static void free_advisory_ids(PolicyTdx *s) {
        for (size_t i = 0; i < s->n_allowed_advisory_ids; i++)
                free(s->allowed_advisory_ids[i]);
        free(s->allowed_advisory_ids);
        s->allowed_advisory_ids = NULL;
        s->n_allowed_advisory_ids = 0;
}

void policy_tdx_done(PolicyTdx *s) {
        policy_digest_list_done(&s->mrtds);
        policy_digest_list_done(&s->mrseams);
        policy_digest_list_done(&s->simulator_roots);
        policy_digest_list_done(&s->kernel_digests);
        policy_digest_list_done(&s->initrd_digests);
        policy_digest_list_done(&s->cmdline_digests);
        policy_digest_list_done(&s->workload_digests);
        free_advisory_ids(s);
        policy_tdx_init(s);
}

/* ---- parsing ---- */

static int parse_digests48(json_object *v, const char *path, void *data, char **reason) {
        return policy_read_digest_list(v, path, 48, data, reason);
}

static int parse_rtmr(json_object *v, const char *path, PolicyTdx *s, unsigned i, char **reason) {
        int r;

        r = json_read_hex(v, path, s->rtmr[i], 48, reason);
        if (r < 0)
                return r;
        s->rtmr_set[i] = true;
        return 0;
}

static int parse_rtmr0(json_object *v, const char *path, void *data, char **reason) {
        return parse_rtmr(v, path, data, 0, reason);
}
static int parse_rtmr1(json_object *v, const char *path, void *data, char **reason) {
        return parse_rtmr(v, path, data, 1, reason);
}
static int parse_rtmr2(json_object *v, const char *path, void *data, char **reason) {
        return parse_rtmr(v, path, data, 2, reason);
}
static int parse_rtmr3(json_object *v, const char *path, void *data, char **reason) {
        return parse_rtmr(v, path, data, 3, reason);
}

static int parse_statuses(json_object *v, const char *path, void *data, char **reason) {
        PolicyTdx *s = data;
        unsigned set = 0;
        size_t n;
        int r;

        r = json_read_array(v, path, _TDX_TCB_STATUS_MAX, &n, reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index(path, i), *shown = NULL;
                TdxTcbStatus st;
                const char *str;
                size_t len;

                if (!p)
                        return -ENOMEM;
                r = json_read_string(json_object_array_get_idx(v, i), p, 64, &str, &len, reason);
                if (r < 0)
                        return r;
                st = tdx_tcb_status_from_string(str);
                if (st < 0) {
                        shown = json_escape(str, len);
                        if (!shown)
                                return -ENOMEM;
                        return json_error(reason, p,
                                            "unknown TCB status \"%s\" (expected UpToDate, SWHardeningNeeded, "
                                            "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
                                            "OutOfDateConfigurationNeeded, Revoked, NotSupported, TDRelaunchAdvised "
                                            "or TDRelaunchAdvisedConfigurationNeeded)",
                                            shown);
                }
                if (set & STATUS_BIT(st))
                        return json_error(reason, p, "\"%s\" is listed more than once", tdx_tcb_status_to_string(st));
                set |= STATUS_BIT(st);
        }
        s->accepted_tcb_statuses = set;
        return 0;
}

static bool advisory_id_ok(const char *s, size_t len) {
        if (len == 0 || len > ADVISORY_ID_LEN_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", s[i]) || !s[i])
                        return false;
        return true;
}

static int parse_advisory_ids(json_object *v, const char *path, void *data, char **reason) {
        PolicyTdx *s = data;
        char **ids;
        size_t n;
        int r;

        r = json_read_array(v, path, ADVISORY_IDS_MAX, &n, reason);
        if (r < 0)
                return r;
        ids = calloc(n ? n : 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        free_advisory_ids(s);
        s->allowed_advisory_ids = ids;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index(path, i);
                const char *str;
                size_t len;

                if (!p)
                        return -ENOMEM;
                r = json_read_string(json_object_array_get_idx(v, i), p, ADVISORY_ID_LEN_MAX, &str, &len, reason);
                if (r < 0)
                        return r;
                if (!advisory_id_ok(str, len))
                        return json_error(reason, p, "not an advisory ID (letters, digits, '-' and '_', like INTEL-SA-00837)");
                for (size_t k = 0; k < i; k++)
                        if (strcasecmp(ids[k], str) == 0)
                                return json_error(reason, p, "\"%s\" is listed more than once", str);
                ids[i] = strdup(str);
                if (!ids[i])
                        return -ENOMEM;
                s->n_allowed_advisory_ids = i + 1;
        }
        s->allowed_advisory_ids_set = true;
        return 0;
}

static int parse_min_tee_tcb_svn(json_object *v, const char *path, void *data, char **reason) {
        PolicyTdx *s = data;
        int r;

        r = json_read_hex(v, path, s->min_tee_tcb_svn, 16, reason);
        if (r < 0)
                return r;
        s->min_tee_tcb_svn_set = true;
        return 0;
}

static int parse_mrconfigid(json_object *v, const char *path, void *data, char **reason) {
        PolicyTdx *s = data;
        int r;

        r = json_read_hex(v, path, s->mrconfigid, 48, reason);
        if (r < 0)
                return r;
        s->mrconfigid_set = true;
        return 0;
}

static int parse_report_data(json_object *v, const char *path, void *data, char **reason) {
        PolicyTdx *s = data;
        int r;

        r = json_read_hex(v, path, s->report_data, 64, reason);
        if (r < 0)
                return r;
        s->report_data_set = true;
        return 0;
}

static int parse_max_age(json_object *v, const char *path, void *data, char **reason) {
        PolicyTdx *s = data;
        uint64_t u;
        int r;

        /* one second to ten years */
        r = json_read_uint(v, path, 1, UINT64_C(315360000), &u, reason);
        if (r < 0)
                return r;
        s->max_collateral_age_sec = (int64_t) u;
        return 0;
}

/* [{"spki_sha256": "<64 hex>"}, ...]: simulator roots (cvmctl sim init) to trust besides Intel's. */
static int parse_simulator_roots(json_object *v, const char *path, void *data, char **reason) {
        return policy_read_simulator_roots(v, path, &((PolicyTdx *) data)->simulator_roots, reason);
}

static int parse_mrtds(json_object *v, const char *path, void *data, char **reason) {
        PolicyTdx *s = data;

        return policy_read_digest_list_or_predicted(v, path, &s->mrtds, &s->mrtds_predicted, reason);
}

static const JsonField tdx_fields[] = {
        { "mrtds", parse_mrtds },
        { "mrseams", parse_digests48, offsetof(PolicyTdx, mrseams) },
        { "rtmr0", parse_rtmr0 },
        { "rtmr1", parse_rtmr1 },
        { "rtmr2", parse_rtmr2 },
        { "rtmr3", parse_rtmr3 },
        { "allow_debug", json_field_bool, offsetof(PolicyTdx, allow_debug) },
        { "require_sept_ve_disable", json_field_bool, offsetof(PolicyTdx, require_sept_ve_disable) },
        { "accepted_tcb_statuses", parse_statuses },
        { "allowed_advisory_ids", parse_advisory_ids },
        { "min_tee_tcb_svn", parse_min_tee_tcb_svn },
        { "mrconfigid", parse_mrconfigid },
        { "max_collateral_age_sec", parse_max_age },
        { "report_data", parse_report_data },
        { "trusted_simulator_roots", parse_simulator_roots },
        { "require_eventlog", json_field_bool, offsetof(PolicyTdx, require_eventlog) },
        { "kernel_digests", parse_digests48, offsetof(PolicyTdx, kernel_digests) },
        { "initrd_digests", parse_digests48, offsetof(PolicyTdx, initrd_digests) },
        { "cmdline_digests", parse_digests48, offsetof(PolicyTdx, cmdline_digests) },
        { "workload_digests", parse_digests48, offsetof(PolicyTdx, workload_digests) },
};

int policy_tdx_parse(json_object *v, const char *path, void *data, char **reason) {
        Policy *p = data;
        int r;

        r = json_read_object(v, path, tdx_fields, ELEMENTSOF(tdx_fields), &p->tdx, reason);
        if (r < 0)
                return r;
        p->has_tdx = true;
        return 0;
}

bool policy_has_tdx(const Policy *p) {
        return p && p->has_tdx;
}

int policy_tdx_anchors(const Policy *p, TdxAnchor **ret, size_t *ret_n) {
        const TdxAnchor *builtin;
        size_t n_builtin, n_sim;
        TdxAnchor *a;

        if (!ret || !ret_n)
                return -EINVAL;
        builtin = tdx_builtin_anchors(&n_builtin);
        n_sim = p ? p->tdx.simulator_roots.n : 0;
        a = calloc(n_builtin + n_sim ? n_builtin + n_sim : 1, sizeof(TdxAnchor));
        if (!a)
                return -ENOMEM;
        if (n_builtin)
                memcpy(a, builtin, n_builtin * sizeof(TdxAnchor));
        for (size_t i = 0; i < n_sim; i++) {
                memcpy(a[n_builtin + i].spki_sha256, p->tdx.simulator_roots.items + 32 * i, 32);
                a[n_builtin + i].label = "policy simulator Intel root";
        }
        *ret = a;
        *ret_n = n_builtin + n_sim;
        return 0;
}

/* ---- evaluation ---- */

static void eval_tcb(const PolicyTdx *s, const TdxAppraisal *a, Verdict *v) {
        char list[512] = "";
        size_t n = 0;

        if (!a->tcb_evaluated) {
                verdict_reason(v, "policy.tdx.accepted_tcb_statuses: the TCB status could not be evaluated (no valid "
                                  "collateral), and the policy accepts only known statuses");
                return;
        }
        if (!(s->accepted_tcb_statuses & STATUS_BIT(a->tcb.status))) {
                for (int i = 0; i < _TDX_TCB_STATUS_MAX; i++)
                        if (s->accepted_tcb_statuses & STATUS_BIT(i))
                                n += (size_t) snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
                                                       tdx_tcb_status_to_string(i));
                verdict_reason(v, "policy.tdx.accepted_tcb_statuses: TCB status %s is not one the policy accepts (%s)",
                               tdx_tcb_status_to_string(a->tcb.status), n ? list : "none");
        }
        if (s->allowed_advisory_ids_set)
                for (size_t i = 0; i < a->tcb.advisories.n; i++) {
                        bool found = false;
                        for (size_t k = 0; k < s->n_allowed_advisory_ids && !found; k++)
                                found = strcasecmp(s->allowed_advisory_ids[k], a->tcb.advisories.ids[i]) == 0;
                        if (!found)
                                verdict_reason(v, "policy.tdx.allowed_advisory_ids: advisory %s applies to this "
                                                  "platform and is not one the policy allows",
                                               a->tcb.advisories.ids[i]);
                }
}

void policy_evaluate_tdx(const Policy *p, const TdxAppraisal *a, int64_t at, Verdict *v) {
        policy_evaluate_tdx_predicted(p, a, at, NULL, v);
}

void policy_evaluate_tdx_predicted(const Policy *p, const TdxAppraisal *a, int64_t at, const uint8_t *predicted_mrtd,
                                   Verdict *v) {
        PolicyTdx defaults;
        const PolicyTdx *s;
        const TdxQuote *q;
        uint64_t attrs;
        char h1[129], h2[129];

        if (!a || !v)
                return;
        if (p && !p->has_tdx) {
                verdict_reason(v, "policy.tdx: the policy%s%s%s has no \"tdx\" section, so it accepts no TDX evidence",
                               p->name ? " \"" : "", p->name ?: "", p->name ? "\"" : "");
                return;
        }
        if (!a->parsed) {
                verdict_reason(v, "policy.tdx: the quote could not be parsed, so no policy rule can be evaluated");
                return;
        }
        if (p)
                s = &p->tdx;
        else {
                policy_tdx_init(&defaults);
                s = &defaults;
        }
        q = &a->quote;
        attrs = tdx_quote_td_attributes(q);

        if (s->mrtds_predicted)
                policy_eval_predicted(v, "tdx", "mrtds", "MRTD", q->mrtd, predicted_mrtd);
        else
                policy_eval_digest_list(v, "tdx", "mrtds", "MRTD", &s->mrtds, q->mrtd);
        policy_eval_digest_list(v, "tdx", "mrseams", "MRSEAM", &s->mrseams, q->mrseam);
        for (unsigned i = 0; i < 4; i++)
                if (s->rtmr_set[i] && memcmp(q->rtmr[i], s->rtmr[i], 48) != 0)
                        verdict_reason(v, "policy.tdx.rtmr%u: RTMR%u %s differs from the policy's %s", i, i,
                                       policy_hex(q->rtmr[i], 48, h1), policy_hex(s->rtmr[i], 48, h2));

        if (!s->allow_debug && (attrs & TDX_TD_ATTR_DEBUG))
                verdict_reason(v,
                               "policy.tdx.allow_debug: TD_ATTRIBUTES %s has DEBUG (bit 0) set, and the policy forbids "
                               "debug TDs",
                               policy_hex(q->td_attributes, 8, h1));
        if (s->require_sept_ve_disable && !(attrs & TDX_TD_ATTR_SEPT_VE_DISABLE))
                verdict_reason(v,
                               "policy.tdx.require_sept_ve_disable: TD_ATTRIBUTES %s has SEPT_VE_DISABLE (bit 28) "
                               "clear, and the policy requires it",
                               policy_hex(q->td_attributes, 8, h1));

        eval_tcb(s, a, v);

        if (s->min_tee_tcb_svn_set)
                for (size_t i = 0; i < 16; i++)
                        if (q->tee_tcb_svn[i] < s->min_tee_tcb_svn[i]) {
                                verdict_reason(v,
                                               "policy.tdx.min_tee_tcb_svn: TEE_TCB_SVN %s is below the minimum %s "
                                               "(byte %zu: %u < %u)",
                                               policy_hex(q->tee_tcb_svn, 16, h1), policy_hex(s->min_tee_tcb_svn, 16, h2), i,
                                               q->tee_tcb_svn[i], s->min_tee_tcb_svn[i]);
                                break;
                        }

        if (s->mrconfigid_set && memcmp(q->mrconfigid, s->mrconfigid, 48) != 0)
                verdict_reason(v, "policy.tdx.mrconfigid: MRCONFIGID %s differs from the policy's %s",
                               policy_hex(q->mrconfigid, 48, h1), policy_hex(s->mrconfigid, 48, h2));

        if (s->max_collateral_age_sec > 0) {
                if (!a->collateral_checked)
                        verdict_reason(v, "policy.tdx.max_collateral_age_sec: no verified collateral, and the policy "
                                          "limits its age");
                else if (at - a->collateral_oldest > s->max_collateral_age_sec) {
                        char t[32];
                        verdict_reason(v,
                                       "policy.tdx.max_collateral_age_sec: the collateral was issued %s, %" PRId64
                                       " s before the verification time, more than the maximum %" PRId64 " s",
                                       format_rfc3339(a->collateral_oldest, t, sizeof(t)), at - a->collateral_oldest,
                                       s->max_collateral_age_sec);
                }
        }

        if (s->report_data_set && memcmp(q->report_data, s->report_data, 64) != 0)
                verdict_reason(v, "policy.tdx.report_data: REPORT_DATA %s differs from the policy's %s",
                               policy_hex(q->report_data, 64, h1), policy_hex(s->report_data, 64, h2));
}
