/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What a launch boots, by content, and what the guest it boots will attest (ARCHITECTURE.md
 * §9). The plan reads each file the spec boots once (firmware, kernel, initrd: regular files,
 * bounded), keeps their SHA-384 digests for the launch digest, which then binds contents rather
 * than paths, and from the same bytes predicts the SEV-SNP MEASUREMENT or the TDX MRTD with the
 * attest/measure code. A policy that says "measurements": "predicted" (snp) or "mrtds":
 * "predicted" (tdx) compares the report with that prediction: the launched-versus-attested
 * check. */

#include <stdbool.h>
#include <stdint.h>

#include "cvm/launch-spec.h"
#include "cvm/policy.h"
#include "cvm/snp-measure.h"
#include "cvm/tee.h"

/* The VMSA SEV_FEATURES QEMU gives an SNP guest by default: SNPActive alone. */
#define LAUNCH_PREDICT_SNP_FEATURES UINT64_C(0x1)
#define LAUNCH_PREDICT_SIZE 48u

typedef struct LaunchBootFiles {
        bool has_firmware, has_kernel, has_initrd;
        uint8_t firmware_sha384[48];
        uint8_t kernel_sha384[48];
        uint8_t initrd_sha384[48];
        /* QEMU's SEV hash table over the same bytes (with a kernel): SHA-256 of the kernel, the
         * initrd (of nothing without one) and the command line */
        SnpKernelHashes kernel_hashes;
        uint8_t *firmware; /* the image itself, which the prediction measures page by page */
        size_t firmware_size;
} LaunchBootFiles;

/* Whether the policy compares evidence of this kind with a prediction ("measurements":
 * "predicted" for SEV-SNP, "mrtds": "predicted" for TDX). */
bool launch_policy_predicts(const Policy *policy, CvmTee evidence);
/* Whether the spec names a firmware, kernel or initrd file. */
bool launch_spec_has_boot_files(const LaunchSpec *spec);
/* Reads the spec's firmware (at most OVMF_IMAGE_MAX), kernel and initrd (at most
 * MEASURE_BOOT_FILE_MAX, streamed) once each; anything but a regular file is refused. The reason
 * names the spec's field and the file. */
int launch_boot_files_read(const LaunchSpec *spec, LaunchBootFiles *ret, char **ret_reason);
void launch_boot_files_done(LaunchBootFiles *f);

/* The spec digest a launch binds: launch_spec_digest() of the spec with boot.firmware,
 * boot.kernel and boot.initrd standing for their contents ("sha384:<hex>") instead of their
 * paths; with no such files, launch_spec_digest() itself. */
int launch_boot_spec_digest(const LaunchSpec *spec, const LaunchBootFiles *f, uint8_t ret[LAUNCH_DIGEST_SIZE]);

/* The CPUID signature (family, model, stepping) of this host's CPUs from <root>/proc/cpuinfo
 * (root NULL: "/"): what a host-passthrough vCPU of a guest launched here carries in its VMSA. */
int launch_predict_host_vcpu_sig(const char *root, uint32_t *ret, char **ret_reason);

/* What a guest of this spec, booted from these files, attests for tee: the SEV-SNP MEASUREMENT
 * (QEMU, spec->vcpus vCPUs of signature vcpu_sig, LAUNCH_PREDICT_SNP_FEATURES, the kernel hashes
 * when the spec boots a kernel) or the TDX MRTD (from the TDVF metadata). -EINVAL with a reason
 * when there is no firmware to predict from or the firmware cannot be measured. */
int launch_predict(const LaunchSpec *spec, const LaunchBootFiles *f, CvmTee tee, uint32_t vcpu_sig,
                   uint8_t ret[LAUNCH_PREDICT_SIZE], char **ret_reason);
