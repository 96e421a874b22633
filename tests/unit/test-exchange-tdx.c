/* SPDX-License-Identifier: Apache-2.0 */
/* The attestation exchange with TDX evidence over a unix socket: a simulated TDX guest agent
 * (in a child process) and the host with the simulator's collateral. Good evidence gets the
 * keys, confirmed; wrong REPORTDATA, a tampered quote, a wrong MRCONFIGID, a policy denial, an
 * untrusted simulator root and missing collateral get nothing, with a reason, and the agent
 * never sees a KeyRelease. TDX with 1 and 8 simulated GPUs gets the keys too. (The protocol-level failures are the same code as for SEV-SNP and
 * are covered by test-exchange.) */
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
#include "cvm/gpu-sim.h"
#include "cvm/gpu.h"
#include "cvm/pcs.h"
#include "cvm/tdx-sim.h"
#include "cvm/token.h"
#include "cvm/util.h"

typedef enum Misbehaviour {
        HONEST,
        WRONG_REPORT_DATA, /* REPORTDATA for another key than the one sent */
        TAMPERED_QUOTE,    /* one byte of MRTD changed after signing */
} Misbehaviour;

static char sim_dir[] = "/tmp/cvmd-test-exchange-tdx-XXXXXX";
static char tdx_dir[sizeof(sim_dir) + 8], gpu_dir[sizeof(sim_dir) + 8];
static char root_digest[65], gpu_root_digest[65];
static NvGolden *golden;
static uint8_t launch_digest[48];
static TdxCollateral *collateral;

