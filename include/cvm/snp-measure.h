/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The SEV-SNP launch measurement, predicted from the inputs QEMU measures: the firmware pages,
 * its SEV metadata sections (secrets, CPUID, zero pages, the kernel hashes page), and one VMSA
 * per vCPU. Sources: AMD SEV-SNP firmware ABI specification (SNP_LAUNCH_UPDATE, PAGE_INFO,
 * ID block and ID authentication information structure), AMD APM volume 2 table B-4 (the VMSA),
 * QEMU's SEV hash table (target/i386/sev.c). Pure code: bytes in, digests out. */

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/ovmf.h"

#define SNP_LD_SIZE 48u
#define SNP_VMSA_GPA UINT64_C(0xfffffffff000)
#define SNP_BSP_EIP UINT32_C(0xfffffff0)
#define SNP_VCPUS_MAX 512u

/* PAGE_INFO.PAGE_TYPE (SNP ABI, SNP_LAUNCH_UPDATE). */
typedef enum SnpPageType {
        SNP_PAGE_NORMAL = 1,
        SNP_PAGE_VMSA = 2,
        SNP_PAGE_ZERO = 3,
        SNP_PAGE_UNMEASURED = 4,
        SNP_PAGE_SECRETS = 5,
        SNP_PAGE_CPUID = 6,
} SnpPageType;

/* The guest context's launch digest, extended one page at a time:
 * LD' = SHA-384(PAGE_INFO{LD, CONTENTS, LENGTH 0x70, PAGE_TYPE, IMI 0, VMPL perms 0, GPA}). */
typedef struct SnpGctx {
        uint8_t ld[SNP_LD_SIZE];
} SnpGctx;

/* seed: NULL for zeros, or a precomputed digest (an "OVMF hash"). */
void snp_gctx_init(SnpGctx *g, const uint8_t *seed);
/* One page whose CONTENTS field is given (48 bytes; zeros for the types without contents). */
int snp_gctx_update_page(SnpGctx *g, SnpPageType type, uint64_t gpa, const uint8_t contents[SNP_LD_SIZE]);
/* Every 4 KiB page of data (size a multiple of 4 KiB) as NORMAL pages from gpa up. */
int snp_gctx_update_normal(SnpGctx *g, uint64_t gpa, const uint8_t *data, size_t size);
/* size / 4 KiB pages of a type measured without contents (ZERO, UNMEASURED, SECRETS, CPUID). */
int snp_gctx_update_empty(SnpGctx *g, SnpPageType type, uint64_t gpa, uint64_t size);
int snp_gctx_update_vmsa(SnpGctx *g, const uint8_t page[OVMF_PAGE_SIZE]);

/* Who builds the initial vCPU state: QEMU/KVM, Amazon EC2 or Google Compute Engine. */
typedef enum SnpVmm {
        SNP_VMM_QEMU,
        SNP_VMM_EC2,
        SNP_VMM_GCE,
        _SNP_VMM_MAX,
        _SNP_VMM_INVALID = -EINVAL,
} SnpVmm;

const char *snp_vmm_to_string(SnpVmm v);
/* "qemu", "ec2", "gce", case-insensitively. */
SnpVmm snp_vmm_from_string(const char *s);

/* CPUID Fn0000_0001_EAX for a family, model and stepping (the value QEMU puts into RDX). */
uint32_t snp_cpu_signature(unsigned family, unsigned model, unsigned stepping);
/* The signature of a QEMU CPU model ("EPYC-v4", "EPYC-Milan", ... case-insensitively); -ENOENT
 * when the model is unknown. */
int snp_cpu_signature_of_model(const char *name, uint32_t *ret);
/* The i-th name snp_cpu_signature_of_model() knows; NULL past the last. */
const char *snp_cpu_model_name(size_t i);

/* The VMSA page of one vCPU starting at eip; svsm builds the state Coconut-SVSM starts in
 * (whose SEV_FEATURES is SNPActive alone, whatever sev_features says). */
void snp_vmsa_build(SnpVmm vmm, uint32_t eip, uint32_t vcpu_sig, uint64_t sev_features, bool svsm,
                    uint8_t ret[OVMF_PAGE_SIZE]);

/* QEMU's SEV hash table: SHA-256 of the kernel, the initrd (of nothing when there is none) and
 * the command line with its terminating NUL. */
typedef struct SnpKernelHashes {
        uint8_t kernel[32];
        uint8_t initrd[32];
        uint8_t cmdline[32];
} SnpKernelHashes;

