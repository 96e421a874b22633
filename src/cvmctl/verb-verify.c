/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl verify TEE ...: dispatches to the verifier of each kind of evidence. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const struct {
        const char *tee;
        int (*run)(int argc, char *argv[]);
        const char *summary;
} tees[] = {
        { "snp", verify_snp_main, "AMD SEV-SNP attestation report" },
        { "tdx", verify_tdx_main, "Intel TDX quote (v4, v5)" },
        { "gpu", verify_gpu_main, "NVIDIA confidential GPU attestation reports (H100, Blackwell)" },
};

static void help(void) {
        printf("Usage: cvmctl verify TEE EVIDENCE... [OPTIONS]\n\nTEE is one of:\n");
        for (size_t i = 0; i < ELEMENTSOF(tees); i++)
                printf("  %-6s %s (see 'cvmctl verify %s --help')\n", tees[i].tee, tees[i].summary, tees[i].tee);
}

int verb_verify(int argc, char *argv[]) {
        if (argc < 2 || argv[1][0] == '-') {
                if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                        help();
                        return EXIT_ACCEPTED;
                }
                return cli_usage_error("verify: missing TEE (one of: snp, tdx, gpu)");
        }
        for (size_t i = 0; i < ELEMENTSOF(tees); i++)
                if (streq(argv[1], tees[i].tee)) {
                        char verb[16];

                        snprintf(verb, sizeof(verb), "verify %s", tees[i].tee);
                        cli_set_verb(verb);
                        optind = 0;
                        return tees[i].run(argc - 1, argv + 1);
                }
        return cli_usage_error("verify: unknown TEE '%s'", argv[1]);
}
