/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text format 0.0.4: "# HELP", "# TYPE", then one line per sample. Histogram buckets
 * are kept per bucket and made cumulative only when written, so an observation touches one
 * counter. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cvm/metrics.h"
#include "cvm/util.h"

typedef enum MetricType {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
        _METRIC_TYPE_MAX,
        _METRIC_TYPE_INVALID = -EINVAL,
} MetricType;

static const char *const metric_type_table[_METRIC_TYPE_MAX] = {
        [METRIC_COUNTER] = "counter",
        [METRIC_GAUGE] = "gauge",
        [METRIC_HISTOGRAM] = "histogram",
};

typedef struct Series {
        char *values[METRICS_LABELS_MAX];
        double value;     /* counter, gauge */
        uint64_t *counts; /* histogram: one per finite bound, not cumulative */
        uint64_t count;
        double sum;
} Series;

typedef struct Family {
        char *name;
        char *help;
        MetricType type;
        char *labels[METRICS_LABELS_MAX];
        size_t n_labels;
        double *bounds;
        size_t n_bounds;
        Series *series;
        size_t n_series;
} Family;

struct Metrics {
        pthread_mutex_t lock;
        Family *families;
        size_t n_families;
};

static void series_done(Series *s, size_t n_labels) {
        for (size_t i = 0; i < n_labels; i++)
                free(s->values[i]);
        free(s->counts);
}

static void family_done(Family *f) {
        for (size_t i = 0; i < f->n_series; i++)
                series_done(&f->series[i], f->n_labels);
        for (size_t i = 0; i < f->n_labels; i++)
                free(f->labels[i]);
        free(f->series);
        free(f->bounds);
        free(f->name);
        free(f->help);
}

int metrics_new(Metrics **ret) {
        Metrics *m = calloc(1, sizeof(Metrics));

        if (!m)
                return -ENOMEM;
        m->families = calloc(METRICS_FAMILIES_MAX, sizeof(Family));
        if (!m->families) {
                free(m);
                return -ENOMEM;
        }
        pthread_mutex_init(&m->lock, NULL);
        *ret = m;
        return 0;
}

Metrics *metrics_free(Metrics *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_families; i++)
                family_done(&m->families[i]);
        free(m->families);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return NULL;
}

static bool name_char_is_valid(char c, bool first, bool colon) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
                return true;
        if (c == ':')
                return colon;
        return !first && c >= '0' && c <= '9';
}

static bool name_is_valid(const char *s, bool colon) {
        if (!s || !*s || strlen(s) > 128)
                return false;
        for (size_t i = 0; s[i]; i++)
                if (!name_char_is_valid(s[i], i == 0, colon))
                        return false;
        return true;
}

static bool utf8_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n;
                uint32_t cp;

                if (*p < 0x80) {
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0)
                        n = 1, cp = *p & 0x1f;
                else if ((*p & 0xf0) == 0xe0)
                        n = 2, cp = *p & 0x0f;
                else if ((*p & 0xf8) == 0xf0)
                        n = 3, cp = *p & 0x07;
                else
                        return false;
                for (size_t i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                /* overlong forms, surrogates and beyond U+10FFFF */
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                        return false;
                p += n + 1;
        }
        return true;
}

