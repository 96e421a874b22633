/* SPDX-License-Identifier: Apache-2.0 */
/* Collecting the AMD certificates a report is checked against, from files, KDS cert_chain
 * bundles and extended-report certificate tables. Roles come from the certificates' subjects,
 * never from where they were found. */
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/pem-bundle.h"
#include "cvm/snp.h"
#include "cvm/util.h"
#include "cvm/x509-cache.h"

SnpChain *snp_chain_new(void) {
        SnpChain *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->link_leaf = c->link_intermediate = c->link_ark = c->crl_signature = -1;
        return c;
}

SnpChain *snp_chain_free(SnpChain *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < _SNP_ROLE_MAX; i++)
                X509_free(c->cert[i]);
        X509_CRL_free(c->crl);
        free(c->leaf_info_error);
        free(c);
        return NULL;
}

static void chain_invalidate(SnpChain *c) {
        c->link_leaf = c->link_intermediate = c->link_ark = c->crl_signature = -1;
        c->leaf_info_ok = c->ark_digest_ok = false;
        c->leaf_info_error = mfree_str(c->leaf_info_error);
}

int snp_chain_add_cert(SnpChain *c, X509 *cert, char **ret_reason) {
        SnpCertRole role = snp_cert_identify(cert, NULL);

        if (role < 0) {
                _cleanup_free_ char *cn = x509_subject_cn(cert);
                return set_reason(ret_reason, -EBADMSG,
                                  "certificate with subject CN '%s' is not an AMD SEV-SNP certificate (expected "
                                  "SEV-VCEK, SEV-VLEK, SEV-<product>, SEV-VLEK-<product> or ARK-<product>)",
                                  cn ? cn : "(none)");
        }
        if (c->cert[role]) {
                if (X509_cmp(c->cert[role], cert) == 0)
                        return 0;
                return set_reason(ret_reason, -EEXIST, "two different %s certificates were given",
                                  snp_cert_role_to_string(role));
        }
        if ((role == SNP_ROLE_VCEK && c->cert[SNP_ROLE_VLEK]) || (role == SNP_ROLE_VLEK && c->cert[SNP_ROLE_VCEK]))
                return set_reason(ret_reason, -EEXIST, "both a VCEK and a VLEK were given; a report has one signer");
        if (!X509_up_ref(cert))
                return -ENOMEM;
        c->cert[role] = cert;
        chain_invalidate(c);
        return 0;
}

int snp_chain_add_data(SnpChain *c, const uint8_t *data, size_t size, char **ret_reason) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        int r;

        r = x509_bundle_parse(data, size, &sk, ret_reason);
        if (r < 0)
                return r;
        for (int i = 0; i < sk_X509_num(sk); i++) {
                r = snp_chain_add_cert(c, sk_X509_value(sk, i), ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

int snp_chain_set_crl(SnpChain *c, X509_CRL *crl) {
        if (!X509_CRL_up_ref(crl))
                return -ENOMEM;
        X509_CRL_free(c->crl);
        c->crl = crl;
        c->crl_signature = -1;
        return 0;
}

int snp_chain_add_cert_table(SnpChain *c, const uint8_t *data, size_t size, char **ret_reason) {
        SnpCertTableEntry entries[SNP_CERT_TABLE_MAX_ENTRIES];
        size_t n;
        int r;

        r = snp_cert_table_parse(data, size, entries, ELEMENTSOF(entries), &n, ret_reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *reason = NULL;

                if (entries[i].role == SNP_CERT_TABLE_OTHER)
                        continue; /* vendor extras (for example a platform's own blobs) */
                if (entries[i].role == SNP_CERT_TABLE_CRL) {
                        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
                        if (x509_crl_parse(entries[i].data, entries[i].size, &crl) < 0)
                                return set_reason(ret_reason, -EBADMSG,
                                                  "certificate table entry %zu (CRL) does not parse", i);
                        r = snp_chain_set_crl(c, crl);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = snp_chain_add_data(c, entries[i].data, entries[i].size, &reason);
                if (r < 0)
                        return set_reason(ret_reason, r, "certificate table entry %zu (%s): %s", i,
                                          snp_cert_table_role_to_string(entries[i].role), reason ? reason : "invalid");
        }
        return 0;
}

X509 *snp_chain_leaf(const SnpChain *c) {
        return c->cert[SNP_ROLE_VCEK] ? c->cert[SNP_ROLE_VCEK] : c->cert[SNP_ROLE_VLEK];
}

X509 *snp_chain_intermediate(const SnpChain *c) {
        if (c->cert[SNP_ROLE_VLEK])
                return c->cert[SNP_ROLE_ASVK];
        if (c->cert[SNP_ROLE_VCEK])
                return c->cert[SNP_ROLE_ASK];
        return c->cert[SNP_ROLE_ASK] ? c->cert[SNP_ROLE_ASK] : c->cert[SNP_ROLE_ASVK];
}
