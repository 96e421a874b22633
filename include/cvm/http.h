/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* HTTP(S) requests over libcurl's multi interface. One request function for every method; each
 * request is a small state machine (attempt, backoff timer, attempt, ..., done) driven by
 * libcurl's socket and timer callbacks, so it never sleeps and never blocks a loop:
 *
 *   - http_request() runs one request to completion on a private poll() loop (the CLI, tests);
 *   - an HttpMulti runs many at once, either on its own poll() loop (http_multi_run()) or on an
 *     sd-event loop (http_multi_new_event()), where the daemon keeps answering D-Bus meanwhile.
 *
 * Nothing here logs: retries are reported through HttpOptions.progress, failures in HttpResult. */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cvm/macro.h"

#define HTTP_CONNECT_TIMEOUT_SEC_DEFAULT 10L
#define HTTP_TIMEOUT_SEC_DEFAULT 30L
#define HTTP_MAX_RETRIES_DEFAULT 3u
#define HTTP_BACKOFF_INITIAL_MS_DEFAULT 1000u
#define HTTP_MAX_RETRY_AFTER_SEC_DEFAULT 120u
#define HTTP_MAX_BODY_DEFAULT ((size_t) 1024 * 1024)

/* max_retries cannot say "none" with 0, which means "the default": use this. */
#define HTTP_MAX_RETRIES_NONE UINT_MAX

/* Every field left 0 (or NULL) takes its default, so `(HttpOptions) {}` is a sane setting. */
typedef struct HttpOptions {
        long connect_timeout_sec;      /* default 10 */
        long timeout_sec;              /* whole transfer, per attempt; default 30 */
        unsigned max_retries;          /* default 3; HTTP_MAX_RETRIES_NONE for none */
        unsigned backoff_initial_ms;   /* first retry delay, doubled each time; default 1000 */
        unsigned max_retry_after_sec;  /* cap on a server's Retry-After; default 120 */
        size_t max_body;               /* larger bodies are refused; default 1 MiB */
        uint64_t deadline_usec;        /* the whole request, retries and backoff included; 0: none */
        /* Told about every retry ("... answered 429 Too Many Requests; retrying in 2 s
         * (attempt 2 of 4)"). Optional. */
        void (*progress)(void *userdata, const char *message);
        void *userdata;
} HttpOptions;

typedef enum HttpMethod {
        HTTP_METHOD_GET,
        HTTP_METHOD_POST,
        _HTTP_METHOD_MAX,
        _HTTP_METHOD_INVALID = -EINVAL,
} HttpMethod;

/* What to ask. Everything is copied when the request starts; the caller's memory may go. */
typedef struct HttpRequest {
        HttpMethod method;
        const char *url;               /* http:// or https:// only */
        const char *content_type;      /* POST: required */
        const void *body;              /* POST: body_size bytes */
        size_t body_size;
        const char *const *want_headers; /* response headers to return, by name */
        size_t n_want_headers;
        HttpOptions options;
} HttpRequest;

/* What came back. error is 0 only for HTTP 200. Otherwise: -ENOENT for 404 (final, no retry),
 * -EFBIG for a body over max_body, -EPROTONOSUPPORT for another URL scheme, -ETIMEDOUT (also
 * when the deadline fired), -ECONNREFUSED, -EHOSTUNREACH, -EIO for any other HTTP status or
 * transport error, -ENOMEM; error_message then names the URL and what happened. Retried:
 * transport errors and 429/500/502/503/504, with exponential backoff or the server's Retry-After
 * (on 429/503). A POST is sent once unless its options ask for retries, and never redirected. */
typedef struct HttpResult {
        int error;
        char *error_message;
        long status;                   /* the last HTTP status seen; 0 when no response came */
        uint8_t *body;                 /* on success; malloc'ed, one NUL byte after body_size */
        size_t body_size;
        char **header_values;          /* on success: n_header_values, NULL where absent */
        size_t n_header_values;
        uint64_t retry_after_usec;     /* the last Retry-After sent (not capped by max_retry_after_sec); 0: none */
        unsigned attempts;
} HttpResult;

void http_result_done(HttpResult *r);

/* Runs req to completion without any loop of the caller's; returns r->error. *ret is always
 * filled (free it with http_result_done()). */
int http_request(const HttpRequest *req, HttpResult *ret);

/* The GET most callers want: returns 0 with the body, or the error as above, with *ret_error
 * (if non-NULL) the message and *ret_status (if non-NULL) the last status, also on failure. */
int http_get(const HttpOptions *o, const char *url, uint8_t **ret_body, size_t *ret_size, long *ret_status,
             char **ret_error);

/* "Too Many Requests" for 429 and so on; "" for codes it does not know. */
const char *http_status_phrase(long status);

/* A Retry-After header value (RFC 9110 §10.2.3) read from its bytes (no NUL needed): delay-seconds
 * or an HTTP-date (IMF-fixdate, RFC 850 or asctime form) taken against `now` (Unix seconds); a
 * date not after now is 0. The delay saturates at HTTP_RETRY_AFTER_SEC_MAX; values longer than
 * HTTP_RETRY_AFTER_VALUE_MAX bytes or malformed are -EBADMSG (the client then keeps its own
 * backoff). */
#define HTTP_RETRY_AFTER_SEC_MAX (366u * 86400u)
#define HTTP_RETRY_AFTER_VALUE_MAX 64u
int http_retry_after_parse(const char *value, size_t size, int64_t now, uint64_t *ret_sec);

/* Many requests at once. */
typedef struct HttpMulti HttpMulti;
typedef struct HttpTransfer HttpTransfer;

/* Called once per transfer when it ends; result's fields may be taken (TAKE_PTR), the rest is
 * freed afterwards together with the transfer. */
typedef void (*http_done_t)(HttpTransfer *t, HttpResult *result, void *userdata);

/* An HttpMulti whose transfers run in http_multi_run(). */
int http_multi_new(HttpMulti **ret);
/* An HttpMulti whose transfers run on e (libcurl's sockets as io sources, its timer, the backoff
 * and the deadlines as CLOCK_MONOTONIC time sources). */
int http_multi_new_event(sd_event *e, HttpMulti **ret);
/* Cancels every transfer still running (no callbacks) and frees m. Not from a done callback. */
HttpMulti *http_multi_free(HttpMulti *m);
DEFINE_CLEANUP(HttpMulti *, http_multi_free)

/* Starts req; done is called when it ends, never from inside this call. ret (optional) may be
 * passed to http_transfer_cancel() until then. */
int http_multi_start(HttpMulti *m, const HttpRequest *req, http_done_t done, void *userdata, HttpTransfer **ret);
/* Stops t without calling its callback; not from t's own done callback (t ends after it). */
void http_transfer_cancel(HttpTransfer *t);
size_t http_multi_pending(HttpMulti *m);

/* For an HttpMulti from http_multi_new(): polls until no transfer is left. */
int http_multi_run(HttpMulti *m);
