/* SPDX-License-Identifier: Apache-2.0 */
/* NUMA placement: host cells local to the GPUs, whole cores for the vCPUs (SMT siblings kept
 * together), an emulator pin on a housekeeping core, memory per cell by capacity (hugepages,
 * and ordinary memory for a confidential guest's private memory), and the ledger of what every
 * domain on the host holds. cvmd-launch-spec(5) "PLACEMENT" and "MEMORY". */
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
        free(p->devices);
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
        c->devices = memdup_n(p->devices, p->n_devices, sizeof(PciAddress));
        if (!c->owner || !c->cells || !c->vcpu_pins || !c->reserved_cpus || !c->emulator_cpus || !c->devices)
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

/* A held cell's share of host_cell: all of it on its own cell, an even share when bound to
 * none. */
static uint64_t share_of(const PlacementLedger *l, const PlacementCell *c, uint64_t v, unsigned host_cell) {
        if (c->host_cell == host_cell)
                return v;
        if (c->host_cell == PLACEMENT_CELL_ANY && l->n_host_cells > 0)
                return (v + l->n_host_cells - 1) / l->n_host_cells;
        return 0;
}

uint64_t placement_ledger_pages(const PlacementLedger *l, unsigned host_cell, uint64_t page_kib) {
        uint64_t sum = 0;

        for (size_t i = 0; l && i < l->n_held; i++) {
                if (l->held[i]->page_kib != page_kib)
                        continue;
                for (size_t k = 0; k < l->held[i]->n_cells; k++)
                        sum += share_of(l, &l->held[i]->cells[k], l->held[i]->cells[k].pages, host_cell);
        }
        return sum;
}

uint64_t placement_ledger_ordinary_kib(const PlacementLedger *l, unsigned host_cell) {
        uint64_t sum = 0;

        for (size_t i = 0; l && i < l->n_held; i++)
                for (size_t k = 0; k < l->held[i]->n_cells; k++)
                        sum += share_of(l, &l->held[i]->cells[k], l->held[i]->cells[k].ordinary_kib, host_cell);
        return sum;
}

bool placement_ledger_cpu_held(const PlacementLedger *l, unsigned cpu) {
        for (size_t i = 0; l && i < l->n_held; i++)
                if (bsearch(&cpu, l->held[i]->reserved_cpus, l->held[i]->n_reserved, sizeof(unsigned), cmp_unsigned))
                        return true;
        return false;
}

const char *placement_ledger_device_holder(const PlacementLedger *l, const PciAddress *a) {
        for (size_t i = 0; l && i < l->n_held; i++)
                for (size_t k = 0; k < l->held[i]->n_devices; k++)
                        if (pci_address_equal(&l->held[i]->devices[k], a))
                                return l->held[i]->owner;
        return NULL;
}

const char *placement_ledger_cid_holder(const PlacementLedger *l, uint32_t cid) {
        for (size_t i = 0; l && i < l->n_held; i++)
                if (cid != 0 && l->held[i]->vsock_cid == cid)
                        return l->held[i]->owner;
        return NULL;
}

uint32_t placement_ledger_free_cid(const PlacementLedger *l) {
        uint32_t cid = LAUNCH_SPEC_VSOCK_CID_MIN;

        /* at most n_held CIDs are taken: the loop ends within n_held + 1 tries */
        while (placement_ledger_cid_holder(l, cid))
                cid++;
        return cid;
}

static bool placement_equal(const Placement *a, const Placement *b) {
        if (!streq_ptr(a->owner, b->owner) || a->page_kib != b->page_kib || a->n_cells != b->n_cells ||
            a->n_vcpus != b->n_vcpus || a->n_reserved != b->n_reserved || a->n_emulator != b->n_emulator ||
            a->n_devices != b->n_devices || a->vsock_cid != b->vsock_cid || a->foreign != b->foreign)
                return false;
        for (size_t i = 0; i < a->n_cells; i++)
                if (a->cells[i].host_cell != b->cells[i].host_cell || a->cells[i].pages != b->cells[i].pages ||
                    a->cells[i].ordinary_kib != b->cells[i].ordinary_kib || a->cells[i].n_vcpus != b->cells[i].n_vcpus)
                        return false;
        for (size_t i = 0; i < a->n_devices; i++)
                if (!pci_address_equal(&a->devices[i], &b->devices[i]))
                        return false;
        return memcmp(a->vcpu_pins, b->vcpu_pins, a->n_vcpus * sizeof(unsigned)) == 0 &&
               memcmp(a->reserved_cpus, b->reserved_cpus, a->n_reserved * sizeof(unsigned)) == 0 &&
               memcmp(a->emulator_cpus, b->emulator_cpus, a->n_emulator * sizeof(unsigned)) == 0;
}

