/* SPDX-License-Identifier: Apache-2.0 */
/* A software SEV-SNP platform: a simulated AMD certificate chain with AMD's certificate profile
 * (spec §8-§9) and ATTESTATION_REPORTs (spec §1-§4) signed by its VCEK or VLEK. */
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/snp-sim.h"
#include "cvm/snp.h"
#include "cvm/util.h"
#include "sim-internal.h"

#define AMD_OID "1.3.6.1.4.1.3704.1"

/* ---- ATTESTATION_REPORT encoding ------------------------------------------------------------ */

int snp_report_encode(const SnpReport *r, uint8_t out[SNP_REPORT_SIZE]) {
        memset(out, 0, SNP_REPORT_SIZE);

        sim_put_le32(out + 0x000, r->version);
        sim_put_le32(out + 0x004, r->guest_svn);
        sim_put_le64(out + 0x008, r->policy);
        memcpy(out + 0x010, r->family_id, 16);
        memcpy(out + 0x020, r->image_id, 16);
        sim_put_le32(out + 0x030, r->vmpl);
        sim_put_le32(out + 0x034, r->signature_algo);
        memcpy(out + 0x038, r->current_tcb.raw, 8);
        sim_put_le64(out + 0x040, r->platform_info);
        sim_put_le32(out + 0x048, r->key_info);
        /* 0x04C reserved */
        memcpy(out + 0x050, r->report_data, 64);
        memcpy(out + 0x090, r->measurement, 48);
        memcpy(out + 0x0C0, r->host_data, 32);
        memcpy(out + 0x0E0, r->id_key_digest, 48);
        memcpy(out + 0x110, r->author_key_digest, 48);
        memcpy(out + 0x140, r->report_id, 32);
        memcpy(out + 0x160, r->report_id_ma, 32);
        memcpy(out + 0x180, r->reported_tcb.raw, 8);
        if (r->version >= 3) {
                out[0x188] = r->cpuid_fam_id;
                out[0x189] = r->cpuid_mod_id;
                out[0x18A] = r->cpuid_step;
        }
        /* 0x18B-0x19F reserved (v2: 0x188-0x19F) */
        memcpy(out + 0x1A0, r->chip_id, 64);
        memcpy(out + 0x1E0, r->committed_tcb.raw, 8);
        out[0x1E8] = r->current_build;
        out[0x1E9] = r->current_minor;
        out[0x1EA] = r->current_major;
        /* 0x1EB reserved */
        out[0x1EC] = r->committed_build;
        out[0x1ED] = r->committed_minor;
        out[0x1EE] = r->committed_major;
        /* 0x1EF reserved */
        memcpy(out + 0x1F0, r->launch_tcb.raw, 8);
        if (r->version >= 5) {
                sim_put_le64(out + 0x1F8, r->launch_mit_vector);
                sim_put_le64(out + 0x200, r->current_mit_vector);
        }
        /* up to 0x29F reserved */
        memcpy(out + 0x2A0, r->signature_r, 72);
        memcpy(out + 0x2E8, r->signature_s, 72);
        /* 0x330-0x49F reserved */
        return 0;
}

void snp_tcb_set(SnpTcb *t, bool turin, uint8_t fmc, uint8_t bl, uint8_t tee, uint8_t snp, uint8_t ucode) {
        *t = (SnpTcb) {
                .turin = turin,
                .fmc = turin ? fmc : 0,
                .bl = bl,
                .tee = tee,
                .snp = snp,
                .ucode = ucode,
        };
        if (turin) {
                t->raw[0] = fmc;
                t->raw[1] = bl;
                t->raw[2] = tee;
                t->raw[3] = snp;
        } else {
                t->raw[0] = bl;
                t->raw[1] = tee;
                t->raw[6] = snp;
        }
        t->raw[7] = ucode;
}

/* ---- certificates --------------------------------------------------------------------------- */

static const char *sim_product(const SnpSim *s) {
        return snp_product_to_string(s->product);
}

/* A version 3 certificate with everything but extensions and signature, in AMD's name order
 * (spec §8) with "Simulated" in O so that a sim chain is unmistakable. issuer NULL means
 * self-issued. */
