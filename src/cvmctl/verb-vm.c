/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl's verbs on cvmd's VMs, over D-Bus: launch (without --connect), list, status, stop,
 * token, attest. Each is a thin call of one Manager1 method; cvmd decides and checks everything. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-client.h"
#include "cli.h"
#include "cvm/cleanup.h"
#include "cvm/util.h"

#define EXIT_STATUS_HELP                                                                           \
        "Exit status: 0 done, 1 refused or failed (access denied, cvmd not running),\n"            \
        "2 usage error, invalid arguments or no such VM.\n"

static void vm_help(const char *verb) {
        if (streq(verb, "list"))
                printf("Usage: cvmctl list [--json]\n\n"
                       "Lists the VMs cvmd knows: name, state and the reason of the last change.\n");
        else if (streq(verb, "status"))
                printf("Usage: cvmctl status NAME [--json]\n\n"
                       "Shows one VM: state, reason, TEE, policy, domain, launch digest, whether its keys\n"
                       "were released and confirmed, and its appraisal.\n");
        else if (streq(verb, "attest"))
                printf("Usage: cvmctl attest NAME [--json]\n\n"
                       "Asks cvmd to attest a running VM again: a fresh exchange with its agent, appraised\n"
                       "under the policy in force, its keys released again and a new token. Waits for the\n"
                       "outcome; a refusal applies the policy's failure action (destroy, pause, quarantine).\n"
                       "Exit status 0 when it was accepted, 1 when it was refused.\n");
        else if (streq(verb, "stop"))
                printf("Usage: cvmctl stop NAME [--json]\n\n"
                       "Asks cvmd to stop a VM: its domain is destroyed and the VM ends stopped.\n");
        else
                printf("Usage: cvmctl token NAME [--json]\n\n"
                       "Prints the result token (a JWT signed by cvmd, verifiable with its JWKS at\n"
                       "/.well-known/jwks.json) of a running, attested VM.\n");
        printf("\n"
               "Options:\n"
               "  --json      one JSON object on stdout\n"
               "  -h --help   this help\n"
               "\n"
               "cvmd is reached on the system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured); callers must be\n"
               "root or in the cvmd group.\n"
               "\n" EXIT_STATUS_HELP);
}

/* --json and --help, then NAME where the verb takes one. Returns 0 to go on, -1 after --help,
 * or an exit code. */
static int parse_vm_args(int argc, char *argv[], bool want_name, const char **ret_name, bool *ret_json) {
        enum { ARG_JSON = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        vm_help(argv[0]);
                        return -1;
                case ARG_JSON:
                        *ret_json = true;
                        break;
                default:
                        return cli_usage_error("%s: invalid option '%s'", argv[0], argv[optind - 1]);
                }
        if (argc - optind != (want_name ? 1 : 0))
                return cli_usage_error(want_name ? "%s: needs one NAME" : "%s: takes no arguments", argv[0]);
        if (want_name)
                *ret_name = argv[optind];
        return 0;
}

/* The VM as cvmd describes it (Get): a JSON object. */
static int get_vm_json(sd_bus *bus, const char *name, json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *s;
        json_object *o;
        int r;

        if ((r = bus_client_call(bus, "Get", &reply, "s", name)) != 0)
                return r;
        if (sd_bus_message_read(reply, "s", &s) < 0 || !(o = json_tokener_parse(s)) ||
            !json_object_is_type(o, json_type_object))
                return cli_error(EXIT_REJECTED, "Get: cvmd's answer is not a JSON object");
        *ret = o;
        return 0;
}

static const char *strna(const char *s) {
        return s ? s : "-";
}

