/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd's VM table and the checks a launch passes before anything exists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cvm/token.h"

#include "cvm/util.h"
#include "cvmd-internal.h"
#include "polkit.h"

/* The audit chain and the token signing keys live in the state directory. */
static int open_state(Manager *m) {
        const ManagerSettings *s = &m->settings;
        _cleanup_free_ char *path = strdup_printf("%s/audit.db", s->state_dir), *reason = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = audit_open(path, false, &m->audit, &reason);
        if (r < 0) {
                cvmd_log(LOG_ERR, NULL, "audit store %s: %s", path, reason ? reason : strerror(-r));
                return r;
        }
        r = token_keys_open(s->state_dir, s->token_rotate_sec, s->token_lifetime_sec, (int64_t) time(NULL),
                            &m->token_keys, &reason);
        if (r < 0) {
                cvmd_log(LOG_ERR, NULL, "token signing key in %s: %s", s->state_dir, reason ? reason : strerror(-r));
                return r;
        }
        /* made once and kept: every running VM's launch digest binds it (see releaser.h) */
        r = releaser_key_open_state(s->state_dir, &m->releaser, &reason);
        if (r < 0) {
                cvmd_log(LOG_ERR, NULL, "releaser key in %s: %s", s->state_dir, reason ? reason : strerror(-r));
                return r;
        }
        {
                _cleanup_free_ char *hex = hex_encode(m->releaser.pk, sizeof(m->releaser.pk));
                if (!hex)
                        return -ENOMEM;
                memcpy(m->releaser_hex, hex, sizeof(m->releaser_hex));
        }
        return 0;
}

