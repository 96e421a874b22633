/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What every cvmctl verb shares: exit codes, usage errors, reading input files, output. */

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"

#define EXIT_ACCEPTED 0
#define EXIT_REJECTED 1 /* verification ran and refused, or a runtime failure */
#define EXIT_USAGE 2    /* bad arguments or an unreadable input file */

/* Starts a verb: its name for "Try 'cvmctl VERB --help'." and whether --json was given. Under
 * --json, cli_end_verb() prints {"ok": false, "error": <the last error>, "exit_status": N} when
 * the verb failed before printing an object of its own, so stdout always holds one object. */
void cli_begin_verb(const char *verb, bool json);
/* Narrows the verb's name once a sub-verb is known ("verify snp", "key wrap"). */
void cli_set_verb(const char *verb);
/* Returns the exit code, after the JSON object the verb owes (see cli_begin_verb) and a flush. */
int cli_end_verb(int exit_code);
/* Prints "cvmctl: <message>" and "Try 'cvmctl VERB --help'." to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) _printf_(1, 2);
/* Prints "cvmctl: <message>" to stderr and returns the given exit code. */
int cli_error(int exit_code, const char *fmt, ...) _printf_(2, 3);
/* A progress callback for fetchers: "cvmctl: <message>" on stderr. */
void cli_progress(void *userdata, const char *message);
/* Reads an input file (bounded by CVM_INPUT_MAX); on failure prints an error naming the file
 * and returns -errno. */
int cli_read_file(const char *path, uint8_t **ret, size_t *ret_size);
/* Calls f with the path of each entry of dir, in alphabetical order, leaving out names that start
 * with '.' and, when suffix is given, names that are no more than it or do not end in it. Stops at
 * the first non-zero return and returns it; EXIT_USAGE when dir cannot be listed. */
int cli_dir_foreach(const char *dir, const char *suffix, int (*f)(void *userdata, const char *path), void *userdata);
/* Writes one JSON document to stdout, pretty or compact. Returns 0 or -EIO. */
int cli_print_json(json_object *o, bool pretty);
/* Parses an unsigned option value in [min, max]: 0, or EXIT_USAGE after printing the error. */
int cli_parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* Parses --at: RFC 3339, or "now". Returns 0 or EXIT_USAGE after printing the error. */
int cli_parse_at(const char *s, int64_t *ret);
/* Flushes stdout and reports a write error (a full disk, a closed pipe) as a failure. */
int cli_finish_stdout(int exit_code);

/* Not an exit code: cli_parse_options() parsed every option and the verb goes on. */
#define CLI_GO_ON (-1)

/* How one verb parses its options. A handler for an option set several verbs share (verify-args.h,
 * plan-args.h) returns 1 when the option was one of its own, 0 when not, or an exit code; the
 * verb's own handler returns 0 or an exit code. */
typedef struct CliParser {
        const struct option *options; /* with { "help", no_argument, NULL, 'h' } */
        void (*help)(void);
        const char *verb; /* "verify snp: invalid option '...'"; NULL: "unknown option '...'" */
        int (*shared)(void *shared_args, int c, const char *arg);
        void *shared_args;
        int (*own)(void *args, int c, const char *arg);
        void *args;
} CliParser;

/* Runs getopt_long() over a verb's argv: --help prints the help and ends the verb, an unknown
 * option is a usage error, every other option goes to p->shared first, then to p->own. Returns
 * CLI_GO_ON when the verb goes on with argv[optind...], else the exit code to end it with. */
int cli_parse_options(const CliParser *p, int argc, char *argv[]);

/* Prints a verdict as JSON or as the human report; returns EXIT_ACCEPTED when accepted,
 * EXIT_REJECTED otherwise (or when it cannot be written). */
struct Verdict;
int cli_print_verdict(const struct Verdict *v, bool json);

/* Verbs: argv[0] is the verb name. Each returns an exit code. */
int verb_verify(int argc, char *argv[]);
int verb_collateral(int argc, char *argv[]);
int verb_attest_guest(int argc, char *argv[]);
int verb_sim(int argc, char *argv[]);
int verb_launch(int argc, char *argv[]);
int verb_key(int argc, char *argv[]);
int verb_render(int argc, char *argv[]);
int verb_host(int argc, char *argv[]);
int verb_audit(int argc, char *argv[]);
int verb_measure(int argc, char *argv[]);  /* verb-measure.c: snp, snp-id-block, tdx */
int verb_eventlog(int argc, char *argv[]); /* verb-eventlog.c: tdx */
/* cvmd's VMs over D-Bus (verb-vm.c); verb_launch_bus() is "launch" without --connect. */
int verb_list(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_stop(int argc, char *argv[]);
int verb_token(int argc, char *argv[]);
int verb_attest(int argc, char *argv[]);
int verb_launch_bus(int argc, char *argv[]);

/* "cvmctl verify TEE ...": argv[0] is the TEE name, getopt already reset. */
int verify_snp_main(int argc, char *argv[]);
int verify_tdx_main(int argc, char *argv[]);
int verify_gpu_main(int argc, char *argv[]);
