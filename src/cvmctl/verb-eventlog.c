/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl eventlog tdx CCEL_DATA [--table CCEL_TABLE] [--quote QUOTE]: parses a TDX guest's CC
 * event log (the ACPI CCEL log area, /sys/firmware/acpi/tables/data/CCEL in the guest), replays
 * RTMR0-3 and, given the guest's quote, says whether the replay matches the quote's RTMRs. The
 * quote is only read for its RTMRs here; 'cvmctl verify tdx' verifies it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cvm/cleanup.h"
#include "cvm/eventlog-boot.h"
#include "cvm/tdx-measure.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

static void help(void) {
        printf("Usage: cvmctl eventlog tdx CCEL_DATA [--table CCEL_TABLE] [--quote QUOTE] [--json]\n"
               "\n"
               "Parses a TDX guest's CC event log (TCG2 crypto-agile format, as the firmware writes\n"
               "it into the ACPI CCEL log area), replays RTMR0-3 and lists the events. With\n"
               "--quote, compares the replay with the quote's RTMRs. Also says what the log names\n"
               "as booted (the kernel, initrd and command-line digests) and the workloads\n"
               "cvm-agent measured into RTMR3: the guest's word unless the quote matches.\n"
               "\n"
               "  --table FILE      the ACPI CCEL table: checked, and its log area length bounds\n"
               "                    the log\n"
               "  --quote FILE      a TDX quote (v4 or v5) whose RTMRs the replay must equal; its\n"
               "                    signature is not checked here (use 'cvmctl verify tdx')\n"
               "  --json            print {\"rtmr0\", ..., \"rtmr3\", \"events\": [...], \"booted\", \"quote_match\"}\n"
               "  -h --help         this help\n"
               "\n"
               "Exit status: 0 parsed (and matching the quote), 1 malformed log or table, or a\n"
               "replay that does not match the quote, 2 usage error or unreadable file.\n");
}

enum { ARG_TABLE = 0x100, ARG_QUOTE, ARG_JSON };

typedef struct EventlogArgs {
        const char *table, *quote;
        bool json;
} EventlogArgs;

static int eventlog_option(void *args, int c, const char *arg) {
        EventlogArgs *a = args;

        if (c == ARG_TABLE)
                a->table = arg;
        else if (c == ARG_QUOTE)
                a->quote = arg;
        else if (c == ARG_JSON)
                a->json = true;
        return 0;
}

static void print_text(const CcEventLog *log) {
        for (unsigned i = 0; i < TDX_RTMRS; i++) {
                _cleanup_free_ char *hex = hex_encode(log->rtmr[i], TDX_MR_SIZE);
                printf("rtmr%u: %s\n", i, hex ? hex : "?");
        }
        printf("events: %zu\n", log->n_events);
        for (size_t i = 0; i < log->n_events; i++) {
                const CcEvent *ev = &log->events[i];
                const char *name = tcg_event_type_to_string(ev->type);
                _cleanup_free_ char *digest = hex_encode(ev->digest, TDX_MR_SIZE);
                char type[16];

                if (!name) {
                        snprintf(type, sizeof(type), "0x%08x", ev->type);
                        name = type;
                }
                if (ev->type == TCG_EV_NO_ACTION)
                        printf("  %4zu  -      %-34s (not extended)\n", i, name);
                else
                        printf("  %4zu  rtmr%u  %-34s %s\n", i, ev->mr_index - 1, name, digest ? digest : "?");
        }
}

static void print_booted(json_object *booted) {
        static const char *const parts[] = { "kernel", "initrd", "cmdline" };
        json_object *v, *list;

        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                if (json_object_object_get_ex(booted, parts[i], &v))
                        printf("booted %-8s sha384:%s\n", parts[i], json_object_get_string(v));
        if (!json_object_object_get_ex(booted, "workloads", &list))
                return;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *w = json_object_array_get_idx(list, i), *d, *desc;

                if (json_object_object_get_ex(w, "digest", &d) && json_object_object_get_ex(w, "description", &desc))
                        printf("workload        sha384:%s %s\n", json_object_get_string(d), json_object_get_string(desc));
        }
}

static int tdx_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "table", required_argument, NULL, ARG_TABLE },
                { "quote", required_argument, NULL, ARG_QUOTE },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        EventlogArgs a = {};
        const CliParser p = { .options = options, .help = help, .verb = "eventlog tdx", .own = eventlog_option,
                              .args = &a };
        _cleanup_free_ uint8_t *data = NULL, *table = NULL, *quote = NULL;
        _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL, *booted = NULL;
        _cleanup_free_ char *reason = NULL, *mismatch = NULL;
        PolicyMeasuredBoot boot;
        size_t size, table_size, quote_size;
        int r, match = -1;

        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        if (optind >= argc)
                return cli_usage_error("eventlog tdx: missing CCEL_DATA");
        if (optind + 1 < argc)
                return cli_usage_error("eventlog tdx: unexpected argument '%s'", argv[optind + 1]);
        if (cli_read_file(argv[optind], &data, &size) < 0 || (a.table && cli_read_file(a.table, &table, &table_size) < 0) ||
            (a.quote && cli_read_file(a.quote, &quote, &quote_size) < 0))
                return EXIT_USAGE;

        if (table) {
                CcelTable t;
                if (ccel_table_parse(table, table_size, &t, &reason) < 0)
                        return cli_error(EXIT_REJECTED, "%s: %s", a.table, reason);
                /* the log lies in the table's log area; what follows it in a dump is not the log */
                if (t.laml < size)
                        size = (size_t) t.laml;
        }
        r = cc_eventlog_parse(data, size, &log, &reason);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r < 0)
                return cli_error(EXIT_REJECTED, "%s: %s", argv[optind], reason);
        if (quote) {
                TdxQuote q;
                if (tdx_quote_parse(quote, quote_size, &q, &reason) < 0)
                        return cli_error(EXIT_REJECTED, "%s: %s", a.quote, reason);
                match = cc_eventlog_match(log, (const uint8_t(*)[TDX_MR_SIZE]) q.rtmr, &mismatch);
                if (match < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
        }

        /* what the log says booted and runs: the guest's word until a quote's RTMRs match it */
        if (eventlog_read_boot(log, &boot, NULL, &booted) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (a.json) {
                o = cc_eventlog_to_json(log);
                if (!o || json_object_object_add(o, "booted", TAKE_PTR(booted)) < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (match >= 0 && (json_object_object_add(o, "quote_match", json_object_new_boolean(match)) < 0 ||
                                   (mismatch && json_object_object_add(o, "reason", json_object_new_string(mismatch)) < 0)))
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the output");
        } else {
                print_text(log);
                print_booted(booted);
                if (match == 1)
                        printf("quote: RTMR0-3 match the replay\n");
                (void) cli_finish_stdout(EXIT_ACCEPTED);
        }
        if (match == 0)
                return cli_error(EXIT_REJECTED, "%s", mismatch);
        return EXIT_ACCEPTED;
}

int verb_eventlog(int argc, char *argv[]) {
        if (argc < 2 || argv[1][0] == '-') {
                if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                        help();
                        return cli_finish_stdout(EXIT_ACCEPTED);
                }
                return cli_usage_error("eventlog: missing TEE (tdx)");
        }
        if (!streq(argv[1], "tdx"))
                return cli_usage_error("eventlog: unknown TEE '%s' (only tdx keeps a CC event log)", argv[1]);
        cli_set_verb("eventlog tdx");
        optind = 0;
        return tdx_main(argc - 1, argv + 1);
}
