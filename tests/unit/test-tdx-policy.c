/* SPDX-License-Identifier: Apache-2.0 */
/* The "tdx" policy section: strict parsing of every key, and the denials it gives on real
 * verified quotes (a debug TD, a NotSupported platform, wrong measurements, old collateral).
 * Needs $CVM_VECTORS for the evaluation tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cvm/pcs.h"
#include "cvm/policy.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

static Policy *parse_ok(const char *json) {
        _cleanup_free_ char *reason = NULL;
        Policy *p = NULL;

        if (policy_parse(json, strlen(json), &p, &reason) < 0)
                fail_msg("policy did not parse: %s", reason ? reason : "?");
        return p;
}

static void parse_fails(const char *json, const char *want) {
        _cleanup_free_ char *reason = NULL;
        Policy *p = NULL;

        assert_int_equal(policy_parse(json, strlen(json), &p, &reason), -EINVAL);
        assert_null(p);
        assert_non_null(reason);
        if (!strstr(reason, want))
                fail_msg("reason '%s' does not contain '%s'", reason, want);
}

static void test_parse_every_key(void **state) {
        _cleanup_(policy_freep) Policy *p = parse_ok(
                "{\"tdx\": {\"mrtds\": [\"" "11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111" "1\"],"
                " \"mrseams\": [], \"rtmr2\": \"" "222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222" "\","
                " \"allow_debug\": true, \"require_sept_ve_disable\": false,"
                " \"accepted_tcb_statuses\": [\"UpToDate\", \"OutOfDate\"], \"allowed_advisory_ids\": [\"INTEL-SA-00837\"],"
                " \"min_tee_tcb_svn\": \"03000000000000000000000000000000\", \"max_collateral_age_sec\": 2592000}}");

        assert_true(policy_has_tdx(p));
        assert_true(p->tdx.mrtds.set);
        assert_int_equal(p->tdx.mrtds.n, 1);
        assert_true(p->tdx.mrseams.set);
        assert_int_equal(p->tdx.mrseams.n, 0);
        assert_true(p->tdx.rtmr_set[2]);
        assert_false(p->tdx.rtmr_set[0]);
        assert_true(p->tdx.allow_debug);
        assert_false(p->tdx.require_sept_ve_disable);
        assert_int_equal(p->tdx.accepted_tcb_statuses, (1u << TDX_TCB_UP_TO_DATE) | (1u << TDX_TCB_OUT_OF_DATE));
        assert_int_equal(p->tdx.n_allowed_advisory_ids, 1);
        assert_int_equal(p->tdx.max_collateral_age_sec, 2592000);
}

static void test_defaults(void **state) {
        _cleanup_(policy_freep) Policy *p = parse_ok("{\"tdx\": {}}");

        assert_true(p->tdx.require_sept_ve_disable);
        assert_false(p->tdx.allow_debug);
        assert_int_equal(p->tdx.accepted_tcb_statuses,
                         (1u << TDX_TCB_UP_TO_DATE) | (1u << TDX_TCB_SW_HARDENING_NEEDED));
        assert_false(p->tdx.allowed_advisory_ids_set);
}

static void test_parse_errors(void **state) {
        parse_fails("{\"tdx\": {\"mrtd\": []}}", "tdx.mrtd: unknown key");
        parse_fails("{\"tdx\": {\"accepted_tcb_statuses\": [\"Fine\"]}}", "tdx.accepted_tcb_statuses[0]: unknown TCB status");
        parse_fails("{\"tdx\": {\"accepted_tcb_statuses\": [\"UpToDate\", \"UpToDate\"]}}", "listed more than once");
        parse_fails("{\"tdx\": {\"rtmr0\": \"00\"}}", "tdx.rtmr0");
        parse_fails("{\"tdx\": {\"allowed_advisory_ids\": [\"INTEL SA\"]}}", "not an advisory ID");
        parse_fails("{\"tdx\": {\"max_collateral_age_sec\": 0}}", "tdx.max_collateral_age_sec");
        parse_fails("{\"tdx\": {\"allow_debug\": 1}}", "tdx.allow_debug");
}

/* Verifies a vector case with its collateral and evaluates policy_json (NULL: defaults). */
static int evaluate(const char *id, const char *policy_json, Verdict *v) {
        const char *root = getenv("CVM_VECTORS");
        _cleanup_free_ char *qp = NULL, *cp = NULL, *casep = NULL;
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ uint8_t *quote = NULL;
        _cleanup_(json_object_putp) json_object *kase = NULL;
        json_object *at;
        TdxAppraisal a = {};
        TdxVerifyParams params = {};
        size_t size;

        if (!root || !*root)
                root = "../shared/vectors";
        qp = strdup_printf("%s/tdx/%s/quote.bin", root, id);
        cp = strdup_printf("%s/tdx/%s/collateral", root, id);
        casep = strdup_printf("%s/tdx/%s/case.json", root, id);
        if (read_file_bounded(qp, CVM_INPUT_MAX, &quote, &size) < 0)
                return -ENOENT;
        kase = json_object_from_file(casep);
        assert_non_null(kase);
        assert_true(json_object_object_get_ex(kase, "at", &at));
        assert_int_equal(parse_rfc3339(json_object_get_string(at), &params.at), 0);
        assert_int_equal(pcs_collateral_load_dir(cp, &col, NULL), 0);
        params.anchors = tdx_builtin_anchors(&params.n_anchors);
        if (policy_json)
                p = parse_ok(policy_json);
        assert_int_equal(verdict_init(v, "tdx"), 0);
        assert_int_equal(tdx_verify(quote, size, col, &params, &a, v), 0);
        assert_true(v->authentic);
        policy_evaluate_tdx(p, &a, params.at, v);
        tdx_appraisal_done(&a);
        return 0;
}

