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
#define LAUNCH_SPEC_NVSWITCHES_MAX 8u /* an HGX H100/H200 board has 4 */
#define LAUNCH_SPEC_KEY_IDS_MAX 64u
#define LAUNCH_SPEC_PATH_MAX 4096u
#define LAUNCH_SPEC_CMDLINE_MAX 4096u
#define LAUNCH_SPEC_VSOCK_CID_MIN 3u
#define LAUNCH_SPEC_VSOCK_CID_MAX 0xfffffffeu

#define LAUNCH_DIGEST_SIZE 48u       /* SHA-384 */
#define LAUNCH_SNP_HOST_DATA_SIZE 32u /* the digest's first 32 bytes */
#define LAUNCH_TDX_MRCONFIGID_SIZE 48u

/* Launch security defaults (libvirt's <policy>): SEV-SNP guest policy bit 17 (reserved, must be
 * 1) and bit 16 (SMT allowed), debug and migration agent off, ABI 0.0; TDX TD attributes
 * SEPT_VE_DISABLE (bit 28), debug off. */
#define LAUNCH_SNP_POLICY_DEFAULT 0x30000ull
#define LAUNCH_TDX_ATTRIBUTES_DEFAULT 0x10000000ull
#define LAUNCH_SNP_ID_BLOCK_SIZE 96u  /* SNP_LAUNCH_FINISH ID block */
#define LAUNCH_SNP_ID_AUTH_SIZE 4096u /* its ID authentication information structure */
#define LAUNCH_TDX_MR_OWNER_SIZE 48u  /* MROWNER, MROWNERCONFIG */

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
        /* the disk's dm-verity root hash (lowercase hex), bound into the launch digest: the disk's
         * contents are named by it where the firmware, kernel and initrd are named by their SHA-384 */
        char *disk_verity_root_hash;
} LaunchBoot;

/* The guest's NIC, none unless the spec asks: a libvirt network or a host bridge. */
typedef enum LaunchNetworkKind {
        LAUNCH_NETWORK_NONE,
        LAUNCH_NETWORK_LIBVIRT, /* "network": {"network": NAME} */
        LAUNCH_NETWORK_BRIDGE,  /* "network": {"bridge": NAME} */
} LaunchNetworkKind;

typedef struct LaunchNetwork {
        LaunchNetworkKind kind;
        char *source; /* the network's or the bridge's name */
} LaunchNetwork;

/* What the spec says of the TEE's launch parameters ("launch_security"); what it leaves out
 * takes the defaults above. SEV-SNP: policy, ID block and auth, author key, VLEK only; TDX:
 * attributes (policy), MROWNER, MROWNERCONFIG. */
typedef struct LaunchSecurity {
        bool has_policy;
        uint64_t policy; /* SNP guest policy, or TDX TD attributes */
        uint8_t *id_block; /* LAUNCH_SNP_ID_BLOCK_SIZE bytes, or NULL */
        uint8_t *id_auth;  /* LAUNCH_SNP_ID_AUTH_SIZE bytes, or NULL */
        bool author_key;   /* id_auth carries an author key */
        bool vlek_only;    /* "vcek": false: the guest must be signed by a VLEK */
        bool has_mr_owner, has_mr_owner_config;
        uint8_t mr_owner[LAUNCH_TDX_MR_OWNER_SIZE];
        uint8_t mr_owner_config[LAUNCH_TDX_MR_OWNER_SIZE];
} LaunchSecurity;

typedef struct LaunchSpec {
        char *name;
        CvmTee tee;
        unsigned vcpus;
        uint64_t memory_mib;
        uint64_t hugepage_kib; /* 2048 (default) or 1048576 */
        uint64_t shared_memory_mib; /* 0: not capped (hugepage-backed shared view of all memory) */
        PciAddress *gpus;
        size_t n_gpus;
        PciAddress *nvswitches; /* passed through with the GPUs (HGX protected-PCIe mode) */
        size_t n_nvswitches;
        LaunchNetwork network;
        LaunchSecurity security;
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
/* The SNP guest policy or TDX attributes the domain is launched with. */
static inline uint64_t launch_spec_tee_policy(const LaunchSpec *s) {
        if (s->security.has_policy)
                return s->security.policy;
        return s->tee == CVM_TEE_TDX ? LAUNCH_TDX_ATTRIBUTES_DEFAULT : LAUNCH_SNP_POLICY_DEFAULT;
}
/* True for tee "none": only for a policy that explicitly allows it. */
static inline bool launch_spec_is_development(const LaunchSpec *s) {
        return s->tee == CVM_TEE_NONE;
}

/* The canonical encoding the launch digest is computed over (README.md "Launch digest"). */
int launch_spec_canonical(const LaunchSpec *s, uint8_t **ret, size_t *ret_size);
/* SHA-384 over the canonical encoding. */
int launch_spec_digest(const LaunchSpec *s, uint8_t ret[LAUNCH_DIGEST_SIZE]);
