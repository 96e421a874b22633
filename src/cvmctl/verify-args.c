/* SPDX-License-Identifier: Apache-2.0 */
/* The options the verifier verbs share. */
#include "cli.h"
#include "verify-args.h"

int verify_args_option(VerifyArgs *a, int c, const char *arg) {
        switch (c) {
        case VERIFY_ARG_POLICY:
                a->policy = arg;
                return 1;
        case VERIFY_ARG_AT:
                return cli_parse_at(arg, &a->at) != 0 ? EXIT_USAGE : 1;
        case VERIFY_ARG_OFFLINE:
                a->offline = true;
                return 1;
        case VERIFY_ARG_CACHE:
                a->cache = arg;
                return 1;
        case VERIFY_ARG_JSON:
                a->json = true;
                return 1;
        default:
                return 0;
        }
}

int verify_args_positional(int argc, char *argv[], const char *verb, const char *what, const char **ret) {
        if (optind >= argc)
                return cli_usage_error("%s: missing %s file", verb, what);
        if (optind + 1 < argc)
                return cli_usage_error("%s: unexpected argument '%s'", verb, argv[optind + 1]);
        *ret = argv[optind];
        return 0;
}