static bool has_reason(const Verdict *v, const char *prefix) {
        for (size_t i = 0; i < v->n_reasons; i++)
                if (strncmp(v->reasons[i], prefix, strlen(prefix)) == 0)
                        return true;
        return false;
}

static void test_default_policy_denials(void **state) {
        _cleanup_(verdict_done) Verdict good = {}, debug = {}, ns = {}, sept = {};

        if (evaluate("phala-tdx-quote-v4-uptodate", NULL, &good) < 0)
                skip();
        assert_int_equal(good.n_reasons, 0);
        assert_int_equal(evaluate("trustee-quote4-v4-debug-uptodate", NULL, &debug), 0);
        assert_true(has_reason(&debug, "policy.tdx.allow_debug: "));
        assert_int_equal(evaluate("phala-hex-v4-notsupported", NULL, &ns), 0);
        assert_true(has_reason(&ns, "policy.tdx.accepted_tcb_statuses: TCB status NotSupported"));
        assert_int_equal(evaluate("zkdcap-types-v4-uptodate", NULL, &sept), 0);
        assert_true(has_reason(&sept, "policy.tdx.require_sept_ve_disable: "));
}

static void test_policy_rules(void **state) {
        _cleanup_(verdict_done) Verdict v1 = {}, v2 = {}, v3 = {}, v4 = {};

        if (evaluate("phala-tdx-quote-v4-uptodate",
                     "{\"tdx\": {\"mrtds\": [], \"rtmr3\": \"" "01" "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "\"}}",
                     &v1) < 0)
                skip();
        assert_true(has_reason(&v1, "policy.tdx.mrtds: "));
        assert_true(has_reason(&v1, "policy.tdx.rtmr3: "));
        /* collateral issued 2025-06-19, verified 2025-07-19: a one-day limit is broken */
        assert_int_equal(evaluate("phala-tdx-quote-v4-uptodate", "{\"tdx\": {\"max_collateral_age_sec\": 86400}}", &v2), 0);
        assert_true(has_reason(&v2, "policy.tdx.max_collateral_age_sec: "));
        assert_int_equal(evaluate("phala-tdx-quote-v4-uptodate",
                                  "{\"tdx\": {\"min_tee_tcb_svn\": \"07000000000000000000000000000000\", "
                                  "\"accepted_tcb_statuses\": [\"OutOfDate\"]}}",
                                  &v3),
                         0);
        assert_true(has_reason(&v3, "policy.tdx.min_tee_tcb_svn: "));
        assert_true(has_reason(&v3, "policy.tdx.accepted_tcb_statuses: TCB status UpToDate"));
        /* no tdx section: nothing is accepted */
        assert_int_equal(evaluate("phala-tdx-quote-v4-uptodate", "{\"name\": \"snp-only\", \"snp\": {}}", &v4), 0);
        assert_true(has_reason(&v4, "policy.tdx: "));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_every_key),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_default_policy_denials),
                cmocka_unit_test(test_policy_rules),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
