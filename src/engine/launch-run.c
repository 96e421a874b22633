/* SPDX-License-Identifier: Apache-2.0 */
/* The gated launch as a state machine on an sd-event loop: plan and create (worker), connect to
 * the agent with backoff (worker, retried by a timer), the exchange (loop), and the outcome:
 * Running with its keys, or the policy's failure action (worker). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cvm/collateral.h"
#include "cvm/launch-checks.h"
#include "cvm/launch-predict.h"
#include "cvm/launch-run.h"
#include "cvm/token.h"
#include "cvm/util.h"
#include "cvm/verdict.h"

struct LaunchRun {
        LaunchRunConfig c;
        LaunchRunState s;
        char *job_reason;          /* a worker job's failure */
        unsigned jobs;             /* worker jobs in flight */
        ExchangeHost host;
        ExchangeHost inner;        /* the key release's own callbacks, wrapped by the run's */
        ExchangeHostSession *session;
        int fd;
        uint64_t boot_deadline_usec; /* CLOCK_MONOTONIC */
        bool appraised;              /* an appraisal ran in this exchange */
        unsigned connect_delay_ms;
        sd_event_source *retry;
        CollateralWaiter *collateral_wait; /* the exchange's appraisal waits for a fetch */
        sd_event_source *reattest_timer; /* Running: the next re-attestation (keep_attested) */
        LaunchReattest reattest_due;     /* why that timer is set */
        const char *reattest_reason;     /* the re-attestation under way: "re-attestation: <why>" */
};

static const char *const reattest_reasons[_LAUNCH_REATTEST_MAX] = {
        [LAUNCH_REATTEST_ON_DEMAND] = "re-attestation: on demand",
        [LAUNCH_REATTEST_TIMER] = "re-attestation: timer",
        [LAUNCH_REATTEST_TOKEN_REFRESH] = "re-attestation: token refresh",
        [LAUNCH_REATTEST_GPU_RELOAD] = "re-attestation: GPU driver reload",
};

static const char *const phase_names[_LAUNCH_PHASE_MAX] = {
        [LAUNCH_DEFINED] = "defined",         [LAUNCH_BOOTING] = "booting", [LAUNCH_ATTESTING] = "attesting",
        [LAUNCH_RELEASING] = "releasing",     [LAUNCH_RUNNING] = "running", [LAUNCH_FAILED] = "failed",
        [LAUNCH_QUARANTINED] = "quarantined", [LAUNCH_STOPPED] = "stopped",
};

