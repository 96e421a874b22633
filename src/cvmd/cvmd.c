/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd: the attestation-gated launcher daemon. One sd-event loop answers D-Bus, drives every
 * launch's exchange and its timers; libvirt runs on the worker thread. README.md, cvmd(8). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "cvm/collateral.h"
#include "cvm/cvmd-config.h"
#include "cvm/http-listener.h"
#include "cvm/pcs.h"
#include "cvm/secret.h"
#include "cvm/util.h"
#include "cvm/xml-quiet.h"
#include "cvmd-internal.h"

#ifndef CVMD_VERSION
#define CVMD_VERSION "0.1.0"
#endif

static void help(void) {
        printf("Usage: cvmd [OPTIONS]\n"
               "\n"
               "The attestation-gated launcher for confidential VMs: org.cvmd.Manager1 on the system bus\n"
               "(DBUS_SYSTEM_BUS_ADDRESS honoured). Configuration: CONFIG_DIR/cvmd.conf and cvmd.conf.d/*.conf.\n"
               "\n"
               "  --config-dir DIR        configuration directory (default " CVMD_CONFIG_DIR_DEFAULT ")\n"
               "Development (libvirt's test driver and the simulator; never on a production host):\n"
               "  --host-caps FILE        host facts from 'virsh capabilities' output instead of the live probe\n"
               "  --domcaps FILE          with --host-caps: 'virsh domcapabilities' output\n"
               "  --domain-type TYPE      kvm (default) or test\n"
               "  --agent-socket-dir DIR  the agent of VM NAME listens at unix:DIR/NAME.sock, not on vsock\n"
               "  --dev-evidence snp|tdx  for \"tee\": \"none\" specs: the simulated evidence to ask for\n"
               "  --gpu BDF@CELL          with --host-caps: a host GPU and its NUMA node; repeatable\n"
               "  --gpu-golden FILE       golden GPU measurements (JSON list) for every launch's GPUs\n"
               "  -h --help               this help\n"
               "  --version               the version\n"
               "\n"
               "Exit status: 0 after SIGTERM or SIGINT, 1 on a runtime failure, 2 on a bad option or an\n"
               "invalid configuration (the message names the file, line and key).\n");
}

typedef struct Args {
        const char *config_dir;
        const char *host_caps, *domcaps, *domain_type, *agent_socket_dir, *gpu_golden;
        CvmTee dev_evidence;
        LaunchGpuLocation gpus[LAUNCH_SPEC_GPUS_MAX];
        size_t n_gpus;
} Args;

static int parse_args(int argc, char *argv[], Args *a) {
        enum { ARG_CONFIG_DIR = 0x100, ARG_HOST_CAPS, ARG_DOMCAPS, ARG_TYPE, ARG_AGENT_DIR, ARG_DEV_EVIDENCE, ARG_VERSION,
               ARG_GPU, ARG_GPU_GOLDEN };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
                { "host-caps", required_argument, NULL, ARG_HOST_CAPS },
                { "domcaps", required_argument, NULL, ARG_DOMCAPS },
                { "domain-type", required_argument, NULL, ARG_TYPE },
                { "agent-socket-dir", required_argument, NULL, ARG_AGENT_DIR },
                { "dev-evidence", required_argument, NULL, ARG_DEV_EVIDENCE },
                { "gpu", required_argument, NULL, ARG_GPU },
                { "gpu-golden", required_argument, NULL, ARG_GPU_GOLDEN },
                {},
        };
        int c;

        *a = (Args) { .config_dir = CVMD_CONFIG_DIR_DEFAULT, .domain_type = "kvm", .dev_evidence = CVM_TEE_SEV_SNP };
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("cvmd %s\n", CVMD_VERSION);
                        return 0;
                case ARG_CONFIG_DIR:
                        a->config_dir = optarg;
                        break;
                case ARG_HOST_CAPS:
                        a->host_caps = optarg;
                        break;
                case ARG_DOMCAPS:
                        a->domcaps = optarg;
                        break;
                case ARG_TYPE:
                        if (!streq(optarg, "kvm") && !streq(optarg, "test"))
                                goto usage;
                        a->domain_type = optarg;
                        break;
                case ARG_AGENT_DIR:
                        if (optarg[0] != '/')
                                goto usage;
                        a->agent_socket_dir = optarg;
                        break;
                case ARG_DEV_EVIDENCE:
                        if (!streq(optarg, "snp") && !streq(optarg, "tdx"))
                                goto usage;
                        a->dev_evidence = streq(optarg, "snp") ? CVM_TEE_SEV_SNP : CVM_TEE_TDX;
                        break;
                case ARG_GPU:
                        if (a->n_gpus >= ELEMENTSOF(a->gpus) || launch_gpu_location_parse(optarg, &a->gpus[a->n_gpus]) < 0)
                                goto usage;
                        a->n_gpus++;
                        break;
                case ARG_GPU_GOLDEN:
                        a->gpu_golden = optarg;
                        break;
                default:
                        goto usage;
                }
        if (optind < argc || !a->host_caps != !a->domcaps || (a->n_gpus && !a->host_caps))
                goto usage;
        return 1;
