/* SPDX-License-Identifier: Apache-2.0 */
/* TDX quote verification (shared/specs/tdx.md §1.5, §4-§9): the PCK chain in the quote up to
 * the pinned Intel SGX Root CA, its SGX extension, the QE report signature by the PCK leaf,
 * the QE report's binding of the attestation key, the quote signature; with collateral, the
 * PCK and Root CA CRLs, the TCB info and QE identity (signature by the TCB signing chain,
 * windows), the QE identity and the TCB level. Every check is recorded; the quote is authentic
 * only if every required check passed. */
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/reader.h"
#include "cvm/tdx.h"
#include "cvm/util.h"
#include "cvm/verified-cache.h"
#include "cvm/x509-cache.h"

/* Intel's quoting enclave vendor ID (spec §1.1). */
static const uint8_t intel_qe_vendor_id[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };

/* ---- the PCK certificate's SGX extension (spec §4) ---- */

/* DER of OID 1.2.840.113741.1.13.1, without tag and length. */
static const uint8_t sgx_ext_oid[9] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };

static const char *const pck_ca_names[_TDX_PCK_CA_MAX] = {
        [TDX_PCK_CA_PLATFORM] = "platform",
        [TDX_PCK_CA_PROCESSOR] = "processor",
};

const char *tdx_pck_ca_to_string(TdxPckCa ca) {
        return ca >= 0 && ca < _TDX_PCK_CA_MAX ? pck_ca_names[ca] : NULL;
}

/* One DER TLV: single-byte tags, definite minimal lengths up to 3 bytes. */
static int der_tlv(Reader *r, uint8_t *ret_tag, Reader *ret_value) {
        uint8_t tag, l;
        size_t len = 0;

        if (reader_u8(r, &tag) < 0 || reader_u8(r, &l) < 0)
                return -EBADMSG;
        if ((tag & 0x1f) == 0x1f)
                return -EBADMSG;
        if (l < 0x80)
                len = l;
        else {
                unsigned n = l & 0x7f;
                if (n == 0 || n > 3)
                        return -EBADMSG;
                for (unsigned i = 0; i < n; i++) {
                        uint8_t b;
                        if (reader_u8(r, &b) < 0 || (i == 0 && b == 0))
                                return -EBADMSG;
                        len = len << 8 | b;
                }
                if (len < 0x80)
                        return -EBADMSG;
        }
        *ret_tag = tag;
        return reader_sub(r, len, ret_value);
}

static int der_expect(Reader *r, uint8_t tag, Reader *ret) {
        uint8_t t;

        if (der_tlv(r, &t, ret) < 0 || t != tag)
                return -EBADMSG;
        return 0;
}

/* A non-negative INTEGER (or ENUMERATED) of at most max. */
static int der_uint(Reader *v, uint32_t max, uint32_t *ret) {
        uint32_t x = 0;

        if (v->size == 0 || v->size > 4 || (v->p[0] & 0x80) || (v->size > 1 && v->p[0] == 0 && !(v->p[1] & 0x80)))
                return -EBADMSG;
        for (size_t i = 0; i < v->size; i++)
                x = x << 8 | v->p[i];
        if (x > max)
                return -EBADMSG;
        *ret = x;
        return 0;
}

static int der_octets(Reader *v, void *dst, size_t n) {
        if (v->size != n)
                return -EBADMSG;
        memcpy(dst, v->p, n);
        return 0;
}

/* The last arc of an OID under 1.2.840.113741.1.13.1[.prefix...]: -1 when not one. */
static int sgx_oid_arc(const Reader *oid, const uint8_t *prefix, size_t prefix_len) {
        if (oid->size != sizeof(sgx_ext_oid) + prefix_len + 1 || memcmp(oid->p, sgx_ext_oid, sizeof(sgx_ext_oid)) != 0 ||
            (prefix_len > 0 && memcmp(oid->p + sizeof(sgx_ext_oid), prefix, prefix_len) != 0) ||
            oid->p[oid->size - 1] & 0x80)
                return -1;
        return oid->p[oid->size - 1];
}

static int parse_tcb_sequence(Reader *seq, TdxPckInfo *info, char **ret_reason) {
        static const uint8_t prefix[] = { 0x02 };
        uint32_t seen = 0;

        while (reader_remaining(seq) > 0) {
                Reader entry, oid, val;
                uint8_t tag;
                uint32_t x;
                int arc;

                if (der_expect(seq, 0x30, &entry) < 0 || der_expect(&entry, 0x06, &oid) < 0 ||
                    der_tlv(&entry, &tag, &val) < 0 || reader_remaining(&entry) != 0)
                        return set_reason(ret_reason, -EBADMSG, "SGX extension: malformed TCB entry");
                arc = sgx_oid_arc(&oid, prefix, sizeof(prefix));
                if (arc < 1 || arc > 18 || (seen & (1u << arc)))
                        return set_reason(ret_reason, -EBADMSG, "SGX extension: unexpected or repeated TCB entry");
                seen |= 1u << arc;
                if (arc <= 16) {
                        if (tag != 0x02 || der_uint(&val, 255, &x) < 0)
                                return set_reason(ret_reason, -EBADMSG, "SGX extension: TCB component %d is not 0..255",
                                                  arc);
                        info->sgx_tcb_comp_svn[arc - 1] = (uint8_t) x;
                } else if (arc == 17) {
                        if (tag != 0x02 || der_uint(&val, UINT16_MAX, &x) < 0)
                                return set_reason(ret_reason, -EBADMSG, "SGX extension: PCESVN is not 0..65535");
                        info->pcesvn = (uint16_t) x;
                } else if (tag != 0x04 || der_octets(&val, info->cpu_svn, 16) < 0)
                        return set_reason(ret_reason, -EBADMSG, "SGX extension: CPUSVN is not 16 octets");
        }
        if (seen != 0x7fffeu) /* arcs 1..18 */
                return set_reason(ret_reason, -EBADMSG, "SGX extension: TCB lacks components");
        return 0;
}