const char *launch_phase_to_string(LaunchPhase p) {
        return p >= 0 && p < _LAUNCH_PHASE_MAX ? phase_names[p] : NULL;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int close_fd(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

static void enter(LaunchRun *r, LaunchPhase phase, const char *reason) {
        LaunchPhase previous = r->s.phase;

        r->s.phase = phase;
        free(r->s.reason);
        r->s.reason = reason ? strdup(reason) : NULL;
        if (r->c.phase_changed)
                r->c.phase_changed(r, previous, r->c.userdata);
}

/* The kind of evidence the guest gives: "tee": "none" has none of its own, the simulated kind it asks for. */
static CvmTee run_evidence(const LaunchRun *r) {
        return cvm_tee_has_evidence(r->c.spec->tee) ? r->c.spec->tee : r->c.dev_evidence;
}

/* The plan options of this run; a policy that compares with a prediction has the plan make it
 * from the files it binds. */
static LaunchPlanOptions run_plan_options(const LaunchRun *r) {
        LaunchPlanOptions po = r->c.plan;

        po.predict = launch_policy_predicts(r->c.kr->appraise.policy, run_evidence(r));
        po.predict_tee = run_evidence(r);
        return po;
}

/* ---- worker jobs: on the worker thread, touching only the run's job fields ---- */

static int job_plan_create(void *userdata) {
        LaunchRun *r = userdata;
        LaunchPlanOptions po = run_plan_options(r);
        int k;

        /* tests: a hung libvirtd, holding this worker (and only this one) */
        for (unsigned left = r->c.test_stall_sec; left > 0;)
                left = sleep(left);
        /* refused here, before a domain exists, rather than after boot and attestation */
        k = launch_check_policy(r->c.spec, r->c.kr->appraise.policy, &r->job_reason);
        if (k >= 0)
                k = launch_check_boot(r->c.spec, r->c.kr->appraise.policy, run_evidence(r), &r->job_reason);
        if (k >= 0)
                k = launch_check_keys(r->c.kr->keys_dir, r->c.spec->key_ids, r->c.spec->n_key_ids, &r->job_reason);
        if (k < 0)
                return k;
        k = launch_plan_build(r->c.spec, r->c.lifecycle, &po, &r->s.plan, &r->job_reason);
        if (k < 0)
                return k;
        k = lifecycle_create(r->c.lifecycle, r->s.plan->xml, &r->s.domain, &r->job_reason);
        if (k < 0) {
                char *why = strdup_printf("libvirt refused the domain: %s", r->job_reason ? r->job_reason : strerror(-k));
                free(r->job_reason);
                r->job_reason = why;
                return k;
        }
        (void) lifecycle_domain_uuid(r->c.lifecycle, r->s.domain, r->s.uuid);
        (void) lifecycle_run(r->c.lifecycle, 100); /* deliver "started" to whoever listens */
        return 0;
}

static int job_connect(void *userdata) {
        LaunchRun *r = userdata;
        ChannelAddr a = r->c.agent;

        if (a.family == 0)
                a = (ChannelAddr) { .family = AF_VSOCK, .cid = r->s.plan->vsock_cid,
                                    .port = r->c.vsock_port ? r->c.vsock_port : LAUNCH_AGENT_PORT };
        r->fd = channel_connect(&a);
        return r->fd < 0 ? r->fd : 0;
}

static int job_destroy(void *userdata) {
        LaunchRun *r = userdata;
        int k = lifecycle_destroy(r->c.lifecycle, r->s.domain, NULL);

        (void) lifecycle_run(r->c.lifecycle, 100); /* deliver "stopped" */
        return k;
}

static int job_pause(void *userdata) {
        LaunchRun *r = userdata;

        return lifecycle_suspend(r->c.lifecycle, r->s.domain, NULL);
}

/* ---- the state machine, on the loop ---- */

static void submit(LaunchRun *r, WorkerJobFn fn, WorkerDoneFn done) {
        /* with nothing in flight the run may move to another worker: its jobs stay in order */
        if (r->jobs == 0 && r->c.pick_worker)
                r->c.pick_worker(r->c.userdata, &r->c.worker, &r->c.lifecycle);
        if (worker_submit(r->c.worker, fn, done, r) < 0) {
                done(-ENOMEM, r);
                return;
        }
        r->jobs++;
}

static void on_action_done(int k, void *userdata) {
        LaunchRun *r = userdata;

        r->jobs--;
        /* the phase was set before the action was asked for: its failure goes into the reason */
        if (k < 0) {
                _cleanup_free_ char *why = strdup_printf("%s; the failure action failed: %s",
                                                         r->s.reason ? r->s.reason : "failed", strerror(-k));
                enter(r, r->s.phase, why);
        }
}

static void stop_io(LaunchRun *r) {
        r->collateral_wait = collateral_waiter_free(r->collateral_wait);
        r->retry = sd_event_source_disable_unref(r->retry);
        r->reattest_timer = sd_event_source_disable_unref(r->reattest_timer);
        r->session = exchange_host_session_free(r->session);
        r->fd = close_fd(r->fd);
}

/* Fail closed: no keys, ever, for a guest that was not attested; then the policy's failure
 * action: destroy the domain (default), pause it, or keep it quarantined for forensics. */
static void end_reattest(LaunchRun *r) {
        r->s.reattesting = false;
        free(r->s.previous_token);
        r->s.previous_token = NULL;
        r->s.previous_token_expires_usec = 0;
}

static void fail(LaunchRun *r, const char *reason) {
        _cleanup_free_ char *why = NULL;

        stop_io(r);
        /* a refused re-attestation withdraws the warm token too, and says that it was one */
        if (r->s.reattesting) {
                why = strdup_printf("%s: failed: %s", r->reattest_reason, reason);
                if (why)
                        reason = why;
                end_reattest(r);
        }
        if (!r->s.domain) {
                enter(r, LAUNCH_FAILED, reason);
                return;
        }
        switch (r->c.kr->appraise.policy->failure_action) {
        case POLICY_FAILURE_QUARANTINE:
                enter(r, LAUNCH_QUARANTINED, reason);
                break;
        case POLICY_FAILURE_PAUSE:
                enter(r, LAUNCH_FAILED, reason);
                submit(r, job_pause, on_action_done);
                break;
        default:
                enter(r, LAUNCH_FAILED, reason);
                submit(r, job_destroy, on_action_done);
                break;
        }
}

static void connect_agent(LaunchRun *r);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        LaunchRun *r = userdata;

        r->retry = sd_event_source_disable_unref(r->retry);
        connect_agent(r);
        return 0;
}

/* Whether to try the exchange again: only when no appraisal ran (the channel broke or the
 * guest went silent, as a rebooting agent does) and the boot deadline leaves time. A refusal
 * is never retried: the same evidence gets the same verdict. */
static bool retry_exchange(LaunchRun *r) {
        if (r->appraised || r->s.result.released)
                return false;
        return now_usec(CLOCK_MONOTONIC) + r->connect_delay_ms * 1000u < r->boot_deadline_usec;
}

static void schedule_connect(LaunchRun *r);
static void schedule_reattest(LaunchRun *r);

static void on_exchange_done(ExchangeHostSession *s, void *userdata) {
        LaunchRun *r = userdata;
        int k;

        k = exchange_host_result(s, &r->s.result);
        r->session = exchange_host_session_free(r->session);
        r->fd = close_fd(r->fd);
        if (k < 0) {
                fail(r, "the exchange ran out of memory");
                return;
        }
        if (retry_exchange(r)) {
                exchange_result_done(&r->s.result);
                schedule_connect(r);
                return;
        }
        if (!r->s.result.released || !r->s.result.confirmed) {
                fail(r, r->s.result.error ? r->s.result.error : "refused");
                return;
        }
        if (r->s.reattesting) {
                end_reattest(r);
                enter(r, LAUNCH_RUNNING, r->reattest_reason);
        } else
                enter(r, LAUNCH_RUNNING, NULL);
        schedule_reattest(r);
}

/* The key release's callbacks, wrapped so that the phase follows the exchange. */
static int run_appraise(void *userdata, const ExchangeEvidence *e, Verdict *v) {
        LaunchRun *r = userdata;

        /* the guest's evidence is in: whatever the verdict, this exchange is not tried again
         * (-EINPROGRESS is no verdict yet: the exchange holds the evidence, on_appraisal_waits()) */
        r->appraised = true;
        return r->inner.appraise(r->inner.userdata, e, v);
}

/* A collateral fetch ended: the held evidence is appraised again (the verdict, or another wait). */
static void on_collateral_fetched(void *userdata) {
        LaunchRun *r = userdata;

        r->collateral_wait = collateral_waiter_free(r->collateral_wait);
        if (r->session)
                exchange_host_event_resume(r->session); /* may end the exchange: on_exchange_done() */
}

/* The appraisal needs collateral the provider is fetching on its own thread (SEV-SNP, TDX, or the
 * GPUs' RIMs and OCSP answers): the exchange waits (sending the guest nothing) until a fetch
 * ends. The fetch's timeout bounds the wait. */
static int on_appraisal_waits(ExchangeHostSession *s, void *userdata) {
        LaunchRun *r = userdata;

        r->collateral_wait = collateral_waiter_free(r->collateral_wait);
        if (!r->c.kr->appraise.collateral)
                return -EOPNOTSUPP;
        return collateral_wait(r->c.kr->appraise.collateral, on_collateral_fetched, r, &r->collateral_wait);
}

static int run_unwrap_keys(void *userdata, Secret **ret_bundle, char **ret_reason) {
        LaunchRun *r = userdata;

        /* called only after an accepted appraisal */
        enter(r, LAUNCH_RELEASING, r->s.reattesting ? r->reattest_reason : NULL);
        return r->inner.unwrap_keys(r->inner.userdata, ret_bundle, ret_reason);
}

/* h for the plan's exchange: the TEE, the GPU count, the launch digest binding, the key release. */
static void exchange_host_for(LaunchRun *r, ExchangeHost *h) {
        const LaunchSpec *spec = r->c.spec;
        KeyRelease *kr = r->c.kr;

        *h = (ExchangeHost) {
                .timeout_usec = r->c.message_usec ? r->c.message_usec : 30u * 1000000u,
                .nonces = r->c.nonces,
                .nonce_ttl_usec = 120u * 1000000u,
                .gpus = (uint32_t) spec->n_gpus,
                .switches = (uint32_t) spec->n_nvswitches, /* attested with the GPUs: all or nothing */
                /* "tee": "none" has no evidence of its own: the simulated kind it asks for */
                .tee = cvm_tee_has_evidence(spec->tee) ? spec->tee : r->c.dev_evidence,
        };
        /* A development launch has no hypervisor-set HOST_DATA to bind; a real TEE always does. */
        kr->appraise.has_launch_digest = !launch_spec_is_development(spec);
        memcpy(kr->appraise.launch_digest, r->s.plan->launch_digest, sizeof(r->s.plan->launch_digest));
        /* what the guest should attest, predicted from the files the plan booted */
        kr->appraise.has_predicted = r->s.plan->has_prediction;
        memcpy(kr->appraise.predicted, r->s.plan->predicted, sizeof(kr->appraise.predicted));
        key_release_attach(kr, h);
        /* the agent recomputes the launch digest from these two and refuses any other releaser */
        h->spec_digest = r->s.plan->spec_digest;
        memcpy(h->vm_uuid, r->s.uuid, sizeof(r->s.uuid));
}

static void start_exchange(LaunchRun *r) {
        _cleanup_free_ char *why = NULL;
        int k;

        if (r->s.phase != LAUNCH_ATTESTING) /* a retry stays in Attesting */
                enter(r, LAUNCH_ATTESTING, NULL);
        r->appraised = false;
        r->s.attest_started_usec = now_usec(CLOCK_REALTIME);
        exchange_host_for(r, &r->inner);
        /* each GPU report must name the guest address the domain gives a GPU */
        k = appraise_gpu_addresses_from_xml(&r->c.kr->appraise, r->s.plan->xml, r->c.spec->gpus, r->c.spec->n_gpus,
                                            &why);
        if (k < 0) {
                fail(r, why ? why : "cannot tell the GPUs' guest addresses");
                return;
        }
        r->c.kr->appraise.gpu_switches = (unsigned) r->c.spec->n_nvswitches;
        r->host = r->inner;
        r->host.appraise = run_appraise;
        r->host.unwrap_keys = run_unwrap_keys;
        r->host.userdata = r;
        k = exchange_host_session_new(&r->host, &r->session);
        if (k >= 0)
                k = exchange_host_attach_event_full(r->session, r->c.event, r->fd, on_exchange_done,
                                                    on_appraisal_waits, r);
        if (k < 0)
                fail(r, "cannot start the exchange");
}

static void on_connected(int k, void *userdata) {
        LaunchRun *r = userdata;

        r->jobs--;
        if (r->s.phase != LAUNCH_BOOTING && r->s.phase != LAUNCH_ATTESTING) { /* stopped meanwhile */
                r->fd = close_fd(r->fd);
                return;
        }
        if (k >= 0) {
                start_exchange(r);
                return;
        }
        if (now_usec(CLOCK_MONOTONIC) + r->connect_delay_ms * 1000u >= r->boot_deadline_usec) {
                _cleanup_free_ char *why = strdup_printf("the guest agent did not answer (%s)", strerror(-k));
                fail(r, why ? why : "the guest agent did not answer");
                return;
        }
        schedule_connect(r);
}

/* The agent starts with the guest: retry with exponential backoff and jitter (so that many
 * guests booting together do not knock in step), as a timer. */
static void schedule_connect(LaunchRun *r) {
        uint64_t delay = r->connect_delay_ms * 1000u;

        delay += delay / 4 * (uint64_t) (random() % 1000) / 1000u;
        if (sd_event_add_time_relative(r->c.event, &r->retry, CLOCK_MONOTONIC, delay, 0, on_retry, r) < 0) {
                fail(r, "out of memory");
                return;
        }
        r->connect_delay_ms = r->connect_delay_ms < 2000 ? r->connect_delay_ms * 2 : 2000;
}

static void connect_agent(LaunchRun *r) {
        submit(r, job_connect, on_connected);
}

static void on_created(int k, void *userdata) {
        LaunchRun *r = userdata;

        r->jobs--;
        if (k < 0) {
                fail(r, r->job_reason ? r->job_reason : strerror(-k));
                return;
        }
        if (r->s.phase != LAUNCH_DEFINED) { /* stopped while it was being created */
                submit(r, job_destroy, on_action_done);
                return;
        }
        enter(r, LAUNCH_BOOTING, NULL);
        r->boot_deadline_usec = now_usec(CLOCK_MONOTONIC) + (r->c.boot_usec ? r->c.boot_usec : 120u * 1000000u);
        r->connect_delay_ms = 100;
        connect_agent(r);
}

static int run_alloc(const LaunchRunConfig *c, LaunchPhase phase, LaunchRun **ret) {
        LaunchRun *r = calloc(1, sizeof(LaunchRun));

        if (!r)
                return -ENOMEM;
        r->c = *c;
        /* the launch digest binds the key release's releaser: only it can key this VM */
        if (!r->c.plan.releaser_key && c->kr && c->kr->releaser)
                r->c.plan.releaser_key = c->kr->releaser->pk;
        r->fd = -1;
        r->s.phase = phase;
        *ret = r;
        return 0;
}

int launch_run_new(const LaunchRunConfig *c, LaunchRun **ret) {
        return run_alloc(c, LAUNCH_DEFINED, ret);
}

int launch_run_new_adopted(const LaunchRunConfig *c, const char *domain, const uint8_t uuid[16], LaunchRun **ret) {
        _cleanup_(launch_run_freep) LaunchRun *r = NULL;
        int k = run_alloc(c, LAUNCH_RUNNING, &r);

        if (k < 0)
                return k;
        r->s.domain = strdup(domain);
        r->s.reason = strdup("recovered after a restart: keys released and confirmed before it");
        if (!r->s.domain || !r->s.reason)
                return -ENOMEM;
        memcpy(r->s.uuid, uuid, 16);
        *ret = TAKE_PTR(r);
        return 0;
}

int launch_run_adopt_plan(LaunchRun *r, const uint8_t spec_digest[LAUNCH_DIGEST_SIZE], uint32_t vsock_cid,
                          const char *metadata_xml, uint64_t attested_usec) {
        _cleanup_(launch_plan_freep) LaunchPlan *p = calloc(1, sizeof(LaunchPlan));
        _cleanup_free_ char *sh = NULL, *lh = NULL, *why = NULL;
        LaunchPlanOptions po = run_plan_options(r);
        int k;

        if (!p)
                return -ENOMEM;
        p->spec = r->c.spec;
        /* the digest as the launch computed it: over the boot files' contents, read again now (a
         * file changed since the launch no longer matches), with the prediction a policy asks for */
        k = launch_plan_boot_contents(r->c.spec, &po, p, &why);
        if (k < 0)
                return k == -ENOMEM ? k : -EINVAL;
        /* the domain must carry this very spec: its digest was bound at launch */
        if (memcmp(p->spec_digest, spec_digest, LAUNCH_DIGEST_SIZE) != 0)
                return -EINVAL;
        if (r->c.plan.releaser_key) {
                memcpy(p->releaser_key, r->c.plan.releaser_key, sizeof(p->releaser_key));
                p->has_releaser_key = true;
                proto_launch_digest(p->spec_digest, p->releaser_key, p->launch_digest);
        } else
                memcpy(p->launch_digest, p->spec_digest, sizeof(p->launch_digest));
        sh = hex_encode(p->spec_digest, LAUNCH_DIGEST_SIZE);
        lh = hex_encode(p->launch_digest, LAUNCH_DIGEST_SIZE);
        p->xml = strdup(metadata_xml ? metadata_xml : "");
        if (!sh || !lh || !p->xml)
                return -ENOMEM;
        memcpy(p->spec_digest_hex, sh, sizeof(p->spec_digest_hex));
        memcpy(p->launch_digest_hex, lh, sizeof(p->launch_digest_hex));
        p->vsock_cid = vsock_cid;
        launch_plan_free(r->s.plan);
        r->s.plan = TAKE_PTR(p);
        /* the policy's timer runs again, counted from the last attestation before the restart */
        r->s.attest_started_usec = attested_usec;
        schedule_reattest(r);
        return 0;
}

LaunchRun *launch_run_free(LaunchRun *r) {
        if (!r)
                return NULL;
        stop_io(r);
        exchange_result_done(&r->s.result);
        free(r->s.previous_token);
        launch_plan_free(r->s.plan);
        free(r->s.domain);
        free(r->s.reason);
        free(r->job_reason);
        free(r);
        return NULL;
}

void launch_run_start(LaunchRun *r) {
        submit(r, job_plan_create, on_created);
}

int launch_run_stop(LaunchRun *r) {
        bool paused = r->s.phase == LAUNCH_FAILED && r->c.kr->appraise.policy->failure_action == POLICY_FAILURE_PAUSE;

        /* a failed run's domain is gone, unless its failure action paused it */
        if (r->s.phase == LAUNCH_STOPPED || (r->s.phase == LAUNCH_FAILED && !paused))
                return -EALREADY;
        stop_io(r);
        end_reattest(r);
        enter(r, LAUNCH_STOPPED, "stopped on request");
        if (r->s.domain)
                submit(r, job_destroy, on_action_done);
        return 0;
}

/* ---- re-attestation of a Running VM ---- */

static uint64_t token_lifetime_usec(const LaunchRun *r) {
        int64_t sec = r->c.kr->token_lifetime_sec > 0 ? r->c.kr->token_lifetime_sec : TOKEN_LIFETIME_DEFAULT;

        return (uint64_t) sec * 1000000u;
}

/* When to refresh a token, counted from its issue: with a tenth of its lifetime left, at least
 * 60 s, but never in its first half, so that a short lifetime cannot make a tight loop. */
static uint64_t token_refresh_after_usec(const LaunchRun *r) {
        uint64_t lifetime = token_lifetime_usec(r), margin = lifetime / 10;

        if (margin < 60u * 1000000u)
                margin = 60u * 1000000u;
        if (margin > lifetime / 2)
                margin = lifetime / 2;
        return lifetime - margin;
}

static int on_reattest_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LaunchRun *r = userdata;

        r->reattest_timer = sd_event_source_disable_unref(r->reattest_timer);
        (void) launch_run_attest(r, r->reattest_due); /* -EBUSY: one is under way already */
        return 0;
}

