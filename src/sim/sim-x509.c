/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates, CRLs and files as the three simulators build them: each simulator supplies its
 * vendor's names, extensions, signature scheme and file names; the mechanics are here once. */
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "cvm/cleanup.h"
#include "cvm/util.h"
#include "sim-internal.h"

int asn1_time_set_unix(ASN1_TIME *t, int64_t when) {
        if (when < 0 || (int64_t) (time_t) when != when)
                return -ERANGE;
        if (!ASN1_TIME_set(t, (time_t) when))
                return openssl_fail(-ERANGE);
        return 0;
}

int x509_add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value) {
        X509_EXTENSION *ext;
        X509V3_CTX ctx;
        int ok;

        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!ext)
                return openssl_fail(-EIO);
        ok = X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        return ok ? 0 : openssl_fail(-ENOMEM);
}

static int serial_set(X509 *x, const SimCertSpec *spec) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;

        if (spec->serial_bits <= 0)
                return ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), spec->serial) ? 0 : openssl_fail(-ENOMEM);
        bn = BN_new();
        if (!bn || !BN_rand(bn, spec->serial_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
            !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
                return openssl_fail(-EIO);
        return 0;
}

int sim_cert_begin(const SimCertSpec *spec, X509 **ret) {
        _cleanup_(X509_freep) X509 *x = X509_new();
        X509_NAME *name;
        int r;

        if (!x)
                return openssl_fail(-ENOMEM);
        if (!X509_set_version(x, X509_VERSION_3))
                return openssl_fail(-ENOMEM);
        r = serial_set(x, spec);
        if (r < 0)
                return r;
        name = X509_get_subject_name(x);
        for (size_t i = 0; i < spec->n_subject; i++)
                if (!X509_NAME_add_entry_by_txt(name, spec->subject[i].field, MBSTRING_UTF8,
                                                (const unsigned char *) spec->subject[i].value, -1, -1, 0))
                        return openssl_fail(-ENOMEM);
        if (!X509_set_issuer_name(x, spec->issuer ? X509_get_subject_name(spec->issuer) : name))
                return openssl_fail(-ENOMEM);
        if ((r = asn1_time_set_unix(X509_getm_notBefore(x), spec->not_before)) < 0 ||
            (r = asn1_time_set_unix(X509_getm_notAfter(x), spec->not_after)) < 0)
                return r;
        if (!X509_set_pubkey(x, spec->key))
                return openssl_fail(-EIO);
        *ret = TAKE_PTR(x);
        return 0;
}

int sim_cert_add_raw_ext(X509 *x, const char *oid, const uint8_t *value, size_t n) {
        _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
        _cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = NULL;

        if (!obj || !os || n > INT_MAX || !ASN1_OCTET_STRING_set(os, value, (int) n))
                return openssl_fail(-ENOMEM);
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        if (!ext || !X509_add_ext(x, ext, -1))
                return openssl_fail(-ENOMEM);
        return 0;
}

int sim_cert_add_der_ext(X509 *x, const char *oid, const Der *der) {
        if (der->overflow)
                return -ENOBUFS;
        return sim_cert_add_raw_ext(x, oid, der->buf, der->n);
}

bool sim_cert_has_org(X509 *x, const char *org) {
        X509_NAME *n = X509_get_subject_name(x);
        int i = X509_NAME_get_index_by_NID(n, NID_organizationName, -1);
        const ASN1_STRING *v;

        if (i < 0 || X509_NAME_get_index_by_NID(n, NID_organizationName, i) >= 0)
                return false;
        v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
        return (size_t) ASN1_STRING_length(v) == strlen(org) && memcmp(ASN1_STRING_get0_data(v), org, strlen(org)) == 0;
}

int sim_crl_begin(X509 *issuer, X509 *const *revoked, size_t n_revoked, int64_t this_update, int64_t next_update,
                  X509_CRL **ret) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = X509_CRL_new();
        _cleanup_(ASN1_TIME_freep) ASN1_TIME *tu = ASN1_TIME_new(), *nu = ASN1_TIME_new();
        _cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *number = ASN1_INTEGER_new();
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *aki = NULL;
        X509V3_CTX ctx;
        int r;

        if (!crl || !tu || !nu || !number)
                return openssl_fail(-ENOMEM);
        if ((r = asn1_time_set_unix(tu, this_update)) < 0 || (r = asn1_time_set_unix(nu, next_update)) < 0)
                return r;
        if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
            !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) || !X509_CRL_set1_lastUpdate(crl, tu) ||
            !X509_CRL_set1_nextUpdate(crl, nu))
                return openssl_fail(-ENOMEM);
        for (size_t i = 0; i < n_revoked; i++) {
                _cleanup_(X509_REVOKED_freep) X509_REVOKED *rv = X509_REVOKED_new();

                if (!rv || !X509_REVOKED_set_serialNumber(rv, X509_get_serialNumber(revoked[i])) ||
                    !X509_REVOKED_set_revocationDate(rv, tu) || !X509_CRL_add0_revoked(crl, rv))
                        return openssl_fail(-ENOMEM);
                rv = NULL; /* owned by crl */
        }
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
        aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
        if (!aki || !X509_CRL_add_ext(crl, aki, -1))
                return openssl_fail(-EIO);
        if (!ASN1_INTEGER_set(number, 1) || !X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) ||
            !X509_CRL_sort(crl))
                return openssl_fail(-ENOMEM);
        *ret = TAKE_PTR(crl);
        return 0;
}

