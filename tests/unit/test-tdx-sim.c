/* SPDX-License-Identifier: Apache-2.0 */
/* The TDX simulator against the real verifier: its quotes and collateral verify with
 * tdx_verify() (UpToDate) only when the simulator's root is among the anchors; every changed
 * byte of the signed header and TD report, of the QE report and of the signed collateral is
 * refused; a PCK CRL revoking the PCK leaf is refused (and one revoking another certificate is
 * not); stale collateral is refused; the files written by tdx_sim_write() load back and make
 * quotes that verify against the written bundle; the policy's trusted_simulator_roots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cvm/crypto.h"
#include "cvm/pcs.h"
#include "cvm/policy.h"
#include "cvm/tdx-sim.h"
#include "cvm/util.h"

#define DAY INT64_C(86400)

typedef struct Fixture {
        TdxSim *sim;
        TdxAnchor anchors[2]; /* Intel's, the simulator's */
        int64_t now;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        size_t n;

        assert_non_null(f);
        assert_int_equal(tdx_sim_new(&(TdxSimParams) {}, &f->sim), 0);
        f->anchors[0] = tdx_builtin_anchors(&n)[0];
        assert_int_equal(tdx_sim_anchor(f->sim, &f->anchors[1]), 0);
        f->now = (int64_t) time(NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        tdx_sim_free(f->sim);
        free(f);
        return 0;
}

static TdxCollateral *collateral(const TdxSim *s, int64_t issue, int64_t next, X509 *const *revoked, size_t n) {
        _cleanup_(tdx_sim_collateral_done) TdxSimCollateral c = {};
        TdxCollateral *col = NULL;
        char *reason = NULL;

        assert_int_equal(tdx_sim_make_collateral(s, issue, next, revoked, n, &c), 0);
        if (tdx_collateral_parse((const uint8_t *const *) c.data, c.size, &col, &reason) < 0)
                fail_msg("collateral: %s", reason);
        return col;
}

static uint8_t *make_quote(const TdxSim *s, uint16_t version, size_t *ret_size) {
        _cleanup_free_ TdxQuote *q = calloc(1, sizeof(TdxQuote));
        uint8_t *data;

        assert_non_null(q);
        assert_int_equal(tdx_sim_quote_template(s, version, q), 0);
        memset(q->report_data, 0x5a, 64);
        memset(q->mrconfigid, 0xc3, 48);
        assert_int_equal(tdx_sim_quote_sign(s, q, &data, ret_size), 0);
        return data;
}

/* Runs the verifier; returns authentic, and the named check's status in *ret_check (-1 absent). */
static bool verify(const Fixture *f, const uint8_t *data, size_t size, TdxCollateral *col, size_t n_anchors,
                   int64_t at, const char *check, int *ret_check, TdxTcbStatus *ret_status) {
        _cleanup_(verdict_done) Verdict v = {};
        TdxAppraisal a = {};
        TdxVerifyParams p = { .anchors = f->anchors, .n_anchors = n_anchors, .at = at };
        const Check *c;
        bool ok;

        assert_int_equal(verdict_init(&v, "tdx"), 0);
        assert_int_equal(tdx_verify(data, size, col, &p, &a, &v), 0);
        ok = v.authentic;
        if (ok)
                assert_int_equal(v.n_reasons, 0);
        else
                assert_true(v.n_reasons > 0);
        if (ret_check) {
                c = check ? verdict_find_check(&v, check) : NULL;
                *ret_check = c ? (int) c->status : -1;
        }
        if (ret_status)
                *ret_status = a.tcb_evaluated ? a.tcb.status : _TDX_TCB_STATUS_INVALID;
        tdx_appraisal_done(&a);
        return ok;
}

static void test_verifies_only_with_the_sim_anchor(void **state) {
        Fixture *f = *state;
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = collateral(f->sim, f->now - DAY, f->now + 29 * DAY, NULL, 0);
        _cleanup_free_ uint8_t *q = NULL;
        TdxTcbStatus st;
        size_t size;
        int check;

        for (uint16_t version = 4; version <= 5; version++) {
                free(q);
                q = make_quote(f->sim, version, &size);
                /* Intel's root only: the simulator is not trusted. */
                assert_false(verify(f, q, size, col, 1, f->now, "pck.root-pinned", &check, &st));
                assert_int_equal(check, CHECK_FAIL);
                assert_int_equal(st, _TDX_TCB_STATUS_INVALID);
                /* With the simulator's root: authentic, UpToDate. */
                assert_true(verify(f, q, size, col, 2, f->now, "tcb.level", &check, &st));
                assert_int_equal(check, CHECK_PASS);
                assert_int_equal(st, TDX_TCB_UP_TO_DATE);
        }
        /* The quote alone (no collateral) is authentic but has no TCB status. */
        assert_true(verify(f, q, size, NULL, 2, f->now, "collateral", &check, &st));
        assert_int_equal(check, CHECK_SKIP);
        assert_int_equal(st, _TDX_TCB_STATUS_INVALID);
}

