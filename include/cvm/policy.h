/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Appraisal policy: a JSON file (README.md "Policy files") that turns verified evidence into accepted or
 * denied. Policy files are untrusted input and are parsed strictly: unknown keys, wrong types,
 * wrong hex lengths, duplicate keys, NUL bytes and anything that is not plain RFC 8259 JSON are
 * errors naming the JSON path. Each TEE has its own section, parsed and evaluated separately
 * ("snp" now; "tdx" and "gpu" later). Evaluation only adds reasons to a Verdict; it never touches
 * Verdict.authentic or Verdict.accepted. Nothing here logs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/snp.h"
#include "cvm/verdict.h"

/* Largest policy file accepted. */
#define POLICY_SIZE_MAX (1024u * 1024u)

/* A list of fixed-size byte strings (digests); `set` distinguishes an absent key (no
 * restriction) from an empty list (nothing matches). */
typedef struct PolicyDigestList {
        bool set;
        size_t n;
        uint8_t *items; /* n × the field's size */
} PolicyDigestList;

/* Minimum TCB components, compared with REPORTED_TCB; -1 = no minimum. */
typedef struct PolicySnpTcb {
        int fmc, bl, tee, snp, ucode;
} PolicySnpTcb;

/* The "snp" section. Every field holds its documented default when the key is absent. */
typedef struct PolicySnp {
        PolicyDigestList measurements; /* 48 bytes each */
        /* "measurements": "predicted": MEASUREMENT must equal the value computed at launch from
         * the files booted (launch-predict.h); without such a value the report is refused */
        bool measurements_predicted;
        bool allow_unmeasured_disk_boot; /* default false: a launch must boot a measured kernel */
        bool allow_debug;              /* default false */
        bool allow_smt;                /* default true */
        bool allow_migration_agent;    /* default false */
        bool require_single_socket;    /* default false */
        unsigned max_vmpl;             /* 0..3, default 3 */
        PolicySnpTcb min_tcb;          /* default: all -1 */
        unsigned min_report_version;   /* 0 = none, else 2..5 */
        bool products_set;
        bool products[_SNP_PRODUCT_MAX];
        bool allow_vlek;                     /* default true */
        PolicyDigestList id_key_digests;     /* 48 bytes each */
        PolicyDigestList author_key_digests; /* 48 bytes each */
        bool host_data_set;
        uint8_t host_data[32];
        bool report_data_set;
        uint8_t report_data[64];
        bool require_crl; /* default true: the host's CRL (collateral.h), never only the guest's */
        int64_t max_crl_age_sec; /* 0 (default): no limit but the CRL's nextUpdate */
        bool min_guest_svn_set;
        uint32_t min_guest_svn;
        bool min_abi_set;
        uint8_t min_abi_major, min_abi_minor;
        SnpAnchor *simulator_arks; /* label points to a static string */
        size_t n_simulator_arks;
        PolicyDigestList workload_digests; /* 48 bytes each: what the agent may have been asked to start */
} PolicySnp;

/* What cvmd does with a guest whose attestation failed: it never gets keys in any case. */
/* Bounds of "reattest_interval_sec" (0 or absent: no timer). */
#define POLICY_REATTEST_MIN_SEC 5
#define POLICY_REATTEST_MAX_SEC (7 * 24 * 3600)

typedef enum PolicyFailureAction {
        POLICY_FAILURE_DESTROY,    /* default: the domain is destroyed */
        POLICY_FAILURE_PAUSE,      /* the domain is paused, kept for forensics */
        POLICY_FAILURE_QUARANTINE, /* the domain keeps running, without keys, marked quarantined */
        _POLICY_FAILURE_MAX,
} PolicyFailureAction;

const char *policy_failure_action_to_string(PolicyFailureAction a);

