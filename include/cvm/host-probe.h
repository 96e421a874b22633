/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the host offers a confidential guest: TEE support (from libvirt's domain capabilities
 * and version), NUMA cells with their CPUs (core and SMT siblings) and hugepages, and the GPUs'
 * NUMA node, IOMMU group and driver. Built either through a live libvirt connection or offline
 * from capability XML files (free pages are then the capabilities' page counts). Parsing is
 * bounded and never logs; errors come back as -errno plus a reason. */

#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/launch-spec.h"
#include "cvm/macro.h"

#define HOST_PROBE_CELLS_MAX 64u
#define HOST_PROBE_CPUS_MAX 8192u
#define HOST_PROBE_XML_MAX (16u * 1024u * 1024u)

/* The libvirt / QEMU versions that first support each TEE (libvirt's encoding:
 * major * 1000000 + minor * 1000 + micro). */
#define HOST_LIBVIRT_SEV_SNP 10005000ul
#define HOST_QEMU_SEV_SNP 9001000ul
#define HOST_LIBVIRT_TDX 11006000ul
#define HOST_QEMU_TDX 10001000ul

typedef struct HostCpu {
        unsigned id;
        unsigned socket_id;
        unsigned core_id;
        /* The CPUs sharing this CPU's core (itself included), ascending. */
        unsigned *siblings;
        size_t n_siblings;
} HostCpu;

typedef struct HostCell {
        unsigned id;
        uint64_t memory_kib;
        uint64_t pages_total[2]; /* [0] 2 MiB, [1] 1 GiB */
        uint64_t pages_free[2];
        HostCpu *cpus; /* ascending by id */
        size_t n_cpus;
} HostCell;

typedef struct HostGpu {
        PciAddress address;
        int numa_node;   /* -1: unknown */
        int iommu_group; /* -1: unknown */
        char *driver;    /* NULL: none bound */
        bool found;      /* the device exists on the host */
} HostGpu;

typedef struct HostProbe {
        unsigned long libvirt_version; /* 0: unknown (offline) */
        unsigned long qemu_version;    /* 0: unknown */
        char *driver_name;             /* "QEMU", "Test", ... (NULL offline) */
        bool have_domcaps;
        char *domcaps_error;           /* why domain capabilities are missing */
        bool sev_snp;                  /* offered in <launchSecurity><enum name='sectype'> */
        bool tdx;
        bool sev;
        bool have_cbitpos;
        unsigned cbitpos;
        unsigned reduced_phys_bits;
        char *machine;                 /* domcaps <machine> */
        char **firmware;               /* domcaps <os><loader> values */
        size_t n_firmware;
        HostCell *cells; /* ascending by id */
        size_t n_cells;
        HostGpu *gpus;
        size_t n_gpus;
} HostProbe;

typedef enum HostPageSize {
        HOST_PAGE_2M,
        HOST_PAGE_1G,
        _HOST_PAGE_MAX,
        _HOST_PAGE_INVALID = -EINVAL,
} HostPageSize;

HostPageSize host_page_size_from_kib(uint64_t kib);
uint64_t host_page_size_kib(HostPageSize p);

HostProbe *host_probe_new(void);
HostProbe *host_probe_free(HostProbe *h);
DEFINE_CLEANUP(HostProbe *, host_probe_free)

/* Host capabilities XML (virConnectGetCapabilities): NUMA cells, CPUs, memory, page counts. Free
 * pages are set to the totals (the offline assumption); a live probe overwrites them. */
int host_probe_parse_caps(HostProbe *h, const char *xml, size_t size, char **ret_reason);
/* Domain capabilities XML (virConnectGetDomainCapabilities): TEE support, cbitpos, firmware. */
int host_probe_parse_domcaps(HostProbe *h, const char *xml, size_t size, char **ret_reason);
/* Adds or replaces a GPU; driver may be NULL. */
int host_probe_set_gpu(HostProbe *h, const PciAddress *a, int numa_node, int iommu_group, const char *driver);
const HostGpu *host_probe_find_gpu(const HostProbe *h, const PciAddress *a);
const HostCell *host_probe_find_cell(const HostProbe *h, unsigned id);

/* A node device XML (virNodeDeviceGetXMLDesc of a PCI device) into a HostGpu's fields. */
int host_probe_parse_nodedev(HostProbe *h, const PciAddress *a, const char *xml, size_t size, char **ret_reason);
/* The sysfs fallback: <sysfs_root>/bus/pci/devices/<bdf>/{numa_node,iommu_group,driver}.
 * -ENOENT when the device does not exist. */
int host_probe_gpu_from_sysfs(HostProbe *h, const PciAddress *a, const char *sysfs_root);

/* A full live probe: versions, capabilities, domain capabilities (their absence is recorded,
 * not fatal), free pages per cell (virNodeGetFreePages), and each listed GPU (node devices,
 * then sysfs under sysfs_root, "/sys" when NULL). */
int host_probe_libvirt(virConnectPtr conn, const PciAddress *gpus, size_t n_gpus, const char *sysfs_root,
                       HostProbe **ret, char **ret_reason);
/* Refreshes only the free page counts. */
int host_probe_refresh_free_pages(HostProbe *h, virConnectPtr conn, char **ret_reason);

/* Why this host cannot run the TEE, malloc'ed ("libvirt 9.0.0 does not support sev-snp; needs
 * 10.5.0 with QEMU 9.1"); NULL in *ret when it can. Returns 0 or -ENOMEM. */
int host_probe_tee_refusal(const HostProbe *h, CvmTee tee, char **ret);

/* A JSON description (for cvmctl host --json). */
json_object *host_probe_to_json(const HostProbe *h);

/* A probe cached for max_age_usec (CLOCK_MONOTONIC); host_probe_cache_get() re-probes when
 * older, when refresh is set, or when a GPU is asked for that the cached probe lacks. */
typedef struct HostProbeCache {
        virConnectPtr conn; /* borrowed */
        const char *sysfs_root;
        uint64_t max_age_usec;
        uint64_t taken_usec;
        HostProbe *probe;
} HostProbeCache;

void host_probe_cache_done(HostProbeCache *c);
int host_probe_cache_get(HostProbeCache *c, const PciAddress *gpus, size_t n_gpus, bool refresh,
                         const HostProbe **ret, char **ret_reason);
