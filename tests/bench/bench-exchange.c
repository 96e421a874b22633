/* SPDX-License-Identifier: Apache-2.0 */
/* A whole attestation exchange over a unix socket with the simulator (SEV-SNP + 8 GPUs), and
 * its parts: evidence generation (the agent), verification (the host's appraisal: the SNP
 * report and eight GPU reports with their chains and golden measurements), and sealing (HPKE to
 * the guest's key plus the key confirmation). Each is reported against one raw OpenSSL P-384
 * verify measured in the same run. */
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/agent/agent.h"
#include "cvm/appraise.h"
#include "cvm/crypto.h"
#include "cvm/gpu-sim.h"
#include "cvm/gpu.h"
#include "cvm/hpke.h"
#include "cvm/snp-sim.h"
#include "cvm/token.h"
#include "cvm/util.h"

#define GPUS 8

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), cmp_double);
        return v[n / 2];
}

static char sim_dir[] = "/tmp/cvmd-bench-exchange-XXXXXX";
static char snp_dir[64], gpu_dir[64];
static Policy *policy;
static NvGolden *golden;

static int unwrap(void *userdata, Secret **ret_bundle, char **ret_reason) {
        _cleanup_(secret_freep) Secret *key = NULL, *bundle = NULL;
        uint8_t k[32] = { 1, 2, 3 };
        int r;

        if ((r = key_bundle_new(&bundle)) < 0 || (r = secret_new_copy(k, sizeof(k), &key)) < 0 ||
            (r = key_bundle_add(&bundle, "bench", key)) < 0)
                return r;
        *ret_bundle = TAKE_PTR(bundle);
        return 0;
}

