/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cvmd's manager and its VMs: the launch state machine of each VM, driven on one sd-event loop,
 * with every blocking call (libvirt) on the worker thread and the exchange on the loop. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cvm/audit.h"
#include "cvm/key-release.h"
#include "cvm/launch-run.h"
#include "cvm/metrics.h"
#include "cvm/token-keys.h"
#include "cvm/policy-set.h"
#include "cvm/releaser.h"
#include "cvm/worker.h"

typedef struct Manager Manager;

/* Workers for the calls that block, each with a libvirt connection of its own (a Lifecycle is
 * used on its worker's thread only): a call that hangs in libvirt holds one, and launches go on
 * on the others. */
#define CVMD_WORKERS 4u

typedef struct Vm {
        Manager *manager;
        char *name;
        char *path; /* D-Bus object path */
        uint64_t created_usec, changed_usec; /* CLOCK_REALTIME */
        LaunchSpec *spec;
        char *spec_json;        /* as launched: recorded in the audit chain for recovery */
        KeyRelease kr;          /* the policy (borrowed from `policies`), keys, signing key */
        PolicySet *policies;    /* the set its policy came from, held until the VM goes */
        char *token_kid;
        LaunchRun *run;         /* the launch engine's run: phase, reason, plan, domain, result */
        sd_bus_message **attest_waiters; /* Attest calls answered when the re-attestation ends */
        size_t n_attest_waiters;
        /* the guest's GPU driver reload hints (gpu-reload.c) */
        sd_event_source *reload_source; /* development: its own socket, AGENT_SOCKET_DIR/NAME.notify.sock */
        char *reload_path;
        sd_event_source *reload_timer;  /* the next try of a pending hint */
        bool reload_pending;
        uint64_t reload_last_usec;      /* CLOCK_MONOTONIC: the last re-attestation a hint started */
} Vm;

static inline const LaunchRunState *vm_run(const Vm *vm) {
        return launch_run_state(vm->run);
}

typedef struct ManagerSettings {
        const char *libvirt_uri;
        const char *keys_dir;
        const char *policies_dir;
        const char *state_dir;
        const char *domain_type;     /* "kvm" or "test" */
        char *host_caps_xml, *domcaps_xml; /* host facts from files (the sandbox, the test driver) */
        size_t host_caps_size, domcaps_size;
        const LaunchGpuLocation *gpus; /* with host facts from files: where the host's GPUs are */
        size_t n_gpus;
        const NvGolden *gpu_golden;    /* golden GPU measurements for every launch; NULL: none */
        struct Collateral *collateral; /* the host's collateral provider (event mode) for every launch */
        const char *nvidia_rim_url, *nvidia_ocsp_url; /* GPUs: where RIMs and OCSP answers come from */
        const char *agent_socket_dir; /* development: the agent of VM NAME at unix:DIR/NAME.sock */
        CvmTee dev_evidence;          /* "tee": "none" (development): the simulated evidence to ask for */
        uint32_t vsock_port;
        uint64_t boot_usec, message_usec;
        unsigned max_vms;
        unsigned max_launches; /* launches between Defined and Running at once */
        int64_t token_lifetime_sec, token_rotate_sec;
        /* tests only (CVMD_TEST_STALL_LIBVIRT=NAME:SEC, cvmd(8)): VM NAME's create job hangs SEC
         * seconds on its worker, as a stalled libvirtd would */
        const char *test_stall_vm;
        unsigned test_stall_sec;
} ManagerSettings;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        struct Polkit *polkit; /* callers waiting for polkit's answer (bus.c) */
        Worker *workers[CVMD_WORKERS];
        Lifecycle *lifecycles[CVMD_WORKERS]; /* lifecycles[i] opened and used on workers[i]'s thread only */
        Lifecycle *lifecycle;                /* lifecycles[0] once all are open: "connected" */
        ManagerSettings settings;
        PolicySet *policies;  /* replaced whole on reload; a launch keeps the set it started with */
        AuditStore *audit;
        TokenKeys *token_keys; /* the result tokens' signing keys, in the state directory */
        ReleaserKey releaser;  /* seals every key release; bound into every launch digest; never rotated */
        char releaser_hex[2 * PROTO_RELEASER_KEY_SIZE + 1]; /* its public key */
        Metrics *metrics;
        NonceStore nonces;
        Vm **vms;
        size_t n_vms;
        unsigned counts[_LAUNCH_PHASE_MAX];
        void (*state_changed)(Manager *m, Vm *vm); /* the bus and the journal hear of every change */
        void (*vms_changed)(Manager *m);           /* a VM was added or forgotten */
        sd_event_source *reload_source; /* vsock: the guests' GPU driver reload hints (gpu-reload.c) */
};

