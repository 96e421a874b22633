/* SPDX-License-Identifier: Apache-2.0 */
/* After a crash or a restart: the VM table rebuilt from libvirt (cvmd's metadata in each
 * domain) and the audit chain. Only a VM whose keys were released and confirmed, and that was
 * not stopped or failed since, is trusted as Running again; every other domain of cvmd's is
 * destroyed. An audit chain that does not verify trusts nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cvm/util.h"
#include "cvmd-internal.h"

/* What the audit chain says of one VM name since its latest launch. */
typedef struct History {
        const char *name;
        bool has_uuid;
        uint8_t uuid[16];
        char *spec_json; /* from the latest launch row */
        bool has_spec_digest; /* that row's bound spec digest (over the boot files' contents) */
        uint8_t spec_digest[LAUNCH_DIGEST_SIZE];
        bool released;   /* a key release for this domain since that launch */
        int64_t released_at; /* the latest one's time: its last accepted attestation */
        bool ended;      /* a stop or a failure since */
} History;

/* The histories of every domain found, filled in one pass over the chain. */
typedef struct Histories {
        History *v;
        size_t n;
} Histories;

static History *history_of(const Histories *hs, const char *name) {
        for (size_t i = 0; i < hs->n; i++)
                if (streq(hs->v[i].name, name))
                        return &hs->v[i];
        return NULL;
}

static int scan_event(const AuditEvent *e, void *userdata) {
        History *h = e->vm_name ? history_of(userdata, e->vm_name) : NULL;

        if (!h)
                return 0;
        switch (e->kind) {
        case AUDIT_LAUNCH: {
                _cleanup_(json_object_putp) json_object *d = json_tokener_parse(e->details);
                json_object *spec = NULL;

                free(h->spec_json);
                h->spec_json = NULL;
                h->released = h->ended = false;
                if (d && json_object_object_get_ex(d, "spec", &spec) && json_object_is_type(spec, json_type_object))
                        h->spec_json = strdup(json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN));
                h->has_spec_digest = false;
                break;
        }
        case AUDIT_KEY_RELEASE:
                if (e->has_uuid && memcmp(e->vm_uuid, h->uuid, 16) == 0) {
                        h->released = true;
                        h->released_at = e->time;
                }
                break;
        case AUDIT_STATE: {
                /* the first state row with a plan names the spec digest the launch bound */
                _cleanup_(json_object_putp) json_object *d = h->has_spec_digest ? NULL : json_tokener_parse(e->details);
                json_object *digest;

                if (d && json_object_object_get_ex(d, "spec_digest", &digest) && json_object_is_type(digest, json_type_string))
                        h->has_spec_digest = hex_decode_exact(json_object_get_string(digest), h->spec_digest,
                                                              sizeof(h->spec_digest)) == 0;
                break;
        }
        case AUDIT_STOP:
        case AUDIT_FAILURE:
                h->ended = true;
                break;
        default:
                break;
        }
        return 0;
}

/* Why the domain is not trusted, or NULL when it may stay Running (then *ret holds its VM).
 * metadata: cvmd's element as the domain carries it (NULL: unreadable), from which the plan a
 * re-attestation binds is rebuilt; without it the VM stays Running but cannot be re-attested. */
static const char *recover_one(Manager *m, const LifecycleDomain *d, const History *h, const char *metadata,
                               Vm **ret) {
        _cleanup_(launch_spec_freep) LaunchSpec *spec = NULL;
        const char *spec_json = h->spec_json;
        uint8_t digest[LAUNCH_DIGEST_SIZE];
        const Policy *policy;
        Vm *vm;

        if (!d->active)
                return "not running";
        if (!h->has_uuid)
                return "its UUID is unreadable";
        if (!spec_json)
                return "no launch of it in the audit chain";
        if (!h->released)
                return "it never got its keys";
        if (h->ended)
                return "it was stopped or failed before";
        if (launch_spec_parse(spec_json, strlen(spec_json), &spec, NULL) < 0)
                return "its recorded spec does not parse";
        /* the domain must be the one that was launched: its metadata carries the spec digest the
         * launch bound, which the chain recorded (over the boot files' contents, so it is compared
         * as recorded, not recomputed from files that may have changed since); rows written
         * before the chain kept it are checked against the spec's path digest */
        if (h->has_spec_digest)
                memcpy(digest, h->spec_digest, sizeof(digest));
        else if (launch_spec_digest(spec, digest) < 0)
                return "out of memory";
        if (memcmp(digest, d->meta.digest, sizeof(digest)) != 0)
                return "its launch digest differs from the recorded spec's";
        policy = m->policies ? policy_set_find(m->policies, spec->policy) : NULL;
        if (!policy)
                return "its policy is not loaded";
        if (vm_new_recovered(m, &spec, spec_json, policy, d->name, h->uuid, &vm) < 0)
                return "out of memory";
        /* the plan from the domain: its spec digest (checked above), CID and GPU addresses; the
         * launch digest computed anew from the spec and this cvmd's releaser key */
        if (!metadata || launch_run_adopt_plan(vm->run, d->meta.digest, d->meta.vsock_cid, metadata,
                                               h->released_at > 0 ? (uint64_t) h->released_at * 1000000u : 0) < 0)
                cvmd_log(LOG_WARNING, vm, "recovery: no plan for '%s' (its metadata is unreadable, or a boot file "
                         "changed since its launch): it cannot be re-attested", d->name);
        *ret = vm;
        return NULL;
}