static int setup(void) {
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        GpuSim *g[GPU_SIM_BOARD_DEFAULT] = {};
        _cleanup_free_ char *ark = NULL, *root = NULL, *json = NULL, *gpath = NULL;
        _cleanup_free_ uint8_t *gdata = NULL;
        SnpSimParams p = { .product = SNP_PRODUCT_GENOA };
        SnpAnchor a;
        NvPin pin;
        size_t gsize;

        if (!mkdtemp(sim_dir))
                return -errno;
        snprintf(snp_dir, sizeof(snp_dir), "%s/snp", sim_dir);
        snprintf(gpu_dir, sizeof(gpu_dir), "%s/gpu", sim_dir);
        snp_tcb_set(&p.tcb, false, 0, 10, 0, 23, 84);
        if (snp_sim_new(&p, &s) < 0 || snp_sim_write_pem(s, snp_dir) < 0 || snp_sim_anchor(s, &a) < 0 ||
            gpu_sim_new_board(NULL, GPU_SIM_BOARD_DEFAULT, g) < 0 ||
            gpu_sim_write_board(g, GPU_SIM_BOARD_DEFAULT, false, gpu_dir) < 0 || gpu_sim_root_pin(g[0], &pin) < 0) {
                gpu_sim_board_free(g, GPU_SIM_BOARD_DEFAULT);
                return -EIO;
        }
        gpu_sim_board_free(g, GPU_SIM_BOARD_DEFAULT);
        ark = hex_encode(a.spki_sha256, 32);
        root = hex_encode(pin.spki_sha256, 32);
        json = strdup_printf("{\"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": [{\"product\": \"Genoa\", \"spki_sha256\": \"%s\"}]},"
                             " \"gpu\": {\"gpu_count\": %d, \"require_nonce\": true, \"require_ocsp\": false,"
                             " \"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}]}}",
                             ark, GPUS, root);
        gpath = strdup_printf("%s/golden.json", gpu_dir);
        if (!json || !gpath || policy_parse(json, strlen(json), &policy, NULL) < 0 ||
            read_file_bounded(gpath, 1 << 20, &gdata, &gsize) < 0 ||
            nv_golden_parse((const char *) gdata, gsize, &golden, NULL) < 0)
                return -EIO;
        return 0;
}

/* The host's releaser key, and the launch digest it makes with no spec: the simulated guests'
 * HOST_DATA, as if the host had launched them. */
static ReleaserKey releaser;
static uint8_t host_data[PROTO_LAUNCH_DIGEST_SIZE];

static int agent_once(int fd, const char *keys_dir) {
        AgentConfig c = { .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .sim_gpu_dir = gpu_dir,
                          .keys_dir = keys_dir, .timeout_usec = 10000000 };
        char *reason = NULL;

        memcpy(c.sim_host_data, host_data, sizeof(c.sim_host_data));
        int r = agent_session_run(&c, fd, &reason);

        free(reason);
        return r < 0 ? 1 : 0;
}

int main(void) {
        enum { ROUNDS = 5, N = 10 };
        AgentConfig ac = { .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .sim_gpu_dir = gpu_dir };
        AppraiseConfig apc = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *token_key = NULL, *p384 = NULL;
        double gen[ROUNDS], ver[ROUNDS], seal[ROUNDS], whole[ROUNDS], raw[ROUNDS];
        char keys_dir[] = "/dev/shm/cvmd-bench-keys-XXXXXX";
        uint8_t digest[48];
        static NonceStore nonces;
        char cmd[160];

        (void) secret_init();
        if (setup() < 0 || !mkdtemp(keys_dir) || token_key_generate(&token_key) < 0 ||
            releaser_key_generate(&releaser) < 0) {
                fprintf(stderr, "bench-exchange: setup failed\n");
                return 1;
        }
        {
                static const uint8_t no_spec[PROTO_SPEC_DIGEST_SIZE] = {};
                proto_launch_digest(no_spec, releaser.pk, host_data);
                memcpy(ac.sim_host_data, host_data, sizeof(ac.sim_host_data));
        }
        apc.policy = policy;
        apc.gpu_golden = golden;
        p384 = EVP_EC_gen("P-384");
        SHA384((const uint8_t *) "floor", 5, digest);

        for (int round = 0; round < ROUNDS; round++) {
                ProtoMsg chal = { .type = PROTO_CHALLENGE, .gpus = GPUS };
                double t0, tg = 0, tv = 0, ts = 0;

                chal.tee = CVM_TEE_SEV_SNP;
                memcpy(chal.releaser_key, releaser.pk, sizeof(chal.releaser_key));
                for (int i = 0; i < N; i++) {
                        _cleanup_(secret_freep) Secret *sk = NULL, *bundle = NULL;
                        _cleanup_(hpke_context_freep) HpkeContext *ctx = NULL;
                        _cleanup_(verdict_done) Verdict v = {};
                        ExchangeEvidence e = { .gpus_requested = GPUS };
                        ProtoMsg ev = {};
                        uint8_t enc[HPKE_ENC_SIZE], confirm[HPKE_CONFIRM_SIZE], *ct = NULL;
                        size_t ct_size;

                        (void) RAND_bytes(chal.nonce, sizeof(chal.nonce));
                        t0 = now_sec();
                        if (agent_build_evidence(&ac, &chal, &sk, &ev, NULL) < 0)
                                return 1;
                        tg += now_sec() - t0;

                        e.msg = &ev;
                        proto_report_data(chal.nonce, ev.pubkey, e.report_data);
                        for (uint32_t g = 0; g < GPUS; g++)
                                proto_gpu_nonce(chal.nonce, ev.pubkey, g, ev.gpu_pci[g], ev.gpu_cc[g], e.gpu_nonces[g]);
                        if (verdict_init(&v, "sev-snp") < 0)
                                return 1;
                        t0 = now_sec();
                        if (appraise_evidence(&apc, &e, &v) < 0 || !v.accepted) {
                                fprintf(stderr, "bench-exchange: appraisal refused: %s\n",
                                        v.n_reasons ? v.reasons[0] : "?");
                                return 1;
                        }
                        tv += now_sec() - t0;

                        if (unwrap(NULL, &bundle, NULL) < 0)
                                return 1;
                        t0 = now_sec();
                        if (hpke_setup_auth_sender(HPKE_SUITE_DEFAULT, ev.pubkey, 32,
                                                   (const uint8_t *) PROTO_KEY_RELEASE_INFO,
                                                   strlen(PROTO_KEY_RELEASE_INFO), releaser.sk, enc, &ctx) < 0 ||
                            hpke_seal(ctx, chal.nonce, 32, secret_data(bundle), secret_size(bundle), &ct, &ct_size) < 0 ||
                            hpke_key_confirmation(ctx, confirm) < 0)
                                return 1;
                        ts += now_sec() - t0;
                        free(ct);
                        proto_msg_done(&ev);
                }
                gen[round] = tg / N * 1e3;
                ver[round] = tv / N * 1e3;
                seal[round] = ts / N * 1e3;

                t0 = now_sec();
                for (int i = 0; i < N; i++) {
                        ExchangeHost h = { .tee = CVM_TEE_SEV_SNP, .gpus = GPUS, .timeout_usec = 10000000, .nonces = &nonces,
                                           .nonce_ttl_usec = 10000000, .appraise = appraise_evidence,
                                           .unwrap_keys = unwrap, .userdata = &apc, .token_key = token_key,
                                           .releaser = &releaser };
                        ExchangeResult res = {};
                        int sv[2], status;
                        pid_t pid;

                        snprintf(cmd, sizeof(cmd), "rm -f %s/*", keys_dir);
                        if (system(cmd) != 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                                return 1;
                        pid = fork();
                        if (pid == 0) {
                                close(sv[0]);
                                _exit(agent_once(sv[1], keys_dir));
                        }
                        close(sv[1]);
                        if (exchange_host_run(&h, sv[0], &res) < 0 || !res.confirmed) {
                                fprintf(stderr, "bench-exchange: exchange failed: %s\n", res.error ? res.error : "?");
                                return 1;
                        }
                        close(sv[0]);
                        exchange_result_done(&res);
                        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                                return 1;
                }
                whole[round] = (now_sec() - t0) / N * 1e3;

                {
                        _cleanup_(BN_freep) BIGNUM *r = NULL, *s = NULL;
                        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new(p384, NULL);
                        unsigned char der[128];
                        size_t der_len = sizeof(der);
                        const unsigned char *q = der;
                        ECDSA_SIG *sig;

                        if (!sctx || EVP_PKEY_sign_init(sctx) <= 0 ||
                            EVP_PKEY_sign(sctx, der, &der_len, digest, sizeof(digest)) <= 0 ||
                            !(sig = d2i_ECDSA_SIG(NULL, &q, (long) der_len)))
                                return 1;
                        r = BN_dup(ECDSA_SIG_get0_r(sig));
                        s = BN_dup(ECDSA_SIG_get0_s(sig));
                        ECDSA_SIG_free(sig);
                        t0 = now_sec();
                        for (int i = 0; i < 100; i++)
                                if (ecdsa_verify_digest(p384, digest, sizeof(digest), r, s) != 1)
                                        return 1;
                        raw[round] = (now_sec() - t0) / 100 * 1e3;
                }
        }

        {
                double fl = median(raw, ROUNDS), g = median(gen, ROUNDS), v = median(ver, ROUNDS),
                       s = median(seal, ROUNDS), w = median(whole, ROUNDS);
                printf("bench-exchange (SEV-SNP simulator + %d simulated GPUs, %d rounds of %d, median):\n", GPUS,
                       ROUNDS, N);
                printf("  evidence generation (agent)           %8.2f ms  %6.1fx the floor\n", g, g / fl);
                printf("  verification (SNP + %d GPUs, policy)   %8.2f ms  %6.1fx the floor\n", GPUS, v, v / fl);
                printf("  sealing (HPKE + key confirmation)     %8.3f ms  %6.2fx the floor\n", s, s / fl);
                printf("  whole exchange over a unix socket     %8.2f ms  %6.1fx the floor\n", w, w / fl);
                printf("  floor: one raw OpenSSL P-384 verify   %8.3f ms\n", fl);
                /* what a reader needs to compare these with a first attestation on a cold host */
                printf("  cached: the simulated VCEK/ASK/ARK and GPU certificate chains (decoded and verified once,\n"
                       "          keyed by their bytes, hits from the second exchange on); GPU measurements against a\n"
                       "          golden list (no RIMs, no OCSP). Not cached: every report, its signature, the nonces,\n"
                       "          the HPKE keys and the key bundle are new in every exchange.\n");
        }
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", sim_dir, keys_dir);
        if (system(cmd) != 0)
                fprintf(stderr, "bench-exchange: could not remove %s\n", sim_dir);
        policy_free(policy);
        nv_golden_free(golden);
        return 0;
}
