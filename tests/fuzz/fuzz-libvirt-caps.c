/* SPDX-License-Identifier: Apache-2.0 */
/* XML read from the host's libvirt: capabilities, domain capabilities, and a node device's
 * driver, as the host probe parses them. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/host-probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        HostProbe *h = host_probe_new();
        char *reason = NULL, *driver = NULL;

        if (!h)
                return 0;
        (void) host_probe_parse_caps(h, (const char *) data, size, &reason);
        free(reason);
        reason = NULL;
        (void) host_probe_parse_domcaps(h, (const char *) data, size, &reason);
        free(reason);
        if (host_probe_nodedev_driver((const char *) data, size, &driver) >= 0)
                free(driver);
        host_probe_free(h);
        return 0;
}
