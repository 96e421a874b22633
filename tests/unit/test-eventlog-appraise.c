/* SPDX-License-Identifier: Apache-2.0 */
/* The CC event log and runtime measurement in the appraisal, with evidence the real agent code
 * builds from the simulators: a simulated TDX guest's log replays to its quote and shows the
 * kernel, initrd and command line; a tampered log, a lying one and a missing one are refused
 * when they must be, naming the register or the rule; workloads measured with
 * `cvm-agent measure-workload` replay into RTMR3 (TDX) or are bound into REPORT_DATA (SEV-SNP)
 * and meet the policy's workload_digests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../src/agent/agent.h"
#include "../common/exchange-fixture.h"
#include "cvm/appraise.h"
#include "cvm/pcs.h"
#include "cvm/tdx-measure.h"
#include "cvm/tdx-sim.h"
#include "cvm/util.h"

static char dir[] = "/tmp/cvmd-test-eventlog-XXXXXX";
static char tdx_dir[sizeof(dir) + 8], snp_dir[sizeof(dir) + 8], runtime_dir[sizeof(dir) + 16];
static char root_digest[65], ark_digest[65];
static TdxCollateral *collateral;

static int setup(void **state) {
        _cleanup_(tdx_sim_freep) TdxSim *s = NULL;
        _cleanup_free_ char *hex = NULL, *coldir = NULL;
        TdxAnchor a;

        assert_non_null(mkdtemp(dir));
        snprintf(tdx_dir, sizeof(tdx_dir), "%s/tdx", dir);
        snprintf(snp_dir, sizeof(snp_dir), "%s/snp", dir);
        snprintf(runtime_dir, sizeof(runtime_dir), "%s/runtime", dir);
        assert_int_equal(tdx_sim_new(&(TdxSimParams){}, &s), 0);
        assert_int_equal(tdx_sim_write(s, tdx_dir), 0);
        assert_int_equal(tdx_sim_anchor(s, &a), 0);
        hex = hex_encode(a.spki_sha256, 32);
        memcpy(root_digest, hex, 65);
        coldir = strdup_printf("%s/collateral", tdx_dir);
        assert_int_equal(pcs_collateral_load_dir(coldir, &collateral, NULL), 0);
        exchange_fixture_snp_sim(snp_dir, ark_digest);
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        tdx_collateral_free(collateral);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void clear_runtime(void) {
        char cmd[160];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runtime_dir);
        assert_int_equal(system(cmd), 0);
}

/* `cvm-agent measure-workload` as the guest's job runner would call it. */
static void measure(const char *tee, const char *digest_hex, const char *description) {
        _cleanup_free_ char *d = strdup_printf("sha384:%s", digest_hex);
        char *argv[] = {(char *) "measure-workload",
                        (char *) "--digest",
                        d,
                        (char *) "--description",
                        (char *) description,
                        (char *) "--runtime-dir",
                        runtime_dir,
                        (char *) "--simulate",
                        (char *) tee,
                        NULL};

        assert_int_equal(agent_measure_main(9, argv), 0);
}

typedef struct Guest {
        CvmTee tee;
        const char *cmdline, *log_cmdline;
        bool runtime;
} Guest;

static void build(const Guest *g, ProtoMsg *ret_ev, uint8_t ret_report_data[64]) {
        AgentConfig c = {.source = g->tee == CVM_TEE_TDX ? EVIDENCE_SIM_TDX : EVIDENCE_SIM_SNP,
                         .sim_dir = g->tee == CVM_TEE_TDX ? tdx_dir : snp_dir,
                         .timeout_usec = 5000000,
                         .sim_cmdline = g->cmdline,
                         .sim_log_cmdline = g->log_cmdline,
                         .runtime_dir = g->runtime ? runtime_dir : NULL};
        ProtoMsg chal = {.type = PROTO_CHALLENGE, .tee = g->tee};
        _cleanup_(secret_freep) Secret *sk = NULL;
        _cleanup_free_ char *reason = NULL;

        exchange_fixture_bind_agent(&c);
        memset(chal.nonce, 0x5a, sizeof(chal.nonce));
        memcpy(chal.releaser_key, exchange_fixture_releaser()->pk, sizeof(chal.releaser_key));
        if (agent_build_evidence(&c, &chal, &sk, ret_ev, &reason) < 0)
                fail_msg("evidence: %s", reason);
        proto_report_data(chal.nonce, ret_ev->pubkey, ret_report_data);
}

