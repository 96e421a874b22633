/* SPDX-License-Identifier: Apache-2.0 */
/* The "snp" section of a policy: its parser and its evaluation against an SnpAppraisal.
 * README.md "Policy files" documents every key; the spec references are to shared/specs/sev-snp.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/policy.h"
#include "cvm/util.h"
#include "policy-internal.h"

#define SIMULATOR_ARKS_MAX 16u

/* KEY_INFO bit 0 (spec §1); PLATFORM_INFO bit 0 (spec §6). */
#define SNP_KEY_INFO_AUTHOR_KEY_EN (UINT32_C(1) << 0)
#define SNP_PLATFORM_INFO_SMT_EN (UINT64_C(1) << 0)

/* The names accepted in "products" and "trusted_simulator_arks[].product": KDS spelling, exact
 * case. */
static const char *const product_names[_SNP_PRODUCT_MAX] = {
        [SNP_PRODUCT_MILAN] = "Milan",
        [SNP_PRODUCT_GENOA] = "Genoa",
        [SNP_PRODUCT_TURIN] = "Turin",
};

static const char *const simulator_labels[_SNP_PRODUCT_MAX] = {
        [SNP_PRODUCT_MILAN] = "policy simulator ARK-Milan",
        [SNP_PRODUCT_GENOA] = "policy simulator ARK-Genoa",
        [SNP_PRODUCT_TURIN] = "policy simulator ARK-Turin",
};

void policy_snp_init(PolicySnp *s) {
        *s = (PolicySnp) {
                .allow_smt = true,
                .max_vmpl = 3,
                .min_tcb = { .fmc = -1, .bl = -1, .tee = -1, .snp = -1, .ucode = -1 },
                .allow_vlek = true,
                /* revocation is decided by the host, and is checked unless a policy says not */
                .require_crl = true,
        };
}

void policy_snp_done(PolicySnp *s) {
        policy_digest_list_done(&s->measurements);
        policy_digest_list_done(&s->id_key_digests);
        policy_digest_list_done(&s->author_key_digests);
        policy_digest_list_done(&s->workload_digests);
        free(s->simulator_arks);
        policy_snp_init(s);
}

/* ---- parsing ---- */

static int parse_product_name(json_object *v, const char *path, SnpProduct *ret, char **reason) {
        _cleanup_free_ char *shown = NULL;
        const char *s;
        size_t len;
        int r;

        r = json_read_string(v, path, SIZE_MAX, &s, &len, reason);
        if (r < 0)
                return r;
        for (int p = 0; p < _SNP_PRODUCT_MAX; p++)
                if (streq(s, product_names[p])) {
                        *ret = p;
                        return 0;
                }
        shown = json_escape(s, len);
        if (!shown)
                return -ENOMEM;
        return json_error(reason, path, "unknown product \"%s\" (expected \"Milan\", \"Genoa\" or \"Turin\")", shown);
}

static int parse_measurements(json_object *v, const char *path, void *data, char **reason) {
        return policy_read_digest_list(v, path, 48, data, reason);
}

static int parse_measurements_or_predicted(json_object *v, const char *path, void *data, char **reason) {
        PolicySnp *s = data;

        return policy_read_digest_list_or_predicted(v, path, &s->measurements, &s->measurements_predicted, reason);
}

static int parse_max_vmpl(json_object *v, const char *path, void *data, char **reason) {
        uint64_t u;
        int r;

        r = json_read_uint(v, path, 0, 3, &u, reason);
        if (r < 0)
                return r;
        *(unsigned *) data = (unsigned) u;
        return 0;
}

static int parse_tcb_component(json_object *v, const char *path, void *data, char **reason) {
        uint64_t u;
        int r;

        r = json_read_uint(v, path, 0, 255, &u, reason);
        if (r < 0)
                return r;
        *(int *) data = (int) u;
        return 0;
}

