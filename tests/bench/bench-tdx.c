/* SPDX-License-Identifier: Apache-2.0 */
/* TDX verification of a real quote (tdx/phala-tdx-quote-v4-uptodate: quote parse, claims, PCK
 * chain pin, profile, signatures and validity, SGX extension, QE report signature and binding,
 * quote signature; with collateral the CRLs, the collateral signatures, chains and windows, the
 * QE identity and the TCB level) against the floor measured in the same run: the two raw
 * OpenSSL ECDSA P-256 verifies every quote needs (the attestation key over header and TD
 * report, the PCK key over the QE report), with ready keys and digests. Figures, each saying
 * what is reused:
 *   collateral in memory: one TdxCollateral object kept (its signature results and the
 *     platform's verified PCK chain), process caches warm;
 *   collateral re-parsed: tdx_collateral_parse() over the seven files' bytes (in memory, no
 *     file I/O) every call, process caches warm (documents, certificates and CRLs decoded
 *     before, signatures verified before, the attestation key built before);
 *   cold: the same with the process's caches off: everything decoded and verified every call;
 *   quote only: no collateral (no TCB status), caches warm and cold. */
#include <openssl/sha.h>

#include "bench-util.h"
#include "cvm/crypto.h"
#include "cvm/pcs.h"
#include "cvm/tdx.h"
#include "cvm/util.h"
#include "cvm/x509-cache.h"

#define CASE "tdx/phala-tdx-quote-v4-uptodate"

static uint8_t *files[_TDX_FILE_MAX];
static size_t file_sizes[_TDX_FILE_MAX];

static int verify_once(const uint8_t *quote, size_t size, TdxCollateral *col, const TdxVerifyParams *p) {
        _cleanup_(verdict_done) Verdict v = {};
        TdxAppraisal a = {};
        int ok;

        if (verdict_init(&v, "tdx") < 0 || tdx_verify(quote, size, col, p, &a, &v) < 0)
                return -ENOMEM;
        ok = v.authentic && (!col || (a.tcb_evaluated && a.tcb.status == TDX_TCB_UP_TO_DATE));
        tdx_appraisal_done(&a);
        return ok ? 0 : -EBADMSG;
}

static int verify_reparsed(const uint8_t *quote, size_t size, const TdxVerifyParams *p) {
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;

        if (tdx_collateral_parse((const uint8_t *const *) files, file_sizes, &col, NULL) < 0)
                return -EBADMSG;
        return verify_once(quote, size, col, p);
}

