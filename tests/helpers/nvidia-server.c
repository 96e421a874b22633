/* SPDX-License-Identifier: Apache-2.0 */
/* nvidia-server: a local stand-in for the NVIDIA RIM service and OCSP responder, for the
 * integration tests, on 127.0.0.1 only.
 *
 *   GET  /v1/rim/<id>      {"id": "<id>", "rim": base64(ROOT/<id>.xml)}; 404 when absent
 *   POST /ocsp             application/ocsp-request: a basic OCSP response with the requested
 *                          status for every CertID asked about, echoing the nonce, signed by
 *                          --signer-cert/--signer-key, or by a throwaway P-384 key made at start
 *                          (which no real chain trusts: the verifier must refuse it); with
 *                          --responders, by the responder whose issuer issued the certificates
 *                          asked about (the throwaway key when none did)
 *
 *   nvidia-server --rim-dir DIR --port-file FILE [--status good|revoked|unknown]
 *                 [--signer-cert PEM --signer-key PEM] [--responders DIR [--revoke-under NAME]]
 *                 [--log FILE]
 *
 * --responders DIR: every DIR/<name>.pem holds a responder certificate, the certificate of the CA
 * that issued it, and the responder's key (what `cvmctl sim init` writes to DIR/gpu/ocsp/).
 * --revoke-under NAME: the certificates issued by responder NAME's CA (DIR/NAME.pem) are revoked,
 * whatever --status says of the others.
 */
#include <dirent.h>
#include <getopt.h>
#include <microhttpd.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"
#include "../common/loopback-http.h"

static const char *arg_rim_dir;
static const char *arg_port_file;
static const char *arg_log;
static int arg_status = V_OCSP_CERTSTATUS_GOOD;
static const char *arg_revoke_under;
static X509 *signer_cert;
static EVP_PKEY *signer_key;
static FILE *log_file;

#define RESPONDERS_MAX 16
typedef struct Responder {
        char name[64]; /* the file's name without .pem */
        X509 *cert, *ca;
        EVP_PKEY *key;
        bool revoke; /* --revoke-under: what its CA issued is revoked */
} Responder;
static Responder responders[RESPONDERS_MAX];
static size_t n_responders;

typedef struct Upload {
        uint8_t buf[16384];
        size_t n;
        bool too_large;
} Upload;

static enum MHD_Result respond(struct MHD_Connection *c, const char *method, const char *url, unsigned status,
                               void *body, size_t size, const char *type) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        if (log_file) {
                fprintf(log_file, "%s %s %u\n", method, url, status);
                fflush(log_file);
        }
        if (!body) {
                static const char nf[] = "Not Found\n";
                resp = MHD_create_response_from_buffer(strlen(nf), (void *) nf, MHD_RESPMEM_PERSISTENT);
                type = "text/plain";
        } else
                resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result serve_rim(struct MHD_Connection *c, const char *url) {
        const char *id = url + strlen("/v1/rim/");
        _cleanup_free_ char *path = NULL, *b64 = NULL;
        _cleanup_free_ uint8_t *xml = NULL;
        json_object *o;
        char *body;
        size_t size;
        int n;

        if (!nv_rim_id_is_valid(id) || !(path = strdup_printf("%s/%s.xml", arg_rim_dir, id)) ||
            read_file_bounded(path, NV_RIM_SIZE_MAX, &xml, &size) < 0)
                return respond(c, "GET", url, 404, NULL, 0, NULL);
        b64 = malloc(4 * ((size + 2) / 3) + 1);
        if (!b64)
                return MHD_NO;
        n = EVP_EncodeBlock((unsigned char *) b64, xml, (int) size);
        b64[n] = 0;
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "rim", json_object_new_string(b64));
        json_object_object_add(o, "request_id", json_object_new_string("test"));
        body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        if (!body)
                return MHD_NO;
        return respond(c, "GET", url, 200, body, strlen(body), "application/json");
}

/* The responder whose CA issued the certificate `want` names; NULL when none did. */
static const Responder *responder_for(OCSP_CERTID *want) {
        for (size_t i = 0; want && i < n_responders; i++) {
                OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), NULL, responders[i].ca);
                bool match = id && OCSP_id_issuer_cmp(want, id) == 0;

                OCSP_CERTID_free(id);
                if (match)
                        return &responders[i];
        }
        return NULL;
}

