/* SPDX-License-Identifier: Apache-2.0 */
/* The checks a launch makes before any domain exists (src/engine/launch-checks.c): the policy
 * is the one the spec names, SEV-SNP launch parameters the policy would refuse in every report,
 * and every key in the key store with a KEK that opens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/key-fixture.h"
#include "../common/test-dir.h"
#include "cvm/launch-checks.h"
#include "cvm/util.h"

static LaunchSpec *spec_with(const char *tee, const char *policy_name, const char *security) {
        char json[1024];
        LaunchSpec *s = NULL;
        char *why = NULL;

        snprintf(json, sizeof(json),
                 "{\"name\":\"job\",\"tee\":\"%s\",\"vcpus\":2,\"memory_mib\":1024,\"boot\":{\"disk\":\"/d\"},"
                 "\"policy\":\"%s\",\"key_ids\":[\"k1\"]%s%s}",
                 tee, policy_name, security ? ",\"launch_security\":" : "", security ? security : "");
        if (launch_spec_parse(json, strlen(json), &s, &why) < 0)
                fail_msg("spec: %s", why);
        return s;
}

static Policy *policy_of(const char *json) {
        Policy *p = NULL;
        char *why = NULL;

        if (policy_parse(json, strlen(json), &p, &why) < 0)
                fail_msg("policy: %s", why);
        return p;
}

/* The check's verdict: 0, or its reason (which must contain want). */
static void expect(const LaunchSpec *s, const Policy *p, const char *want) {
        _cleanup_free_ char *why = NULL;
        int r = launch_check_policy(s, p, &why);

        if (!want) {
                if (r < 0)
                        fail_msg("refused: %s", why);
                return;
        }
        assert_int_equal(r, -EINVAL);
        assert_non_null(why);
        if (!strstr(why, want))
                fail_msg("reason \"%s\" lacks \"%s\"", why, want);
}

static void test_policy_name(void **state) {
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec_with("sev-snp", "h100-production", NULL);
        _cleanup_(policy_freep) Policy *dev = policy_of("{\"name\": \"dev\"}");
        _cleanup_(policy_freep) Policy *unnamed = policy_of("{}");
        _cleanup_(policy_freep) Policy *same = policy_of("{\"name\": \"h100-production\"}");

        expect(s, dev, "the spec names policy 'h100-production', the policy given is 'dev'");
        expect(s, unnamed, "has no \"name\"");
        expect(s, same, NULL);
}

static void test_snp_launch_parameters(void **state) {
        _cleanup_(launch_spec_freep) LaunchSpec *plain = spec_with("sev-snp", "p", NULL);
        _cleanup_(launch_spec_freep) LaunchSpec *debug = spec_with("sev-snp", "p", "{\"policy\":\"0xb0000\"}");
        _cleanup_(launch_spec_freep) LaunchSpec *vlek = spec_with("sev-snp", "p", "{\"vcek\":false}");
        _cleanup_(launch_spec_freep) LaunchSpec *tdx = spec_with("tdx", "p", NULL);
        _cleanup_(policy_freep) Policy *defaults = policy_of("{\"name\": \"p\"}");
        _cleanup_(policy_freep) Policy *no_smt = policy_of("{\"name\": \"p\", \"snp\": {\"allow_smt\": false}}");
        _cleanup_(policy_freep) Policy *no_vlek = policy_of("{\"name\": \"p\", \"snp\": {\"allow_vlek\": false}}");
        _cleanup_(policy_freep) Policy *debug_ok = policy_of("{\"name\": \"p\", \"snp\": {\"allow_debug\": true}}");
        _cleanup_(policy_freep) Policy *id_key = policy_of(
                "{\"name\": \"p\", \"snp\": {\"id_key_digests\": [\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677"
                "8899aabbccddeeff\"]}}");

        expect(plain, defaults, NULL);
        expect(debug, defaults, "allows debugging");
        expect(debug, debug_ok, NULL);
        expect(plain, no_smt, "snp.allow_smt");
        expect(vlek, defaults, NULL);
        expect(vlek, no_vlek, "snp.allow_vlek");
        expect(plain, id_key, "snp.id_key_digests");
        /* the SNP rules say nothing of a TDX launch */
        expect(tdx, no_smt, NULL);
}

static void test_keys(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *why = NULL, *keys = strdup_printf("%s/keys", dir), *kek = strdup_printf("%s/kek.bin", dir);
        char *ids[] = { "k1", "missing" };

        assert_int_equal(key_fixture_wrap(dir, keys, "k1"), 0);
        assert_int_equal(launch_check_keys(keys, ids, 1, &why), 0);
        assert_int_equal(launch_check_keys(keys, ids, 2, &why), -ENOENT);
        assert_non_null(strstr(why, "key 'missing' is not in the key store"));
        /* the KEK gone: refused before anything is unwrapped */
        free(why), why = NULL;
        assert_int_equal(unlink(kek), 0);
        assert_true(launch_check_keys(keys, ids, 1, &why) < 0);
        assert_non_null(strstr(why, "its KEK cannot be opened"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_policy_name),
                cmocka_unit_test(test_snp_launch_parameters),
                cmocka_unit_test_setup_teardown(test_keys, test_dir_setup, test_dir_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