static void test_fields_come_through(void **state) {
        Fixture *f = *state;
        _cleanup_free_ uint8_t *data = NULL;
        TdxQuote q;
        size_t size;

        data = make_quote(f->sim, 4, &size);
        assert_int_equal(tdx_quote_parse(data, size, &q, NULL), 0);
        assert_true(memeqbyte(0x5a, q.report_data, 64));
        assert_true(memeqbyte(0xc3, q.mrconfigid, 48));
        assert_memory_equal(q.tee_tcb_svn, f->sim->tee_tcb_svn, 16);
        assert_true(tdx_quote_td_attributes(&q) & TDX_TD_ATTR_SEPT_VE_DISABLE);
        assert_false(tdx_quote_td_attributes(&q) & TDX_TD_ATTR_DEBUG);
        assert_int_equal(q.qe_report.isv_prod_id, 2);
        assert_int_equal(q.qe_auth_size, 32);
        /* The PEM chain is NUL-terminated inside its declared size, as in real quotes. */
        assert_int_equal(q.pck_chain[q.pck_chain_size], 0);
}

static void test_every_signed_byte_matters(void **state) {
        Fixture *f = *state;
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = collateral(f->sim, f->now - DAY, f->now + 29 * DAY, NULL, 0);
        _cleanup_free_ uint8_t *q = NULL;
        size_t size, qe_off;
        int check;

        q = make_quote(f->sim, 4, &size);
        /* header and TD report: the quote signature */
        for (size_t i = 0; i < TDX_QUOTE_HEADER_SIZE + TDX_TD10_BODY_SIZE; i++) {
                q[i] ^= 0x01;
                if (verify(f, q, size, col, 2, f->now, "quote.signature", &check, NULL))
                        fail_msg("byte %zu flipped and still authentic", i);
                q[i] ^= 0x01;
        }
        /* the QE report: its signature by the PCK key */
        qe_off = TDX_QUOTE_HEADER_SIZE + TDX_TD10_BODY_SIZE + 4 + 64 + 64 + 6;
        for (size_t i = qe_off; i < qe_off + TDX_SGX_REPORT_SIZE; i += 7) {
                q[i] ^= 0x80;
                assert_false(verify(f, q, size, col, 2, f->now, "qe.report-signature", &check, NULL));
                assert_int_equal(check, CHECK_FAIL);
                q[i] ^= 0x80;
        }
        /* the attestation key: no longer the one the QE report binds */
        q[TDX_QUOTE_HEADER_SIZE + TDX_TD10_BODY_SIZE + 4 + 64 + 10] ^= 0x01;
        assert_false(verify(f, q, size, col, 2, f->now, "qe.binding", &check, NULL));
        assert_int_equal(check, CHECK_FAIL);
        q[TDX_QUOTE_HEADER_SIZE + TDX_TD10_BODY_SIZE + 4 + 64 + 10] ^= 0x01;
        /* the QE auth data: also bound */
        q[qe_off + TDX_SGX_REPORT_SIZE + 64 + 2 + 5] ^= 0x01;
        assert_false(verify(f, q, size, col, 2, f->now, "qe.binding", &check, NULL));
        assert_int_equal(check, CHECK_FAIL);
        q[qe_off + TDX_SGX_REPORT_SIZE + 64 + 2 + 5] ^= 0x01;
        assert_true(verify(f, q, size, col, 2, f->now, NULL, NULL, NULL));
}

