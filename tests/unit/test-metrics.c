/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics registry: exact exposition text for a small registry (HELP/TYPE, label escaping,
 * cumulative histogram buckets with +Inf, _sum and _count), number spelling, the refusals
 * (names, label counts, types, bounds, the series bound), the daemon's standard set and its
 * helpers, and updates from several threads while another formats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cvm/metrics.h"

static char *format(Metrics *m) {
        char *text = NULL;
        size_t size = 0;

        assert_int_equal(metrics_format(m, &text, &size), 0);
        assert_int_equal(strlen(text), size);
        return text;
}

static void test_exposition(void **state) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        static const double bounds[] = {0.1, 0.5, 1};

        assert_int_equal(metrics_new(&m), 0);
        assert_int_equal(metrics_add_counter(m, "req_total", "Requests.\nSecond \\ line \"quoted\"",
                                             METRIC_LABELS("code", "path")),
                         0);
        assert_int_equal(metrics_add_gauge(m, "temp", "Temperature.", NULL), 0);
        assert_int_equal(metrics_add_histogram(m, "lat_seconds", "Latency.", METRIC_LABELS("op"), bounds, 3), 0);
        assert_int_equal(metrics_add_histogram(m, "empty_seconds", "No observations yet.", NULL, bounds, 1), 0);
        assert_int_equal(metrics_add_counter(m, "never_total", "Labelled, no series yet.", METRIC_LABELS("x")), 0);

        assert_int_equal(metrics_counter_add(m, "req_total", METRIC_LABELS("200", "/a"), 1), 0);
        assert_int_equal(metrics_counter_add(m, "req_total", METRIC_LABELS("200", "/a"), 2), 0);
        assert_int_equal(metrics_counter_add(m, "req_total", METRIC_LABELS("500", "x\"y\\z\nw"), 1), 0);
        assert_int_equal(metrics_gauge_set(m, "temp", NULL, 4), 0);
        assert_int_equal(metrics_gauge_set(m, "temp", NULL, -1.5), 0);
        assert_int_equal(metrics_histogram_observe(m, "lat_seconds", METRIC_LABELS("get"), 0.0625), 0);
        assert_int_equal(metrics_histogram_observe(m, "lat_seconds", METRIC_LABELS("get"), 0.25), 0);
        assert_int_equal(metrics_histogram_observe(m, "lat_seconds", METRIC_LABELS("get"), 0.5), 0); /* le is <= */
        assert_int_equal(metrics_histogram_observe(m, "lat_seconds", METRIC_LABELS("get"), 2), 0);
        assert_int_equal(metrics_histogram_observe(m, "lat_seconds", METRIC_LABELS("put"), 1), 0);

        text = format(m);
        assert_string_equal(text, "# HELP req_total Requests.\\nSecond \\\\ line \"quoted\"\n"
                                  "# TYPE req_total counter\n"
                                  "req_total{code=\"200\",path=\"/a\"} 3\n"
                                  "req_total{code=\"500\",path=\"x\\\"y\\\\z\\nw\"} 1\n"
                                  "# HELP temp Temperature.\n"
                                  "# TYPE temp gauge\n"
                                  "temp -1.5\n"
                                  "# HELP lat_seconds Latency.\n"
                                  "# TYPE lat_seconds histogram\n"
                                  "lat_seconds_bucket{op=\"get\",le=\"0.1\"} 1\n"
                                  "lat_seconds_bucket{op=\"get\",le=\"0.5\"} 3\n"
                                  "lat_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
                                  "lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
                                  "lat_seconds_sum{op=\"get\"} 2.8125\n"
                                  "lat_seconds_count{op=\"get\"} 4\n"
                                  "lat_seconds_bucket{op=\"put\",le=\"0.1\"} 0\n"
                                  "lat_seconds_bucket{op=\"put\",le=\"0.5\"} 0\n"
                                  "lat_seconds_bucket{op=\"put\",le=\"1\"} 1\n"
                                  "lat_seconds_bucket{op=\"put\",le=\"+Inf\"} 1\n"
                                  "lat_seconds_sum{op=\"put\"} 1\n"
                                  "lat_seconds_count{op=\"put\"} 1\n"
                                  "# HELP empty_seconds No observations yet.\n"
                                  "# TYPE empty_seconds histogram\n"
                                  "empty_seconds_bucket{le=\"0.1\"} 0\n"
                                  "empty_seconds_bucket{le=\"+Inf\"} 0\n"
                                  "empty_seconds_sum 0\n"
                                  "empty_seconds_count 0\n"
                                  "# HELP never_total Labelled, no series yet.\n"
                                  "# TYPE never_total counter\n");
}

