/* SPDX-License-Identifier: Apache-2.0 */
/* NUMA placement: host cells local to the GPUs, whole cores for the vCPUs (SMT siblings kept
 * together), an emulator pin on a housekeeping core, hugepages per cell, and a ledger of what
 * cvmd's domains hold. README.md "Placement". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/placement.h"
#include "cvm/util.h"

#define PLACEMENT_REASON_MAX 4096u

Placement *placement_free(Placement *p) {
        if (!p)
                return NULL;
        free(p->owner);
        free(p->cells);
        free(p->vcpu_pins);
        free(p->reserved_cpus);
        free(p->emulator_cpus);
        free(p);
        return NULL;
}

static void *memdup_n(const void *p, size_t n, size_t size) {
        void *q = malloc(n ? n * size : 1);

        if (q && n)
                memcpy(q, p, n * size);
        return q;
}

Placement *placement_copy(const Placement *p) {
        Placement *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        *c = *p;
        c->owner = strdup(p->owner ? p->owner : "");
        c->cells = memdup_n(p->cells, p->n_cells, sizeof(PlacementCell));
        c->vcpu_pins = memdup_n(p->vcpu_pins, p->n_vcpus, sizeof(unsigned));
        c->reserved_cpus = memdup_n(p->reserved_cpus, p->n_reserved, sizeof(unsigned));
        c->emulator_cpus = memdup_n(p->emulator_cpus, p->n_emulator, sizeof(unsigned));
        if (!c->owner || !c->cells || !c->vcpu_pins || !c->reserved_cpus || !c->emulator_cpus)
                return placement_free(c);
        return c;
}

/* ---- cpusets ---- */

static int cmp_unsigned(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

char *cpuset_format(const unsigned *cpus, size_t n) {
        size_t size = n * 24 + 1, len = 0;
        char *s = malloc(size);

        if (!s)
                return NULL;
        s[0] = '\0';
        for (size_t i = 0; i < n;) {
                size_t k = i;
                while (k + 1 < n && cpus[k + 1] == cpus[k] + 1)
                        k++;
                if (k > i)
                        len += (size_t) snprintf(s + len, size - len, "%s%u-%u", len ? "," : "", cpus[i], cpus[k]);
                else
                        len += (size_t) snprintf(s + len, size - len, "%s%u", len ? "," : "", cpus[i]);
                i = k + 1;
        }
        return s;
}

static int parse_num(const char **p, unsigned max, unsigned *ret) {
        unsigned long v = 0;
        const char *s = *p;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (unsigned long) (*s - '0');
                if (v > max)
                        return -EINVAL;
        }
        *p = s;
        *ret = (unsigned) v;
        return 0;
}

