/* SPDX-License-Identifier: Apache-2.0 */
/* RIMs and OCSP for a board through the host's collateral provider (collateral_gpu_source()) in
 * its event mode, as a launch's appraisal gets them: on an empty cache both RIMs the real 2023
 * report names are asked for at once and the lookup answers -EINPROGRESS (no verdict); when the
 * fetches end (here: refused by a closed local port) the next lookup fails "rim.fetch" with the
 * fetch's reason and its backoff; with the RIMs in the cache they load and the measurements
 * match; OCSP with nothing cached is in flight, then a failed check; offline, an empty cache is a
 * refusal that says so, never a fetch; NVSwitch chains go through the same source. Real evidence from $CVM_VECTORS (else ../shared/vectors;
 * skipped without it); nothing but 127.0.0.1:9. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/collateral.h"
#include "cvm/gpu.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"

#define CASE "nvtrust_2023_h100_545.00"
#define DRIVER_RIM "NV_GPU_DRIVER_GH100_545.00"
#define VBIOS_RIM "NV_GPU_VBIOS_1010_0200_882_96005E0001"
#define AT 1704067200 /* 2024-01-01: inside the RIM signers' validity */

typedef struct Fixture {
        uint8_t *report;
        size_t size;
        NvChain *chain;
        char cache[64];
} Fixture;

static char *vector(const char *rel) {
        const char *root = getenv("CVM_VECTORS");
        return strdup_printf("%s/nvidia/" CASE "/%s", root && *root ? root : "../shared/vectors", rel);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        _cleanup_free_ char *rp = vector("report.bin"), *cp = vector("chain.pem");
        _cleanup_free_ uint8_t *pem = NULL;
        size_t size;

        assert_non_null(f);
        snprintf(f->cache, sizeof(f->cache), "/tmp/cvmd-test-gpu-collateral-XXXXXX");
        assert_non_null(mkdtemp(f->cache));
        if (read_file_bounded(rp, CVM_INPUT_MAX, &f->report, &f->size) >= 0 &&
            read_file_bounded(cp, CVM_INPUT_MAX, &pem, &size) >= 0)
                assert_int_equal(nv_chain_new(pem, size, &f->chain), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->cache);
        assert_int_equal(system(cmd), 0);
        free(f->report);
        nv_chain_free(f->chain);
        free(f);
        return 0;
}

static Fixture *fixture_or_skip(void **state) {
        Fixture *f = *state;

        if (!f->chain)
                skip();
        return f;
}

/* Runs the loop until the provider has no fetch in flight. */
static void run_until_idle(sd_event *e, Collateral *c) {
        CollateralStats st;

        for (int i = 0; i < 200; i++) {
                collateral_stats(c, &st);
                if (st.in_flight == 0)
                        return;
                assert_true(sd_event_run(e, 100000) >= 0);
        }
        fail_msg("the fetches did not end");
}

static void put_rims(const Fixture *f) {
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *src = NULL, *dst = NULL, *dir = strdup_printf("%s/nvidia/rim", f->cache);
                _cleanup_free_ uint8_t *xml = NULL;
                size_t size;
                const char *id = i ? VBIOS_RIM : DRIVER_RIM;

                src = vector(i ? "rims/" VBIOS_RIM ".xml" : "rims/" DRIVER_RIM ".xml");
                dst = strdup_printf("%s/%s.xml", dir, id);
                assert_int_equal(read_file_bounded(src, NV_RIM_SIZE_MAX, &xml, &size), 0);
                assert_int_equal(mkdir_p(dir, 0755), 0);
                assert_int_equal(write_file_atomic(dst, xml, size, 0644), 0);
        }
}

/* The host's provider in its event mode, as a launch's appraisal has it, and its GPU source. */
static void event_source(const CollateralConfig *cc, sd_event **e, Collateral **c, NvSource *src) {
        assert_int_equal(sd_event_new(e), 0);
        assert_int_equal(collateral_new_event(cc, *e, c), 0);
        collateral_gpu_source(*c, NULL, NULL, src);
}

