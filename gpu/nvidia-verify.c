/* SPDX-License-Identifier: Apache-2.0 */
/* Verification of one GPU's evidence (spec §1.5, §2): the report's ECDSA P-384/SHA-384 signature
 * over every byte before the signature with the leaf key; the five-certificate chain, each signed
 * by the next, up to the NVIDIA Device Identity CA pinned by the SHA-256 of its public key, every
 * certificate valid at the verification time; the leaf's FWID equal to the report's; the
 * requester nonce equal to the expected one. Every check is recorded; nothing is accepted because
 * a check was missing. */
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/reader.h"
#include "cvm/util.h"
#include "cvm/verified-cache.h"
#include "cvm/x509-cache.h"

/* SHA-256 over the DER SubjectPublicKeyInfo of NVIDIA's roots (vectors/nvidia/roots). */
const uint8_t nv_device_root_spki_sha256[32] = {
        0xa9, 0x0c, 0x4e, 0xb5, 0xac, 0xfd, 0x3e, 0x3d, 0x03, 0xa2, 0x5d, 0xb6, 0xa2, 0x6b, 0x84, 0xf7,
        0x20, 0xad, 0x05, 0x03, 0x19, 0x6c, 0x62, 0x7c, 0x21, 0xdd, 0xd4, 0x8d, 0xd8, 0x5b, 0x06, 0xa4,
};
const uint8_t nv_rim_root_spki_sha256[32] = {
        0xde, 0xc1, 0xdc, 0x31, 0x64, 0x77, 0xaa, 0x85, 0x1e, 0xeb, 0xdf, 0x51, 0x32, 0x7a, 0xe9, 0xf8,
        0x64, 0xbc, 0x8d, 0x89, 0x25, 0x46, 0x57, 0xed, 0x1e, 0x7e, 0xb9, 0x16, 0x8a, 0xf1, 0xe1, 0xa3,
};

/* ---- the chain object ---- */