int manager_new(sd_event *e, const ManagerSettings *s, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = calloc(1, sizeof(Manager));
        int r;

        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->settings = *s;
        for (unsigned i = 0; i < CVMD_WORKERS; i++) {
                r = worker_new(e, &m->workers[i]);
                if (r < 0)
                        return r;
        }
        r = cvmd_metrics_new(&m->metrics);
        if (r < 0)
                return r;
        r = open_state(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* the workers first: no job may still run against what is freed below */
        for (unsigned i = 0; i < CVMD_WORKERS; i++)
                worker_free(m->workers[i]);
        for (size_t i = 0; i < m->n_vms; i++)
                vm_free(m->vms[i]);
        free(m->vms);
        for (unsigned i = 0; i < CVMD_WORKERS; i++)
                lifecycle_free(m->lifecycles[i]);
        policy_set_unref(m->policies);
        audit_close(m->audit);
        token_keys_free(m->token_keys);
        releaser_key_done(&m->releaser);
        sd_event_source_disable_unref(m->reload_source);
        polkit_free(m->polkit);
        metrics_free(m->metrics);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

/* All the workers' connections are opened at once; the last to end calls done. */
typedef struct ConnectAll {
        void (*done)(int r, void *userdata);
        void *userdata;
        unsigned left;
        int r;
} ConnectAll;

typedef struct ConnectJob {
        Manager *m;
        ConnectAll *all;
        Lifecycle **slot; /* written on its worker's thread, read on the loop once it is done */
        char *reason;
} ConnectJob;

static int job_open_libvirt(void *userdata) {
        ConnectJob *j = userdata;
        const char *state = j->m->settings.state_dir;
        _cleanup_free_ char *lock = NULL, *console = NULL;
        int r;

        r = lifecycle_open(j->m->settings.libvirt_uri, NULL, NULL, j->slot, &j->reason);
        if (r < 0)
                return r;
        /* every launch, of this cvmd and of any cvmctl on the host, places against the host
         * ledger under this lock, held until its domain exists; the consoles log beside it */
        lock = strdup_printf("%s/ledger.lock", state);
        console = strdup_printf("%s/console", state);
        if (!lock || !console)
                return -ENOMEM;
        (void) mkdir_p(console, 0750);
        /* one lock file for every connection: they serialize their placements on it as
         * separate processes would */
        return lifecycle_set_ledger_lock(*j->slot, lock, 60);
}

static void on_libvirt_open(int r, void *userdata) {
        ConnectJob *j = userdata;
        ConnectAll *all = j->all;
        Manager *m = j->m;

        if (r < 0 && all->r >= 0) {
                cvmd_log(LOG_ERR, NULL, "cannot connect to %s: %s", m->settings.libvirt_uri,
                         j->reason ? j->reason : strerror(-r));
                all->r = r;
        }
        free(j->reason);
        free(j);
        if (--all->left > 0)
                return;
        if (all->r >= 0) /* connected: every worker has its connection */
                m->lifecycle = m->lifecycles[0];
        all->done(all->r, all->userdata);
        free(all);
}

int manager_connect_libvirt(Manager *m, void (*done)(int r, void *userdata), void *userdata) {
        ConnectAll *all = calloc(1, sizeof(ConnectAll));

        if (!all)
                return -ENOMEM;
        *all = (ConnectAll) { .done = done, .userdata = userdata };
        for (unsigned i = 0; i < CVMD_WORKERS; i++) {
                ConnectJob *j = calloc(1, sizeof(ConnectJob));

                if (j)
                        *j = (ConnectJob) { .m = m, .all = all, .slot = &m->lifecycles[i] };
                if (!j || worker_submit(m->workers[i], job_open_libvirt, on_libvirt_open, j) < 0) {
                        free(j);
                        /* the jobs submitted already end it; with none, nothing will */
                        all->r = -ENOMEM;
                        if (all->left == 0) {
                                free(all);
                                return -ENOMEM;
                        }
                        return 0;
                }
                all->left++;
        }
        return 0;
}

void manager_pick_worker(Manager *m, Worker **ret_worker, Lifecycle **ret_lifecycle) {
        unsigned best = 0;
        uint64_t best_busy = worker_busy_usec(m->workers[0]);

        for (unsigned i = 1; i < CVMD_WORKERS; i++) {
                unsigned p = worker_pending(m->workers[i]), bp = worker_pending(m->workers[best]);
                uint64_t busy = worker_busy_usec(m->workers[i]);

                if (p < bp || (p == bp && busy < best_busy)) {
                        best = i;
                        best_busy = busy;
                }
        }
        *ret_worker = m->workers[best];
        *ret_lifecycle = m->lifecycles[best];
}

Vm *manager_find_vm(Manager *m, const char *name) {
        for (size_t i = 0; i < m->n_vms; i++)
                if (streq(m->vms[i]->name, name))
                        return m->vms[i];
        return NULL;
}

static bool vm_is_final(const Vm *vm) {
        return vm_run(vm)->phase == LAUNCH_FAILED || vm_run(vm)->phase == LAUNCH_STOPPED;
}


/* A finished VM's name may be launched again: the old entry goes, unless a job still runs for it. */
static int forget_vm(Manager *m, Vm *vm) {
        if (launch_run_busy(vm->run))
                return -EBUSY;
        for (size_t i = 0; i < m->n_vms; i++)
                if (m->vms[i] == vm) {
                        m->counts[vm_run(vm)->phase]--;
                        memmove(m->vms + i, m->vms + i + 1, (m->n_vms - i - 1) * sizeof(Vm *));
                        m->n_vms--;
                        break;
                }
        vm_free(vm);
        if (m->vms_changed)
                m->vms_changed(m);
        return 0;
}

static unsigned launches_in_flight(const Manager *m) {
        return m->counts[LAUNCH_DEFINED] + m->counts[LAUNCH_BOOTING] + m->counts[LAUNCH_ATTESTING] +
               m->counts[LAUNCH_RELEASING];
}

static int check_spec(Manager *m, const LaunchSpec *spec, const Policy **ret_policy, char **ret_reason) {
        const Policy *p = m->policies ? policy_set_find(m->policies, spec->policy) : NULL;
        Vm *old = manager_find_vm(m, spec->name);

        if (old && (!vm_is_final(old) || forget_vm(m, old) < 0))
                return set_reason(ret_reason, -EEXIST, "name: a VM named '%s' exists already (%s)", spec->name,
                                  launch_phase_to_string(vm_run(old)->phase));
        if (!p)
                return set_reason(ret_reason, -ENOENT, "policy: no policy named '%s' is loaded", spec->policy);
        /* "tee": "none" runs with no hardware protection at all: only a policy that says so. */
        if (launch_spec_is_development(spec) && !p->allow_development)
                return set_reason(ret_reason, -EPERM,
                                  "tee: \"none\" needs a policy with \"allow_development\": true, and '%s' has none",
                                  spec->policy);
        if (!m->lifecycle)
                return set_reason(ret_reason, -EAGAIN, "cvmd is not connected to libvirt yet");
        /* each launch in flight holds one live nonce: never more than the nonce store has */
        unsigned limit = m->settings.max_launches && m->settings.max_launches < NONCE_STORE_MAX
                                 ? m->settings.max_launches
                                 : NONCE_STORE_MAX;

        if (launches_in_flight(m) >= limit)
                return set_reason(ret_reason, -EBUSY, "cvmd is running %u launches, its limit (MaxConcurrentLaunches, "
                                  "at most %u): try again when one has ended", launches_in_flight(m), NONCE_STORE_MAX);
        if (m->settings.max_vms && m->n_vms >= m->settings.max_vms)
                return set_reason(ret_reason, -EUSERS, "cvmd holds %zu VMs, its limit", m->n_vms);
        *ret_policy = p;
        return 0;
}

/* A VM for a parsed spec, with the key release set up for `policy`; with a domain, adopted
 * (see vm_make_run()). */
static int vm_new(Manager *m, LaunchSpec **spec, const char *spec_json, const Policy *policy, const char *domain,
                  const uint8_t uuid[16], Vm **ret) {
        _cleanup_(vm_freep) Vm *vm = calloc(1, sizeof(Vm));
        int r;

        if (!vm)
                return -ENOMEM;
        vm->manager = m;
        vm->name = strdup((*spec)->name);
        vm->spec_json = strdup(spec_json);
        r = sd_bus_path_encode("/org/cvmd/vm", (*spec)->name, &vm->path);
        if (!vm->name || !vm->spec_json || r < 0)
                return -ENOMEM;
        vm->kr.appraise.policy = policy;
        vm->kr.appraise.gpu_golden = m->settings.gpu_golden;
        vm->kr.appraise.collateral = m->settings.collateral;
        /* GPUs: RIMs and OCSP from the provider's cache, fetched by the provider on its own thread while the appraisal waits */
        if (m->settings.collateral) {
                r = key_release_set_gpu_fetch(&vm->kr, m->settings.collateral, m->settings.nvidia_rim_url,
                                              m->settings.nvidia_ocsp_url);
                if (r < 0)
                        return r;
        }
        r = token_keys_current(m->token_keys, &vm->kr.token_key, &vm->token_kid);
        if (r < 0)
                return r;
        vm->kr.signing_key = vm->kr.token_key;
        vm->kr.signing_kid = vm->token_kid;
        vm->kr.token_lifetime_sec = m->settings.token_lifetime_sec;
        vm->kr.releaser = &m->releaser;
        vm->policies = policy_set_ref(m->policies); /* the policy stays while the VM uses it */
        vm->spec = TAKE_PTR(*spec);
        key_release_set_keys(&vm->kr, m->settings.keys_dir, vm->spec->key_ids, vm->spec->n_key_ids);
        vm->created_usec = vm->changed_usec = (uint64_t) time(NULL) * 1000000u;
        r = vm_make_run(vm, domain, uuid);
        if (r < 0)
                return r;
        r = vm_gpu_reload_listen(vm);
        if (r < 0)
                cvmd_log(LOG_WARNING, vm, "no GPU driver reload socket: %s", strerror(-r));
        *ret = TAKE_PTR(vm);
        return 0;
}

/* Enters the VM into the table (which then owns it) and records its first state. */
int manager_add_vm(Manager *m, Vm *vm) {
        Vm **vms = reallocarray(m->vms, m->n_vms + 1, sizeof(Vm *));

        if (!vms)
                return -ENOMEM;
        m->vms = vms;
        m->vms[m->n_vms++] = vm;
        m->counts[vm_run(vm)->phase]++;
        if (m->vms_changed)
                m->vms_changed(m);
        manager_record_state(m, vm, vm_run(vm)->phase);
        if (m->state_changed)
                m->state_changed(m, vm);
        return 0;
}

int vm_new_recovered(Manager *m, LaunchSpec **spec, const char *spec_json, const Policy *policy, const char *domain,
                     const uint8_t uuid[16], Vm **ret) {
        return vm_new(m, spec, spec_json, policy, domain, uuid, ret);
}

bool manager_audit_verifies(Manager *m, char **ret_reason) {
        int64_t n = 0, first = 0;

        if (!m->audit)
                return false;
        return audit_verify(m->audit, &n, &first, ret_reason) == 0;
}

int manager_launch(Manager *m, const char *spec_json, Vm **ret, char **ret_reason) {
        _cleanup_(launch_spec_freep) LaunchSpec *spec = NULL;
        _cleanup_(vm_freep) Vm *vm = NULL;
        const Policy *policy = NULL;
        int r;

        r = launch_spec_parse(spec_json, strlen(spec_json), &spec, ret_reason);
        if (r < 0)
                return r;
        r = check_spec(m, spec, &policy, ret_reason);
        if (r < 0)
                return r;
        r = vm_new(m, &spec, spec_json, policy, NULL, NULL, &vm);
        if (r < 0)
                return r;
        r = manager_add_vm(m, vm);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(vm);
        launch_run_start((*ret)->run);
        return 0;
}

int manager_reload_policies(Manager *m, char **ret_reason) {
        if (!m->settings.policies_dir)
                return set_reason(ret_reason, -EINVAL, "no policies directory is configured");
        if (!m->policies)
                return policy_set_load(m->settings.policies_dir, &m->policies, ret_reason);
        return policy_set_reload(&m->policies, m->settings.policies_dir, ret_reason);
}
