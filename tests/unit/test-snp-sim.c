/* SPDX-License-Identifier: Apache-2.0 */
/* The SEV-SNP simulator: its reports and chains pass the real verifier only when its anchor is
 * given explicitly, and fail the right check for each kind of tampering. The report encoder is
 * the exact inverse of the parser, on synthetic reports and on every real vector. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/crypto.h"
#include "cvm/snp-sim.h"
#include "cvm/snp.h"
#include "cvm/util.h"
#include "cvm/verdict.h"

/* 2025-01-01, 2032-01-01, 2024-01-01, 2049-01-01, 2026-06-01 */
#define LEAF_NB INT64_C(1735689600)
#define LEAF_NA INT64_C(1956528000)
#define CA_NB INT64_C(1704067200)
#define CA_NA INT64_C(2493072000)
#define AT INT64_C(1780272000)

enum {
        SIM_MILAN,
        SIM_GENOA,
        SIM_TURIN,
        SIM_MILAN_VLEK,
        _SIM_MAX,
};

static SnpSim *sims[_SIM_MAX];

static const uint8_t test_chip_id[64] = {
        0x3a, 0xc3, 0xfe, 0x21, 0xe1, 0x3f, 0xb0, 0x99, 0x0e, 0xb2, 0x8a, 0x80, 0x2e, 0x3f, 0xb6, 0xa2,
        0x94, 0x83, 0xa6, 0xb0, 0x75, 0x35, 0x90, 0xc9, 0x51, 0xbd, 0xd3, 0xb8, 0xe5, 0x37, 0x86, 0x18,
        0x4c, 0xa3, 0x9e, 0x35, 0x96, 0x69, 0xa2, 0xb7, 0x6a, 0x19, 0x36, 0x77, 0x6b, 0x56, 0x4e, 0xa4,
        0x64, 0xcd, 0xce, 0x40, 0xc0, 0x5f, 0x63, 0xc9, 0xb6, 0x10, 0xc5, 0x06, 0x8b, 0x00, 0x6b, 0x5d,
};

static int sim_make(SnpProduct product, bool vlek, SnpSim **ret) {
        SnpSimParams p = {
                .product = product,
                .vlek = vlek,
                .csp_id = vlek ? "CN=sim-east-1.example.invalid" : NULL,
                .not_before = LEAF_NB,
                .not_after = LEAF_NA,
                .ca_not_before = CA_NB,
                .ca_not_after = CA_NA,
                .rsa_bits = 2048,
        };

        /* ucode >= 0x80 exercises the two-byte SPL INTEGER. */
        snp_tcb_set(&p.tcb, product == SNP_PRODUCT_TURIN, 1, 4, 0, 24, 219);
        memcpy(p.chip_id, test_chip_id, sizeof(p.chip_id));
        return snp_sim_new(&p, ret);
}

static int group_setup(void **state) {
        if (sim_make(SNP_PRODUCT_MILAN, false, &sims[SIM_MILAN]) < 0 ||
            sim_make(SNP_PRODUCT_GENOA, false, &sims[SIM_GENOA]) < 0 ||
            sim_make(SNP_PRODUCT_TURIN, false, &sims[SIM_TURIN]) < 0 ||
            sim_make(SNP_PRODUCT_MILAN, true, &sims[SIM_MILAN_VLEK]) < 0)
                return -1;
        return 0;
}

static int group_teardown(void **state) {
        for (size_t i = 0; i < _SIM_MAX; i++)
                sims[i] = snp_sim_free(sims[i]);
        return 0;
}

/* Verifies raw against the sim's own chain. anchors NULL: the sim's anchor. */
static void verify_full(const SnpSim *s, const uint8_t *raw, const SnpAnchor *anchors, size_t n_anchors,
                        int64_t at, X509_CRL *crl, Verdict *v) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        SnpAnchor sim_anchor;
        SnpVerifyParams params = { .at = at };

        assert_non_null(chain);
        assert_int_equal(snp_chain_add_cert(chain, s->ark, NULL), 0);
        assert_int_equal(snp_chain_add_cert(chain, s->ask, NULL), 0);
        assert_int_equal(snp_chain_add_cert(chain, s->leaf, NULL), 0);
        if (crl)
                assert_int_equal(snp_chain_set_crl(chain, crl), 0);
        if (!anchors) {
                assert_int_equal(snp_sim_anchor(s, &sim_anchor), 0);
                anchors = &sim_anchor;
                n_anchors = 1;
        }
        params.anchors = anchors;
        params.n_anchors = n_anchors;
        assert_int_equal(verdict_init(v, "sev-snp"), 0);
        assert_int_equal(snp_verify(raw, SNP_REPORT_SIZE, chain, &params, NULL, v), 0);
}

static void verify_report(const SnpSim *s, const SnpReport *r, Verdict *v) {
        verify_full(s, r->raw, NULL, 0, AT, NULL, v);
}

static void dump_failed(const Verdict *v) {
        for (size_t i = 0; i < v->n_checks; i++)
                if (v->checks[i].status == CHECK_FAIL)
                        print_message("  %s: %s\n", v->checks[i].name, v->checks[i].detail);
}

static void assert_check(const Verdict *v, const char *name, CheckStatus want) {
        const Check *c = verdict_find_check(v, name);

        if (!c) {
                print_message("check %s not recorded\n", name);
                fail();
        }
        if (c->status != want) {
                print_message("check %s is %s (%s), want %s\n", name, check_status_to_string(c->status), c->detail,
                              check_status_to_string(want));
                fail();
        }
}

static void assert_authentic(const Verdict *v) {
        if (!v->authentic)
                dump_failed(v);
        assert_true(v->authentic);
        assert_false(verdict_has_failed_check(v));
}

/* Exactly one failed check, the expected one. */
static void assert_only_failure(const Verdict *v, const char *name) {
        size_t n = 0;

        assert_false(v->authentic);
        assert_check(v, name, CHECK_FAIL);
        for (size_t i = 0; i < v->n_checks; i++)
                n += v->checks[i].status == CHECK_FAIL;
        if (n != 1)
                dump_failed(v);
        assert_int_equal(n, 1);
}

