/* SPDX-License-Identifier: Apache-2.0 */
/* The NVIDIA GPU simulator against the real verifier: its reports and chain verify with
 * nv_verify_gpus() only when the simulator's root is pinned; a changed byte anywhere in a report
 * is refused; a wrong nonce, a foreign chain and measurements off the golden list are refused; the
 * files gpu_sim_write() writes load back (key 0600) and make reports that verify against the
 * written golden list; the policy's gpu.trusted_simulator_roots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cvm/gpu-sim.h"
#include "cvm/policy.h"
#include "cvm/util.h"

typedef struct Fixture {
        GpuSim *sim;
        NvPin pins[2]; /* NVIDIA's, the simulator's */
        NvGolden *golden;
        uint8_t nonce[NV_NONCE_SIZE];
        int64_t now;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *golden = NULL;

        assert_non_null(f);
        assert_int_equal(gpu_sim_new(NULL, &f->sim), 0);
        memcpy(f->pins[0].spki_sha256, nv_device_root_spki_sha256, 32);
        assert_int_equal(gpu_sim_root_pin(f->sim, &f->pins[1]), 0);
        assert_int_equal(gpu_sim_golden_json(f->sim, &golden), 0);
        assert_int_equal(nv_golden_parse(golden, strlen(golden), &f->golden, NULL), 0);
        for (size_t i = 0; i < NV_NONCE_SIZE; i++)
                f->nonce[i] = (uint8_t) (0xA0 + i);
        f->now = (int64_t) time(NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        gpu_sim_free(f->sim);
        nv_golden_free(f->golden);
        free(f);
        return 0;
}

/* One board verification: returns whether it would be accepted (authentic, measurements match,
 * no failed check), and the verdict for inspection. */
static bool verify(const Fixture *f, const uint8_t *const *reports, const size_t *sizes, const GpuSim *const *chains_of,
                   size_t n, const NvPin *pins, size_t n_pins, const uint8_t (*nonces)[NV_NONCE_SIZE],
                   const NvGolden *golden, Verdict *v) {
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        NvGpuInput in[8] = {};
        NvChain *chains[8] = {};
        NvBoardParams p = {
                .gpu = {.root_pins = pins, .n_root_pins = n_pins, .at = f->now}, .nonces = nonces, .golden = golden};
        bool ok;

        assert_true(n <= 8);
        assert_int_equal(verdict_init(v, "nvidia-gpu"), 0);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ uint8_t *pem = NULL;
                size_t size;

                assert_int_equal(gpu_sim_chain_pem(chains_of[i], &pem, &size), 0);
                assert_int_equal(nv_chain_new(pem, size, &chains[i]), 0);
                in[i] = (NvGpuInput){.report = reports[i], .report_size = sizes[i], .chain = chains[i]};
        }
        assert_int_equal(nv_verify_gpus(in, n, &p, &b, v), 0);
        ok = v->authentic && b.measurements == NV_MEAS_MATCH && !verdict_has_failed_check(v);
        for (size_t i = 0; i < n; i++)
                nv_chain_free(chains[i]);
        return ok;
}

static bool verify_one(const Fixture *f, const uint8_t *report, size_t size, const NvPin *pins, size_t n_pins,
                       const NvGolden *golden, Verdict *v) {
        const uint8_t(*nonces)[NV_NONCE_SIZE] = (const uint8_t(*)[NV_NONCE_SIZE]) f->nonce;
        const GpuSim *sims[1] = {f->sim};

        return verify(f, &report, &size, sims, 1, pins, n_pins, nonces, golden, v);
}

static void check_status(const Verdict *v, const char *name, CheckStatus want) {
        const Check *c = verdict_find_check(v, name);

        if (!c)
                fail_msg("no check %s", name);
        if (c->status != want)
                fail_msg("%s: %s (%s), expected %s", name, check_status_to_string(c->status), c->detail,
                         check_status_to_string(want));
}

