/* SPDX-License-Identifier: Apache-2.0 */
/* One VM's launch, as a state machine on the event loop: plan and create (worker), connect to
 * the agent with backoff (worker, retried by a timer), the exchange (loop), and the outcome:
 * Running with its keys, or Failed with the domain destroyed (worker). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cvm/util.h"
#include "cvmd-internal.h"

static const char *const state_names[_VM_STATE_MAX] = {
        [VM_DEFINED] = "defined",       [VM_BOOTING] = "booting", [VM_ATTESTING] = "attesting",
        [VM_RELEASING] = "releasing",   [VM_RUNNING] = "running", [VM_FAILED] = "failed",
        [VM_QUARANTINED] = "quarantined", [VM_STOPPED] = "stopped",
};

const char *vm_state_to_string(VmState s) {
        return s >= 0 && s < _VM_STATE_MAX ? state_names[s] : NULL;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int close_fd(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

static void set_state(Vm *vm, VmState state, const char *reason) {
        Manager *m = vm->manager;
        VmState prev = vm->state;

        m->counts[vm->state]--;
        m->counts[state]++;
        vm->state = state;
        free(vm->reason);
        vm->reason = reason ? strdup(reason) : NULL;
        manager_record_state(m, vm, prev); /* before changed_usec moves: the phase's duration */
        vm->changed_usec = now_usec(CLOCK_REALTIME);
        if (m->state_changed)
                m->state_changed(m, vm);
}

/* ---- worker jobs: these run on the worker thread and touch only the VM's job fields ---- */

static int job_plan_create(void *userdata) {
        Vm *vm = userdata;
        Manager *m = vm->manager;
        const ManagerSettings *s = &m->settings;
        LaunchPlanOptions o = {
                .host_caps_xml = s->host_caps_xml,
                .host_caps_size = s->host_caps_size,
                .domcaps_xml = s->domcaps_xml,
                .domcaps_size = s->domcaps_size,
                .housekeeping_cores = 1,
                .domain_type = s->domain_type,
        };
        int r;

        if (!m->lifecycle)
                return set_reason(&vm->job_reason, -ENOTCONN, "libvirt is not connected");
        r = launch_plan_build(vm->spec, m->lifecycle, &o, &vm->plan, &vm->job_reason);
        if (r < 0)
                return r;
        r = lifecycle_create(m->lifecycle, vm->plan->xml, &vm->domain, &vm->job_reason);
        if (r < 0)
                return r;
        (void) lifecycle_domain_uuid(m->lifecycle, vm->domain, vm->uuid);
        return 0;
}

static int job_connect(void *userdata) {
        Vm *vm = userdata;
        const ManagerSettings *s = &vm->manager->settings;
        ChannelAddr a = { .family = AF_VSOCK, .cid = vm->plan->vsock_cid, .port = s->vsock_port };

        if (s->agent_socket_dir) {
                _cleanup_free_ char *addr = strdup_printf("unix:%s/%s.sock", s->agent_socket_dir, vm->name);
                if (!addr)
                        return -ENOMEM;
                if (channel_addr_parse(addr, false, &a) < 0)
                        return -EINVAL;
        }
        vm->fd = channel_connect(&a);
        return vm->fd < 0 ? vm->fd : 0;
}

static int job_destroy(void *userdata) {
        Vm *vm = userdata;

        return lifecycle_destroy(vm->manager->lifecycle, vm->domain, NULL);
}

/* ---- the state machine, on the loop ---- */

static void submit(Vm *vm, WorkerJobFn fn, WorkerDoneFn done) {
        if (worker_submit(vm->manager->worker, fn, done, vm) < 0) {
                done(-ENOMEM, vm);
                return;
        }
        vm->jobs++;
}

static void on_destroyed(int r, void *userdata) {
        Vm *vm = userdata;

        vm->jobs--;
        /* the state was set before the destroy (or pause) was asked for: its failure is said in
         * the reason, and the VM is never reported as running */
        if (r < 0 && vm->state != VM_RUNNING) {
                _cleanup_free_ char *why = strdup_printf("%s; the failure action failed: %s",
                                                         vm->reason ? vm->reason : "failed", strerror(-r));
                set_state(vm, vm->state, why);
        }
}

static int job_pause(void *userdata) {
        Vm *vm = userdata;

        return lifecycle_suspend(vm->manager->lifecycle, vm->domain, NULL);
}

/* Fail closed: no keys, ever, for a guest that was not attested; then the policy's failure
 * action: destroy the domain (default), pause it, or keep it quarantined for forensics. */
static void fail(Vm *vm, const char *reason) {
        PolicyFailureAction action = vm->kr.appraise.policy->failure_action;

        vm->retry = sd_event_source_disable_unref(vm->retry);
        vm->session = exchange_host_session_free(vm->session);
        vm->fd = close_fd(vm->fd);
        if (!vm->domain) {
                set_state(vm, VM_FAILED, reason);
                return;
        }
        switch (action) {
        case POLICY_FAILURE_QUARANTINE:
                set_state(vm, VM_QUARANTINED, reason);
                break;
        case POLICY_FAILURE_PAUSE:
                set_state(vm, VM_FAILED, reason);
                submit(vm, job_pause, on_destroyed);
                break;
        default:
                set_state(vm, VM_FAILED, reason);
                submit(vm, job_destroy, on_destroyed);
                break;
        }
}

static void connect_agent(Vm *vm);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        vm->retry = sd_event_source_disable_unref(vm->retry);
        connect_agent(vm);
        return 0;
}