int cpuset_parse(const char *s, unsigned max_cpu, unsigned **ret, size_t *ret_n) {
        _cleanup_free_ unsigned *v = NULL;
        size_t n = 0, allocated = 0;

        if (!s || !*s)
                return -EINVAL;
        for (;;) {
                unsigned a, b;
                if (parse_num(&s, max_cpu, &a) < 0)
                        return -EINVAL;
                b = a;
                if (*s == '-') {
                        s++;
                        if (parse_num(&s, max_cpu, &b) < 0 || b < a)
                                return -EINVAL;
                }
                for (unsigned c = a;; c++) {
                        if (n == allocated) {
                                unsigned *q;
                                allocated = allocated ? allocated * 2 : 16;
                                if (allocated > (size_t) max_cpu + 1)
                                        allocated = (size_t) max_cpu + 1;
                                q = reallocarray(v, allocated, sizeof(unsigned));
                                if (!q)
                                        return -ENOMEM;
                                v = q;
                        }
                        if (n >= (size_t) max_cpu + 1)
                                return -EINVAL; /* more entries than CPUs: duplicates */
                        v[n++] = c;
                        if (c == b)
                                break;
                }
                if (*s == '\0')
                        break;
                if (*s != ',')
                        return -EINVAL;
                s++;
        }
        qsort(v, n, sizeof(unsigned), cmp_unsigned);
        {
                size_t k = 0;
                for (size_t i = 0; i < n; i++)
                        if (k == 0 || v[k - 1] != v[i])
                                v[k++] = v[i];
                n = k;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* ---- ledger ---- */

void placement_ledger_done(PlacementLedger *l) {
        for (size_t i = 0; i < l->n_held; i++)
                placement_free(l->held[i]);
        free(l->held);
        l->held = NULL;
        l->n_held = 0;
}

int placement_ledger_add(PlacementLedger *l, const Placement *p) {
        Placement **a, *c;

        for (size_t i = 0; i < l->n_held; i++)
                if (streq_ptr(l->held[i]->owner, p->owner))
                        return -EEXIST;
        c = placement_copy(p);
        if (!c)
                return -ENOMEM;
        a = reallocarray(l->held, l->n_held + 1, sizeof(Placement *));
        if (!a) {
                placement_free(c);
                return -ENOMEM;
        }
        l->held = a;
        l->held[l->n_held++] = c;
        return 0;
}

int placement_ledger_release(PlacementLedger *l, const char *owner) {
        for (size_t i = 0; i < l->n_held; i++)
                if (streq_ptr(l->held[i]->owner, owner)) {
                        placement_free(l->held[i]);
                        memmove(l->held + i, l->held + i + 1, (l->n_held - i - 1) * sizeof(Placement *));
                        l->n_held--;
                        return 0;
                }
        return -ENOENT;
}

uint64_t placement_ledger_pages(const PlacementLedger *l, unsigned host_cell, uint64_t page_kib) {
        uint64_t sum = 0;

        for (size_t i = 0; l && i < l->n_held; i++) {
                if (l->held[i]->page_kib != page_kib)
                        continue;
                for (size_t k = 0; k < l->held[i]->n_cells; k++)
                        if (l->held[i]->cells[k].host_cell == host_cell)
                                sum += l->held[i]->cells[k].pages;
        }
        return sum;
}

bool placement_ledger_cpu_held(const PlacementLedger *l, unsigned cpu) {
        for (size_t i = 0; l && i < l->n_held; i++)
                if (bsearch(&cpu, l->held[i]->reserved_cpus, l->held[i]->n_reserved, sizeof(unsigned), cmp_unsigned))
                        return true;
        return false;
}

/* ---- placing ---- */

typedef struct Core {
        const unsigned *cpus; /* the siblings, ascending */
        size_t n;
} Core;

/* The cell's cores in ascending order of their first CPU: one entry per distinct sibling set
 * whose CPUs all belong to this cell (a core straddling cells is never used). */
static int cell_cores(const HostCell *c, Core **ret, size_t *ret_n) {
        Core *cores = calloc(c->n_cpus ? c->n_cpus : 1, sizeof(Core));
        size_t n = 0;

        if (!cores)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_cpus; i++) {
                const HostCpu *cpu = &c->cpus[i];
                bool inside = true;

                if (cpu->siblings[0] != cpu->id) /* listed under its first sibling */
                        continue;
                for (size_t k = 0; k < cpu->n_siblings; k++) {
                        HostCpu key = { .id = cpu->siblings[k] };
                        if (!bsearch(&key, c->cpus, c->n_cpus, sizeof(HostCpu), (int (*)(const void *, const void *)) cmp_unsigned))
                                inside = false;
                }
                if (inside)
                        cores[n++] = (Core) { cpu->siblings, cpu->n_siblings };
        }
        *ret = cores;
        *ret_n = n;
        return 0;
}

static const char *page_name(uint64_t kib) {
        return kib == 1048576 ? "1 GiB" : "2 MiB";
}

/* Appends "; "-separated text to a bounded reason. */
_printf_(2, 3) static int reason_append(char **reason, const char *fmt, ...) {
        _cleanup_free_ char *add = NULL;
        va_list ap;
        char *n;

        va_start(ap, fmt);
        add = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!add)
                return -ENOMEM;
        if (*reason && strlen(*reason) > PLACEMENT_REASON_MAX)
                return 0;
        n = *reason ? strdup_printf("%s; %s", *reason, add) : TAKE_PTR(add);
        if (!n)
                return -ENOMEM;
        if (n != *reason)
                free(*reason);
        *reason = n;
        return 0;
}

