/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NVIDIA confidential-computing GPU evidence (H100 Hopper, Blackwell): the SPDM 1.1
 * GET_MEASUREMENTS request + MEASUREMENTS response that NVML returns as the "attestation report",
 * the five-certificate device chain up to the NVIDIA Device Identity CA, the FWID binding, the
 * signed SWID reference integrity manifests (RIMs) and golden-measurement lists, and the
 * measurement comparison. Pure code: bytes, certificates, trust-anchor pins and a time in; a
 * Verdict out. No I/O, no globals (beyond the one-time xmlsec initialisation), no logging.
 * Facts: shared/specs/nvidia-gpu.md. */

#include <json-c/json.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/verdict.h"

#define NV_SPDM_REQUEST_SIZE 37u
#define NV_NONCE_SIZE 32u
#define NV_SIGNATURE_SIZE 96u /* raw ECDSA P-384 r || s, big-endian */
#define NV_FWID_SIZE 48u
#define NV_DIGEST_MAX 64u /* largest measurement value accepted (SHA-512) */
#define NV_BLOCKS_MAX 255u
#define NV_REPORT_SIZE_MAX 0x2000u /* NVML_CC_GPU_ATTESTATION_REPORT_SIZE */
#define NV_CHAIN_LENGTH 5u
#define NV_PDI_SIZE 8u          /* an NVSwitch platform device identifier */
#define NV_SWITCH_PDIS_MAX 64u  /* SWITCH_PDI entries kept (real PPCIe reports have 18) */
#define NV_PPCIE_GPUS 8u        /* a protected-PCIe HGX board: 8 GPUs ... */
#define NV_PPCIE_SWITCHES 4u    /* ... and 4 NVSwitches */
#define NV_PROTECTED_PCIE_ON 0xAAu
#define NV_FEATURE_PPCIE 2u

/* Opaque-data TLV types (spec §1.4). */
typedef enum NvOpaqueType {
        NV_OPAQUE_DRIVER_VERSION = 3,
        NV_OPAQUE_GPU_INFO = 4,
        NV_OPAQUE_VBIOS_VERSION = 6,
        NV_OPAQUE_NVDEC0_STATUS = 11,
        NV_OPAQUE_MSRSCNT = 12,
        NV_OPAQUE_BOARD_ID = 14,
        NV_OPAQUE_CHIP_SKU = 15,
        NV_OPAQUE_CHIP_SKU_MOD = 16,
        NV_OPAQUE_PROJECT = 17,
        NV_OPAQUE_PROJECT_SKU = 18,
        NV_OPAQUE_PROJECT_SKU_MOD = 19,
        NV_OPAQUE_FWID = 20,
        NV_OPAQUE_PROTECTED_PCIE_STATUS = 21,
        NV_OPAQUE_SWITCH_PDI = 22,
        NV_OPAQUE_OPAQUE_DATA_VERSION = 34,
        NV_OPAQUE_CHIP_INFO = 35,
        NV_OPAQUE_FEATURE_FLAG = 36,
} NvOpaqueType;

#define NV_NVDEC_ENABLED 0xAAu
#define NV_NVDEC_DISABLED 0x55u
/* RIM index governed by NVDEC0_STATUS. */
#define NV_NVDEC_RIM_INDEX 35u

typedef struct NvMeasurement {
        uint8_t index; /* SPDM block index, 1-based */
        uint8_t spec;  /* MeasurementSpecification; 0x01 = DMTF */
        uint8_t value_type;
        uint8_t size; /* digest bytes, <= NV_DIGEST_MAX */
        uint8_t value[NV_DIGEST_MAX];
} NvMeasurement;

