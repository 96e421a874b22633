/* SPDX-License-Identifier: Apache-2.0 */
/* Policy files: strict parsing (every error names its JSON path; out-params untouched on
 * error), the documented defaults, policy_load, the trusted anchors, and the evaluation of every
 * snp rule against a hand-built appraisal with the exact denial it gives. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cvm/policy.h"
#include "cvm/snp.h"
#include "cvm/util.h"

#define M1 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define M2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HD "0101010101010101010101010101010101010101010101010101010101010101"
#define RD                                                                                                             \
        "0202020202020202020202020202020202020202020202020202020202020202"                                             \
        "0202020202020202020202020202020202020202020202020202020202020202"
#define ARK_DIGEST "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* ---- helpers ---- */

static Policy *parse_ok(const char *json) {
        Policy *p = NULL;
        char *reason = NULL;
        int r = policy_parse(json, strlen(json), &p, &reason);

        if (r < 0)
                fail_msg("policy_parse(%s) failed: %d %s", json, r, reason ? reason : "(no reason)");
        assert_null(reason);
        assert_non_null(p);
        return p;
}

/* Asserts that parsing fails with exactly this reason, and leaves *ret alone. */
static void parse_fails_n(const char *json, size_t size, const char *want) {
        Policy *sentinel = (Policy *) 0x1, *p = sentinel;
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(policy_parse(json, size, &p, &reason), -EINVAL);
        assert_ptr_equal(p, sentinel);
        assert_non_null(reason);
        assert_string_equal(reason, want);
}

static void parse_fails(const char *json, const char *want) {
        parse_fails_n(json, strlen(json), want);
}

static void parse_fails_prefix(const char *json, const char *want_prefix) {
        Policy *p = NULL;
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(policy_parse(json, strlen(json), &p, &reason), -EINVAL);
        assert_null(p);
        assert_non_null(reason);
        if (strncmp(reason, want_prefix, strlen(want_prefix)) != 0)
                fail_msg("reason \"%s\" does not start with \"%s\"", reason, want_prefix);
}

/* A Milan v3 report, VCEK-signed, that passes every rule of full_policy below. */
static void base_appraisal(SnpAppraisal *a) {
        static const uint8_t milan_tcb[8] = { 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0xdb };
        SnpReport *r = &a->report;

        *a = (SnpAppraisal) {
                .parsed = true,
                .product_known = true,
                .product = SNP_PRODUCT_MILAN,
                .signing_key = SNP_SIGNING_KEY_VCEK,
                .crl_checked = true,
        };
        r->version = 3;
        r->guest_svn = 7;
        r->policy = SNP_POLICY_SMT | SNP_POLICY_RESERVED_1 | 0x0133; /* 0x30133: ABI 1.51 */
        r->vmpl = 0;
        r->signature_algo = 1;
        r->platform_info = 0x1; /* SMT_EN */
        r->key_info = 0x1;      /* AUTHOR_KEY_EN, VCEK */
        memset(r->report_data, 0x02, sizeof(r->report_data));
        memset(r->measurement, 0xaa, sizeof(r->measurement));
        memset(r->host_data, 0x01, sizeof(r->host_data));
        memset(r->id_key_digest, 0xaa, sizeof(r->id_key_digest));
        memset(r->author_key_digest, 0xbb, sizeof(r->author_key_digest));
        memset(r->report_id_ma, 0xff, sizeof(r->report_id_ma));
        memcpy(r->reported_tcb.raw, milan_tcb, 8);
        r->reported_tcb.turin = false;
        r->reported_tcb.bl = 4;
        r->reported_tcb.tee = 0;
        r->reported_tcb.snp = 24;
        r->reported_tcb.ucode = 219;
        r->current_tcb = r->committed_tcb = r->launch_tcb = r->reported_tcb;
        r->has_cpuid = true;
        r->cpuid_fam_id = 0x19;
        r->cpuid_mod_id = 0x01;
        r->cpuid_step = 1;
}

static const char full_policy[] =
        "{\n"
        "  \"name\": \"prod-milan\",\n"
        "  \"description\": \"every rule set\\nsecond line\",\n"
        "  \"snp\": {\n"
        "    \"measurements\": [\"" M1 "\", \"" M2 "\"],\n"
        "    \"allow_debug\": false,\n"
        "    \"allow_smt\": true,\n"
        "    \"allow_migration_agent\": false,\n"
        "    \"require_single_socket\": false,\n"
        "    \"max_vmpl\": 0,\n"
        "    \"min_tcb\": { \"bl\": 4, \"tee\": 0, \"snp\": 24, \"ucode\": 219 },\n"
        "    \"min_report_version\": 3,\n"
        "    \"products\": [\"Milan\", \"Genoa\"],\n"
        "    \"allow_vlek\": false,\n"
        "    \"id_key_digests\": [\"" M1 "\"],\n"
        "    \"author_key_digests\": [\"" M2 "\"],\n"
        "    \"host_data\": \"" HD "\",\n"
        "    \"report_data\": \"" RD "\",\n"
        "    \"require_crl\": true,\n"
        "    \"min_guest_svn\": 7,\n"
        "    \"min_abi\": \"1.51\",\n"
        "    \"trusted_simulator_arks\": [{ \"product\": \"Milan\", \"spki_sha256\": \"" ARK_DIGEST "\" }]\n"
        "  }\n"
        "}\n";

/* Evaluates `json` (or the defaults when NULL) and returns the verdict's reasons. */
static void evaluate(const char *json, const SnpAppraisal *a, Verdict *v) {
        _cleanup_(policy_freep) Policy *p = json ? parse_ok(json) : NULL;

        assert_int_equal(verdict_init(v, "sev-snp"), 0);
        v->authentic = true;
        policy_evaluate_snp(p, a, v);
        /* Evaluation adds reasons and nothing else. */
        assert_true(v->authentic);
        assert_false(v->accepted);
        assert_int_equal(v->n_checks, 0);
        assert_false(v->oom);
}

static void assert_one_reason(const Verdict *v, const char *want) {
        if (v->n_reasons != 1) {
                for (size_t i = 0; i < v->n_reasons; i++)
                        fprintf(stderr, "reason %zu: %s\n", i, v->reasons[i]);
                fail_msg("expected exactly one reason, got %zu", v->n_reasons);
        }
        assert_string_equal(v->reasons[0], want);
}

