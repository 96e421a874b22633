/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP request state machine against a real HTTP server (libmicrohttpd, in-process, on
 * 127.0.0.1): success, 404 final, 503 with Retry-After honoured, an oversize body refused,
 * response headers returned, a POST, the deadline firing. Every case runs with the blocking
 * driver and on an sd-event loop; then several requests at once on one loop, one of them
 * stalled until its deadline fires while the others complete and the loop keeps serving its
 * own timer. Asserts outcomes, never durations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "cvm/http.h"
#include "cvm/util.h"

#define BIG_SIZE 4096
#define STALL_CAP_SEC 20

/* ---- the server ---- */

static struct MHD_Daemon *server;
static int server_port;
static pthread_mutex_t server_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t server_release = PTHREAD_COND_INITIALIZER;
static bool released;
static unsigned hits_missing;
static char flaky_seen[64][32]; /* the /flaky/<id> ids that already got their 503 */
static size_t n_flaky_seen;

typedef struct Upload {
        char data[256];
        size_t size;
} Upload;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const void *body, size_t size,
                             const char *header, const char *value) {
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(size, (void *) body, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (!resp)
                return MHD_NO;
        if (header)
                (void) MHD_add_response_header(resp, header, value);
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* The first request for an id is told to come back in 1 s; later ones succeed. */
static bool flaky_first(const char *id) {
        bool first = true;

        pthread_mutex_lock(&server_lock);
        for (size_t i = 0; i < n_flaky_seen; i++)
                if (streq(flaky_seen[i], id))
                        first = false;
        if (first && n_flaky_seen < ELEMENTSOF(flaky_seen))
                snprintf(flaky_seen[n_flaky_seen++], sizeof(flaky_seen[0]), "%s", id);
        pthread_mutex_unlock(&server_lock);
        return first;
}

/* Holds the connection (its own thread) until the test is over. */
static void stall(void) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += STALL_CAP_SEC;
        pthread_mutex_lock(&server_lock);
        while (!released)
                if (pthread_cond_timedwait(&server_release, &server_lock, &until) != 0)
                        break;
        pthread_mutex_unlock(&server_lock);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **state) {
        static char big[BIG_SIZE];

        if (streq(method, "POST")) {
                Upload *u = *state;

                if (!u) {
                        *state = calloc(1, sizeof(Upload));
                        return *state ? MHD_YES : MHD_NO;
                }
                if (*upload_size > 0) {
                        size_t n = *upload_size < sizeof(u->data) - u->size ? *upload_size
                                                                             : sizeof(u->data) - u->size;
                        memcpy(u->data + u->size, upload_data, n);
                        u->size += n;
                        *upload_size = 0;
                        return MHD_YES;
                }
                return reply(conn, 200, u->data, u->size, NULL, NULL);
        }
        if (streq(url, "/ok"))
                return reply(conn, 200, "hello", 5, "X-Chain", "abc%20def");
        if (streq(url, "/missing")) {
                pthread_mutex_lock(&server_lock);
                hits_missing++;
                pthread_mutex_unlock(&server_lock);
                return reply(conn, 404, "", 0, NULL, NULL);
        }
        if (strncmp(url, "/flaky/", 7) == 0) {
                if (flaky_first(url + 7))
                        return reply(conn, 503, "", 0, "Retry-After", "1");
                return reply(conn, 200, "recovered", 9, NULL, NULL);
        }
        if (streq(url, "/big")) {
                memset(big, 'x', sizeof(big));
                return reply(conn, 200, big, sizeof(big), NULL, NULL);
        }
        if (streq(url, "/stall")) {
                stall();
                return reply(conn, 200, "late", 4, NULL, NULL);
        }
        return reply(conn, 400, "", 0, NULL, NULL);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **state,
                              enum MHD_RequestTerminationCode code) {
        free(*state);
        *state = NULL;
}

static int server_start(void **unused) {
        const union MHD_DaemonInfo *info;

        server = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                          MHD_USE_ERROR_LOG,
                                  0, NULL, NULL, handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, request_completed,
                                  NULL, MHD_OPTION_SOCK_ADDR,
                                  &(struct sockaddr_in) { .sin_family = AF_INET,
                                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
                                  MHD_OPTION_END);
        if (!server)
                return -1;
        info = MHD_get_daemon_info(server, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || info->port == 0)
                return -1;
        server_port = info->port;
        return 0;
}

static int server_stop(void **unused) {
        pthread_mutex_lock(&server_lock);
        released = true;
        pthread_cond_broadcast(&server_release);
        pthread_mutex_unlock(&server_lock);
        MHD_stop_daemon(server);
        return 0;
}

static char *url_for(const char *path) {
        char *u = strdup_printf("http://127.0.0.1:%d%s", server_port, path);

        assert_non_null(u);
        return u;
}

/* A fresh /flaky/<id>, so that every case gets its own first 503. */
static char *flaky_url(void) {
        static unsigned n;
        char path[32];

        snprintf(path, sizeof(path), "/flaky/%u", ++n);
        return url_for(path);
}

/* ---- running requests with either driver ---- */

typedef enum Driver {
        DRIVER_BLOCKING,
        DRIVER_EVENT,
} Driver;

typedef struct Job {
        HttpResult result;
        char progress[256];
        bool done;
        size_t pending_when_done; /* other transfers still in flight when this one ended */
        HttpMulti *multi;
        size_t *n_left;
        sd_event *event;
} Job;

static void on_progress(void *userdata, const char *message) {
        Job *j = userdata;

        snprintf(j->progress, sizeof(j->progress), "%s", message);
}

static void on_done(HttpTransfer *t, HttpResult *result, void *userdata) {
        Job *j = userdata;

        assert_false(j->done);
        j->done = true;
        j->result = *result;
        *result = (HttpResult) {};
        j->pending_when_done = http_multi_pending(j->multi);
        if (--*j->n_left == 0 && j->event)
                assert_true(sd_event_exit(j->event, 0) >= 0);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        unsigned *ticks = userdata;

        (*ticks)++;
        assert_true(sd_event_source_set_time_relative(s, 20 * 1000) >= 0);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        fail_msg("the loop ran for 30 s: a transfer never ended");
        return 0;
}

/* Runs the n requests at once and waits for all of them. With DRIVER_EVENT, the loop also runs
 * a 20 ms timer of its own; returns how often it ticked. */
static unsigned run_jobs(Driver d, HttpRequest *reqs, Job *jobs, size_t n) {
        _cleanup_(http_multi_freep) HttpMulti *m = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *tick = NULL, *watchdog = NULL;
        size_t n_left = n;
        unsigned ticks = 0;

        if (d == DRIVER_BLOCKING && n == 1) {
                /* the public one-shot entry point */
                reqs[0].options.progress = on_progress;
                reqs[0].options.userdata = &jobs[0];
                (void) http_request(&reqs[0], &jobs[0].result);
                jobs[0].done = true;
                return 0;
        }
        if (d == DRIVER_EVENT) {
                assert_true(sd_event_new(&e) >= 0);
                assert_int_equal(http_multi_new_event(e, &m), 0);
                assert_true(sd_event_add_time_relative(e, &tick, CLOCK_MONOTONIC, 20 * 1000, 1, on_tick, &ticks) >= 0);
                assert_true(sd_event_add_time_relative(e, &watchdog, CLOCK_MONOTONIC, 30 * 1000000ULL, 0, on_watchdog,
                                                       NULL) >= 0);
        } else
                assert_int_equal(http_multi_new(&m), 0);

        for (size_t i = 0; i < n; i++) {
                jobs[i].multi = m;
                jobs[i].n_left = &n_left;
                jobs[i].event = e;
                reqs[i].options.progress = on_progress;
                reqs[i].options.userdata = &jobs[i];
                assert_int_equal(http_multi_start(m, &reqs[i], on_done, &jobs[i], NULL), 0);
        }
        assert_int_equal(http_multi_pending(m), n);
        if (d == DRIVER_EVENT)
                assert_int_equal(sd_event_loop(e), 0);
        else
                assert_int_equal(http_multi_run(m), 0);
        assert_int_equal(n_left, 0);
        assert_int_equal(http_multi_pending(m), 0);
        return ticks;
}

static void run_one(Driver d, HttpRequest *req, Job *job) {
        (void) run_jobs(d, req, job, 1);
        assert_true(job->done);
}

static void jobs_done(Job *jobs, size_t n) {
        for (size_t i = 0; i < n; i++)
                http_result_done(&jobs[i].result);
}

/* ---- each outcome ---- */

static void check_success(const Job *j) {
        assert_int_equal(j->result.error, 0);
        assert_null(j->result.error_message);
        assert_int_equal(j->result.status, 200);
        assert_int_equal(j->result.body_size, 5);
        assert_string_equal((char *) j->result.body, "hello");
        assert_int_equal(j->result.attempts, 1);
}

static void check_404(const Job *j) {
        assert_int_equal(j->result.error, -ENOENT);
        assert_int_equal(j->result.status, 404);
        assert_int_equal(j->result.attempts, 1);
        assert_null(j->result.body);
        assert_non_null(strstr(j->result.error_message, "/missing"));
        assert_non_null(strstr(j->result.error_message, "404"));
        assert_string_equal(j->progress, "");
}

static void check_retry_after(const Job *j) {
        assert_int_equal(j->result.error, 0);
        assert_int_equal(j->result.status, 200);
        assert_string_equal((char *) j->result.body, "recovered");
        assert_int_equal(j->result.attempts, 2);
        assert_int_equal(j->result.retry_after_usec, 1000000);
        /* the server's 1 s, not the 10 ms backoff the options ask for */
        assert_non_null(strstr(j->progress, "answered 503 Service Unavailable; retrying in 1 s (attempt 2 of 4)"));
}

static void check_too_big(const Job *j) {
        assert_int_equal(j->result.error, -EFBIG);
        assert_null(j->result.body);
        assert_non_null(strstr(j->result.error_message, "larger than 100 bytes"));
}

static void check_headers(const Job *j) {
        assert_int_equal(j->result.error, 0);
        assert_int_equal(j->result.n_header_values, 2);
        assert_string_equal(j->result.header_values[0], "abc%20def");
        assert_null(j->result.header_values[1]);
}

static void check_deadline(const Job *j) {
        assert_int_equal(j->result.error, -ETIMEDOUT);
        assert_null(j->result.body);
        assert_non_null(strstr(j->result.error_message, "/stall"));
        assert_non_null(strstr(j->result.error_message, "deadline"));
}

static const char *const want_headers[] = { "X-Chain", "X-Absent" };

static void test_success(void **state) {
        for (Driver d = 0; d <= DRIVER_EVENT; d++) {
                _cleanup_free_ char *url = url_for("/ok");
                HttpRequest req = { .url = url };
                Job job = {};

                run_one(d, &req, &job);
                check_success(&job);
                jobs_done(&job, 1);
        }
}

static void test_404_is_final(void **state) {
        for (Driver d = 0; d <= DRIVER_EVENT; d++) {
                _cleanup_free_ char *url = url_for("/missing");
                HttpRequest req = { .url = url, .options.backoff_initial_ms = 10 };
                Job job = {};

                hits_missing = 0;
                run_one(d, &req, &job);
                check_404(&job);
                assert_int_equal(hits_missing, 1);
                jobs_done(&job, 1);
        }
}

static void test_retry_after(void **state) {
        for (Driver d = 0; d <= DRIVER_EVENT; d++) {
                _cleanup_free_ char *url = flaky_url();
                HttpRequest req = { .url = url, .options.backoff_initial_ms = 10 };
                Job job = {};

                run_one(d, &req, &job);
                check_retry_after(&job);
                jobs_done(&job, 1);
        }
}

static void test_body_too_big(void **state) {
        for (Driver d = 0; d <= DRIVER_EVENT; d++) {
                _cleanup_free_ char *url = url_for("/big");
                HttpRequest req = { .url = url, .options.max_body = 100 };
                Job job = {};

                run_one(d, &req, &job);
                check_too_big(&job);
                jobs_done(&job, 1);
        }
}

static void test_headers(void **state) {
        for (Driver d = 0; d <= DRIVER_EVENT; d++) {
                _cleanup_free_ char *url = url_for("/ok");
                HttpRequest req = { .url = url, .want_headers = want_headers, .n_want_headers = 2 };
                Job job = {};

                run_one(d, &req, &job);
                check_success(&job);
                check_headers(&job);
                jobs_done(&job, 1);
        }
}

static void test_post(void **state) {
        for (Driver d = 0; d <= DRIVER_EVENT; d++) {
                _cleanup_free_ char *url = url_for("/echo");
                HttpRequest req = {
                        .method = HTTP_METHOD_POST,
                        .url = url,
                        .content_type = "application/ocsp-request",
                        .body = "ping",
                        .body_size = 4,
                };
                Job job = {};

                run_one(d, &req, &job);
                assert_int_equal(job.result.error, 0);
                assert_int_equal(job.result.body_size, 4);
                assert_string_equal((char *) job.result.body, "ping");
                jobs_done(&job, 1);
        }
}

static void test_deadline(void **state) {
        for (Driver d = 0; d <= DRIVER_EVENT; d++) {
                _cleanup_free_ char *url = url_for("/stall");
                HttpRequest req = { .url = url, .options.deadline_usec = 200 * 1000 };
                Job job = {};

                run_one(d, &req, &job);
                check_deadline(&job);
                jobs_done(&job, 1);
        }
}

static void test_refuses_other_schemes(void **state) {
        HttpRequest req = { .url = "file:///etc/passwd" };
        _cleanup_(http_result_done) HttpResult res = {};
        _cleanup_(http_multi_freep) HttpMulti *m = NULL;

        assert_int_equal(http_request(&req, &res), -EPROTONOSUPPORT);
        assert_non_null(strstr(res.error_message, "only http:// and https://"));
        assert_int_equal(http_multi_new(&m), 0);
        assert_int_equal(http_multi_start(m, &req, on_done, NULL, NULL), -EPROTONOSUPPORT);
        assert_int_equal(http_multi_pending(m), 0);
}

/* Six requests in flight at once: the stalled one's deadline fires while the 503 is still
 * waiting out its Retry-After, and every other outcome is what it is alone. */
static void test_many_at_once(void **state) {
        for (Driver d = 0; d <= DRIVER_EVENT; d++) {
                _cleanup_free_ char *ok = url_for("/ok"), *missing = url_for("/missing"), *flaky = flaky_url(),
                                    *big = url_for("/big"), *stalled = url_for("/stall");
                HttpRequest reqs[] = {
                        { .url = ok },
                        { .url = missing, .options.backoff_initial_ms = 10 },
                        { .url = flaky, .options.backoff_initial_ms = 10 },
                        { .url = big, .options.max_body = 100 },
                        { .url = ok, .want_headers = want_headers, .n_want_headers = 2 },
                        { .url = stalled, .options.deadline_usec = 300 * 1000 },
                };
                Job jobs[ELEMENTSOF(reqs)] = {};
                unsigned ticks;

                ticks = run_jobs(d, reqs, jobs, ELEMENTSOF(reqs));
                check_success(&jobs[0]);
                check_404(&jobs[1]);
                check_retry_after(&jobs[2]);
                check_too_big(&jobs[3]);
                check_headers(&jobs[4]);
                check_deadline(&jobs[5]);
                /* the deadline fired mid-flight: the flaky request was still waiting */
                assert_true(jobs[5].pending_when_done > 0);
                if (d == DRIVER_EVENT)
                        assert_true(ticks > 0); /* the loop served its own timer meanwhile */
                jobs_done(jobs, ELEMENTSOF(jobs));
        }
}

/* A transfer cancelled, and one left running when its HttpMulti is freed: neither calls back,
 * nothing leaks (the sanitizer build checks). */
static void test_cancel(void **state) {
        _cleanup_free_ char *stalled = url_for("/stall"), *ok = url_for("/ok");
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        HttpMulti *m = NULL;
        HttpTransfer *t = NULL;
        HttpRequest slow = { .url = stalled }, fast = { .url = ok };
        size_t n_left = 1;
        Job a = {}, b = {};

        assert_true(sd_event_new(&e) >= 0);
        assert_int_equal(http_multi_new_event(e, &m), 0);
        a = (Job) { .multi = m, .n_left = &n_left, .event = e };
        b = (Job) { .multi = m, .n_left = &n_left, .event = e };
        assert_int_equal(http_multi_start(m, &slow, on_done, &a, &t), 0);
        http_transfer_cancel(t);
        assert_int_equal(http_multi_start(m, &slow, on_done, &a, NULL), 0);
        assert_int_equal(http_multi_start(m, &fast, on_done, &b, NULL), 0);
        assert_int_equal(sd_event_loop(e), 0);
        check_success(&b);
        assert_false(a.done);
        assert_int_equal(http_multi_pending(m), 1);
        http_multi_free(m);
        jobs_done(&b, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_success),
                cmocka_unit_test(test_404_is_final),
                cmocka_unit_test(test_retry_after),
                cmocka_unit_test(test_body_too_big),
                cmocka_unit_test(test_headers),
                cmocka_unit_test(test_post),
                cmocka_unit_test(test_deadline),
                cmocka_unit_test(test_refuses_other_schemes),
                cmocka_unit_test(test_many_at_once),
                cmocka_unit_test(test_cancel),
        };

        return cmocka_run_group_tests(tests, server_start, server_stop);
}
