/* SPDX-License-Identifier: Apache-2.0 */
/* The handler answers on its first call for a request: neither route reads a request body, and
 * a body sent anyway is refused with the 405 queued before it is read. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cvm/http-listener.h"
#include "cvm/util.h"

#define PATH_METRICS         "/metrics"
#define PATH_JWKS            "/.well-known/jwks.json"
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_JSON    "application/json"
/* Request line and headers of a scrape fit easily; a client sending more is cut off. */
#define CONNECTION_MEMORY_MAX (32u * 1024u)

struct HttpListener {
        struct MHD_Daemon *daemon;
        uint16_t port;
        Metrics *metrics;
        TokenKeys *token_keys;
};

/* Takes body (malloc'ed, or a static string when !owned). */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *content_type, char *body,
                               size_t size, bool owned) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(size, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp) {
                if (owned)
                        free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        (void) MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *text) {
        return respond(c, status, "text/plain; charset=utf-8", (char *) text, strlen(text), false);
}

static enum MHD_Result serve_metrics(HttpListener *l, struct MHD_Connection *c) {
        char *body;
        size_t size;

        if (metrics_format(l->metrics, &body, &size) < 0)
                return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
        return respond(c, MHD_HTTP_OK, CONTENT_TYPE_METRICS, body, size, true);
}

static enum MHD_Result serve_jwks(HttpListener *l, struct MHD_Connection *c) {
        char *body;

        if (token_keys_jwks_json(l->token_keys, (int64_t) time(NULL), &body) < 0)
                return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "keys unavailable\n");
        return respond(c, MHD_HTTP_OK, CONTENT_TYPE_JSON, body, strlen(body), true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
        HttpListener *l = cls;
        bool is_metrics = l->metrics && streq(url, PATH_METRICS);
        bool is_jwks = l->token_keys && streq(url, PATH_JWKS);

        if (!is_metrics && !is_jwks)
                return respond_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
        /* HEAD: libmicrohttpd sends the headers of the same response and no body. */
        return is_metrics ? serve_metrics(l, c) : serve_jwks(l, c);
}

static int parse_address(const char *address, uint16_t port, struct sockaddr_storage *ret, bool *ret_ipv6) {
        struct sockaddr_in *sin = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ret;

        *ret = (struct sockaddr_storage){};
        if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
                sin->sin_family = AF_INET;
                sin->sin_port = htons(port);
                *ret_ipv6 = false;
                return 0;
        }
        if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(port);
                *ret_ipv6 = true;
                return 0;
        }
        return -EINVAL;
}

int http_listener_start(const HttpListenerSettings *s, HttpListener **ret, char **ret_reason) {
        _cleanup_(http_listener_freep) HttpListener *l = NULL;
        const char *address = s->address ?: HTTP_LISTENER_ADDRESS_DEFAULT;
        const union MHD_DaemonInfo *info;
        struct sockaddr_storage sa;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
        bool ipv6;

        if (parse_address(address, s->port, &sa, &ipv6) < 0)
                return set_reason(ret_reason, -EINVAL, "'%s': not a numeric IPv4 or IPv6 address", address);
        if (ipv6)
                flags |= MHD_USE_IPv6;
        l = calloc(1, sizeof(HttpListener));
        if (!l)
                return -ENOMEM;
        l->metrics = s->metrics;
        l->token_keys = s->token_keys;
        l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned) HTTP_LISTENER_CONNECTIONS_MAX,
                                     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) HTTP_LISTENER_CONNECTIONS_MAX / 2,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) HTTP_LISTENER_TIMEOUT_SEC,
                                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY_MAX,
                                     MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned) HTTP_LISTENER_CONNECTIONS_MAX,
                                     MHD_OPTION_END);
        if (!l->daemon)
                /* libmicrohttpd does not say why; the usual reasons are these. */
                return set_reason(ret_reason, -EADDRNOTAVAIL, "%s%s%s:%u: cannot listen (address in use or not local?)",
                                  ipv6 ? "[" : "", address, ipv6 ? "]" : "", (unsigned) s->port);
        info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || info->port == 0)
                return set_reason(ret_reason, -EIO, "%s: could not learn the port bound", address);
        l->port = info->port;
        *ret = TAKE_PTR(l);
        return 0;
}

uint16_t http_listener_port(const HttpListener *l) {
        return l->port;
}

HttpListener *http_listener_free(HttpListener *l) {
        if (!l)
                return NULL;
        if (l->daemon)
                MHD_stop_daemon(l->daemon);
        free(l);
        return NULL;
}
