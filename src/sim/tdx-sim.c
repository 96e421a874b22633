/* SPDX-License-Identifier: Apache-2.0 */
/* A software Intel TDX platform: a simulated Intel PCK chain with Intel's certificate profile
 * and SGX extension (shared/specs/tdx.md §4, §5), matching collateral (§6) and quote v4/v5
 * (§1, §2) signed the way a real quoting enclave signs them (§1.5). */
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/tdx-sim.h"
#include "cvm/util.h"
#include "sim-internal.h"

#define TCB_EVALUATION_DATA_NUMBER 17u
#define QE_AUTH_SIZE 32u

/* Intel's quoting enclave vendor ID (spec §1.1): the verifier requires it. */
static const uint8_t intel_qe_vendor_id[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };
/* DER of OID 1.2.840.113741.1.13.1 without tag and length. */
static const uint8_t sgx_oid[9] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };

/* Deterministic, plausible-looking bytes: SHA-384("cvmd-sim <label>"), truncated. */
static void fill_digest(const char *label, uint8_t *out, size_t n) {
        char in[64];

        snprintf(in, sizeof(in), "cvmd-sim %s", label);
        sim_fill_digest(EVP_sha384(), in, out, n);
}

/* ---- the SGX extension ---- */

/* SEQUENCE { OID 1.2.840.113741.1.13.1.<arcs>, <value TLV> } */
static void der_sgx_entry(Der *d, const uint8_t *arcs, size_t n_arcs, const Der *value) {
        Der e = {}, oid = {};

        der_put(&oid, sgx_oid, sizeof(sgx_oid));
        der_put(&oid, arcs, n_arcs);
        der_wrap(&e, 0x06, &oid);
        der_append(&e, value);
        der_wrap(d, 0x30, &e);
}

static void der_sgx_octets(Der *d, const uint8_t *arcs, size_t n_arcs, const uint8_t *v, size_t n) {
        Der val = {};

        der_tlv(&val, 0x04, v, n);
        der_sgx_entry(d, arcs, n_arcs, &val);
}

static void der_sgx_uint(Der *d, const uint8_t *arcs, size_t n_arcs, uint8_t tag, uint32_t v) {
        Der val = {};

        der_uint(&val, tag, v);
        der_sgx_entry(d, arcs, n_arcs, &val);
}

static void der_sgx_bool(Der *d, const uint8_t *arcs, size_t n_arcs, bool v) {
        Der val = {};
        uint8_t b = v ? 0xff : 0x00;

        der_tlv(&val, 0x01, &b, 1);
        der_sgx_entry(d, arcs, n_arcs, &val);
}

/* The SGX extension value of a Platform-CA-issued PCK certificate (spec §4): PPID, TCB (16
 * component SVNs, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type, platform instance ID, configuration. */
static int sgx_extension(const TdxPckInfo *pi, const uint8_t instance_id[16], Der *ret) {
        Der tcb = {}, tcb_seq = {}, cfg = {}, cfg_seq = {}, out = {};

        for (uint8_t i = 1; i <= 16; i++)
                der_sgx_uint(&tcb, (const uint8_t[]) { 0x02, i }, 2, 0x02, pi->sgx_tcb_comp_svn[i - 1]);
        der_sgx_uint(&tcb, (const uint8_t[]) { 0x02, 17 }, 2, 0x02, pi->pcesvn);
        der_sgx_octets(&tcb, (const uint8_t[]) { 0x02, 18 }, 2, pi->cpu_svn, 16);
        der_wrap(&tcb_seq, 0x30, &tcb);

        der_sgx_bool(&cfg, (const uint8_t[]) { 0x07, 1 }, 2, false); /* dynamicPlatform */
        der_sgx_bool(&cfg, (const uint8_t[]) { 0x07, 2 }, 2, true);  /* cachedKeys */
        der_sgx_bool(&cfg, (const uint8_t[]) { 0x07, 3 }, 2, true);  /* SMTEnabled */
        der_wrap(&cfg_seq, 0x30, &cfg);

        *ret = (Der) {};
        der_sgx_octets(&out, (const uint8_t[]) { 1 }, 1, pi->ppid, 16);
        der_sgx_entry(&out, (const uint8_t[]) { 2 }, 1, &tcb_seq);
        der_sgx_octets(&out, (const uint8_t[]) { 3 }, 1, pi->pceid, 2);
        der_sgx_octets(&out, (const uint8_t[]) { 4 }, 1, pi->fmspc, 6);
        der_sgx_uint(&out, (const uint8_t[]) { 5 }, 1, 0x0a, (uint32_t) pi->sgx_type);
        der_sgx_octets(&out, (const uint8_t[]) { 6 }, 1, instance_id, 16);
        der_sgx_entry(&out, (const uint8_t[]) { 7 }, 1, &cfg_seq);
        der_wrap(ret, 0x30, &out);
        if (ret->overflow)
                return -ENOBUFS;
        return 0;
}

