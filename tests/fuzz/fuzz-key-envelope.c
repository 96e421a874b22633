/* SPDX-License-Identifier: Apache-2.0 */
/* The key envelope parser; whatever parses must format and parse back to the same envelope. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(key_envelope_done) KeyEnvelope e = {}, back = {};
        _cleanup_free_ char *reason = NULL, *text = NULL;

        if (key_envelope_parse((const char *) data, size, &e, &reason) < 0)
                return 0;
        if (key_envelope_format(&e, &text) < 0 || key_envelope_parse(text, strlen(text), &back, NULL) < 0)
                abort();
        if (strcmp(e.kid, back.kid) != 0 || strcmp(e.kek, back.kek) != 0 || strcmp(e.alg, back.alg) != 0 ||
            e.wrapped_size != back.wrapped_size || memcmp(e.wrapped, back.wrapped, e.wrapped_size) != 0 ||
            memcmp(&e.install, &back.install, sizeof(e.install)) != 0)
                abort();
        return 0;
}
