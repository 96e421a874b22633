/* SPDX-License-Identifier: Apache-2.0 */
/* TDX quote parser and verifier on real evidence (phala-tdx-quote-v4-uptodate and its
 * collateral): every bit flip of the header and TD report and every byte flip of the signature
 * data's signed parts is rejected; truncations are refused; padding after the declared end is
 * ignored while declared lengths past the input are refused; collateral windows, exact-byte
 * collateral signatures and the PCK CRL issuer are enforced. TCB level matching and status
 * convergence are checked on synthetic TCB info. Needs $CVM_VECTORS for the real-data tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/pcs.h"
#include "cvm/tdx-sim.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

#define CASE "tdx/phala-tdx-quote-v4-uptodate"

typedef struct Fixture {
        uint8_t *quote;
        size_t size;
        TdxCollateral *col;
        char *coldir;
        int64_t at;
} Fixture;

static char *vector_path(const char *rel) {
        const char *root = getenv("CVM_VECTORS");
        return strdup_printf("%s/%s", root && *root ? root : "../shared/vectors", rel);
}

static int setup(void **state) {
        _cleanup_free_ char *qp = vector_path(CASE "/quote.bin");
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        *state = f;
        assert_non_null(qp);
        if (read_file_bounded(qp, CVM_INPUT_MAX, &f->quote, &f->size) < 0)
                return 0; /* tests skip */
        f->coldir = vector_path(CASE "/collateral");
        assert_non_null(f->coldir);
        assert_int_equal(pcs_collateral_load_dir(f->coldir, &f->col, NULL), 0);
        assert_int_equal(parse_rfc3339("2025-07-19T10:00:34Z", &f->at), 0);
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        free(f->quote);
        free(f->coldir);
        tdx_collateral_free(f->col);
        free(f);
        return 0;
}

/* Verifies and returns authentic; *ret_status gets the TCB status or -1. */
static bool verify_at(const uint8_t *data, size_t size, TdxCollateral *col, int64_t at, int *ret_status) {
        _cleanup_(verdict_done) Verdict v = {};
        TdxAppraisal a = {};
        TdxVerifyParams p = { .at = at };
        bool ok;

        p.anchors = tdx_builtin_anchors(&p.n_anchors);
        assert_int_equal(verdict_init(&v, "tdx"), 0);
        assert_int_equal(tdx_verify(data, size, col, &p, &a, &v), 0);
        ok = v.authentic;
        if (ok)
                assert_int_equal(v.n_reasons, 0);
        else
                assert_true(v.n_reasons > 0);
        if (ret_status)
                *ret_status = a.tcb_evaluated ? (int) a.tcb.status : -1;
        tdx_appraisal_done(&a);
        return ok;
}

static void test_real_quote(void **state) {
        Fixture *f = *state;
        int st;

        if (!f->quote)
                skip();
        assert_true(verify_at(f->quote, f->size, f->col, f->at, &st));
        assert_int_equal(st, TDX_TCB_UP_TO_DATE);
        /* quote only */
        assert_true(verify_at(f->quote, f->size, NULL, f->at, &st));
        assert_int_equal(st, -1);
}

