/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cvm/util.h"
#include "cvm/verdict.h"

/* What the running verb needs to keep the "one JSON object on stdout whatever the outcome"
 * promise: whether --json was given, whether an object was written, and the last error. */
static struct {
        char verb[64];
        bool json;
        bool printed;
        char *last_error;
} cli = { .verb = "" };

void cli_begin_verb(const char *verb, bool json) {
        snprintf(cli.verb, sizeof(cli.verb), "%s", verb);
        cli.json = json;
        cli.printed = false;
        cli.last_error = mfree_str(cli.last_error);
}

void cli_set_verb(const char *verb) {
        snprintf(cli.verb, sizeof(cli.verb), "%s", verb);
}

static void record_error(const char *fmt, va_list ap) {
        char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                return;
        free(cli.last_error);
        cli.last_error = s;
        fprintf(stderr, "cvmctl: %s\n", s);
}

int cli_usage_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        record_error(fmt, ap);
        va_end(ap);
        if (cli.verb[0])
                fprintf(stderr, "Try 'cvmctl %s --help'.\n", cli.verb);
        else
                fputs("Try 'cvmctl --help'.\n", stderr);
        return EXIT_USAGE;
}

int cli_error(int exit_code, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        record_error(fmt, ap);
        va_end(ap);
        return exit_code;
}

void cli_progress(void *userdata, const char *message) {
        fprintf(stderr, "cvmctl: %s\n", message);
}

int cli_read_file(const char *path, uint8_t **ret, size_t *ret_size) {
        int r = read_file_bounded(path, CVM_INPUT_MAX, ret, ret_size);

        if (r == -EFBIG)
                (void) cli_error(EXIT_USAGE, "%s: file is larger than %u bytes, refusing to read it", path,
                                 CVM_INPUT_MAX);
        else if (r == -EBADFD) /* a FIFO, a device, a socket: never opened for reading */
                (void) cli_error(EXIT_USAGE, "%s: not a regular file", path);
        else if (r < 0)
                (void) cli_error(EXIT_USAGE, "%s: cannot read: %s", path, strerror(-r));
        return r;
}

static bool dir_entry_wanted(const char *name, const char *suffix) {
        size_t n = strlen(name), k = suffix ? strlen(suffix) : 0;

        return name[0] != '.' && (!suffix || (n > k && streq(name + n - k, suffix)));
}

int cli_dir_foreach(const char *dir, const char *suffix, int (*f)(void *userdata, const char *path), void *userdata) {
        struct dirent **names = NULL;
        int n, rc = 0;

        n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
                return cli_error(EXIT_USAGE, "%s: cannot list directory: %m", dir);
        for (int i = 0; i < n; i++) {
                if (rc == 0 && dir_entry_wanted(names[i]->d_name, suffix)) {
                        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, names[i]->d_name);

                        rc = path ? f(userdata, path) : cli_error(EXIT_REJECTED, "out of memory");
                }
                free(names[i]);
        }
        free(names);
        return rc;
}

int cli_print_json(json_object *o, bool pretty) {
        const char *s = json_object_to_json_string_ext(
                o, (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN) | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!s)
                return -ENOMEM;
        if (puts(s) < 0)
                return -EIO;
        cli.printed = true;
        return 0;
}

int cli_end_verb(int exit_code) {
        /* A verb that failed before it could print its own object still owes one. */
        if (cli.json && !cli.printed && exit_code != EXIT_ACCEPTED) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();

                if (o) {
                        json_object_object_add(o, "ok", json_object_new_boolean(false));
                        json_object_object_add(o, "error", json_object_new_string(cli.last_error ? cli.last_error : "failed"));
                        json_object_object_add(o, "exit_status", json_object_new_int(exit_code));
                        (void) cli_print_json(o, true);
                }
        }
        cli.last_error = mfree_str(cli.last_error);
        return cli_finish_stdout(exit_code);
}

int cli_parse_options(const CliParser *p, int argc, char *argv[]) {
        int c, r;

        while ((c = getopt_long(argc, argv, "h", p->options, NULL)) >= 0) {
                if (c == 'h') {
                        p->help();
                        return EXIT_ACCEPTED;
                }
                if (c == '?')
                        return p->verb ? cli_usage_error("%s: invalid option '%s'", p->verb, argv[optind - 1])
                                       : cli_usage_error("unknown option '%s'", argv[optind - 1]);
                r = p->shared ? p->shared(p->shared_args, c, optarg) : 0;
                if (r == 0)
                        r = p->own(p->args, c, optarg);
                else if (r == 1)
                        r = 0;
                if (r != 0)
                        return r;
        }
        return CLI_GO_ON;
}

int cli_parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        if (*s < '0' || *s > '9')
                return cli_usage_error("%s: '%s' is not a number", opt, s);
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end || v < min || v > max)
                return cli_usage_error("%s: '%s' is not a number from %" PRIu64 " to %" PRIu64, opt, s, min, max);
        *ret = v;
        return 0;
}

int cli_parse_at(const char *s, int64_t *ret) {
        if (streq(s, "now")) {
                *ret = (int64_t) time(NULL);
                return 0;
        }
        if (parse_rfc3339(s, ret) < 0)
                return cli_usage_error("--at: '%s' is not an RFC 3339 time (for example 2025-01-31T12:00:00Z)", s);
        return 0;
}

int cli_finish_stdout(int exit_code) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "cvmctl: cannot write to standard output: %s\n", strerror(errno));
                return exit_code == EXIT_ACCEPTED ? EXIT_REJECTED : exit_code;
        }
        return exit_code;
}

int cli_print_verdict(const Verdict *v, bool json) {
        if (json) {
                _cleanup_(json_object_putp) json_object *o = verdict_to_json(v);
                if (!o || cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the verdict");
        } else
                verdict_print(v, stdout);
        return v->accepted && !v->oom ? EXIT_ACCEPTED : EXIT_REJECTED;
}
