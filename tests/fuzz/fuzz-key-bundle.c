/* SPDX-License-Identifier: Apache-2.0 */
/* The key bundle as the guest agent reads it (untrusted: it comes out of the HPKE ciphertext).
 * Whatever parses must be exactly what the host's builder makes of the same keys and metadata. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/key-bundle.h"
#include "cvm/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(secret_freep) Secret *in = NULL, *back = NULL;
        _cleanup_free_ KeyBundle *b = NULL;
        _cleanup_free_ char *reason = NULL;

        if (secret_new_copy(data, size, &in) < 0)
                return 0;
        if (key_bundle_parse(in, &b, &reason) < 0) {
                if (!reason)
                        abort(); /* every refusal says why */
                return 0;
        }
        if (key_bundle_new(&back) < 0)
                abort();
        key_bundle_set_replace(back, b->replace);
        for (size_t i = 0; i < b->n; i++) {
                _cleanup_(secret_freep) Secret *key = NULL;
                if (secret_new_copy(b->entries[i].key, b->entries[i].key_size, &key) < 0 ||
                    key_bundle_add_install(&back, b->entries[i].kid, &b->entries[i].install, key, NULL) < 0)
                        abort();
        }
        if (secret_size(back) != size || memcmp(secret_data(back), data, size) != 0)
                abort();
        return 0;
}