usage:
        fprintf(stderr, "cvmd: invalid arguments%s%s\nTry 'cvmd --help'.\n", optind > 1 ? " near " : "",
                optind > 1 ? argv[optind - 1] : "");
        return -EINVAL;
}

static int read_text(const char *path, char **ret, size_t *ret_size) {
        uint8_t *data;
        int r = read_file_bounded(path, CVM_INPUT_MAX, &data, ret_size);

        if (r < 0)
                return r;
        *ret = (char *) data;
        return 0;
}

static void on_recovered(int r, void *userdata) {
        Manager *m = userdata;

        if (r < 0) {
                sd_event_exit(m->event, 1);
                return;
        }
        cvmd_log(LOG_INFO, NULL, "ready: %zu VM(s) recovered", m->n_vms);
        (void) sd_notify(0, "READY=1");
}

static void on_libvirt(int r, void *userdata) {
        Manager *m = userdata;

        if (r < 0) {
                /* without libvirt no launch can run: fail, and let systemd restart us */
                sd_event_exit(m->event, 1);
                return;
        }
        cvmd_log(LOG_INFO, NULL, "connected to %s", m->settings.libvirt_uri);
        if (manager_recover(m, on_recovered, m) < 0)
                sd_event_exit(m->event, 1);
}

/* Each collateral fetch's outcome (on the loop): the journal and the failure counter. */
static void on_collateral_fetched(void *userdata, const char *item, int error, const char *reason) {
        Manager *m = *(Manager **) userdata;

        if (error >= 0) {
                cvmd_log(LOG_INFO, NULL, "collateral %s fetched into the cache", item);
                return;
        }
        cvmd_log(LOG_WARNING, NULL, "collateral %s: %s", item, reason ? reason : strerror(-error));
        if (m && m->metrics) {
                const char *vendor = collateral_item_vendor(item);
                (void) metrics_count_collateral_failure(m->metrics, vendor ? vendor : "unknown");
        }
}

/* The host's collateral provider for every launch's appraisal: its fetches run on a thread of
 * their own, never on the loop (collateral.h). */
static int make_collateral(const CvmdConfig *cfg, sd_event *e, Manager **m, Collateral **ret) {
        CollateralConfig c = {
                .cache_dir = cfg->collateral_cache_directory,
                .kds_url = cfg->kds_url,
                .pcs_url = cfg->pccs_url,
                .pccs = !streq(cfg->pccs_url, PCS_DEFAULT_URL),
                .nvidia_rim_url = cfg->nvidia_rim_url,
                .nvidia_ocsp_url = cfg->nvidia_ocsp_url,
                .offline = cfg->collateral_offline,
                .timeout_sec = cfg->collateral_timeout_sec,
                .refresh_sec = cfg->collateral_refresh_sec ? (int64_t) cfg->collateral_refresh_sec : -1,
                .fetched = on_collateral_fetched,
                .userdata = m,
        };

        return collateral_new_event(&c, e, ret);
}

/* The result tokens' signing key is rotated when due; the JWKS keeps the old one for the
 * tokens' lifetime. Checked hourly. */