static const JsonField min_tcb_fields[] = {
        { "fmc", parse_tcb_component, offsetof(PolicySnpTcb, fmc) },
        { "bl", parse_tcb_component, offsetof(PolicySnpTcb, bl) },
        { "tee", parse_tcb_component, offsetof(PolicySnpTcb, tee) },
        { "snp", parse_tcb_component, offsetof(PolicySnpTcb, snp) },
        { "ucode", parse_tcb_component, offsetof(PolicySnpTcb, ucode) },
};

static int parse_min_tcb(json_object *v, const char *path, void *data, char **reason) {
        return json_read_object(v, path, min_tcb_fields, ELEMENTSOF(min_tcb_fields), data, reason);
}

static int parse_min_report_version(json_object *v, const char *path, void *data, char **reason) {
        uint64_t u;
        int r;

        r = json_read_uint(v, path, 2, 5, &u, reason);
        if (r < 0)
                return r;
        *(unsigned *) data = (unsigned) u;
        return 0;
}

static int parse_products(json_object *v, const char *path, void *data, char **reason) {
        PolicySnp *s = data;
        bool seen[_SNP_PRODUCT_MAX] = {};
        size_t n;
        int r;

        r = json_read_array(v, path, _SNP_PRODUCT_MAX, &n, reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index(path, i);
                SnpProduct prod;

                if (!p)
                        return -ENOMEM;
                r = parse_product_name(json_object_array_get_idx(v, i), p, &prod, reason);
                if (r < 0)
                        return r;
                if (seen[prod])
                        return json_error(reason, p, "\"%s\" is listed more than once", product_names[prod]);
                seen[prod] = true;
        }
        s->products_set = true;
        memcpy(s->products, seen, sizeof(seen));
        return 0;
}

static int parse_digests(json_object *v, const char *path, void *data, char **reason) {
        return policy_read_digest_list(v, path, 48, data, reason);
}

static int parse_host_data(json_object *v, const char *path, void *data, char **reason) {
        PolicySnp *s = data;
        int r;

        r = json_read_hex(v, path, s->host_data, sizeof(s->host_data), reason);
        if (r < 0)
                return r;
        s->host_data_set = true;
        return 0;
}

static int parse_report_data(json_object *v, const char *path, void *data, char **reason) {
        PolicySnp *s = data;
        int r;

        r = json_read_hex(v, path, s->report_data, sizeof(s->report_data), reason);
        if (r < 0)
                return r;
        s->report_data_set = true;
        return 0;
}

static int parse_min_guest_svn(json_object *v, const char *path, void *data, char **reason) {
        PolicySnp *s = data;
        uint64_t u;
        int r;

        r = json_read_uint(v, path, 0, UINT32_MAX, &u, reason);
        if (r < 0)
                return r;
        s->min_guest_svn = (uint32_t) u;
        s->min_guest_svn_set = true;
        return 0;
}

/* One decimal component of "major.minor": 1 to 3 digits, at most 255. */
static const char *parse_abi_component(const char *s, unsigned *ret) {
        unsigned u = 0;
        size_t n = 0;

        while (s[n] >= '0' && s[n] <= '9' && n < 4)
                u = u * 10 + (unsigned) (s[n++] - '0');
        if (n == 0 || n > 3 || u > 255)
                return NULL;
        *ret = u;
        return s + n;
}

static int parse_min_abi(json_object *v, const char *path, void *data, char **reason) {
        PolicySnp *s = data;
        unsigned major, minor;
        const char *str, *e;
        int r;

        r = json_read_string(v, path, 16, &str, NULL, reason);
        if (r < 0)
                return r;
        e = parse_abi_component(str, &major);
        if (e && *e == '.')
                e = parse_abi_component(e + 1, &minor);
        else
                e = NULL;
        if (!e || *e)
                return json_error(reason, path,
                                    "expected \"MAJOR.MINOR\" with each part a decimal number from 0 to 255");
        s->min_abi_major = (uint8_t) major;
        s->min_abi_minor = (uint8_t) minor;
        s->min_abi_set = true;
        return 0;
}

