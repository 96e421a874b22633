/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd on the system bus: org.cvmd.Manager1 at /org/cvmd/Manager1, one org.cvmd.VM1 object per
 * VM under /org/cvmd/vm. Every method call is checked against the caller's credentials first:
 * root, or a member of the cvmd group. */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cvm/evidence-request.h"
#include "cvm/util.h"
#include "cvm/verdict.h"
#include "cvmd-internal.h"
#include "polkit.h"

#define MANAGER_PATH "/org/cvmd/Manager1"
#define MANAGER_IFACE "org.cvmd.Manager1"
#define VM_PREFIX "/org/cvmd/vm"
#define VM_IFACE "org.cvmd.VM1"
#define SPEC_JSON_MAX (64u * 1024u)

#ifndef CVMD_VERSION
#define CVMD_VERSION "0.1.0"
#endif

/* Root, or in the cvmd group (effective or supplementary), from the sender's credentials as the
 * bus daemon reports them: never from anything the caller says; anyone else only when polkit
 * authorises them for action. 1: go on; 0: polkit is asked, the method is dispatched again
 * when it answers; < 0: refused, with error set. */
static int check_caller(Manager *m, sd_bus_message *msg, const char *action, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const gid_t *gids = NULL;
        struct group *g;
        uid_t euid;
        gid_t egid;
        int r, n;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS,
                                      &creds);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot read the caller's credentials");
        if (sd_bus_creds_get_euid(creds, &euid) >= 0 && euid == 0)
                return 1;
        g = getgrnam("cvmd");
        if (g) {
                if (sd_bus_creds_get_egid(creds, &egid) >= 0 && egid == g->gr_gid)
                        return 1;
                n = sd_bus_creds_get_supplementary_gids(creds, &gids);
                for (int i = 0; i < n; i++)
                        if (gids[i] == g->gr_gid)
                                return 1;
        }
        return polkit_check(m->polkit, msg, action, error);
}

/* Returns from a method handler unless the caller may go on now: with the refusal, or with no
 * reply yet while polkit decides. */
#define REQUIRE_CALLER(m, msg, action, error)                                   \
        do {                                                                    \
                int _k = check_caller((m), (msg), (action), (error));           \
                if (_k <= 0)                                                    \
                        return _k < 0 ? _k : 1;                                 \
        } while (0)

static int invalid_args(sd_bus_error *error, const char *reason) {
        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, reason);
}

/* The common start of the per-VM methods: the caller checked, the name read, the VM found. */
static int vm_method_start(sd_bus_message *msg, Manager *m, const char *action, sd_bus_error *error, Vm **ret) {
        const char *name;
        int r;

        if ((r = check_caller(m, msg, action, error)) <= 0)
                return r;
        if ((r = sd_bus_message_read(msg, "s", &name)) < 0)
                return r;
        *ret = manager_find_vm(m, name);
        if (!*ret)
                return sd_bus_error_setf(error, "org.cvmd.Error.NoSuchVM", "name: no VM named '%s'", name);
        return 1;
}

/* ---- Manager1 methods ---- */

static int method_launch(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *reason = NULL;
        const char *spec;
        Vm *vm;
        int r;

        REQUIRE_CALLER(m, msg, POLKIT_ACTION_MANAGE, error);
        r = sd_bus_message_read(msg, "s", &spec);
        if (r < 0)
                return r;
        if (strlen(spec) > SPEC_JSON_MAX)
                return invalid_args(error, "spec: longer than 64 KiB");
        r = manager_launch(m, spec, &vm, &reason);
        if (r == -ENOMEM)
                return r;
        /* cvmd's own limits are no fault of the spec: the caller may try again later */
        if (r == -EBUSY || r == -EUSERS || r == -EAGAIN)
                return sd_bus_error_set(error, "org.cvmd.Error.Busy", reason ? reason : "cvmd is busy");
        if (r < 0)
                return invalid_args(error, reason ? reason : "spec: refused");
        return sd_bus_reply_method_return(msg, "o", vm->path);
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Vm *vm;
        int r;

        if ((r = vm_method_start(msg, m, POLKIT_ACTION_MANAGE, error, &vm)) <= 0)
                return r < 0 ? r : 1; /* 0: waiting for polkit */
        r = launch_run_stop(vm->run);
        if (r == -EALREADY)
                return sd_bus_error_setf(error, "org.cvmd.Error.NotRunning", "'%s' is %s already", vm->name,
                                         launch_phase_to_string(vm_run(vm)->phase));
        return sd_bus_reply_method_return(msg, "");
}

