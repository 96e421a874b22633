/* SPDX-License-Identifier: Apache-2.0 */
/* A whole SEV-SNP verification (snp_verify): parts are the report, then a certificate bundle
 * (DER or PEM, a KDS cert_chain), then a GHCB certificate table, then a CRL. The ARK the input
 * carries is trusted besides AMD's, so mutations reach the checks behind the pin. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/crypto.h"
#include "cvm/pem-bundle.h"
#include "cvm/snp.h"
#include "fuzz-split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzPart parts[4] = {};
        SnpChain *chain = snp_chain_new();
        SnpAnchor anchors[4];
        size_t n_builtin, n_anchors = 0, k;
        const SnpAnchor *builtin = snp_builtin_anchors(&n_builtin);
        SnpAppraisal *a = malloc(sizeof(SnpAppraisal));
        Verdict v = {};
        char *reason = NULL;

        if (!chain || !a || verdict_init(&v, "snp") < 0)
                goto out;
        k = fuzz_split(data, size, parts, 4);
        if (k > 1)
                (void) snp_chain_add_data(chain, parts[1].data, parts[1].size, &reason);
        free(reason);
        reason = NULL;
        if (k > 2)
                (void) snp_chain_add_cert_table(chain, parts[2].data, parts[2].size, &reason);
        free(reason);
        reason = NULL;
        if (k > 3) {
                X509_CRL *crl = NULL;
                if (pem_bundle_parse_crl(parts[3].data, parts[3].size, &crl, NULL) >= 0) {
                        (void) snp_chain_set_crl(chain, crl);
                        X509_CRL_free(crl);
                }
        }
        for (size_t i = 0; i < n_builtin && n_anchors < 3; i++)
                anchors[n_anchors++] = builtin[i];
        if (chain->cert[SNP_ROLE_ARK]) {
                SnpProduct p = _SNP_PRODUCT_INVALID;
                (void) snp_cert_identify(chain->cert[SNP_ROLE_ARK], &p);
                if (p >= 0 && x509_spki_sha256(chain->cert[SNP_ROLE_ARK], anchors[n_anchors].spki_sha256) >= 0) {
                        anchors[n_anchors].product = p;
                        anchors[n_anchors++].label = "fuzz input ARK";
                }
        }
        {
                SnpVerifyParams params = {
                        .anchors = anchors, .n_anchors = n_anchors, .at = 1735689600, .require_crl = k > 3};
                /* twice: the second run takes the chain's cached results */
                (void) snp_verify(parts[0].data, parts[0].size, chain, &params, a, &v);
                verdict_done(&v);
                if (verdict_init(&v, "snp") >= 0)
                        (void) snp_verify(parts[0].data, parts[0].size, chain, &params, a, &v);
        }
out:
        verdict_done(&v);
        free(a);
        snp_chain_free(chain);
        return 0;
}
