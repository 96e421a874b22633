/* SPDX-License-Identifier: Apache-2.0 */
/* kds-server: a local stand-in for AMD KDS (spec §10), for the integration tests. Serves
 *   GET /{vcek,vlek}/v1/<P>/cert_chain   from ROOT/{vcek,vlek}/v1/<P>/cert_chain
 *   GET /{vcek,vlek}/v1/<P>/crl          from ROOT/{vcek,vlek}/v1/<P>/crl
 *   GET /vcek/v1/<P>/<hwid>?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..[&fmcSPL=..]
 *                                        from ROOT/vcek/v1/<P>/<hwid>.der
 * on 127.0.0.1 only. Like the real KDS, a VCEK is served only when the requested SPLs are the
 * ones in the certificate: another TCB is another certificate, so the answer is 404.
 *
 *   kds-server --root DIR --port-file FILE [--throttle N] [--retry-after SEC] [--log FILE]
 */
#include <ctype.h>
#include <getopt.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/snp.h"
#include "cvm/util.h"
#include "../common/loopback-http.h"

static const char *arg_root;
static const char *arg_port_file;
static const char *arg_log;
static unsigned arg_throttle;
static unsigned arg_retry_after = 1;

static FILE *log_file;
static unsigned long n_requests; /* MHD_USE_INTERNAL_POLLING_THREAD: one thread runs the handler */

static void help(void) {
        printf("Usage: kds-server --root DIR --port-file FILE [--throttle N] [--retry-after SEC] [--log FILE]\n"
               "\n"
               "A KDS-shaped HTTP server on 127.0.0.1 (ephemeral port, written to FILE) for tests.\n"
               "  --root DIR          files laid out like the URLs: vcek/v1/<P>/cert_chain, .../crl,\n"
               "                      vcek/v1/<P>/<hwid-hex>.der, vlek/v1/<P>/cert_chain, ...\n"
               "  --port-file FILE    where the port number is written once the server listens\n"
               "  --throttle N        answer the first N requests with 429 Too Many Requests\n"
               "  --retry-after SEC   the Retry-After those 429 answers carry (default 1)\n"
               "  --log FILE          append one line per request: METHOD PATH?QUERY STATUS\n");
}

/* Path components: [A-Za-z0-9_-]+, so no '..', no '/', nothing odd. */
static bool component_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 160)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

typedef struct Query {
        char buf[512];
        size_t len;
} Query;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        Query *q = cls;
        int k;

        if (q->len >= sizeof(q->buf))
                return MHD_NO;
        k = snprintf(q->buf + q->len, sizeof(q->buf) - q->len, "%s%s=%s", q->len ? "&" : "?", key,
                     value ? value : "");
        if (k < 0 || (size_t) k >= sizeof(q->buf) - q->len) {
                q->len = sizeof(q->buf);
                return MHD_NO;
        }
        q->len += (size_t) k;
        return MHD_YES;
}

static void log_request(struct MHD_Connection *conn, const char *method, const char *url, unsigned status) {
        Query q = {};

        if (!log_file)
                return;
        (void) MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
        fprintf(log_file, "%s %s%s %u\n", method, url, q.len < sizeof(q.buf) ? q.buf : "?...", status);
        fflush(log_file);
}

static enum MHD_Result respond(struct MHD_Connection *conn, const char *method, const char *url, unsigned status,
                               uint8_t *body, size_t size, const char *content_type) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        log_request(conn, method, url, status);
        if (body)
                resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        else {
                static const char empty[] = "";
                const char *text = status == 404 ? "Not Found\n" : status == 400 ? "Bad Request\n" : empty;
                resp = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_PERSISTENT);
                content_type = "text/plain";
        }
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        if (content_type)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        if (status == 429) {
                char v[16];
                snprintf(v, sizeof(v), "%u", arg_retry_after);
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
        }
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* A decimal SPL query value: 0..255. -1 when absent, -2 when malformed. */
static int query_spl(struct MHD_Connection *conn, const char *name) {
        const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
        unsigned n = 0;

        if (!v)
                return -1;
        if (!*v || strlen(v) > 3)
                return -2;
        for (const char *p = v; *p; p++) {
                if (!isdigit((unsigned char) *p))
                        return -2;
                n = n * 10 + (unsigned) (*p - '0');
        }
        return n <= 255 ? (int) n : -2;
}

