/* SPDX-License-Identifier: Apache-2.0 */
/* Authorisation by polkit, for callers who are neither root nor in the cvmd group.
 *
 * A method handler must not block the loop on polkit, so the check is asynchronous: the first
 * call asks polkitd (CheckAuthorization, subject = the caller's unique bus name, so that polkit
 * reads the caller's identity from the bus, never from the caller) and the handler returns
 * without a reply. When polkit answers, the same message is queued for dispatch again
 * (sd_bus_enqueue_for_read()), the handler runs a second time and finds the answer here. Where
 * polkit is not installed or does not answer, the caller is refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cvmd-internal.h"
#include "polkit.h"

/* Callers waiting for polkit at once; beyond it, refused rather than queued without bound. */
#define POLKIT_PENDING_MAX 256u

typedef enum QueryState {
        QUERY_PENDING,
        QUERY_ALLOWED,
        QUERY_DENIED,
        QUERY_FAILED, /* polkit did not answer: not installed, or an error */
} QueryState;

typedef struct PolkitQuery PolkitQuery;
struct PolkitQuery {
        Polkit *owner;
        sd_bus_message *request; /* the method call waiting for the answer */
        sd_bus_slot *slot;       /* the CheckAuthorization call in flight */
        char *action;
        QueryState state;
        char *failure; /* QUERY_FAILED: polkit's error, for the refusal's message */
        PolkitQuery *next;
};

struct Polkit {
        PolkitQuery *queries;
        unsigned n_queries;
};

int polkit_new(Polkit **ret) {
        *ret = calloc(1, sizeof(Polkit));
        return *ret ? 0 : -ENOMEM;
}

static void query_free(PolkitQuery *q) {
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->action);
        free(q->failure);
        free(q);
}

static void query_unlink(PolkitQuery *q) {
        Polkit *p = q->owner;

        for (PolkitQuery **i = &p->queries; *i; i = &(*i)->next)
                if (*i == q) {
                        *i = q->next;
                        p->n_queries--;
                        return;
                }
}

Polkit *polkit_free(Polkit *p) {
        if (!p)
                return NULL;
        while (p->queries) {
                PolkitQuery *q = p->queries;
                p->queries = q->next;
                query_free(q);
        }
        free(p);
        return NULL;
}

static int on_authority_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, r;

        q->slot = sd_bus_slot_unref(q->slot);
        if (e) {
                q->state = QUERY_FAILED;
                q->failure = strdup(e->message ? e->message : e->name);
        } else {
                /* (bba{ss}): is_authorized, is_challenge, details; only the first decides */
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        q->state = QUERY_FAILED;
                        q->failure = strdup("polkit's answer could not be read");
                } else
                        q->state = authorized ? QUERY_ALLOWED : QUERY_DENIED;
        }
        /* run the method again; it finds this answer */
        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                query_unlink(q);
                query_free(q);
        }
        return 0;
}

static PolkitQuery *query_find(Polkit *p, sd_bus_message *msg) {
        for (PolkitQuery *q = p->queries; q; q = q->next)
                if (q->request == msg)
                        return q;
        return NULL;
}

static int start_query(Polkit *p, sd_bus_message *msg, const char *action, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(msg);
        PolkitQuery *q;
        int r;

        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "cvmd: the caller has no bus name");
        if (p->n_queries >= POLKIT_PENDING_MAX)
                return sd_bus_error_set(error, "org.cvmd.Error.Busy",
                                        "cvmd: too many callers are waiting for polkit; try again later");
        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->owner = p;
        q->request = sd_bus_message_ref(msg);
        q->action = strdup(action);
        if (!q->action) {
                query_free(q);
                return -ENOMEM;
        }
        /* flags: 1 = AllowUserInteraction, only when the caller said it can answer a prompt */
        r = sd_bus_call_method_async(sd_bus_message_get_bus(msg), &q->slot, "org.freedesktop.PolicyKit1",
                                     "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority",
                                     "CheckAuthorization", on_authority_reply, q, "(sa{sv})sa{ss}us", "system-bus-name",
                                     1, "name", "s", sender, action, 0,
                                     (uint32_t) (sd_bus_message_get_allow_interactive_authorization(msg) > 0), "");
        if (r < 0) {
                query_free(q);
                return sd_bus_error_set_errnof(error, r, "cvmd: cannot ask polkit");
        }
        q->next = p->queries;
        p->queries = q;
        p->n_queries++;
        return 0;
}

int polkit_check(Polkit *p, sd_bus_message *msg, const char *action, sd_bus_error *error) {
        PolkitQuery *q = query_find(p, msg);
        int r;

        if (!q)
                return start_query(p, msg, action, error);
        if (q->state == QUERY_PENDING) /* dispatched again before the answer: keep waiting */
                return 0;
        query_unlink(q);
        switch (q->state) {
        case QUERY_ALLOWED:
                r = sd_bus_message_rewind(msg, true) < 0 ? -EIO : 1; /* read from the start again */
                break;
        case QUERY_DENIED:
                r = sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                      "cvmd: callers must be root or in the cvmd group, or authorised by polkit for %s",
                                      action);
                break;
        default:
                r = sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                      "cvmd: callers must be root or in the cvmd group (polkit did not answer: %s)",
                                      q->failure ? q->failure : "unknown error");
                break;
        }
        query_free(q);
        return r;
}
