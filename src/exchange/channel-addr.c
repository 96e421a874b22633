/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/channel-addr.h"

static int parse_u32(const char *s, char **end, uint32_t *ret) {
        unsigned long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, end, 10);
        if (errno != 0 || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

int channel_addr_parse(const char *s, bool listening, ChannelAddr *ret) {
        ChannelAddr a = {};
        char *end;

        if (strncmp(s, "unix:", 5) == 0) {
                size_t n = strlen(s + 5);
                if (n == 0 || n >= sizeof(a.path))
                        return -EINVAL;
                a.family = AF_UNIX;
                memcpy(a.path, s + 5, n);
        } else if (strncmp(s, "vsock:", 6) == 0) {
                a.family = AF_VSOCK;
                if (listening) {
                        a.cid = VMADDR_CID_ANY;
                        if (parse_u32(s + 6, &end, &a.port) < 0 || *end)
                                return -EINVAL;
                } else if (parse_u32(s + 6, &end, &a.cid) < 0 || *end != ':' || parse_u32(end + 1, &end, &a.port) < 0 ||
                           *end)
                        return -EINVAL;
                if (a.port == 0)
                        return -EINVAL;
        } else
                return -EINVAL;
        *ret = a;
        return 0;
}

static int open_socket(const ChannelAddr *a, bool listening) {
        struct sockaddr_un su = { .sun_family = AF_UNIX };
        struct sockaddr_vm sv = { .svm_family = AF_VSOCK, .svm_cid = a->cid, .svm_port = a->port };
        struct sockaddr *sa = a->family == AF_UNIX ? (struct sockaddr *) &su : (struct sockaddr *) &sv;
        socklen_t len = a->family == AF_UNIX ? sizeof(su) : sizeof(sv);
        int fd, r;

        memcpy(su.sun_path, a->path, sizeof(su.sun_path));
        fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (listening) {
                struct stat st;
                if (a->family == AF_UNIX && lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode))
                        (void) unlink(a->path);
                r = bind(fd, sa, len) < 0 || listen(fd, 4) < 0 ? -errno : 0;
        } else {
                /* A peer that listens and never accepts fills its queue; the next connect() would
                 * block without end on the caller's thread. Bounded here, the timeout lifted after. */
                struct timeval tv = { .tv_sec = CHANNEL_CONNECT_TIMEOUT_SEC }, none = {};

                (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                r = connect(fd, sa, len) < 0 ? (errno == EINPROGRESS || errno == EAGAIN ? -ETIMEDOUT : -errno) : 0;
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
        }
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int channel_connect(const ChannelAddr *a) {
        return open_socket(a, false);
}

int channel_listen(const ChannelAddr *a) {
        return open_socket(a, true);
}