/* The next of the policy's timer and the token's refresh, whichever comes first. */
static void schedule_reattest(LaunchRun *r) {
        int64_t interval = r->c.kr->appraise.policy->reattest_interval_sec;
        uint64_t now = now_usec(CLOCK_MONOTONIC), due = UINT64_MAX;
        LaunchReattest why = LAUNCH_REATTEST_TIMER;

        r->reattest_timer = sd_event_source_disable_unref(r->reattest_timer);
        if (!r->c.keep_attested || r->s.phase != LAUNCH_RUNNING || !r->s.plan)
                return;
        if (interval > 0) {
                /* counted from the attestation's start (errs early), which for a run adopted
                 * after a restart may be long ago: then it is due sooner, or at once */
                uint64_t rt = now_usec(CLOCK_REALTIME), iv = (uint64_t) interval * 1000000u;
                uint64_t age = rt > r->s.attest_started_usec ? rt - r->s.attest_started_usec : 0;

                due = now + (iv > age ? iv - age : 0);
        }
        if (r->s.result.token) {
                /* the token was issued after the attestation started: counting from then errs early */
                uint64_t age = now_usec(CLOCK_REALTIME) - r->s.attest_started_usec, after = token_refresh_after_usec(r);
                uint64_t at = now + (after > age ? after - age : 0);

                if (at < due) {
                        due = at;
                        why = LAUNCH_REATTEST_TOKEN_REFRESH;
                }
        }
        if (due == UINT64_MAX)
                return;
        r->reattest_due = why;
        /* fail closed: a VM cvmd promised to keep attested is not left running unwatched */
        if (sd_event_add_time(r->c.event, &r->reattest_timer, CLOCK_MONOTONIC, due, 0, on_reattest_timer, r) < 0)
                fail(r, "cannot set the re-attestation timer");
}

