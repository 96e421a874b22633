/* SPDX-License-Identifier: Apache-2.0 */
/* OCSP response checks on responses built here with a throwaway CA: good and revoked answers,
 * the issuer or a delegated responder (with and without the OCSPSigning EKU), a stranger's
 * signature, stale and future answers, nonce mismatch, an answer about another certificate,
 * garbage; and the host's provider offline: failing closed when nothing is cached, a cached
 * answer used while current and refused past its nextUpdate. No network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/collateral.h"
#include "cvm/crypto.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"

#define AT 1750000000

static EVP_PKEY *key(void) {
        EVP_PKEY *k = EVP_EC_gen("P-384");
        assert_non_null(k);
        return k;
}

static void add_ext(X509 *c, X509 *issuer, int nid, const char *value) {
        X509V3_CTX ctx;
        X509_EXTENSION *e;

        X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
        e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        assert_non_null(e);
        assert_true(X509_add_ext(c, e, -1));
        X509_EXTENSION_free(e);
}

static X509 *cert(const char *cn, EVP_PKEY *k, X509 *issuer, EVP_PKEY *issuer_key, bool ca, bool ocsp_eku, long serial) {
        X509 *c = X509_new();
        X509_NAME *name;

        assert_non_null(c);
        X509_set_version(c, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
        ASN1_TIME_set(X509_getm_notBefore(c), AT - 86400);
        ASN1_TIME_set(X509_getm_notAfter(c), AT + 86400);
        name = X509_get_subject_name(c);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0);
        X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
        X509_set_pubkey(c, k);
        add_ext(c, issuer ?: c, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
        if (ocsp_eku)
                add_ext(c, issuer ?: c, NID_ext_key_usage, "OCSPSigning");
        assert_true(X509_sign(c, issuer_key ?: k, EVP_sha384()) > 0);
        return c;
}

typedef struct World {
        EVP_PKEY *root_key, *leaf_key, *resp_key, *stranger_key;
        X509 *root, *leaf, *other, *delegated, *delegated_no_eku, *stranger;
} World;

static World w;

static int setup(void **state) {
        w.root_key = key();
        w.leaf_key = key();
        w.resp_key = key();
        w.stranger_key = key();
        w.root = cert("test issuer CA", w.root_key, NULL, NULL, true, false, 1);
        w.leaf = cert("test device", w.leaf_key, w.root, w.root_key, false, false, 2);
        w.other = cert("another device", w.leaf_key, w.root, w.root_key, false, false, 3);
        w.delegated = cert("test OCSP responder", w.resp_key, w.root, w.root_key, false, true, 4);
        w.delegated_no_eku = cert("test OCSP responder without EKU", w.resp_key, w.root, w.root_key, false, false, 5);
        w.stranger = cert("test issuer CA", w.stranger_key, NULL, NULL, true, true, 6); /* same name, other key */
        return 0;
}

static int teardown(void **state) {
        X509_free(w.root);
        X509_free(w.leaf);
        X509_free(w.other);
        X509_free(w.delegated);
        X509_free(w.delegated_no_eku);
        X509_free(w.stranger);
        EVP_PKEY_free(w.root_key);
        EVP_PKEY_free(w.leaf_key);
        EVP_PKEY_free(w.resp_key);
        EVP_PKEY_free(w.stranger_key);
        return 0;
}

/* A DER response about `about` (issued by w.root), signed by signer/signer_key. */
static uint8_t *response(X509 *about, X509 *signer, EVP_PKEY *signer_key, int status, long this_off, long next_off,
                         const uint8_t *nonce, size_t *ret_size) {
        OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
        OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), about, w.root);
        ASN1_TIME *t1 = ASN1_TIME_set(NULL, AT + this_off), *t2 = ASN1_TIME_set(NULL, AT + next_off),
                  *rev = ASN1_TIME_set(NULL, AT - 100);
        OCSP_RESPONSE *resp;
        unsigned char *der = NULL;
        uint8_t *out;
        int len;

        assert_true(bs && id && t1 && t2 && rev);
        assert_non_null(OCSP_basic_add1_status(bs, id, status, status == V_OCSP_CERTSTATUS_REVOKED ? 1 : -1,
                                               status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, t1, t2));
        if (nonce)
                assert_true(OCSP_basic_add1_nonce(bs, (unsigned char *) nonce, 32));
        assert_true(OCSP_basic_sign(bs, signer, signer_key, EVP_sha384(), NULL, 0));
        resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
        assert_non_null(resp);
        len = i2d_OCSP_RESPONSE(resp, &der);
        assert_true(len > 0);
        out = malloc((size_t) len);
        assert_non_null(out);
        memcpy(out, der, (size_t) len);
        *ret_size = (size_t) len;
        OPENSSL_free(der);
        OCSP_RESPONSE_free(resp);
        OCSP_BASICRESP_free(bs);
        OCSP_CERTID_free(id);
        ASN1_TIME_free(t1);
        ASN1_TIME_free(t2);
        ASN1_TIME_free(rev);
        return out;
}

static int check(uint8_t *der, size_t size, X509 *about, const uint8_t *nonce, NvOcspStatus *st) {
        _cleanup_free_ char *why = NULL;
        int k = nv_ocsp_response_verify(der, size, about, w.root, AT, nonce, st, &why);

        if (k == 0)
                assert_non_null(why);
        free(der);
        return k;
}