static int method_list(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        REQUIRE_CALLER(m, msg, POLKIT_ACTION_READ, error);
        if ((r = sd_bus_message_new_method_return(msg, &reply)) < 0 ||
            (r = sd_bus_message_open_container(reply, 'a', "(ssso)")) < 0)
                return r;
        for (size_t i = 0; i < m->n_vms; i++) {
                const Vm *vm = m->vms[i];
                r = sd_bus_message_append(reply, "(ssso)", vm->name, launch_phase_to_string(vm_run(vm)->phase),
                                          vm_run(vm)->reason ? vm_run(vm)->reason : "", vm->path);
                if (r < 0)
                        return r;
        }
        if ((r = sd_bus_message_close_container(reply)) < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

json_object *vm_to_json(const Vm *vm) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "name", json_object_new_string(vm->name));
        json_object_object_add(o, "state", json_object_new_string(launch_phase_to_string(vm_run(vm)->phase)));
        json_object_object_add(o, "reason", vm_run(vm)->reason ? json_object_new_string(vm_run(vm)->reason) : NULL);
        json_object_object_add(o, "tee", json_object_new_string(cvm_tee_to_string(vm->spec->tee)));
        json_object_object_add(o, "policy", json_object_new_string(vm->spec->policy));
        json_object_object_add(o, "domain", vm_run(vm)->domain ? json_object_new_string(vm_run(vm)->domain) : NULL);
        json_object_object_add(o, "spec_digest",
                               vm_run(vm)->plan ? json_object_new_string(vm_run(vm)->plan->spec_digest_hex) : NULL);
        json_object_object_add(o, "launch_digest",
                               vm_run(vm)->plan ? json_object_new_string(vm_run(vm)->plan->launch_digest_hex) : NULL);
        json_object_object_add(o, "releaser_key", json_object_new_string(vm->manager->releaser_hex));
        json_object_object_add(o, "created_usec", json_object_new_int64((int64_t) vm->created_usec));
        json_object_object_add(o, "changed_usec", json_object_new_int64((int64_t) vm->changed_usec));
        json_object_object_add(o, "released", json_object_new_boolean(vm_run(vm)->result.released));
        json_object_object_add(o, "confirmed", json_object_new_boolean(vm_run(vm)->result.confirmed));
        if (vm_run(vm)->result.verdict.tee)
                json_object_object_add(o, "appraisal", verdict_to_json(&vm_run(vm)->result.verdict));
        return o;
}

static int reply_json(sd_bus_message *msg, json_object *o) {
        const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;

        if (!s)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "s", s);
}

static int method_get(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(json_object_putp) json_object *o = NULL;
        Vm *vm;
        int r;

        if ((r = vm_method_start(msg, m, POLKIT_ACTION_READ, error, &vm)) <= 0)
                return r < 0 ? r : 1; /* 0: waiting for polkit */
        o = vm_to_json(vm);
        return reply_json(msg, o);
}

static int method_get_token(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *token;
        Vm *vm;
        int r;

        if ((r = vm_method_start(msg, m, POLKIT_ACTION_TOKEN, error, &vm)) <= 0)
                return r < 0 ? r : 1; /* 0: waiting for polkit */
        /* while a re-attestation runs, the token before it stays good until it expires */
        token = launch_run_token(vm->run);
        if (!token)
                return sd_bus_error_setf(error, "org.cvmd.Error.NotRunning",
                                         "'%s' is %s: a token is issued only to a running, attested VM", vm->name,
                                         launch_phase_to_string(vm_run(vm)->phase));
        return sd_bus_reply_method_return(msg, "s", token);
}