static int cert_begin(uint64_t serial, const char *cn, X509 *issuer, EVP_PKEY *key, int64_t not_before,
                      int64_t not_after, X509 **ret) {
        const SimRdn subject[] = {
                { "OU", "Engineering" }, { "C", "US" },          { "L", "Santa Clara" },
                { "ST", "CA" },          { "O", SNP_SIM_ORGANIZATION }, { "CN", cn },
        };

        return sim_cert_begin(&(SimCertSpec) { .subject = subject, .n_subject = ELEMENTSOF(subject),
                                               .issuer = issuer, .key = key, .not_before = not_before,
                                               .not_after = not_after, .serial = serial },
                              ret);
}

/* Extension values are DER (spec §9), except hwID which is the bare bytes. */
static int cert_add_int_ext(X509 *x, const char *oid, uint8_t v) {
        /* DER INTEGER, minimal: 02 01 xx below 0x80, 02 02 00 xx from 0x80 (spec §9). */
        Der d = {};

        der_uint(&d, 0x02, v);
        return sim_cert_add_der_ext(x, oid, &d);
}

static int cert_add_ia5_ext(X509 *x, const char *oid, const char *s) {
        Der d = {};
        size_t n = strlen(s);

        if (n > 127)
                return -EINVAL; /* short-form length only */
        der_tlv(&d, 0x16, s, n); /* IA5String */
        return sim_cert_add_der_ext(x, oid, &d);
}

static int md_ctx_new_pss(EVP_PKEY *key, EVP_MD_CTX **ret) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL; /* owned by md */

        if (!md)
                return openssl_fail(-ENOMEM);
        if (EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) <= 0)
                return openssl_fail(-EIO);
        *ret = TAKE_PTR(md);
        return 0;
}

/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: every AMD CA signature (spec §8). */
static int cert_sign_pss(X509 *x, EVP_PKEY *issuer_key) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
        int r;

        r = md_ctx_new_pss(issuer_key, &md);
        if (r < 0)
                return r;
        if (X509_sign_ctx(x, md) <= 0)
                return openssl_fail(-EIO);
        return 0;
}

