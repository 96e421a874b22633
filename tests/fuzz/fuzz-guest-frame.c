/* SPDX-License-Identifier: Apache-2.0 */
/* Guest channel frames and messages: everything the host accepts from a (hostile) guest. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/guest-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ProtoMsg m = {};
        char *reason = NULL;

        if (proto_frame_decode(data, size, &m, &reason) >= 0) {
                uint8_t *frame = NULL;
                size_t n;
                /* whatever decodes must encode again */
                if (proto_frame_encode(&m, &frame, &n) < 0)
                        abort();
                free(frame);
        }
        free(reason);
        proto_msg_done(&m);
        return 0;
}