int nv_chain_new(const uint8_t *data, size_t size, NvChain **ret) {
        _cleanup_(nv_chain_freep) NvChain *c = calloc(1, sizeof(NvChain));
        int r;

        if (!c)
                return -ENOMEM;
        c->links = -1;
        c->fwid_state = -1;
        r = x509_parse_many(data, size, &c->certs);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

NvChain *nv_chain_free(NvChain *c) {
        if (!c)
                return NULL;
        sk_X509_pop_free(c->certs, X509_free);
        free(c->links_error);
        free(c);
        return NULL;
}

X509 *nv_chain_leaf(const NvChain *c) {
        return c && c->certs && sk_X509_num(c->certs) > 0 ? sk_X509_value(c->certs, 0) : NULL;
}

/* ---- a little DER, for the FWID extensions ---- */

/* One TLV: tag (low-tag-number form only) and a sub-reader over the content. */
static int der_next(Reader *r, uint8_t *ret_tag, Reader *ret_content) {
        uint8_t tag, b;
        size_t len = 0;

        if (reader_u8(r, &tag) < 0 || (tag & 0x1f) == 0x1f || reader_u8(r, &b) < 0)
                return -EBADMSG;
        if (b < 0x80)
                len = b;
        else {
                unsigned n = b & 0x7f;
                if (n == 0 || n > 3)
                        return -EBADMSG;
                for (unsigned i = 0; i < n; i++) {
                        if (reader_u8(r, &b) < 0)
                                return -EBADMSG;
                        len = len << 8 | b;
                }
        }
        if (reader_sub(r, len, ret_content) < 0)
                return -EBADMSG;
        *ret_tag = tag;
        return 0;
}

static const uint8_t oid_sha384[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 };

/* SEQUENCE { OID sha384, OCTET STRING (48) } */
static int der_fwid_digest(Reader *seq, uint8_t ret[NV_FWID_SIZE]) {
        Reader oid, digest;
        uint8_t tag;

        if (der_next(seq, &tag, &oid) < 0 || tag != 0x06 || oid.size != sizeof(oid_sha384) ||
            memcmp(oid.p, oid_sha384, sizeof(oid_sha384)) != 0)
                return -EBADMSG;
        if (der_next(seq, &tag, &digest) < 0 || tag != 0x04 || digest.size != NV_FWID_SIZE ||
            reader_remaining(seq) != 0)
                return -EBADMSG;
        memcpy(ret, digest.p, NV_FWID_SIZE);
        return 0;
}

/* Hopper: SEQUENCE { INTEGER, SubjectPublicKeyInfo, SEQUENCE { OID sha384, OCTET STRING } }; the
 * FWID is the last element. */
static int fwid_hopper(const uint8_t *p, size_t n, uint8_t ret[NV_FWID_SIZE]) {
        Reader r = reader_init(p, n), outer, el, last = {};
        uint8_t tag, last_tag = 0;

        if (der_next(&r, &tag, &outer) < 0 || tag != 0x30 || reader_remaining(&r) != 0)
                return -EBADMSG;
        while (reader_remaining(&outer) > 0) {
                if (der_next(&outer, &tag, &el) < 0)
                        return -EBADMSG;
                last = el;
                last_tag = tag;
        }
        if (last_tag != 0x30)
                return -EBADMSG;
        return der_fwid_digest(&last, ret);
}

/* Blackwell, TCG DICE TcbInfo: SEQUENCE { [0] vendor, [1] model, ..., [6] fwids SEQUENCE OF
 * SEQUENCE { OID, OCTET STRING }, ... }; the FWID is the first fwids entry. */
static int fwid_tcbinfo(const uint8_t *p, size_t n, uint8_t ret[NV_FWID_SIZE]) {
        Reader r = reader_init(p, n), outer, el, first;
        uint8_t tag;

        if (der_next(&r, &tag, &outer) < 0 || tag != 0x30 || reader_remaining(&r) != 0)
                return -EBADMSG;
        while (reader_remaining(&outer) > 0) {
                if (der_next(&outer, &tag, &el) < 0)
                        return -EBADMSG;
                if (tag != 0xA6)
                        continue;
                if (der_next(&el, &tag, &first) < 0 || tag != 0x30)
                        return -EBADMSG;
                return der_fwid_digest(&first, ret);
        }
        return -EBADMSG; /* a TcbInfo without fwids */
}

static int find_ext(X509 *cert, const char *oid, const uint8_t **ret, size_t *ret_size) {
        _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
        const ASN1_OCTET_STRING *s;
        X509_EXTENSION *ext;
        int idx;

        if (!obj) {
                openssl_clear_errors();
                return -ENOMEM;
        }
        idx = X509_get_ext_by_OBJ(cert, obj, -1);
        if (idx < 0)
                return 0;
        if (X509_get_ext_by_OBJ(cert, obj, idx) >= 0)
                return -EBADMSG; /* twice: ambiguous */
        ext = X509_get_ext(cert, idx);
        s = X509_EXTENSION_get_data(ext);
        if (!s)
                return -EBADMSG;
        *ret = ASN1_STRING_get0_data(s);
        *ret_size = (size_t) ASN1_STRING_length(s);
        return 1;
}

int nv_leaf_fwid(X509 *leaf, uint8_t ret[NV_FWID_SIZE]) {
        const uint8_t *p;
        size_t n;
        int k;

        k = find_ext(leaf, "2.23.133.5.4.1.1", &p, &n);
        if (k < 0)
                return k;
        if (k > 0)
                return fwid_tcbinfo(p, n, ret) < 0 ? -EBADMSG : 1;
        k = find_ext(leaf, "2.23.133.5.4.1", &p, &n);
        if (k <= 0)
                return k;
        return fwid_hopper(p, n, ret) < 0 ? -EBADMSG : 1;
}

/* ---- certificate chains ---- */

static char *cert_label(X509 *c, size_t i) {
        _cleanup_free_ char *cn = x509_subject_cn(c);
        return strdup_printf("certificate %zu (%s)", i, cn ? cn : "no CN");
}

/* Which link's signature fails, for the reason (only called when path validation failed). */
static int chain_find_bad_link(STACK_OF(X509) *certs, size_t n, char **ret_reason) {
        for (size_t i = 0; i < n; i++) {
                X509 *c = sk_X509_value(certs, (int) i), *issuer = sk_X509_value(certs, (int) (i + 1 < n ? i + 1 : i));
                _cleanup_free_ char *label = cert_label(c, i);
                int k = x509_signed_by(c, X509_get0_pubkey(issuer));

                if (k < 0)
                        return set_reason(ret_reason, 0, "%s: signature cannot be checked", label ?: "?");
                if (k == 0)
                        return set_reason(ret_reason, 0, "%s: signature does not verify with the %s", label ?: "?",
                                            i + 1 == n ? "root's own key" : "next certificate's key");
        }
        return -1;
}

/* What does not depend on the time: the chain's shape (length, P-384 keys, ecdsa-with-SHA384,
 * each issuer the next subject, CAs above the leaf), then OpenSSL's path validation (strict, no
 * time check) with the last certificate as the only trust anchor, which must build exactly the
 * chain given, so each certificate is signed by the next. */
static int chain_links(STACK_OF(X509) *certs, size_t want_len, char **ret_reason) {
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        _cleanup_(sk_X509_freep) STACK_OF(X509) *untrusted = NULL;
        size_t n = certs ? (size_t) sk_X509_num(certs) : 0;
        STACK_OF(X509) *built;
        X509_VERIFY_PARAM *param;
        int k;

        if (want_len ? n != want_len : (n < 2 || n > 8))
                return set_reason(ret_reason, 0, "the chain has %zu certificates, expected %s%zu", n, want_len ? "" : "2 to ",
                                    want_len ? want_len : 8);
        for (size_t i = 0; i < n; i++) {
                X509 *c = sk_X509_value(certs, (int) i), *issuer = sk_X509_value(certs, (int) (i + 1 < n ? i + 1 : i));
                _cleanup_free_ char *label = cert_label(c, i);

                if (!pkey_is_ec_curve(X509_get0_pubkey(c), NID_secp384r1))
                        return set_reason(ret_reason, 0, "%s: key is not EC P-384", label ?: "?");
                if (X509_get_signature_nid(c) != NID_ecdsa_with_SHA384)
                        return set_reason(ret_reason, 0, "%s: signature algorithm is not ecdsa-with-SHA384", label ?: "?");
                if (X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(issuer)) != 0)
                        return set_reason(ret_reason, 0, "%s: issuer is not the subject of the next certificate%s",
                                            label ?: "?", i + 1 == n ? " (the root is not self-issued)" : "");
                if (i > 0 && X509_check_ca(c) < 1)
                        return set_reason(ret_reason, 0, "%s: not a CA certificate", label ?: "?");
        }

        store = X509_STORE_new();
        ctx = X509_STORE_CTX_new();
        untrusted = sk_X509_new_null();
        if (!store || !ctx || !untrusted)
                return -ENOMEM;
        if (!X509_STORE_add_cert(store, sk_X509_value(certs, (int) n - 1)))
                goto oom;
        for (size_t i = 1; i + 1 < n; i++)
                if (!sk_X509_push(untrusted, sk_X509_value(certs, (int) i)))
                        goto oom;
        if (!X509_STORE_CTX_init(ctx, store, sk_X509_value(certs, 0), untrusted))
                goto oom;
        param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_NO_CHECK_TIME |
                                                   X509_V_FLAG_CHECK_SS_SIGNATURE);
        X509_VERIFY_PARAM_set_depth(param, (int) n);
        k = X509_verify_cert(ctx);
        openssl_clear_errors();
        if (k != 1) {
                int err = X509_STORE_CTX_get_error(ctx);
                if (chain_find_bad_link(certs, n, ret_reason) == 0)
                        return 0;
                return set_reason(ret_reason, 0, "path validation failed: %s", X509_verify_cert_error_string(err));
        }
        built = X509_STORE_CTX_get0_chain(ctx);
        if ((size_t) sk_X509_num(built) != n)
                return set_reason(ret_reason, 0, "path validation built a chain of %d certificates, not the %zu given",
                                    sk_X509_num(built), n);
        for (size_t i = 0; i < n; i++)
                if (X509_cmp(sk_X509_value(built, (int) i), sk_X509_value(certs, (int) i)) != 0)
                        return set_reason(ret_reason, 0, "path validation built a different chain than the one given");
        return 1;
