/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl sim init DIR: a software TEE for development, demos and tests. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cvm/snp-sim.h"
#include "cvm/util.h"

static void help(void) {
        printf("Usage: cvmctl sim init DIR [--product Milan|Genoa|Turin] [--vlek] [--json]\n"
               "\n"
               "Makes a simulated AMD SEV-SNP chain in DIR/snp/: an ARK, an ASK (or ASVK) and a VCEK\n"
               "(or VLEK) with AMD's certificate profile and extensions, and the leaf's private key, so\n"
               "that 'cvm-agent --simulate snp --sim-dir DIR/snp' produces real-format reports. Prints\n"
               "the policy entry that trusts this simulator: verifiers trust simulator roots only when\n"
               "a policy names them.\n");
}

int verb_sim(int argc, char *argv[]) {
        enum { ARG_PRODUCT = 0x100, ARG_VLEK, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "product", required_argument, NULL, ARG_PRODUCT },
                { "vlek", no_argument, NULL, ARG_VLEK },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        _cleanup_free_ char *snp_dir = NULL, *digest = NULL;
        SnpSimParams p = { .product = SNP_PRODUCT_MILAN };
        SnpAnchor anchor;
        bool json = false;
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
                default:
                        return cli_usage_error("sim: invalid option '%s'", argv[optind - 1]);
                }
        if (optind + 2 != argc || !streq(argv[optind], "init"))
                return cli_usage_error("usage: cvmctl sim init DIR");

        snp_tcb_set(&p.tcb, p.product == SNP_PRODUCT_TURIN, 0, 4, 0, 24, 219);
        snp_dir = strdup_printf("%s/snp", argv[optind + 1]);
        if (!snp_dir)
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

        if (json)
                printf("{\"snp_dir\": \"%s\", \"product\": \"%s\", \"signing_key\": \"%s\", "
                       "\"trusted_simulator_arks\": [{\"product\": \"%s\", \"spki_sha256\": \"%s\"}]}\n",
                       snp_dir, snp_product_to_string(p.product), p.vlek ? "VLEK" : "VCEK",
                       snp_product_to_string(p.product), digest);
        else
                printf("Simulated SEV-SNP %s chain written to %s\n"
                       "To trust it (development only), add to the policy's \"snp\" section:\n"
                       "  \"trusted_simulator_arks\": [{\"product\": \"%s\", \"spki_sha256\": \"%s\"}]\n",
                       snp_product_to_string(p.product), snp_dir, snp_product_to_string(p.product), digest);
        return EXIT_ACCEPTED;
}
