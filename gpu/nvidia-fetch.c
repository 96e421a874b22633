/* SPDX-License-Identifier: Apache-2.0 */
/* RIM service and OCSP over libcurl (src/shared/http.c), each fetched into the disk cache.
 * Spec §2.4 (OCSP) and §3.1 (RIM service). */
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"

/* ---- RIM service ---- */

bool nv_rim_id_is_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > 128 || id[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') ||
                      id[i] == '.' || id[i] == '_' || id[i] == '-'))
                        return false;
        return true;
}

int nv_rim_url(const char *base, const char *id, char **ret) {
        size_t n;
        char *s;

        if (!nv_rim_id_is_valid(id))
                return -EINVAL;
        base = base ?: NV_RIM_SERVICE_DEFAULT_URL;
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        s = strdup_printf("%.*s/v1/rim/%s", (int) n, base, id);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int nv_rim_service_decode(const uint8_t *body, size_t size, const char *want_id, uint8_t **ret_xml, size_t *ret_size,
                          char **ret_error) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *text = NULL, *clean = NULL;
        _cleanup_free_ uint8_t *xml = NULL;
        json_object *id, *rim;
        const char *b64;
        size_t n = 0, len, pad;
        int k;

        if (size == 0 || size > 4 * 1024 * 1024 || memchr(body, 0, size))
                return set_reason(ret_error, -EBADMSG, "the RIM service answer is empty, too large or binary");
        text = strndup((const char *) body, size);
        if (!text)
                return -ENOMEM;
        o = json_tokener_parse(text);
        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "id", &id) ||
            !json_object_is_type(id, json_type_string) || !json_object_object_get_ex(o, "rim", &rim) ||
            !json_object_is_type(rim, json_type_string))
                return set_reason(ret_error, -EBADMSG, "the RIM service answer is not a JSON object with \"id\" and \"rim\"");
        if (!streq(json_object_get_string(id), want_id))
                return set_reason(ret_error, -EBADMSG, "the RIM service answered for id \"%.128s\", not \"%s\"",
                              json_object_get_string(id), want_id);
        b64 = json_object_get_string(rim);
        len = strlen(b64);
        clean = malloc(len + 1);
        if (!clean)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++)
                if (!strchr(" \t\r\n", b64[i]))
                        clean[n++] = b64[i];
        clean[n] = 0;
        if (n == 0 || n % 4 != 0)
                return set_reason(ret_error, -EBADMSG, "the RIM service answer's \"rim\" is not base64");
        pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
        xml = malloc(n / 4 * 3 + 1);
        if (!xml)
                return -ENOMEM;
        k = EVP_DecodeBlock(xml, (unsigned char *) clean, (int) n);
        if (k < 0 || (size_t) k < pad) {
                openssl_clear_errors();
                return set_reason(ret_error, -EBADMSG, "the RIM service answer's \"rim\" is not base64");
        }
        *ret_size = (size_t) k - pad;
        xml[*ret_size] = 0;
        *ret_xml = TAKE_PTR(xml);
        return 0;
}

