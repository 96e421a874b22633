/* SPDX-License-Identifier: Apache-2.0 */
/* One thread for blocking calls; completions come back to the event loop through an eventfd. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cvm/worker.h"

typedef struct Job {
        WorkerJobFn fn;
        WorkerDoneFn done;
        void *userdata;
        int result;
        struct Job *next;
} Job;

/* A FIFO of jobs; both queues are guarded by the worker's mutex. */
typedef struct JobQueue {
        Job *head, *tail;
} JobQueue;

struct Worker {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        JobQueue todo, finished;
        bool stopping, started;
        unsigned pending;
        uint64_t running_since_usec; /* CLOCK_MONOTONIC: when the job now running started; 0: idle */
        int efd;
        sd_event_source *source;
};

static void queue_push(JobQueue *q, Job *j) {
        j->next = NULL;
        if (q->tail)
                q->tail->next = j;
        else
                q->head = j;
        q->tail = j;
}

static Job *queue_pop(JobQueue *q) {
        Job *j = q->head;

        if (j) {
                q->head = j->next;
                if (!q->head)
                        q->tail = NULL;
        }
        return j;
}

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u + 1u; /* never 0 */
}

static void *worker_main(void *p) {
        Worker *w = p;
        uint64_t one = 1;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                Job *j;

                while (!w->stopping && !w->todo.head)
                        pthread_cond_wait(&w->wake, &w->lock);
                if (w->stopping)
                        break;
                j = queue_pop(&w->todo);
                w->running_since_usec = monotonic_usec();
                pthread_mutex_unlock(&w->lock);
                j->result = j->fn(j->userdata);
                pthread_mutex_lock(&w->lock);
                w->running_since_usec = 0;
                queue_push(&w->finished, j);
                /* an eventfd write of 1 cannot fail short of a counter overflow */
                (void) !write(w->efd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

/* On the loop: hand every finished job to its done callback, outside the lock. */
static int on_finished(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Worker *w = userdata;
        uint64_t n;
        JobQueue done;

        (void) !read(w->efd, &n, sizeof(n));
        pthread_mutex_lock(&w->lock);
        done = w->finished;
        w->finished = (JobQueue) {};
        pthread_mutex_unlock(&w->lock);
        for (Job *j; (j = queue_pop(&done));) {
                w->pending--;
                if (j->done)
                        j->done(j->result, j->userdata);
                free(j);
        }
        return 0;
}

int worker_new(sd_event *e, Worker **ret) {
        Worker *w = calloc(1, sizeof(Worker));
        int r;

        if (!w)
                return -ENOMEM;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);
        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0) {
                r = -errno;
                worker_free(w);
                return r;
        }
        r = sd_event_add_io(e, &w->source, w->efd, EPOLLIN, on_finished, w);
        if (r < 0) {
                worker_free(w);
                return r;
        }
        r = -pthread_create(&w->thread, NULL, worker_main, w);
        if (r < 0) {
                worker_free(w);
                return r;
        }
        w->started = true;
        *ret = w;
        return 0;
}

Worker *worker_free(Worker *w) {
        JobQueue left;

        if (!w)
                return NULL;
        if (w->started) {
                pthread_mutex_lock(&w->lock);
                w->stopping = true;
                pthread_cond_signal(&w->wake);
                pthread_mutex_unlock(&w->lock);
                pthread_join(w->thread, NULL);
        }
        /* The owner is going away with everything its callbacks would touch: drop what is left. */
        left = w->finished;
        for (Job *j; (j = queue_pop(&w->todo));)
                queue_push(&left, j);
        for (Job *j; (j = queue_pop(&left));)
                free(j);
        sd_event_source_disable_unref(w->source);
        if (w->efd >= 0)
                close(w->efd);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
}

int worker_submit(Worker *w, WorkerJobFn fn, WorkerDoneFn done, void *userdata) {
        Job *j = calloc(1, sizeof(Job));

        if (!j)
                return -ENOMEM;
        *j = (Job) { .fn = fn, .done = done, .userdata = userdata };
        pthread_mutex_lock(&w->lock);
        queue_push(&w->todo, j);
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        w->pending++;
        return 0;
}

unsigned worker_pending(const Worker *w) {
        return w->pending;
}

uint64_t worker_busy_usec(Worker *w) {
        uint64_t since;

        pthread_mutex_lock(&w->lock);
        since = w->running_since_usec;
        pthread_mutex_unlock(&w->lock);
        return since ? monotonic_usec() - since : 0;
}