typedef struct NvReport {
        /* request */
        uint8_t request_param1, request_param2, slot;
        uint8_t nonce[NV_NONCE_SIZE]; /* the requester's nonce, report bytes 4..35 */
        /* response */
        uint8_t response_param1, response_param2;
        unsigned n_blocks;
        NvMeasurement blocks[NV_BLOCKS_MAX];
        uint8_t responder_nonce[NV_NONCE_SIZE];
        size_t opaque_offset, opaque_size;
        unsigned n_opaque_fields;
        char driver_version[64]; /* "" when absent */
        bool has_vbios;
        uint8_t vbios_raw[8];
        char vbios_version[24]; /* "b3.b2.b1.b0.b4", upper-case hex */
        bool has_fwid;
        uint8_t fwid[NV_FWID_SIZE];
        bool has_nvdec0_status;
        uint8_t nvdec0_status;
        char project[16], project_sku[16], chip_sku[16], chip_info[16]; /* NULs stripped; "" when absent */
        bool has_feature_flag;
        uint16_t feature_flag; /* 0 SPT, 1 MPT, 2 PPCIE */
        bool has_protected_pcie_status;
        uint8_t protected_pcie_status;
        bool has_opaque_data_version;
        uint16_t opaque_data_version;
        unsigned n_switch_pdis; /* as many as the report holds; the first NV_SWITCH_PDIS_MAX kept */
        uint8_t switch_pdis[NV_SWITCH_PDIS_MAX][NV_PDI_SIZE];
        /* signature */
        size_t signed_size; /* offset of the signature: every byte before it is signed */
        uint8_t signature[NV_SIGNATURE_SIZE];
} NvReport;

/* Parses a report: the 37-byte request, then the response, with the signature located by parsing
 * (never "the last 96 bytes"). Bytes after the signature are refused: they are not signed, NVML
 * gives the exact report size, and a verifier that ignored them would accept any appended data.
 * On failure returns -EBADMSG and a malloc'ed reason naming the field and offset; *ret is left
 * untouched. */
int nv_report_parse(const uint8_t *data, size_t size, NvReport *ret, char **ret_reason);
/* The RIM ids the report asks for: NV_GPU_DRIVER_GH100_<driver> (Hopper), NV_GPU_CC_DRIVER_<chip>_<driver>
 * (Blackwell, CHIP_INFO present), and NV_GPU_VBIOS_<project>_<project sku>_<chip sku>_<vbios>.
 * -ENODATA when the report lacks the fields. */
int nv_report_driver_rim_id(const NvReport *r, char **ret);
int nv_report_vbios_rim_id(const NvReport *r, char **ret);
/* driver_version, vbios_version, nonce, fwid, ... */
json_object *nv_report_claims(const NvReport *r);
const NvMeasurement *nv_report_block(const NvReport *r, unsigned spdm_index);

/* The device certificate chain, leaf first, as the driver returns it. Signature results do not
 * depend on time and are computed once (the daemon re-verifies the same GPU; the benchmark). */
typedef struct NvChain {
        STACK_OF(X509) *certs;
        int links; /* -1 not computed, 1 every link verifies, 0 one does not */
        char *links_error;
        int fwid_state; /* -1 not computed, 0 none in the leaf, 1 found, -2 malformed */
        uint8_t fwid[NV_FWID_SIZE];
        bool root_digest_ok;
        uint8_t root_digest[32];
} NvChain;

/* Parses a PEM (or single DER) chain; -EBADMSG when nothing parses. */
int nv_chain_new(const uint8_t *data, size_t size, NvChain **ret);
NvChain *nv_chain_free(NvChain *c);
DEFINE_CLEANUP(NvChain *, nv_chain_free)
X509 *nv_chain_leaf(const NvChain *c);
/* Decodes a device chain and checks its links (not its pin or validity: nv_verify() does) so
 * that a later nv_verify() of a chain with the same bytes finds them decoded and verified in
 * the process's caches (include/cvm/verified-cache.h). Records nothing anywhere else: running
 * it or not never changes a verdict. 1 links good, 0 not, -errno. */
int nv_chain_prepare(const uint8_t *data, size_t size, int64_t at);

/* The FWID in a device leaf: Hopper extension 2.23.133.5.4.1 (last element of the SEQUENCE, a
 * 48-byte OCTET STRING), Blackwell TCG DICE TcbInfo 2.23.133.5.4.1.1 (first fwids digest).
 * 1 found, 0 no FWID extension, -EBADMSG malformed. */