static int crl_dp(const SnpSim *s, bool vlek, char *buf, size_t size) {
        /* AMD points at kdsintf.amd.com; a simulated chain points nowhere (RFC 2606 .invalid). */
        int n = snprintf(buf, size, "URI:https://simulated.cvmd.invalid/%s/v1/%s/crl", vlek ? "vlek" : "vcek",
                         sim_product(s));
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

static int make_ark(SnpSim *s, uint64_t serial, int64_t nb, int64_t na) {
        _cleanup_(X509_freep) X509 *x = NULL;
        char cn[32], dp[96];
        int r;

        snprintf(cn, sizeof(cn), "ARK-%s", sim_product(s));
        r = cert_begin(serial, cn, NULL, s->ark_key, nb, na, &x);
        if (r < 0)
                return r;
        /* AMD's order: KeyUsage, SKI, BasicConstraints (no pathlen), CRL DP; no AKI. */
        r = crl_dp(s, false, dp, sizeof(dp));
        if (r < 0)
                return r;
        if ((r = x509_add_conf_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign")) < 0 ||
            (r = x509_add_conf_ext(x, NULL, NID_subject_key_identifier, "hash")) < 0 ||
            (r = x509_add_conf_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE")) < 0 ||
            (r = x509_add_conf_ext(x, NULL, NID_crl_distribution_points, dp)) < 0)
                return r;
        r = cert_sign_pss(x, s->ark_key);
        if (r < 0)
                return r;
        s->ark = TAKE_PTR(x);
        return 0;
}

/* The ASK ("SEV-<P>") or, for a VLEK sim, the ASVK ("SEV-VLEK-<P>"). */
static int make_ask(SnpSim *s, uint64_t serial, int64_t nb, int64_t na) {
        _cleanup_(X509_freep) X509 *x = NULL;
        char cn[32], dp[96];
        int r;

        snprintf(cn, sizeof(cn), s->vlek ? "SEV-VLEK-%s" : "SEV-%s", sim_product(s));
        r = cert_begin(serial, cn, s->ark, s->ask_key, nb, na, &x);
        if (r < 0)
                return r;
        r = crl_dp(s, s->vlek, dp, sizeof(dp));
        if (r < 0)
                return r;
        /* AMD's order: SKI, AKI (= ARK SKI), BasicConstraints pathlen 0, KeyUsage, CRL DP. */
        if ((r = x509_add_conf_ext(x, s->ark, NID_subject_key_identifier, "hash")) < 0 ||
            (r = x509_add_conf_ext(x, s->ark, NID_authority_key_identifier, "keyid:always")) < 0 ||
            (r = x509_add_conf_ext(x, s->ark, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) < 0 ||
            (r = x509_add_conf_ext(x, s->ark, NID_key_usage, "critical,keyCertSign")) < 0 ||
            (r = x509_add_conf_ext(x, s->ark, NID_crl_distribution_points, dp)) < 0)
                return r;
        r = cert_sign_pss(x, s->ark_key);
        if (r < 0)
                return r;
        s->ask = TAKE_PTR(x);
        return 0;
}

static const char *leaf_product_name(const SnpSim *s) {
        switch (s->product) {
        case SNP_PRODUCT_MILAN:
                /* Every real Milan VCEK says "Milan-B0"; the Milan VLEK says "Milan" (spec §9). */
                return s->vlek ? "Milan" : "Milan-B0";
        case SNP_PRODUCT_GENOA:
                return "Genoa";
        case SNP_PRODUCT_TURIN:
                return "Turin";
        default:
                return NULL;
        }
}

static int make_leaf(SnpSim *s, const char *csp_id, int64_t nb, int64_t na) {
        _cleanup_(X509_freep) X509 *x = NULL;
        bool turin = s->product == SNP_PRODUCT_TURIN;
        int r;

        /* Serial 0 and no AKI, SKI, BasicConstraints or KeyUsage, as every real leaf. */
        r = cert_begin(0, s->vlek ? "SEV-VLEK" : "SEV-VCEK", s->ask, s->leaf_key, nb, na, &x);
        if (r < 0)
                return r;

        /* Extension order as in real leaves: Milan/Genoa 1.1 1.2 3.1 3.2 3.4-3.7 3.3 3.8;
         * Turin 1.1 1.2 3.9 3.1 3.2 3.3 3.5-3.7 3.8 (no spl_4); then hwID or cspID. */
        if ((r = cert_add_int_ext(x, AMD_OID ".1", turin ? 1 : 0)) < 0 ||
            (r = cert_add_ia5_ext(x, AMD_OID ".2", leaf_product_name(s))) < 0)
                return r;
        if (turin) {
                if ((r = cert_add_int_ext(x, AMD_OID ".3.9", s->tcb.fmc)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.1", s->tcb.bl)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.2", s->tcb.tee)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.3", s->tcb.snp)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.5", 0)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.6", 0)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.7", 0)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.8", s->tcb.ucode)) < 0)
                        return r;
        } else {
                if ((r = cert_add_int_ext(x, AMD_OID ".3.1", s->tcb.bl)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.2", s->tcb.tee)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.4", 0)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.5", 0)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.6", 0)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.7", 0)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.3", s->tcb.snp)) < 0 ||
                    (r = cert_add_int_ext(x, AMD_OID ".3.8", s->tcb.ucode)) < 0)
                        return r;
        }
        if (s->vlek)
                r = cert_add_ia5_ext(x, AMD_OID ".5", csp_id);
        else
                /* hwID: bare bytes, no OCTET STRING header; Turin names the chip by 8 bytes. */
                r = sim_cert_add_raw_ext(x, AMD_OID ".4", s->chip_id, turin ? 8 : 64);
        if (r < 0)
                return r;

        r = cert_sign_pss(x, s->ask_key);
        if (r < 0)
                return r;
        s->leaf = TAKE_PTR(x);
        return 0;
}

SnpSim *snp_sim_free(SnpSim *s) {
        if (!s)
                return NULL;
        X509_free(s->leaf);
        X509_free(s->ask);
        X509_free(s->ark);
        EVP_PKEY_free(s->leaf_key);
        EVP_PKEY_free(s->ask_key);
        EVP_PKEY_free(s->ark_key);
        free(s);
        return NULL;
}

