/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP request state machine on libcurl's multi interface: bounded bodies, retries with
 * exponential backoff or Retry-After as timers, a per-request deadline. It waits for nothing
 * itself: a driver (http-loop.c, http-event.c) watches the sockets and fires the timers.
 * src/shared never logs: retries are reported through the progress callback, failures in the
 * HttpResult. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cvm/cleanup.h"
#include "cvm/http.h"
#include "cvm/util.h"
#include "http-internal.h"

typedef enum TransferState {
        TRANSFER_RUNNING, /* an attempt is in libcurl's hands */
        TRANSFER_BACKOFF, /* waiting for the backoff timer before the next attempt */
} TransferState;

typedef struct Body {
        uint8_t *data;
        size_t size, allocated, max;
        bool too_large;
} Body;

struct HttpTransfer {
        HttpMulti *multi;
        HttpTransfer *prev, *next;
        TransferState state;
        bool linked;                   /* on the multi's list (and, when RUNNING, in libcurl's) */
        CURL *easy;
        char errbuf[CURL_ERROR_SIZE];
        struct curl_slist *request_headers;

        HttpMethod method;
        char *url, *host;
        bool https;
        uint8_t *post;
        size_t post_size;
        char **want_headers;
        size_t n_want_headers;
        HttpOptions o;                 /* defaults filled in */
        unsigned max_attempts;

        Body body;
        HttpTimer backoff, deadline;
        HttpResult result;
        http_done_t done;
        void *userdata;
};