static void signed_report(const SnpSim *s, uint32_t version, SnpReport *ret) {
        assert_int_equal(snp_sim_report_template(s, version, ret), 0);
        memset(ret->report_data, 0x5a, sizeof(ret->report_data));
        assert_int_equal(snp_sim_sign_report(s, ret), 0);
}

/* ---- authentic reports ---------------------------------------------------------------------- */

static void test_milan_v2_authentic(void **state) {
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_MILAN], 2, &r);
        verify_report(sims[SIM_MILAN], &r, &v);
        assert_authentic(&v);
        assert_check(&v, "product", CHECK_PASS);
        assert_check(&v, "chain.ark-pinned", CHECK_PASS);
        assert_check(&v, "tcb.binding", CHECK_PASS);
        assert_check(&v, "chip-id.binding", CHECK_PASS);
        assert_check(&v, "report.signature", CHECK_PASS);
        assert_check(&v, "chain.revocation", CHECK_SKIP);
        verdict_done(&v);
}

static void test_genoa_v3_authentic(void **state) {
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_GENOA], 3, &r);
        verify_report(sims[SIM_GENOA], &r, &v);
        assert_authentic(&v);
        assert_check(&v, "chip-id.binding", CHECK_PASS);
        verdict_done(&v);
}

static void test_turin_v5_authentic(void **state) {
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_TURIN], 5, &r);
        assert_int_equal(r.platform_info, 0x65);
        assert_true(memeqzero(r.chip_id + 8, 56));
        verify_report(sims[SIM_TURIN], &r, &v);
        assert_authentic(&v);
        assert_check(&v, "tcb.binding", CHECK_PASS);
        assert_check(&v, "chip-id.binding", CHECK_PASS);
        verdict_done(&v);
}

static void test_turin_v2_authentic(void **state) {
        /* v2 carries no CPUID: the verifier learns Turin from the ASK and CHIP_ID's shape. */
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_TURIN], 2, &r);
        verify_report(sims[SIM_TURIN], &r, &v);
        assert_authentic(&v);
        verdict_done(&v);
}

static void test_vlek_authentic(void **state) {
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_MILAN_VLEK], 3, &r);
        assert_int_equal(snp_report_signing_key(&r), SNP_SIGNING_KEY_VLEK);
        assert_true(memeqzero(r.chip_id, sizeof(r.chip_id)));
        verify_report(sims[SIM_MILAN_VLEK], &r, &v);
        assert_authentic(&v);
        assert_check(&v, "report.signing-key", CHECK_PASS);
        assert_check(&v, "chip-id.binding", CHECK_SKIP);
        verdict_done(&v);
}

static void test_crl_not_revoking_passes(void **state) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_GENOA], 3, &r);
        assert_int_equal(snp_sim_make_crl(sims[SIM_GENOA], NULL, 0, AT - 86400, AT + 86400, &crl), 0);
        verify_full(sims[SIM_GENOA], r.raw, NULL, 0, AT, crl, &v);
        assert_authentic(&v);
        assert_check(&v, "chain.revocation", CHECK_PASS);
        verdict_done(&v);
}

/* ---- refusals ------------------------------------------------------------------------------- */

static void test_builtin_anchors_refuse_sim(void **state) {
        const SnpAnchor *builtin;
        size_t n;

        builtin = snp_builtin_anchors(&n);
        for (size_t i = 0; i < _SIM_MAX; i++) {
                SnpReport r;
                Verdict v;

                signed_report(sims[i], 3, &r);
                verify_full(sims[i], r.raw, builtin, n, AT, NULL, &v);
                assert_only_failure(&v, "chain.ark-pinned");
                verdict_done(&v);
        }
}

static void test_sim_anchor_is_not_builtin(void **state) {
        const SnpAnchor *builtin;
        size_t n;

        builtin = snp_builtin_anchors(&n);
        for (size_t i = 0; i < _SIM_MAX; i++) {
                SnpAnchor a;

                assert_int_equal(snp_sim_anchor(sims[i], &a), 0);
                assert_int_equal(a.product, sims[i]->product);
                assert_non_null(strstr(a.label, "simulated ARK-"));
                for (size_t j = 0; j < n; j++)
                        assert_memory_not_equal(a.spki_sha256, builtin[j].spki_sha256, 32);
        }
}

static void test_other_sim_anchor_refused(void **state) {
        /* Trusting one simulator's root does not trust another's. */
        _cleanup_(snp_sim_freep) SnpSim *other = NULL;
        SnpAnchor a;
        SnpReport r;
        Verdict v;

        assert_int_equal(sim_make(SNP_PRODUCT_GENOA, false, &other), 0);
        assert_int_equal(snp_sim_anchor(other, &a), 0);
        signed_report(sims[SIM_GENOA], 3, &r);
        verify_full(sims[SIM_GENOA], r.raw, &a, 1, AT, NULL, &v);
        assert_only_failure(&v, "chain.ark-pinned");
        verdict_done(&v);
}

static void test_crl_revokes_ask(void **state) {
        for (size_t i = 0; i < _SIM_MAX; i++) {
                _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
                X509 *revoked[] = { sims[i]->ask };
                SnpReport r;
                Verdict v;

                signed_report(sims[i], 3, &r);
                assert_int_equal(snp_sim_make_crl(sims[i], revoked, 1, AT - 86400, AT + 86400, &crl), 0);
                verify_full(sims[i], r.raw, NULL, 0, AT, crl, &v);
                assert_only_failure(&v, "chain.revocation");
                verdict_done(&v);
        }
}

static void test_crl_from_other_ark_refused(void **state) {
        _cleanup_(snp_sim_freep) SnpSim *other = NULL;
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        SnpReport r;
        Verdict v;

        /* Same issuer name, different key: the CRL signature must not verify. */
        assert_int_equal(sim_make(SNP_PRODUCT_MILAN, false, &other), 0);
        assert_int_equal(snp_sim_make_crl(other, NULL, 0, AT - 86400, AT + 86400, &crl), 0);
        signed_report(sims[SIM_MILAN], 3, &r);
        verify_full(sims[SIM_MILAN], r.raw, NULL, 0, AT, crl, &v);
        assert_only_failure(&v, "chain.revocation");
        verdict_done(&v);
}

