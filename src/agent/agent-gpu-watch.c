/* SPDX-License-Identifier: Apache-2.0 */
/* The GPU driver reload watch. A reloaded NVIDIA driver runs code the last attestation did not
 * see, so the guest tells the host, which attests it again. What the guest says is a hint and
 * nothing more: the agent connects to cvmd's notification port and closes, and cvmd knows which
 * VM it is by the connection (the vsock peer CID it gave the VM; in the simulator, the VM's own
 * socket), never by anything the guest sends. All the host does with it is re-attest, so a
 * guest lying about a reload gets itself attested again, and one that hides a reload gains
 * nothing the policy's timer does not take away (docs/guest-protocol.md).
 *
 * Where a reload is seen: the kernel's uevents (a "bind" of a device to the "nvidia" driver,
 * which every load of the driver does for each GPU), or, with simulated GPUs, a trigger file
 * appearing (inotify): the simulator's switch for "the driver was reloaded". The watch runs on
 * a thread of its own, beside the agent's one-connection-at-a-time exchange loop. */
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "cvm/channel-addr.h"
#include "cvm/util.h"

#define NOTIFY_TRIES 5
#define UEVENT_BUFFER_SIZE 8192u

bool gpu_watch_uevent_is_reload(const uint8_t *buf, size_t n) {
        bool bind = false, nvidia = false;

        /* "ACTION@DEVPATH\0KEY=VALUE\0...", each string NUL-terminated within n (a last one that
         * is not is ignored) */
        for (size_t at = 0; at < n;) {
                const uint8_t *end = memchr(buf + at, '\0', n - at);
                size_t len;

                if (!end)
                        break;
                len = (size_t) (end - (buf + at));
                if (len == strlen("ACTION=bind") && memcmp(buf + at, "ACTION=bind", len) == 0)
                        bind = true;
                else if (len == strlen("DRIVER=nvidia") && memcmp(buf + at, "DRIVER=nvidia", len) == 0)
                        nvidia = true;
                at += len + 1;
        }
        return bind && nvidia;
}

typedef struct GpuWatch {
        ChannelAddr notify;
        char *trigger;      /* the simulated switch: its path, its directory's watch */
        const char *trigger_name;
        int inotify_fd, uevent_fd;
} GpuWatch;

/* The connection is the whole message. Retried a few times: cvmd may be restarting. */
static void notify_host(const GpuWatch *w) {
        for (unsigned i = 0; i < NOTIFY_TRIES; i++) {
                int fd = channel_connect(&w->notify);

                if (fd >= 0) {
                        close(fd);
                        fprintf(stderr, "cvm-agent: GPU driver reload: told the host, which attests this VM again\n");
                        return;
                }
                if (i + 1 < NOTIFY_TRIES)
                        sleep(1);
                else
                        fprintf(stderr, "cvm-agent: GPU driver reload: cannot reach the host: %s\n", strerror(-fd));
        }
}

/* Whether the trigger file appeared: consumed (removed) so that the next one is seen again. */
static bool trigger_fired(GpuWatch *w) {
        uint8_t buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool fired = false;
        ssize_t n = read(w->inotify_fd, buf, sizeof(buf));

        for (ssize_t at = 0; n > 0 && at + (ssize_t) sizeof(struct inotify_event) <= n;) {
                struct inotify_event ev;

                memcpy(&ev, buf + at, sizeof(ev));
                if (ev.len > 0 && at + (ssize_t) sizeof(ev) + (ssize_t) ev.len <= n &&
                    strnlen((const char *) buf + at + sizeof(ev), ev.len) < ev.len &&
                    streq((const char *) buf + at + sizeof(ev), w->trigger_name))
                        fired = true;
                at += (ssize_t) sizeof(ev) + (ssize_t) ev.len;
        }
        if (fired)
                (void) unlink(w->trigger);
        return fired;
}

/* Whether a datagram from the kernel (never another process) says the driver bound a GPU. */
static bool uevent_fired(GpuWatch *w) {
        uint8_t buf[UEVENT_BUFFER_SIZE];
        struct sockaddr_nl from = {};
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n = recvmsg(w->uevent_fd, &msg, MSG_DONTWAIT);

        if (n <= 0 || (msg.msg_flags & MSG_TRUNC) || from.nl_pid != 0)
                return false;
        return gpu_watch_uevent_is_reload(buf, (size_t) n);
}

static void *watch_main(void *p) {
        GpuWatch *w = p;

        for (;;) {
                struct pollfd fds[2] = { { .fd = w->inotify_fd, .events = POLLIN }, { .fd = w->uevent_fd, .events = POLLIN } };
                bool fired = false;

                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "cvm-agent: GPU driver reload watch: poll: %m; the watch ends\n");
                        return NULL;
                }
                if (fds[0].revents & POLLIN)
                        fired |= trigger_fired(w);
                if (fds[1].revents & POLLIN)
                        fired |= uevent_fired(w);
                /* a driver load binds every GPU: one hint for the burst, then the queue drained */
                if (fired)
                        notify_host(w);
                while (fired && w->uevent_fd >= 0 && uevent_fired(w))
                        ;
        }
        return NULL;
}

static int watch_trigger(GpuWatch *w, const char *path, char **ret_reason) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || !slash[1])
                return set_reason(ret_reason, -EINVAL, "--sim-gpu-reload-file: '%s' is not a path to a file", path);
        *slash = '\0';
        w->trigger = strdup(path);
        if (!w->trigger)
                return -ENOMEM;
        w->trigger_name = strrchr(w->trigger, '/') + 1;
        w->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (w->inotify_fd < 0)
                return set_reason(ret_reason, -errno, "inotify: %s", strerror(errno));
        if (inotify_add_watch(w->inotify_fd, dir[0] ? dir : "/", IN_CREATE | IN_MOVED_TO) < 0)
                return set_reason(ret_reason, -errno, "cannot watch %s: %s", dir[0] ? dir : "/", strerror(errno));
        (void) unlink(path); /* a stale switch from before is no reload */
        return 0;
}

static int watch_uevents(GpuWatch *w) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 /* the kernel's */ };

        w->uevent_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (w->uevent_fd < 0)
                return -errno;
        if (bind(w->uevent_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(w->uevent_fd);
                w->uevent_fd = -1;
                return r;
        }
        return 0;
}

int gpu_watch_start(const ChannelAddr *notify, const char *sim_trigger, char **ret_reason) {
        GpuWatch *w = calloc(1, sizeof(GpuWatch));
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        if (!w)
                return -ENOMEM;
        *w = (GpuWatch) { .notify = *notify, .inotify_fd = -1, .uevent_fd = -1 };
        if (sim_trigger)
                r = watch_trigger(w, sim_trigger, ret_reason);
        else {
                r = watch_uevents(w);
                if (r < 0)
                        (void) set_reason(ret_reason, r, "cannot read the kernel's uevents: %s", strerror(-r));
        }
        if (r >= 0) {
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                r = -pthread_create(&thread, &attr, watch_main, w);
                pthread_attr_destroy(&attr);
                if (r < 0)
                        (void) set_reason(ret_reason, r, "cannot start the watch: %s", strerror(-r));
        }
        if (r < 0) {
                if (w->inotify_fd >= 0)
                        close(w->inotify_fd);
                if (w->uevent_fd >= 0)
                        close(w->uevent_fd);
                free(w->trigger);
                free(w);
                return r;
        }
        /* the thread owns w for the agent's lifetime */
        return 0;
}