/* Splits total over k shares in proportion to weights; the remainder goes to the first shares. */
static void split(uint64_t total, const unsigned *weights, size_t k, uint64_t *out) {
        uint64_t w = 0, given = 0;

        for (size_t i = 0; i < k; i++)
                w += weights[i];
        for (size_t i = 0; i < k; i++) {
                out[i] = total * weights[i] / w;
                given += out[i];
        }
        for (size_t i = 0; given < total; i = (i + 1) % k, given++)
                out[i]++;
}

static int add_cpus(unsigned **v, size_t *n, const unsigned *cpus, size_t k) {
        unsigned *a = reallocarray(*v, *n + k ? *n + k : 1, sizeof(unsigned));

        if (!a)
                return -ENOMEM;
        memcpy(a + *n, cpus, k * sizeof(unsigned));
        *v = a;
        *n += k;
        return 0;
}

/* Tries the given host cells (ascending) with the given weights. 0 and *ret on success, -ENOSPC
 * with the shortfalls appended to *reason. */
static int try_cells(const LaunchSpec *spec, const HostProbe *host, const PlacementLedger *ledger,
                     unsigned housekeeping, const unsigned *cell_ids, const unsigned *weights, size_t k,
                     Placement **ret, char **reason) {
        _cleanup_(placement_freep) Placement *p = calloc(1, sizeof(Placement));
        _cleanup_free_ uint64_t *vcpus = calloc(k, sizeof(uint64_t)), *pages = calloc(k, sizeof(uint64_t));
        HostPageSize ps = host_page_size_from_kib(spec->hugepage_kib);
        uint64_t total_pages = spec->memory_mib * 1024 / spec->hugepage_kib;
        unsigned threads = 0;
        bool short_of = false, uniform = true;
        int r;

        if (!p || !vcpus || !pages)
                return -ENOMEM;
        if (ps < 0)
                return -EINVAL;
        if (spec->vcpus < k)
                return reason_append(reason, "%u vCPUs cannot span %zu NUMA cells (one vCPU per cell at least)",
                                     spec->vcpus, k) < 0 ? -ENOMEM : -ENOSPC;
        if (total_pages < k)
                return reason_append(reason, "%" PRIu64 " %s pages cannot span %zu NUMA cells", total_pages,
                                     page_name(spec->hugepage_kib), k) < 0 ? -ENOMEM : -ENOSPC;
        split(spec->vcpus, weights, k, vcpus);
        split(total_pages, weights, k, pages);

        p->owner = strdup(spec->name);
        p->page_kib = spec->hugepage_kib;
        p->cells = calloc(k, sizeof(PlacementCell));
        p->vcpu_pins = calloc(spec->vcpus, sizeof(unsigned));
        if (!p->owner || !p->cells || !p->vcpu_pins)
                return -ENOMEM;
        p->n_cells = k;
        p->n_vcpus = spec->vcpus;

        for (size_t i = 0, vcpu = 0; i < k; i++) {
                const HostCell *c = host_probe_find_cell(host, cell_ids[i]);
                _cleanup_free_ Core *cores = NULL;
                uint64_t held, avail, total, free_now;
                size_t n_cores, assigned = 0, free_cpus = 0;

                if (!c)
                        return -EINVAL;
                /* pages: what the host reports free, and what cvmd's ledger leaves of the pool */
                total = c->pages_total[ps];
                free_now = c->pages_free[ps];
                held = placement_ledger_pages(ledger, c->id, spec->hugepage_kib);
                avail = total > held ? total - held : 0;
                if (free_now < avail)
                        avail = free_now;
                if (pages[i] > avail) {
                        short_of = true;
                        if (reason_append(reason, "needs %" PRIu64 " free %s pages on cell %u, %" PRIu64 " free",
                                          pages[i], page_name(spec->hugepage_kib), c->id, avail) < 0)
                                return -ENOMEM;
                }

                r = cell_cores(c, &cores, &n_cores);
                if (r < 0)
                        return r;
                if (i == 0 && housekeeping > 0 && n_cores > 0) {
                        r = add_cpus(&p->emulator_cpus, &p->n_emulator, cores[0].cpus, cores[0].n);
                        if (r < 0)
                                return r;
                }
                for (size_t j = housekeeping; j < n_cores; j++) {
                        bool busy = false;
                        for (size_t t = 0; t < cores[j].n; t++)
                                busy = busy || placement_ledger_cpu_held(ledger, cores[j].cpus[t]);
                        if (busy)
                                continue;
                        free_cpus += cores[j].n;
                        if (assigned >= vcpus[i])
                                continue;
                        /* whole cores: every thread of the core goes to this guest */
                        r = add_cpus(&p->reserved_cpus, &p->n_reserved, cores[j].cpus, cores[j].n);
                        if (r < 0)
                                return r;
                        if (threads == 0)
                                threads = (unsigned) cores[j].n;
                        else if (threads != cores[j].n)
                                uniform = false;
                        for (size_t t = 0; t < cores[j].n && assigned < vcpus[i]; t++, assigned++)
                                p->vcpu_pins[vcpu + assigned] = cores[j].cpus[t];
                }
                if (assigned < vcpus[i]) {
                        short_of = true;
                        if (reason_append(reason,
                                          "needs %" PRIu64 " free CPUs (whole cores, %u housekeeping core%s kept) on cell %u, %zu free",
                                          vcpus[i], housekeeping, housekeeping == 1 ? "" : "s", c->id, free_cpus) < 0)
                                return -ENOMEM;
                }
                p->cells[i] = (PlacementCell) {
                        .host_cell = c->id,
                        .guest_cell = (unsigned) i,
                        .first_vcpu = (unsigned) vcpu,
                        .n_vcpus = (unsigned) vcpus[i],
                        .pages = pages[i],
                };
                vcpu += vcpus[i];
        }
        if (short_of)
                return -ENOSPC;

        qsort(p->reserved_cpus, p->n_reserved, sizeof(unsigned), cmp_unsigned);
        if (p->n_emulator == 0) {
                /* no housekeeping core: the emulator shares the guest's own CPUs */
                r = add_cpus(&p->emulator_cpus, &p->n_emulator, p->reserved_cpus, p->n_reserved);
                if (r < 0)
                        return r;
        }

        /* guest topology: host SMT width when every cell's share is whole cores of it; one socket
         * per cell when the cells are equal */
        if (!uniform || threads == 0)
                threads = 1;
        for (size_t i = 0; i < k; i++)
                if (p->cells[i].n_vcpus % threads != 0)
                        threads = 1;
        p->threads = threads;
        p->sockets = (unsigned) k;
        for (size_t i = 0; i < k; i++)
                if (p->cells[i].n_vcpus != p->cells[0].n_vcpus)
                        p->sockets = 1;
        p->cores = spec->vcpus / (p->sockets * p->threads);
        *ret = TAKE_PTR(p);
        return 0;
}