typedef struct RecoverJob {
        Manager *m;
        Lifecycle *l; /* the connection of the worker the job runs on */
        LifecycleDomain *domains;
        size_t n_domains;
        char **metadata; /* per domain: cvmd's metadata element, as libvirt returns it */
        bool *destroy;
        char *reason;
        void (*done)(int r, void *userdata);
        void *userdata;
} RecoverJob;

static void recover_job_free(RecoverJob *j) {
        for (size_t i = 0; j->metadata && i < j->n_domains; i++)
                free(j->metadata[i]);
        free(j->metadata);
        lifecycle_domains_free(j->domains, j->n_domains);
        free(j->destroy);
        free(j->reason);
        free(j);
}

static int job_list(void *userdata) {
        RecoverJob *j = userdata;
        int r = lifecycle_list(j->l, &j->domains, &j->n_domains, NULL, &j->reason);

        if (r < 0)
                return r;
        j->metadata = calloc(j->n_domains ? j->n_domains : 1, sizeof(char *));
        if (!j->metadata)
                return -ENOMEM;
        /* the element itself, for the plan of a re-attestation (recover_one()); NULL when gone */
        for (size_t i = 0; i < j->n_domains; i++) {
                virDomainPtr dom = j->domains[i].active
                                           ? virDomainLookupByName(lifecycle_connection(j->l), j->domains[i].name)
                                           : NULL;
                if (!dom)
                        continue;
                j->metadata[i] = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, CVMD_METADATA_NS, 0);
                virDomainFree(dom);
        }
        return 0;
}

static int job_destroy_untrusted(void *userdata) {
        RecoverJob *j = userdata;

        for (size_t i = 0; i < j->n_domains; i++)
                if (j->destroy[i] && j->domains[i].active)
                        (void) lifecycle_destroy(j->l, j->domains[i].name, NULL);
        return 0;
}

static void on_destroyed(int r, void *userdata) {
        RecoverJob *j = userdata;

        j->done(0, j->userdata);
        recover_job_free(j);
}

static void histories_done(Histories *hs) {
        for (size_t i = 0; i < hs->n; i++)
                free(hs->v[i].spec_json);
        free(hs->v);
}

/* One pass over the audit chain for every domain libvirt still runs. */
static int read_histories(Manager *m, const LifecycleDomain *d, size_t n, Histories *ret) {
        ret->v = calloc(n ? n : 1, sizeof(History));
        if (!ret->v)
                return -ENOMEM;
        ret->n = n;
        for (size_t i = 0; i < n; i++) {
                ret->v[i].name = d[i].name;
                ret->v[i].has_uuid = uuid_parse(d[i].uuid, ret->v[i].uuid) >= 0;
        }
        return audit_foreach(m->audit, 0, scan_event, ret, NULL);
}

static void on_listed(int r, void *userdata) {
        RecoverJob *j = userdata;
        _cleanup_free_ char *why = NULL;
        _cleanup_(histories_done) Histories hs = {};
        bool chain_ok;
        Worker *w;

        if (r < 0) {
                cvmd_log(LOG_ERR, NULL, "recovery: cannot list the domains: %s", j->reason ? j->reason : strerror(-r));
                j->done(r, j->userdata);
                recover_job_free(j);
                return;
        }
        chain_ok = manager_audit_verifies(j->m, &why);
        if (!chain_ok)
                cvmd_log(LOG_ERR, NULL, "recovery: the audit chain does not verify (%s): no VM is trusted", why);
        else if (read_histories(j->m, j->domains, j->n_domains, &hs) < 0) {
                cvmd_log(LOG_ERR, NULL, "recovery: the audit chain is unreadable: no VM is trusted");
                chain_ok = false;
        }
        j->destroy = calloc(j->n_domains ? j->n_domains : 1, sizeof(bool));
        for (size_t i = 0; j->destroy && i < j->n_domains; i++) {
                const LifecycleDomain *d = &j->domains[i];
                const char *untrusted = chain_ok ? NULL : "the audit chain does not verify";
                Vm *vm = NULL; /* a recovered VM is logged by its state change, "running: recovered ..." */

                if (!untrusted)
                        untrusted = recover_one(j->m, d, &hs.v[i], j->metadata[i], &vm);
                if (!untrusted && manager_add_vm(j->m, vm) < 0) {
                        vm_free(vm);
                        untrusted = "out of memory";
                }
                if (untrusted) {
                        j->destroy[i] = true;
                        cvmd_log(LOG_WARNING, NULL, "recovery: destroying domain '%s': %s", d->name, untrusted);
                }
        }
        if (!j->destroy) {
                j->done(-ENOMEM, j->userdata);
                recover_job_free(j);
                return;
        }
        manager_pick_worker(j->m, &w, &j->l);
        if (worker_submit(w, job_destroy_untrusted, on_destroyed, j) < 0) {
                j->done(-ENOMEM, j->userdata);
                recover_job_free(j);
        }
}

int manager_recover(Manager *m, void (*done)(int r, void *userdata), void *userdata) {
        RecoverJob *j = calloc(1, sizeof(RecoverJob));
        Worker *w;
        int r;

        if (!j)
                return -ENOMEM;
        *j = (RecoverJob) { .m = m, .done = done, .userdata = userdata };
        manager_pick_worker(m, &w, &j->l);
        r = worker_submit(w, job_list, on_listed, j);
        if (r < 0)
                free(j);
        return r;
}
