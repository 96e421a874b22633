/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl audit: cvmd's audit events, and with --verify the check of their hash chain. Reads the
 * store directly, read-only: verifying the log must not depend on the daemon that writes it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cvm/audit.h"
#include "cvm/cleanup.h"
#include "cvm/util.h"

static void audit_help(void) {
        printf("Usage: cvmctl audit [--state-dir DIR | --db FILE] [--since TIME] [--verify] [--json]\n"
               "\n"
               "Lists cvmd's audit events (launches, appraisals, key releases by key ID, stops,\n"
               "failures, state changes) from its audit store, opened read-only.\n"
               "\n"
               "  --state-dir DIR  cvmd's state directory: DIR/audit.db\n"
               "                   (default $CVMD_STATE_DIR, else /var/lib/cvmd)\n"
               "  --db FILE        the audit store itself\n"
               "  --since TIME     only events at or after TIME: RFC 3339, or Unix seconds\n"
               "  --verify         also check every row's hash and the chain between rows, and name\n"
               "                   the first broken row (the whole store, whatever --since says)\n"
               "  --json           one JSON object on stdout\n"
               "  -h, --help       show this help\n"
               "\n"
               "Exit status: 0 listed (and the chain intact), 1 chain broken or not a readable audit\n"
               "store, 2 usage error or no such file.\n");
}

typedef struct Args {
        const char *state_dir, *db;
        int64_t since;
        bool verify, json;
} Args;

static int parse_since(const char *s, int64_t *ret) {
        uint64_t v;

        if (*s >= '0' && *s <= '9' && !strchr(s, '-')) {
                int r = cli_parse_uint("--since", s, 0, INT64_MAX, &v);
                if (r != 0)
                        return r;
                *ret = (int64_t) v;
                return 0;
        }
        if (parse_rfc3339(s, ret) < 0)
                return cli_usage_error("--since: '%s' is not an RFC 3339 time (2025-01-31T12:00:00Z) or Unix seconds",
                                       s);
        return 0;
}

static int parse_args(int argc, char *argv[], Args *a) {
        enum { ARG_STATE_DIR = 0x100, ARG_DB, ARG_SINCE, ARG_VERIFY, ARG_JSON };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"state-dir", required_argument, NULL, ARG_STATE_DIR},
                {"db", required_argument, NULL, ARG_DB},
                {"since", required_argument, NULL, ARG_SINCE},
                {"verify", no_argument, NULL, ARG_VERIFY},
                {"json", no_argument, NULL, ARG_JSON},
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        audit_help();
                        return -1;
                case ARG_STATE_DIR:
                        a->state_dir = optarg;
                        break;
                case ARG_DB:
                        a->db = optarg;
                        break;
                case ARG_SINCE:
                        r = parse_since(optarg, &a->since);
                        if (r != 0)
                                return r;
                        break;
                case ARG_VERIFY:
                        a->verify = true;
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                default:
                        return cli_usage_error("unknown option '%s'", argv[optind - 1]);
                }
        if (optind != argc)
                return cli_usage_error("audit: unexpected argument '%s'", argv[optind]);
        if (a->state_dir && a->db)
                return cli_usage_error("audit: --state-dir and --db cannot be combined");
        return 0;
}

static char *db_path(const Args *a) {
        const char *dir = a->state_dir ?: getenv("CVMD_STATE_DIR");

        if (a->db)
                return strdup(a->db);
        if (dir && *dir)
                return strdup_printf("%s/audit.db", dir);
        return strdup(AUDIT_DB_DEFAULT);
}

static int print_row(const AuditEvent *e, void *userdata) {
        const char *kind = audit_kind_to_string(e->kind);
        char t[32];

        printf("%6" PRId64 "  %-20s  %-11s  %-20s  %s\n", e->id, format_rfc3339(e->time, t, sizeof(t)),
               kind ?: "unknown", e->vm_name ?: "-", e->details);
        return 0;
}

static int add_json_row(const AuditEvent *e, void *userdata) {
        json_object *o = audit_event_to_json(e);

        if (!o)
                return -ENOMEM;
        if (json_object_array_add(userdata, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return 0;
}

typedef struct Check {
        bool ok;
        int64_t n_events, first_broken;
        char *reason;
} Check;

static void check_done(Check *c) {
        free(c->reason);
}

/* 0 with the outcome in *c (intact or broken), or EXIT_REJECTED when the store is unreadable. */
static int check_chain(AuditStore *s, Check *c) {
        int r = audit_verify(s, &c->n_events, &c->first_broken, &c->reason);

        if (r < 0 && r != -EBADMSG)
                return cli_error(EXIT_REJECTED, "audit store: %s", c->reason ?: strerror(-r));
        c->ok = r >= 0;
        return 0;
}

static int output_json(AuditStore *s, const Args *a, const Check *c) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *events = json_object_new_array();
        _cleanup_free_ char *reason = NULL;
        int r;

        if (!o || !events)
                return cli_error(EXIT_REJECTED, "out of memory");
        r = audit_foreach(s, a->since, add_json_row, events, &reason);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "audit store: %s", reason ?: strerror(-r));
        json_object_object_add(o, "ok", json_object_new_boolean(!a->verify || c->ok));
        json_object_object_add(o, "events", TAKE_PTR(events));
        if (a->verify) {
                json_object_object_add(o, "chain_ok", json_object_new_boolean(c->ok));
                json_object_object_add(o, "first_broken_id", c->ok ? NULL : json_object_new_int64(c->first_broken));
                json_object_object_add(o, "reason", c->ok ? NULL : json_object_new_string(c->reason ?: "broken"));
        }
        if (cli_print_json(o, true) < 0)
                return cli_error(EXIT_REJECTED, "cannot write the output");
        return a->verify && !c->ok ? EXIT_REJECTED : EXIT_ACCEPTED;
}

static int output_text(AuditStore *s, const Args *a, const Check *c) {
        _cleanup_free_ char *reason = NULL;
        int r;

        printf("%6s  %-20s  %-11s  %-20s  %s\n", "ID", "TIME", "KIND", "VM", "DETAILS");
        r = audit_foreach(s, a->since, print_row, NULL, &reason);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "audit store: %s", reason ?: strerror(-r));
        if (!a->verify)
                return EXIT_ACCEPTED;
        if (c->ok) {
                printf("chain: intact, %" PRId64 " events\n", c->n_events);
                return EXIT_ACCEPTED;
        }
        printf("chain: BROKEN at row %" PRId64 ": %s\n", c->first_broken, c->reason ?: "broken");
        return EXIT_REJECTED;
}

int verb_audit(int argc, char *argv[]) {
        _cleanup_(audit_closep) AuditStore *s = NULL;
        _cleanup_free_ char *path = NULL, *reason = NULL;
        Args a = {};
        _cleanup_(check_done) Check c = {};
        int r;

        r = parse_args(argc, argv, &a);
        if (r < 0)
                return EXIT_ACCEPTED; /* --help */
        if (r > 0)
                return r;
        path = db_path(&a);
        if (!path)
                return cli_error(EXIT_REJECTED, "out of memory");
        /* Read-only: never creates the file, never changes a byte of the log it checks. */
        r = audit_open(path, true, &s, &reason);
        if (r < 0)
                return cli_error(r == -ENOENT || r == -EACCES ? EXIT_USAGE : EXIT_REJECTED, "%s",
                                 reason ?: strerror(-r));
        if (a.verify) {
                r = check_chain(s, &c);
                if (r != 0)
                        return r;
        }
        return a.json ? output_json(s, &a, &c) : output_text(s, &a, &c);
}