static void test_report_format(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint8_t *rep = NULL;
        _cleanup_free_ NvReport *r = calloc(1, sizeof(NvReport));
        _cleanup_free_ char *reason = NULL, *drv = NULL, *vb = NULL;
        uint8_t leaf_fwid[NV_FWID_SIZE];
        size_t size;

        assert_non_null(r);
        assert_int_equal(gpu_sim_report(f->sim, f->nonce, &rep, &size), 0);
        if (nv_report_parse(rep, size, r, &reason) < 0)
                fail_msg("parse: %s", reason);
        /* The layout of a real H100 report: 64 blocks of 55 bytes, request nonce at 4..35. */
        assert_memory_equal(rep, ((const uint8_t[]){0x11, 0xE0, 0x01, 0xFF}), 4);
        assert_memory_equal(rep + 4, f->nonce, NV_NONCE_SIZE);
        assert_memory_equal(r->nonce, f->nonce, NV_NONCE_SIZE);
        assert_int_equal(r->n_blocks, GPU_SIM_BLOCKS);
        assert_int_equal(r->opaque_offset, 45 + 64 * 55 + 32 + 2);
        assert_int_equal(r->signed_size + NV_SIGNATURE_SIZE, size);
        assert_string_equal(r->driver_version, "550.90.07");
        assert_string_equal(r->vbios_version, "96.00.9F.00.01");
        assert_true(r->has_nvdec0_status && r->nvdec0_status == NV_NVDEC_ENABLED);
        assert_true(r->has_fwid);
        assert_int_equal(nv_leaf_fwid(f->sim->certs[0], leaf_fwid), 1);
        assert_memory_equal(r->fwid, leaf_fwid, NV_FWID_SIZE);
        assert_memory_equal(r->fwid, f->sim->fwid, NV_FWID_SIZE);
        assert_int_equal(nv_report_driver_rim_id(r, &drv), 0);
        assert_string_equal(drv, "NV_GPU_DRIVER_GH100_550.90.07");
        assert_int_equal(nv_report_vbios_rim_id(r, &vb), 0);
        assert_string_equal(vb, "NV_GPU_VBIOS_G520_0200_882_96009F0001");
        assert_memory_equal(nv_report_block(r, 1)->value, f->sim->measurements[0], 48);
}

static void test_accepted_only_when_pinned(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint8_t *rep = NULL;
        _cleanup_(verdict_done) Verdict v1 = {}, v2 = {}, v3 = {};
        size_t size;

        assert_int_equal(gpu_sim_report(f->sim, f->nonce, &rep, &size), 0);
        assert_true(verify_one(f, rep, size, f->pins, 2, f->golden, &v1));
        check_status(&v1, "gpu0.chain", CHECK_PASS);
        check_status(&v1, "gpu0.report.signature", CHECK_PASS);
        check_status(&v1, "gpu0.fwid", CHECK_PASS);
        check_status(&v1, "gpu0.nonce", CHECK_PASS);
        check_status(&v1, "gpu0.measurements", CHECK_PASS);

        /* NVIDIA's root only (explicit, and the default): the simulated chain is refused. */
        assert_false(verify_one(f, rep, size, f->pins, 1, f->golden, &v2));
        assert_false(v2.authentic);
        check_status(&v2, "gpu0.chain", CHECK_FAIL);
        assert_false(verify_one(f, rep, size, NULL, 0, f->golden, &v3));
        check_status(&v3, "gpu0.chain", CHECK_FAIL);
}

static void test_every_byte_changed_refused(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint8_t *rep = NULL;
        size_t size, refused = 0, tried = 0;

        assert_int_equal(gpu_sim_report(f->sim, f->nonce, &rep, &size), 0);
        /* Every byte of the request, headers, the responder nonce and opaque data, the signature;
         * every 5th byte of the long measurement record. */
        for (size_t i = 0; i < size; i++) {
                _cleanup_(verdict_done) Verdict v = {};

                if (i >= 45 + 32 && i < 45 + 64 * 55 && i % 5 != 0)
                        continue;
                rep[i] ^= 0x01;
                tried++;
                if (!verify_one(f, rep, size, f->pins, 2, f->golden, &v) && !v.authentic)
                        refused++;
                else
                        fail_msg("byte %zu flipped: accepted", i);
                rep[i] ^= 0x01;
        }
        assert_int_equal(refused, tried);
}

static void test_nonce_mismatch(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint8_t *rep = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        uint8_t other[NV_NONCE_SIZE];
        size_t size;

        memcpy(other, f->nonce, NV_NONCE_SIZE);
        other[31] ^= 0x80;
        assert_int_equal(gpu_sim_report(f->sim, other, &rep, &size), 0);
        assert_false(verify_one(f, rep, size, f->pins, 2, f->golden, &v));
        assert_false(v.authentic);
        check_status(&v, "gpu0.nonce", CHECK_FAIL);
        check_status(&v, "gpu0.report.signature", CHECK_PASS);
}

