/* SPDX-License-Identifier: Apache-2.0 */
/* libvirt lifecycle of cvmd's domains: transient create, find by metadata, destroy, events.
 * README.md "Lifecycle". */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/lifecycle.h"
#include "cvm/util.h"
#include "launcher-internal.h"

#define LIFECYCLE_NAMES_MAX 4096u

struct Lifecycle {
        virConnectPtr conn;
        int callback_id;
        LifecycleEventFn fn;
        void *userdata;
        char **known; /* names of domains known to carry cvmd's metadata */
        size_t n_known;
        char **stopping; /* names cvmd is destroying: their stop is expected */
        size_t n_stopping;
        unsigned delivered;
        bool timed_out;
        char *lock_path;   /* the host ledger's lock file; NULL: none */
        unsigned lock_timeout_sec;
        int lock_fd;       /* >= 0 while the ledger lock is held */
};

static const char *const event_names[_LIFECYCLE_EVENT_MAX] = {
        [LIFECYCLE_STARTED] = "started", [LIFECYCLE_STOPPED] = "stopped",  [LIFECYCLE_DIED] = "died",
        [LIFECYCLE_SUSPENDED] = "suspended", [LIFECYCLE_RESUMED] = "resumed", [LIFECYCLE_OTHER] = "other",
};

const char *lifecycle_event_to_string(LifecycleEventKind k) {
        return k >= 0 && k < _LIFECYCLE_EVENT_MAX ? event_names[k] : NULL;
}

static void error_sink(void *userdata, virErrorPtr e) {
}

/* ---- name sets ---- */

static bool names_has(char **v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], name))
                        return true;
        return false;
}

static int names_add(char ***v, size_t *n, const char *name) {
        char **a, *c;

        if (names_has(*v, *n, name))
                return 0;
        if (*n >= LIFECYCLE_NAMES_MAX)
                return -E2BIG;
        c = strdup(name);
        a = c ? reallocarray(*v, *n + 1, sizeof(char *)) : NULL;
        if (!a) {
                free(c);
                return -ENOMEM;
        }
        a[(*n)++] = c;
        *v = a;
        return 0;
}

static bool names_remove(char **v, size_t *n, const char *name) {
        for (size_t i = 0; i < *n; i++)
                if (streq(v[i], name)) {
                        free(v[i]);
                        memmove(v + i, v + i + 1, (*n - i - 1) * sizeof(char *));
                        (*n)--;
                        return true;
                }
        return false;
}

static void names_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* ---- events ---- */

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        Lifecycle *l = opaque;
        char uuid[VIR_UUID_STRING_BUFLEN] = "";
        const char *name = virDomainGetName(dom);
        LifecycleEvent e = {
                .name = name ? name : "",
                .uuid = uuid,
                .libvirt_event = event,
                .libvirt_detail = detail,
        };

        (void) virDomainGetUUIDString(dom, uuid);
        e.cvmd_domain = names_has(l->known, l->n_known, e.name);
        switch (event) {
        case VIR_DOMAIN_EVENT_STARTED:
                e.kind = LIFECYCLE_STARTED;
                break;
        case VIR_DOMAIN_EVENT_STOPPED:
        case VIR_DOMAIN_EVENT_CRASHED:
                /* only a stop cvmd asked for is expected; anything else is a death */
                e.kind = names_remove(l->stopping, &l->n_stopping, e.name) && event == VIR_DOMAIN_EVENT_STOPPED
                                 ? LIFECYCLE_STOPPED
                                 : LIFECYCLE_DIED;
                break;
        case VIR_DOMAIN_EVENT_SUSPENDED:
                e.kind = LIFECYCLE_SUSPENDED;
                break;
        case VIR_DOMAIN_EVENT_RESUMED:
                e.kind = LIFECYCLE_RESUMED;
                break;
        default:
                e.kind = LIFECYCLE_OTHER;
        }
        l->delivered++;
        if (l->fn)
                l->fn(&e, l->userdata);
        return 0;
}

static void on_timeout(int timer, void *opaque) {
        ((Lifecycle *) opaque)->timed_out = true;
}

int lifecycle_run(Lifecycle *l, int timeout_ms) {
        unsigned before = l->delivered;
        int timer;

        if (!l->fn) /* nobody listens: nothing to wait for */
                return 0;
        l->timed_out = false;
        timer = virEventAddTimeout(timeout_ms < 0 ? 0 : timeout_ms, on_timeout, l, NULL);
        if (timer < 0)
                return -EIO;
        while (l->delivered == before && !l->timed_out)
                if (virEventRunDefaultImpl() < 0) {
                        (void) virEventRemoveTimeout(timer);
                        return -EIO;
                }
        (void) virEventRemoveTimeout(timer);
        return (int) (l->delivered - before);
}

