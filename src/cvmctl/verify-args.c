/* SPDX-License-Identifier: Apache-2.0 */
/* The options and the final steps the verifier verbs share. */
#include <string.h>

#include "cli.h"
#include "verify-args.h"
#include "cvm/kds.h"
#include "cvm/util.h"

int verify_args_option(void *args, int c, const char *arg) {
        VerifyArgs *a = args;

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

int verify_args_cache_dir(const VerifyArgs *a, char **ret) {
        char *cache = NULL;

        if (a->cache)
                cache = strdup(a->cache);
        else if (kds_default_cache_dir(&cache) < 0)
                cache = NULL;
        if (!cache)
                return cli_error(EXIT_REJECTED, "out of memory");
        *ret = cache;
        return 0;
}

int verify_report_data_parse(const char *hex, uint8_t ret[64]) {
        _cleanup_free_ uint8_t *want = NULL;
        size_t n;

        if (hex_decode(hex, &want, &n) < 0 || n == 0 || n > 64)
                return cli_usage_error("--report-data: '%s' is not 1 to 64 bytes of hex", hex);
        memset(ret, 0, 64);
        memcpy(ret, want, n);
        return 0;
}

void verify_report_data_check(Verdict *v, const uint8_t want[64], const uint8_t have[64]) {
        if (memcmp(want, have, 64) != 0)
                verdict_check(v, "report-data", CHECK_FAIL,
                              "REPORT_DATA differs from the expected value given with --report-data");
        else
                verdict_check(v, "report-data", CHECK_PASS, "REPORT_DATA equals the expected value");
}

void verify_conclude(const VerifyArgs *a, Verdict *v) {
        char at[32];

        v->accepted = v->authentic && v->n_reasons == 0 && !v->oom;
        json_object_object_add(v->claims, "verified_at", json_object_new_string(format_rfc3339(a->at, at, sizeof(at))));
}
