/* SPDX-License-Identifier: Apache-2.0 */
/* NVIDIA GPU evidence: the report parser on synthetic reports (every field, duplicates, trailing
 * bytes, truncations), and on real evidence ($CVM_VECTORS; skipped without it): bit flips across
 * the report and across every certificate of the chain are rejected, truncations are rejected,
 * a wrong nonce and a wrong time are rejected, RIM signature tampering is rejected, and the
 * measurement rules (RIM index i vs block i+1, alternatives, NVDEC, golden lists) hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/util.h"

static char *vector_path(const char *rel) {
        const char *root = getenv("CVM_VECTORS");
        return strdup_printf("%s/nvidia/%s", root && *root ? root : "../shared/vectors", rel);
}

static int load(const char *rel, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *p = vector_path(rel);
        return p ? read_file_bounded(p, CVM_INPUT_MAX, ret, ret_size) : -ENOMEM;
}

/* ---- synthetic reports ---- */

typedef struct Buf {
        uint8_t b[8192];
        size_t n;
} Buf;

static void put(Buf *b, const void *p, size_t n) {
        assert_true(b->n + n <= sizeof(b->b));
        memcpy(b->b + b->n, p, n);
        b->n += n;
}

static void put_tlv(Buf *b, uint16_t type, const void *v, uint16_t len) {
        uint8_t h[4] = { (uint8_t) type, (uint8_t) (type >> 8), (uint8_t) len, (uint8_t) (len >> 8) };
        put(b, h, 4);
        put(b, v, len);
}

/* A report with two blocks and the usual opaque fields; `extra` adds one more TLV (0: none). */
static void make_report(Buf *out, uint16_t extra_type, const void *extra, uint16_t extra_len, bool with_fwid) {
        Buf opaque = {};
        uint8_t req[37] = { 0x11, 0xE0, 0x01, 0xFF }, hdr[8] = { 0x11, 0x60, 0, 0, 2 }, blk[55], nonce[32], sig[96];
        uint8_t vbios[8] = { 0x00, 0x9f, 0x00, 0x96, 0x01, 0, 0, 0 }, fwid[48], nvdec = 0x55;
        size_t rec = 2 * sizeof(blk);

        *out = (Buf) {};
        memset(req + 4, 0xAB, 32);
        put(out, req, sizeof(req));
        hdr[5] = (uint8_t) rec;
        hdr[6] = (uint8_t) (rec >> 8);
        hdr[7] = 0;
        put(out, hdr, sizeof(hdr));
        for (int i = 0; i < 2; i++) {
                blk[0] = (uint8_t) (i + 1);
                blk[1] = 1;
                blk[2] = 51;
                blk[3] = 0;
                blk[4] = 1;
                blk[5] = 48;
                blk[6] = 0;
                memset(blk + 7, 0x10 + i, 48);
                put(out, blk, sizeof(blk));
        }
        memset(nonce, 0xCD, sizeof(nonce));
        put(out, nonce, sizeof(nonce));
        put_tlv(&opaque, 6, vbios, 8);
        put_tlv(&opaque, 3, "550.90.07\0", 10);
        put_tlv(&opaque, 17, "1010\0", 5);
        put_tlv(&opaque, 18, "0200\0", 5);
        put_tlv(&opaque, 15, "882\0\0\0\0\0\0", 9);
        put_tlv(&opaque, 11, &nvdec, 1);
        if (with_fwid) {
                memset(fwid, 0x77, sizeof(fwid));
                put_tlv(&opaque, 20, fwid, 48);
        }
        if (extra_type)
                put_tlv(&opaque, extra_type, extra, extra_len);
        put(out, (uint8_t[]) { (uint8_t) opaque.n, (uint8_t) (opaque.n >> 8) }, 2);
        put(out, opaque.b, opaque.n);
        memset(sig, 0x42, sizeof(sig));
        put(out, sig, sizeof(sig));
}