/* ---- connection ---- */

int lifecycle_open(const char *uri, LifecycleEventFn fn, void *userdata, Lifecycle **ret, char **reason) {
        static bool event_loop_registered = false;
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;

        /* one default event loop per process, registered before the first connection */
        if (!event_loop_registered) {
                virSetErrorFunc(NULL, error_sink);
                if (virEventRegisterDefaultImpl() < 0)
                        return set_reason(reason, -EIO, "cannot register libvirt's event loop: %s",
                                          virGetLastErrorMessage());
                event_loop_registered = true;
        }
        l = calloc(1, sizeof(Lifecycle));
        if (!l)
                return -ENOMEM;
        l->callback_id = -1;
        l->lock_fd = -1;
        l->fn = fn;
        l->userdata = userdata;
        l->conn = virConnectOpen(uri);
        if (!l->conn)
                return set_reason(reason, vir_last_errno(), "cannot connect to libvirt at '%s': %s",
                                  uri ? uri : "(default)", virGetLastErrorMessage());
        l->callback_id = virConnectDomainEventRegisterAny(l->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                          VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), l, NULL);
        if (l->callback_id < 0)
                return set_reason(reason, vir_last_errno(), "cannot subscribe to lifecycle events: %s",
                                  virGetLastErrorMessage());
        *ret = TAKE_PTR(l);
        return 0;
}

Lifecycle *lifecycle_free(Lifecycle *l) {
        if (!l)
                return NULL;
        if (l->conn) {
                if (l->callback_id >= 0)
                        (void) virConnectDomainEventDeregisterAny(l->conn, l->callback_id);
                (void) virConnectClose(l->conn);
        }
        names_free(l->known, l->n_known);
        names_free(l->stopping, l->n_stopping);
        lifecycle_ledger_unlock(l);
        free(l->lock_path);
        free(l);
        return NULL;
}

virConnectPtr lifecycle_connection(Lifecycle *l) {
        return l->conn;
}

/* 0 and the parsed metadata, -ENOENT when the domain has none, -EBADMSG when it does not parse. */
static int domain_metadata(virDomainPtr dom, CvmdMetadata *ret) {
        _cleanup_free_ char *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, CVMD_METADATA_NS, 0);

        if (!xml)
                return vir_last_errno() == -ENOMEM ? -ENOMEM : -ENOENT;
        return cvmd_metadata_parse(xml, strlen(xml), ret);
}

int lifecycle_create(Lifecycle *l, const char *xml, char **ret_name, char **reason) {
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        _cleanup_(cvmd_metadata_done) CvmdMetadata m = {};
        const char *name;
        int r;

        /* only cvmd's own XML: it carries the metadata that finds the domain again */
        r = cvmd_metadata_parse(xml, strlen(xml), &m);
        if (r < 0)
                return set_reason(reason, -EINVAL, "the domain XML carries no valid cvmd metadata");
        dom = virDomainCreateXML(l->conn, xml, 0);
        /* created (or refused): the next launch's ledger sees it, so the lock can go */
        lifecycle_ledger_unlock(l);
        if (!dom)
                return set_reason(reason, vir_last_errno(), "cannot create the domain: %s", virGetLastErrorMessage());
        name = virDomainGetName(dom);
        if (!name)
                return -EIO;
        r = names_add(&l->known, &l->n_known, name);
        if (r < 0)
                return r;
        if (ret_name) {
                *ret_name = strdup(name);
                if (!*ret_name)
                        return -ENOMEM;
        }
        return 0;
}

int lifecycle_destroy(Lifecycle *l, const char *name, char **reason) {
        _cleanup_(virDomainFreep) virDomainPtr dom = virDomainLookupByName(l->conn, name);
        _cleanup_(cvmd_metadata_done) CvmdMetadata m = {};
        int r;

        if (!dom)
                return set_reason(reason, vir_last_errno(), "no domain '%s': %s", name, virGetLastErrorMessage());
        r = domain_metadata(dom, &m);
        if (r == -ENOENT)
                return set_reason(reason, -EPERM, "domain '%s' is not cvmd's (no cvmd metadata)", name);
        if (r < 0)
                return set_reason(reason, r, "domain '%s': unreadable cvmd metadata", name);
        r = names_add(&l->stopping, &l->n_stopping, name);
        if (r < 0)
                return r;
        if (virDomainDestroy(dom) < 0) {
                r = vir_last_errno();
                (void) names_remove(l->stopping, &l->n_stopping, name);
                return set_reason(reason, r, "cannot destroy '%s': %s", name, virGetLastErrorMessage());
        }
        return 0;
}

