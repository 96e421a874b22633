/* SPDX-License-Identifier: Apache-2.0 */
/* The CC event log parser and its replay, the JSON built from what it accepts, and the ACPI
 * CCEL table parser over the same bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "cvm/tdx-measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint8_t zero[TDX_RTMRS][TDX_MR_SIZE];
        CcEventLog *log = NULL;
        CcelTable t;
        char *reason = NULL;

        if (cc_eventlog_parse(data, size, &log, &reason) >= 0) {
                json_object_put(cc_eventlog_to_json(log));
                (void) cc_eventlog_match(log, zero, &reason);
                cc_eventlog_free(log);
        }
        free(reason);
        reason = NULL;
        (void) ccel_table_parse(data, size, &t, &reason);
        free(reason);
        return 0;
}