static void test_foreign_chain_and_golden(void **state) {
        Fixture *f = *state;
        _cleanup_(gpu_sim_freep) GpuSim *other = NULL;
        _cleanup_free_ uint8_t *rep = NULL;
        _cleanup_(verdict_done) Verdict v1 = {}, v2 = {};
        _cleanup_(nv_golden_freep) NvGolden *g = NULL;
        _cleanup_free_ char *golden = NULL;
        const uint8_t(*nonces)[NV_NONCE_SIZE] = (const uint8_t(*)[NV_NONCE_SIZE]) f->nonce;
        const GpuSim *sims[1];
        const uint8_t *reports[1];
        size_t size;
        char *p;

        assert_int_equal(gpu_sim_new(NULL, &other), 0);
        assert_int_equal(gpu_sim_report(f->sim, f->nonce, &rep, &size), 0);
        /* The report with another simulated GPU's chain (its root pinned too): signature and FWID fail. */
        {
                NvPin pins[2] = {f->pins[1]};
                assert_int_equal(gpu_sim_root_pin(other, &pins[1]), 0);
                sims[0] = other;
                reports[0] = rep;
                assert_false(verify(f, reports, &size, sims, 1, pins, 2, nonces, f->golden, &v1));
                check_status(&v1, "gpu0.chain", CHECK_PASS);
                check_status(&v1, "gpu0.report.signature", CHECK_FAIL);
                check_status(&v1, "gpu0.fwid", CHECK_FAIL);
        }
        /* One golden value changed: measurements mismatch at that index, authentic still. */
        assert_int_equal(gpu_sim_golden_json(f->sim, &golden), 0);
        p = strstr(golden, "\"index\": 7,");
        assert_non_null(p);
        p = strchr(p, '[');
        assert_non_null(p);
        p = strchr(p, '"'); /* the first digest's opening quote */
        assert_non_null(p);
        p[1] = p[1] == '0' ? '1' : '0';
        assert_int_equal(nv_golden_parse(golden, strlen(golden), &g, NULL), 0);
        assert_false(verify_one(f, rep, size, f->pins, 2, g, &v2));
        assert_true(v2.authentic);
        check_status(&v2, "gpu0.measurements", CHECK_FAIL);
        assert_non_null(strstr(verdict_find_check(&v2, "gpu0.measurements")->detail, "7 (golden)"));
}

static void test_eight_gpus(void **state) {
        Fixture *f = *state;
        uint8_t nonces[8][NV_NONCE_SIZE];
        uint8_t *reports[8] = {};
        size_t sizes[8];
        const GpuSim *sims[8];
        _cleanup_(verdict_done) Verdict v = {}, v2 = {};

        for (size_t i = 0; i < 8; i++) {
                memset(nonces[i], (int) (i + 1), NV_NONCE_SIZE);
                assert_int_equal(gpu_sim_report(f->sim, nonces[i], &reports[i], &sizes[i]), 0);
                sims[i] = f->sim;
        }
        assert_true(verify(f, (const uint8_t *const *) reports, sizes, sims, 8, f->pins, 2,
                           (const uint8_t(*)[NV_NONCE_SIZE]) nonces, f->golden, &v));
        check_status(&v, "gpu7.nonce", CHECK_PASS);
        /* GPU 3's and GPU 4's reports swapped: each nonce is wrong. */
        {
                uint8_t *t = reports[3];
                size_t ts = sizes[3];
                reports[3] = reports[4], sizes[3] = sizes[4];
                reports[4] = t, sizes[4] = ts;
        }
        assert_false(verify(f, (const uint8_t *const *) reports, sizes, sims, 8, f->pins, 2,
                            (const uint8_t(*)[NV_NONCE_SIZE]) nonces, f->golden, &v2));
        check_status(&v2, "gpu3.nonce", CHECK_FAIL);
        check_status(&v2, "gpu4.nonce", CHECK_FAIL);
        check_status(&v2, "gpu5.nonce", CHECK_PASS);
        for (size_t i = 0; i < 8; i++)
                free(reports[i]);
}

/* Removes what gpu_sim_write() wrote into base/gpu, and base. */
static void remove_sim(const char *base) {
        static const char *const files[] = {"chain.pem", "leaf-key.pem", "golden.json", "pci-address", "cc-mode"};

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = strdup_printf("%s/gpu/%s", base, files[i]);
                assert_int_equal(unlink(p), 0);
        }
        {
                _cleanup_free_ char *p = strdup_printf("%s/gpu", base);
                assert_int_equal(rmdir(p), 0);
        }
        assert_int_equal(rmdir(base), 0);
}

