/* SPDX-License-Identifier: Apache-2.0 */
/* What the guest's evidence sources hand over, parsed as the agent and the host parse it:
 * configfs-tsm's outblob (an SNP report or a TDX quote) and auxblob (the GHCB certificate
 * table), and /dev/sev-guest's SNP_GET_EXT_REPORT certificate buffer, whose used length the
 * agent computes from the table before sending it. Parts: outblob, auxblob. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/snp.h"
#include "cvm/tdx.h"
#include "fuzz-split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SnpCertTableEntry e[SNP_CERT_TABLE_MAX_ENTRIES];
        FuzzPart parts[2] = {};
        SnpReport *report = malloc(sizeof(SnpReport));
        SnpChain *chain = snp_chain_new();
        TdxQuote q;
        char *reason = NULL;
        size_t n = 0, k;

        k = fuzz_split(data, size, parts, 2);
        if (!report || !chain)
                goto out;
        if (snp_report_parse(parts[0].data, parts[0].size, report, &reason) >= 0)
                json_object_put(snp_report_claims(report));
        free(reason);
        reason = NULL;
        if (tdx_quote_parse(parts[0].data, parts[0].size, &q, &reason) >= 0)
                json_object_put(tdx_quote_claims(&q));
        free(reason);
        reason = NULL;
        if (k == 2 &&
            snp_cert_table_parse(parts[1].data, parts[1].size, e, SNP_CERT_TABLE_MAX_ENTRIES, &n, &reason) >= 0) {
                /* the agent's used length: every blob lies within the buffer */
                size_t used = (n + 1) * 24;
                for (size_t i = 0; i < n; i++) {
                        if (e[i].data < parts[1].data ||
                            (size_t) (e[i].data - parts[1].data) + e[i].size > parts[1].size)
                                abort();
                        if ((size_t) (e[i].data - parts[1].data) + e[i].size > used)
                                used = (size_t) (e[i].data - parts[1].data) + e[i].size;
                }
                if (used > parts[1].size)
                        abort();
                free(reason);
                reason = NULL;
                (void) snp_chain_add_cert_table(chain, parts[1].data, parts[1].size, &reason);
        }
        free(reason);
out:
        snp_chain_free(chain);
        free(report);
        return 0;
}
