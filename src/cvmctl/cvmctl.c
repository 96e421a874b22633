/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl: the operator's tool. Offline verbs (verify, collateral) need no daemon. */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "cli.h"
#include "cvm/xml-quiet.h"

#ifndef CVM_VERSION
#define CVM_VERSION "0.1.0"
#endif

typedef struct Verb {
        const char *name;
        int min_args; /* counted without the verb itself */
        int (*run)(int argc, char *argv[]);
        const char *usage;
        const char *summary;
} Verb;

static const Verb verbs[] = {
        { "verify", 1, verb_verify, "verify snp|tdx|gpu EVIDENCE...", "verify attestation evidence against pinned roots" },
        { "launch", 1, verb_launch, "launch SPEC [--wait] [--json]", "attestation-gated launch through cvmd (--connect: in-process)" },
        { "list", 0, verb_list, "list", "the VMs cvmd knows and their states" },
        { "status", 1, verb_status, "status NAME", "one VM: state, reason, appraisal, keys" },
        { "stop", 1, verb_stop, "stop NAME", "stop a VM: its domain is destroyed" },
        { "token", 1, verb_token, "token NAME", "the result token (JWT) of a running VM" },
        { "attest", 1, verb_attest, "attest NAME", "attest a running VM again; its keys released anew" },
        { "attest-guest", 0, verb_attest_guest, "attest-guest --channel ADDR ...", "one attestation exchange with a guest agent" },
        { "sim", 1, verb_sim, "sim init DIR", "simulated SNP, TDX and GPU platforms for development" },
        { "collateral", 1, verb_collateral, "collateral fetch|list ...", "the host's collateral cache: fill it, show it" },
        { "key", 1, verb_key, "key wrap|list|check ...", "wrapped data keys and their KEKs" },
        { "render", 1, verb_render, "render SPEC ...", "the domain XML for a launch spec" },
        { "host", 0, verb_host, "host [--connect URI]", "what this host offers confidential guests" },
        { "audit", 0, verb_audit, "audit [--since TIME] [--verify]", "cvmd's audit events and their hash chain" },
        { "measure", 1, verb_measure, "measure snp|snp-id-block|tdx ...", "predict a guest's launch measurement" },
        { "eventlog", 2, verb_eventlog, "eventlog tdx CCEL_DATA [--quote QUOTE]", "replay a TDX event log into RTMR0-3" },
};

static void help(void) {
        printf("cvmctl - operate cvmd and verify confidential-computing evidence\n"
               "\n"
               "Usage: cvmctl [--help] [--version] VERB [ARGS...]\n"
               "\n"
               "Verbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-34s %s\n", verbs[i].usage, verbs[i].summary);
        printf("\n"
               "Each verb takes --help. Exit status: 0 accepted or done, 1 rejected or failed,\n"
               "2 usage error or unreadable input.\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int c;

        /* Nothing secret passes through cvmctl today, but keys will: no core dumps, ever. */
        (void) prctl(PR_SET_DUMPABLE, 0);
        xml_quiet_errors();

        /* '+': stop at the first non-option, the verb; its own options follow it. */
        while ((c = getopt_long(argc, argv, "+hV", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return cli_finish_stdout(0);
                case 'V':
                        printf("cvmctl %s\n", CVM_VERSION);
                        return cli_finish_stdout(0);
                default:
                        return cli_usage_error("unknown option '%s'", argv[optind - 1]);
                }

        if (optind >= argc)
                return cli_usage_error("missing verb");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                int verb_argc = argc - optind;
                char **verb_argv = argv + optind;
                bool wants_help = false, wants_json = false;

                if (!streq(verb_argv[0], verbs[i].name))
                        continue;
                /* --help is honoured whatever else is missing */
                for (int k = 1; k < verb_argc && !streq(verb_argv[k], "--"); k++) {
                        if (streq(verb_argv[k], "--help") || streq(verb_argv[k], "-h"))
                                wants_help = true;
                        if (streq(verb_argv[k], "--json"))
                                wants_json = true;
                }
                cli_begin_verb(verbs[i].name, !wants_help && wants_json);
                if (!wants_help && verb_argc - 1 < verbs[i].min_args)
                        return cli_end_verb(cli_usage_error("'%s' needs more arguments: cvmctl %s", verbs[i].name,
                                               verbs[i].usage));
                optind = 0; /* re-initialise getopt for the verb's own options */
                return cli_end_verb(verbs[i].run(verb_argc, verb_argv));
        }
        return cli_usage_error("unknown verb '%s'", argv[optind]);
}
