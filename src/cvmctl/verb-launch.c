/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl launch: the attestation-gated launch, in-process, on the launch engine (the same plan,
 * key release and phases cvmd runs for every Launch() call). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "collateral-args.h"
#include "cvm/keystore.h"
#include "cvm/launch-run.h"
#include "cvm/util.h"
#include "cvm/verdict.h"
#include "plan-args.h"

static void help(void) {
        printf("Usage: cvmctl launch SPEC [--wait] [--json]\n"
               "       cvmctl launch SPEC --connect URI --policy FILE [OPTIONS]\n"
               "\n"
               "Without --connect, hands the spec to cvmd (Launch over D-Bus) and with --wait follows\n"
               "the VM's states live on stderr (booting, attesting, releasing, ...), ending with a line\n"
               "on stdout: exit 0 running, 1 failed or quarantined, 2 a spec cvmd refuses as invalid.\n"
               "  --wait                  wait until the VM is running, failed, quarantined or stopped\n"
               "\n"
               "With --connect, runs the launch in-process:\n"
               "Launches a confidential VM and releases its data keys only after its evidence is\n"
               "verified: validates the spec, probes the host, places the VM on NUMA cells near its GPUs,\n"
               "renders and creates the libvirt domain, waits for the guest agent, runs the attestation\n"
               "exchange (evidence bound to a fresh nonce, HOST_DATA/MRCONFIGID bound to the launch\n"
               "digest), and releases the spec's keys. Any failure destroys the domain; nothing is released.\n"
               "(cvmd runs these same steps for every launch it is handed.)\n"
               "\n"
               "Options:\n"
               "  --connect URI           libvirt connection (test:///default for development)\n"
               "  --policy FILE           policy file (required)\n"
               "  --keys-dir DIR          wrapped keys (default $CVMD_KEYS_DIR or /var/lib/cvmd/keys)\n"
               "  --collateral DIR        TDX: Intel collateral for the appraisal (cvmctl verify tdx shape),\n"
               "                          instead of the collateral cache and Intel PCS\n"
               COLLATERAL_ARGS_HELP
               "  --gpu-golden FILE       golden GPU measurements for the spec's GPUs (JSON list)\n"
               "  --token-key FILE        EC P-256 private key (PEM) that signs the result token\n"
               "                          (default: a fresh key for this launch)\n"
               "  --releaser-key FILE     X25519 private key (32 raw bytes, mode 0600) bound into the\n"
               "                          launch digest; only its holder can release keys to the guest\n"
               "                          (default: a fresh key for this launch)\n"
               "  --channel ADDR          where the agent listens: unix:PATH, or vsock:CID:PORT\n"
               "                          (default vsock:<the domain's CID>:%u)\n"
               "  --evidence snp|tdx      for \"tee\": \"none\" (development): the simulated evidence to ask for\n"
               "  --boot-timeout SEC      how long to wait for the agent (default 120)\n"
               "  --timeout SEC           how long to wait for each message of the exchange (default 30)\n" PLAN_ARGS_HELP
               "  --json                  one JSON object on stdout\n"
               "  -h --help               this help\n"
               "\n"
               "Exit status: 0 running with its keys, 1 refused or failed (the domain destroyed),\n"
               "2 usage error or unreadable input.\n",
               LAUNCH_AGENT_PORT);
}

static void on_event(const LifecycleEvent *e, void *userdata) {
        if (e->cvmd_domain)
                fprintf(stderr, "cvmctl: domain '%s' %s\n", e->name, lifecycle_event_to_string(e->kind));
}

static void on_phase(LaunchRun *run, LaunchPhase previous, void *userdata) {
        const LaunchRunState *st = launch_run_state(run);

        if (st->phase == LAUNCH_BOOTING)
                fprintf(stderr, "cvmctl: domain '%s' created (launch digest %.16s...); waiting for its agent\n",
                        st->domain, st->plan->launch_digest_hex);
        else if (st->phase == LAUNCH_ATTESTING)
                fprintf(stderr, "cvmctl: agent connected; challenging the guest\n");
}

/* Without --connect the launch is cvmd's (verb-vm.c); --help shows both forms. */
static bool wants_in_process(int argc, char *argv[]) {
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
                if (streq(argv[i], "--connect") || strncmp(argv[i], "--connect=", 10) == 0 || streq(argv[i], "--help") ||
                    streq(argv[i], "-h"))
                        return true;
        return false;
}