oom:
        openssl_clear_errors();
        return -ENOMEM;
}

/* The key of a chain's link checks in the process's verified cache: every certificate's bytes,
 * in order, and the length asked for; the window is the certificates' common validity. */
static bool chain_key(STACK_OF(X509) *certs, size_t want_len, uint8_t ret[32], int64_t *ret_from, int64_t *ret_until) {
        uint8_t digests[8 * 32], all[32], shape[32] = { (uint8_t) want_len };
        int n = certs ? sk_X509_num(certs) : 0;
        int64_t from = INT64_MIN, until = INT64_MAX;

        if (n < 1 || n > 8)
                return false;
        for (int i = 0; i < n; i++) {
                X509 *c = sk_X509_value(certs, i);
                int64_t nb, na;

                if (x509_der_sha256(c, digests + 32 * i) < 0 || x509_not_before(c, &nb) < 0 || x509_not_after(c, &na) < 0)
                        return false;
                from = nb > from ? nb : from;
                until = na < until ? na : until;
        }
        sha256(digests, 32 * (size_t) n, all);
        verified_cache_key(ret, "nv-chain-links", all, shape);
        *ret_from = from;
        *ret_until = until;
        return true;
}

/* chain_links() once per chain (by its certificates' bytes) while every certificate is valid:
 * a board's GPUs re-attest with the same chains, and RIMs share their signers. */