static void test_rims_in_flight_then_cached(void **state) {
        Fixture *f = fixture_or_skip(state);
        CollateralConfig cc = {.cache_dir = f->cache, .nvidia_rim_url = "http://127.0.0.1:9", .timeout_sec = 2};
        NvGpuInput in[2] = {{.report = f->report, .report_size = f->size, .chain = f->chain},
                            {.report = f->report, .report_size = f->size, .chain = f->chain}};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(nv_rim_set_done) NvRimSet set = {}, failed = {}, cached = {};
        _cleanup_(verdict_done) Verdict v = {}, v1 = {}, v2 = {};
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        NvBoardParams p = {.gpu = {.at = AT}};
        CollateralStats st;
        NvSource src;
        const Check *k;

        event_source(&cc, &e, &c, &src);

        /* nothing cached: both ids asked for at once; the second GPU names the same two and joins
         * their fetches (one flight per item) */
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_rims_for_reports(&src, in, 2, AT, &set, &v), -EINPROGRESS);
        assert_int_equal(set.n, 0);
        collateral_stats(c, &st);
        assert_int_equal(st.in_flight, 2);
        assert_int_equal(st.joined, 2);

        /* the fetches fail: the lookup now has the reason, and does not fetch again at once */
        run_until_idle(e, c);
        collateral_stats(c, &st);
        assert_int_equal(st.failures, 2);
        assert_int_equal(verdict_init(&v1, "nvidia-gpu"), 0);
        assert_int_equal(nv_rims_for_reports(&src, in, 2, AT, &failed, &v1), 0);
        k = verdict_find_check(&v1, "rim.fetch");
        assert_non_null(k);
        assert_int_equal(k->status, CHECK_FAIL);
        assert_non_null(strstr(k->detail, "next try in"));
        collateral_stats(c, &st);
        assert_int_equal(st.in_flight, 0);

        /* in the cache (as a fetch leaves them): found without the network */
        put_rims(f);
        assert_int_equal(verdict_init(&v2, "nvidia-gpu"), 0);
        assert_int_equal(nv_rims_for_reports(&src, in, 2, AT, &cached, &v2), 0);
        assert_int_equal(cached.n, 2);
        assert_null(verdict_find_check(&v2, "rim.fetch"));
        p.rims = cached.rims;
        p.n_rims = cached.n;
        assert_int_equal(nv_verify_gpus(in, 1, &p, &b, &v2), 0);
        assert_int_equal(b.measurements, NV_MEAS_MATCH);
}

static void test_ocsp_in_flight_then_refused(void **state) {
        Fixture *f = fixture_or_skip(state);
        CollateralConfig cc = {.cache_dir = f->cache, .nvidia_ocsp_url = "http://127.0.0.1:9", .timeout_sec = 2};
        NvGpuInput in = {.report = f->report, .report_size = f->size, .chain = f->chain};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(verdict_done) Verdict v = {}, v1 = {};
        NvBoardAppraisal b = {};
        CollateralStats st;
        NvSource src;
        const Check *k;

        event_source(&cc, &e, &c, &src);
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_board_ocsp(&src, &in, 1, NULL, &b, AT, &v), -EINPROGRESS);
        /* certificates 1..3 of the chain, all asked for in one round */
        collateral_stats(c, &st);
        assert_int_equal(st.in_flight, 3);
        run_until_idle(e, c);
        assert_int_equal(verdict_init(&v1, "nvidia-gpu"), 0);
        assert_int_equal(nv_board_ocsp(&src, &in, 1, NULL, &b, AT, &v1), 0);
        k = verdict_find_check(&v1, "gpu0.ocsp");
        assert_non_null(k);
        assert_int_equal(k->status, CHECK_FAIL);
        assert_non_null(strstr(k->detail, "cannot fetch the OCSP answer"));
}

