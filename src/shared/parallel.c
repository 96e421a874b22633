/* SPDX-License-Identifier: Apache-2.0 */
/* parallel_for() and parallel_beside() (include/cvm/parallel.h) on a persistent pool of helper
 * threads, started on first use and then parked on a condition variable: a board's verification
 * takes a few milliseconds, and starting threads for every call (clone, a fresh stack to fault
 * in, the scheduler placing a new task) was a visible share of it. One job runs on the pool at a
 * time; a call made while another holds the pool (another thread, or from inside a job) starts
 * threads of its own for that call, as before. Helpers are started with every signal blocked, so
 * signals keep going to the threads that wait for them (sd-event's signalfd). After fork() the
 * child has none of the parent's helpers: the atfork handler forgets them and the child starts
 * its own when it first needs them. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "cvm/parallel.h"

static unsigned workers_set; /* 0: default */

typedef struct Job {
        void (*fn)(void *userdata, size_t i);
        void *userdata;
        size_t n;
        size_t next; /* atomic: the next item to take */
} Job;

/* Takes items until none is left. */
static void run_items(Job *j) {
        for (;;) {
                size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
                if (i >= j->n)
                        return;
                j->fn(j->userdata, i);
        }
}

static void *run_thread(void *p) {
        run_items(p);
        return NULL;
}

/* ---- the pool ---- */

typedef struct Pool {
        pthread_mutex_t lock;
        pthread_cond_t wake; /* a job was posted */
        pthread_cond_t idle; /* the last helper left a job */
        Job *job;            /* the posted job; NULL when none or closed */
        unsigned seats;      /* helpers the posted job still takes */
        unsigned active;     /* helpers inside the job */
        unsigned n_threads;  /* helpers alive */
        bool busy;           /* a caller holds the pool */
        bool stopping;       /* the process exits: helpers leave */
} Pool;

static Pool pool = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
        .idle = PTHREAD_COND_INITIALIZER,
};
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_prepare(void) {
        pthread_mutex_lock(&pool.lock);
}

static void pool_parent(void) {
        pthread_mutex_unlock(&pool.lock);
}

/* The child has only the forking thread: no helpers, nobody inside a job. */
static void pool_child(void) {
        pool = (Pool) {
                .lock = PTHREAD_MUTEX_INITIALIZER,
                .wake = PTHREAD_COND_INITIALIZER,
                .idle = PTHREAD_COND_INITIALIZER,
        };
}

/* At exit the helpers leave, each freeing OpenSSL's per-thread state (its random generators)
 * on the way out: a parked thread would keep it past OpenSSL's own cleanup, and the leak
 * checker rightly reports that. Runs before OPENSSL_cleanup(), which was registered first. */
static void pool_shutdown(void) {
        pthread_mutex_lock(&pool.lock);
        pool.stopping = true;
        pthread_cond_broadcast(&pool.wake);
        while (pool.n_threads > 0)
                pthread_cond_wait(&pool.idle, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
}

static void atfork_setup(void) {
        (void) pthread_atfork(pool_prepare, pool_parent, pool_child);
        /* OpenSSL registers its exit handler when initialised: first, so that it runs after ours */
        (void) OPENSSL_init_crypto(0, NULL);
        (void) atexit(pool_shutdown);
}

static void *helper(void *unused) {
        pthread_mutex_lock(&pool.lock);
        for (;;) {
                Job *j;

                while (!pool.stopping && (!pool.job || pool.seats == 0))
                        pthread_cond_wait(&pool.wake, &pool.lock);
                if (pool.stopping)
                        break;
                j = pool.job;
                pool.seats--;
                pool.active++;
                pthread_mutex_unlock(&pool.lock);
                run_items(j);
                pthread_mutex_lock(&pool.lock);
                if (--pool.active == 0)
                        pthread_cond_broadcast(&pool.idle);
        }
        /* OpenSSL's state of this thread is freed before the exit handler may go on */
        pthread_mutex_unlock(&pool.lock);
        OPENSSL_thread_stop();
        pthread_mutex_lock(&pool.lock);
        pool.n_threads--;
        pthread_cond_broadcast(&pool.idle);
        pthread_mutex_unlock(&pool.lock);
        return NULL;
}

/* Starts a thread running fn(arg) with every signal blocked; false when it cannot. */
static bool start_thread(pthread_t *ret, void *(*fn)(void *), void *arg) {
        sigset_t all, old;
        bool ok;

        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, &old);
        ok = pthread_create(ret, NULL, fn, arg) == 0;
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        return ok;
}