static void test_leaf_expired(void **state) {
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_GENOA], 3, &r);
        verify_full(sims[SIM_GENOA], r.raw, NULL, 0, LEAF_NA + 1, NULL, &v);
        assert_only_failure(&v, "chain.validity");
        verdict_done(&v);

        verify_full(sims[SIM_GENOA], r.raw, NULL, 0, LEAF_NA, NULL, &v);
        assert_authentic(&v);
        verdict_done(&v);

        verify_full(sims[SIM_GENOA], r.raw, NULL, 0, LEAF_NB - 1, NULL, &v);
        assert_only_failure(&v, "chain.validity");
        verdict_done(&v);
}

static void test_field_changed_after_signing(void **state) {
        static const size_t offsets[] = { 0x004, 0x050, 0x090, 0x0C0, 0x1A0 + 8, 0x1F0 };
        SnpReport r;

        signed_report(sims[SIM_MILAN], 3, &r);
        for (size_t i = 0; i < ELEMENTSOF(offsets); i++) {
                uint8_t raw[SNP_REPORT_SIZE];
                Verdict v;

                memcpy(raw, r.raw, sizeof(raw));
                raw[offsets[i]] ^= 0x01;
                verify_full(sims[SIM_MILAN], raw, NULL, 0, AT, NULL, &v);
                if (offsets[i] == 0x1A0 + 8)
                        /* CHIP_ID is bound twice: to hwID and by the signature. */
                        assert_check(&v, "chip-id.binding", CHECK_FAIL);
                assert_false(v.authentic);
                assert_check(&v, "report.signature", CHECK_FAIL);
                verdict_done(&v);
        }

        /* The signature itself. */
        {
                uint8_t raw[SNP_REPORT_SIZE];
                Verdict v;

                memcpy(raw, r.raw, sizeof(raw));
                raw[0x2A0] ^= 0x01;
                verify_full(sims[SIM_MILAN], raw, NULL, 0, AT, NULL, &v);
                assert_only_failure(&v, "report.signature");
                verdict_done(&v);
        }
}

static void test_field_changed_in_struct_after_signing(void **state) {
        /* Changing the struct and re-encoding without signing keeps the old R and S. */
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_GENOA], 5, &r);
        r.guest_svn = 7;
        assert_int_equal(snp_report_encode(&r, r.raw), 0);
        verify_report(sims[SIM_GENOA], &r, &v);
        assert_only_failure(&v, "report.signature");
        verdict_done(&v);
}