int tdx_pck_info_parse(X509 *leaf, TdxPckInfo *ret, char **ret_reason) {
        _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        _cleanup_free_ char *issuer = NULL;
        TdxPckInfo info = { .sgx_type = -1, .ca = _TDX_PCK_CA_INVALID };
        const ASN1_OCTET_STRING *os;
        X509_EXTENSION *ext;
        Reader rd, outer;
        uint32_t seen = 0;
        int idx;

        if (!obj)
                return -ENOMEM;
        idx = X509_get_ext_by_OBJ(leaf, obj, -1);
        if (idx < 0)
                return set_reason(ret_reason, -EBADMSG, "PCK certificate has no SGX extension (1.2.840.113741.1.13.1)");
        if (X509_get_ext_by_OBJ(leaf, obj, idx) >= 0)
                return set_reason(ret_reason, -EBADMSG, "PCK certificate has two SGX extensions");
        ext = X509_get_ext(leaf, idx);
        os = X509_EXTENSION_get_data(ext);
        rd = reader_init(ASN1_STRING_get0_data(os), (size_t) ASN1_STRING_length(os));
        if (der_expect(&rd, 0x30, &outer) < 0 || reader_remaining(&rd) != 0)
                return set_reason(ret_reason, -EBADMSG, "SGX extension is not one SEQUENCE");
        while (reader_remaining(&outer) > 0) {
                Reader entry, oid, val;
                uint8_t tag;
                uint32_t x;
                int arc;

                if (der_expect(&outer, 0x30, &entry) < 0 || der_expect(&entry, 0x06, &oid) < 0 ||
                    der_tlv(&entry, &tag, &val) < 0 || reader_remaining(&entry) != 0)
                        return set_reason(ret_reason, -EBADMSG, "SGX extension: malformed entry");
                arc = sgx_oid_arc(&oid, NULL, 0);
                if (arc < 1 || arc > 7)
                        return set_reason(ret_reason, -EBADMSG, "SGX extension: unexpected entry");
                if (seen & (1u << arc))
                        return set_reason(ret_reason, -EBADMSG, "SGX extension: entry %d repeated", arc);
                seen |= 1u << arc;
                switch (arc) {
                case 1:
                        if (tag != 0x04 || der_octets(&val, info.ppid, 16) < 0)
                                return set_reason(ret_reason, -EBADMSG, "SGX extension: PPID is not 16 octets");
                        break;
                case 2:
                        if (tag != 0x30)
                                return set_reason(ret_reason, -EBADMSG, "SGX extension: TCB is not a SEQUENCE");
                        if (parse_tcb_sequence(&val, &info, ret_reason) < 0)
                                return -EBADMSG;
                        break;
                case 3:
                        if (tag != 0x04 || der_octets(&val, info.pceid, 2) < 0)
                                return set_reason(ret_reason, -EBADMSG, "SGX extension: PCE-ID is not 2 octets");
                        break;
                case 4:
                        if (tag != 0x04 || der_octets(&val, info.fmspc, 6) < 0)
                                return set_reason(ret_reason, -EBADMSG, "SGX extension: FMSPC is not 6 octets");
                        break;
                case 5:
                        if (tag != 0x0a || der_uint(&val, 2, &x) < 0)
                                return set_reason(ret_reason, -EBADMSG, "SGX extension: SGX type is not 0..2");
                        info.sgx_type = (int) x;
                        break;
                case 6:
                        if (tag != 0x04 || val.size != 16)
                                return set_reason(ret_reason, -EBADMSG,
                                                  "SGX extension: platform instance ID is not 16 octets");
                        break;
                default:
                        if (tag != 0x30)
                                return set_reason(ret_reason, -EBADMSG, "SGX extension: configuration is not a SEQUENCE");
                        break;
                }
        }
        if ((seen & 0x3e) != 0x3e)
                return set_reason(ret_reason, -EBADMSG, "SGX extension lacks PPID, TCB, PCE-ID, FMSPC or SGX type");

        issuer = x509_issuer_cn(leaf);
        if (streq_ptr(issuer, "Intel SGX PCK Platform CA"))
                info.ca = TDX_PCK_CA_PLATFORM;
        else if (streq_ptr(issuer, "Intel SGX PCK Processor CA"))
                info.ca = TDX_PCK_CA_PROCESSOR;
        *ret = info;
        return 0;
}

/* ---- helpers ---- */

static int p256_verify(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t sig[64]) {
        _cleanup_(BN_freep) BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
        uint8_t digest[SHA256_DIGEST_LENGTH];

        if (!r || !s)
                return -ENOMEM;
        if (!pkey_is_ec_curve(key, NID_X9_62_prime256v1))
                return 0;
        sha256(msg, n, digest);
        return ecdsa_verify_digest(key, digest, sizeof(digest), r, s);
}

/* The attestation key: a P-256 point x ‖ y, built from its raw coordinates once per key (the
 * quotes of one quoting enclave share it). */