/* Takes the pool for a job wanting `helpers` helpers, starting any missing; false when another
 * caller holds it or no helper can be had. */
static bool pool_acquire(unsigned helpers) {
        (void) pthread_once(&atfork_once, atfork_setup);
        pthread_mutex_lock(&pool.lock);
        if (pool.busy || pool.stopping) {
                pthread_mutex_unlock(&pool.lock);
                return false;
        }
        while (pool.n_threads < helpers) {
                pthread_t t;

                if (!start_thread(&t, helper, NULL))
                        break;
                (void) pthread_detach(t);
                pool.n_threads++;
        }
        if (pool.n_threads == 0) {
                pthread_mutex_unlock(&pool.lock);
                return false;
        }
        pool.busy = true;
        pthread_mutex_unlock(&pool.lock);
        return true;
}

static void pool_post(Job *j, unsigned helpers) {
        pthread_mutex_lock(&pool.lock);
        pool.job = j;
        pool.seats = helpers < pool.n_threads ? helpers : pool.n_threads;
        if (pool.seats == 1)
                pthread_cond_signal(&pool.wake);
        else
                pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
}

/* Closes the job to latecomers, waits for the helpers inside it, gives the pool back. */
static void pool_finish(void) {
        pthread_mutex_lock(&pool.lock);
        pool.job = NULL;
        pool.seats = 0;
        while (pool.active > 0)
                pthread_cond_wait(&pool.idle, &pool.lock);
        pool.busy = false;
        pthread_mutex_unlock(&pool.lock);
}

/* ---- the interface ---- */

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

/* Threads of this call's own, for when the pool is taken. */
static void for_with_own_threads(Job *job, size_t helpers) {
        pthread_t threads[PARALLEL_WORKERS_MAX];
        size_t started = 0;

        for (size_t t = 0; t < helpers; t++) {
                if (!start_thread(&threads[started], run_thread, job))
                        break;
                started++;
        }
        run_items(job);
        for (size_t t = 0; t < started; t++)
                (void) pthread_join(threads[t], NULL);
}

void parallel_for(size_t n, void (*fn)(void *userdata, size_t i), void *userdata) {
        Job job = { .fn = fn, .userdata = userdata, .n = n };
        size_t want = parallel_workers();

        if (want > n)
                want = n;
        if (want <= 1) {
                run_items(&job);
                return;
        }
        /* the calling thread is one of the workers */
        if (!pool_acquire((unsigned) want - 1)) {
                for_with_own_threads(&job, want - 1);
                return;
        }
        pool_post(&job, (unsigned) want - 1);
        run_items(&job);
        pool_finish();
}

typedef struct Beside {
        void (*fn)(void *data);
        void *data;
} Beside;

static void run_beside(void *p, size_t i) {
        Beside *b = p;

        b->fn(b->data);
}

static void *run_beside_thread(void *p) {
        run_beside(p, 0);
        return NULL;
}

void parallel_beside(void (*fg)(void *fg_data), void *fg_data, void (*bg)(void *bg_data), void *bg_data) {
        Beside b = { .fn = bg, .data = bg_data };
        Job job = { .fn = run_beside, .userdata = &b, .n = 1 };
        pthread_t t;
        bool pooled = false, started = false;

        if (bg && parallel_workers() > 1) {
                pooled = pool_acquire(1);
                if (pooled)
                        pool_post(&job, 1);
                else
                        started = start_thread(&t, run_beside_thread, &b);
        }
        fg(fg_data);
        /* bg only fills caches: when no helper took it up while fg ran, it is skipped */
        if (pooled)
                pool_finish();
        if (started)
                (void) pthread_join(t, NULL);
}
