/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl launch: the attestation-gated launch, in-process. These are the steps cvmd takes for
 * every Launch() call (ARCHITECTURE.md §2); until the daemon exists, cvmctl runs them itself
 * against a libvirt connection: spec, host probe, placement, domain XML, create, attestation
 * exchange with the guest's agent, keys released only on acceptance, and the domain destroyed
 * on any failure. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "cvm/appraise.h"
#include "cvm/channel-addr.h"
#include "cvm/crypto.h"
#include "cvm/domain-xml.h"
#include "cvm/exchange.h"
#include "cvm/gpu.h"
#include "cvm/host-probe.h"
#include "cvm/kek.h"
#include "cvm/keystore.h"
#include "cvm/launch-spec.h"
#include "cvm/lifecycle.h"
#include "cvm/placement.h"
#include "cvm/policy.h"
#include "cvm/token.h"
#include "cvm/util.h"

#define AGENT_PORT 4050u

static void help(void) {
        printf("Usage: cvmctl launch SPEC --connect URI --policy FILE [OPTIONS]\n"
               "\n"
               "Launches a confidential VM and releases its data keys only after its evidence is\n"
               "verified: validates the spec, probes the host, places the VM on NUMA cells near its GPUs,\n"
               "renders and creates the libvirt domain, waits for the guest agent, runs the attestation\n"
               "exchange (evidence bound to a fresh nonce, HOST_DATA/MRCONFIGID bound to the launch\n"
               "digest), and releases the spec's keys. Any failure destroys the domain; nothing is released.\n"
               "(cvmd will run these same steps for every launch; until then cvmctl runs them in-process.)\n"
               "\n"
               "Options:\n"
               "  --connect URI          libvirt connection (test:///default for development)\n"
               "  --policy FILE          policy file (required)\n"
               "  --keys-dir DIR         wrapped keys (default $CVMD_KEYS_DIR or /var/lib/cvmd/keys)\n"
               "  --channel ADDR         where the agent listens: unix:PATH, or vsock:CID:PORT\n"
               "                         (default vsock:<the domain's CID>:%u)\n"
               "  --evidence snp|tdx     for \"tee\": \"none\" (development): the simulated evidence to ask for\n"
               "  --domain-type TYPE     kvm (default) or test (libvirt's test driver)\n"
               "  --boot-timeout SEC     how long to wait for the agent (default 120)\n"
               "  --host-caps FILE       host facts from 'virsh capabilities' output instead of the live\n"
               "  --domcaps FILE         probe (with --domcaps: 'virsh domcapabilities'); for libvirt's\n"
               "                         test driver, which reports no hugepage pools\n"
               "  --gpu-golden FILE      golden GPU measurements for the spec's GPUs (JSON list)\n"
               "  --json                 one JSON object on stdout\n",
               AGENT_PORT);
}

typedef struct LaunchCtx {
        AppraiseConfig appraise;
        const char *keys_dir;
        const LaunchSpec *spec;
} LaunchCtx;

static int appraise(void *userdata, const ExchangeEvidence *e, Verdict *v) {
        return appraise_evidence(&((LaunchCtx *) userdata)->appraise, e, v);
}

static int unwrap_keys(void *userdata, Secret **ret_bundle, char **ret_reason) {
        LaunchCtx *c = userdata;
        _cleanup_(secret_freep) Secret *bundle = NULL;
        int r = key_bundle_new(&bundle);

        if (r < 0)
                return r;
        for (size_t i = 0; i < c->spec->n_key_ids; i++) {
                _cleanup_(secret_freep) Secret *key = NULL;
                _cleanup_free_ char *why = NULL;
                const char *kid = c->spec->key_ids[i];
                KeyEnvelope e = {};

                r = keystore_read(c->keys_dir, kid, &e, &why);
                if (r >= 0) {
                        r = kek_unwrap_envelope(&e, NULL, &key, &why);
                        key_envelope_done(&e);
                }
                if (r >= 0)
                        r = key_bundle_add(&bundle, kid, key);
                if (r < 0)
                        return set_reason(ret_reason, r, "key '%s': %s", kid, why ? why : strerror(-r));
        }
        *ret_bundle = TAKE_PTR(bundle);
        return 0;
}

