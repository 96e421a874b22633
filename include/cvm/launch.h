/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The attestation-gated launch (ARCHITECTURE.md §2): create the planned domain, wait for its
 * agent, run the exchange with the key release, and on any failure destroy the domain, so a
 * guest that was not attested never keeps running. Each phase change is reported with a reason.
 * cvmctl launch runs it in-process; cvmd will run the same phases on its event loop. */

#include <json-c/json.h>

#include "cvm/channel-addr.h"
#include "cvm/exchange.h"
#include "cvm/key-release.h"
#include "cvm/launch-plan.h"
#include "cvm/lifecycle.h"

#define LAUNCH_AGENT_PORT 4050u

typedef enum LaunchPhase {
        LAUNCH_DEFINED,   /* planned, nothing created */
        LAUNCH_BOOTING,   /* domain created, waiting for the agent */
        LAUNCH_ATTESTING, /* exchange running: evidence, appraisal */
        LAUNCH_RUNNING,   /* keys released and confirmed */
        LAUNCH_FAILED,    /* refused or broken; the domain destroyed */
        _LAUNCH_PHASE_MAX,
} LaunchPhase;

const char *launch_phase_to_string(LaunchPhase p);

typedef struct LaunchRunOptions {
        ChannelAddr agent;        /* family 0: vsock:<the plan's CID>:LAUNCH_AGENT_PORT */
        uint64_t boot_usec;       /* how long to wait for the agent */
        uint64_t message_usec;    /* per message of the exchange */
        CvmTee dev_evidence;      /* "tee": "none": the simulated evidence to ask for */
        /* called on every phase change, with the domain's name (NULL before it exists) */
        void (*progress)(void *userdata, LaunchPhase phase, const char *domain, const char *reason);
        void *userdata;
} LaunchRunOptions;

typedef struct LaunchOutcome {
        LaunchPhase phase; /* LAUNCH_RUNNING or LAUNCH_FAILED */
        char *domain;      /* NULL when it was never created */
        char *reason;      /* why it failed */
        ExchangeResult exchange;
} LaunchOutcome;

void launch_outcome_done(LaunchOutcome *o);

/* Fills h for the plan's exchange: TEE, GPU count, the launch digest binding, kr's appraisal,
 * key release and signing key, nonces from the store (vm_uuid is the caller's to set). */
void launch_exchange_host(const LaunchPlan *plan, KeyRelease *kr, CvmTee dev_evidence, NonceStore *nonces,
                          ExchangeHost *h);
/* Runs the plan. Returns 0 when the launch reached an outcome (see ret->phase), -ENOMEM when it
 * could not. kr must have its keys set (key_release_set_keys()). */
int launch_run(const LaunchPlan *plan, Lifecycle *l, KeyRelease *kr, const LaunchRunOptions *o,
               LaunchOutcome *ret);

/* The verdict's JSON plus domain, launch_digest, phase, running, released, confirmed, error, token. */
json_object *launch_outcome_to_json(const LaunchOutcome *o, const LaunchPlan *plan);
