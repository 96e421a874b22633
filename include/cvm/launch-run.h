/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The attestation-gated launch (ARCHITECTURE.md §2), one engine under every front end: plan
 * and create the domain, wait for its agent, run the exchange with the key release, and on any
 * failure apply the policy's failure action, so that a guest that was not attested never gets
 * a key. It runs on an sd-event loop: the calls that block (libvirt, connecting to the agent)
 * on a Worker thread, the exchange on the loop, the retries as timers. cvmctl launch runs one
 * on a loop of its own; cvmd runs one per VM on its main loop. */

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "cvm/channel-addr.h"
#include "cvm/exchange.h"
#include "cvm/key-release.h"
#include "cvm/launch-plan.h"
#include "cvm/lifecycle.h"
#include "cvm/worker.h"

#define LAUNCH_AGENT_PORT 4050u

typedef enum LaunchPhase {
        LAUNCH_DEFINED,     /* accepted, being planned and created */
        LAUNCH_BOOTING,     /* domain created, waiting for the agent */
        LAUNCH_ATTESTING,   /* exchange: evidence and appraisal */
        LAUNCH_RELEASING,   /* accepted: keys unwrapped, sealed, waiting for the guest's receipt */
        LAUNCH_RUNNING,     /* keys released and confirmed */
        LAUNCH_FAILED,      /* refused or broken: the domain destroyed (or paused, per the policy) */
        LAUNCH_QUARANTINED, /* refused: the domain kept without keys, per the policy */
        LAUNCH_STOPPED,     /* stopped on request: the domain destroyed */
        _LAUNCH_PHASE_MAX,
} LaunchPhase;

const char *launch_phase_to_string(LaunchPhase p);

typedef struct LaunchRun LaunchRun;

typedef struct LaunchRunConfig {
        sd_event *event;
        Worker *worker;          /* runs every call that may block */
        Lifecycle *lifecycle;    /* used on the worker thread only */
        const LaunchSpec *spec;  /* borrowed: outlives the run */
        LaunchPlanOptions plan;  /* how the plan is made (its pointers borrowed) */
        KeyRelease *kr;          /* borrowed: policy, keys, signing key */
        NonceStore *nonces;
        ChannelAddr agent;       /* family 0: vsock:<the plan's CID>:vsock_port */
        uint32_t vsock_port;     /* 0: LAUNCH_AGENT_PORT */
        uint64_t boot_usec;      /* how long to wait for the agent; 0: 120 s */
        uint64_t message_usec;   /* per message of the exchange; 0: 30 s */
        CvmTee dev_evidence;     /* "tee": "none": the simulated evidence to ask for */
        /* cvmd: once Running, re-attest on the policy's reattest_interval_sec and shortly before
         * the result token expires (launch_run_attest()); false: never by itself */
        bool keep_attested;
        /* Called before each re-attestation, so that it appraises under the policy in force
         * (the owner may point kr's policy at a reloaded one). < 0 with *ret_reason: refused
         * without an exchange, and the failure action applies. NULL: the policy stays. */
        int (*before_reattest)(LaunchRun *run, void *userdata, char **ret_reason);
        /* every phase change, with its reason (NULL when none) */
        void (*phase_changed)(LaunchRun *run, LaunchPhase previous, void *userdata);
        /* cvmd: several workers, each with a libvirt connection of its own. Called before a job
         * is submitted while the run has none in flight (so its jobs stay in order), to move the
         * run to the least busy pair: a libvirt call that hangs holds one worker, not every
         * launch. NULL: the config's worker and lifecycle stay. */
        void (*pick_worker)(void *userdata, Worker **worker, Lifecycle **lifecycle);
        /* Tests only (cvmd's CVMD_TEST_STALL_LIBVIRT, cvmd(8)): the create job sleeps this many
         * seconds on its worker before its first libvirt call, as a hung libvirtd would. */
        unsigned test_stall_sec;
        void *userdata;
} LaunchRunConfig;