int launch_run_attest(LaunchRun *r, LaunchReattest why) {
        _cleanup_free_ char *refused = NULL;
        char *token;

        if (why < 0 || why >= _LAUNCH_REATTEST_MAX)
                return -EINVAL;
        if (r->s.phase != LAUNCH_RUNNING || r->s.reattesting || r->jobs > 0)
                return -EBUSY;
        if (!r->s.plan)
                return -EOPNOTSUPP;
        r->reattest_timer = sd_event_source_disable_unref(r->reattest_timer);
        r->reattest_reason = reattest_reasons[why];
        r->s.reattesting = true;
        /* the token stays warm while its successor is made; the verdict and flags start afresh */
        token = TAKE_PTR(r->s.result.token);
        free(r->s.previous_token);
        r->s.previous_token = token;
        r->s.previous_token_expires_usec = r->s.attest_started_usec + token_lifetime_usec(r);
        exchange_result_done(&r->s.result);
        r->s.result = (ExchangeResult) {};
        if (r->c.before_reattest && r->c.before_reattest(r, r->c.userdata, &refused) < 0) {
                fail(r, refused ? refused : "refused before the exchange");
                return 0;
        }
        r->connect_delay_ms = 100;
        /* the agent is up already: the connection gets one message timeout, not a boot's wait */
        r->boot_deadline_usec = now_usec(CLOCK_MONOTONIC) + (r->c.message_usec ? r->c.message_usec : 30u * 1000000u);
        enter(r, LAUNCH_ATTESTING, r->reattest_reason);
        connect_agent(r);
        return 0;
}

