/* SPDX-License-Identifier: Apache-2.0 */
/* cvm-agent: runs inside the confidential guest and answers cvmd's attestation challenge. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "cvm/channel-addr.h"
#include "cvm/util.h"

#define DEFAULT_VSOCK_PORT 4050u

static void help(void) {
        printf("Usage: cvm-agent [OPTIONS]\n"
               "\n"
               "Answers cvmd's attestation challenge from inside the confidential VM: collects the SEV-SNP\n"
               "report or TDX quote (configfs-tsm, or /dev/sev-guest) and each GPU's report (NVML), bound to a\n"
               "fresh key; opens the sealed data keys, confirms them, installs them, and then sets the GPUs\n"
               "ready for work. Only the host that launched the VM may release keys: its releaser key must be\n"
               "bound into this VM's HOST_DATA / MRCONFIGID.\n"
               "\n"
               "       cvm-agent measure-workload --digest sha384:HEX [--description TEXT] (see its --help)\n"
               "\n"
               "Options:\n"
               "  --listen ADDR         vsock:PORT (default vsock:%u) or unix:PATH\n"
               "  --once                serve one exchange and exit with its outcome\n"
               "  --evidence SOURCE     auto (default), tsm or sev-guest\n"
               "  --simulate snp|tdx    simulated SEV-SNP or TDX evidence from --sim-dir (development only)\n"
               "  --sim-dir DIR         the simulator's snp/ or tdx/ directory (cvmctl sim init)\n"
               "  --sim-host-data HEX   the HOST_DATA the simulated hypervisor sets (32 bytes)\n"
               "  --sim-mrconfigid HEX  the MRCONFIGID the simulated VMM sets (48 bytes)\n"
               "  --sim-launch-digest-file FILE  instead of both: the launch digest (96 hex digits), read\n"
               "                        from FILE once the simulated hypervisor has written it\n"
               "  --simulate-gpus DIR   simulated NVIDIA GPUs from DIR (cvmctl sim init's gpu/) instead of NVML\n"
               "  --sim-cmdline TEXT    the simulated TDX guest's kernel command line (default console=hvc0)\n"
               "  --sim-log-cmdline TEXT  the command line its event log claims instead (a lying guest, tests)\n"
               "  --runtime-dir DIR     the runtime log of measured workloads (default %s)\n"
               "  --acpi-tables DIR     where the CCEL table and log are (default /sys/firmware/acpi/tables)\n"
               "  --keys-dir DIR        install keys as 0400 files here (must be tmpfs)\n"
               "  --keyring-user USER   install keys as \"user\" keys cvmd:<id> in USER's keyring\n"
               "  --allow-swap          install key files on tmpfs even while swap is on (encrypted swap)\n"
               "  --swaps-file PATH     read active swap areas from PATH, not /proc/swaps (tests)\n"
               "  --vm-uuid UUID        refuse challenges for any other VM\n"
               "  --trust-uid UID       on a unix socket, accept this uid besides root (repeatable;\n"
               "                        default: the agent's own uid)\n"
               "  --timeout SEC         per-message timeout (default 60)\n"
               "  --notify-host ADDR    tell the host of a GPU driver reload by connecting here (default:\n"
               "                        vsock:2:PORT+1 when listening on vsock:PORT; none on a unix socket)\n"
               "  --sim-gpu-reload-file FILE  simulated GPUs: FILE appearing is a driver reload (development)\n"
               "  -h, --help            show this help\n",
               DEFAULT_VSOCK_PORT, AGENT_RUNTIME_DIR_DEFAULT);
}

/* The GPU driver reload watch (agent-gpu-watch.c), telling the host at notify_addr, by default
 * the host's port beside the one listened on, on vsock. Only a bad --notify-host or trigger
 * file stops the agent; a guest that cannot read uevents serves exchanges without the watch. */
