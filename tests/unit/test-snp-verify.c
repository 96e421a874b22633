/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP parser and verifier on real evidence: every single-bit flip in the signed region is
 * rejected; truncated, oversized and empty inputs are rejected with a reason; the certificate
 * table parser refuses out-of-bounds entries. Needs $CVM_VECTORS; skips without it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/snp-sim.h"
#include "cvm/snp.h"
#include "cvm/util.h"

typedef struct Fixture {
        uint8_t *report;
        size_t size;
        SnpChain *chain;
        int64_t at;
} Fixture;

static char *vector_path(const char *rel) {
        const char *root = getenv("CVM_VECTORS");
        return strdup_printf("%s/%s", root && *root ? root : "../shared/vectors", rel);
}

static int load(const char *rel, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *p = vector_path(rel);
        return p ? read_file_bounded(p, CVM_INPUT_MAX, ret, ret_size) : -ENOMEM;
}

/* trustee-milan-v2: a Milan v2 report whose CURRENT_TCB differs from REPORTED_TCB. */
static int setup_milan(void **state) {
        static const char *const certs[] = { "snp/trustee-milan-v2/certs/vcek.der", "snp/trustee-milan-v2/certs/ask.pem",
                                             "snp/trustee-milan-v2/certs/ark.pem" };
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        *state = f;
        if (load("snp/trustee-milan-v2/report.bin", &f->report, &f->size) < 0)
                return 0; /* tests skip */
        f->chain = snp_chain_new();
        assert_non_null(f->chain);
        for (size_t i = 0; i < ELEMENTSOF(certs); i++) {
                _cleanup_free_ uint8_t *d = NULL;
                size_t n;
                assert_int_equal(load(certs[i], &d, &n), 0);
                assert_int_equal(snp_chain_add_data(f->chain, d, n, NULL), 0);
        }
        assert_int_equal(parse_rfc3339("2023-01-26T00:00:00Z", &f->at), 0);
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        free(f->report);
        snp_chain_free(f->chain);
        free(f);
        return 0;
}

static bool verify(Fixture *f, const uint8_t *data, size_t size, Verdict *v) {
        SnpVerifyParams p = { .at = f->at };

        p.anchors = snp_builtin_anchors(&p.n_anchors);
        assert_int_equal(verdict_init(v, "sev-snp"), 0);
        assert_int_equal(snp_verify(data, size, f->chain, &p, NULL, v), 0);
        return v->authentic;
}

static void test_real_report_is_authentic(void **state) {
        Fixture *f = *state;
        _cleanup_(verdict_done) Verdict v = {};

        if (!f->report)
                skip();
        assert_true(verify(f, f->report, f->size, &v));
        assert_int_equal(v.n_reasons, 0);
}

static void test_every_bit_flip_in_signed_region_is_rejected(void **state) {
        Fixture *f = *state;
        uint8_t copy[SNP_REPORT_SIZE];
        unsigned rejected = 0;

        if (!f->report)
                skip();
        for (size_t bit = 0; bit < SNP_SIGNED_SIZE * 8; bit++) {
                _cleanup_(verdict_done) Verdict v = {};
                memcpy(copy, f->report, sizeof(copy));
                copy[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                if (verify(f, copy, sizeof(copy), &v)) {
                        char msg[64];
                        snprintf(msg, sizeof(msg), "flip of bit %zu (byte 0x%03zx) accepted", bit % 8, bit / 8);
                        fail_msg("%s", msg);
                }
                assert_true(v.n_reasons > 0);
                rejected++;
        }
        assert_int_equal(rejected, SNP_SIGNED_SIZE * 8);
}

static void test_signature_bit_flips_are_rejected(void **state) {
        Fixture *f = *state;
        uint8_t copy[SNP_REPORT_SIZE];

        if (!f->report)
                skip();
        /* R and S (the significant 48 bytes of each) */
        for (size_t byte = 0x2A0; byte < 0x2E8 + 48; byte++) {
                _cleanup_(verdict_done) Verdict v = {};
                if (byte >= 0x2A0 + 48 && byte < 0x2E8)
                        continue;
                memcpy(copy, f->report, sizeof(copy));
                copy[byte] ^= 0x01;
                assert_false(verify(f, copy, sizeof(copy), &v));
        }
}

static void test_bad_sizes_are_rejected_with_a_reason(void **state) {
        Fixture *f = *state;
        static const size_t sizes[] = { 0, 1, 0x2A0, SNP_REPORT_SIZE - 1, SNP_REPORT_SIZE + 1, SNP_REPORT_SIZE + 20 };
        _cleanup_free_ uint8_t *big = calloc(1, SNP_REPORT_SIZE + 64);

        if (!f->report)
                skip();
        assert_non_null(big);
        memcpy(big, f->report, SNP_REPORT_SIZE);
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_(verdict_done) Verdict v = {};
                assert_false(verify(f, big, sizes[i], &v));
                assert_true(v.n_reasons > 0);
                assert_non_null(strstr(v.reasons[0], "report.parse"));
                assert_non_null(strstr(v.reasons[0], "1184"));
        }
}

