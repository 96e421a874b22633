/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The libvirt domain XML for a placed launch spec, written with libxml2's tree API (never by
 * pasting strings): launchSecurity for SEV-SNP (hostData = the launch digest's first 32 bytes)
 * or TDX (mrConfigId = the 48-byte launch digest), hugepages on the chosen cells, locked memory,
 * no balloon, host-passthrough CPU with topology, cputune, numatune, a VFIO hostdev per GPU
 * with a 64-bit MMIO window for H100 BARs, vsock with a fixed CID, iommu on virtio devices, and
 * cvmd's metadata element. The XML is shaped for libvirt >= 10.5 (SNP) / 11.6 (TDX) and checked
 * against the libvirt 12.8 schema. */

#include <stdint.h>

#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"
#include "cvm/placement.h"

/* cvmd's metadata namespace and the element's name inside <metadata>. */
#define CVMD_METADATA_NS "urn:cvmd:launch:1"
#define CVMD_METADATA_PREFIX "cvmd"
#define CVMD_METADATA_ELEMENT "launch"

/* Each GPU gets this much 64-bit MMIO window: an H100's 128 GiB BAR1 plus its smaller BARs,
 * aligned. The root bus's 64-bit hole is n_gpus times this. */
#define DOMAIN_XML_MMIO_PER_GPU_GIB 256u

#define DOMAIN_XML_TDX_QGS_DEFAULT "/var/run/tdx-qgs/qgs.socket"
/* SEV-SNP guest policy: bit 17 (reserved, must be 1) and bit 16 (SMT allowed); debug (bit 19),
 * migration agent (18) off; ABI 0.0. */
#define DOMAIN_XML_SNP_POLICY 0x30000ull
/* TDX TD attributes: SEPT_VE_DISABLE (bit 28); debug (bit 0) off. */
#define DOMAIN_XML_TDX_POLICY 0x10000000ull

typedef struct DomainXmlOptions {
        const char *domain_type; /* "kvm" (default); "test" for libvirt's test driver */
        const char *arch;        /* "x86_64" (default); "" to leave out */
        const char *machine;     /* "q35" (default); "" to leave out */
        const char *emulator;    /* NULL: libvirt's default */
        const char *qgs_path;    /* TDX quote generation socket; NULL: the default */
        uint32_t vsock_cid;      /* used when the spec has none; 0 with none: no vsock device */
} DomainXmlOptions;

/* Renders the domain XML (malloc'ed, NUL-terminated). -EOPNOTSUPP with a reason when the host
 * cannot run the spec's TEE; -EINVAL with a reason when the inputs disagree. */
int domain_xml_render(const LaunchSpec *spec, const HostProbe *host, const Placement *placement,
                      const DomainXmlOptions *opts, char **ret_xml, char **ret_reason);

/* What cvmd's metadata element holds, read back from a domain's XML or metadata. */
typedef struct CvmdMetadata {
        char *job;    /* the spec's name */
        char *policy;
        char *tee;
        uint8_t digest[LAUNCH_DIGEST_SIZE];
        uint32_t vsock_cid;
        Placement *placement; /* what the domain holds, for the ledger after a restart */
} CvmdMetadata;

void cvmd_metadata_done(CvmdMetadata *m);
/* Parses the <cvmd:launch> element (alone, as virDomainGetMetadata returns it, or anywhere in a
 * full domain XML). -ENOENT when there is none, -EBADMSG when malformed. */
int cvmd_metadata_parse(const char *xml, size_t size, CvmdMetadata *ret);
