/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl sim init DIR: a software TEE for development, demos and tests. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cvm/gpu-sim.h"
#include "cvm/switch-sim.h"
#include "cvm/snp-sim.h"
#include "cvm/tdx-sim.h"
#include "cvm/util.h"

static void help(void) {
        printf("Usage: cvmctl sim init DIR [--product Milan|Genoa|Turin] [--vlek] [--cache DIR]\n"
               "                      [--no-cert-table] [--gpus N] [--gpu-cc on|off|devtools]\n"
               "                      [--gpu-fault shared-identity] [--switches N] [--json]\n"
               "\n"
               "Makes a software TEE for development in DIR:\n"
               "  DIR/snp/  a simulated AMD SEV-SNP chain: an ARK, an ASK (or ASVK) and a VCEK (or VLEK)\n"
               "            with AMD's certificate profile and extensions, and the leaf's private key;\n"
               "            'cvm-agent --simulate snp --sim-dir DIR/snp' produces real-format reports.\n"
               "  DIR/tdx/  a simulated Intel PCK chain (root, PCK Platform CA, PCK certificate with the\n"
               "            SGX extension, TCB signing certificate), the PCK and attestation keys, and\n"
               "            DIR/tdx/collateral/, a matching collateral bundle valid for 30 days;\n"
               "            'cvm-agent --simulate tdx --sim-dir DIR/tdx' produces real-format quotes.\n"
               "  DIR/gpu/  a simulated board of N NVIDIA H100s (default 8): golden.json, their golden\n"
               "            measurements, and per GPU DIR/gpu/gpu<i>/ with its own device chain (five P-384\n"
               "            certificates under one simulated root, the leaf with the FWID extension), the\n"
               "            leaf's key, pci-address (default 0000:<e1+i>:00.0) and cc-mode (default on);\n"
               "            'cvm-agent --simulate-gpus DIR/gpu' produces real-format GPU reports.\n"
               "            DIR/gpu/rim/ holds the board's driver and VBIOS RIMs, signed under a simulated\n"
               "            RIM root, DIR/gpu/rim-mismatch/ the same with one wrong measurement, and\n"
               "            DIR/gpu/ocsp/ OCSP responder certificates for the device and RIM chains:\n"
               "            what a local RIM service and OCSP responder serve.\n"
               "            With --switches N, also N NVSwitches in DIR/gpu/switch<i>/ (chain under the same\n"
               "            root, leaf key, pdi, gpu-pdis, position, lock-status) and the GPUs in protected-PCIe\n"
               "            mode naming them: the agent then returns switch evidence too.\n"
               "  DIR/kds/  what AMD KDS would serve for the SEV-SNP simulator (cert_chain, a CRL valid for\n"
               "            30 days, the VCEK), laid out like KDS's URLs: a local KDS-shaped server's root.\n"
               "Prints the policy entries that trust these simulators: verifiers trust simulator roots\n"
               "only when a policy names them.\n"
               "\n"
               "  --cache DIR         also install both simulators' collateral (VCEK, cert_chain, CRL; the\n"
               "                      TDX bundle) into the collateral cache DIR, as a host fetches it\n"
               "  --no-cert-table     the simulated host supplies no certificate table with its reports\n"
               "                      (as most hosts by default): the verifier needs the cache or KDS\n"
               "  --gpus N            simulate N GPUs (1 to 16; default 8)\n"
               "  --gpu-cc MODE       the CC mode every GPU's driver reports: on (default), off or devtools\n"
               "  --gpu-fault shared-identity\n"
               "                      every GPU answers with GPU 0's device identity (one GPU standing in\n"
               "                      for several: verifiers must refuse it)\n"
               "  --switches N        simulate N NVSwitches with the board (0 to 8; default 0; an HGX\n"
               "                      board has 4), putting its GPUs in protected-PCIe mode\n");
}

/* The collateral a host would get from AMD KDS and Intel PCS for these simulators: DIR/kds/,
 * and with --cache the cache itself; valid from a day ago for 30 days, as tdx_sim_write(). */