static int att_key_to_pkey(const uint8_t xy[64], EVP_PKEY **ret) {
        return ec_pubkey_from_xy(NID_X9_62_prime256v1, xy, 64, ret);
}

static const char *cert_name(X509 *cert, char *buf, size_t size) {
        _cleanup_free_ char *cn = x509_subject_cn(cert);

        snprintf(buf, size, "%s", cn ? cn : "(no CN)");
        return buf;
}

/* NULL when every certificate is valid at `at`, else a reason in buf. */
static const char *chain_validity(STACK_OF(X509) *sk, int64_t at, char *buf, size_t size) {
        for (int i = 0; i < sk_X509_num(sk); i++) {
                X509 *c = sk_X509_value(sk, i);
                Validity val = x509_validity_at(c, at);
                char nb[32] = "?", na[32] = "?", name[96];
                int64_t t;

                if (val == VALIDITY_OK)
                        continue;
                if (x509_not_before(c, &t) >= 0)
                        format_rfc3339(t, nb, sizeof(nb));
                if (x509_not_after(c, &t) >= 0)
                        format_rfc3339(t, na, sizeof(na));
                snprintf(buf, size, "'%s' %s (valid %s to %s)", cert_name(c, name, sizeof(name)),
                         val == VALIDITY_NOT_YET_VALID ? "is not yet valid" : "has expired", nb, na);
                return buf;
        }
        return NULL;
}

/* The signature of cert by issuer: ECDSA with SHA-256, names chained. NULL or a reason. */
static const char *check_link(X509 *cert, X509 *issuer) {
        if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0)
                return "issuer name does not match the signer's subject";
        if (X509_get_signature_nid(cert) != NID_ecdsa_with_SHA256)
                return "signature algorithm is not ECDSA with SHA-256";
        if (x509_signed_by(cert, X509_get0_pubkey(issuer)) != 1)
                return "signature does not verify";
        return NULL;
}

/* check_link() once per pair of certificates (by their bytes) while both are valid: the
 * process's verified cache (include/cvm/verified-cache.h). */
static const char *cached_check_link(X509 *cert, X509 *issuer, int64_t at) {
        const char *w;

        if (x509_link_known("tdx-link", cert, issuer, at))
                return NULL;
        w = check_link(cert, issuer);
        if (!w)
                x509_link_remember("tdx-link", cert, issuer);
        return w;
}

static bool root_is_pinned(X509 *root, const TdxVerifyParams *p, uint8_t ret_digest[32]) {
        if (x509_spki_sha256(root, ret_digest) < 0)
                return false;
        for (size_t i = 0; i < p->n_anchors; i++)
                if (memcmp(p->anchors[i].spki_sha256, ret_digest, 32) == 0)
                        return true;
        return false;
}

/* A collateral issuer chain: cert[0] ← ... ← cert[n-1], the last self-signed and pinned; every
 * certificate valid at `at`. The root must be the very root the quote's PCK chain ends at
 * (pck_root, its SPKI SHA-256): with a simulator root trusted beside Intel's, simulator-signed
 * collateral must never grade a real Intel quote, nor the reverse. Signature results are
 * cached in *cache. */
static void check_issuer_chain(VerdictRun *c, const char *name, const char *file, STACK_OF(X509) *sk, int *cache,
                               const char *want_cn, const TdxVerifyParams *p, const uint8_t pck_root[32],
                               bool *ret_ok) {
        uint8_t digest[32];
        char why[256];
        const char *w = NULL;
        int n = sk ? sk_X509_num(sk) : 0;

        *ret_ok = false;
        if (n < 2 || n > 4)
                return verdict_fail(c, name, "%s: expected the signing certificate and the root, found %d certificates", file,
                              n);
        if (!root_is_pinned(sk_X509_value(sk, n - 1), p, digest)) {
                _cleanup_free_ char *h = hex_encode(digest, 32);
                return verdict_fail(c, name, "%s: root key (SPKI SHA-256 %s) is not the pinned Intel SGX Root CA", file,
                              h ? h : "?");
        }
        if (memcmp(digest, pck_root, 32) != 0) {
                _cleanup_free_ char *h = hex_encode(digest, 32), *q = hex_encode(pck_root, 32);
                return verdict_fail(c, name,
                              "%s: ends at root %s, not at the root %s the quote's PCK chain ends at (one root per "
                              "verdict)",
                              file, h ? h : "?", q ? q : "?");
        }
        if (want_cn) {
                _cleanup_free_ char *cn = x509_subject_cn(sk_X509_value(sk, 0));
                if (!streq_ptr(cn, want_cn))
                        return verdict_fail(c, name, "%s: first certificate is '%s', not '%s'", file, cn ? cn : "(no CN)",
                                      want_cn);
        }
        if (*cache != 1) {
                for (int i = 0; i < n && !w; i++)
                        w = cached_check_link(sk_X509_value(sk, i), sk_X509_value(sk, i + 1 < n ? i + 1 : i), p->at);
                for (int i = 1; i < n && !w; i++)
                        if (X509_check_ca(sk_X509_value(sk, i)) < 1)
                                w = "an issuing certificate is not a CA";
                *cache = w ? 0 : 1;
                if (w)
                        return verdict_fail(c, name, "%s: %s", file, w);
        }
        if (chain_validity(sk, p->at, why, sizeof(why)))
                return verdict_fail(c, name, "%s: %s", file, why);
        *ret_ok = true;
        verdict_pass(c, name, "%s: %d certificates chain to the pinned Intel SGX Root CA, valid at the verification time",
             file, n);
}

