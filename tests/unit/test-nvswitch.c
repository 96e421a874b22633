/* SPDX-License-Identifier: Apache-2.0 */
/* NVSwitch attestation (cvm/nvswitch.h). Real evidence, when a capture is at hand: the four LS10
 * switch reports of NVIDIA's protected-PCIe HGX H100 capture (not in this repository; where to get
 * it: docs/nvswitch.md) in $CVM_NVSWITCH_CAPTURE, else $CVM_VECTORS/nvswitch-ppcie, verify against
 * NVIDIA's pinned root, and with the same board's eight GPU reports ($CVM_VECTORS, else
 * ../shared/vectors) the topology holds; without the capture these cases are skipped, never
 * passed, and a CVM_NVSWITCH_CAPTURE that names no capture fails. A simulated board of 8 GPUs
 * and 4 switches passes, and each fault refuses the whole board, the reason naming the switch: a
 * bad signature, a chain to another root, a switch the GPUs do not name, a switch missing, a GPU
 * naming another set, a stale nonce, an unlocked switch, a switch attested twice, PPCIe GPUs with
 * no switch attested.
 * The guest channel carries switch reports and chains, both or neither. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cvm/gpu-sim.h"
#include "cvm/guest-proto.h"
#include "cvm/nvswitch.h"
#include "cvm/switch-sim.h"
#include "cvm/util.h"

#define REAL_AT    INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define N_GPUS     8u
#define N_SWITCHES 4u

static const Check *check_of(Verdict *v, const char *name) {
        const Check *c = verdict_find_check(v, name);

        if (!c)
                fail_msg("no check %s", name);
        return c;
}

static void want_check(Verdict *v, const char *name, CheckStatus want, const char *needle) {
        const Check *c = check_of(v, name);

        if (c->status != want || (needle && !strstr(c->detail, needle)))
                fail_msg("%s: %s: %s", name, check_status_to_string(c->status), c->detail);
}

static uint8_t *read_or_fail(const char *path, size_t *ret_size) {
        uint8_t *p = NULL;

        if (read_file_bounded(path, CVM_INPUT_MAX, &p, ret_size) < 0)
                fail_msg("cannot read %s", path);
        return p;
}

/* ---- the real switches ---- */

/* Where the capture is: CVM_NVSWITCH_CAPTURE names it on purpose, so a capture missing there is a
 * failure; the shared vectors may hold it, and their lacking it is a skip. Called before a test
 * allocates anything, as skip() and fail_msg() leave the test at once. *ret malloc'ed. */
static char *capture_dir_or_skip(void) {
        const char *named = getenv("CVM_NVSWITCH_CAPTURE"), *vectors = getenv("CVM_VECTORS");
        char *dir, *nonce;
        bool present;

        if (named && *named)
                dir = strdup(named);
        else
                dir = strdup_printf("%s/nvswitch-ppcie", vectors && *vectors ? vectors : "../shared/vectors");
        assert_non_null(dir);
        nonce = strdup_printf("%s/nonce.hex", dir);
        assert_non_null(nonce);
        present = access(nonce, R_OK) == 0;
        free(nonce);
        if (present)
                return dir;
        if (named && *named) {
                free(dir);
                fail_msg("CVM_NVSWITCH_CAPTURE=%s holds no NVSwitch capture (nonce.hex, switch<i>/)", named);
        }
        print_message("no NVSwitch capture at %s (set CVM_NVSWITCH_CAPTURE; docs/nvswitch.md): skipped\n", dir);
        free(dir);
        skip();
        return NULL; /* not reached */
}

typedef struct Real {
        uint8_t *reports[N_SWITCHES];
        size_t sizes[N_SWITCHES];
        NvChain *chains[N_SWITCHES];
        uint8_t nonces[N_SWITCHES][NV_NONCE_SIZE];
} Real;