static void assert_no_reasons(const Verdict *v) {
        for (size_t i = 0; i < v->n_reasons; i++)
                fprintf(stderr, "unexpected reason: %s\n", v->reasons[i]);
        assert_int_equal(v->n_reasons, 0);
}

/* One rule broken: the policy `json`, the appraisal changed by `mutate`, exactly `want`. */
#define ONE_DENIAL(json, mutate, want)                                                                                 \
        do {                                                                                                           \
                _cleanup_(verdict_done) Verdict _v = {};                                                               \
                SnpAppraisal _a;                                                                                       \
                base_appraisal(&_a);                                                                                   \
                {                                                                                                      \
                        SnpAppraisal *a = &_a;                                                                         \
                        SnpReport *r = &a->report;                                                                     \
                        (void) r;                                                                                      \
                        mutate;                                                                                        \
                }                                                                                                      \
                evaluate(json, &_a, &_v);                                                                              \
                assert_one_reason(&_v, want);                                                                          \
        } while (0)

#define NO_DENIAL(json, mutate)                                                                                        \
        do {                                                                                                           \
                _cleanup_(verdict_done) Verdict _v = {};                                                               \
                SnpAppraisal _a;                                                                                       \
                base_appraisal(&_a);                                                                                   \
                {                                                                                                      \
                        SnpAppraisal *a = &_a;                                                                         \
                        SnpReport *r = &a->report;                                                                     \
                        (void) r;                                                                                      \
                        (void) a;                                                                                      \
                        mutate;                                                                                        \
                }                                                                                                      \
                evaluate(json, &_a, &_v);                                                                              \
                assert_no_reasons(&_v);                                                                                \
        } while (0)

/* ---- parsing: errors ---- */

static void test_failure_action(void **state) {
        Policy *p = parse_ok("{}");

        assert_int_equal(p->failure_action, POLICY_FAILURE_DESTROY);
        policy_free(p);
        p = parse_ok("{\"failure_action\": \"quarantine\"}");
        assert_int_equal(p->failure_action, POLICY_FAILURE_QUARANTINE);
        assert_string_equal(policy_failure_action_to_string(p->failure_action), "quarantine");
        policy_free(p);
        p = parse_ok("{\"failure_action\": \"pause\"}");
        assert_int_equal(p->failure_action, POLICY_FAILURE_PAUSE);
        policy_free(p);
        parse_fails("{\"failure_action\": \"reboot\"}",
                    "failure_action: expected \"destroy\", \"pause\" or \"quarantine\"");
        parse_fails_prefix("{\"failure_action\": true}", "failure_action: ");
}

static void test_parse_unknown_keys(void **state) {
        parse_fails("{\"snp\": {\"alow_debug\": true}}", "snp.alow_debug: unknown key");
        parse_fails("{\"foo\": 1}", "foo: unknown key");
        parse_fails("{\"snp\": {\"min_tcb\": {\"microcode\": 1}}}", "snp.min_tcb.microcode: unknown key");
        parse_fails("{\"snp\": {\"trusted_simulator_arks\": [{\"product\": \"Milan\", \"spki\": \"00\"}]}}",
                    "snp.trusted_simulator_arks[0].spki: unknown key");
        /* Keys are shown printable. */
        parse_fails("{\"snp\": {\"a\\u001bb\": 1}}", "snp.a\\x1bb: unknown key");
        /* Key matching is exact: no case folding. */
        parse_fails("{\"SNP\": {}}", "SNP: unknown key");
}

static void test_parse_unknown_sections(void **state) {
        parse_fails("{\"snp\": {}, \"sgx\": {}}", "sgx: unknown key");
}

static void test_parse_wrong_types(void **state) {
        parse_fails("{\"name\": 1}", "name: expected a string, got an integer");
        parse_fails("{\"snp\": []}", "snp: expected an object, got an array");
        parse_fails("{\"snp\": {\"allow_debug\": \"yes\"}}",
                    "snp.allow_debug: expected a boolean (true or false), got a string");
        parse_fails("{\"snp\": {\"allow_smt\": 1}}",
                    "snp.allow_smt: expected a boolean (true or false), got an integer");
        parse_fails("{\"snp\": {\"require_crl\": null}}",
                    "snp.require_crl: expected a boolean (true or false), got null");
        parse_fails("{\"snp\": {\"max_vmpl\": \"1\"}}", "snp.max_vmpl: expected an integer from 0 to 3, got a string");
        parse_fails("{\"snp\": {\"max_vmpl\": 1.0}}",
                    "snp.max_vmpl: expected an integer from 0 to 3, got a number with a fraction or exponent");
        parse_fails("{\"snp\": {\"max_vmpl\": 1e0}}",
                    "snp.max_vmpl: expected an integer from 0 to 3, got a number with a fraction or exponent");
        parse_fails("{\"snp\": {\"measurements\": \"" M1 "\"}}", "snp.measurements: expected an array, got a string");
        parse_fails("{\"snp\": {\"measurements\": [1]}}",
                    "snp.measurements[0]: expected 48 bytes as a string of 96 hex digits, got an integer");
        parse_fails("{\"snp\": {\"min_tcb\": 5}}", "snp.min_tcb: expected an object, got an integer");
        parse_fails("{\"snp\": {\"products\": \"Milan\"}}", "snp.products: expected an array, got a string");
        parse_fails("{\"snp\": {\"min_abi\": 1.51}}",
                    "snp.min_abi: expected a string, got a number with a fraction or exponent");
        parse_fails("{\"snp\": {\"trusted_simulator_arks\": [\"x\"]}}",
                    "snp.trusted_simulator_arks[0]: expected an object, got a string");
}

