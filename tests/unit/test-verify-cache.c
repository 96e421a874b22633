/* SPDX-License-Identifier: Apache-2.0 */
/* The verifiers' caches never change a verdict (include/cvm/object-cache.h,
 * include/cvm/verified-cache.h, include/cvm/parallel.h): a decoded object is only ever found
 * again for the very same bytes; a chain whose links were verified and cached is still refused
 * at a time its certificates have expired, and once a CRL revokes its leaf; a board of GPUs
 * gives the same verdict, check for check, on one thread and on several. Simulated SEV-SNP
 * chains (src/sim); the board uses the real eight-GPU capture and the RIM cache the real 545.00
 * driver RIM, each skipped without the vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/object-cache.h"
#include "cvm/parallel.h"
#include "cvm/snp-sim.h"
#include "cvm/snp.h"
#include "cvm/util.h"
#include "cvm/x509-cache.h"

static const int64_t at = 1735689600; /* 2025-01-01 */

typedef struct Der {
        uint8_t *p[3];
        size_t n[3];
} Der;

static void der_done(Der *d) {
        for (size_t i = 0; i < 3; i++)
                OPENSSL_free(d->p[i]);
}

/* The sim's ARK, ASK and leaf as DER bytes: what a chain read from files or a certificate table
 * goes through (the decoder and its cache), unlike the sim's own X509 objects. */
static void sim_der(const SnpSim *sim, Der *ret) {
        X509 *c[3] = { sim->ark, sim->ask, sim->leaf };

        for (size_t i = 0; i < 3; i++) {
                int n = i2d_X509(c[i], &ret->p[i]);
                assert_true(n > 0);
                ret->n[i] = (size_t) n;
        }
}

static SnpChain *chain_from(const Der *d) {
        SnpChain *c = snp_chain_new();

        assert_non_null(c);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(snp_chain_add_data(c, d->p[i], d->n[i], NULL), 0);
        return c;
}

static void new_sim(SnpSim **ret, SnpReport *r, SnpAnchor *anchor) {
        SnpSimParams sp = { .product = SNP_PRODUCT_GENOA, .not_before = at - 86400, .not_after = at + 30 * 86400,
                            .ca_not_before = at - 86400, .ca_not_after = at + 3650 * 86400, .rsa_bits = 2048 };

        snp_tcb_set(&sp.tcb, false, 0, 3, 0, 8, 115);
        memset(sp.chip_id, 0x42, sizeof(sp.chip_id));
        assert_int_equal(snp_sim_new(&sp, ret), 0);
        assert_int_equal(snp_sim_anchor(*ret, anchor), 0);
        assert_int_equal(snp_sim_report_template(*ret, 3, r), 0);
        assert_int_equal(snp_sim_sign_report(*ret, r), 0);
}

/* Verifies and returns whether authentic; *ret_reason gets the first reason. */
static bool snp_ok(const SnpReport *r, SnpChain *chain, const SnpAnchor *anchor, int64_t when, bool require_crl,
                   char *reason, size_t size) {
        _cleanup_(verdict_done) Verdict v = {};
        SnpVerifyParams p = { .anchors = anchor, .n_anchors = 1, .at = when, .require_crl = require_crl };

        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        assert_int_equal(snp_verify(r->raw, sizeof(r->raw), chain, &p, NULL, &v), 0);
        snprintf(reason, size, "%s", v.n_reasons ? v.reasons[0] : "");
        return v.authentic;
}

static void test_hit_needs_the_same_bytes(void **state) {
        _cleanup_(snp_sim_freep) SnpSim *sim = NULL;
        _cleanup_(der_done) Der d = {};
        _cleanup_(X509_freep) X509 *a = NULL, *b = NULL, *c = NULL;
        _cleanup_free_ uint8_t *flipped = NULL;
        SnpReport r;
        SnpAnchor anchor;

        new_sim(&sim, &r, &anchor);
        sim_der(sim, &d);
        assert_int_equal(x509_decode_der(d.p[0], d.n[0], &a), 0);
        assert_int_equal(x509_decode_der(d.p[0], d.n[0], &b), 0);
        assert_ptr_equal(a, b); /* decoded once */

        /* the same length, one bit of the signature different: never the cached certificate */
        flipped = malloc(d.n[0]);
        assert_non_null(flipped);
        memcpy(flipped, d.p[0], d.n[0]);
        flipped[d.n[0] - 1] ^= 0x01;
        assert_int_equal(x509_decode_der(flipped, d.n[0], &c), 0);
        assert_ptr_not_equal(c, a);
        assert_int_not_equal(X509_cmp(c, a), 0);
        assert_int_equal(x509_signed_by(c, X509_get0_pubkey(a)), 0);
        assert_int_equal(x509_signed_by(a, X509_get0_pubkey(a)), 1);
        /* and a trailing byte is refused, cached prefix or not */
        {
                _cleanup_free_ uint8_t *longer = malloc(d.n[0] + 1);
                X509 *x = NULL;
                assert_non_null(longer);
                memcpy(longer, d.p[0], d.n[0]);
                longer[d.n[0]] = 0;
                assert_int_equal(x509_decode_der(longer, d.n[0] + 1, &x), -EBADMSG);
                assert_null(x);
        }
}