int sim_bio_take(BIO *bio, uint8_t **ret, size_t *ret_size) {
        char *data = NULL;
        uint8_t *out;
        long n;

        n = BIO_get_mem_data(bio, &data);
        if (n <= 0)
                return openssl_fail(-EIO);
        out = malloc((size_t) n + 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, data, (size_t) n);
        out[n] = 0;
        *ret = out;
        *ret_size = (size_t) n;
        return 0;
}

int sim_pem_chain(X509 *const *certs, size_t n, uint8_t **ret, size_t *ret_size) {
        _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());

        if (!bio)
                return openssl_fail(-ENOMEM);
        for (size_t i = 0; i < n; i++)
                if (PEM_write_bio_X509(bio, certs[i]) != 1)
                        return openssl_fail(-ENOMEM);
        return sim_bio_take(bio, ret, ret_size);
}

int sim_write_file(const char *dir, const char *name, const void *data, size_t n, mode_t mode) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);

        if (!path)
                return -ENOMEM;
        return write_file_atomic(path, data, n, mode);
}

int sim_write_object(const char *dir, const char *name, SimObject kind, X509 *cert, EVP_PKEY *key) {
        _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL;
        long n;
        int ok;

        if (!bio)
                return openssl_fail(-ENOMEM);
        switch (kind) {
        case SIM_PEM_CERT:
                ok = PEM_write_bio_X509(bio, cert);
                break;
        case SIM_DER_CERT:
                ok = i2d_X509_bio(bio, cert);
                break;
        case SIM_PEM_KEY:
                ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
                break;
        default:
                return -EINVAL;
        }
        if (!ok)
                return openssl_fail(-EIO);
        n = BIO_get_mem_data(bio, &data);
        if (n <= 0)
                return openssl_fail(-EIO);
        ok = sim_write_file(dir, name, data, (size_t) n, kind == SIM_PEM_KEY ? 0600 : 0644);
        if (kind == SIM_PEM_KEY)
                OPENSSL_cleanse(data, (size_t) n);
        return ok;
}

int sim_read_file(const char *dir, const char *name, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);

        if (!path)
                return -ENOMEM;
        return read_file_bounded(path, CVM_INPUT_MAX, ret, ret_size);
}

int sim_read_cert(const char *dir, const char *name, X509 **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = sim_read_file(dir, name, &data, &size);
        if (r < 0)
                return r;
        return x509_parse_one(data, size, ret);
}

int sim_read_key(const char *dir, const char *name, int curve_nid, EVP_PKEY **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        EVP_PKEY *k;
        size_t size;
        int r;

        r = sim_read_file(dir, name, &data, &size);
        if (r < 0)
                return r;
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio) {
                OPENSSL_cleanse(data, size);
                return openssl_fail(-ENOMEM);
        }
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        OPENSSL_cleanse(data, size);
        if (!k)
                return openssl_fail(-EBADMSG);
        if (!pkey_is_ec_curve(k, curve_nid)) {
                EVP_PKEY_free(k);
                return -EBADMSG;
        }
        *ret = k;
        return 0;
}

void sim_fill_digest(const EVP_MD *md, const char *text, uint8_t *out, size_t n) {
        uint8_t d[EVP_MAX_MD_SIZE] = {};
        size_t dn = (size_t) EVP_MD_get_size(md);

        if (!EVP_Digest(text, strlen(text), d, NULL, md, NULL))
                openssl_clear_errors(); /* zeros are plausible too */
        memset(out, 0, n);
        memcpy(out, d, n < dn ? n : dn);
}