static void test_parse_ranges(void **state) {
        parse_fails("{\"snp\": {\"max_vmpl\": 4}}", "snp.max_vmpl: expected an integer from 0 to 3, got 4");
        parse_fails("{\"snp\": {\"max_vmpl\": -1}}", "snp.max_vmpl: expected an integer from 0 to 3, got -1");
        parse_fails("{\"snp\": {\"min_tcb\": {\"ucode\": 256}}}",
                    "snp.min_tcb.ucode: expected an integer from 0 to 255, got 256");
        parse_fails("{\"snp\": {\"min_report_version\": 1}}",
                    "snp.min_report_version: expected an integer from 2 to 5, got 1");
        parse_fails("{\"snp\": {\"min_report_version\": 6}}",
                    "snp.min_report_version: expected an integer from 2 to 5, got 6");
        parse_fails("{\"snp\": {\"min_guest_svn\": 4294967296}}",
                    "snp.min_guest_svn: expected an integer from 0 to 4294967295, got 4294967296");
        /* Beyond 64 bits json-c saturates; still out of range. */
        parse_fails_prefix("{\"snp\": {\"min_guest_svn\": 99999999999999999999999}}",
                           "snp.min_guest_svn: expected an integer from 0 to 4294967295, got ");
        parse_fails("{\"snp\": {\"min_abi\": \"1\"}}",
                    "snp.min_abi: expected \"MAJOR.MINOR\" with each part a decimal number from 0 to 255");
        parse_fails("{\"snp\": {\"min_abi\": \"1.256\"}}",
                    "snp.min_abi: expected \"MAJOR.MINOR\" with each part a decimal number from 0 to 255");
        parse_fails("{\"snp\": {\"min_abi\": \"1.5.1\"}}",
                    "snp.min_abi: expected \"MAJOR.MINOR\" with each part a decimal number from 0 to 255");
        parse_fails("{\"snp\": {\"min_abi\": \" 1.5\"}}",
                    "snp.min_abi: expected \"MAJOR.MINOR\" with each part a decimal number from 0 to 255");
        parse_fails("{\"name\": \"\"}", "name: the name is empty");
        parse_fails("{\"name\": \"a\\nb\"}", "name: the name contains a control character");
}

static void test_parse_hex(void **state) {
        /* 62 digits: 31 bytes. */
        parse_fails("{\"snp\": {\"host_data\": \""
                    "01010101010101010101010101010101010101010101010101010101010101"
                    "\"}}",
                    "snp.host_data: expected 32 bytes (64 hex digits), got 31");
        parse_fails("{\"snp\": {\"host_data\": \"" HD "01\"}}",
                    "snp.host_data: expected 32 bytes (64 hex digits), got 33");
        parse_fails("{\"snp\": {\"host_data\": \""
                    "010"
                    "\"}}",
                    "snp.host_data: expected 32 bytes (64 hex digits), got 3 hex digits");
        parse_fails("{\"snp\": {\"host_data\": \"\"}}", "snp.host_data: expected 32 bytes (64 hex digits), got 0");
        parse_fails("{\"snp\": {\"host_data\": \"0x"
                    "0101010101010101010101010101010101010101010101010101010101"
                    "\"}}",
                    "snp.host_data: expected 32 bytes (64 hex digits), got a non-hex character at position 2");
        parse_fails("{\"snp\": {\"report_data\": \"" HD "\"}}",
                    "snp.report_data: expected 64 bytes (128 hex digits), got 32");
        parse_fails("{\"snp\": {\"measurements\": [\"" M1 "\", \"" HD "\"]}}",
                    "snp.measurements[1]: expected 48 bytes (96 hex digits), got 32");
        parse_fails("{\"snp\": {\"id_key_digests\": [\"" M1 "\", \"" M1 "\"]}}",
                    "snp.id_key_digests: " M1 " is listed more than once");
        parse_fails("{\"snp\": {\"trusted_simulator_arks\": [{\"product\": \"Milan\", \"spki_sha256\": \"" M1 "\"}]}}",
                    "snp.trusted_simulator_arks[0].spki_sha256: expected 32 bytes (64 hex digits), got 48");
}

static void test_parse_products(void **state) {
        parse_fails("{\"snp\": {\"products\": [\"Rome\"]}}",
                    "snp.products[0]: unknown product \"Rome\" (expected \"Milan\", \"Genoa\" or \"Turin\")");
        parse_fails("{\"snp\": {\"products\": [\"milan\"]}}",
                    "snp.products[0]: unknown product \"milan\" (expected \"Milan\", \"Genoa\" or \"Turin\")");
        parse_fails("{\"snp\": {\"products\": [\"Milan\", \"Milan\"]}}",
                    "snp.products[1]: \"Milan\" is listed more than once");
        parse_fails("{\"snp\": {\"trusted_simulator_arks\": [{\"spki_sha256\": \"" ARK_DIGEST "\"}]}}",
                    "snp.trusted_simulator_arks[0]: missing key \"product\"");
        parse_fails("{\"snp\": {\"trusted_simulator_arks\": [{\"product\": \"Turin\"}]}}",
                    "snp.trusted_simulator_arks[0]: missing key \"spki_sha256\"");
        /* an all-zero pin is a placeholder, refused as tdx and gpu do */
        parse_fails("{\"snp\": {\"trusted_simulator_arks\": [{\"product\": \"Milan\", \"spki_sha256\": "
                    "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}}",
                    "snp.trusted_simulator_arks[0].spki_sha256: an all-zero digest pins no key");
}

static void test_parse_not_object(void **state) {
        parse_fails("[]", "the policy must be a JSON object, got an array");
        parse_fails("null", "the policy must be a JSON object, got null");
        parse_fails("42", "the policy must be a JSON object, got an integer");
        parse_fails("\"snp\"", "the policy must be a JSON object, got a string");
}

static void test_parse_empty(void **state) {
        Policy *p = NULL;
        _cleanup_free_ char *reason = NULL;

        parse_fails_n("", 0, "the policy is empty");
        assert_int_equal(policy_parse(NULL, 0, &p, &reason), -EINVAL);
        assert_null(p);
        assert_string_equal(reason, "the policy is empty");
        parse_fails(" \n ", "invalid JSON at line 2, column 2 (byte 3): unexpected end of input");
}

