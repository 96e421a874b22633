/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Inputs of several parts (a report and its certificates, a quote and its collateral files)
 * are one fuzz input with the parts separated by FUZZ_SPLIT; the seed scripts write them so. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_SPLIT "\n--cvmd-fuzz-split--\n"

typedef struct FuzzPart {
        const uint8_t *data;
        size_t size;
} FuzzPart;

/* Splits data into at most max parts; the last part takes the rest. Returns the count. */
static inline size_t fuzz_split(const uint8_t *data, size_t size, FuzzPart *parts, size_t max) {
        const size_t k = sizeof(FUZZ_SPLIT) - 1;
        size_t n = 0;

        while (n + 1 < max) {
                const uint8_t *e = memmem(data, size, FUZZ_SPLIT, k);
                if (!e)
                        break;
                parts[n++] = (FuzzPart){data, (size_t) (e - data)};
                size -= (size_t) (e - data) + k;
                data = e + k;
        }
        parts[n++] = (FuzzPart){data, size};
        return n;
}