typedef struct SimulatorArk {
        bool has_product, has_digest;
        SnpProduct product;
        uint8_t spki_sha256[32];
} SimulatorArk;

static int parse_ark_product(json_object *v, const char *path, void *data, char **reason) {
        SimulatorArk *a = data;
        int r;

        r = parse_product_name(v, path, &a->product, reason);
        if (r < 0)
                return r;
        a->has_product = true;
        return 0;
}

static int parse_ark_digest(json_object *v, const char *path, void *data, char **reason) {
        SimulatorArk *a = data;
        int r;

        r = json_read_hex(v, path, a->spki_sha256, sizeof(a->spki_sha256), reason);
        if (r < 0)
                return r;
        /* No key hashes to zero: an all-zero pin is a placeholder, refused as tdx and gpu do. */
        if (memeqzero(a->spki_sha256, sizeof(a->spki_sha256)))
                return json_error(reason, path, "an all-zero digest pins no key");
        a->has_digest = true;
        return 0;
}

static const JsonField simulator_ark_fields[] = {
        { "product", parse_ark_product },
        { "spki_sha256", parse_ark_digest },
};

static int parse_simulator_arks(json_object *v, const char *path, void *data, char **reason) {
        PolicySnp *s = data;
        _cleanup_free_ SnpAnchor *arks = NULL;
        size_t n;
        int r;

        r = json_read_array(v, path, SIMULATOR_ARKS_MAX, &n, reason);
        if (r < 0)
                return r;
        arks = calloc(n ? n : 1, sizeof(SnpAnchor));
        if (!arks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index(path, i);
                SimulatorArk a = {};

                if (!p)
                        return -ENOMEM;
                r = json_read_object(json_object_array_get_idx(v, i), p, simulator_ark_fields,
                                        ELEMENTSOF(simulator_ark_fields), &a, reason);
                if (r < 0)
                        return r;
                if (!a.has_product || !a.has_digest)
                        return json_error(reason, p, "missing key \"%s\"", a.has_product ? "spki_sha256" : "product");
                for (size_t k = 0; k < i; k++)
                        if (arks[k].product == a.product && memcmp(arks[k].spki_sha256, a.spki_sha256, 32) == 0)
                                return json_error(reason, p, "the same ARK is listed more than once");
                arks[i] = (SnpAnchor) { .product = a.product, .label = simulator_labels[a.product] };
                memcpy(arks[i].spki_sha256, a.spki_sha256, 32);
        }
        free(s->simulator_arks);
        s->simulator_arks = TAKE_PTR(arks);
        s->n_simulator_arks = n;
        return 0;
}

static int parse_max_crl_age(json_object *v, const char *path, void *data, char **reason) {
        uint64_t u;
        int r;

        /* one second to ten years, as tdx.max_collateral_age_sec */
        r = json_read_uint(v, path, 1, UINT64_C(315360000), &u, reason);
        if (r < 0)
                return r;
        *(int64_t *) data = (int64_t) u;
        return 0;
}

