/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Intel TDX evidence: quote v4/v5 parsing, the PCK certificate chain and its SGX extension,
 * Intel collateral (TCB info, TD QE identity, CRLs), TCB level matching and verification.
 * Pure code: bytes, collateral, trust anchors and a time in; a Verdict out. No I/O, no
 * globals, no logging. Facts and citations: shared/specs/tdx.md. */

#include <json-c/json.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/verdict.h"

#define TDX_QUOTE_HEADER_SIZE 48u
#define TDX_TD10_BODY_SIZE 584u
#define TDX_TD15_BODY_SIZE 648u
#define TDX_SGX_REPORT_SIZE 384u
#define TDX_TEE_TYPE 0x81u
#define TDX_ATT_KEY_TYPE_ECDSA_P256 2u
#define TDX_CERT_DATA_QE_REPORT 6u
#define TDX_CERT_DATA_PCK_CHAIN 5u

/* TD_ATTRIBUTES bits (little-endian u64). */
#define TDX_TD_ATTR_DEBUG (UINT64_C(1) << 0)
#define TDX_TD_ATTR_SEPT_VE_DISABLE (UINT64_C(1) << 28)

/* The SGX report body of the quoting enclave (QE report), 384 bytes. */
typedef struct TdxQeReport {
        uint8_t cpu_svn[16];
        uint32_t miscselect;
        uint8_t attributes[16];
        uint8_t mr_enclave[32];
        uint8_t mr_signer[32];
        uint16_t isv_prod_id;
        uint16_t isv_svn;
        uint8_t report_data[64];
        uint8_t raw[TDX_SGX_REPORT_SIZE];
} TdxQeReport;

/* A parsed quote. The pointer fields point into the buffer given to tdx_quote_parse(), which
 * must outlive the TdxQuote. */
typedef struct TdxQuote {
        uint16_t version; /* 4 or 5 */
        uint16_t att_key_type;
        uint32_t tee_type;
        uint8_t qe_vendor_id[16];
        uint8_t user_data[20];
        uint16_t body_type; /* 2 (TD 1.0) or 3 (TD 1.5); v4 quotes are always 2 */
        /* TD report body */
        uint8_t tee_tcb_svn[16];
        uint8_t mrseam[48];
        uint8_t mrsignerseam[48];
        uint8_t seam_attributes[8];
        uint8_t td_attributes[8];
        uint8_t xfam[8];
        uint8_t mrtd[48];
        uint8_t mrconfigid[48];
        uint8_t mrowner[48];
        uint8_t mrownerconfig[48];
        uint8_t rtmr[4][48];
        uint8_t report_data[64];
        uint8_t tee_tcb_svn2[16]; /* TD 1.5 only */
        uint8_t mrservicetd[48];  /* TD 1.5 only */
        /* what the attestation key signed: header ‖ (v5: type ‖ size ‖) body */
        const uint8_t *signed_data;
        size_t signed_size;
        /* signature data */
        uint8_t signature[64]; /* r ‖ s, big-endian */
        uint8_t att_key[64];   /* x ‖ y, big-endian */
        TdxQeReport qe_report;
        uint8_t qe_report_signature[64];
        const uint8_t *qe_auth_data;
        size_t qe_auth_size;
        const uint8_t *pck_chain; /* type-5 certification data, trailing NULs removed */
        size_t pck_chain_size;
        size_t quote_size; /* the bytes the quote declares; anything after them is ignored */
} TdxQuote;

/* Parses a v4 (body type 2) or v5 (body type 2 or 3) quote from a buffer that may be padded:
 * bytes after the declared end are ignored, everything declared must lie within the input.
 * Only attestation key type 2 (ECDSA P-256), TEE type 0x81 and certification data type 6
 * holding type 5 are accepted. On failure returns -EBADMSG and a malloc'ed reason naming the
 * field; *ret is left untouched. */
int tdx_quote_parse(const uint8_t *data, size_t size, TdxQuote *ret, char **ret_reason);
uint64_t tdx_quote_td_attributes(const TdxQuote *q);
/* Every quote field, byte fields as lowercase hex in byte order. */
json_object *tdx_quote_claims(const TdxQuote *q);
/* Splits the type-5 PEM chain into certificates, leaf first, with the shared bundle reader
 * (include/cvm/pem-bundle.h): CRLF, trailing whitespace and glued blocks are accepted, text
 * outside the blocks is refused with its byte offset. */