static void test_collateral_signatures_cover_the_documents(void **state) {
        Fixture *f = *state;
        _cleanup_(tdx_sim_collateral_done) TdxSimCollateral c = {};
        _cleanup_free_ uint8_t *q = NULL;
        size_t size;
        static const struct {
                TdxCollateralFile file;
                const char *from, *to, *check;
        } edits[] = {
                { TDX_FILE_TCB_INFO, "\"pcesvn\":13", "\"pcesvn\":12", "collateral.tcb-info" },
                { TDX_FILE_TCB_INFO, "\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":18",
                  "collateral.tcb-info" },
                { TDX_FILE_QE_IDENTITY, "\"isvprodid\":2", "\"isvprodid\":3", "collateral.qe-identity" },
        };

        q = make_quote(f->sim, 4, &size);
        assert_int_equal(tdx_sim_make_collateral(f->sim, f->now - DAY, f->now + 29 * DAY, NULL, 0, &c), 0);
        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
                const uint8_t *data[_TDX_FILE_MAX];
                size_t sizes[_TDX_FILE_MAX];
                _cleanup_free_ char *copy = strndup((const char *) c.data[edits[i].file], c.size[edits[i].file]);
                char *at;
                int check;

                assert_non_null(copy);
                at = strstr(copy, edits[i].from);
                assert_non_null(at);
                assert_int_equal(strlen(edits[i].from), strlen(edits[i].to));
                memcpy(at, edits[i].to, strlen(edits[i].to));
                for (int k = 0; k < _TDX_FILE_MAX; k++) {
                        data[k] = c.data[k];
                        sizes[k] = c.size[k];
                }
                data[edits[i].file] = (const uint8_t *) copy;
                assert_int_equal(tdx_collateral_parse(data, sizes, &col, NULL), 0);
                assert_false(verify(f, q, size, col, 2, f->now, edits[i].check, &check, NULL));
                assert_int_equal(check, CHECK_FAIL);
        }
}

static void test_revoked_pck_is_refused(void **state) {
        Fixture *f = *state;
        _cleanup_(tdx_sim_freep) TdxSim *other = NULL;
        _cleanup_free_ uint8_t *q = NULL;
        size_t size;
        int check;

        q = make_quote(f->sim, 4, &size);
        {
                _cleanup_(tdx_collateral_freep) TdxCollateral *col =
                        collateral(f->sim, f->now - DAY, f->now + 29 * DAY, &f->sim->pck, 1);
                assert_false(verify(f, q, size, col, 2, f->now, "collateral.pck-crl", &check, NULL));
                assert_int_equal(check, CHECK_FAIL);
        }
        {
                /* A CRL revoking someone else's leaf leaves this one alone. */
                assert_int_equal(tdx_sim_new(&(TdxSimParams) {}, &other), 0);
                _cleanup_(tdx_collateral_freep) TdxCollateral *col =
                        collateral(f->sim, f->now - DAY, f->now + 29 * DAY, &other->pck, 1);
                assert_true(verify(f, q, size, col, 2, f->now, "collateral.pck-crl", &check, NULL));
                assert_int_equal(check, CHECK_PASS);
        }
        {
                /* Another sim's collateral: signed by an untrusted TCB key and CA. */
                _cleanup_(tdx_collateral_freep) TdxCollateral *col = collateral(other, f->now - DAY, f->now + 29 * DAY,
                                                                               NULL, 0);
                assert_false(verify(f, q, size, col, 2, f->now, "collateral.tcb-info-chain", &check, NULL));
                assert_int_equal(check, CHECK_FAIL);
        }
}

static void test_stale_collateral_is_refused(void **state) {
        Fixture *f = *state;
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = collateral(f->sim, f->now - DAY, f->now + DAY, NULL, 0);
        _cleanup_free_ uint8_t *q2 = NULL;
        size_t size;
        int check;

        q2 = make_quote(f->sim, 4, &size);
        assert_true(verify(f, q2, size, col, 2, f->now + DAY - 1, NULL, NULL, NULL));
        assert_false(verify(f, q2, size, col, 2, f->now + DAY + 1, "collateral.tcb-info", &check, NULL));
        assert_int_equal(check, CHECK_FAIL);
        assert_false(verify(f, q2, size, col, 2, f->now - 2 * DAY, "collateral.tcb-info", &check, NULL));
        assert_int_equal(check, CHECK_FAIL);
}