static void test_tcb_mismatch(void **state) {
        static const struct {
                size_t sim;
                uint8_t fmc, bl, tee, snp, ucode;
        } cases[] = {
                { SIM_MILAN, 0, 4, 0, 23, 219 },  /* snp lower */
                { SIM_MILAN, 0, 4, 0, 24, 220 },  /* ucode higher */
                { SIM_GENOA, 0, 3, 0, 24, 219 },  /* bl */
                { SIM_TURIN, 0, 4, 0, 24, 219 },  /* fmc only: Turin's extra component */
                { SIM_TURIN, 1, 4, 1, 24, 219 },  /* tee */
                { SIM_MILAN_VLEK, 0, 4, 0, 24, 0x73 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const SnpSim *s = sims[cases[i].sim];
                SnpReport r;
                Verdict v;

                assert_int_equal(snp_sim_report_template(s, 3, &r), 0);
                snp_tcb_set(&r.reported_tcb, s->product == SNP_PRODUCT_TURIN, cases[i].fmc, cases[i].bl,
                            cases[i].tee, cases[i].snp, cases[i].ucode);
                assert_int_equal(snp_sim_sign_report(s, &r), 0);
                verify_report(s, &r, &v);
                assert_only_failure(&v, "tcb.binding");
                verdict_done(&v);
        }
}

static void test_current_tcb_may_differ(void **state) {
        /* Only REPORTED_TCB is bound to the leaf (spec §3). */
        SnpReport r;
        Verdict v;

        assert_int_equal(snp_sim_report_template(sims[SIM_MILAN], 3, &r), 0);
        snp_tcb_set(&r.current_tcb, false, 0, 4, 0, 24, 220);
        snp_tcb_set(&r.committed_tcb, false, 0, 4, 0, 24, 220);
        assert_int_equal(snp_sim_sign_report(sims[SIM_MILAN], &r), 0);
        verify_report(sims[SIM_MILAN], &r, &v);
        assert_authentic(&v);
        verdict_done(&v);
}

static void test_chip_id_mismatch(void **state) {
        static const struct {
                size_t sim;
                size_t byte;
        } cases[] = {
                { SIM_MILAN, 0 },
                { SIM_MILAN, 63 },
                { SIM_GENOA, 32 },
                { SIM_TURIN, 7 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const SnpSim *s = sims[cases[i].sim];
                SnpReport r;
                Verdict v;

                assert_int_equal(snp_sim_report_template(s, 3, &r), 0);
                r.chip_id[cases[i].byte] ^= 0x80;
                assert_int_equal(snp_sim_sign_report(s, &r), 0);
                verify_report(s, &r, &v);
                assert_only_failure(&v, "chip-id.binding");
                verdict_done(&v);
        }
}

static void test_wrong_product_chain(void **state) {
        /* A Genoa CPUID signed by the Milan sim: the ASK names another product. */
        SnpReport r;
        Verdict v;

        assert_int_equal(snp_sim_report_template(sims[SIM_MILAN], 3, &r), 0);
        r.cpuid_mod_id = 0x11;
        assert_int_equal(snp_sim_sign_report(sims[SIM_MILAN], &r), 0);
        verify_report(sims[SIM_MILAN], &r, &v);
        assert_false(v.authentic);
        assert_check(&v, "product", CHECK_FAIL);
        verdict_done(&v);
}

static void test_vcek_report_with_vlek_chain(void **state) {
        SnpReport r;
        Verdict v;

        signed_report(sims[SIM_MILAN_VLEK], 3, &r);
        /* Flip SIGNING_KEY to VCEK and re-sign the raw bytes as they are. */
        r.raw[0x048] &= (uint8_t) ~(7u << 2);
        assert_int_equal(snp_sim_sign_raw(sims[SIM_MILAN_VLEK], r.raw), 0);
        verify_report(sims[SIM_MILAN_VLEK], &r, &v);
        assert_only_failure(&v, "report.signing-key");
        verdict_done(&v);
}

/* ---- encoding ------------------------------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint8_t seed) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (seed + 37 * i + (i >> 3));
}

static void assert_tcb_equal(const SnpTcb *a, const SnpTcb *b) {
        assert_memory_equal(a->raw, b->raw, 8);
        assert_int_equal(a->turin, b->turin);
        assert_int_equal(a->fmc, b->fmc);
        assert_int_equal(a->bl, b->bl);
        assert_int_equal(a->tee, b->tee);
        assert_int_equal(a->snp, b->snp);
        assert_int_equal(a->ucode, b->ucode);
}

static void assert_report_equal(const SnpReport *a, const SnpReport *b) {
        assert_int_equal(a->version, b->version);
        assert_int_equal(a->guest_svn, b->guest_svn);
        assert_int_equal(a->policy, b->policy);
        assert_memory_equal(a->family_id, b->family_id, 16);
        assert_memory_equal(a->image_id, b->image_id, 16);
        assert_int_equal(a->vmpl, b->vmpl);
        assert_int_equal(a->signature_algo, b->signature_algo);
        assert_tcb_equal(&a->current_tcb, &b->current_tcb);
        assert_int_equal(a->platform_info, b->platform_info);
        assert_int_equal(a->key_info, b->key_info);
        assert_memory_equal(a->report_data, b->report_data, 64);
        assert_memory_equal(a->measurement, b->measurement, 48);
        assert_memory_equal(a->host_data, b->host_data, 32);
        assert_memory_equal(a->id_key_digest, b->id_key_digest, 48);
        assert_memory_equal(a->author_key_digest, b->author_key_digest, 48);
        assert_memory_equal(a->report_id, b->report_id, 32);
        assert_memory_equal(a->report_id_ma, b->report_id_ma, 32);
        assert_tcb_equal(&a->reported_tcb, &b->reported_tcb);
        assert_int_equal(a->has_cpuid, b->has_cpuid);
        assert_int_equal(a->cpuid_fam_id, b->cpuid_fam_id);
        assert_int_equal(a->cpuid_mod_id, b->cpuid_mod_id);
        assert_int_equal(a->cpuid_step, b->cpuid_step);
        assert_memory_equal(a->chip_id, b->chip_id, 64);
        assert_tcb_equal(&a->committed_tcb, &b->committed_tcb);
        assert_int_equal(a->current_build, b->current_build);
        assert_int_equal(a->current_minor, b->current_minor);
        assert_int_equal(a->current_major, b->current_major);
        assert_int_equal(a->committed_build, b->committed_build);
        assert_int_equal(a->committed_minor, b->committed_minor);
        assert_int_equal(a->committed_major, b->committed_major);
        assert_tcb_equal(&a->launch_tcb, &b->launch_tcb);
        assert_int_equal(a->has_mit_vectors, b->has_mit_vectors);
        assert_int_equal(a->launch_mit_vector, b->launch_mit_vector);
        assert_int_equal(a->current_mit_vector, b->current_mit_vector);
        assert_memory_equal(a->signature_r, b->signature_r, 72);
        assert_memory_equal(a->signature_s, b->signature_s, 72);
}

/* Every field distinct and non-zero where the format allows. */
static void synthetic_report(uint32_t version, bool turin, SnpReport *r) {
        *r = (SnpReport) {
                .version = version,
                .guest_svn = 0x01020304,
                .policy = UINT64_C(0x03ff1f2a),
                .vmpl = 3,
                .signature_algo = 1,
                .platform_info = UINT64_C(0xa5a5a5a5a5a5a5a5),
                .key_info = 0x07,
                .has_cpuid = version >= 3,
                .cpuid_fam_id = version >= 3 ? (turin ? 0x1A : 0x19) : 0,
                .cpuid_mod_id = version >= 3 ? (turin ? 0x02 : 0x11) : 0,
                .cpuid_step = version >= 3 ? 2 : 0,
                .current_build = 0x11, .current_minor = 0x12, .current_major = 0x13,
                .committed_build = 0x21, .committed_minor = 0x22, .committed_major = 0x23,
                .has_mit_vectors = version >= 5,
                .launch_mit_vector = version >= 5 ? UINT64_C(0x0102030405060708) : 0,
                .current_mit_vector = version >= 5 ? UINT64_C(0xf1f2f3f4f5f6f7f8) : 0,
        };
        fill(r->family_id, 16, 1);
        fill(r->image_id, 16, 2);
        fill(r->report_data, 64, 3);
        fill(r->measurement, 48, 4);
        fill(r->host_data, 32, 5);
        fill(r->id_key_digest, 48, 6);
        fill(r->author_key_digest, 48, 7);
        fill(r->report_id, 32, 8);
        fill(r->report_id_ma, 32, 9);
        fill(r->chip_id, turin ? 8 : 64, 10);
        fill(r->signature_r, 48, 11); /* bytes 48-71 are MBZ */
        fill(r->signature_s, 48, 12);
        snp_tcb_set(&r->current_tcb, turin, 1, 2, 3, 4, 5);
        snp_tcb_set(&r->reported_tcb, turin, 6, 7, 8, 9, 0x80);
        snp_tcb_set(&r->committed_tcb, turin, 10, 11, 12, 13, 0xfe);
        snp_tcb_set(&r->launch_tcb, turin, 14, 15, 16, 17, 0xff);
}

static void test_encode_parse_roundtrip(void **state) {
        static const uint32_t versions[] = { 2, 3, 5 };

        for (size_t i = 0; i < ELEMENTSOF(versions); i++)
                for (int turin = 0; turin <= 1; turin++) {
                        _cleanup_free_ SnpReport *a = calloc(1, sizeof(SnpReport)),
                                                 *b = calloc(1, sizeof(SnpReport));
                        _cleanup_free_ char *reason = NULL;
                        uint8_t raw[SNP_REPORT_SIZE], again[SNP_REPORT_SIZE];

                        assert_non_null(a);
                        assert_non_null(b);
                        synthetic_report(versions[i], turin, a);
                        assert_int_equal(snp_report_encode(a, raw), 0);
                        if (snp_report_parse(raw, sizeof(raw), b, &reason) < 0) {
                                print_message("v%u turin=%d: %s\n", versions[i], turin, reason);
                                fail();
                        }
                        assert_report_equal(a, b);
                        assert_memory_equal(b->raw, raw, sizeof(raw));
                        assert_int_equal(snp_report_encode(b, again), 0);
                        assert_memory_equal(again, raw, sizeof(raw));
                }
}

static void test_encode_offsets(void **state) {
        /* Spot checks against the spec's table (§1), independent of the parser. */
        SnpReport r;
        uint8_t raw[SNP_REPORT_SIZE];

        synthetic_report(5, false, &r);
        assert_int_equal(snp_report_encode(&r, raw), 0);
        assert_int_equal(raw[0x000], 5);
        assert_memory_equal(raw + 0x004, ((const uint8_t[]) { 0x04, 0x03, 0x02, 0x01 }), 4);
        assert_memory_equal(raw + 0x008, ((const uint8_t[]) { 0x2a, 0x1f, 0xff, 0x03, 0, 0, 0, 0 }), 8);
        assert_int_equal(raw[0x030], 3);
        assert_int_equal(raw[0x034], 1);
        assert_memory_equal(raw + 0x038, ((const uint8_t[]) { 2, 3, 0, 0, 0, 0, 4, 5 }), 8);
        assert_int_equal(raw[0x040], 0xa5);
        assert_int_equal(raw[0x048], 0x07);
        assert_true(memeqzero(raw + 0x04C, 4));
        assert_memory_equal(raw + 0x050, r.report_data, 64);
        assert_memory_equal(raw + 0x160, r.report_id_ma, 32);
        assert_memory_equal(raw + 0x180, ((const uint8_t[]) { 7, 8, 0, 0, 0, 0, 9, 0x80 }), 8);
        assert_memory_equal(raw + 0x188, ((const uint8_t[]) { 0x19, 0x11, 2 }), 3);
        assert_true(memeqzero(raw + 0x18B, 21));
        assert_memory_equal(raw + 0x1A0, r.chip_id, 64);
        assert_memory_equal(raw + 0x1E8, ((const uint8_t[]) { 0x11, 0x12, 0x13, 0, 0x21, 0x22, 0x23, 0 }), 8);
        assert_memory_equal(raw + 0x1F8, ((const uint8_t[]) { 8, 7, 6, 5, 4, 3, 2, 1 }), 8);
        assert_int_equal(raw[0x200], 0xf8);
        assert_true(memeqzero(raw + 0x208, 0x2A0 - 0x208));
        assert_memory_equal(raw + 0x2A0, r.signature_r, 72);
        assert_memory_equal(raw + 0x2E8, r.signature_s, 72);
        assert_true(memeqzero(raw + 0x330, SNP_REPORT_SIZE - 0x330));

        /* v2 leaves the CPUID area and v2-v4 leave the mitigation vectors zero, whatever the
         * struct holds. */
        r.version = 2;
        assert_int_equal(snp_report_encode(&r, raw), 0);
        assert_true(memeqzero(raw + 0x188, 0x1A0 - 0x188));
        assert_true(memeqzero(raw + 0x1F8, 0x2A0 - 0x1F8));
        r.version = 3;
        assert_int_equal(snp_report_encode(&r, raw), 0);
        assert_int_equal(raw[0x188], 0x19);
        assert_true(memeqzero(raw + 0x1F8, 0x2A0 - 0x1F8));
}

static void test_tcb_set_layouts(void **state) {
        SnpTcb t;

        snp_tcb_set(&t, false, 9, 4, 0, 24, 219);
        assert_memory_equal(t.raw, ((const uint8_t[]) { 0x04, 0, 0, 0, 0, 0, 0x18, 0xdb }), 8);
        assert_false(t.turin);
        assert_int_equal(t.fmc, 0);
        assert_int_equal(t.snp, 24);

        snp_tcb_set(&t, true, 1, 1, 1, 4, 81); /* MS Turin: 01 01 01 04 00 00 00 51 */
        assert_memory_equal(t.raw, ((const uint8_t[]) { 0x01, 0x01, 0x01, 0x04, 0, 0, 0, 0x51 }), 8);
        assert_true(t.turin);
        assert_int_equal(t.fmc, 1);
        assert_int_equal(t.ucode, 81);
}

static void test_encode_real_vectors(void **state) {
        /* encode(parse(x)) == x for every real report that parses. */
        const char *root = getenv("CVM_VECTORS");
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        dir = strdup_printf("%s/snp", root ? root : "../shared/vectors");
        assert_non_null(dir);
        d = opendir(dir);
        if (!d) {
                print_message("no vectors under %s, skipping\n", dir);
                skip();
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *reason = NULL;
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_free_ SnpReport *r = calloc(1, sizeof(SnpReport));
                uint8_t raw[SNP_REPORT_SIZE];
                size_t size;

                assert_non_null(r);
                if (de->d_name[0] == '.')
                        continue;
                path = strdup_printf("%s/%s/report.bin", dir, de->d_name);
                assert_non_null(path);
                if (read_file_bounded(path, CVM_INPUT_MAX, &data, &size) < 0)
                        continue;
                if (snp_report_parse(data, size, r, &reason) < 0)
                        continue;
                assert_int_equal(snp_report_encode(r, raw), 0);
                if (memcmp(raw, data, sizeof(raw)) != 0) {
                        print_message("%s does not round-trip\n", de->d_name);
                        fail();
                }
                n++;
        }
        closedir(d);
        print_message("%zu real reports round-trip\n", n);
        assert_true(n > 0);
}

/* ---- certificate profile -------------------------------------------------------------------- */

static bool has_ext(X509 *x, int nid) {
        return X509_get_ext_by_NID(x, nid, -1) >= 0;
}

static void assert_cn(X509 *x, const char *subject, const char *issuer) {
        _cleanup_free_ char *s = x509_subject_cn(x), *i = x509_issuer_cn(x);

        assert_non_null(s);
        assert_non_null(i);
        assert_string_equal(s, subject);
        assert_string_equal(i, issuer);
}

static void assert_simulated_org(X509 *x) {
        X509_NAME *n = X509_get_subject_name(x);
        char buf[128];

        assert_true(X509_NAME_get_text_by_NID(n, NID_organizationName, buf, sizeof(buf)) > 0);
        assert_non_null(strstr(buf, "Simulated"));
        assert_true(X509_NAME_get_text_by_NID(n, NID_organizationalUnitName, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, "Engineering");
        assert_true(X509_NAME_get_text_by_NID(n, NID_localityName, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, "Santa Clara");
}

static void test_chain_profile(void **state) {
        static const char *const names[] = { "Milan", "Genoa", "Turin", "Milan" };

        for (size_t i = 0; i < _SIM_MAX; i++) {
                SnpSim *s = sims[i];
                SnpProduct p = _SNP_PRODUCT_INVALID;
                SnpLeafInfo li;
                char ark[32], ask[32];
                int64_t t;

                snprintf(ark, sizeof(ark), "ARK-%s", names[i]);
                snprintf(ask, sizeof(ask), s->vlek ? "SEV-VLEK-%s" : "SEV-%s", names[i]);
                assert_cn(s->ark, ark, ark);
                assert_cn(s->ask, ask, ark);
                assert_cn(s->leaf, s->vlek ? "SEV-VLEK" : "SEV-VCEK", ask);
                assert_simulated_org(s->ark);
                assert_simulated_org(s->ask);
                assert_simulated_org(s->leaf);

                assert_int_equal(snp_cert_identify(s->ark, &p), SNP_ROLE_ARK);
                assert_int_equal(p, s->product);
                assert_int_equal(snp_cert_identify(s->ask, &p), s->vlek ? SNP_ROLE_ASVK : SNP_ROLE_ASK);
                assert_int_equal(snp_cert_identify(s->leaf, NULL), s->vlek ? SNP_ROLE_VLEK : SNP_ROLE_VCEK);

                /* RSASSA-PSS SHA-384 everywhere, each verified by its issuer. */
                assert_true(x509_sig_is_rsa_pss_sha384(s->ark));
                assert_true(x509_sig_is_rsa_pss_sha384(s->ask));
                assert_true(x509_sig_is_rsa_pss_sha384(s->leaf));
                assert_int_equal(x509_signed_by(s->ark, X509_get0_pubkey(s->ark)), 1);
                assert_int_equal(x509_signed_by(s->ask, X509_get0_pubkey(s->ark)), 1);
                assert_int_equal(x509_signed_by(s->leaf, X509_get0_pubkey(s->ask)), 1);
                assert_int_equal(x509_signed_by(s->leaf, X509_get0_pubkey(s->ark)), 0);
                assert_true(pkey_is_ec_curve(X509_get0_pubkey(s->leaf), NID_secp384r1));

                /* ARK: CA without pathlen, SKI, no AKI. ASK/ASVK: CA pathlen 0, AKI = ARK SKI. */
                assert_int_equal(X509_check_ca(s->ark), 1);
                assert_int_equal(X509_get_pathlen(s->ark), -1);
                assert_non_null(X509_get0_subject_key_id(s->ark));
                assert_false(has_ext(s->ark, NID_authority_key_identifier));
                assert_true(X509_get_key_usage(s->ark) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
                assert_int_equal(X509_check_ca(s->ask), 1);
                assert_int_equal(X509_get_pathlen(s->ask), 0);
                assert_non_null(X509_get0_authority_key_id(s->ask));
                assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(s->ask),
                                                       X509_get0_subject_key_id(s->ark)),
                                 0);
                assert_int_equal(X509_check_issued(s->ark, s->ask), X509_V_OK);

                /* Leaf: serial 0, none of the usual extensions, all AMD extensions non-critical. */
                assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(s->leaf)), 0);
                assert_false(has_ext(s->leaf, NID_authority_key_identifier));
                assert_false(has_ext(s->leaf, NID_subject_key_identifier));
                assert_false(has_ext(s->leaf, NID_basic_constraints));
                assert_false(has_ext(s->leaf, NID_key_usage));
                for (int k = 0; k < X509_get_ext_count(s->leaf); k++)
                        assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(s->leaf, k)), 0);

                assert_int_equal(snp_leaf_info_parse(s->leaf, &li, NULL), 0);
                assert_int_equal(li.struct_version, s->product == SNP_PRODUCT_TURIN ? 1 : 0);
                assert_int_equal(li.bl_spl, 4);
                assert_int_equal(li.tee_spl, 0);
                assert_int_equal(li.snp_spl, 24);
                assert_int_equal(li.ucode_spl, 219);
                if (s->product == SNP_PRODUCT_TURIN) {
                        assert_string_equal(li.product_name, "Turin");
                        assert_int_equal(li.fmc_spl, 1);
                        assert_int_equal(li.hwid_size, 8);
                        assert_memory_equal(li.hwid, test_chip_id, 8);
                } else if (s->vlek) {
                        assert_string_equal(li.product_name, "Milan");
                        assert_int_equal(li.fmc_spl, -1);
                        assert_int_equal(li.hwid_size, 0);
                        assert_string_equal(li.csp_id, "CN=sim-east-1.example.invalid");
                } else {
                        assert_string_equal(li.product_name, s->product == SNP_PRODUCT_MILAN ? "Milan-B0" : "Genoa");
                        assert_int_equal(li.fmc_spl, -1);
                        assert_int_equal(li.hwid_size, 64);
                        assert_memory_equal(li.hwid, test_chip_id, 64);
                        assert_string_equal(li.csp_id, "");
                }

                assert_int_equal(x509_not_before(s->leaf, &t), 0);
                assert_int_equal(t, LEAF_NB);
                assert_int_equal(x509_not_after(s->leaf, &t), 0);
                assert_int_equal(t, LEAF_NA);
                assert_int_equal(x509_not_after(s->ark, &t), 0);
                assert_int_equal(t, CA_NA);
        }
}