static int start_gpu_watch(const char *listen_addr, const char *notify_addr, const char *trigger) {
        _cleanup_free_ char *reason = NULL;
        char def[48];
        ChannelAddr listen_a, notify;
        int r;

        if (!notify_addr && channel_addr_parse(listen_addr, true, &listen_a) >= 0 && listen_a.family == AF_VSOCK &&
            listen_a.port < 65535) {
                snprintf(def, sizeof(def), "vsock:2:%u", listen_a.port + 1);
                notify_addr = def;
        }
        if (!notify_addr) {
                if (trigger) {
                        fprintf(stderr, "cvm-agent: --sim-gpu-reload-file needs --notify-host\n");
                        return -EINVAL;
                }
                return 0;
        }
        if (channel_addr_parse(notify_addr, false, &notify) < 0) {
                fprintf(stderr, "cvm-agent: --notify-host: '%s' is not vsock:CID:PORT or unix:PATH\n", notify_addr);
                return -EINVAL;
        }
        r = gpu_watch_start(&notify, trigger, &reason);
        if (r < 0 && trigger) {
                fprintf(stderr, "cvm-agent: %s\n", reason ? reason : strerror(-r));
                return r;
        }
        if (r < 0)
                fprintf(stderr, "cvm-agent: no GPU driver reload watch: %s\n", reason ? reason : strerror(-r));
        return 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_LISTEN = 0x100, ARG_ONCE, ARG_EVIDENCE, ARG_SIMULATE, ARG_SIM_DIR, ARG_SIM_HOST_DATA, ARG_SIM_MRCONFIGID, ARG_SIM_DIGEST_FILE, ARG_SIM_GPUS, ARG_KEYS_DIR,
               ARG_KEYRING_USER, ARG_VM_UUID, ARG_TIMEOUT, ARG_TRUST_UID, ARG_ALLOW_SWAP, ARG_SWAPS_FILE,
               ARG_SIM_CMDLINE, ARG_SIM_LOG_CMDLINE, ARG_RUNTIME_DIR, ARG_ACPI_TABLES, ARG_NOTIFY_HOST,
               ARG_SIM_GPU_RELOAD_FILE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "once", no_argument, NULL, ARG_ONCE },
                { "evidence", required_argument, NULL, ARG_EVIDENCE },
                { "simulate", required_argument, NULL, ARG_SIMULATE },
                { "sim-dir", required_argument, NULL, ARG_SIM_DIR },
                { "sim-host-data", required_argument, NULL, ARG_SIM_HOST_DATA },
                { "sim-mrconfigid", required_argument, NULL, ARG_SIM_MRCONFIGID },
                { "sim-launch-digest-file", required_argument, NULL, ARG_SIM_DIGEST_FILE },
                { "simulate-gpus", required_argument, NULL, ARG_SIM_GPUS },
                { "keys-dir", required_argument, NULL, ARG_KEYS_DIR },
                { "keyring-user", required_argument, NULL, ARG_KEYRING_USER },
                { "allow-swap", no_argument, NULL, ARG_ALLOW_SWAP },
                { "swaps-file", required_argument, NULL, ARG_SWAPS_FILE },
                { "vm-uuid", required_argument, NULL, ARG_VM_UUID },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "trust-uid", required_argument, NULL, ARG_TRUST_UID },
                { "sim-cmdline", required_argument, NULL, ARG_SIM_CMDLINE },
                { "sim-log-cmdline", required_argument, NULL, ARG_SIM_LOG_CMDLINE },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "acpi-tables", required_argument, NULL, ARG_ACPI_TABLES },
                { "notify-host", required_argument, NULL, ARG_NOTIFY_HOST },
                { "sim-gpu-reload-file", required_argument, NULL, ARG_SIM_GPU_RELOAD_FILE },
                {},
        };
        AgentConfig c = { .source = EVIDENCE_AUTO, .timeout_usec = 60u * 1000000u,
                          .runtime_dir = AGENT_RUNTIME_DIR_DEFAULT };
        AgentPeerPolicy peers = {};
        char vsock_default[32];
        const char *addr = NULL, *notify_addr = NULL, *gpu_reload_file = NULL;
        bool once = false;
        int lfd, opt;

        /* the runtime measurement of a workload: a short-lived command beside the running agent */
        if (argc > 1 && streq(argv[1], "measure-workload"))
                return agent_measure_main(argc - 1, argv + 1);
        (void) secret_init(); /* locked, non-dumpable memory for keys; also PR_SET_DUMPABLE 0 */
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_LISTEN:
                        addr = optarg;
                        break;
                case ARG_ONCE:
                        once = true;
                        break;
                case ARG_EVIDENCE:
                        if (streq(optarg, "auto"))
                                c.source = EVIDENCE_AUTO;
                        else if (streq(optarg, "tsm"))
                                c.source = EVIDENCE_TSM;
                        else if (streq(optarg, "sev-guest"))
                                c.source = EVIDENCE_SEV_GUEST;
                        else {
                                fprintf(stderr, "cvm-agent: --evidence: '%s' is not auto, tsm or sev-guest\n", optarg);
                                return 2;
                        }
                        break;
                case ARG_SIMULATE:
                        if (!streq(optarg, "snp") && !streq(optarg, "tdx")) {
                                fprintf(stderr, "cvm-agent: --simulate: '%s' is not snp or tdx\n", optarg);
                                return 2;
                        }
                        c.source = streq(optarg, "tdx") ? EVIDENCE_SIM_TDX : EVIDENCE_SIM_SNP;
                        break;
                case ARG_SIM_DIR:
                        c.sim_dir = optarg;
                        break;
                case ARG_SIM_HOST_DATA:
                        if (hex_decode_exact(optarg, c.sim_host_data, 32) < 0) {
                                fprintf(stderr, "cvm-agent: --sim-host-data: expected 32 bytes of hex\n");
                                return 2;
                        }
                        break;
                case ARG_SIM_MRCONFIGID:
                        if (hex_decode_exact(optarg, c.sim_mrconfigid, 48) < 0) {
                                fprintf(stderr, "cvm-agent: --sim-mrconfigid: expected 48 bytes of hex\n");
                                return 2;
                        }
                        break;
                case ARG_SIM_DIGEST_FILE:
                        c.sim_launch_digest_file = optarg;
                        break;
                case ARG_SIM_GPUS:
                        c.sim_gpu_dir = optarg;
                        break;
                case ARG_SIM_CMDLINE:
                case ARG_SIM_LOG_CMDLINE:
                        /* printable ASCII: the simulated firmware logs it as UTF-16 */
                        for (const char *p = optarg; *p; p++)
                                if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e) {
                                        fprintf(stderr, "cvm-agent: --%s: printable ASCII only\n",
                                                opt == ARG_SIM_CMDLINE ? "sim-cmdline" : "sim-log-cmdline");
                                        return 2;
                                }
                        if (opt == ARG_SIM_CMDLINE)
                                c.sim_cmdline = optarg;
                        else
                                c.sim_log_cmdline = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        c.runtime_dir = optarg;
                        break;
                case ARG_ACPI_TABLES:
                        c.acpi_dir = optarg;
                        break;
                case ARG_NOTIFY_HOST:
                        notify_addr = optarg;
                        break;
                case ARG_SIM_GPU_RELOAD_FILE:
                        gpu_reload_file = optarg;
                        break;
                case ARG_KEYS_DIR:
                        c.keys_dir = optarg;
                        break;
                case ARG_KEYRING_USER:
                        c.keyring_user = optarg;
                        break;
                case ARG_ALLOW_SWAP:
                        c.allow_swap = true;
                        break;
                case ARG_SWAPS_FILE:
                        c.swaps_path = optarg;
                        break;
                case ARG_VM_UUID:
                        if (uuid_parse(optarg, c.vm_uuid) < 0) {
                                fprintf(stderr, "cvm-agent: --vm-uuid: '%s' is not a UUID\n", optarg);
                                return 2;
                        }
                        c.has_vm_uuid = true;
                        break;
                case ARG_TRUST_UID: {
                        char *end;
                        unsigned long uid;
                        errno = 0;
                        uid = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end || end == optarg || uid >= (uid_t) -1) {
                                fprintf(stderr, "cvm-agent: --trust-uid: '%s' is not a numeric uid\n", optarg);
                                return 2;
                        }
                        if (peers.n_trust_uids == AGENT_TRUST_UIDS_MAX) {
                                fprintf(stderr, "cvm-agent: --trust-uid: at most %u\n", AGENT_TRUST_UIDS_MAX);
                                return 2;
                        }
                        peers.trust_uids[peers.n_trust_uids++] = (uid_t) uid;
                        break;
                }
                case ARG_TIMEOUT: {
                        char *end;
                        unsigned long sec = strtoul(optarg, &end, 10);
                        if (*end || sec == 0 || sec > 3600) {
                                fprintf(stderr, "cvm-agent: --timeout: expected 1..3600 seconds\n");
                                return 2;
                        }
                        c.timeout_usec = sec * 1000000u;
                        break;
                }
                default:
                        fprintf(stderr, "Try 'cvm-agent --help'.\n");
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "cvm-agent: unexpected argument '%s'\nTry 'cvm-agent --help'.\n", argv[optind]);
                return 2;
        }
        if ((c.source == EVIDENCE_SIM_SNP || c.source == EVIDENCE_SIM_TDX) && !c.sim_dir) {
                fprintf(stderr, "cvm-agent: --simulate needs --sim-dir\n");
                return 2;
        }
        if (!c.keys_dir && !c.keyring_user) {
                fprintf(stderr, "cvm-agent: give --keys-dir and/or --keyring-user: where the keys go\n");
                return 2;
        }
        if (peers.n_trust_uids == 0) /* by default: root and whoever runs the agent */
                peers.trust_uids[peers.n_trust_uids++] = getuid();
        if (!addr) {
                snprintf(vsock_default, sizeof(vsock_default), "vsock:%u", DEFAULT_VSOCK_PORT);
                addr = vsock_default;
        }
        {
                ChannelAddr a;
                lfd = channel_addr_parse(addr, true, &a) < 0 ? -EINVAL : channel_listen(&a);
        }
        if (lfd < 0) {
                fprintf(stderr, "cvm-agent: cannot listen on %s: %s\n", addr, strerror(-lfd));
                return 1;
        }
        fprintf(stderr, "cvm-agent: listening on %s\n", addr);
        agent_notify_listening(addr);
        if (start_gpu_watch(addr, notify_addr, gpu_reload_file) < 0)
                return 2;
        /* One connection at a time, each bounded by the per-message deadlines: a peer that
         * stalls holds the agent at most that long, then the next connection is served. */
        for (;;) {
                _cleanup_free_ char *reason = NULL;
                bool concluded = false;
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), r;

                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        fprintf(stderr, "cvm-agent: accept: %m\n");
                        return 1;
                }
                r = agent_peer_check(fd, &peers, &reason);
                if (r < 0) {
                        close(fd);
                        fprintf(stderr, "cvm-agent: %s\n", reason ? reason : "refused a peer");
                        continue;
                }
                r = agent_session_serve(&c, fd, &concluded, &reason);
                close(fd);
                if (r < 0 && !concluded && (r == -EACCES || r == -EPERM))
                        fprintf(stderr, "cvm-agent: refused a peer: %s\n", reason ? reason : strerror(-r));
                else if (r < 0 && !concluded)
                        fprintf(stderr, "cvm-agent: exchange ended before the host decided: %s\n",
                                reason ? reason : strerror(-r));
                else if (r < 0)
                        fprintf(stderr, "cvm-agent: exchange failed: %s\n", reason ? reason : strerror(-r));
                else
                        fprintf(stderr, "cvm-agent: keys received, installed and confirmed%s\n",
                                r == 0 ? "" : c.sim_gpu_dir ? "; GPUs ready (simulated)" : "; GPUs ready for work");
                agent_notify_exchange(r, concluded, reason);
                /* --once ends with the first exchange the host that launched us decided, never
                 * with a stranger's (anyone who connects first would stop the agent), nor with one
                 * that broke on the way (the host tries again) */
                if (once && concluded)
                        return r < 0 ? 1 : 0;
        }
}