static void test_parse_invalid_json(void **state) {
        parse_fails_prefix("{\"snp\": {\"allow_debug\": tru}}", "invalid JSON at line 1, column ");
        parse_fails_prefix("{\"snp\": {\"allow_debug\": true,}}", "invalid JSON at line 1, column ");
        parse_fails("{\n  \"snp\": {\n    \"allow_debug\": true\n",
                    "invalid JSON at line 4, column 1 (byte 37): unexpected end of input");
        parse_fails_prefix("{\n\"a\" 1}", "invalid JSON at line 2, column ");
        /* What json-c accepts even in strict mode, and RFC 8259 does not. */
        parse_fails("{'snp': {}}", "invalid JSON at line 1, column 2 (byte 1): single-quoted strings are not JSON");
        parse_fails("{\"snp\": {\"max_vmpl\": NaN}}",
                    "invalid JSON at line 1, column 22 (byte 21): unexpected character (not JSON)");
        parse_fails("{\"name\": \"a\tb\"}",
                    "invalid JSON at line 1, column 12 (byte 11): control character in a string (escape it)");
        parse_fails("{\"name\": \"a\\u0000b\"}",
                    "invalid JSON at line 1, column 12 (byte 11): \\u0000 (NUL) is not allowed in strings");
        /* A key with an escaped NUL would be truncated by json-c to "snp". */
        parse_fails("{\"snp\\u0000x\": {}}",
                    "invalid JSON at line 1, column 6 (byte 5): \\u0000 (NUL) is not allowed in strings");
        parse_fails("{\"name\": \"\\ud800\"}",
                    "invalid JSON at line 1, column 11 (byte 10): unpaired high surrogate in a \\u escape");
        parse_fails_prefix("{\"name\": \"\xff\"}", "invalid JSON at line 1, column ");
        /* Overlong UTF-8 ("C0 AF" spells '/'), a surrogate and a code point past U+10FFFF: json-c's
         * own check lets some through; two spellings of one character must never both pass. */
        parse_fails("{\"name\": \"a\xc0\xaf" "b\"}",
                    "invalid JSON at line 1, column 12 (byte 11): invalid UTF-8 in a string (overlong form, surrogate "
                    "or malformed sequence)");
        parse_fails_prefix("{\"name\": \"\xe0\x80\xaf\"}", "invalid JSON at line 1, column 11 ");
        parse_fails_prefix("{\"name\": \"\xed\xa0\x80\"}", "invalid JSON at line 1, column 11 ");
        parse_fails_prefix("{\"name\": \"\xf4\x90\x80\x80\"}", "invalid JSON at line 1, column 11 ");
        parse_fails_prefix("{\"na\xc0\xafme\": 1}", "invalid JSON at line 1, column 5 ");
        /* well-formed multi-byte UTF-8 still parses */
        policy_free(parse_ok("{\"name\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x92\"}"));
        parse_fails(
                "\xef\xbb\xbf{}",
                "invalid JSON at line 1, column 1 (byte 0): byte order mark (save the file as UTF-8 without a BOM)");
        parse_fails_prefix("{\"snp\": {\"max_vmpl\": 01}}", "invalid JSON at line 1, column ");
        parse_fails_prefix("/* comment */ {}", "invalid JSON at line 1, column 1 ");
}

static void test_parse_trailing(void **state) {
        parse_fails_prefix("{} x", "invalid JSON at line 1, column 4 ");
        parse_fails_prefix("{}{}", "invalid JSON at line 1, column 3 ");
        parse_fails_prefix("{}\n]", "invalid JSON at line 2, column 1 ");
        /* Trailing whitespace is fine. */
        policy_free(parse_ok("{}\n\n  \t\r\n"));
}

static void test_parse_nul(void **state) {
        static const char with_nul[] = "{\"snp\": {}}\0 {\"x\": 1}";

        parse_fails_n(with_nul, sizeof(with_nul) - 1, "invalid JSON at line 1, column 12 (byte 11): NUL byte");
        parse_fails_n("{\"name\": \"a\0b\"}", 15, "invalid JSON at line 1, column 12 (byte 11): NUL byte");
}

static void test_parse_duplicates(void **state) {
        parse_fails("{\"snp\": {\"allow_debug\": false, \"allow_debug\": true}}",
                    "snp.allow_debug: duplicate key (again at line 1, column 32)");
        /* The same key, spelled with an escape. */
        parse_fails("{\"snp\": {\"allow_debug\": false, \"allow\\u005fdebug\": true}}",
                    "snp.allow_debug: duplicate key (again at line 1, column 32)");
        /* A whole section given twice: json-c would silently keep only the second. */
        parse_fails("{\n\"snp\": {\"allow_debug\": false},\n\"snp\": {\"allow_debug\": true}\n}",
                    "snp: duplicate key (again at line 3, column 1)");
        parse_fails("{\"snp\": {\"trusted_simulator_arks\": [{\"product\": \"Milan\", \"product\": \"Genoa\"}]}}",
                    "snp.trusted_simulator_arks[0].product: duplicate key (again at line 1, column 58)");
        /* Duplicates inside unknown structures are found too (before the unknown key). */
        parse_fails("{\"x\": {\"a\": 1, \"a\": 2}}", "x.a: duplicate key (again at line 1, column 16)");
}

static void test_parse_limits(void **state) {
        _cleanup_free_ char *big = NULL, *deep = NULL, *reason = NULL;
        Policy *p = NULL;
        size_t n = POLICY_SIZE_MAX + 1;

        big = malloc(n);
        assert_non_null(big);
        memset(big, ' ', n);
        big[0] = '{';
        big[n - 1] = '}';
        assert_int_equal(policy_parse(big, n, &p, &reason), -EFBIG);
        assert_null(p);
        assert_non_null(reason);

        /* Nesting deeper than any policy needs. */
        deep = malloc(201);
        assert_non_null(deep);
        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        deep[200] = '\0';
        parse_fails_prefix(deep, "invalid JSON at line 1, column ");

        /* A NULL ret_reason is fine. */
        assert_int_equal(policy_parse("{\"x\": 1}", 8, &p, NULL), -EINVAL);
        assert_null(p);
}

/* ---- parsing: defaults and values ---- */

static void assert_snp_defaults(const PolicySnp *s) {
        assert_false(s->measurements.set);
        assert_false(s->allow_debug);
        assert_true(s->allow_smt);
        assert_false(s->allow_migration_agent);
        assert_false(s->require_single_socket);
        assert_int_equal(s->max_vmpl, 3);
        assert_int_equal(s->min_tcb.fmc, -1);
        assert_int_equal(s->min_tcb.bl, -1);
        assert_int_equal(s->min_tcb.tee, -1);
        assert_int_equal(s->min_tcb.snp, -1);
        assert_int_equal(s->min_tcb.ucode, -1);
        assert_int_equal(s->min_report_version, 0);
        assert_false(s->products_set);
        assert_true(s->allow_vlek);
        assert_false(s->id_key_digests.set);
        assert_false(s->author_key_digests.set);
        assert_false(s->host_data_set);
        assert_false(s->report_data_set);
        assert_true(s->require_crl); /* revocation is checked unless a policy says not */
        assert_false(s->min_guest_svn_set);
        assert_false(s->min_abi_set);
        assert_int_equal(s->n_simulator_arks, 0);
}