int manager_new(sd_event *e, const ManagerSettings *s, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_CLEANUP(Manager *, manager_free)
/* Opens libvirt on the worker thread; done(r) on the loop. */
int manager_connect_libvirt(Manager *m, void (*done)(int r, void *userdata), void *userdata);

/* The least busy worker and its libvirt connection, for the next blocking job: the one with the
 * fewest jobs queued, and of those the one whose running job started last (one that has run
 * for long is likely hung). Only once connected (m->lifecycle). */
void manager_pick_worker(Manager *m, Worker **ret_worker, Lifecycle **ret_lifecycle);
Vm *manager_find_vm(Manager *m, const char *name);
/* After a restart: every domain of cvmd's that libvirt still runs is matched with the audit
 * chain. One whose keys were released and confirmed, and not stopped since, is Running again;
 * any other is destroyed: never trusted without an attestation. done(r) on the loop. */
int manager_recover(Manager *m, void (*done)(int r, void *userdata), void *userdata);
/* Enters a VM into the table, which then owns it, and records its first state. */
int manager_add_vm(Manager *m, Vm *vm);
/* A VM found running after a restart, already attested and keyed (see manager_recover()). */
int vm_new_recovered(Manager *m, LaunchSpec **spec, const char *spec_json, const Policy *policy, const char *domain,
                     const uint8_t uuid[16], Vm **ret);
/* Whether the audit chain verifies whole; *ret_reason says where it breaks. */
bool manager_audit_verifies(Manager *m, char **ret_reason);
/* Loads the policies directory anew; on failure the set in force stays and *ret_reason says why. */
int manager_reload_policies(Manager *m, char **ret_reason);
/* Appraises evidence another tool collected (an evidence request, include/cvm/evidence-request.h)
 * under the loaded policy policy_name: the verdict as JSON. -ENOENT unknown policy, -EINVAL a
 * malformed request, -EINPROGRESS collateral still being fetched; each with a reason. */
int manager_verify_evidence(Manager *m, const char *request, const char *policy_name, json_object **ret,
                            char **ret_reason);
/* Starts a launch. On refusal before anything exists: -EINVAL/-EEXIST/-ENOENT/-EPERM with a reason
 * naming the field or the cause. */
int manager_launch(Manager *m, const char *spec_json, Vm **ret, char **ret_reason);

/* Audit row, metrics and systemd STATUS for the VM's new state; prev: the state it left (its
 * duration runs from vm->changed_usec to now). */
void manager_record_state(Manager *m, const Vm *vm, LaunchPhase prev);
/* A log line, to the journal with the VM's fields (vm may be NULL), or to stderr. */
void cvmd_log(int priority, const Vm *vm, const char *fmt, ...) _printf_(3, 4);

/* The VM's launch run, configured from the manager's settings (state LAUNCH_DEFINED), or adopted
 * after a restart (domain and uuid given: LAUNCH_RUNNING). */
int vm_make_run(Vm *vm, const char *domain, const uint8_t uuid[16]);
/* Queues an Attest call for the reply when the VM's re-attestation ends (bus.c answers it). */
int vm_add_attest_waiter(Vm *vm, sd_bus_message *msg);
Vm *vm_free(Vm *vm);
DEFINE_CLEANUP(Vm *, vm_free)
json_object *vm_to_json(const Vm *vm);
/* GPU driver reload hints from the guests (gpu-reload.c), which can only start a re-attestation.
 * On vsock one listener on port for every VM, told apart by the peer CID; in development
 * (agent_socket_dir) a unix socket per VM, made by vm_gpu_reload_listen(). */
int manager_gpu_reload_listen(Manager *m, uint32_t port);
int vm_gpu_reload_listen(Vm *vm);
/* The guest said its driver was reloaded: a re-attestation, coalesced and rate-limited. */
void vm_gpu_reload_hint(Vm *vm);
/* After each phase change: a pending hint starts once the VM is Running again. */
void vm_gpu_reload_on_phase(Vm *vm);
void vm_gpu_reload_done(Vm *vm);
/* Takes the system bus name and serves Manager1 and the VM objects. */
int bus_attach(Manager *m, sd_bus *bus);
