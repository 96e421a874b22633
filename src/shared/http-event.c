/* SPDX-License-Identifier: Apache-2.0 */
/* The sd-event driver: each socket libcurl names becomes an io source, each timer (libcurl's,
 * and every transfer's backoff and deadline) a CLOCK_MONOTONIC time source, so that many
 * transfers run on the daemon's loop beside everything else it serves. */
#include <errno.h>
#include <sys/epoll.h>
#include <systemd/sd-event.h>

#include "cvm/http.h"
#include "http-internal.h"

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        int events = (revents & EPOLLIN ? CURL_CSELECT_IN : 0) | (revents & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                     (revents & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

        http_multi_socket_ready(userdata, fd, events);
        return 0;
}

static int on_time(sd_event_source *source, uint64_t usec, void *userdata) {
        http_timer_fire(userdata);
        return 0;
}

static int event_watch(HttpMulti *m, HttpSocket *s) {
        uint32_t events = (s->what & CURL_POLL_IN ? EPOLLIN : 0) | (s->what & CURL_POLL_OUT ? EPOLLOUT : 0);
        sd_event_source *source = NULL;
        int r;

        if (s->slot)
                return sd_event_source_set_io_events(s->slot, events);
        r = sd_event_add_io(http_multi_driver_data(m), &source, s->fd, events, on_io, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(source, "http-socket");
        s->slot = source;
        return 0;
}

static void event_unwatch(HttpMulti *m, HttpSocket *s) {
        s->slot = sd_event_source_disable_unref(s->slot);
}

static int event_arm(HttpMulti *m, HttpTimer *t) {
        sd_event_source *source = NULL;
        int r;

        if (t->at == HTTP_USEC_INFINITY)
                return t->slot ? sd_event_source_set_enabled(t->slot, SD_EVENT_OFF) : 0;
        if (t->slot) {
                r = sd_event_source_set_time(t->slot, t->at);
                if (r < 0)
                        return r;
                return sd_event_source_set_enabled(t->slot, SD_EVENT_ONESHOT);
        }
        /* accuracy 1 µs: the default 250 ms would stretch libcurl's short timeouts */
        r = sd_event_add_time(http_multi_driver_data(m), &source, CLOCK_MONOTONIC, t->at, 1, on_time, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(source, "http-timer");
        t->slot = source;
        return 0;
}

static void event_release(HttpMulti *m, HttpTimer *t) {
        t->slot = sd_event_source_disable_unref(t->slot);
}

static void event_free(HttpMulti *m) {
        sd_event_unref(http_multi_driver_data(m));
}

static const HttpDriver event_driver = {
        .watch = event_watch,
        .unwatch = event_unwatch,
        .arm = event_arm,
        .release = event_release,
        .free = event_free,
};

int http_multi_new_event(sd_event *e, HttpMulti **ret) {
        int r;

        if (!e)
                return -EINVAL;
        r = http_multi_new_with_driver(&event_driver, sd_event_ref(e), ret);
        if (r < 0)
                sd_event_unref(e);
        return r;
}