static size_t strv_length(const char *const *v) {
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

static Family *family_find(Metrics *m, const char *name) {
        for (size_t i = 0; i < m->n_families; i++)
                if (streq(m->families[i].name, name))
                        return &m->families[i];
        return NULL;
}

static int series_init(Family *f, Series *s, const char *const *values) {
        *s = (Series){};
        for (size_t i = 0; i < f->n_labels; i++) {
                s->values[i] = strdup(values[i]);
                if (!s->values[i]) {
                        series_done(s, i);
                        return -ENOMEM;
                }
        }
        if (f->type == METRIC_HISTOGRAM) {
                s->counts = calloc(f->n_bounds, sizeof(uint64_t));
                if (!s->counts) {
                        series_done(s, f->n_labels);
                        return -ENOMEM;
                }
        }
        return 0;
}

static int family_get_series(Family *f, const char *const *values, Series **ret) {
        Series *grown;
        int r;

        if (strv_length(values) != f->n_labels)
                return -EINVAL;
        for (size_t i = 0; i < f->n_labels; i++)
                if (strlen(values[i]) > METRICS_LABEL_VALUE_MAX || !utf8_is_valid(values[i]))
                        return -EINVAL;
        for (size_t i = 0; i < f->n_series; i++) {
                bool same = true;

                for (size_t j = 0; j < f->n_labels && same; j++)
                        same = streq(f->series[i].values[j], values[j]);
                if (same) {
                        *ret = &f->series[i];
                        return 0;
                }
        }
        if (f->n_series >= METRICS_SERIES_MAX)
                return -E2BIG;
        grown = reallocarray(f->series, f->n_series + 1, sizeof(Series));
        if (!grown)
                return -ENOMEM;
        f->series = grown;
        r = series_init(f, &f->series[f->n_series], values);
        if (r < 0)
                return r;
        *ret = &f->series[f->n_series++];
        return 0;
}

static int family_init(Family *f, const char *name, const char *help, MetricType type, const char *const *label_names,
                       const double *bounds, size_t n_bounds) {
        Series *unused;

        f->type = type;
        f->name = strdup(name);
        f->help = strdup(help);
        if (!f->name || !f->help)
                return -ENOMEM;
        for (size_t i = 0; label_names && label_names[i]; i++) {
                f->labels[i] = strdup(label_names[i]);
                if (!f->labels[i])
                        return -ENOMEM;
                f->n_labels++;
        }
        if (n_bounds > 0) {
                f->bounds = malloc(n_bounds * sizeof(double));
                if (!f->bounds)
                        return -ENOMEM;
                memcpy(f->bounds, bounds, n_bounds * sizeof(double));
                f->n_bounds = n_bounds;
        }
        /* A family without labels has its one series from the start: a scrape shows 0, not
         * nothing, before the first event. */
        if (f->n_labels == 0)
                return family_get_series(f, NULL, &unused);
        return 0;
}

static int metrics_add(Metrics *m, const char *name, const char *help, MetricType type, const char *const *label_names,
                       const double *bounds, size_t n_bounds) {
        size_t n_labels = strv_length(label_names);
        int r;

        if (!name_is_valid(name, true) || !help || n_labels > METRICS_LABELS_MAX || n_bounds > METRICS_BUCKETS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n_labels; i++) {
                if (!name_is_valid(label_names[i], false) || strncmp(label_names[i], "__", 2) == 0 ||
                    (type == METRIC_HISTOGRAM && streq(label_names[i], "le")))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq(label_names[i], label_names[j]))
                                return -EINVAL;
        }
        for (size_t i = 0; i < n_bounds; i++)
                if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
                        return -EINVAL;

        pthread_mutex_lock(&m->lock);
        if (family_find(m, name))
                r = -EEXIST;
        else if (m->n_families >= METRICS_FAMILIES_MAX)
                r = -E2BIG;
        else {
                Family *f = &m->families[m->n_families];

                r = family_init(f, name, help, type, label_names, bounds, n_bounds);
                if (r < 0) {
                        family_done(f);
                        *f = (Family){};
                } else
                        m->n_families++;
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

int metrics_add_counter(Metrics *m, const char *name, const char *help, const char *const *label_names) {
        return metrics_add(m, name, help, METRIC_COUNTER, label_names, NULL, 0);
}

int metrics_add_gauge(Metrics *m, const char *name, const char *help, const char *const *label_names) {
        return metrics_add(m, name, help, METRIC_GAUGE, label_names, NULL, 0);
}

int metrics_add_histogram(Metrics *m, const char *name, const char *help, const char *const *label_names,
                          const double *bounds, size_t n_bounds) {
        if (!bounds && n_bounds > 0)
                return -EINVAL;
        return metrics_add(m, name, help, METRIC_HISTOGRAM, label_names, bounds, n_bounds);
}

/* The one place that changes a sample; the caller holds the lock. */
static int update_locked(Metrics *m, const char *name, MetricType type, const char *const *values, double v) {
        Family *f = family_find(m, name);
        Series *s;
        int r;

        if (!f || f->type != type)
                return -ENOENT;
        if (isnan(v) || (type == METRIC_COUNTER && v < 0))
                return -EINVAL;
        r = family_get_series(f, values, &s);
        if (r < 0)
                return r;
        switch (type) {
        case METRIC_COUNTER:
                s->value += v;
                break;
        case METRIC_GAUGE:
                s->value = v;
                break;
        case METRIC_HISTOGRAM:
                for (size_t i = 0; i < f->n_bounds; i++)
                        if (v <= f->bounds[i]) {
                                s->counts[i]++;
                                break;
                        }
                s->count++;
                s->sum += v;
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

static int update(Metrics *m, const char *name, MetricType type, const char *const *values, double v) {
        int r;

        pthread_mutex_lock(&m->lock);
        r = update_locked(m, name, type, values, v);
        pthread_mutex_unlock(&m->lock);
        return r;
}

int metrics_counter_add(Metrics *m, const char *name, const char *const *values, double delta) {
        return update(m, name, METRIC_COUNTER, values, delta);
}

int metrics_gauge_set(Metrics *m, const char *name, const char *const *values, double v) {
        return update(m, name, METRIC_GAUGE, values, v);
}

int metrics_histogram_observe(Metrics *m, const char *name, const char *const *values, double v) {
        return update(m, name, METRIC_HISTOGRAM, values, v);
}

/* The shortest of %.15g..%.17g that reads back as the same double: "0.1", not
 * "0.10000000000000001"; Prometheus' spellings for the infinities and NaN. */
static void write_double(FILE *f, double v) {
        char buf[40];

        if (isnan(v)) {
                fputs("NaN", f);
                return;
        }
        if (isinf(v)) {
                fputs(v > 0 ? "+Inf" : "-Inf", f);
                return;
        }
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(buf, sizeof(buf), "%.*g", prec, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        fputs(buf, f);
}

/* Label values escape backslash, double quote and newline; HELP text backslash and newline. */
static void write_escaped(FILE *f, const char *s, bool quote) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else if (*s == '"' && quote)
                        fputs("\\\"", f);
                else
                        fputc(*s, f);
        }
}

/* {a="x",b="y"} plus le="..." for a bucket (le_is_inf for the last); nothing when empty. */
static void write_labels(FILE *f, const Family *fam, const Series *s, const double *le, bool le_is_inf) {
        bool any = fam->n_labels > 0 || le || le_is_inf;

        if (!any)
                return;
        fputc('{', f);
        for (size_t i = 0; i < fam->n_labels; i++) {
                fprintf(f, "%s%s=\"", i > 0 ? "," : "", fam->labels[i]);
                write_escaped(f, s->values[i], true);
                fputc('"', f);
        }
        if (le || le_is_inf) {
                fprintf(f, "%sle=\"", fam->n_labels > 0 ? "," : "");
                if (le_is_inf)
                        fputs("+Inf", f);
                else
                        write_double(f, *le);
                fputc('"', f);
        }
        fputc('}', f);
}

static void write_histogram(FILE *f, const Family *fam, const Series *s) {
        uint64_t cumulative = 0;

        for (size_t i = 0; i < fam->n_bounds; i++) {
                cumulative += s->counts[i];
                fprintf(f, "%s_bucket", fam->name);
                write_labels(f, fam, s, &fam->bounds[i], false);
                fprintf(f, " %" PRIu64 "\n", cumulative);
        }
        fprintf(f, "%s_bucket", fam->name);
        write_labels(f, fam, s, NULL, true);
        fprintf(f, " %" PRIu64 "\n", s->count);
        fprintf(f, "%s_sum", fam->name);
        write_labels(f, fam, s, NULL, false);
        fputc(' ', f);
        write_double(f, s->sum);
        fprintf(f, "\n%s_count", fam->name);
        write_labels(f, fam, s, NULL, false);
        fprintf(f, " %" PRIu64 "\n", s->count);
}

static void write_family(FILE *f, const Family *fam) {
        fprintf(f, "# HELP %s ", fam->name);
        write_escaped(f, fam->help, false);
        fprintf(f, "\n# TYPE %s %s\n", fam->name, metric_type_table[fam->type]);
        for (size_t i = 0; i < fam->n_series; i++) {
                const Series *s = &fam->series[i];

                if (fam->type == METRIC_HISTOGRAM) {
                        write_histogram(f, fam, s);
                        continue;
                }
                fputs(fam->name, f);
                write_labels(f, fam, s, NULL, false);
                fputc(' ', f);
                write_double(f, s->value);
                fputc('\n', f);
        }
}

int metrics_format(Metrics *m, char **ret, size_t *ret_size) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_families; i++)
                write_family(f, &m->families[i]);
        pthread_mutex_unlock(&m->lock);
        r = ferror(f) ? -ENOMEM : 0;
        if (fclose(f) != 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        if (ret_size)
                *ret_size = size;
        return 0;
}

/* The daemon's standard set. */

static const double attestation_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double quote_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
static const double launch_bounds[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

typedef struct FamilyDef {
        const char *name;
        const char *help;
        MetricType type;
        const char *labels[METRICS_LABELS_MAX + 1]; /* NULL-terminated */
        const double *bounds;
        size_t n_bounds;
} FamilyDef;

#define BOUNDS(b) .bounds = (b), .n_bounds = ELEMENTSOF(b)

static const FamilyDef standard_families[] = {
        {"cvmd_attestations_total",
         "Attestations appraised, by TEE and result (accepted or rejected).",
         METRIC_COUNTER,
         {"tee", "result"}},
        {"sev_snp_attestation_success_total", "SEV-SNP attestations accepted.", METRIC_COUNTER},
        {"sev_snp_attestation_failure_total", "SEV-SNP attestations rejected.", METRIC_COUNTER},
        {"tdx_quote_latency_seconds",
         "Time to obtain a TDX quote from the guest.",
         METRIC_HISTOGRAM,
         {},
         BOUNDS(quote_bounds)},
        {"cvmd_attestation_duration_seconds",
         "Attestation time by TEE and phase; phase \"total\" is the whole attestation.",
         METRIC_HISTOGRAM,
         {"tee", "phase"},
         BOUNDS(attestation_bounds)},
        {"cvmd_launch_duration_seconds", "Launch time by phase.", METRIC_HISTOGRAM, {"phase"}, BOUNDS(launch_bounds)},
        {"cvmd_key_releases_total", "Keys released to attested guests.", METRIC_COUNTER},
        {"cvmd_vms", "VMs known to cvmd, by state.", METRIC_GAUGE, {"state"}},
        {"cvmd_collateral_cache_age_seconds",
         "Age of the oldest cached collateral, by vendor.",
         METRIC_GAUGE,
         {"vendor"}},
        {"cvmd_collateral_fetch_failures_total", "Failed collateral fetches, by vendor.", METRIC_COUNTER, {"vendor"}},
};

static const char *const collateral_vendors[] = {"amd", "intel", "nvidia"};

int cvmd_metrics_new(Metrics **ret) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        int r;

        r = metrics_new(&m);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(standard_families); i++) {
                const FamilyDef *d = &standard_families[i];

                r = metrics_add(m, d->name, d->help, d->type, d->labels, d->bounds, d->n_bounds);
                if (r < 0)
                        return r;
        }

        /* Series that exist from the start, so that rate() and absent() work before the first
         * event rather than after it. */
        for (CvmTee t = 0; t < _CVM_TEE_MAX; t++) {
                if (!cvm_tee_has_evidence(t))
                        continue;
                if ((r = metrics_counter_add(m, "cvmd_attestations_total",
                                             METRIC_LABELS(cvm_tee_to_string(t), "accepted"), 0)) < 0 ||
                    (r = metrics_counter_add(m, "cvmd_attestations_total",
                                             METRIC_LABELS(cvm_tee_to_string(t), "rejected"), 0)) < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(collateral_vendors); i++) {
                r = metrics_counter_add(m, "cvmd_collateral_fetch_failures_total", METRIC_LABELS(collateral_vendors[i]),
                                        0);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

static const char *tee_label(CvmTee tee) {
        const char *s = cvm_tee_to_string(tee);

        return s ?: "unknown";
}

int metrics_observe_attestation(Metrics *m, CvmTee tee, bool accepted, double seconds) {
        int r;

        /* One lock for all three, so that no scrape sees the counters disagree. */
        pthread_mutex_lock(&m->lock);
        r = update_locked(m, "cvmd_attestations_total", METRIC_COUNTER,
                          METRIC_LABELS(tee_label(tee), accepted ? "accepted" : "rejected"), 1);
        if (r >= 0 && tee == CVM_TEE_SEV_SNP)
                r = update_locked(m,
                                  accepted ? "sev_snp_attestation_success_total" : "sev_snp_attestation_failure_total",
                                  METRIC_COUNTER, NULL, 1);
        if (r >= 0)
                r = update_locked(m, "cvmd_attestation_duration_seconds", METRIC_HISTOGRAM,
                                  METRIC_LABELS(tee_label(tee), "total"), seconds);
        pthread_mutex_unlock(&m->lock);
        return r;
}

int metrics_observe_attestation_phase(Metrics *m, CvmTee tee, const char *phase, double seconds) {
        return metrics_histogram_observe(m, "cvmd_attestation_duration_seconds", METRIC_LABELS(tee_label(tee), phase),
                                         seconds);
}

int metrics_observe_tdx_quote(Metrics *m, double seconds) {
        return metrics_histogram_observe(m, "tdx_quote_latency_seconds", NULL, seconds);
}

int metrics_observe_launch_phase(Metrics *m, const char *phase, double seconds) {
        return metrics_histogram_observe(m, "cvmd_launch_duration_seconds", METRIC_LABELS(phase), seconds);
}

int metrics_count_key_releases(Metrics *m, unsigned n) {
        return metrics_counter_add(m, "cvmd_key_releases_total", NULL, n);
}

int metrics_set_vms(Metrics *m, const char *state, unsigned n) {
        return metrics_gauge_set(m, "cvmd_vms", METRIC_LABELS(state), n);
}

int metrics_set_collateral_age(Metrics *m, const char *vendor, double seconds) {
        return metrics_gauge_set(m, "cvmd_collateral_cache_age_seconds", METRIC_LABELS(vendor), seconds);
}

int metrics_count_collateral_failure(Metrics *m, const char *vendor) {
        return metrics_counter_add(m, "cvmd_collateral_fetch_failures_total", METRIC_LABELS(vendor), 1);
}