static int on_rotate(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *reason = NULL;
        int r = token_keys_rotate_if_due(m->token_keys, (int64_t) time(NULL), &reason);

        if (r < 0)
                cvmd_log(LOG_ERR, NULL, "token signing key rotation failed: %s", reason ? reason : strerror(-r));
        else if (r > 0)
                cvmd_log(LOG_INFO, NULL, "token signing key rotated");
        (void) sd_event_source_set_time_relative(s, 3600u * 1000000u);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *reason = NULL;

        if (manager_reload_policies(m, &reason) < 0)
                cvmd_log(LOG_ERR, NULL, "SIGHUP: policies not reloaded, the old set stays: %s", reason ? reason : "failed");
        else
                cvmd_log(LOG_INFO, NULL, "SIGHUP: policies reloaded");
        return 0;
}

/* /metrics and the JWKS, on libmicrohttpd's own thread: the loop never waits for a scraper. */
static int start_http(const CvmdConfig *cfg, Manager *m, HttpListener **ret) {
        _cleanup_free_ char *reason = NULL;
        char host[NI_MAXHOST], port[NI_MAXSERV];
        HttpListenerSettings hs = { .metrics = m->metrics, .token_keys = m->token_keys };
        int r;

        r = getnameinfo((const struct sockaddr *) &cfg->http_listen.sockaddr, cfg->http_listen.sockaddr_len, host,
                        sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
        if (r != 0)
                return -EINVAL;
        hs.address = host;
        hs.port = (uint16_t) atoi(port);
        r = http_listener_start(&hs, ret, &reason);
        if (r < 0) {
                fprintf(stderr, "cvmd: HTTP listener %s: %s\n", cfg->http_listen.address, reason ? reason : strerror(-r));
                return r;
        }
        cvmd_log(LOG_INFO, NULL, "metrics at http://%s/metrics, token keys at http://%s/.well-known/jwks.json",
                 cfg->http_listen.address, cfg->http_listen.address);
        return 0;
}

/* CVMD_TEST_STALL_LIBVIRT=NAME:SECONDS, for tests only (cvmd(8)): VM NAME's create job hangs on
 * its worker, as a stalled libvirtd would. Unset: nothing. */
static int test_stall_from_env(char **ret_vm, unsigned *ret_sec) {
        const char *v = getenv("CVMD_TEST_STALL_LIBVIRT"), *colon;
        unsigned long sec;
        char *end;

        *ret_vm = NULL;
        *ret_sec = 0;
        if (!v || !*v)
                return 0;
        colon = strrchr(v, ':');
        if (!colon || colon == v)
                return -EINVAL;
        errno = 0;
        sec = strtoul(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || sec < 1 || sec > 600)
                return -EINVAL;
        *ret_vm = strndup(v, (size_t) (colon - v));
        if (!*ret_vm)
                return -ENOMEM;
        *ret_sec = (unsigned) sec;
        cvmd_log(LOG_WARNING, NULL, "CVMD_TEST_STALL_LIBVIRT: the create job of VM '%s' hangs %lu s (tests only)",
                 *ret_vm, sec);
        return 0;
}

static int run(const Args *a) {
        _cleanup_(cvmd_config_freep) CvmdConfig *cfg = NULL;
        _cleanup_(cvmd_config_warnings_freep) char **warnings = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(nv_golden_freep) NvGolden *golden = NULL; /* freed after the manager that uses it */
        _cleanup_(collateral_freep) Collateral *collateral = NULL; /* likewise */
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(http_listener_freep) HttpListener *http = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *rotate = NULL;
        _cleanup_free_ char *reason = NULL, *caps = NULL, *domcaps = NULL, *stall_vm = NULL;
        ManagerSettings s;
        int r;

        r = cvmd_config_load(a->config_dir, &cfg, &reason, &warnings);
        if (r < 0) {
                fprintf(stderr, "cvmd: %s\n", reason ? reason : strerror(-r));
                return 2;
        }
        for (char **w = warnings; w && *w; w++)
                cvmd_log(LOG_WARNING, NULL, "%s", *w);
        s = (ManagerSettings) {
                .libvirt_uri = cfg->libvirt_uri,
                .keys_dir = cfg->keys_directory,
                .policies_dir = cfg->policies_directory,
                .state_dir = cfg->state_directory,
                .domain_type = a->domain_type,
                .agent_socket_dir = a->agent_socket_dir,
                .dev_evidence = a->dev_evidence,
                .vsock_port = cfg->vsock_port,
                .boot_usec = (uint64_t) cfg->boot_timeout_sec * 1000000u,
                .message_usec = (uint64_t) cfg->attest_timeout_sec * 1000000u,
                .max_vms = cfg->max_vms,
                .max_launches = cfg->max_concurrent_launches,
                .token_lifetime_sec = cfg->token_lifetime_sec,
                .token_rotate_sec = cfg->token_rotate_sec,
        };
        r = test_stall_from_env(&stall_vm, &s.test_stall_sec);
        if (r < 0) {
                fprintf(stderr, "cvmd: CVMD_TEST_STALL_LIBVIRT: want NAME:SECONDS (1 to 600)\n");
                return 2;
        }
        s.test_stall_vm = stall_vm;
        if (a->host_caps) {
                if ((r = read_text(a->host_caps, &caps, &s.host_caps_size)) < 0 ||
                    (r = read_text(a->domcaps, &domcaps, &s.domcaps_size)) < 0) {
                        fprintf(stderr, "cvmd: cannot read %s: %s\n", caps ? a->domcaps : a->host_caps, strerror(-r));
                        return 2;
                }
                s.host_caps_xml = caps;
                s.domcaps_xml = domcaps;
                s.gpus = a->gpus;
                s.n_gpus = a->n_gpus;
        }
        if (a->gpu_golden && (r = key_release_load_golden(a->gpu_golden, &golden, &reason)) < 0) {
                fprintf(stderr, "cvmd: %s\n", reason ? reason : strerror(-r));
                return 2;
        }
        s.gpu_golden = golden;

        (void) secret_init();
        if ((r = sd_event_default(&e)) < 0)
                goto fail;
        r = make_collateral(cfg, e, &m, &collateral);
        if (r < 0) {
                fprintf(stderr, "cvmd: cannot set up the collateral cache %s: %s\n", cfg->collateral_cache_directory,
                        strerror(-r));
                return 1;
        }
        s.collateral = collateral;
        s.nvidia_rim_url = cfg->nvidia_rim_url;
        s.nvidia_ocsp_url = cfg->nvidia_ocsp_url;
        if ((r = manager_new(e, &s, &m)) < 0)
                goto fail;
        r = manager_reload_policies(m, &reason);
        if (r < 0) {
                fprintf(stderr, "cvmd: %s\n", reason ? reason : strerror(-r));
                return 2;
        }
        if (cfg->http_listen.enabled && (r = start_http(cfg, m, &http)) < 0)
                return 1;
        if ((r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(e, NULL, SIGHUP, on_hup, m)) < 0 ||
            (r = sd_event_set_watchdog(e, true)) < 0 ||
            (r = sd_event_add_time_relative(e, &rotate, CLOCK_MONOTONIC, 3600u * 1000000u, 0, on_rotate, m)) < 0)
                goto fail;
        if ((r = sd_bus_open_system(&bus)) < 0) {
                fprintf(stderr, "cvmd: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }
        if ((r = bus_attach(m, bus)) < 0) {
                fprintf(stderr, "cvmd: cannot take the name org.cvmd on the bus: %s\n", strerror(-r));
                return 1;
        }
        if ((r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL)) < 0 ||
            (r = manager_connect_libvirt(m, on_libvirt, m)) < 0)
                goto fail;
        /* the guests' GPU driver reload hints, on the port beside the agents' (cvmd(8)) */
        if (s.vsock_port < 65535 && (r = manager_gpu_reload_listen(m, s.vsock_port + 1)) < 0)
                cvmd_log(LOG_WARNING, NULL, "no GPU driver reload hints: cannot listen on vsock port %u: %s",
                         s.vsock_port + 1, strerror(-r));
        r = sd_event_loop(e);
        (void) sd_notify(0, "STOPPING=1");
        return r == 0 ? 0 : 1;
fail:
        fprintf(stderr, "cvmd: %s\n", strerror(-r));
        return 1;
}

int main(int argc, char *argv[]) {
        Args a;
        int r;

        sigset_t mask;

        /* keys pass through cvmd: no core dumps, ever */
        (void) prctl(PR_SET_DUMPABLE, 0);
        xml_quiet_errors();
        /* blocked before any thread exists (the worker, libmicrohttpd's): the threads inherit the
         * mask, so the signals reach the event loop's signalfd and nothing else */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = parse_args(argc, argv, &a);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        return run(&a);
}