struct HttpMulti {
        CURLM *curl;
        const HttpDriver *driver;      /* NULL: the poll() loop, which needs no hooks */
        void *driver_data;
        HttpTimer curl_timer;
        HttpSocket *sockets;
        HttpTransfer *transfers;
        size_t n_transfers;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const char *const method_names[_HTTP_METHOD_MAX] = {
        [HTTP_METHOD_GET] = "GET",
        [HTTP_METHOD_POST] = "POST",
};

uint64_t http_now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

const char *http_status_phrase(long status) {
        switch (status) {
        case 200:
                return "OK";
        case 301:
                return "Moved Permanently";
        case 302:
                return "Found";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 429:
                return "Too Many Requests";
        case 500:
                return "Internal Server Error";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 504:
                return "Gateway Timeout";
        default:
                return "";
        }
}

void http_result_done(HttpResult *r) {
        if (!r)
                return;
        free(r->error_message);
        free(r->body);
        for (size_t i = 0; i < r->n_header_values; i++)
                free(r->header_values[i]);
        free(r->header_values);
        *r = (HttpResult) {};
}

/* ---- one attempt's response body ---- */

static void body_reset(Body *b) {
        free(b->data);
        b->data = NULL;
        b->size = b->allocated = 0;
        b->too_large = false;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Body *b = userdata;
        size_t n = size * nmemb; /* libcurl guarantees size == 1 */

        if (n > b->max || b->size > b->max - n) {
                b->too_large = true;
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        if (b->size + n + 1 > b->allocated) {
                size_t want = b->allocated ? b->allocated : 16384;
                uint8_t *p;

                while (want < b->size + n + 1)
                        want *= 2;
                if (want > b->max + 1)
                        want = b->max + 1;
                p = realloc(b->data, want);
                if (!p)
                        return 0;
                b->data = p;
                b->allocated = want;
        }
        memcpy(b->data + b->size, ptr, n);
        b->size += n;
        b->data[b->size] = 0;
        return n;
}

/* ---- classification ---- */

static bool status_is_retryable(long status) {
        return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Translates a CURLcode into an errno; *ret_retry says whether trying again may help. */
static int curl_code_to_errno(CURLcode c, bool *ret_retry) {
        *ret_retry = false;
        switch (c) {
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_URL_MALFORMAT:
                return -EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return -EIO; /* TLS verification failures do not heal by retrying */
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                *ret_retry = true;
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                *ret_retry = true;
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                *ret_retry = true;
                return -ETIMEDOUT;
        default:
                *ret_retry = true;
                return -EIO;
        }
}

static bool url_scheme_is(const char *url, const char *scheme) {
        size_t n = strlen(scheme);

        return strncasecmp(url, scheme, n) == 0 && strncmp(url + n, "://", 3) == 0;
}

/* "host[:port]" of a URL, for messages. */
static char *url_host(const char *url) {
        const char *s = strstr(url, "://"), *e;

        s = s ? s + 3 : url;
        e = s + strcspn(s, "/?#");
        return strndup(s, (size_t) (e - s));
}

static void format_delay(uint64_t ms, char *buf, size_t size) {
        if (ms < 1000)
                snprintf(buf, size, "%llu ms", (unsigned long long) ms);
        else if (ms % 1000 == 0)
                snprintf(buf, size, "%llu s", (unsigned long long) (ms / 1000));
        else
                snprintf(buf, size, "%.1f s", (double) ms / 1000.0);
}

static void report_progress(const HttpOptions *o, const char *fmt, ...) _printf_(2, 3);
static void report_progress(const HttpOptions *o, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        if (!o->progress)
                return;
        va_start(ap, fmt);
        m = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (m)
                o->progress(o->userdata, m);
}

static HttpOptions options_normalize(const HttpOptions *in) {
        HttpOptions o = *in;

        if (o.connect_timeout_sec <= 0)
                o.connect_timeout_sec = HTTP_CONNECT_TIMEOUT_SEC_DEFAULT;
        if (o.timeout_sec <= 0)
                o.timeout_sec = HTTP_TIMEOUT_SEC_DEFAULT;
        if (o.max_retries == 0)
                o.max_retries = HTTP_MAX_RETRIES_DEFAULT;
        else if (o.max_retries == HTTP_MAX_RETRIES_NONE)
                o.max_retries = 0;
        if (o.max_retries > 100)
                o.max_retries = 100;
        if (o.backoff_initial_ms == 0)
                o.backoff_initial_ms = HTTP_BACKOFF_INITIAL_MS_DEFAULT;
        if (o.max_retry_after_sec == 0)
                o.max_retry_after_sec = HTTP_MAX_RETRY_AFTER_SEC_DEFAULT;
        if (o.max_body == 0)
                o.max_body = HTTP_MAX_BODY_DEFAULT;
        return o;
}

/* The wait before attempt `attempt + 1`: doubling from backoff_initial_ms, or the server's
 * Retry-After when it gave one, both capped at max_retry_after_sec. */
static uint64_t backoff_ms(const HttpOptions *o, unsigned attempt, uint64_t retry_after_sec) {
        uint64_t cap = (uint64_t) o->max_retry_after_sec * 1000, ms;

        ms = (uint64_t) o->backoff_initial_ms << (attempt - 1 < 20 ? attempt - 1 : 20);
        if (retry_after_sec > 0)
                ms = retry_after_sec * 1000; /* at most HTTP_RETRY_AFTER_SEC_MAX: no overflow */
        return ms < cap ? ms : cap;
}

/* ---- timers ---- */

static void timer_init(HttpTimer *t, HttpMulti *m, void (*fire)(HttpTimer *t)) {
        *t = (HttpTimer) { .multi = m, .at = HTTP_USEC_INFINITY, .fire = fire };
}

static int timer_arm(HttpTimer *t, uint64_t at) {
        t->at = at;
        if (!t->multi->driver)
                return 0;
        return t->multi->driver->arm(t->multi, t);
}

static void timer_release(HttpTimer *t) {
        t->at = HTTP_USEC_INFINITY;
        if (t->multi && t->multi->driver)
                t->multi->driver->release(t->multi, t);
        t->slot = NULL;
}

void http_timer_fire(HttpTimer *t) {
        t->at = HTTP_USEC_INFINITY;
        t->fire(t);
}

/* ---- a transfer ---- */

static void transfer_unlink(HttpTransfer *t) {
        HttpMulti *m = t->multi;

        if (!t->linked)
                return;
        if (t->state == TRANSFER_RUNNING)
                (void) curl_multi_remove_handle(m->curl, t->easy);
        if (t->prev)
                t->prev->next = t->next;
        else
                m->transfers = t->next;
        if (t->next)
                t->next->prev = t->prev;
        t->prev = t->next = NULL;
        t->linked = false;
        m->n_transfers--;
}

static HttpTransfer *transfer_free(HttpTransfer *t) {
        if (!t)
                return NULL;
        transfer_unlink(t);
        timer_release(&t->backoff);
        timer_release(&t->deadline);
        curl_easy_cleanup(t->easy);
        curl_slist_free_all(t->request_headers);
        body_reset(&t->body);
        http_result_done(&t->result);
        free(t->url);
        free(t->host);
        free(t->post);
        for (size_t i = 0; i < t->n_want_headers; i++)
                free(t->want_headers[i]);
        free(t->want_headers);
        free(t);
        return NULL;
}
DEFINE_CLEANUP(HttpTransfer *, transfer_free)

void http_transfer_cancel(HttpTransfer *t) {
        transfer_free(t);
}

/* Ends t with r (and, when r < 0, the message fmt): tells its owner, then frees it. */
static void transfer_finish(HttpTransfer *t, int r, const char *fmt, ...) _printf_(3, 4);
static void transfer_finish(HttpTransfer *t, int r, const char *fmt, ...) {
        va_list ap;

        transfer_unlink(t);
        t->result.error = r;
        if (fmt) {
                va_start(ap, fmt);
                t->result.error_message = strdup_vprintf(fmt, ap);
                va_end(ap);
        }
        if (t->done)
                t->done(t, &t->result, t->userdata);
        transfer_free(t);
}

/* Copies the wanted response headers of the last response; absent ones stay NULL. */
static int transfer_take_headers(HttpTransfer *t) {
        HttpResult *res = &t->result;

        if (t->n_want_headers == 0)
                return 0;
        res->header_values = calloc(t->n_want_headers, sizeof(char *));
        if (!res->header_values)
                return -ENOMEM;
        res->n_header_values = t->n_want_headers;
        for (size_t i = 0; i < t->n_want_headers; i++) {
                struct curl_header *h = NULL;

                if (curl_easy_header(t->easy, t->want_headers[i], 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h ||
                    !h->value)
                        continue;
                res->header_values[i] = strdup(h->value);
                if (!res->header_values[i])
                        return -ENOMEM;
        }
        return 0;
}

static void transfer_succeed(HttpTransfer *t) {
        int r;

        if (!t->body.data && !(t->body.data = calloc(1, 1)))
                return transfer_finish(t, -ENOMEM, NULL);
        r = transfer_take_headers(t);
        if (r < 0)
                return transfer_finish(t, r, NULL);
        t->result.body = TAKE_PTR(t->body.data);
        t->result.body_size = t->body.size;
        transfer_finish(t, 0, NULL);
}

static CURLcode transfer_setup(HttpTransfer *t) {
        CURL *c = t->easy;
        CURLcode cc;

#define SET(opt, val)                                                                                                  \
        do {                                                                                                           \
                cc = curl_easy_setopt(c, opt, val);                                                                    \
                if (cc != CURLE_OK)                                                                                    \
                        return cc;                                                                                     \
        } while (false)

        SET(CURLOPT_URL, t->url);
        SET(CURLOPT_PRIVATE, t);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        /* Redirects stay on HTTP(S), and an https URL never ends up on plain http. */
        SET(CURLOPT_REDIR_PROTOCOLS_STR, t->https ? "https" : "http,https");
        SET(CURLOPT_MAXREDIRS, 5L);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_CONNECTTIMEOUT, t->o.connect_timeout_sec);
        SET(CURLOPT_TIMEOUT, t->o.timeout_sec);
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) t->o.max_body);
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, &t->body);
        SET(CURLOPT_ERRORBUFFER, t->errbuf);
        SET(CURLOPT_USERAGENT, "cvmd/0.1 (+libcurl)");
        SET(CURLOPT_NOPROGRESS, 1L);
        if (t->method == HTTP_METHOD_POST) {
                SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) t->post_size);
                SET(CURLOPT_POSTFIELDS, t->post);
                SET(CURLOPT_HTTPHEADER, t->request_headers);
                /* A redirect must not turn the POST into a GET or carry it elsewhere silently. */
                SET(CURLOPT_FOLLOWLOCATION, 0L);
        } else
                SET(CURLOPT_FOLLOWLOCATION, 1L);
