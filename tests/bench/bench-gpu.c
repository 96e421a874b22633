/* SPDX-License-Identifier: Apache-2.0 */
/* NVIDIA GPU verification against floors measured in the same run: raw OpenSSL ECDSA P-384
 * verifies of the same reports with ready keys (one for one GPU, eight for a board).
 *   one GPU (nvtrust_ppcie_h100_590.12_gpu0): nv_verify() with its NvChain kept (link results,
 *     FWID), and cold (a new chain and the process's caches off: five certificates decoded,
 *     OpenSSL path validation);
 *   the eight GPUs of that real HGX board in one nv_verify_gpus() call: chains kept, fresh
 *     chains from their PEM bytes every call with the process's caches warm, and cold; each
 *     on one worker thread and on all of them;
 *   one GPU as `cvmctl verify gpu` runs it with RIMs (nvtrust_2023_h100_545.00: its driver and
 *     VBIOS RIMs, the only real pair in the vectors): the chain and both RIMs parsed from their
 *     bytes every call, the RIMs' XML signatures and signer chains verified, the measurements
 *     compared, as in src/cvmctl/verify-gpu.c (files already in memory, no OCSP, no policy);
 *     with the process's caches warm (the parsed RIMs, their verified signatures and the chains'
 *     links found by their bytes) and cold (caches off: everything parsed and verified);
 *   the board as the CLI would run it with RIMs: the eight PPCIe GPUs (fresh chains) plus
 *     parsing and verifying one driver and one VBIOS RIM, as a board whose GPUs share a driver
 *     and a VBIOS needs (the vectors hold no RIMs for 590.12, so the 545.00 pair is used; the
 *     RIM work does not depend on the GPUs). */
#include <openssl/sha.h>

#include "bench-util.h"
#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"

#define BOARD "nvidia/nvtrust_ppcie_h100_590.12_gpu"
#define RIM_CASE "nvidia/nvtrust_2023_h100_545.00"
#define N_GPUS 8

static uint8_t *reports[N_GPUS], *pems[N_GPUS];
static size_t sizes[N_GPUS], pem_sizes[N_GPUS];
static uint8_t nonces[N_GPUS][NV_NONCE_SIZE];
/* the RIM case */
static uint8_t *rim_report, *rim_pem, *rim_xml[2];
static size_t rim_report_size, rim_pem_size, rim_xml_size[2];
static uint8_t rim_nonce[NV_NONCE_SIZE];
static int64_t rim_at;

static int load(const char *path, uint8_t **ret, size_t *ret_size) {
        return read_file_bounded(path, CVM_INPUT_MAX, ret, ret_size);
}

static int load_nonce(const char *path, uint8_t ret[NV_NONCE_SIZE]) {
        _cleanup_free_ uint8_t *hex = NULL;
        size_t n;

        if (load(path, &hex, &n) < 0 || n < 2 * NV_NONCE_SIZE)
                return -EBADMSG;
        hex[2 * NV_NONCE_SIZE] = 0;
        return hex_decode_exact((char *) hex, ret, NV_NONCE_SIZE);
}

static bool verify_one(const uint8_t *report, size_t size, NvChain *chain, const NvVerifyParams *p) {
        _cleanup_(verdict_done) Verdict v = {};
        NvAppraisal a;

        return verdict_init(&v, "nvidia-gpu") >= 0 && nv_verify(report, size, chain, p, &a, &v) >= 0 && a.authentic;
}

/* nv_verify_gpus() over the board; chains NULL: fresh ones from the PEM bytes. */
static bool verify_board(NvChain *const kept[N_GPUS], const NvVerifyParams *gp, const NvRimSet *rims) {
        _cleanup_(verdict_done) Verdict v = {};
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        NvChain *chains[N_GPUS] = {};
        NvGpuInput in[N_GPUS];
        NvBoardParams bp = { .gpu = *gp, .nonces = (const uint8_t(*)[NV_NONCE_SIZE]) nonces };
        bool ok = verdict_init(&v, "nvidia-gpu") >= 0;

        for (int g = 0; g < N_GPUS; g++) {
                if (!kept)
                        ok = ok && nv_chain_new(pems[g], pem_sizes[g], &chains[g]) >= 0;
                in[g] = (NvGpuInput) { .report = reports[g], .report_size = sizes[g], .chain = kept ? kept[g] : chains[g] };
        }
        if (rims) {
                bp.rims = rims->rims;
                bp.n_rims = rims->n;
        }
        ok = ok && nv_verify_gpus(in, N_GPUS, &bp, &b, &v) >= 0 && v.authentic;
        for (int g = 0; g < N_GPUS; g++)
                nv_chain_free(chains[g]);
        return ok;
}

