/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A software Intel TDX "platform": a simulated Intel PCK certificate chain with Intel's
 * certificate profile (ECDSA P-256 throughout: "Intel SGX Root CA", "Intel SGX PCK Platform CA",
 * an "Intel SGX PCK Certificate" leaf with the SGX extension 1.2.840.113741.1.13.1, and an
 * "Intel SGX TCB Signing" certificate), matching collateral (TDX TCB info v3 and TD_QE identity
 * v2 signed over their exact bytes, the PCK CA and Root CA CRLs) and quote v4/v5 generation:
 * a TD report signed by an attestation key, the QE report signed by the PCK key and binding the
 * attestation key, certification data type 6 holding type 5 (the PEM chain).
 * Facts: shared/specs/tdx.md.
 *
 * Simulated chains are unmistakable: O= is "cvmd Simulated Intel" and the CRL distribution
 * points name simulated.cvmd.invalid. Their root is never among the built-in anchors: a
 * verifier trusts it only when handed tdx_sim_anchor() (a policy's
 * "tdx.trusted_simulator_roots"). Pure code apart from tdx_sim_write() and tdx_sim_load(); no
 * logging. */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/tdx.h"

/* The organization every simulated certificate carries in its subject and issuer. */
#define TDX_SIM_ORGANIZATION "cvmd Simulated Intel"

typedef struct TdxSimParams {
        uint8_t fmspc[6];           /* all zero: 00 90 6e d5 00 00 (a made-up family) */
        uint8_t sgx_tcb[16];        /* PCK SGX TCB component SVNs; all zero: 02 02 02 02 03 01 00 03 ... */
        uint16_t pcesvn;            /* 0: 13 */
        uint8_t tee_tcb_svn[16];    /* TEE_TCB_SVN of the simulated TDX module; all zero: 05 01 02 ... */
        uint16_t qe_isv_svn;        /* 0: 4 */
        int64_t not_before;         /* certificate validity, Unix seconds; both 0: now - 1 day, */
        int64_t not_after;          /*   PCK leaf +7 years, CAs +25 years */
} TdxSimParams;

typedef struct TdxSim {
        EVP_PKEY *root_key, *pck_ca_key, *tcb_key; /* NULL in a sim from tdx_sim_load() */
        EVP_PKEY *pck_key, *att_key;
        X509 *root, *pck_ca, *pck, *tcb_signing;
        TdxPckInfo pck_info;         /* what the leaf's SGX extension says */
        uint8_t tee_tcb_svn[16];
        uint8_t mrsignerseam[48];    /* the TDX module signer: zero, as Intel's */
        uint8_t qe_mrsigner[32];
        uint16_t qe_isv_svn;
        char anchor_label[32];       /* "simulated Intel SGX Root CA" */
} TdxSim;

/* Generates the five keys and issues the chain. -EINVAL for bad params, -EIO when OpenSSL
 * fails. */
int tdx_sim_new(const TdxSimParams *p, TdxSim **ret);
TdxSim *tdx_sim_free(TdxSim *s);
DEFINE_CLEANUP(TdxSim *, tdx_sim_free)

/* The trust anchor for the sim's root. The label points into s. */
int tdx_sim_anchor(const TdxSim *s, TdxAnchor *ret);

/* A plausible quote for this platform: version 4 (5: body type 3 and TD 1.5 fields), Intel's
 * QE vendor ID, TEE_TCB_SVN, MRSEAM and MRSIGNERSEAM of the simulated module, TD_ATTRIBUTES
 * with SEPT_VE_DISABLE, a typical XFAM, deterministic MRTD and RTMRs; MRCONFIGID, MROWNER,
 * MROWNERCONFIG and REPORTDATA zero. Set what the TD needs, then tdx_sim_quote_sign(). Only the
 * header and TD report fields of the TdxQuote are meaningful. */
int tdx_sim_quote_template(const TdxSim *s, uint16_t version, TdxQuote *ret);
/* Encodes q's header and TD report, signs them with the attestation key, and appends the
 * signature data: the attestation key, the QE report (this platform's CPUSVN, the TD_QE
 * identity's MRSIGNER, ISVPRODID 2, REPORTDATA = SHA-256(attestation key || QE auth data) || 32
 * zero bytes) signed by the PCK key, 32 bytes of QE auth data, and the PEM chain (leaf, PCK CA,
 * root; NUL-terminated as in real quotes). *ret is malloc'ed. */
int tdx_sim_quote_sign(const TdxSim *s, const TdxQuote *q, uint8_t **ret, size_t *ret_size);

/* The seven collateral files (indexed by TdxCollateralFile), malloc'ed. */
typedef struct TdxSimCollateral {
        uint8_t *data[_TDX_FILE_MAX];
        size_t size[_TDX_FILE_MAX];
} TdxSimCollateral;

void tdx_sim_collateral_done(TdxSimCollateral *c);

/* Collateral for this platform: TCB info (id TDX, version 3, the TDX_01 module identity with
 * one UpToDate level, one UpToDate platform level equal to the sim's SVNs) and the TD_QE
 * identity (one UpToDate level), both issued at `issue` with nextUpdate `next_update` and
 * signed by the TCB signing key over their exact bytes; a PCK CA CRL revoking `revoked`
 * (certificates issued by the PCK CA) and an empty Root CA CRL, with the same window; the
 * three issuer chains. -ENOKEY for a sim from tdx_sim_load() (it has no CA keys). */
int tdx_sim_make_collateral(const TdxSim *s, int64_t issue, int64_t next_update, X509 *const *revoked,
                            size_t n_revoked, TdxSimCollateral *ret);

/* This platform's collateral (tdx_sim_make_collateral(), nothing revoked) installed into a
 * collateral cache as cache_dir/tdx/<fmspc>-<ca>/ (pcs.h's layout). -ENOKEY for a loaded sim. */
int tdx_sim_write_cache(const TdxSim *s, const char *cache_dir, int64_t issue, int64_t next_update);
/* Writes into dir (created 0700): root.pem, pck-ca.pem, pck.pem, tcb-signing.pem, the PCK and
 * attestation private keys pck-key.pem and att-key.pem (0600), and collateral/ with the seven
 * bundle files, issued a day ago and valid for 30 days. The CA private keys are not written. */
int tdx_sim_write(const TdxSim *s, const char *dir);
/* Loads what tdx_sim_write() wrote, for making quotes: the chain must be one simulated chain
 * (names, signatures, keys matching), and the platform's TEE_TCB_SVN, module signer and QE
 * identity come back from collateral/tcb_info.json and collateral/qe_identity.json, so its
 * quotes match its collateral. -ENOENT for missing files, -EBADMSG when they are inconsistent. */
int tdx_sim_load(const char *dir, TdxSim **ret);