static bool cert_revoked(X509_CRL *crl, X509 *cert) {
        X509_REVOKED *rev = NULL;

        return crl && X509_CRL_get0_by_cert(crl, &rev, cert) == 1;
}

static bool crl_window_ok(X509_CRL *crl, int64_t at, char *buf, size_t size) {
        int64_t a, b;
        char t1[32], t2[32];

        if (asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &a) < 0 || !X509_CRL_get0_nextUpdate(crl) ||
            asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &b) < 0) {
                snprintf(buf, size, "lacks a readable thisUpdate/nextUpdate");
                return false;
        }
        if (at < a || at > b) {
                snprintf(buf, size, "is not current at the verification time (%s to %s)",
                         format_rfc3339(a, t1, sizeof(t1)), format_rfc3339(b, t2, sizeof(t2)));
                return false;
        }
        snprintf(buf, size, "current %s to %s", format_rfc3339(a, t1, sizeof(t1)), format_rfc3339(b, t2, sizeof(t2)));
        return true;
}

/* 1 when issuer's key verifies the CRL: once per CRL and issuer (by their bytes) while both
 * are current, through the process's verified cache. */
static int crl_signed_by(X509_CRL *crl, X509 *issuer, int64_t at) {
        int k;

        if (x509_crl_link_known("tdx-crl", crl, issuer, at))
                return 1;
        k = X509_CRL_verify(crl, X509_get0_pubkey(issuer));
        openssl_clear_errors();
        if (k == 1)
                x509_crl_link_remember("tdx-crl", crl, issuer);
        return k == 1;
}

/* ---- the quote ---- */

static STACK_OF(X509) *verify_pck_chain(VerdictRun *c, const TdxQuote *q, TdxCollateral *col, const TdxVerifyParams *p) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        _cleanup_free_ char *reason = NULL, *leaf_cn = NULL, *inter_cn = NULL;
        X509 *leaf, *inter, *root;
        uint8_t digest[32], chain_sha[32];
        bool cached = false;
        const char *w;
        char why[256];

        sha256(q->pck_chain, q->pck_chain_size, chain_sha);
        if (col && col->pck_chain && memcmp(col->pck_chain_sha256, chain_sha, 32) == 0) {
                sk = X509_chain_up_ref(col->pck_chain);
                if (!sk) {
                        verdict_fail(c, "pck.chain-parse", "out of memory");
                        return NULL;
                }
                cached = true;
        } else if (tdx_pck_chain_parse(q->pck_chain, q->pck_chain_size, &sk, &reason) < 0) {
                verdict_fail(c, "pck.chain-parse", "%s", reason ? reason : "PCK chain does not parse");
                return NULL;
        }
        if (sk_X509_num(sk) != 3) {
                verdict_fail(c, "pck.chain-parse", "PCK chain has %d certificates; expected leaf, PCK CA and root",
                       sk_X509_num(sk));
                return NULL;
        }
        verdict_pass(c, "pck.chain-parse", "PEM chain of 3 certificates (type 6 nesting type 5)");
        leaf = sk_X509_value(sk, 0);
        inter = sk_X509_value(sk, 1);
        root = sk_X509_value(sk, 2);

        if (!root_is_pinned(root, p, digest)) {
                _cleanup_free_ char *h = hex_encode(digest, 32);
                verdict_fail(c, "pck.root-pinned", "root public key (SPKI SHA-256 %s) is not the pinned Intel SGX Root CA",
                       h ? h : "?");
        } else
                verdict_pass(c, "pck.root-pinned", "root key matches the pinned Intel SGX Root CA");

        leaf_cn = x509_subject_cn(leaf);
        inter_cn = x509_subject_cn(inter);
        if (!leaf_cn || !strstr(leaf_cn, "SGX PCK Certificate"))
                verdict_fail(c, "pck.profile", "leaf '%s' is not an SGX PCK Certificate", leaf_cn ? leaf_cn : "(no CN)");
        else if (!streq_ptr(inter_cn, "Intel SGX PCK Platform CA") && !streq_ptr(inter_cn, "Intel SGX PCK Processor CA"))
                verdict_fail(c, "pck.profile", "intermediate '%s' is not the Intel SGX PCK Platform or Processor CA",
                       inter_cn ? inter_cn : "(no CN)");
        else
                verdict_pass(c, "pck.profile", "'%s' issued by '%s'", leaf_cn, inter_cn);

        if (cached)
                verdict_pass(c, "pck.chain-signatures", "root → PCK CA → PCK leaf verify (ECDSA P-256, SHA-256; same chain "
                                                "as verified before)");
        else if ((w = cached_check_link(root, root, p->at)) || X509_check_ca(root) < 1)
                verdict_fail(c, "pck.chain-signatures", "root self-signature: %s", w ? w : "root is not a CA");
        else if ((w = cached_check_link(inter, root, p->at)) || X509_check_ca(inter) < 1)
                verdict_fail(c, "pck.chain-signatures", "root over the PCK CA: %s", w ? w : "PCK CA is not a CA");
        else if ((w = cached_check_link(leaf, inter, p->at)))
                verdict_fail(c, "pck.chain-signatures", "PCK CA over the leaf: %s", w);
        else {
                verdict_pass(c, "pck.chain-signatures", "root → PCK CA → PCK leaf verify (ECDSA P-256, SHA-256)");
                if (col) {
                        STACK_OF(X509) *keep = X509_chain_up_ref(sk);
                        if (keep) {
                                sk_X509_pop_free(col->pck_chain, X509_free);
                                col->pck_chain = keep;
                                memcpy(col->pck_chain_sha256, chain_sha, 32);
                        }
                }
        }

        if (chain_validity(sk, p->at, why, sizeof(why)))
                verdict_fail(c, "pck.validity", "%s", why);
        else {
                char t[32];
                verdict_pass(c, "pck.validity", "every certificate is valid at %s", format_rfc3339(p->at, t, sizeof(t)));
        }
        return TAKE_PTR(sk);
}