static void test_parse_synthetic(void **state) {
        _cleanup_free_ NvReport *r = calloc(1, sizeof(NvReport));
        _cleanup_free_ char *reason = NULL, *drv = NULL, *vb = NULL;
        Buf b;

        assert_non_null(r);
        make_report(&b, 0, NULL, 0, true);
        assert_int_equal(nv_report_parse(b.b, b.n, r, &reason), 0);
        assert_string_equal(r->driver_version, "550.90.07");
        assert_string_equal(r->vbios_version, "96.00.9F.00.01");
        assert_int_equal(r->n_blocks, 2);
        assert_int_equal(r->blocks[1].index, 2);
        assert_int_equal(r->blocks[1].value[0], 0x11);
        assert_true(r->has_fwid);
        assert_int_equal(r->nvdec0_status, 0x55);
        assert_int_equal(r->nonce[0], 0xAB);
        assert_int_equal(r->responder_nonce[0], 0xCD);
        assert_int_equal(r->signed_size, b.n - 96);
        assert_int_equal(nv_report_driver_rim_id(r, &drv), 0);
        assert_string_equal(drv, "NV_GPU_DRIVER_GH100_550.90.07");
        assert_int_equal(nv_report_vbios_rim_id(r, &vb), 0);
        assert_string_equal(vb, "NV_GPU_VBIOS_1010_0200_882_96009F0001");
}

static void expect_refused(const uint8_t *p, size_t n, const char *needle) {
        _cleanup_free_ NvReport *r = calloc(1, sizeof(NvReport));
        _cleanup_free_ char *reason = NULL;

        assert_non_null(r);
        r->n_blocks = 77; /* must stay untouched */
        assert_int_equal(nv_report_parse(p, n, r, &reason), -EBADMSG);
        assert_int_equal(r->n_blocks, 77);
        assert_non_null(reason);
        if (needle && !strstr(reason, needle))
                fail_msg("reason '%s' lacks '%s'", reason, needle);
}

static void test_parse_refusals(void **state) {
        uint8_t big[NV_REPORT_SIZE_MAX + 1] = {};
        Buf b;

        /* trailing bytes after the signature are not signed: refused */
        make_report(&b, 0, NULL, 0, false);
        b.b[b.n++] = 0;
        expect_refused(b.b, b.n, "after the signature");
        /* every truncation */
        make_report(&b, 0, NULL, 0, false);
        for (size_t n = 0; n < b.n; n++)
                expect_refused(b.b, n, NULL);
        /* a duplicated TLV is ambiguous */
        make_report(&b, 3, "1.0\0", 4, false);
        expect_refused(b.b, b.n, "twice");
        /* malformed typed fields */
        make_report(&b, 20, "short", 5, false);
        expect_refused(b.b, b.n, "FWID");
        make_report(&b, 22, "1234567", 7, false);
        expect_refused(b.b, b.n, "SWITCH_PDI");
        make_report(&b, 35, "GB\x01", 3, false);
        expect_refused(b.b, b.n, "printable");
        /* header fields */
        make_report(&b, 0, NULL, 0, false);
        b.b[1] = 0xE1;
        expect_refused(b.b, b.n, "GET_MEASUREMENTS");
        make_report(&b, 0, NULL, 0, false);
        b.b[38] = 0x61;
        expect_refused(b.b, b.n, "MEASUREMENTS");
        make_report(&b, 0, NULL, 0, false);
        b.b[42] ^= 1; /* record length no longer matches the blocks */
        expect_refused(b.b, b.n, NULL);
        make_report(&b, 0, NULL, 0, false);
        b.b[45 + 55] = 1; /* second block index not ascending */
        expect_refused(b.b, b.n, "ascending");
        expect_refused(big, sizeof(big), "more than");
        expect_refused(big, 0, "empty");
}

/* ---- real evidence ---- */

typedef struct Fixture {
        uint8_t *report, *pem, *nonce_hex;
        size_t size, pem_size, nonce_size;
        uint8_t nonce[32];
        int64_t at;
} Fixture;

static int setup_case(void **state, const char *id, const char *at) {
        Fixture *f = calloc(1, sizeof(*f));
        char rel[256];

        assert_non_null(f);
        *state = f;
        snprintf(rel, sizeof(rel), "%s/report.bin", id);
        if (load(rel, &f->report, &f->size) < 0)
                return 0; /* tests skip */
        snprintf(rel, sizeof(rel), "%s/chain.pem", id);
        assert_int_equal(load(rel, &f->pem, &f->pem_size), 0);
        snprintf(rel, sizeof(rel), "%s/nonce.hex", id);
        assert_int_equal(load(rel, &f->nonce_hex, &f->nonce_size), 0);
        assert_int_equal(hex_decode_exact((char *) f->nonce_hex, f->nonce, 32), 0);
        assert_int_equal(parse_rfc3339(at, &f->at), 0);
        return 0;
}