static int setup(void **state) {
        _cleanup_(tdx_sim_freep) TdxSim *s = NULL;
        _cleanup_free_ char *hex = NULL, *coldir = NULL;
        TdxAnchor a;

        assert_non_null(mkdtemp(sim_dir));
        snprintf(tdx_dir, sizeof(tdx_dir), "%s/tdx", sim_dir);
        assert_int_equal(tdx_sim_new(&(TdxSimParams) {}, &s), 0);
        assert_int_equal(tdx_sim_write(s, tdx_dir), 0);
        assert_int_equal(tdx_sim_anchor(s, &a), 0);
        hex = hex_encode(a.spki_sha256, 32);
        memcpy(root_digest, hex, 64);
        coldir = strdup_printf("%s/collateral", tdx_dir);
        assert_int_equal(pcs_collateral_load_dir(coldir, &collateral, NULL), 0);
        {
                GpuSim *board[GPU_SIM_BOARD_DEFAULT] = {};
                _cleanup_free_ char *ghex = NULL, *gpath = NULL;
                _cleanup_free_ uint8_t *gdata = NULL;
                size_t gsize;
                NvPin pin;

                snprintf(gpu_dir, sizeof(gpu_dir), "%s/gpu", sim_dir);
                assert_int_equal(gpu_sim_new_board(NULL, GPU_SIM_BOARD_DEFAULT, board), 0);
                assert_int_equal(gpu_sim_write_board(board, GPU_SIM_BOARD_DEFAULT, false, gpu_dir), 0);
                assert_int_equal(gpu_sim_root_pin(board[0], &pin), 0);
                gpu_sim_board_free(board, GPU_SIM_BOARD_DEFAULT);
                ghex = hex_encode(pin.spki_sha256, 32);
                memcpy(gpu_root_digest, ghex, 64);
                gpath = strdup_printf("%s/golden.json", gpu_dir);
                assert_int_equal(read_file_bounded(gpath, 1 << 20, &gdata, &gsize), 0);
                assert_int_equal(nv_golden_parse((const char *) gdata, gsize, &golden, NULL), 0);
        }
        exchange_fixture_set_data_key(0xB0);
        /* what the simulated VMM put in MRCONFIGID: the launch digest binding the tests' releaser */
        exchange_fixture_launch_digest(launch_digest);
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        tdx_collateral_free(collateral);
        nv_golden_free(golden);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim_dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* The agent side. Returns the child's exit code. */
static int run_agent(int fd, void *userdata) {
        Misbehaviour how = *(const Misbehaviour *) userdata;
        AgentConfig c = { .source = EVIDENCE_SIM_TDX, .sim_dir = tdx_dir, .sim_gpu_dir = gpu_dir,
                          .timeout_usec = 5000000 };
        _cleanup_(secret_freep) Secret *sk = NULL;
        ProtoMsg chal = {}, ev = {};
        uint64_t deadline = proto_now_usec() + 5000000;
        int rc;

        memcpy(c.sim_mrconfigid, launch_digest, 48);
        if (exchange_fixture_agent_hello(fd, &chal) < 0 || chal.tee != CVM_TEE_TDX)
                return 1;
        if (agent_build_evidence(&c, &chal, &sk, &ev, NULL) < 0)
                return 2;
        if (how == WRONG_REPORT_DATA)
                ev.pubkey[0] ^= 1;
        if (how == TAMPERED_QUOTE)
                ev.report.data[TDX_QUOTE_HEADER_SIZE + 136] ^= 1; /* MRTD */
        if (proto_send(fd, &ev, deadline) < 0)
                return 1;
        proto_msg_done(&ev);

        rc = exchange_fixture_agent_finish(fd, &chal, sk, how == HONEST);
        proto_msg_done(&chal);
        return rc;
}

typedef struct Host {
        const char *policy_extra; /* inside "tdx": {...}, after the trusted root */
        bool trust_root;
        bool no_collateral;
        bool has_launch_digest;
        uint8_t launch_digest[48];
        uint32_t gpus;
} Host;

static void exchange(Misbehaviour how, const Host *host, ExchangeResult *res, int *ret_agent_status) {
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *token_key = NULL;
        _cleanup_free_ char *json = NULL;
        static NonceStore nonces;
        AppraiseConfig ac = { .tdx_collateral = host->no_collateral ? NULL : collateral,
                              .has_launch_digest = host->has_launch_digest, .gpu_golden = golden };
        ExchangeHost h = { .tee = CVM_TEE_TDX, .gpus = host->gpus, .timeout_usec = 5000000, .nonces = &nonces, .nonce_ttl_usec = 10000000,
                           .appraise = appraise_evidence, .unwrap_keys = exchange_fixture_unwrap,
                           .releaser = exchange_fixture_releaser() };
        char *reason = NULL;

        json = host->trust_root ? strdup_printf("{\"tdx\": {\"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}]%s},"
                                                " \"gpu\": {\"require_ocsp\": false, \"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}]}}",
                                                root_digest, host->policy_extra ? host->policy_extra : "",
                                                gpu_root_digest)
                                : strdup("{\"tdx\": {}}");
        assert_non_null(json);
        if (policy_parse(json, strlen(json), &policy, &reason) < 0)
                fail_msg("policy: %s", reason);
        assert_int_equal(token_key_generate(&token_key), 0);
        ac.policy = policy;
        memcpy(ac.launch_digest, host->launch_digest, 48);
        h.userdata = &ac;
        h.token_key = token_key;
        exchange_fixture_run(&h, run_agent, &how, res, ret_agent_status);
}

static void expect_refused(Misbehaviour how, const Host *host, const char *needle) {
        ExchangeResult res = {};
        bool found = false;
        int agent;

        exchange(how, host, &res, &agent);
        assert_false(res.released);
        assert_false(res.confirmed);
        assert_null(res.token);
        assert_non_null(res.error);
        assert_false(res.verdict.accepted);
        for (size_t i = 0; i < res.verdict.n_reasons && !found; i++)
                found = strstr(res.verdict.reasons[i], needle) != NULL;
        if (!found)
                fail_msg("no reason names '%s' (first: %s)", needle, res.error);
        assert_int_equal(agent, AGENT_GOT_NOTHING);
        exchange_result_done(&res);
}

static void test_good_evidence_gets_keys(void **state) {
        Host host = { .trust_root = true, .has_launch_digest = true };
        ExchangeResult res = {};
        int agent;

        memcpy(host.launch_digest, launch_digest, 48);
        exchange(HONEST, &host, &res, &agent);
        if (res.error)
                fail_msg("exchange failed: %s", res.error);
        assert_true(res.verdict.authentic);
        assert_true(res.verdict.accepted);
        assert_non_null(verdict_find_check(&res.verdict, "binding.mrconfigid"));
        assert_int_equal(verdict_find_check(&res.verdict, "binding.mrconfigid")->status, CHECK_PASS);
        assert_int_equal(verdict_find_check(&res.verdict, "tcb.level")->status, CHECK_PASS);
        assert_true(res.released);
        assert_true(res.confirmed);
        assert_non_null(res.token);
        assert_int_equal(agent, AGENT_GOT_KEYS);
        exchange_result_done(&res);
}

static void test_gpus_get_keys(void **state) {
        static const uint32_t counts[] = { 1, 8 };

        for (size_t k = 0; k < ELEMENTSOF(counts); k++) {
                Host host = { .trust_root = true, .gpus = counts[k] };
                ExchangeResult res = {};
                char name[32];
                int agent;

                exchange(HONEST, &host, &res, &agent);
                if (res.error)
                        fail_msg("TDX with %u GPUs: %s", counts[k], res.error);
                assert_true(res.verdict.accepted);
                assert_true(res.released && res.confirmed);
                snprintf(name, sizeof(name), "gpu%u.nonce", counts[k] - 1);
                assert_non_null(verdict_find_check(&res.verdict, name));
                assert_int_equal(verdict_find_check(&res.verdict, name)->status, CHECK_PASS);
                assert_int_equal(agent, AGENT_GOT_KEYS);
                exchange_result_done(&res);
        }
}

static void test_wrong_report_data(void **state) {
        expect_refused(WRONG_REPORT_DATA, &(Host) { .trust_root = true }, "binding.report-data");
}

static void test_tampered_quote(void **state) {
        expect_refused(TAMPERED_QUOTE, &(Host) { .trust_root = true }, "quote.signature");
}

static void test_wrong_mrconfigid(void **state) {
        Host host = { .trust_root = true, .has_launch_digest = true };

        memset(host.launch_digest, 0xee, 48);
        expect_refused(HONEST, &host, "binding.mrconfigid");
}

static void test_policy_denial(void **state) {
        expect_refused(HONEST,
                       &(Host) { .trust_root = true,
                                 .policy_extra = ", \"mrtds\": [\"000000000000000000000000000000000000000000000000"
                                                 "000000000000000000000000000000000000000000000000\"]" },
                       "policy.tdx.mrtds");
}

static void test_simulator_root_not_named(void **state) {
        expect_refused(HONEST, &(Host) { .trust_root = false }, "pck.root-pinned");
}

static void test_no_collateral(void **state) {
        expect_refused(HONEST, &(Host) { .trust_root = true, .no_collateral = true }, "no TDX collateral was configured");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_evidence_gets_keys),
                cmocka_unit_test(test_gpus_get_keys),
                cmocka_unit_test(test_wrong_report_data),
                cmocka_unit_test(test_tampered_quote),
                cmocka_unit_test(test_wrong_mrconfigid),
                cmocka_unit_test(test_policy_denial),
                cmocka_unit_test(test_simulator_root_not_named),
                cmocka_unit_test(test_no_collateral),
        };
        (void) secret_init();
        return cmocka_run_group_tests_name("exchange-tdx", tests, setup, teardown);
}