static void test_defaults(void **state) {
        _cleanup_(policy_freep) Policy *empty = parse_ok("{}");
        _cleanup_(policy_freep) Policy *snp = parse_ok("{\"name\": \"x\", \"snp\": {}}");

        assert_null(empty->name);
        assert_null(empty->description);
        assert_false(policy_has_snp(empty));
        assert_snp_defaults(&empty->snp);

        assert_string_equal(snp->name, "x");
        assert_true(policy_has_snp(snp));
        assert_snp_defaults(&snp->snp);
        assert_true(policy_snp_requires_crl(snp));
        assert_false(policy_has_snp(NULL));
        assert_true(policy_snp_requires_crl(NULL));
}

static void test_full_policy(void **state) {
        _cleanup_(policy_freep) Policy *p = parse_ok(full_policy);
        const PolicySnp *s = &p->snp;
        uint8_t m1[48], m2[48];

        memset(m1, 0xaa, sizeof(m1));
        memset(m2, 0xbb, sizeof(m2));
        assert_string_equal(p->name, "prod-milan");
        assert_string_equal(p->description, "every rule set\nsecond line");
        assert_true(policy_has_snp(p));
        assert_true(s->measurements.set);
        assert_int_equal(s->measurements.n, 2);
        assert_memory_equal(s->measurements.items, m1, 48);
        assert_memory_equal(s->measurements.items + 48, m2, 48);
        assert_int_equal(s->max_vmpl, 0);
        assert_int_equal(s->min_tcb.bl, 4);
        assert_int_equal(s->min_tcb.ucode, 219);
        assert_int_equal(s->min_tcb.fmc, -1);
        assert_int_equal(s->min_report_version, 3);
        assert_true(s->products_set);
        assert_true(s->products[SNP_PRODUCT_MILAN]);
        assert_true(s->products[SNP_PRODUCT_GENOA]);
        assert_false(s->products[SNP_PRODUCT_TURIN]);
        assert_false(s->allow_vlek);
        assert_true(s->host_data_set);
        assert_int_equal(s->host_data[31], 0x01);
        assert_true(s->report_data_set);
        assert_int_equal(s->report_data[63], 0x02);
        assert_true(s->require_crl);
        assert_true(policy_snp_requires_crl(p));
        assert_int_equal(s->min_guest_svn, 7);
        assert_int_equal(s->min_abi_major, 1);
        assert_int_equal(s->min_abi_minor, 51);
        assert_int_equal(s->n_simulator_arks, 1);

        /* Upper-case hex is the same value. */
        {
                _cleanup_(policy_freep) Policy *q =
                        parse_ok("{\"snp\": {\"host_data\": \"ABCDEF"
                                 "0101010101010101010101010101010101010101010101010101010101"
                                 "\"}}");
                assert_int_equal(q->snp.host_data[0], 0xab);
        }
}

/* ---- policy_load ---- */

static void test_load(void **state) {
        char path[] = "/tmp/test-policy-XXXXXX";
        _cleanup_free_ char *reason = NULL, *want = NULL;
        Policy *p = NULL;
        int fd;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, full_policy, strlen(full_policy)), (ssize_t) strlen(full_policy));
        assert_int_equal(close(fd), 0);
        assert_int_equal(policy_load(path, &p, &reason), 0);
        assert_null(reason);
        assert_non_null(p);
        assert_string_equal(p->name, "prod-milan");
        p = policy_free(p);

        /* Errors name the file. */
        assert_int_equal(write_file_atomic(path, "{\"snp\": {\"alow_debug\": true}}", 29, 0600), 0);
        assert_int_equal(policy_load(path, &p, &reason), -EINVAL);
        assert_null(p);
        want = strdup_printf("%s: snp.alow_debug: unknown key", path);
        assert_string_equal(reason, want);
        reason = mfree_str(reason);
        want = mfree_str(want);

        assert_int_equal(write_file_atomic(path, "{\n\"snp\": {\n", 11, 0600), 0);
        assert_int_equal(policy_load(path, &p, &reason), -EINVAL);
        want = strdup_printf("%s: invalid JSON at line 3, column 1 (byte 11): unexpected end of input", path);
        assert_string_equal(reason, want);
        reason = mfree_str(reason);
        want = mfree_str(want);

        assert_int_equal(unlink(path), 0);
        assert_true(policy_load(path, &p, &reason) == -ENOENT);
        assert_null(p);
        want = strdup_printf("%s: cannot read: %s", path, strerror(ENOENT));
        assert_string_equal(reason, want);
}

/* ---- anchors ---- */

static void test_anchors(void **state) {
        _cleanup_(policy_freep) Policy *p = parse_ok(full_policy);
        _cleanup_(policy_freep) Policy *plain = parse_ok("{\"snp\": {}}");
        _cleanup_free_ SnpAnchor *a = NULL, *b = NULL, *c = NULL;
        const SnpAnchor *builtin;
        size_t n_builtin, n;
        uint8_t want[32];

        builtin = snp_builtin_anchors(&n_builtin);
        assert_true(n_builtin >= 1);

        assert_int_equal(policy_snp_anchors(NULL, &a, &n), 0);
        assert_int_equal(n, n_builtin);
        assert_memory_equal(a, builtin, n_builtin * sizeof(SnpAnchor));

        assert_int_equal(policy_snp_anchors(plain, &b, &n), 0);
        assert_int_equal(n, n_builtin);

        assert_int_equal(policy_snp_anchors(p, &c, &n), 0);
        assert_int_equal(n, n_builtin + 1);
        assert_memory_equal(c, builtin, n_builtin * sizeof(SnpAnchor));
        assert_int_equal(c[n_builtin].product, SNP_PRODUCT_MILAN);
        assert_string_equal(c[n_builtin].label, "policy simulator ARK-Milan");
        assert_int_equal(hex_decode_exact(ARK_DIGEST, want, sizeof(want)), 0);
        assert_memory_equal(c[n_builtin].spki_sha256, want, 32);
}

/* ---- evaluation ---- */

static void test_eval_passes(void **state) {
        NO_DENIAL(full_policy, );
        NO_DENIAL("{\"snp\": {}}", );
        NO_DENIAL(NULL, );
        /* Everything the defaults allow. */
        NO_DENIAL("{\"snp\": {}}", {
                r->vmpl = 3;
                a->signing_key = SNP_SIGNING_KEY_VLEK;
                a->product_known = false;
                r->key_info = 0x4;
                r->version = 2;
        });
}