int placement_compute(const LaunchSpec *spec, const HostProbe *host, const PlacementLedger *ledger,
                      const PlacementOptions *opts, Placement **ret, char **ret_reason) {
        _cleanup_free_ unsigned *cells = NULL, *weights = NULL;
        _cleanup_free_ char *reason = NULL;
        unsigned housekeeping = opts ? opts->housekeeping_cores : 1;
        Placement *p = NULL;
        size_t k = 0;
        char bdf[16];
        int r;

        if (!spec || !host || !ret)
                return -EINVAL;
        if (host->n_cells == 0)
                return set_reason(ret_reason, -ENOSPC, "the host reports no NUMA cells");
        if (host_page_size_from_kib(spec->hugepage_kib) < 0)
                return set_reason(ret_reason, -EINVAL, "unsupported hugepage size %" PRIu64 " KiB", spec->hugepage_kib);
        for (size_t i = 0; ledger && i < ledger->n_held; i++)
                if (streq_ptr(ledger->held[i]->owner, spec->name))
                        return set_reason(ret_reason, -EEXIST, "a domain named '%s' already holds resources",
                                          spec->name);

        cells = calloc(host->n_cells, sizeof(unsigned));
        weights = calloc(host->n_cells, sizeof(unsigned));
        if (!cells || !weights)
                return -ENOMEM;

        /* the cells local to the GPUs, each weighted by its GPU count */
        for (size_t i = 0; i < spec->n_gpus; i++) {
                const HostGpu *g = host_probe_find_gpu(host, &spec->gpus[i]);
                int node;

                pci_address_format(&spec->gpus[i], bdf, sizeof(bdf));
                if (!g || !g->found)
                        return set_reason(ret_reason, -ENODEV, "GPU %s is not on this host", bdf);
                node = g->numa_node;
                if (node < 0 && host->n_cells == 1)
                        node = (int) host->cells[0].id;
                if (node < 0)
                        continue; /* no locality known: no constraint */
                if (!host_probe_find_cell(host, (unsigned) node))
                        return set_reason(ret_reason, -ENODEV,
                                          "GPU %s is on NUMA node %d, which the host capabilities do not list", bdf,
                                          node);
                for (size_t c = 0; c <= k; c++) {
                        if (c == k) {
                                cells[k] = (unsigned) node;
                                weights[k++] = 1;
                                break;
                        }
                        if (cells[c] == (unsigned) node) {
                                weights[c]++;
                                break;
                        }
                }
        }

        if (k > 0) {
                /* ascending host cell order; weights follow */
                for (size_t i = 1; i < k; i++)
                        for (size_t j = i; j > 0 && cells[j - 1] > cells[j]; j--) {
                                unsigned t = cells[j];
                                cells[j] = cells[j - 1], cells[j - 1] = t;
                                t = weights[j];
                                weights[j] = weights[j - 1], weights[j - 1] = t;
                        }
                r = try_cells(spec, host, ledger, housekeeping, cells, weights, k, &p, &reason);
        } else {
                /* no GPU locality: the first single cell that holds everything */
                unsigned one = 1;
                r = -ENOSPC;
                for (size_t i = 0; i < host->n_cells && r == -ENOSPC; i++)
                        r = try_cells(spec, host, ledger, housekeeping, &host->cells[i].id, &one, 1, &p, &reason);
        }
        if (r == -ENOSPC) {
                if (ret_reason) {
                        *ret_reason = TAKE_PTR(reason);
                        if (!*ret_reason)
                                return -ENOMEM;
                }
                return r;
        }
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

/* ---- JSON ---- */

json_object *placement_to_json(const Placement *p) {
        json_object *o = json_object_new_object(), *cells = json_object_new_array(), *pins = json_object_new_array();
        _cleanup_free_ char *res = cpuset_format(p->reserved_cpus, p->n_reserved);
        _cleanup_free_ char *emu = cpuset_format(p->emulator_cpus, p->n_emulator);
        int r = 0;

        if (!o || !cells || !pins || !res || !emu)
                goto oom;
        r |= json_object_object_add(o, "page_kib", json_object_new_int64((int64_t) p->page_kib));
        r |= json_object_object_add(o, "cells", cells);
        cells = NULL;
        for (size_t i = 0; i < p->n_cells; i++) {
                json_object *c = json_object_new_object();
                if (!c || json_object_array_add(json_object_object_get(o, "cells"), c) < 0) {
                        json_object_put(c);
                        goto oom;
                }
                r |= json_object_object_add(c, "host_cell", json_object_new_int64(p->cells[i].host_cell));
                r |= json_object_object_add(c, "guest_cell", json_object_new_int64(p->cells[i].guest_cell));
                r |= json_object_object_add(c, "vcpus", json_object_new_int64(p->cells[i].n_vcpus));
                r |= json_object_object_add(c, "pages", json_object_new_int64((int64_t) p->cells[i].pages));
        }
        for (size_t i = 0; i < p->n_vcpus; i++)
                r |= json_object_array_add(pins, json_object_new_int64(p->vcpu_pins[i]));
        r |= json_object_object_add(o, "vcpu_pins", pins);
        pins = NULL;
        r |= json_object_object_add(o, "reserved_cpus", json_object_new_string(res));
        r |= json_object_object_add(o, "emulator_cpus", json_object_new_string(emu));
        r |= json_object_object_add(o, "sockets", json_object_new_int64(p->sockets));
        r |= json_object_object_add(o, "cores", json_object_new_int64(p->cores));
        r |= json_object_object_add(o, "threads", json_object_new_int64(p->threads));
        if (r != 0)
                goto oom;
        return o;
oom:
        json_object_put(o);
        json_object_put(cells);
        json_object_put(pins);
        return NULL;
}