static void test_numbers(void **state) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        static const double bounds[] = {0.005, 0.1, 2.5};

        assert_int_equal(metrics_new(&m), 0);
        assert_int_equal(metrics_add_gauge(m, "g", "G.", METRIC_LABELS("k")), 0);
        assert_int_equal(metrics_add_histogram(m, "h", "H.", NULL, bounds, 3), 0);
        assert_int_equal(metrics_gauge_set(m, "g", METRIC_LABELS("a"), 0.1), 0);
        assert_int_equal(metrics_gauge_set(m, "g", METRIC_LABELS("b"), 1e-9), 0);
        assert_int_equal(metrics_gauge_set(m, "g", METRIC_LABELS("c"), 123456789012.0), 0);
        assert_int_equal(metrics_gauge_set(m, "g", METRIC_LABELS("d"), INFINITY), 0);
        assert_int_equal(metrics_gauge_set(m, "g", METRIC_LABELS("e"), -INFINITY), 0);
        assert_int_equal(metrics_gauge_set(m, "g", METRIC_LABELS("f"), 1.0 / 3.0), 0);
        assert_int_equal(metrics_gauge_set(m, "g", METRIC_LABELS("g"), NAN), -EINVAL);
        text = format(m);
        assert_non_null(strstr(text, "g{k=\"a\"} 0.1\n"));
        assert_non_null(strstr(text, "g{k=\"b\"} 1e-09\n"));
        assert_non_null(strstr(text, "g{k=\"c\"} 123456789012\n"));
        assert_non_null(strstr(text, "g{k=\"d\"} +Inf\n"));
        assert_non_null(strstr(text, "g{k=\"e\"} -Inf\n"));
        assert_non_null(strstr(text, "g{k=\"f\"} 0.3333333333333333\n"));
        assert_null(strstr(text, "k=\"g\""));
        assert_non_null(strstr(text, "h_bucket{le=\"0.005\"} 0\n"));
        assert_non_null(strstr(text, "h_bucket{le=\"2.5\"} 0\n"));
}

static void test_refusals(void **state) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        static const double bounds[] = {1, 2}, bad_bounds[] = {2, 1}, inf_bounds[] = {1, INFINITY};
        char name[32];

        assert_int_equal(metrics_new(&m), 0);
        assert_int_equal(metrics_add_counter(m, "c_total", "C.", METRIC_LABELS("a")), 0);
        assert_int_equal(metrics_add_counter(m, "c_total", "C.", NULL), -EEXIST);
        assert_int_equal(metrics_add_gauge(m, "1bad", "B.", NULL), -EINVAL);
        assert_int_equal(metrics_add_gauge(m, "bad-name", "B.", NULL), -EINVAL);
        assert_int_equal(metrics_add_gauge(m, "", "B.", NULL), -EINVAL);
        assert_int_equal(metrics_add_gauge(m, "ns:ok", "Colons are allowed in metric names.", NULL), 0);
        assert_int_equal(metrics_add_gauge(m, "g1", "B.", METRIC_LABELS("a:b")), -EINVAL);
        assert_int_equal(metrics_add_gauge(m, "g2", "B.", METRIC_LABELS("__reserved")), -EINVAL);
        assert_int_equal(metrics_add_gauge(m, "g3", "B.", METRIC_LABELS("a", "a")), -EINVAL);
        assert_int_equal(metrics_add_gauge(m, "g4", "B.", METRIC_LABELS("a", "b", "c", "d", "e")), -EINVAL);
        assert_int_equal(metrics_add_gauge(m, "g5", "B.", METRIC_LABELS("le")), 0); /* only histograms reserve le */
        assert_int_equal(metrics_add_histogram(m, "h1", "H.", METRIC_LABELS("le"), bounds, 2), -EINVAL);
        assert_int_equal(metrics_add_histogram(m, "h2", "H.", NULL, bad_bounds, 2), -EINVAL);
        assert_int_equal(metrics_add_histogram(m, "h3", "H.", NULL, inf_bounds, 2), -EINVAL);
        assert_int_equal(metrics_add_histogram(m, "h4", "H.", NULL, bounds, 2), 0);

        assert_int_equal(metrics_counter_add(m, "c_total", NULL, 1), -EINVAL);
        assert_int_equal(metrics_counter_add(m, "c_total", METRIC_LABELS("x", "y"), 1), -EINVAL);
        assert_int_equal(metrics_counter_add(m, "c_total", METRIC_LABELS("x"), -1), -EINVAL);
        assert_int_equal(metrics_counter_add(m, "c_total", METRIC_LABELS("\xc3\x28"), 1), -EINVAL);
        assert_int_equal(metrics_counter_add(m, "c_total", METRIC_LABELS("\xc3\xa9t\xc3\xa9"), 1), 0);
        assert_int_equal(metrics_counter_add(m, "nope_total", NULL, 1), -ENOENT);
        assert_int_equal(metrics_gauge_set(m, "c_total", METRIC_LABELS("x"), 1), -ENOENT);
        assert_int_equal(metrics_histogram_observe(m, "h4", METRIC_LABELS("x"), 1), -EINVAL);
        {
                char long_value[METRICS_LABEL_VALUE_MAX + 2];

                memset(long_value, 'v', sizeof(long_value) - 1);
                long_value[sizeof(long_value) - 1] = '\0';
                assert_int_equal(metrics_counter_add(m, "c_total", METRIC_LABELS(long_value), 1), -EINVAL);
        }

        /* The series bound: label values from somewhere unbounded cannot grow the registry. */
        for (unsigned i = 1; i < METRICS_SERIES_MAX; i++) {
                snprintf(name, sizeof(name), "v%u", i);
                assert_int_equal(metrics_counter_add(m, "c_total", METRIC_LABELS(name), 1), 0);
        }
        assert_int_equal(metrics_counter_add(m, "c_total", METRIC_LABELS("one-too-many"), 1), -E2BIG);
        assert_int_equal(metrics_counter_add(m, "c_total", METRIC_LABELS("v1"), 1), 0); /* existing ones go on */
}

