/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Asynchronous polkit checks for D-Bus method callers (see polkit.c). */

#include <systemd/sd-bus.h>

#include "cvm/macro.h"

/* The actions of systemd/org.cvmd.policy. */
#define POLKIT_ACTION_MANAGE "org.cvmd.manage" /* Launch, Stop, Attest, ReloadPolicies */
#define POLKIT_ACTION_READ "org.cvmd.read"     /* List, Get, GetHost, VerifyEvidence */
#define POLKIT_ACTION_TOKEN "org.cvmd.token"   /* GetToken */

typedef struct Polkit Polkit;

int polkit_new(Polkit **ret);
Polkit *polkit_free(Polkit *p);
DEFINE_CLEANUP(Polkit *, polkit_free)

/* Whether polkit authorises the caller of msg for action: 1 yes; 0 asked, answer pending (the
 * handler returns 1 without replying; msg is dispatched again once polkit has answered); < 0
 * refused or failed, with error set. */
int polkit_check(Polkit *p, sd_bus_message *msg, const char *action, sd_bus_error *error);