static void test_parse_rejects_mbz_and_versions(void **state) {
        Fixture *f = *state;
        uint8_t copy[SNP_REPORT_SIZE];
        SnpReport r;
        char *reason = NULL;

        if (!f->report)
                skip();
        /* reserved byte after the signature */
        memcpy(copy, f->report, sizeof(copy));
        copy[0x400] = 1;
        assert_int_equal(snp_report_parse(copy, sizeof(copy), &r, &reason), -EBADMSG);
        assert_non_null(strstr(reason, "0x400"));
        free(reason);
        /* unknown and unpublished versions */
        for (uint8_t ver = 0; ver < 8; ver++) {
                if (ver == 2 || ver == 3 || ver == 5)
                        continue;
                memcpy(copy, f->report, sizeof(copy));
                copy[0] = ver;
                reason = NULL;
                assert_int_equal(snp_report_parse(copy, sizeof(copy), &r, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "VERSION"));
                free(reason);
        }
        /* POLICY bit 17 must be one */
        memcpy(copy, f->report, sizeof(copy));
        copy[0x0A] &= (uint8_t) ~0x02;
        reason = NULL;
        assert_int_equal(snp_report_parse(copy, sizeof(copy), &r, &reason), -EBADMSG);
        assert_non_null(strstr(reason, "bit 17"));
        free(reason);
}

static void test_parse_does_not_touch_output_on_error(void **state) {
        SnpReport r;
        uint8_t zeros[SNP_REPORT_SIZE] = {};

        memset(&r, 0xAB, sizeof(r));
        assert_int_equal(snp_report_parse(zeros, sizeof(zeros), &r, NULL), -EBADMSG);
        assert_true(memeqbyte(0xAB, &r, sizeof(r)));
}

static void test_missing_chain_fails_closed(void **state) {
        Fixture *f = *state;
        _cleanup_(snp_chain_freep) SnpChain *empty = snp_chain_new();
        _cleanup_(verdict_done) Verdict v = {};
        SnpVerifyParams p = { .at = f->at };

        if (!f->report)
                skip();
        p.anchors = snp_builtin_anchors(&p.n_anchors);
        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        assert_int_equal(snp_verify(f->report, f->size, empty, &p, NULL, &v), 0);
        assert_false(v.authentic);
        assert_non_null(verdict_find_check(&v, "chain.complete"));
        assert_int_equal(verdict_find_check(&v, "chain.complete")->status, CHECK_FAIL);
}

static void test_no_anchors_fails_closed(void **state) {
        Fixture *f = *state;
        _cleanup_(verdict_done) Verdict v = {};
        SnpVerifyParams p = { .at = f->at, .anchors = NULL, .n_anchors = 0 };

        if (!f->report)
                skip();
        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        assert_int_equal(snp_verify(f->report, f->size, f->chain, &p, NULL, &v), 0);
        assert_false(v.authentic);
        assert_int_equal(verdict_find_check(&v, "chain.ark-pinned")->status, CHECK_FAIL);
}