int tdx_pck_chain_parse(const uint8_t *data, size_t size, STACK_OF(X509) **ret, char **ret_reason);

/* What the PCK leaf's SGX extension (1.2.840.113741.1.13.1) says. */
typedef enum TdxPckCa {
        TDX_PCK_CA_PLATFORM,
        TDX_PCK_CA_PROCESSOR,
        _TDX_PCK_CA_MAX,
        _TDX_PCK_CA_INVALID = -EINVAL,
} TdxPckCa;

const char *tdx_pck_ca_to_string(TdxPckCa ca); /* "platform", "processor" (PCS spelling) */

typedef struct TdxPckInfo {
        uint8_t ppid[16];
        uint8_t cpu_svn[16];
        uint8_t sgx_tcb_comp_svn[16];
        uint16_t pcesvn;
        uint8_t pceid[2];
        uint8_t fmspc[6];
        int sgx_type; /* -1 when absent */
        TdxPckCa ca;  /* from the issuer CN */
} TdxPckInfo;

int tdx_pck_info_parse(X509 *leaf, TdxPckInfo *ret, char **ret_reason);

typedef enum TdxTcbStatus {
        TDX_TCB_UP_TO_DATE,
        TDX_TCB_SW_HARDENING_NEEDED,
        TDX_TCB_CONFIGURATION_NEEDED,
        TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
        TDX_TCB_OUT_OF_DATE,
        TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
        TDX_TCB_REVOKED,
        TDX_TCB_NOT_SUPPORTED,
        /* Verdicts only, never in a TCB info document: a TD 1.5 whose TDX module was updated
         * in place (TEE_TCB_SVN2) to the newest level but that still runs on the old one;
         * relaunching it would make it current (Intel QVL's TDRelaunchCheck). */
        TDX_TCB_TD_RELAUNCH_ADVISED,
        TDX_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
        _TDX_TCB_STATUS_MAX,
        _TDX_TCB_STATUS_INVALID = -EINVAL,
} TdxTcbStatus;

const char *tdx_tcb_status_to_string(TdxTcbStatus s);
TdxTcbStatus tdx_tcb_status_from_string(const char *s);

typedef struct TdxAdvisories {
        char **ids;
        size_t n;
} TdxAdvisories;

void tdx_advisories_done(TdxAdvisories *a);
/* Adds every ID of b to a, keeping a sorted and free of duplicates. */
int tdx_advisories_merge(TdxAdvisories *a, const TdxAdvisories *b);

/* A TCB level of a TDX module identity or of the QE identity: one ISV SVN. */
typedef struct TdxIsvLevel {
        uint16_t isvsvn;
        int64_t tcb_date;
        TdxTcbStatus status;
        TdxAdvisories advisories;
} TdxIsvLevel;

typedef struct TdxModuleIdentity {
        char id[16]; /* "TDX_01", upper case */
        uint8_t mrsigner[48];
        uint8_t attributes[8];
        uint8_t attributes_mask[8];
        TdxIsvLevel *levels; /* sorted by isvsvn, highest first */
        size_t n_levels;
} TdxModuleIdentity;

typedef struct TdxTcbLevel {
        uint8_t sgx[16];
        uint16_t pcesvn;
        uint8_t tdx[16];
        int64_t tcb_date;
        TdxTcbStatus status;
        TdxAdvisories advisories;
} TdxTcbLevel;

/* tcb_info.json, TDX version 3. */
typedef struct TdxTcbInfo {
        char id[8];
        unsigned version;
        int64_t issue_date, next_update;
        uint8_t fmspc[6];
        uint8_t pce_id[2];
        unsigned tcb_type;
        unsigned tcb_evaluation_data_number;
        TdxModuleIdentity module; /* "tdxModule": no levels */
        bool has_module_identities;
        TdxModuleIdentity *module_identities;
        size_t n_module_identities;
        TdxTcbLevel *levels; /* sorted highest first, as Intel's QVL orders them */
        size_t n_levels;
        uint8_t signature[64];
        uint8_t digest[32]; /* SHA-256 of the exact "tcbInfo" value bytes */
        unsigned n_shared;  /* holders beyond the first (the parse cache shares a parsed document) */
} TdxTcbInfo;

