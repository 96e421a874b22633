/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking HTTP GET with bounded bodies, retries and Retry-After, over libcurl's easy API.
 * src/shared never logs: retries are reported through the progress callback, failures
 * through ret_error. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cvm/http.h"
#include "cvm/util.h"

DEFINE_CLEANUP(CURL *, curl_easy_cleanup)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct Body {
        uint8_t *data;
        size_t size, allocated, max;
        bool too_large;
} Body;

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

static void sleep_ms(uint64_t ms) {
        struct timespec ts = {.tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
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

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                *ret_error = strdup_vprintf(fmt, ap);
                va_end(ap);
        }
        return r;
}

static CURLcode setup_handle(CURL *c, const HttpOptions *o, const char *url, bool https, Body *body, char *errbuf) {
        CURLcode cc;

#define SET(opt, val)                                                                                                  \
        do {                                                                                                           \
                cc = curl_easy_setopt(c, opt, val);                                                                    \
                if (cc != CURLE_OK)                                                                                    \
                        return cc;                                                                                     \
        } while (false)

        SET(CURLOPT_URL, url);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        /* Redirects stay on HTTP(S), and an https URL never ends up on plain http. */
        SET(CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, 5L);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_CONNECTTIMEOUT, o->connect_timeout_sec);
        SET(CURLOPT_TIMEOUT, o->timeout_sec);
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) o->max_body);
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, body);
        SET(CURLOPT_ERRORBUFFER, errbuf);
        SET(CURLOPT_USERAGENT, "cvmd/0.1 (+libcurl)");
        SET(CURLOPT_NOPROGRESS, 1L);
#undef SET
        return CURLE_OK;
}

int http_get(const HttpOptions *options, const char *url, uint8_t **ret_body, size_t *ret_size, long *ret_status,
             char **ret_error) {
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;
        _cleanup_free_ char *host = NULL;
        char errbuf[CURL_ERROR_SIZE];
        HttpOptions o = options ? *options : (HttpOptions){};
        Body body = {};
        unsigned attempts;
        long status = 0;
        bool https;
        int r = -EIO;

        if (o.connect_timeout_sec <= 0)
                o.connect_timeout_sec = HTTP_CONNECT_TIMEOUT_SEC_DEFAULT;
        if (o.timeout_sec <= 0)
                o.timeout_sec = HTTP_TIMEOUT_SEC_DEFAULT;
        if (o.max_retries == 0)
                o.max_retries = HTTP_MAX_RETRIES_DEFAULT;
        else if (o.max_retries == HTTP_MAX_RETRIES_NONE)
                o.max_retries = 0;
        if (o.backoff_initial_ms == 0)
                o.backoff_initial_ms = HTTP_BACKOFF_INITIAL_MS_DEFAULT;
        if (o.max_retry_after_sec == 0)
                o.max_retry_after_sec = HTTP_MAX_RETRY_AFTER_SEC_DEFAULT;
        if (o.max_body == 0)
                o.max_body = HTTP_MAX_BODY_DEFAULT;
        if (o.max_retries > 100)
                o.max_retries = 100;
        attempts = o.max_retries + 1;
        body.max = o.max_body;

        if (ret_status)
                *ret_status = 0;
        if (!url)
                return -EINVAL;
        https = url_scheme_is(url, "https");
        if (!https && !url_scheme_is(url, "http"))
                return set_error(ret_error, -EPROTONOSUPPORT,
                                 "refusing to fetch '%s': only http:// and https:// URLs are allowed", url);
        host = url_host(url);
        if (!host)
                return -ENOMEM;

        (void) pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return set_error(ret_error, -EIO, "cannot initialise libcurl: %s",
                                 curl_easy_strerror(curl_init_result));

        c = curl_easy_init();
        if (!c)
                return set_error(ret_error, -ENOMEM, "cannot initialise libcurl for '%s'", url);

        for (unsigned attempt = 1;; attempt++) {
                _cleanup_free_ char *what = NULL;
                curl_off_t retry_after = 0;
                bool retry = false;
                uint64_t delay_ms;
                char delay[32];
                CURLcode cc;

                body_reset(&body);
                errbuf[0] = 0;
                curl_easy_reset(c);
                cc = setup_handle(c, &o, url, https, &body, errbuf);
                if (cc != CURLE_OK) {
                        r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
                        return set_error(ret_error, r, "GET %s: cannot set up libcurl: %s", url,
                                         curl_easy_strerror(cc));
                }

                cc = curl_easy_perform(c);
                status = 0;
                if (cc == CURLE_OK) {
                        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                        if (ret_status)
                                *ret_status = status;
                        if (status == 200) {
                                if (!body.data) {
                                        body.data = malloc(1);
                                        if (!body.data)
                                                return -ENOMEM;
                                        body.data[0] = 0;
                                }
                                *ret_body = body.data;
                                *ret_size = body.size;
                                return 0;
                        }
                        if (status == 404) {
                                body_reset(&body);
                                return set_error(ret_error, -ENOENT, "GET %s: HTTP 404 Not Found", url);
                        }
                        r = -EIO;
                        retry = status_is_retryable(status);
                        what = strdup_printf("HTTP %ld%s%s", status, *http_status_phrase(status) ? " " : "",
                                             http_status_phrase(status));
                        if (status == 429 || status == 503)
                                (void) curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
                } else if ((cc == CURLE_WRITE_ERROR && body.too_large) || cc == CURLE_FILESIZE_EXCEEDED) {
                        body_reset(&body);
                        return set_error(ret_error, -EFBIG, "GET %s: response body larger than %zu bytes, refused", url,
                                         o.max_body);
                } else {
                        r = curl_code_to_errno(cc, &retry);
                        what = strdup(errbuf[0] ? errbuf : curl_easy_strerror(cc));
                }
                body_reset(&body);
                if (!what)
                        return -ENOMEM;

                if (!retry || attempt >= attempts) {
                        if (attempt > 1)
                                return set_error(ret_error, r, "GET %s: %s (gave up after %u attempts)", url, what,
                                                 attempt);
                        return set_error(ret_error, r, "GET %s: %s", url, what);
                }

                /* Exponential backoff, or the server's Retry-After when it gave one. */
                delay_ms = (uint64_t) o.backoff_initial_ms << (attempt - 1 < 20 ? attempt - 1 : 20);
                if (delay_ms > (uint64_t) o.max_retry_after_sec * 1000)
                        delay_ms = (uint64_t) o.max_retry_after_sec * 1000;
                if (retry_after > 0)
                        delay_ms = (uint64_t) (retry_after < (curl_off_t) o.max_retry_after_sec
                                                       ? retry_after
                                                       : (curl_off_t) o.max_retry_after_sec) *
                                   1000;
                format_delay(delay_ms, delay, sizeof(delay));
                if (status)
                        report_progress(&o, "%s answered %ld%s%s; retrying in %s (attempt %u of %u)", host, status,
                                        *http_status_phrase(status) ? " " : "", http_status_phrase(status), delay,
                                        attempt + 1, attempts);
                else
                        report_progress(&o, "GET %s failed: %s; retrying in %s (attempt %u of %u)", url, what, delay,
                                        attempt + 1, attempts);
                sleep_ms(delay_ms);
        }
}