/* The agent starts with the guest: retry with backoff until it answers or the boot timeout. */
static int connect_agent(const ChannelAddr *a, uint64_t deadline_usec) {
        unsigned delay_ms = 100;

        for (;;) {
                int fd = channel_connect(a);

                if (fd >= 0)
                        return fd;
                if (proto_now_usec() + delay_ms * 1000u >= deadline_usec)
                        return -ETIMEDOUT;
                usleep(delay_ms * 1000u);
                delay_ms = delay_ms < 2000 ? delay_ms * 2 : 2000;
        }
}

/* Fail closed: a guest that was not attested does not keep running. The events are delivered
 * before the caller says why, so the messages come out in the order things happened. */
static void destroy_domain(Lifecycle *l, const char *dom) {
        (void) lifecycle_destroy(l, dom, NULL);
        (void) lifecycle_run(l, 100);
}

static void on_event(const LifecycleEvent *e, void *userdata) {
        if (e->cvmd_domain)
                fprintf(stderr, "cvmctl: domain '%s' %s\n", e->name, lifecycle_event_to_string(e->kind));
}

int verb_launch(int argc, char *argv[]) {
        enum { ARG_CONNECT = 0x100, ARG_POLICY, ARG_KEYS_DIR, ARG_CHANNEL, ARG_EVIDENCE, ARG_TYPE, ARG_BOOT, ARG_JSON,
               ARG_HOST_CAPS, ARG_DOMCAPS, ARG_GPU_GOLDEN };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "connect", required_argument, NULL, ARG_CONNECT },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "keys-dir", required_argument, NULL, ARG_KEYS_DIR },
                { "channel", required_argument, NULL, ARG_CHANNEL },
                { "evidence", required_argument, NULL, ARG_EVIDENCE },
                { "domain-type", required_argument, NULL, ARG_TYPE },
                { "boot-timeout", required_argument, NULL, ARG_BOOT },
                { "json", no_argument, NULL, ARG_JSON },
                { "host-caps", required_argument, NULL, ARG_HOST_CAPS },
                { "domcaps", required_argument, NULL, ARG_DOMCAPS },
                { "gpu-golden", required_argument, NULL, ARG_GPU_GOLDEN },
                {},
        };
        _cleanup_(launch_spec_freep) LaunchSpec *spec = NULL;
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        _cleanup_(host_probe_freep) HostProbe *host = NULL;
        _cleanup_(placement_freep) Placement *p = NULL;
        _cleanup_(placement_ledger_done) PlacementLedger ledger = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *token_key = NULL;
        _cleanup_free_ char *reason = NULL, *xml = NULL, *dom = NULL, *digest_hex = NULL;
        const char *host_caps = NULL, *domcaps = NULL, *connect_uri = NULL, *policy_path = NULL, *keys_dir = NULL, *channel = NULL, *evidence = "sev-snp",
                   *type = "kvm";
        static NonceStore nonces;
        _cleanup_(nv_golden_freep) NvGolden *golden = NULL;
        const char *golden_path = NULL;
        uint64_t boot_usec = 120u * 1000000u;
        LaunchCtx ctx = {};
        ExchangeHost h = { .timeout_usec = 30u * 1000000u, .nonces = &nonces, .nonce_ttl_usec = 120u * 1000000u,
                           .appraise = appraise, .unwrap_keys = unwrap_keys, .userdata = &ctx };
        ExchangeResult res = {};
        DomainXmlOptions xo = {};
        ChannelAddr agent_addr = {};
        PlacementOptions po = { .housekeeping_cores = 1 };
        uint32_t cid = 0;
        bool json = false;
        int c, r, fd, rc;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_ACCEPTED;
                case ARG_CONNECT:
                        connect_uri = optarg;
                        break;
                case ARG_POLICY:
                        policy_path = optarg;
                        break;
                case ARG_KEYS_DIR:
                        keys_dir = optarg;
                        break;
                case ARG_CHANNEL:
                        if (channel_addr_parse(optarg, false, &agent_addr) < 0)
                                return cli_usage_error("--channel: '%s' is not unix:PATH or vsock:CID:PORT", optarg);
                        channel = optarg;
                        break;
                case ARG_EVIDENCE:
                        if (streq(optarg, "snp"))
                                evidence = "sev-snp";
                        else if (streq(optarg, "tdx"))
                                evidence = "tdx";
                        else
                                return cli_usage_error("--evidence: '%s' is not snp or tdx", optarg);
                        break;
                case ARG_TYPE:
                        if (!streq(optarg, "kvm") && !streq(optarg, "test"))
                                return cli_usage_error("--domain-type: expected kvm or test, got '%s'", optarg);
                        type = optarg;
                        break;
                case ARG_BOOT: {
                        char *end;
                        unsigned long sec = strtoul(optarg, &end, 10);
                        if (*end || sec == 0 || sec > 3600)
                                return cli_usage_error("--boot-timeout: expected 1..3600 seconds");
                        boot_usec = sec * 1000000u;
                        break;
                }
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_HOST_CAPS:
                        host_caps = optarg;
                        break;
                case ARG_DOMCAPS:
                        domcaps = optarg;
                        break;
                case ARG_GPU_GOLDEN:
                        golden_path = optarg;
                        break;
                default:
                        return cli_usage_error("launch: invalid option '%s'", argv[optind - 1]);
                }
        if (optind + 1 != argc)
                return cli_usage_error(optind >= argc ? "launch: missing SPEC" : "launch: one SPEC only");
        if (!connect_uri || !policy_path)
                return cli_usage_error("launch needs --connect and --policy");
        if (!host_caps != !domcaps)
                return cli_usage_error("launch: --host-caps and --domcaps go together");

        (void) secret_init();
        if (launch_spec_load(argv[optind], &spec, &reason) < 0)
                return cli_error(EXIT_USAGE, "%s: %s", argv[optind], reason ? reason : "invalid launch spec");
        if (policy_load(policy_path, &policy, &reason) < 0)
                return cli_error(EXIT_USAGE, "%s", reason ? reason : "invalid policy");
        /* "tee": "none" runs with no hardware protection at all: only a policy that says so. */
        if (launch_spec_is_development(spec) && !policy->allow_development)
                return cli_error(EXIT_REJECTED, "the spec has \"tee\": \"none\" and the policy does not allow development "
                                 "launches (\"allow_development\": true)");
        if (token_key_generate(&token_key) < 0)
                return cli_error(EXIT_REJECTED, "cannot make a token key");
        if (golden_path) {
                _cleanup_free_ uint8_t *data = NULL;
                size_t size;

                if (cli_read_file(golden_path, &data, &size) < 0)
                        return EXIT_USAGE;
                r = nv_golden_parse((const char *) data, size, &golden, &reason);
                if (r == -ENOMEM)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (r < 0)
                        return cli_error(EXIT_USAGE, "%s: %s", golden_path, reason ? reason : "invalid golden list");
                ctx.appraise.gpu_golden = golden;
        }

        fprintf(stderr, "cvmctl: probing the host through %s\n", connect_uri);
        if (lifecycle_open(connect_uri, on_event, NULL, &l, &reason) < 0 ||
            lifecycle_rebuild_ledger(l, &ledger, &reason) < 0)
                return cli_error(EXIT_REJECTED, "host: %s", reason ? reason : "libvirt failed");
        if (host_caps) {
                /* Host facts from capability files: libvirt's test driver reports no hugepage
                 * pools, so development launches on it describe the host this way. */
                _cleanup_free_ uint8_t *caps = NULL, *dcaps = NULL;
                size_t caps_size, dcaps_size;

                if (cli_read_file(host_caps, &caps, &caps_size) < 0 || cli_read_file(domcaps, &dcaps, &dcaps_size) < 0)
                        return EXIT_USAGE;
                host = host_probe_new();
                if (!host)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (host_probe_parse_caps(host, (char *) caps, caps_size, &reason) < 0 ||
                    host_probe_parse_domcaps(host, (char *) dcaps, dcaps_size, &reason) < 0)
                        return cli_error(EXIT_USAGE, "capabilities: %s", reason ? reason : "invalid");
        } else if (host_probe_libvirt(lifecycle_connection(l), spec->gpus, spec->n_gpus, NULL, &host, &reason) < 0)
                return cli_error(EXIT_REJECTED, "host: %s", reason ? reason : "libvirt failed");
        r = host_probe_tee_refusal(host, spec->tee, &reason);
        if (r < 0 || reason)
                return cli_error(EXIT_REJECTED, "this host cannot run the spec: %s", reason ? reason : "out of memory");
        if (placement_compute(spec, host, &ledger, &po, &p, &reason) < 0)
                return cli_error(EXIT_REJECTED, "placement refused: %s", reason ? reason : "out of memory");
        if (!spec->vsock_cid && lifecycle_next_vsock_cid(l, &cid, &reason) < 0)
                return cli_error(EXIT_REJECTED, "vsock CID: %s", reason ? reason : "out of memory");
        xo = (DomainXmlOptions) { .domain_type = type, .arch = streq(type, "test") ? "" : NULL,
                                  .machine = streq(type, "test") ? "" : NULL, .vsock_cid = cid };
        if (domain_xml_render(spec, host, p, &xo, &xml, &reason) < 0)
                return cli_error(EXIT_REJECTED, "cannot render the domain: %s", reason ? reason : "out of memory");
        if (launch_spec_digest(spec, ctx.appraise.launch_digest) < 0 ||
            !(digest_hex = hex_encode(ctx.appraise.launch_digest, LAUNCH_DIGEST_SIZE)))
                return cli_error(EXIT_REJECTED, "cannot compute the launch digest");
        /* A development launch has no hypervisor-set HOST_DATA to bind; a real TEE always does. */
        ctx.appraise.has_launch_digest = !launch_spec_is_development(spec);
        ctx.appraise.policy = policy;
        ctx.keys_dir = keystore_dir(keys_dir);
        ctx.spec = spec;

        if (lifecycle_create(l, xml, &dom, &reason) < 0)
                return cli_error(EXIT_REJECTED, "libvirt refused the domain: %s", reason ? reason : "unknown");
        (void) lifecycle_run(l, 100); /* "started" */
        fprintf(stderr, "cvmctl: domain '%s' created (launch digest %.16s...); waiting for its agent\n", dom, digest_hex);

        h.tee = spec->tee == LAUNCH_TEE_TDX ? "tdx" : spec->tee == LAUNCH_TEE_SEV_SNP ? "sev-snp" : evidence;
        h.gpus = (uint32_t) spec->n_gpus;
        h.token_key = token_key;
        (void) lifecycle_domain_uuid(l, dom, h.vm_uuid);
        if (!channel)
                agent_addr = (ChannelAddr) { .family = AF_VSOCK, .cid = spec->vsock_cid ? spec->vsock_cid : cid,
                                             .port = AGENT_PORT };
        fd = connect_agent(&agent_addr, proto_now_usec() + boot_usec);
        if (fd < 0) {
                destroy_domain(l, dom);
                return cli_error(EXIT_REJECTED, "the guest agent did not answer (%s); domain '%s' destroyed",
                                 strerror(-fd), dom);
        }
        fprintf(stderr, "cvmctl: agent connected; challenging the guest\n");
        r = exchange_host_run(&h, fd, &res);
        close(fd);
        if (r < 0) {
                destroy_domain(l, dom);
                return cli_error(EXIT_REJECTED, "exchange failed: %s; domain '%s' destroyed", strerror(-r), dom);
        }
        rc = res.released && res.confirmed ? EXIT_ACCEPTED : EXIT_REJECTED;
        if (rc != EXIT_ACCEPTED) {
                destroy_domain(l, dom);
                fprintf(stderr, "cvmctl: %s; domain '%s' destroyed\n", res.error ? res.error : "refused", dom);
        } else
                fprintf(stderr, "cvmctl: evidence accepted, %zu key(s) released and confirmed; '%s' is running\n",
                        spec->n_key_ids, dom);

        if (json) {
                _cleanup_(json_object_putp) json_object *o = verdict_to_json(&res.verdict);
                if (o) {
                        json_object_object_add(o, "domain", json_object_new_string(dom));
                        json_object_object_add(o, "launch_digest", json_object_new_string(digest_hex));
                        json_object_object_add(o, "running", json_object_new_boolean(rc == EXIT_ACCEPTED));
                        json_object_object_add(o, "released", json_object_new_boolean(res.released));
                        json_object_object_add(o, "confirmed", json_object_new_boolean(res.confirmed));
                        json_object_object_add(o, "error", res.error ? json_object_new_string(res.error) : NULL);
                        json_object_object_add(o, "token", res.token ? json_object_new_string(res.token) : NULL);
                }
                if (!o || cli_print_json(o, true) < 0)
                        rc = EXIT_REJECTED;
        } else {
                verdict_print(&res.verdict, stdout);
                printf("\nDomain:         %s (%s)\nKeys released:  %s\n", dom,
                       rc == EXIT_ACCEPTED ? "running" : "destroyed", rc == EXIT_ACCEPTED ? "yes, confirmed" : "no");
        }
        exchange_result_done(&res);
        return rc;
}
