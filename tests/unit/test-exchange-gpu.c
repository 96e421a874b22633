/* SPDX-License-Identifier: Apache-2.0 */
/* The attestation exchange with GPU evidence over a unix socket: a simulated SEV-SNP guest with
 * simulated NVIDIA GPUs (the agent in a child process, its GPU path the one cvm-agent
 * --simulate-gpus takes) and the host with the simulators' roots named by the policy and the
 * simulator's golden measurements. Good evidence with 0, 1 and 8 GPUs gets the keys, confirmed,
 * also when the host knows each GPU's guest address; a GPU report for the wrong nonce, fewer GPUs
 * than asked, a tampered GPU report, a GPU chain whose root the policy does not name,
 * measurements off the golden list, no golden list, a policy without a "gpu" section, one GPU
 * identity answering for two or eight GPUs, a GPU at a guest address the domain does not have
 * (properly bound, or changed on the way), a GPU whose driver reports CC off or devtools, and
 * NVSwitches passed through without their evidence get nothing, with a reason, and the agent never
 * sees a KeyRelease. */
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
#include "cvm/snp-sim.h"
#include "cvm/token.h"
#include "cvm/util.h"

typedef enum Misbehaviour {
        HONEST,
        WRONG_GPU_NONCE,     /* the last GPU's report is for another nonce (properly signed) */
        FEWER_GPUS,          /* one GPU report and chain fewer than asked for */
        TAMPERED_GPU_REPORT, /* one byte of GPU 0's measurement record changed after signing */
        SHARED_IDENTITY,     /* GPU 0's device signs every GPU's report (its nonce), with its chain */
        WRONG_PCI,           /* the last GPU claims another guest address, bound into its nonce */
        PCI_CHANGED,         /* the last GPU's address changed after its report was made */
        CC_OFF,              /* GPU 0's driver reports CC off, bound into its nonce */
        CC_DEVTOOLS,         /* GPU 0's driver reports devtools mode, bound into its nonce */
} Misbehaviour;

static char sim_dir[] = "/tmp/cvmd-test-exchange-gpu-XXXXXX";
static char snp_dir[sizeof(sim_dir) + 8], gpu_dir[sizeof(sim_dir) + 8];
static char ark_digest[65], gpu_root_digest[65];
static NvGolden *golden, *bad_golden;

