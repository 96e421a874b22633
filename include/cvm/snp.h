/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* AMD SEV-SNP evidence: ATTESTATION_REPORT parsing, the AMD certificate chain (ARK, ASK/ASVK,
 * VCEK/VLEK), the GHCB certificate table, and verification. Pure code: bytes, certificates,
 * trust anchors and a time in; a Verdict out. No I/O, no globals, no logging. */

#include <json-c/json.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/verdict.h"

#define SNP_REPORT_SIZE 0x4A0u
#define SNP_SIGNED_SIZE 0x2A0u

typedef enum SnpProduct {
        SNP_PRODUCT_MILAN,
        SNP_PRODUCT_GENOA,
        SNP_PRODUCT_TURIN,
        _SNP_PRODUCT_MAX,
        _SNP_PRODUCT_INVALID = -EINVAL,
} SnpProduct;

const char *snp_product_to_string(SnpProduct p);
SnpProduct snp_product_from_string(const char *s);

/* KEY_INFO bits 4:2. */
typedef enum SnpSigningKey {
        SNP_SIGNING_KEY_VCEK = 0,
        SNP_SIGNING_KEY_VLEK = 1,
        SNP_SIGNING_KEY_NONE = 7,
} SnpSigningKey;

/* Guest POLICY bits. */
#define SNP_POLICY_SMT (UINT64_C(1) << 16)
#define SNP_POLICY_RESERVED_1 (UINT64_C(1) << 17)
#define SNP_POLICY_MIGRATE_MA (UINT64_C(1) << 18)
#define SNP_POLICY_DEBUG (UINT64_C(1) << 19)
#define SNP_POLICY_SINGLE_SOCKET (UINT64_C(1) << 20)

/* One TCB_VERSION. The byte layout differs between Milan/Genoa and Turin; `turin` says which
 * one decoded `raw`. fmc is only meaningful on Turin. */
typedef struct SnpTcb {
        uint8_t raw[8];
        bool turin;
        uint8_t fmc, bl, tee, snp, ucode;
} SnpTcb;

typedef struct SnpReport {
        uint32_t version;
        uint32_t guest_svn;
        uint64_t policy;
        uint8_t family_id[16];
        uint8_t image_id[16];
        uint32_t vmpl;
        uint32_t signature_algo;
        SnpTcb current_tcb;
        uint64_t platform_info;
        uint32_t key_info;
        uint8_t report_data[64];
        uint8_t measurement[48];
        uint8_t host_data[32];
        uint8_t id_key_digest[48];
        uint8_t author_key_digest[48];
        uint8_t report_id[32];
        uint8_t report_id_ma[32];
        SnpTcb reported_tcb;
        bool has_cpuid; /* v3+ */
        uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step;
        uint8_t chip_id[64];
        SnpTcb committed_tcb;
        uint8_t current_build, current_minor, current_major;
        uint8_t committed_build, committed_minor, committed_major;
        SnpTcb launch_tcb;
        bool has_mit_vectors; /* v5 */
        uint64_t launch_mit_vector, current_mit_vector;
        uint8_t signature_r[72], signature_s[72]; /* little-endian, as stored */
        uint8_t raw[SNP_REPORT_SIZE];
} SnpReport;

/* Parses exactly SNP_REPORT_SIZE bytes. On failure returns -EBADMSG and a malloc'ed reason
 * naming the offending field; *ret is left untouched. */
int snp_report_parse(const uint8_t *data, size_t size, SnpReport *ret, char **ret_reason);
/* Decodes a TCB_VERSION in the Milan/Genoa or the Turin byte layout. */
void snp_tcb_decode(const uint8_t raw[8], bool turin, SnpTcb *ret);
/* Re-decodes every TCB field for the given layout: a v2 report does not say which it uses,
 * so the verifier decides once the certificates have named the product. */
void snp_report_set_turin(SnpReport *r, bool turin);
SnpSigningKey snp_report_signing_key(const SnpReport *r);
bool snp_report_is_turin(const SnpReport *r);
/* The product from CPUID_FAM_ID/CPUID_MOD_ID (v3+); -ENOENT for v2, -EOPNOTSUPP for CPUs with
 * no AMD certificate chain. */
int snp_report_product(const SnpReport *r, SnpProduct *ret);
/* Every report field, byte fields as lowercase hex, TCB components as numbers. */
json_object *snp_report_claims(const SnpReport *r);

/* The GHCB extended-report certificate table: 24-byte entries (GUID, u32 LE offset, u32 LE
 * length) ended by an all-zero entry; offsets count from the start of the table. */
typedef enum SnpCertTableRole {
        SNP_CERT_TABLE_VCEK,
        SNP_CERT_TABLE_VLEK,
        SNP_CERT_TABLE_ASK, /* also used for the ASVK */
        SNP_CERT_TABLE_ARK,
        SNP_CERT_TABLE_CRL,
        SNP_CERT_TABLE_OTHER,
} SnpCertTableRole;