static void test_every_bit_flip_of_header_and_body_is_rejected(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint8_t *copy = NULL;
        TdxQuote q;

        if (!f->quote)
                skip();
        assert_int_equal(tdx_quote_parse(f->quote, f->size, &q, NULL), 0);
        assert_int_equal(q.signed_size, TDX_QUOTE_HEADER_SIZE + TDX_TD10_BODY_SIZE);
        copy = malloc(f->size);
        assert_non_null(copy);
        for (size_t bit = 0; bit < q.signed_size * 8; bit++) {
                memcpy(copy, f->quote, f->size);
                copy[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                if (verify_at(copy, f->size, NULL, f->at, NULL))
                        fail_msg("flip of bit %zu of byte %zu accepted", bit % 8, bit / 8);
        }
}

static void test_signature_data_flips_are_rejected(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint8_t *copy = NULL;
        size_t sig = TDX_QUOTE_HEADER_SIZE + TDX_TD10_BODY_SIZE + 4;
        /* quote signature, attestation key, QE report, QE report signature, auth size + auth data */
        size_t end = sig + 64 + 64 + 6 + TDX_SGX_REPORT_SIZE + 64 + 2 + 32;

        if (!f->quote)
                skip();
        copy = malloc(f->size);
        assert_non_null(copy);
        for (size_t byte = sig; byte < end; byte++) {
                memcpy(copy, f->quote, f->size);
                copy[byte] ^= 0x01;
                if (verify_at(copy, f->size, NULL, f->at, NULL))
                        fail_msg("flip of byte %zu accepted", byte);
        }
}

static void test_truncations_are_refused(void **state) {
        Fixture *f = *state;
        TdxQuote q;

        if (!f->quote)
                skip();
        assert_int_equal(tdx_quote_parse(f->quote, f->size, &q, NULL), 0);
        for (size_t n = 0; n < q.quote_size; n++) {
                _cleanup_free_ uint8_t *exact = malloc(n ? n : 1);
                _cleanup_free_ char *reason = NULL;
                TdxQuote t;

                assert_non_null(exact);
                memcpy(exact, f->quote, n);
                assert_int_equal(tdx_quote_parse(exact, n, &t, &reason), -EBADMSG);
                assert_non_null(reason);
        }
        /* exactly the declared size is enough */
        assert_true(verify_at(f->quote, q.quote_size, f->col, f->at, NULL));
}

static void test_padding_is_ignored_but_declared_lengths_must_fit(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint8_t *big = NULL;
        TdxQuote q;
        uint32_t len;

        if (!f->quote)
                skip();
        assert_int_equal(tdx_quote_parse(f->quote, f->size, &q, NULL), 0);
        big = malloc(q.quote_size + 100);
        assert_non_null(big);
        memcpy(big, f->quote, q.quote_size);
        memset(big + q.quote_size, 'x', 100);
        assert_true(verify_at(big, q.quote_size + 100, f->col, f->at, NULL));

        /* signature_data_len one more than what the buffer holds */
        len = (uint32_t) (f->size - 636 + 1);
        memcpy(big, f->quote, f->size);
        big[632] = (uint8_t) len;
        big[633] = (uint8_t) (len >> 8);
        big[634] = (uint8_t) (len >> 16);
        big[635] = (uint8_t) (len >> 24);
        assert_int_equal(tdx_quote_parse(big, f->size, &q, NULL), -EBADMSG);
        /* declared longer than the signature data it holds: refused even with padding present */
        assert_false(verify_at(big, f->size, NULL, f->at, NULL));
}

static void test_collateral_windows(void **state) {
        Fixture *f = *state;
        int64_t from, until;

        if (!f->quote)
                skip();
        assert_int_equal(tdx_collateral_window(f->col, &from, &until), 0);
        assert_true(verify_at(f->quote, f->size, f->col, from, NULL));
        assert_true(verify_at(f->quote, f->size, f->col, until, NULL));
        assert_false(verify_at(f->quote, f->size, f->col, from - 1, NULL));
        assert_false(verify_at(f->quote, f->size, f->col, until + 1, NULL));
        /* without collateral, only the certificates' windows matter */
        assert_true(verify_at(f->quote, f->size, NULL, until + 86400, NULL));
}

static TdxCollateral *load_with(const char *dir, TdxCollateralFile which, const uint8_t *data, size_t size) {
        uint8_t *d[_TDX_FILE_MAX] = {};
        size_t s[_TDX_FILE_MAX] = {};
        TdxCollateral *c = NULL;

        for (int i = 0; i < _TDX_FILE_MAX; i++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s", dir, tdx_collateral_file_name(i));
                assert_non_null(p);
                assert_int_equal(read_file_bounded(p, CVM_INPUT_MAX, &d[i], &s[i]), 0);
        }
        if (data) {
                free(d[which]);
                d[which] = malloc(size);
                assert_non_null(d[which]);
                memcpy(d[which], data, size);
                s[which] = size;
        }
        (void) tdx_collateral_parse((const uint8_t *const *) d, s, &c, NULL);
        for (int i = 0; i < _TDX_FILE_MAX; i++)
                free(d[i]);
        return c;
}

static void test_collateral_signature_covers_exact_bytes(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = NULL;
        _cleanup_free_ uint8_t *json = NULL;
        _cleanup_free_ char *edited = NULL;
        size_t size, off, len;
        char *date;

        if (!f->quote)
                skip();
        p = strdup_printf("%s/tcb_info.json", f->coldir);
        assert_int_equal(read_file_bounded(p, CVM_INPUT_MAX, &json, &size), 0);
        assert_int_equal(tdx_json_member_span((char *) json, size, "tcbInfo", &off, &len), 0);
        assert_int_equal(json[off], '{');
        assert_int_equal(json[off + len - 1], '}');

        /* whitespace outside the signed value: still verifies */
        edited = strdup_printf(" \n%s\n ", (char *) json);
        {
                _cleanup_(tdx_collateral_freep) TdxCollateral *c =
                        load_with(f->coldir, TDX_FILE_TCB_INFO, (uint8_t *) edited, strlen(edited));
                assert_non_null(c);
                assert_true(verify_at(f->quote, f->size, c, f->at, NULL));
        }
        /* a space inside the signed value: same JSON meaning, signature fails */
        {
                _cleanup_free_ char *doc = strdup_printf("{\"tcbInfo\":{ %.*s%s", (int) (len - 1),
                                                         (char *) json + off + 1, (char *) json + off + len);
                _cleanup_(tdx_collateral_freep) TdxCollateral *c =
                        load_with(f->coldir, TDX_FILE_TCB_INFO, (uint8_t *) doc, strlen(doc));
                assert_non_null(c);
                assert_false(verify_at(f->quote, f->size, c, f->at, NULL));
        }
        /* one changed date digit inside the value: signature fails */
        date = strstr((char *) json + off, "\"tcbDate\":\"2");
        assert_non_null(date);
        date[12] = date[12] == '9' ? '8' : (char) (date[12] + 1);
        {
                _cleanup_(tdx_collateral_freep) TdxCollateral *c = load_with(f->coldir, TDX_FILE_TCB_INFO, json, size);
                assert_non_null(c);
                assert_false(verify_at(f->quote, f->size, c, f->at, NULL));
        }
}

static void test_json_member_span(void **state) {
        size_t off, len;

        const char *doc = "{\"a\":1,\"b\":{\"x\":[1,\"}\"]}}";

        assert_int_equal(tdx_json_member_span(doc, strlen(doc), "b", &off, &len), 0);
        assert_int_equal(off, 11);
        assert_int_equal(len, 13);
        /* repeated key: refused */
        assert_int_equal(tdx_json_member_span("{\"b\":1,\"b\":2}", 13, "b", &off, &len), -EBADMSG);
        /* absent, trailing junk, not an object, unterminated */
        assert_int_equal(tdx_json_member_span("{\"a\":1}", 7, "b", &off, &len), -EBADMSG);
        assert_int_equal(tdx_json_member_span("{\"b\":1}x", 8, "b", &off, &len), -EBADMSG);
        assert_int_equal(tdx_json_member_span("[1]", 3, "b", &off, &len), -EBADMSG);
        assert_int_equal(tdx_json_member_span("{\"b\":\"1}", 8, "b", &off, &len), -EBADMSG);
        /* an escaped key is not the key */
        assert_int_equal(tdx_json_member_span("{\"\\u0062\":1}", 12, "b", &off, &len), -EBADMSG);
}

static void test_pck_crl_must_come_from_the_leaf_issuer(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = NULL;
        _cleanup_free_ uint8_t *root_crl = NULL;
        _cleanup_(tdx_collateral_freep) TdxCollateral *c = NULL;
        size_t size;

        if (!f->quote)
                skip();
        p = strdup_printf("%s/root_ca_crl.der", f->coldir);
        assert_int_equal(read_file_bounded(p, CVM_INPUT_MAX, &root_crl, &size), 0);
        c = load_with(f->coldir, TDX_FILE_PCK_CRL, root_crl, size);
        assert_non_null(c);
        assert_false(verify_at(f->quote, f->size, c, f->at, NULL));
}

static void test_unpinned_root_is_refused(void **state) {
        Fixture *f = *state;
        _cleanup_(verdict_done) Verdict v = {};
        TdxAnchor other = { .label = "other" };
        TdxVerifyParams p = { .anchors = &other, .n_anchors = 1 };

        if (!f->quote)
                skip();
        p.at = f->at;
        assert_int_equal(verdict_init(&v, "tdx"), 0);
        assert_int_equal(tdx_verify(f->quote, f->size, f->col, &p, NULL, &v), 0);
        assert_false(v.authentic);
        assert_non_null(verdict_find_check(&v, "pck.root-pinned"));
        assert_int_equal(verdict_find_check(&v, "pck.root-pinned")->status, CHECK_FAIL);
}

/* ---- TCB matching on synthetic TCB info ---- */

static void set_level(TdxTcbLevel *l, uint8_t sgx, uint16_t pcesvn, uint8_t tdx, TdxTcbStatus st) {
        memset(l, 0, sizeof(*l));
        memset(l->sgx, sgx, 16);
        l->pcesvn = pcesvn;
        memset(l->tdx, tdx, 16);
        l->tdx[1] = 0; /* the module version component */
        l->status = st;
        l->tcb_date = 1;
}

static void test_tcb_matching(void **state) {
        TdxTcbLevel levels[3];
        TdxIsvLevel mod_levels[2] = { { .isvsvn = 5, .status = TDX_TCB_UP_TO_DATE },
                                      { .isvsvn = 2, .status = TDX_TCB_OUT_OF_DATE } };
        TdxIsvLevel qe_levels[2] = { { .isvsvn = 8, .status = TDX_TCB_UP_TO_DATE },
                                     { .isvsvn = 4, .status = TDX_TCB_REVOKED } };
        TdxModuleIdentity ids[1] = { { .id = "TDX_01", .levels = mod_levels, .n_levels = 2 } };
        TdxTcbInfo ti = { .levels = levels, .n_levels = 3, .has_module_identities = true,
                          .module_identities = ids, .n_module_identities = 1 };
        TdxQeIdentity qe = { .levels = qe_levels, .n_levels = 2 };
        TdxPckInfo pck = {};
        TdxQuote q = {};
        TdxTcbResult r;

        set_level(&levels[0], 5, 13, 5, TDX_TCB_UP_TO_DATE);
        set_level(&levels[1], 5, 11, 3, TDX_TCB_SW_HARDENING_NEEDED);
        set_level(&levels[2], 3, 11, 0, TDX_TCB_CONFIGURATION_NEEDED);
        memset(pck.sgx_tcb_comp_svn, 5, 16);
        pck.pcesvn = 13;
        q.qe_report.isv_svn = 8;
        memset(q.tee_tcb_svn, 5, 16);
        q.tee_tcb_svn[1] = 0;

        /* no module version: every TDX component counts */
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_UP_TO_DATE);
        tdx_tcb_result_done(&r);
        /* PCESVN below the first level picks the second */
        pck.pcesvn = 12;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_SW_HARDENING_NEEDED);
        tdx_tcb_result_done(&r);
        /* SGX components below every level: NotSupported */
        memset(pck.sgx_tcb_comp_svn, 2, 16);
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_NOT_SUPPORTED);
        assert_int_equal(r.advisories.n, 0);
        tdx_tcb_result_done(&r);
        memset(pck.sgx_tcb_comp_svn, 5, 16);
        pck.pcesvn = 13;

        /* module version 1: indexes 0 and 1 are skipped; module isvsvn 4 -> OutOfDate converges */
        memset(q.tee_tcb_svn, 5, 16);
        q.tee_tcb_svn[0] = 4;
        q.tee_tcb_svn[1] = 1;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.platform_status, TDX_TCB_UP_TO_DATE);
        assert_int_equal(r.module_status, TDX_TCB_OUT_OF_DATE);
        assert_int_equal(r.status, TDX_TCB_OUT_OF_DATE);
        tdx_tcb_result_done(&r);
        /* ConfigurationNeeded platform + OutOfDate module */
        memset(pck.sgx_tcb_comp_svn, 3, 16);
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
        tdx_tcb_result_done(&r);
        memset(pck.sgx_tcb_comp_svn, 5, 16);
        /* module isvsvn below every module level: NotSupported */
        q.tee_tcb_svn[0] = 1;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_NOT_SUPPORTED);
        tdx_tcb_result_done(&r);
        q.tee_tcb_svn[0] = 5;
        /* revoked QE level wins */
        q.qe_report.isv_svn = 6;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_REVOKED);
        tdx_tcb_result_done(&r);
        q.qe_report.isv_svn = 8;
        /* unknown module version: a mismatch, not a status */
        q.tee_tcb_svn[1] = 3;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), -EBADMSG);
        /* MRSIGNERSEAM must be the module's signer */
        q.tee_tcb_svn[1] = 1;
        q.mrsignerseam[0] = 1;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), -EBADMSG);
}