static const JsonField snp_fields[] = {
        { "measurements", parse_measurements_or_predicted },
        { "allow_unmeasured_disk_boot", json_field_bool, offsetof(PolicySnp, allow_unmeasured_disk_boot) },
        { "allow_debug", json_field_bool, offsetof(PolicySnp, allow_debug) },
        { "allow_smt", json_field_bool, offsetof(PolicySnp, allow_smt) },
        { "allow_migration_agent", json_field_bool, offsetof(PolicySnp, allow_migration_agent) },
        { "require_single_socket", json_field_bool, offsetof(PolicySnp, require_single_socket) },
        { "max_vmpl", parse_max_vmpl, offsetof(PolicySnp, max_vmpl) },
        { "min_tcb", parse_min_tcb, offsetof(PolicySnp, min_tcb) },
        { "min_report_version", parse_min_report_version, offsetof(PolicySnp, min_report_version) },
        { "products", parse_products },
        { "allow_vlek", json_field_bool, offsetof(PolicySnp, allow_vlek) },
        { "id_key_digests", parse_digests, offsetof(PolicySnp, id_key_digests) },
        { "author_key_digests", parse_digests, offsetof(PolicySnp, author_key_digests) },
        { "host_data", parse_host_data },
        { "report_data", parse_report_data },
        { "require_crl", json_field_bool, offsetof(PolicySnp, require_crl) },
        { "max_crl_age_sec", parse_max_crl_age, offsetof(PolicySnp, max_crl_age_sec) },
        { "min_guest_svn", parse_min_guest_svn },
        { "min_abi", parse_min_abi },
        { "trusted_simulator_arks", parse_simulator_arks },
        { "workload_digests", parse_measurements, offsetof(PolicySnp, workload_digests) },
};

int policy_snp_parse(json_object *v, const char *path, void *data, char **reason) {
        Policy *p = data;
        int r;

        r = json_read_object(v, path, snp_fields, ELEMENTSOF(snp_fields), &p->snp, reason);
        if (r < 0)
                return r;
        p->has_snp = true;
        return 0;
}

/* ---- queries ---- */

bool policy_snp_requires_crl(const Policy *p) {
        return p ? p->snp.require_crl : true;
}

int policy_snp_anchors(const Policy *p, SnpAnchor **ret, size_t *ret_n) {
        const SnpAnchor *builtin;
        size_t n_builtin, n_sim;
        SnpAnchor *a;

        if (!ret || !ret_n)
                return -EINVAL;
        builtin = snp_builtin_anchors(&n_builtin);
        n_sim = p ? p->snp.n_simulator_arks : 0;
        a = calloc(n_builtin + n_sim ? n_builtin + n_sim : 1, sizeof(SnpAnchor));
        if (!a)
                return -ENOMEM;
        if (n_builtin)
                memcpy(a, builtin, n_builtin * sizeof(SnpAnchor));
        if (n_sim)
                memcpy(a + n_builtin, p->snp.simulator_arks, n_sim * sizeof(SnpAnchor));
        *ret = a;
        *ret_n = n_builtin + n_sim;
        return 0;
}

/* ---- evaluation ---- */

static void eval_tcb_component(Verdict *v, const char *name, int min, uint8_t reported) {
        if (min >= 0 && reported < min)
                verdict_reason(v, "policy.snp.min_tcb.%s: REPORTED_TCB %s %u is below the minimum %d", name, name,
                               reported, min);
}

static void eval_min_tcb(const PolicySnp *s, const SnpReport *r, Verdict *v) {
        const SnpTcb *t = &r->reported_tcb;

        if (s->min_tcb.fmc >= 0 && !t->turin)
                verdict_reason(v,
                               "policy.snp.min_tcb.fmc: REPORTED_TCB has no fmc component (it uses the Milan/Genoa "
                               "layout), and the policy requires fmc %d or later",
                               s->min_tcb.fmc);
        else if (t->turin)
                eval_tcb_component(v, "fmc", s->min_tcb.fmc, t->fmc);
        eval_tcb_component(v, "bl", s->min_tcb.bl, t->bl);
        eval_tcb_component(v, "tee", s->min_tcb.tee, t->tee);
        eval_tcb_component(v, "snp", s->min_tcb.snp, t->snp);
        eval_tcb_component(v, "ucode", s->min_tcb.ucode, t->ucode);
}