/* The capture, or the test is skipped (first thing in a test: nothing allocated yet). */
static void real_load(Real *r) {
        _cleanup_free_ char *dir = capture_dir_or_skip(), *nonce = strdup_printf("%s/nonce.hex", dir);
        _cleanup_free_ uint8_t *hex = NULL;
        size_t n;

        assert_non_null(nonce);
        hex = read_or_fail(nonce, &n);
        assert_true(n >= 64);
        hex[64] = 0;
        for (size_t i = 0; i < N_SWITCHES; i++) {
                _cleanup_free_ char *rp = strdup_printf("%s/switch%zu/report.bin", dir, i),
                                    *cp = strdup_printf("%s/switch%zu/chain.pem", dir, i);
                _cleanup_free_ uint8_t *pem = NULL;

                r->reports[i] = read_or_fail(rp, &r->sizes[i]);
                pem = read_or_fail(cp, &n);
                assert_int_equal(nv_chain_new(pem, n, &r->chains[i]), 0);
                assert_int_equal(hex_decode_exact((const char *) hex, r->nonces[i], NV_NONCE_SIZE), 0);
        }
}

static void real_done(Real *r) {
        for (size_t i = 0; i < N_SWITCHES; i++) {
                free(r->reports[i]);
                nv_chain_free(r->chains[i]);
        }
}

static void test_real_switch_reports(void **state) {
        _cleanup_(verdict_done) Verdict v = {};
        const uint64_t gpu_side[N_SWITCHES] = {0x666e93e19dec7d2d, 0x3a53b743d811e977, 0x9ae3beba9e673275,
                                               0x03dba23b3c11bd8a};
        Real r = {};

        (void) state;
        real_load(&r);
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        for (size_t i = 0; i < N_SWITCHES; i++) {
                _cleanup_free_ NvSwitchAppraisal *a = calloc(1, sizeof(NvSwitchAppraisal));
                NvSwitchParams p = {.at = REAL_AT, .nonces = (const uint8_t(*)[NV_NONCE_SIZE]) r.nonces};
                NvSwitchInput in = {.report = r.reports[i], .report_size = r.sizes[i], .chain = r.chains[i]};

                assert_non_null(a);
                assert_int_equal(nv_switch_verify(&in, i, &p, a, &v), 0);
                if (!a->authentic)
                        fail_msg("real switch %zu not authentic: %s", i, v.n_reasons ? v.reasons[0] : "?");
                assert_int_equal(a->report.n_blocks, 31);
                assert_string_equal(a->report.bios_version, "96.10.73.00.01");
                assert_true(a->report.has_pdi && a->report.has_gpu_pdis && !a->report.has_fwid);
                assert_int_equal(a->report.pdi, gpu_side[i]);
                assert_int_equal(a->report.n_ports, 64);
                assert_int_equal(a->report.lock_status, NV_SWITCH_LOCKED);
        }
        want_check(&v, "nvswitch0.fwid", CHECK_SKIP, "no FWID");
        assert_int_equal(v.n_reasons, 0);
        real_done(&r);
}

static void test_real_switch_parse_refusals(void **state) {
        Real r = {};
        _cleanup_free_ NvSwitchReport *rep = NULL;
        _cleanup_free_ uint8_t *longer = NULL;
        char *why = NULL;

        (void) state;
        real_load(&r);
        rep = calloc(1, sizeof(NvSwitchReport));
        assert_non_null(rep);
        /* one byte after the signature is not signed */
        longer = malloc(r.sizes[0] + 1);
        assert_non_null(longer);
        memcpy(longer, r.reports[0], r.sizes[0]);
        longer[r.sizes[0]] = 0;
        assert_int_equal(nv_switch_report_parse(longer, r.sizes[0] + 1, rep, &why), -EBADMSG);
        assert_non_null(strstr(why, "after the signature"));
        why = mfree_str(why);
        /* cut inside the opaque data */
        assert_int_equal(nv_switch_report_parse(r.reports[0], 1900, rep, &why), -EBADMSG);
        assert_non_null(why);
        free(why);
        real_done(&r);
}

static char *vector_path(size_t i, const char *file) {
        const char *root = getenv("CVM_VECTORS");
        return strdup_printf("%s/nvidia/nvtrust_ppcie_h100_590.12_gpu%zu/%s",
                             root && *root ? root : "../shared/vectors", i, file);
}