/* TD 1.5 (body type 3): the TD-relaunch check as Intel's QVL does it. The TD still runs on an
 * out-of-date module (TEE_TCB_SVN), the module it was updated to in place (TEE_TCB_SVN2)
 * reaches the newest level: TDRelaunchAdvised, or TDRelaunchAdvisedConfigurationNeeded when
 * the platform also needs configuration. Anything short of that keeps its QVL status. */
static void test_td15_relaunch_advised(void **state) {
        TdxTcbLevel levels[3];
        TdxIsvLevel mod_levels[2] = { { .isvsvn = 5, .status = TDX_TCB_UP_TO_DATE },
                                      { .isvsvn = 2, .status = TDX_TCB_OUT_OF_DATE } };
        TdxIsvLevel qe_levels[2] = { { .isvsvn = 8, .status = TDX_TCB_UP_TO_DATE },
                                     { .isvsvn = 6, .status = TDX_TCB_OUT_OF_DATE } };
        TdxModuleIdentity ids[1] = { { .id = "TDX_01", .levels = mod_levels, .n_levels = 2 } };
        TdxTcbInfo ti = { .levels = levels, .n_levels = 3, .has_module_identities = true,
                          .module_identities = ids, .n_module_identities = 1 };
        TdxQeIdentity qe = { .levels = qe_levels, .n_levels = 2 };
        TdxPckInfo pck = {};
        TdxQuote q = { .body_type = 3 };
        TdxTcbResult r;

        set_level(&levels[0], 5, 13, 5, TDX_TCB_UP_TO_DATE);
        set_level(&levels[1], 5, 11, 3, TDX_TCB_OUT_OF_DATE);
        set_level(&levels[2], 3, 11, 0, TDX_TCB_CONFIGURATION_NEEDED);
        memset(pck.sgx_tcb_comp_svn, 5, 16);
        pck.pcesvn = 13;
        q.qe_report.isv_svn = 8;

        /* module version 1 at isvsvn 4 (OutOfDate), updated in place to isvsvn 5 (the newest) */
        memset(q.tee_tcb_svn, 5, 16);
        q.tee_tcb_svn[0] = 4;
        q.tee_tcb_svn[1] = 1;
        memcpy(q.tee_tcb_svn2, q.tee_tcb_svn, 16);
        q.tee_tcb_svn2[0] = 5;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.module_status, TDX_TCB_OUT_OF_DATE);
        assert_int_equal(r.status, TDX_TCB_TD_RELAUNCH_ADVISED);
        assert_string_equal(tdx_tcb_status_to_string(r.status), "TDRelaunchAdvised");
        tdx_tcb_result_done(&r);

        /* a TD 1.0 body has no TEE_TCB_SVN2: plain OutOfDate */
        q.body_type = 2;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_OUT_OF_DATE);
        tdx_tcb_result_done(&r);
        q.body_type = 3;

        /* the updated module is not the newest either: OutOfDate */
        q.tee_tcb_svn2[0] = 4;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_OUT_OF_DATE);
        tdx_tcb_result_done(&r);
        q.tee_tcb_svn2[0] = 5;

        /* TEE_TCB_SVN2[2] below the newest level's: OutOfDate */
        q.tee_tcb_svn2[2] = 4;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_OUT_OF_DATE);
        tdx_tcb_result_done(&r);
        q.tee_tcb_svn2[2] = 5;

        /* an out-of-date QE: relaunching the TD would not help */
        q.qe_report.isv_svn = 7;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_OUT_OF_DATE);
        tdx_tcb_result_done(&r);
        q.qe_report.isv_svn = 8;

        /* the platform needs configuration as well */
        memset(pck.sgx_tcb_comp_svn, 3, 16);
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.status, TDX_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED);
        assert_string_equal(tdx_tcb_status_to_string(r.status), "TDRelaunchAdvisedConfigurationNeeded");
        tdx_tcb_result_done(&r);
        memset(pck.sgx_tcb_comp_svn, 5, 16);

        /* no module version (TEE_TCB_SVN[1] = 0): the platform level's TDX components are out of
         * date and TEE_TCB_SVN2 reaches the newest level's component 0 and 2 */
        memset(q.tee_tcb_svn, 3, 16);
        q.tee_tcb_svn[1] = 0;
        memcpy(q.tee_tcb_svn2, q.tee_tcb_svn, 16);
        q.tee_tcb_svn2[0] = 5;
        q.tee_tcb_svn2[2] = 5;
        assert_int_equal(tdx_tcb_evaluate(&ti, &qe, &pck, &q, &r, NULL), 0);
        assert_int_equal(r.platform_status, TDX_TCB_OUT_OF_DATE);
        assert_int_equal(r.status, TDX_TCB_TD_RELAUNCH_ADVISED);
        tdx_tcb_result_done(&r);

        /* the relaunch statuses are verdicts: no TCB info level may carry one */
        assert_int_equal(tdx_tcb_status_from_string("TDRelaunchAdvised"), TDX_TCB_TD_RELAUNCH_ADVISED);
}