static int setup_hopper(void **state) {
        return setup_case(state, "nvtrust_2025_h100_550.90.07", "2026-01-01T00:00:00Z");
}

static int setup_blackwell(void **state) {
        return setup_case(state, "trustee_pr1551_gb202_595.58.03", "2026-01-01T00:00:00Z");
}

static int setup_545(void **state) {
        return setup_case(state, "nvtrust_2023_h100_545.00", "2024-01-01T00:00:00Z");
}

static int teardown(void **state) {
        Fixture *f = *state;

        free(f->report);
        free(f->pem);
        free(f->nonce_hex);
        free(f);
        return 0;
}

/* 1 authentic, 0 not. */
static int verify_with(const uint8_t *report, size_t size, NvChain *chain, const uint8_t *nonce, int64_t at) {
        _cleanup_(verdict_done) Verdict v = {};
        NvVerifyParams p = { .at = at, .expected_nonce = nonce };
        NvAppraisal a;

        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        assert_int_equal(nv_verify(report, size, chain, &p, &a, &v), 0);
        if (a.authentic)
                assert_false(verdict_has_failed_check(&v));
        return a.authentic;
}

static int verify_fixture(Fixture *f, const uint8_t *report, size_t size) {
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;

        assert_int_equal(nv_chain_new(f->pem, f->pem_size, &chain), 0);
        return verify_with(report, size, chain, f->nonce, f->at);
}

#define SKIP_WITHOUT_VECTORS(f)                                                                    \
        do {                                                                                       \
                if (!(f)->report)                                                                  \
                        skip();                                                                    \
        } while (0)

static void test_authentic(void **state) {
        Fixture *f = *state;
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;
        uint8_t fwid[48];
        int64_t early;

        SKIP_WITHOUT_VECTORS(f);
        assert_int_equal(verify_fixture(f, f->report, f->size), 1);
        assert_int_equal(nv_chain_new(f->pem, f->pem_size, &chain), 0);
        assert_int_equal(nv_leaf_fwid(nv_chain_leaf(chain), fwid), 1);
        /* the same chain object twice (cached link results) */
        assert_int_equal(verify_with(f->report, f->size, chain, f->nonce, f->at), 1);
        assert_int_equal(verify_with(f->report, f->size, chain, f->nonce, f->at), 1);
        /* no expected nonce: still authentic (the check is "skip"); a different one: not */
        assert_int_equal(verify_with(f->report, f->size, chain, NULL, f->at), 1);
        {
                uint8_t other[32];
                memcpy(other, f->nonce, 32);
                other[31] ^= 1;
                assert_int_equal(verify_with(f->report, f->size, chain, other, f->at), 0);
        }
        /* before the leaf's notBefore */
        assert_int_equal(parse_rfc3339("2019-01-01T00:00:00Z", &early), 0);
        assert_int_equal(verify_with(f->report, f->size, chain, f->nonce, early), 0);
}

static void test_report_bit_flips(void **state) {
        Fixture *f = *state;
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;
        _cleanup_free_ uint8_t *copy = NULL;
        unsigned flips = 0;

        SKIP_WITHOUT_VECTORS(f);
        assert_int_equal(nv_chain_new(f->pem, f->pem_size, &chain), 0);
        copy = malloc(f->size);
        assert_non_null(copy);
        memcpy(copy, f->report, f->size);
        /* every byte, one bit each (rotating), is covered by the signature or the parser */
        for (size_t off = 0; off < f->size; off += 3) {
                copy[off] ^= (uint8_t) (1u << (off % 8));
                if (verify_with(copy, f->size, chain, f->nonce, f->at) != 0)
                        fail_msg("a bit flip at report offset %zu was accepted", off);
                copy[off] = f->report[off];
                flips++;
        }
        assert_true(flips > 1000);
}

static void test_truncations(void **state) {
        Fixture *f = *state;
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;
        _cleanup_free_ uint8_t *longer = NULL;

        SKIP_WITHOUT_VECTORS(f);
        assert_int_equal(nv_chain_new(f->pem, f->pem_size, &chain), 0);
        for (size_t n = 0; n < f->size; n += 13)
                assert_int_equal(verify_with(f->report, n, chain, f->nonce, f->at), 0);
        assert_int_equal(verify_with(f->report, f->size - 1, chain, f->nonce, f->at), 0);
        longer = calloc(1, f->size + 1);
        assert_non_null(longer);
        memcpy(longer, f->report, f->size);
        assert_int_equal(verify_with(longer, f->size + 1, chain, f->nonce, f->at), 0);
}