static void test_real_board_topology(void **state) {
        _cleanup_(verdict_done) Verdict v = {};
        NvReport *gpus[N_GPUS] = {};
        NvSwitchInput in[N_SWITCHES];
        Real r = {};
        bool authentic = false;

        (void) state;
        real_load(&r);
        for (size_t i = 0; i < N_GPUS; i++) {
                _cleanup_free_ char *p = vector_path(i, "report.bin");
                _cleanup_free_ uint8_t *data = NULL;
                size_t n;

                if (read_file_bounded(p, CVM_INPUT_MAX, &data, &n) < 0) {
                        print_message("no GPU vector at %s: skipped\n", p);
                        for (size_t k = 0; k < i; k++)
                                free(gpus[k]);
                        real_done(&r);
                        free(p); /* skip() leaves before the cleanups run */
                        p = NULL;
                        skip();
                }
                gpus[i] = calloc(1, sizeof(NvReport));
                assert_non_null(gpus[i]);
                assert_int_equal(nv_report_parse(data, n, gpus[i], NULL), 0);
        }
        for (size_t i = 0; i < N_SWITCHES; i++)
                in[i] = (NvSwitchInput){.report = r.reports[i], .report_size = r.sizes[i], .chain = r.chains[i]};
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(
                nv_switch_board_verify((const NvReport *const *) gpus, N_GPUS, in, N_SWITCHES, N_SWITCHES,
                                       &(NvSwitchParams){.at = REAL_AT, .nonces = (const uint8_t(*)[32]) r.nonces},
                                       &authentic, &v),
                0);
        want_check(&v, "nvswitch.topology", CHECK_PASS, NULL);
        want_check(&v, "nvswitch", CHECK_PASS, "all 4");
        assert_true(authentic);
        assert_int_equal(v.n_reasons, 0);
        for (size_t i = 0; i < N_GPUS; i++)
                free(gpus[i]);
        real_done(&r);
}

/* ---- a simulated board ---- */

typedef struct Sim {
        GpuSim *gpus[N_GPUS];
        SwitchSim *switches[N_SWITCHES + 1]; /* one more than the board links, for faults */
        NvPin pin;
        uint8_t nonces[N_SWITCHES + 1][NV_NONCE_SIZE];
        NvReport *parsed[N_GPUS];
        uint8_t *reports[N_SWITCHES + 1];
        size_t sizes[N_SWITCHES + 1];
        NvChain *chains[N_SWITCHES + 1];
} Sim;

static void sim_gpu_reports(Sim *s) {
        for (size_t i = 0; i < N_GPUS; i++) {
                _cleanup_free_ uint8_t *rep = NULL;
                uint8_t nonce[NV_NONCE_SIZE] = {(uint8_t) i};
                size_t n;

                assert_int_equal(gpu_sim_report(s->gpus[i], nonce, &rep, &n), 0);
                if (!s->parsed[i])
                        s->parsed[i] = calloc(1, sizeof(NvReport));
                assert_non_null(s->parsed[i]);
                assert_int_equal(nv_report_parse(rep, n, s->parsed[i], NULL), 0);
        }
}

static void sim_switch_evidence(Sim *s, size_t i, SwitchSim *sw) {
        _cleanup_free_ uint8_t *pem = NULL;
        size_t n;

        free(s->reports[i]);
        nv_chain_free(s->chains[i]);
        assert_int_equal(switch_sim_report(sw, s->nonces[i], &s->reports[i], &s->sizes[i]), 0);
        assert_int_equal(switch_sim_chain_pem(sw, &pem, &n), 0);
        assert_int_equal(nv_chain_new(pem, n, &s->chains[i]), 0);
}

static int sim_setup(void **state) {
        Sim *s = calloc(1, sizeof(Sim));

        assert_non_null(s);
        assert_int_equal(gpu_sim_new_board(NULL, N_GPUS, s->gpus), 0);
        assert_int_equal(switch_sim_new_board(s->gpus[0], N_SWITCHES + 1, s->switches), 0);
        switch_sim_link_gpus(s->switches, N_SWITCHES, s->gpus, N_GPUS);
        assert_int_equal(gpu_sim_root_pin(s->gpus[0], &s->pin), 0);
        for (size_t i = 0; i <= N_SWITCHES; i++) {
                memset(s->nonces[i], 0xa0 + (int) i, NV_NONCE_SIZE);
                sim_switch_evidence(s, i, s->switches[i]);
        }
        sim_gpu_reports(s);
        *state = s;
        return 0;
}

