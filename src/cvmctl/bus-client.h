/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cvmctl's side of cvmd's D-Bus API: the connection, method calls on org.cvmd.Manager1, and the
 * mapping of D-Bus errors to cvmctl's exit codes and to messages an operator can act on. */

#include <systemd/sd-bus.h>

#define CVMD_BUS_NAME "org.cvmd"
#define CVMD_MANAGER_PATH "/org/cvmd/Manager1"
#define CVMD_MANAGER_IFACE "org.cvmd.Manager1"
#define CVMD_VM_PREFIX "/org/cvmd/vm"

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured). Returns 0, or an exit code
 * after printing why. */
int bus_client_open(sd_bus **ret);

/* The exit code for a failed call: 2 for the caller's mistakes (InvalidArgs, no such VM), 1 for
 * everything else (refused access, cvmd not running, a failure in the daemon). */
int bus_client_error_exit(const sd_bus_error *error, int r);

/* Prints "cvmctl: <what>: <readable reason>" and returns bus_client_error_exit(). */
int bus_client_report(const char *what, const sd_bus_error *error, int r);

/* Calls a method of org.cvmd.Manager1; on failure reports it (naming the method) and returns the
 * exit code, on success returns 0 and the reply. */
int bus_client_call(sd_bus *bus, const char *method, sd_bus_message **ret_reply, const char *types, ...);

/* The VM name an object path below /org/cvmd/vm stands for. */
int bus_client_vm_name(const char *path, char **ret);