static int write_host_collateral(const SnpSim *s, const TdxSim *t, const char *dir, const char *cache,
                                 bool no_cert_table) {
        _cleanup_free_ char *kds = strdup_printf("%s/kds", dir), *marker = strdup_printf("%s/snp/no-cert-table", dir);
        int64_t now = (int64_t) time(NULL), from = now - 86400, until = now + 30 * 86400;
        int r;

        if (!kds || !marker)
                return cli_error(EXIT_REJECTED, "out of memory");
        r = snp_sim_write_kds(s, kds, from, until);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot write %s: %s", kds, strerror(-r));
        if (cache && ((r = snp_sim_write_cache(s, cache, from, until)) < 0 || (r = tdx_sim_write_cache(t, cache, from, until)) < 0))
                return cli_error(EXIT_REJECTED, "cannot install the collateral into %s: %s", cache, strerror(-r));
        if (no_cert_table && (r = write_file_atomic(marker, "", 0, 0644)) < 0)
                return cli_error(EXIT_REJECTED, "cannot write %s: %s", marker, strerror(-r));
        return 0;
}

/* What NVIDIA's services would have for the simulated board: DIR/gpu/rim/ its driver and VBIOS
 * RIMs signed under a simulated RIM root, DIR/gpu/rim-mismatch/ the same RIMs, as validly
 * signed, with one measurement that the GPUs do not report, and DIR/gpu/ocsp/ the responder
 * certificates a local OCSP responder answers for the device and RIM chains with. */
static int write_gpu_collateral(const GpuSim *gpu0, const char *gpu_dir, NvPin *ret_rim_pin) {
        _cleanup_(gpu_sim_rim_signer_freep) GpuSimRimSigner *signer = NULL;
        _cleanup_free_ char *rim = strdup_printf("%s/rim", gpu_dir), *bad = strdup_printf("%s/rim-mismatch", gpu_dir),
                            *ocsp = strdup_printf("%s/ocsp", gpu_dir);
        int r;

        if (!rim || !bad || !ocsp)
                return -ENOMEM;
        if ((r = gpu_sim_rim_signer_new(0, 0, &signer)) < 0 || (r = gpu_sim_write_rims(gpu0, signer, -1, rim)) < 0 ||
            (r = gpu_sim_write_rims(gpu0, signer, GPU_SIM_VBIOS_BLOCKS + 1, bad)) < 0 ||
            (r = gpu_sim_write_ocsp_responders(gpu0, signer, ocsp)) < 0)
                return r;
        return gpu_sim_rim_root_pin(signer, ret_rim_pin);
}

/* {"<key>": [{"product": ..., "spki_sha256": ...}]} entries, built with json-c. */
static json_object *anchor_entry(const char *product, const char *digest) {
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array(), *e = json_object_new_object();

        if (!arr || !e)
                return NULL;
        if (product && json_object_object_add(e, "product", json_object_new_string(product)) < 0)
                return NULL;
        if (json_object_object_add(e, "spki_sha256", json_object_new_string(digest)) < 0 ||
            json_object_array_add(arr, e) < 0)
                return NULL;
        e = NULL;
        return TAKE_PTR(arr);
}