static int sim_teardown(void **state) {
        Sim *s = *state;

        gpu_sim_board_free(s->gpus, N_GPUS);
        switch_sim_board_free(s->switches, N_SWITCHES + 1);
        for (size_t i = 0; i <= N_SWITCHES; i++) {
                free(s->reports[i]);
                nv_chain_free(s->chains[i]);
        }
        for (size_t i = 0; i < N_GPUS; i++)
                free(s->parsed[i]);
        free(s);
        return 0;
}

/* The board as attested: switches[order[k]] in slot k, expected switches passed through. */
static bool sim_verify(Sim *s, const size_t *order, size_t n, unsigned expected, Verdict *v) {
        NvSwitchInput in[N_SWITCHES + 1];
        uint8_t nonces[N_SWITCHES + 1][NV_NONCE_SIZE];
        NvSwitchParams p = {.root_pins = &s->pin, .n_root_pins = 1, .at = 0, .nonces = (const uint8_t(*)[32]) nonces};
        bool authentic = false;

        p.at = (int64_t) time(NULL);
        for (size_t k = 0; k < n; k++) {
                in[k] = (NvSwitchInput){.report = s->reports[order[k]],
                                        .report_size = s->sizes[order[k]],
                                        .chain = s->chains[order[k]]};
                memcpy(nonces[k], s->nonces[order[k]], NV_NONCE_SIZE);
        }
        assert_int_equal(verdict_init(v, "nvidia-gpu"), 0);
        assert_int_equal(
                nv_switch_board_verify((const NvReport *const *) s->parsed, N_GPUS, in, n, expected, &p, &authentic, v),
                0);
        return authentic;
}

static const size_t in_order[] = {0, 1, 2, 3};

static void test_sim_good_board(void **state) {
        _cleanup_(verdict_done) Verdict v = {};
        json_object *sw = NULL;

        assert_true(sim_verify(*state, in_order, N_SWITCHES, N_SWITCHES, &v));
        want_check(&v, "nvswitch", CHECK_PASS, "all 4 NVSwitches");
        want_check(&v, "nvswitch.count", CHECK_PASS, NULL);
        want_check(&v, "nvswitch.topology", CHECK_PASS, NULL);
        want_check(&v, "nvswitch3.locked", CHECK_PASS, NULL);
        assert_int_equal(v.n_reasons, 0);
        assert_true(json_object_object_get_ex(v.claims, "nvswitches", &sw));
        assert_int_equal(json_object_array_length(sw), N_SWITCHES);
}

static void test_sim_bad_signature(void **state) {
        Sim *s = *state;
        _cleanup_(verdict_done) Verdict v = {};

        s->reports[1][s->sizes[1] - 10] ^= 0x01;
        assert_false(sim_verify(s, in_order, N_SWITCHES, N_SWITCHES, &v));
        s->reports[1][s->sizes[1] - 10] ^= 0x01;
        want_check(&v, "nvswitch1.report.signature", CHECK_FAIL, "does not verify");
        want_check(&v, "nvswitch", CHECK_FAIL, "NVSwitch 1 failed");
        want_check(&v, "nvswitch0.report.signature", CHECK_PASS, NULL);
}