/* Attest: a re-attestation of a running VM, answered when it ends (on_state_changed()), so the
 * loop never waits for it. A call while one runs already waits for that one. */
static int method_attest(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Vm *vm;
        int r;

        if ((r = vm_method_start(msg, m, POLKIT_ACTION_MANAGE, error, &vm)) <= 0)
                return r < 0 ? r : 1; /* 0: waiting for polkit */
        if (vm_run(vm)->reattesting)
                return vm_add_attest_waiter(vm, msg) < 0 ? -ENOMEM : 1;
        if (vm_run(vm)->phase != LAUNCH_RUNNING)
                return sd_bus_error_setf(error, "org.cvmd.Error.NotRunning",
                                         "'%s' is %s: only a running VM is attested again", vm->name,
                                         launch_phase_to_string(vm_run(vm)->phase));
        /* queued first: a re-attestation refused before its exchange ends inside the call */
        if (vm_add_attest_waiter(vm, msg) < 0)
                return -ENOMEM;
        r = launch_run_attest(vm->run, LAUNCH_REATTEST_ON_DEMAND);
        if (r >= 0)
                return 1; /* answered from on_state_changed() */
        sd_bus_message_unref(vm->attest_waiters[--vm->n_attest_waiters]);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, "org.cvmd.Error.NotSupported",
                                         "'%s' was recovered after a restart without readable metadata: its launch "
                                         "plan, which the exchange binds, is not known; stop and launch it again to "
                                         "attest it",
                                         vm->name);
        return sd_bus_error_setf(error, "org.cvmd.Error.NotRunning", "'%s' is %s: it cannot be attested now",
                                 vm->name, launch_phase_to_string(vm_run(vm)->phase));
}

/* The Attest calls waiting for a re-attestation that has just ended: (accepted, the VM's JSON). */
static void answer_attest_waiters(Vm *vm) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *s;

        if (vm->n_attest_waiters == 0 || vm_run(vm)->reattesting || vm_run(vm)->phase == LAUNCH_ATTESTING ||
            vm_run(vm)->phase == LAUNCH_RELEASING)
                return;
        o = vm_to_json(vm);
        s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
        for (size_t i = 0; i < vm->n_attest_waiters; i++) {
                if (s)
                        (void) sd_bus_reply_method_return(vm->attest_waiters[i], "bs",
                                                          vm_run(vm)->phase == LAUNCH_RUNNING, s);
                else
                        (void) sd_bus_reply_method_errno(vm->attest_waiters[i], ENOMEM, NULL);
                sd_bus_message_unref(vm->attest_waiters[i]);
        }
        vm->n_attest_waiters = 0;
}

static int method_verify_evidence(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *reason = NULL;
        const char *request, *policy;
        int r;

        REQUIRE_CALLER(m, msg, POLKIT_ACTION_READ, error);
        r = sd_bus_message_read(msg, "ss", &request, &policy);
        if (r < 0)
                return r;
        if (strlen(request) > EVIDENCE_REQUEST_MAX)
                return invalid_args(error, "request: longer than a guest frame");
        r = manager_verify_evidence(m, request, policy, &o, &reason);
        if (r == -ENOMEM)
                return r;
        if (r == -EINPROGRESS)
                return sd_bus_error_set(error, "org.cvmd.Error.CollateralPending", reason);
        if (r < 0)
                return invalid_args(error, reason ? reason : "request: refused");
        return reply_json(msg, o);
}

static int method_reload_policies(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *reason = NULL;
        int r;

        REQUIRE_CALLER(m, msg, POLKIT_ACTION_MANAGE, error);
        r = manager_reload_policies(m, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, "org.cvmd.Error.PolicyInvalid", "%s (the policies in force stay)",
                                         reason ? reason : "reload failed");
        return sd_bus_reply_method_return(msg, "");
}

/* GetHost probes libvirt, which may stall: on the worker, with the reply sent when it is done. */
typedef struct HostJob {
        Manager *m;
        Lifecycle *l; /* the picked worker's connection */
        sd_bus_message *msg;
        HostProbe *host;
        char *reason;
} HostJob;