typedef struct Policy {
        char *name;        /* NULL when absent */
        char *description; /* NULL when absent */
        bool allow_development; /* launches with "tee": "none" (no TEE at all) are allowed; default false */
        PolicyFailureAction failure_action; /* "failure_action"; default destroy */
        int64_t reattest_interval_sec; /* "reattest_interval_sec": cvmd re-attests a running VM this often; 0: never */
        bool has_snp;      /* the file has an "snp" section */
        PolicySnp snp;     /* defaults when !has_snp */
        bool has_tdx;      /* the file has a "tdx" section */
        struct PolicyTdx {
                PolicyDigestList mrtds;           /* 48 bytes each */
                bool mrtds_predicted;             /* "mrtds": "predicted", as snp.measurements */
                PolicyDigestList mrseams;         /* 48 bytes each */
                bool rtmr_set[4];                 /* expected RTMR0..3 */
                uint8_t rtmr[4][48];
                bool allow_debug;                 /* default false (TD_ATTRIBUTES bit 0) */
                bool require_sept_ve_disable;     /* default true (TD_ATTRIBUTES bit 28) */
                unsigned accepted_tcb_statuses;   /* 1 << TdxTcbStatus; default UpToDate, SWHardeningNeeded */
                bool allowed_advisory_ids_set;    /* absent: any advisory */
                char **allowed_advisory_ids;
                size_t n_allowed_advisory_ids;
                bool min_tee_tcb_svn_set;         /* per-byte minimum of TEE_TCB_SVN */
                uint8_t min_tee_tcb_svn[16];
                bool mrconfigid_set;
                uint8_t mrconfigid[48];
                int64_t max_collateral_age_sec;   /* 0: no limit */
                bool report_data_set;
                uint8_t report_data[64];
                PolicyDigestList simulator_roots; /* SPKI SHA-256 (32 bytes each) of trusted simulator roots */
                /* from the replayed CC event log (policy-eventlog.c), 48 bytes each */
                bool require_eventlog;            /* default false */
                PolicyDigestList kernel_digests;
                PolicyDigestList initrd_digests;
                PolicyDigestList cmdline_digests;
                PolicyDigestList workload_digests; /* RTMR3 workload events */
        } tdx;                                    /* defaults when !has_tdx */
        bool has_gpu;                             /* the file has a "gpu" section */
        struct PolicyGpu {
                unsigned gpu_count;               /* exact number of GPUs; 0 (default): any, at least one */
                char min_driver_version[64];      /* "" (default): no minimum */
                char min_vbios_version[24];       /* "" (default): no minimum */
                bool allowed_rim_ids_set;         /* absent: any RIM id */
                char **allowed_rim_ids;
                size_t n_allowed_rim_ids;
                bool allow_debug_rims;            /* default false */
                bool require_ocsp;                /* default true: the host's OCSP answers, current */
                bool require_measurements;        /* default true: measurements must be "match" */
                bool require_nonce;               /* default true: the CLI must have been given --nonce */
                bool require_cc;                  /* default true: a GPU whose driver reports CC off is refused */
                bool allow_devtools;              /* default false: CC in developer-tools mode is refused */
                PolicyDigestList simulator_roots; /* SPKI SHA-256 (32 bytes each) of trusted simulator roots */
                PolicyDigestList simulator_rim_roots; /* ... and of trusted simulator RIM roots */
        } gpu;                                    /* defaults when !has_gpu */
} Policy;

typedef struct PolicyGpu PolicyGpu;
struct NvBoardAppraisal;
bool policy_has_gpu(const Policy *p);
bool policy_gpu_requires_ocsp(const Policy *p);
/* Evaluates the gpu section against a board appraisal: one reason "policy.gpu.<rule>: ..." per
 * broken rule. A policy without a "gpu" section accepts no GPU evidence; p == NULL evaluates the
 * defaults, as for "gpu": {}. */
void policy_evaluate_gpu(const Policy *p, const struct NvBoardAppraisal *a, Verdict *v);
/* The GPU device roots to trust: the built-in NVIDIA Device Identity CA, then the simulator roots
 * the policy names ("gpu.trusted_simulator_roots"). p may be NULL: the built-in root only. *ret
 * is a malloc'ed array (free() it). */
struct NvPin;
int policy_gpu_pins(const Policy *p, struct NvPin **ret, size_t *ret_n);
/* The RIM roots to trust: NVIDIA's CoRIM signing root, then "gpu.trusted_simulator_rim_roots". */
int policy_gpu_rim_pins(const Policy *p, struct NvPin **ret, size_t *ret_n);

typedef struct PolicyTdx PolicyTdx;
struct TdxAppraisal;
bool policy_has_tdx(const Policy *p);
/* Evaluates the tdx section against an appraisal at time `at` (for the collateral age): one
 * reason "policy.tdx.<rule>: ..." per broken rule. A policy without a "tdx" section accepts no
 * TDX evidence; p == NULL evaluates the defaults, as for "tdx": {}. */
void policy_evaluate_tdx(const Policy *p, const struct TdxAppraisal *a, int64_t at, Verdict *v);
/* The same, with the MRTD predicted at launch (48 bytes, or NULL when none was made), which
 * "mrtds": "predicted" compares the quote's MRTD with. */
void policy_evaluate_tdx_predicted(const Policy *p, const struct TdxAppraisal *a, int64_t at,
                                   const uint8_t *predicted_mrtd, Verdict *v);