static void verify_qe_report(VerdictRun *c, const TdxQuote *q, X509 *leaf) {
        uint8_t expect[32], buf[64 + UINT16_MAX];
        int k;

        k = p256_verify(X509_get0_pubkey(leaf), q->qe_report.raw, TDX_SGX_REPORT_SIZE, q->qe_report_signature);
        if (k == 1)
                verdict_pass(c, "qe.report-signature", "the QE report is signed by the PCK leaf (ECDSA P-256, SHA-256)");
        else
                verdict_fail(c, "qe.report-signature", "the QE report signature does not verify with the PCK leaf key");

        memcpy(buf, q->att_key, 64);
        memcpy(buf + 64, q->qe_auth_data, q->qe_auth_size);
        sha256(buf, 64 + q->qe_auth_size, expect);
        if (memcmp(expect, q->qe_report.report_data, 32) != 0)
                verdict_fail(c, "qe.binding", "QE REPORT_DATA[0:32] is not SHA-256(attestation key ‖ QE auth data)");
        else if (!memeqzero(q->qe_report.report_data + 32, 32))
                verdict_fail(c, "qe.binding", "QE REPORT_DATA[32:64] is not zero");
        else
                verdict_pass(c, "qe.binding", "QE REPORT_DATA = SHA-256(attestation key ‖ %zu bytes of QE auth data) ‖ zeros",
                     q->qe_auth_size);
}

static void verify_quote_signature(VerdictRun *c, const TdxQuote *q) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;

        if (att_key_to_pkey(q->att_key, &key) < 0)
                return verdict_fail(c, "quote.signature", "the attestation key is not a P-256 point");
        if (p256_verify(key, q->signed_data, q->signed_size, q->signature) != 1)
                return verdict_fail(c, "quote.signature",
                              "ECDSA P-256/SHA-256 over bytes 0-%zu does not verify with the attestation key",
                              q->signed_size - 1);
        verdict_pass(c, "quote.signature", "ECDSA P-256/SHA-256 over header and TD report (bytes 0-%zu) verifies",
             q->signed_size - 1);
}

/* ---- collateral ---- */

static void verify_root_crl(VerdictRun *c, TdxCollateral *col, X509 *root, X509 *inter, int64_t at) {
        char why[160];

        if (!col->root_crl)
                return verdict_fail(c, "collateral.root-crl", "%s is missing", tdx_collateral_file_name(TDX_FILE_ROOT_CRL));
        if (X509_NAME_cmp(X509_CRL_get_issuer(col->root_crl), X509_get_subject_name(root)) != 0)
                return verdict_fail(c, "collateral.root-crl", "the Root CA CRL is not issued by the Intel SGX Root CA");
        if (col->sig_root_crl < 0)
                col->sig_root_crl = crl_signed_by(col->root_crl, root, at);
        if (!col->sig_root_crl)
                return verdict_fail(c, "collateral.root-crl", "the Root CA CRL signature does not verify with the root key");
        if (!crl_window_ok(col->root_crl, at, why, sizeof(why)))
                return verdict_fail(c, "collateral.root-crl", "the Root CA CRL %s", why);
        if (cert_revoked(col->root_crl, inter))
                return verdict_fail(c, "collateral.root-crl", "the PCK CA is revoked by the Root CA CRL");
        for (int i = 0; col->tcb_info_chain && i < sk_X509_num(col->tcb_info_chain); i++)
                if (cert_revoked(col->root_crl, sk_X509_value(col->tcb_info_chain, i)))
                        return verdict_fail(c, "collateral.root-crl", "the TCB signing certificate is revoked");
        for (int i = 0; col->qe_identity_chain && i < sk_X509_num(col->qe_identity_chain); i++)
                if (cert_revoked(col->root_crl, sk_X509_value(col->qe_identity_chain, i)))
                        return verdict_fail(c, "collateral.root-crl", "the QE identity signing certificate is revoked");
        verdict_pass(c, "collateral.root-crl", "signed by the root, %s; no chain certificate revoked", why);
}

