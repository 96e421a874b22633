/* SPDX-License-Identifier: Apache-2.0 */
/* The gated launch: create, wait for the agent, exchange with key release, or destroy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cvm/launch.h"
#include "cvm/util.h"
#include "cvm/verdict.h"

static const char *const phase_names[_LAUNCH_PHASE_MAX] = {
        [LAUNCH_DEFINED] = "defined", [LAUNCH_BOOTING] = "booting", [LAUNCH_ATTESTING] = "attesting",
        [LAUNCH_RUNNING] = "running", [LAUNCH_FAILED] = "failed",
};

const char *launch_phase_to_string(LaunchPhase p) {
        return p >= 0 && p < _LAUNCH_PHASE_MAX ? phase_names[p] : NULL;
}

void launch_outcome_done(LaunchOutcome *o) {
        free(o->domain);
        free(o->reason);
        exchange_result_done(&o->exchange);
        *o = (LaunchOutcome) {};
}

static void enter(const LaunchRunOptions *o, LaunchOutcome *out, LaunchPhase phase, const char *reason) {
        out->phase = phase;
        if (o->progress)
                o->progress(o->userdata, phase, out->domain, reason);
}

/* Fail closed: a guest that was not attested does not keep running. The lifecycle events are
 * delivered before the failure is reported, so messages come out in the order things happened. */
static int fail(Lifecycle *l, const LaunchRunOptions *o, LaunchOutcome *out, const char *fmt, ...) _printf_(4, 5);
static int fail(Lifecycle *l, const LaunchRunOptions *o, LaunchOutcome *out, const char *fmt, ...) {
        va_list ap;

        if (out->domain) {
                (void) lifecycle_destroy(l, out->domain, NULL);
                (void) lifecycle_run(l, 100);
        }
        va_start(ap, fmt);
        out->reason = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!out->reason)
                return -ENOMEM;
        enter(o, out, LAUNCH_FAILED, out->reason);
        return 0;
}

/* The agent starts with the guest: retry with backoff until it answers or the boot deadline. */
static int connect_agent(const ChannelAddr *a, uint64_t deadline_usec) {
        unsigned delay_ms = 100;

        for (;;) {
                int fd = channel_connect(a);

                if (fd >= 0)
                        return fd;
                if (proto_now_usec() + delay_ms * 1000u >= deadline_usec)
                        return -ETIMEDOUT;
                usleep(delay_ms * 1000u);
                delay_ms = delay_ms < 2000 ? delay_ms * 2 : 2000;
        }
}

void launch_exchange_host(const LaunchPlan *plan, KeyRelease *kr, CvmTee dev_evidence, NonceStore *nonces,
                          ExchangeHost *h) {
        const LaunchSpec *spec = plan->spec;

        *h = (ExchangeHost) {
                .timeout_usec = 30u * 1000000u,
                .nonces = nonces,
                .nonce_ttl_usec = 120u * 1000000u,
                .gpus = (uint32_t) spec->n_gpus,
                /* "tee": "none" has no evidence of its own: the simulated kind it asks for */
                .tee = cvm_tee_has_evidence(spec->tee) ? spec->tee : dev_evidence,
        };
        /* A development launch has no hypervisor-set HOST_DATA to bind; a real TEE always does. */
        kr->appraise.has_launch_digest = !launch_spec_is_development(spec);
        memcpy(kr->appraise.launch_digest, plan->launch_digest, sizeof(plan->launch_digest));
        key_release_attach(kr, h);
}

int launch_run(const LaunchPlan *plan, Lifecycle *l, KeyRelease *kr, const LaunchRunOptions *o,
               LaunchOutcome *ret) {
        static NonceStore nonces;
        _cleanup_free_ char *why = NULL;
        ExchangeHost h;
        ChannelAddr agent = o->agent;
        int fd, r;

        *ret = (LaunchOutcome) { .phase = LAUNCH_DEFINED };
        launch_exchange_host(plan, kr, o->dev_evidence, &nonces, &h);
        if (o->message_usec)
                h.timeout_usec = o->message_usec;

        r = lifecycle_create(l, plan->xml, &ret->domain, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(l, o, ret, "libvirt refused the domain: %s", why ? why : strerror(-r));
        (void) lifecycle_run(l, 100); /* deliver "started" */
        enter(o, ret, LAUNCH_BOOTING, NULL);

        (void) lifecycle_domain_uuid(l, ret->domain, h.vm_uuid);
        if (agent.family == 0)
                agent = (ChannelAddr) { .family = AF_VSOCK, .cid = plan->vsock_cid, .port = LAUNCH_AGENT_PORT };
        fd = connect_agent(&agent, proto_now_usec() + (o->boot_usec ? o->boot_usec : 120u * 1000000u));
        if (fd < 0)
                return fail(l, o, ret, "the guest agent did not answer (%s); domain '%s' destroyed", strerror(-fd),
                            ret->domain);
        enter(o, ret, LAUNCH_ATTESTING, NULL);

        r = exchange_host_run(&h, fd, &ret->exchange);
        close(fd);
        if (r < 0)
                return fail(l, o, ret, "exchange failed: %s; domain '%s' destroyed", strerror(-r), ret->domain);
        if (!ret->exchange.released || !ret->exchange.confirmed)
                return fail(l, o, ret, "%s; domain '%s' destroyed",
                            ret->exchange.error ? ret->exchange.error : "refused", ret->domain);
        enter(o, ret, LAUNCH_RUNNING, NULL);
        return 0;
}

json_object *launch_outcome_to_json(const LaunchOutcome *o, const LaunchPlan *plan) {
        const ExchangeResult *x = &o->exchange;
        json_object *j = verdict_to_json(&x->verdict);
        bool running = o->phase == LAUNCH_RUNNING;

        if (!j)
                return NULL;
        json_object_object_add(j, "domain", o->domain ? json_object_new_string(o->domain) : NULL);
        json_object_object_add(j, "launch_digest", json_object_new_string(plan->launch_digest_hex));
        json_object_object_add(j, "phase", json_object_new_string(launch_phase_to_string(o->phase)));
        json_object_object_add(j, "running", json_object_new_boolean(running));
        json_object_object_add(j, "released", json_object_new_boolean(x->released));
        json_object_object_add(j, "confirmed", json_object_new_boolean(x->confirmed));
        /* the exchange's own words when it has some ("evidence refused: ..."), else the launch's */
        json_object_object_add(j, "error", x->error ? json_object_new_string(x->error)
                                           : !running && o->reason ? json_object_new_string(o->reason)
                                                                   : NULL);
        json_object_object_add(j, "token", x->token ? json_object_new_string(x->token) : NULL);
        return j;
}
