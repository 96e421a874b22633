/* SPDX-License-Identifier: Apache-2.0 */
/* parallel_for() and parallel_beside() on the persistent helper pool (src/shared/parallel.c):
 * every item runs exactly once whatever the number of workers; calls from inside an item and
 * from several threads at once complete (the pool is taken by one, the others start threads of
 * their own); a child forked after the pool started gets a pool of its own; helpers do not take
 * the signals the caller blocks for signalfd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/parallel.h"

#define ITEMS_MAX 64

typedef struct Count {
        unsigned hits[ITEMS_MAX];
        pthread_t who[ITEMS_MAX];
} Count;

static void count(void *userdata, size_t i) {
        Count *c = userdata;

        __atomic_add_fetch(&c->hits[i], 1, __ATOMIC_RELAXED);
        c->who[i] = pthread_self();
}

static void check_once(const Count *c, size_t n) {
        for (size_t i = 0; i < ITEMS_MAX; i++)
                assert_int_equal(c->hits[i], i < n ? 1 : 0);
}

static void test_every_item_once(void **state) {
        for (unsigned w = 1; w <= PARALLEL_WORKERS_MAX; w++) {
                parallel_set_workers(w);
                for (size_t n = 0; n <= ITEMS_MAX; n += (n < 10 ? 1 : 9)) {
                        Count c = {};
                        parallel_for(n, count, &c);
                        check_once(&c, n);
                }
        }
        parallel_set_workers(0);
}

/* Two items that wait (up to 2 s) for each other inside the job: they only meet when two
 * threads run them at the same time, so this proves a helper took one. */
typedef struct Meet {
        unsigned inside;
        bool met;
} Meet;

static void meet(void *userdata, size_t i) {
        Meet *m = userdata;

        __atomic_add_fetch(&m->inside, 1, __ATOMIC_SEQ_CST);
        for (unsigned k = 0; k < 2000 && __atomic_load_n(&m->inside, __ATOMIC_SEQ_CST) < 2; k++)
                usleep(1000);
        if (__atomic_load_n(&m->inside, __ATOMIC_SEQ_CST) >= 2)
                __atomic_store_n(&m->met, true, __ATOMIC_SEQ_CST);
        __atomic_sub_fetch(&m->inside, 1, __ATOMIC_SEQ_CST);
}

static void test_helpers_run_items(void **state) {
        parallel_set_workers(2);
        for (int round = 0; round < 3; round++) {
                Meet m = {};
                parallel_for(2, meet, &m);
                assert_true(m.met);
        }
        parallel_set_workers(0);
}

static void nested(void *userdata, size_t i) {
        Count *outer = userdata, inner = {};

        parallel_for(ITEMS_MAX, count, &inner);
        check_once(&inner, ITEMS_MAX);
        count(outer, i);
}

static void *nested_runner(void *p) {
        parallel_for(8, nested, p);
        return NULL;
}

static void test_nested_and_concurrent(void **state) {
        Count c = {};

        parallel_set_workers(4);
        parallel_for(8, nested, &c);
        check_once(&c, 8);
        {
                /* four threads calling at once: one holds the pool, the others use their own */
                pthread_t t[4];
                Count cs[4] = {};
                for (int k = 0; k < 4; k++)
                        assert_int_equal(pthread_create(&t[k], NULL, nested_runner, &cs[k]), 0);
                for (int k = 0; k < 4; k++) {
                        assert_int_equal(pthread_join(t[k], NULL), 0);
                        check_once(&cs[k], 8);
                }
        }
        parallel_set_workers(0);
}

static void test_fork_child_gets_own_pool(void **state) {
        Count c = {};
        pid_t pid;
        int status;

        parallel_set_workers(3);
        parallel_for(ITEMS_MAX, count, &c); /* the pool exists now */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                Meet m = {};
                Count cc = {};
                parallel_for(ITEMS_MAX, count, &cc);
                for (size_t i = 0; i < ITEMS_MAX; i++)
                        if (cc.hits[i] != 1)
                                _exit(1);
                parallel_set_workers(2);
                parallel_for(2, meet, &m);
                _exit(m.met ? 0 : 2);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        memset(&c, 0, sizeof(c));
        parallel_for(ITEMS_MAX, count, &c);
        check_once(&c, ITEMS_MAX);
        parallel_set_workers(0);
}

typedef struct SigSeen {
        pthread_t where;
        bool helper_ran, unblocked_in_helper;
} SigSeen;

/* Whether SIGUSR1 is blocked on a helper running the item (slow items: helpers get some). */
static void probe_mask(void *userdata, size_t i) {
        SigSeen *s = userdata;
        sigset_t cur;

        usleep(2000);
        if (pthread_equal(pthread_self(), s->where))
                return;
        __atomic_store_n(&s->helper_ran, true, __ATOMIC_SEQ_CST);
        (void) pthread_sigmask(SIG_BLOCK, NULL, &cur);
        if (!sigismember(&cur, SIGUSR1))
                __atomic_store_n(&s->unblocked_in_helper, true, __ATOMIC_SEQ_CST);
}

static void test_helpers_block_signals(void **state) {
        SigSeen s = { .where = pthread_self() };
        sigset_t none;
        Meet m = {};

        /* even started while the caller blocks nothing */
        sigemptyset(&none);
        assert_int_equal(pthread_sigmask(SIG_SETMASK, &none, NULL), 0);
        parallel_set_workers(2);
        parallel_for(2, meet, &m);
        assert_true(m.met);
        for (int k = 0; k < 50 && !__atomic_load_n(&s.helper_ran, __ATOMIC_SEQ_CST); k++)
                parallel_for(8, probe_mask, &s);
        assert_true(s.helper_ran);
        assert_false(s.unblocked_in_helper);
        parallel_set_workers(0);
}

static void fg_mark(void *p) {
        *(bool *) p = true;
}

static void test_beside(void **state) {
        bool fg = false, bg = false;

        parallel_set_workers(1);
        parallel_beside(fg_mark, &fg, fg_mark, &bg);
        assert_true(fg);
        assert_false(bg); /* one worker: bg is skipped */
        parallel_set_workers(2);
        fg = false;
        parallel_beside(fg_mark, &fg, NULL, NULL);
        assert_true(fg);
        parallel_set_workers(0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_item_once),
                cmocka_unit_test(test_helpers_run_items),
                cmocka_unit_test(test_nested_and_concurrent),
                cmocka_unit_test(test_fork_child_gets_own_pool),
                cmocka_unit_test(test_helpers_block_signals),
                cmocka_unit_test(test_beside),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