#undef SET
        return CURLE_OK;
}

/* Hands the next attempt to libcurl. */
static void transfer_attempt(HttpTransfer *t) {
        const char *method = method_names[t->method];
        CURLMcode mc;
        CURLcode cc;

        body_reset(&t->body);
        t->errbuf[0] = 0;
        t->result.attempts++;
        curl_easy_reset(t->easy);
        cc = transfer_setup(t);
        if (cc != CURLE_OK)
                return transfer_finish(t, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO,
                                       "%s %s: cannot set up libcurl: %s", method, t->url, curl_easy_strerror(cc));
        mc = curl_multi_add_handle(t->multi->curl, t->easy);
        if (mc != CURLM_OK)
                return transfer_finish(t, mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO,
                                       "%s %s: cannot start the transfer: %s", method, t->url,
                                       curl_multi_strerror(mc));
        t->state = TRANSFER_RUNNING;
}

/* The transfer that holds timer as its `field`. */
#define TRANSFER_OF(timer, field) ((HttpTransfer *) ((uint8_t *) (timer) - offsetof(HttpTransfer, field)))

static void on_backoff(HttpTimer *timer) {
        transfer_attempt(TRANSFER_OF(timer, backoff));
}

static void on_deadline(HttpTimer *timer) {
        HttpTransfer *t = TRANSFER_OF(timer, deadline);
        char delay[32];

        format_delay(t->o.deadline_usec / 1000, delay, sizeof(delay));
        transfer_finish(t, -ETIMEDOUT, "%s %s: no answer within the deadline of %s (%u attempt%s)",
                        method_names[t->method], t->url, delay, t->result.attempts,
                        t->result.attempts == 1 ? "" : "s");
}

