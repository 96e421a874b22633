/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl attest-guest: run one attestation exchange with a guest agent by hand. */
#include <getopt.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "collateral-args.h"
#include "cvm/key-release.h"
#include "cvm/channel-addr.h"
#include "cvm/crypto.h"
#include "cvm/exchange.h"
#include "cvm/gpu.h"
#include "cvm/kek.h"
#include "cvm/keystore.h"
#include "cvm/pcs.h"
#include "cvm/token.h"
#include "cvm/util.h"

static void help(void) {
        printf("Usage: cvmctl attest-guest --channel ADDR --policy FILE --key ID... [OPTIONS]\n"
               "\n"
               "Runs one attestation exchange with the cvm-agent in a guest: challenge, evidence,\n"
               "verification against the policy, and only if it is accepted: the data keys unwrapped with\n"
               "their KEK, sealed with HPKE to the guest's attested key from the releaser key and released;\n"
               "the guest installs them and confirms. The guest deals only with the releaser whose key, with\n"
               "the spec digest, makes the launch digest in its HOST_DATA / MRCONFIGID.\n"
               "\n"
               "Options:\n"
               "  --channel ADDR        vsock:CID:PORT or unix:PATH\n"
               "  --policy FILE         policy file (required: no policy, no keys)\n"
               "  --key ID              a data key to release (repeatable; from --keys-dir)\n"
               "  --keys-dir DIR        wrapped keys (default $CVMD_KEYS_DIR or /var/lib/cvmd/keys)\n"
               "  --tee snp|tdx         the evidence to ask for (default snp)\n"
               "  --gpus N              GPUs whose evidence is required (default 0)\n"
               "  --switches N          NVSwitches passed through with the GPUs (protected PCIe) whose\n"
               "                        evidence is required, all or nothing (default 0)\n"
               "  --gpu-golden FILE     golden GPU measurements (JSON list; cvmctl sim init writes gpu/golden.json)\n"
               "  --vm-uuid UUID        the VM the keys are for (bound into the sealing)\n"
               "  --spec-digest HEX     the digest of the spec the guest was launched from (48 bytes;\n"
               "                        default all zero); with the releaser key it makes the launch\n"
               "                        digest that SNP HOST_DATA / TDX MRCONFIGID must hold\n"
               "  --releaser-key FILE   X25519 private key (32 raw bytes, mode 0600) bound at launch;\n"
               "                        default ephemeral, which no launched guest accepts\n"
               "  --collateral DIR      TDX collateral bundle (tcb_info.json, ...): used instead of the cache/PCS\n"
               COLLATERAL_ARGS_HELP
               "  --token-key FILE      EC P-256 private key (PEM) to sign the result token; default ephemeral\n"
               "  --timeout SEC         per-message timeout (default 30)\n"
               "  --json                one JSON object on stdout\n"
               "\n"
               "\n"
               "The SEV-SNP certificates the guest does not send and the host's CRL, and the TDX collateral,\n"
               "come from the collateral cache, fetched from AMD KDS or Intel PCS/PCCS unless --offline.\n"
               "Exit status: 0 keys released and confirmed, 1 refused or failed, 2 usage error.\n");
}

/* spec_digest, releaser_key and launch_digest, as hex: what the guest was asked to have bound. */
static int add_binding_json(json_object *o, const uint8_t *spec_digest, const uint8_t *releaser_key,
                            const uint8_t *launch_digest) {
        _cleanup_free_ char *s = hex_encode(spec_digest, PROTO_SPEC_DIGEST_SIZE),
                            *k = hex_encode(releaser_key, PROTO_RELEASER_KEY_SIZE),
                            *d = hex_encode(launch_digest, PROTO_LAUNCH_DIGEST_SIZE);

        if (!s || !k || !d)
                return -ENOMEM;
        json_object_object_add(o, "spec_digest", json_object_new_string(s));
        json_object_object_add(o, "releaser_key", json_object_new_string(k));
        json_object_object_add(o, "launch_digest", json_object_new_string(d));
        return 0;
}

