/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Small cleanup and utility macros. libsystemd 252 does not export its own, so we keep ours. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Defines fn##p(type *p) that calls fn(*p) when *p is non-NULL; for use with _cleanup_(). */
#define DEFINE_CLEANUP(type, fn)                                                                   \
        static inline void fn##p(type *p) {                                                        \
                if (*p)                                                                            \
                        (void) fn(*p);                                                             \
        }

/* Hands the value of a cleanup variable to the caller and leaves NULL behind. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) *_pp = &(p), _v = *_pp;                                             \
                *_pp = NULL;                                                                       \
                _v;                                                                                \
        })

static inline bool streq_ptr(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline char *mfree_str(char *p) {
        free(p);
        return NULL;
}