static void test_write_and_load(void **state) {
        Fixture *f = *state;
        char dir[] = "/tmp/cvmd-test-tdx-sim-XXXXXX", cmd[128];
        _cleanup_free_ char *sub = NULL, *coldir = NULL, *key = NULL, *att = NULL;
        _cleanup_(tdx_sim_freep) TdxSim *loaded = NULL;
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        _cleanup_free_ uint8_t *q = NULL;
        TdxAnchor a;
        struct stat st;
        size_t size;
        TdxTcbStatus status;

        assert_non_null(mkdtemp(dir));
        sub = strdup_printf("%s/tdx", dir);
        coldir = strdup_printf("%s/tdx/collateral", dir);
        key = strdup_printf("%s/tdx/pck-key.pem", dir);
        att = strdup_printf("%s/tdx/att-key.pem", dir);
        assert_int_equal(tdx_sim_write(f->sim, sub), 0);
        assert_int_equal(stat(key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(att, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        assert_int_equal(tdx_sim_load(sub, &loaded), 0);
        assert_null(loaded->root_key); /* CA keys stay behind */
        assert_int_equal(tdx_sim_make_collateral(loaded, 0, 1, NULL, 0, &(TdxSimCollateral) {}), -ENOKEY);
        assert_int_equal(tdx_sim_anchor(loaded, &a), 0);
        assert_memory_equal(a.spki_sha256, f->anchors[1].spki_sha256, 32);
        assert_memory_equal(loaded->tee_tcb_svn, f->sim->tee_tcb_svn, 16);
        assert_memory_equal(loaded->pck_info.fmspc, f->sim->pck_info.fmspc, 6);
        assert_int_equal(pcs_collateral_load_dir(coldir, &col, NULL), 0);
        q = make_quote(loaded, 4, &size);
        assert_true(verify(f, q, size, col, 2, f->now, NULL, NULL, &status));
        assert_int_equal(status, TDX_TCB_UP_TO_DATE);

        /* A PCK key that is not the leaf's: refused. */
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", att, key);
        assert_int_equal(system(cmd), 0);
        tdx_sim_free(loaded);
        loaded = NULL;
        assert_int_equal(tdx_sim_load(sub, &loaded), -EBADMSG);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(tdx_sim_load(sub, &loaded), -ENOENT);
}

static void test_policy_simulator_roots(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *hex = hex_encode(f->anchors[1].spki_sha256, 32), *json = NULL, *dup = NULL;
        _cleanup_(policy_freep) Policy *p = NULL, *plain = NULL;
        _cleanup_free_ TdxAnchor *anchors = NULL, *builtin = NULL;
        static const char missing[] = "{\"tdx\": {\"trusted_simulator_roots\": [{}]}}",
                          short_hex[] = "{\"tdx\": {\"trusted_simulator_roots\": [{\"spki_sha256\": \"00\"}]}}";
        Policy *bad = NULL;
        char *reason = NULL;
        size_t n, n_builtin;

        json = strdup_printf("{\"tdx\": {\"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}]}}", hex);
        assert_int_equal(policy_parse(json, strlen(json), &p, NULL), 0);
        assert_int_equal(policy_tdx_anchors(p, &anchors, &n), 0);
        assert_int_equal(policy_parse("{\"tdx\": {}}", strlen("{\"tdx\": {}}"), &plain, NULL), 0);
        assert_int_equal(policy_tdx_anchors(plain, &builtin, &n_builtin), 0);
        assert_int_equal(n, n_builtin + 1);
        assert_memory_equal(anchors[n - 1].spki_sha256, f->anchors[1].spki_sha256, 32);
        for (size_t i = 0; i < n_builtin; i++)
                assert_memory_not_equal(builtin[i].spki_sha256, f->anchors[1].spki_sha256, 32);

        dup = strdup_printf("{\"tdx\": {\"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}, {\"spki_sha256\": \"%s\"}]}}",
                            hex, hex);
        assert_int_equal(policy_parse(dup, strlen(dup), &bad, &reason), -EINVAL);
        assert_non_null(strstr(reason, "tdx.trusted_simulator_roots[1]"));
        free(reason);
        reason = NULL;
        assert_int_equal(policy_parse(missing, strlen(missing), &bad, &reason), -EINVAL);
        assert_non_null(strstr(reason, "spki_sha256"));
        free(reason);
        reason = NULL;
        assert_int_equal(policy_parse(short_hex, strlen(short_hex), &bad, &reason), -EINVAL);
        free(reason);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_verifies_only_with_the_sim_anchor),
                cmocka_unit_test(test_fields_come_through),
                cmocka_unit_test(test_every_signed_byte_matters),
                cmocka_unit_test(test_collateral_signatures_cover_the_documents),
                cmocka_unit_test(test_revoked_pck_is_refused),
                cmocka_unit_test(test_stale_collateral_is_refused),
                cmocka_unit_test(test_write_and_load),
                cmocka_unit_test(test_policy_simulator_roots),
        };
        return cmocka_run_group_tests_name("tdx-sim", tests, setup, teardown);
}