int snp_sim_new(const SnpSimParams *p, SnpSim **ret) {
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        const char *csp_id = p->csp_id ?: "CN=simulated.cvmd.invalid";
        unsigned bits = p->rsa_bits ?: 4096;
        int64_t nb = p->not_before, na = p->not_after, ca_nb = p->ca_not_before, ca_na = p->ca_not_after;
        uint64_t serial_base;
        bool turin;
        int r;

        if (p->product < 0 || p->product >= _SNP_PRODUCT_MAX)
                return -EINVAL;
        if (bits < 2048 || bits > 16384)
                return -EINVAL;
        if (p->vlek && strlen(csp_id) > 127)
                return -EINVAL;
        if (nb == 0 && na == 0) {
                nb = (int64_t) time(NULL) - DAY_SEC; /* KDS backdates by about a day */
                na = nb + (p->vlek ? 1 : 7) * YEAR_SEC;
        }
        if (ca_nb == 0 && ca_na == 0) {
                ca_nb = nb - DAY_SEC;
                ca_na = ca_nb + 25 * YEAR_SEC;
                if (ca_na < na)
                        ca_na = na;
        }
        if (nb < 0 || na <= nb || ca_nb < 0 || ca_na <= ca_nb)
                return -EINVAL;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->product = p->product;
        s->vlek = p->vlek;
        turin = p->product == SNP_PRODUCT_TURIN;
        /* The decoded components count; raw is rebuilt in the product's layout. */
        snp_tcb_set(&s->tcb, turin, p->tcb.fmc, p->tcb.bl, p->tcb.tee, p->tcb.snp, p->tcb.ucode);
        if (!p->vlek) {
                memcpy(s->chip_id, p->chip_id, turin ? 8 : 64);
                if (memeqzero(s->chip_id, sizeof(s->chip_id)) &&
                    RAND_bytes(s->chip_id, turin ? 8 : 64) != 1)
                        return openssl_fail(-EIO);
        }
        snprintf(s->anchor_label, sizeof(s->anchor_label), "simulated ARK-%s", sim_product(s));

        s->ark_key = EVP_RSA_gen(bits);
        s->ask_key = EVP_RSA_gen(bits);
        s->leaf_key = EVP_EC_gen("P-384");
        if (!s->ark_key || !s->ask_key || !s->leaf_key)
                return openssl_fail(-EIO);

        /* AMD's serial scheme: 0x<product>0000 ARK, +1 ASK, +0x101 ASVK. */
        serial_base = (uint64_t) (p->product + 1) << 16;
        r = make_ark(s, serial_base, ca_nb, ca_na);
        if (r < 0)
                return r;
        r = make_ask(s, serial_base + (p->vlek ? 0x101 : 0x1), ca_nb, ca_na);
        if (r < 0)
                return r;
        r = make_leaf(s, csp_id, nb, na);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- reports -------------------------------------------------------------------------------- */

static void fill_digest(const char *label, const SnpSim *s, uint8_t *out, size_t n) {
        /* Deterministic, plausible-looking bytes: SHA-512("cvmd-sim <label> <product>"). */
        char in[96];

        snprintf(in, sizeof(in), "cvmd-sim %s %s", label, sim_product(s));
        sim_fill_digest(EVP_sha512(), in, out, n);
}

int snp_sim_report_template(const SnpSim *s, uint32_t version, SnpReport *ret) {
        _cleanup_free_ SnpReport *r = NULL;

        if (version < 2 || version > 5)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;

        r->version = version;
        r->guest_svn = 0;
        r->policy = SNP_POLICY_SMT | SNP_POLICY_RESERVED_1; /* 0x30000 */
        r->vmpl = 0;
        r->signature_algo = 1;
        r->current_tcb = r->reported_tcb = r->committed_tcb = r->launch_tcb = s->tcb;
        /* SMT_EN | TSME_EN; real Turin parts report 0x65 (bit 6 set, spec §6). */
        r->platform_info = s->product == SNP_PRODUCT_TURIN ? 0x65 : 0x3;
        r->key_info = (uint32_t) (s->vlek ? SNP_SIGNING_KEY_VLEK : SNP_SIGNING_KEY_VCEK) << 2;
        fill_digest("measurement", s, r->measurement, sizeof(r->measurement));
        fill_digest("report-id", s, r->report_id, sizeof(r->report_id));
        memset(r->report_id_ma, 0xFF, sizeof(r->report_id_ma));
        if (version >= 3) {
                static const uint8_t cpuid[_SNP_PRODUCT_MAX][2] = {
                        [SNP_PRODUCT_MILAN] = { 0x19, 0x01 },
                        [SNP_PRODUCT_GENOA] = { 0x19, 0x11 },
                        [SNP_PRODUCT_TURIN] = { 0x1A, 0x02 },
                };
                r->has_cpuid = true;
                r->cpuid_fam_id = cpuid[s->product][0];
                r->cpuid_mod_id = cpuid[s->product][1];
                r->cpuid_step = 1;
        }
        if (!s->vlek) /* VLEK reports carry a zero CHIP_ID (spec §7) */
                memcpy(r->chip_id, s->chip_id, sizeof(r->chip_id));
        r->current_major = r->committed_major = 1;
        r->current_minor = r->committed_minor = 55;
        r->current_build = r->committed_build = 40;
        r->has_mit_vectors = version >= 5;

        (void) snp_report_encode(r, r->raw);
        *ret = *r;
        return 0;
}

int snp_sim_sign_raw(const SnpSim *s, uint8_t raw[SNP_REPORT_SIZE]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = NULL;
        _cleanup_free_ uint8_t *der = NULL;
        const unsigned char *p;
        const BIGNUM *br, *bs;
        uint8_t le_r[72], le_s[72];
        size_t n;
        int size;

        if (!md)
                return openssl_fail(-ENOMEM);
        size = EVP_PKEY_get_size(s->leaf_key);
        if (size <= 0)
                return openssl_fail(-EIO);
        n = (size_t) size;
        der = malloc(n);
        if (!der)
                return -ENOMEM;
        if (EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, s->leaf_key) <= 0 ||
            EVP_DigestSign(md, der, &n, raw, SNP_SIGNED_SIZE) <= 0)
                return openssl_fail(-EIO);
        p = der;
        sig = d2i_ECDSA_SIG(NULL, &p, (long) n);
        if (!sig)
                return openssl_fail(-EIO);
        ECDSA_SIG_get0(sig, &br, &bs);
        /* 72-byte little-endian, zero-extended (spec §4). */
        if (BN_bn2lebinpad(br, le_r, sizeof(le_r)) != (int) sizeof(le_r) ||
            BN_bn2lebinpad(bs, le_s, sizeof(le_s)) != (int) sizeof(le_s))
                return openssl_fail(-EIO);
        memcpy(raw + 0x2A0, le_r, sizeof(le_r));
        memcpy(raw + 0x2E8, le_s, sizeof(le_s));
        return 0;
}