/* A chain verified once (links cached in the chain object and, by its bytes, in the process)
 * is refused at a time after the leaf's notAfter: by the same chain object, and by a new one
 * made from the same bytes. */
static void test_cached_chain_refused_after_expiry(void **state) {
        _cleanup_(snp_sim_freep) SnpSim *sim = NULL;
        _cleanup_(der_done) Der d = {};
        _cleanup_(snp_chain_freep) SnpChain *kept = NULL, *fresh = NULL, *again = NULL;
        SnpReport r;
        SnpAnchor anchor;
        char why[512];

        new_sim(&sim, &r, &anchor);
        sim_der(sim, &d);
        kept = chain_from(&d);
        if (!snp_ok(&r, kept, &anchor, at, false, why, sizeof(why)))
                fail_msg("the simulated chain is refused: %s", why);
        fresh = chain_from(&d);
        assert_true(snp_ok(&r, fresh, &anchor, at, false, why, sizeof(why))); /* from the caches */

        assert_false(snp_ok(&r, kept, &anchor, at + 60 * 86400, false, why, sizeof(why)));
        assert_non_null(strstr(why, "chain.validity"));
        assert_non_null(strstr(why, "has expired"));
        again = chain_from(&d);
        assert_false(snp_ok(&r, again, &anchor, at + 60 * 86400, false, why, sizeof(why)));
        assert_non_null(strstr(why, "has expired"));
        /* and before the leaf's notBefore */
        assert_false(snp_ok(&r, again, &anchor, at - 2 * 86400, false, why, sizeof(why)));
        assert_non_null(strstr(why, "is not yet valid"));
        /* the caches did not forget the good time */
        assert_true(snp_ok(&r, again, &anchor, at, false, why, sizeof(why)));
}

/* A chain verified once is refused once a CRL revoking its leaf is added: to the same chain
 * object, and to a new one made from the same bytes. */
static void test_cached_chain_refused_once_revoked(void **state) {
        _cleanup_(snp_sim_freep) SnpSim *sim = NULL;
        _cleanup_(der_done) Der d = {};
        _cleanup_(snp_chain_freep) SnpChain *kept = NULL, *fresh = NULL;
        _cleanup_(X509_CRL_freep) X509_CRL *none = NULL, *revoking = NULL;
        X509 *ark_only = NULL;
        SnpReport r;
        SnpAnchor anchor;
        char why[512];

        new_sim(&sim, &r, &anchor);
        sim_der(sim, &d);
        ark_only = sim->ark;
        assert_int_equal(snp_sim_make_crl(sim, &ark_only, 1, at - 3600, at + 86400, &none), 0);
        assert_int_equal(snp_sim_make_crl(sim, &sim->leaf, 1, at - 3600, at + 86400, &revoking), 0);

        kept = chain_from(&d);
        assert_int_equal(snp_chain_set_crl(kept, none), 0);
        if (!snp_ok(&r, kept, &anchor, at, true, why, sizeof(why)))
                fail_msg("the simulated chain is refused: %s", why);
        assert_int_equal(snp_chain_set_crl(kept, revoking), 0);
        assert_false(snp_ok(&r, kept, &anchor, at, true, why, sizeof(why)));
        assert_non_null(strstr(why, "leaf is revoked"));

        fresh = chain_from(&d);
        assert_int_equal(snp_chain_set_crl(fresh, revoking), 0);
        assert_false(snp_ok(&r, fresh, &anchor, at, true, why, sizeof(why)));
        assert_non_null(strstr(why, "leaf is revoked"));
        /* a CRL past its nextUpdate is refused even though its signature was verified before */
        assert_false(snp_ok(&r, kept, &anchor, at + 2 * 86400, true, why, sizeof(why)));
        assert_non_null(strstr(why, "not current"));
}