static void test_hwid_is_raw_bytes(void **state) {
        /* The hwID extnValue is the bare 64 bytes, no OCTET STRING header (spec §9). */
        _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.3704.1.4", 1);
        const ASN1_OCTET_STRING *v;
        int idx;

        assert_non_null(obj);
        idx = X509_get_ext_by_OBJ(sims[SIM_GENOA]->leaf, obj, -1);
        assert_true(idx >= 0);
        v = X509_EXTENSION_get_data(X509_get_ext(sims[SIM_GENOA]->leaf, idx));
        assert_int_equal(ASN1_STRING_length(v), 64);
        assert_memory_equal(ASN1_STRING_get0_data(v), test_chip_id, 64);
}

static void test_crl_profile(void **state) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        X509 *revoked[] = { sims[SIM_TURIN]->ask, sims[SIM_TURIN]->leaf };
        X509_REVOKED *rv = NULL;
        int64_t t;

        assert_int_equal(snp_sim_make_crl(sims[SIM_TURIN], revoked, 2, AT, AT + 7 * 86400, &crl), 0);
        assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(sims[SIM_TURIN]->ark)), 0);
        assert_int_equal(X509_CRL_get_signature_nid(crl), NID_rsassaPss);
        assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(sims[SIM_TURIN]->ark)), 1);
        assert_int_equal(asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &t), 0);
        assert_int_equal(t, AT);
        assert_int_equal(asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &t), 0);
        assert_int_equal(t, AT + 7 * 86400);
        assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
        assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, sims[SIM_TURIN]->ask), 1);
        assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, sims[SIM_TURIN]->ark), 0);

        /* DER round trip through the project's CRL parser. */
        {
                _cleanup_(X509_CRL_freep) X509_CRL *back = NULL;
                unsigned char *der = NULL;
                int n = i2d_X509_CRL(crl, &der);

                assert_true(n > 0);
                assert_int_equal(x509_crl_parse(der, (size_t) n, &back), 0);
                OPENSSL_free(der);
                assert_int_equal(X509_CRL_cmp(crl, back), 0);
        }

        assert_int_equal(snp_sim_make_crl(sims[SIM_TURIN], NULL, 0, AT, AT, &crl), -EINVAL);
}

