/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate and CRL bundles in every shape real collateral arrives in (include/cvm/pem-bundle.h).
 * The PEM framing is read here byte by byte rather than by OpenSSL's PEM reader, which skips
 * any text before a BEGIN line and so would accept a bundle with junk between certificates. */
#include <limits.h>
#include <openssl/x509.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/pem-bundle.h"
#include "cvm/x509-cache.h"
#include "cvm/util.h"

/* Largest base64 body of one block: certificates and CRLs are far smaller than the input cap. */
#define PEM_BLOCK_B64_MAX CVM_INPUT_MAX

static const char dashes[] = "-----";

static bool is_space(uint8_t c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_b64(uint8_t c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
               c == '=';
}

static bool starts_with(const uint8_t *p, size_t n, const char *s) {
        size_t k = strlen(s);

        return n >= k && memcmp(p, s, k) == 0;
}

/* Percent-encoded PEM, as PCS/PCCS put issuer chains into headers and some tools store them:
 * the text starts (after whitespace) with a BEGIN line whose space or dashes are escaped. */
static bool looks_percent_encoded(const uint8_t *p, size_t n) {
        while (n > 0 && is_space(*p))
                p++, n--;
        return starts_with(p, n, "-----BEGIN%20") || starts_with(p, n, "%2D%2D%2D%2D%2DBEGIN") ||
               starts_with(p, n, "%2d%2d%2d%2d%2dBEGIN");
}

static int percent_decode(const uint8_t *p, size_t n, uint8_t **ret, size_t *ret_size, char **ret_reason) {
        _cleanup_free_ uint8_t *out = malloc(n + 1);
        size_t k = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;

                if (p[i] != '%') {
                        out[k++] = p[i];
                        continue;
                }
                if (n - i < 3 || (hi = unhex_digit((char) p[i + 1])) < 0 || (lo = unhex_digit((char) p[i + 2])) < 0)
                        return set_reason(ret_reason, -EBADMSG, "byte %zu: '%%' is not followed by two hex digits", i);
                if (hi == 0 && lo == 0)
                        return set_reason(ret_reason, -EBADMSG, "byte %zu: %%00 (NUL) in a percent-encoded bundle", i);
                out[k++] = (uint8_t) (hi << 4 | lo);
                i += 2;
        }
        out[k] = 0;
        *ret = TAKE_PTR(out);
        *ret_size = k;
        return 0;
}

/* Length of the label of a "-----BEGIN <label>-----" line at p, or 0 when p holds none. */
static size_t begin_label(const uint8_t *p, size_t n, const uint8_t **ret_label) {
        const uint8_t *e;

        if (!starts_with(p, n, "-----BEGIN "))
                return 0;
        p += 11, n -= 11;
        e = memmem(p, n, dashes, 5);
        if (!e || e == p || memchr(p, '\n', (size_t) (e - p)))
                return 0;
        *ret_label = p;
        return (size_t) (e - p);
}

/* Reads the block whose BEGIN line for `label` starts at *off: its base64 body until the END
 * line, any whitespace inside. On success *off points after the END line. */
static int read_block(const uint8_t *p, size_t n, size_t *off, const char *label, uint8_t **ret, size_t *ret_size,
                      char **ret_reason) {
        _cleanup_free_ char *b64 = NULL, *begin = strdup_printf("-----BEGIN %s-----", label),
                            *end = strdup_printf("-----END %s-----", label);
        size_t i, k = 0, start = *off;
        const uint8_t *e;
        int r;

        if (!begin || !end)
                return -ENOMEM;
        i = start + strlen(begin);
        e = memmem(p + i, n - i, end, strlen(end));
        if (!e)
                return set_reason(ret_reason, -EBADMSG, "byte %zu: the %s block has no \"%s\" line", start, label, end);
        if ((size_t) (e - (p + i)) > PEM_BLOCK_B64_MAX)
                return set_reason(ret_reason, -EBADMSG, "byte %zu: the %s block is too large", start, label);
        b64 = malloc((size_t) (e - (p + i)) + 1);
        if (!b64)
                return -ENOMEM;
        for (; p + i < e; i++) {
                if (is_space(p[i]))
                        continue;
                if (!is_b64(p[i]))
                        return set_reason(ret_reason, -EBADMSG,
                                          "byte %zu: 0x%02x inside the %s block is not base64 (PEM headers and "
                                          "text are not accepted)",
                                          i, p[i], label);
                b64[k++] = (char) p[i];
        }
        b64[k] = 0;
        r = b64_decode(b64, k, PEM_BLOCK_B64_MAX, ret, ret_size);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || *ret_size == 0)
                return set_reason(ret_reason, -EBADMSG, "byte %zu: the %s block's base64 is malformed", start, label);
        *off = (size_t) (e - p) + strlen(end);
        return 0;
}

