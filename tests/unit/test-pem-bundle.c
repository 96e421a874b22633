/* SPDX-License-Identifier: Apache-2.0 */
/* The one certificate-bundle reader (src/shared/pem-bundle.c) on every shape real collateral
 * comes in: LF and CRLF PEM, trailing whitespace, blank lines, END glued to the next BEGIN,
 * percent-encoded PCS/PCCS header chains, DER; and its refusals, each naming the byte offset.
 * The certificates and CRLs are made here with OpenSSL, so nothing is copied in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/pem-bundle.h"
#include "cvm/snp.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

#define N_CERTS 3

static X509 *certs[N_CERTS];
static EVP_PKEY *key;

static X509 *make_cert(int serial, const char *cn) {
        X509 *x = X509_new();
        X509_NAME *name;

        assert_non_null(x);
        assert_true(X509_set_version(x, 2));
        assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), serial));
        name = X509_get_subject_name(x);
        assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0));
        assert_true(X509_set_issuer_name(x, name));
        assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
        assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
        assert_true(X509_set_pubkey(x, key));
        assert_true(X509_sign(x, key, EVP_sha256()) > 0);
        return x;
}

static int setup(void **state) {
        key = EVP_EC_gen("P-256");
        if (!key)
                return -1;
        for (int i = 0; i < N_CERTS; i++) {
                char cn[32];
                snprintf(cn, sizeof(cn), "cvmd bundle test %d", i);
                certs[i] = make_cert(i + 1, cn);
        }
        return 0;
}

static int teardown(void **state) {
        for (int i = 0; i < N_CERTS; i++)
                X509_free(certs[i]);
        EVP_PKEY_free(key);
        return 0;
}

/* One certificate as PEM text with LF line ends, malloc'ed. */
static char *cert_pem(X509 *x) {
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        char *p;
        long n;

        assert_non_null(b);
        assert_true(PEM_write_bio_X509(b, x));
        n = BIO_get_mem_data(b, &p);
        return strndup(p, (size_t) n);
}

/* The N_CERTS certificates as one LF bundle. */
static char *bundle_lf(void) {
        char *s = strdup("");

        for (int i = 0; i < N_CERTS; i++) {
                _cleanup_free_ char *one = cert_pem(certs[i]), *old = s;
                s = strdup_printf("%s%s", old, one);
                assert_non_null(s);
        }
        return s;
}

/* Replaces every occurrence of `from` in s by `to`; malloc'ed. */
static char *replace_all(const char *s, const char *from, const char *to) {
        size_t nf = strlen(from), nt = strlen(to), n = 0;
        char *out, *o;

        for (const char *p = s; (p = strstr(p, from)); p += nf)
                n++;
        out = o = malloc(strlen(s) + n * nt + 1);
        assert_non_null(out);
        for (const char *p = s;;) {
                const char *q = strstr(p, from);
                size_t k = q ? (size_t) (q - p) : strlen(p);
                memcpy(o, p, k);
                o += k;
                if (!q)
                        break;
                memcpy(o, to, nt);
                o += nt;
                p = q + nf;
        }
        *o = 0;
        return out;
}

static void assert_bundle_ok(const char *text, size_t size) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        _cleanup_free_ char *why = NULL;

        if (pem_bundle_parse((const uint8_t *) text, size, &sk, &why) < 0)
                fail_msg("refused: %s", why ? why : "?");
        assert_int_equal(sk_X509_num(sk), N_CERTS);
        for (int i = 0; i < N_CERTS; i++)
                assert_int_equal(X509_cmp(sk_X509_value(sk, i), certs[i]), 0);
}

/* Refused, and the reason holds `needle` (an offset, a word). */
static void assert_bundle_refused(const char *text, size_t size, const char *needle) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        _cleanup_free_ char *why = NULL;

        assert_int_equal(pem_bundle_parse((const uint8_t *) text, size, &sk, &why), -EBADMSG);
        assert_null(sk);
        assert_non_null(why);
        if (!strstr(why, needle))
                fail_msg("reason '%s' lacks '%s'", why, needle);
}