static const char *json_str(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool json_flag(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static void print_time(const char *label, json_object *o, const char *key) {
        json_object *v;
        char buf[64];
        struct tm tm;
        time_t t;

        if (!json_object_object_get_ex(o, key, &v))
                return;
        t = (time_t) (json_object_get_int64(v) / 1000000);
        if (t > 0 && gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
                printf("%-16s%s\n", label, buf);
}

static void print_status(json_object *o) {
        const char *reason = json_str(o, "reason"), *digest = json_str(o, "launch_digest");

        printf("%s - %s\n", strna(json_str(o, "name")), strna(json_str(o, "state")));
        if (reason && *reason)
                printf("%-16s%s\n", "Reason:", reason);
        printf("%-16s%s\n", "TEE:", strna(json_str(o, "tee")));
        printf("%-16s%s\n", "Policy:", strna(json_str(o, "policy")));
        printf("%-16s%s\n", "Domain:", strna(json_str(o, "domain")));
        printf("%-16s%s\n", "Launch digest:", digest ? digest : "-");
        printf("%-16s%s\n", "Keys released:",
               json_flag(o, "confirmed") ? "yes, confirmed" : json_flag(o, "released") ? "yes, unconfirmed" : "no");
        print_time("Created:", o, "created_usec");
        print_time("Changed:", o, "changed_usec");
}

int verb_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *vms = NULL;
        const char *name, *state, *reason, *path;
        bool json = false;
        size_t n = 0;
        int r;

        if ((r = parse_vm_args(argc, argv, false, NULL, &json)) != 0)
                return r < 0 ? EXIT_ACCEPTED : r;
        if ((r = bus_client_open(&bus)) != 0 || (r = bus_client_call(bus, "List", &reply, NULL)) != 0)
                return r;
        if (!(vms = json_object_new_array()) || sd_bus_message_enter_container(reply, 'a', "(ssso)") < 0)
                return cli_error(EXIT_REJECTED, "List: cannot read cvmd's answer");
        if (!json)
                printf("%-24s %-12s %s\n", "NAME", "STATE", "REASON");
        while ((r = sd_bus_message_read(reply, "(ssso)", &name, &state, &reason, &path)) > 0) {
                json_object *v = json_object_new_object();

                if (!v || json_object_array_add(vms, v) < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
                json_object_object_add(v, "name", json_object_new_string(name));
                json_object_object_add(v, "state", json_object_new_string(state));
                json_object_object_add(v, "reason", json_object_new_string(reason));
                json_object_object_add(v, "path", json_object_new_string(path));
                if (!json)
                        printf("%-24s %-12s %s\n", name, state, *reason ? reason : "-");
                n++;
        }
        if (r < 0)
                return cli_error(EXIT_REJECTED, "List: cannot read cvmd's answer: %s", strerror(-r));
        if (json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();

                if (!o || json_object_object_add(o, "vms", TAKE_PTR(vms)) < 0 || cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the list");
        } else
                printf("\n%zu VM%s.\n", n, n == 1 ? "" : "s");
        return EXIT_ACCEPTED;
}

int verb_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *name = NULL;
        bool json = false;
        int r;

        if ((r = parse_vm_args(argc, argv, true, &name, &json)) != 0)
                return r < 0 ? EXIT_ACCEPTED : r;
        if ((r = bus_client_open(&bus)) != 0 || (r = get_vm_json(bus, name, &o)) != 0)
                return r;
        if (json)
                return cli_print_json(o, true) < 0 ? cli_error(EXIT_REJECTED, "cannot write the status") : 0;
        print_status(o);
        return EXIT_ACCEPTED;
}

int verb_stop(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *name = NULL;
        bool json = false;
        int r;

        if ((r = parse_vm_args(argc, argv, true, &name, &json)) != 0)
                return r < 0 ? EXIT_ACCEPTED : r;
        if ((r = bus_client_open(&bus)) != 0 || (r = bus_client_call(bus, "Stop", NULL, "s", name)) != 0)
                return r;
        if (!json) {
                fprintf(stderr, "cvmctl: %s: stop requested\n", name);
                return EXIT_ACCEPTED;
        }
        if ((r = get_vm_json(bus, name, &o)) != 0)
                return r;
        return cli_print_json(o, true) < 0 ? cli_error(EXIT_REJECTED, "cannot write the status") : 0;
}

int verb_token(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name = NULL, *token;
        bool json = false;
        int r;

        if ((r = parse_vm_args(argc, argv, true, &name, &json)) != 0)
                return r < 0 ? EXIT_ACCEPTED : r;
        if ((r = bus_client_open(&bus)) != 0 || (r = bus_client_call(bus, "GetToken", &reply, "s", name)) != 0)
                return r;
        if (sd_bus_message_read(reply, "s", &token) < 0)
                return cli_error(EXIT_REJECTED, "GetToken: cannot read cvmd's answer");
        if (json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();

                if (!o || json_object_object_add(o, "name", json_object_new_string(name)) < 0 ||
                    json_object_object_add(o, "token", json_object_new_string(token)) < 0 || cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the token");
        } else
                printf("%s\n", token);
        return EXIT_ACCEPTED;
}

/* Long enough for an exchange whose every message may take its own timeout (cvmd's default 30 s). */
#define ATTEST_CALL_TIMEOUT_USEC (300ull * 1000000ull)

int verb_attest(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *name = NULL, *s, *reason;
        bool json = false;
        int accepted, r;

        if ((r = parse_vm_args(argc, argv, true, &name, &json)) != 0)
                return r < 0 ? EXIT_ACCEPTED : r;
        if ((r = bus_client_open(&bus)) != 0)
                return r;
        (void) sd_bus_set_method_call_timeout(bus, ATTEST_CALL_TIMEOUT_USEC);
        if ((r = bus_client_call(bus, "Attest", &reply, "s", name)) != 0)
                return r;
        if (sd_bus_message_read(reply, "bs", &accepted, &s) < 0 || !(o = json_tokener_parse(s)) ||
            !json_object_is_type(o, json_type_object))
                return cli_error(EXIT_REJECTED, "Attest: cvmd's answer is not a JSON object");
        if (json)
                return cli_print_json(o, true) < 0 ? cli_error(EXIT_REJECTED, "cannot write the VM")
                       : accepted                  ? EXIT_ACCEPTED
                                                   : EXIT_REJECTED;
        reason = json_str(o, "reason");
        if (accepted)
                printf("%s: running: attested again, keys released\n", name);
        else
                printf("%s: %s%s%s\n", name, strna(json_str(o, "state")), reason && *reason ? ": " : "",
                       reason ? reason : "");
        return accepted ? EXIT_ACCEPTED : EXIT_REJECTED;
}

/* ---- launch through cvmd ---- */

typedef struct LaunchWait {
        char *name;   /* known once Launch answers; signals queued before are dispatched after */
        char *state;  /* the final state */
        char *reason; /* and its reason */
        bool done;
        bool daemon_gone;
} LaunchWait;

static void launch_wait_done(LaunchWait *w) {
        free(w->name);
        free(w->state);
        free(w->reason);
}

static bool state_is_final(const char *state) {
        return streq(state, "running") || streq(state, "failed") || streq(state, "quarantined") ||
               streq(state, "stopped");
}

static int on_state_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        LaunchWait *w = userdata;
        const char *name, *state, *reason;

        if (sd_bus_message_read(m, "sss", &name, &state, &reason) < 0 || !w->name || !streq(name, w->name) || w->done)
                return 0;
        fprintf(stderr, "cvmctl: %s: %s%s%s\n", name, state, *reason ? ": " : "", reason);
        if (state_is_final(state)) {
                w->state = strdup(state);
                w->reason = strdup(reason);
                w->done = true;
        }
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        LaunchWait *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, CVMD_BUS_NAME))
                return 0;
        if (!*new_owner) {
                w->daemon_gone = true;
                w->done = true;
        }
        return 0;
}

/* Subscribed before Launch is called, so that no state change is missed. */
static int subscribe(sd_bus *bus, LaunchWait *w) {
        int r;

        r = sd_bus_match_signal(bus, NULL, CVMD_BUS_NAME, CVMD_MANAGER_PATH, CVMD_MANAGER_IFACE, "StateChanged",
                                on_state_changed, w);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" CVMD_BUS_NAME "'",
                                     on_owner_changed, w);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot subscribe to cvmd's signals: %s", strerror(-r));
        return 0;
}