/* Calls fn for each block of `label` in text p; refuses anything else outside blocks. */
typedef int (*BlockFn)(void *userdata, const uint8_t *der, size_t size, size_t offset, char **ret_reason);

static int for_each_block(const uint8_t *p, size_t n, const char *label, BlockFn fn, void *userdata,
                          char **ret_reason) {
        _cleanup_free_ char *begin = strdup_printf("-----BEGIN %s-----", label);
        size_t off = 0;
        int r;

        if (!begin)
                return -ENOMEM;
        for (;;) {
                _cleanup_free_ uint8_t *der = NULL;
                const uint8_t *other;
                size_t start, der_size, len;

                while (off < n && is_space(p[off]))
                        off++;
                if (off >= n)
                        return 0;
                start = off;
                if (!starts_with(p + off, n - off, begin)) {
                        if ((len = begin_label(p + off, n - off, &other)) > 0)
                                return set_reason(ret_reason, -EBADMSG,
                                                  "byte %zu: a \"%.*s\" block where a %s was expected", off,
                                                  (int) (len > 40 ? 40 : len), (const char *) other, label);
                        if (p[off] == 0)
                                return set_reason(ret_reason, -EBADMSG, "byte %zu: NUL byte outside the %s blocks", off,
                                                  label);
                        return set_reason(ret_reason, -EBADMSG,
                                          "byte %zu: text outside the %s blocks (only whitespace may separate them)",
                                          off, label);
                }
                r = read_block(p, n, &off, label, &der, &der_size, ret_reason);
                if (r < 0)
                        return r;
                r = fn(userdata, der, der_size, start, ret_reason);
                if (r < 0)
                        return r;
        }
}

typedef struct CertSink {
        STACK_OF(X509) * sk;
} CertSink;

/* Exactly one DER certificate, nothing after it; decoded once per process (the same bytes give
 * the same shared certificate again: include/cvm/x509-cache.h). */
static int parse_der_cert(const uint8_t *der, size_t size, X509 **ret) {
        return x509_decode_der(der, size, ret);
}

static int add_cert(void *userdata, const uint8_t *der, size_t size, size_t offset, char **ret_reason) {
        CertSink *s = userdata;
        X509 *c;

        if (sk_X509_num(s->sk) >= PEM_BUNDLE_MAX_CERTS)
                return set_reason(ret_reason, -EBADMSG, "byte %zu: more than %d certificates", offset,
                                  PEM_BUNDLE_MAX_CERTS);
        if (parse_der_cert(der, size, &c) < 0)
                return set_reason(ret_reason, -EBADMSG, "byte %zu: certificate %d is not a DER X.509 certificate",
                                  offset, sk_X509_num(s->sk) + 1);
        if (!sk_X509_push(s->sk, c)) {
                X509_free(c);
                return -ENOMEM;
        }
        return 0;
}

/* The text to read: the input itself, or its percent-decoding (into *ret_buf). */
static int bundle_text(const uint8_t *data, size_t size, uint8_t **ret_buf, const uint8_t **ret_p, size_t *ret_n,
                       bool *ret_decoded, char **ret_reason) {
        int r;

        *ret_decoded = false;
        *ret_p = data;
        *ret_n = size;
        if (!looks_percent_encoded(data, size))
                return 0;
        r = percent_decode(data, size, ret_buf, ret_n, ret_reason);
        if (r < 0)
                return r;
        *ret_decoded = true;
        *ret_p = *ret_buf;
        return 0;
}