/* Decoding with the caches off gives the same verdicts as with them on. */
static void test_caches_off_same_verdict(void **state) {
        _cleanup_(snp_sim_freep) SnpSim *sim = NULL;
        _cleanup_(der_done) Der d = {};
        SnpReport r;
        SnpAnchor anchor;
        char why[512];

        new_sim(&sim, &r, &anchor);
        sim_der(sim, &d);
        for (int on = 0; on < 2; on++) {
                _cleanup_(snp_chain_freep) SnpChain *c = NULL;

                object_cache_flush();
                object_cache_set_enabled(on);
                c = chain_from(&d);
                assert_true(snp_ok(&r, c, &anchor, at, false, why, sizeof(why)));
                assert_false(snp_ok(&r, c, &anchor, at + 60 * 86400, false, why, sizeof(why)));
        }
        object_cache_set_enabled(true);
}

static char *vector_path(const char *rel) {
        const char *root = getenv("CVM_VECTORS");
        return strdup_printf("%s/%s", root && *root ? root : "../shared/vectors", rel);
}

/* The board's verdict as JSON, with `workers` threads. */
static char *board_verdict(unsigned workers, uint8_t *const reports[8], const size_t sizes[8], uint8_t *const pems[8],
                           const size_t pem_sizes[8], int64_t when) {
        _cleanup_(verdict_done) Verdict v = {};
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        _cleanup_(json_object_putp) json_object *o = NULL;
        NvChain *chains[8] = {};
        NvGpuInput in[8];
        NvBoardParams p = { .gpu.at = when };
        char *s;

        parallel_set_workers(workers);
        assert_int_equal(verdict_init(&v, "nvidia-gpu"), 0);
        for (int g = 0; g < 8; g++) {
                /* GPU 5's report goes with GPU 6's chain: one GPU fails, the others pass */
                assert_int_equal(nv_chain_new(pems[g == 5 ? 6 : g], pem_sizes[g == 5 ? 6 : g], &chains[g]), 0);
                in[g] = (NvGpuInput) { .report = reports[g], .report_size = sizes[g], .chain = chains[g] };
        }
        assert_int_equal(nv_verify_gpus(in, 8, &p, &b, &v), 0);
        assert_false(v.authentic);
        o = verdict_to_json(&v);
        assert_non_null(o);
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        assert_non_null(s);
        for (int g = 0; g < 8; g++)
                nv_chain_free(chains[g]);
        parallel_set_workers(0);
        return s;
}

static void test_board_same_verdict_on_any_threads(void **state) {
        uint8_t *reports[8] = {}, *pems[8] = {};
        size_t sizes[8], pem_sizes[8];
        int64_t when;

        for (int g = 0; g < 8; g++) {
                _cleanup_free_ char *r = vector_path(""), *rp = NULL, *cp = NULL;
                rp = strdup_printf("%s/nvidia/nvtrust_ppcie_h100_590.12_gpu%d/report.bin", r, g);
                cp = strdup_printf("%s/nvidia/nvtrust_ppcie_h100_590.12_gpu%d/chain.pem", r, g);
                assert_non_null(rp);
                assert_non_null(cp);
                if (read_file_bounded(rp, CVM_INPUT_MAX, &reports[g], &sizes[g]) < 0 ||
                    read_file_bounded(cp, CVM_INPUT_MAX, &pems[g], &pem_sizes[g]) < 0) {
                        for (int k = 0; k <= g; k++) {
                                free(reports[k]);
                                free(pems[k]);
                        }
                        skip();
                }
        }
        assert_int_equal(parse_rfc3339("2026-01-01T00:00:00Z", &when), 0);
        {
                _cleanup_free_ char *cold1 = NULL, *warm1 = NULL, *warm4 = NULL, *expired = NULL, *expired4 = NULL;

                object_cache_flush();
                cold1 = board_verdict(1, reports, sizes, pems, pem_sizes, when);
                warm4 = board_verdict(4, reports, sizes, pems, pem_sizes, when);
                warm1 = board_verdict(1, reports, sizes, pems, pem_sizes, when);
                assert_string_equal(cold1, warm4);
                assert_string_equal(cold1, warm1);
                assert_non_null(strstr(cold1, "gpu5.report.signature"));
                /* before the device certificates' notBefore (2022-03-01): cached chains refused */
                expired = board_verdict(1, reports, sizes, pems, pem_sizes, 1609459200);
                expired4 = board_verdict(4, reports, sizes, pems, pem_sizes, 1609459200);
                assert_string_equal(expired, expired4);
                assert_non_null(strstr(expired, "gpu0.chain"));
                assert_non_null(strstr(expired, "is not yet valid"));
        }
        for (int g = 0; g < 8; g++) {
                free(reports[g]);
                free(pems[g]);
        }
}