bool placement_ledger_equal(const PlacementLedger *a, const PlacementLedger *b) {
        if (a->n_held != b->n_held)
                return false;
        for (size_t i = 0; i < a->n_held; i++) {
                bool found = false;
                for (size_t k = 0; k < b->n_held && !found; k++)
                        found = placement_equal(a->held[i], b->held[k]);
                if (!found)
                        return false;
        }
        return true;
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

/* Splits total over k shares in proportion to weights, each share at least one and at most its
 * cap: the plain proportional split when it fits, else the excess of the full cells goes to
 * those with room, in proportion to their weights ("placement by capacity"). -ENOSPC when the
 * caps together are too small. */
static int fill(uint64_t total, const unsigned *weights, const uint64_t *cap, size_t k, uint64_t *out) {
        uint64_t sum = 0, rem;
        bool fits = true;

        split(total, weights, k, out);
        for (size_t i = 0; i < k; i++) {
                fits = fits && out[i] >= 1 && out[i] <= cap[i];
                sum += cap[i];
                if (cap[i] < 1)
                        return -ENOSPC;
        }
        if (fits)
                return 0;
        if (sum < total || total < k)
                return -ENOSPC;
        for (size_t i = 0; i < k; i++)
                out[i] = 1;
        rem = total - k;
        while (rem > 0) {
                uint64_t w = 0, given = 0;
                for (size_t i = 0; i < k; i++)
                        if (out[i] < cap[i])
                                w += weights[i];
                if (w == 0)
                        return -ENOSPC;
                for (size_t i = 0; i < k; i++) {
                        uint64_t add;
                        if (out[i] >= cap[i])
                                continue;
                        add = rem / w * weights[i] + rem % w * weights[i] / w;
                        if (add > cap[i] - out[i])
                                add = cap[i] - out[i];
                        if (add > rem - given)
                                add = rem - given;
                        out[i] += add;
                        given += add;
                }
                for (size_t i = 0; given == 0 && i < k; i++)
                        if (out[i] < cap[i]) { /* rounding gave nothing: one unit to the first with room */
                                out[i]++;
                                given = 1;
                        }
                rem -= given;
        }
        return 0;
}

/* What one host cell can give this guest. */
typedef struct Room {
        const HostCell *cell;
        Core *cores;
        size_t n_cores;
        size_t *free; /* indices of the cores no one holds, housekeeping cores left out */
        size_t n_free;
        uint64_t pages;        /* hugepages of the spec's size */
        uint64_t ordinary_kib; /* ordinary memory */
} Room;

static void rooms_free(Room *r, size_t k) {
        for (size_t i = 0; r && i < k; i++) {
                free(r[i].cores);
                free(r[i].free);
        }
        free(r);
}

static uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

static int cell_room(const HostCell *c, const PlacementLedger *ledger, unsigned housekeeping, HostPageSize ps,
                     uint64_t page_kib, Room *ret) {
        uint64_t held;
        int r;

        *ret = (Room) { .cell = c };
        /* what the host reports free, and what the ledger leaves of the cell */
        held = placement_ledger_pages(ledger, c->id, page_kib);
        ret->pages = min_u64(c->pages_total[ps] > held ? c->pages_total[ps] - held : 0, c->pages_free[ps]);
        held = placement_ledger_ordinary_kib(ledger, c->id);
        ret->ordinary_kib = min_u64(c->ordinary_total_kib > held ? c->ordinary_total_kib - held : 0, c->ordinary_free_kib);
        r = cell_cores(c, &ret->cores, &ret->n_cores);
        if (r < 0)
                return r;
        ret->free = calloc(ret->n_cores ? ret->n_cores : 1, sizeof(size_t));
        if (!ret->free)
                return -ENOMEM;
        for (size_t j = housekeeping; j < ret->n_cores; j++) {
                bool busy = false;
                for (size_t t = 0; t < ret->cores[j].n; t++)
                        busy = busy || placement_ledger_cpu_held(ledger, ret->cores[j].cpus[t]);
                if (!busy)
                        ret->free[ret->n_free++] = j;
        }
        return 0;
}

/* "0,1" */
static char *cell_list(const Room *rooms, size_t k) {
        char *s = strdup("");

        for (size_t i = 0; s && i < k; i++) {
                char *n = strdup_printf("%s%s%u", s, i ? "," : "", rooms[i].cell->id);
                free(s);
                s = n;
        }
        return s;
}

/* " (cell 0: 12, cell 1: 40)" */
static char *per_cell(const Room *rooms, const uint64_t *v, size_t k) {
        char *s = strdup(" (");

        for (size_t i = 0; s && i < k; i++) {
                char *n = strdup_printf("%s%scell %u: %" PRIu64, s, i ? ", " : "", rooms[i].cell->id, v[i]);
                free(s);
                s = n;
        }
        if (s) {
                char *n = strdup_printf("%s)", s);
                free(s);
                s = n;
        }
        return s;
}

/* "needs <need> <what> on cell 1, <have> free" or "... on cells 0,1, <sum> free (cell 0: a, ...)". */
static int shortfall(char **reason, const Room *rooms, const uint64_t *have, size_t k, uint64_t need, const char *what) {
        _cleanup_free_ char *cells = cell_list(rooms, k), *each = k > 1 ? per_cell(rooms, have, k) : strdup("");
        uint64_t sum = 0;

        if (!cells || !each)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++)
                sum += have[i];
        return reason_append(reason, "needs %" PRIu64 " %s on cell%s %s, %" PRIu64 " free%s", need, what,
                             k > 1 ? "s" : "", cells, sum, each);
}