/* ---- certificates ---- */

/* Intel's name order (CN, O, L, ST, C) with the simulated organization, and a random positive
 * 20-byte serial, as Intel's. */
static int cert_begin(const char *cn, X509 *issuer, EVP_PKEY *key, int64_t nb, int64_t na, X509 **ret) {
        const SimRdn subject[] = {
                { "CN", cn }, { "O", TDX_SIM_ORGANIZATION }, { "L", "Santa Clara" }, { "ST", "CA" }, { "C", "US" },
        };

        return sim_cert_begin(&(SimCertSpec) { .subject = subject, .n_subject = ELEMENTSOF(subject),
                                               .issuer = issuer, .key = key, .not_before = nb, .not_after = na,
                                               .serial_bits = 159 },
                              ret);
}

/* Intel's extension set, in Intel's order: AKI, CRL DP, SKI, KeyUsage, BasicConstraints. */
static int cert_profile(X509 *x, X509 *issuer, const char *crl_dp, const char *key_usage, const char *bc) {
        int r;

        if (issuer && (r = x509_add_conf_ext(x, issuer, NID_authority_key_identifier, "keyid:always")) < 0)
                return r;
        if ((r = x509_add_conf_ext(x, issuer, NID_crl_distribution_points, crl_dp)) < 0 ||
            (r = x509_add_conf_ext(x, issuer, NID_subject_key_identifier, "hash")) < 0 ||
            (r = x509_add_conf_ext(x, issuer, NID_key_usage, key_usage)) < 0 ||
            (r = x509_add_conf_ext(x, issuer, NID_basic_constraints, bc)) < 0)
                return r;
        return 0;
}

static int cert_finish(X509 *x, EVP_PKEY *issuer_key) {
        if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
                return openssl_fail(-EIO);
        return 0;
}

#define SIM_CRL_BASE "URI:https://simulated.cvmd.invalid/sgx/certification/v4/"

static int make_chain(TdxSim *s, const uint8_t instance_id[16], int64_t nb, int64_t leaf_na, int64_t ca_na) {
        _cleanup_(X509_freep) X509 *root = NULL, *ca = NULL, *leaf = NULL, *tcb = NULL;
        Der der;
        int r;

        /* Intel SGX Root CA: self-signed, pathlen 1; its CRL DP is its own CRL. */
        if ((r = cert_begin("Intel SGX Root CA", NULL, s->root_key, nb, ca_na, &root)) < 0 ||
            (r = cert_profile(root, NULL, SIM_CRL_BASE "rootcacrl", "critical,keyCertSign,cRLSign",
                              "critical,CA:TRUE,pathlen:1")) < 0 ||
            (r = cert_finish(root, s->root_key)) < 0)
                return r;
        /* Intel SGX PCK Platform CA, pathlen 0. */
        if ((r = cert_begin("Intel SGX PCK Platform CA", root, s->pck_ca_key, nb, ca_na, &ca)) < 0 ||
            (r = cert_profile(ca, root, SIM_CRL_BASE "rootcacrl", "critical,keyCertSign,cRLSign",
                              "critical,CA:TRUE,pathlen:0")) < 0 ||
            (r = cert_finish(ca, s->root_key)) < 0)
                return r;
        /* Intel SGX TCB Signing, issued by the root. */
        if ((r = cert_begin("Intel SGX TCB Signing", root, s->tcb_key, nb, ca_na, &tcb)) < 0 ||
            (r = cert_profile(tcb, root, SIM_CRL_BASE "rootcacrl", "critical,digitalSignature,nonRepudiation",
                              "critical,CA:FALSE")) < 0 ||
            (r = cert_finish(tcb, s->root_key)) < 0)
                return r;
        /* Intel SGX PCK Certificate with the SGX extension (non-critical), issued by the CA. */
        r = sgx_extension(&s->pck_info, instance_id, &der);
        if (r < 0)
                return r;
        if ((r = cert_begin("Intel SGX PCK Certificate", ca, s->pck_key, nb, leaf_na, &leaf)) < 0 ||
            (r = cert_profile(leaf, ca, SIM_CRL_BASE "pckcrl?ca=platform&encoding=der",
                              "critical,digitalSignature,nonRepudiation", "critical,CA:FALSE")) < 0)
                return r;
        if ((r = sim_cert_add_der_ext(leaf, "1.2.840.113741.1.13.1", &der)) < 0 ||
            (r = cert_finish(leaf, s->pck_ca_key)) < 0)
                return r;

        s->root = TAKE_PTR(root);
        s->pck_ca = TAKE_PTR(ca);
        s->tcb_signing = TAKE_PTR(tcb);
        s->pck = TAKE_PTR(leaf);
        return 0;
}