/* NVSwitch chains through the same source (nv_chains_ocsp): asked for in one round with nothing
 * cached, then failed checks named per switch; a switch without a readable chain fails at once. */
static void test_switch_ocsp(void **state) {
        Fixture *f = fixture_or_skip(state);
        CollateralConfig cc = {.cache_dir = f->cache, .nvidia_ocsp_url = "http://127.0.0.1:9", .timeout_sec = 2};
        NvChain *chains[2] = {f->chain, NULL};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(verdict_done) Verdict v = {}, v1 = {};
        CollateralStats st;
        NvSource src;
        const Check *k;

        event_source(&cc, &e, &c, &src);
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_chains_ocsp(&src, "nvswitch", chains, 2, AT, &v), -EINPROGRESS);
        collateral_stats(c, &st);
        assert_int_equal(st.in_flight, 3);
        run_until_idle(e, c);
        assert_int_equal(verdict_init(&v1, "nvidia-gpu"), 0);
        assert_int_equal(nv_chains_ocsp(&src, "nvswitch", chains, 2, AT, &v1), 0);
        k = verdict_find_check(&v1, "nvswitch0.ocsp");
        assert_non_null(k);
        assert_int_equal(k->status, CHECK_FAIL);
        assert_non_null(strstr(k->detail, "cannot fetch the OCSP answer"));
        k = verdict_find_check(&v1, "nvswitch1.ocsp");
        assert_non_null(k);
        assert_int_equal(k->status, CHECK_FAIL);
        assert_string_equal(k->detail, "no certificate chain");
}

static void test_offline_empty_cache(void **state) {
        Fixture *f = fixture_or_skip(state);
        CollateralConfig cc = {.cache_dir = f->cache, .offline = true, .nvidia_rim_url = "http://127.0.0.1:9",
                               .nvidia_ocsp_url = "http://127.0.0.1:9"};
        NvGpuInput in = {.report = f->report, .report_size = f->size, .chain = f->chain};
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(nv_rim_set_done) NvRimSet set = {};
        _cleanup_(verdict_done) Verdict v = {};
        NvBoardAppraisal b = {};
        CollateralStats st;
        NvSource src;
        const Check *k;

        assert_int_equal(collateral_new(&cc, &c), 0);
        collateral_gpu_source(c, NULL, NULL, &src);
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_rims_for_reports(&src, &in, 1, AT, &set, &v), 0);
        k = verdict_find_check(&v, "rim.fetch");
        assert_non_null(k);
        assert_non_null(strstr(k->detail, "not in the cache"));
        assert_non_null(strstr(k->detail, "offline"));
        assert_int_equal(nv_board_ocsp(&src, &in, 1, NULL, &b, AT, &v), 0);
        k = verdict_find_check(&v, "gpu0.ocsp");
        assert_non_null(k);
        assert_int_equal(k->status, CHECK_FAIL);
        assert_non_null(strstr(k->detail, "offline"));
        collateral_stats(c, &st);
        assert_int_equal(st.fetches, 0);
}

/* The item names the provider reports, by vendor (for cvmd's per-vendor failure counters). */
static void test_item_vendor(void **state) {
        assert_string_equal(collateral_item_vendor("nvidia/rim/" DRIVER_RIM), "nvidia");
        assert_string_equal(collateral_item_vendor("nvidia/ocsp/00ff"), "nvidia");
        assert_string_equal(collateral_item_vendor("snp/Milan/00-11"), "amd");
        assert_string_equal(collateral_item_vendor("tdx/00906ed50000-platform"), "intel");
        assert_null(collateral_item_vendor("gpu/x"));
        assert_null(collateral_item_vendor(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rims_in_flight_then_cached, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ocsp_in_flight_then_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch_ocsp, setup, teardown),
                cmocka_unit_test_setup_teardown(test_offline_empty_cache, setup, teardown),
                cmocka_unit_test(test_item_vendor),
        };
        return cmocka_run_group_tests_name("gpu-collateral", tests, NULL, NULL);
}