/* The SMT width of the cells' cores: the guest is told this many threads per core when its
 * vCPUs come in whole cores; 1 when the cells disagree. */
static unsigned smt_width(const Room *rooms, size_t k) {
        unsigned t = 0;

        for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < rooms[i].n_cores; j++) {
                        if (t == 0)
                                t = (unsigned) rooms[i].cores[j].n;
                        else if (t != rooms[i].cores[j].n)
                                return 1;
                }
        return t ? t : 1;
}

/* Tries the given host cells (ascending) with the given weights. 0 and *ret on success, -ENOSPC
 * with the shortfalls appended to *reason. */
static int try_cells(const LaunchSpec *spec, const HostProbe *host, const PlacementLedger *ledger,
                     unsigned housekeeping, const unsigned *cell_ids, const unsigned *weights, size_t k,
                     Placement **ret, char **reason) {
        _cleanup_(placement_freep) Placement *p = calloc(1, sizeof(Placement));
        _cleanup_free_ uint64_t *cores = calloc(k, sizeof(uint64_t)), *units = calloc(k, sizeof(uint64_t));
        _cleanup_free_ uint64_t *cap = calloc(k, sizeof(uint64_t)), *have = calloc(k, sizeof(uint64_t));
        HostPageSize ps = host_page_size_from_kib(spec->hugepage_kib);
        bool confidential = spec->tee != CVM_TEE_NONE, capped = spec->shared_memory_mib > 0;
        /* memory goes in units of a hugepage, or of 2 MiB for a capped (ordinary) shared part */
        uint64_t unit_kib = capped ? 2048 : spec->hugepage_kib;
        uint64_t total_units = spec->memory_mib * 1024 / unit_kib, shared_kib = spec->shared_memory_mib * 1024;
        uint64_t memory_kib = spec->memory_mib * 1024, given_shared = 0;
        unsigned t, per_core;
        uint64_t need_cores;
        Room *rooms = NULL;
        bool short_of = false;
        int r;

        if (!p || !cores || !units || !cap || !have)
                return -ENOMEM;
        if (ps < 0)
                return -EINVAL;
        if (spec->vcpus < k)
                return reason_append(reason, "%u vCPUs cannot span %zu NUMA cells (one vCPU per cell at least)",
                                     spec->vcpus, k) < 0 ? -ENOMEM : -ENOSPC;
        if (total_units < k)
                return reason_append(reason, "%" PRIu64 " MiB cannot span %zu NUMA cells", spec->memory_mib, k) < 0
                               ? -ENOMEM
                               : -ENOSPC;
        rooms = calloc(k, sizeof(Room));
        if (!rooms)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++) {
                const HostCell *c = host_probe_find_cell(host, cell_ids[i]);
                if (!c) {
                        rooms_free(rooms, i);
                        return -EINVAL;
                }
                r = cell_room(c, ledger, housekeeping, ps, spec->hugepage_kib, &rooms[i]);
                if (r < 0) {
                        rooms_free(rooms, i + 1);
                        return r;
                }
        }

        /* vCPUs in whole cores: the host's SMT width per core when the count allows it, so that
         * the guest's topology says what the pinning does; otherwise one vCPU per core, its
         * siblings held idle */
        t = smt_width(rooms, k);
        per_core = spec->vcpus % t == 0 ? t : 1;
        need_cores = spec->vcpus / per_core;
        for (size_t i = 0; i < k; i++)
                cap[i] = rooms[i].n_free, have[i] = rooms[i].n_free * per_core;
        if (fill(need_cores, weights, cap, k, cores) < 0) {
                _cleanup_free_ char *what =
                        per_core == t ? strdup_printf("free CPUs (whole cores, %u housekeeping core%s kept)", housekeeping,
                                                      housekeeping == 1 ? "" : "s")
                                      : strdup_printf("free cores (one vCPU per core: %u vCPUs are not a multiple of the "
                                                      "%u threads per core; %u housekeeping core%s kept)",
                                                      spec->vcpus, t, housekeeping, housekeeping == 1 ? "" : "s");
                if (!what || shortfall(reason, rooms, have, k, per_core == t ? spec->vcpus : need_cores, what) < 0)
                        goto oom;
                short_of = true;
        }

        /* memory by capacity: hugepages for the shared view (all of it unless capped), and for a
         * confidential guest ordinary memory for its private part (and the capped shared part) */
        for (size_t i = 0; i < k; i++) {
                uint64_t ord_units = rooms[i].ordinary_kib / unit_kib;
                if (capped) /* each unit of memory costs its private part plus its share of the cap */
                        cap[i] = (uint64_t) ((__uint128_t) rooms[i].ordinary_kib * memory_kib / (memory_kib + shared_kib) /
                                             unit_kib);
                else
                        cap[i] = confidential ? min_u64(rooms[i].pages, ord_units) : rooms[i].pages;
        }
        if (fill(total_units, weights, cap, k, units) < 0) {
                uint64_t pages_sum = 0, ord_sum = 0;
                for (size_t i = 0; i < k; i++)
                        pages_sum += rooms[i].pages, ord_sum += rooms[i].ordinary_kib;
                if (!capped && pages_sum < total_units) {
                        _cleanup_free_ char *what = strdup_printf("free %s pages", page_name(spec->hugepage_kib));
                        for (size_t i = 0; i < k; i++)
                                have[i] = rooms[i].pages;
                        if (!what || shortfall(reason, rooms, have, k, total_units, what) < 0)
                                goto oom;
                }
                if (confidential && ord_sum < memory_kib + shared_kib) {
                        for (size_t i = 0; i < k; i++)
                                have[i] = rooms[i].ordinary_kib / 1024;
                        if (shortfall(reason, rooms, have, k, (memory_kib + shared_kib) / 1024,
                                      capped ? "MiB of free ordinary memory (private memory and the capped shared part)"
                                             : "MiB of free ordinary memory (private memory)") < 0)
                                goto oom;
                }
                if ((capped || pages_sum >= total_units) && (!confidential || ord_sum >= memory_kib + shared_kib)) {
                        /* enough of each, but not on the same cells */
                        for (size_t i = 0; i < k; i++)
                                have[i] = cap[i] * unit_kib / 1024;
                        if (shortfall(reason, rooms, have, k, spec->memory_mib,
                                      "MiB of memory backed on one cell by both hugepages and ordinary memory") < 0)
                                goto oom;
                }
                short_of = true;
        }
        if (short_of) {
                rooms_free(rooms, k);
                return -ENOSPC;
        }

        p->owner = strdup(spec->name);
        p->page_kib = spec->hugepage_kib;
        p->cells = calloc(k, sizeof(PlacementCell));
        p->vcpu_pins = calloc(spec->vcpus, sizeof(unsigned));
        if (!p->owner || !p->cells || !p->vcpu_pins)
                goto oom;
        p->n_cells = k;
        p->n_vcpus = spec->vcpus;
        if (housekeeping > 0 && rooms[0].n_cores > 0 &&
            add_cpus(&p->emulator_cpus, &p->n_emulator, rooms[0].cores[0].cpus, rooms[0].cores[0].n) < 0)
                goto oom;
        for (size_t i = 0, vcpu = 0; i < k; i++) {
                uint64_t m = units[i] * unit_kib, shared = 0;
                unsigned n_vcpus = (unsigned) (cores[i] * per_core);

                if (capped) { /* the cap in proportion to memory; the rest to the last cell */
                        shared = i + 1 == k ? shared_kib - given_shared
                                            : (uint64_t) ((__uint128_t) shared_kib * m / memory_kib) / 2048 * 2048;
                        given_shared += shared;
                }
                for (size_t j = 0, done = 0; j < cores[i]; j++) {
                        const Core *core = &rooms[i].cores[rooms[i].free[j]];
                        if (add_cpus(&p->reserved_cpus, &p->n_reserved, core->cpus, core->n) < 0)
                                goto oom;
                        for (size_t th = 0; th < per_core; th++)
                                p->vcpu_pins[vcpu + done++] = core->cpus[th];
                }
                p->cells[i] = (PlacementCell) {
                        .host_cell = rooms[i].cell->id,
                        .guest_cell = (unsigned) i,
                        .first_vcpu = (unsigned) vcpu,
                        .n_vcpus = n_vcpus,
                        .memory_kib = m,
                        .pages = capped ? 0 : units[i],
                        .ordinary_kib = confidential ? m + shared : 0,
                };
                if (p->cells[i].ordinary_kib > rooms[i].ordinary_kib) { /* the cap's rounding */
                        if (reason_append(reason, "needs %" PRIu64 " MiB of free ordinary memory on cell %u, %" PRIu64 " free",
                                          p->cells[i].ordinary_kib / 1024, rooms[i].cell->id, rooms[i].ordinary_kib / 1024) < 0)
                                goto oom;
                        rooms_free(rooms, k);
                        return -ENOSPC;
                }
                vcpu += n_vcpus;
        }
        rooms_free(rooms, k);
        rooms = NULL;

        qsort(p->reserved_cpus, p->n_reserved, sizeof(unsigned), cmp_unsigned);
        if (p->n_emulator == 0) {
                /* no housekeeping core: the emulator shares the guest's own CPUs */
                r = add_cpus(&p->emulator_cpus, &p->n_emulator, p->reserved_cpus, p->n_reserved);
                if (r < 0)
                        return r;
        }
        /* guest topology: the threads per core the pinning gives; one socket per cell when the
         * cells are equal */
        p->threads = per_core;
        p->sockets = (unsigned) k;
        for (size_t i = 0; i < k; i++)
                if (p->cells[i].n_vcpus != p->cells[0].n_vcpus)
                        p->sockets = 1;
        p->cores = spec->vcpus / (p->sockets * p->threads);
        *ret = TAKE_PTR(p);
        return 0;