int snp_sim_sign_report(const SnpSim *s, SnpReport *r) {
        _cleanup_free_ SnpReport *t = malloc(sizeof(*t));
        SnpSigningKey key = s->vlek ? SNP_SIGNING_KEY_VLEK : SNP_SIGNING_KEY_VCEK;
        int k;

        if (!t)
                return -ENOMEM;
        *t = *r;
        t->key_info = (t->key_info & ~(UINT32_C(7) << 2)) | ((uint32_t) key << 2);
        memset(t->signature_r, 0, sizeof(t->signature_r));
        memset(t->signature_s, 0, sizeof(t->signature_s));
        (void) snp_report_encode(t, t->raw);
        k = snp_sim_sign_raw(s, t->raw);
        if (k < 0)
                return k;
        memcpy(t->signature_r, t->raw + 0x2A0, sizeof(t->signature_r));
        memcpy(t->signature_s, t->raw + 0x2E8, sizeof(t->signature_s));
        *r = *t;
        return 0;
}

/* ---- CRL, anchor, files --------------------------------------------------------------------- */

int snp_sim_make_crl(const SnpSim *s, X509 *const *revoked, size_t n_revoked, int64_t this_update,
                     int64_t next_update, X509_CRL **ret) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
        int r;

        if (!s->ark_key)
                return -ENOKEY; /* loaded from files: the CA keys are never written */
        if (next_update <= this_update)
                return -EINVAL;
        r = sim_crl_begin(s->ark, revoked, n_revoked, this_update, next_update, &crl);
        if (r < 0)
                return r;
        r = md_ctx_new_pss(s->ark_key, &md);
        if (r < 0)
                return r;
        if (X509_CRL_sign_ctx(crl, md) <= 0)
                return openssl_fail(-EIO);
        *ret = TAKE_PTR(crl);
        return 0;
}