int main(int argc, char *argv[]) {
        const char *root = getenv("CVM_VECTORS");
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *att = NULL;
        _cleanup_(BN_freep) BIGNUM *r1 = NULL, *s1 = NULL, *r2 = NULL, *s2 = NULL;
        _cleanup_free_ uint8_t *quote = NULL;
        _cleanup_free_ char *qp = NULL;
        enum { ROUNDS = 7, N = 200, N_COLD = 20 };
        double mem[ROUNDS], reparsed[ROUNDS], cold[ROUNDS], qonly[ROUNDS], qcold[ROUNDS], raw[ROUNDS], floor_us;
        uint8_t d1[32], d2[32];
        TdxVerifyParams params = {};
        EVP_PKEY *leaf_key;
        TdxQuote q;
        size_t size;
        int rc = 1;

        if (!root || !*root)
                root = "../shared/vectors";
        qp = strdup_printf("%s/%s/quote.bin", root, CASE);
        if (!qp)
                return 1;
        if (read_file_bounded(qp, CVM_INPUT_MAX, &quote, &size) < 0) {
                printf("bench-tdx: no vectors at %s (set CVM_VECTORS); skipped\n", root);
                return 0;
        }
        for (int f = 0; f < _TDX_FILE_MAX; f++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s/collateral/%s", root, CASE, tdx_collateral_file_name(f));
                if (!p || read_file_bounded(p, CVM_INPUT_MAX, &files[f], &file_sizes[f]) < 0) {
                        fprintf(stderr, "bench-tdx: cannot read %s\n", p ?: "?");
                        goto out;
                }
        }
        if (tdx_collateral_parse((const uint8_t *const *) files, file_sizes, &col, NULL) < 0 ||
            tdx_quote_parse(quote, size, &q, NULL) < 0 || tdx_pck_chain_parse(q.pck_chain, q.pck_chain_size, &chain, NULL) < 0) {
                fprintf(stderr, "bench-tdx: cannot load the benchmark case\n");
                goto out;
        }
        params.anchors = tdx_builtin_anchors(&params.n_anchors);
        if (parse_rfc3339("2025-07-19T10:00:34Z", &params.at) < 0)
                goto out;
        /* Warm-up: fills the collateral's own results and the process's caches. */
        if (verify_once(quote, size, col, &params) < 0 || verify_reparsed(quote, size, &params) < 0) {
                fprintf(stderr, "bench-tdx: the benchmark case does not verify\n");
                goto out;
        }

        /* The floor: the attestation key (from the quote) and the PCK leaf key, ready to use. */
        if (ec_pubkey_from_xy(NID_X9_62_prime256v1, q.att_key, 64, &att) < 0)
                goto out;
        leaf_key = X509_get0_pubkey(sk_X509_value(chain, 0));
        SHA256(q.signed_data, q.signed_size, d1);
        SHA256(q.qe_report.raw, TDX_SGX_REPORT_SIZE, d2);
        r1 = BN_bin2bn(q.signature, 32, NULL);
        s1 = BN_bin2bn(q.signature + 32, 32, NULL);
        r2 = BN_bin2bn(q.qe_report_signature, 32, NULL);
        s2 = BN_bin2bn(q.qe_report_signature + 32, 32, NULL);
        if (!r1 || !s1 || !r2 || !s2)
                goto out;

        bench_print_machine("bench-tdx");
        for (int round = 0; round < ROUNDS; round++) {
                double t0 = bench_now();
                for (int i = 0; i < N; i++)
                        if (verify_once(quote, size, col, &params) < 0)
                                goto out;
                mem[round] = (bench_now() - t0) / N * 1e6;

                t0 = bench_now();
                for (int i = 0; i < N; i++)
                        if (verify_reparsed(quote, size, &params) < 0)
                                goto out;
                reparsed[round] = (bench_now() - t0) / N * 1e6;

                t0 = bench_now();
                for (int i = 0; i < N; i++)
                        if (verify_once(quote, size, NULL, &params) < 0)
                                goto out;
                qonly[round] = (bench_now() - t0) / N * 1e6;

                bench_caches(false);
                t0 = bench_now();
                for (int i = 0; i < N_COLD; i++)
                        if (verify_reparsed(quote, size, &params) < 0)
                                goto out;
                cold[round] = (bench_now() - t0) / N_COLD * 1e6;
                t0 = bench_now();
                for (int i = 0; i < N_COLD; i++)
                        if (verify_once(quote, size, NULL, &params) < 0)
                                goto out;
                qcold[round] = (bench_now() - t0) / N_COLD * 1e6;
                bench_caches(true);
                if (verify_reparsed(quote, size, &params) < 0) /* refill, untimed: the next round starts warm */
                        goto out;

                t0 = bench_now();
                for (int i = 0; i < N; i++)
                        if (ecdsa_verify_digest(att, d1, 32, r1, s1) != 1 || ecdsa_verify_digest(leaf_key, d2, 32, r2, s2) != 1)
                                goto out;
                raw[round] = (bench_now() - t0) / N * 1e6;
        }
        floor_us = bench_median(raw, ROUNDS);
        printf("bench-tdx (%s, %d rounds, medians; floor: two raw OpenSSL ECDSA P-256 verifies, same run):\n", CASE,
               ROUNDS);
        printf("  floor                                                %9.1f us\n", floor_us);
#define LINE(label, v, goal)                                                                                           \
        printf("  %-52s %9.1f us  %5.2fx the floor%s\n", label, bench_median(v, ROUNDS),                              \
               bench_median(v, ROUNDS) / floor_us, goal)
        LINE("collateral in memory (one TdxCollateral kept)", mem, " (goal <= 1.30x)");
        LINE("collateral re-parsed from bytes, caches warm", reparsed, "");
        LINE("collateral re-parsed, caches off (cold)", cold, "");
        LINE("quote only (no collateral), caches warm", qonly, "");
        LINE("quote only, caches off (cold: PCK chain decoded and verified)", qcold, "");
#undef LINE
        printf("  cached where it says so: the kept TdxCollateral's signature results and verified PCK chain;\n"
               "  the process's decoded certificates, CRLs, collateral documents and attestation keys (by\n"
               "  their bytes) and verified signatures (by both parties' bytes, within their validity)\n");
        printf("  not cached in any figure: quote parse, claims, the SGX extension, the QE report and quote\n"
               "  signatures (the floor's two verifies), validity and CRL windows at the time, revocation\n"
               "  lookups, QE identity match, TCB level evaluation\n");
        bench_print_cache_stats();
        rc = 0;
out:
        for (int f = 0; f < _TDX_FILE_MAX; f++)
                free(files[f]);
        return rc;
}