static int job_probe_host(void *userdata) {
        HostJob *j = userdata;
        const ManagerSettings *s = &j->m->settings;
        int r;

        if (!s->host_caps_xml)
                return host_probe_libvirt(lifecycle_connection(j->l), NULL, 0, NULL, &j->host, &j->reason);
        j->host = host_probe_new();
        if (!j->host)
                return -ENOMEM;
        r = host_probe_parse_caps(j->host, s->host_caps_xml, s->host_caps_size, &j->reason);
        if (r >= 0)
                r = host_probe_parse_domcaps(j->host, s->domcaps_xml, s->domcaps_size, &j->reason);
        for (size_t i = 0; r >= 0 && i < s->n_gpus; i++)
                r = host_probe_set_gpu(j->host, &s->gpus[i].address, s->gpus[i].cell, -1, NULL);
        return r;
}

static void on_host_probed(int r, void *userdata) {
        HostJob *j = userdata;
        _cleanup_(json_object_putp) json_object *o = r >= 0 ? host_probe_to_json(j->host) : NULL;

        if (r >= 0 && o)
                (void) reply_json(j->msg, o);
        else
                (void) sd_bus_reply_method_errorf(j->msg, "org.cvmd.Error.HostProbe", "host probe: %s",
                                                  j->reason ? j->reason : strerror(r < 0 ? -r : ENOMEM));
        sd_bus_message_unref(j->msg);
        host_probe_free(j->host);
        free(j->reason);
        free(j);
}

static int method_get_host(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        HostJob *j;
        Worker *w;
        int r;

        REQUIRE_CALLER(m, msg, POLKIT_ACTION_READ, error);
        if (!m->lifecycle)
                return sd_bus_error_set(error, "org.cvmd.Error.NotReady", "cvmd is not connected to libvirt yet");
        j = calloc(1, sizeof(HostJob));
        if (!j)
                return -ENOMEM;
        *j = (HostJob) { .m = m, .msg = sd_bus_message_ref(msg) };
        manager_pick_worker(m, &w, &j->l);
        r = worker_submit(w, job_probe_host, on_host_probed, j);
        if (r < 0) {
                sd_bus_message_unref(j->msg);
                free(j);
                return r;
        }
        return 1; /* answered from on_host_probed() */
}

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", CVMD_VERSION);
}

/* The public half of the releaser key every launch digest binds: what an operator compares
 * with a guest's HOST_DATA / MRCONFIGID (with the spec digest, see cvmd.8). */
static int property_releaser_key(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->releaser_hex);
}

static int property_vm_count(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) m->n_vms);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("VMCount", "u", property_vm_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ReleaserKey", "s", property_releaser_key, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Launch", SD_BUS_ARGS("s", spec_json), SD_BUS_RESULT("o", vm), method_launch,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_stop,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("List", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssso)", vms), method_list,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Get", SD_BUS_ARGS("s", name), SD_BUS_RESULT("s", vm_json), method_get,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetToken", SD_BUS_ARGS("s", name), SD_BUS_RESULT("s", token), method_get_token,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Attest", SD_BUS_ARGS("s", name), SD_BUS_RESULT("b", accepted, "s", vm_json),
                                method_attest, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetHost", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", host_json), method_get_host,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VerifyEvidence", SD_BUS_ARGS("s", request, "s", policy),
                                SD_BUS_RESULT("s", verdict_json), method_verify_evidence, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReloadPolicies", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload_policies,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("StateChanged", SD_BUS_ARGS("s", name, "s", state, "s", reason), 0),
        SD_BUS_SIGNAL_WITH_ARGS("AttestationCompleted", SD_BUS_ARGS("s", name, "b", accepted, "s", appraisal_json),
                                0),
        SD_BUS_VTABLE_END,
};

/* ---- VM1 objects ---- */

static int vm_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        Vm *vm;

        if (sd_bus_path_decode(path, VM_PREFIX, &name) <= 0)
                return 0;
        vm = manager_find_vm(m, name);
        if (!vm)
                return 0;
        *found = vm;
        return 1;
}