static int cache_path(const char *dir, const char *kind, const char *name, const char *ext, char **ret) {
        char *p = strdup_printf("%s/nvidia/%s/%s%s", dir, kind, name, ext);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int cache_store(const char *path, const uint8_t *data, size_t size) {
        _cleanup_free_ char *d = strdup(path);
        char *slash;
        int r;

        if (!d)
                return -ENOMEM;
        slash = strrchr(d, '/');
        if (slash)
                *slash = 0;
        r = mkdir_p(d, 0755);
        if (r < 0)
                return r;
        return write_file_atomic(path, data, size, 0644);
}

int nv_rim_cache_path(const char *cache_dir, const char *id, char **ret) {
        if (!cache_dir || !nv_rim_id_is_valid(id))
                return -EINVAL;
        return cache_path(cache_dir, "rim", id, ".xml", ret);
}

int nv_rim_fetch(const NvFetchOptions *o, const char *id, uint64_t *retry_after_usec, char **ret_reason) {
        _cleanup_(http_result_done) HttpResult res = {};
        _cleanup_free_ char *path = NULL, *url = NULL;
        _cleanup_free_ uint8_t *xml = NULL;
        HttpRequest get = { .options = o->http };
        size_t xml_size;
        int r;

        if (!nv_rim_id_is_valid(id))
                return set_reason(ret_reason, -EINVAL, "\"%.64s\" is not a valid RIM id", id ?: "");
        r = nv_rim_cache_path(o->cache_dir, id, &path);
        if (r < 0)
                return r;
        r = nv_rim_url(o->rim_url, id, &url);
        if (r < 0)
                return r;
        get.url = url;
        /* a RIM of NV_RIM_SIZE_MAX is a third larger in base64 in its JSON */
        if (!get.options.max_body)
                get.options.max_body = 4 * 1024 * 1024;
        r = http_request(&get, &res);
        if (retry_after_usec)
                *retry_after_usec = res.retry_after_usec;
        if (r < 0)
                return set_reason(ret_reason, r, "%s", res.error_message ?: "the RIM service request failed");
        r = nv_rim_service_decode(res.body, res.body_size, id, &xml, &xml_size, ret_reason);
        if (r < 0)
                return r;
        r = cache_store(path, xml, xml_size);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot store RIM %s in %s: %s", id, path, strerror(-r));
        return 0;
}

/* ---- OCSP ---- */

const char *nv_ocsp_status_to_string(NvOcspStatus s) {
        switch (s) {
        case NV_OCSP_GOOD:
                return "good";
        case NV_OCSP_REVOKED:
                return "revoked";
        case NV_OCSP_UNKNOWN:
                return "unknown";
        default:
                return "invalid";
        }
}

static OCSP_CERTID *cert_id(X509 *cert, X509 *issuer) {
        OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
        if (!id)
                openssl_clear_errors();
        return id;
}

int nv_ocsp_request(X509 *cert, X509 *issuer, const uint8_t *nonce, uint8_t **ret_der, size_t *ret_size) {
        _cleanup_(OCSP_REQUEST_freep) OCSP_REQUEST *req = OCSP_REQUEST_new();
        OCSP_CERTID *id;
        unsigned char *der = NULL;
        int len;

        if (!req)
                return -ENOMEM;
        id = cert_id(cert, issuer);
        if (!id)
                return -ENOMEM;
        if (!OCSP_request_add0_id(req, id)) {
                OCSP_CERTID_free(id);
                openssl_clear_errors();
                return -ENOMEM;
        }
        if (nonce && !OCSP_request_add1_nonce(req, (unsigned char *) nonce, 32)) {
                openssl_clear_errors();
                return -ENOMEM;
        }
        len = i2d_OCSP_REQUEST(req, &der);
        if (len <= 0) {
                openssl_clear_errors();
                return -ENOMEM;
        }
        *ret_der = malloc((size_t) len);
        if (!*ret_der) {
                OPENSSL_free(der);
                return -ENOMEM;
        }
        memcpy(*ret_der, der, (size_t) len);
        OPENSSL_free(der);
        *ret_size = (size_t) len;
        return 0;
}

/* The responder: the issuer itself, or a certificate the issuer signed for OCSP signing. */
static const char *check_responder(X509 *signer, X509 *issuer, int64_t at) {
        if (X509_cmp(signer, issuer) == 0)
                return NULL;
        if (X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(issuer)) != 0 ||
            x509_signed_by(signer, X509_get0_pubkey(issuer)) != 1)
                return "the response is signed by neither the issuer nor a responder the issuer certified";
        if (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN))
                return "the responder certificate lacks the OCSPSigning extended key usage";
        if (x509_validity_at(signer, at) != VALIDITY_OK)
                return "the responder certificate is not valid at the verification time";
        return NULL;
}

