/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The libvirt domain XML for a placed launch spec, written with libxml2's tree API (never by
 * pasting strings): launchSecurity for SEV-SNP (hostData = the launch digest's first 32 bytes;
 * the spec's policy, ID block and auth, VLEK choice) or TDX (mrConfigId = the 48-byte launch
 * digest; attributes, mrOwner, mrOwnerConfig), memory backing (locked hugepages on the chosen
 * cells, or an ordinary memfd that QEMU can discard when the spec caps the shared part), no
 * balloon, host-passthrough CPU with a topology that matches the pinning, cputune, numatune, a
 * pcie-expander-bus per host cell that has passed-through devices (its <node> the guest cell
 * mirroring that host cell), a pcie-root-port per device behind it, a VFIO hostdev per GPU and
 * NVSwitch at an explicit guest address, the 64-bit MMIO window for H100 BARs (pcihole64 and
 * OVMF's opt/ovmf/X-PciMmio64Mb through <sysinfo type='fwcfg'>), a serial console logged under
 * the state directory, an optional virtio NIC, vsock with a fixed CID, iommu on virtio devices,
 * and cvmd's metadata element. Shaped for libvirt >= 10.5 (SNP) / 11.6 (TDX) and checked
 * against the libvirt 12.8 schema.
 *
 * The guest address of passed-through device i: the <hostdev> whose <source><address> is its
 * host address has <address type='pci' domain='0x0000' bus='0xNN' slot='0x00' function='0x0'/>,
 * NN being the index of its own pcie-root-port controller; cvmd's metadata also records, per
 * device, the bus number the guest firmware gives it (the expander's busNr + 1 + the root port's
 * slot on the expander), see CvmdDevice. */

#include <stdint.h>

#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"
#include "cvm/placement.h"

/* cvmd's metadata namespace and the element's name inside <metadata>. */
#define CVMD_METADATA_NS "urn:cvmd:launch:1"
#define CVMD_METADATA_PREFIX "cvmd"
#define CVMD_METADATA_ELEMENT "launch"

/* Each GPU gets this much 64-bit MMIO window: an H100's 128 GiB BAR1 plus its smaller BARs,
 * aligned; an NVSwitch's BARs are small. The root bus's 64-bit hole and OVMF's X-PciMmio64Mb are
 * the sum. */
#define DOMAIN_XML_MMIO_PER_GPU_GIB 256u
#define DOMAIN_XML_MMIO_PER_NVSWITCH_GIB 1u
#define DOMAIN_XML_FWCFG_MMIO64 "opt/ovmf/X-PciMmio64Mb"
/* Expanders sit on the root bus from this slot on; root ports for devices of unknown locality
 * from DOMAIN_XML_ROOT_PORT_SLOT (libvirt fills the low slots with its own). */
#define DOMAIN_XML_EXPANDER_SLOT 0x10u
#define DOMAIN_XML_ROOT_PORT_SLOT 0x18u
#define DOMAIN_XML_STATE_DIR_DEFAULT "/var/lib/cvmd"

#define DOMAIN_XML_TDX_QGS_DEFAULT "/var/run/tdx-qgs/qgs.socket"
/* The defaults when the spec says nothing (launch-spec.h). */
#define DOMAIN_XML_SNP_POLICY LAUNCH_SNP_POLICY_DEFAULT
#define DOMAIN_XML_TDX_POLICY LAUNCH_TDX_ATTRIBUTES_DEFAULT

typedef struct DomainXmlOptions {
        const char *domain_type; /* "kvm" (default); "test" for libvirt's test driver */
        const char *arch;        /* "x86_64" (default); "" to leave out */
        const char *machine;     /* "q35" (default); "" to leave out */
        const char *emulator;    /* NULL: libvirt's default */
        const char *qgs_path;    /* TDX quote generation socket; NULL: the default */
        uint32_t vsock_cid;      /* used when the spec has none; 0 with none: no vsock device */
        const char *state_dir;   /* the console log goes to <state_dir>/console/<name>.log; NULL: the default */
        const uint8_t *launch_digest; /* LAUNCH_DIGEST_SIZE bytes for hostData / mrConfigId; NULL: the spec digest */
        /* the spec digest the launch bound (over the boot files' contents) for cvmd's metadata, which
         * recovery checks; NULL: launch_spec_digest() of the spec, over its paths */
        const uint8_t *spec_digest;
} DomainXmlOptions;

/* Renders the domain XML (malloc'ed, NUL-terminated). -EOPNOTSUPP with a reason when the host
 * cannot run the spec's TEE; -EINVAL with a reason when the inputs disagree. */
int domain_xml_render(const LaunchSpec *spec, const HostProbe *host, const Placement *placement,
                      const DomainXmlOptions *opts, char **ret_xml, char **ret_reason);

/* A device passed through, as the metadata records it. */
typedef struct CvmdDevice {
        PciAddress host;
        bool has_guest;
        PciAddress guest; /* the address the guest firmware gives it (behind an expander) */
} CvmdDevice;

/* What cvmd's metadata element holds, read back from a domain's XML or metadata. */
typedef struct CvmdMetadata {
        char *job;    /* the spec's name */
        char *policy;
        char *tee;
        uint8_t digest[LAUNCH_DIGEST_SIZE];
        uint32_t vsock_cid;
        Placement *placement; /* what the domain holds, for the ledger after a restart */
        CvmdDevice *devices;  /* the GPUs and NVSwitches passed through, in the spec's order */
        size_t n_devices;
} CvmdMetadata;

void cvmd_metadata_done(CvmdMetadata *m);
/* Parses the <cvmd:launch> element (alone, as virDomainGetMetadata returns it, or anywhere in a
 * full domain XML). -ENOENT when there is none, -EBADMSG when malformed. */
int cvmd_metadata_parse(const char *xml, size_t size, CvmdMetadata *ret);