static void test_write_pem(void **state) {
        static const char *const files[][4] = {
                { "ark.pem", "ask.pem", "vcek.der", "vcek-key.pem" },
                { "ark.pem", "asvk.pem", "vlek.der", "vlek-key.pem" },
        };
        const size_t which[] = { SIM_TURIN, SIM_MILAN_VLEK };

        for (size_t w = 0; w < ELEMENTSOF(which); w++) {
                const SnpSim *s = sims[which[w]];
                char tmpl[] = "/tmp/test-snp-sim-XXXXXX";
                _cleanup_free_ char *dir = NULL;
                X509 *expect[3] = { s->ark, s->ask, s->leaf };

                assert_non_null(mkdtemp(tmpl));
                dir = strdup_printf("%s/sub/dir", tmpl);
                assert_non_null(dir);
                assert_int_equal(snp_sim_write_pem(s, dir), 0);

                /* Loaded back, the sim signs reports the verifier accepts under the original
                 * anchor; it has no CA keys. */
                {
                        _cleanup_(snp_sim_freep) SnpSim *loaded = NULL;
                        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
                        SnpReport r;
                        Verdict v;

                        assert_int_equal(snp_sim_load(dir, &loaded), 0);
                        assert_int_equal(loaded->product, s->product);
                        assert_int_equal(loaded->vlek, s->vlek);
                        assert_tcb_equal(&loaded->tcb, &s->tcb);
                        assert_memory_equal(loaded->chip_id, s->chip_id, 64);
                        assert_null(loaded->ark_key);
                        assert_int_equal(snp_sim_make_crl(loaded, NULL, 0, AT, AT + 1, &crl), -ENOKEY);
                        signed_report(loaded, 3, &r);
                        verify_report(s, &r, &v);
                        assert_authentic(&v);
                        verdict_done(&v);
                }

                for (size_t i = 0; i < 4; i++) {
                        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, files[w][i]);
                        _cleanup_free_ uint8_t *data = NULL;
                        struct stat st;
                        size_t size;

                        assert_non_null(path);
                        assert_int_equal(stat(path, &st), 0);
                        if (i == 3)
                                assert_int_equal(st.st_mode & 0077, 0);
                        assert_int_equal(read_file_bounded(path, CVM_INPUT_MAX, &data, &size), 0);
                        if (i < 3) {
                                _cleanup_(X509_freep) X509 *x = NULL;

                                assert_int_equal(x509_parse_one(data, size, &x), 0);
                                assert_int_equal(X509_cmp(x, expect[i]), 0);
                        } else {
                                _cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(data, (int) size);
                                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;

                                assert_non_null(bio);
                                k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
                                assert_non_null(k);
                                assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(s->leaf)), 1);
                        }
                        assert_int_equal(unlink(path), 0);
                }
                {
                        SnpSim *none = (SnpSim *) 0x1;

                        assert_int_equal(snp_sim_load(dir, &none), -ENOENT);
                        assert_ptr_equal(none, (SnpSim *) 0x1);
                }
                assert_int_equal(rmdir(dir), 0);
                *strrchr(dir, '/') = '\0';
                assert_int_equal(rmdir(dir), 0);
                assert_int_equal(rmdir(tmpl), 0);
        }
}

