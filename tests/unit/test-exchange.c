/* SPDX-License-Identifier: Apache-2.0 */
/* The attestation exchange end to end over a unix socket: a simulated SEV-SNP guest agent (in
 * a child process) and the host. Good evidence gets the keys, confirmed; every kind of bad
 * evidence or misbehaviour gets nothing, with a reason, and the agent never sees a KeyRelease. */
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
#include "cvm/token.h"
#include "cvm/util.h"

typedef enum Misbehaviour {
        HONEST,
        REPLAYED_EVIDENCE,  /* evidence bound to an earlier challenge's nonce */
        WRONG_REPORT_DATA,  /* REPORT_DATA for another key than the one sent */
        TAMPERED_REPORT,    /* one byte of the signed report changed */
        FEWER_GPUS,         /* one GPU report short */
        SILENT,             /* never answers the challenge */
        OVERSIZED_FRAME,    /* a frame header past the 1 MiB cap */
        OUT_OF_ORDER,       /* Ack where Evidence belongs */
} Misbehaviour;

static char sim_dir[] = "/tmp/cvmd-test-exchange-XXXXXX";
static char snp_dir[sizeof(sim_dir) + 8];
static char ark_digest[65];

static int setup(void **state) {
        assert_non_null(mkdtemp(sim_dir));
        snprintf(snp_dir, sizeof(snp_dir), "%s/snp", sim_dir);
        exchange_fixture_snp_sim(snp_dir, ark_digest);
        exchange_fixture_set_data_key(0xA0);
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim_dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* The agent side, honest or not. Returns the child's exit code. */
static int run_agent(int fd, void *userdata) {
        Misbehaviour how = *(const Misbehaviour *) userdata;
        AgentConfig c = { .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .timeout_usec = 5000000 };
        _cleanup_(secret_freep) Secret *sk = NULL;
        ProtoMsg chal = {}, ev = {};
        uint64_t deadline = proto_now_usec() + 5000000;
        int rc;

        exchange_fixture_bind_agent(&c);
        if (exchange_fixture_agent_hello(fd, &chal) < 0)
                return 1;
        if (how == SILENT)
                /* Wait for the host to give up: it must close without sending keys. */
                return exchange_fixture_agent_finish(fd, &chal, NULL, false);
        if (how == OVERSIZED_FRAME) {
                static const uint8_t hdr[8] = { 0x00, 0x20, 0x00, 0x00, '{', '"', 'a', '"' };
                if (write(fd, hdr, sizeof(hdr)) != sizeof(hdr))
                        return 1;
        } else if (how == OUT_OF_ORDER) {
                ProtoMsg ack = { .type = PROTO_ACK };
                if (proto_send(fd, &ack, deadline) < 0)
                        return 1;
        } else {
                ProtoMsg built_for = chal;

                if (how == REPLAYED_EVIDENCE)
                        memset(built_for.nonce, 0x42, sizeof(built_for.nonce)); /* an earlier nonce */
                if (how == FEWER_GPUS)
                        built_for.gpus = 0; /* no NVML here: the GPU blobs are added below */
                if (agent_build_evidence(&c, &built_for, &sk, &ev, NULL) < 0)
                        return 2;
                if (how == WRONG_REPORT_DATA)
                        ev.pubkey[0] ^= 1;
                if (how == TAMPERED_REPORT)
                        ev.report.data[0x90] ^= 1; /* MEASUREMENT */
                if (how == FEWER_GPUS) {
                        /* the host asked for 2: send one well-formed but lonely report */
                        ev.gpu_reports[0] = (ProtoBlob) { .data = calloc(1, 64), .size = 64 };
                        ev.gpu_chains[0] = (ProtoBlob) { .data = calloc(1, 64), .size = 64 };
                        memcpy(ev.gpu_pci[0], "0000:01:00.0", sizeof(ev.gpu_pci[0]));
                        ev.gpu_cc[0] = PROTO_GPU_CC_ON;
                        ev.n_gpus = 1;
                }
                if (proto_send(fd, &ev, deadline) < 0)
                        return 1;
                proto_msg_done(&ev);
        }
        rc = exchange_fixture_agent_finish(fd, &chal, sk, how == HONEST);
        proto_msg_done(&chal);
        return rc;
}

/* Runs one exchange: the agent in a child, the host here. */
static void exchange(Misbehaviour how, const char *policy_json, uint32_t gpus, uint64_t timeout_usec,
                     ExchangeResult *res, int *ret_agent_status) {
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *token_key = NULL;
        static NonceStore nonces;
        AppraiseConfig ac = {};
        ExchangeHost h = { .tee = CVM_TEE_SEV_SNP, .gpus = gpus, .timeout_usec = timeout_usec, .nonces = &nonces,
                           .nonce_ttl_usec = 10000000, .appraise = appraise_evidence,
                           .unwrap_keys = exchange_fixture_unwrap, .releaser = exchange_fixture_releaser() };
        char *reason = NULL;

        if (policy_parse(policy_json, strlen(policy_json), &policy, &reason) < 0)
                fail_msg("policy: %s", reason);
        assert_int_equal(token_key_generate(&token_key), 0);
        ac.policy = policy;
        h.userdata = &ac;
        h.token_key = token_key;
        exchange_fixture_run(&h, run_agent, &how, res, ret_agent_status);
}

static char *policy_trusting_sim(const char *extra) {
        /* revocation is the host collateral's (test-collateral.c): not what this tests */
        return strdup_printf("{\"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": [{\"product\": \"Genoa\", \"spki_sha256\": \"%s\"}]%s}}",
                             ark_digest, extra);
}

static void expect_refused(Misbehaviour how, const char *policy_extra, uint32_t gpus, uint64_t timeout_usec,
                           const char *needle) {
        _cleanup_free_ char *policy = policy_trusting_sim(policy_extra);
        ExchangeResult res = {};
        int agent;

        exchange(how, policy, gpus, timeout_usec, &res, &agent);
        assert_false(res.released);
        assert_false(res.confirmed);
        assert_null(res.token);
        assert_non_null(res.error);
        if (!strstr(res.error, needle))
                fail_msg("reason '%s' lacks '%s'", res.error, needle);
        assert_int_equal(agent, AGENT_GOT_NOTHING);
        exchange_result_done(&res);
}

static void test_good_evidence_gets_keys(void **state) {
        _cleanup_free_ char *policy = policy_trusting_sim("");
        _cleanup_(json_object_putp) json_object *claims = NULL;
        ExchangeResult res = {};
        int agent;

        exchange(HONEST, policy, 0, 5000000, &res, &agent);
        if (res.error)
                fail_msg("exchange failed: %s", res.error);
        assert_true(res.verdict.authentic);
        assert_true(res.verdict.accepted);
        assert_true(res.released);
        assert_true(res.confirmed);
        assert_int_equal(agent, AGENT_GOT_KEYS);
        assert_non_null(res.token);
        exchange_result_done(&res);
}

static void test_replayed_evidence(void **state) {
        expect_refused(REPLAYED_EVIDENCE, "", 0, 5000000, "binding.report-data");
}

static void test_wrong_report_data(void **state) {
        expect_refused(WRONG_REPORT_DATA, "", 0, 5000000, "binding.report-data");
}

static void test_tampered_report(void **state) {
        expect_refused(TAMPERED_REPORT, "", 0, 5000000, "report.signature");
}

static void test_fewer_gpus(void **state) {
        expect_refused(FEWER_GPUS, "", 2, 5000000, "1 GPU reports, 2 were asked for");
}

static void test_policy_denial(void **state) {
        expect_refused(HONEST, ", \"measurements\": [\"" "000000000000000000000000000000000000000000000000"
                               "000000000000000000000000000000000000000000000000" "\"]",
                       0, 5000000, "policy.snp.measurements");
}

static void test_simulator_root_not_named(void **state) {
        ExchangeResult res = {};
        int agent;

        exchange(HONEST, "{\"snp\": {}}", 0, 5000000, &res, &agent);
        assert_false(res.released);
        assert_non_null(strstr(res.error, "chain.ark-pinned"));
        assert_int_equal(agent, AGENT_GOT_NOTHING);
        exchange_result_done(&res);
}

static void test_timeout(void **state) {
        expect_refused(SILENT, "", 0, 300000, "timed out");
}

static void test_oversized_frame(void **state) {
        expect_refused(OVERSIZED_FRAME, "", 0, 5000000, "exceeds the 1048576-byte limit");
}

static void test_out_of_order(void **state) {
        expect_refused(OUT_OF_ORDER, "", 0, 5000000, "ack message out of order");
}

static void test_token_verifies(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL, *other = NULL;
        _cleanup_(json_object_putp) json_object *claims = json_object_new_object(), *back = NULL;
        _cleanup_free_ char *t = NULL;
        json_object *v;

        assert_int_equal(token_key_generate(&k), 0);
        assert_int_equal(token_key_generate(&other), 0);
        json_object_object_add(claims, "accepted", json_object_new_boolean(true));
        assert_int_equal(token_sign(k, "k1", claims, &t), 0);
        assert_int_equal(token_verify(k, t, &back), 0);
        assert_true(json_object_object_get_ex(back, "accepted", &v) && json_object_get_boolean(v));
        assert_int_equal(token_verify(other, t, &back), -EBADMSG);
        t[strlen(t) - 2] ^= 1;
        assert_int_equal(token_verify(k, t, &back), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_evidence_gets_keys),
                cmocka_unit_test(test_replayed_evidence),
                cmocka_unit_test(test_wrong_report_data),
                cmocka_unit_test(test_tampered_report),
                cmocka_unit_test(test_fewer_gpus),
                cmocka_unit_test(test_policy_denial),
                cmocka_unit_test(test_simulator_root_not_named),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_oversized_frame),
                cmocka_unit_test(test_out_of_order),
                cmocka_unit_test(test_token_verifies),
        };
        (void) secret_init();
        return cmocka_run_group_tests_name("exchange", tests, setup, teardown);
}
