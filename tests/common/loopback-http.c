/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cvm/util.h"
#include "loopback-http.h"

int loopback_http_serve(const char *prog, const char *port_file, MHD_AccessHandlerCallback on_request,
                        MHD_RequestCompletedCallback on_completed) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
        const union MHD_DaemonInfo *info;
        struct MHD_Daemon *d;
        sigset_t mask;
        char port[16];
        int sig, r;

        /* Blocked before MHD starts its thread, so that only sigwait() below sees them. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                fprintf(stderr, "%s: cannot block SIGTERM: %s\n", prog, strerror(errno));
                return 1;
        }
        (void) signal(SIGPIPE, SIG_IGN);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                             NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 10, MHD_OPTION_END);
        if (!d) {
                fprintf(stderr, "%s: cannot listen on 127.0.0.1\n", prog);
                return 1;
        }
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || info->port == 0) {
                fprintf(stderr, "%s: cannot tell the port it listens on\n", prog);
                MHD_stop_daemon(d);
                return 1;
        }
        snprintf(port, sizeof(port), "%u\n", (unsigned) info->port);
        r = write_file_atomic(port_file, port, strlen(port), 0644);
        if (r < 0) {
                fprintf(stderr, "%s: %s: %s\n", prog, port_file, strerror(-r));
                MHD_stop_daemon(d);
                return 1;
        }
        while (sigwait(&mask, &sig) != 0)
                ;
        MHD_stop_daemon(d);
        return 0;
}