const char *launch_run_token(const LaunchRun *r) {
        if (r->s.phase == LAUNCH_RUNNING)
                return r->s.result.token;
        if (r->s.reattesting && r->s.previous_token && now_usec(CLOCK_REALTIME) < r->s.previous_token_expires_usec)
                return r->s.previous_token;
        return NULL;
}

const LaunchRunState *launch_run_state(const LaunchRun *r) {
        return &r->s;
}

bool launch_run_busy(const LaunchRun *r) {
        return r->jobs > 0;
}

bool launch_run_is_final(const LaunchRun *r) {
        return r->jobs == 0 && (r->s.phase == LAUNCH_RUNNING || r->s.phase == LAUNCH_FAILED ||
                                r->s.phase == LAUNCH_QUARANTINED || r->s.phase == LAUNCH_STOPPED);
}

json_object *launch_run_to_json(const LaunchRun *r) {
        const ExchangeResult *x = &r->s.result;
        json_object *j = verdict_to_json(&x->verdict);
        bool running = r->s.phase == LAUNCH_RUNNING;

        if (!j)
                return NULL;
        json_object_object_add(j, "domain", r->s.domain ? json_object_new_string(r->s.domain) : NULL);
        json_object_object_add(j, "spec_digest",
                               r->s.plan ? json_object_new_string(r->s.plan->spec_digest_hex) : NULL);
        json_object_object_add(j, "launch_digest",
                               r->s.plan ? json_object_new_string(r->s.plan->launch_digest_hex) : NULL);
        if (r->c.plan.releaser_key) {
                _cleanup_free_ char *rk = hex_encode(r->c.plan.releaser_key, PROTO_RELEASER_KEY_SIZE);
                json_object_object_add(j, "releaser_key", rk ? json_object_new_string(rk) : NULL);
        } else
                json_object_object_add(j, "releaser_key", NULL);
        json_object_object_add(j, "phase", json_object_new_string(launch_phase_to_string(r->s.phase)));
        json_object_object_add(j, "running", json_object_new_boolean(running));
        json_object_object_add(j, "released", json_object_new_boolean(x->released));
        json_object_object_add(j, "confirmed", json_object_new_boolean(x->confirmed));
        /* the exchange's own words when it has some ("evidence refused: ..."), else the run's */
        json_object_object_add(j, "error", x->error ? json_object_new_string(x->error)
                                           : !running && r->s.reason ? json_object_new_string(r->s.reason)
                                                                     : NULL);
        json_object_object_add(j, "token", x->token ? json_object_new_string(x->token) : NULL);
        return j;
}