/* The responder whose CA issued the first certificate asked about; else the default signer. */
static void pick_signer(OCSP_REQUEST *req, X509 **ret_cert, EVP_PKEY **ret_key) {
        OCSP_CERTID *want =
                OCSP_request_onereq_count(req) > 0 ? OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)) : NULL;

        const Responder *r = responder_for(want);

        *ret_cert = r ? r->cert : signer_cert;
        *ret_key = r ? r->key : signer_key;
}

static enum MHD_Result serve_ocsp(struct MHD_Connection *c, const char *url, const Upload *u) {
        const unsigned char *p = u->buf;
        OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long) u->n);
        OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
        OCSP_RESPONSE *resp = NULL;
        ASN1_TIME *now = X509_gmtime_adj(NULL, 0), *next = X509_gmtime_adj(NULL, 24 * 3600),
                  *revoked = X509_gmtime_adj(NULL, -3600);
        unsigned char *der = NULL;
        enum MHD_Result ret = MHD_NO;
        X509 *cert;
        EVP_PKEY *key;
        int len;

        if (!req || !bs || !now || !next || !revoked)
                goto out;
        for (int i = 0; i < OCSP_request_onereq_count(req); i++) {
                OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
                const Responder *r = responder_for(id);
                int status = r && r->revoke ? V_OCSP_CERTSTATUS_REVOKED : arg_status;

                if (!OCSP_basic_add1_status(bs, id, status, status == V_OCSP_CERTSTATUS_REVOKED ? 0 : -1,
                                            status == V_OCSP_CERTSTATUS_REVOKED ? revoked : NULL, now, next))
                        goto out;
        }
        (void) OCSP_copy_nonce(bs, req);
        pick_signer(req, &cert, &key);
        if (!OCSP_basic_sign(bs, cert, key, EVP_sha384(), NULL, 0))
                goto out;
        resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
        len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;
        if (len > 0) {
                void *copy = malloc((size_t) len);
                if (copy) {
                        memcpy(copy, der, (size_t) len);
                        ret = respond(c, "POST", url, 200, copy, (size_t) len, "application/ocsp-response");
                }
        }
out:
        if (ret == MHD_NO && !der)
                ret = respond(c, "POST", url, 400, NULL, 0, NULL);
        OPENSSL_free(der);
        OCSP_RESPONSE_free(resp);
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(req);
        ASN1_TIME_free(now);
        ASN1_TIME_free(next);
        ASN1_TIME_free(revoked);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **con_cls) {
        Upload *u = *con_cls;

        if (streq(method, "GET")) {
                if (strncmp(url, "/v1/rim/", 8) == 0)
                        return serve_rim(c, url);
                return respond(c, method, url, 404, NULL, 0, NULL);
        }
        if (!streq(method, "POST"))
                return respond(c, method, url, 404, NULL, 0, NULL);
        if (!u) {
                u = calloc(1, sizeof(Upload));
                if (!u)
                        return MHD_NO;
                *con_cls = u;
                return MHD_YES;
        }
        if (*data_size > 0) {
                if (u->n + *data_size > sizeof(u->buf))
                        u->too_large = true;
                else {
                        memcpy(u->buf + u->n, data, *data_size);
                        u->n += *data_size;
                }
                *data_size = 0;
                return MHD_YES;
        }
        if (u->too_large)
                return respond(c, method, url, 400, NULL, 0, NULL);
        return serve_ocsp(c, url, u);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        free(*con_cls);
        *con_cls = NULL;
}

/* A throwaway self-signed P-384 responder certificate. */
static int make_throwaway_signer(void) {
        X509_NAME *name;

        signer_key = EVP_EC_gen("P-384");
        signer_cert = X509_new();
        if (!signer_key || !signer_cert)
                return -1;
        (void) X509_set_version(signer_cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(signer_cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(signer_cert), -3600);
        X509_gmtime_adj(X509_getm_notAfter(signer_cert), 3600 * 24);
        name = X509_get_subject_name(signer_cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) "throwaway OCSP responder", -1, -1, 0);
        X509_set_issuer_name(signer_cert, name);
        X509_set_pubkey(signer_cert, signer_key);
        return X509_sign(signer_cert, signer_key, EVP_sha384()) > 0 ? 0 : -1;
}