static void test_advisories_union_is_sorted(void **state) {
        TdxAdvisories a = {}, b = {};
        char *ids1[] = { "INTEL-SA-00837", "INTEL-SA-00615" }, *ids2[] = { "INTEL-SA-00615", "INTEL-SA-00001" };
        TdxAdvisories x = { .ids = ids1, .n = 2 }, y = { .ids = ids2, .n = 2 };

        assert_int_equal(tdx_advisories_merge(&a, &x), 0);
        assert_int_equal(tdx_advisories_merge(&a, &y), 0);
        assert_int_equal(a.n, 3);
        assert_string_equal(a.ids[0], "INTEL-SA-00001");
        assert_string_equal(a.ids[1], "INTEL-SA-00615");
        assert_string_equal(a.ids[2], "INTEL-SA-00837");
        tdx_advisories_done(&a);
        tdx_advisories_done(&b);
}

static void test_pem_chain_with_nul_and_junk(void **state) {
        Fixture *f = *state;
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        TdxQuote q;

        if (!f->quote)
                skip();
        assert_int_equal(tdx_quote_parse(f->quote, f->size, &q, NULL), 0);
        assert_int_equal(tdx_pck_chain_parse(q.pck_chain, q.pck_chain_size, &sk, NULL), 0);
        assert_int_equal(sk_X509_num(sk), 3);
        buf = malloc(q.pck_chain_size + 1);
        assert_non_null(buf);
        memcpy(buf, q.pck_chain, q.pck_chain_size);
        buf[q.pck_chain_size] = 0x01; /* a stray byte is not a NUL terminator */
        sk_X509_pop_freep(&sk);
        sk = NULL;
        assert_int_equal(tdx_pck_chain_parse(buf, q.pck_chain_size + 1, &sk, NULL), -EBADMSG);
}