static const char *plain(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int verb_sim(int argc, char *argv[]) {
        enum { ARG_PRODUCT = 0x100, ARG_VLEK, ARG_JSON, ARG_CACHE, ARG_NO_CERT_TABLE, ARG_GPUS, ARG_GPU_CC, ARG_GPU_FAULT,
               ARG_SWITCHES };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "product", required_argument, NULL, ARG_PRODUCT },
                { "vlek", no_argument, NULL, ARG_VLEK },
                { "json", no_argument, NULL, ARG_JSON },
                { "cache", required_argument, NULL, ARG_CACHE },
                { "no-cert-table", no_argument, NULL, ARG_NO_CERT_TABLE },
                { "gpus", required_argument, NULL, ARG_GPUS },
                { "gpu-cc", required_argument, NULL, ARG_GPU_CC },
                { "gpu-fault", required_argument, NULL, ARG_GPU_FAULT },
                { "switches", required_argument, NULL, ARG_SWITCHES },
                {},
        };
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        _cleanup_(tdx_sim_freep) TdxSim *t = NULL;
        _cleanup_free_ char *kds_dir = NULL;
        _cleanup_free_ char *snp_dir = NULL, *tdx_dir = NULL, *tdx_col = NULL, *digest = NULL, *tdx_digest = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL, *arks = NULL, *roots = NULL;
        SnpSimParams p = { .product = SNP_PRODUCT_MILAN };
        TdxSimParams tp = {};
        SnpAnchor anchor;
        TdxAnchor tdx_anchor;
        GpuSim *board[PROTO_GPUS_MAX] = {};
        SwitchSim *switches[PROTO_SWITCHES_MAX] = {};
        size_t n_gpus = GPU_SIM_BOARD_DEFAULT, n_switches = 0;
        ProtoGpuCc gpu_cc = PROTO_GPU_CC_ON;
        bool shared_identity = false;
        _cleanup_free_ char *gpu_dir = NULL, *gpu_digest = NULL;
        _cleanup_(json_object_putp) json_object *gpu_roots = NULL, *rim_roots = NULL;
        _cleanup_free_ char *rim_digest = NULL;
        NvPin gpu_pin, rim_pin;
        bool json = false, no_cert_table = false;
        const char *cache = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_ACCEPTED;
                case ARG_PRODUCT:
                        p.product = snp_product_from_string(optarg);
                        if (p.product < 0)
                                return cli_usage_error("--product: '%s' is not Milan, Genoa or Turin", optarg);
                        break;
                case ARG_VLEK:
                        p.vlek = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_CACHE:
                        if (!*optarg)
                                return cli_usage_error("--cache: empty directory name");
                        cache = optarg;
                        break;
                case ARG_NO_CERT_TABLE:
                        no_cert_table = true;
                        break;
                case ARG_GPUS: {
                        char *end;
                        unsigned long u = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || u < 1 || u > PROTO_GPUS_MAX)
                                return cli_usage_error("--gpus: '%s' is not a number from 1 to %u", optarg, PROTO_GPUS_MAX);
                        n_gpus = (size_t) u;
                        break;
                }
                case ARG_GPU_CC:
                        gpu_cc = proto_gpu_cc_from_string(optarg);
                        if (gpu_cc < 0)
                                return cli_usage_error("--gpu-cc: '%s' is not on, off or devtools", optarg);
                        break;
                case ARG_SWITCHES: {
                        char *end;
                        unsigned long u = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || u > PROTO_SWITCHES_MAX)
                                return cli_usage_error("--switches: '%s' is not a number from 0 to %u", optarg,
                                                       PROTO_SWITCHES_MAX);
                        n_switches = (size_t) u;
                        break;
                }
                case ARG_GPU_FAULT:
                        if (!streq(optarg, "shared-identity"))
                                return cli_usage_error("--gpu-fault: '%s' is not shared-identity", optarg);
                        shared_identity = true;
                        break;
                default:
                        return cli_usage_error("sim: invalid option '%s'", argv[optind - 1]);
                }
        if (optind + 2 != argc || !streq(argv[optind], "init"))
                return cli_usage_error("usage: cvmctl sim init DIR");

        snp_tcb_set(&p.tcb, p.product == SNP_PRODUCT_TURIN, 0, 4, 0, 24, 219);
        snp_dir = strdup_printf("%s/snp", argv[optind + 1]);
        tdx_dir = strdup_printf("%s/tdx", argv[optind + 1]);
        tdx_col = strdup_printf("%s/tdx/collateral", argv[optind + 1]);
        kds_dir = strdup_printf("%s/kds", argv[optind + 1]);
        if (!snp_dir || !tdx_dir || !tdx_col || !kds_dir)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (mkdir_p(argv[optind + 1], 0700) < 0)
                return cli_error(EXIT_REJECTED, "cannot create %s: %m", argv[optind + 1]);
        fprintf(stderr, "cvmctl: generating a simulated %s chain (RSA-4096 keys take a few seconds)...\n",
                snp_product_to_string(p.product));
        r = snp_sim_new(&p, &s);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot make the simulated chain: %s", strerror(-r));
        r = snp_sim_write_pem(s, snp_dir);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot write %s: %s", snp_dir, strerror(-r));
        if (snp_sim_anchor(s, &anchor) < 0 || !(digest = hex_encode(anchor.spki_sha256, 32)))
                return cli_error(EXIT_REJECTED, "out of memory");

        r = tdx_sim_new(&tp, &t);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot make the simulated Intel chain: %s", strerror(-r));
        r = tdx_sim_write(t, tdx_dir);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot write %s: %s", tdx_dir, strerror(-r));
        if (tdx_sim_anchor(t, &tdx_anchor) < 0 || !(tdx_digest = hex_encode(tdx_anchor.spki_sha256, 32)))
                return cli_error(EXIT_REJECTED, "out of memory");
        r = write_host_collateral(s, t, argv[optind + 1], cache, no_cert_table);
        if (r != 0)
                return r;

        gpu_dir = strdup_printf("%s/gpu", argv[optind + 1]);
        if (!gpu_dir)
                return cli_error(EXIT_REJECTED, "out of memory");
        r = gpu_sim_new_board(NULL, n_gpus, board);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot make the simulated NVIDIA chains: %s", strerror(-r));
        for (size_t i = 0; i < n_gpus; i++)
                board[i]->cc_mode = gpu_cc;
        /* NVSwitches under the board's root, the GPUs in protected-PCIe mode naming them */
        r = n_switches > 0 ? switch_sim_new_board(board[0], n_switches, switches) : 0;
        if (r < 0) {
                gpu_sim_board_free(board, n_gpus);
                return cli_error(EXIT_REJECTED, "cannot make the simulated NVSwitches: %s", strerror(-r));
        }
        switch_sim_link_gpus(switches, n_switches, board, n_switches > 0 ? n_gpus : 0);
        r = switch_sim_write_board(switches, n_switches, gpu_dir);
        switch_sim_board_free(switches, n_switches);
        if (r >= 0)
                r = gpu_sim_write_board(board, n_gpus, shared_identity, gpu_dir);
        if (r >= 0)
                r = gpu_sim_root_pin(board[0], &gpu_pin);
        if (r >= 0)
                r = write_gpu_collateral(board[0], gpu_dir, &rim_pin);
        gpu_sim_board_free(board, n_gpus);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot write %s: %s", gpu_dir, strerror(-r));
        if (!(gpu_digest = hex_encode(gpu_pin.spki_sha256, 32)) || !(gpu_roots = anchor_entry(NULL, gpu_digest)) ||
            !(rim_digest = hex_encode(rim_pin.spki_sha256, 32)) || !(rim_roots = anchor_entry(NULL, rim_digest)))
                return cli_error(EXIT_REJECTED, "out of memory");

        arks = anchor_entry(snp_product_to_string(p.product), digest);
        roots = anchor_entry(NULL, tdx_digest);
        if (!arks || !roots)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (json) {
                o = json_object_new_object();
                if (!o || json_object_object_add(o, "snp_dir", json_object_new_string(snp_dir)) < 0 ||
                    json_object_object_add(o, "product", json_object_new_string(snp_product_to_string(p.product))) < 0 ||
                    json_object_object_add(o, "signing_key", json_object_new_string(p.vlek ? "VLEK" : "VCEK")) < 0 ||
                    json_object_object_add(o, "trusted_simulator_arks", json_object_get(arks)) < 0 ||
                    json_object_object_add(o, "tdx_dir", json_object_new_string(tdx_dir)) < 0 ||
                    json_object_object_add(o, "tdx_collateral_dir", json_object_new_string(tdx_col)) < 0 ||
                    json_object_object_add(o, "kds_dir", json_object_new_string(kds_dir)) < 0 ||
                    json_object_object_add(o, "cache", cache ? json_object_new_string(cache) : NULL) < 0 ||
                    json_object_object_add(o, "trusted_simulator_roots", json_object_get(roots)) < 0 ||
                    json_object_object_add(o, "gpu_dir", json_object_new_string(gpu_dir)) < 0 ||
                    json_object_object_add(o, "gpus", json_object_new_int((int) n_gpus)) < 0 ||
                    json_object_object_add(o, "switches", json_object_new_int((int) n_switches)) < 0 ||
                    json_object_object_add(o, "gpu_trusted_simulator_roots", json_object_get(gpu_roots)) < 0 ||
                    json_object_object_add(o, "gpu_trusted_simulator_rim_roots", json_object_get(rim_roots)) < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (cli_print_json(o, false) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the output");
        } else
                printf("Simulated SEV-SNP %s chain written to %s\n"
                       "Simulated Intel TDX chain written to %s, collateral to %s\n"
                       "What AMD KDS would serve for the SEV-SNP simulator written to %s\n"
                       "To trust them (development only), add to the policy's \"snp\" section:\n"
                       "  \"trusted_simulator_arks\": %s\n"
                       "and to its \"tdx\" section:\n"
                       "  \"trusted_simulator_roots\": %s\n"
                       "Simulated NVIDIA board of %zu GPUs written to %s (golden measurements: %s/golden.json)\n"
                       "and to the policy's \"gpu\" section:\n"
                       "  \"trusted_simulator_roots\": %s\n"
                       "and, for the RIMs in %s/rim/ (serve them as NVIDIA's RIM service would), also:\n"
                       "  \"trusted_simulator_rim_roots\": %s\n",
                       snp_product_to_string(p.product), snp_dir, tdx_dir, tdx_col, kds_dir, plain(arks), plain(roots), n_gpus,
                       gpu_dir, gpu_dir, plain(gpu_roots), gpu_dir, plain(rim_roots));
        return EXIT_ACCEPTED;
}