/* The command line digest: SHA-256 of append and one NUL byte (append NULL counts as ""). */
int snp_cmdline_digest(const char *append, uint8_t ret[32]);
/* The page QEMU fills: zeros with the padded table at offset (the hash table GPA's offset in
 * its page). */
int snp_kernel_hashes_page(const SnpKernelHashes *h, uint32_t offset, uint8_t ret[OVMF_PAGE_SIZE]);

typedef struct SnpMeasureParams {
        SnpVmm vmm;
        unsigned vcpus;
        uint32_t vcpu_sig;       /* ignored for GCE */
        uint64_t guest_features; /* VMSA SEV_FEATURES; 0x1 is SNPActive; not used with svsm */
        const uint8_t *firmware; /* OVMF; its metadata is read even when ovmf_hash is given */
        size_t firmware_size;
        const uint8_t *ovmf_hash; /* 48 bytes or NULL: seed the digest instead of measuring OVMF */
        const SnpKernelHashes *kernel_hashes; /* NULL: no direct kernel boot */
        const uint8_t *svsm;                  /* a Coconut-SVSM image, or NULL */
        size_t svsm_size;
        uint64_t vars_size; /* with svsm: the OVMF variable store the SVSM sits below */
} SnpMeasureParams;

typedef struct SnpMeasurement {
        uint8_t measurement[SNP_LD_SIZE];
        uint8_t ovmf_hash[SNP_LD_SIZE]; /* the digest after the firmware pages only */
} SnpMeasurement;

/* The expected MEASUREMENT of a guest launched with these inputs. Impossible combinations (a
 * kernel with firmware that has no SNP_KERNEL_HASHES section, no SEV-ES reset block, an SVSM
 * without its info entry, zero vCPUs) are refused with -EINVAL or -EBADMSG and a reason. */
int snp_measure(const SnpMeasureParams *p, SnpMeasurement *ret, char **ret_reason);
/* The SEV metadata sections of img, in its order, as the launch measures them (CPUID pages last
 * on EC2; the kernel hashes page when kh is given, else zero pages). */
int snp_measure_metadata(SnpGctx *g, const OvmfImage *img, SnpVmm vmm, const SnpKernelHashes *kh,
                         char **ret_reason);
/* The GCTX digest of the firmware pages alone (what ovmf_hash seeds). */
int snp_ovmf_hash(const uint8_t *firmware, size_t size, uint8_t ret[SNP_LD_SIZE], char **ret_reason);

/* The 96-byte ID block SNP_LAUNCH_FINISH takes (libvirt <idBlock>). */
#define SNP_ID_BLOCK_SIZE 96u
#define SNP_ID_AUTH_SIZE 4096u
#define SNP_PUBKEY_SIZE 0x404u

typedef struct SnpIdBlock {
        uint8_t ld[SNP_LD_SIZE];
        uint8_t family_id[16];
        uint8_t image_id[16];
        uint32_t version; /* 1 */
        uint32_t guest_svn;
        uint64_t policy;
} SnpIdBlock;

void snp_id_block_encode(const SnpIdBlock *b, uint8_t ret[SNP_ID_BLOCK_SIZE]);
/* The AMD public key format of an ECDSA P-384 key: curve 2, Qx and Qy little-endian, zero
 * padded to 72 bytes each; -EINVAL for any other key. */
int snp_pubkey_encode(EVP_PKEY *key, uint8_t ret[SNP_PUBKEY_SIZE]);
/* SHA-384 of the encoded public key: what a report's ID_KEY_DIGEST / AUTHOR_KEY_DIGEST holds. */
int snp_pubkey_digest(EVP_PKEY *key, uint8_t ret[SNP_LD_SIZE]);

typedef struct SnpIdAuth {
        uint8_t id_auth[SNP_ID_AUTH_SIZE];
        uint8_t id_key_digest[SNP_LD_SIZE];
        uint8_t author_key_digest[SNP_LD_SIZE]; /* zeros without an author key */
        bool have_author_key;
} SnpIdAuth;

/* The ID authentication information structure: the ID block signed by id_key, and when
 * author_key is given the ID key signed by it (both ECDSA P-384 with SHA-384). */
int snp_id_auth_build(const uint8_t id_block[SNP_ID_BLOCK_SIZE], EVP_PKEY *id_key, EVP_PKEY *author_key,
                      SnpIdAuth *ret, char **ret_reason);
/* Checks the signatures of an ID auth structure against an ID block: 1 valid, 0 invalid. */
int snp_id_auth_verify(const uint8_t id_block[SNP_ID_BLOCK_SIZE], const uint8_t id_auth[SNP_ID_AUTH_SIZE]);
