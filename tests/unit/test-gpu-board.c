/* SPDX-License-Identifier: Apache-2.0 */
/* A board of GPUs: one device per GPU (nv_board_distinct()) and the protected-PCIe topology rule
 * (nv_board_topology()), on the eight real reports of an 8-GPU PPCIe HGX board ($CVM_VECTORS,
 * else ../shared/vectors; skipped without them) and on a simulated board: the real board's eight
 * devices are eight, and its GPUs name the same four NVSwitches; one chain twice, a GPU that names
 * another switch, a board of seven and a GPU out of PPCIe mode are refused; NVSwitches passed
 * through are left to their own attestation (test-nvswitch.c). The simulated board has a device identity per GPU, unless told to share one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/gpu-sim.h"
#include "cvm/gpu.h"
#include "cvm/util.h"

#define PPCIE_CASE "nvtrust_ppcie_h100_590.12_gpu%zu"

typedef struct Board {
        uint8_t *reports[NV_PPCIE_GPUS];
        size_t sizes[NV_PPCIE_GPUS];
        NvChain *chains[NV_PPCIE_GPUS];
        NvReport *parsed[NV_PPCIE_GPUS];
        bool loaded;
} Board;

static char *vector_path(size_t i, const char *file) {
        const char *root = getenv("CVM_VECTORS");
        _cleanup_free_ char *dir = strdup_printf(PPCIE_CASE, i);
        return dir ? strdup_printf("%s/nvidia/%s/%s", root && *root ? root : "../shared/vectors", dir, file) : NULL;
}

static int setup(void **state) {
        Board *b = calloc(1, sizeof(Board));

        assert_non_null(b);
        b->loaded = true;
        for (size_t i = 0; i < NV_PPCIE_GPUS && b->loaded; i++) {
                _cleanup_free_ char *rp = vector_path(i, "report.bin"), *cp = vector_path(i, "chain.pem");
                _cleanup_free_ uint8_t *pem = NULL;
                size_t size;

                if (read_file_bounded(rp, CVM_INPUT_MAX, &b->reports[i], &b->sizes[i]) < 0 ||
                    read_file_bounded(cp, CVM_INPUT_MAX, &pem, &size) < 0) {
                        b->loaded = false;
                        break;
                }
                assert_int_equal(nv_chain_new(pem, size, &b->chains[i]), 0);
                b->parsed[i] = calloc(1, sizeof(NvReport));
                assert_non_null(b->parsed[i]);
                assert_int_equal(nv_report_parse(b->reports[i], b->sizes[i], b->parsed[i], NULL), 0);
        }
        *state = b;
        return 0;
}

static int teardown(void **state) {
        Board *b = *state;

        for (size_t i = 0; i < NV_PPCIE_GPUS; i++) {
                free(b->reports[i]);
                nv_chain_free(b->chains[i]);
                free(b->parsed[i]);
        }
        free(b);
        return 0;
}

static Board *board_or_skip(void **state) {
        Board *b = *state;

        if (!b->loaded)
                skip();
        return b;
}

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

/* ---- one device per GPU ---- */

static void test_real_board_is_eight_devices(void **state) {
        Board *b = board_or_skip(state);
        _cleanup_(verdict_done) Verdict v = {};
        NvGpuInput in[NV_PPCIE_GPUS];

        for (size_t i = 0; i < NV_PPCIE_GPUS; i++) {
                in[i] = (NvGpuInput) {.report = b->reports[i], .report_size = b->sizes[i], .chain = b->chains[i]};
                /* the FWID is the firmware's: the same on all eight, and no identity */
                assert_memory_equal(b->parsed[i]->fwid, b->parsed[0]->fwid, NV_FWID_SIZE);
        }
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_board_distinct(in, NV_PPCIE_GPUS, &v), 0);
        want_check(&v, "gpu.distinct", CHECK_PASS, NULL);
}

static void test_one_chain_twice(void **state) {
        Board *b = board_or_skip(state);
        _cleanup_(verdict_done) Verdict v = {};
        NvGpuInput in[3];

        for (size_t i = 0; i < 3; i++)
                in[i] = (NvGpuInput) {.report = b->reports[i], .report_size = b->sizes[i], .chain = b->chains[i]};
        in[2].chain = b->chains[1];
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_board_distinct(in, 3, &v), 0);
        want_check(&v, "gpu.distinct", CHECK_FAIL, "GPU 1 and GPU 2 are one device");
        assert_true(v.n_reasons > 0);
}

