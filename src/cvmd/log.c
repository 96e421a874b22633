/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd's log: structured journal entries (VM name, UUID, TEE, phase, outcome) when the journal
 * is there, plain lines on stderr otherwise (the sandbox, the tests, a terminal). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "cvm/util.h"
#include "cvmd-internal.h"

static bool use_journal(void) {
        /* systemd sets JOURNAL_STREAM for a service whose stderr is the journal */
        return getenv("JOURNAL_STREAM") != NULL;
}

void cvmd_log(int priority, const Vm *vm, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!msg)
                return;
        if (!use_journal()) {
                if (vm)
                        fprintf(stderr, "cvmd: %s: %s\n", vm->name, msg);
                else
                        fprintf(stderr, "cvmd: %s\n", msg);
                return;
        }
        if (!vm) {
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=cvmd", NULL);
                return;
        }
        char uuid[37];
        snprintf(uuid, sizeof(uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 vm_run(vm)->uuid[0], vm_run(vm)->uuid[1], vm_run(vm)->uuid[2], vm_run(vm)->uuid[3], vm_run(vm)->uuid[4], vm_run(vm)->uuid[5], vm_run(vm)->uuid[6],
                 vm_run(vm)->uuid[7], vm_run(vm)->uuid[8], vm_run(vm)->uuid[9], vm_run(vm)->uuid[10], vm_run(vm)->uuid[11], vm_run(vm)->uuid[12], vm_run(vm)->uuid[13],
                 vm_run(vm)->uuid[14], vm_run(vm)->uuid[15]);
        sd_journal_send("MESSAGE=%s: %s", vm->name, msg, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=cvmd",
                        "CVMD_VM=%s", vm->name, "CVMD_VM_UUID=%s", uuid, "CVMD_TEE=%s",
                        cvm_tee_to_string(vm->spec->tee), "CVMD_PHASE=%s", launch_phase_to_string(vm_run(vm)->phase),
                        "CVMD_REASON=%s", vm_run(vm)->reason ? vm_run(vm)->reason : "", NULL);
}
