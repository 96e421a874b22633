/* SPDX-License-Identifier: Apache-2.0 */
/* audit-append DB TIME KIND [VM [DETAILS-JSON]]: appends one event to an audit store and prints
 * its id, so that tests/integration/test-audit.sh can build a store the way cvmd does. */
#include <stdio.h>
#include <stdlib.h>

#include "cvm/audit.h"
#include "cvm/cleanup.h"

int main(int argc, char *argv[]) {
        _cleanup_(audit_closep) AuditStore *s = NULL;
        _cleanup_(json_object_putp) json_object *details = NULL;
        _cleanup_free_ char *reason = NULL;
        static const uint8_t uuid[16] = {0x6f, 0x1c, 0x2a, 0x9e, 0x4b, 0x7d, 0x4e, 0x21,
                                         0x9a, 0x43, 0x0c, 0x5d, 0x8e, 0x7f, 0x1a, 0x26};
        AuditKind kind;
        int64_t id;
        int r;

        if (argc < 4 || argc > 6) {
                fprintf(stderr, "usage: audit-append DB TIME KIND [VM [DETAILS-JSON]]\n");
                return 2;
        }
        kind = audit_kind_from_string(argv[3]);
        if (kind < 0) {
                fprintf(stderr, "audit-append: unknown kind '%s'\n", argv[3]);
                return 2;
        }
        if (argc > 5) {
                details = json_tokener_parse(argv[5]);
                if (!details) {
                        fprintf(stderr, "audit-append: details are not JSON\n");
                        return 2;
                }
        }
        r = audit_open(argv[1], false, &s, &reason);
        if (r >= 0)
                r = audit_append(s, strtoll(argv[2], NULL, 10), kind, argc > 4 ? argv[4] : NULL, argc > 4 ? uuid : NULL,
                                 details, &id, &reason);
        if (r < 0) {
                fprintf(stderr, "audit-append: %s\n", reason ? reason : "failed");
                return 1;
        }
        printf("%lld\n", (long long) id);
        return 0;
}