/* Takes t out of libcurl and arms the backoff timer for the next attempt. */
static void transfer_retry_later(HttpTransfer *t, const char *what, uint64_t retry_after_sec) {
        unsigned attempt = t->result.attempts;
        uint64_t ms = backoff_ms(&t->o, attempt, retry_after_sec);
        long status = t->result.status;
        char delay[32];
        int r;

        (void) curl_multi_remove_handle(t->multi->curl, t->easy);
        t->state = TRANSFER_BACKOFF;
        body_reset(&t->body);
        format_delay(ms, delay, sizeof(delay));
        if (status)
                report_progress(&t->o, "%s answered %ld%s%s; retrying in %s (attempt %u of %u)", t->host, status,
                                *http_status_phrase(status) ? " " : "", http_status_phrase(status), delay,
                                attempt + 1, t->max_attempts);
        else
                report_progress(&t->o, "%s %s failed: %s; retrying in %s (attempt %u of %u)",
                                method_names[t->method], t->url, what, delay, attempt + 1, t->max_attempts);
        r = timer_arm(&t->backoff, http_now_usec() + ms * 1000);
        if (r < 0)
                transfer_finish(t, r, "%s %s: cannot arm the backoff timer", method_names[t->method], t->url);
}

/* The response's Retry-After in seconds, read by our parser from the header's bytes
 * (http-retry-after.c); 0 when absent, repeated or malformed. */
static uint64_t response_retry_after(HttpTransfer *t) {
        struct curl_header *h = NULL;
        uint64_t sec;

        if (curl_easy_header(t->easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h || !h->value ||
            h->amount != 1)
                return 0;
        if (http_retry_after_parse(h->value, strlen(h->value), (int64_t) time(NULL), &sec) < 0)
                return 0;
        return sec;
}

/* One attempt ended with cc: success, a final failure, or a retry after the backoff. */
static void transfer_attempt_done(HttpTransfer *t, CURLcode cc) {
        const char *method = method_names[t->method];
        _cleanup_free_ char *what = NULL;
        uint64_t retry_after = 0;
        bool retry = false;
        long status = 0;
        int r;

        if (cc == CURLE_OK) {
                (void) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
                t->result.status = status;
                if (status == 200)
                        return transfer_succeed(t);
                if (status == 404)
                        return transfer_finish(t, -ENOENT, "%s %s: HTTP 404 Not Found", method, t->url);
                r = -EIO;
                retry = status_is_retryable(status);
                what = strdup_printf("HTTP %ld%s%s", status, *http_status_phrase(status) ? " " : "",
                                     http_status_phrase(status));
                if (status == 429 || status == 503) {
                        retry_after = response_retry_after(t);
                        if (retry_after > 0)
                                t->result.retry_after_usec = retry_after * 1000000u;
                }
        } else if ((cc == CURLE_WRITE_ERROR && t->body.too_large) || cc == CURLE_FILESIZE_EXCEEDED)
                return transfer_finish(t, -EFBIG, "%s %s: response body larger than %zu bytes, refused", method,
                                       t->url, t->o.max_body);
        else {
                r = curl_code_to_errno(cc, &retry);
                what = strdup(t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc));
        }
        if (!what)
                return transfer_finish(t, -ENOMEM, NULL);

        if (!retry || t->result.attempts >= t->max_attempts) {
                if (t->result.attempts > 1)
                        return transfer_finish(t, r, "%s %s: %s (gave up after %u attempts)", method, t->url, what,
                                               t->result.attempts);
                return transfer_finish(t, r, "%s %s: %s", method, t->url, what);
        }
        transfer_retry_later(t, what, retry_after);
}

