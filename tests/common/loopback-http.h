/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The life of a test HTTP server (tests/helpers/{kds,pcs,nvidia}-server): libmicrohttpd on
 * 127.0.0.1 at a port the kernel picks, that port written to a file for the script that started
 * it (tests/lib/check.sh's start_port_server waits for it), then serving until SIGTERM or SIGINT. */

#include <microhttpd.h>

/* Serves with on_request (and on_completed, when not NULL) until a signal. Returns main()'s exit
 * code: 0 after SIGTERM/SIGINT, 1 when the server could not start (why on stderr, after prog). */
int loopback_http_serve(const char *prog, const char *port_file, MHD_AccessHandlerCallback on_request,
                        MHD_RequestCompletedCallback on_completed);