int lifecycle_suspend(Lifecycle *l, const char *name, char **reason) {
        _cleanup_(virDomainFreep) virDomainPtr dom = virDomainLookupByName(l->conn, name);
        _cleanup_(cvmd_metadata_done) CvmdMetadata m = {};
        int r;

        if (!dom)
                return set_reason(reason, vir_last_errno(), "no domain '%s': %s", name, virGetLastErrorMessage());
        r = domain_metadata(dom, &m);
        if (r < 0)
                return set_reason(reason, r == -ENOENT ? -EPERM : r, "domain '%s' is not cvmd's", name);
        if (virDomainSuspend(dom) < 0)
                return set_reason(reason, vir_last_errno(), "cannot pause '%s': %s", name, virGetLastErrorMessage());
        return 0;
}

int lifecycle_domain_uuid(Lifecycle *l, const char *name, uint8_t ret[16]) {
        _cleanup_(virDomainFreep) virDomainPtr dom = virDomainLookupByName(l->conn, name);
        unsigned char uuid[VIR_UUID_BUFLEN];

        if (!dom || virDomainGetUUID(dom, uuid) < 0)
                return vir_last_errno();
        memcpy(ret, uuid, 16);
        return 0;
}

void lifecycle_domains_free(LifecycleDomain *d, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(d[i].name);
                free(d[i].uuid);
                cvmd_metadata_done(&d[i].meta);
        }
        free(d);
}

static int cmp_domain(const void *a, const void *b) {
        return strcmp(((const LifecycleDomain *) a)->name, ((const LifecycleDomain *) b)->name);
}

int lifecycle_list(Lifecycle *l, LifecycleDomain **ret, size_t *ret_n, size_t *ret_n_bad, char **reason) {
        virDomainPtr *doms = NULL;
        LifecycleDomain *out = NULL;
        size_t n = 0, bad = 0;
        int k, r = 0;

        k = virConnectListAllDomains(l->conn, &doms, 0);
        if (k < 0)
                return set_reason(reason, vir_last_errno(), "cannot list domains: %s", virGetLastErrorMessage());
        out = calloc(k > 0 ? (size_t) k : 1, sizeof(LifecycleDomain));
        if (!out)
                r = -ENOMEM;
        for (int i = 0; i < k; i++) {
                char uuid[VIR_UUID_STRING_BUFLEN];
                CvmdMetadata m = {};
                int q;

                if (r < 0)
                        goto next;
                q = domain_metadata(doms[i], &m);
                if (q == -ENOENT)
                        goto next;
                if (q == -ENOMEM) {
                        r = q;
                        goto next;
                }
                if (q < 0) {
                        bad++;
                        goto next;
                }
                if (virDomainGetUUIDString(doms[i], uuid) < 0)
                        uuid[0] = '\0';
                out[n] = (LifecycleDomain) {
                        .name = strdup(virDomainGetName(doms[i]) ?: ""),
                        .uuid = strdup(uuid),
                        .active = virDomainIsActive(doms[i]) == 1,
                        .meta = m,
                };
                n++;
                if (!out[n - 1].name || !out[n - 1].uuid)
                        r = -ENOMEM;
                else if (names_add(&l->known, &l->n_known, out[n - 1].name) < 0)
                        r = -ENOMEM;
        next:
                virDomainFree(doms[i]);
        }
        free(doms);
        if (r < 0) {
                lifecycle_domains_free(out, n);
                return r;
        }
        qsort(out, n, sizeof(LifecycleDomain), cmp_domain);
        *ret = out;
        *ret_n = n;
        if (ret_n_bad)
                *ret_n_bad = bad;
        return 0;
}

