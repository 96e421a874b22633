/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The plan of one launch, before anything runs: the host's facts (probed through libvirt, or
 * read from capability files for offline rendering and libvirt's test driver), the TEE check,
 * the placement against the ledger of cvmd's domains, the vsock CID, the domain XML and the
 * launch digest. `cvmctl render` prints a plan; `cvmctl launch` and cvmd run one. */

#include <json-c/json.h>
#include <stdint.h>

#include "cvm/domain-xml.h"
#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"
#include "cvm/lifecycle.h"
#include "cvm/placement.h"

/* A GPU's host facts given by hand with capability files: --gpu BDF@CELL. */
typedef struct LaunchGpuLocation {
        PciAddress address;
        int cell;
} LaunchGpuLocation;

/* Parses BDF@CELL, for example 0000:41:00.0@1. -EINVAL when it is not that. */
int launch_gpu_location_parse(const char *s, LaunchGpuLocation *ret);

typedef struct LaunchPlanOptions {
        /* Host facts from `virsh capabilities` / `virsh domcapabilities` output (both or
         * neither); NULL: probed through the lifecycle's connection. */
        const char *host_caps_xml, *domcaps_xml;
        size_t host_caps_size, domcaps_size;
        const LaunchGpuLocation *gpus; /* with capability files: where the spec's GPUs are */
        size_t n_gpus;
        uint32_t vsock_cid;          /* 0: the spec's, else the lowest free one */
        unsigned housekeeping_cores; /* see PlacementOptions */
        const char *domain_type;     /* "kvm" (NULL) or "test" */
        const char *qgs_path;        /* TDX quote generation socket; NULL: the default */
        /* With capability files: node device XML files of the spec's GPUs and NVSwitches and
         * their IOMMU groups' members (virsh nodedev-dumpxml, <dir>/pci_dddd_bb_ss_f.xml); NULL:
         * the --gpu locations only */
        const char *nodedev_dir;
        /* The host's files (/sys: KVM and VFIO module parameters; firmware descriptors) under
         * this root; NULL: "/" for a live probe, not read with capability files */
        const char *host_root;
        /* cvmd's state directory: the console logs (console/NAME.log) and, with a libvirt
         * connection, the host ledger's lock (ledger.lock, when the directory exists); NULL: the
         * default, /var/lib/cvmd */
        const char *state_dir;
        unsigned ledger_lock_timeout_sec; /* how long to wait for another launch's lock; 0: 60 */
        /* The releaser's X25519 public key (PROTO_RELEASER_KEY_SIZE bytes, include/cvm/releaser.h)
         * bound with the spec digest into the launch digest, which hardware carries; NULL (offline
         * rendering): none, and the launch digest is the spec digest alone, which no agent accepts
         * a releaser for. */
        const uint8_t *releaser_key;
        /* Predict what the guest will attest for evidence of predict_tee (launch-predict.h): the
         * SEV-SNP MEASUREMENT or TDX MRTD from the files the spec boots and, for SNP, the vCPU
         * signature in host_root's /proc/cpuinfo. A launch asks for it when its policy says
         * "predicted"; a prediction that cannot be made refuses the plan. */
        bool predict;
        CvmTee predict_tee;
} LaunchPlanOptions;

typedef struct LaunchPlan {
        const LaunchSpec *spec; /* borrowed */
        HostProbe *host;
        Placement *placement;
        uint32_t vsock_cid;
        char *xml;
        /* the spec's digest; with a releaser key bound, over the contents of the files it boots
         * (launch_boot_spec_digest()), else over their paths (launch_spec_digest(), which the
         * domain's metadata keeps) */
        uint8_t spec_digest[LAUNCH_DIGEST_SIZE];
        char spec_digest_hex[2 * LAUNCH_DIGEST_SIZE + 1];
        /* what hardware carries (SNP HOST_DATA: the first 32 bytes; TDX MRCONFIGID) and the
         * appraisal checks: proto_launch_digest(spec digest, releaser key), or with no releaser
         * key the spec digest */
        uint8_t launch_digest[LAUNCH_DIGEST_SIZE];
        char launch_digest_hex[2 * LAUNCH_DIGEST_SIZE + 1];
        bool has_releaser_key;
        uint8_t releaser_key[32];
        /* the SHA-384 of each file booted, when they were read (bound, or predicted) */
        bool has_boot_contents;
        bool has_firmware, has_kernel, has_initrd;
        uint8_t firmware_sha384[48], kernel_sha384[48], initrd_sha384[48];
        /* LaunchPlanOptions.predict: the SNP MEASUREMENT or TDX MRTD predicted */
        bool has_prediction;
        CvmTee predicted_tee;
        uint8_t predicted[48];
} LaunchPlan;

/* Builds the plan. l may be NULL only with capability files (offline: no ledger, the lowest CID).
 * On refusal *ret_reason says which step refused and why ("placement refused: ...");
 * returns -ENOMEM, -EINVAL (bad capability files), or -EPERM (the host cannot run the spec). */
/* The spec digest the launch binds into p->spec_digest, and the prediction when o->predict: over
 * the boot files' contents (read once each) when a releaser key is bound or a prediction is
 * asked for, else over the spec's paths. launch_plan_build() calls it; a run adopted after a
 * restart calls it again, so a file changed since the launch no longer matches. */
int launch_plan_boot_contents(const LaunchSpec *spec, const LaunchPlanOptions *o, LaunchPlan *p, char **ret_reason);
int launch_plan_build(const LaunchSpec *spec, Lifecycle *l, const LaunchPlanOptions *o, LaunchPlan **ret,
                      char **ret_reason);
LaunchPlan *launch_plan_free(LaunchPlan *p);
DEFINE_CLEANUP(LaunchPlan *, launch_plan_free)

/* {"rendered": true, name, tee, spec_digest, releaser_key (hex or null), launch_digest,
 *  snp_host_data | tdx_mrconfigid, boot_contents ({firmware, kernel, initrd: SHA-384 hex}, when
 *  read), predicted_measurement | predicted_mrtd (when predicted), vsock_cid, placement, xml};
 *  NULL on allocation failure. */
json_object *launch_plan_to_json(const LaunchPlan *p);
