/* SPDX-License-Identifier: Apache-2.0 */
/* The agent trusts only the releaser bound at its launch, with the real agent session
 * (agent_session_serve) in a child and the real host exchange here, over a socketpair: the bound
 * releaser gets the key installed before the Ack; a releaser whose key is not the one in the
 * guest's HOST_DATA gets neither evidence nor keys; a host that names the bound key but cannot
 * seal with it (HPKE auth mode) gets no confirmation; a failed installation is reported to the
 * host as such, never confirmed; the agent's own report decides, not the host's word. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../src/agent/agent.h"
#include "../common/exchange-fixture.h"
#include "cvm/appraise.h"
#include "cvm/crypto.h"
#include "cvm/exchange.h"
#include "cvm/hpke.h"
#include "cvm/token.h"
#include "cvm/util.h"

#define AGENT_CONCLUDED 30 /* exit code offset: the agent's session reached the host's decision */

static char sim_dir[] = "/tmp/cvmd-test-agent-auth-XXXXXX";
static char keys_dir[] = "/dev/shm/cvmd-test-agent-auth-keys-XXXXXX";
static char snp_dir[sizeof(sim_dir) + 8];
static char ark_digest[65];

static int setup(void **state) {
        assert_non_null(mkdtemp(sim_dir));
        assert_non_null(mkdtemp(keys_dir));
        snprintf(snp_dir, sizeof(snp_dir), "%s/snp", sim_dir);
        exchange_fixture_snp_sim(snp_dir, ark_digest);
        exchange_fixture_set_data_key(0xC0);
        return 0;
}

static int teardown(void **state) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", sim_dir, keys_dir);
        return system(cmd) == 0 ? 0 : -1;
}

typedef struct AgentSide {
        const char *keys_dir;
} AgentSide;

/* The real session, as cvm-agent runs it: exit code = 0/1 (keys installed and confirmed or not)
 * + AGENT_CONCLUDED when the exchange reached the host's decision (bound releasers only). */
static int run_real_agent(int fd, void *userdata) {
        const AgentSide *a = userdata;
        AgentConfig c = { .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .keys_dir = a->keys_dir,
                          .timeout_usec = 5000000 };
        bool concluded = false;
        int r;

        exchange_fixture_bind_agent(&c);
        r = agent_session_serve(&c, fd, &concluded, NULL);
        return (r >= 0 ? 0 : 1) + (concluded ? AGENT_CONCLUDED : 0);
}