static void rm_sim_dir(const char *dir) {
        static const char *const names[] = { "ark.pem", "ask.pem", "asvk.pem", "vcek.der",
                                             "vlek.der", "vcek-key.pem", "vlek-key.pem" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *path = strdup_printf("%s/%s", dir, names[i]);

                assert_non_null(path);
                (void) unlink(path);
        }
        assert_int_equal(rmdir(dir), 0);
}

static void test_load_mismatched_key(void **state) {
        char a[] = "/tmp/test-snp-sim-XXXXXX", b[] = "/tmp/test-snp-sim-XXXXXX";
        _cleanup_free_ char *from = NULL, *to = NULL;
        SnpSim *none = (SnpSim *) 0x1;

        assert_non_null(mkdtemp(a));
        assert_non_null(mkdtemp(b));
        assert_int_equal(snp_sim_write_pem(sims[SIM_MILAN], a), 0);
        assert_int_equal(snp_sim_write_pem(sims[SIM_GENOA], b), 0);

        /* Genoa's ASK under Milan's ARK: not one chain. */
        from = strdup_printf("%s/ask.pem", b);
        to = strdup_printf("%s/ask.pem", a);
        assert_non_null(from);
        assert_non_null(to);
        assert_int_equal(rename(from, to), 0);
        assert_int_equal(snp_sim_load(a, &none), -EBADMSG);
        assert_ptr_equal(none, (SnpSim *) 0x1);

        /* A leaf key that is not the VCEK's. */
        assert_int_equal(snp_sim_write_pem(sims[SIM_MILAN], a), 0);
        assert_int_equal(snp_sim_write_pem(sims[SIM_GENOA], b), 0);
        free(from);
        free(to);
        from = strdup_printf("%s/vcek-key.pem", b);
        to = strdup_printf("%s/vcek-key.pem", a);
        assert_non_null(from);
        assert_non_null(to);
        assert_int_equal(rename(from, to), 0);
        assert_int_equal(snp_sim_load(a, &none), -EBADMSG);
        assert_ptr_equal(none, (SnpSim *) 0x1);

        rm_sim_dir(a);
        rm_sim_dir(b);
}

