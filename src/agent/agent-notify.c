/* SPDX-License-Identifier: Apache-2.0 */
/* What the agent tells systemd (Type=notify): READY=1 only once the keys of an exchange are
 * installed, so that a training unit ordered After=cvm-agent.service starts with its keys in
 * place; STATUS= says what the agent waits for. Outside systemd ($NOTIFY_SOCKET unset) these do
 * nothing. Reasons never hold key bytes (install-keys.c never puts any in one). */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "agent.h"

void agent_notify_listening(const char *addr) {
        (void) sd_notifyf(0, "STATUS=Waiting for cvmd's attestation challenge and data keys on %s", addr);
}

void agent_notify_exchange(int r, bool authenticated, const char *reason) {
        static bool ready;

        if (r >= 0) {
                (void) sd_notifyf(0, "%sSTATUS=Data keys installed; serving re-attestation", ready ? "" : "READY=1\n");
                ready = true;
        } else if (authenticated)
                (void) sd_notifyf(0, "STATUS=%s: %s; waiting for the next exchange",
                                  ready ? "Re-attestation failed, the earlier keys stay" : "No keys yet, the exchange failed",
                                  reason ? reason : "unknown error");
        /* a refused stranger changes nothing about what the agent waits for */
}
