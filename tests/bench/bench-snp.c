/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP verification of a real report (snp/oak-genoa-v5: parse, claims, product, ARK pin, chain
 * signatures, validity, TCB and chip-ID binding, report signature) against the floor measured
 * in the same run: one raw OpenSSL ECDSA P-384 verify of the same digest with a ready key.
 * Three figures, each saying what is reused:
 *   chain cached: one SnpChain object kept across calls (its link results and leaf extensions);
 *   fresh chain: a new SnpChain from the certificate bytes every call, with the process's
 *     caches warm (the same bytes decode to the same certificates, the links verified before);
 *   cold: a new SnpChain every call and the process's caches off: every certificate decoded
 *     and every link verified (three RSA-4096 PSS signatures), as for a chain never seen. */
#include <openssl/sha.h>

#include "bench-util.h"
#include "cvm/crypto.h"
#include "cvm/snp.h"
#include "cvm/util.h"

#define CASE "snp/oak-genoa-v5"

static const char *const cert_files[] = { "certs/vcek.der", "certs/ask.pem", "certs/ark.pem" };
static uint8_t *certs[3];
static size_t cert_sizes[3];

static int load(const char *root, const char *rel, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *p = strdup_printf("%s/%s/%s", root, CASE, rel);
        return p ? read_file_bounded(p, CVM_INPUT_MAX, ret, ret_size) : -ENOMEM;
}

static bool verify(const uint8_t *report, size_t size, SnpChain *chain, const SnpVerifyParams *p) {
        _cleanup_(verdict_done) Verdict v = {};

        return verdict_init(&v, "sev-snp") >= 0 && snp_verify(report, size, chain, p, NULL, &v) >= 0 && v.authentic;
}

static bool verify_fresh(const uint8_t *report, size_t size, const SnpVerifyParams *p) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();

        if (!chain)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(certs); i++)
                if (snp_chain_add_data(chain, certs[i], cert_sizes[i], NULL) < 0)
                        return false;
        return verify(report, size, chain, p);
}

int main(int argc, char *argv[]) {
        const char *root = getenv("CVM_VECTORS");
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_free_ uint8_t *report = NULL;
        _cleanup_(BN_freep) BIGNUM *r = NULL, *s = NULL;
        enum { ROUNDS = 7, N = 200, N_COLD = 40 };
        double cached[ROUNDS], fresh[ROUNDS], cold[ROUNDS], raw[ROUNDS], floor_us;
        uint8_t digest[SHA384_DIGEST_LENGTH];
        SnpVerifyParams params = {};
        size_t size;
        int rc = 1;

        if (!root || !*root)
                root = "../shared/vectors";
        if (load(root, "report.bin", &report, &size) < 0) {
                printf("bench-snp: no vectors at %s (set CVM_VECTORS); skipped\n", root);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(certs); i++)
                if (load(root, cert_files[i], &certs[i], &cert_sizes[i]) < 0 ||
                    snp_chain_add_data(chain, certs[i], cert_sizes[i], NULL) < 0) {
                        fprintf(stderr, "bench-snp: cannot load %s\n", cert_files[i]);
                        goto out;
                }
        params.anchors = snp_builtin_anchors(&params.n_anchors);
        if (parse_rfc3339("2025-08-09T00:00:00Z", &params.at) < 0)
                goto out;
        /* Warm-up: fills the chain's own results and the process's caches. */
        if (!verify(report, size, chain, &params) || !verify_fresh(report, size, &params)) {
                fprintf(stderr, "bench-snp: the benchmark case does not verify\n");
                goto out;
        }
        SHA384(report, SNP_SIGNED_SIZE, digest);
        r = BN_lebin2bn(report + 0x2A0, 72, NULL);
        s = BN_lebin2bn(report + 0x2E8, 72, NULL);
        if (!r || !s)
                goto out;

        bench_print_machine("bench-snp");
        for (int round = 0; round < ROUNDS; round++) {
                double t0 = bench_now();
                for (int i = 0; i < N; i++)
                        if (!verify(report, size, chain, &params))
                                goto out;
                cached[round] = (bench_now() - t0) / N * 1e6;

                t0 = bench_now();
                for (int i = 0; i < N; i++)
                        if (!verify_fresh(report, size, &params))
                                goto out;
                fresh[round] = (bench_now() - t0) / N * 1e6;

                bench_caches(false);
                t0 = bench_now();
                for (int i = 0; i < N_COLD; i++)
                        if (!verify_fresh(report, size, &params))
                                goto out;
                cold[round] = (bench_now() - t0) / N_COLD * 1e6;
                bench_caches(true);
                if (!verify_fresh(report, size, &params)) /* refill, untimed: the next round starts warm */
                        goto out;

                t0 = bench_now();
                for (int i = 0; i < N; i++)
                        if (ecdsa_verify_digest(X509_get0_pubkey(snp_chain_leaf(chain)), digest, sizeof(digest), r, s) != 1)
                                goto out;
                raw[round] = (bench_now() - t0) / N * 1e6;
        }
        floor_us = bench_median(raw, ROUNDS);
        printf("bench-snp (%s, %d rounds, medians; floor: one raw OpenSSL ECDSA P-384 verify, same run):\n", CASE, ROUNDS);
        printf("  floor                                           %9.1f us\n", floor_us);
        printf("  chain cached (one SnpChain object kept)         %9.1f us  %5.2fx the floor (goal <= 1.20x)\n",
               bench_median(cached, ROUNDS), bench_median(cached, ROUNDS) / floor_us);
        printf("  fresh chain from bytes, process caches warm     %9.1f us  %5.2fx the floor\n", bench_median(fresh, ROUNDS),
               bench_median(fresh, ROUNDS) / floor_us);
        printf("  fresh chain, caches off (cold: 3 certificates decoded, 3 RSA-PSS links)\n"
               "                                                  %9.1f us  %5.2fx the floor\n",
               bench_median(cold, ROUNDS), bench_median(cold, ROUNDS) / floor_us);
        printf("  cached where it says so: the kept SnpChain's own link results and leaf extensions; the\n"
               "  process's decoded certificates (by their bytes) and verified links (by both certificates'\n"
               "  bytes, within their common validity)\n");
        printf("  not cached in any figure: report parse, claims, product, ARK pin compare, validity at the time,\n"
               "  TCB and chip-ID binding, the report's ECDSA P-384 signature\n");
        bench_print_cache_stats();
        rc = 0;
out:
        for (size_t i = 0; i < ELEMENTSOF(certs); i++)
                free(certs[i]);
        return rc;
}
