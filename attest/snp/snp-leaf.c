/* SPDX-License-Identifier: Apache-2.0 */
/* AMD certificate roles and the VCEK/VLEK extensions (VCEK spec #57230, spec §9). */
#include <openssl/asn1.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/snp.h"
#include "cvm/util.h"

static const char *const role_names[_SNP_ROLE_MAX] = {
        [SNP_ROLE_VCEK] = "VCEK", [SNP_ROLE_VLEK] = "VLEK", [SNP_ROLE_ASK] = "ASK",
        [SNP_ROLE_ASVK] = "ASVK", [SNP_ROLE_ARK] = "ARK",
};

const char *snp_cert_role_to_string(SnpCertRole role) {
        return role >= 0 && role < _SNP_ROLE_MAX ? role_names[role] : "unknown";
}

SnpCertRole snp_cert_identify(X509 *cert, SnpProduct *ret_product) {
        _cleanup_free_ char *cn = x509_subject_cn(cert);
        SnpProduct p;

        if (!cn)
                return _SNP_ROLE_INVALID;
        if (streq(cn, "SEV-VCEK"))
                return SNP_ROLE_VCEK;
        if (streq(cn, "SEV-VLEK"))
                return SNP_ROLE_VLEK;
        if (strncmp(cn, "ARK-", 4) == 0 && (p = snp_product_from_string(cn + 4)) >= 0) {
                if (ret_product)
                        *ret_product = p;
                return SNP_ROLE_ARK;
        }
        if (strncmp(cn, "SEV-VLEK-", 9) == 0 && (p = snp_product_from_string(cn + 9)) >= 0) {
                if (ret_product)
                        *ret_product = p;
                return SNP_ROLE_ASVK;
        }
        if (strncmp(cn, "SEV-", 4) == 0 && (p = snp_product_from_string(cn + 4)) >= 0) {
                if (ret_product)
                        *ret_product = p;
                return SNP_ROLE_ASK;
        }
        return _SNP_ROLE_INVALID;
}

#define AMD_OID_PREFIX "1.3.6.1.4.1.3704.1."

/* The extnValue bytes of the extension with the given AMD OID suffix; NULL data when absent.
 * -EBADMSG when the extension appears twice: the binding would be ambiguous. */
static int find_ext(X509 *cert, const char *suffix, const uint8_t **ret, size_t *ret_size) {
        _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = NULL;
        char oid[64];
        int idx;
        const ASN1_OCTET_STRING *v;

        snprintf(oid, sizeof(oid), AMD_OID_PREFIX "%s", suffix);
        obj = OBJ_txt2obj(oid, 1);
        if (!obj)
                return -ENOMEM;
        idx = X509_get_ext_by_OBJ(cert, obj, -1);
        if (idx < 0) {
                *ret = NULL;
                *ret_size = 0;
                return 0;
        }
        if (X509_get_ext_by_OBJ(cert, obj, idx) >= 0)
                return -EBADMSG;
        v = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
        *ret = ASN1_STRING_get0_data(v);
        *ret_size = (size_t) ASN1_STRING_length(v);
        return 0;
}

/* A DER INTEGER 0..255 filling the whole extnValue (values >= 0x80 take two bytes). */
static int ext_spl(X509 *cert, const char *suffix, const char *name, int *ret, char **ret_reason) {
        const uint8_t *p, *q;
        size_t n;
        ASN1_INTEGER *ai;
        int64_t v;
        int r;

        r = find_ext(cert, suffix, &p, &n);
        if (r < 0)
                return set_reason(ret_reason, -EBADMSG, "leaf extension %s (" AMD_OID_PREFIX "%s) appears twice", name,
                                  suffix);
        if (!p) {
                *ret = -1;
                return 0;
        }
        q = p;
        ai = d2i_ASN1_INTEGER(NULL, &q, (long) n);
        if (!ai || q != p + n || !ASN1_INTEGER_get_int64(&v, ai) || v < 0 || v > 255) {
                ASN1_INTEGER_free(ai);
                openssl_clear_errors();
                return set_reason(ret_reason, -EBADMSG, "leaf extension %s is not an INTEGER in 0..255", name);
        }
        ASN1_INTEGER_free(ai);
        *ret = (int) v;
        return 0;
}

