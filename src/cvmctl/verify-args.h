/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The options every verifier verb shares (verify snp|tdx|gpu): --policy, --at, --offline,
 * --cache, --json; parsed in one place so that they mean the same thing everywhere. */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

enum {
        VERIFY_ARG_POLICY = 0x300,
        VERIFY_ARG_AT,
        VERIFY_ARG_OFFLINE,
        VERIFY_ARG_CACHE,
        VERIFY_ARG_JSON,
};

#define VERIFY_ARGS_OPTIONS                                                   \
        { "policy", required_argument, NULL, VERIFY_ARG_POLICY },             \
                { "at", required_argument, NULL, VERIFY_ARG_AT },             \
                { "offline", no_argument, NULL, VERIFY_ARG_OFFLINE },         \
                { "cache", required_argument, NULL, VERIFY_ARG_CACHE },       \
                { "json", no_argument, NULL, VERIFY_ARG_JSON }

typedef struct VerifyArgs {
        const char *policy;
        int64_t at; /* the verb starts it at now */
        bool offline;
        const char *cache;
        bool json;
} VerifyArgs;

/* Handles one of VERIFY_ARGS_OPTIONS: 1 when it was one, 0 when not, EXIT_USAGE on a bad value. */
int verify_args_option(VerifyArgs *a, int c, const char *arg);
/* The one positional argument after the options: 0 with *ret set, or EXIT_USAGE naming `what`. */
int verify_args_positional(int argc, char *argv[], const char *verb, const char *what, const char **ret);