static int wait_final(sd_bus *bus, LaunchWait *w) {
        int r;

        while (!w->done) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return cli_error(EXIT_REJECTED, "lost the connection to the bus: %s", strerror(-r));
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return cli_error(EXIT_REJECTED, "lost the connection to the bus: %s", strerror(-r));
        }
        if (w->daemon_gone)
                return cli_error(EXIT_REJECTED, "%s: cvmd left the bus before the launch ended", w->name);
        if (!w->state)
                return cli_error(EXIT_REJECTED, "out of memory");
        return 0;
}

static int read_spec(const char *path, char **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;

        if (cli_read_file(path, &data, &size) < 0)
                return EXIT_USAGE;
        if (memchr(data, 0, size))
                return cli_error(EXIT_USAGE, "%s: contains a NUL byte", path);
        *ret = strndup((const char *) data, size);
        return *ret ? 0 : cli_error(EXIT_REJECTED, "out of memory");
}

static int launch_report(sd_bus *bus, const LaunchWait *w, bool wait, const char *path, bool json) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int rc = !wait || streq(w->state, "running") ? EXIT_ACCEPTED : EXIT_REJECTED;
        int r;

        if (json) {
                if ((r = get_vm_json(bus, w->name, &o)) != 0)
                        return r;
                return cli_print_json(o, true) < 0 ? cli_error(EXIT_REJECTED, "cannot write the VM") : rc;
        }
        if (!wait) {
                fprintf(stderr, "cvmctl: %s: launched; follow it with 'cvmctl status %s'\n", w->name, w->name);
                printf("%s\n", path);
        } else if (rc == EXIT_ACCEPTED)
                printf("%s: running: attested, keys released\n", w->name);
        else
                printf("%s: %s%s%s\n", w->name, w->state, *w->reason ? ": " : "", w->reason);
        return rc;
}

int verb_launch_bus(int argc, char *argv[]) {
        enum { ARG_WAIT = 0x100, ARG_JSON };
        static const struct option options[] = {
                { "wait", no_argument, NULL, ARG_WAIT },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(launch_wait_done) LaunchWait w = {};
        _cleanup_free_ char *spec = NULL;
        bool wait = false, json = false;
        const char *path;
        int c, r;

        /* --help was routed to the in-process launch's help, which describes both forms */
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_WAIT:
                        wait = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                default:
                        return cli_usage_error("launch: '%s' is not an option of a launch through cvmd "
                                               "(the in-process launch needs --connect)",
                                               argv[optind - 1]);
                }
        if (optind + 1 != argc)
                return cli_usage_error(optind >= argc ? "launch: missing SPEC" : "launch: one SPEC only");
        if ((r = read_spec(argv[optind], &spec)) != 0 || (r = bus_client_open(&bus)) != 0)
                return r;
        if (wait && (r = subscribe(bus, &w)) != 0)
                return r;
        if ((r = bus_client_call(bus, "Launch", &reply, "s", spec)) != 0)
                return r;
        if (sd_bus_message_read(reply, "o", &path) < 0 || bus_client_vm_name(path, &w.name) < 0)
                return cli_error(EXIT_REJECTED, "Launch: cannot read cvmd's answer");
        if (wait && (r = wait_final(bus, &w)) != 0)
                return r;
        return launch_report(bus, &w, wait, path, json);
}