static void test_bad_params(void **state) {
        SnpSim *s = (SnpSim *) 0x1;
        SnpReport r;

        assert_int_equal(snp_sim_new(&(SnpSimParams) { .product = _SNP_PRODUCT_MAX, .rsa_bits = 2048 }, &s),
                         -EINVAL);
        assert_int_equal(snp_sim_new(&(SnpSimParams) { .product = SNP_PRODUCT_MILAN, .rsa_bits = 1024 }, &s),
                         -EINVAL);
        assert_int_equal(snp_sim_new(&(SnpSimParams) { .product = SNP_PRODUCT_MILAN,
                                                       .rsa_bits = 2048,
                                                       .not_before = LEAF_NA,
                                                       .not_after = LEAF_NB },
                                     &s),
                         -EINVAL);
        assert_ptr_equal(s, (SnpSim *) 0x1); /* untouched on error */
        assert_int_equal(snp_sim_report_template(sims[SIM_MILAN], 1, &r), -EINVAL);
        assert_int_equal(snp_sim_report_template(sims[SIM_MILAN], 6, &r), -EINVAL);
        assert_null(snp_sim_free(NULL));
}

static void test_default_validity(void **state) {
        /* Without dates: a VLEK valid for a year from yesterday, CAs around it. */
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        SnpReport r;
        Verdict v;
        int64_t nb, na, now = (int64_t) time(NULL);

        assert_int_equal(snp_sim_new(&(SnpSimParams) { .product = SNP_PRODUCT_GENOA, .vlek = true, .rsa_bits = 2048 },
                                     &s),
                         0);
        assert_int_equal(x509_not_before(s->leaf, &nb), 0);
        assert_int_equal(x509_not_after(s->leaf, &na), 0);
        assert_true(nb < now && nb > now - 2 * 86400);
        assert_int_equal(na - nb, 365 * 86400);
        signed_report(s, 5, &r);
        verify_full(s, r.raw, NULL, 0, now, NULL, &v);
        assert_authentic(&v);
        verdict_done(&v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tcb_set_layouts),
                cmocka_unit_test(test_encode_offsets),
                cmocka_unit_test(test_encode_parse_roundtrip),
                cmocka_unit_test(test_encode_real_vectors),
                cmocka_unit_test(test_chain_profile),
                cmocka_unit_test(test_hwid_is_raw_bytes),
                cmocka_unit_test(test_crl_profile),
                cmocka_unit_test(test_milan_v2_authentic),
                cmocka_unit_test(test_genoa_v3_authentic),
                cmocka_unit_test(test_turin_v5_authentic),
                cmocka_unit_test(test_turin_v2_authentic),
                cmocka_unit_test(test_vlek_authentic),
                cmocka_unit_test(test_crl_not_revoking_passes),
                cmocka_unit_test(test_builtin_anchors_refuse_sim),
                cmocka_unit_test(test_sim_anchor_is_not_builtin),
                cmocka_unit_test(test_other_sim_anchor_refused),
                cmocka_unit_test(test_crl_revokes_ask),
                cmocka_unit_test(test_crl_from_other_ark_refused),
                cmocka_unit_test(test_leaf_expired),
                cmocka_unit_test(test_field_changed_after_signing),
                cmocka_unit_test(test_field_changed_in_struct_after_signing),
                cmocka_unit_test(test_tcb_mismatch),
                cmocka_unit_test(test_current_tcb_may_differ),
                cmocka_unit_test(test_chip_id_mismatch),
                cmocka_unit_test(test_wrong_product_chain),
                cmocka_unit_test(test_vcek_report_with_vlek_chain),
                cmocka_unit_test(test_write_pem),
                cmocka_unit_test(test_load_mismatched_key),
                cmocka_unit_test(test_bad_params),
                cmocka_unit_test(test_default_validity),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
