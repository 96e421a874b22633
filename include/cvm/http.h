/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A blocking HTTP(S) GET over libcurl's easy API, for the CLI and tests. The daemon will drive
 * libcurl's multi API from its event loop instead; never call http_get() on a loop.
 * Nothing here logs: progress goes through the callback, failures through ret_error. */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

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
        /* Told about every retry ("... answered 429 Too Many Requests; retrying in 2 s
         * (attempt 2 of 4)"). Optional. */
        void (*progress)(void *userdata, const char *message);
        void *userdata;
} HttpOptions;

/* Fetches url (http:// or https:// only; TLS peer and host verification on; redirects only to
 * http/https, and never from https to http). Retries transport errors and 429/500/502/503/504
 * with exponential backoff, honouring Retry-After on 429/503.
 *
 * Returns 0 on HTTP 200 with the body in *ret_body (malloc'ed, with one extra NUL byte not
 * counted in *ret_size). Failures: -ENOENT for 404 (final, no retry), -EFBIG for a body over
 * max_body, -EPROTONOSUPPORT for another URL scheme, -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH,
 * -EIO for any other HTTP status or transport error, -ENOMEM. On failure *ret_error (if
 * non-NULL) gets a malloc'ed sentence naming the URL and what happened. *ret_status (if
 * non-NULL) gets the last HTTP status seen, also on failure (0 when no response came). */
int http_get(const HttpOptions *o, const char *url, uint8_t **ret_body, size_t *ret_size, long *ret_status,
             char **ret_error);

/* "Too Many Requests" for 429 and so on; "" for codes it does not know. */
const char *http_status_phrase(long status);

/* POSTs `size` bytes of `content_type` to url (OCSP requests): the same URL rules, limits and
 * errors as http_get(), one attempt (no retry loop). */
int http_post(const HttpOptions *o, const char *url, const char *content_type, const void *body, size_t size,
              uint8_t **ret_body, size_t *ret_size, long *ret_status, char **ret_error);

/* As http_get(), and on success also returns the values of the named response headers of the
 * final response: ret_values[i] malloc'ed, NULL where the response had no such header (Intel
 * PCS sends the collateral issuer chains in headers). */
int http_get_headers(const HttpOptions *o, const char *url, const char *const *names, size_t n_names,
                     char **ret_values, uint8_t **ret_body, size_t *ret_size, long *ret_status, char **ret_error);
