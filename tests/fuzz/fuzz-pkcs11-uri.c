/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 7512 PKCS#11 URIs as given to --kek pkcs11:... and the daemon's configuration. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/keys/kek-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Pkcs11Uri u = {};
        char *uri = strndup((const char *) data, size), *reason = NULL;

        if (!uri)
                return 0;
        if (pkcs11_uri_parse(uri, &u, &reason) >= 0)
                pkcs11_uri_done(&u);
        free(reason);
        free(uri);
        return 0;
}