static void test_write_load(void **state) {
        Fixture *f = *state;
        char tmpl[] = "/tmp/test-gpu-sim-XXXXXX";
        _cleanup_free_ char *dir = NULL, *key = NULL, *gpath = NULL;
        _cleanup_(gpu_sim_freep) GpuSim *loaded = NULL, *other = NULL;
        _cleanup_(nv_golden_freep) NvGolden *g = NULL;
        _cleanup_free_ uint8_t *gdata = NULL, *rep = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        struct stat st;
        size_t gsize, size;

        assert_non_null(mkdtemp(tmpl));
        dir = strdup_printf("%s/gpu", tmpl);
        key = strdup_printf("%s/leaf-key.pem", dir);
        gpath = strdup_printf("%s/golden.json", dir);
        assert_int_equal(gpu_sim_write(f->sim, dir), 0);
        assert_int_equal(stat(key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);

        assert_int_equal(gpu_sim_load(dir, &loaded), 0);
        assert_null(loaded->ca_keys[0]);
        assert_memory_equal(loaded->fwid, f->sim->fwid, NV_FWID_SIZE);
        assert_int_equal(read_file_bounded(gpath, 1 << 20, &gdata, &gsize), 0);
        assert_int_equal(nv_golden_parse((const char *) gdata, gsize, &g, NULL), 0);
        assert_int_equal(gpu_sim_report(loaded, f->nonce, &rep, &size), 0);
        assert_true(verify_one(f, rep, size, f->pins, 2, g, &v));

        /* The driver's claims are read strictly: an address in another spelling, an unknown mode. */
        {
                _cleanup_free_ char *pa = strdup_printf("%s/pci-address", dir), *cm = strdup_printf("%s/cc-mode", dir);
                GpuSim *bad = NULL;

                assert_string_equal(loaded->pci_address, "0000:e1:00.0");
                assert_int_equal(loaded->cc_mode, PROTO_GPU_CC_ON);
                assert_int_equal(write_file_atomic(pa, "0000:E1:00.0\n", 13, 0644), 0);
                assert_int_equal(gpu_sim_load(dir, &bad), -EBADMSG);
                assert_int_equal(write_file_atomic(pa, "0000:e1:00.0\n", 13, 0644), 0);
                assert_int_equal(write_file_atomic(cm, "maybe\n", 6, 0644), 0);
                assert_int_equal(gpu_sim_load(dir, &bad), -EBADMSG);
                assert_int_equal(write_file_atomic(cm, "devtools\n", 9, 0644), 0);
                assert_int_equal(gpu_sim_load(dir, &bad), 0);
                assert_int_equal(bad->cc_mode, PROTO_GPU_CC_DEVTOOLS);
                gpu_sim_free(bad);
        }

        /* Another simulator's key in place of the leaf key: refused. */
        assert_int_equal(gpu_sim_new(NULL, &other), 0);
        {
                char tmpl2[] = "/tmp/test-gpu-sim-XXXXXX";
                _cleanup_free_ char *d2 = NULL, *k2 = NULL;
                _cleanup_free_ uint8_t *kd = NULL;
                GpuSim *bad = NULL;
                size_t ks;

                assert_non_null(mkdtemp(tmpl2));
                d2 = strdup_printf("%s/gpu", tmpl2);
                k2 = strdup_printf("%s/leaf-key.pem", d2);
                assert_int_equal(gpu_sim_write(other, d2), 0);
                assert_int_equal(read_file_bounded(k2, 1 << 16, &kd, &ks), 0);
                assert_int_equal(write_file_atomic(key, kd, ks, 0600), 0);
                assert_int_equal(gpu_sim_load(dir, &bad), -EBADMSG);
                assert_null(bad);
                remove_sim(tmpl2);
        }
        remove_sim(tmpl);
        assert_int_equal(gpu_sim_load("/nonexistent/gpu", &loaded) < 0, true);
}

static void test_policy_roots(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *hex = hex_encode(f->pins[1].spki_sha256, 32), *json = NULL, *reason = NULL;
        _cleanup_(policy_freep) Policy *p = NULL, *bad = NULL;
        _cleanup_free_ NvPin *pins = NULL, *def = NULL;
        size_t n;

        json = strdup_printf("{\"gpu\": {\"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}]}}", hex);
        assert_int_equal(policy_parse(json, strlen(json), &p, &reason), 0);
        assert_int_equal(policy_gpu_pins(p, &pins, &n), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(pins[0].spki_sha256, nv_device_root_spki_sha256, 32);
        assert_memory_equal(pins[1].spki_sha256, f->pins[1].spki_sha256, 32);
        assert_int_equal(policy_gpu_pins(NULL, &def, &n), 0);
        assert_int_equal(n, 1);

        free(json);
        json = strdup_printf("{\"gpu\": {\"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}, "
                             "{\"spki_sha256\": \"%s\"}]}}",
                             hex, hex);
        assert_int_equal(policy_parse(json, strlen(json), &bad, &reason), -EINVAL);
        assert_non_null(strstr(reason, "more than once"));
        free(json);
        free(reason);
        reason = NULL;
        json = strdup("{\"gpu\": {\"trusted_simulator_roots\": [{\"spki_sha256\": \"00\"}]}}");
        assert_int_equal(policy_parse(json, strlen(json), &bad, &reason), -EINVAL);
        assert_non_null(strstr(reason, "gpu.trusted_simulator_roots"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_report_format),
                cmocka_unit_test(test_accepted_only_when_pinned),
                cmocka_unit_test(test_every_byte_changed_refused),
                cmocka_unit_test(test_nonce_mismatch),
                cmocka_unit_test(test_foreign_chain_and_golden),
                cmocka_unit_test(test_eight_gpus),
                cmocka_unit_test(test_write_load),
                cmocka_unit_test(test_policy_roots),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