/* Serves a VCEK only for exactly the SPLs in its extensions. */
static unsigned serve_vcek(struct MHD_Connection *conn, const char *product, const char *hwid, uint8_t **ret,
                           size_t *ret_size) {
        _cleanup_free_ char *path = NULL, *lower = NULL, *reason = NULL, *cert_hwid = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        SnpLeafInfo info;
        struct {
                const char *name;
                int have;
        } spl[5];
        size_t size;

        lower = strdup(hwid);
        if (!lower)
                return 500;
        for (char *p = lower; *p; p++) {
                if (!isxdigit((unsigned char) *p))
                        return 404;
                *p = (char) tolower((unsigned char) *p);
        }
        path = strdup_printf("%s/vcek/v1/%s/%s.der", arg_root, product, lower);
        if (!path)
                return 500;
        if (read_file_bounded(path, CVM_INPUT_MAX, &data, &size) < 0)
                return 404;
        if (x509_parse_one(data, size, &cert) < 0 || snp_leaf_info_parse(cert, &info, &reason) < 0) {
                fprintf(stderr, "kds-server: %s: not a VCEK with AMD extensions: %s\n", path, reason ? reason : "");
                return 500;
        }
        cert_hwid = hex_encode(info.hwid, info.hwid_size);
        if (!cert_hwid || !streq(cert_hwid, lower)) {
                fprintf(stderr, "kds-server: %s: its hwID is %s, not the file name's\n", path,
                        cert_hwid ? cert_hwid : "?");
                return 500;
        }

        spl[0].name = "blSPL", spl[0].have = info.bl_spl;
        spl[1].name = "teeSPL", spl[1].have = info.tee_spl;
        spl[2].name = "snpSPL", spl[2].have = info.snp_spl;
        spl[3].name = "ucodeSPL", spl[3].have = info.ucode_spl;
        spl[4].name = "fmcSPL", spl[4].have = info.fmc_spl; /* -1 unless Turin */
        for (size_t i = 0; i < ELEMENTSOF(spl); i++) {
                int want = query_spl(conn, spl[i].name);

                if (want == -2 || (want == -1 && spl[i].have >= 0))
                        return 400; /* missing or malformed parameter */
                if (want != spl[i].have)
                        return 404; /* another TCB: a certificate this server does not have */
        }
        *ret = TAKE_PTR(data);
        *ret_size = size;
        return 200;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
        static int first_call_marker;
        _cleanup_free_ char *copy = NULL, *path = NULL;
        _cleanup_free_ uint8_t *body = NULL;
        const char *content_type = NULL;
        char *parts[5], *save = NULL, *tok;
        size_t n = 0, size = 0;
        unsigned status;

        if (!*req_cls) { /* headers only so far */
                *req_cls = &first_call_marker;
                return MHD_YES;
        }
        n_requests++;
        if (!streq(method, "GET"))
                return respond(conn, method, url, 405, NULL, 0, NULL);
        if (n_requests <= arg_throttle)
                return respond(conn, method, url, 429, NULL, 0, NULL);

        copy = strdup(url);
        if (!copy)
                return MHD_NO;
        if (copy[0] != '/' || strstr(copy, "//"))
                return respond(conn, method, url, 404, NULL, 0, NULL);
        for (tok = strtok_r(copy + 1, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                if (n >= ELEMENTSOF(parts) || !component_is_valid(tok))
                        return respond(conn, method, url, 404, NULL, 0, NULL);
                parts[n++] = tok;
        }
        if (n != 4 || (!streq(parts[0], "vcek") && !streq(parts[0], "vlek")) || !streq(parts[1], "v1"))
                return respond(conn, method, url, 404, NULL, 0, NULL);

        if (streq(parts[3], "cert_chain") || streq(parts[3], "crl")) {
                path = strdup_printf("%s/%s/v1/%s/%s", arg_root, parts[0], parts[2], parts[3]);
                if (!path)
                        return MHD_NO;
                status = read_file_bounded(path, CVM_INPUT_MAX, &body, &size) < 0 ? 404 : 200;
                content_type = streq(parts[3], "crl") ? "application/pkix-crl" : "application/x-pem-file";
        } else if (streq(parts[0], "vcek")) {
                status = serve_vcek(conn, parts[2], parts[3], &body, &size);
                content_type = "application/pkix-cert";
        } else
                status = 404;

        if (status != 200)
                return respond(conn, method, url, status, NULL, 0, NULL);
        return respond(conn, method, url, status, TAKE_PTR(body), size, content_type);
}

static int parse_unsigned(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || v > 1000000 || s[0] == '-')
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "root", required_argument, NULL, 'r' },
                { "port-file", required_argument, NULL, 'p' },
                { "throttle", required_argument, NULL, 't' },
                { "retry-after", required_argument, NULL, 'a' },
                { "log", required_argument, NULL, 'l' },
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'r':
                        arg_root = optarg;
                        break;
                case 'p':
                        arg_port_file = optarg;
                        break;
                case 't':
                        if (parse_unsigned(optarg, &arg_throttle) < 0) {
                                fprintf(stderr, "kds-server: --throttle: '%s' is not a number\n", optarg);
                                return 2;
                        }
                        break;
                case 'a':
                        if (parse_unsigned(optarg, &arg_retry_after) < 0) {
                                fprintf(stderr, "kds-server: --retry-after: '%s' is not a number\n", optarg);
                                return 2;
                        }
                        break;
                case 'l':
                        arg_log = optarg;
                        break;
                default:
                        return 2;
                }
        if (!arg_root || !arg_port_file || optind < argc) {
                fprintf(stderr, "kds-server: --root and --port-file are required; see --help\n");
                return 2;
        }
        if (arg_log) {
                log_file = fopen(arg_log, "ae");
                if (!log_file) {
                        fprintf(stderr, "kds-server: %s: %s\n", arg_log, strerror(errno));
                        return 1;
                }
        }

        r = loopback_http_serve("kds-server", arg_port_file, on_request, NULL);
        if (log_file)
                fclose(log_file);
        return r;
}