static int try(X509 *about, X509 *signer, EVP_PKEY *k, int status, long t1, long t2, const uint8_t *resp_nonce,
               X509 *checked, const uint8_t *nonce, NvOcspStatus *st) {
        size_t n;
        uint8_t *der = response(about, signer, k, status, t1, t2, resp_nonce, &n);
        return check(der, n, checked, nonce, st);
}

static void test_responses(void **state) {
        uint8_t nonce[32] = { 1, 2, 3 }, other_nonce[32] = { 9 };
        NvOcspStatus st = _NV_OCSP_STATUS_INVALID;
        size_t n;

        /* signed by the issuer itself */
        assert_int_equal(try(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, NULL, w.leaf, NULL, &st), 1);
        assert_int_equal(st, NV_OCSP_GOOD);
        assert_int_equal(try(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_REVOKED, -60, 3600, NULL, w.leaf, NULL, &st), 1);
        assert_int_equal(st, NV_OCSP_REVOKED);
        assert_int_equal(try(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_UNKNOWN, -60, 3600, NULL, w.leaf, NULL, &st), 1);
        assert_int_equal(st, NV_OCSP_UNKNOWN);
        /* a delegated responder: only with the OCSPSigning EKU */
        assert_int_equal(try(w.leaf, w.delegated, w.resp_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, NULL, w.leaf, NULL, &st), 1);
        assert_int_equal(try(w.leaf, w.delegated_no_eku, w.resp_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, NULL, w.leaf,
                             NULL, &st), 0);
        /* a stranger with the issuer's name but another key */
        assert_int_equal(try(w.leaf, w.stranger, w.stranger_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, NULL, w.leaf, NULL, &st),
                         0);
        /* stale, and from the future */
        assert_int_equal(try(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_GOOD, -7200, -3600, NULL, w.leaf, NULL, &st), 0);
        assert_int_equal(try(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_GOOD, 3600, 7200, NULL, w.leaf, NULL, &st), 0);
        /* nonce: the same passes, a different one does not */
        assert_int_equal(try(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, nonce, w.leaf, nonce, &st), 1);
        assert_int_equal(try(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, other_nonce, w.leaf, nonce, &st), 0);
        /* an answer about another certificate */
        assert_int_equal(try(w.other, w.root, w.root_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, NULL, w.leaf, NULL, &st), 0);
        /* one flipped byte anywhere in the response is refused (or, inside unsigned framing, changes nothing) */
        {
                uint8_t *good = response(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, NULL, &n);
                for (size_t off = 0; off < n; off++) {
                        uint8_t *copy = malloc(n);
                        NvOcspStatus s2 = NV_OCSP_GOOD;
                        int k;
                        assert_non_null(copy);
                        memcpy(copy, good, n);
                        copy[off] ^= 0x01;
                        k = check(copy, n, w.leaf, NULL, &s2);
                        if (k == 1 && s2 != NV_OCSP_GOOD)
                                fail_msg("flip at %zu changed the status without breaking the signature", off);
                }
                free(good);
        }
        /* garbage */
        assert_int_equal(check((uint8_t *) strdup("not DER"), 7, w.leaf, NULL, &st), 0);
}

/* The host's provider, offline: nothing cached fails closed saying so; a good answer put in the
 * cache (where a fetch stores it) is used while current and refused once past its nextUpdate;
 * the lister's reading of it gives its window, serial and status. */
static void test_provider_cache(void **state) {
        _cleanup_free_ char *why = NULL, *dir = strdup("/tmp/cvm-ocsp-test-XXXXXX"), *path = NULL, *slash = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_free_ uint8_t *der = NULL;
        CollateralConfig cc = { .offline = true };
        NvOcspStatus st = _NV_OCSP_STATUS_INVALID;
        NvOcspInfo info;
        NvSource src;
        size_t n;
        char cmd[96];

        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        cc.cache_dir = dir;
        assert_int_equal(collateral_new(&cc, &c), 0);
        collateral_gpu_source(c, NULL, NULL, &src);
        assert_int_equal(src.ocsp(&src, w.leaf, w.root, AT, &st, &why), 0);
        assert_non_null(strstr(why, "offline"));

        der = response(w.leaf, w.root, w.root_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, NULL, &n);
        assert_int_equal(nv_ocsp_cache_path(dir, w.leaf, w.root, &path), 0);
        slash = strdup(path);
        assert_non_null(slash);
        *strrchr(slash, '/') = 0;
        assert_int_equal(mkdir_p(slash, 0755), 0);
        assert_int_equal(write_file_atomic(path, der, n, 0644), 0);
        assert_int_equal(src.ocsp(&src, w.leaf, w.root, AT, &st, NULL), 1);
        assert_int_equal(st, NV_OCSP_GOOD);
        free(why);
        why = NULL;
        assert_int_equal(src.ocsp(&src, w.leaf, w.root, AT + 7200, &st, &why), 0);
        assert_non_null(strstr(why, "not current"));

        assert_int_equal(nv_ocsp_response_info(der, n, &info), 0);
        assert_int_equal(info.this_update, AT - 60);
        assert_int_equal(info.next_update, AT + 3600);
        assert_int_equal(info.status, NV_OCSP_GOOD);
        assert_true(strlen(info.serial) > 0);
        assert_int_equal(nv_ocsp_response_info((const uint8_t *) "not DER", 7, &info), -EBADMSG);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_responses),
                cmocka_unit_test(test_provider_cache),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