static void test_sim_untrusted_chain(void **state) {
        Sim *s = *state;
        _cleanup_(verdict_done) Verdict v = {};
        GpuSim *other[1] = {};
        SwitchSim *stranger[1] = {};

        /* a switch of another (simulated) vendor root: genuine-looking, not pinned */
        assert_int_equal(gpu_sim_new_board(NULL, 1, other), 0);
        assert_int_equal(switch_sim_new_board(other[0], 1, stranger), 0);
        stranger[0]->pdi = s->switches[2]->pdi;
        memcpy(stranger[0]->gpu_pdis, s->switches[2]->gpu_pdis, sizeof(stranger[0]->gpu_pdis));
        sim_switch_evidence(s, 2, stranger[0]);
        assert_false(sim_verify(s, in_order, N_SWITCHES, N_SWITCHES, &v));
        sim_switch_evidence(s, 2, s->switches[2]);
        want_check(&v, "nvswitch2.chain", CHECK_FAIL, "not a pinned root");
        want_check(&v, "nvswitch", CHECK_FAIL, "NVSwitch 2 failed");
        switch_sim_board_free(stranger, 1);
        gpu_sim_board_free(other, 1);
}

static void test_sim_switch_not_named(void **state) {
        _cleanup_(verdict_done) Verdict v = {};
        const size_t order[] = {0, 1, 4, 3}; /* switch 4 is genuine, but not on these GPUs' fabric */

        assert_true(sim_verify(*state, order, N_SWITCHES, N_SWITCHES, &v));
        want_check(&v, "nvswitch.topology", CHECK_FAIL, "NVSwitch 2 (PDI");
        want_check(&v, "nvswitch.topology", CHECK_FAIL, "is not one of the NVSwitches the GPUs are linked to");
        want_check(&v, "nvswitch", CHECK_FAIL, "whole board is refused");
}

static void test_sim_switch_missing(void **state) {
        _cleanup_(verdict_done) Verdict v = {};

        sim_verify(*state, in_order, N_SWITCHES - 1, N_SWITCHES, &v);
        want_check(&v, "nvswitch.count", CHECK_FAIL, "3 NVSwitch reports for the 4 NVSwitches passed through");
        want_check(&v, "nvswitch.topology", CHECK_FAIL, "the GPUs name 4 NVSwitches and 3 are attested");
        want_check(&v, "nvswitch", CHECK_FAIL, NULL);
}

static void test_sim_switch_twice(void **state) {
        _cleanup_(verdict_done) Verdict v = {};
        const size_t order[] = {0, 1, 1, 3};

        sim_verify(*state, order, N_SWITCHES, N_SWITCHES, &v);
        want_check(&v, "nvswitch.topology", CHECK_FAIL, "attested twice");
}

static void test_sim_gpu_names_other_set(void **state) {
        Sim *s = *state;
        _cleanup_(verdict_done) Verdict v = {};

        /* GPU 3 links switches 1..4 (4 is not on the board), the others 0..3 */
        switch_sim_link_gpus(s->switches + 1, N_SWITCHES, s->gpus + 3, 1);
        sim_gpu_reports(s);
        sim_verify(s, in_order, N_SWITCHES, N_SWITCHES, &v);
        switch_sim_link_gpus(s->switches, N_SWITCHES, s->gpus + 3, 1);
        sim_gpu_reports(s);
        want_check(&v, "nvswitch.topology", CHECK_FAIL, "GPU 3 names other NVSwitches than GPU 0");
        want_check(&v, "nvswitch", CHECK_FAIL, NULL);
}

static void test_sim_stale_nonce(void **state) {
        Sim *s = *state;
        _cleanup_(verdict_done) Verdict v = {};

        s->nonces[0][5] ^= 1; /* the host expects another nonce than the switch signed */
        assert_false(sim_verify(s, in_order, N_SWITCHES, N_SWITCHES, &v));
        s->nonces[0][5] ^= 1;
        want_check(&v, "nvswitch0.nonce", CHECK_FAIL, "not the one derived for this switch");
        want_check(&v, "nvswitch", CHECK_FAIL, "NVSwitch 0 failed");
}

static void test_sim_unlocked_switch(void **state) {
        Sim *s = *state;
        _cleanup_(verdict_done) Verdict v = {};

        s->switches[3]->lock_status = 0;
        sim_switch_evidence(s, 3, s->switches[3]);
        s->switches[3]->lock_status = NV_SWITCH_LOCKED;
        assert_false(sim_verify(s, in_order, N_SWITCHES, N_SWITCHES, &v));
        sim_switch_evidence(s, 3, s->switches[3]);
        want_check(&v, "nvswitch3.locked", CHECK_FAIL, "LOCK_SWITCH_STATUS is 0");
}