int nv_leaf_fwid(X509 *leaf, uint8_t ret[NV_FWID_SIZE]);

/* SHA-256 of the NVIDIA Device Identity CA's SubjectPublicKeyInfo and of the RIM signing root. */
extern const uint8_t nv_device_root_spki_sha256[32];
extern const uint8_t nv_rim_root_spki_sha256[32];

/* A pinned root: the SHA-256 of its SubjectPublicKeyInfo. */
typedef struct NvPin {
        uint8_t spki_sha256[32];
} NvPin;

/* Verifies a certificate chain (leaf first) in the profile NVIDIA uses for device and RIM chains:
 * exactly `want_len` certificates (0: 2..8), each one's issuer name the next one's subject and its
 * signature verifying with the next one's key, every certificate but the leaf a CA, the last one
 * self-signed and pinned, all valid at `at`; then OpenSSL's path validation (X509_V_FLAG_X509_STRICT,
 * time `at`) over the same certificates. Returns 1 valid, 0 invalid (reason in *ret_reason), -errno. */
int nv_cert_chain_verify(STACK_OF(X509) *certs, size_t want_len, const NvPin *pins, size_t n_pins, int64_t at,
                         char **ret_reason);

/* ---- RIMs ---- */

#define NV_RIM_SIZE_MAX (1024u * 1024u)
#define NV_RIM_ENTRIES_MAX 256u
#define NV_RIM_ALTERNATIVES_MAX 16u

typedef struct NvRimEntry {
        unsigned index;
        bool active;
        unsigned size;
        unsigned n_alternatives;
        uint8_t alternatives[NV_RIM_ALTERNATIVES_MAX][NV_DIGEST_MAX];
} NvRimEntry;

typedef struct NvRim {
        void *doc; /* the parsed document (gpu/rim.c), shared by the RIMs parsed from the same bytes */
        char *name;              /* SoftwareIdentity@name: GH100, GB100, ... */
        char *tag_id;
        char *version;           /* Meta@colloquialVersion */
        char *product, *edition; /* Meta@product, Meta@edition */
        char *manufacturer_id;   /* Meta@FirmwareManufacturerId */
        NvRimEntry *entries;
        size_t n_entries;
        STACK_OF(X509) *certs; /* KeyInfo/X509Data/X509Certificate, in document order */
        char *id;              /* the RIM id it was stored or fetched under; NULL when unknown */
        int verified;          /* nv_verify_gpus(): -1 not yet, 1 signature and chain good, 0 not */
        char *verify_error;
} NvRim;

/* Parses a signed SWID RIM (libxml2, XML_PARSE_NONET, no DTD, at most NV_RIM_SIZE_MAX bytes): the
 * SoftwareIdentity, Meta, every Payload/Resource of type Measurement, and the signing certificates.
 * -EBADMSG with a reason on anything malformed. Parsed once per process for the same bytes (the
 * object cache); every call returns a new NvRim of the caller's own. */
int nv_rim_parse(const uint8_t *data, size_t size, NvRim **ret, char **ret_reason);
NvRim *nv_rim_free(NvRim *r);
DEFINE_CLEANUP(NvRim *, nv_rim_free)
/* Verifies the enveloped XML signature (exactly one ds:Signature, a child of the root, one
 * Reference with URI="" and only the enveloped-signature and canonicalisation transforms) with
 * the key of the first KeyInfo certificate, after that certificate's chain verified up to a pinned
 * RIM root at `at`. 1 valid, 0 invalid (reason), -errno. The chain's links and the XML signature
 * are verified once per process for the same bytes (the verified cache); the pin and every
 * certificate's validity at `at` are checked on every call. */
int nv_rim_verify(NvRim *rim, const NvPin *pins, size_t n_pins, int64_t at, char **ret_reason);
/* Initialises libxml2 and xmlsec (with OpenSSL) once per process, for the verifier and for the
 * simulator that signs RIMs: 0, or -EIO when xmlsec cannot be used. */
