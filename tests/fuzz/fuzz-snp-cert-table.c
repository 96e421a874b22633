/* SPDX-License-Identifier: Apache-2.0 */
/* The GHCB certificate table, and the certificates it carries into a chain. */
#include <stdint.h>

#include "cvm/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SnpCertTableEntry e[SNP_CERT_TABLE_MAX_ENTRIES];
        SnpChain *c;
        char *reason = NULL;
        size_t n;

        if (snp_cert_table_parse(data, size, e, SNP_CERT_TABLE_MAX_ENTRIES, &n, &reason) < 0)
                free(reason);
        reason = NULL;
        c = snp_chain_new();
        if (!c)
                return 0;
        if (snp_chain_add_cert_table(c, data, size, &reason) < 0)
                free(reason);
        snp_chain_free(c);
        return 0;
}