int verb_attest_guest(int argc, char *argv[]) {
        enum { ARG_CHANNEL = 0x100, ARG_POLICY, ARG_KEY, ARG_KEYS_DIR, ARG_TEE, ARG_GPUS, ARG_VM_UUID,
               ARG_SPEC_DIGEST, ARG_RELEASER_KEY, ARG_TOKEN_KEY, ARG_TIMEOUT, ARG_JSON, ARG_COLLATERAL, ARG_GPU_GOLDEN,
               ARG_SWITCHES };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "channel", required_argument, NULL, ARG_CHANNEL },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "key", required_argument, NULL, ARG_KEY },
                { "keys-dir", required_argument, NULL, ARG_KEYS_DIR },
                { "tee", required_argument, NULL, ARG_TEE },
                { "gpus", required_argument, NULL, ARG_GPUS },
                { "switches", required_argument, NULL, ARG_SWITCHES },
                { "vm-uuid", required_argument, NULL, ARG_VM_UUID },
                { "spec-digest", required_argument, NULL, ARG_SPEC_DIGEST },
                { "releaser-key", required_argument, NULL, ARG_RELEASER_KEY },
                { "token-key", required_argument, NULL, ARG_TOKEN_KEY },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "json", no_argument, NULL, ARG_JSON },
                { "collateral", required_argument, NULL, ARG_COLLATERAL },
                { "gpu-golden", required_argument, NULL, ARG_GPU_GOLDEN },
                COLLATERAL_ARGS_OPTIONS,
                {},
        };
        CollateralConfig host_collateral;
        _cleanup_free_ char **keys = calloc((size_t) argc + 1, sizeof(char *));
        _cleanup_(key_release_done) KeyRelease kr = {};
        _cleanup_free_ char *reason = NULL;
        static NonceStore nonces;
        const char *channel = NULL, *keys_dir = NULL;
        KeyReleasePaths paths = {};
        size_t n_keys = 0;
        ExchangeHost h = { .tee = CVM_TEE_SEV_SNP, .timeout_usec = 30u * 1000000u, .nonces = &nonces,
                           .nonce_ttl_usec = 120u * 1000000u };
        AppraiseConfig *ac = &kr.appraise;
        ExchangeResult res = {};
        uint8_t spec_digest[PROTO_SPEC_DIGEST_SIZE] = {};
        bool json = false;
        int c, fd, r, rc;

        if (!keys)
                return cli_error(EXIT_REJECTED, "out of memory");
        collateral_args_init(&host_collateral);
        paths.host_collateral = &host_collateral;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_ACCEPTED;
                case ARG_CHANNEL:
                        channel = optarg;
                        break;
                case ARG_POLICY:
                        paths.policy = optarg;
                        break;
                case ARG_KEY:
                        if (!key_id_is_valid(optarg))
                                return cli_usage_error("--key: '%s' is not a valid key ID", optarg);
                        keys[n_keys++] = optarg;
                        break;
                case ARG_KEYS_DIR:
                        keys_dir = optarg;
                        break;
                case ARG_TEE:
                        if (streq(optarg, "snp") || streq(optarg, "sev-snp"))
                                h.tee = CVM_TEE_SEV_SNP;
                        else if (streq(optarg, "tdx"))
                                h.tee = CVM_TEE_TDX;
                        else
                                return cli_usage_error("--tee: '%s' is not snp or tdx", optarg);
                        break;
                case ARG_GPUS: {
                        char *end;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (*end || n > PROTO_GPUS_MAX)
                                return cli_usage_error("--gpus: expected 0..%u", PROTO_GPUS_MAX);
                        h.gpus = (uint32_t) n;
                        break;
                }
                case ARG_SWITCHES: {
                        char *end;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || n > PROTO_SWITCHES_MAX)
                                return cli_usage_error("--switches: expected 0..%u", PROTO_SWITCHES_MAX);
                        h.switches = (uint32_t) n;
                        ac->gpu_switches = (unsigned) n; /* attested with the GPUs: all or nothing */
                        break;
                }
                case ARG_VM_UUID:
                        if (uuid_parse(optarg, h.vm_uuid) < 0)
                                return cli_usage_error("--vm-uuid: '%s' is not a UUID", optarg);
                        break;
                case ARG_SPEC_DIGEST:
                        if (hex_decode_exact(optarg, spec_digest, sizeof(spec_digest)) < 0)
                                return cli_usage_error("--spec-digest: expected 48 bytes of hex (SHA-384)");
                        break;
                case ARG_RELEASER_KEY:
                        paths.releaser_key = optarg;
                        break;
                case ARG_TOKEN_KEY:
                        paths.token_key = optarg;
                        break;
                case ARG_TIMEOUT: {
                        char *end;
                        unsigned long sec = strtoul(optarg, &end, 10);
                        if (*end || sec == 0 || sec > 3600)
                                return cli_usage_error("--timeout: expected 1..3600 seconds");
                        h.timeout_usec = sec * 1000000u;
                        break;
                }
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_COLLATERAL:
                        paths.collateral = optarg;
                        break;
                case ARG_GPU_GOLDEN:
                        paths.gpu_golden = optarg;
                        break;
                default:
                        r = collateral_args_option(&host_collateral, &ac->at, c, optarg);
                        if (r == 1)
                                break;
                        if (r != 0)
                                return r;
                        return cli_usage_error("attest-guest: invalid option '%s'", argv[optind - 1]);
                }
        if (optind < argc)
                return cli_usage_error("attest-guest: unexpected argument '%s'", argv[optind]);
        if (!channel || !paths.policy || n_keys == 0)
                return cli_usage_error("attest-guest needs --channel, --policy and at least one --key");

        (void) secret_init();
        r = key_release_load(&kr, &paths, &reason);
        if (r < 0)
                return cli_error(r == -ENOMEM ? EXIT_REJECTED : EXIT_USAGE, "%s", reason ? reason : "out of memory");
        key_release_set_keys(&kr, keys_dir, keys, n_keys);
        /* the host checks the same binding the guest does: the launch digest of this spec digest
         * and this releaser key in HOST_DATA / MRCONFIGID */
        proto_launch_digest(spec_digest, kr.releaser->pk, ac->launch_digest);
        ac->has_launch_digest = true;
        key_release_attach(&kr, &h);
        h.spec_digest = spec_digest;

        {
                ChannelAddr a;
                if (channel_addr_parse(channel, false, &a) < 0)
                        return cli_usage_error("--channel: '%s' is not vsock:CID:PORT or unix:PATH", channel);
                fd = channel_connect(&a);
        }
        if (fd < 0)
                return cli_error(EXIT_REJECTED, "cannot connect to %s: %s", channel, strerror(-fd));
        fprintf(stderr, "cvmctl: connected to %s; challenging the guest\n", channel);
        r = exchange_host_run(&h, fd, &res);
        close(fd);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "exchange failed: %s", strerror(-r));

        rc = res.released && res.confirmed ? EXIT_ACCEPTED : EXIT_REJECTED;
        if (json) {
                _cleanup_(json_object_putp) json_object *o = verdict_to_json(&res.verdict);
                if (!o) {
                        exchange_result_done(&res);
                        return cli_error(EXIT_REJECTED, "out of memory");
                }
                json_object_object_add(o, "released", json_object_new_boolean(res.released));
                json_object_object_add(o, "confirmed", json_object_new_boolean(res.confirmed));
                json_object_object_add(o, "error", res.error ? json_object_new_string(res.error) : NULL);
                json_object_object_add(o, "token", res.token ? json_object_new_string(res.token) : NULL);
                if (add_binding_json(o, spec_digest, kr.releaser->pk, ac->launch_digest) < 0)
                        rc = EXIT_REJECTED;
                if (cli_print_json(o, true) < 0)
                        rc = EXIT_REJECTED;
        } else {
                verdict_print(&res.verdict, stdout);
                printf("\nKeys released:  %s\nConfirmed:      %s\n", res.released ? "yes" : "no",
                       res.confirmed ? "yes" : "no");
                if (res.error)
                        printf("Outcome:        %s\n", res.error);
        }
        exchange_result_done(&res);
        return rc;
}