int snp_sim_anchor(const SnpSim *s, SnpAnchor *ret) {
        uint8_t digest[32];
        int r;

        r = x509_spki_sha256(s->ark, digest);
        if (r < 0)
                return r;
        *ret = (SnpAnchor) { .product = s->product, .label = s->anchor_label };
        memcpy(ret->spki_sha256, digest, sizeof(digest));
        return 0;
}

int snp_sim_write_pem(const SnpSim *s, const char *dir) {
        int r;

        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        if ((r = sim_write_object(dir, "ark.pem", SIM_PEM_CERT, s->ark, NULL)) < 0 ||
            (r = sim_write_object(dir, s->vlek ? "asvk.pem" : "ask.pem", SIM_PEM_CERT, s->ask, NULL)) < 0 ||
            (r = sim_write_object(dir, s->vlek ? "vlek.der" : "vcek.der", SIM_DER_CERT, s->leaf, NULL)) < 0 ||
            (r = sim_write_object(dir, s->vlek ? "vlek-key.pem" : "vcek-key.pem", SIM_PEM_KEY, NULL, s->leaf_key)) < 0)
                return r;
        return 0;
}

int snp_sim_load(const char *dir, SnpSim **ret) {
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        SnpProduct ask_product = _SNP_PRODUCT_INVALID;
        SnpLeafInfo li;
        bool turin;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = sim_read_cert(dir, "vlek.der", &s->leaf);
        if (r == -ENOENT)
                r = sim_read_cert(dir, "vcek.der", &s->leaf);
        else
                s->vlek = true;
        if (r < 0)
                return r;
        r = sim_read_cert(dir, "ark.pem", &s->ark);
        if (r < 0)
                return r;
        r = sim_read_cert(dir, s->vlek ? "asvk.pem" : "ask.pem", &s->ask);
        if (r < 0)
                return r;

        /* The files must form one simulated chain of the expected shape. */
        if (snp_cert_identify(s->ark, &s->product) != SNP_ROLE_ARK ||
            snp_cert_identify(s->ask, &ask_product) != (s->vlek ? SNP_ROLE_ASVK : SNP_ROLE_ASK) ||
            snp_cert_identify(s->leaf, NULL) != (s->vlek ? SNP_ROLE_VLEK : SNP_ROLE_VCEK) ||
            ask_product != s->product)
                return -EBADMSG;
        if (x509_signed_by(s->ask, X509_get0_pubkey(s->ark)) != 1 ||
            x509_signed_by(s->leaf, X509_get0_pubkey(s->ask)) != 1)
                return -EBADMSG;
        r = snp_leaf_info_parse(s->leaf, &li, NULL);
        if (r < 0)
                return r;
        turin = s->product == SNP_PRODUCT_TURIN;
        if ((turin && li.fmc_spl < 0) || li.hwid_size != (s->vlek ? 0 : turin ? 8 : 64))
                return -EBADMSG;
        snp_tcb_set(&s->tcb, turin, (uint8_t) (turin ? li.fmc_spl : 0), (uint8_t) li.bl_spl, (uint8_t) li.tee_spl,
                    (uint8_t) li.snp_spl, (uint8_t) li.ucode_spl);
        memcpy(s->chip_id, li.hwid, li.hwid_size);
        snprintf(s->anchor_label, sizeof(s->anchor_label), "simulated ARK-%s", sim_product(s));

        r = sim_read_key(dir, s->vlek ? "vlek-key.pem" : "vcek-key.pem", NID_secp384r1, &s->leaf_key);
        if (r < 0)
                return r;
        if (EVP_PKEY_eq(s->leaf_key, X509_get0_pubkey(s->leaf)) != 1)
                return openssl_fail(-EBADMSG);

        *ret = TAKE_PTR(s);
        return 0;
}
