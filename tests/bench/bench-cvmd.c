/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd's own costs, with the daemon's Manager driven in-process on an sd-event loop over
 * libvirt's test driver (test:///default), each guest a forked agent on a unix socket with the
 * SEV-SNP simulator ("tee": "none", simulated SNP evidence, no GPUs):
 *   (a) cvmd's share of one gated launch: from manager_launch() to Running, less the time the
 *       agent spends on its own work (evidence generation, opening the release, the Ack), over
 *       sequential launches; p50 and p99 against one raw P-384 verify;
 *   (b) CONC launches at once through one manager: attestations per second divided by
 *       (cores x the raw P-384 verify rate);
 *   (c) one appraisal of SEV-SNP + 8 simulated GPUs, appraise_evidence() as the exchange calls
 *       it, against nine raw P-384 verifies;
 *   (d) the process's RSS idle (manager up, libvirt connected, policies loaded) and with NVMS
 *       VMs Running in the table: (a)'s and (b)'s. libvirt's
 *       test driver lives in this process: its domains count in the RSS and its work in (a).
 * Every floor is measured in this run. A launch that does not reach Running fails the bench. */
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/agent/agent.h"
#include "../../src/cvmd/cvmd-internal.h"
#include "../common/key-fixture.h"
#include "cvm/appraise.h"
#include "cvm/channel-addr.h"
#include "cvm/crypto.h"
#include "cvm/gpu-sim.h"
#include "cvm/gpu.h"
#include "cvm/kek.h"
#include "cvm/keystore.h"
#include "cvm/secret.h"
#include "cvm/snp-sim.h"
#include "cvm/util.h"

#define SEQ 200     /* (a) sequential launches */
#define CONC 1000   /* (b) launches at once: within the nonce store's NONCE_STORE_MAX (1024) */
#define GPUS 8      /* (c) */
#define NVMS (SEQ + CONC) /* (d) VMs known: (a)'s and (b)'s */

/* A host big enough for every VM of the run: one cell, one CPU per core, a 2 MiB page pool. */
#define HOST_CORES (NVMS + 64)
static char *caps;

static int make_caps(void) {
        size_t size = 512 + (size_t) HOST_CORES * 96, n;

        caps = malloc(size);
        if (!caps)
                return -1;
        n = (size_t) snprintf(caps, size,
                              "<capabilities><host><topology><cells num='1'><cell id='0'><memory unit='KiB'>%llu</memory>"
                              "<pages unit='KiB' size='2048'>%u</pages><cpus num='%u'>",
                              (unsigned long long) HOST_CORES * 1024 * 1024 + 1048576, HOST_CORES * 512u, HOST_CORES);
        for (unsigned i = 0; i < HOST_CORES; i++)
                n += (size_t) snprintf(caps + n, size - n, "<cpu id='%u' socket_id='0' core_id='%u' siblings='%u'/>", i, i, i);
        n += (size_t) snprintf(caps + n, size - n, "</cpus></cell></cells></topology></host></capabilities>");
        return n < size ? 0 : -1;
}
static const char domcaps[] = "<domainCapabilities><features><sev supported='no'/><tdx supported='no'/></features>"
                              "</domainCapabilities>";

static char dir[] = "/tmp/cvmd-bench-cvmd-XXXXXX";
static char path_buf[512];
static char snp_dir[600], gpu_dir[600];
static char snp_ark[65], gpu_root[65];