typedef struct SnpCertTableEntry {
        uint8_t guid[16];
        SnpCertTableRole role;
        const uint8_t *data; /* points into the table buffer */
        size_t size;
} SnpCertTableEntry;

#define SNP_CERT_TABLE_MAX_ENTRIES 32u

int snp_cert_table_parse(const uint8_t *data, size_t size, SnpCertTableEntry *entries, size_t max_entries,
                         size_t *ret_n, char **ret_reason);
const char *snp_cert_table_role_to_string(SnpCertTableRole role);

/* What the VCEK/VLEK leaf's AMD extensions (1.3.6.1.4.1.3704.1.*) say. SPL fields are -1 when
 * absent. */
typedef struct SnpLeafInfo {
        int struct_version;
        char product_name[32];
        int bl_spl, tee_spl, snp_spl, ucode_spl, fmc_spl;
        uint8_t hwid[64];
        size_t hwid_size; /* 0: no hwID (VLEK) */
        char csp_id[128];
} SnpLeafInfo;

int snp_leaf_info_parse(X509 *leaf, SnpLeafInfo *ret, char **ret_reason);

typedef enum SnpCertRole {
        SNP_ROLE_VCEK,
        SNP_ROLE_VLEK,
        SNP_ROLE_ASK,
        SNP_ROLE_ASVK,
        SNP_ROLE_ARK,
        _SNP_ROLE_MAX,
        _SNP_ROLE_INVALID = -EINVAL,
} SnpCertRole;

const char *snp_cert_role_to_string(SnpCertRole role);
/* Identifies a certificate by its subject CN ("SEV-VCEK", "SEV-Milan", "ARK-Genoa", ...).
 * *ret_product is set for ASK, ASVK and ARK. */
SnpCertRole snp_cert_identify(X509 *cert, SnpProduct *ret_product);

/* The certificates a report is checked against. Signature results over the chain do not depend
 * on time, so they are computed once and kept; a chain can be reused for many reports (the
 * daemon, the benchmark). Validity windows are checked on every verification. */
typedef struct SnpChain {
        X509 *cert[_SNP_ROLE_MAX];
        X509_CRL *crl;
        /* cached results, filled by snp_verify(); -1 = not computed yet */
        int link_leaf, link_intermediate, link_ark, crl_signature;
        bool leaf_info_ok;
        SnpLeafInfo leaf_info;
        char *leaf_info_error;
        bool ark_digest_ok;
        uint8_t ark_digest[32];
} SnpChain;

SnpChain *snp_chain_new(void);
SnpChain *snp_chain_free(SnpChain *c);
DEFINE_CLEANUP(SnpChain *, snp_chain_free)

/* Adds one certificate; its role comes from its subject. A second, different certificate for
 * a role already filled is refused (-EEXIST); the same certificate twice is fine. */
int snp_chain_add_cert(SnpChain *c, X509 *cert, char **ret_reason);
/* Adds every certificate in a DER or PEM buffer (a KDS cert_chain file holds two). */
int snp_chain_add_data(SnpChain *c, const uint8_t *data, size_t size, char **ret_reason);
/* Adds the certificates (and CRL) of an extended report's certificate table. */
int snp_chain_add_cert_table(SnpChain *c, const uint8_t *data, size_t size, char **ret_reason);
int snp_chain_set_crl(SnpChain *c, X509_CRL *crl);
X509 *snp_chain_leaf(const SnpChain *c);
X509 *snp_chain_intermediate(const SnpChain *c);

/* A trusted ARK: the SHA-256 of its SubjectPublicKeyInfo, per product. */
typedef struct SnpAnchor {
        SnpProduct product;
        uint8_t spki_sha256[32];
        const char *label;
} SnpAnchor;

/* AMD's ARKs for Milan, Genoa and Turin, pinned in the binary. */
const SnpAnchor *snp_builtin_anchors(size_t *ret_n);

typedef struct SnpVerifyParams {
        const SnpAnchor *anchors;
        size_t n_anchors;
        int64_t at; /* verification time, Unix seconds */
        bool require_crl;
} SnpVerifyParams;

/* Facts the verification established that a policy may look at. */
typedef struct SnpAppraisal {
        bool parsed;
        SnpReport report;
        bool product_known;
        SnpProduct product;
        SnpSigningKey signing_key;
        bool crl_checked;
} SnpAppraisal;

/* Verifies a report against a chain: structure, ARK pin, chain signatures and validity, CRL,
 * TCB and chip-ID binding, report signature. Fills v (checks, reasons, claims) and sets
 * v->authentic; v->accepted is left to the policy layer. Returns 0 when the verification ran
 * (whatever the verdict), -ENOMEM when it could not. */
int snp_verify(const uint8_t *data, size_t size, SnpChain *chain, const SnpVerifyParams *params,
               SnpAppraisal *ret_appraisal, Verdict *v);
