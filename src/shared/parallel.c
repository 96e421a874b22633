/* SPDX-License-Identifier: Apache-2.0 */
/* parallel_for() (include/cvm/parallel.h): a pool of threads started for the call, taking items
 * from a shared counter. The work it runs (several ECDSA P-384 verifications, path validation)
 * takes milliseconds, against tens of microseconds to start a thread, and threads that live
 * only for the call leave nothing behind across fork() in the daemon. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "cvm/parallel.h"

static unsigned workers_set; /* 0: default */

typedef struct Job {
        void (*fn)(void *userdata, size_t i);
        void *userdata;
        size_t n;
        size_t next; /* atomic */
} Job;

static void *run(void *p) {
        Job *j = p;

        for (;;) {
                size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
                if (i >= j->n)
                        return NULL;
                j->fn(j->userdata, i);
        }
}

unsigned parallel_workers(void) {
        unsigned set = __atomic_load_n(&workers_set, __ATOMIC_RELAXED);
        const char *e;
        long n;

        if (set > 0)
                return set;
        e = secure_getenv("CVM_WORKERS");
        if (e && *e) {
                char *end;
                n = strtol(e, &end, 10);
                if (*end == 0 && n >= 1)
                        return n > (long) PARALLEL_WORKERS_MAX ? PARALLEL_WORKERS_MAX : (unsigned) n;
        }
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
                return 1;
        return n > (long) PARALLEL_WORKERS_MAX ? PARALLEL_WORKERS_MAX : (unsigned) n;
}

void parallel_set_workers(unsigned n) {
        __atomic_store_n(&workers_set, n > PARALLEL_WORKERS_MAX ? PARALLEL_WORKERS_MAX : n, __ATOMIC_RELAXED);
}

void parallel_for(size_t n, void (*fn)(void *userdata, size_t i), void *userdata) {
        Job job = { .fn = fn, .userdata = userdata, .n = n };
        pthread_t threads[PARALLEL_WORKERS_MAX];
        size_t want = parallel_workers(), started = 0;

        if (want > n)
                want = n;
        /* the calling thread is one of the workers */
        for (size_t t = 1; t < want; t++) {
                if (pthread_create(&threads[started], NULL, run, &job) != 0)
                        break;
                started++;
        }
        (void) run(&job);
        for (size_t t = 0; t < started; t++)
                (void) pthread_join(threads[t], NULL);
}

typedef struct Beside {
        void (*fn)(void *data);
        void *data;
} Beside;

static void *run_beside(void *p) {
        Beside *b = p;

        b->fn(b->data);
        return NULL;
}

void parallel_beside(void (*fg)(void *fg_data), void *fg_data, void (*bg)(void *bg_data), void *bg_data) {
        Beside b = { .fn = bg, .data = bg_data };
        pthread_t t;
        bool started = bg && parallel_workers() > 1 && pthread_create(&t, NULL, run_beside, &b) == 0;

        fg(fg_data);
        if (started)
                (void) pthread_join(t, NULL);
}
