/* SPDX-License-Identifier: Apache-2.0 */
/* The blocking driver: a poll() loop over the sockets libcurl names, woken by the first timer
 * due. http_request() and http_get() run one request on it, for callers without a loop. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>

#include "cvm/http.h"
#include "cvm/util.h"
#include "http-internal.h"

int http_multi_new(HttpMulti **ret) {
        return http_multi_new_with_driver(NULL, NULL, ret);
}

static int poll_events(int what) {
        return (what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0);
}

static int curl_events(short revents) {
        return (revents & POLLIN ? CURL_CSELECT_IN : 0) | (revents & POLLOUT ? CURL_CSELECT_OUT : 0) |
               (revents & (POLLERR | POLLHUP | POLLNVAL) ? CURL_CSELECT_ERR : 0);
}

/* Milliseconds until `at`, rounded up so that the timer has expired when poll() returns. */
static int poll_timeout_ms(const HttpTimer *t) {
        uint64_t now = http_now_usec(), ms;

        if (!t)
                return -1;
        if (t->at <= now)
                return 0;
        ms = (t->at - now + 999) / 1000;
        return ms > INT_MAX ? INT_MAX : (int) ms;
}

/* One wait: fires a timer that is due, or polls the sockets until one is ready or the next
 * timer is due. */
static int loop_step(HttpMulti *m) {
        _cleanup_free_ struct pollfd *fds = NULL;
        HttpTimer *t = http_multi_next_timer(m);
        size_t n = 0;
        int timeout;

        if (t && t->at <= http_now_usec()) {
                http_timer_fire(t);
                return 0;
        }
        for (HttpSocket *s = http_multi_sockets(m); s; s = s->next)
                n++;
        timeout = poll_timeout_ms(t);
        if (n == 0 && timeout < 0)
                return -EDEADLK; /* transfers left and nothing that could move them: a bug */
        if (n > 0) {
                fds = calloc(n, sizeof(*fds));
                if (!fds)
                        return -ENOMEM;
        }
        n = 0;
        for (HttpSocket *s = http_multi_sockets(m); s; s = s->next)
                fds[n++] = (struct pollfd) { .fd = s->fd, .events = (short) poll_events(s->what) };
        if (poll(fds, n, timeout) < 0)
                return errno == EINTR ? 0 : -errno;
        /* The socket list may change under us: act on the snapshot that was polled. */
        for (size_t i = 0; i < n; i++)
                if (fds[i].revents)
                        http_multi_socket_ready(m, fds[i].fd, curl_events(fds[i].revents));
        return 0;
}

int http_multi_run(HttpMulti *m) {
        int r;

        if (!m || http_multi_driver_data(m))
                return -EINVAL;
        while (http_multi_pending(m) > 0) {
                r = loop_step(m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void on_request_done(HttpTransfer *t, HttpResult *result, void *userdata) {
        HttpResult *ret = userdata;

        *ret = *result;
        *result = (HttpResult) {};
}

int http_request(const HttpRequest *req, HttpResult *ret) {
        _cleanup_(http_multi_freep) HttpMulti *m = NULL;
        int r;

        *ret = (HttpResult) {};
        r = http_multi_new(&m);
        if (r >= 0)
                r = http_multi_start_full(m, req, on_request_done, ret, NULL, &ret->error_message);
        if (r >= 0)
                r = http_multi_run(m);
        if (r < 0)
                ret->error = r;
        return ret->error;
}

int http_get(const HttpOptions *o, const char *url, uint8_t **ret_body, size_t *ret_size, long *ret_status,
             char **ret_error) {
        _cleanup_(http_result_done) HttpResult res = {};
        HttpRequest req = {
                .method = HTTP_METHOD_GET,
                .url = url,
                .options = o ? *o : (HttpOptions) {},
        };
        int r;

        r = http_request(&req, &res);
        if (ret_status)
                *ret_status = res.status;
        if (r < 0) {
                if (ret_error && res.error_message)
                        *ret_error = TAKE_PTR(res.error_message);
                return r;
        }
        *ret_body = TAKE_PTR(res.body);
        *ret_size = res.body_size;
        return 0;
}