/* The two RIMs parsed from their bytes; verified by nv_verify_gpus() when a report uses them,
 * else here (the board's reports name 590.12, which no RIM of the vectors is for). */
static bool rims_load(NvRimSet *set, Verdict *v, bool verify_here) {
        static const char *const ids[2] = { "NV_GPU_DRIVER_GH100_545.00", "NV_GPU_VBIOS_1010_0200_882_96005E0001" };

        for (int k = 0; k < 2; k++)
                if (nv_rim_set_add(set, rim_xml[k], rim_xml_size[k], ids[k], ids[k], v) < 0 || set->n != (size_t) k + 1)
                        return false;
        for (size_t k = 0; verify_here && k < set->n; k++) {
                NvPin pin;
                memcpy(pin.spki_sha256, nv_rim_root_spki_sha256, 32);
                if (nv_rim_verify(set->rims[k], &pin, 1, rim_at, NULL) != 1)
                        return false;
        }
        return true;
}

/* One GPU as `cvmctl verify gpu REPORT --chain PEM --nonce HEX --rim DRIVER --rim VBIOS` runs it. */
static bool verify_cli_with_rims(void) {
        _cleanup_(verdict_done) Verdict v = {};
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;
        _cleanup_(nv_rim_set_done) NvRimSet rims = {};
        NvGpuInput in;
        NvBoardParams bp = {};

        if (verdict_init(&v, "nvidia-gpu") < 0 || nv_chain_new(rim_pem, rim_pem_size, &chain) < 0 ||
            !rims_load(&rims, &v, false))
                return false;
        in = (NvGpuInput) { .report = rim_report, .report_size = rim_report_size, .chain = chain };
        bp.gpu.at = rim_at;
        bp.gpu.expected_nonce = rim_nonce;
        bp.rims = rims.rims;
        bp.n_rims = rims.n;
        return nv_verify_gpus(&in, 1, &bp, &b, &v) >= 0 && v.authentic && b.measurements == NV_MEAS_MATCH;
}

/* The board with fresh chains, plus one driver and one VBIOS RIM parsed and verified. */
static bool verify_board_with_rims(const NvVerifyParams *gp) {
        _cleanup_(verdict_done) Verdict v = {};
        _cleanup_(nv_rim_set_done) NvRimSet rims = {};

        return verdict_init(&v, "nvidia-gpu") >= 0 && rims_load(&rims, &v, true) && verify_board(NULL, gp, NULL);
}

static int load_all(const char *root) {
        for (int g = 0; g < N_GPUS; g++) {
                _cleanup_free_ char *r = strdup_printf("%s/%s%d/report.bin", root, BOARD, g),
                                    *c = strdup_printf("%s/%s%d/chain.pem", root, BOARD, g),
                                    *n = strdup_printf("%s/%s%d/nonce.hex", root, BOARD, g);
                if (!r || !c || !n || load(r, &reports[g], &sizes[g]) < 0 || load(c, &pems[g], &pem_sizes[g]) < 0 ||
                    load_nonce(n, nonces[g]) < 0)
                        return -ENOENT;
        }
        {
                _cleanup_free_ char *r = strdup_printf("%s/%s/report.bin", root, RIM_CASE),
                                    *c = strdup_printf("%s/%s/chain.pem", root, RIM_CASE),
                                    *n = strdup_printf("%s/%s/nonce.hex", root, RIM_CASE),
                                    *d = strdup_printf("%s/%s/rims/NV_GPU_DRIVER_GH100_545.00.xml", root, RIM_CASE),
                                    *b = strdup_printf("%s/%s/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml", root, RIM_CASE);
                if (!r || !c || !n || !d || !b || load(r, &rim_report, &rim_report_size) < 0 ||
                    load(c, &rim_pem, &rim_pem_size) < 0 || load_nonce(n, rim_nonce) < 0 ||
                    load(d, &rim_xml[0], &rim_xml_size[0]) < 0 || load(b, &rim_xml[1], &rim_xml_size[1]) < 0)
                        return -ENOENT;
        }
        return parse_rfc3339("2024-01-01T00:00:00Z", &rim_at);
}