static int strv_copy(const char *const *v, size_t n, char ***ret) {
        char **c;

        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        c = calloc(n, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i]) {
                        while (i > 0)
                                free(c[--i]);
                        free(c);
                        return -ENOMEM;
                }
        }
        *ret = c;
        return 0;
}

/* Checks req and copies it into a new, not yet started transfer. */
static int transfer_new(HttpMulti *m, const HttpRequest *req, HttpTransfer **ret, char **ret_error) {
        _cleanup_(transfer_freep) HttpTransfer *t = NULL;
        bool https;
        int r;

        if (!req || !req->url || req->method < 0 || req->method >= _HTTP_METHOD_MAX ||
            (req->n_want_headers > 0 && !req->want_headers) ||
            (req->method == HTTP_METHOD_POST &&
             (!req->content_type || (!req->body && req->body_size > 0) || req->body_size > (size_t) LONG_MAX)))
                return -EINVAL;
        https = url_scheme_is(req->url, "https");
        if (!https && !url_scheme_is(req->url, "http"))
                return set_reason(ret_error, -EPROTONOSUPPORT,
                                  "refusing to %s '%s': only http:// and https:// URLs are allowed",
                                  req->method == HTTP_METHOD_POST ? "post to" : "fetch", req->url);

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->multi = m;
        t->state = TRANSFER_BACKOFF;
        t->method = req->method;
        t->https = https;
        t->o = options_normalize(&req->options);
        t->max_attempts = t->o.max_retries + 1;
        t->body.max = t->o.max_body;
        timer_init(&t->backoff, m, on_backoff);
        timer_init(&t->deadline, m, on_deadline);
        t->url = strdup(req->url);
        t->host = url_host(req->url);
        t->easy = curl_easy_init();
        if (!t->url || !t->host || !t->easy)
                return -ENOMEM;
        r = strv_copy(req->want_headers, req->n_want_headers, &t->want_headers);
        if (r < 0)
                return r;
        t->n_want_headers = req->n_want_headers;
        if (req->method == HTTP_METHOD_POST) {
                _cleanup_free_ char *ct = strdup_printf("Content-Type: %s", req->content_type);

                /* one byte more, so that an empty body is still a valid pointer */
                t->post = malloc(req->body_size + 1);
                if (!ct || !t->post)
                        return -ENOMEM;
                memcpy(t->post, req->body ?: "", req->body_size);
                t->post_size = req->body_size;
                t->request_headers = curl_slist_append(NULL, ct);
                if (!t->request_headers)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

int http_multi_start_full(HttpMulti *m, const HttpRequest *req, http_done_t done, void *userdata,
                          HttpTransfer **ret, char **ret_error) {
        HttpTransfer *t = NULL;
        int r;

        if (!m)
                return -EINVAL;
        r = transfer_new(m, req, &t, ret_error);
        if (r < 0)
                return r;
        t->done = done;
        t->userdata = userdata;
        t->next = m->transfers;
        if (t->next)
                t->next->prev = t;
        m->transfers = t;
        t->linked = true;
        m->n_transfers++;
        if (t->o.deadline_usec > 0) {
                r = timer_arm(&t->deadline, http_now_usec() + t->o.deadline_usec);
                if (r < 0) {
                        transfer_free(t);
                        return r;
                }
        }
        /* The first attempt starts from the backoff timer at once, so that done is never called
         * from inside this function, whatever goes wrong. */
        r = timer_arm(&t->backoff, http_now_usec());
        if (r < 0) {
                transfer_free(t);
                return r;
        }
        if (ret)
                *ret = t;
        return 0;
}

int http_multi_start(HttpMulti *m, const HttpRequest *req, http_done_t done, void *userdata, HttpTransfer **ret) {
        return http_multi_start_full(m, req, done, userdata, ret, NULL);
}

/* ---- the multi handle and libcurl's callbacks ---- */

size_t http_multi_pending(HttpMulti *m) {
        return m ? m->n_transfers : 0;
}

void *http_multi_driver_data(HttpMulti *m) {
        return m->driver_data;
}

HttpSocket *http_multi_sockets(HttpMulti *m) {
        return m->sockets;
}

HttpTimer *http_multi_next_timer(HttpMulti *m) {
        HttpTimer *best = m->curl_timer.at != HTTP_USEC_INFINITY ? &m->curl_timer : NULL;

        for (HttpTransfer *t = m->transfers; t; t = t->next)
                for (HttpTimer *x = &t->backoff; x; x = x == &t->backoff ? &t->deadline : NULL)
                        if (x->at != HTTP_USEC_INFINITY && (!best || x->at < best->at))
                                best = x;
        return best;
}

/* Collects the attempts libcurl has finished. Runs only outside libcurl's callbacks, so the
 * owners' done callbacks may start and cancel transfers. */
static void multi_process_done(HttpMulti *m) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(m->curl, &left))) {
                HttpTransfer *t = NULL;
                CURLcode cc = msg->data.result;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
                if (t)
                        transfer_attempt_done(t, cc);
        }
}

