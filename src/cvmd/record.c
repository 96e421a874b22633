/* SPDX-License-Identifier: Apache-2.0 */
/* What cvmd records of every state change: a row in the audit chain (appraisals with their
 * reasons, key releases by key ID, never key bytes), the metrics, and systemd's STATUS line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "cvm/util.h"
#include "cvm/verdict.h"
#include "cvmd-internal.h"

static double seconds_between(uint64_t from_usec, uint64_t to_usec) {
        return to_usec > from_usec ? (double) (to_usec - from_usec) / 1e6 : 0.0;
}

static void audit(Manager *m, const Vm *vm, AuditKind kind, json_object *details) {
        _cleanup_free_ char *reason = NULL;
        int r;

        if (!m->audit)
                return;
        r = audit_append(m->audit, (int64_t) time(NULL), kind, vm->name, vm_run(vm)->domain ? vm_run(vm)->uuid : NULL, details, NULL,
                         &reason);
        if (r < 0)
                cvmd_log(LOG_ERR, vm, "audit store: %s", reason ? reason : strerror(-r));
}

static json_object *state_details(const Vm *vm) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "state", json_object_new_string(launch_phase_to_string(vm_run(vm)->phase)));
        /* once the plan exists, the digest the launch bound (over the boot files' contents):
         * recovery matches the domain's metadata against the chain's record of it */
        if (vm_run(vm)->plan)
                json_object_object_add(o, "spec_digest", json_object_new_string(vm_run(vm)->plan->spec_digest_hex));
        if (vm_run(vm)->reason)
                json_object_object_add(o, "reason", json_object_new_string(vm_run(vm)->reason));
        return o;
}

static void record_audit(Manager *m, const Vm *vm) {
        _cleanup_(json_object_putp) json_object *d = state_details(vm);

        switch (vm_run(vm)->phase) {
        case LAUNCH_DEFINED:
                if (d) {
                        /* the spec as it was launched (key IDs, never keys): a restarted cvmd reads it back */
                        json_object_object_add(d, "tee", json_object_new_string(cvm_tee_to_string(vm->spec->tee)));
                        json_object_object_add(d, "policy", json_object_new_string(vm->spec->policy));
                        json_object_object_add(d, "spec", json_tokener_parse(vm->spec_json));
                }
                audit(m, vm, AUDIT_LAUNCH, d);
                break;
        case LAUNCH_RUNNING: {
                _cleanup_free_ char *reason = NULL;
                _cleanup_(json_object_putp) json_object *a = NULL;

                if (!vm_run(vm)->result.released) { /* recovered after a restart: released before it */
                        audit(m, vm, AUDIT_STATE, d);
                        break;
                }
                a = verdict_to_json(&vm_run(vm)->result.verdict);
                audit(m, vm, AUDIT_APPRAISAL, a);
                if (m->audit && audit_append_key_release(m->audit, (int64_t) time(NULL), vm->name, vm_run(vm)->uuid,
                                                         (const char *const *) vm->spec->key_ids,
                                                         vm->spec->n_key_ids, NULL, &reason) < 0)
                        cvmd_log(LOG_ERR, vm, "audit store: %s", reason ? reason : "cannot record the key release");
                break;
        }
        case LAUNCH_FAILED:
        case LAUNCH_QUARANTINED:
                if (vm_run(vm)->result.verdict.tee) { /* an appraisal ran: its reasons go in the chain */
                        _cleanup_(json_object_putp) json_object *a = verdict_to_json(&vm_run(vm)->result.verdict);
                        audit(m, vm, AUDIT_APPRAISAL, a);
                }
                audit(m, vm, AUDIT_FAILURE, d);
                break;
        case LAUNCH_STOPPED:
                audit(m, vm, AUDIT_STOP, d);
                break;
        default:
                audit(m, vm, AUDIT_STATE, d);
                break;
        }
}

static void record_metrics(Manager *m, const Vm *vm, LaunchPhase prev) {
        uint64_t now = (uint64_t) time(NULL) * 1000000u;

        if (!m->metrics)
                return;
        for (LaunchPhase s = 0; s < _LAUNCH_PHASE_MAX; s++)
                (void) metrics_set_vms(m->metrics, launch_phase_to_string(s), m->counts[s]);
        /* the phase that just ended, and how long it took */
        if (prev != vm_run(vm)->phase)
                (void) metrics_observe_launch_phase(m->metrics, launch_phase_to_string(prev),
                                                    seconds_between(vm->changed_usec, now));
        /* an appraisal ran and has its outcome: counted once, whatever the failure action */
        if (prev != vm_run(vm)->phase && vm_run(vm)->result.verdict.tee &&
            (vm_run(vm)->phase == LAUNCH_RUNNING || vm_run(vm)->phase == LAUNCH_FAILED ||
             vm_run(vm)->phase == LAUNCH_QUARANTINED)) {
                CvmTee tee = cvm_tee_from_string(vm_run(vm)->result.verdict.tee);
                if (tee >= 0)
                        (void) metrics_observe_attestation(m->metrics, tee, vm_run(vm)->phase == LAUNCH_RUNNING,
                                                           seconds_between(vm_run(vm)->attest_started_usec, now));
        }
        if (vm_run(vm)->phase == LAUNCH_RUNNING)
                (void) metrics_count_key_releases(m->metrics, (unsigned) vm->spec->n_key_ids);
}

static void record_status(Manager *m) {
        char status[256];
        int n = snprintf(status, sizeof(status), "STATUS=%zu VMs:", m->n_vms);

        for (LaunchPhase s = 0; s < _LAUNCH_PHASE_MAX && n > 0 && (size_t) n < sizeof(status); s++)
                if (m->counts[s])
                        n += snprintf(status + n, sizeof(status) - (size_t) n, " %u %s", m->counts[s],
                                      launch_phase_to_string(s));
        (void) sd_notify(0, status);
}

void manager_record_state(Manager *m, const Vm *vm, LaunchPhase prev) {
        record_audit(m, vm);
        record_metrics(m, vm, prev);
        record_status(m);
}
