/* SPDX-License-Identifier: Apache-2.0 */
/* RIMs and OCSP for a board without blocking (nvidia-fetch.h): a cache-only lookup on an empty
 * cache lists the RIMs the real 2023 report names as wanted, each once, and fails "rim.fetch";
 * the same lookup with the RIMs in the cache loads both, and their measurements then match;
 * OCSP with nothing cached lists every certificate of the chain as wanted; nv_wants_fetch()
 * refuses to fetch offline or without a cache. Real evidence from $CVM_VECTORS (else
 * ../shared/vectors; skipped without it); no network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void test_rims_wanted_then_cached(void **state) {
        Fixture *f = fixture_or_skip(state);
        NvFetchOptions o = {.cache_dir = f->cache, .rim_url = "http://127.0.0.1:9"}; /* never asked */
        NvGpuInput in[2] = {{.report = f->report, .report_size = f->size, .chain = f->chain},
                            {.report = f->report, .report_size = f->size, .chain = f->chain}};
        _cleanup_(nv_rim_set_done) NvRimSet set = {}, cached = {};
        _cleanup_(nv_wants_done) NvWants w = {};
        _cleanup_(verdict_done) Verdict v = {}, v2 = {};
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        NvBoardParams p = {.gpu = {.at = AT}};
        const Check *c;

        /* nothing cached: both ids wanted once for the two GPUs, nothing fetched here */
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_rims_for_reports(&o, in, 2, &set, &w, &v), 0);
        assert_int_equal(set.n, 0);
        assert_int_equal(w.n_rim_ids, 2);
        assert_string_equal(w.rim_ids[0], DRIVER_RIM);
        assert_string_equal(w.rim_ids[1], VBIOS_RIM);
        c = verdict_find_check(&v, "rim.fetch");
        assert_non_null(c);
        assert_int_equal(c->status, CHECK_FAIL);
        assert_non_null(strstr(c->detail, "fetched for the next exchange"));

        /* what a worker would fetch, put in the cache by hand: found without the network */
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
        nv_wants_done(&w);
        assert_int_equal(verdict_init(&v2, "nvidia-gpu"), 0);
        assert_int_equal(nv_rims_for_reports(&o, in, 2, &cached, &w, &v2), 0);
        assert_int_equal(cached.n, 2);
        assert_true(nv_wants_empty(&w));
        assert_null(verdict_find_check(&v2, "rim.fetch"));

        /* and they are the RIMs the board is measured against */
        p.rims = cached.rims;
        p.n_rims = cached.n;
        assert_int_equal(nv_verify_gpus(in, 1, &p, &b, &v2), 0);
        assert_int_equal(b.measurements, NV_MEAS_MATCH);
}

static void test_ocsp_wanted(void **state) {
        Fixture *f = fixture_or_skip(state);
        NvFetchOptions o = {.cache_dir = f->cache, .ocsp_url = "http://127.0.0.1:9"};
        NvGpuInput in = {.report = f->report, .report_size = f->size, .chain = f->chain};
        NvBoardAppraisal b = {};
        _cleanup_(nv_wants_done) NvWants w = {};
        _cleanup_(verdict_done) Verdict v = {};
        _cleanup_free_ char *why = NULL;
        const Check *c;

        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_board_ocsp(&o, &in, 1, NULL, &b, AT, &w, &v), 0);
        /* certificates 1..3 of the chain, all listed for one round of fetching */
        assert_int_equal(w.n_ocsp, 3);
        c = verdict_find_check(&v, "gpu0.ocsp");
        assert_non_null(c);
        assert_int_equal(c->status, CHECK_FAIL);

        /* fetching needs a cache, and is never done offline */
        o.offline = true;
        assert_int_equal(nv_wants_fetch(&o, &w, AT, &why), -EIO);
        assert_non_null(strstr(why, "offline"));
        free(why);
        why = NULL;
        o = (NvFetchOptions) {};
        assert_int_equal(nv_wants_fetch(&o, &w, AT, &why), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rims_wanted_then_cached),
                cmocka_unit_test(test_ocsp_wanted),
        };
        return cmocka_run_group_tests_name("gpu-collateral", tests, setup, teardown);
}
