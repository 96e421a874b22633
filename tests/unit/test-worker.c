/* SPDX-License-Identifier: Apache-2.0 */
/* The worker thread (src/shared/worker.c): jobs run in order on its thread and complete on the
 * loop; worker_busy_usec() tells a job that is running (and for how long) from an idle worker,
 * which is what cvmd's choice among its workers rests on (a hung job's worker is passed over);
 * one worker hung in a job does not hold another's jobs. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "cvm/worker.h"

typedef struct Gate {
        int fds[2]; /* the job blocks reading fds[0] until the test writes fds[1] */
        pthread_t thread;
        int order, done_order, result;
} Gate;

static int seq;

static int job_wait_gate(void *userdata) {
        Gate *g = userdata;
        char c;

        g->thread = pthread_self();
        return read(g->fds[0], &c, 1) == 1 ? 7 : -5;
}

static int job_record(void *userdata) {
        Gate *g = userdata;

        g->thread = pthread_self();
        g->order = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
        return 0;
}

static void on_done(int r, void *userdata) {
        Gate *g = userdata;

        g->result = r;
        g->done_order = ++seq;
}

static void run_until_done(sd_event *e, const Gate *g) {
        for (int i = 0; i < 500 && g->done_order == 0; i++)
                assert_true(sd_event_run(e, 10000) >= 0);
        assert_true(g->done_order > 0);
}

static void test_busy_and_order(void **state) {
        sd_event *e = NULL;
        Worker *w = NULL;
        Gate hung = {}, next = {};

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(worker_new(e, &w), 0);
        assert_int_equal(pipe(hung.fds), 0);
        assert_int_equal(worker_busy_usec(w), 0);
        assert_int_equal(worker_submit(w, job_wait_gate, on_done, &hung), 0);
        assert_int_equal(worker_submit(w, job_record, on_done, &next), 0);
        assert_int_equal(worker_pending(w), 2);
        for (int i = 0; i < 500 && worker_busy_usec(w) < 40000; i++)
                usleep(10000);
        /* the first job runs and blocks; the second waits behind it, in order */
        assert_true(worker_busy_usec(w) >= 40000);
        assert_int_equal(next.order, 0);
        assert_int_equal(write(hung.fds[1], "x", 1), 1);
        run_until_done(e, &hung);
        run_until_done(e, &next);
        assert_int_equal(hung.result, 7);
        assert_true(hung.done_order < next.done_order);
        assert_int_equal(worker_pending(w), 0);
        assert_int_equal(worker_busy_usec(w), 0);
        assert_true(pthread_equal(hung.thread, next.thread));
        worker_free(w);
        sd_event_unref(e);
        close(hung.fds[0]);
        close(hung.fds[1]);
}

/* A job hung on one worker holds that worker only: another worker's job completes meanwhile. */
static void test_hung_worker_holds_only_itself(void **state) {
        sd_event *e = NULL;
        Worker *a = NULL, *b = NULL;
        Gate hung = {}, other = {};

        seq = 0;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(worker_new(e, &a), 0);
        assert_int_equal(worker_new(e, &b), 0);
        assert_int_equal(pipe(hung.fds), 0);
        assert_int_equal(worker_submit(a, job_wait_gate, on_done, &hung), 0);
        assert_int_equal(worker_submit(b, job_record, on_done, &other), 0);
        for (int i = 0; i < 500 && worker_busy_usec(a) == 0; i++)
                usleep(10000);
        assert_true(worker_busy_usec(a) > 0);
        run_until_done(e, &other);
        assert_int_equal(hung.done_order, 0);
        assert_int_equal(worker_busy_usec(b), 0);
        assert_int_equal(write(hung.fds[1], "x", 1), 1);
        run_until_done(e, &hung);
        assert_false(pthread_equal(hung.thread, other.thread));
        worker_free(a);
        worker_free(b);
        sd_event_unref(e);
        close(hung.fds[0]);
        close(hung.fds[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_busy_and_order),
                cmocka_unit_test(test_hung_worker_holds_only_itself),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