static void verify_pck_crl(VerdictRun *c, TdxCollateral *col, X509 *leaf, X509 *inter, const TdxVerifyParams *p,
                           const uint8_t pck_root[32]) {
        uint8_t spki[32];
        char why[160];
        bool ok;

        if (!col->pck_crl)
                return verdict_fail(c, "collateral.pck-crl", "%s is missing", tdx_collateral_file_name(TDX_FILE_PCK_CRL));
        /* The PCK CRL must come from the CA that issued the leaf (a root CRL will not do). */
        if (X509_NAME_cmp(X509_CRL_get_issuer(col->pck_crl), X509_get_issuer_name(leaf)) != 0)
                return verdict_fail(c, "collateral.pck-crl", "the PCK CRL is not issued by the PCK leaf's issuer");
        if (x509_spki_sha256(inter, spki) < 0)
                return verdict_fail(c, "collateral.pck-crl", "the PCK CA key cannot be encoded");
        if (col->sig_pck_crl < 0 || memcmp(col->pck_crl_signer_spki, spki, 32) != 0) {
                col->sig_pck_crl = crl_signed_by(col->pck_crl, inter, p->at);
                memcpy(col->pck_crl_signer_spki, spki, 32);
        }
        if (!col->sig_pck_crl)
                return verdict_fail(c, "collateral.pck-crl", "the PCK CRL signature does not verify with the PCK CA key");
        if (!crl_window_ok(col->pck_crl, p->at, why, sizeof(why)))
                return verdict_fail(c, "collateral.pck-crl", "the PCK CRL %s", why);
        if (cert_revoked(col->pck_crl, leaf))
                return verdict_fail(c, "collateral.pck-crl", "the PCK leaf certificate is revoked by its CA's CRL");
        verdict_pass(c, "collateral.pck-crl", "signed by the leaf's CA, %s; the leaf is not revoked", why);

        /* The issuer chain that came with the CRL must itself be Intel's. */
        check_issuer_chain(c, "collateral.pck-crl-chain", tdx_collateral_file_name(TDX_FILE_PCK_CRL_CHAIN),
                           col->pck_crl_chain, &col->chain_pck_crl, NULL, p, pck_root, &ok);
        if (ok && X509_NAME_cmp(X509_get_subject_name(sk_X509_value(col->pck_crl_chain, 0)),
                                X509_CRL_get_issuer(col->pck_crl)) != 0)
                verdict_fail(c, "collateral.pck-crl-chain", "the chain's first certificate is not the PCK CRL issuer");
}

/* The ECDSA P-256 signature over a collateral document (the SHA-256 of its signed bytes) by its
 * signing certificate: checked once per document, signature and certificate (by their bytes)
 * while both are current, through the process's verified cache. */
static bool document_signed_by(const char *kind, X509 *signer, const uint8_t digest[32], const uint8_t sig[64],
                               int64_t issue_date, int64_t next_update, int64_t at) {
        _cleanup_(BN_freep) BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
        EVP_PKEY *key = X509_get0_pubkey(signer);
        uint8_t both[96], subject[32], signer_der[32], cache_key[32];
        int64_t nb, na;
        bool keyed, ok;

        memcpy(both, digest, 32);
        memcpy(both + 32, sig, 64);
        sha256(both, sizeof(both), subject);
        keyed = x509_der_sha256(signer, signer_der) >= 0;
        if (keyed) {
                verified_cache_key(cache_key, kind, signer_der, subject);
                if (verified_cache_lookup(cache_key, at))
                        return true;
        }
        ok = r && s && pkey_is_ec_curve(key, NID_X9_62_prime256v1) && ecdsa_verify_digest(key, digest, 32, r, s) == 1;
        if (ok && keyed && x509_not_before(signer, &nb) >= 0 && x509_not_after(signer, &na) >= 0)
                verified_cache_remember(cache_key, nb > issue_date ? nb : issue_date, na < next_update ? na : next_update);
        return ok;
}

static bool window_ok(int64_t from, int64_t until, int64_t at, char *buf, size_t size) {
        char t1[32], t2[32];

        snprintf(buf, size, "issued %s, next update %s", format_rfc3339(from, t1, sizeof(t1)),
                 format_rfc3339(until, t2, sizeof(t2)));
        return at >= from && at <= until;
}

static void verify_tcb_info(VerdictRun *c, TdxCollateral *col, const TdxAppraisal *a, const TdxVerifyParams *p,
                            const uint8_t pck_root[32]) {
        const TdxTcbInfo *ti = col->tcb_info;
        char why[128];
        bool ok;

        check_issuer_chain(c, "collateral.tcb-info-chain", tdx_collateral_file_name(TDX_FILE_TCB_INFO_CHAIN),
                           col->tcb_info_chain, &col->chain_tcb_info, "Intel SGX TCB Signing", p, pck_root, &ok);
        if (!ti)
                return verdict_fail(c, "collateral.tcb-info", "%s is missing", tdx_collateral_file_name(TDX_FILE_TCB_INFO));
        if (!ok)
                return verdict_fail(c, "collateral.tcb-info", "its signing chain did not verify");
        if (col->sig_tcb_info < 0)
                col->sig_tcb_info = document_signed_by("tdx-tcb-info", sk_X509_value(col->tcb_info_chain, 0), ti->digest,
                                                       ti->signature, ti->issue_date, ti->next_update, p->at);
        if (!col->sig_tcb_info)
                return verdict_fail(c, "collateral.tcb-info", "the signature over \"tcbInfo\" does not verify with the TCB signing key");
        if (!window_ok(ti->issue_date, ti->next_update, p->at, why, sizeof(why)))
                return verdict_fail(c, "collateral.tcb-info", "not valid at the verification time: %s", why);
        if (a->pck_info_ok && memcmp(ti->fmspc, a->pck.fmspc, 6) != 0) {
                _cleanup_free_ char *h1 = hex_encode(ti->fmspc, 6), *h2 = hex_encode(a->pck.fmspc, 6);
                return verdict_fail(c, "collateral.tcb-info", "TCB info is for FMSPC %s, the PCK certificate has %s",
                              h1 ? h1 : "?", h2 ? h2 : "?");
        }
        if (a->pck_info_ok && memcmp(ti->pce_id, a->pck.pceid, 2) != 0)
                return verdict_fail(c, "collateral.tcb-info", "TCB info PCE-ID differs from the PCK certificate's");
        verdict_pass(c, "collateral.tcb-info", "TDX v3, FMSPC matches, evaluation data number %u, signed; %s",
             ti->tcb_evaluation_data_number, why);
}