/* qe_identity.json, id TD_QE, version 2. */
typedef struct TdxQeIdentity {
        char id[8];
        unsigned version;
        int64_t issue_date, next_update;
        unsigned tcb_evaluation_data_number;
        uint32_t miscselect, miscselect_mask;
        uint8_t attributes[16], attributes_mask[16];
        uint8_t mrsigner[32];
        uint16_t isvprodid;
        TdxIsvLevel *levels; /* highest isvsvn first */
        size_t n_levels;
        uint8_t signature[64];
        uint8_t digest[32]; /* SHA-256 of the exact "enclaveIdentity" value bytes */
        unsigned n_shared;  /* holders beyond the first */
} TdxQeIdentity;

/* Largest collateral JSON document accepted. */
#define TDX_COLLATERAL_JSON_MAX (512u * 1024u)

/* Parse a PCS body ({"tcbInfo": {...}, "signature": "<hex>"}); the signed value is located in
 * the raw text, never re-serialized. Accept only what the TDX rules need; on failure -EBADMSG
 * with a reason naming the JSON path. */
int tdx_tcb_info_parse(const char *text, size_t size, TdxTcbInfo **ret, char **ret_reason);
/* Drops one holder; the last frees. A parsed document is shared and must not be modified. */
TdxTcbInfo *tdx_tcb_info_free(TdxTcbInfo *t);
DEFINE_CLEANUP(TdxTcbInfo *, tdx_tcb_info_free)
int tdx_qe_identity_parse(const char *text, size_t size, TdxQeIdentity **ret, char **ret_reason);
TdxQeIdentity *tdx_qe_identity_free(TdxQeIdentity *q);
DEFINE_CLEANUP(TdxQeIdentity *, tdx_qe_identity_free)
/* Locates the value of the top-level member `key` in a JSON object text: its offset and
 * length as written. -EBADMSG when the text is not one object, the key is absent or repeated. */
int tdx_json_member_span(const char *text, size_t size, const char *key, size_t *ret_off, size_t *ret_len);

/* The collateral bundle: the seven files of a PCS/PCCS response set (and of the cache). */
typedef enum TdxCollateralFile {
        TDX_FILE_TCB_INFO,
        TDX_FILE_TCB_INFO_CHAIN,
        TDX_FILE_QE_IDENTITY,
        TDX_FILE_QE_IDENTITY_CHAIN,
        TDX_FILE_PCK_CRL,
        TDX_FILE_PCK_CRL_CHAIN,
        TDX_FILE_ROOT_CRL,
        _TDX_FILE_MAX,
        _TDX_FILE_INVALID = -EINVAL,
} TdxCollateralFile;

/* "tcb_info.json", "tcb_info_issuer_chain.pem", ... */
const char *tdx_collateral_file_name(TdxCollateralFile f);

typedef struct TdxCollateral {
        TdxTcbInfo *tcb_info;
        STACK_OF(X509) *tcb_info_chain;
        TdxQeIdentity *qe_identity;
        STACK_OF(X509) *qe_identity_chain;
        X509_CRL *pck_crl;
        STACK_OF(X509) *pck_crl_chain;
        X509_CRL *root_crl;
        /* Results that do not depend on the quote or the time, computed once by tdx_verify()
         * and kept (-1 = not computed yet): a bundle can be reused for many quotes. */
        int sig_tcb_info, sig_qe_identity, sig_root_crl, sig_pck_crl;
        int chain_tcb_info, chain_qe_identity, chain_pck_crl;
        uint8_t pck_crl_signer_spki[32]; /* whose key sig_pck_crl was computed with */
        /* The last PCK chain whose signatures verified, by the SHA-256 of its exact bytes:
         * quotes from one platform carry the same chain. Pin and validity are still checked on
         * every verification. */
        uint8_t pck_chain_sha256[32];
        STACK_OF(X509) *pck_chain;
} TdxCollateral;