int nv_ocsp_response_verify(const uint8_t *der, size_t size, X509 *cert, X509 *issuer, int64_t at,
                            const uint8_t *nonce, NvOcspStatus *ret_status, char **ret_reason) {
        _cleanup_(OCSP_RESPONSE_freep) OCSP_RESPONSE *resp = NULL;
        _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *bs = NULL;
        _cleanup_(OCSP_CERTID_freep) OCSP_CERTID *id = NULL;
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *extra = NULL;
        _cleanup_(sk_X509_freep) STACK_OF(X509) *only = NULL;
        ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL, *rev = NULL;
        const unsigned char *p = der;
        int64_t t_this, t_next;
        X509 *signer = NULL;
        const char *why;
        int status = -1, rsn = -1, k;

        if (!der || size == 0 || size > 64 * 1024)
                return set_reason(ret_reason, 0, "the OCSP response is empty or too large");
        resp = d2i_OCSP_RESPONSE(NULL, &p, (long) size);
        if (!resp || p != der + size) {
                openssl_clear_errors();
                return set_reason(ret_reason, 0, "the OCSP response is not DER");
        }
        k = OCSP_response_status(resp);
        if (k != OCSP_RESPONSE_STATUS_SUCCESSFUL)
                return set_reason(ret_reason, 0, "the OCSP responder answered \"%s\"", OCSP_response_status_str(k));
        bs = OCSP_response_get1_basic(resp);
        if (!bs) {
                openssl_clear_errors();
                return set_reason(ret_reason, 0, "the OCSP response is not a basic response");
        }
        /* The signer: the issuer, or one of the certificates the response carries. */
        extra = sk_X509_new_null();
        if (!extra || !sk_X509_push(extra, X509_dup(issuer)))
                return -ENOMEM;
        if (OCSP_resp_get0_signer(bs, &signer, extra) != 1 || !signer) {
                openssl_clear_errors();
                return set_reason(ret_reason, 0, "the OCSP response names no signer it carries");
        }
        why = check_responder(signer, issuer, at);
        if (why)
                return set_reason(ret_reason, 0, "%s", why);
        /* Verify with exactly the signer checked above: it is the only certificate offered. */
        only = sk_X509_new_null();
        if (!only || !sk_X509_push(only, signer))
                return -ENOMEM;
        k = OCSP_basic_verify(bs, only, NULL, OCSP_NOVERIFY | OCSP_NOINTERN);
        openssl_clear_errors();
        if (k != 1)
                return set_reason(ret_reason, 0, "the OCSP response signature does not verify");
        if (nonce) {
                _cleanup_(OCSP_REQUEST_freep) OCSP_REQUEST *req = OCSP_REQUEST_new();
                if (!req || !OCSP_request_add1_nonce(req, (unsigned char *) nonce, 32))
                        return -ENOMEM;
                if (OCSP_check_nonce(req, bs) == 0)
                        return set_reason(ret_reason, 0, "the OCSP response carries a different nonce");
                openssl_clear_errors();
        }
        id = cert_id(cert, issuer);
        if (!id)
                return -ENOMEM;
        if (!OCSP_resp_find_status(bs, id, &status, &rsn, &rev, &this_upd, &next_upd)) {
                openssl_clear_errors();
                return set_reason(ret_reason, 0, "the OCSP response has no status for this certificate");
        }
        if (asn1_time_to_unix(this_upd, &t_this) < 0)
                return set_reason(ret_reason, 0, "the OCSP response has no readable thisUpdate");
        if (next_upd) {
                if (asn1_time_to_unix(next_upd, &t_next) < 0)
                        return set_reason(ret_reason, 0, "the OCSP response has an unreadable nextUpdate");
        } else
                t_next = t_this + NV_OCSP_DEFAULT_VALIDITY_SEC;
        if (t_this > at + NV_OCSP_SKEW_SEC || at > t_next) {
                char a[32], b[32], c[32];
                return set_reason(ret_reason, 0, "the OCSP response (%s to %s) is not current at %s",
                              format_rfc3339(t_this, a, sizeof(a)), format_rfc3339(t_next, b, sizeof(b)),
                              format_rfc3339(at, c, sizeof(c)));
        }
        *ret_status = status == V_OCSP_CERTSTATUS_GOOD ? NV_OCSP_GOOD
                      : status == V_OCSP_CERTSTATUS_REVOKED ? NV_OCSP_REVOKED
                                                            : NV_OCSP_UNKNOWN;
        return 1;
}

static int ocsp_cache_name(X509 *cert, X509 *issuer, char **ret) {
        _cleanup_(OCSP_CERTID_freep) OCSP_CERTID *id = cert_id(cert, issuer);
        unsigned char *der = NULL, md[32];
        unsigned mdlen = 0;
        int len;

        if (!id)
                return -ENOMEM;
        len = i2d_OCSP_CERTID(id, &der);
        if (len <= 0) {
                openssl_clear_errors();
                return -ENOMEM;
        }
        if (!EVP_Digest(der, (size_t) len, md, &mdlen, EVP_sha256(), NULL)) {
                OPENSSL_free(der);
                openssl_clear_errors();
                return -EIO;
        }
        OPENSSL_free(der);
        *ret = hex_encode(md, 32);
        return *ret ? 0 : -ENOMEM;
}

int nv_ocsp_cache_path(const char *cache_dir, X509 *cert, X509 *issuer, char **ret) {
        _cleanup_free_ char *name = NULL;
        int r;

        if (!cache_dir)
                return -EINVAL;
        r = ocsp_cache_name(cert, issuer, &name);
        if (r < 0)
                return r;
        return cache_path(cache_dir, "ocsp", name, ".der", ret);
}