static int setup(void **state) {
        GpuSim *board[GPU_SIM_BOARD_DEFAULT] = {};
        _cleanup_free_ char *ghex = NULL, *gpath = NULL;
        _cleanup_free_ uint8_t *gdata = NULL;
        NvPin pin;
        size_t gsize;
        char *q;

        assert_non_null(mkdtemp(sim_dir));
        snprintf(snp_dir, sizeof(snp_dir), "%s/snp", sim_dir);
        snprintf(gpu_dir, sizeof(gpu_dir), "%s/gpu", sim_dir);
        exchange_fixture_snp_sim(snp_dir, ark_digest);

        assert_int_equal(gpu_sim_new_board(NULL, GPU_SIM_BOARD_DEFAULT, board), 0);
        assert_int_equal(gpu_sim_write_board(board, GPU_SIM_BOARD_DEFAULT, false, gpu_dir), 0);
        assert_int_equal(gpu_sim_root_pin(board[0], &pin), 0);
        gpu_sim_board_free(board, GPU_SIM_BOARD_DEFAULT);
        ghex = hex_encode(pin.spki_sha256, 32);
        memcpy(gpu_root_digest, ghex, 64);
        /* The golden list as the host gets it: the file the simulator wrote; and one with a value
         * of RIM index 12 changed. */
        gpath = strdup_printf("%s/golden.json", gpu_dir);
        assert_int_equal(read_file_bounded(gpath, 1 << 20, &gdata, &gsize), 0);
        assert_int_equal(nv_golden_parse((const char *) gdata, gsize, &golden, NULL), 0);
        q = strstr((char *) gdata, "\"index\": 12,");
        assert_non_null(q);
        q = strchr(strchr(q, '['), '"');
        q[1] = q[1] == 'f' ? 'e' : 'f';
        assert_int_equal(nv_golden_parse((const char *) gdata, gsize, &bad_golden, NULL), 0);

        exchange_fixture_set_data_key(0xC0);
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        nv_golden_free(golden);
        nv_golden_free(bad_golden);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim_dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* Remakes GPU i's report (and chain) with simulated GPU `signer`'s identity, for the nonce bound to
 * what ev now claims for GPU i (or another one, when spoil_nonce). */
static int resign(ProtoMsg *ev, const ProtoMsg *chal, size_t i, size_t signer, bool spoil_nonce) {
        _cleanup_(gpu_sim_freep) GpuSim *g = NULL;
        _cleanup_free_ char *dir = NULL;
        uint8_t nonce[32];

        if (gpu_sim_board_gpu_dir(gpu_dir, signer, &dir) < 0 || gpu_sim_load(dir, &g) < 0)
                return -1;
        proto_gpu_nonce(chal->nonce, ev->pubkey, (uint32_t) i, ev->gpu_pci[i], ev->gpu_cc[i], nonce);
        nonce[0] ^= spoil_nonce;
        free(ev->gpu_reports[i].data);
        free(ev->gpu_chains[i].data);
        ev->gpu_reports[i] = ev->gpu_chains[i] = (ProtoBlob){};
        if (gpu_sim_report(g, nonce, &ev->gpu_reports[i].data, &ev->gpu_reports[i].size) < 0 ||
            gpu_sim_chain_pem(g, &ev->gpu_chains[i].data, &ev->gpu_chains[i].size) < 0)
                return -1;
        return 0;
}

/* The agent side. Returns the child's exit code. */
static int run_agent(int fd, void *userdata) {
        Misbehaviour how = *(const Misbehaviour *) userdata;
        AgentConfig c = {
                .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .sim_gpu_dir = gpu_dir, .timeout_usec = 5000000};
        _cleanup_(secret_freep) Secret *sk = NULL;
        ProtoMsg chal = {}, ev = {};
        uint64_t deadline = proto_now_usec() + 5000000;
        int rc;

        exchange_fixture_bind_agent(&c);
        if (exchange_fixture_agent_hello(fd, &chal) < 0 || chal.tee != CVM_TEE_SEV_SNP)
                return 1;
        if (agent_build_evidence(&c, &chal, &sk, &ev, NULL) < 0 || ev.n_gpus != chal.gpus)
                return 2;
        if (how == WRONG_GPU_NONCE && ev.n_gpus > 0 && resign(&ev, &chal, ev.n_gpus - 1, ev.n_gpus - 1, true) < 0)
                return 2;
        if (how == SHARED_IDENTITY)
                for (size_t i = 1; i < ev.n_gpus; i++)
                        if (resign(&ev, &chal, i, 0, false) < 0)
                                return 2;
        if (how == WRONG_PCI || how == PCI_CHANGED) {
                size_t last = ev.n_gpus - 1;
                memcpy(ev.gpu_pci[last], "0000:99:00.0", PROTO_PCI_ADDRESS_SIZE);
                if (how == WRONG_PCI && resign(&ev, &chal, last, last, false) < 0)
                        return 2;
        }
        if (how == CC_OFF || how == CC_DEVTOOLS) {
                ev.gpu_cc[0] = how == CC_OFF ? PROTO_GPU_CC_OFF : PROTO_GPU_CC_DEVTOOLS;
                if (resign(&ev, &chal, 0, 0, false) < 0)
                        return 2;
        }
        if (how == FEWER_GPUS && ev.n_gpus > 0) {
                ev.n_gpus--;
                free(ev.gpu_reports[ev.n_gpus].data);
                free(ev.gpu_chains[ev.n_gpus].data);
                ev.gpu_reports[ev.n_gpus] = ev.gpu_chains[ev.n_gpus] = (ProtoBlob){};
        }
        if (how == TAMPERED_GPU_REPORT && ev.n_gpus > 0)
                ev.gpu_reports[0].data[45 + 55 * 3 + 10] ^= 1; /* inside block 4's digest */
        if (proto_send(fd, &ev, deadline) < 0)
                return 1;
        proto_msg_done(&ev);

        /* a guest in devtools mode is honest about it: it opens what a policy that allows it releases */
        rc = exchange_fixture_agent_finish(fd, &chal, sk, how == HONEST || how == CC_DEVTOOLS);
        proto_msg_done(&chal);
        return rc;
}

typedef struct Host {
        uint32_t gpus;
        bool untrusted_gpu_root; /* the policy names only the SNP simulator */
        bool no_gpu_section;     /* the policy has no "gpu" section at all */
        const NvGolden *golden;
        const char *gpu_extra; /* inside "gpu": {...}, after the trusted root */
        bool knows_addresses;  /* the host knows the domain's GPU guest addresses (the simulator's) */
        unsigned switches;     /* NVSwitches passed through */
} Host;

static void exchange(Misbehaviour how, const Host *host, ExchangeResult *res, int *ret_agent_status) {
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *token_key = NULL;
        _cleanup_free_ char *json = NULL, *gpu = NULL;
        static NonceStore nonces;
        AppraiseConfig ac = {.gpu_golden = host->golden, .gpu_switches = host->switches};
        ExchangeHost h = {.tee = CVM_TEE_SEV_SNP,
                          .gpus = host->gpus,
                          .timeout_usec = 5000000,
                          .nonces = &nonces,
                          .nonce_ttl_usec = 10000000,
                          .appraise = appraise_evidence,
                          .unwrap_keys = exchange_fixture_unwrap,
                          .releaser = exchange_fixture_releaser()};
        char *reason = NULL;

        if (host->no_gpu_section)
                gpu = strdup("");
        /* no OCSP responder for the simulated chains in these exchanges */
        else if (host->untrusted_gpu_root)
                gpu = strdup_printf(", \"gpu\": {\"require_ocsp\": false%s%s}", host->gpu_extra ? ", " : "",
                                    host->gpu_extra ?: "");
        else
                gpu = strdup_printf(", \"gpu\": {\"require_ocsp\": false, \"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}]%s%s}",
                                    gpu_root_digest, host->gpu_extra ? ", " : "", host->gpu_extra ?: "");
        json = strdup_printf(
                "{\"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": [{\"product\": \"Genoa\", "
                "\"spki_sha256\": \"%s\"}]}%s}",
                ark_digest, gpu);
        assert_non_null(json);
        if (policy_parse(json, strlen(json), &policy, &reason) < 0)
                fail_msg("policy: %s", reason);
        assert_int_equal(token_key_generate(&token_key), 0);
        ac.policy = policy;
        if (host->knows_addresses) {
                /* where the launcher puts a board's GPUs, as the simulator's GPUs claim to be */
                ac.gpu_addresses_known = true;
                ac.n_gpu_addresses = host->gpus;
                for (size_t i = 0; i < host->gpus; i++)
                        gpu_sim_default_pci_address(i, ac.gpu_addresses[i]);
        }
        h.userdata = &ac;
        h.token_key = token_key;
        exchange_fixture_run(&h, run_agent, &how, res, ret_agent_status);
}

static void expect_keys(const Host *host) {
        ExchangeResult res = {};
        int agent;

        exchange(HONEST, host, &res, &agent);
        if (res.error)
                fail_msg("exchange failed: %s", res.error);
        assert_true(res.verdict.authentic);
        assert_true(res.verdict.accepted);
        assert_int_equal(verdict_find_check(&res.verdict, "binding.report-data")->status, CHECK_PASS);
        for (uint32_t i = 0; i < host->gpus; i++) {
                char name[32];
                static const char *const checks[] = {"chain", "report.signature", "fwid", "nonce", "measurements", "pci"};

                for (size_t k = 0; k < ELEMENTSOF(checks); k++) {
                        const Check *c;
                        /* the address is checked only where the host knows the domain's */
                        CheckStatus want = streq(checks[k], "pci") && !host->knows_addresses ? CHECK_SKIP : CHECK_PASS;
                        snprintf(name, sizeof(name), "gpu%u.%s", i, checks[k]);
                        c = verdict_find_check(&res.verdict, name);
                        if (!c || c->status != want)
                                fail_msg("%s: %s", name, c ? c->detail : "missing");
                }
        }
        assert_true(res.released);
        assert_true(res.confirmed);
        assert_non_null(res.token);
        assert_int_equal(agent, AGENT_GOT_KEYS);
        exchange_result_done(&res);
}

static void expect_refused(Misbehaviour how, const Host *host, const char *needle) {
        ExchangeResult res = {};
        bool found;
        int agent;

        exchange(how, host, &res, &agent);
        assert_false(res.released);
        assert_false(res.confirmed);
        assert_null(res.token);
        assert_non_null(res.error);
        assert_false(res.verdict.accepted);
        found = strstr(res.error, needle) != NULL;
        for (size_t i = 0; i < res.verdict.n_reasons && !found; i++)
                found = strstr(res.verdict.reasons[i], needle) != NULL;
        if (!found)
                fail_msg("no reason names '%s' (error: %s)", needle, res.error);
        assert_int_equal(agent, AGENT_GOT_NOTHING);
        exchange_result_done(&res);
}

static void test_no_gpus_gets_keys(void **state) {
        expect_keys(&(Host){.gpus = 0, .golden = golden});
}

static void test_one_gpu_gets_keys(void **state) {
        expect_keys(&(Host){.gpus = 1, .golden = golden});
}

static void test_eight_gpus_get_keys(void **state) {
        expect_keys(&(Host){.gpus = 8, .golden = golden, .gpu_extra = "\"gpu_count\": 8"});
}

static void test_wrong_gpu_nonce(void **state) {
        expect_refused(WRONG_GPU_NONCE, &(Host){.gpus = 8, .golden = golden}, "gpu7.nonce");
}

static void test_fewer_gpus(void **state) {
        expect_refused(FEWER_GPUS, &(Host){.gpus = 8, .golden = golden}, "7 GPU reports, 8 were asked for");
}

static void test_tampered_gpu_report(void **state) {
        expect_refused(TAMPERED_GPU_REPORT, &(Host){.gpus = 1, .golden = golden}, "gpu0.report.signature");
}

static void test_gpu_root_not_named(void **state) {
        expect_refused(HONEST, &(Host){.gpus = 1, .golden = golden, .untrusted_gpu_root = true}, "gpu0.chain");
}

static void test_golden_mismatch(void **state) {
        expect_refused(HONEST, &(Host){.gpus = 8, .golden = bad_golden}, "gpu0.measurements");
}

static void test_no_golden_list(void **state) {
        expect_refused(HONEST, &(Host){.gpus = 1}, "policy.gpu.require_measurements");
}

static void test_policy_without_gpu_section(void **state) {
        expect_refused(HONEST, &(Host){.gpus = 1, .golden = golden, .no_gpu_section = true}, "policy.gpu");
}

static void test_policy_gpu_count(void **state) {
        expect_refused(HONEST, &(Host){.gpus = 1, .golden = golden, .gpu_extra = "\"gpu_count\": 8"},
                       "policy.gpu.gpu_count");
}

static void test_eight_gpus_at_their_addresses_get_keys(void **state) {
        expect_keys(&(Host){.gpus = 8, .golden = golden, .knows_addresses = true});
}

static void test_devtools_allowed_by_policy(void **state) {
        ExchangeResult res = {};
        int agent;

        exchange(CC_DEVTOOLS, &(Host){.gpus = 1, .golden = golden, .gpu_extra = "\"allow_devtools\": true"}, &res, &agent);
        if (!res.verdict.accepted)
                fail_msg("refused: %s", res.error ?: "?");
        assert_true(res.confirmed);
        assert_int_equal(agent, AGENT_GOT_KEYS);
        exchange_result_done(&res);
}

static void test_one_identity_for_two_gpus(void **state) {
        expect_refused(SHARED_IDENTITY, &(Host){.gpus = 2, .golden = golden}, "gpu.distinct: GPU 0 and GPU 1 are one device");
}

static void test_one_identity_for_eight_gpus(void **state) {
        expect_refused(SHARED_IDENTITY, &(Host){.gpus = 8, .golden = golden, .knows_addresses = true}, "gpu.distinct");
}

static void test_gpu_at_unknown_address(void **state) {
        expect_refused(WRONG_PCI, &(Host){.gpus = 2, .golden = golden, .knows_addresses = true},
                       "gpu1.pci: GPU 1 reports guest PCI address 0000:99:00.0");
}

static void test_gpu_address_changed_on_the_way(void **state) {
        /* the address is bound into the nonce: changed later, the GPU's signature no longer covers it */
        expect_refused(PCI_CHANGED, &(Host){.gpus = 2, .golden = golden}, "gpu1.nonce");
}

static void test_gpu_cc_off(void **state) {
        expect_refused(CC_OFF, &(Host){.gpus = 2, .golden = golden}, "policy.gpu.require_cc: GPU 0");
}

static void test_gpu_cc_devtools(void **state) {
        expect_refused(CC_DEVTOOLS, &(Host){.gpus = 2, .golden = golden}, "policy.gpu.allow_devtools: GPU 0");
}

static void test_nvswitches_passed_through(void **state) {
        /* their evidence is required (test-nvswitch.c, test-exchange-switch.sh): none came */
        expect_refused(HONEST, &(Host){.gpus = 8, .golden = golden, .switches = 4},
                       "nvswitch.count: 0 NVSwitch reports for the 4 NVSwitches passed through");
}

static void test_policy_gpu_count_no_gpus_asked(void **state) {
        expect_refused(HONEST, &(Host) { .gpus = 0, .golden = golden, .gpu_extra = "\"gpu_count\": 1" },
                       "no GPU evidence given");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_gpus_gets_keys),   cmocka_unit_test(test_one_gpu_gets_keys),
                cmocka_unit_test(test_eight_gpus_get_keys), cmocka_unit_test(test_wrong_gpu_nonce),
                cmocka_unit_test(test_fewer_gpus),          cmocka_unit_test(test_tampered_gpu_report),
                cmocka_unit_test(test_gpu_root_not_named),  cmocka_unit_test(test_golden_mismatch),
                cmocka_unit_test(test_no_golden_list),      cmocka_unit_test(test_policy_without_gpu_section),
                cmocka_unit_test(test_policy_gpu_count),
                cmocka_unit_test(test_policy_gpu_count_no_gpus_asked),
                cmocka_unit_test(test_eight_gpus_at_their_addresses_get_keys),
                cmocka_unit_test(test_devtools_allowed_by_policy),
                cmocka_unit_test(test_one_identity_for_two_gpus),
                cmocka_unit_test(test_one_identity_for_eight_gpus),
                cmocka_unit_test(test_gpu_at_unknown_address),
                cmocka_unit_test(test_gpu_address_changed_on_the_way),
                cmocka_unit_test(test_gpu_cc_off),
                cmocka_unit_test(test_gpu_cc_devtools),
                cmocka_unit_test(test_nvswitches_passed_through),
        };
        (void) secret_init();
        return cmocka_run_group_tests_name("exchange-gpu", tests, setup, teardown);
}