static int ext_ia5(X509 *cert, const char *suffix, const char *name, char *buf, size_t size, char **ret_reason) {
        const uint8_t *p, *q;
        size_t n;
        ASN1_IA5STRING *s;
        int r, len;

        buf[0] = '\0';
        r = find_ext(cert, suffix, &p, &n);
        if (r < 0)
                return set_reason(ret_reason, -EBADMSG, "leaf extension %s appears twice", name);
        if (!p)
                return 0;
        q = p;
        s = d2i_ASN1_IA5STRING(NULL, &q, (long) n);
        len = s ? ASN1_STRING_length(s) : -1;
        if (!s || q != p + n || len < 0 || (size_t) len >= size || memchr(ASN1_STRING_get0_data(s), 0, (size_t) len)) {
                ASN1_STRING_free(s);
                openssl_clear_errors();
                return set_reason(ret_reason, -EBADMSG, "leaf extension %s is not a short IA5String", name);
        }
        memcpy(buf, ASN1_STRING_get0_data(s), (size_t) len);
        buf[len] = '\0';
        ASN1_STRING_free(s);
        return 0;
}

int snp_leaf_info_parse(X509 *leaf, SnpLeafInfo *ret, char **ret_reason) {
        SnpLeafInfo info = {.struct_version = -1};
        const uint8_t *p;
        size_t n;
        int r;

        r = ext_spl(leaf, "1", "structVersion", &info.struct_version, ret_reason);
        if (r < 0)
                return r;
        r = ext_ia5(leaf, "2", "productName", info.product_name, sizeof(info.product_name), ret_reason);
        if (r < 0)
                return r;
        if ((r = ext_spl(leaf, "3.1", "blSPL", &info.bl_spl, ret_reason)) < 0 ||
            (r = ext_spl(leaf, "3.2", "teeSPL", &info.tee_spl, ret_reason)) < 0 ||
            (r = ext_spl(leaf, "3.3", "snpSPL", &info.snp_spl, ret_reason)) < 0 ||
            (r = ext_spl(leaf, "3.8", "ucodeSPL", &info.ucode_spl, ret_reason)) < 0 ||
            (r = ext_spl(leaf, "3.9", "fmcSPL", &info.fmc_spl, ret_reason)) < 0)
                return r;
        r = ext_ia5(leaf, "5", "cspID", info.csp_id, sizeof(info.csp_id), ret_reason);
        if (r < 0)
                return r;

        r = find_ext(leaf, "4", &p, &n);
        if (r < 0)
                return set_reason(ret_reason, -EBADMSG, "leaf extension hwID appears twice");
        if (p) {
                /* AMD stores the bare bytes (64, or 8 on Turin). Some tools wrap them in a DER
                 * OCTET STRING; accept that form too, nothing else. */
                if (n == 64 || n == 8) {
                        memcpy(info.hwid, p, n);
                        info.hwid_size = n;
                } else if (n >= 2 && p[0] == 0x04 && (size_t) p[1] + 2 == n && (p[1] == 64 || p[1] == 8)) {
                        memcpy(info.hwid, p + 2, p[1]);
                        info.hwid_size = p[1];
                } else
                        return set_reason(ret_reason, -EBADMSG, "leaf extension hwID has %zu bytes; expected 64 or 8",
                                          n);
        }

        if (info.bl_spl < 0 || info.tee_spl < 0 || info.snp_spl < 0 || info.ucode_spl < 0)
                return set_reason(ret_reason, -EBADMSG,
                                  "leaf lacks one of the blSPL, teeSPL, snpSPL, ucodeSPL extensions");
        *ret = info;
        return 0;
}