static bool is_text_bundle(const uint8_t *data, size_t size) {
        /* DER starts with a SEQUENCE tag; anything else is read as text and must be PEM. */
        return size == 0 || data[0] != 0x30 || memmem(data, size, "-----BEGIN", 10);
}

int pem_bundle_parse(const uint8_t *data, size_t size, STACK_OF(X509) * *ret, char **ret_reason) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        CertSink sink;
        const uint8_t *p;
        bool decoded;
        size_t n;
        int r;

        if (size == 0)
                return set_reason(ret_reason, -EBADMSG, "empty: no certificate");
        if (size > CVM_INPUT_MAX)
                return set_reason(ret_reason, -EBADMSG, "larger than %u bytes", CVM_INPUT_MAX);
        sk = sk_X509_new_null();
        if (!sk)
                return -ENOMEM;
        if (!is_text_bundle(data, size)) {
                X509 *c;

                if (parse_der_cert(data, size, &c) < 0)
                        return set_reason(ret_reason, -EBADMSG,
                                          "byte 0: not one DER X.509 certificate (and no PEM block)");
                if (!sk_X509_push(sk, c)) {
                        X509_free(c);
                        return -ENOMEM;
                }
                *ret = TAKE_PTR(sk);
                return 0;
        }
        r = bundle_text(data, size, &buf, &p, &n, &decoded, ret_reason);
        if (r < 0)
                return r;
        sink.sk = sk;
        r = for_each_block(p, n, "CERTIFICATE", add_cert, &sink, ret_reason);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && sk_X509_num(sk) == 0)
                r = set_reason(ret_reason, -EBADMSG,
                               "byte 0: no certificate (expected \"-----BEGIN CERTIFICATE-----\")");
        if (r < 0) {
                if (decoded && ret_reason && *ret_reason)
                        (void) set_reason(ret_reason, r, "%s (offset after percent-decoding)", *ret_reason);
                return r;
        }
        *ret = TAKE_PTR(sk);
        return 0;
}

typedef struct CrlSink {
        X509_CRL *crl;
} CrlSink;

static int parse_der_crl(const uint8_t *der, size_t size, X509_CRL **ret) {
        return x509_crl_decode_der(der, size, ret);
}

static int set_crl(void *userdata, const uint8_t *der, size_t size, size_t offset, char **ret_reason) {
        CrlSink *s = userdata;

        if (s->crl)
                return set_reason(ret_reason, -EBADMSG, "byte %zu: a second CRL (one is expected)", offset);
        if (parse_der_crl(der, size, &s->crl) < 0)
                return set_reason(ret_reason, -EBADMSG, "byte %zu: not a DER X.509 CRL", offset);
        return 0;
}

int pem_bundle_parse_crl(const uint8_t *data, size_t size, X509_CRL **ret, char **ret_reason) {
        _cleanup_free_ uint8_t *buf = NULL;
        CrlSink sink = {};
        const uint8_t *p;
        bool decoded;
        size_t n;
        int r;

        if (size == 0)
                return set_reason(ret_reason, -EBADMSG, "empty: no CRL");
        if (size > CVM_INPUT_MAX)
                return set_reason(ret_reason, -EBADMSG, "larger than %u bytes", CVM_INPUT_MAX);
        if (!is_text_bundle(data, size)) {
                if (parse_der_crl(data, size, ret) < 0)
                        return set_reason(ret_reason, -EBADMSG, "byte 0: not one DER X.509 CRL (and no PEM block)");
                return 0;
        }
        r = bundle_text(data, size, &buf, &p, &n, &decoded, ret_reason);
        if (r < 0)
                return r;
        r = for_each_block(p, n, "X509 CRL", set_crl, &sink, ret_reason);
        if (r >= 0 && !sink.crl)
                r = set_reason(ret_reason, -EBADMSG, "byte 0: no CRL (expected \"-----BEGIN X509 CRL-----\")");
        if (r < 0) {
                X509_CRL_free(sink.crl);
                return r;
        }
        *ret = sink.crl;
        return 0;
}