/* Re-encodes the chain with one byte of certificate `which` flipped; NULL when it no longer parses. */
static NvChain *chain_with_flip(Fixture *f, int which, size_t off, bool *ret_in_range) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        _cleanup_(BIO_freep) BIO *out = BIO_new(BIO_s_mem());
        NvChain *c = NULL;
        char *pem;
        long len;

        assert_int_equal(x509_parse_many(f->pem, f->pem_size, &sk), 0);
        *ret_in_range = false;
        for (int i = 0; i < sk_X509_num(sk); i++) {
                unsigned char *der = NULL;
                int n = i2d_X509(sk_X509_value(sk, i), &der);

                assert_true(n > 0);
                if (i == which && off < (size_t) n) {
                        der[off] ^= 0x01;
                        *ret_in_range = true;
                }
                {
                        const unsigned char *p = der;
                        X509 *x = d2i_X509(NULL, &p, n);
                        if (!x || p != der + n) {
                                X509_free(x);
                                OPENSSL_free(der);
                                openssl_clear_errors();
                                return NULL;
                        }
                        assert_true(PEM_write_bio_X509(out, x));
                        X509_free(x);
                }
                OPENSSL_free(der);
        }
        len = BIO_get_mem_data(out, &pem);
        if (nv_chain_new((uint8_t *) pem, (size_t) len, &c) < 0)
                return NULL;
        return c;
}

static void test_chain_bit_flips(void **state) {
        Fixture *f = *state;
        unsigned tried = 0;

        SKIP_WITHOUT_VECTORS(f);
        for (int which = 0; which < 5; which++)
                for (size_t off = 0;; off += 7) {
                        bool in_range;
                        NvChain *c = chain_with_flip(f, which, off, &in_range);

                        if (!in_range) {
                                nv_chain_free(c);
                                break;
                        }
                        tried++;
                        if (c && verify_with(f->report, f->size, c, f->nonce, f->at) != 0)
                                fail_msg("a flip at byte %zu of certificate %d was accepted", off, which);
                        nv_chain_free(c);
                }
        assert_true(tried > 300);
}

static void test_chain_shape(void **state) {
        Fixture *f = *state;
        _cleanup_(nv_chain_freep) NvChain *c = NULL;
        X509 *x;

        SKIP_WITHOUT_VECTORS(f);
        /* four certificates (root dropped): refused */
        assert_int_equal(nv_chain_new(f->pem, f->pem_size, &c), 0);
        x = sk_X509_pop(c->certs);
        X509_free(x);
        assert_int_equal(verify_with(f->report, f->size, c, f->nonce, f->at), 0);
        /* no chain at all */
        assert_int_equal(verify_with(f->report, f->size, NULL, f->nonce, f->at), 0);
        /* the right chain, a different pin */
        {
                _cleanup_(nv_chain_freep) NvChain *c2 = NULL;
                _cleanup_(verdict_done) Verdict v = {};
                NvPin pin = { .spki_sha256 = { 1 } };
                NvVerifyParams p = { .at = f->at, .root_pins = &pin, .n_root_pins = 1 };
                NvAppraisal a;

                assert_int_equal(nv_chain_new(f->pem, f->pem_size, &c2), 0);
                assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
                assert_int_equal(nv_verify(f->report, f->size, c2, &p, &a, &v), 0);
                assert_false(a.authentic);
                assert_non_null(strstr(v.reasons[0], "not a pinned root"));
        }
}

/* ---- RIMs and measurements ---- */

static int load_rim(const char *rel, NvRim **ret) {
        _cleanup_free_ uint8_t *d = NULL;
        size_t n;

        if (load(rel, &d, &n) < 0)
                return -ENOENT;
        return nv_rim_parse(d, n, ret, NULL);
}

