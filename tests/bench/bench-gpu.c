/* SPDX-License-Identifier: Apache-2.0 */
/* One full GPU verification (parse, report signature, chain with its link signatures cached in
 * the NvChain, validity, pin, FWID, nonce) against the floor measured in the same run: one raw
 * OpenSSL ECDSA P-384 verify of the same digest. Also a cold verification (a fresh chain: five
 * certificate signatures plus OpenSSL path validation) and the time for the eight GPUs of an HGX
 * board in one nv_verify_gpus() call, cold as the CLI runs it. */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/util.h"

#define CASE "nvidia/nvtrust_ppcie_h100_590.12_gpu"

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int load(const char *root, int gpu, const char *rel, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *p = strdup_printf("%s/%s%d/%s", root, CASE, gpu, rel);
        return p ? read_file_bounded(p, CVM_INPUT_MAX, ret, ret_size) : -ENOMEM;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static bool verify_one(const uint8_t *report, size_t size, NvChain *chain, const NvVerifyParams *p) {
        _cleanup_(verdict_done) Verdict v = {};
        NvAppraisal a;

        return verdict_init(&v, "nvidia-gpu") >= 0 && nv_verify(report, size, chain, p, &a, &v) >= 0 && a.authentic;
}

int main(int argc, char *argv[]) {
        const char *root = getenv("CVM_VECTORS");
        uint8_t *reports[8] = {}, *pems[8] = {};
        size_t sizes[8], pem_sizes[8];
        _cleanup_free_ uint8_t *nonce_hex = NULL;
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;
        _cleanup_(BN_freep) BIGNUM *r = NULL, *s = NULL;
        _cleanup_free_ NvReport *rep = calloc(1, sizeof(NvReport));
        enum { ROUNDS = 7, N = 200, N_COLD = 40, N_BOARD = 10 };
        double warm[ROUNDS], raw[ROUNDS], cold[ROUNDS], board[ROUNDS];
        uint8_t digest[SHA384_DIGEST_LENGTH], nonce[32];
        NvVerifyParams params = {};
        size_t n;
        int rc = 1;

        if (!root || !*root)
                root = "../shared/vectors";
        if (!rep)
                return 1;
        for (int g = 0; g < 8; g++)
                if (load(root, g, "report.bin", &reports[g], &sizes[g]) < 0 ||
                    load(root, g, "chain.pem", &pems[g], &pem_sizes[g]) < 0) {
                        printf("bench-gpu: no vectors at %s (set CVM_VECTORS); skipped\n", root);
                        rc = 0;
                        goto out;
                }
        if (load(root, 0, "nonce.hex", &nonce_hex, &n) < 0 || hex_decode_exact((char *) nonce_hex, nonce, 32) < 0 ||
            nv_chain_new(pems[0], pem_sizes[0], &chain) < 0 || parse_rfc3339("2026-01-01T00:00:00Z", &params.at) < 0)
                goto out;
        params.expected_nonce = nonce;
        if (!verify_one(reports[0], sizes[0], chain, &params)) { /* also fills the chain's caches */
                fprintf(stderr, "bench-gpu: the benchmark case does not verify\n");
                goto out;
        }
        if (nv_report_parse(reports[0], sizes[0], rep, NULL) < 0)
                goto out;
        SHA384(reports[0], rep->signed_size, digest);
        r = BN_bin2bn(rep->signature, 48, NULL);
        s = BN_bin2bn(rep->signature + 48, 48, NULL);
        if (!r || !s)
                goto out;

        /* Interleaved, so drift on a shared machine hits every measurement alike. */
        for (int round = 0; round < ROUNDS; round++) {
                double t0 = now_sec();
                for (int i = 0; i < N; i++)
                        if (!verify_one(reports[0], sizes[0], chain, &params))
                                goto out;
                warm[round] = (now_sec() - t0) / N * 1e6;

                t0 = now_sec();
                for (int i = 0; i < N; i++)
                        if (ecdsa_verify_digest(X509_get0_pubkey(nv_chain_leaf(chain)), digest, sizeof(digest), r, s) != 1)
                                goto out;
                raw[round] = (now_sec() - t0) / N * 1e6;

                t0 = now_sec();
                for (int i = 0; i < N_COLD; i++) {
                        _cleanup_(nv_chain_freep) NvChain *c = NULL;
                        if (nv_chain_new(pems[0], pem_sizes[0], &c) < 0 || !verify_one(reports[0], sizes[0], c, &params))
                                goto out;
                }
                cold[round] = (now_sec() - t0) / N_COLD * 1e6;

                t0 = now_sec();
                for (int i = 0; i < N_BOARD; i++) {
                        _cleanup_(verdict_done) Verdict v = {};
                        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
                        NvChain *chains[8] = {};
                        NvGpuInput in[8];
                        NvBoardParams bp = { .gpu = params };
                        bool ok = verdict_init(&v, "nvidia-gpu") >= 0;

                        for (int g = 0; g < 8; g++) {
                                ok = ok && nv_chain_new(pems[g], pem_sizes[g], &chains[g]) >= 0;
                                in[g] = (NvGpuInput) { .report = reports[g], .report_size = sizes[g], .chain = chains[g] };
                        }
                        ok = ok && nv_verify_gpus(in, 8, &bp, &b, &v) >= 0 && v.authentic;
                        for (int g = 0; g < 8; g++)
                                nv_chain_free(chains[g]);
                        if (!ok)
                                goto out;
                }
                board[round] = (now_sec() - t0) / N_BOARD * 1e3;
        }
        qsort(warm, ROUNDS, sizeof(double), cmp_double);
        qsort(raw, ROUNDS, sizeof(double), cmp_double);
        qsort(cold, ROUNDS, sizeof(double), cmp_double);
        qsort(board, ROUNDS, sizeof(double), cmp_double);

        printf("bench-gpu (%s0, %d rounds, median):\n", CASE, ROUNDS);
        printf("  full GPU verification (chain cached)  %9.1f us\n", warm[ROUNDS / 2]);
        printf("  raw OpenSSL P-384 verify (floor)      %9.1f us\n", raw[ROUNDS / 2]);
        printf("  ratio                                 %9.2fx (target <= 1.30x)\n", warm[ROUNDS / 2] / raw[ROUNDS / 2]);
        printf("  cold verification (fresh chain)       %9.1f us (%.2fx the floor: 6 signatures + path validation)\n",
               cold[ROUNDS / 2], cold[ROUNDS / 2] / raw[ROUNDS / 2]);
        printf("  8-GPU HGX board, cold, one call       %9.2f ms\n", board[ROUNDS / 2]);
        rc = 0;
out:
        for (int g = 0; g < 8; g++) {
                free(reports[g]);
                free(pems[g]);
        }
        return rc;
}