static void test_lf_crlf_whitespace(void **state) {
        _cleanup_free_ char *lf = bundle_lf(), *crlf = replace_all(lf, "\n", "\r\n"),
                            *trailing = replace_all(lf, "\n", " \t \n"),
                            *blank = replace_all(lf, "-----\n-----", "-----\n\n\r\n  \n-----"), *oneline = NULL;

        assert_bundle_ok(lf, strlen(lf));
        assert_bundle_ok(crlf, strlen(crlf));
        assert_bundle_ok(trailing, strlen(trailing));
        assert_bundle_ok(blank, strlen(blank));
        /* base64 on one long line per block */
        {
                _cleanup_free_ char *a = replace_all(lf, "\n", "");
                _cleanup_free_ char *b = replace_all(a, "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\n");
                oneline = replace_all(b, "-----END CERTIFICATE-----", "\n-----END CERTIFICATE-----\n");
        }
        assert_bundle_ok(oneline, strlen(oneline));
}

static void test_end_glued_to_begin(void **state) {
        _cleanup_free_ char *lf = bundle_lf(),
                            *glued = replace_all(lf, "-----END CERTIFICATE-----\n-----BEGIN",
                                                 "-----END CERTIFICATE----------BEGIN"),
                            *glued_crlf = replace_all(glued, "\n", "\r\n");

        assert_non_null(strstr(glued, "----------BEGIN"));
        assert_bundle_ok(glued, strlen(glued));
        assert_bundle_ok(glued_crlf, strlen(glued_crlf));
}

/* What PCS and PCCS put into their *-Issuer-Chain headers: every byte outside RFC 3986's
 * unreserved set percent-encoded (encodeURIComponent), "-----BEGIN%20CERTIFICATE-----%0A...". */
static char *percent_encode(const char *s) {
        char *out = malloc(strlen(s) * 3 + 1), *o = out;

        assert_non_null(out);
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.~", c))
                        *o++ = (char) c;
                else
                        o += sprintf(o, "%%%02X", c);
        }
        *o = 0;
        return out;
}

static void test_percent_encoded_header_chain(void **state) {
        _cleanup_free_ char *lf = bundle_lf(), *enc = percent_encode(lf), *lower = NULL, *bad = NULL, *nul = NULL;

        assert_non_null(strstr(enc, "-----BEGIN%20CERTIFICATE-----%0A"));
        assert_bundle_ok(enc, strlen(enc));
        /* lower-case escapes decode the same */
        lower = replace_all(enc, "%0A", "%0a");
        assert_bundle_ok(lower, strlen(lower));
        /* a broken escape is named by its offset in the encoded text */
        bad = strdup(enc);
        bad[40] = '%';
        bad[41] = 'G';
        assert_bundle_refused(bad, strlen(bad), "byte 40:");
        nul = strdup(enc);
        memcpy(nul + 40, "%00", 3);
        assert_bundle_refused(nul, strlen(nul), "byte 40: %00");
}

static void test_der(void **state) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        unsigned char *der = NULL;
        _cleanup_free_ uint8_t *longer = NULL;
        int n = i2d_X509(certs[0], &der);

        assert_true(n > 0);
        assert_int_equal(pem_bundle_parse(der, (size_t) n, &sk, NULL), 0);
        assert_int_equal(sk_X509_num(sk), 1);
        assert_int_equal(X509_cmp(sk_X509_value(sk, 0), certs[0]), 0);
        /* a byte after the DER certificate */
        longer = malloc((size_t) n + 1);
        memcpy(longer, der, (size_t) n);
        longer[n] = 0;
        OPENSSL_free(der);
        assert_bundle_refused((const char *) longer, (size_t) n + 1, "byte 0: not one DER");
}

static void test_refusals_name_the_offset(void **state) {
        _cleanup_free_ char *lf = bundle_lf(), *one = cert_pem(certs[0]), *junk = NULL, *noend = NULL, *header = NULL,
                            *badchar = NULL, *key_block = NULL, *trailing_text = NULL, *many = strdup("");
        size_t first_end = strlen(one);

        /* text between two certificates: the offset of its first byte */
        junk = strdup_printf("%ssubject=CN = x\n%s", one, one);
        assert_bundle_refused(junk, strlen(junk), "text outside");
        {
                _cleanup_free_ char *want = strdup_printf("byte %zu:", first_end);
                assert_bundle_refused(junk, strlen(junk), want);
        }
        /* text after the END line on the same line */
        trailing_text = replace_all(one, "-----END CERTIFICATE-----", "-----END CERTIFICATE----- junk");
        assert_bundle_refused(trailing_text, strlen(trailing_text), "text outside");
        /* no END line */
        noend = strndup(one, first_end - 27);
        assert_bundle_refused(noend, strlen(noend), "byte 0: the CERTIFICATE block has no");
        /* a PEM header line */
        header = replace_all(one, "-----BEGIN CERTIFICATE-----\n",
                             "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n");
        assert_bundle_refused(header, strlen(header), "byte 32: 0x2d");
        /* a stray byte inside the base64 */
        badchar = strdup(one);
        badchar[100] = '*';
        assert_bundle_refused(badchar, strlen(badchar), "byte 100: 0x2a");
        /* another block where a certificate belongs */
        key_block = strdup_printf("%s-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", one);
        {
                _cleanup_free_ char *want = strdup_printf("byte %zu: a \"PRIVATE KEY\" block", first_end);
                assert_bundle_refused(key_block, strlen(key_block), want);
        }
        /* whitespace only, empty */
        assert_bundle_refused(" \r\n\t", 4, "no certificate");
        assert_bundle_refused("", 0, "empty");
        /* one more than the bound */
        for (int i = 0; i <= PEM_BUNDLE_MAX_CERTS; i++) {
                char *old = many;
                many = strdup_printf("%s%s", old, one);
                free(old);
        }
        assert_bundle_refused(many, strlen(many), "more than 16 certificates");
        (void) lf;
}

