/* SPDX-License-Identifier: Apache-2.0 */
/* Drivers for the exchange state machine (include/cvm/exchange.h): the bytes between a stream
 * socket and the session, moved by a blocking poll loop or by sd-event. Neither sleeps: each
 * waits for the socket or for the session's deadline, whichever comes first. */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "cvm/exchange.h"
#include "exchange-internal.h"

/* Big enough for most frames in one read; a frame larger than this takes several. */
#define READ_CHUNK (64u * 1024u)

/* Moves what the session wants, once, without blocking: sends its pending output, or reads no
 * more than it wants (so the bytes after the frame in hand stay in the socket). */
static void io_step(ExchangeHostSession *s, int fd) {
        const uint8_t *out;
        size_t n;
        ssize_t k;

        if (exchange_host_pending_output(s, &out, &n)) {
                k = send(fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k >= 0)
                        exchange_host_output_done(s, (size_t) k);
                else if (errno != EAGAIN && errno != EINTR)
                        exchange_host_channel_failed(s, -errno);
                return;
        }
        n = exchange_host_input_wanted(s);
        if (n > 0) {
                uint8_t buf[READ_CHUNK];

                k = recv(fd, buf, n < sizeof(buf) ? n : sizeof(buf), MSG_DONTWAIT);
                if (k > 0)
                        (void) exchange_host_feed(s, buf, (size_t) k);
                else if (k == 0)
                        exchange_host_eof(s);
                else if (errno != EAGAIN && errno != EINTR)
                        exchange_host_channel_failed(s, -errno);
        }
}

/* ---- blocking ---- */

int exchange_host_run(const ExchangeHost *h, int fd, ExchangeResult *ret) {
        _cleanup_(exchange_host_session_freep) ExchangeHostSession *s = NULL;
        int r;

        r = exchange_host_session_new(h, &s);
        if (r < 0)
                return r;
        while (!exchange_host_is_done(s)) {
                uint64_t now = proto_now_usec(), deadline = exchange_host_deadline(s);
                const uint8_t *out;
                size_t n;
                struct pollfd p = { .fd = fd };
                int k;

                if (exchange_host_is_appraising(s)) {
                        /* nothing here would ever resume it: the appraisal had to fetch in place */
                        exchange_host_channel_failed(s, -EOPNOTSUPP);
                        continue;
                }
                if (now >= deadline) {
                        exchange_host_timeout(s, now);
                        continue;
                }
                p.events = exchange_host_pending_output(s, &out, &n) ? POLLOUT : POLLIN;
                k = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (k < 0 && errno != EINTR)
                        exchange_host_channel_failed(s, -errno);
                else if (k > 0)
                        io_step(s, fd);
        }
        return exchange_host_result(s, ret);
}

/* ---- sd-event ---- */

typedef struct EventDriver {
        ExchangeHostSession *session;
        sd_event_source *io, *timer;
        int fd;
        ExchangeHostDoneFn done;
        ExchangeHostWaitFn waiting;
        bool waiting_told; /* `waiting` heard of the wait in progress */
        void *userdata;
} EventDriver;

static void event_driver_free(void *data) {
        EventDriver *d = data;

        sd_event_source_disable_unref(d->io);
        sd_event_source_disable_unref(d->timer);
        free(d);
}

/* Points the sources at what the session waits for now; calls `done` once it is done (last:
 * `done` may free the session, and the driver with it). */
static int event_driver_update(EventDriver *d) {
        ExchangeHostSession *s = d->session;
        const uint8_t *out;
        size_t n;
        int r;

        if (exchange_host_is_done(s)) {
                (void) sd_event_source_set_enabled(d->io, SD_EVENT_OFF);
                (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
                d->done(s, d->userdata);
                return 0;
        }
        if (exchange_host_is_appraising(s)) {
                /* nothing to read or send, and no deadline: the caller resumes it */
                (void) sd_event_source_set_enabled(d->io, SD_EVENT_OFF);
                (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
                if (d->waiting_told)
                        return 0;
                d->waiting_told = true;
                r = d->waiting ? d->waiting(s, d->userdata) : -EOPNOTSUPP;
                if (r < 0)
                        goto fail;
                return 0;
        }
        r = sd_event_source_set_enabled(d->io, SD_EVENT_ON);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_io_events(d->io, exchange_host_pending_output(s, &out, &n) ? EPOLLOUT : EPOLLIN);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_time(d->timer, exchange_host_deadline(s));
        if (r < 0)
                goto fail;
        r = sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                goto fail;
        return 0;
fail:
        /* The loop cannot watch this exchange any more: end it as a channel failure. */
        exchange_host_channel_failed(s, r);
        return event_driver_update(d);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        EventDriver *d = userdata;

        io_step(d->session, fd);
        return event_driver_update(d);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        EventDriver *d = userdata;

        exchange_host_timeout(d->session, usec);
        return event_driver_update(d);
}

void exchange_host_event_resume(ExchangeHostSession *s) {
        EventDriver *d = exchange_host_session_driver(s);

        if (!d || !exchange_host_is_appraising(s))
                return;
        d->waiting_told = false;
        exchange_host_resume(s);
        (void) event_driver_update(d);
}

int exchange_host_attach_event(ExchangeHostSession *s, sd_event *e, int fd, ExchangeHostDoneFn done,
                               void *userdata) {
        return exchange_host_attach_event_full(s, e, fd, done, NULL, userdata);
}

int exchange_host_attach_event_full(ExchangeHostSession *s, sd_event *e, int fd, ExchangeHostDoneFn done,
                                    ExchangeHostWaitFn waiting, void *userdata) {
        EventDriver *d;
        int r;

        if (exchange_host_is_done(s) || !done)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        *d = (EventDriver) { .session = s, .fd = fd, .done = done, .waiting = waiting, .userdata = userdata };
        r = sd_event_add_io(e, &d->io, fd, EPOLLIN, on_io, d);
        if (r >= 0)
                /* 1 ms accuracy: the default (250 ms) would stretch short deadlines. */
                r = sd_event_add_time(e, &d->timer, CLOCK_MONOTONIC, exchange_host_deadline(s), 1000, on_timer, d);
        if (r < 0) {
                event_driver_free(d);
                return r;
        }
        exchange_host_session_set_driver(s, d, event_driver_free);
        return event_driver_update(d);
}
