/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* libvirt lifecycle of cvmd's domains: create transient domains, find them again by cvmd's
 * metadata element, destroy them, and receive their lifecycle events. Events are dispatched by
 * libvirt's default event loop (virEventRegisterDefaultImpl, registered once by
 * lifecycle_open()); the daemon will bridge to sd-event instead. libvirt's error printer is
 * silenced; errors come back as -errno with libvirt's message as the reason. */

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/domain-xml.h"
#include "cvm/host-probe.h"
#include "cvm/placement.h"
#include "cvm/macro.h"

typedef enum LifecycleEventKind {
        LIFECYCLE_STARTED,
        LIFECYCLE_STOPPED,       /* destroyed or shut down by cvmd */
        LIFECYCLE_DIED,          /* stopped without cvmd asking: crashed, killed, destroyed elsewhere */
        LIFECYCLE_SUSPENDED,
        LIFECYCLE_RESUMED,
        LIFECYCLE_OTHER,
        _LIFECYCLE_EVENT_MAX,
        _LIFECYCLE_EVENT_INVALID = -EINVAL,
} LifecycleEventKind;

const char *lifecycle_event_to_string(LifecycleEventKind k);

typedef struct LifecycleEvent {
        const char *name;
        const char *uuid; /* canonical string form */
        LifecycleEventKind kind;
        int libvirt_event;  /* virDomainEventType */
        int libvirt_detail;
        bool cvmd_domain;   /* carries cvmd's metadata */
} LifecycleEvent;

typedef void (*LifecycleEventFn)(const LifecycleEvent *e, void *userdata);

typedef struct Lifecycle Lifecycle;

/* Opens uri (NULL: libvirt's default) and subscribes to lifecycle events for every domain;
 * fn may be NULL. */
int lifecycle_open(const char *uri, LifecycleEventFn fn, void *userdata, Lifecycle **ret, char **ret_reason);
Lifecycle *lifecycle_free(Lifecycle *l);
DEFINE_CLEANUP(Lifecycle *, lifecycle_free)
virConnectPtr lifecycle_connection(Lifecycle *l);

/* Starts a transient domain from xml; *ret_name (optional) gets its name. */
int lifecycle_create(Lifecycle *l, const char *xml, char **ret_name, char **ret_reason);
/* Destroys a domain cvmd started (one carrying its metadata); -ENOENT when there is none,
 * -EPERM when the domain is not cvmd's. */
int lifecycle_destroy(Lifecycle *l, const char *name, char **ret_reason);
/* The domain's UUID, 16 raw bytes (what the guest sees as its SMBIOS system UUID). */
/* Pauses one of cvmd's domains (the policy's "failure_action": "pause"): it keeps its memory for
 * forensics and runs no more. */
int lifecycle_suspend(Lifecycle *l, const char *name, char **ret_reason);
int lifecycle_domain_uuid(Lifecycle *l, const char *name, uint8_t ret[16]);

typedef struct LifecycleDomain {
        char *name;
        char *uuid;
        bool active;
        CvmdMetadata meta;
} LifecycleDomain;

void lifecycle_domains_free(LifecycleDomain *d, size_t n);
/* Every domain carrying cvmd's metadata, sorted by name. Domains whose metadata does not parse
 * are skipped, and counted in *ret_n_bad when it is not NULL. */
int lifecycle_list(Lifecycle *l, LifecycleDomain **ret, size_t *ret_n, size_t *ret_n_bad, char **ret_reason);
/* Rebuilds a ledger from what cvmd's running domains hold. */
int lifecycle_rebuild_ledger(Lifecycle *l, PlacementLedger *ledger, char **ret_reason);

/* What a running domain holds, from its full XML (virDomainGetXMLDesc): cvmd's from its
 * metadata, any other domain's from its pins, numatune, memory backing, launch security,
 * hostdevs and vsock CID. -EBADMSG when it does not parse. */
int domain_holdings_parse(const char *xml, size_t size, Placement **ret);

/* The host ledger: what every running domain holds, cvmd's and everyone else's, with memory
 * bound to no cell spread over host's cells. When a ledger lock is set (below) it is taken
 * first and stays held until the next lifecycle_create() or lifecycle_ledger_unlock(): so the
 * ledger read, the placement made from it and the domain created from that placement are one
 * step that no other launch, in this process or another, can interleave with. A domain whose
 * XML does not parse fails the rebuild (never an under-count). */
int lifecycle_rebuild_host_ledger(Lifecycle *l, const HostProbe *host, PlacementLedger *ledger, char **ret_reason);
/* Uses path (created 0600 when missing; its directory must exist) as the host ledger's lock,
 * waiting at most timeout_sec for another holder. NULL: no lock (libvirt's test driver, whose
 * domains live in one process). */
int lifecycle_set_ledger_lock(Lifecycle *l, const char *path, unsigned timeout_sec);
bool lifecycle_has_ledger_lock(Lifecycle *l);
/* Releases the ledger lock if held (after a refusal, or a plan that creates nothing). */
void lifecycle_ledger_unlock(Lifecycle *l);
/* The lowest CID >= 3 no cvmd domain uses (the plan asks the host ledger, which knows every
 * domain's). */
int lifecycle_next_vsock_cid(Lifecycle *l, uint32_t *ret, char **ret_reason);

/* Runs libvirt's default event loop until an event was delivered or timeout_ms passed.
 * Returns the number of events delivered (0 on timeout, and at once when nobody listens). */
int lifecycle_run(Lifecycle *l, int timeout_ms);
