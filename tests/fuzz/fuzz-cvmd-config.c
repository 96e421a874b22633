/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd.conf's reader and value parsers: any bytes either fail with a reason or give a
 * configuration that keeps the promises the daemon relies on (absolute paths, ports in range, a
 * non-loopback listener only when allowed, keys rotated no faster than tokens expire). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/cvmd-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;
        _cleanup_(cvmd_config_warnings_freep) char **warnings = NULL;
        _cleanup_free_ char *reason = NULL;

        if (cvmd_config_parse("/etc/cvmd/cvmd.conf", (const char *) data, size, &c, &reason, &warnings) < 0) {
                if (!reason)
                        abort(); /* every refusal but OOM says why */
                return 0;
        }
        if (reason || c->state_directory[0] != '/' || c->cache_directory[0] != '/' || c->keys_directory[0] != '/' ||
            c->policies_directory[0] != '/')
                abort();
        if (c->vsock_port < 1 || c->vsock_port > 65535 || c->token_rotate_sec < c->token_lifetime_sec)
                abort();
        if (c->http_listen.enabled && !c->http_listen.loopback && !c->http_allow_non_loopback)
                abort();
        for (char **w = warnings; w && *w; w++)
                if (strncmp(*w, "/etc/cvmd/cvmd.conf:", 20) != 0)
                        abort();
        return 0;
}