static int vm_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        char **v = calloc(m->n_vms + 1, sizeof(char *));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_vms; i++)
                if (!(v[i] = strdup(m->vms[i]->path))) {
                        for (size_t k = 0; k < i; k++)
                                free(v[k]);
                        free(v);
                        return -ENOMEM;
                }
        *nodes = v;
        return 0;
}

static int vm_property(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Vm *vm = userdata;

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", vm->name);
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", launch_phase_to_string(vm_run(vm)->phase));
        if (streq(property, "Reason"))
                return sd_bus_message_append(reply, "s", vm_run(vm)->reason ? vm_run(vm)->reason : "");
        if (streq(property, "TEE"))
                return sd_bus_message_append(reply, "s", cvm_tee_to_string(vm->spec->tee));
        if (streq(property, "LaunchDigest"))
                return sd_bus_message_append(reply, "s", vm_run(vm)->plan ? vm_run(vm)->plan->launch_digest_hex : "");
        if (streq(property, "SpecDigest"))
                return sd_bus_message_append(reply, "s", vm_run(vm)->plan ? vm_run(vm)->plan->spec_digest_hex : "");
        if (streq(property, "CreatedUSec"))
                return sd_bus_message_append(reply, "t", vm->created_usec);
        if (streq(property, "ChangedUSec"))
                return sd_bus_message_append(reply, "t", vm->changed_usec);
        return -ENOENT;
}

static const sd_bus_vtable vm_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", vm_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", vm_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Reason", "s", vm_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TEE", "s", vm_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LaunchDigest", "s", vm_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SpecDigest", "s", vm_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CreatedUSec", "t", vm_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ChangedUSec", "t", vm_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

/* Every state change: the signals, the VM's properties, the log. */
static void on_state_changed(Manager *m, Vm *vm) {
        const char *state = launch_phase_to_string(vm_run(vm)->phase);

        cvmd_log(vm_run(vm)->phase == LAUNCH_FAILED ? LOG_WARNING : LOG_INFO, vm, "%s%s%s", state, vm_run(vm)->reason ? ": " : "",
                 vm_run(vm)->reason ? vm_run(vm)->reason : "");
        if (!m->bus)
                return;
        (void) sd_bus_emit_signal(m->bus, MANAGER_PATH, MANAGER_IFACE, "StateChanged", "sss", vm->name, state,
                                  vm_run(vm)->reason ? vm_run(vm)->reason : "");
        (void) sd_bus_emit_properties_changed(m->bus, vm->path, VM_IFACE, "State", "Reason", "ChangedUSec",
                                              "LaunchDigest", "SpecDigest", NULL);
        if (vm_run(vm)->phase == LAUNCH_RUNNING || (vm_run(vm)->phase == LAUNCH_FAILED && vm_run(vm)->result.verdict.tee)) {
                _cleanup_(json_object_putp) json_object *a = verdict_to_json(&vm_run(vm)->result.verdict);
                const char *s = a ? json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN) : "{}";
                (void) sd_bus_emit_signal(m->bus, MANAGER_PATH, MANAGER_IFACE, "AttestationCompleted", "sbs",
                                          vm->name, vm_run(vm)->phase == LAUNCH_RUNNING, s);
        }
        answer_attest_waiters(vm);
}

static void on_vm_added_or_removed(Manager *m) {
        if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, MANAGER_PATH, MANAGER_IFACE, "VMCount", NULL);
}

int bus_attach(Manager *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, MANAGER_PATH, MANAGER_IFACE, manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, VM_PREFIX, VM_IFACE, vm_vtable, vm_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, VM_PREFIX, vm_enumerate, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(bus, NULL, "/org/cvmd");
        if (r < 0)
                return r;
        r = polkit_new(&m->polkit);
        if (r < 0)
                return r;
        m->bus = sd_bus_ref(bus);
        m->state_changed = on_state_changed;
        m->vms_changed = on_vm_added_or_removed;
        return sd_bus_request_name(bus, "org.cvmd", 0);
}
