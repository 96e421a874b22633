/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cvmd's local HTTP listener (libmicrohttpd): GET or HEAD of
 *
 *   /metrics                 the registry in Prometheus text format, text/plain; version=0.0.4
 *   /.well-known/jwks.json   the result-token verification keys, application/json
 *
 * Any other path is 404; another method on those two is 405 (Allow: GET, HEAD). It runs on
 * libmicrohttpd's own thread, so the daemon's event loop never waits on a slow or hostile
 * client; connections are few (HTTP_LISTENER_CONNECTIONS_MAX), small and time out. Metrics and
 * TokenKeys lock themselves, so the loop keeps updating them while a scrape reads them. */

#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/metrics.h"
#include "cvm/token-keys.h"

#define HTTP_LISTENER_ADDRESS_DEFAULT "127.0.0.1"
#define HTTP_LISTENER_CONNECTIONS_MAX 32
#define HTTP_LISTENER_TIMEOUT_SEC     10

typedef struct HttpListener HttpListener;

typedef struct HttpListenerSettings {
        const char *address;   /* a numeric IPv4 or IPv6 address; NULL: 127.0.0.1 */
        uint16_t port;         /* 0: a free port, see http_listener_port() */
        Metrics *metrics;      /* NULL: /metrics is 404 */
        TokenKeys *token_keys; /* NULL: /.well-known/jwks.json is 404 */
} HttpListenerSettings;

/* Binds and starts serving. metrics and token_keys are borrowed and must outlive the listener.
 * ret_reason (may be NULL) says what failed, e.g. "127.0.0.1:9100: cannot listen". */
int http_listener_start(const HttpListenerSettings *s, HttpListener **ret, char **ret_reason);
/* The port bound (the one picked when settings asked for 0). */
uint16_t http_listener_port(const HttpListener *l);
/* Stops serving (waits for the listener's thread) and frees. */
HttpListener *http_listener_free(HttpListener *l);
DEFINE_CLEANUP(HttpListener *, http_listener_free)
