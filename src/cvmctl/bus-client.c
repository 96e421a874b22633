/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl's D-Bus client for cvmd. The daemon decides who may call it (root or the cvmd group);
 * here we only connect, call and turn its answers into exit codes and plain messages. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bus-client.h"
#include "cli.h"
#include "cvm/util.h"

#define SYSTEM_BUS_DEFAULT "unix:path=/run/dbus/system_bus_socket"

int bus_client_open(sd_bus **ret) {
        const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        int r;

        r = sd_bus_open_system(ret);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "cannot connect to the system bus at %s: %s",
                                 address ? address : SYSTEM_BUS_DEFAULT, strerror(-r));
        return 0;
}

static bool error_is(const sd_bus_error *error, const char *name) {
        return sd_bus_error_has_name(error, name);
}

int bus_client_error_exit(const sd_bus_error *error, int r) {
        if (error_is(error, SD_BUS_ERROR_INVALID_ARGS) || error_is(error, "org.cvmd.Error.NoSuchVM"))
                return EXIT_USAGE;
        return EXIT_REJECTED;
}

int bus_client_report(const char *what, const sd_bus_error *error, int r) {
        const char *msg = sd_bus_error_is_set(error) && error->message ? error->message : strerror(-r);
        int rc = bus_client_error_exit(error, r);

        if (error_is(error, SD_BUS_ERROR_SERVICE_UNKNOWN) || error_is(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return cli_error(rc, "%s: cvmd is not running (nothing owns %s on the system bus)", what,
                                 CVMD_BUS_NAME);
        if (error_is(error, SD_BUS_ERROR_ACCESS_DENIED))
                return cli_error(rc, "%s: access denied: %s", what, msg);
        if (error_is(error, SD_BUS_ERROR_NO_REPLY) || error_is(error, SD_BUS_ERROR_TIMEOUT))
                return cli_error(rc, "%s: cvmd did not answer in time", what);
        if (error_is(error, SD_BUS_ERROR_INVALID_ARGS))
                return cli_error(rc, "%s: invalid: %s", what, msg);
        return cli_error(rc, "%s: %s", what, msg);
}

int bus_client_call(sd_bus *bus, const char *method, sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(bus, CVMD_BUS_NAME, CVMD_MANAGER_PATH, CVMD_MANAGER_IFACE, method, &error, ret_reply,
                                types, ap);
        va_end(ap);
        if (r < 0)
                return bus_client_report(method, &error, r);
        return 0;
}

int bus_client_vm_name(const char *path, char **ret) {
        int r = sd_bus_path_decode(path, CVMD_VM_PREFIX, ret);

        if (r < 0)
                return r;
        return r == 0 ? -EINVAL : 0;
}