static int load_signer(const char *cert, const char *key) {
        FILE *f = fopen(cert, "re");
        if (!f)
                return -1;
        signer_cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        f = fopen(key, "re");
        if (!f)
                return -1;
        signer_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        return signer_cert && signer_key ? 0 : -1;
}

static int load_responders(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return -1;
        while ((de = readdir(d)) && n_responders < RESPONDERS_MAX) {
                size_t n = strlen(de->d_name);
                char *path;
                FILE *f;
                Responder *r = &responders[n_responders];

                if (n < 5 || n - 4 >= sizeof(r->name) || !streq(de->d_name + n - 4, ".pem"))
                        continue;
                memcpy(r->name, de->d_name, n - 4);
                path = strdup_printf("%s/%s", dir, de->d_name);
                f = path ? fopen(path, "re") : NULL;
                free(path);
                if (!f)
                        break;
                r->cert = PEM_read_X509(f, NULL, NULL, NULL);
                r->ca = r->cert ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
                r->key = r->ca ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
                fclose(f);
                if (!r->key)
                        break;
                n_responders++;
        }
        closedir(d);
        return de ? -1 : 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "rim-dir", required_argument, NULL, 'r' },   { "port-file", required_argument, NULL, 'p' },
                { "status", required_argument, NULL, 's' },    { "signer-cert", required_argument, NULL, 'c' },
                { "signer-key", required_argument, NULL, 'k' }, { "log", required_argument, NULL, 'l' },
                { "responders", required_argument, NULL, 'R' }, { "revoke-under", required_argument, NULL, 'V' },
                {},
        };
        const char *cert = NULL, *key = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        arg_rim_dir = optarg;
                        break;
                case 'p':
                        arg_port_file = optarg;
                        break;
                case 's':
                        arg_status = streq(optarg, "good")      ? V_OCSP_CERTSTATUS_GOOD
                                     : streq(optarg, "revoked") ? V_OCSP_CERTSTATUS_REVOKED
                                                                : V_OCSP_CERTSTATUS_UNKNOWN;
                        break;
                case 'c':
                        cert = optarg;
                        break;
                case 'k':
                        key = optarg;
                        break;
                case 'l':
                        arg_log = optarg;
                        break;
                case 'R':
                        if (load_responders(optarg) < 0) {
                                fprintf(stderr, "nvidia-server: cannot load the responders in %s\n", optarg);
                                return 1;
                        }
                        break;
                case 'V':
                        arg_revoke_under = optarg;
                        break;
                default:
                        return 2;
                }
        for (size_t i = 0; arg_revoke_under && i < n_responders; i++)
                if (streq(responders[i].name, arg_revoke_under)) {
                        responders[i].revoke = true;
                        arg_revoke_under = NULL;
                }
        if (arg_revoke_under) {
                fprintf(stderr, "nvidia-server: --revoke-under %s: no such responder in --responders\n", arg_revoke_under);
                return 2;
        }
        if (!arg_rim_dir || !arg_port_file || optind < argc || !cert != !key) {
                fprintf(stderr, "nvidia-server: --rim-dir and --port-file are required (and both or neither of "
                                "--signer-cert, --signer-key)\n");
                return 2;
        }
        if ((cert ? load_signer(cert, key) : make_throwaway_signer()) < 0) {
                fprintf(stderr, "nvidia-server: cannot set up the OCSP signer\n");
                return 1;
        }
        if (arg_log && !(log_file = fopen(arg_log, "ae"))) {
                fprintf(stderr, "nvidia-server: %s: %s\n", arg_log, strerror(errno));
                return 1;
        }

        r = loopback_http_serve("nvidia-server", arg_port_file, on_request, on_completed);
        X509_free(signer_cert);
        EVP_PKEY_free(signer_key);
        if (log_file)
                fclose(log_file);
        return r;
}