/* go-sev-guest's attestation.bin: POLICY 0xb0000, a debug guest. */
static void test_eval_debug(void **state) {
        static const char want[] = "policy.snp.allow_debug: guest POLICY 0xb0000 has DEBUG (bit 19) set, and the "
                                   "policy forbids debug guests";

        ONE_DENIAL("{\"snp\": {}}", r->policy = 0xb0000, want);
        ONE_DENIAL("{\"snp\": {\"allow_debug\": false}}", r->policy = 0xb0000, want);
        ONE_DENIAL(NULL, r->policy = 0xb0000, want);
        NO_DENIAL("{\"snp\": {\"allow_debug\": true}}", r->policy = 0xb0000);
}

static void test_eval_smt(void **state) {
        _cleanup_(verdict_done) Verdict v = {};
        SnpAppraisal app;

        base_appraisal(&app);
        evaluate("{\"snp\": {\"allow_smt\": false}}", &app, &v);
        assert_int_equal(v.n_reasons, 2);
        assert_string_equal(v.reasons[0], "policy.snp.allow_smt: guest POLICY 0x30133 has SMT (bit 16) set, and the "
                                          "policy forbids SMT");
        assert_string_equal(v.reasons[1], "policy.snp.allow_smt: PLATFORM_INFO 0x1 has SMT_EN (bit 0) set (the host "
                                          "runs with SMT enabled), and the policy forbids SMT");

        ONE_DENIAL("{\"snp\": {\"allow_smt\": false}}", r->policy &= ~SNP_POLICY_SMT,
                   "policy.snp.allow_smt: PLATFORM_INFO 0x1 has SMT_EN (bit 0) set (the host runs with SMT "
                   "enabled), and the policy forbids SMT");
        NO_DENIAL("{\"snp\": {\"allow_smt\": false}}", {
                r->policy &= ~SNP_POLICY_SMT;
                r->platform_info = 0x24;
        });
}

static void test_eval_migration_agent(void **state) {
        ONE_DENIAL("{\"snp\": {}}", r->policy |= SNP_POLICY_MIGRATE_MA,
                   "policy.snp.allow_migration_agent: guest POLICY 0x70133 has MIGRATE_MA (bit 18) set, and the "
                   "policy forbids migration agents");
        NO_DENIAL("{\"snp\": {\"allow_migration_agent\": true}}", r->policy |= SNP_POLICY_MIGRATE_MA);
}

static void test_eval_single_socket(void **state) {
        ONE_DENIAL("{\"snp\": {\"require_single_socket\": true}}", ,
                   "policy.snp.require_single_socket: guest POLICY 0x30133 has SINGLE_SOCKET (bit 20) clear, and "
                   "the policy requires single-socket guests");
        NO_DENIAL("{\"snp\": {\"require_single_socket\": true}}", r->policy |= SNP_POLICY_SINGLE_SOCKET);
}

static void test_eval_vmpl(void **state) {
        ONE_DENIAL("{\"snp\": {\"max_vmpl\": 0}}", r->vmpl = 2, "policy.snp.max_vmpl: VMPL 2 is above the maximum 0");
        ONE_DENIAL("{\"snp\": {\"max_vmpl\": 1}}", r->vmpl = 2, "policy.snp.max_vmpl: VMPL 2 is above the maximum 1");
        NO_DENIAL("{\"snp\": {\"max_vmpl\": 2}}", r->vmpl = 2);
        /* A VMPL beyond 3 (not produced by real firmware) is above the default too. */
        ONE_DENIAL("{\"snp\": {}}", r->vmpl = 4, "policy.snp.max_vmpl: VMPL 4 is above the maximum 3");
}

static void test_eval_min_tcb(void **state) {
        ONE_DENIAL("{\"snp\": {\"min_tcb\": {\"ucode\": 220}}}", ,
                   "policy.snp.min_tcb.ucode: REPORTED_TCB ucode 219 is below the minimum 220");
        ONE_DENIAL("{\"snp\": {\"min_tcb\": {\"ucode\": 200}}}", r->reported_tcb.ucode = 115,
                   "policy.snp.min_tcb.ucode: REPORTED_TCB ucode 115 is below the minimum 200");
        ONE_DENIAL("{\"snp\": {\"min_tcb\": {\"bl\": 5}}}", ,
                   "policy.snp.min_tcb.bl: REPORTED_TCB bl 4 is below the minimum 5");
        ONE_DENIAL("{\"snp\": {\"min_tcb\": {\"tee\": 1}}}", ,
                   "policy.snp.min_tcb.tee: REPORTED_TCB tee 0 is below the minimum 1");
        ONE_DENIAL("{\"snp\": {\"min_tcb\": {\"snp\": 25}}}", ,
                   "policy.snp.min_tcb.snp: REPORTED_TCB snp 24 is below the minimum 25");
        /* CURRENT_TCB above the minimum does not help: REPORTED_TCB is what the VCEK attests. */
        ONE_DENIAL("{\"snp\": {\"min_tcb\": {\"ucode\": 220}}}", r->current_tcb.ucode = 230,
                   "policy.snp.min_tcb.ucode: REPORTED_TCB ucode 219 is below the minimum 220");
        /* fmc exists only in the Turin layout. */
        ONE_DENIAL("{\"snp\": {\"min_tcb\": {\"fmc\": 0}}}", ,
                   "policy.snp.min_tcb.fmc: REPORTED_TCB has no fmc component (it uses the Milan/Genoa layout), and "
                   "the policy requires fmc 0 or later");
        ONE_DENIAL(
                "{\"snp\": {\"min_tcb\": {\"fmc\": 2}}}",
                {
                        r->reported_tcb.turin = true;
                        r->reported_tcb.fmc = 1;
                },
                "policy.snp.min_tcb.fmc: REPORTED_TCB fmc 1 is below the minimum 2");
        NO_DENIAL("{\"snp\": {\"min_tcb\": {\"fmc\": 1, \"bl\": 1, \"tee\": 0, \"snp\": 2, \"ucode\": 71}}}", {
                r->reported_tcb = ((SnpTcb) { .raw = { 0x01, 0x01, 0x00, 0x02, 0, 0, 0, 0x47 },
                                              .turin = true,
                                              .fmc = 1,
                                              .bl = 1,
                                              .tee = 0,
                                              .snp = 2,
                                              .ucode = 71 });
        });
        /* Several components: one reason each. */
        {
                _cleanup_(verdict_done) Verdict v = {};
                SnpAppraisal a;

                base_appraisal(&a);
                evaluate("{\"snp\": {\"min_tcb\": {\"bl\": 9, \"ucode\": 255}}}", &a, &v);
                assert_int_equal(v.n_reasons, 2);
                assert_string_equal(v.reasons[0], "policy.snp.min_tcb.bl: REPORTED_TCB bl 4 is below the minimum 9");
                assert_string_equal(v.reasons[1],
                                    "policy.snp.min_tcb.ucode: REPORTED_TCB ucode 219 is below the minimum 255");
        }
}