static void test_sim_gpus_not_ppcie(void **state) {
        Sim *s = *state;
        _cleanup_(verdict_done) Verdict v = {};

        switch_sim_link_gpus(s->switches, 0, s->gpus, N_GPUS); /* no links: not PPCIe */
        sim_gpu_reports(s);
        sim_verify(s, in_order, N_SWITCHES, N_SWITCHES, &v);
        switch_sim_link_gpus(s->switches, N_SWITCHES, s->gpus, N_GPUS);
        sim_gpu_reports(s);
        want_check(&v, "nvswitch.topology", CHECK_FAIL, "GPU 0 is not in protected-PCIe mode");
}

static void test_no_switches(void **state) {
        Sim *s = *state;
        _cleanup_(verdict_done) Verdict v = {};

        switch_sim_link_gpus(s->switches, 0, s->gpus, N_GPUS); /* not PPCIe: nothing to attest */
        sim_gpu_reports(s);
        assert_true(sim_verify(s, in_order, 0, 0, &v));
        want_check(&v, "nvswitch", CHECK_SKIP, NULL);
        assert_int_equal(v.n_reasons, 0);
}

static void test_ppcie_without_switches(void **state) {
        _cleanup_(verdict_done) Verdict v = {};

        /* PPCIe GPUs trust their switches: none passed through and attested is a refusal */
        sim_verify(*state, in_order, 0, 0, &v);
        want_check(&v, "nvswitch", CHECK_FAIL, "GPU 0 is in protected-PCIe mode");
}

/* ---- the guest channel carries switch evidence ---- */

static void test_proto_switch_members(void **state) {
        ProtoMsg m = {.type = PROTO_EVIDENCE, .tee = CVM_TEE_SEV_SNP, .n_switches = 2}, back = {};
        _cleanup_free_ uint8_t *frame = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        uint8_t report[8] = {1, 2, 3}, a[32], b[32];
        char *why = NULL;
        size_t size;

        (void) state;
        m.report = (ProtoBlob){report, sizeof(report)};
        for (size_t i = 0; i < 2; i++) {
                m.switch_reports[i] = (ProtoBlob){report, sizeof(report)};
                m.switch_chains[i] = (ProtoBlob){(uint8_t *) "-", 1};
        }
        assert_int_equal(proto_frame_encode(&m, &frame, &size), 0);
        assert_int_equal(proto_frame_decode(frame, size, &back, &why), 0);
        assert_int_equal(back.n_switches, 2);
        assert_memory_equal(back.switch_reports[1].data, report, sizeof(report));
        proto_msg_done(&back);
        /* reports without chains are refused */
        assert_int_equal(proto_msg_to_json(&m, &o), 0);
        json_object_object_del(o, "switch_chains");
        assert_int_equal(proto_msg_from_json(o, &back, &why), -EBADMSG);
        assert_non_null(strstr(why, "switch_reports and switch_chains"));
        free(why);
        proto_msg_done(&back);
        /* one nonce per switch, none a GPU's */
        proto_switch_nonce(m.nonce, m.pubkey, 0, a);
        proto_switch_nonce(m.nonce, m.pubkey, 1, b);
        assert_memory_not_equal(a, b, 32);
        proto_gpu_nonce(m.nonce, m.pubkey, 0, "0000:e1:00.0", PROTO_GPU_CC_ON, b);
        assert_memory_not_equal(a, b, 32);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_switch_reports),
                cmocka_unit_test(test_real_switch_parse_refusals),
                cmocka_unit_test(test_real_board_topology),
                cmocka_unit_test(test_proto_switch_members),
                cmocka_unit_test_setup_teardown(test_sim_good_board, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_bad_signature, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_untrusted_chain, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_switch_not_named, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_switch_missing, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_switch_twice, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_gpu_names_other_set, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_stale_nonce, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_unlocked_switch, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_sim_gpus_not_ppcie, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_no_switches, sim_setup, sim_teardown),
                cmocka_unit_test_setup_teardown(test_ppcie_without_switches, sim_setup, sim_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