static void test_standard_set(void **state) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *before = NULL, *text = NULL;
        static const char *const families[] = {
                "# TYPE cvmd_attestations_total counter\n",
                "# TYPE sev_snp_attestation_success_total counter\n",
                "# TYPE sev_snp_attestation_failure_total counter\n",
                "# TYPE tdx_quote_latency_seconds histogram\n",
                "# TYPE cvmd_attestation_duration_seconds histogram\n",
                "# TYPE cvmd_launch_duration_seconds histogram\n",
                "# TYPE cvmd_key_releases_total counter\n",
                "# TYPE cvmd_vms gauge\n",
                "# TYPE cvmd_collateral_cache_age_seconds gauge\n",
                "# TYPE cvmd_collateral_fetch_failures_total counter\n",
        };

        assert_int_equal(cvmd_metrics_new(&m), 0);
        before = format(m);
        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                assert_non_null(strstr(before, families[i]));
        /* present at 0 before any event */
        assert_non_null(strstr(before, "\nsev_snp_attestation_success_total 0\n"));
        assert_non_null(strstr(before, "\ncvmd_attestations_total{tee=\"sev-snp\",result=\"rejected\"} 0\n"));
        assert_non_null(strstr(before, "\ncvmd_attestations_total{tee=\"tdx\",result=\"accepted\"} 0\n"));
        assert_non_null(strstr(before, "\ncvmd_collateral_fetch_failures_total{vendor=\"nvidia\"} 0\n"));
        assert_non_null(strstr(before, "\ncvmd_key_releases_total 0\n"));

        assert_int_equal(metrics_observe_attestation(m, CVM_TEE_SEV_SNP, true, 0.2), 0);
        assert_int_equal(metrics_observe_attestation(m, CVM_TEE_SEV_SNP, true, 0.3), 0);
        assert_int_equal(metrics_observe_attestation(m, CVM_TEE_SEV_SNP, false, 0.01), 0);
        assert_int_equal(metrics_observe_attestation(m, CVM_TEE_TDX, false, 1), 0);
        assert_int_equal(metrics_observe_attestation_phase(m, CVM_TEE_TDX, "appraise", 0.004), 0);
        assert_int_equal(metrics_observe_attestation_phase(m, CVM_TEE_TDX, NULL, 0.004), -EINVAL);
        assert_int_equal(metrics_observe_tdx_quote(m, 0.03), 0);
        assert_int_equal(metrics_observe_launch_phase(m, "boot", 12), 0);
        assert_int_equal(metrics_count_key_releases(m, 3), 0);
        assert_int_equal(metrics_set_vms(m, "running", 2), 0);
        assert_int_equal(metrics_set_vms(m, "failed", 1), 0);
        assert_int_equal(metrics_set_vms(m, "running", 1), 0);
        assert_int_equal(metrics_set_collateral_age(m, "amd", 3600), 0);
        assert_int_equal(metrics_count_collateral_failure(m, "intel"), 0);
        text = format(m);
        assert_non_null(strstr(text, "\ncvmd_attestations_total{tee=\"sev-snp\",result=\"accepted\"} 2\n"));
        assert_non_null(strstr(text, "\ncvmd_attestations_total{tee=\"sev-snp\",result=\"rejected\"} 1\n"));
        assert_non_null(strstr(text, "\ncvmd_attestations_total{tee=\"tdx\",result=\"rejected\"} 1\n"));
        assert_non_null(strstr(text, "\nsev_snp_attestation_success_total 2\n"));
        assert_non_null(strstr(text, "\nsev_snp_attestation_failure_total 1\n")); /* TDX's failure not counted */
        assert_non_null(strstr(text, "\ncvmd_attestation_duration_seconds_count{tee=\"sev-snp\",phase=\"total\"} 3\n"));
        assert_non_null(
                strstr(text, "\ncvmd_attestation_duration_seconds_sum{tee=\"sev-snp\",phase=\"total\"} 0.51\n"));
        assert_non_null(strstr(
                text, "\ncvmd_attestation_duration_seconds_bucket{tee=\"tdx\",phase=\"appraise\",le=\"0.005\"} 1\n"));
        assert_non_null(strstr(text, "\ntdx_quote_latency_seconds_bucket{le=\"0.05\"} 1\n"));
        assert_non_null(strstr(text, "\ntdx_quote_latency_seconds_bucket{le=\"0.025\"} 0\n"));
        assert_non_null(strstr(text, "\ncvmd_launch_duration_seconds_bucket{phase=\"boot\",le=\"30\"} 1\n"));
        assert_non_null(strstr(text, "\ncvmd_launch_duration_seconds_bucket{phase=\"boot\",le=\"10\"} 0\n"));
        assert_non_null(strstr(text, "\ncvmd_key_releases_total 3\n"));
        assert_non_null(strstr(text, "\ncvmd_vms{state=\"running\"} 1\n"));
        assert_non_null(strstr(text, "\ncvmd_vms{state=\"failed\"} 1\n"));
        assert_non_null(strstr(text, "\ncvmd_collateral_cache_age_seconds{vendor=\"amd\"} 3600\n"));
        assert_non_null(strstr(text, "\ncvmd_collateral_fetch_failures_total{vendor=\"intel\"} 1\n"));
}