static void test_one_gpu_nothing_to_compare(void **state) {
        _cleanup_(verdict_done) Verdict v = {};
        NvGpuInput in = {};

        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_board_distinct(&in, 1, &v), 0);
        want_check(&v, "gpu.distinct", CHECK_SKIP, NULL);
}

/* ---- the protected-PCIe topology ---- */

static void topology(Board *b, size_t n, unsigned switches, Verdict *v) {
        assert_int_equal(verdict_init(v, "nvidia-gpu"), 0);
        assert_int_equal(nv_board_topology((const NvReport *const *) b->parsed, n, switches, v), 0);
}

static void test_real_board_topology(void **state) {
        Board *b = board_or_skip(state);
        _cleanup_(verdict_done) Verdict v = {};
        json_object *pdis;

        for (size_t i = 0; i < NV_PPCIE_GPUS; i++)
                assert_int_equal(b->parsed[i]->n_switch_pdis, 18);
        topology(b, NV_PPCIE_GPUS, 0, &v);
        want_check(&v, "board.ppcie", CHECK_PASS, "same 4 NVSwitches");
        want_check(&v, "nvswitch", CHECK_SKIP, NULL);
        assert_int_equal(v.n_reasons, 0);
        assert_true(json_object_object_get_ex(v.claims, "nvswitch_pdis", &pdis));
        assert_int_equal(json_object_array_length(pdis), 4);
}

static void test_gpu_naming_another_switch(void **state) {
        Board *b = board_or_skip(state);
        _cleanup_(verdict_done) Verdict v = {};
        uint8_t saved[18][NV_PDI_SIZE], other[NV_PDI_SIZE];

        /* GPU 5's links to one switch go to a switch no other GPU names */
        memcpy(saved, b->parsed[5]->switch_pdis, sizeof(saved));
        memcpy(other, saved[0], NV_PDI_SIZE);
        for (size_t k = 0; k < 18; k++)
                if (memcmp(saved[k], other, NV_PDI_SIZE) == 0)
                        b->parsed[5]->switch_pdis[k][0] ^= 0x5a;
        topology(b, NV_PPCIE_GPUS, 0, &v);
        memcpy(b->parsed[5]->switch_pdis, saved, sizeof(saved));
        want_check(&v, "board.ppcie", CHECK_FAIL, "GPU 5 names other NVSwitches than GPU 0");
}

static void test_gpu_naming_fewer_switches(void **state) {
        Board *b = board_or_skip(state);
        _cleanup_(verdict_done) Verdict v = {};
        uint8_t saved[18][NV_PDI_SIZE];
        uint8_t drop[NV_PDI_SIZE];

        /* one switch's links disabled (zero PDIs): the GPU sees three switches */
        memcpy(saved, b->parsed[2]->switch_pdis, sizeof(saved));
        memcpy(drop, b->parsed[2]->switch_pdis[0], NV_PDI_SIZE);
        for (size_t k = 0; k < 18; k++)
                if (memcmp(b->parsed[2]->switch_pdis[k], drop, NV_PDI_SIZE) == 0)
                        memset(b->parsed[2]->switch_pdis[k], 0, NV_PDI_SIZE);
        topology(b, NV_PPCIE_GPUS, 0, &v);
        memcpy(b->parsed[2]->switch_pdis, saved, sizeof(saved));
        want_check(&v, "board.ppcie", CHECK_FAIL, "GPU 2 names 3 distinct NVSwitches");
}

static void test_seven_gpus_of_a_ppcie_board(void **state) {
        Board *b = board_or_skip(state);
        _cleanup_(verdict_done) Verdict v = {};

        topology(b, NV_PPCIE_GPUS - 1, 0, &v);
        want_check(&v, "board.ppcie", CHECK_FAIL, "whole 8-GPU board, and 7 were attested");
}