TdxSim *tdx_sim_free(TdxSim *s) {
        if (!s)
                return NULL;
        EVP_PKEY_free(s->root_key);
        EVP_PKEY_free(s->pck_ca_key);
        EVP_PKEY_free(s->tcb_key);
        EVP_PKEY_free(s->pck_key);
        EVP_PKEY_free(s->att_key);
        X509_free(s->root);
        X509_free(s->pck_ca);
        X509_free(s->pck);
        X509_free(s->tcb_signing);
        free(s);
        return NULL;
}

static void set_label(TdxSim *s) {
        snprintf(s->anchor_label, sizeof(s->anchor_label), "simulated Intel SGX Root CA");
}

int tdx_sim_new(const TdxSimParams *p, TdxSim **ret) {
        static const uint8_t default_fmspc[6] = { 0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00 };
        static const uint8_t default_sgx_tcb[16] = { 2, 2, 2, 2, 3, 1, 0, 3 };
        static const uint8_t default_tee_tcb_svn[16] = { 5, 1, 2 };
        _cleanup_(tdx_sim_freep) TdxSim *s = NULL;
        uint8_t instance_id[16];
        int64_t nb = p->not_before, na = p->not_after, ca_na;
        int r;

        if (nb == 0 && na == 0) {
                nb = (int64_t) time(NULL) - DAY_SEC;
                na = nb + 7 * YEAR_SEC;
        }
        if (nb < 0 || na <= nb)
                return -EINVAL;
        ca_na = nb + 25 * YEAR_SEC > na ? nb + 25 * YEAR_SEC : na;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->pck_info = (TdxPckInfo) { .pcesvn = p->pcesvn ? p->pcesvn : 13, .sgx_type = 1, .ca = TDX_PCK_CA_PLATFORM };
        memcpy(s->pck_info.fmspc, memeqzero(p->fmspc, 6) ? default_fmspc : p->fmspc, 6);
        memcpy(s->pck_info.sgx_tcb_comp_svn, memeqzero(p->sgx_tcb, 16) ? default_sgx_tcb : p->sgx_tcb, 16);
        memcpy(s->pck_info.cpu_svn, s->pck_info.sgx_tcb_comp_svn, 16); /* as in every real PCK (spec §4) */
        memcpy(s->tee_tcb_svn, memeqzero(p->tee_tcb_svn, 16) ? default_tee_tcb_svn : p->tee_tcb_svn, 16);
        s->qe_isv_svn = p->qe_isv_svn ? p->qe_isv_svn : 4;
        fill_digest("TD_QE signer", s->qe_mrsigner, sizeof(s->qe_mrsigner));
        if (RAND_bytes(s->pck_info.ppid, 16) != 1 || RAND_bytes(instance_id, 16) != 1)
                return openssl_fail(-EIO);
        set_label(s);

        s->root_key = EVP_EC_gen("P-256");
        s->pck_ca_key = EVP_EC_gen("P-256");
        s->tcb_key = EVP_EC_gen("P-256");
        s->pck_key = EVP_EC_gen("P-256");
        s->att_key = EVP_EC_gen("P-256");
        if (!s->root_key || !s->pck_ca_key || !s->tcb_key || !s->pck_key || !s->att_key)
                return openssl_fail(-EIO);
        r = make_chain(s, instance_id, nb, na, ca_na);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int tdx_sim_anchor(const TdxSim *s, TdxAnchor *ret) {
        uint8_t digest[32];
        int r;

        r = x509_spki_sha256(s->root, digest);
        if (r < 0)
                return r;
        *ret = (TdxAnchor) { .label = s->anchor_label };
        memcpy(ret->spki_sha256, digest, 32);
        return 0;
}

/* ---- quotes ---- */

int tdx_sim_quote_template(const TdxSim *s, uint16_t version, TdxQuote *ret) {
        _cleanup_free_ TdxQuote *q = NULL;

        if (version != 4 && version != 5)
                return -EINVAL;
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->version = version;
        q->att_key_type = TDX_ATT_KEY_TYPE_ECDSA_P256;
        q->tee_type = TDX_TEE_TYPE;
        memcpy(q->qe_vendor_id, intel_qe_vendor_id, 16);
        fill_digest("user data", q->user_data, 16);
        q->body_type = version == 5 ? 3 : 2;
        memcpy(q->tee_tcb_svn, s->tee_tcb_svn, 16);
        fill_digest("mrseam", q->mrseam, 48);
        memcpy(q->mrsignerseam, s->mrsignerseam, 48);
        q->td_attributes[3] = 0x10; /* SEPT_VE_DISABLE (bit 28) */
        q->xfam[0] = 0xe7;          /* x87, SSE, AVX, AVX-512 state, PKRU, AMX: 0x602e7 */
        q->xfam[1] = 0x02;
        q->xfam[2] = 0x06;
        fill_digest("mrtd", q->mrtd, 48);
        for (size_t i = 0; i < 4; i++) {
                char label[16];
                snprintf(label, sizeof(label), "rtmr%zu", i);
                fill_digest(label, q->rtmr[i], 48);
        }
        if (version == 5)
                memcpy(q->tee_tcb_svn2, s->tee_tcb_svn, 16);
        *ret = *q;
        return 0;
}

/* The uncompressed point x ‖ y of a P-256 key. */
static int ec_point_xy(EVP_PKEY *key, uint8_t ret[64]) {
        uint8_t pt[65];
        size_t n = 0;

        if (!pkey_is_ec_curve(key, NID_X9_62_prime256v1))
                return -EINVAL;
        if (EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", pt, sizeof(pt), &n) != 1 || n != 65 ||
            pt[0] != 0x04)
                return openssl_fail(-EIO);
        memcpy(ret, pt + 1, 64);
        return 0;
}

/* The SGX report body of the QE (spec §1.4). */
static void encode_qe_report(const TdxSim *s, const uint8_t report_data[64], uint8_t out[TDX_SGX_REPORT_SIZE]) {
        static const uint8_t attributes[16] = { 0x15, 0, 0, 0, 0, 0, 0, 0, 0xe7 };

        memset(out, 0, TDX_SGX_REPORT_SIZE);
        memcpy(out + 0, s->pck_info.cpu_svn, 16);
        sim_put_le32(out + 16, 0); /* MISCSELECT */
        memcpy(out + 48, attributes, 16);
        fill_digest("TD_QE enclave", out + 64, 32);
        memcpy(out + 128, s->qe_mrsigner, 32);
        sim_put_le16(out + 256, 2); /* ISVPRODID: the TD QE */
        sim_put_le16(out + 258, s->qe_isv_svn);
        memcpy(out + 320, report_data, 64);
}

static void encode_td_body(const TdxQuote *q, uint8_t *p) {
        memcpy(p + 0, q->tee_tcb_svn, 16);
        memcpy(p + 16, q->mrseam, 48);
        memcpy(p + 64, q->mrsignerseam, 48);
        memcpy(p + 112, q->seam_attributes, 8);
        memcpy(p + 120, q->td_attributes, 8);
        memcpy(p + 128, q->xfam, 8);
        memcpy(p + 136, q->mrtd, 48);
        memcpy(p + 184, q->mrconfigid, 48);
        memcpy(p + 232, q->mrowner, 48);
        memcpy(p + 280, q->mrownerconfig, 48);
        for (size_t i = 0; i < 4; i++)
                memcpy(p + 328 + 48 * i, q->rtmr[i], 48);
        memcpy(p + 520, q->report_data, 64);
        if (q->body_type == 3) {
                memcpy(p + 584, q->tee_tcb_svn2, 16);
                memcpy(p + 600, q->mrservicetd, 48);
        }
}

int tdx_sim_quote_sign(const TdxSim *s, const TdxQuote *q, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *out = NULL, *chain_text = NULL;
        uint8_t att_xy[64], qe_report[TDX_SGX_REPORT_SIZE], qe_rd[64] = {}, auth[QE_AUTH_SIZE], hashed[64 + QE_AUTH_SIZE];
        size_t body_size, head, chain_size, cert6_size, sig_size, total, o;
        int r;

        if ((q->version != 4 && q->version != 5) || (q->version == 4 && q->body_type != 2) ||
            (q->body_type != 2 && q->body_type != 3))
                return -EINVAL;
        body_size = q->body_type == 3 ? TDX_TD15_BODY_SIZE : TDX_TD10_BODY_SIZE;
        head = TDX_QUOTE_HEADER_SIZE + (q->version == 5 ? 6 : 0);

        r = ec_point_xy(s->att_key, att_xy);
        if (r < 0)
                return r;
        /* QE auth data 00 01 .. 1f as in real quotes; the QE report binds the attestation key. */
        for (size_t i = 0; i < QE_AUTH_SIZE; i++)
                auth[i] = (uint8_t) i;
        memcpy(hashed, att_xy, 64);
        memcpy(hashed + 64, auth, QE_AUTH_SIZE);
        SHA256(hashed, sizeof(hashed), qe_rd);
        encode_qe_report(s, qe_rd, qe_report);

        r = sim_pem_chain((X509 *const[]) { s->pck, s->pck_ca, s->root }, 3, &chain_text, &chain_size);
        if (r < 0)
                return r;
        chain_size++; /* the terminating NUL real quotes count */

        cert6_size = TDX_SGX_REPORT_SIZE + 64 + 2 + QE_AUTH_SIZE + 2 + 4 + chain_size;
        sig_size = 64 + 64 + 2 + 4 + cert6_size;
        total = head + body_size + 4 + sig_size;
        out = calloc(1, total);
        if (!out)
                return -ENOMEM;

        sim_put_le16(out + 0, q->version);
        sim_put_le16(out + 2, TDX_ATT_KEY_TYPE_ECDSA_P256);
        sim_put_le32(out + 4, TDX_TEE_TYPE);
        memcpy(out + 12, q->qe_vendor_id, 16);
        memcpy(out + 28, q->user_data, 20);
        if (q->version == 5) {
                sim_put_le16(out + 48, q->body_type);
                sim_put_le32(out + 50, (uint32_t) body_size);
        }
        encode_td_body(q, out + head);
        o = head + body_size;
        sim_put_le32(out + o, (uint32_t) sig_size);
        o += 4;
        r = ecdsa_sign_raw(s->att_key, EVP_sha256(), out, head + body_size, out + o, 32);
        if (r < 0)
                return r;
        memcpy(out + o + 64, att_xy, 64);
        o += 128;
        sim_put_le16(out + o, TDX_CERT_DATA_QE_REPORT);
        sim_put_le32(out + o + 2, (uint32_t) cert6_size);
        o += 6;
        memcpy(out + o, qe_report, TDX_SGX_REPORT_SIZE);
        r = ecdsa_sign_raw(s->pck_key, EVP_sha256(), qe_report, TDX_SGX_REPORT_SIZE, out + o + TDX_SGX_REPORT_SIZE, 32);
        if (r < 0)
                return r;
        o += TDX_SGX_REPORT_SIZE + 64;
        sim_put_le16(out + o, QE_AUTH_SIZE);
        memcpy(out + o + 2, auth, QE_AUTH_SIZE);
        o += 2 + QE_AUTH_SIZE;
        sim_put_le16(out + o, TDX_CERT_DATA_PCK_CHAIN);
        sim_put_le32(out + o + 2, (uint32_t) chain_size);
        o += 6;
        memcpy(out + o, chain_text, chain_size);
        o += chain_size;
        if (o != total)
                return -EIO;

        *ret = TAKE_PTR(out);
        *ret_size = total;
        return 0;
}

/* ---- collateral ---- */

void tdx_sim_collateral_done(TdxSimCollateral *c) {
        if (!c)
                return;
        for (size_t i = 0; i < _TDX_FILE_MAX; i++)
                free(c->data[i]);
        *c = (TdxSimCollateral) {};
}

static int add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_hex(json_object *o, const char *key, const void *p, size_t n) {
        _cleanup_free_ char *h = hex_encode(p, n);

        return h ? add(o, key, json_object_new_string(h)) : -ENOMEM;
}

static int add_date(json_object *o, const char *key, int64_t t) {
        char buf[32];

        return add(o, key, json_object_new_string(format_rfc3339(t, buf, sizeof(buf))));
}

/* [{"tcb": {"isvsvn": N}, "tcbDate": ..., "tcbStatus": "UpToDate"}] */
static json_object *isv_levels(uint16_t isvsvn, int64_t date) {
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array(), *l = json_object_new_object(),
                                                *tcb = json_object_new_object();

        if (!arr || !l || !tcb || add(tcb, "isvsvn", json_object_new_int(isvsvn)) < 0 ||
            add(l, "tcb", TAKE_PTR(tcb)) < 0 || add_date(l, "tcbDate", date) < 0 ||
            add(l, "tcbStatus", json_object_new_string("UpToDate")) < 0 || json_object_array_add(arr, l) < 0)
                return NULL;
        l = NULL;
        return TAKE_PTR(arr);
}

static json_object *components(const uint8_t svn[16]) {
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array();

        for (size_t i = 0; arr && i < 16; i++) {
                json_object *c = json_object_new_object();
                if (!c || add(c, "svn", json_object_new_int(svn[i])) < 0 || json_object_array_add(arr, c) < 0) {
                        json_object_put(c);
                        return NULL;
                }
        }
        return TAKE_PTR(arr);
}

static int module_fields(json_object *o, const TdxSim *s) {
        static const uint8_t attrs[8] = {}, mask[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        int r;

        if ((r = add_hex(o, "mrsigner", s->mrsignerseam, 48)) < 0 || (r = add_hex(o, "attributes", attrs, 8)) < 0 ||
            (r = add_hex(o, "attributesMask", mask, 8)) < 0)
                return r;
        return 0;
}

static json_object *tcb_info_json(const TdxSim *s, int64_t issue, int64_t next) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *mod = json_object_new_object(),
                                                *ids = json_object_new_array(), *id = json_object_new_object(),
                                                *levels = json_object_new_array(), *l = json_object_new_object(),
                                                *tcb = json_object_new_object();
        static const uint8_t pceid[2] = {};
        char mid[16];

        if (!o || !mod || !ids || !id || !levels || !l || !tcb)
                return NULL;
        snprintf(mid, sizeof(mid), "TDX_%02X", s->tee_tcb_svn[1]);
        if (add(o, "id", json_object_new_string("TDX")) < 0 || add(o, "version", json_object_new_int(3)) < 0 ||
            add_date(o, "issueDate", issue) < 0 || add_date(o, "nextUpdate", next) < 0 ||
            add_hex(o, "fmspc", s->pck_info.fmspc, 6) < 0 || add_hex(o, "pceId", pceid, 2) < 0 ||
            add(o, "tcbType", json_object_new_int(0)) < 0 ||
            add(o, "tcbEvaluationDataNumber", json_object_new_int(TCB_EVALUATION_DATA_NUMBER)) < 0 ||
            module_fields(mod, s) < 0 || add(o, "tdxModule", TAKE_PTR(mod)) < 0)
                return NULL;
        if (add(id, "id", json_object_new_string(mid)) < 0 || module_fields(id, s) < 0 ||
            add(id, "tcbLevels", isv_levels(s->tee_tcb_svn[0], issue)) < 0 || json_object_array_add(ids, id) < 0)
                return NULL;
        id = NULL;
        if (add(o, "tdxModuleIdentities", TAKE_PTR(ids)) < 0)
                return NULL;
        if (add(tcb, "sgxtcbcomponents", components(s->pck_info.sgx_tcb_comp_svn)) < 0 ||
            add(tcb, "pcesvn", json_object_new_int(s->pck_info.pcesvn)) < 0 ||
            add(tcb, "tdxtcbcomponents", components(s->tee_tcb_svn)) < 0 || add(l, "tcb", TAKE_PTR(tcb)) < 0 ||
            add_date(l, "tcbDate", issue) < 0 || add(l, "tcbStatus", json_object_new_string("UpToDate")) < 0 ||
            json_object_array_add(levels, l) < 0)
                return NULL;
        l = NULL;
        if (add(o, "tcbLevels", TAKE_PTR(levels)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_object *qe_identity_json(const TdxSim *s, int64_t issue, int64_t next) {
        static const uint8_t misc[4] = {}, misc_mask[4] = { 0xff, 0xff, 0xff, 0xff },
                             attrs[16] = { 0x11 },
                             attrs_mask[16] = { 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o || add(o, "id", json_object_new_string("TD_QE")) < 0 || add(o, "version", json_object_new_int(2)) < 0 ||
            add_date(o, "issueDate", issue) < 0 || add_date(o, "nextUpdate", next) < 0 ||
            add(o, "tcbEvaluationDataNumber", json_object_new_int(TCB_EVALUATION_DATA_NUMBER)) < 0 ||
            add_hex(o, "miscselect", misc, 4) < 0 || add_hex(o, "miscselectMask", misc_mask, 4) < 0 ||
            add_hex(o, "attributes", attrs, 16) < 0 || add_hex(o, "attributesMask", attrs_mask, 16) < 0 ||
            add_hex(o, "mrsigner", s->qe_mrsigner, 32) < 0 || add(o, "isvprodid", json_object_new_int(2)) < 0 ||
            add(o, "tcbLevels", isv_levels(s->qe_isv_svn, issue)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* {"<key>":<value>,"signature":"<hex r‖s>"}, the signature over the exact value bytes. */
static int signed_document(const TdxSim *s, const char *key, json_object *value, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *sig_hex = NULL, *doc = NULL;
        const char *text;
        uint8_t sig[64];
        int r;

        if (!value)
                return -ENOMEM;
        text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        r = ecdsa_sign_raw(s->tcb_key, EVP_sha256(), (const uint8_t *) text, strlen(text), sig, 32);
        if (r < 0)
                return r;
        sig_hex = hex_encode(sig, 64);
        if (!sig_hex)
                return -ENOMEM;
        doc = strdup_printf("{\"%s\":%s,\"signature\":\"%s\"}", key, text, sig_hex);
        if (!doc)
                return -ENOMEM;
        *ret_size = strlen(doc);
        *ret = (uint8_t *) TAKE_PTR(doc);
        return 0;
}

static int make_crl(X509 *issuer, EVP_PKEY *key, X509 *const *revoked, size_t n, int64_t tu, int64_t nu,
                    uint8_t **ret, size_t *ret_size) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
        int r;

        if (!bio)
                return openssl_fail(-ENOMEM);
        r = sim_crl_begin(issuer, revoked, n, tu, nu, &crl);
        if (r < 0)
                return r;
        if (X509_CRL_sign(crl, key, EVP_sha256()) <= 0 || i2d_X509_CRL_bio(bio, crl) != 1)
                return openssl_fail(-EIO);
        return sim_bio_take(bio, ret, ret_size);
}

static int pem_chain(X509 *a, X509 *b, uint8_t **ret, size_t *ret_size) {
        return sim_pem_chain((X509 *const[]) { a, b }, 2, ret, ret_size);
}

int tdx_sim_make_collateral(const TdxSim *s, int64_t issue, int64_t next_update, X509 *const *revoked,
                            size_t n_revoked, TdxSimCollateral *ret) {
        _cleanup_(tdx_sim_collateral_done) TdxSimCollateral c = {};
        _cleanup_(json_object_putp) json_object *ti = NULL, *qe = NULL;
        int r;

        if (!s->root_key || !s->pck_ca_key || !s->tcb_key)
                return -ENOKEY;
        if (next_update <= issue)
                return -EINVAL;
        ti = tcb_info_json(s, issue, next_update);
        qe = qe_identity_json(s, issue, next_update);
        if ((r = signed_document(s, "tcbInfo", ti, &c.data[TDX_FILE_TCB_INFO], &c.size[TDX_FILE_TCB_INFO])) < 0 ||
            (r = signed_document(s, "enclaveIdentity", qe, &c.data[TDX_FILE_QE_IDENTITY],
                                 &c.size[TDX_FILE_QE_IDENTITY])) < 0 ||
            (r = pem_chain(s->tcb_signing, s->root, &c.data[TDX_FILE_TCB_INFO_CHAIN],
                           &c.size[TDX_FILE_TCB_INFO_CHAIN])) < 0 ||
            (r = pem_chain(s->tcb_signing, s->root, &c.data[TDX_FILE_QE_IDENTITY_CHAIN],
                           &c.size[TDX_FILE_QE_IDENTITY_CHAIN])) < 0 ||
            (r = pem_chain(s->pck_ca, s->root, &c.data[TDX_FILE_PCK_CRL_CHAIN], &c.size[TDX_FILE_PCK_CRL_CHAIN])) < 0 ||
            (r = make_crl(s->pck_ca, s->pck_ca_key, revoked, n_revoked, issue, next_update, &c.data[TDX_FILE_PCK_CRL],
                          &c.size[TDX_FILE_PCK_CRL])) < 0 ||
            (r = make_crl(s->root, s->root_key, NULL, 0, issue, next_update, &c.data[TDX_FILE_ROOT_CRL],
                          &c.size[TDX_FILE_ROOT_CRL])) < 0)
                return r;
        *ret = c;
        c = (TdxSimCollateral) {};
        return 0;
}

/* ---- files ---- */

int tdx_sim_write(const TdxSim *s, const char *dir) {
        _cleanup_(tdx_sim_collateral_done) TdxSimCollateral c = {};
        _cleanup_free_ char *coldir = NULL;
        int64_t issue = (int64_t) time(NULL) - DAY_SEC;
        int r;

        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        if ((r = sim_write_object(dir, "root.pem", SIM_PEM_CERT, s->root, NULL)) < 0 ||
            (r = sim_write_object(dir, "pck-ca.pem", SIM_PEM_CERT, s->pck_ca, NULL)) < 0 ||
            (r = sim_write_object(dir, "pck.pem", SIM_PEM_CERT, s->pck, NULL)) < 0 ||
            (r = sim_write_object(dir, "tcb-signing.pem", SIM_PEM_CERT, s->tcb_signing, NULL)) < 0 ||
            (r = sim_write_object(dir, "pck-key.pem", SIM_PEM_KEY, NULL, s->pck_key)) < 0 ||
            (r = sim_write_object(dir, "att-key.pem", SIM_PEM_KEY, NULL, s->att_key)) < 0)
                return r;

        r = tdx_sim_make_collateral(s, issue, issue + 30 * DAY_SEC, NULL, 0, &c);
        if (r < 0)
                return r;
        coldir = strdup_printf("%s/collateral", dir);
        if (!coldir)
                return -ENOMEM;
        r = mkdir_p(coldir, 0755);
        if (r < 0)
                return r;
        for (int f = 0; f < _TDX_FILE_MAX; f++) {
                r = sim_write_file(coldir, tdx_collateral_file_name(f), c.data[f], c.size[f], 0644);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* TEE_TCB_SVN and the module signer from the TCB info, the QE's from the QE identity. */
static int load_platform(TdxSim *s, const char *dir) {
        _cleanup_free_ char *coldir = strdup_printf("%s/collateral", dir);
        _cleanup_free_ uint8_t *ti_data = NULL, *qe_data = NULL;
        _cleanup_(tdx_tcb_info_freep) TdxTcbInfo *ti = NULL;
        _cleanup_(tdx_qe_identity_freep) TdxQeIdentity *qe = NULL;
        const TdxModuleIdentity *mod = NULL;
        size_t ti_size, qe_size;
        char id[16];
        int r;

        if (!coldir)
                return -ENOMEM;
        if ((r = sim_read_file(coldir, tdx_collateral_file_name(TDX_FILE_TCB_INFO), &ti_data, &ti_size)) < 0 ||
            (r = sim_read_file(coldir, tdx_collateral_file_name(TDX_FILE_QE_IDENTITY), &qe_data, &qe_size)) < 0)
                return r;
        if ((r = tdx_tcb_info_parse((const char *) ti_data, ti_size, &ti, NULL)) < 0 ||
            (r = tdx_qe_identity_parse((const char *) qe_data, qe_size, &qe, NULL)) < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (memcmp(ti->fmspc, s->pck_info.fmspc, 6) != 0)
                return -EBADMSG;
        memcpy(s->tee_tcb_svn, ti->levels[0].tdx, 16);
        snprintf(id, sizeof(id), "TDX_%02X", s->tee_tcb_svn[1]);
        if (s->tee_tcb_svn[1] == 0)
                mod = &ti->module;
        for (size_t i = 0; !mod && i < ti->n_module_identities; i++)
                if (streq(ti->module_identities[i].id, id))
                        mod = &ti->module_identities[i];
        if (!mod)
                return -EBADMSG;
        memcpy(s->mrsignerseam, mod->mrsigner, 48);
        memcpy(s->qe_mrsigner, qe->mrsigner, 32);
        s->qe_isv_svn = qe->levels[0].isvsvn;
        return 0;
}

int tdx_sim_load(const char *dir, TdxSim **ret) {
        _cleanup_(tdx_sim_freep) TdxSim *s = calloc(1, sizeof(TdxSim));
        _cleanup_free_ char *leaf_cn = NULL;
        int r;

        if (!s)
                return -ENOMEM;
        if ((r = sim_read_cert(dir, "root.pem", &s->root)) < 0 ||
            (r = sim_read_cert(dir, "pck-ca.pem", &s->pck_ca)) < 0 || (r = sim_read_cert(dir, "pck.pem", &s->pck)) < 0 ||
            (r = sim_read_cert(dir, "tcb-signing.pem", &s->tcb_signing)) < 0 ||
            (r = sim_read_key(dir, "pck-key.pem", NID_X9_62_prime256v1, &s->pck_key)) < 0 ||
            (r = sim_read_key(dir, "att-key.pem", NID_X9_62_prime256v1, &s->att_key)) < 0)
                return r;

        /* One simulated chain: root → PCK CA → leaf, the leaf key ours. */
        leaf_cn = x509_subject_cn(s->pck);
        if (!sim_cert_has_org(s->root, TDX_SIM_ORGANIZATION) || !sim_cert_has_org(s->pck_ca, TDX_SIM_ORGANIZATION) ||
            !sim_cert_has_org(s->pck, TDX_SIM_ORGANIZATION) ||
            !streq_ptr(leaf_cn, "Intel SGX PCK Certificate") ||
            x509_signed_by(s->root, X509_get0_pubkey(s->root)) != 1 ||
            x509_signed_by(s->pck_ca, X509_get0_pubkey(s->root)) != 1 ||
            x509_signed_by(s->pck, X509_get0_pubkey(s->pck_ca)) != 1 ||
            x509_signed_by(s->tcb_signing, X509_get0_pubkey(s->root)) != 1 ||
            EVP_PKEY_eq(s->pck_key, X509_get0_pubkey(s->pck)) != 1)
                return openssl_fail(-EBADMSG);
        r = tdx_pck_info_parse(s->pck, &s->pck_info, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        r = load_platform(s, dir);
        if (r < 0)
                return r;
        set_label(s);
        *ret = TAKE_PTR(s);
        return 0;
}
