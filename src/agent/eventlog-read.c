/* SPDX-License-Identifier: Apache-2.0 */
/* The firmware's CC event log on a real TDX guest: Linux exposes the ACPI CCEL table as
 * /sys/firmware/acpi/tables/CCEL and its log area as /sys/firmware/acpi/tables/data/CCEL. The
 * area is as large as the firmware reserved (LAML); the log is cut after its last event so that
 * the agent's runtime events can follow it. The host replays whatever is sent: nothing here is
 * trusted, it is only read carefully. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"

#define ACPI_TABLES_DEFAULT "/sys/firmware/acpi/tables"
#define CCEL_TABLE_MAX      4096u
/* a log area larger than this could not travel in one evidence frame anyway */
#define CCEL_AREA_MAX (4u * 1024u * 1024u)

int eventlog_read_ccel(const char *acpi_dir, uint8_t **ret, size_t *ret_size, char **ret_reason) {
        const char *dir = acpi_dir ? acpi_dir : ACPI_TABLES_DEFAULT;
        _cleanup_free_ char *table_path = strdup_printf("%s/CCEL", dir),
                            *area_path = strdup_printf("%s/data/CCEL", dir);
        _cleanup_free_ uint8_t *table = NULL, *area = NULL;
        _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
        _cleanup_free_ char *why = NULL;
        size_t table_size, area_size;
        CcelTable t;
        uint8_t *out;
        int r;

        if (!table_path || !area_path)
                return -ENOMEM;
        r = read_file_bounded(table_path, CCEL_TABLE_MAX, &table, &table_size);
        if (r == -ENOENT)
                return -ENOENT; /* not a TDX guest, or firmware without CCEL */
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", table_path, strerror(-r));
        if (ccel_table_parse(table, table_size, &t, &why) < 0)
                return set_reason(ret_reason, -EBADMSG, "%s: %s", table_path, why ? why : "not a CCEL table");
        r = read_file_bounded(area_path, CCEL_AREA_MAX, &area, &area_size);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", area_path, strerror(-r));
        free(why);
        why = NULL;
        if (cc_eventlog_parse(area, area_size, &log, &why) < 0)
                return set_reason(ret_reason, -EBADMSG, "%s: %s", area_path, why ? why : "not an event log");
        if (log->size > PROTO_EVENTLOG_MAX)
                return set_reason(ret_reason, -EFBIG,
                                  "%s: the event log takes %zu bytes, more than the %u the protocol carries", area_path,
                                  log->size, PROTO_EVENTLOG_MAX);
        out = malloc(log->size);
        if (!out)
                return -ENOMEM;
        memcpy(out, area, log->size);
        *ret = out;
        *ret_size = log->size;
        return 0;
}