int main(int argc, char *argv[]) {
        const char *root = getenv("CVM_VECTORS");
        NvChain *kept[N_GPUS] = {};
        BIGNUM *r[N_GPUS] = {}, *s[N_GPUS] = {};
        uint8_t digest[N_GPUS][SHA384_DIGEST_LENGTH];
        _cleanup_free_ NvReport *rep = calloc(1, sizeof(NvReport));
        enum { ROUNDS = 7, N = 100, N_COLD = 10, N_BOARD = 8, N_RIM = 6 };
        double one[ROUNDS], one_cold[ROUNDS], raw1[ROUNDS], raw8[ROUNDS], b_kept1[ROUNDS], b_kept[ROUNDS], b_fresh1[ROUNDS],
                b_fresh[ROUNDS], b_cold[ROUNDS], cli_rims[ROUNDS], cli_rims_cold[ROUNDS], b_rims[ROUNDS];
        double f1, f8;
        unsigned workers = parallel_workers();
        NvVerifyParams params = {};
        int rc = 1;

        if (!root || !*root)
                root = "../shared/vectors";
        if (!rep)
                return 1;
        if (load_all(root) < 0) {
                printf("bench-gpu: no vectors at %s (set CVM_VECTORS); skipped\n", root);
                rc = 0;
                goto out;
        }
        if (parse_rfc3339("2026-01-01T00:00:00Z", &params.at) < 0)
                goto out;
        for (int g = 0; g < N_GPUS; g++) {
                if (nv_chain_new(pems[g], pem_sizes[g], &kept[g]) < 0 || nv_report_parse(reports[g], sizes[g], rep, NULL) < 0)
                        goto out;
                SHA384(reports[g], rep->signed_size, digest[g]);
                r[g] = BN_bin2bn(rep->signature, 48, NULL);
                s[g] = BN_bin2bn(rep->signature + 48, 48, NULL);
                if (!r[g] || !s[g])
                        goto out;
        }
        /* Warm-up: fills the chains' own results and the process's caches; checks every figure's case. */
        params.expected_nonce = nonces[0];
        if (!verify_one(reports[0], sizes[0], kept[0], &params) || !verify_board(kept, &(NvVerifyParams) { .at = params.at }, NULL) ||
            !verify_board(NULL, &(NvVerifyParams) { .at = params.at }, NULL) || !verify_cli_with_rims() ||
            !verify_board_with_rims(&(NvVerifyParams) { .at = params.at })) {
                fprintf(stderr, "bench-gpu: a benchmark case does not verify\n");
                goto out;
        }

        bench_print_machine("bench-gpu");
        for (int round = 0; round < ROUNDS; round++) {
                NvVerifyParams bp = { .at = params.at };
                double t0 = bench_now();

                for (int i = 0; i < N; i++)
                        if (!verify_one(reports[0], sizes[0], kept[0], &params))
                                goto out;
                one[round] = (bench_now() - t0) / N * 1e6;

                t0 = bench_now();
                for (int i = 0; i < N; i++)
                        if (ecdsa_verify_digest(X509_get0_pubkey(nv_chain_leaf(kept[0])), digest[0], 48, r[0], s[0]) != 1)
                                goto out;
                raw1[round] = (bench_now() - t0) / N * 1e6;

                t0 = bench_now();
                for (int i = 0; i < N_BOARD; i++)
                        for (int g = 0; g < N_GPUS; g++)
                                if (ecdsa_verify_digest(X509_get0_pubkey(nv_chain_leaf(kept[g])), digest[g], 48, r[g], s[g]) != 1)
                                        goto out;
                raw8[round] = (bench_now() - t0) / N_BOARD * 1e3;

                for (int pass = 0; pass < 2; pass++) {
                        parallel_set_workers(pass == 0 ? 1 : workers);
                        t0 = bench_now();
                        for (int i = 0; i < N_BOARD; i++)
                                if (!verify_board(kept, &bp, NULL))
                                        goto out;
                        (pass == 0 ? b_kept1 : b_kept)[round] = (bench_now() - t0) / N_BOARD * 1e3;
                        t0 = bench_now();
                        for (int i = 0; i < N_BOARD; i++)
                                if (!verify_board(NULL, &bp, NULL))
                                        goto out;
                        (pass == 0 ? b_fresh1 : b_fresh)[round] = (bench_now() - t0) / N_BOARD * 1e3;
                }
                parallel_set_workers(0);

                t0 = bench_now();
                for (int i = 0; i < N_RIM; i++)
                        if (!verify_cli_with_rims())
                                goto out;
                cli_rims[round] = (bench_now() - t0) / N_RIM * 1e6;
                t0 = bench_now();
                for (int i = 0; i < N_RIM; i++)
                        if (!verify_board_with_rims(&bp))
                                goto out;
                b_rims[round] = (bench_now() - t0) / N_RIM * 1e3;

                bench_caches(false);
                t0 = bench_now();
                for (int i = 0; i < N_COLD; i++) {
                        _cleanup_(nv_chain_freep) NvChain *c = NULL;
                        if (nv_chain_new(pems[0], pem_sizes[0], &c) < 0 || !verify_one(reports[0], sizes[0], c, &params))
                                goto out;
                }
                one_cold[round] = (bench_now() - t0) / N_COLD * 1e6;
                t0 = bench_now();
                for (int i = 0; i < 2; i++)
                        if (!verify_board(NULL, &bp, NULL))
                                goto out;
                b_cold[round] = (bench_now() - t0) / 2 * 1e3;
                t0 = bench_now();
                for (int i = 0; i < 2; i++)
                        if (!verify_cli_with_rims())
                                goto out;
                cli_rims_cold[round] = (bench_now() - t0) / 2 * 1e6;
                bench_caches(true);
                /* refill, untimed, so that the next round's warm figures start warm */
                if (!verify_board(NULL, &bp, NULL) || !verify_board_with_rims(&bp) || !verify_cli_with_rims())
                        goto out;
        }
        f1 = bench_median(raw1, ROUNDS);
        f8 = bench_median(raw8, ROUNDS);
        printf("bench-gpu (%d rounds, medians; floors: raw OpenSSL ECDSA P-384 verifies of the same reports, same run):\n",
               ROUNDS);
        printf("  floor, one verify                                     %9.3f ms\n", f1 / 1e3);
        printf("  floor, eight verifies (one per GPU, one core)         %9.3f ms\n", f8);
#define LINE1(label, v, goal)                                                                                         \
        printf("  %-53s %9.3f ms  %5.2fx one verify%s\n", label, bench_median(v, ROUNDS) / 1e3,                      \
               bench_median(v, ROUNDS) / f1, goal)
#define LINE8(label, v, goal)                                                                                         \
        printf("  %-53s %9.3f ms  %5.2fx eight verifies%s\n", label, bench_median(v, ROUNDS), bench_median(v, ROUNDS) / f8, \
               goal)
        printf(" one GPU (" BOARD "0):\n");
        LINE1("chain kept (NvChain reused)", one, "");
        LINE1("cold (new chain, caches off)", one_cold, "");
        printf(" eight GPUs of the HGX board, nv_verify_gpus(), no RIMs:\n");
        LINE8("chains kept, 1 worker", b_kept1, " (goal <= 1.10x)");
        printf("  %-53s %9.3f ms  %5.2fx eight verifies (goal <= 0.60x)\n", "chains kept, all workers", bench_median(b_kept, ROUNDS),
               bench_median(b_kept, ROUNDS) / f8);
        LINE8("fresh chains from PEM bytes, caches warm, 1 worker", b_fresh1, "");
        printf("  %-53s %9.3f ms  %5.2fx eight verifies (goal <= 1.50x)\n", "fresh chains, caches warm, all workers",
               bench_median(b_fresh, ROUNDS), bench_median(b_fresh, ROUNDS) / f8);
        LINE8("fresh chains, caches off (cold), all workers", b_cold, "");
        printf(" with RIMs, as cvmctl verify gpu runs them (chain and RIMs from their bytes every call):\n");
        printf("  one GPU + its two RIMs (" RIM_CASE "):\n");
        LINE1("  caches warm (RIMs parsed and verified before)", cli_rims, "");
        LINE1("  caches off (cold: parsed and verified anew)", cli_rims_cold, "");
        LINE8("8 GPUs, fresh chains, + the two RIMs, warm, all workers", b_rims, "");
#undef LINE1
#undef LINE8
        printf("  cached where it says so: decoded certificates and parsed RIMs (by their bytes), verified\n"
               "  chains (by their certificates' bytes) and RIM XML signatures (by the RIM's and the signer's\n"
               "  bytes), each within its certificates' validity; never cached: report parse and signature,\n"
               "  validity at the time, pins, FWID, nonce, measurements\n");
        bench_print_cache_stats();
        rc = 0;
out:
        for (int g = 0; g < N_GPUS; g++) {
                free(reports[g]);
                free(pems[g]);
                nv_chain_free(kept[g]);
                BN_free(r[g]);
                BN_free(s[g]);
        }
        free(rim_report);
        free(rim_pem);
        free(rim_xml[0]);
        free(rim_xml[1]);
        return rc;
}