static int chain_links_cached(STACK_OF(X509) *certs, size_t want_len, int64_t at, char **ret_reason) {
        uint8_t key[32];
        int64_t from = 0, until = -1;
        bool keyed = chain_key(certs, want_len, key, &from, &until);
        int k;

        if (keyed && verified_cache_lookup(key, at))
                return 1;
        k = chain_links(certs, want_len, ret_reason);
        if (k == 1 && keyed)
                verified_cache_remember(key, from, until);
        return k;
}

static int chain_validity(STACK_OF(X509) *certs, int64_t at, char **ret_reason) {
        char t[32], nb[32] = "?", na[32] = "?";

        for (int i = 0; i < sk_X509_num(certs); i++) {
                X509 *c = sk_X509_value(certs, i);
                Validity val = x509_validity_at(c, at);
                _cleanup_free_ char *label = NULL;
                int64_t x;

                if (val == VALIDITY_OK)
                        continue;
                label = cert_label(c, (size_t) i);
                if (x509_not_before(c, &x) >= 0)
                        format_rfc3339(x, nb, sizeof(nb));
                if (x509_not_after(c, &x) >= 0)
                        format_rfc3339(x, na, sizeof(na));
                return set_reason(ret_reason, 0, "at %s %s %s (valid %s to %s)", format_rfc3339(at, t, sizeof(t)),
                                  label ?: "a certificate",
                                  val == VALIDITY_NOT_YET_VALID ? "is not yet valid" : "has expired", nb, na);
        }
        return 1;
}

int nv_chain_prepare(const uint8_t *data, size_t size, int64_t at) {
        _cleanup_(nv_chain_freep) NvChain *c = NULL;
        _cleanup_free_ char *why = NULL;
        int r;

        r = nv_chain_new(data, size, &c);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        return chain_links_cached(c->certs, NV_CHAIN_LENGTH, at, &why);
}

static int chain_pinned(const uint8_t digest[32], const NvPin *pins, size_t n_pins, char **ret_reason) {
        _cleanup_free_ char *h = NULL;

        for (size_t i = 0; i < n_pins; i++)
                if (memcmp(pins[i].spki_sha256, digest, 32) == 0)
                        return 1;
        h = hex_encode(digest, 32);
        return set_reason(ret_reason, 0, "the root's public key (SHA-256 %s) is not a pinned root", h ?: "?");
}

int nv_cert_chain_verify(STACK_OF(X509) *certs, size_t want_len, const NvPin *pins, size_t n_pins, int64_t at,
                         char **ret_reason) {
        uint8_t digest[32];
        int k;

        k = chain_links_cached(certs, want_len, at, ret_reason);
        if (k <= 0)
                return k;
        if (x509_spki_sha256(sk_X509_value(certs, sk_X509_num(certs) - 1), digest) < 0)
                return set_reason(ret_reason, 0, "the root's public key cannot be encoded");
        k = chain_pinned(digest, pins, n_pins, ret_reason);
        if (k <= 0)
                return k;
        return chain_validity(certs, at, ret_reason);
}