static void test_time_outside_validity_fails(void **state) {
        Fixture *f = *state;
        _cleanup_(verdict_done) Verdict v = {};
        SnpVerifyParams p = {};

        if (!f->report)
                skip();
        p.anchors = snp_builtin_anchors(&p.n_anchors);
        assert_int_equal(parse_rfc3339("2019-01-01T00:00:00Z", &p.at), 0); /* before the ARK existed */
        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        assert_int_equal(snp_verify(f->report, f->size, f->chain, &p, NULL, &v), 0);
        assert_false(v.authentic);
        assert_int_equal(verdict_find_check(&v, "chain.validity")->status, CHECK_FAIL);
}

static void test_cert_table_real_and_broken(void **state) {
        _cleanup_free_ uint8_t *table = NULL;
        SnpCertTableEntry e[SNP_CERT_TABLE_MAX_ENTRIES];
        char *reason = NULL;
        size_t size, n;

        if (load("snp/veraison-tsm-genoa-v3-ext/certs/cert_table.bin", &table, &size) < 0)
                skip();
        assert_int_equal(snp_cert_table_parse(table, size, e, ELEMENTSOF(e), &n, NULL), 0);
        assert_int_equal(n, 3);
        assert_int_equal(e[0].role, SNP_CERT_TABLE_ARK);
        assert_int_equal(e[1].role, SNP_CERT_TABLE_ASK);
        assert_int_equal(e[2].role, SNP_CERT_TABLE_VCEK);
        assert_int_equal(e[0].data - table, 96);

        /* every truncation is refused, never read past */
        for (size_t cut = 0; cut < size; cut += 7) {
                _cleanup_free_ uint8_t *t = malloc(cut ? cut : 1);
                assert_non_null(t);
                memcpy(t, table, cut);
                reason = NULL;
                assert_int_equal(snp_cert_table_parse(t, cut, e, ELEMENTSOF(e), &n, &reason), -EBADMSG);
                assert_non_null(reason);
                free(reason);
        }
        /* an entry whose length runs past the end */
        table[0x14] = 0xff;
        table[0x15] = 0xff;
        reason = NULL;
        assert_int_equal(snp_cert_table_parse(table, size, e, ELEMENTSOF(e), &n, &reason), -EBADMSG);
        assert_non_null(strstr(reason, "outside"));
        free(reason);
        /* an entry that points into the table itself */
        table[0x14] = 0x00;
        table[0x15] = 0x00;
        table[0x10] = 0x10;
        reason = NULL;
        assert_int_equal(snp_cert_table_parse(table, size, e, ELEMENTSOF(e), &n, &reason), -EBADMSG);
        free(reason);
}

static void test_chain_refuses_second_leaf(void **state) {
        _cleanup_(snp_chain_freep) SnpChain *c = snp_chain_new();
        _cleanup_free_ uint8_t *a = NULL, *b = NULL;
        char *reason = NULL;
        size_t na, nb;

        if (load("snp/trustee-milan-v2/certs/vcek.der", &a, &na) < 0 ||
            load("snp/cmc-milan-v2/certs/vcek.der", &b, &nb) < 0)
                skip();
        assert_int_equal(snp_chain_add_data(c, a, na, NULL), 0);
        assert_int_equal(snp_chain_add_data(c, a, na, NULL), 0); /* same one again is fine */
        assert_int_equal(snp_chain_add_data(c, b, nb, &reason), -EEXIST);
        assert_non_null(strstr(reason, "two different VCEK"));
        free(reason);
}

/* Revocation of the leaf: the ARK's CRL covers the whole chain below it, so a CRL entry for the
 * VCEK or VLEK itself (by serial, as go-sev-guest checks it) fails the verification like one for
 * the ASK/ASVK does; an entry for another certificate does not. Simulated chains (src/sim). */
