/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A software SEV-SNP "platform": a simulated AMD certificate chain (ARK, ASK or ASVK, VCEK or
 * VLEK) with the same certificate profile as AMD's, and 1184-byte ATTESTATION_REPORTs signed by
 * its leaf. Used by the unit tests, `cvmctl sim init` and the guest agent's --simulate mode.
 *
 * Simulated chains are unmistakable: O= is "cvmd Simulated AMD", and their ARKs are never among
 * the built-in trust anchors. A verifier trusts them only when handed snp_sim_anchor()
 * explicitly. Pure code apart from snp_sim_write_pem(); no logging. */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/snp.h"

/* The organization every simulated certificate carries in its subject and issuer. */
#define SNP_SIM_ORGANIZATION "cvmd Simulated AMD"

/* Writes every field of r at its ATTESTATION_REPORT offset, little-endian (the inverse of
 * snp_report_parse()). TCBs are written from SnpTcb.raw. VERSION 2 leaves 0x188-0x19F zero,
 * VERSION >= 3 writes the CPUID bytes, VERSION >= 5 the mitigation vectors. Reserved ranges are
 * zero; SIGNATURE R and S come from signature_r/signature_s. r->raw is not read. */
int snp_report_encode(const SnpReport *r, uint8_t out[SNP_REPORT_SIZE]);

/* Fills raw[] in the Milan/Genoa layout (byte 0 BL, 1 TEE, 6 SNP, 7 UCODE) or the Turin one
 * (byte 0 FMC, 1 BL, 2 TEE, 3 SNP, 7 UCODE) and the decoded fields; fmc is ignored unless
 * turin. */
void snp_tcb_set(SnpTcb *t, bool turin, uint8_t fmc, uint8_t bl, uint8_t tee, uint8_t snp, uint8_t ucode);

typedef struct SnpSimParams {
        SnpProduct product;
        bool vlek;                /* false: ASK + VCEK with hwID; true: ASVK + VLEK with cspID */
        SnpTcb tcb;               /* REPORTED_TCB: the leaf's SPL extensions */
        uint8_t chip_id[64];      /* VCEK hwID: all 64 bytes (Milan/Genoa) or bytes 0-7 (Turin) */
        const char *csp_id;       /* VLEK cspID; NULL: "CN=simulated.cvmd.invalid" */
        int64_t not_before;       /* leaf validity, Unix seconds; both 0: now - 1 day, then */
        int64_t not_after;        /*   7 years (VCEK) or 1 year (VLEK), as KDS issues them */
        int64_t ca_not_before;    /* ARK/ASK/ASVK validity; both 0: from not_before - 1 day */
        int64_t ca_not_after;     /*   to the later of not_after and 25 years after that */
        unsigned rsa_bits;        /* ARK and ASK/ASVK key size; 0: 4096 as AMD's */
} SnpSimParams;

typedef struct SnpSim {
        SnpProduct product;
        bool vlek;
        SnpTcb tcb;
        uint8_t chip_id[64];
        EVP_PKEY *ark_key, *ask_key, *leaf_key; /* ask_key: the ASVK's; both NULL when loaded */
        X509 *ark, *ask, *leaf;                 /* ask: the ASVK for a VLEK sim */
        char anchor_label[32];                  /* "simulated ARK-<P>", for snp_sim_anchor() */
} SnpSim;

/* Generates the keys and issues the chain. -EINVAL for bad params, -EIO when OpenSSL fails. */
int snp_sim_new(const SnpSimParams *p, SnpSim **ret);
SnpSim *snp_sim_free(SnpSim *s);
DEFINE_CLEANUP(SnpSim *, snp_sim_free)

/* A plausible report for this platform: VERSION 2, 3 or 5, POLICY 0x30000, VMPL 0, every TCB =
 * the sim's TCB, CPUID for the product (v3+), CHIP_ID (zero for a VLEK), REPORT_ID_MA all 0xFF,
 * firmware 1.55.x, PLATFORM_INFO 0x3 (Turin 0x65). Unsigned: sign with snp_sim_sign_report(). */
int snp_sim_report_template(const SnpSim *s, uint32_t version, SnpReport *ret);

/* Sets KEY_INFO SIGNING_KEY (VCEK 0 / VLEK 1), encodes r and signs bytes 0x000-0x29F with the
 * leaf key (ECDSA P-384, SHA-384). R and S land in r->signature_r/_s (72 bytes, little-endian,
 * zero-extended); r->raw then holds the final 1184-byte report. */
int snp_sim_sign_report(const SnpSim *s, SnpReport *r);
/* Signs raw as it is (no re-encoding, KEY_INFO untouched): writes R and S at 0x2A0/0x2E8. For
 * reports no SnpReport can express, such as non-zero reserved bytes. */
int snp_sim_sign_raw(const SnpSim *s, uint8_t raw[SNP_REPORT_SIZE]);

/* A CRL issued and signed by the sim's ARK (RSA-PSS SHA-384) revoking the given certificates'
 * serial numbers. -ENOKEY for a sim from snp_sim_load(). */
int snp_sim_make_crl(const SnpSim *s, X509 *const *revoked, size_t n_revoked, int64_t this_update,
                     int64_t next_update, X509_CRL **ret);

/* The trust anchor for this sim's ARK. The label points into s: the anchor lives as long as s. */
int snp_sim_anchor(const SnpSim *s, SnpAnchor *ret);

/* Writes ark.pem, ask.pem (VCEK) or asvk.pem (VLEK), vcek.der or vlek.der, and the leaf's
 * private key as vcek-key.pem or vlek-key.pem (mode 0600) into dir, creating it (0700). The
 * ARK and ASK/ASVK private keys are not written. */
int snp_sim_write_pem(const SnpSim *s, const char *dir);
/* What AMD KDS would serve for this platform, laid out like its URLs under dir (for
 * tests/helpers/kds-server): {vcek,vlek}/v1/<P>/cert_chain (the ASK or ASVK and the ARK, PEM),
 * .../crl (an empty CRL signed by the ARK, valid from this_update to next_update) and, for a
 * VCEK, vcek/v1/<P>/<hwid hex>.der. -ENOKEY for a sim from snp_sim_load(). */
int snp_sim_write_kds(const SnpSim *s, const char *dir, int64_t this_update, int64_t next_update);
/* The same certificates and CRL installed into a collateral cache (kds.h's layout), as
 * `cvmctl collateral fetch snp` would leave them. -ENOKEY for a sim from snp_sim_load(). */
int snp_sim_write_cache(const SnpSim *s, const char *cache_dir, int64_t this_update, int64_t next_update);
/* Loads what snp_sim_write_pem() wrote: product, kind, TCB and CHIP_ID come back from the
 * certificates. The result signs reports; it has no CA keys, so snp_sim_make_crl() refuses it
 * (-ENOKEY). -ENOENT for missing files, -EBADMSG when they are not one consistent sim chain. */
int snp_sim_load(const char *dir, SnpSim **ret);