static void eval_products(const PolicySnp *s, const SnpAppraisal *a, Verdict *v) {
        char list[64] = "";

        if (!s->products_set)
                return;
        if (a->product_known && a->product >= 0 && a->product < _SNP_PRODUCT_MAX && s->products[a->product])
                return;
        for (int p = 0; p < _SNP_PRODUCT_MAX; p++)
                if (s->products[p]) {
                        if (list[0])
                                strcat(list, ", ");
                        strcat(list, product_names[p]);
                }
        if (!list[0])
                strcpy(list, "none");
        if (!a->product_known)
                verdict_reason(v,
                               "policy.snp.products: the product that made the report could not be determined, and "
                               "the policy accepts only: %s",
                               list);
        else
                verdict_reason(v, "policy.snp.products: product %s is not one the policy accepts (%s)",
                               a->product >= 0 && a->product < _SNP_PRODUCT_MAX ? product_names[a->product]
                                                                                : "(invalid)",
                               list);
}

void policy_evaluate_snp(const Policy *p, const SnpAppraisal *a, Verdict *v) {
        policy_evaluate_snp_predicted(p, a, NULL, v);
}

void policy_evaluate_snp_predicted(const Policy *p, const SnpAppraisal *a, const uint8_t *predicted, Verdict *v) {
        PolicySnp defaults;
        const PolicySnp *s;
        const SnpReport *r;
        char h1[129], h2[129];

        if (!a || !v)
                return;
        if (p && !p->has_snp) {
                verdict_reason(v,
                               "policy.snp: the policy%s%s%s has no \"snp\" section, so it accepts no SEV-SNP "
                               "evidence",
                               p->name ? " \"" : "", p->name ?: "", p->name ? "\"" : "");
                return;
        }
        if (!a->parsed) {
                verdict_reason(v, "policy.snp: the report could not be parsed, so no policy rule can be evaluated");
                return;
        }
        if (p)
                s = &p->snp;
        else {
                policy_snp_init(&defaults);
                s = &defaults;
        }
        r = &a->report;

        if (s->measurements_predicted)
                policy_eval_predicted(v, "snp", "measurements", "MEASUREMENT", r->measurement, predicted);
        else
                policy_eval_digest_list(v, "snp", "measurements", "MEASUREMENT", &s->measurements, r->measurement);

        if (!s->allow_debug && (r->policy & SNP_POLICY_DEBUG))
                verdict_reason(v,
                               "policy.snp.allow_debug: guest POLICY 0x%" PRIx64 " has DEBUG (bit 19) set, and the "
                               "policy forbids debug guests",
                               r->policy);

        if (!s->allow_smt) {
                if (r->policy & SNP_POLICY_SMT)
                        verdict_reason(v,
                                       "policy.snp.allow_smt: guest POLICY 0x%" PRIx64 " has SMT (bit 16) set, and "
                                       "the policy forbids SMT",
                                       r->policy);
                if (r->platform_info & SNP_PLATFORM_INFO_SMT_EN)
                        verdict_reason(v,
                                       "policy.snp.allow_smt: PLATFORM_INFO 0x%" PRIx64 " has SMT_EN (bit 0) set (the "
                                       "host runs with SMT enabled), and the policy forbids SMT",
                                       r->platform_info);
        }

        if (!s->allow_migration_agent && (r->policy & SNP_POLICY_MIGRATE_MA))
                verdict_reason(v,
                               "policy.snp.allow_migration_agent: guest POLICY 0x%" PRIx64 " has MIGRATE_MA (bit 18) "
                               "set, and the policy forbids migration agents",
                               r->policy);

        if (s->require_single_socket && !(r->policy & SNP_POLICY_SINGLE_SOCKET))
                verdict_reason(v,
                               "policy.snp.require_single_socket: guest POLICY 0x%" PRIx64 " has SINGLE_SOCKET (bit "
                               "20) clear, and the policy requires single-socket guests",
                               r->policy);

        if (r->vmpl > s->max_vmpl)
                verdict_reason(v, "policy.snp.max_vmpl: VMPL %" PRIu32 " is above the maximum %u", r->vmpl,
                               s->max_vmpl);

        eval_min_tcb(s, r, v);

        if (s->min_report_version > 0 && r->version < s->min_report_version)
                verdict_reason(v, "policy.snp.min_report_version: report VERSION %" PRIu32 " is below the minimum %u",
                               r->version, s->min_report_version);

        eval_products(s, a, v);

        if (!s->allow_vlek && a->signing_key == SNP_SIGNING_KEY_VLEK)
                verdict_reason(v,
                               "policy.snp.allow_vlek: the report is signed by a VLEK (KEY_INFO 0x%" PRIx32
                               ", SIGNING_KEY 1), and the policy accepts only VCEK-signed reports",
                               r->key_info);

        if (s->id_key_digests.set && memeqzero(r->id_key_digest, sizeof(r->id_key_digest)))
                verdict_reason(v, "policy.snp.id_key_digests: the guest was launched without an ID block "
                                  "(ID_KEY_DIGEST is all zero), and the policy requires an ID key it lists");
        else
                policy_eval_digest_list(v, "snp", "id_key_digests", "ID_KEY_DIGEST", &s->id_key_digests, r->id_key_digest);

        if (s->author_key_digests.set && !(r->key_info & SNP_KEY_INFO_AUTHOR_KEY_EN))
                verdict_reason(v,
                               "policy.snp.author_key_digests: the report has no author key (KEY_INFO 0x%" PRIx32
                               " has AUTHOR_KEY_EN (bit 0) clear), and the policy requires an author key it lists",
                               r->key_info);
        else
                policy_eval_digest_list(v, "snp", "author_key_digests", "AUTHOR_KEY_DIGEST", &s->author_key_digests,
                                 r->author_key_digest);

        if (s->host_data_set && memcmp(r->host_data, s->host_data, sizeof(s->host_data)) != 0)
                verdict_reason(v, "policy.snp.host_data: HOST_DATA %s differs from the policy's %s",
                               policy_hex(r->host_data, sizeof(r->host_data), h1),
                               policy_hex(s->host_data, sizeof(s->host_data), h2));

        if (s->report_data_set && memcmp(r->report_data, s->report_data, sizeof(s->report_data)) != 0)
                verdict_reason(v, "policy.snp.report_data: REPORT_DATA %s differs from the policy's %s",
                               policy_hex(r->report_data, sizeof(r->report_data), h1),
                               policy_hex(s->report_data, sizeof(s->report_data), h2));

        if (s->require_crl && !a->crl_checked)
                verdict_reason(v, "policy.snp.require_crl: the certificate chain was not checked against a CRL, and "
                                  "the policy requires one");

        if (s->min_guest_svn_set && r->guest_svn < s->min_guest_svn)
                verdict_reason(v, "policy.snp.min_guest_svn: GUEST_SVN %" PRIu32 " is below the minimum %" PRIu32,
                               r->guest_svn, s->min_guest_svn);

        if (s->min_abi_set) {
                unsigned major = (unsigned) (r->policy >> 8 & 0xff), minor = (unsigned) (r->policy & 0xff);
                if ((major << 8 | minor) < ((unsigned) s->min_abi_major << 8 | s->min_abi_minor))
                        verdict_reason(v,
                                       "policy.snp.min_abi: guest POLICY 0x%" PRIx64 " asks for firmware ABI %u.%u "
                                       "or later, below the minimum %u.%u",
                                       r->policy, major, minor, s->min_abi_major, s->min_abi_minor);
        }
}

void policy_evaluate_snp_crl_age(const Policy *p, const SnpAppraisal *a, int64_t crl_this_update, int64_t at,
                                 Verdict *v) {
        const PolicySnp *s;
        char t[32];

        if (!p || !a || !a->crl_checked)
                return;
        s = &p->snp;
        if (s->max_crl_age_sec > 0 && at - crl_this_update > s->max_crl_age_sec)
                verdict_reason(v,
                               "policy.snp.max_crl_age_sec: the CRL was issued %s, %" PRId64
                               " s before the verification, more than the %" PRId64 " s the policy allows",
                               format_rfc3339(crl_this_update, t, sizeof(t)), at - crl_this_update,
                               s->max_crl_age_sec);
}
