/* SPDX-License-Identifier: Apache-2.0 */
/* metrics-serve: cvmd's HTTP listener with the daemon's standard metrics (after a few
 * observations of every kind) and token keys from a state directory, for
 * tests/integration/test-metrics.sh. Signs one token, rotates the key, signs another, so the
 * JWKS it serves has a current and a previous key. Serves until SIGTERM or SIGINT.
 *
 *   metrics-serve --state-dir DIR --port-file FILE --token-file FILE --old-token-file FILE
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "cvm/cleanup.h"
#include "cvm/http-listener.h"
#include "cvm/metrics.h"
#include "cvm/token-keys.h"
#include "cvm/util.h"

static const char *arg_state_dir;
static const char *arg_port_file;
static const char *arg_token_file;
static const char *arg_old_token_file;

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                {"state-dir", required_argument, NULL, 's'},
                {"port-file", required_argument, NULL, 'p'},
                {"token-file", required_argument, NULL, 't'},
                {"old-token-file", required_argument, NULL, 'o'},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        arg_state_dir = optarg;
                        break;
                case 'p':
                        arg_port_file = optarg;
                        break;
                case 't':
                        arg_token_file = optarg;
                        break;
                case 'o':
                        arg_old_token_file = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (!arg_state_dir || !arg_port_file || !arg_token_file || !arg_old_token_file) {
                fprintf(stderr, "Usage: metrics-serve --state-dir DIR --port-file FILE --token-file FILE "
                                "--old-token-file FILE\n");
                return -EINVAL;
        }
        return 0;
}

/* Something in every family, so promtool sees every kind of sample. */
static int observe(Metrics *m) {
        int r = 0;

        if ((r = metrics_observe_attestation(m, CVM_TEE_SEV_SNP, true, 0.21)) < 0 ||
            (r = metrics_observe_attestation(m, CVM_TEE_SEV_SNP, false, 0.05)) < 0 ||
            (r = metrics_observe_attestation(m, CVM_TEE_TDX, true, 0.4)) < 0 ||
            (r = metrics_observe_attestation_phase(m, CVM_TEE_SEV_SNP, "evidence", 0.02)) < 0 ||
            (r = metrics_observe_attestation_phase(m, CVM_TEE_SEV_SNP, "appraise", 0.008)) < 0 ||
            (r = metrics_observe_tdx_quote(m, 0.031)) < 0 || (r = metrics_observe_launch_phase(m, "boot", 14.5)) < 0 ||
            (r = metrics_observe_launch_phase(m, "release", 0.3)) < 0 || (r = metrics_count_key_releases(m, 2)) < 0 ||
            (r = metrics_set_vms(m, "running", 1)) < 0 || (r = metrics_set_vms(m, "failed", 1)) < 0 ||
            (r = metrics_set_collateral_age(m, "amd", 3600)) < 0 ||
            (r = metrics_count_collateral_failure(m, "intel")) < 0)
                return r;
        /* label values that need escaping: quote, backslash, newline */
        if ((r = metrics_add_counter(m, "metrics_serve_escaping_total", "Label values with \\ and \"quotes\".",
                                     METRIC_LABELS("value"))) < 0)
                return r;
        return metrics_counter_add(m, "metrics_serve_escaping_total", METRIC_LABELS("a\"b\\c\nd"), 1);
}

static int sign_to(TokenKeys *k, int64_t now, const char *path) {
        _cleanup_(json_object_putp) json_object *claims = json_object_new_object();
        _cleanup_free_ char *token = NULL, *line = NULL;
        int r;

        if (!claims)
                return -ENOMEM;
        json_object_object_add(claims, "iss", json_object_new_string("cvmd"));
        json_object_object_add(claims, "iat", json_object_new_int64(now));
        json_object_object_add(claims, "exp", json_object_new_int64(now + TOKEN_KEYS_OVERLAP_SEC_DEFAULT));
        json_object_object_add(claims, "eat_nonce", json_object_new_string("bWV0cmljcy1zZXJ2ZQ"));
        json_object_object_add(claims, "ear.status", json_object_new_string("affirming"));
        r = token_keys_sign(k, claims, &token);
        if (r < 0)
                return r;
        line = strdup_printf("%s\n", token);
        if (!line)
                return -ENOMEM;
        return write_file_atomic(path, line, strlen(line), 0644);
}

int main(int argc, char *argv[]) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_(token_keys_freep) TokenKeys *k = NULL;
        _cleanup_(http_listener_freep) HttpListener *l = NULL;
        _cleanup_free_ char *reason = NULL, *port = NULL;
        int64_t now = (int64_t) time(NULL);
        sigset_t mask;
        int r, sig;

        if (parse_argv(argc, argv) < 0)
                return 2;
        /* blocked before the listener's thread starts, so that it inherits the mask */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = cvmd_metrics_new(&m);
        if (r >= 0)
                r = observe(m);
        if (r < 0) {
                fprintf(stderr, "metrics-serve: metrics: %s\n", strerror(-r));
                return 1;
        }
        r = token_keys_open(arg_state_dir, TOKEN_KEYS_ROTATE_SEC_DEFAULT, TOKEN_KEYS_OVERLAP_SEC_DEFAULT, now, &k,
                            &reason);
        if (r >= 0)
                r = sign_to(k, now, arg_old_token_file);
        if (r >= 0)
                r = token_keys_rotate(k, now, &reason);
        if (r >= 0)
                r = sign_to(k, now, arg_token_file);
        if (r < 0) {
                fprintf(stderr, "metrics-serve: token keys: %s\n", reason ?: strerror(-r));
                return 1;
        }
        r = http_listener_start(&(HttpListenerSettings){.metrics = m, .token_keys = k}, &l, &reason);
        if (r < 0) {
                fprintf(stderr, "metrics-serve: %s\n", reason ?: strerror(-r));
                return 1;
        }
        port = strdup_printf("%u\n", (unsigned) http_listener_port(l));
        if (!port || write_file_atomic(arg_port_file, port, strlen(port), 0644) < 0) {
                fprintf(stderr, "metrics-serve: cannot write %s\n", arg_port_file);
                return 1;
        }
        (void) sigwait(&mask, &sig);
        return 0;
}