static void verify_qe_identity(VerdictRun *c, TdxCollateral *col, const TdxQuote *q, const TdxVerifyParams *p,
                               const uint8_t pck_root[32]) {
        const TdxQeIdentity *qe = col->qe_identity;
        _cleanup_free_ char *reason = NULL;
        char why[128];
        bool ok;

        check_issuer_chain(c, "collateral.qe-identity-chain", tdx_collateral_file_name(TDX_FILE_QE_IDENTITY_CHAIN),
                           col->qe_identity_chain, &col->chain_qe_identity, "Intel SGX TCB Signing", p, pck_root,
                           &ok);
        if (!qe)
                return verdict_fail(c, "collateral.qe-identity", "%s is missing",
                              tdx_collateral_file_name(TDX_FILE_QE_IDENTITY));
        if (!ok)
                return verdict_fail(c, "collateral.qe-identity", "its signing chain did not verify");
        if (col->sig_qe_identity < 0)
                col->sig_qe_identity = document_signed_by("tdx-qe-identity", sk_X509_value(col->qe_identity_chain, 0),
                                                          qe->digest, qe->signature, qe->issue_date, qe->next_update,
                                                          p->at);
        if (!col->sig_qe_identity)
                return verdict_fail(c, "collateral.qe-identity",
                              "the signature over \"enclaveIdentity\" does not verify with the TCB signing key");
        if (!window_ok(qe->issue_date, qe->next_update, p->at, why, sizeof(why)))
                return verdict_fail(c, "collateral.qe-identity", "not valid at the verification time: %s", why);
        verdict_pass(c, "collateral.qe-identity", "TD_QE v2, signed; %s", why);

        if (tdx_qe_identity_match(qe, &q->qe_report, &reason) < 0)
                return verdict_fail(c, "qe.identity", "%s", reason ? reason : "QE identity mismatch");
        verdict_pass(c, "qe.identity", "QE report matches the TD_QE identity (MRSIGNER, ISVPRODID, masked attributes)");
}

static json_object *advisories_json(const TdxAdvisories *a) {
        json_object *arr = json_object_new_array();

        for (size_t i = 0; arr && i < a->n; i++)
                if (json_object_array_add(arr, json_object_new_string(a->ids[i])) < 0) {
                        json_object_put(arr);
                        return NULL;
                }
        return arr;
}

static void add_tcb_claims(json_object *claims, const TdxAppraisal *a, const TdxCollateral *col) {
        char t[32];

        if (!a->tcb_evaluated) {
                json_object_object_add(claims, "tcb_status", NULL);
                json_object_object_add(claims, "advisory_ids", NULL);
                return;
        }
        json_object_object_add(claims, "tcb_status",
                               json_object_new_string(tdx_tcb_status_to_string(a->tcb.status)));
        json_object_object_add(claims, "advisory_ids",
                               a->tcb.status == TDX_TCB_NOT_SUPPORTED ? NULL : advisories_json(&a->tcb.advisories));
        json_object_object_add(claims, "platform_tcb_status",
                               json_object_new_string(tdx_tcb_status_to_string(a->tcb.platform_status)));
        if (a->tcb.tcb_date)
                json_object_object_add(claims, "tcb_date",
                                       json_object_new_string(format_rfc3339(a->tcb.tcb_date, t, sizeof(t))));
        if (a->tcb.module_status >= 0) {
                json_object_object_add(claims, "tdx_module_identity", json_object_new_string(a->tcb.module_id));
                json_object_object_add(claims, "tdx_module_tcb_status",
                                       json_object_new_string(tdx_tcb_status_to_string(a->tcb.module_status)));
                json_object_object_add(claims, "tdx_module_tcb_date",
                                       json_object_new_string(format_rfc3339(a->tcb.module_tcb_date, t, sizeof(t))));
        }
        json_object_object_add(claims, "qe_tcb_status", json_object_new_string(tdx_tcb_status_to_string(a->tcb.qe_status)));
        if (a->tcb.qe_tcb_date)
                json_object_object_add(claims, "qe_tcb_date",
                                       json_object_new_string(format_rfc3339(a->tcb.qe_tcb_date, t, sizeof(t))));
        json_object_object_add(claims, "tcb_evaluation_data_number",
                               json_object_new_int64(col->tcb_info->tcb_evaluation_data_number));
        json_object_object_add(claims, "tcb_info_issue_date",
                               json_object_new_string(format_rfc3339(col->tcb_info->issue_date, t, sizeof(t))));
        json_object_object_add(claims, "tcb_info_next_update",
                               json_object_new_string(format_rfc3339(col->tcb_info->next_update, t, sizeof(t))));
}