/* The real 545.00 driver RIM: its parse is shared by every NvRim from the same bytes, its signature
 * result is reused only for the same bytes and signer, and the verdict at a time after its
 * signer expired is still a refusal. */
static void test_rim_cached_parse_and_signature(void **state) {
        _cleanup_free_ char *path = vector_path("nvidia/nvtrust_2023_h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml");
        _cleanup_free_ uint8_t *xml = NULL;
        _cleanup_free_ char *why = NULL, *tampered = NULL;
        _cleanup_(nv_rim_freep) NvRim *a = NULL, *b = NULL, *c = NULL, *off = NULL;
        ObjectCacheStats s0, s1;
        int64_t when, late;
        NvPin other = { .spki_sha256 = { 2 } };
        size_t size;
        char *hit;

        assert_non_null(path);
        if (read_file_bounded(path, NV_RIM_SIZE_MAX, &xml, &size) < 0)
                skip();
        assert_int_equal(parse_rfc3339("2024-01-01T00:00:00Z", &when), 0);
        assert_int_equal(parse_rfc3339("2025-07-01T00:00:00Z", &late), 0); /* the L4 signer expired 2025-06 */

        object_cache_flush();
        assert_int_equal(nv_rim_parse(xml, size, &a, NULL), 0);
        assert_int_equal(nv_rim_verify(a, NULL, 0, when, NULL), 1);
        object_cache_stats(&s0);
        assert_int_equal(nv_rim_parse(xml, size, &b, NULL), 0);
        object_cache_stats(&s1);
        assert_true(s1.hits > s0.hits);
        /* a NvRim of its own (callers set id and verified on it), the same document and signers */
        assert_ptr_not_equal(a, b);
        assert_ptr_equal(a->doc, b->doc);
        assert_ptr_equal(sk_X509_value(a->certs, 0), sk_X509_value(b->certs, 0));
        assert_string_equal(a->version, b->version);
        assert_int_equal(a->n_entries, b->n_entries);
        assert_memory_equal(a->entries, b->entries, a->n_entries * sizeof(NvRimEntry));
        assert_int_equal(b->verified, -1);
        a->verified = 1;
        assert_int_equal(b->verified, -1);
        nv_rim_free(TAKE_PTR(a));

        /* cached: passes; still refused after the signer expired and under another pin */
        assert_int_equal(nv_rim_verify(b, NULL, 0, when, NULL), 1);
        assert_int_equal(nv_rim_verify(b, NULL, 0, late, &why), 0);
        assert_non_null(why);
        assert_non_null(strstr(why, "has expired"));
        assert_int_equal(nv_rim_verify(b, &other, 1, when, NULL), 0);
        assert_int_equal(nv_rim_verify(b, NULL, 0, when, NULL), 1);

        /* one hash digit changed (same length, same signer): another document, not verified */
        hit = memmem(xml, size, "Hash0=\"0", 8);
        assert_non_null(hit);
        tampered = malloc(size);
        assert_non_null(tampered);
        memcpy(tampered, xml, size);
        tampered[hit - (char *) xml + 7] = '1';
        assert_int_equal(nv_rim_parse((uint8_t *) tampered, size, &c, NULL), 0);
        assert_ptr_not_equal(c->doc, b->doc);
        assert_int_equal(nv_rim_verify(c, NULL, 0, when, NULL), 0);
        nv_rim_free(TAKE_PTR(c));
        assert_int_equal(nv_rim_parse((uint8_t *) tampered, size, &c, NULL), 0);
        assert_int_equal(nv_rim_verify(c, NULL, 0, when, NULL), 0);

        /* caches off: the same verdicts from scratch */
        object_cache_flush();
        object_cache_set_enabled(false);
        assert_int_equal(nv_rim_parse(xml, size, &off, NULL), 0);
        assert_ptr_not_equal(off->doc, b->doc);
        assert_int_equal(nv_rim_verify(off, NULL, 0, when, NULL), 1);
        assert_int_equal(nv_rim_verify(off, NULL, 0, late, NULL), 0);
        object_cache_set_enabled(true);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hit_needs_the_same_bytes),
                cmocka_unit_test(test_cached_chain_refused_after_expiry),
                cmocka_unit_test(test_cached_chain_refused_once_revoked),
                cmocka_unit_test(test_caches_off_same_verdict),
                cmocka_unit_test(test_board_same_verdict_on_any_threads),
                cmocka_unit_test(test_rim_cached_parse_and_signature),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