static void test_gpu_out_of_ppcie_mode(void **state) {
        Board *b = board_or_skip(state);
        _cleanup_(verdict_done) Verdict v = {};
        NvReport saved = *b->parsed[3];

        b->parsed[3]->feature_flag = 0;
        b->parsed[3]->protected_pcie_status = 0x55;
        topology(b, NV_PPCIE_GPUS, 0, &v);
        *b->parsed[3] = saved;
        want_check(&v, "board.ppcie", CHECK_FAIL, "GPU 3 does not");
}

static void test_switches_passed_through(void **state) {
        Board *b = board_or_skip(state);
        _cleanup_(verdict_done) Verdict v = {};

        topology(b, NV_PPCIE_GPUS, 4, &v);
        want_check(&v, "board.ppcie", CHECK_PASS, NULL);
        /* the switches' own attestation is nv_switch_board_verify()'s (test-nvswitch.c) */
        assert_null(verdict_find_check(&v, "nvswitch"));
}

/* ---- the simulated board ---- */

static void test_sim_board(void **state) {
        GpuSim *board[4] = {};
        NvChain *chains[4] = {};
        NvGpuInput in[4] = {};
        _cleanup_(verdict_done) Verdict v = {}, shared = {};
        char dir[] = "/tmp/cvmd-test-gpu-board-XXXXXX", cmd[128];
        NvPin root0, root3;

        assert_int_equal(gpu_sim_new_board(NULL, 4, board), 0);
        assert_int_equal(gpu_sim_root_pin(board[0], &root0), 0);
        assert_int_equal(gpu_sim_root_pin(board[3], &root3), 0);
        assert_memory_equal(&root0, &root3, sizeof(root0)); /* one root: one policy entry trusts all */
        assert_memory_equal(board[0]->fwid, board[3]->fwid, NV_FWID_SIZE); /* one firmware */
        assert_string_equal(board[0]->pci_address, "0000:e1:00.0");
        assert_string_equal(board[3]->pci_address, "0000:e4:00.0");
        assert_non_null(mkdtemp(dir));

        /* as written: four devices; with the fault, one */
        for (int fault = 0; fault < 2; fault++) {
                assert_int_equal(gpu_sim_write_board(board, 4, fault, dir), 0);
                for (size_t i = 0; i < 4; i++) {
                        _cleanup_(gpu_sim_freep) GpuSim *g = NULL;
                        _cleanup_free_ char *sub = NULL;
                        _cleanup_free_ uint8_t *pem = NULL;
                        size_t size;

                        assert_int_equal(gpu_sim_board_gpu_dir(dir, i, &sub), 0);
                        assert_int_equal(gpu_sim_load(sub, &g), 0);
                        assert_string_equal(g->pci_address, board[i]->pci_address); /* its own place either way */
                        assert_int_equal(gpu_sim_chain_pem(g, &pem, &size), 0);
                        nv_chain_free(chains[i]);
                        assert_int_equal(nv_chain_new(pem, size, &chains[i]), 0);
                        in[i].chain = chains[i];
                }
                assert_int_equal(verdict_init(fault ? &shared : &v, "nvidia-gpu"), 0);
                assert_int_equal(nv_board_distinct(in, 4, fault ? &shared : &v), 0);
        }
        want_check(&v, "gpu.distinct", CHECK_PASS, NULL);
        want_check(&shared, "gpu.distinct", CHECK_FAIL, "GPU 0 and GPU 1 are one device");

        for (size_t i = 0; i < 4; i++)
                nv_chain_free(chains[i]);
        gpu_sim_board_free(board, 4);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_board_is_eight_devices), cmocka_unit_test(test_one_chain_twice),
                cmocka_unit_test(test_one_gpu_nothing_to_compare),  cmocka_unit_test(test_real_board_topology),
                cmocka_unit_test(test_gpu_naming_another_switch),   cmocka_unit_test(test_gpu_naming_fewer_switches),
                cmocka_unit_test(test_seven_gpus_of_a_ppcie_board), cmocka_unit_test(test_gpu_out_of_ppcie_mode),
                cmocka_unit_test(test_switches_passed_through),     cmocka_unit_test(test_sim_board),
        };
        return cmocka_run_group_tests_name("gpu-board", tests, setup, teardown);
}