enum { ARG_CONNECT = 0x100, ARG_POLICY, ARG_KEYS_DIR, ARG_CHANNEL, ARG_EVIDENCE, ARG_BOOT, ARG_TIMEOUT, ARG_JSON,
       ARG_GPU_GOLDEN, ARG_COLLATERAL, ARG_TOKEN_KEY, ARG_RELEASER_KEY };

typedef struct LaunchArgs {
        const char *connect_uri, *keys_dir;
        KeyReleasePaths paths;
        CollateralConfig host_collateral;
        int64_t at;
        LaunchRunConfig *run;
        bool json;
} LaunchArgs;

static int launch_option(void *args, int c, const char *arg) {
        LaunchArgs *a = args;
        uint64_t sec;

        switch (c) {
        case ARG_CONNECT:
                a->connect_uri = arg;
                break;
        case ARG_POLICY:
                a->paths.policy = arg;
                break;
        case ARG_KEYS_DIR:
                a->keys_dir = arg;
                break;
        case ARG_CHANNEL:
                if (channel_addr_parse(arg, false, &a->run->agent) < 0)
                        return cli_usage_error("--channel: '%s' is not unix:PATH or vsock:CID:PORT", arg);
                break;
        case ARG_EVIDENCE:
                if (!streq(arg, "snp") && !streq(arg, "tdx"))
                        return cli_usage_error("--evidence: '%s' is not snp or tdx", arg);
                a->run->dev_evidence = streq(arg, "snp") ? CVM_TEE_SEV_SNP : CVM_TEE_TDX;
                break;
        case ARG_BOOT:
        case ARG_TIMEOUT:
                if (cli_parse_uint(c == ARG_BOOT ? "--boot-timeout" : "--timeout", arg, 1, 3600, &sec) != 0)
                        return EXIT_USAGE;
                *(c == ARG_BOOT ? &a->run->boot_usec : &a->run->message_usec) = sec * 1000000u;
                break;
        case ARG_JSON:
                a->json = true;
                break;
        case ARG_GPU_GOLDEN:
                a->paths.gpu_golden = arg;
                break;
        case ARG_COLLATERAL:
                a->paths.collateral = arg;
                break;
        case ARG_TOKEN_KEY:
                a->paths.token_key = arg;
                break;
        case ARG_RELEASER_KEY:
                a->paths.releaser_key = arg;
                break;
        default: {
                int r = collateral_args_option(&a->host_collateral, &a->at, c, arg);
                return r == 1 ? 0 : r;
        }
        }
        return 0;
}