/* One exchange from a host holding `releaser`, to the agent bound to the fixture's releaser. */
static void exchange(const ReleaserKey *releaser, const char *agent_keys, ExchangeResult *res, int *ret_agent) {
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *token_key = NULL;
        _cleanup_free_ char *json = NULL;
        static NonceStore nonces;
        AppraiseConfig ac = {};
        AgentSide a = { .keys_dir = agent_keys };
        ExchangeHost h = { .tee = CVM_TEE_SEV_SNP, .timeout_usec = 5000000, .nonces = &nonces,
                           .nonce_ttl_usec = 10000000, .appraise = appraise_evidence,
                           .unwrap_keys = exchange_fixture_unwrap, .releaser = releaser };
        char *reason = NULL;

        /* revocation is not what is tested here: the simulator publishes no CRL */
        json = strdup_printf("{\"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": [{\"product\": \"Genoa\", "
                             "\"spki_sha256\": \"%s\"}]}}",
                             ark_digest);
        assert_non_null(json);
        if (policy_parse(json, strlen(json), &policy, &reason) < 0)
                fail_msg("policy: %s", reason);
        assert_int_equal(token_key_generate(&token_key), 0);
        ac.policy = policy;
        h.userdata = &ac;
        h.token_key = token_key;
        exchange_fixture_run(&h, run_real_agent, &a, res, ret_agent);
}

static bool key_file_is_data_key(void) {
        _cleanup_free_ char *path = strdup_printf("%s/train-1", keys_dir);
        _cleanup_free_ uint8_t *data = NULL;
        uint8_t want[32];
        size_t size;

        for (size_t i = 0; i < sizeof(want); i++)
                want[i] = (uint8_t) (0xC0 + i);
        if (!path || read_file_bounded(path, 4096, &data, &size) < 0)
                return false;
        return size == sizeof(want) && memcmp(data, want, size) == 0;
}

static void remove_key_file(void) {
        _cleanup_free_ char *path = strdup_printf("%s/train-1", keys_dir);

        assert_non_null(path);
        (void) unlink(path);
}

static void expect_error(const ExchangeResult *res, const char *needle) {
        assert_non_null(res->error);
        if (!strstr(res->error, needle))
                fail_msg("reason '%s' lacks '%s'", res->error, needle);
}

static void test_bound_releaser_installs_then_confirms(void **state) {
        ExchangeResult res = {};
        int agent;

        remove_key_file();
        exchange(exchange_fixture_releaser(), keys_dir, &res, &agent);
        if (res.error)
                fail_msg("exchange failed: %s", res.error);
        assert_true(res.released);
        assert_true(res.confirmed);
        assert_int_equal(agent, AGENT_CONCLUDED + 0);
        /* confirmed means installed: the file is there by the time the host has the Ack */
        assert_true(key_file_is_data_key());
        exchange_result_done(&res);
}

static void test_unbound_releaser_refused(void **state) {
        _cleanup_(releaser_key_done) ReleaserKey attacker = {};
        ExchangeResult res = {};
        int agent;

        remove_key_file();
        assert_int_equal(releaser_key_generate(&attacker), 0);
        exchange(&attacker, keys_dir, &res, &agent);
        /* the agent refused before sending evidence: nothing was appraised, nothing released */
        assert_false(res.released);
        assert_false(res.confirmed);
        assert_null(res.token);
        expect_error(&res, "releaser not bound at launch");
        assert_int_equal(agent, 1); /* failed, and no decision reached */
        assert_false(key_file_is_data_key());
        exchange_result_done(&res);
}

static void test_bound_key_named_but_not_held(void **state) {
        _cleanup_(releaser_key_done) ReleaserKey impostor = {};
        ReleaserKey claims_bound = {};
        ExchangeResult res = {};
        int agent;

        /* the host names the bound public key in the challenge, but seals with a private key of
         * its own: without the bound private key the release does not open (HPKE auth mode) */
        remove_key_file();
        assert_int_equal(releaser_key_generate(&impostor), 0);
        claims_bound.sk = impostor.sk;
        memcpy(claims_bound.pk, exchange_fixture_releaser()->pk, sizeof(claims_bound.pk));
        exchange(&claims_bound, keys_dir, &res, &agent);
        assert_true(res.released);
        assert_false(res.confirmed);
        expect_error(&res, "does not open");
        assert_int_equal(agent, AGENT_CONCLUDED + 1);
        assert_false(key_file_is_data_key());
        exchange_result_done(&res);
}

static void test_install_failure_is_not_confirmed(void **state) {
        _cleanup_free_ char *missing = strdup_printf("%s/no-such-dir", keys_dir);
        ExchangeResult res = {};
        int agent;

        assert_non_null(missing);
        exchange(exchange_fixture_releaser(), missing, &res, &agent);
        assert_true(res.released);
        assert_false(res.confirmed);
        expect_error(&res, "key installation failed");
        assert_int_equal(agent, AGENT_CONCLUDED + 1);
        exchange_result_done(&res);
}

static void test_check_reads_the_report(void **state) {
        AgentConfig c = { .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .timeout_usec = 5000000 };
        _cleanup_(secret_freep) Secret *sk = NULL;
        _cleanup_free_ char *reason = NULL;
        ProtoMsg chal = { .type = PROTO_CHALLENGE, .tee = CVM_TEE_SEV_SNP }, ev = {};

        memcpy(chal.releaser_key, exchange_fixture_releaser()->pk, sizeof(chal.releaser_key));
        /* bound: evidence is made */
        exchange_fixture_bind_agent(&c);
        assert_int_equal(agent_build_evidence(&c, &chal, &sk, &ev, &reason), 0);
        assert_int_equal(agent_check_releaser(&chal, &ev, NULL), 0);
        /* the same report, another spec digest: another launch digest */
        chal.spec_digest[0] ^= 1;
        assert_int_equal(agent_check_releaser(&chal, &ev, &reason), -EACCES);
        assert_non_null(strstr(reason, "HOST_DATA"));
        chal.spec_digest[0] ^= 1;
        /* a truncated report cannot be read: refused, never passed */
        ev.report.size--;
        assert_int_equal(agent_check_releaser(&chal, &ev, NULL), -EBADMSG);
        ev.report.size++;
        proto_msg_done(&ev);
        secret_free(TAKE_PTR(sk));
        /* a guest launched with other host data makes no evidence for this releaser */
        c.sim_host_data[5] ^= 1;
        free(TAKE_PTR(reason));
        assert_int_equal(agent_build_evidence(&c, &chal, &sk, &ev, &reason), -EACCES);
        assert_non_null(strstr(reason, "releaser not bound at launch"));
        assert_null(sk);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bound_releaser_installs_then_confirms),
                cmocka_unit_test(test_unbound_releaser_refused),
                cmocka_unit_test(test_bound_key_named_but_not_held),
                cmocka_unit_test(test_install_failure_is_not_confirmed),
                cmocka_unit_test(test_check_reads_the_report),
        };
        (void) secret_init();
        return cmocka_run_group_tests_name("agent-auth", tests, setup, teardown);
}