oom:
        rooms_free(rooms, k);
        return -ENOMEM;
}

static int add_device(Placement *p, const PciAddress *a) {
        PciAddress *v;

        for (size_t i = 0; i < p->n_devices; i++)
                if (pci_address_equal(&p->devices[i], a))
                        return 0;
        v = reallocarray(p->devices, p->n_devices + 1, sizeof(PciAddress));
        if (!v)
                return -ENOMEM;
        p->devices = v;
        p->devices[p->n_devices++] = *a;
        return 0;
}

/* The spec's GPUs and NVSwitches with every member of their IOMMU groups: held by this guest
 * alone, so no other domain may hold any of them. */
static int hold_devices(const LaunchSpec *spec, const HostProbe *host, const PlacementLedger *ledger, Placement *p,
                        char **ret_reason) {
        for (size_t i = 0; i < spec->n_gpus + spec->n_nvswitches; i++) {
                const PciAddress *a = i < spec->n_gpus ? &spec->gpus[i] : &spec->nvswitches[i - spec->n_gpus];
                const char *what = i < spec->n_gpus ? "GPU" : "NVSwitch";
                const HostGpu *g = host_probe_find_gpu(host, a);
                char bdf[16], m[16];
                const char *holder;
                int r;

                pci_address_format(a, bdf, sizeof(bdf));
                if ((holder = placement_ledger_device_holder(ledger, a)))
                        return set_reason(ret_reason, -EBUSY, "%s %s is held by domain '%s'", what, bdf, holder);
                if ((r = add_device(p, a)) < 0)
                        return r;
                for (size_t k = 0; g && k < g->n_group; k++) {
                        if ((holder = placement_ledger_device_holder(ledger, &g->group[k].address)))
                                return set_reason(ret_reason, -EBUSY,
                                                  "%s %s shares IOMMU group %d with %s, which domain '%s' holds", what, bdf,
                                                  g->iommu_group, pci_address_format(&g->group[k].address, m, sizeof(m)),
                                                  holder);
                        if ((r = add_device(p, &g->group[k].address)) < 0)
                                return r;
                }
        }
        return 0;
}