static void test_eval_report_version(void **state) {
        ONE_DENIAL("{\"snp\": {\"min_report_version\": 3}}", r->version = 2,
                   "policy.snp.min_report_version: report VERSION 2 is below the minimum 3");
        NO_DENIAL("{\"snp\": {\"min_report_version\": 3}}", r->version = 5);
}

static void test_eval_products(void **state) {
        ONE_DENIAL("{\"snp\": {\"products\": [\"Genoa\", \"Turin\"]}}", ,
                   "policy.snp.products: product Milan is not one the policy accepts (Genoa, Turin)");
        ONE_DENIAL("{\"snp\": {\"products\": [\"Milan\"]}}", a->product_known = false,
                   "policy.snp.products: the product that made the report could not be determined, and the policy "
                   "accepts only: Milan");
        ONE_DENIAL("{\"snp\": {\"products\": []}}", ,
                   "policy.snp.products: product Milan is not one the policy accepts (none)");
        NO_DENIAL("{\"snp\": {\"products\": [\"Turin\", \"Milan\"]}}", );
}

static void test_eval_vlek(void **state) {
        ONE_DENIAL(
                "{\"snp\": {\"allow_vlek\": false}}",
                {
                        a->signing_key = SNP_SIGNING_KEY_VLEK;
                        r->key_info = 0x4;
                },
                "policy.snp.allow_vlek: the report is signed by a VLEK (KEY_INFO 0x4, SIGNING_KEY 1), and the policy "
                "accepts only VCEK-signed reports");
        NO_DENIAL("{\"snp\": {\"allow_vlek\": false}}", );
        NO_DENIAL("{\"snp\": {}}", a->signing_key = SNP_SIGNING_KEY_VLEK);
}

static void test_eval_measurements(void **state) {
        ONE_DENIAL("{\"snp\": {\"measurements\": [\"" M2 "\"]}}", ,
                   "policy.snp.measurements: MEASUREMENT " M1 " is not among the 1 the policy allows");
        ONE_DENIAL("{\"snp\": {\"measurements\": []}}", ,
                   "policy.snp.measurements: MEASUREMENT " M1 " is not allowed: the policy's list is empty, so it "
                   "allows none");
        NO_DENIAL("{\"snp\": {\"measurements\": [\"" M2 "\", \"" M1 "\"]}}", );
        /* Hex case does not matter. */
        NO_DENIAL("{\"snp\": {\"measurements\": "
                  "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                  "\"]}}", );
}

static void test_eval_id_key(void **state) {
        ONE_DENIAL("{\"snp\": {\"id_key_digests\": [\"" M2 "\"]}}", ,
                   "policy.snp.id_key_digests: ID_KEY_DIGEST " M1 " is not among the 1 the policy allows");
        ONE_DENIAL("{\"snp\": {\"id_key_digests\": [\"" M2 "\"]}}", memset(r->id_key_digest, 0, 48),
                   "policy.snp.id_key_digests: the guest was launched without an ID block (ID_KEY_DIGEST is all "
                   "zero), and the policy requires an ID key it lists");
        NO_DENIAL("{\"snp\": {}}", memset(r->id_key_digest, 0, 48));
}

static void test_eval_author_key(void **state) {
        ONE_DENIAL("{\"snp\": {\"author_key_digests\": [\"" M1 "\"]}}", ,
                   "policy.snp.author_key_digests: AUTHOR_KEY_DIGEST " M2 " is not among the 1 the policy allows");
        ONE_DENIAL(
                "{\"snp\": {\"author_key_digests\": [\"" M2 "\"]}}",
                {
                        r->key_info = 0;
                        memset(r->author_key_digest, 0, 48);
                },
                "policy.snp.author_key_digests: the report has no author key (KEY_INFO 0x0 has AUTHOR_KEY_EN (bit 0) "
                "clear), and the policy requires an author key it lists");
        /* A digest that matches but with AUTHOR_KEY_EN clear is still no author key. */
        ONE_DENIAL("{\"snp\": {\"author_key_digests\": [\"" M2 "\"]}}", r->key_info = 0,
                   "policy.snp.author_key_digests: the report has no author key (KEY_INFO 0x0 has AUTHOR_KEY_EN (bit "
                   "0) clear), and the policy requires an author key it lists");
        NO_DENIAL("{\"snp\": {}}", r->key_info = 0);
}

static void test_eval_host_and_report_data(void **state) {
        ONE_DENIAL("{\"snp\": {\"host_data\": \"" HD "\"}}", r->host_data[31] = 0x09,
                   "policy.snp.host_data: HOST_DATA 0101010101010101010101010101010101010101010101010101010101010109 "
                   "differs from the policy's " HD);
        ONE_DENIAL("{\"snp\": {\"report_data\": \"" RD "\"}}", r->report_data[0] = 0x00,
                   "policy.snp.report_data: REPORT_DATA "
                   "0002020202020202020202020202020202020202020202020202020202020202"
                   "0202020202020202020202020202020202020202020202020202020202020202 differs from the policy's " RD);
}

static void test_eval_crl(void **state) {
        ONE_DENIAL("{\"snp\": {\"require_crl\": true}}", a->crl_checked = false,
                   "policy.snp.require_crl: the certificate chain was not checked against a CRL, and the policy "
                   "requires one");
        NO_DENIAL("{\"snp\": {\"require_crl\": false}}", a->crl_checked = false);
}