static void test_crl_revokes_the_leaf(void **state) {
        static const int64_t at = 1735689600; /* 2025-01-01 */
        for (int vlek = 0; vlek < 2; vlek++) {
                _cleanup_(snp_sim_freep) SnpSim *sim = NULL;
                SnpSimParams sp = { .product = SNP_PRODUCT_GENOA, .vlek = vlek, .not_before = at - 86400,
                                    .not_after = at + 86400 * 365, .rsa_bits = 2048 };
                SnpReport r;
                SnpAnchor anchor;

                snp_tcb_set(&sp.tcb, false, 0, 3, 0, 8, 115);
                memset(sp.chip_id, vlek ? 0 : 0x42, sizeof(sp.chip_id));
                assert_int_equal(snp_sim_new(&sp, &sim), 0);
                assert_int_equal(snp_sim_anchor(sim, &anchor), 0);
                assert_int_equal(snp_sim_report_template(sim, 3, &r), 0);
                assert_int_equal(snp_sim_sign_report(sim, &r), 0);

                for (int which = 0; which < 3; which++) {
                        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
                        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
                        _cleanup_(verdict_done) Verdict v = {};
                        SnpVerifyParams params = { .anchors = &anchor, .n_anchors = 1, .at = at, .require_crl = true };
                        /* 0: nothing revoked (the ARK's own serial listed), 1: the leaf, 2: the intermediate */
                        X509 *revoked = which == 0 ? sim->ark : which == 1 ? sim->leaf : sim->ask;

                        assert_non_null(chain);
                        assert_int_equal(snp_chain_add_cert(chain, sim->ark, NULL), 0);
                        assert_int_equal(snp_chain_add_cert(chain, sim->ask, NULL), 0);
                        assert_int_equal(snp_chain_add_cert(chain, sim->leaf, NULL), 0);
                        assert_int_equal(snp_sim_make_crl(sim, &revoked, 1, at - 3600, at + 86400, &crl), 0);
                        assert_int_equal(snp_chain_set_crl(chain, crl), 0);
                        assert_int_equal(verdict_init(&v, "snp"), 0);
                        assert_int_equal(snp_verify(r.raw, sizeof(r.raw), chain, &params, NULL, &v), 0);
                        if (which == 0) {
                                if (!v.authentic)
                                        fail_msg("%s chain refused: %s", vlek ? "VLEK" : "VCEK",
                                                 v.n_reasons ? v.reasons[0] : "?");
                                continue;
                        }
                        assert_false(v.authentic);
                        assert_int_equal(v.n_reasons, 1);
                        if (!strstr(v.reasons[0], which == 1 ? (vlek ? "SEV-VLEK leaf is revoked" : "SEV-VCEK leaf is revoked")
                                                             : "is revoked by the ARK's CRL"))
                                fail_msg("unexpected reason: %s", v.reasons[0]);
                }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_report_is_authentic),
                cmocka_unit_test(test_every_bit_flip_in_signed_region_is_rejected),
                cmocka_unit_test(test_signature_bit_flips_are_rejected),
                cmocka_unit_test(test_bad_sizes_are_rejected_with_a_reason),
                cmocka_unit_test(test_parse_rejects_mbz_and_versions),
                cmocka_unit_test(test_parse_does_not_touch_output_on_error),
                cmocka_unit_test(test_missing_chain_fails_closed),
                cmocka_unit_test(test_no_anchors_fails_closed),
                cmocka_unit_test(test_time_outside_validity_fails),
                cmocka_unit_test(test_cert_table_real_and_broken),
                cmocka_unit_test(test_chain_refuses_second_leaf),
                cmocka_unit_test(test_crl_revokes_the_leaf),
        };
        return cmocka_run_group_tests_name("snp-verify", tests, setup_milan, teardown);
}
