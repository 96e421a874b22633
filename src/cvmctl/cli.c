/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cvm/util.h"
#include "cvm/verdict.h"

int cli_usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("cvmctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'cvmctl --help'.\n", stderr);
        return EXIT_USAGE;
}

int cli_error(int exit_code, const char *fmt, ...) {
        va_list ap;

        fputs("cvmctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return exit_code;
}

int cli_read_file(const char *path, uint8_t **ret, size_t *ret_size) {
        int r = read_file_bounded(path, CVM_INPUT_MAX, ret, ret_size);

        if (r == -EFBIG)
                fprintf(stderr, "cvmctl: %s: file is larger than %u bytes, refusing to read it\n", path,
                        CVM_INPUT_MAX);
        else if (r < 0)
                fprintf(stderr, "cvmctl: %s: cannot read: %s\n", path, strerror(-r));
        return r;
}

int cli_print_json(json_object *o, bool pretty) {
        const char *s = json_object_to_json_string_ext(
                o, (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN) | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!s)
                return -ENOMEM;
        if (puts(s) < 0)
                return -EIO;
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