int nv_rim_xmlsec_init(void);
/* A debug RIM: "debug" in its name, edition or product (case-insensitive). */
bool nv_rim_is_debug(const NvRim *rim);

/* ---- measurement comparison ---- */

typedef enum NvMeasResult {
        NV_MEAS_NOT_CHECKED,
        NV_MEAS_MATCH,
        NV_MEAS_MISMATCH,
        _NV_MEAS_MAX,
        _NV_MEAS_INVALID = -EINVAL,
} NvMeasResult;

const char *nv_meas_result_to_string(NvMeasResult m);

typedef enum NvMeasSource {
        NV_MEAS_SOURCE_DRIVER,
        NV_MEAS_SOURCE_VBIOS,
        NV_MEAS_SOURCE_GOLDEN,
} NvMeasSource;

typedef struct NvMismatch {
        unsigned index; /* RIM index (SPDM block index - 1) */
        NvMeasSource source;
} NvMismatch;

typedef struct NvMeasOutcome {
        NvMeasResult result;
        unsigned n_compared;
        unsigned n_skipped; /* index 35 with NVDEC0 disabled */
        NvMismatch mismatches[NV_RIM_ENTRIES_MAX * 2];
        size_t n_mismatches;
        char *error; /* a conflict between the RIMs; result is then NOT_CHECKED */
} NvMeasOutcome;

void nv_meas_outcome_done(NvMeasOutcome *o);

/* Compares against a driver RIM and a VBIOS RIM (either may be NULL: not given or not trusted).
 * Active entries only; RIM index i against SPDM block i+1; any alternative may match; index 35
 * skipped when NVDEC0_STATUS is 0x55. A mismatch in any RIM given is MISMATCH; MATCH needs both
 * RIMs; otherwise NOT_CHECKED. Both RIMs active at the same index is an error. */
int nv_measure_rims(const NvReport *r, const NvRim *driver, const NvRim *vbios, NvMeasOutcome *ret);

/* A golden list: a JSON array of {"index": RIM index (0..254), "values": ["hex", ...]}. */
typedef struct NvGolden {
        NvRimEntry *entries;
        size_t n_entries;
} NvGolden;

int nv_golden_parse(const char *json, size_t size, NvGolden **ret, char **ret_reason);
NvGolden *nv_golden_free(NvGolden *g);
DEFINE_CLEANUP(NvGolden *, nv_golden_free)
int nv_measure_golden(const NvReport *r, const NvGolden *g, NvMeasOutcome *ret);

/* ---- verification of one GPU ---- */

typedef struct NvVerifyParams {
        const NvPin *root_pins; /* device identity roots; NULL: nv_device_root_spki_sha256 */
        size_t n_root_pins;
        int64_t at;
        const uint8_t *expected_nonce; /* NV_NONCE_SIZE bytes; NULL: not checked (check "skip") */
        const char *prefix;            /* check-name prefix, e.g. "gpu0."; NULL: none */
} NvVerifyParams;

typedef struct NvAppraisal {
        bool parsed;
        NvReport report;
        bool authentic;
        bool nonce_checked;
        bool fwid_checked;
} NvAppraisal;

/* Verifies one GPU's report against its chain: parse, report signature with the leaf key, chain
 * to a pinned device root valid at `at`, FWID binding, nonce. Records checks "<prefix>report.parse",
 * "<prefix>report.signature", "<prefix>chain", "<prefix>fwid", "<prefix>nonce" in v and sets
 * ret->authentic; never touches v->authentic/v->accepted. chain may be NULL (a failed check).
 * Returns 0 when the verification ran, -ENOMEM when it could not. */
int nv_verify(const uint8_t *data, size_t size, NvChain *chain, const NvVerifyParams *p, NvAppraisal *ret,
              Verdict *v);

/* ---- several GPUs (an HGX board): every report must pass ---- */

typedef struct NvGpuInput {
        const uint8_t *report;
        size_t report_size;
        NvChain *chain; /* may be NULL: a failed check */
} NvGpuInput;