/* Parses the seven files (each data/size; any may be missing, size 0, which makes verification
 * fail naming it). A file that does not parse is an error naming it. */
int tdx_collateral_parse(const uint8_t *const data[_TDX_FILE_MAX], const size_t size[_TDX_FILE_MAX],
                         TdxCollateral **ret, char **ret_reason);
TdxCollateral *tdx_collateral_free(TdxCollateral *c);
DEFINE_CLEANUP(TdxCollateral *, tdx_collateral_free)
/* The time from which the bundle is valid as a whole and until which: the latest issueDate /
 * thisUpdate and the earliest nextUpdate of its four documents. */
int tdx_collateral_window(const TdxCollateral *c, int64_t *ret_from, int64_t *ret_until);

/* The Intel SGX Root CA, pinned by the SHA-256 of its SubjectPublicKeyInfo. */
typedef struct TdxAnchor {
        uint8_t spki_sha256[32];
        const char *label;
} TdxAnchor;

const TdxAnchor *tdx_builtin_anchors(size_t *ret_n);

/* The TCB evaluation: Intel QVL's rules for TDX (spec §7, §8). */
typedef struct TdxTcbResult {
        TdxTcbStatus status; /* converged */
        TdxTcbStatus platform_status;
        TdxTcbStatus module_status; /* _TDX_TCB_STATUS_INVALID when no module level applies */
        TdxTcbStatus qe_status;
        int64_t tcb_date, module_tcb_date, qe_tcb_date; /* 0 when not matched */
        TdxAdvisories advisories; /* sorted union; empty when NotSupported */
        char module_id[16];       /* the TDX module identity used, "" for tdxModule */
} TdxTcbResult;

void tdx_tcb_result_done(TdxTcbResult *r);
/* Checks the TDX module identity (MRSIGNERSEAM, SEAM_ATTRIBUTES) and evaluates the platform,
 * module and QE levels. Returns 0 with a status (NotSupported when no level matches), or
 * -EBADMSG with a reason for a mismatch that makes the quote unverifiable with this TCB info
 * (no module identity for the module's version, MRSIGNERSEAM or attributes differ). */
int tdx_tcb_evaluate(const TdxTcbInfo *ti, const TdxQeIdentity *qe, const TdxPckInfo *pck, const TdxQuote *q,
                     TdxTcbResult *ret, char **ret_reason);
/* QE identity match: MISCSELECT and attributes under their masks, MRSIGNER, ISVPRODID. */
int tdx_qe_identity_match(const TdxQeIdentity *qe, const TdxQeReport *r, char **ret_reason);

typedef struct TdxVerifyParams {
        const TdxAnchor *anchors;
        size_t n_anchors;
        int64_t at; /* verification time, Unix seconds */
} TdxVerifyParams;

/* Facts the verification established that a policy may look at. */
typedef struct TdxAppraisal {
        bool parsed;
        TdxQuote quote; /* its pointers point into the verified buffer */
        bool pck_info_ok;
        TdxPckInfo pck;
        bool collateral_checked; /* collateral given, and every collateral check passed */
        bool tcb_evaluated;
        TdxTcbResult tcb;
        int64_t collateral_oldest; /* the oldest issueDate of TCB info and QE identity */
} TdxAppraisal;

void tdx_appraisal_done(TdxAppraisal *a);

/* Verifies a quote: structure, PCK chain to a pinned root and validity at `at`, QE report
 * signature and binding, quote signature; with collateral also the CRLs, the collateral
 * signatures, chains and windows, the QE identity and the TCB level. Fills v (checks,
 * reasons, claims, with "tcb_status" and "advisory_ids" in the claims when evaluated) and
 * sets v->authentic; v->accepted is left to the policy layer. collateral may be NULL (quote
 * only). Returns 0 when the verification ran, -ENOMEM when it could not. ret_appraisal, when
 * not NULL, is filled in any case and must be released with tdx_appraisal_done(). */
int tdx_verify(const uint8_t *data, size_t size, TdxCollateral *collateral, const TdxVerifyParams *params,
               TdxAppraisal *ret_appraisal, Verdict *v);