/* Verifies quote against the files (NULL: quote only) with both sims' roots trusted. */
static void verify_with(const uint8_t *quote, size_t size, const TdxSimCollateral *files, const TdxAnchor *anchors,
                        int64_t at, Verdict *v) {
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        TdxVerifyParams params = { .anchors = anchors, .n_anchors = 2, .at = at };
        TdxAppraisal a;

        assert_int_equal(tdx_collateral_parse((const uint8_t *const *) files->data, files->size, &col, NULL), 0);
        assert_int_equal(verdict_init(v, "tdx"), 0);
        assert_int_equal(tdx_verify(quote, size, col, &params, &a, v), 0);
        tdx_appraisal_done(&a);
}

static bool has_reason(const Verdict *v, const char *needle) {
        for (size_t i = 0; i < v->n_reasons; i++)
                if (strstr(v->reasons[i], needle))
                        return true;
        return false;
}

/* One root per verdict: with two roots trusted (Intel's and a simulator's, as a policy with
 * trusted_simulator_roots has it), collateral signed under one root never grades a quote whose
 * PCK chain ends at the other. And the PCK leaf and PCK CA are checked against the CRLs that
 * cover them. Simulated platforms (src/sim), a TD 1.5 (v5) quote. */
static void test_one_root_per_verdict_and_revoked_leaf(void **state) {
        static const int64_t at = 1735689600; /* 2025-01-01 */
        _cleanup_(tdx_sim_freep) TdxSim *a = NULL, *b = NULL;
        _cleanup_free_ uint8_t *quote = NULL;
        _cleanup_(tdx_sim_collateral_done) TdxSimCollateral ca = {}, cb = {}, mixed = {}, revoked = {};
        TdxSimParams sp = { .not_before = at - 86400, .not_after = at + 86400 * 365 };
        TdxAnchor anchors[2];
        TdxQuote q;
        size_t size;

        assert_int_equal(tdx_sim_new(&sp, &a), 0);
        assert_int_equal(tdx_sim_new(&sp, &b), 0);
        assert_int_equal(tdx_sim_anchor(a, &anchors[0]), 0);
        assert_int_equal(tdx_sim_anchor(b, &anchors[1]), 0);
        assert_int_equal(tdx_sim_quote_template(a, 5, &q), 0);
        assert_int_equal(tdx_sim_quote_sign(a, &q, &quote, &size), 0);
        assert_int_equal(tdx_sim_make_collateral(a, at - 3600, at + 86400, NULL, 0, &ca), 0);
        assert_int_equal(tdx_sim_make_collateral(b, at - 3600, at + 86400, NULL, 0, &cb), 0);
        assert_int_equal(tdx_sim_make_collateral(a, at - 3600, at + 86400, &a->pck, 1, &revoked), 0);

        {
                _cleanup_(verdict_done) Verdict v = {};
                verify_with(quote, size, &ca, anchors, at, &v);
                if (!v.authentic)
                        fail_msg("own collateral refused: %s", v.n_reasons ? v.reasons[0] : "?");
        }
        /* B's TCB info and QE identity with their chains, A's CRLs: the chains end at B's root */
        for (int f = 0; f < _TDX_FILE_MAX; f++) {
                const TdxSimCollateral *from =
                        f == TDX_FILE_PCK_CRL || f == TDX_FILE_PCK_CRL_CHAIN || f == TDX_FILE_ROOT_CRL ? &ca : &cb;
                mixed.data[f] = malloc(from->size[f]);
                assert_non_null(mixed.data[f]);
                memcpy(mixed.data[f], from->data[f], from->size[f]);
                mixed.size[f] = from->size[f];
        }
        {
                _cleanup_(verdict_done) Verdict v = {};
                verify_with(quote, size, &mixed, anchors, at, &v);
                assert_false(v.authentic);
                assert_true(has_reason(&v, "collateral.tcb-info-chain: tcb_info_issuer_chain.pem: ends at root"));
                assert_true(has_reason(&v, "one root per verdict"));
        }
        {
                _cleanup_(verdict_done) Verdict v = {};
                verify_with(quote, size, &revoked, anchors, at, &v);
                assert_false(v.authentic);
                assert_true(has_reason(&v, "the PCK leaf certificate is revoked"));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_real_quote, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every_bit_flip_of_header_and_body_is_rejected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signature_data_flips_are_rejected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncations_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_padding_is_ignored_but_declared_lengths_must_fit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_collateral_windows, setup, teardown),
                cmocka_unit_test_setup_teardown(test_collateral_signature_covers_exact_bytes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pck_crl_must_come_from_the_leaf_issuer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unpinned_root_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pem_chain_with_nul_and_junk, setup, teardown),
                cmocka_unit_test(test_json_member_span),
                cmocka_unit_test(test_tcb_matching),
                cmocka_unit_test(test_td15_relaunch_advised),
                cmocka_unit_test(test_one_root_per_verdict_and_revoked_leaf),
                cmocka_unit_test(test_advisories_union_is_sorted),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
