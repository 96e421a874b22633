/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The options every verifier verb shares (verify snp|tdx|gpu): --policy, --at, --offline,
 * --cache, --json; parsed in one place so that they mean the same thing everywhere. And the
 * steps every verification ends with, so that "accepted" means the same thing everywhere. */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/verdict.h"

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

/* Handles one of VERIFY_ARGS_OPTIONS (a CliParser's shared handler; args is a VerifyArgs): 1 when
 * it was one, 0 when not, EXIT_USAGE on a bad value. */
int verify_args_option(void *args, int c, const char *arg);
/* The one positional argument after the options: 0 with *ret set, or EXIT_USAGE naming `what`. */
int verify_args_positional(int argc, char *argv[], const char *verb, const char *what, const char **ret);
/* The collateral cache: --cache, or the default one. 0, or EXIT_REJECTED after printing the error. */
int verify_args_cache_dir(const VerifyArgs *a, char **ret);

/* --report-data HEX: 1 to 64 bytes, zero-padded to 64. 0, or EXIT_USAGE after printing the error. */
int verify_report_data_parse(const char *hex, uint8_t ret[64]);
/* The "report-data" check: whether the evidence carries the REPORT_DATA given with --report-data. */
void verify_report_data_check(Verdict *v, const uint8_t want[64], const uint8_t have[64]);
/* The end of every verification: accepted when authentic and nothing (policy, a failed check)
 * gave a reason to refuse, and the verification time among the claims. */
void verify_conclude(const VerifyArgs *a, Verdict *v);
