/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NUMA placement of a launch: which host cells, which CPUs for each vCPU, where the emulator
 * threads run, what memory it takes on each cell, and the guest NUMA topology; and the ledger of
 * what every domain on the host holds. Pure and deterministic: the same spec, probe and ledger
 * give the same placement. Rules in cvmd-launch-spec(5) "PLACEMENT" and "MEMORY". A refusal
 * names the node and the resource ("needs 131072 free 2 MiB pages on cell 1, 65536 free").
 *
 * Memory of a SEV-SNP or TDX guest, per host cell: its private memory (KVM's guest_memfd) from
 * the cell's ordinary memory, and its shared view: hugepages for all of its memory (libvirt
 * preallocates hugepage-backed memory, and QEMU does not give hugetlb pages back when the guest
 * converts them to private), or, when the spec caps the shared part, that much ordinary memory.
 * A guest without a TEE takes hugepages only. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"

/* A cell of a domain whose memory is bound to no host cell (a foreign domain without numatune):
 * charged evenly to every host cell. */
#define PLACEMENT_CELL_ANY UINT32_MAX

typedef struct PlacementCell {
        unsigned host_cell;
        unsigned guest_cell;
        unsigned first_vcpu; /* the guest cell's vCPUs are first_vcpu .. first_vcpu + n_vcpus - 1 */
        unsigned n_vcpus;
        uint64_t memory_kib;   /* the guest cell's memory */
        uint64_t pages;        /* hugepages of page_kib taken on host_cell (the shared view) */
        uint64_t ordinary_kib; /* ordinary memory taken on host_cell: private memory, and a capped
                                * shared part */
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
        PciAddress *devices; /* host PCI devices held: GPUs, NVSwitches and their IOMMU groups */
        size_t n_devices;
        uint32_t vsock_cid;  /* the CID held; 0: none (set by the plan, not by placement) */
        bool foreign;        /* a domain cvmd did not start (read from its XML) */
} Placement;

Placement *placement_free(Placement *p);
DEFINE_CLEANUP(Placement *, placement_free)

typedef struct PlacementOptions {
        /* Cores kept for the host at the start of each cell (lowest CPU ids), never given to a
         * vCPU; the emulator threads run on the first of them. Default 1. */
        unsigned housekeeping_cores;
} PlacementOptions;

/* What every domain on the host holds (cvmd's from their metadata, others from their XML), so
 * two launches never get the same cores, memory, devices or CID. */
typedef struct PlacementLedger {
        Placement **held;
        size_t n_held;
        unsigned n_host_cells; /* for memory bound to no cell (PLACEMENT_CELL_ANY); 0: ignored */
} PlacementLedger;

void placement_ledger_done(PlacementLedger *l);
/* Records a copy of p; -EEXIST when its owner already holds resources. */
int placement_ledger_add(PlacementLedger *l, const Placement *p);
/* Drops what owner holds; -ENOENT when it holds nothing. */
int placement_ledger_release(PlacementLedger *l, const char *owner);
/* Pages of page_kib that the ledger holds on a host cell. */
uint64_t placement_ledger_pages(const PlacementLedger *l, unsigned host_cell, uint64_t page_kib);
/* Ordinary memory the ledger holds on a host cell. */
uint64_t placement_ledger_ordinary_kib(const PlacementLedger *l, unsigned host_cell);
bool placement_ledger_cpu_held(const PlacementLedger *l, unsigned cpu);
/* The owner holding a PCI device, or NULL. */
const char *placement_ledger_device_holder(const PlacementLedger *l, const PciAddress *a);
/* The owner holding a vsock CID, or NULL. */
const char *placement_ledger_cid_holder(const PlacementLedger *l, uint32_t cid);
/* The lowest CID >= 3 nobody holds. */
uint32_t placement_ledger_free_cid(const PlacementLedger *l);
/* Whether two ledgers hold the same (for "a restart rebuilds the same ledger"). */
bool placement_ledger_equal(const PlacementLedger *a, const PlacementLedger *b);
json_object *placement_ledger_to_json(const PlacementLedger *l);

/* Places spec on the probed host. opts and ledger may be NULL. Returns 0, -ENOSPC with a reason
 * when the host cannot hold it, -ENODEV when a GPU is not on the host, -EBUSY when a device (or
 * its IOMMU group) is held by another domain, -ENOMEM. */
int placement_compute(const LaunchSpec *spec, const HostProbe *host, const PlacementLedger *ledger,
                      const PlacementOptions *opts, Placement **ret, char **ret_reason);

Placement *placement_copy(const Placement *p);
/* "0-3,8,10-11" for a sorted CPU list, malloc'ed. */
char *cpuset_format(const unsigned *cpus, size_t n);
/* Parses "0-3,8" into a sorted, de-duplicated list; -EINVAL on anything else. */
int cpuset_parse(const char *s, unsigned max_cpu, unsigned **ret, size_t *ret_n);

json_object *placement_to_json(const Placement *p);