static void test_rims_and_measurements(void **state) {
        Fixture *f = *state;
        _cleanup_(nv_rim_freep) NvRim *drv = NULL, *vb = NULL;
        _cleanup_free_ NvReport *r = calloc(1, sizeof(NvReport));
        _cleanup_(nv_meas_outcome_done) NvMeasOutcome o = {}, o2 = {}, o3 = {}, o4 = {};
        int64_t late;

        SKIP_WITHOUT_VECTORS(f);
        assert_non_null(r);
        assert_int_equal(load_rim("nvtrust_2023_h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml", &drv), 0);
        assert_int_equal(load_rim("nvtrust_2023_h100_545.00/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml", &vb), 0);
        assert_string_equal(drv->version, "545.00");
        assert_string_equal(vb->version, "96.00.5E.00.01");
        assert_int_equal(drv->n_entries, 64);
        assert_int_equal(sk_X509_num(drv->certs), 4);
        assert_int_equal(nv_rim_verify(drv, NULL, 0, f->at, NULL), 1);
        assert_int_equal(nv_rim_verify(vb, NULL, 0, f->at, NULL), 1);
        /* after the L4 signer expired (2025-06) */
        assert_int_equal(parse_rfc3339("2025-07-01T00:00:00Z", &late), 0);
        assert_int_equal(nv_rim_verify(drv, NULL, 0, late, NULL), 0);
        /* another pin */
        {
                NvPin pin = { .spki_sha256 = { 2 } };
                assert_int_equal(nv_rim_verify(drv, &pin, 1, f->at, NULL), 0);
        }

        assert_int_equal(nv_report_parse(f->report, f->size, r, NULL), 0);
        assert_int_equal(nv_measure_rims(r, drv, vb, &o), 0);
        assert_int_equal(o.result, NV_MEAS_MATCH);
        assert_int_equal(o.n_skipped, 1); /* index 35: NVDEC0 disabled */
        assert_int_equal(o.n_compared, 32);

        /* one changed block: mismatch naming its RIM index (block 8 is RIM index 7) */
        for (unsigned i = 0; i < r->n_blocks; i++)
                if (r->blocks[i].index == 8)
                        r->blocks[i].value[5] ^= 0x80;
        assert_int_equal(nv_measure_rims(r, drv, vb, &o2), 0);
        assert_int_equal(o2.result, NV_MEAS_MISMATCH);
        assert_int_equal(o2.n_mismatches, 1);
        assert_int_equal(o2.mismatches[0].index, 7);
        assert_int_equal(o2.mismatches[0].source, NV_MEAS_SOURCE_DRIVER);
        for (unsigned i = 0; i < r->n_blocks; i++)
                if (r->blocks[i].index == 8)
                        r->blocks[i].value[5] ^= 0x80;

        /* NVDEC enabled: index 35 is compared too */
        r->nvdec0_status = NV_NVDEC_ENABLED;
        assert_int_equal(nv_measure_rims(r, drv, vb, &o3), 0);
        assert_int_equal(o3.n_skipped, 0);
        assert_int_equal(o3.n_compared, 33);
        r->nvdec0_status = NV_NVDEC_DISABLED;

        /* only one RIM: not-checked unless it mismatches */
        assert_int_equal(nv_measure_rims(r, drv, NULL, &o4), 0);
        assert_int_equal(o4.result, NV_MEAS_NOT_CHECKED);
}

/* Replaces the first occurrence of `from` in the RIM text and re-parses. */
static int tampered_rim(const char *rel, const char *from, const char *to, NvRim **ret) {
        _cleanup_free_ uint8_t *d = NULL;
        _cleanup_free_ char *out = NULL;
        char *hit;
        size_t n;

        if (load(rel, &d, &n) < 0)
                return -ENOENT;
        hit = strstr((char *) d, from);
        assert_non_null(hit);
        out = strdup_printf("%.*s%s%s", (int) (hit - (char *) d), (char *) d, to, hit + strlen(from));
        assert_non_null(out);
        return nv_rim_parse((uint8_t *) out, strlen(out), ret, NULL);
}

