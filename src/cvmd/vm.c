/* SPDX-License-Identifier: Apache-2.0 */
/* One VM of cvmd's: its launch is the engine's LaunchRun on the daemon's loop and worker; the
 * VM adds what the daemon keeps around it (its name on the bus, the spec, the policy set it was
 * launched under) and hears of every phase change to count, record and announce it. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "cvm/util.h"
#include "cvmd-internal.h"

static void on_phase(LaunchRun *run, LaunchPhase prev, void *userdata) {
        Vm *vm = userdata;
        Manager *m = vm->manager;
        LaunchPhase phase = launch_run_state(run)->phase;

        m->counts[prev]--;
        m->counts[phase]++;
        manager_record_state(m, vm, prev); /* before changed_usec moves: the phase's duration */
        vm->changed_usec = (uint64_t) time(NULL) * 1000000u;
        if (m->state_changed)
                m->state_changed(m, vm);
        vm_gpu_reload_on_phase(vm);
}

/* A re-attestation appraises under the policy in force: the one of that name in the set loaded
 * now, which a reload may have changed since the launch. A policy no longer loaded refuses it. */
static int before_reattest(LaunchRun *run, void *userdata, char **ret_reason) {
        Vm *vm = userdata;
        Manager *m = vm->manager;
        const Policy *p = m->policies ? policy_set_find(m->policies, vm->spec->policy) : NULL;

        if (!p)
                return set_reason(ret_reason, -ENOENT, "policy: no policy named '%s' is loaded any more",
                                  vm->spec->policy);
        if (vm->policies != m->policies) {
                policy_set_unref(vm->policies);
                vm->policies = policy_set_ref(m->policies);
        }
        vm->kr.appraise.policy = p;
        return 0;
}

int vm_add_attest_waiter(Vm *vm, sd_bus_message *msg) {
        sd_bus_message **w = reallocarray(vm->attest_waiters, vm->n_attest_waiters + 1, sizeof(sd_bus_message *));

        if (!w)
                return -ENOMEM;
        vm->attest_waiters = w;
        w[vm->n_attest_waiters++] = sd_bus_message_ref(msg);
        return 0;
}

static void pick_worker(void *userdata, Worker **worker, Lifecycle **lifecycle) {
        Vm *vm = userdata;

        manager_pick_worker(vm->manager, worker, lifecycle);
}

int vm_make_run(Vm *vm, const char *domain, const uint8_t uuid[16]) {
        Manager *m = vm->manager;
        const ManagerSettings *s = &m->settings;
        LaunchRunConfig c = {
                .event = m->event,
                .worker = m->workers[0],
                .lifecycle = m->lifecycles[0],
                .pick_worker = pick_worker,
                .test_stall_sec = s->test_stall_vm && streq(s->test_stall_vm, vm->name) ? s->test_stall_sec : 0,
                .spec = vm->spec,
                .plan = {
                        .host_caps_xml = s->host_caps_xml,
                        .host_caps_size = s->host_caps_size,
                        .domcaps_xml = s->domcaps_xml,
                        .domcaps_size = s->domcaps_size,
                        .gpus = s->gpus,
                        .n_gpus = s->n_gpus,
                        .housekeeping_cores = 1,
                        .domain_type = s->domain_type,
                        .state_dir = s->state_dir, /* console logs, the ledger's lock */
                },
                .kr = &vm->kr,
                .nonces = &m->nonces,
                .vsock_port = s->vsock_port,
                .boot_usec = s->boot_usec,
                .message_usec = s->message_usec,
                .dev_evidence = s->dev_evidence,
                .keep_attested = true, /* the policy's timer and the token refresh */
                .before_reattest = before_reattest,
                .phase_changed = on_phase,
                .userdata = vm,
        };

        if (s->agent_socket_dir) { /* development: the agent of VM NAME at unix:DIR/NAME.sock */
                _cleanup_free_ char *addr = strdup_printf("unix:%s/%s.sock", s->agent_socket_dir, vm->name);
                if (!addr)
                        return -ENOMEM;
                if (channel_addr_parse(addr, false, &c.agent) < 0)
                        return -EINVAL;
        }
        if (domain)
                return launch_run_new_adopted(&c, domain, uuid, &vm->run);
        return launch_run_new(&c, &vm->run);
}

Vm *vm_free(Vm *vm) {
        if (!vm)
                return NULL;
        vm_gpu_reload_done(vm);
        launch_run_free(vm->run);
        for (size_t i = 0; i < vm->n_attest_waiters; i++)
                sd_bus_message_unref(vm->attest_waiters[i]);
        free(vm->attest_waiters);
        key_release_done(&vm->kr);
        policy_set_unref(vm->policies);
        launch_spec_free(vm->spec);
        free(vm->spec_json);
        free(vm->token_kid);
        free(vm->path);
        free(vm->name);
        free(vm);
        return NULL;
}
