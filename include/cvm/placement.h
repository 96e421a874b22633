/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NUMA placement of a launch: which host cells, which CPUs for each vCPU, where the emulator
 * threads run, how many hugepages on each cell, and the guest NUMA topology. Pure and
 * deterministic: the same spec, probe and ledger give the same placement. Rules in README.md
 * "Placement". A refusal names the shortfall ("needs 131072 free 2 MiB pages on cell 1, 65536
 * free"). */

#include <json-c/json.h>
#include <stdint.h>

#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"

typedef struct PlacementCell {
        unsigned host_cell;
        unsigned guest_cell;
        unsigned first_vcpu; /* the guest cell's vCPUs are first_vcpu .. first_vcpu + n_vcpus - 1 */
        unsigned n_vcpus;
        uint64_t pages; /* hugepages of page_kib taken on host_cell */
} PlacementCell;

typedef struct Placement {
        char *owner;      /* the domain name */
        uint64_t page_kib; /* 2048 or 1048576 */
        PlacementCell *cells; /* in guest cell order, host cells ascending */
        size_t n_cells;
        unsigned *vcpu_pins;  /* host CPU for each vCPU */
        size_t n_vcpus;
        unsigned *reserved_cpus; /* every host CPU held (whole cores), ascending */
        size_t n_reserved;
        unsigned *emulator_cpus; /* the housekeeping CPUs (one core) for the emulator threads */
        size_t n_emulator;
        unsigned sockets, cores, threads; /* guest CPU topology; product == n_vcpus */
} Placement;

Placement *placement_free(Placement *p);
DEFINE_CLEANUP(Placement *, placement_free)

typedef struct PlacementOptions {
        /* Cores kept for the host at the start of each cell (lowest CPU ids), never given to a
         * vCPU; the emulator threads run on the first of them. Default 1. */
        unsigned housekeeping_cores;
} PlacementOptions;

/* What cvmd's domains hold, so two launches never get the same cores or pages. */
typedef struct PlacementLedger {
        Placement **held;
        size_t n_held;
} PlacementLedger;

void placement_ledger_done(PlacementLedger *l);
/* Records a copy of p; -EEXIST when its owner already holds resources. */
int placement_ledger_add(PlacementLedger *l, const Placement *p);
/* Drops what owner holds; -ENOENT when it holds nothing. */
int placement_ledger_release(PlacementLedger *l, const char *owner);
/* Pages of page_kib that the ledger holds on a host cell. */
uint64_t placement_ledger_pages(const PlacementLedger *l, unsigned host_cell, uint64_t page_kib);
bool placement_ledger_cpu_held(const PlacementLedger *l, unsigned cpu);

/* Places spec on the probed host. opts and ledger may be NULL. Returns 0, -ENOSPC with a reason
 * when the host cannot hold it, -ENODEV when a GPU is not on the host, -ENOMEM. */
int placement_compute(const LaunchSpec *spec, const HostProbe *host, const PlacementLedger *ledger,
                      const PlacementOptions *opts, Placement **ret, char **ret_reason);

Placement *placement_copy(const Placement *p);
/* "0-3,8,10-11" for a sorted CPU list, malloc'ed. */
char *cpuset_format(const unsigned *cpus, size_t n);
/* Parses "0-3,8" into a sorted, de-duplicated list; -EINVAL on anything else. */
int cpuset_parse(const char *s, unsigned max_cpu, unsigned **ret, size_t *ret_n);

json_object *placement_to_json(const Placement *p);