/* ---- one GPU ---- */

typedef struct Ctx {
        Verdict *v;
        const char *prefix;
} Ctx;

static void record(Ctx *c, const char *name, CheckStatus s, const char *fmt, ...) _printf_(4, 5);
static void record(Ctx *c, const char *name, CheckStatus s, const char *fmt, ...) {
        _cleanup_free_ char *d = NULL, *full = strdup_printf("%s%s", c->prefix, name);
        va_list ap;

        va_start(ap, fmt);
        d = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!d || !full) {
                c->v->oom = true;
                return;
        }
        verdict_check(c->v, full, s, "%s", d);
}

static bool verify_signature(Ctx *c, const uint8_t *data, const NvReport *r, X509 *leaf) {
        _cleanup_(BN_freep) BIGNUM *br = NULL, *bs = NULL;
        EVP_PKEY *key = X509_get0_pubkey(leaf);
        uint8_t digest[SHA384_DIGEST_LENGTH];
        int k;

        if (!pkey_is_ec_curve(key, NID_secp384r1)) {
                record(c, "report.signature", CHECK_FAIL, "the leaf key is not an EC P-384 key");
                return false;
        }
        sha384(data, r->signed_size, digest);
        br = BN_bin2bn(r->signature, 48, NULL);
        bs = BN_bin2bn(r->signature + 48, 48, NULL);
        if (!br || !bs) {
                c->v->oom = true;
                return false;
        }
        k = ecdsa_verify_digest(key, digest, sizeof(digest), br, bs);
        if (k != 1) {
                record(c, "report.signature", CHECK_FAIL,
                       "ECDSA P-384/SHA-384 signature over report bytes [0, %zu) does not verify with the leaf key",
                       r->signed_size);
                return false;
        }
        record(c, "report.signature", CHECK_PASS, "ECDSA P-384/SHA-384 over report bytes [0, %zu) verifies with the leaf key",
               r->signed_size);
        return true;
}

static bool verify_chain(Ctx *c, NvChain *chain, const NvVerifyParams *p) {
        static const NvPin builtin = { .spki_sha256 = {} };
        _cleanup_free_ char *why = NULL;
        const NvPin *pins = p->root_pins;
        size_t n_pins = p->n_root_pins;
        NvPin def = builtin;
        char t[32];
        int k;

        if (!pins) {
                memcpy(def.spki_sha256, nv_device_root_spki_sha256, 32);
                pins = &def;
                n_pins = 1;
        }
        if (chain->links < 0) {
                k = chain_links_cached(chain->certs, NV_CHAIN_LENGTH, p->at, &chain->links_error);
                if (k < 0) {
                        record(c, "chain", CHECK_FAIL, "the chain could not be checked: %s", strerror(-k));
                        c->v->oom = c->v->oom || k == -ENOMEM;
                        return false;
                }
                chain->links = k;
        }
        if (!chain->links) {
                record(c, "chain", CHECK_FAIL, "%s", chain->links_error ?: "the chain does not verify");
                return false;
        }
        if (!chain->root_digest_ok) {
                if (x509_spki_sha256(sk_X509_value(chain->certs, NV_CHAIN_LENGTH - 1), chain->root_digest) < 0) {
                        record(c, "chain", CHECK_FAIL, "the root's public key cannot be encoded");
                        return false;
                }
                chain->root_digest_ok = true;
        }
        if (chain_pinned(chain->root_digest, pins, n_pins, &why) <= 0 ||
            chain_validity(chain->certs, p->at, &why) <= 0) {
                record(c, "chain", CHECK_FAIL, "%s", why ?: "out of memory");
                return false;
        }
        record(c, "chain", CHECK_PASS,
               "5 certificates, each signed by the next, up to the pinned NVIDIA Device Identity CA; all valid at %s",
               format_rfc3339(p->at, t, sizeof(t)));
        return true;
}

