/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the HTTP state machine (http.c) needs from the loop that drives it, and what it offers
 * that loop. A driver watches the sockets libcurl names and fires the timers (libcurl's own, and
 * each transfer's backoff and deadline) when they expire. The poll() driver (http-loop.c) needs
 * no hooks: it reads the socket list and the next timer before each poll(). The sd-event driver
 * (http-event.c) mirrors each socket and timer as an event source, kept in their slot. */

#include <curl/curl.h>
#include <stdint.h>

#include "cvm/http.h"

#define HTTP_USEC_INFINITY UINT64_MAX

typedef struct HttpTimer HttpTimer;
struct HttpTimer {
        HttpMulti *multi;
        uint64_t at;                   /* CLOCK_MONOTONIC µs; HTTP_USEC_INFINITY: disarmed */
        void (*fire)(HttpTimer *t);
        void *slot;                    /* the driver's */
};

typedef struct HttpSocket HttpSocket;
struct HttpSocket {
        HttpSocket *next;
        curl_socket_t fd;
        int what;                      /* CURL_POLL_IN, CURL_POLL_OUT or CURL_POLL_INOUT */
        void *slot;                    /* the driver's */
};

typedef struct HttpDriver {
        int (*watch)(HttpMulti *m, HttpSocket *s);     /* s is new, or s->what changed */
        void (*unwatch)(HttpMulti *m, HttpSocket *s);  /* s is going away */
        int (*arm)(HttpMulti *m, HttpTimer *t);        /* t->at changed */
        void (*release)(HttpMulti *m, HttpTimer *t);   /* t is going away */
        void (*free)(HttpMulti *m);
} HttpDriver;

int http_multi_new_with_driver(const HttpDriver *driver, void *driver_data, HttpMulti **ret);
void *http_multi_driver_data(HttpMulti *m);
HttpSocket *http_multi_sockets(HttpMulti *m);
/* The armed timer that expires first, or NULL. */
HttpTimer *http_multi_next_timer(HttpMulti *m);

/* The loop saw events (CURL_CSELECT_*) on fd. */
void http_multi_socket_ready(HttpMulti *m, curl_socket_t fd, int events);
/* t expired: disarms it, then runs it. */
void http_timer_fire(HttpTimer *t);

/* http_multi_start() that also says why a request cannot start. */
int http_multi_start_full(HttpMulti *m, const HttpRequest *req, http_done_t done, void *userdata,
                          HttpTransfer **ret, char **ret_error);

uint64_t http_now_usec(void);
