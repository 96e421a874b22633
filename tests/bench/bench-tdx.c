/* SPDX-License-Identifier: Apache-2.0 */
/* One full TDX verification (quote parse, claims, PCK chain pin and validity, SGX extension,
 * QE report signature and binding, quote signature, CRLs, collateral signatures and windows,
 * QE identity, TCB level) with the collateral parsed once and kept in memory (its signature
 * results and the platform's verified PCK chain cached), against the floor measured in the
 * same run: the two raw OpenSSL ECDSA P-256 verifies every quote needs (the attestation key
 * over header and TD report, the PCK key over the QE report). */
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/crypto.h"
#include "cvm/pcs.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

#define CASE "tdx/phala-tdx-quote-v4-uptodate"

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static int verify_once(const uint8_t *quote, size_t size, TdxCollateral *col, const TdxVerifyParams *p) {
        _cleanup_(verdict_done) Verdict v = {};
        TdxAppraisal a = {};
        int ok;

        if (verdict_init(&v, "tdx") < 0 || tdx_verify(quote, size, col, p, &a, &v) < 0)
                return -ENOMEM;
        ok = v.authentic && a.tcb_evaluated && a.tcb.status == TDX_TCB_UP_TO_DATE;
        tdx_appraisal_done(&a);
        return ok ? 0 : -EBADMSG;
}

int main(int argc, char *argv[]) {
        const char *root = getenv("CVM_VECTORS");
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *att = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *kctx = NULL;
        _cleanup_(BN_freep) BIGNUM *r1 = NULL, *s1 = NULL, *r2 = NULL, *s2 = NULL;
        _cleanup_free_ uint8_t *quote = NULL;
        _cleanup_free_ char *qp = NULL, *cp = NULL;
        enum { ROUNDS = 7, N = 200 };
        double full[ROUNDS], raw[ROUNDS];
        uint8_t d1[32], d2[32], point[65] = { 0x04 };
        char group[] = "prime256v1";
        TdxVerifyParams params = {};
        EVP_PKEY *leaf_key;
        TdxQuote q;
        size_t size;

        if (!root || !*root)
                root = "../shared/vectors";
        qp = strdup_printf("%s/%s/quote.bin", root, CASE);
        cp = strdup_printf("%s/%s/collateral", root, CASE);
        if (!qp || !cp)
                return 1;
        if (read_file_bounded(qp, CVM_INPUT_MAX, &quote, &size) < 0) {
                printf("bench-tdx: no vectors at %s (set CVM_VECTORS); skipped\n", root);
                return 0;
        }
        if (pcs_collateral_load_dir(cp, &col, NULL) < 0 || tdx_quote_parse(quote, size, &q, NULL) < 0 ||
            tdx_pck_chain_parse(q.pck_chain, q.pck_chain_size, &chain, NULL) < 0) {
                fprintf(stderr, "bench-tdx: cannot load the benchmark case\n");
                return 1;
        }
        params.anchors = tdx_builtin_anchors(&params.n_anchors);
        if (parse_rfc3339("2025-07-19T10:00:34Z", &params.at) < 0)
                return 1;
        /* Warm-up: fills the collateral's cached results. */
        if (verify_once(quote, size, col, &params) < 0) {
                fprintf(stderr, "bench-tdx: the benchmark case does not verify\n");
                return 1;
        }

        /* The floor: the attestation key (from the quote) and the PCK leaf key, ready to use. */
        memcpy(point + 1, q.att_key, 64);
        {
                OSSL_PARAM ps[] = {
                        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
                        OSSL_PARAM_construct_end(),
                };
                kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
                if (!kctx || EVP_PKEY_fromdata_init(kctx) <= 0 ||
                    EVP_PKEY_fromdata(kctx, &att, EVP_PKEY_PUBLIC_KEY, ps) <= 0)
                        return 1;
        }
        leaf_key = X509_get0_pubkey(sk_X509_value(chain, 0));
        SHA256(q.signed_data, q.signed_size, d1);
        SHA256(q.qe_report.raw, TDX_SGX_REPORT_SIZE, d2);
        r1 = BN_bin2bn(q.signature, 32, NULL);
        s1 = BN_bin2bn(q.signature + 32, 32, NULL);
        r2 = BN_bin2bn(q.qe_report_signature, 32, NULL);
        s2 = BN_bin2bn(q.qe_report_signature + 32, 32, NULL);
        if (!r1 || !s1 || !r2 || !s2)
                return 1;

        for (int round = 0; round < ROUNDS; round++) {
                double t0 = now_sec();
                for (int i = 0; i < N; i++)
                        if (verify_once(quote, size, col, &params) < 0)
                                return 1;
                full[round] = (now_sec() - t0) / N * 1e6;

                t0 = now_sec();
                for (int i = 0; i < N; i++)
                        if (ecdsa_verify_digest(att, d1, 32, r1, s1) != 1 ||
                            ecdsa_verify_digest(leaf_key, d2, 32, r2, s2) != 1)
                                return 1;
                raw[round] = (now_sec() - t0) / N * 1e6;
        }
        qsort(full, ROUNDS, sizeof(double), cmp_double);
        qsort(raw, ROUNDS, sizeof(double), cmp_double);

        printf("bench-tdx (%s, %d rounds of %d, median):\n", CASE, ROUNDS, N);
        printf("  full TDX verification (collateral in memory)  %9.1f us\n", full[ROUNDS / 2]);
        printf("  two raw OpenSSL P-256 verifies (floor)        %9.1f us\n", raw[ROUNDS / 2]);
        printf("  ratio                                         %9.2fx\n", full[ROUNDS / 2] / raw[ROUNDS / 2]);
        return 0;
}