DEFINE_CLEANUP(struct curl_slist *, curl_slist_free_all)

int http_post(const HttpOptions *options, const char *url, const char *content_type, const void *data, size_t size,
              uint8_t **ret_body, size_t *ret_size, long *ret_status, char **ret_error) {
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *ct = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        HttpOptions o = options ? *options : (HttpOptions) {};
        Body body = {};
        long status = 0;
        bool https, retry;
        CURLcode cc;
        int r;

        if (o.connect_timeout_sec <= 0)
                o.connect_timeout_sec = HTTP_CONNECT_TIMEOUT_SEC_DEFAULT;
        if (o.timeout_sec <= 0)
                o.timeout_sec = HTTP_TIMEOUT_SEC_DEFAULT;
        if (o.max_body == 0)
                o.max_body = HTTP_MAX_BODY_DEFAULT;
        body.max = o.max_body;
        if (ret_status)
                *ret_status = 0;
        if (!url || !content_type || (!data && size > 0) || size > (size_t) LONG_MAX)
                return -EINVAL;
        https = url_scheme_is(url, "https");
        if (!https && !url_scheme_is(url, "http"))
                return set_error(ret_error, -EPROTONOSUPPORT,
                                 "refusing to post to '%s': only http:// and https:// URLs are allowed", url);
        (void) pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return set_error(ret_error, -EIO, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_result));
        c = curl_easy_init();
        ct = strdup_printf("Content-Type: %s", content_type);
        if (!c || !ct)
                return -ENOMEM;
        headers = curl_slist_append(NULL, ct);
        if (!headers)
                return -ENOMEM;
        cc = setup_handle(c, &o, url, https, &body, errbuf);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) size);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : "");
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        if (cc == CURLE_OK)
                /* A redirect must not turn the POST into a GET or carry it elsewhere silently. */
                cc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (cc != CURLE_OK)
                return set_error(ret_error, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO,
                                 "POST %s: cannot set up libcurl: %s", url, curl_easy_strerror(cc));

        cc = curl_easy_perform(c);
        if (cc != CURLE_OK) {
                bool too_large = (cc == CURLE_WRITE_ERROR && body.too_large) || cc == CURLE_FILESIZE_EXCEEDED;
                body_reset(&body);
                if (too_large)
                        return set_error(ret_error, -EFBIG, "POST %s: response body larger than %zu bytes, refused", url,
                                         o.max_body);
                r = curl_code_to_errno(cc, &retry);
                return set_error(ret_error, r, "POST %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        }
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (ret_status)
                *ret_status = status;
        if (status != 200) {
                body_reset(&body);
                return set_error(ret_error, status == 404 ? -ENOENT : -EIO, "POST %s: HTTP %ld%s%s", url, status,
                                 *http_status_phrase(status) ? " " : "", http_status_phrase(status));
        }
        if (!body.data) {
                body.data = malloc(1);
                if (!body.data)
                        return -ENOMEM;
                body.data[0] = 0;
        }
        *ret_body = body.data;
        *ret_size = body.size;
        return 0;
}

/* Copies the named response headers of the last transfer on c; absent ones stay NULL. */
static int capture_headers(CURL *c, const char *const *names, size_t n, char **values) {
        for (size_t i = 0; i < n; i++) {
                struct curl_header *h = NULL;

                values[i] = NULL;
                if (curl_easy_header(c, names[i], 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h || !h->value)
                        continue;
                values[i] = strdup(h->value);
                if (!values[i]) {
                        for (size_t k = 0; k < i; k++)
                                values[k] = mfree_str(values[k]);
                        return -ENOMEM;
                }
        }
        return 0;
}

int http_get_headers(const HttpOptions *options, const char *url, const char *const *names, size_t n_names,
                     char **ret_values, uint8_t **ret_body, size_t *ret_size, long *ret_status, char **ret_error) {
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;
        char errbuf[CURL_ERROR_SIZE];
        HttpOptions o = options ? *options : (HttpOptions) {};
        Body body = {};
        unsigned attempts;
        bool https;
        int r = -EIO;

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
        attempts = o.max_retries + 1;
        body.max = o.max_body;
        if (ret_status)
                *ret_status = 0;
        if (!url || (n_names > 0 && (!names || !ret_values)))
                return -EINVAL;
        https = url_scheme_is(url, "https");
        if (!https && !url_scheme_is(url, "http"))
                return set_error(ret_error, -EPROTONOSUPPORT, "refusing to fetch '%s': only http:// and https:// URLs are allowed",
                                 url);
        (void) pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return set_error(ret_error, -EIO, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_result));
        c = curl_easy_init();
        if (!c)
                return set_error(ret_error, -ENOMEM, "cannot initialise libcurl for '%s'", url);

        for (unsigned attempt = 1;; attempt++) {
                _cleanup_free_ char *what = NULL;
                curl_off_t retry_after = 0;
                bool retry = false;
                uint64_t delay_ms;
                long status = 0;
                char delay[32];
                CURLcode cc;

                body_reset(&body);
                errbuf[0] = 0;
                curl_easy_reset(c);
                cc = setup_handle(c, &o, url, https, &body, errbuf);
                if (cc != CURLE_OK)
                        return set_error(ret_error, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO,
                                         "GET %s: cannot set up libcurl: %s", url, curl_easy_strerror(cc));
                cc = curl_easy_perform(c);
                if (cc == CURLE_OK) {
                        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                        if (ret_status)
                                *ret_status = status;
                        if (status == 200) {
                                if (!body.data && !(body.data = calloc(1, 1)))
                                        return -ENOMEM;
                                r = capture_headers(c, names, n_names, ret_values);
                                if (r < 0) {
                                        body_reset(&body);
                                        return r;
                                }
                                *ret_body = body.data;
                                *ret_size = body.size;
                                return 0;
                        }
                        body_reset(&body);
                        if (status == 404)
                                return set_error(ret_error, -ENOENT, "GET %s: HTTP 404 Not Found", url);
                        r = -EIO;
                        retry = status_is_retryable(status);
                        what = strdup_printf("HTTP %ld%s%s", status, *http_status_phrase(status) ? " " : "",
                                             http_status_phrase(status));
                        if (status == 429 || status == 503)
                                (void) curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
                } else {
                        bool too_large = (cc == CURLE_WRITE_ERROR && body.too_large) || cc == CURLE_FILESIZE_EXCEEDED;
                        body_reset(&body);
                        if (too_large)
                                return set_error(ret_error, -EFBIG, "GET %s: response body larger than %zu bytes, refused",
                                                 url, o.max_body);
                        r = curl_code_to_errno(cc, &retry);
                        what = strdup(errbuf[0] ? errbuf : curl_easy_strerror(cc));
                }
                if (!what)
                        return -ENOMEM;
                if (!retry || attempt >= attempts)
                        return set_error(ret_error, r, "GET %s: %s%s", url, what, attempt > 1 ? " (gave up after retries)" : "");
                delay_ms = (uint64_t) o.backoff_initial_ms << (attempt - 1 < 20 ? attempt - 1 : 20);
                if (delay_ms > (uint64_t) o.max_retry_after_sec * 1000)
                        delay_ms = (uint64_t) o.max_retry_after_sec * 1000;
                if (retry_after > 0)
                        delay_ms = (uint64_t) (retry_after < (curl_off_t) o.max_retry_after_sec ? retry_after
                                                                                                 : (curl_off_t) o.max_retry_after_sec) *
                                   1000;
                format_delay(delay_ms, delay, sizeof(delay));
                report_progress(&o, "GET %s: %s; retrying in %s (attempt %u of %u)", url, what, delay, attempt + 1,
                                attempts);
                sleep_ms(delay_ms);
        }
}