int nv_ocsp_fetch(const NvFetchOptions *o, X509 *cert, X509 *issuer, int64_t at, uint64_t *retry_after_usec,
                  char **ret_reason) {
        _cleanup_free_ char *path = NULL, *why = NULL;
        _cleanup_free_ uint8_t *req = NULL;
        _cleanup_(http_result_done) HttpResult res = {};
        HttpRequest post = {
                .method = HTTP_METHOD_POST,
                .url = o->ocsp_url ?: NV_OCSP_DEFAULT_URL,
                .content_type = "application/ocsp-request",
                .options = o->http,
        };
        NvOcspStatus st;
        size_t req_size;
        uint8_t nonce[32];
        int r;

        r = nv_ocsp_cache_path(o->cache_dir, cert, issuer, &path);
        if (r < 0)
                return r;
        if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
                openssl_clear_errors();
                return -EIO;
        }
        r = nv_ocsp_request(cert, issuer, nonce, &req, &req_size);
        if (r < 0)
                return r;
        post.body = req;
        post.body_size = req_size;
        /* one attempt: a nonce'd request is not retried here, the provider's backoff decides */
        post.options.max_retries = HTTP_MAX_RETRIES_NONE;
        r = http_request(&post, &res);
        if (retry_after_usec)
                *retry_after_usec = res.retry_after_usec;
        if (r < 0)
                return set_reason(ret_reason, r, "%s", res.error_message ?: "the OCSP request failed");
        r = nv_ocsp_response_verify(res.body, res.body_size, cert, issuer, at, nonce, &st, &why);
        if (r < 0)
                return r;
        if (r == 0)
                return set_reason(ret_reason, -EBADMSG, "the OCSP responder's answer is not usable: %s",
                                  why ?: "invalid");
        r = cache_store(path, res.body, res.body_size);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot store the OCSP response in %s: %s", path, strerror(-r));
        return 0;
}

int nv_ocsp_response_info(const uint8_t *der, size_t size, NvOcspInfo *ret) {
        _cleanup_(OCSP_RESPONSE_freep) OCSP_RESPONSE *resp = NULL;
        _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *bs = NULL;
        ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL;
        const unsigned char *p = der;
        ASN1_INTEGER *serial = NULL;
        OCSP_SINGLERESP *single;
        const OCSP_CERTID *id;
        NvOcspInfo info = {};
        int status, reason;

        if (!der || size == 0 || size > 64 * 1024)
                return -EBADMSG;
        resp = d2i_OCSP_RESPONSE(NULL, &p, (long) size);
        if (!resp || p != der + size || OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
            !(bs = OCSP_response_get1_basic(resp)) || OCSP_resp_count(bs) < 1 || !(single = OCSP_resp_get0(bs, 0))) {
                openssl_clear_errors();
                return -EBADMSG;
        }
        status = OCSP_single_get0_status(single, &reason, NULL, &this_upd, &next_upd);
        id = OCSP_SINGLERESP_get0_id(single);
        if (status < 0 || !this_upd || asn1_time_to_unix(this_upd, &info.this_update) < 0 || !id ||
            !OCSP_id_get0_info(NULL, NULL, NULL, &serial, (OCSP_CERTID *) id) || !serial) {
                openssl_clear_errors();
                return -EBADMSG;
        }
        if (!next_upd)
                info.next_update = info.this_update + NV_OCSP_DEFAULT_VALIDITY_SEC;
        else if (asn1_time_to_unix(next_upd, &info.next_update) < 0)
                return -EBADMSG;
        info.status = status == V_OCSP_CERTSTATUS_GOOD ? NV_OCSP_GOOD
                      : status == V_OCSP_CERTSTATUS_REVOKED ? NV_OCSP_REVOKED
                                                            : NV_OCSP_UNKNOWN;
        for (int i = 0; i < serial->length && i < 20; i++)
                snprintf(info.serial + 2 * i, 3, "%02x", serial->data[i]);
        *ret = info;
        return 0;
}

int nv_rim_window(const NvRim *rim, int64_t *ret_from, int64_t *ret_until) {
        X509 *signer = rim && rim->certs && sk_X509_num(rim->certs) > 0 ? sk_X509_value(rim->certs, 0) : NULL;

        if (!signer || asn1_time_to_unix(X509_get0_notBefore(signer), ret_from) < 0 ||
            asn1_time_to_unix(X509_get0_notAfter(signer), ret_until) < 0)
                return -EBADMSG;
        return 0;
}
