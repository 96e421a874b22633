/* SPDX-License-Identifier: Apache-2.0 */
/* A guest's word that its GPU driver was reloaded (agent-gpu-watch.c): the agent connects to
 * cvmd and closes; the connection is the whole message. cvmd tells which VM it is by the
 * connection alone: on vsock the peer CID, which cvmd gave the VM in its plan; in development
 * (agents on unix sockets) the VM's own socket, AGENT_SOCKET_DIR/NAME.notify.sock. Nothing the
 * guest sends is read.
 *
 * It is a hint. All it can do is start a re-attestation ("re-attestation: GPU driver reload"),
 * whose refusal applies the policy's failure action: never skip one the timer has due, never
 * touch keys by itself. Hints are coalesced: one that comes while a re-attestation or a launch
 * runs is served by one more re-attestation after it, and at most one runs per
 * GPU_RELOAD_MIN_INTERVAL_SEC per VM, so a guest that keeps knocking gets itself attested at
 * that rate, no faster. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cvm/util.h"
#include "cvmd-internal.h"

#define GPU_RELOAD_MIN_INTERVAL_SEC 10u
/* while a launch job is in flight the run is busy: look again this soon */
#define GPU_RELOAD_BUSY_RETRY_USEC 500000u

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void try_reattest(Vm *vm);

static int on_reload_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        vm->reload_timer = sd_event_source_disable_unref(vm->reload_timer);
        try_reattest(vm);
        return 0;
}

static void retry_at(Vm *vm, uint64_t at) {
        if (vm->reload_timer)
                return;
        if (sd_event_add_time(vm->manager->event, &vm->reload_timer, CLOCK_MONOTONIC, at, 0, on_reload_timer, vm) < 0)
                cvmd_log(LOG_ERR, vm, "GPU driver reload: cannot set a timer; the hint waits for the next state change");
}

/* Starts the re-attestation a hint asked for when the VM is Running, idle and past the interval. */
static void try_reattest(Vm *vm) {
        uint64_t now = monotonic_usec(), next = vm->reload_last_usec + GPU_RELOAD_MIN_INTERVAL_SEC * 1000000u;
        int r;

        if (!vm->reload_pending)
                return;
        /* a launch or a re-attestation is under way: on_phase() calls again once it is Running */
        if (vm_run(vm)->phase != LAUNCH_RUNNING)
                return;
        if (vm->reload_last_usec && now < next) {
                retry_at(vm, next);
                return;
        }
        r = launch_run_attest(vm->run, LAUNCH_REATTEST_GPU_RELOAD);
        if (r == -EBUSY) { /* Running, but a job (a failure action's) still in flight */
                retry_at(vm, now + GPU_RELOAD_BUSY_RETRY_USEC);
                return;
        }
        vm->reload_pending = false;
        vm->reload_last_usec = now;
        if (r == -EOPNOTSUPP)
                cvmd_log(LOG_WARNING, vm, "GPU driver reload: cannot re-attest: no plan for this VM (recovered without "
                         "its metadata)");
        else if (r < 0)
                cvmd_log(LOG_ERR, vm, "GPU driver reload: cannot re-attest: %s", strerror(-r));
}

void vm_gpu_reload_hint(Vm *vm) {
        LaunchPhase p = vm_run(vm)->phase;

        /* a VM that failed, was stopped or is quarantined holds no keys to guard */
        if (p == LAUNCH_FAILED || p == LAUNCH_STOPPED || p == LAUNCH_QUARANTINED)
                return;
        if (!vm->reload_pending)
                cvmd_log(LOG_NOTICE, vm, "the guest reports a GPU driver reload: attesting it again");
        vm->reload_pending = true;
        try_reattest(vm);
}

void vm_gpu_reload_on_phase(Vm *vm) {
        LaunchPhase p = vm_run(vm)->phase;

        if (p == LAUNCH_FAILED || p == LAUNCH_STOPPED || p == LAUNCH_QUARANTINED) {
                vm->reload_pending = false;
                vm->reload_timer = sd_event_source_disable_unref(vm->reload_timer);
                return;
        }
        /* from the loop, not from within the run's phase change that called us */
        if (vm->reload_pending && p == LAUNCH_RUNNING)
                retry_at(vm, 1);
}

/* Accepts and closes at once: the connection is the message. */
static int accept_and_close(int fd, struct sockaddr_vm *ret_peer) {
        socklen_t len = sizeof(*ret_peer);
        int c = accept4(fd, (struct sockaddr *) ret_peer, ret_peer ? &len : NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (c < 0)
                return -errno;
        close(c);
        if (ret_peer && (len < sizeof(*ret_peer) || ret_peer->svm_family != AF_VSOCK))
                return -EPROTO;
        return 0;
}

static int on_vm_socket(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Vm *vm = userdata;

        if (accept_and_close(fd, NULL) >= 0)
                vm_gpu_reload_hint(vm);
        return 0;
}

int vm_gpu_reload_listen(Vm *vm) {
        const char *dir = vm->manager->settings.agent_socket_dir;
        _cleanup_free_ char *addr = NULL;
        ChannelAddr a;
        int fd, r;

        if (!dir) /* on vsock, one listener for every VM: manager_gpu_reload_listen() */
                return 0;
        addr = strdup_printf("unix:%s/%s.notify.sock", dir, vm->name);
        if (!addr)
                return -ENOMEM;
        if (channel_addr_parse(addr, true, &a) < 0)
                return -EINVAL;
        fd = channel_listen(&a);
        if (fd < 0)
                return fd;
        r = sd_event_add_io(vm->manager->event, &vm->reload_source, fd, EPOLLIN, on_vm_socket, vm);
        if (r < 0) {
                close(fd);
                return r;
        }
        (void) sd_event_source_set_io_fd_own(vm->reload_source, true);
        vm->reload_path = strdup(a.path);
        return vm->reload_path ? 0 : -ENOMEM;
}

void vm_gpu_reload_done(Vm *vm) {
        vm->reload_timer = sd_event_source_disable_unref(vm->reload_timer);
        vm->reload_source = sd_event_source_disable_unref(vm->reload_source);
        if (vm->reload_path)
                (void) unlink(vm->reload_path);
        free(vm->reload_path);
        vm->reload_path = NULL;
}

/* vsock: the VM whose plan has the peer's CID (the CID is the hypervisor's to set, not the
 * guest's to claim). */
static int on_vsock(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        struct sockaddr_vm peer = {};

        if (accept_and_close(fd, &peer) < 0 || peer.svm_cid <= VMADDR_CID_HOST)
                return 0;
        for (size_t i = 0; i < m->n_vms; i++) {
                const LaunchPlan *p = vm_run(m->vms[i])->plan;

                if (p && p->vsock_cid == peer.svm_cid) {
                        vm_gpu_reload_hint(m->vms[i]);
                        break;
                }
        }
        return 0;
}

int manager_gpu_reload_listen(Manager *m, uint32_t port) {
        struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
        int fd, r;

        if (m->settings.agent_socket_dir) /* development: a socket per VM (vm_gpu_reload_listen()) */
                return 0;
        fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        r = sd_event_add_io(m->event, &m->reload_source, fd, EPOLLIN, on_vsock, m);
        if (r < 0) {
                close(fd);
                return r;
        }
        (void) sd_event_source_set_io_fd_own(m->reload_source, true);
        return 0;
}