/* per VM (index from its name): when each phase was entered, and the agent's own busy time */
static double t_launch[NVMS], t_phase[NVMS][_LAUNCH_PHASE_MAX];
static double *agent_busy; /* shared with the forked agents */

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double cpu_sec(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
               (double) ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* q in [0, 1] of n sorted values (nearest rank) */
static double quantile(double *v, size_t n, double q) {
        size_t i;

        qsort(v, n, sizeof(double), cmp_double);
        i = (size_t) (q * (double) n + 0.999999);
        return v[i == 0 ? 0 : (i > n ? n - 1 : i - 1)];
}

static long rss_kib(void) {
        char line[256];
        long kib = -1;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static const char *at(const char *name) {
        snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, name);
        return path_buf;
}

static int write_text(const char *p, const char *text) {
        FILE *f = fopen(p, "we");

        if (!f)
                return -1;
        if (fputs(text, f) < 0) {
                fclose(f);
                return -1;
        }
        return fclose(f) == 0 ? 0 : -1;
}

/* ---- the floor: one raw OpenSSL ECDSA P-384 verify ---- */

static int floor_p384_ms(double *ret) {
        enum { ROUNDS = 5, N = 200 };
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_EC_gen("P-384");
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *sctx = NULL;
        _cleanup_(BN_freep) BIGNUM *r = NULL, *s = NULL;
        unsigned char der[128];
        size_t der_len = sizeof(der);
        const unsigned char *q = der;
        uint8_t digest[48];
        double raw[ROUNDS];
        ECDSA_SIG *sig;

        SHA384((const uint8_t *) "floor", 5, digest);
        if (!key || !(sctx = EVP_PKEY_CTX_new(key, NULL)) || EVP_PKEY_sign_init(sctx) <= 0 ||
            EVP_PKEY_sign(sctx, der, &der_len, digest, sizeof(digest)) <= 0 ||
            !(sig = d2i_ECDSA_SIG(NULL, &q, (long) der_len)))
                return -1;
        r = BN_dup(ECDSA_SIG_get0_r(sig));
        s = BN_dup(ECDSA_SIG_get0_s(sig));
        ECDSA_SIG_free(sig);
        for (int round = 0; round < ROUNDS; round++) {
                double t0 = now_sec();
                for (int i = 0; i < N; i++)
                        if (ecdsa_verify_digest(key, digest, sizeof(digest), r, s) != 1)
                                return -1;
                raw[round] = (now_sec() - t0) / N * 1e3;
        }
        *ret = quantile(raw, ROUNDS, 0.5);
        return 0;
}

/* ---- setup: the simulators, the key, the policy ---- */

static int setup(void) {
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        GpuSim *g[GPU_SIM_BOARD_DEFAULT] = {};
        _cleanup_free_ char *ark = NULL, *root = NULL;
        SnpSimParams p = { .product = SNP_PRODUCT_GENOA };
        char policy[512];
        SnpAnchor a;
        NvPin pin;

        if (!mkdtemp(dir))
                return -1;
        for (const char *const *d = (const char *const[]) { "keys", "agents", "policies", "state", NULL }; *d; d++)
                if (mkdir(at(*d), 0700) < 0)
                        return -1;
        snprintf(snp_dir, sizeof(snp_dir), "%s/snp", dir);
        snprintf(gpu_dir, sizeof(gpu_dir), "%s/gpu", dir);
        snp_tcb_set(&p.tcb, false, 0, 10, 0, 23, 84);
        if (snp_sim_new(&p, &s) < 0 || snp_sim_write_pem(s, snp_dir) < 0 || snp_sim_anchor(s, &a) < 0 ||
            gpu_sim_new_board(NULL, GPU_SIM_BOARD_DEFAULT, g) < 0 ||
            gpu_sim_write_board(g, GPU_SIM_BOARD_DEFAULT, false, gpu_dir) < 0 || gpu_sim_root_pin(g[0], &pin) < 0) {
                gpu_sim_board_free(g, GPU_SIM_BOARD_DEFAULT);
                return -1;
        }
        gpu_sim_board_free(g, GPU_SIM_BOARD_DEFAULT);
        ark = hex_encode(a.spki_sha256, 32);
        root = hex_encode(pin.spki_sha256, 32);
        if (!ark || !root)
                return -1;
        memcpy(snp_ark, ark, 65);
        memcpy(gpu_root, root, 65);
        snprintf(policy, sizeof(policy),
                 "{\"name\": \"dev\", \"allow_development\": true, \"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": "
                 "[{\"product\": \"Genoa\", \"spki_sha256\": \"%s\"}]}}",
                 snp_ark);
        if (write_text(at("policies/dev.json"), policy) < 0)
                return -1;
        return key_fixture_wrap(dir, at("keys"), "k1");
}

/* ---- the guests: one forked agent per VM, timing its own work ---- */

static char *vm_name(size_t idx);
static const char *spec_json(size_t idx);
/* cvmd's releaser public key, once the manager has it: bound into every VM's HOST_DATA */
static uint8_t releaser_pk[PROTO_RELEASER_KEY_SIZE];

/* The HOST_DATA a hypervisor would have set for VM idx: its launch digest (docs/guest-protocol.md). */
static int host_data_of(size_t idx, uint8_t ret[32]) {
        _cleanup_(launch_spec_freep) LaunchSpec *spec = NULL;
        uint8_t spec_digest[LAUNCH_DIGEST_SIZE], bound[PROTO_LAUNCH_DIGEST_SIZE];

        if (launch_spec_parse(spec_json(idx), strlen(spec_json(idx)), &spec, NULL) < 0 ||
            launch_spec_digest(spec, spec_digest) < 0)
                return -EINVAL;
        proto_launch_digest(spec_digest, releaser_pk, bound);
        memcpy(ret, bound, 32);
        return 0;
}

/* The agent's side of agent_session_run(), with the time it works (not waits) measured. */
static int agent_child(int lfd, size_t idx) {
        AgentConfig c = { .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .timeout_usec = 120000000u };
        _cleanup_(secret_freep) Secret *sk = NULL, *bundle = NULL;
        ProtoState st = proto_state_init(PROTO_ROLE_AGENT);
        ProtoMsg hello = { .type = PROTO_HELLO, .version = PROTO_VERSION }, chal = {}, ev = {}, rel = {};
        ProtoMsg ack = { .type = PROTO_ACK };
        double t0, busy;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0 || host_data_of(idx, c.sim_host_data) < 0)
                return 1;
        close(lfd);
        if (proto_send(fd, &hello, proto_now_usec() + c.timeout_usec) < 0 ||
            proto_recv(fd, proto_now_usec() + c.timeout_usec, &chal, NULL) < 0 ||
            proto_state_receive(&st, chal.type, NULL) < 0)
                return 2;
        t0 = now_sec();
        if (agent_build_evidence(&c, &chal, &sk, &ev, NULL) < 0 ||
            proto_send(fd, &ev, proto_now_usec() + c.timeout_usec) < 0)
                return 3;
        busy = now_sec() - t0;
        proto_msg_done(&ev);
        if (proto_recv(fd, proto_now_usec() + c.timeout_usec, &rel, NULL) < 0 ||
            proto_state_receive(&st, rel.type, NULL) < 0)
                return 4;
        t0 = now_sec();
        if (agent_open_release(&chal, sk, &rel, &bundle, ack.confirmation, NULL) < 0 ||
            proto_send(fd, &ack, proto_now_usec() + c.timeout_usec) < 0)
                return 5;
        busy += now_sec() - t0;
        agent_busy[idx] = busy;
        proto_msg_done(&chal);
        proto_msg_done(&rel);
        close(fd);
        return 0;
}