/* The roots to trust for TDX: the built-in Intel SGX Root CA, then the simulator roots the policy
 * names ("tdx.trusted_simulator_roots"). p may be NULL: built-in anchors only. *ret is a malloc'ed
 * copy (free() it); the labels are static strings. */
struct TdxAnchor;
int policy_tdx_anchors(const Policy *p, struct TdxAnchor **ret, size_t *ret_n);

/* What a TDX event log that replayed to the quote's RTMRs says booted and ran (or, for
 * SEV-SNP, the workload digests bound into REPORT_DATA). Each boot digest is the SHA-384 the
 * firmware extended for the last event of its kind (appraise-eventlog.c recognises them). */
typedef struct PolicyMeasuredBoot {
        bool has_eventlog; /* a log was sent and replayed to the quote */
        bool has_kernel, has_initrd, has_cmdline;
        uint8_t kernel[48], initrd[48], cmdline[48];
        const uint8_t *workloads; /* n_workloads × 48 bytes, in the order measured */
        size_t n_workloads;
} PolicyMeasuredBoot;

/* The tdx section's require_eventlog, kernel_digests, initrd_digests, cmdline_digests and
 * workload_digests: one reason "policy.tdx.<rule>: ..." per broken rule. A rule that needs the
 * log when none was replayed is broken. Nothing without a tdx section (policy_evaluate_tdx()
 * already refuses). */
void policy_evaluate_tdx_eventlog(const Policy *p, const PolicyMeasuredBoot *b, Verdict *v);
/* The snp section's workload_digests against the digests bound into REPORT_DATA. */
void policy_evaluate_snp_workloads(const Policy *p, const uint8_t *digests, size_t n, Verdict *v);
/* Whether the tdx section names anything only an event log can show. */
bool policy_tdx_wants_eventlog(const Policy *p);

/* Parses a policy from `size` bytes of JSON (no NUL terminator needed; a NUL byte anywhere is an
 * error). On failure returns a negative errno (-EINVAL for a bad policy, -EFBIG when larger than
 * POLICY_SIZE_MAX, -ENOMEM) and, when ret_reason is not NULL, a malloc'ed reason naming the JSON
 * path ("snp.alow_debug: unknown key"); *ret is left untouched. */
int policy_parse(const char *json, size_t size, Policy **ret, char **ret_reason);
/* Reads (at most POLICY_SIZE_MAX bytes) and parses a policy file; the reason starts with the
 * file name. */
int policy_load(const char *path, Policy **ret, char **ret_reason);
Policy *policy_free(Policy *p);
DEFINE_CLEANUP(Policy *, policy_free)

/* A policy with every default and no sections, as the parser starts from; NULL on OOM. */
Policy *policy_new(void);

bool policy_has_snp(const Policy *p);
/* Whether the snp section requires a CRL; p == NULL: the default (true). */
bool policy_snp_requires_crl(const Policy *p);

/* The ARKs to trust for SEV-SNP: the built-in AMD anchors, then the simulator ARKs the policy
 * names ("snp.trusted_simulator_arks"). p may be NULL: built-in anchors only. *ret is a malloc'ed
 * copy (free() it); the labels are static strings. */
int policy_snp_anchors(const Policy *p, SnpAnchor **ret, size_t *ret_n);

/* Evaluates the snp section against an appraisal: one reason "policy.snp.<rule>: ..." per broken
 * rule, naming the claim. A policy without an "snp" section accepts no SEV-SNP evidence (one
 * reason, "policy.snp: ..."); p == NULL evaluates the built-in defaults, as for "snp": {}. An
 * appraisal whose report did not parse is denied. Touches nothing in v but its reasons (and
 * v->oom through verdict_reason). */
void policy_evaluate_snp(const Policy *p, const SnpAppraisal *a, Verdict *v);
/* The same, with the MEASUREMENT predicted at launch (48 bytes, or NULL when none was made),
 * which "measurements": "predicted" compares the report with: a policy that says "predicted"
 * refuses every report when there is no prediction (policy_evaluate_snp() passes none). */
void policy_evaluate_snp_predicted(const Policy *p, const SnpAppraisal *a, const uint8_t *predicted, Verdict *v);
/* The snp section's max_crl_age_sec against the thisUpdate of the CRL the chain was checked
 * with, at verification time `at`: one reason when the CRL is older than the policy allows.
 * Nothing when the policy sets no limit or no CRL was checked (require_crl says so then). */
void policy_evaluate_snp_crl_age(const Policy *p, const SnpAppraisal *a, int64_t crl_this_update, int64_t at,
                                 Verdict *v);