/* The GPU's confidential-computing mode as the guest's driver reports it (not in the signed
 * report: the guest's word, bound into the report's nonce by the exchange). */
typedef enum NvCcMode {
        NV_CC_UNKNOWN, /* no such claim (cvmctl verify gpu) */
        NV_CC_OFF,
        NV_CC_ON,
        NV_CC_DEVTOOLS,
} NvCcMode;

typedef struct NvGpuAppraisal {
        NvAppraisal a;
        NvCcMode cc_mode; /* set by the caller before the policy is evaluated */
        NvMeasResult measurements;
        char driver_rim_id[128], vbios_rim_id[128]; /* ids of the RIMs used; "" when none */
        bool driver_rim_debug, vbios_rim_debug;
} NvGpuAppraisal;

typedef struct NvBoardAppraisal {
        size_t n_gpus;
        NvGpuAppraisal *gpus;
        bool authentic;          /* every GPU authentic, and at least one GPU */
        NvMeasResult measurements; /* mismatch if any GPU mismatches, match if all match */
        bool ocsp_checked;       /* set by the caller when every chain passed OCSP */
} NvBoardAppraisal;

void nv_board_appraisal_done(NvBoardAppraisal *b);

typedef struct NvBoardParams {
        NvVerifyParams gpu; /* prefix is set per GPU ("gpu0.") */
        NvRim *const *rims; /* candidate RIMs; a RIM is used for a report when its colloquialVersion
                             * equals the report's driver or VBIOS version */
        size_t n_rims;
        const uint8_t (*nonces)[NV_NONCE_SIZE]; /* one expected nonce per GPU; NULL: gpu.expected_nonce */
        const NvGolden *golden; /* instead of RIMs */
        const NvPin *rim_pins;  /* NULL: nv_rim_root_spki_sha256 */
        size_t n_rim_pins;
} NvBoardParams;

/* Verifies every GPU (nv_verify), checks and uses the RIMs (or the golden list) for the authentic
 * ones, compares the measurements, and fills v: checks "gpu<i>.*", claims "gpus" (one object per
 * GPU: the report claims plus authentic, measurements, mismatching_indices, RIM ids) and
 * "gpu_count"; sets v->authentic. A measurement mismatch or an unusable RIM is a failed check (so
 * not accepted) but does not change authentic. Returns 0 when it ran, -ENOMEM. */
int nv_verify_gpus(const NvGpuInput *gpus, size_t n, const NvBoardParams *p, NvBoardAppraisal *ret, Verdict *v);

/* ---- a board: one device per GPU, and the protected-PCIe topology ---- */

/* Every GPU must be its own device: no two chains with the same leaf public key (the key that
 * signs the reports). The FWID is not an identity: it is the firmware's digest, the same on
 * every GPU of a board that runs one firmware (the eight real PPCIe reports share one). Records
 * check "gpu.distinct" (skipped for fewer than two GPUs); a GPU without a leaf is left to its
 * own failed "gpu<i>.chain". Returns 0, -ENOMEM. */
int nv_board_distinct(const NvGpuInput *gpus, size_t n, Verdict *v);

/* The protected-PCIe rule (NVIDIA's PPCIe verifier): when a GPU reports PPCIe mode
 * (FEATURE_FLAG 2 or PROTECTED_PCIE_STATUS 0xAA) every GPU must, the board must have
 * NV_PPCIE_GPUS of them, and each must name the same set of NV_PPCIE_SWITCHES distinct non-zero
 * NVSwitch PDIs in SWITCH_PDI. expected_switches is the number of NVSwitches passed through to
 * the guest: 0 records "nvswitch" skipped; otherwise each switch's own attestation and "nvswitch"
 * are nv_switch_board_verify()'s (cvm/nvswitch.h). reports[i] may be NULL (an unparsed report:
 * the rule then fails). Records check "board.ppcie" and claim "nvswitch_pdis".
 * Returns 0, -ENOMEM. */
int nv_board_topology(const NvReport *const *reports, size_t n, unsigned expected_switches, Verdict *v);