static char *vm_name(size_t idx) {
        static char name[32];

        snprintf(name, sizeof(name), "vm%04zu", idx);
        return name;
}

static pid_t spawn_agent(size_t idx) {
        char addr[700];
        ChannelAddr a;
        pid_t pid;
        int lfd;

        snprintf(addr, sizeof(addr), "unix:%s/agents/%s.sock", dir, vm_name(idx));
        if (channel_addr_parse(addr, true, &a) < 0 || (lfd = channel_listen(&a)) < 0)
                return -1;
        pid = fork();
        if (pid == 0)
                _exit(agent_child(lfd, idx));
        close(lfd);
        return pid;
}

static int reap(pid_t pid) {
        int status;

        if (pid <= 0 || waitpid(pid, &status, 0) != pid)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the manager ---- */

static int failed; /* a VM ended Failed/Quarantined/Stopped */

static void on_state(Manager *m, Vm *vm) {
        const LaunchRunState *s = vm_run(vm);
        unsigned idx;

        if (sscanf(vm->name, "vm%u", &idx) != 1 || idx >= NVMS)
                return;
        t_phase[idx][s->phase] = now_sec();
        if (s->phase == LAUNCH_FAILED || s->phase == LAUNCH_QUARANTINED || s->phase == LAUNCH_STOPPED) {
                fprintf(stderr, "bench-cvmd: %s ended %s: %s\n", vm->name, launch_phase_to_string(s->phase),
                        s->reason ? s->reason : "?");
                failed = 1;
        }
}

static Manager *new_manager(sd_event *e) {
        static char keys[600], policies[600], statedir[600], agents[600];
        ManagerSettings s = {
                .libvirt_uri = "test:///default",
                .domain_type = "test",
                .dev_evidence = CVM_TEE_SEV_SNP,
                .boot_usec = 60u * 1000000u,
                .message_usec = 60u * 1000000u,
                .token_lifetime_sec = 1800,
                .token_rotate_sec = 30 * 24 * 3600,
        };
        _cleanup_free_ char *reason = NULL;
        Manager *m;

        snprintf(keys, sizeof(keys), "%s/keys", dir);
        snprintf(policies, sizeof(policies), "%s/policies", dir);
        snprintf(statedir, sizeof(statedir), "%s/state", dir);
        snprintf(agents, sizeof(agents), "%s/agents", dir);
        s.keys_dir = keys, s.policies_dir = policies, s.state_dir = statedir, s.agent_socket_dir = agents;
        s.host_caps_xml = caps, s.host_caps_size = strlen(caps);
        s.domcaps_xml = (char *) domcaps, s.domcaps_size = strlen(domcaps);
        if (manager_new(e, &s, &m) < 0)
                return NULL;
        memcpy(releaser_pk, m->releaser.pk, sizeof(releaser_pk));
        m->state_changed = on_state;
        if (manager_reload_policies(m, &reason) < 0) {
                fprintf(stderr, "bench-cvmd: policies: %s\n", reason ? reason : "?");
                manager_free(m);
                return NULL;
        }
        return m;
}

static void on_done(int r, void *userdata) {
        *(int *) userdata = r;
}

/* Runs the loop until VMs [from, to) are all Running (0), one failed or the deadline passed (-1). */
static int run_until_running(sd_event *e, Manager *m, size_t from, size_t to, double limit_sec) {
        double deadline = now_sec() + limit_sec;

        for (;;) {
                size_t done = 0;

                for (size_t i = from; i < to; i++)
                        done += t_phase[i][LAUNCH_RUNNING] > 0;
                if (done == to - from)
                        return 0;
                if (failed || now_sec() > deadline) {
                        if (!failed)
                                fprintf(stderr, "bench-cvmd: %zu of %zu launches Running after %.0f s\n", done,
                                        to - from, limit_sec);
                        return -1;
                }
                if (sd_event_run(e, 100000) < 0)
                        return -1;
        }
}

static const char *spec_json(size_t idx) {
        static char spec[512];

        snprintf(spec, sizeof(spec),
                 "{\"name\": \"%s\", \"tee\": \"none\", \"vcpus\": 1, \"memory_mib\": 1024, \"gpus\": [], "
                 "\"boot\": {\"disk\": \"/img.qcow2\"}, \"policy\": \"dev\", \"key_ids\": [\"k1\"]}",
                 vm_name(idx));
        return spec;
}

static int launch(Manager *m, size_t idx) {
        _cleanup_free_ char *reason = NULL;
        const char *spec = spec_json(idx);
        Vm *vm;

        t_launch[idx] = now_sec();
        if (manager_launch(m, spec, &vm, &reason) < 0) {
                fprintf(stderr, "bench-cvmd: launch %s refused: %s\n", vm_name(idx), reason ? reason : "?");
                return -1;
        }
        return 0;
}

/* ---- (c): one appraisal of SEV-SNP + 8 GPUs ---- */

static int bench_appraisal(double *ret_ms) {
        enum { ROUNDS = 5, N = 10 };
        AgentConfig ac = { .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .sim_gpu_dir = gpu_dir };
        ProtoMsg chal = { .type = PROTO_CHALLENGE, .gpus = GPUS, .tee = CVM_TEE_SEV_SNP }, ev = {};
        _cleanup_(secret_freep) Secret *sk = NULL;
        _cleanup_free_ char *json = NULL, *gpath = NULL, *why = NULL;
        _cleanup_free_ uint8_t *gdata = NULL;
        ExchangeEvidence e = { .gpus_requested = GPUS };
        AppraiseConfig apc = {};
        Policy *policy = NULL;
        NvGolden *golden = NULL;
        double t[ROUNDS];
        size_t gsize;
        int r = -1;

        json = strdup_printf("{\"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": [{\"product\": \"Genoa\", \"spki_sha256\": \"%s\"}]},"
                             " \"gpu\": {\"gpu_count\": %d, \"require_nonce\": true, \"require_ocsp\": false,"
                             " \"trusted_simulator_roots\": [{\"spki_sha256\": \"%s\"}]}}",
                             snp_ark, GPUS, gpu_root);
        gpath = strdup_printf("%s/golden.json", gpu_dir);
        if (!json || !gpath || policy_parse(json, strlen(json), &policy, &why) < 0 ||
            read_file_bounded(gpath, 1 << 20, &gdata, &gsize) < 0 ||
            nv_golden_parse((const char *) gdata, gsize, &golden, &why) < 0) {
                fprintf(stderr, "bench-cvmd: (c) policy or golden measurements: %s\n", why ? why : "?");
                goto out;
        }
        apc.policy = policy;
        apc.gpu_golden = golden;
        (void) RAND_bytes(chal.nonce, sizeof(chal.nonce));
        /* the agent answers only a releaser bound into its HOST_DATA: bind this challenge's */
        (void) RAND_bytes(chal.spec_digest, sizeof(chal.spec_digest));
        memcpy(chal.releaser_key, releaser_pk, sizeof(chal.releaser_key));
        {
                uint8_t bound[PROTO_LAUNCH_DIGEST_SIZE];

                proto_launch_digest(chal.spec_digest, chal.releaser_key, bound);
                memcpy(ac.sim_host_data, bound, sizeof(ac.sim_host_data));
        }
        if (agent_build_evidence(&ac, &chal, &sk, &ev, &why) < 0) {
                fprintf(stderr, "bench-cvmd: (c) evidence: %s\n", why ? why : "?");
                goto out;
        }
        e.msg = &ev;
        proto_report_data(chal.nonce, ev.pubkey, e.report_data);
        for (uint32_t g = 0; g < GPUS; g++)
                proto_gpu_nonce(chal.nonce, ev.pubkey, g, ev.gpu_pci[g], ev.gpu_cc[g], e.gpu_nonces[g]);
        for (int round = 0; round < ROUNDS; round++) {
                double t0 = now_sec();
                for (int i = 0; i < N; i++) {
                        _cleanup_(verdict_done) Verdict v = {};
                        if (verdict_init(&v, "sev-snp") < 0 || appraise_evidence(&apc, &e, &v) < 0 || !v.accepted) {
                                fprintf(stderr, "bench-cvmd: appraisal refused: %s\n",
                                        v.n_reasons ? v.reasons[0] : "?");
                                goto out;
                        }
                }
                t[round] = (now_sec() - t0) / N * 1e3;
        }
        *ret_ms = quantile(t, ROUNDS, 0.5);
        r = 0;
out:
        proto_msg_done(&ev);
        policy_free(policy);
        nv_golden_free(golden);
        return r;
}

/* Launches VMs [from, to) at once, each with its agent forked beforehand (not timed); the wall
 * and process CPU time from the first launch call until all are Running. */
static int run_batch(sd_event *e, Manager *m, pid_t *pids, size_t from, size_t to, double *ret_wall,
                     double *ret_cpu) {
        double t0, c0;

        for (size_t i = from; i < to; i++)
                if ((pids[i] = spawn_agent(i)) < 0) {
                        fprintf(stderr, "bench-cvmd: cannot fork agent %zu\n", i);
                        return -1;
                }
        t0 = now_sec();
        c0 = cpu_sec();
        for (size_t i = from; i < to; i++)
                if (launch(m, i) < 0)
                        return -1;
        if (run_until_running(e, m, from, to, 600) < 0)
                return -1;
        *ret_wall = now_sec() - t0;
        *ret_cpu = cpu_sec() - c0;
        for (size_t i = from; i < to; i++) {
                if (reap(pids[i]) != 0) {
                        fprintf(stderr, "bench-cvmd: agent of %s failed\n", vm_name(i));
                        return -1;
                }
                pids[i] = 0;
        }
        return 0;
}

int main(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        static pid_t pids[NVMS];
        static double share[SEQ], d_create[SEQ], d_connect[SEQ], d_exchange[SEQ], busy[SEQ];
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        double fl_a, fl_b, fl_c, appraisal_ms, c0, conc_wall, conc_cpu, seq_cpu, create_first = 0, create_last = 0;
        long rss_idle, rss_full;
        size_t n_known;
        int rc = 1, done_flag = 1;
        Manager *m = NULL;
        char cmd[700];
        struct rlimit rl;

        (void) secret_init();
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        agent_busy = mmap(NULL, sizeof(double) * NVMS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (agent_busy == MAP_FAILED || make_caps() < 0 || setup() < 0 || sd_event_new(&e) < 0 || !(m = new_manager(e))) {
                fprintf(stderr, "bench-cvmd: setup failed\n");
                goto out;
        }
        if (manager_connect_libvirt(m, on_done, &done_flag) < 0)
                goto out;
        for (double dl = now_sec() + 15; done_flag == 1 && now_sec() < dl;)
                (void) sd_event_run(e, 100000);
        if (done_flag != 0) {
                fprintf(stderr, "bench-cvmd: libvirt test driver not connected\n");
                goto out;
        }
        rss_idle = rss_kib();

        /* (a) sequential launches, each with its own agent forked beforehand (not timed) */
        if (floor_p384_ms(&fl_a) < 0)
                goto out;
        seq_cpu = 0;
        for (size_t i = 0; i < SEQ; i++) {
                if ((pids[i] = spawn_agent(i)) < 0)
                        goto out;
                c0 = cpu_sec();
                if (launch(m, i) < 0 || run_until_running(e, m, i, i + 1, 30) < 0)
                        goto out;
                seq_cpu += cpu_sec() - c0;
                if (reap(pids[i]) != 0) {
                        fprintf(stderr, "bench-cvmd: agent of %s failed\n", vm_name(i));
                        goto out;
                }
                pids[i] = 0;
                busy[i] = agent_busy[i] * 1e3;
                share[i] = (t_phase[i][LAUNCH_RUNNING] - t_launch[i]) * 1e3 - busy[i];
                d_create[i] = (t_phase[i][LAUNCH_BOOTING] - t_launch[i]) * 1e3;
                d_connect[i] = (t_phase[i][LAUNCH_ATTESTING] - t_phase[i][LAUNCH_BOOTING]) * 1e3;
                d_exchange[i] = (t_phase[i][LAUNCH_RUNNING] - t_phase[i][LAUNCH_ATTESTING]) * 1e3 - busy[i];
        }

        for (size_t i = 0; i < 10; i++)
                create_first += d_create[i] / 10, create_last += d_create[SEQ - 10 + i] / 10;

        /* (b) CONC launches at once: every agent forked first (not timed), then every launch */
        if (floor_p384_ms(&fl_b) < 0 || run_batch(e, m, pids, SEQ, SEQ + CONC, &conc_wall, &conc_cpu) < 0)
                goto out;

        /* (d) with every VM still in the table, Running */
        rss_full = rss_kib();
        n_known = m->n_vms;

        /* (c) */
        if (floor_p384_ms(&fl_c) < 0 || bench_appraisal(&appraisal_ms) < 0)
                goto out;

        {
                double p50 = quantile(share, SEQ, 0.5), p99 = quantile(share, SEQ, 0.99);
                double rate = CONC / conc_wall, floor_rate = 1e3 / fl_b;

                printf("bench-cvmd (%ld cores; cvmd's Manager in-process, libvirt test:///default, forked agents with the "
                       "SEV-SNP simulator, tee \"none\", no GPUs):\n", cores);
                printf("  (a) cvmd's share of a gated launch, %d sequential launches (launch call to Running, less the "
                       "agent's own work):\n", SEQ);
                printf("      p50 %8.3f ms  %6.2fx the floor\n", p50, p50 / fl_a);
                printf("      p99 %8.3f ms  %6.2fx the floor\n", p99, p99 / fl_a);
                printf("      p50 parts: plan + libvirt create %.3f ms, agent connect %.3f ms, exchange less agent "
                       "%.3f ms; agent's own work %.3f ms (not counted)\n",
                       quantile(d_create, SEQ, 0.5), quantile(d_connect, SEQ, 0.5), quantile(d_exchange, SEQ, 0.5),
                       quantile(busy, SEQ, 0.5));
                printf("      plan + libvirt create, mean of the first 10 launches %.3f ms, of the last 10 %.3f ms\n",
                       create_first, create_last);
                printf("      CPU time of the cvmd process per launch (all threads, mean) %.3f ms  %.2fx the floor\n",
                       seq_cpu / SEQ * 1e3, seq_cpu / SEQ * 1e3 / fl_a);
                printf("      floor: one raw OpenSSL P-384 verify %.3f ms\n", fl_a);
                printf("  (b) %d launches at once through one manager: all Running in %.2f s, %.1f attestations/s\n",
                       CONC, conc_wall, rate);
                printf("      / (%ld cores x floor rate %.0f verifies/s) = %.4f\n", cores, floor_rate,
                       rate / ((double) cores * floor_rate));
                printf("      CPU time of the cvmd process per attestation (all threads) %.3f ms  %.2fx the floor\n",
                       conc_cpu / CONC * 1e3, conc_cpu / CONC * 1e3 / fl_b);
                printf("      floor: one raw OpenSSL P-384 verify %.3f ms\n", fl_b);
                printf("  (c) one appraisal, SEV-SNP + %d simulated GPUs (appraise_evidence), median of 5 x 10:\n", GPUS);
                printf("      %8.3f ms  %6.2fx the floor of nine raw P-384 verifies (%.3f ms)\n", appraisal_ms,
                       appraisal_ms / (9 * fl_c), 9 * fl_c);
                printf("  (d) RSS: idle (manager up, libvirt connected, policies loaded) %ld KiB; with %zu VMs known "
                       "(Running) %ld KiB; %.1f KiB per VM\n",
                       rss_idle, n_known, rss_full, (double) (rss_full - rss_idle) / (double) n_known);
        }
        rc = 0;
out:
        for (size_t i = 0; i < NVMS; i++)
                if (pids[i] > 0) {
                        kill(pids[i], SIGKILL);
                        (void) waitpid(pids[i], NULL, 0);
                }
        manager_free(m);
        free(caps);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (dir[sizeof(dir) - 7] != 'X' && system(cmd) != 0)
                fprintf(stderr, "bench-cvmd: could not remove %s\n", dir);
        return rc;
}
