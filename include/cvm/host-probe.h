/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the host offers a confidential guest: TEE support (from libvirt's domain capabilities
 * and version, the KVM module parameters and the firmware descriptors), NUMA cells with their
 * CPUs (core and SMT siblings), hugepages and ordinary memory, VFIO's DMA mapping limit, and each
 * passed-through device's (GPU, NVSwitch) NUMA node, driver and IOMMU group with the driver of
 * every member. Built either through a live libvirt connection or offline from capability XML
 * files and node device XML files (free pages and memory are then the capabilities' counts);
 * the files of the host (/sys, firmware) are read under an injectable root. Parsing is bounded
 * and never logs; errors come back as -errno plus a reason. */

#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/launch-spec.h"
#include "cvm/macro.h"

#define HOST_PROBE_CELLS_MAX 64u
#define HOST_PROBE_CPUS_MAX 8192u
#define HOST_PROBE_XML_MAX (16u * 1024u * 1024u)
#define HOST_PROBE_GROUP_MAX 64u /* devices in one IOMMU group */

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
        /* Ordinary memory (outside the hugepage pools): where SEV-SNP and TDX private memory
         * (guest_memfd) comes from. Total: memory_kib less the pools; free: the kernel's free
         * count of the node (live) or the total (offline). */
        uint64_t ordinary_total_kib;
        uint64_t ordinary_free_kib;
        uint64_t pages_total[2]; /* [0] 2 MiB, [1] 1 GiB */
        uint64_t pages_free[2];
        HostCpu *cpus; /* ascending by id */
        size_t n_cpus;
} HostCell;

/* One device of an IOMMU group and its driver. */
typedef struct HostGroupMember {
        PciAddress address;
        char *driver;     /* NULL: none bound */
        bool driver_known; /* false: its driver could not be read */
} HostGroupMember;

/* A device to pass through (GPU or NVSwitch). */
typedef struct HostGpu {
        PciAddress address;
        int numa_node;   /* -1: unknown */
        int iommu_group; /* -1: unknown */
        char *driver;    /* NULL: none bound */
        bool found;      /* the device exists on the host */
        HostGroupMember *group; /* every device of its IOMMU group, itself included; NULL: unknown */
        size_t n_group;
} HostGpu;

/* A boolean host fact that may be unknown (offline without a host root). */
typedef enum HostFact {
        HOST_FACT_UNKNOWN = -1,
        HOST_FACT_NO = 0,
        HOST_FACT_YES = 1,
} HostFact;

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
        /* Read from the host's files under root (host_probe_read_host_files()); unknown
         * without. */
        char *root;
        HostFact kvm_sev_snp;          /* /sys/module/kvm_amd/parameters/sev_snp */
        HostFact kvm_tdx;              /* /sys/module/kvm_intel/parameters/tdx */
        uint64_t dma_entry_limit;      /* vfio_iommu_type1's; 0: unknown (module not loaded) */
        char *firmware_sev_snp;        /* a firmware descriptor's image with amd-sev-snp, present */
        char *firmware_tdx;            /* ... with intel-tdx */
} HostProbe;

/* vfio_iommu_type1's default dma_entry_limit (U16_MAX). */
#define HOST_DMA_ENTRY_LIMIT_DEFAULT 65535u

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

/* A node device XML (virNodeDeviceGetXMLDesc of a PCI device) into a HostGpu's fields; the
 * members of its IOMMU group are recorded with unknown drivers (host_probe_set_member_driver()). */
int host_probe_parse_nodedev(HostProbe *h, const PciAddress *a, const char *xml, size_t size, char **ret_reason);
/* Records the driver (NULL: none) of a's IOMMU group member m. */
int host_probe_set_member_driver(HostProbe *h, const PciAddress *a, const PciAddress *m, const char *driver);
/* A node device's driver from its XML: 0 and a malloc'ed name or NULL (none bound). */
int host_probe_nodedev_driver(const char *xml, size_t size, char **ret_driver);
/* Libvirt's node device name of a PCI address: "pci_dddd_bb_ss_f". */
const char *host_nodedev_name(const PciAddress *a, char *buf, size_t size);
/* Each device from node device XML files in dir, named as virsh nodedev-dumpxml names them
 * (<dir>/pci_dddd_bb_ss_f.xml), with the drivers of its IOMMU group's members from theirs. A
 * device without a file is recorded as absent. */
int host_probe_devices_from_dir(HostProbe *h, const char *dir, const PciAddress *a, size_t n, char **ret_reason);
/* The host's own files under root ("/" on the host itself): the KVM module parameters, VFIO's
 * dma_entry_limit, and the firmware descriptors (<root>/usr/share/qemu/firmware and
 * <root>/etc/qemu/firmware) whose image is present. */
int host_probe_read_host_files(HostProbe *h, const char *root, char **ret_reason);
/* The sysfs fallback: <sysfs_root>/bus/pci/devices/<bdf>/{numa_node,iommu_group,driver}, and
 * the group's members from <sysfs_root>/kernel/iommu_groups/<n>/devices. -ENOENT when the
 * device does not exist. */
int host_probe_gpu_from_sysfs(HostProbe *h, const PciAddress *a, const char *sysfs_root);

/* A full live probe: versions, capabilities, domain capabilities (their absence is recorded,
 * not fatal), free pages per cell (virNodeGetFreePages), and each listed GPU (node devices,
 * then sysfs under sysfs_root, "/sys" when NULL). */
int host_probe_libvirt(virConnectPtr conn, const PciAddress *gpus, size_t n_gpus, const char *sysfs_root,
                       HostProbe **ret, char **ret_reason);
/* Refreshes only the free page counts. */
int host_probe_refresh_free_pages(HostProbe *h, virConnectPtr conn, char **ret_reason);

/* Why this host cannot run the TEE, malloc'ed ("libvirt 9.0.0 does not support sev-snp; needs
 * 10.5.0 with QEMU 9.1"; "kvm_amd is loaded without sev_snp=1"); NULL in *ret when it can.
 * Returns 0 or -ENOMEM. */
int host_probe_tee_refusal(const HostProbe *h, CvmTee tee, char **ret);
/* Why this host cannot run this spec beyond its TEE (NULL when it can): the firmware image, a
 * device that is absent, not bound to vfio-pci, or shares its IOMMU group with a device bound
 * to another driver (named), and VFIO's dma_entry_limit against the guest's shared memory.
 * Returns 0 or -ENOMEM. */
int host_probe_spec_refusal(const HostProbe *h, const LaunchSpec *spec, char **ret);
/* The DMA mappings a VFIO guest may need at once (see cvmd-launch-spec(5) "MEMORY"). */
uint64_t host_dma_entries_needed(const LaunchSpec *spec);

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
