/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The launch spec: what a scheduler asks cvmd to start. A strict JSON document (format in
 * README.md "Launch spec"): unknown keys, wrong types and out-of-range values are refused with a
 * reason naming the field ("boot.kernel: expected an absolute path"). Parsing is pure: bytes in,
 * a LaunchSpec or a reason out; no I/O, no logging.
 *
 * The launch digest binds a running guest to the spec it was launched from: SHA-384 over the
 * canonical encoding below. SEV-SNP carries its first 32 bytes as HOST_DATA, TDX carries all 48
 * bytes as MRCONFIGID, so a verifier can recompute it from the spec and compare.
 *
 * tee "none" is for development only: it starts a guest without memory encryption or
 * attestation. The launcher renders it (the libvirt test driver accepts nothing else), but a
 * daemon must refuse such a spec unless the named policy explicitly allows "none"
 * (launch_spec_is_development()); the launcher knows nothing of policies and does not check. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/tee.h"

#define LAUNCH_SPEC_SIZE_MAX (64u * 1024u)
#define LAUNCH_SPEC_NAME_MAX 64u
#define LAUNCH_SPEC_VCPUS_MAX 512u
#define LAUNCH_SPEC_MEMORY_MIB_MIN 256u
#define LAUNCH_SPEC_MEMORY_MIB_MAX (16u * 1024u * 1024u) /* 16 TiB */
#define LAUNCH_SPEC_GPUS_MAX 16u
#define LAUNCH_SPEC_KEY_IDS_MAX 64u
#define LAUNCH_SPEC_PATH_MAX 4096u
#define LAUNCH_SPEC_CMDLINE_MAX 4096u
#define LAUNCH_SPEC_VSOCK_CID_MIN 3u
#define LAUNCH_SPEC_VSOCK_CID_MAX 0xfffffffeu

#define LAUNCH_DIGEST_SIZE 48u       /* SHA-384 */
#define LAUNCH_SNP_HOST_DATA_SIZE 32u /* the digest's first 32 bytes */
#define LAUNCH_TDX_MRCONFIGID_SIZE 48u

/* The first bytes of the canonical encoding (no NUL). */
#define LAUNCH_SPEC_CANONICAL_MAGIC "CVMD-LAUNCH-SPEC-1"


typedef enum LaunchDiskFormat {
        LAUNCH_DISK_RAW,
        LAUNCH_DISK_QCOW2,
        _LAUNCH_DISK_FORMAT_MAX,
        _LAUNCH_DISK_FORMAT_INVALID = -EINVAL,
} LaunchDiskFormat;

/* A PCI function address: domain:bus:slot.function. */
typedef struct PciAddress {
        uint16_t domain;
        uint8_t bus;
        uint8_t slot;     /* 0..31 */
        uint8_t function; /* 0..7 */
} PciAddress;

typedef struct LaunchBoot {
        char *firmware; /* optional: an explicit firmware image; NULL lets libvirt choose */
        char *kernel;   /* direct (measured) kernel boot when set */
        char *initrd;   /* only with kernel */
        char *cmdline;  /* only with kernel */
        char *disk;     /* the root disk image; required when there is no kernel */
        LaunchDiskFormat disk_format;
} LaunchBoot;

typedef struct LaunchSpec {
        char *name;
        CvmTee tee;
        unsigned vcpus;
        uint64_t memory_mib;
        uint64_t hugepage_kib; /* 2048 (default) or 1048576 */
        PciAddress *gpus;
        size_t n_gpus;
        LaunchBoot boot;
        char *policy;
        char **key_ids;
        size_t n_key_ids;
        uint32_t vsock_cid; /* 0: none given, cvmd assigns one */
} LaunchSpec;

LaunchSpec *launch_spec_free(LaunchSpec *s);
DEFINE_CLEANUP(LaunchSpec *, launch_spec_free)

/* Parses a launch spec. On failure returns -EINVAL (-EFBIG when larger than
 * LAUNCH_SPEC_SIZE_MAX, -ENOMEM) and, when ret_reason is not NULL, a malloc'ed reason naming the
 * field; *ret is written only on success. Duplicate keys are not detected (json-c keeps the last
 * one); the digest is computed from what was parsed, so the launched and the bound spec agree. */
int launch_spec_parse(const char *json, size_t size, LaunchSpec **ret, char **ret_reason);
/* Reads (bounded) and parses a file; the reason names the file for I/O errors. */
int launch_spec_load(const char *path, LaunchSpec **ret, char **ret_reason);

const char *launch_disk_format_to_string(LaunchDiskFormat f);

/* "dddd:bb:ss.f", lowercase hex, into buf (at least 13 bytes); returns buf. */
const char *pci_address_format(const PciAddress *a, char *buf, size_t size);
/* Parses exactly "dddd:bb:ss.f" (either case); -EINVAL otherwise. */
int pci_address_parse(const char *s, PciAddress *ret);
bool pci_address_equal(const PciAddress *a, const PciAddress *b);

static inline bool launch_spec_is_direct_boot(const LaunchSpec *s) {
        return s->boot.kernel != NULL;
}
/* True for tee "none": only for a policy that explicitly allows it. */
static inline bool launch_spec_is_development(const LaunchSpec *s) {
        return s->tee == CVM_TEE_NONE;
}

/* The canonical encoding the launch digest is computed over (README.md "Launch digest"). */
int launch_spec_canonical(const LaunchSpec *s, uint8_t **ret, size_t *ret_size);
/* SHA-384 over the canonical encoding. */
int launch_spec_digest(const LaunchSpec *s, uint8_t ret[LAUNCH_DIGEST_SIZE]);