static bool verify_fwid(Ctx *c, NvChain *chain, const NvReport *r) {
        if (!r->has_fwid) {
                record(c, "fwid", CHECK_SKIP, "the report carries no FWID (drivers before 550 omit it); nothing to bind");
                return true;
        }
        if (chain->fwid_state == -1) {
                int k = nv_leaf_fwid(nv_chain_leaf(chain), chain->fwid);
                chain->fwid_state = k == -ENOMEM ? -1 : k < 0 ? -2 : k;
                if (k == -ENOMEM) {
                        c->v->oom = true;
                        return false;
                }
        }
        if (chain->fwid_state == -2) {
                record(c, "fwid", CHECK_FAIL, "the leaf's FWID extension is malformed");
                return false;
        }
        if (chain->fwid_state == 0) {
                record(c, "fwid", CHECK_FAIL,
                       "the report carries an FWID but the leaf has no FWID extension (2.23.133.5.4.1 or 2.23.133.5.4.1.1)");
                return false;
        }
        if (memcmp(chain->fwid, r->fwid, NV_FWID_SIZE) != 0) {
                _cleanup_free_ char *a = hex_encode(r->fwid, NV_FWID_SIZE), *b = hex_encode(chain->fwid, NV_FWID_SIZE);
                record(c, "fwid", CHECK_FAIL, "the report's FWID %s differs from the leaf's %s", a ?: "?", b ?: "?");
                return false;
        }
        record(c, "fwid", CHECK_PASS, "the report's FWID equals the leaf certificate's");
        return true;
}

static bool verify_nonce(Ctx *c, const NvReport *r, const uint8_t *want, bool *ret_checked) {
        _cleanup_free_ char *got = NULL, *exp = NULL;

        *ret_checked = false;
        if (!want) {
                record(c, "nonce", CHECK_SKIP, "no expected nonce given: the report's freshness is not established");
                return true;
        }
        *ret_checked = true;
        if (memcmp(r->nonce, want, NV_NONCE_SIZE) == 0) {
                record(c, "nonce", CHECK_PASS, "the request nonce equals the expected nonce");
                return true;
        }
        got = hex_encode(r->nonce, NV_NONCE_SIZE);
        exp = hex_encode(want, NV_NONCE_SIZE);
        record(c, "nonce", CHECK_FAIL, "the request nonce %s differs from the expected %s", got ?: "?", exp ?: "?");
        return false;
}

int nv_verify(const uint8_t *data, size_t size, NvChain *chain, const NvVerifyParams *p, NvAppraisal *ret,
              Verdict *v) {
        _cleanup_free_ NvAppraisal *a = calloc(1, sizeof(NvAppraisal));
        _cleanup_free_ char *reason = NULL;
        Ctx c = { .v = v, .prefix = p->prefix ?: "" };
        bool ok = true;

        if (!a)
                return -ENOMEM;
        if (nv_report_parse(data, size, &a->report, &reason) < 0) {
                record(&c, "report.parse", CHECK_FAIL, "%s", reason ?: "malformed report");
                ok = false;
        } else {
                a->parsed = true;
                record(&c, "report.parse", CHECK_PASS, "%zu bytes, %u measurement blocks, %zu bytes of opaque data", size,
                       a->report.n_blocks, a->report.opaque_size);
        }

        if (!chain || !nv_chain_leaf(chain)) {
                record(&c, "chain", CHECK_FAIL, "no certificate chain for this GPU");
                ok = false;
        } else if (!verify_chain(&c, chain, p))
                ok = false;

        if (a->parsed && chain && nv_chain_leaf(chain)) {
                if (!verify_signature(&c, data, &a->report, nv_chain_leaf(chain)))
                        ok = false;
                if (!verify_fwid(&c, chain, &a->report))
                        ok = false;
                a->fwid_checked = a->report.has_fwid;
        }
        if (a->parsed && !verify_nonce(&c, &a->report, p->expected_nonce, &a->nonce_checked))
                ok = false;

        a->authentic = ok && !v->oom;
        if (ret)
                *ret = *a;
        return v->oom ? -ENOMEM : 0;
}
