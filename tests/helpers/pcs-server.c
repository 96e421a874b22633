/* SPDX-License-Identifier: Apache-2.0 */
/* pcs-server: a local stand-in for Intel PCS / a PCCS (shared/specs/tdx.md §10), for the
 * integration tests. Serves one collateral bundle directory on 127.0.0.1 only:
 *   GET /tdx/certification/v4/tcb?fmspc=<hex>         tcb_info.json + TCB-Info-Issuer-Chain
 *                                                     (404 unless fmspc is the bundle's)
 *   GET /tdx/certification/v4/qe/identity             qe_identity.json + SGX-Enclave-Identity-Issuer-Chain
 *   GET /sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der
 *                                                     pck_crl.der + SGX-PCK-CRL-Issuer-Chain
 *   GET /sgx/certification/v4/rootcacrl               root_ca_crl.der as hex text (as a PCCS does)
 * The issuer chains go out percent-encoded in the headers, as Intel sends them.
 *
 *   pcs-server --collateral DIR --port-file FILE [--log FILE]
 */
#include <getopt.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cvm/tdx.h"
#include "cvm/util.h"
#include "../common/loopback-http.h"

static const char *arg_dir;
static const char *arg_port_file;
static const char *arg_log;
static FILE *log_file;
static uint8_t bundle_fmspc[6];

static void help(void) {
        printf("Usage: pcs-server --collateral DIR --port-file FILE [--log FILE]\n"
               "\n"
               "An Intel PCS/PCCS-shaped HTTP server on 127.0.0.1 (ephemeral port, written to FILE)\n"
               "serving the seven-file collateral bundle in DIR, issuer chains in the headers.\n");
}

static char *percent_encode(const uint8_t *p, size_t n) {
        static const char digits[] = "0123456789ABCDEF";
        char *s = malloc(n * 3 + 1), *o = s;

        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                uint8_t c = p[i];
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr("-_.~", c)))
                        *o++ = (char) c;
                else {
                        *o++ = '%';
                        *o++ = digits[c >> 4];
                        *o++ = digits[c & 0xf];
                }
        }
        *o = 0;
        return s;
}

static int read_bundle_file(TdxCollateralFile f, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *p = strdup_printf("%s/%s", arg_dir, tdx_collateral_file_name(f));

        return p ? read_file_bounded(p, CVM_INPUT_MAX, ret, ret_size) : -ENOMEM;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        TdxCollateralFile body_file = _TDX_FILE_INVALID, chain_file = _TDX_FILE_INVALID;
        const char *header = NULL;
        _cleanup_free_ uint8_t *chain = NULL;
        _cleanup_free_ char *encoded = NULL;
        uint8_t *body = NULL;
        size_t size = 0, chain_size;
        unsigned status = 404;
        bool hex = false;
        struct MHD_Response *resp;
        enum MHD_Result ret;

        if (!streq(method, "GET"))
                status = 405;
        else if (streq(url, "/tdx/certification/v4/tcb")) {
                const char *fmspc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "fmspc");
                uint8_t want[6];
                if (fmspc && hex_decode_exact(fmspc, want, 6) >= 0 && memcmp(want, bundle_fmspc, 6) == 0) {
                        body_file = TDX_FILE_TCB_INFO;
                        chain_file = TDX_FILE_TCB_INFO_CHAIN;
                        header = "TCB-Info-Issuer-Chain";
                } else if (!fmspc)
                        status = 400;
        } else if (streq(url, "/tdx/certification/v4/qe/identity")) {
                body_file = TDX_FILE_QE_IDENTITY;
                chain_file = TDX_FILE_QE_IDENTITY_CHAIN;
                header = "SGX-Enclave-Identity-Issuer-Chain";
        } else if (streq(url, "/sgx/certification/v4/pckcrl")) {
                const char *ca = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ca");
                if (ca && (streq(ca, "platform") || streq(ca, "processor"))) {
                        body_file = TDX_FILE_PCK_CRL;
                        chain_file = TDX_FILE_PCK_CRL_CHAIN;
                        header = "SGX-PCK-CRL-Issuer-Chain";
                } else
                        status = 400;
        } else if (streq(url, "/sgx/certification/v4/rootcacrl")) {
                body_file = TDX_FILE_ROOT_CRL;
                hex = true;
        }

        if (body_file >= 0 && read_bundle_file(body_file, &body, &size) >= 0) {
                status = 200;
                if (hex) {
                        char *h = hex_encode(body, size);
                        free(body);
                        body = (uint8_t *) h;
                        size = h ? strlen(h) : 0;
                        if (!h)
                                status = 500;
                }
                if (chain_file >= 0) {
                        if (read_bundle_file(chain_file, &chain, &chain_size) < 0 ||
                            !(encoded = percent_encode(chain, chain_size)))
                                status = 500;
                }
        }
        if (log_file) {
                fprintf(log_file, "%s %s %u\n", method, url, status);
                fflush(log_file);
        }
        if (status != 200) {
                static const char text[] = "error\n";
                free(body);
                resp = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_PERSISTENT);
        } else
                resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return MHD_NO;
        if (status == 200 && header && encoded)
                (void) MHD_add_response_header(resp, header, encoded);
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "collateral", required_argument, NULL, 'c' },
                { "port-file", required_argument, NULL, 'p' },
                { "log", required_argument, NULL, 'l' },
                {},
        };
        _cleanup_free_ uint8_t *json = NULL;
        TdxTcbInfo *ti = NULL;
        size_t size;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'c':
                        arg_dir = optarg;
                        break;
                case 'p':
                        arg_port_file = optarg;
                        break;
                case 'l':
                        arg_log = optarg;
                        break;
                default:
                        return 2;
                }
        if (!arg_dir || !arg_port_file || optind < argc) {
                fprintf(stderr, "pcs-server: --collateral and --port-file are required; see --help\n");
                return 2;
        }
        if (read_bundle_file(TDX_FILE_TCB_INFO, &json, &size) < 0 ||
            tdx_tcb_info_parse((const char *) json, size, &ti, NULL) < 0) {
                fprintf(stderr, "pcs-server: %s: no usable tcb_info.json\n", arg_dir);
                return 1;
        }
        memcpy(bundle_fmspc, ti->fmspc, 6);
        tdx_tcb_info_free(ti);
        if (arg_log && !(log_file = fopen(arg_log, "ae"))) {
                fprintf(stderr, "pcs-server: %s: %s\n", arg_log, strerror(errno));
                return 1;
        }

        r = loopback_http_serve("pcs-server", arg_port_file, on_request, NULL);
        if (log_file)
                fclose(log_file);
        return r;
}