static void test_rim_tamper(void **state) {
        static const char *rel = "nvtrust_2023_h100_545.00/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml";
        static const struct {
                const char *from, *to;
                int parse; /* expected nv_rim_parse result */
        } cases[] = {
                { "colloquialVersion=\"96.00.5E.00.01\"", "colloquialVersion=\"96.00.5E.00.02\"", 0 },
                { "active=\"True\"", "active=\"False\"", 0 },
                { "alternatives=\"1\" ns2:Hash0=\"", "alternatives=\"1\" ns2:Hash0=\"1", -EBADMSG },
                { "<ds:SignatureValue>", "<ds:SignatureValue>AAAA", 0 },
                { "<ds:Reference URI=\"\">", "<ds:Reference URI=\"#x\">", 0 },
                { "<ns0:Meta", "<ns0:Link href=\"x\"/><ns0:Meta", 0 },
                { "<SoftwareIdentity", "<!DOCTYPE x [<!ENTITY a \"b\">]><SoftwareIdentity", -EBADMSG },
        };
        Fixture *f = *state;

        SKIP_WITHOUT_VECTORS(f);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(nv_rim_freep) NvRim *rim = NULL;
                _cleanup_free_ char *why = NULL;
                int k = tampered_rim(rel, cases[i].from, cases[i].to, &rim);

                assert_int_equal(k, cases[i].parse);
                if (k < 0)
                        continue;
                if (nv_rim_verify(rim, NULL, 0, f->at, &why) != 0)
                        fail_msg("tamper case %zu (%s) verified", i, cases[i].to);
                assert_non_null(why);
        }
        /* a hash digit changed inside a Resource (same length): parses, does not verify */
        {
                _cleanup_(nv_rim_freep) NvRim *rim = NULL;
                assert_int_equal(tampered_rim(rel, "ns2:Hash0=\"0", "ns2:Hash0=\"1", &rim), 0);
                assert_int_equal(nv_rim_verify(rim, NULL, 0, f->at, NULL), 0);
        }
}

static void test_golden(void **state) {
        Fixture *f = *state;
        _cleanup_free_ NvReport *r = calloc(1, sizeof(NvReport));
        _cleanup_(nv_golden_freep) NvGolden *g = NULL;
        _cleanup_(nv_meas_outcome_done) NvMeasOutcome o = {}, o2 = {};
        _cleanup_free_ char *json = NULL, *h = NULL, *why = NULL;
        static const char *const bad[] = {
                "", "{}", "[]", "[{\"index\": 1}]", "[{\"index\": 300, \"values\": [\"00\"]}]",
                "[{\"index\": 1, \"values\": [\"0\"]}]", "[{\"index\": 1, \"values\": [\"00\"], \"x\": 1}]",
                "[{\"index\": 1, \"values\": [\"00\"]}, {\"index\": 1, \"values\": [\"00\"]}]",
                "[{\"index\": 1, \"values\": [\"00\", \"0000\"]}] x",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(nv_golden_freep) NvGolden *b = NULL;
                _cleanup_free_ char *reason = NULL;
                if (nv_golden_parse(bad[i], strlen(bad[i]), &b, &reason) != -EINVAL)
                        fail_msg("golden list '%s' was accepted", bad[i]);
        }
        SKIP_WITHOUT_VECTORS(f);
        assert_non_null(r);
        assert_int_equal(nv_report_parse(f->report, f->size, r, NULL), 0);
        h = hex_encode(nv_report_block(r, 3)->value, 48);
        json = strdup_printf("[{\"index\": 2, \"values\": [\"%0*d\", \"%s\"]}]\n", 96, 0, h);
        assert_int_equal(nv_golden_parse(json, strlen(json), &g, &why), 0);
        assert_int_equal(nv_measure_golden(r, g, &o), 0);
        assert_int_equal(o.result, NV_MEAS_MATCH);
        g->entries[0].alternatives[1][0] ^= 1;
        assert_int_equal(nv_measure_golden(r, g, &o2), 0);
        assert_int_equal(o2.result, NV_MEAS_MISMATCH);
        assert_int_equal(o2.mismatches[0].index, 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_synthetic),
                cmocka_unit_test(test_parse_refusals),
                cmocka_unit_test_setup_teardown(test_authentic, setup_hopper, teardown),
                cmocka_unit_test_setup_teardown(test_authentic, setup_blackwell, teardown),
                cmocka_unit_test_setup_teardown(test_report_bit_flips, setup_hopper, teardown),
                cmocka_unit_test_setup_teardown(test_truncations, setup_hopper, teardown),
                cmocka_unit_test_setup_teardown(test_chain_bit_flips, setup_blackwell, teardown),
                cmocka_unit_test_setup_teardown(test_chain_shape, setup_hopper, teardown),
                cmocka_unit_test_setup_teardown(test_rims_and_measurements, setup_545, teardown),
                cmocka_unit_test_setup_teardown(test_rim_tamper, setup_545, teardown),
                cmocka_unit_test_setup_teardown(test_golden, setup_545, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