/* What a run shows its owner; read it, never write it. */
typedef struct LaunchRunState {
        LaunchPhase phase;
        char *reason;             /* why it failed or stopped; NULL when running */
        LaunchPlan *plan;         /* once planned */
        char *domain;             /* libvirt's name, once created */
        uint8_t uuid[16];
        ExchangeResult result;    /* the verdict, released, confirmed, token */
        uint64_t attest_started_usec; /* CLOCK_REALTIME */
        bool reattesting;         /* a re-attestation of a Running VM is under way */
        /* while it is: the token of the attestation before it, and when that expires
         * (CLOCK_REALTIME), so that a warm token is not withdrawn by its own refresh */
        char *previous_token;
        uint64_t previous_token_expires_usec;
} LaunchRunState;

/* Why a Running VM is attested again. */
typedef enum LaunchReattest {
        LAUNCH_REATTEST_ON_DEMAND,
        LAUNCH_REATTEST_TIMER,
        LAUNCH_REATTEST_TOKEN_REFRESH,
        LAUNCH_REATTEST_GPU_RELOAD, /* the guest agent said its GPU driver was reloaded: a hint */
        _LAUNCH_REATTEST_MAX,
} LaunchReattest;

int launch_run_new(const LaunchRunConfig *c, LaunchRun **ret);
/* A run for a domain found running after a restart, keyed before it: phase Running. */
int launch_run_new_adopted(const LaunchRunConfig *c, const char *domain, const uint8_t uuid[16], LaunchRun **ret);
/* Gives an adopted run the plan a re-attestation binds, rebuilt from what the domain carries:
 * the spec digest (which must be the spec's), its vsock CID and cvmd's metadata element (the
 * GPUs' guest addresses); the launch digest is computed anew from the spec and the run's
 * releaser key, never read back. attested_usec (CLOCK_REALTIME): when its last accepted
 * attestation was, from which the policy's timer counts (keep_attested). -EINVAL when the
 * digest is not the spec's as launched: computed again over the boot files, so a file that
 * changed or vanished since the launch refuses the adoption. */
int launch_run_adopt_plan(LaunchRun *r, const uint8_t spec_digest[LAUNCH_DIGEST_SIZE], uint32_t vsock_cid,
                          const char *metadata_xml, uint64_t attested_usec);
/* Frees at once; a worker job still in flight for it must have completed (launch_run_busy()). */
LaunchRun *launch_run_free(LaunchRun *r);
DEFINE_CLEANUP(LaunchRun *, launch_run_free)

void launch_run_start(LaunchRun *r);
/* Stops: the domain destroyed, phase Stopped. -EALREADY when there is nothing left to stop. */
int launch_run_stop(LaunchRun *r);
/* Attests a Running VM again: a fresh exchange (new nonce) appraised under the policy in force,
 * the keys released again (replacing the guest's), a new token. Running -> Attesting ->
 * (Releasing ->) Running, each with the reason "re-attestation: <why>"; a refusal applies the
 * policy's failure action as a failed launch does. -EBUSY when the run is not Running (or is
 * re-attesting already), -EOPNOTSUPP for a run adopted after a restart without a plan (its
 * plan, which the exchange binds, is not known: see launch_run_adopt_plan()). */
int launch_run_attest(LaunchRun *r, LaunchReattest why);
/* The token a caller may be given now: the current one when Running, the one before it while a
 * re-attestation runs and it has not expired; NULL when none. */
const char *launch_run_token(const LaunchRun *r);
const LaunchRunState *launch_run_state(const LaunchRun *r);
bool launch_run_busy(const LaunchRun *r);
/* Whether the run reached an outcome that will not change by itself. */
bool launch_run_is_final(const LaunchRun *r);

/* The verdict's JSON plus domain, spec_digest, launch_digest, releaser_key, phase, running, released,
 * confirmed, error, token. */
json_object *launch_run_to_json(const LaunchRun *r);
