/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd's VerifyEvidence request (include/cvm/evidence-request.h): strict JSON holding an
 * Evidence message, a nonce, a launch digest and a time, from any caller on the bus. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/evidence-request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        EvidenceRequest r = {};
        char *reason = NULL;

        if (evidence_request_parse((const char *) data, size, &r, &reason) >= 0) {
                /* the binding must point at the request's own message */
                if (r.binding.msg != &r.msg)
                        abort();
                evidence_request_done(&r);
        } else if (!reason)
                abort();
        free(reason);
        return 0;
}