/* snp.max_crl_age_sec: the CRL's thisUpdate against the verification time. */
static void test_eval_crl_age(void **state) {
        _cleanup_(policy_freep) Policy *p = parse_ok("{\"snp\": {\"max_crl_age_sec\": 86400}}");
        _cleanup_(policy_freep) Policy *none = parse_ok("{\"snp\": {}}");
        _cleanup_(verdict_done) Verdict v = {}, fresh = {}, unlimited = {}, unchecked = {};
        SnpAppraisal a;
        int64_t at = 1700000000;

        assert_int_equal(p->snp.max_crl_age_sec, 86400);
        assert_int_equal(none->snp.max_crl_age_sec, 0);
        parse_fails("{\"snp\": {\"max_crl_age_sec\": 0}}",
                    "snp.max_crl_age_sec: expected an integer from 1 to 315360000, got 0");
        base_appraisal(&a);
        a.crl_checked = true;
        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        assert_int_equal(verdict_init(&fresh, "sev-snp"), 0);
        assert_int_equal(verdict_init(&unlimited, "sev-snp"), 0);
        assert_int_equal(verdict_init(&unchecked, "sev-snp"), 0);
        policy_evaluate_snp_crl_age(p, &a, at - 2 * 86400, at, &v);
        assert_int_equal(v.n_reasons, 1);
        assert_string_equal(v.reasons[0], "policy.snp.max_crl_age_sec: the CRL was issued 2023-11-12T22:13:20Z, 172800 s "
                                          "before the verification, more than the 86400 s the policy allows");
        policy_evaluate_snp_crl_age(p, &a, at - 3600, at, &fresh);
        assert_int_equal(fresh.n_reasons, 0);
        policy_evaluate_snp_crl_age(none, &a, at - 100 * 86400, at, &unlimited);
        assert_int_equal(unlimited.n_reasons, 0);
        a.crl_checked = false; /* require_crl speaks for that */
        policy_evaluate_snp_crl_age(p, &a, at - 2 * 86400, at, &unchecked);
        assert_int_equal(unchecked.n_reasons, 0);
}

static void test_eval_guest_svn(void **state) {
        ONE_DENIAL("{\"snp\": {\"min_guest_svn\": 8}}", ,
                   "policy.snp.min_guest_svn: GUEST_SVN 7 is below the minimum 8");
        NO_DENIAL("{\"snp\": {\"min_guest_svn\": 7}}", );
}

static void test_eval_min_abi(void **state) {
        ONE_DENIAL("{\"snp\": {\"min_abi\": \"1.52\"}}", ,
                   "policy.snp.min_abi: guest POLICY 0x30133 asks for firmware ABI 1.51 or later, below the minimum "
                   "1.52");
        ONE_DENIAL(
                "{\"snp\": {\"min_abi\": \"0.1\"}}", r->policy = 0x30000,
                "policy.snp.min_abi: guest POLICY 0x30000 asks for firmware ABI 0.0 or later, below the minimum 0.1");
        NO_DENIAL("{\"snp\": {\"min_abi\": \"1.51\"}}", );
        NO_DENIAL("{\"snp\": {\"min_abi\": \"0.255\"}}", );
}

static void test_eval_no_section_or_report(void **state) {
        ONE_DENIAL("{\"name\": \"tdx-only\"}", ,
                   "policy.snp: the policy \"tdx-only\" has no \"snp\" section, so it accepts no SEV-SNP evidence");
        ONE_DENIAL("{}", , "policy.snp: the policy has no \"snp\" section, so it accepts no SEV-SNP evidence");
        ONE_DENIAL("{\"snp\": {}}", a->parsed = false,
                   "policy.snp: the report could not be parsed, so no policy rule can be evaluated");
}

static void test_eval_accumulates(void **state) {
        _cleanup_(verdict_done) Verdict v = {};
        SnpAppraisal a;

        base_appraisal(&a);
        a.report.policy = 0xb0000;
        a.report.vmpl = 1;
        a.crl_checked = false;
        evaluate(full_policy, &a, &v);
        assert_int_equal(v.n_reasons, 4);
        assert_string_equal(v.reasons[0], "policy.snp.allow_debug: guest POLICY 0xb0000 has DEBUG (bit 19) set, and "
                                          "the policy forbids debug guests");
        assert_string_equal(v.reasons[1], "policy.snp.max_vmpl: VMPL 1 is above the maximum 0");
        assert_string_equal(v.reasons[2], "policy.snp.require_crl: the certificate chain was not checked against a "
                                          "CRL, and the policy requires one");
        assert_string_equal(v.reasons[3], "policy.snp.min_abi: guest POLICY 0xb0000 asks for firmware ABI 0.0 or "
                                          "later, below the minimum 1.51");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_failure_action),
                cmocka_unit_test(test_parse_unknown_keys),
                cmocka_unit_test(test_parse_unknown_sections),
                cmocka_unit_test(test_parse_wrong_types),
                cmocka_unit_test(test_parse_ranges),
                cmocka_unit_test(test_parse_hex),
                cmocka_unit_test(test_parse_products),
                cmocka_unit_test(test_parse_not_object),
                cmocka_unit_test(test_parse_empty),
                cmocka_unit_test(test_parse_invalid_json),
                cmocka_unit_test(test_parse_trailing),
                cmocka_unit_test(test_parse_nul),
                cmocka_unit_test(test_parse_duplicates),
                cmocka_unit_test(test_parse_limits),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_full_policy),
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_anchors),
                cmocka_unit_test(test_eval_passes),
                cmocka_unit_test(test_eval_debug),
                cmocka_unit_test(test_eval_smt),
                cmocka_unit_test(test_eval_migration_agent),
                cmocka_unit_test(test_eval_single_socket),
                cmocka_unit_test(test_eval_vmpl),
                cmocka_unit_test(test_eval_min_tcb),
                cmocka_unit_test(test_eval_report_version),
                cmocka_unit_test(test_eval_products),
                cmocka_unit_test(test_eval_vlek),
                cmocka_unit_test(test_eval_measurements),
                cmocka_unit_test(test_eval_id_key),
                cmocka_unit_test(test_eval_author_key),
                cmocka_unit_test(test_eval_host_and_report_data),
                cmocka_unit_test(test_eval_crl),
                cmocka_unit_test(test_eval_crl_age),
                cmocka_unit_test(test_eval_guest_svn),
                cmocka_unit_test(test_eval_min_abi),
                cmocka_unit_test(test_eval_no_section_or_report),
                cmocka_unit_test(test_eval_accumulates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