static X509_CRL *make_crl(void) {
        X509_CRL *crl = X509_CRL_new();
        _cleanup_(ASN1_TIME_freep) ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));

        assert_non_null(crl);
        assert_true(X509_CRL_set_version(crl, 1));
        assert_true(X509_CRL_set_issuer_name(crl, X509_get_subject_name(certs[0])));
        assert_true(X509_CRL_set1_lastUpdate(crl, t));
        assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
        return crl;
}

static void test_crl_shapes(void **state) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = make_crl(), *back = NULL;
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        _cleanup_free_ char *pem = NULL, *crlf = NULL, *two = NULL, *why = NULL;
        unsigned char *der = NULL;
        char *p;
        long n;
        int dn;

        assert_true(PEM_write_bio_X509_CRL(b, crl));
        n = BIO_get_mem_data(b, &p);
        pem = strndup(p, (size_t) n);
        crlf = replace_all(pem, "\n", "\r\n");
        assert_int_equal(pem_bundle_parse_crl((const uint8_t *) crlf, strlen(crlf), &back, NULL), 0);
        assert_int_equal(X509_CRL_cmp(crl, back), 0);
        X509_CRL_free(TAKE_PTR(back));
        dn = i2d_X509_CRL(crl, &der);
        assert_true(dn > 0);
        assert_int_equal(pem_bundle_parse_crl(der, (size_t) dn, &back, NULL), 0);
        OPENSSL_free(der);
        X509_CRL_free(TAKE_PTR(back));
        two = strdup_printf("%s%s", pem, pem);
        assert_int_equal(pem_bundle_parse_crl((const uint8_t *) two, strlen(two), &back, &why), -EBADMSG);
        assert_non_null(strstr(why, "a second CRL"));
}

/* Where a bundle is read, the refusal names the file as well. */
static void test_collateral_and_snp_name_the_file(void **state) {
        _cleanup_free_ char *one = cert_pem(certs[0]), *junk = strdup_printf("%sjunk\n", one), *why = NULL;
        _cleanup_(tdx_collateral_freep) TdxCollateral *c = NULL;
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        const uint8_t *data[_TDX_FILE_MAX] = {};
        size_t size[_TDX_FILE_MAX] = {};
        _cleanup_free_ char *want = strdup_printf("tcb_info_issuer_chain.pem: byte %zu: text outside", strlen(one));

        data[TDX_FILE_TCB_INFO_CHAIN] = (const uint8_t *) junk;
        size[TDX_FILE_TCB_INFO_CHAIN] = strlen(junk);
        assert_int_equal(tdx_collateral_parse(data, size, &c, &why), -EBADMSG);
        if (!strstr(why, want))
                fail_msg("reason '%s' lacks '%s'", why, want);
        why = mfree_str(why);

        assert_non_null(chain);
        assert_int_equal(snp_chain_add_data(chain, (const uint8_t *) junk, strlen(junk), &why), -EBADMSG);
        assert_non_null(strstr(why, "text outside"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lf_crlf_whitespace),
                cmocka_unit_test(test_end_glued_to_begin),
                cmocka_unit_test(test_percent_encoded_header_chain),
                cmocka_unit_test(test_der),
                cmocka_unit_test(test_refusals_name_the_offset),
                cmocka_unit_test(test_crl_shapes),
                cmocka_unit_test(test_collateral_and_snp_name_the_file),
        };
        return cmocka_run_group_tests_name("pem-bundle", tests, setup, teardown);
}