int placement_compute(const LaunchSpec *spec, const HostProbe *host, const PlacementLedger *ledger,
                      const PlacementOptions *opts, Placement **ret, char **ret_reason) {
        _cleanup_free_ unsigned *cells = NULL, *weights = NULL;
        _cleanup_free_ char *reason = NULL;
        _cleanup_(placement_freep) Placement *held = calloc(1, sizeof(Placement));
        unsigned housekeeping = opts ? opts->housekeeping_cores : 1;
        Placement *p = NULL;
        size_t k = 0;
        char bdf[16];
        int r;

        if (!spec || !host || !ret)
                return -EINVAL;
        if (!held)
                return -ENOMEM;
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
        for (size_t i = 0; i < spec->n_gpus + spec->n_nvswitches; i++) {
                bool is_gpu = i < spec->n_gpus;
                const PciAddress *a = is_gpu ? &spec->gpus[i] : &spec->nvswitches[i - spec->n_gpus];
                const HostGpu *g = host_probe_find_gpu(host, a);
                int node;

                pci_address_format(a, bdf, sizeof(bdf));
                if (!g || !g->found)
                        return set_reason(ret_reason, -ENODEV, "%s %s is not on this host", is_gpu ? "GPU" : "NVSwitch",
                                          bdf);
                if (!is_gpu)
                        continue; /* NVSwitches follow the GPUs; they do not pull vCPUs or memory */
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
        r = hold_devices(spec, host, ledger, held, ret_reason);
        if (r < 0)
                return r;

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
        p->devices = TAKE_PTR(held->devices);
        p->n_devices = held->n_devices;
        held->n_devices = 0;
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
                r |= json_object_object_add(c, "memory_kib", json_object_new_int64((int64_t) p->cells[i].memory_kib));
                r |= json_object_object_add(c, "pages", json_object_new_int64((int64_t) p->cells[i].pages));
                r |= json_object_object_add(c, "ordinary_kib", json_object_new_int64((int64_t) p->cells[i].ordinary_kib));
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
        {
                json_object *d = json_object_new_array();
                char bdf[16];
                r |= json_object_object_add(o, "devices", d);
                for (size_t i = 0; d && i < p->n_devices; i++)
                        r |= json_object_array_add(d, json_object_new_string(
                                                              pci_address_format(&p->devices[i], bdf, sizeof(bdf))));
        }
        if (r != 0)
                goto oom;
        return o;
oom:
        json_object_put(o);
        json_object_put(cells);
        json_object_put(pins);
        return NULL;
}

json_object *placement_ledger_to_json(const PlacementLedger *l) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < l->n_held; i++) {
                json_object *o = placement_to_json(l->held[i]);
                if (!o || json_object_array_add(a, o) < 0 ||
                    json_object_object_add(o, "owner", json_object_new_string(l->held[i]->owner)) < 0 ||
                    json_object_object_add(o, "foreign", json_object_new_boolean(l->held[i]->foreign)) < 0 ||
                    json_object_object_add(o, "vsock_cid", json_object_new_int64(l->held[i]->vsock_cid)) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}