static json_object *pck_claims(const TdxPckInfo *pck) {
        _cleanup_free_ char *fmspc = hex_encode(pck->fmspc, 6), *pceid = hex_encode(pck->pceid, 2),
                            *comps = hex_encode(pck->sgx_tcb_comp_svn, 16), *cpusvn = hex_encode(pck->cpu_svn, 16);
        json_object *o = json_object_new_object();

        if (!o || !fmspc || !pceid || !comps || !cpusvn) {
                json_object_put(o);
                return NULL;
        }
        json_object_object_add(o, "fmspc", json_object_new_string(fmspc));
        json_object_object_add(o, "pceid", json_object_new_string(pceid));
        json_object_object_add(o, "pcesvn", json_object_new_int(pck->pcesvn));
        json_object_object_add(o, "sgx_tcb_comp_svn", json_object_new_string(comps));
        json_object_object_add(o, "cpu_svn", json_object_new_string(cpusvn));
        if (pck->sgx_type >= 0)
                json_object_object_add(o, "sgx_type", json_object_new_int(pck->sgx_type));
        if (pck->ca >= 0)
                json_object_object_add(o, "ca", json_object_new_string(tdx_pck_ca_to_string(pck->ca)));
        return o;
}

void tdx_appraisal_done(TdxAppraisal *a) {
        if (!a)
                return;
        tdx_tcb_result_done(&a->tcb);
        a->tcb_evaluated = false;
}

int tdx_verify(const uint8_t *data, size_t size, TdxCollateral *col, const TdxVerifyParams *params,
               TdxAppraisal *ret_appraisal, Verdict *v) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
        _cleanup_free_ TdxAppraisal *a = calloc(1, sizeof(TdxAppraisal));
        _cleanup_free_ char *reason = NULL;
        VerdictRun c = verdict_run(v);
        X509 *leaf = NULL, *inter = NULL, *root = NULL;
        uint8_t pck_root[32];
        json_object *claims;

        if (!a)
                return -ENOMEM;
        v->authentic = false;

        if (tdx_quote_parse(data, size, &a->quote, &reason) < 0) {
                verdict_fail(&c, "quote.parse", "%s", reason ? reason : "malformed quote");
                goto done;
        }
        a->parsed = true;
        verdict_pass(&c, "quote.parse", "version %u, body type %u, %zu bytes declared (%zu given)", a->quote.version,
             a->quote.body_type, a->quote.quote_size, size);
        if (memcmp(a->quote.qe_vendor_id, intel_qe_vendor_id, 16) != 0)
                verdict_fail(&c, "quote.qe-vendor", "QE vendor ID is not Intel's quoting enclave");
        else
                verdict_pass(&c, "quote.qe-vendor", "Intel quoting enclave");

        chain = verify_pck_chain(&c, &a->quote, col, params);
        if (!chain)
                goto done;
        leaf = sk_X509_value(chain, 0);
        inter = sk_X509_value(chain, 1);
        root = sk_X509_value(chain, 2);

        free(reason);
        reason = NULL;
        if (tdx_pck_info_parse(leaf, &a->pck, &reason) < 0)
                verdict_fail(&c, "pck.extensions", "%s", reason ? reason : "SGX extension does not parse");
        else {
                _cleanup_free_ char *fmspc = hex_encode(a->pck.fmspc, 6);
                a->pck_info_ok = true;
                verdict_pass(&c, "pck.extensions", "FMSPC %s, PCESVN %u", fmspc ? fmspc : "?", a->pck.pcesvn);
        }

        verify_qe_report(&c, &a->quote, leaf);
        verify_quote_signature(&c, &a->quote);

        if (!col) {
                verdict_check(v, "collateral", CHECK_SKIP, "no collateral: the TCB status cannot be evaluated");
                goto done;
        }
        verify_root_crl(&c, col, root, inter, params->at);
        if (x509_spki_sha256(root, pck_root) < 0) {
                verdict_fail(&c, "collateral", "the PCK chain's root key cannot be encoded");
                goto done;
        }
        verify_pck_crl(&c, col, leaf, inter, params, pck_root);
        verify_tcb_info(&c, col, a, params, pck_root);
        verify_qe_identity(&c, col, &a->quote, params, pck_root);
        if (!c.ok || !a->pck_info_ok)
                goto done;
        a->collateral_checked = true;
        a->collateral_oldest = col->tcb_info->issue_date < col->qe_identity->issue_date ? col->tcb_info->issue_date
                                                                                       : col->qe_identity->issue_date;

        free(reason);
        reason = NULL;
        if (tdx_tcb_evaluate(col->tcb_info, col->qe_identity, &a->pck, &a->quote, &a->tcb, &reason) < 0) {
                verdict_fail(&c, "tcb.level", "%s", reason ? reason : "the TCB info does not apply to this quote");
                goto done;
        }
        a->tcb_evaluated = true;
        verdict_pass(&c, "tcb.level", "%s (platform %s, TDX module %s, QE %s)", tdx_tcb_status_to_string(a->tcb.status),
             tdx_tcb_status_to_string(a->tcb.platform_status),
             a->tcb.module_status >= 0 ? tdx_tcb_status_to_string(a->tcb.module_status) : "n/a",
             tdx_tcb_status_to_string(a->tcb.qe_status));

done:
        v->authentic = c.ok && !verdict_has_failed_check(v);
        if (!v->authentic && a->tcb_evaluated) {
                /* a status is only meaningful for authentic evidence */
                tdx_tcb_result_done(&a->tcb);
                a->tcb_evaluated = false;
        }
        if (a->parsed) {
                claims = tdx_quote_claims(&a->quote);
                if (!claims)
                        v->oom = true;
                else {
                        if (a->pck_info_ok)
                                json_object_object_add(claims, "pck", pck_claims(&a->pck));
                        add_tcb_claims(claims, a, col);
                        json_object_put(v->claims);
                        v->claims = claims;
                }
        }
        if (ret_appraisal)
                *ret_appraisal = *a;
        else
                tdx_appraisal_done(a);
        return v->oom ? -ENOMEM : 0;
}
