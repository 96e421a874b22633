/* SPDX-License-Identifier: Apache-2.0 */
/* Retry-After header values as a server sends them (src/shared/http-retry-after.c): the bytes are
 * the value; the current time is fixed so that a crash replays. Whatever is accepted must be
 * within the bound. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* an exact-size copy without a NUL: the parser must not read past size */
        char *value = malloc(size ? size : 1);
        uint64_t sec = UINT64_MAX;

        if (!value)
                return 0;
        for (size_t i = 0; i < size; i++)
                value[i] = (char) data[i];
        if (http_retry_after_parse(value, size, 1767225600 /* 2026-01-01 */, &sec) >= 0 &&
            sec > HTTP_RETRY_AFTER_SEC_MAX)
                abort();
        free(value);
        return 0;
}
