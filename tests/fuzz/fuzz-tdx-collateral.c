/* SPDX-License-Identifier: Apache-2.0 */
/* The collateral JSON parsers (TCB info, QE identity) and the signed-member scanner. The same
 * input goes to both parsers. */
#include <stdint.h>

#include "cvm/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TdxTcbInfo *ti = NULL;
        TdxQeIdentity *qe = NULL;
        char *reason = NULL;
        size_t off, len;

        (void) tdx_json_member_span((const char *) data, size, "tcbInfo", &off, &len);
        if (tdx_tcb_info_parse((const char *) data, size, &ti, &reason) >= 0)
                tdx_tcb_info_free(ti);
        free(reason);
        reason = NULL;
        if (tdx_qe_identity_parse((const char *) data, size, &qe, &reason) >= 0)
                tdx_qe_identity_free(qe);
        free(reason);
        return 0;
}