/* Appraises ev under the simulator-trusting policy plus `extra` in the TEE's section. */
static void appraise(const ProtoMsg *ev, const uint8_t report_data[64], const char *extra, Verdict *v) {
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_free_ char *json = NULL, *reason = NULL;
        AppraiseConfig ac = {.tdx_collateral = collateral};
        ExchangeEvidence e = {.msg = ev};

        json = ev->tee == CVM_TEE_TDX
                       ? strdup_printf("{\"tdx\": {\"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}]%s}}",
                                       root_digest, extra ? extra : "")
                       : strdup_printf("{\"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": [{\"product\": "
                                       "\"Genoa\", \"spki_sha256\": \"%s\"}]%s}}",
                                       ark_digest, extra ? extra : "");
        if (policy_parse(json, strlen(json), &policy, &reason) < 0)
                fail_msg("policy: %s", reason);
        ac.policy = policy;
        memcpy(e.report_data, report_data, 64);
        assert_int_equal(verdict_init(v, ev->tee == CVM_TEE_TDX ? "tdx" : "sev-snp"), 0);
        assert_int_equal(appraise_evidence(&ac, &e, v), 0);
}

static bool has_reason(const Verdict *v, const char *needle) {
        for (size_t i = 0; i < v->n_reasons; i++)
                if (strstr(v->reasons[i], needle))
                        return true;
        return false;
}

static void expect_accepted(const ProtoMsg *ev, const uint8_t rd[64], const char *extra) {
        Verdict v = {};

        appraise(ev, rd, extra, &v);
        if (!v.accepted)
                fail_msg("refused: %s", v.n_reasons ? v.reasons[0] : "(no reason)");
        verdict_done(&v);
}

static void expect_refused(const ProtoMsg *ev, const uint8_t rd[64], const char *extra, const char *needle) {
        Verdict v = {};

        appraise(ev, rd, extra, &v);
        assert_false(v.accepted);
        if (!has_reason(&v, needle))
                fail_msg("no reason names '%s' (first: %s)", needle, v.n_reasons ? v.reasons[0] : "(none)");
        verdict_done(&v);
}

static char *sha384_hex(const void *p, size_t n) {
        uint8_t d[48];

        assert_true(EVP_Digest(p, n, d, NULL, EVP_sha384(), NULL));
        return hex_encode(d, 48);
}

/* What the Linux EFI stub hashes for the command line: UTF-16LE with its NUL. */
static char *cmdline_hex(const char *cmdline) {
        size_t n = strlen(cmdline) + 1;
        _cleanup_free_ uint8_t *u = calloc(n, 2);

        for (size_t i = 0; i < n; i++)
                u[2 * i] = (uint8_t) cmdline[i];
        return sha384_hex(u, 2 * n);
}

static void test_log_matches_and_shows_boot(void **state) {
        Guest g = {.tee = CVM_TEE_TDX, .cmdline = "console=hvc0 root=/dev/vda1"};
        _cleanup_free_ char *cmd = cmdline_hex(g.cmdline), *other = cmdline_hex("console=hvc0 init=/bin/sh");
        _cleanup_free_ char *ok = strdup_printf(", \"require_eventlog\": true, \"cmdline_digests\": [\"%s\"]", cmd);
        _cleanup_free_ char *bad = strdup_printf(", \"cmdline_digests\": [\"%s\"]", other);
        json_object *log, *field;
        SimFirmwareBoot sim;
        _cleanup_free_ char *khex = NULL;
        ProtoMsg ev = {};
        uint8_t rd[64];
        Verdict v = {};

        build(&g, &ev, rd);
        assert_true(ev.eventlog.size > 0);
        appraise(&ev, rd, ok, &v);
        if (!v.accepted)
                fail_msg("refused: %s", v.n_reasons ? v.reasons[0] : "(no reason)");
        assert_non_null(verdict_find_check(&v, "eventlog.replay"));
        assert_int_equal(verdict_find_check(&v, "eventlog.replay")->status, CHECK_PASS);
        /* the claims name what booted */
        assert_true(json_object_object_get_ex(v.claims, "eventlog", &log));
        eventlog_sim_boot_default(&sim);
        khex = hex_encode(sim.kernel, 48);
        assert_true(json_object_object_get_ex(log, "kernel", &field));
        assert_string_equal(json_object_get_string(field), khex);
        assert_true(json_object_object_get_ex(log, "cmdline", &field));
        assert_string_equal(json_object_get_string(field), cmd);
        assert_true(json_object_object_get_ex(log, "initrd", &field));
        verdict_done(&v);
        /* a policy naming another command line refuses this one */
        expect_refused(&ev, rd, bad, "policy.tdx.cmdline_digests");
        proto_msg_done(&ev);
}

static void test_tampered_log_names_register(void **state) {
        Guest g = {.tee = CVM_TEE_TDX};
        _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
        ProtoMsg ev = {};
        uint8_t rd[64];

        build(&g, &ev, rd);
        assert_int_equal(cc_eventlog_parse(ev.eventlog.data, ev.eventlog.size, &log, NULL), 0);
        /* the last event is the initrd's, on RTMR2: one bit of its digest (offset: mr, type,
         * count, algorithm id) */
        ev.eventlog.data[log->events[log->n_events - 1].offset + 14] ^= 1;
        expect_refused(&ev, rd, NULL, "RTMR2 replays to");
        proto_msg_done(&ev);
}

static void test_lying_log_refused(void **state) {
        Guest g = {.tee = CVM_TEE_TDX, .cmdline = "console=hvc0 init=/bin/sh", .log_cmdline = "console=hvc0"};
        ProtoMsg ev = {};
        uint8_t rd[64];

        build(&g, &ev, rd);
        expect_refused(&ev, rd, NULL, "eventlog.replay: event log does not match the quote: RTMR2");
        proto_msg_done(&ev);
}

static void test_missing_log(void **state) {
        Guest g = {.tee = CVM_TEE_TDX};
        _cleanup_free_ char *cmd = cmdline_hex("console=hvc0");
        _cleanup_free_ char *rule = strdup_printf(", \"cmdline_digests\": [\"%s\"]", cmd);
        ProtoMsg ev = {};
        uint8_t rd[64];

        build(&g, &ev, rd);
        free(ev.eventlog.data);
        ev.eventlog = (ProtoBlob){};
        /* nothing in the policy needs it: accepted as before */
        expect_accepted(&ev, rd, NULL);
        expect_refused(&ev, rd, ", \"require_eventlog\": true", "policy.tdx.require_eventlog");
        expect_refused(&ev, rd, rule, "which only an event log shows, and the guest sent none");
        proto_msg_done(&ev);
}

static void test_tdx_workload_in_rtmr3(void **state) {
        Guest g = {.tee = CVM_TEE_TDX, .runtime = true};
        _cleanup_free_ char *w1 = sha384_hex("training image v1", 17), *w2 = sha384_hex("training image v2", 17);
        _cleanup_free_ char *only_w1 = strdup_printf(", \"workload_digests\": [\"%s\"]", w1);
        _cleanup_free_ char *both = strdup_printf(", \"workload_digests\": [\"%s\", \"%s\"]", w1, w2);
        _cleanup_free_ char *path = strdup_printf("%s/workloads.log", runtime_dir);
        _cleanup_free_ uint8_t *data = NULL;
        json_object *log, *list;
        ProtoMsg ev = {};
        uint8_t rd[64];
        size_t size;

        clear_runtime();
        build(&g, &ev, rd);
        /* nothing measured yet: a policy requiring a workload refuses */
        expect_refused(&ev, rd, only_w1, "policy.tdx.workload_digests: the guest measured no workload");
        proto_msg_done(&ev);

        measure("tdx", w1, "trainer:v1");
        build(&g, &ev, rd);
        assert_true(ev.workload_digests.size == 0); /* on TDX the log carries them */
        {
                Verdict v = {};
                appraise(&ev, rd, only_w1, &v);
                if (!v.accepted)
                        fail_msg("refused: %s", v.n_reasons ? v.reasons[0] : "(no reason)");
                assert_true(json_object_object_get_ex(v.claims, "eventlog", &log));
                assert_true(json_object_object_get_ex(log, "workloads", &list));
                assert_int_equal(json_object_array_length(list), 1);
                verdict_done(&v);
        }
        proto_msg_done(&ev);

        measure("tdx", w2, "trainer:v2");
        build(&g, &ev, rd);
        expect_accepted(&ev, rd, both);
        expect_refused(&ev, rd, only_w1, "policy.tdx.workload_digests: workload");
        proto_msg_done(&ev);

        /* an edited runtime log no longer replays to RTMR3 */
        assert_int_equal(read_file_bounded(path, 1 << 20, &data, &size), 0);
        data[size - 40] ^= 1; /* inside the last event's description */
        data[size - 70] ^= 1; /* and its digest */
        assert_int_equal(write_file_atomic(path, data, size, 0600), 0);
        build(&g, &ev, rd);
        expect_refused(&ev, rd, NULL, "RTMR3 replays to");
        proto_msg_done(&ev);
        clear_runtime();
}

static void test_snp_workload_bound_in_report_data(void **state) {
        Guest g = {.tee = CVM_TEE_SEV_SNP, .runtime = true};
        _cleanup_free_ char *w1 = sha384_hex("inference job 7", 15), *w2 = sha384_hex("other job", 9);
        _cleanup_free_ char *allow = strdup_printf(", \"workload_digests\": [\"%s\"]", w1);
        _cleanup_free_ char *deny = strdup_printf(", \"workload_digests\": [\"%s\"]", w2);
        ProtoMsg ev = {};
        uint8_t rd[64];

        clear_runtime();
        measure("snp", w1, "job 7");
        build(&g, &ev, rd);
        assert_int_equal(ev.workload_digests.size, 48);
        assert_int_equal(ev.eventlog.size, 0);
        expect_accepted(&ev, rd, allow);
        expect_refused(&ev, rd, deny, "policy.snp.workload_digests");
        /* another digest in the message than the one the report binds */
        ev.workload_digests.data[0] ^= 1;
        expect_refused(&ev, rd, NULL, "binding.report-data");
        /* or none at all */
        free(ev.workload_digests.data);
        ev.workload_digests = (ProtoBlob){};
        expect_refused(&ev, rd, NULL, "binding.report-data");
        proto_msg_done(&ev);
        clear_runtime();
}

static void test_measure_workload_usage(void **state) {
        char *bad_digest[] = {(char *) "measure-workload", (char *) "--digest", (char *) "sha256:00", NULL};
        char *no_digest[] = {(char *) "measure-workload", (char *) "--runtime-dir", runtime_dir, NULL};
        char *bad_desc[] = {(char *) "measure-workload", (char *) "--description", (char *) "a\tb", NULL};

        assert_int_equal(agent_measure_main(3, bad_digest), 2);
        assert_int_equal(agent_measure_main(3, no_digest), 2);
        assert_int_equal(agent_measure_main(3, bad_desc), 2);
}

/* The real guest's firmware log: the CCEL table checked, the log area cut after its last event. */
static void test_read_ccel(void **state) {
        _cleanup_free_ char *acpi = strdup_printf("%s/acpi", dir), *data_dir = strdup_printf("%s/acpi/data", dir);
        _cleanup_free_ char *table_path = strdup_printf("%s/CCEL", acpi),
                            *area_path = strdup_printf("%s/CCEL", data_dir);
        _cleanup_free_ uint8_t *log = NULL, *area = NULL, *got = NULL;
        _cleanup_free_ char *why = NULL;
        SimFirmwareBoot boot;
        uint8_t table[56] = "CCEL", sum = 0;
        size_t size, got_size;

        assert_int_equal(mkdir_p(data_dir, 0700), 0);
        /* no table: a guest without CCEL sends no log */
        assert_int_equal(eventlog_read_ccel(acpi, &got, &got_size, NULL), -ENOENT);
        table[4] = 56;
        table[36] = 2;                                        /* TDX */
        table[40] = 0x00, table[41] = 0x00, table[42] = 0x01; /* LAML 64 KiB */
        for (size_t i = 0; i < sizeof(table); i++)
                sum = (uint8_t) (sum + table[i]);
        table[9] = (uint8_t) -sum;
        assert_int_equal(write_file_atomic(table_path, table, sizeof(table), 0600), 0);
        eventlog_sim_boot_default(&boot);
        assert_int_equal(eventlog_sim_firmware(&boot, &log, &size), 0);
        area = malloc(65536);
        memset(area, 0xff, 65536); /* an erased log area after the last event */
        memcpy(area, log, size);
        assert_int_equal(write_file_atomic(area_path, area, 65536, 0600), 0);
        if (eventlog_read_ccel(acpi, &got, &got_size, &why) < 0)
                fail_msg("%s", why);
        assert_int_equal(got_size, size);
        assert_memory_equal(got, log, size);
        free(got);
        got = NULL;
        /* a table that does not add up is refused, naming the file */
        table[50] ^= 1;
        assert_int_equal(write_file_atomic(table_path, table, sizeof(table), 0600), 0);
        free(why);
        why = NULL;
        assert_int_equal(eventlog_read_ccel(acpi, &got, &got_size, &why), -EBADMSG);
        assert_non_null(strstr(why, "checksum"));
}

/* The optional members on the wire: round trip, absent when empty, sizes enforced. */
static void test_proto_optional_members(void **state) {
        ProtoMsg m = {.type = PROTO_EVIDENCE, .tee = CVM_TEE_TDX}, back = {};
        uint8_t report[64] = {1}, log[100], digests[96];
        _cleanup_free_ uint8_t *frame = NULL;
        _cleanup_free_ char *reason = NULL;
        size_t size;
        char json[512];

        memset(log, 0xab, sizeof(log));
        memset(digests, 0xcd, sizeof(digests));
        m.report = (ProtoBlob){.data = report, .size = sizeof(report)};
        m.eventlog = (ProtoBlob){.data = log, .size = sizeof(log)};
        m.workload_digests = (ProtoBlob){.data = digests, .size = sizeof(digests)};
        assert_int_equal(proto_frame_encode(&m, &frame, &size), 0);
        assert_int_equal(proto_frame_decode(frame, size, &back, &reason), 0);
        assert_int_equal(back.eventlog.size, sizeof(log));
        assert_memory_equal(back.eventlog.data, log, sizeof(log));
        assert_int_equal(back.workload_digests.size, sizeof(digests));
        proto_msg_done(&back);
        free(frame);
        frame = NULL;
        /* absent when empty, and an older host's message still decodes */
        m.eventlog = m.workload_digests = (ProtoBlob){};
        assert_int_equal(proto_frame_encode(&m, &frame, &size), 0);
        assert_null(memmem(frame, size, "eventlog", 8));
        assert_int_equal(proto_frame_decode(frame, size, &back, NULL), 0);
        assert_int_equal(back.eventlog.size, 0);
        proto_msg_done(&back);
        /* 47 bytes of digests, an empty log, a log of the wrong type */
        static const char *const bad[] = {"\"workload_digests\": \"" /* 47 bytes */
                                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
                                          "\"workload_digests\": \"" /* 49 bytes */
                                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"",
                                          "\"eventlog\": \"\"", "\"eventlog\": 5"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(json_object_putp) json_object *o = NULL;
                _cleanup_free_ char *why = NULL;
                ProtoMsg x = {};
                snprintf(json, sizeof(json),
                         "{\"type\": \"evidence\", \"tee\": \"tdx\", \"report\": \"AQ==\", \"cert_table\": \"\", "
                         "\"gpu_reports\": [], \"gpu_chains\": [], \"gpu_pci\": [], \"gpu_cc\": [], "
                         "\"pubkey\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", %s}",
                         bad[i]);
                o = json_tokener_parse(json);
                assert_non_null(o);
                assert_int_equal(proto_msg_from_json(o, &x, &why), -EBADMSG);
                assert_non_null(why);
                assert_true(strstr(why, "workload_digests") || strstr(why, "eventlog"));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_log_matches_and_shows_boot),
                cmocka_unit_test(test_tampered_log_names_register),
                cmocka_unit_test(test_lying_log_refused),
                cmocka_unit_test(test_missing_log),
                cmocka_unit_test(test_tdx_workload_in_rtmr3),
                cmocka_unit_test(test_snp_workload_bound_in_report_data),
                cmocka_unit_test(test_measure_workload_usage),
                cmocka_unit_test(test_proto_optional_members),
                cmocka_unit_test(test_read_ccel),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
