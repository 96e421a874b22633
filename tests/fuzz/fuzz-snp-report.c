/* SPDX-License-Identifier: Apache-2.0 */
/* The SEV-SNP report parser and the claims built from it. */
#include <stdint.h>

#include "cvm/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SnpReport r;
        SnpProduct p;
        char *reason = NULL;

        if (snp_report_parse(data, size, &r, &reason) < 0) {
                free(reason);
                return 0;
        }
        (void) snp_report_product(&r, &p);
        json_object_put(snp_report_claims(&r));
        return 0;
}