int lifecycle_rebuild_ledger(Lifecycle *l, PlacementLedger *ledger, char **reason) {
        LifecycleDomain *d = NULL;
        size_t n = 0;
        int r;

        r = lifecycle_list(l, &d, &n, NULL, reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                if (d[i].active && d[i].meta.placement) {
                        r = placement_ledger_add(ledger, d[i].meta.placement);
                        if (r == -EEXIST)
                                r = 0;
                }
        lifecycle_domains_free(d, n);
        return r;
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

int lifecycle_next_vsock_cid(Lifecycle *l, uint32_t *ret, char **reason) {
        _cleanup_free_ uint32_t *cids = NULL;
        LifecycleDomain *d = NULL;
        uint32_t cid = LAUNCH_SPEC_VSOCK_CID_MIN;
        size_t n = 0;
        int r;

        r = lifecycle_list(l, &d, &n, NULL, reason);
        if (r < 0)
                return r;
        cids = calloc(n ? n : 1, sizeof(uint32_t));
        if (!cids) {
                lifecycle_domains_free(d, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                cids[i] = d[i].meta.vsock_cid;
        lifecycle_domains_free(d, n);
        qsort(cids, n, sizeof(uint32_t), cmp_u32);
        for (size_t i = 0; i < n; i++)
                if (cids[i] == cid)
                        cid++;
        *ret = cid;
        return 0;
}

/* ---- the host ledger ---- */

int lifecycle_set_ledger_lock(Lifecycle *l, const char *path, unsigned timeout_sec) {
        char *p = NULL;

        if (path && !(p = strdup(path)))
                return -ENOMEM;
        lifecycle_ledger_unlock(l);
        free(l->lock_path);
        l->lock_path = p;
        l->lock_timeout_sec = timeout_sec;
        return 0;
}

bool lifecycle_has_ledger_lock(Lifecycle *l) {
        return l->lock_path != NULL;
}

void lifecycle_ledger_unlock(Lifecycle *l) {
        if (l->lock_fd >= 0) {
                (void) flock(l->lock_fd, LOCK_UN);
                (void) close(l->lock_fd);
                l->lock_fd = -1;
        }
}

/* flock() on the lock file, polled so that a stuck holder makes a clear refusal, not a hang. */
static int ledger_lock(Lifecycle *l, char **reason) {
        struct timespec delay = { 0, 50 * 1000 * 1000 };
        unsigned tries;
        int fd;

        if (!l->lock_path || l->lock_fd >= 0)
                return 0;
        fd = open(l->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return set_reason(reason, -errno, "cannot open the host ledger lock %s: %s", l->lock_path,
                                  strerror(errno));
        for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
                if (errno != EWOULDBLOCK && errno != EINTR) {
                        int r = -errno;
                        close(fd);
                        return set_reason(reason, r, "cannot lock %s: %s", l->lock_path, strerror(-r));
                }
                if (tries >= l->lock_timeout_sec * 20u) {
                        close(fd);
                        return set_reason(reason, -EBUSY,
                                          "another launch has held the host ledger lock %s for %u s; not placing "
                                          "against a ledger that may be changing",
                                          l->lock_path, l->lock_timeout_sec);
                }
                (void) nanosleep(&delay, NULL);
        }
        l->lock_fd = fd;
        return 0;
}

int lifecycle_rebuild_host_ledger(Lifecycle *l, const HostProbe *host, PlacementLedger *ledger, char **reason) {
        virDomainPtr *doms = NULL;
        int k, r;

        r = ledger_lock(l, reason);
        if (r < 0)
                return r;
        ledger->n_host_cells = host ? (unsigned) host->n_cells : 0;
        k = virConnectListAllDomains(l->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        if (k < 0) {
                r = set_reason(reason, vir_last_errno(), "cannot list domains: %s", virGetLastErrorMessage());
                lifecycle_ledger_unlock(l);
                return r;
        }
        r = 0;
        for (int i = 0; i < k; i++) {
                _cleanup_(placement_freep) Placement *p = NULL;
                _cleanup_free_ char *xml = NULL;
                const char *name = virDomainGetName(doms[i]);

                if (r >= 0) {
                        xml = virDomainGetXMLDesc(doms[i], 0);
                        if (!xml)
                                r = set_reason(reason, vir_last_errno(), "cannot read domain '%s': %s", name ? name : "?",
                                               virGetLastErrorMessage());
                }
                if (r >= 0 && (r = domain_holdings_parse(xml, strlen(xml), &p)) < 0 && r != -ENOMEM)
                        r = set_reason(reason, r, "domain '%s': cannot tell what it holds (its XML does not parse)",
                                       name ? name : "?");
                if (r >= 0 && (r = placement_ledger_add(ledger, p)) == -EEXIST)
                        r = 0;
                virDomainFree(doms[i]);
        }
        free(doms);
        if (r < 0)
                lifecycle_ledger_unlock(l);
        return r;
}