static void on_exchange_done(ExchangeHostSession *s, void *userdata) {
        Vm *vm = userdata;
        int r;

        r = exchange_host_result(s, &vm->result);
        vm->session = exchange_host_session_free(vm->session);
        vm->fd = close_fd(vm->fd);
        if (r < 0) {
                fail(vm, "the exchange ran out of memory");
                return;
        }
        if (!vm->result.released || !vm->result.confirmed) {
                fail(vm, vm->result.error ? vm->result.error : "refused");
                return;
        }
        set_state(vm, VM_RUNNING, NULL);
}

/* The key release's callbacks, wrapped so that the VM's state follows the exchange. */
static int vm_appraise(void *userdata, const ExchangeEvidence *e, Verdict *v) {
        Vm *vm = userdata;

        return vm->inner.appraise(vm->inner.userdata, e, v);
}

static int vm_unwrap_keys(void *userdata, Secret **ret_bundle, char **ret_reason) {
        Vm *vm = userdata;

        set_state(vm, VM_RELEASING, NULL); /* called only after an accepted appraisal */
        return vm->inner.unwrap_keys(vm->inner.userdata, ret_bundle, ret_reason);
}

static void start_exchange(Vm *vm) {
        Manager *m = vm->manager;
        int r;

        set_state(vm, VM_ATTESTING, NULL);
        vm->attest_started_usec = now_usec(CLOCK_REALTIME);
        launch_exchange_host(vm->plan, &vm->kr, m->settings.dev_evidence, &m->nonces, &vm->inner);
        vm->host = vm->inner;
        vm->host.appraise = vm_appraise;
        vm->host.unwrap_keys = vm_unwrap_keys;
        vm->host.userdata = vm;
        memcpy(vm->host.vm_uuid, vm->uuid, sizeof(vm->uuid));
        vm->host.token_kid = vm->token_kid;
        if (m->settings.message_usec)
                vm->host.timeout_usec = m->settings.message_usec;
        r = exchange_host_session_new(&vm->host, &vm->session);
        if (r >= 0)
                r = exchange_host_attach_event(vm->session, m->event, vm->fd, on_exchange_done, vm);
        if (r < 0)
                fail(vm, "cannot start the exchange");
}

static void on_connected(int r, void *userdata) {
        Vm *vm = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        vm->jobs--;
        if (vm->state != VM_BOOTING) { /* stopped meanwhile */
                if (vm->fd >= 0)
                        vm->fd = close_fd(vm->fd);
                return;
        }
        if (r >= 0) {
                start_exchange(vm);
                return;
        }
        if (now + vm->connect_delay_ms * 1000u >= vm->boot_deadline_usec) {
                _cleanup_free_ char *why = strdup_printf("the guest agent did not answer (%s)", strerror(-r));
                fail(vm, why ? why : "the guest agent did not answer");
                return;
        }
        /* The agent starts with the guest: retry with backoff, as a timer. */
        if (sd_event_add_time_relative(vm->manager->event, &vm->retry, CLOCK_MONOTONIC,
                                       vm->connect_delay_ms * 1000u, 0, on_retry, vm) < 0) {
                fail(vm, "out of memory");
                return;
        }
        vm->connect_delay_ms = vm->connect_delay_ms < 2000 ? vm->connect_delay_ms * 2 : 2000;
}

static void connect_agent(Vm *vm) {
        submit(vm, job_connect, on_connected);
}

static void on_created(int r, void *userdata) {
        Vm *vm = userdata;

        vm->jobs--;
        if (r < 0) {
                fail(vm, vm->job_reason ? vm->job_reason : strerror(-r));
                return;
        }
        if (vm->state != VM_DEFINED) { /* stopped while it was being created */
                submit(vm, job_destroy, on_destroyed);
                return;
        }
        set_state(vm, VM_BOOTING, NULL);
        vm->boot_deadline_usec = now_usec(CLOCK_MONOTONIC) + vm->manager->settings.boot_usec;
        vm->connect_delay_ms = 100;
        connect_agent(vm);
}

void vm_start(Vm *vm) {
        submit(vm, job_plan_create, on_created);
}

int vm_stop(Vm *vm) {
        /* a failed VM's domain is gone or paused by its failure action: stopping it destroys it */
        if (vm->state == VM_STOPPED || (vm->state == VM_FAILED && vm->kr.appraise.policy->failure_action !=
                                                                        POLICY_FAILURE_PAUSE))
                return -EALREADY;
        vm->retry = sd_event_source_disable_unref(vm->retry);
        vm->session = exchange_host_session_free(vm->session);
        vm->fd = close_fd(vm->fd);
        set_state(vm, VM_STOPPED, "stopped on request");
        if (vm->domain)
                submit(vm, job_destroy, on_destroyed);
        return 0;
}

Vm *vm_free(Vm *vm) {
        if (!vm)
                return NULL;
        sd_event_source_disable_unref(vm->retry);
        exchange_host_session_free(vm->session);
        if (vm->fd >= 0)
                close(vm->fd);
        exchange_result_done(&vm->result);
        key_release_done(&vm->kr);
        policy_set_unref(vm->policies);
        launch_plan_free(vm->plan);
        launch_spec_free(vm->spec);
        free(vm->spec_json);
        free(vm->domain);
        free(vm->job_reason);
        free(vm->token_kid);
        free(vm->reason);
        free(vm->path);
        free(vm->name);
        free(vm);
        return NULL;
}