void http_multi_socket_ready(HttpMulti *m, curl_socket_t fd, int events) {
        int running;

        (void) curl_multi_socket_action(m->curl, fd, events, &running);
        multi_process_done(m);
}

static void on_curl_timer_expired(HttpTimer *timer) {
        http_multi_socket_ready(timer->multi, CURL_SOCKET_TIMEOUT, 0);
}

static void socket_free(HttpMulti *m, HttpSocket *s) {
        for (HttpSocket **p = &m->sockets; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        if (m->driver)
                m->driver->unwatch(m, s);
        free(s);
}

/* CURLMOPT_SOCKETFUNCTION: libcurl wants fd watched for `what`, or no longer. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        HttpMulti *m = userdata;
        HttpSocket *s = socketp;

        if (what == CURL_POLL_REMOVE) {
                if (s)
                        socket_free(m, s);
                return 0;
        }
        if (!s) {
                s = calloc(1, sizeof(*s));
                if (!s)
                        return -1;
                s->fd = fd;
                s->next = m->sockets;
                m->sockets = s;
                if (curl_multi_assign(m->curl, fd, s) != CURLM_OK) {
                        socket_free(m, s);
                        return -1;
                }
        }
        s->what = what;
        return m->driver && m->driver->watch(m, s) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be called back in timeout_ms (-1: never). It must not
 * be called back from in here, so even 0 goes through the timer. */
static int on_curl_timer(CURLM *curl, long timeout_ms, void *userdata) {
        HttpMulti *m = userdata;

        if (timeout_ms < 0)
                return timer_arm(&m->curl_timer, HTTP_USEC_INFINITY) < 0 ? -1 : 0;
        return timer_arm(&m->curl_timer, http_now_usec() + (uint64_t) timeout_ms * 1000) < 0 ? -1 : 0;
}

HttpMulti *http_multi_free(HttpMulti *m) {
        if (!m)
                return NULL;
        while (m->transfers)
                transfer_free(m->transfers);
        /* libcurl closes its cached connections here and may still name their sockets. */
        if (m->curl)
                (void) curl_multi_cleanup(m->curl);
        while (m->sockets)
                socket_free(m, m->sockets);
        timer_release(&m->curl_timer);
        if (m->driver)
                m->driver->free(m);
        free(m);
        return NULL;
}

int http_multi_new_with_driver(const HttpDriver *driver, void *driver_data, HttpMulti **ret) {
        _cleanup_(http_multi_freep) HttpMulti *m = NULL;

        (void) pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return -EIO;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        timer_init(&m->curl_timer, m, on_curl_timer_expired);
        m->curl = curl_multi_init();
        if (!m->curl)
                return -ENOMEM;
        if (curl_multi_setopt(m->curl, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
            curl_multi_setopt(m->curl, CURLMOPT_SOCKETDATA, m) != CURLM_OK ||
            curl_multi_setopt(m->curl, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            curl_multi_setopt(m->curl, CURLMOPT_TIMERDATA, m) != CURLM_OK)
                return -EIO;
        /* Set last: from here on http_multi_free() hands everything back to the driver. */
        m->driver = driver;
        m->driver_data = driver_data;
        *ret = TAKE_PTR(m);
        return 0;
}