static int launch_in_process(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "connect", required_argument, NULL, ARG_CONNECT },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "keys-dir", required_argument, NULL, ARG_KEYS_DIR },
                { "channel", required_argument, NULL, ARG_CHANNEL },
                { "evidence", required_argument, NULL, ARG_EVIDENCE },
                { "boot-timeout", required_argument, NULL, ARG_BOOT },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "json", no_argument, NULL, ARG_JSON },
                { "gpu-golden", required_argument, NULL, ARG_GPU_GOLDEN },
                { "collateral", required_argument, NULL, ARG_COLLATERAL },
                { "token-key", required_argument, NULL, ARG_TOKEN_KEY },
                { "releaser-key", required_argument, NULL, ARG_RELEASER_KEY },
                PLAN_ARGS_OPTIONS,
                COLLATERAL_ARGS_OPTIONS,
                {},
        };
        _cleanup_(plan_args_done) PlanArgs pa;
        _cleanup_(launch_spec_freep) LaunchSpec *spec = NULL;
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        _cleanup_(key_release_done) KeyRelease kr = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(launch_run_freep) LaunchRun *run = NULL;
        _cleanup_(worker_freep) Worker *worker = NULL; /* freed first: no job runs for a freed run */
        _cleanup_(collateral_freep) Collateral *collateral = NULL; /* its fetch thread, before the loop */
        _cleanup_free_ char *reason = NULL;
        static NonceStore nonces;
        const LaunchRunState *st;
        LaunchRunConfig rc_config = { .dev_evidence = CVM_TEE_SEV_SNP, .phase_changed = on_phase };
        LaunchArgs a = { .run = &rc_config };
        const CliParser p = { .options = options, .help = help, .verb = "launch", .shared = plan_args_option,
                              .shared_args = &pa, .own = launch_option, .args = &a };
        const char *connect_uri;
        int r, rc;

        plan_args_init(&pa);
        collateral_args_init(&a.host_collateral);
        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        connect_uri = a.connect_uri;
        if (optind + 1 != argc)
                return cli_usage_error(optind >= argc ? "launch: missing SPEC" : "launch: one SPEC only");
        if (!connect_uri || !a.paths.policy)
                return cli_usage_error("launch needs --connect and --policy");
        if ((r = plan_args_finish(&pa)) != 0)
                return r;

        (void) secret_init();
        if (launch_spec_load(argv[optind], &spec, &reason) < 0)
                return cli_error(EXIT_USAGE, "%s: %s", argv[optind], reason ? reason : "invalid launch spec");
        r = key_release_load(&kr, &a.paths, &reason);
        if (r < 0)
                return cli_error(r == -ENOMEM ? EXIT_REJECTED : EXIT_USAGE, "%s", reason ? reason : "out of memory");
        /* "tee": "none" runs with no hardware protection at all: only a policy that says so. */
        if (launch_spec_is_development(spec) && !kr.appraise.policy->allow_development)
                return cli_error(EXIT_REJECTED, "the spec has \"tee\": \"none\" and the policy does not allow development "
                                 "launches (\"allow_development\": true)");
        key_release_set_keys(&kr, a.keys_dir, spec->key_ids, spec->n_key_ids);

        fprintf(stderr, "cvmctl: probing the host through %s\n", connect_uri);
        if (lifecycle_open(connect_uri, on_event, NULL, &l, &reason) < 0)
                return cli_error(EXIT_REJECTED, "host: %s", reason ? reason : "libvirt failed");
        /* the engine's run, on a loop of our own: the same phases cvmd runs for every launch */
        if (sd_event_new(&e) < 0 || worker_new(e, &worker) < 0)
                return cli_error(EXIT_REJECTED, "cannot start the event loop");
        /* the host's collateral as cvmd has it: fetched off the loop, the exchange tried again
         * once it is in (collateral.h) */
        r = collateral_new_event(&a.host_collateral, e, &collateral);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot set up the collateral cache: %s", strerror(-r));
        kr.appraise.collateral = collateral;
        /* GPUs: RIMs and OCSP from the same cache, fetched by the host-wide provider off the loop (the appraisal waits for them) */
        if (key_release_set_gpu_fetch(&kr, collateral, a.host_collateral.nvidia_rim_url,
                                      a.host_collateral.nvidia_ocsp_url) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        kr.appraise.at = a.at;
        rc_config.event = e;
        rc_config.worker = worker;
        rc_config.lifecycle = l;
        rc_config.spec = spec;
        rc_config.plan = pa.o;
        rc_config.kr = &kr;
        rc_config.nonces = &nonces;
        if (launch_run_new(&rc_config, &run) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        launch_run_start(run);
        while (!launch_run_is_final(run))
                if (sd_event_run(e, UINT64_MAX) < 0)
                        return cli_error(EXIT_REJECTED, "the event loop failed");
        st = launch_run_state(run);
        rc = st->phase == LAUNCH_RUNNING ? EXIT_ACCEPTED : EXIT_REJECTED;
        if (rc == EXIT_ACCEPTED)
                fprintf(stderr, "cvmctl: evidence accepted, %zu key(s) released and confirmed; '%s' is running\n",
                        spec->n_key_ids, st->domain);
        else
                (void) cli_error(EXIT_REJECTED, "%s%s%s%s", st->reason ? st->reason : "failed",
                                 st->domain ? "; domain '" : "", st->domain ? st->domain : "",
                                 st->domain ? "' destroyed" : "");

        if (a.json) {
                _cleanup_(json_object_putp) json_object *o = launch_run_to_json(run);
                if (!o || cli_print_json(o, true) < 0)
                        rc = EXIT_REJECTED;
        } else {
                verdict_print(&st->result.verdict, stdout);
                printf("\nDomain:         %s (%s)\nKeys released:  %s\n", st->domain ? st->domain : "-",
                       rc == EXIT_ACCEPTED ? "running" : "destroyed", rc == EXIT_ACCEPTED ? "yes, confirmed" : "no");
        }
        return rc;
}

int verb_launch(int argc, char *argv[]) {
        return wants_in_process(argc, argv) ? launch_in_process(argc, argv) : verb_launch_bus(argc, argv);
}
