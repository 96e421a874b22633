/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A small metrics registry: counters, gauges and histograms with label sets, written out in the
 * Prometheus text exposition format 0.0.4 for the HTTP listener's /metrics.
 *
 * Families are registered once with their label names; a series (one set of label values) is
 * made on its first update. Series are bounded per family (METRICS_SERIES_MAX): an update that
 * would make one more fails with -E2BIG rather than letting a label with unbounded values eat
 * memory. Every function takes the registry's mutex, so the event loop may update while the
 * listener's thread formats. */

#include <stdbool.h>
#include <stddef.h>

#include "cvm/macro.h"
#include "cvm/tee.h"

typedef struct Metrics Metrics;

#define METRICS_FAMILIES_MAX    64
#define METRICS_LABELS_MAX      4
#define METRICS_SERIES_MAX      256
#define METRICS_BUCKETS_MAX     32
#define METRICS_LABEL_VALUE_MAX 128

/* Label names or values as a NULL-terminated array: METRIC_LABELS("sev-snp", "accepted").
 * A family without labels takes NULL. */
#define METRIC_LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

int metrics_new(Metrics **ret);
Metrics *metrics_free(Metrics *m);
DEFINE_CLEANUP(Metrics *, metrics_free)

/* Registration. Names follow Prometheus' rules ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without ':'
 * and not starting with "__"); -EINVAL otherwise, -EEXIST for a name taken. A histogram's
 * bounds are finite and strictly increasing; +Inf is implied, and "le" is not a label name it
 * may have. */
int metrics_add_counter(Metrics *m, const char *name, const char *help, const char *const *label_names);
int metrics_add_gauge(Metrics *m, const char *name, const char *help, const char *const *label_names);
int metrics_add_histogram(Metrics *m, const char *name, const char *help, const char *const *label_names,
                          const double *bounds, size_t n_bounds);

/* Updates. values has exactly the family's number of labels (-EINVAL otherwise, and for a
 * value over METRICS_LABEL_VALUE_MAX bytes or not UTF-8); -ENOENT for an unknown name or one
 * of another type; -E2BIG when the series would be one too many. Counters only go up. */
int metrics_counter_add(Metrics *m, const char *name, const char *const *values, double delta);
int metrics_gauge_set(Metrics *m, const char *name, const char *const *values, double v);
int metrics_histogram_observe(Metrics *m, const char *name, const char *const *values, double v);

/* The whole registry as exposition text (families in registration order, series in order of
 * creation), NUL-terminated. */
int metrics_format(Metrics *m, char **ret, size_t *ret_size);

/* The daemon's standard set:
 *   cvmd_attestations_total{tee,result}            result "accepted" or "rejected"
 *   sev_snp_attestation_success_total, sev_snp_attestation_failure_total
 *   tdx_quote_latency_seconds                      histogram
 *   cvmd_attestation_duration_seconds{tee,phase}   histogram; phase "total" is the whole
 *   cvmd_launch_duration_seconds{phase}            histogram
 *   cvmd_key_releases_total
 *   cvmd_vms{state}                                gauge
 *   cvmd_collateral_cache_age_seconds{vendor}      gauge; vendor "amd", "intel", "nvidia"
 *   cvmd_collateral_fetch_failures_total{vendor}
 * The names operators alert on (sev_snp_*, tdx_quote_latency_seconds) are kept as they are. */
int cvmd_metrics_new(Metrics **ret);

/* One appraisal's outcome: counts it under its TEE (and in sev_snp_* for SEV-SNP) and observes
 * seconds as phase "total". */
int metrics_observe_attestation(Metrics *m, CvmTee tee, bool accepted, double seconds);
int metrics_observe_attestation_phase(Metrics *m, CvmTee tee, const char *phase, double seconds);
int metrics_observe_tdx_quote(Metrics *m, double seconds);
int metrics_observe_launch_phase(Metrics *m, const char *phase, double seconds);
int metrics_count_key_releases(Metrics *m, unsigned n);
int metrics_set_vms(Metrics *m, const char *state, unsigned n);
int metrics_set_collateral_age(Metrics *m, const char *vendor, double seconds);
int metrics_count_collateral_failure(Metrics *m, const char *vendor);
