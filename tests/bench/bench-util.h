/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What every benchmark shares: a monotonic clock, medians, the machine line and the cache
 * switches. Each figure is the median of ROUNDS interleaved rounds, so that drift on a shared
 * machine hits every variant and its floor alike. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cvm/object-cache.h"
#include "cvm/parallel.h"

static inline double bench_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* The median of n samples (sorts them). */
static inline double bench_median(double *v, size_t n) {
        qsort(v, n, sizeof(double), bench_cmp_double);
        return v[n / 2];
}

static inline void bench_loadavg(char *buf, size_t size) {
        FILE *f = fopen("/proc/loadavg", "re");
        double a = 0, b = 0, c = 0;

        if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
                snprintf(buf, size, "unknown");
        else
                snprintf(buf, size, "%.2f %.2f %.2f", a, b, c);
        if (f)
                fclose(f);
}

/* "2 cores (AMD EPYC ...), load average 1.00 0.80 0.50" */
static inline void bench_print_machine(const char *name) {
        char model[128] = "unknown CPU", line[256], load[64];
        FILE *f = fopen("/proc/cpuinfo", "re");

        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
                        snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
                        model[strcspn(model, "\n")] = 0;
                        break;
                }
        if (f)
                fclose(f);
        bench_loadavg(load, sizeof(load));
        printf("%s: %ld cores (%s), %u worker threads, load average %s at start\n", name, sysconf(_SC_NPROCESSORS_ONLN),
               model, parallel_workers(), load);
}

/* Cold: nothing decoded or verified before is reused (the object cache holds decoded
 * certificates, CRLs, documents and keys, and the verified links). */
static inline void bench_caches(bool on) {
        if (!on)
                object_cache_flush();
        object_cache_set_enabled(on);
}

static inline void bench_print_cache_stats(void) {
        ObjectCacheStats s;
        char load[64];

        object_cache_stats(&s);
        bench_loadavg(load, sizeof(load));
        printf("  object cache at the end: %zu entries, %zu bytes of input kept; load average %s at the end\n", s.entries,
               s.bytes, load);
}
