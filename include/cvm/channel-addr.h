/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Guest channel addresses: "vsock:CID:PORT" to connect to a guest, "vsock:PORT" to listen in
 * one, "unix:PATH" for the simulator and tests. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

typedef struct ChannelAddr {
        int family; /* AF_VSOCK or AF_UNIX */
        uint32_t cid, port;
        char path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
} ChannelAddr;

/* -EINVAL for anything else. With `listening`, a vsock address is "vsock:PORT". */
int channel_addr_parse(const char *s, bool listening, ChannelAddr *ret);
/* A connected stream socket (close-on-exec), or -errno. */
/* How long a connect may wait for a peer whose queue is full (ETIMEDOUT after). */
#define CHANNEL_CONNECT_TIMEOUT_SEC 2
int channel_connect(const ChannelAddr *a);
/* A listening stream socket. A stale unix socket at the path is replaced; nothing else is. */
int channel_listen(const ChannelAddr *a);