#define THREADS 4
#define ROUNDS  5000

static void *bump(void *userdata) {
        Metrics *m = userdata;

        /* no cmocka asserts off the main thread: they longjmp */
        for (unsigned i = 0; i < ROUNDS; i++)
                if (metrics_observe_attestation(m, i % 2 ? CVM_TEE_TDX : CVM_TEE_SEV_SNP, true, 0.01) < 0 ||
                    metrics_count_key_releases(m, 1) < 0)
                        abort();
        return NULL;
}

static void test_threads(void **state) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        pthread_t t[THREADS];
        char line[128];

        assert_int_equal(cvmd_metrics_new(&m), 0);
        for (unsigned i = 0; i < THREADS; i++)
                assert_int_equal(pthread_create(&t[i], NULL, bump, m), 0);
        /* the listener's side: formatting while the others update */
        for (unsigned i = 0; i < 50; i++) {
                char *s = format(m);
                free(s);
        }
        for (unsigned i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(t[i], NULL), 0);
        text = format(m);
        snprintf(line, sizeof(line), "\ncvmd_key_releases_total %u\n", THREADS * ROUNDS);
        assert_non_null(strstr(text, line));
        snprintf(line, sizeof(line), "\nsev_snp_attestation_success_total %u\n", THREADS * ROUNDS / 2);
        assert_non_null(strstr(text, line));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exposition),   cmocka_unit_test(test_numbers), cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_standard_set), cmocka_unit_test(test_threads),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
