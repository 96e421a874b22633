/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The host side of one attestation exchange with a guest agent (ARCHITECTURE.md §2, steps
 * 6-11): Hello, Challenge (a fresh single-use nonce), Evidence, appraisal, and only when the
 * appraisal accepts: unwrap the data keys, seal them with HPKE in auth mode from the releaser key
 * to the guest's attested key (aad = nonce || VM UUID), KeyRelease with a signed result token,
 * and the guest's Ack with the key confirmation, which the guest sends only once the keys are
 * installed. Every failure, at any step, releases nothing and says why, to the caller and (after
 * the Hello) to the guest. */

#include <openssl/evp.h>
#include <systemd/sd-event.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/guest-proto.h"
#include "cvm/key-bundle.h"
#include "cvm/nonce.h"
#include "cvm/releaser.h"
#include "cvm/secret.h"
#include "cvm/tee.h"
#include "cvm/verdict.h"

/* The key bundle inside the HPKE ciphertext: cvm/key-bundle.h. */

typedef struct ExchangeEvidence {
        const ProtoMsg *msg;                    /* the Evidence message */
        uint8_t report_data[64];                /* what REPORT_DATA must be */
        uint8_t gpu_nonces[PROTO_GPUS_MAX][32]; /* what each GPU's nonce must be */
        uint32_t gpus_requested;
        uint8_t switch_nonces[PROTO_SWITCHES_MAX][32]; /* what each NVSwitch's nonce must be */
        uint32_t switches_requested;
} ExchangeEvidence;

typedef struct ExchangeHost {
        CvmTee tee; /* CVM_TEE_SEV_SNP or CVM_TEE_TDX: what the challenge asks for */
        uint32_t gpus;
        uint32_t switches; /* NVSwitches whose evidence the challenge asks for */
        uint8_t vm_uuid[16];
        uint64_t timeout_usec; /* for each message the host waits for or sends */
        NonceStore *nonces;
        uint64_t nonce_ttl_usec;
        /* Verifies the evidence and applies the policy: fills v, sets v->authentic and
         * v->accepted. Must check REPORT_DATA and every GPU nonce against `e`. -EINPROGRESS: no
         * verdict yet, collateral it needs is being fetched; the session holds the evidence
         * (exchange_host_is_appraising()) until exchange_host_resume() calls this again with it
         * and a fresh verdict. */
        int (*appraise)(void *userdata, const ExchangeEvidence *e, Verdict *v);
        /* Called only after an accepted appraisal: the data keys, unwrapped, in a bundle. */
        int (*unwrap_keys)(void *userdata, Secret **ret_bundle, char **ret_reason);
        void *userdata;
        EVP_PKEY *token_key; /* signs the result token (ES256) */
        const char *token_kid;
        int64_t token_lifetime_sec;     /* 0: TOKEN_LIFETIME_DEFAULT */
        const char *policy_name;        /* the token's "ear.appraisal-policy-id"; NULL: none */
        const uint8_t *launch_digest;   /* 48 bytes bound at launch, named in the token; NULL: none */
        /* The releaser (include/cvm/releaser.h), required: its public key and spec_digest go into
         * the Challenge, from which the guest recomputes the launch digest bound into its own
         * report and refuses a releaser that was not bound; its private key seals the key release
         * in HPKE auth mode, so that only its holder can release. */
        const ReleaserKey *releaser;
        const uint8_t *spec_digest; /* PROTO_SPEC_DIGEST_SIZE bytes; NULL: all zero (no spec) */
} ExchangeHost;

typedef struct ExchangeResult {
        bool released;  /* KeyRelease was sent */
        bool confirmed; /* and the guest's Ack proved it opened it */
        Verdict verdict;
        char *error; /* why nothing was released, or why the release is unconfirmed */
        char *token;
} ExchangeResult;

void exchange_result_done(ExchangeResult *r);

/* The exchange as a state machine that does no I/O: the driver feeds it the bytes it receives,
 * sends what it asks to send, and tells it when its deadline passed, the peer closed, or the
 * channel failed. It reads exactly one frame at a time (exchange_host_input_wanted() never goes
 * past the frame in hand), refuses a frame header over PROTO_FRAME_MAX before allocating its
 * body, and each message it waits for or sends has its own deadline of h->timeout_usec. The
 * callbacks in `h` (appraise, unwrap_keys) run synchronously inside exchange_host_feed(). `h`
 * and what it points to must outlive the session. */
typedef struct ExchangeHostSession ExchangeHostSession;

/* -EINVAL when h->tee is not a TEE that makes evidence, or h has no releaser key. */
int exchange_host_session_new(const ExchangeHost *h, ExchangeHostSession **ret);
ExchangeHostSession *exchange_host_session_free(ExchangeHostSession *s);
DEFINE_CLEANUP(ExchangeHostSession *, exchange_host_session_free)

/* How many bytes the session takes now (0 while it has output pending or is done). */
size_t exchange_host_input_wanted(const ExchangeHostSession *s);
/* Takes up to n received bytes, at most exchange_host_input_wanted(); returns how many it took.
 * The driver keeps the rest for later, or better reads no more than wanted. */
size_t exchange_host_feed(ExchangeHostSession *s, const uint8_t *p, size_t n);
/* The peer closed its end. */
void exchange_host_eof(ExchangeHostSession *s);
/* Reading or writing the channel failed with `error` (-errno). */
void exchange_host_channel_failed(ExchangeHostSession *s, int error);

/* What to send next: true with the bytes (valid until the next call on the session), false when
 * there is nothing to send. exchange_host_output_done() says n of them were sent. */
bool exchange_host_pending_output(const ExchangeHostSession *s, const uint8_t **ret, size_t *ret_size);
void exchange_host_output_done(ExchangeHostSession *s, size_t n);

/* When the step in progress times out: absolute CLOCK_MONOTONIC microseconds (as
 * proto_now_usec()), UINT64_MAX once done. exchange_host_timeout() ends the step with "timed
 * out" when now_usec has reached the deadline, and does nothing before it. */
uint64_t exchange_host_deadline(const ExchangeHostSession *s);
void exchange_host_timeout(ExchangeHostSession *s, uint64_t now_usec);

/* The appraisal waits for collateral being fetched: the Evidence is held, its nonce consumed,
 * nothing is read from or sent to the guest, and the deadline is UINT64_MAX (the fetch has its
 * own timeout, and a failed fetch is a refusal with its reason on the next try). The driver
 * calls exchange_host_resume() when the fetch ended, and the exchange goes on from the
 * appraisal (release or refusal, or another wait). exchange_host_channel_failed() ends the wait
 * without a verdict. */
bool exchange_host_is_appraising(const ExchangeHostSession *s);
void exchange_host_resume(ExchangeHostSession *s);

/* True once the exchange has its outcome and nothing is left to send. */
bool exchange_host_is_done(const ExchangeHostSession *s);
/* Moves the outcome out of a finished session (see ExchangeResult). -EBUSY before it is done,
 * -ENOMEM when it ran out of memory on the way. */
int exchange_host_result(ExchangeHostSession *s, ExchangeResult *ret);

/* Drivers. exchange_host_run() is the blocking one: it runs one exchange on a connected stream
 * socket, polling it and honouring each deadline. Its appraisal must not wait (a blocking
 * collateral provider fetches in place): an appraisal that answers -EINPROGRESS ends it.
 * Returns 0 when the exchange ran to an outcome (see ret->released / ret->confirmed /
 * ret->error), -ENOMEM when it could not, -EINVAL for a bad h->tee. */
int exchange_host_run(const ExchangeHost *h, int fd, ExchangeResult *ret);

/* The sd-event driver: watches fd (not owned, left open) with an I/O source and the session's
 * deadline with a CLOCK_MONOTONIC timer, both owned by the session, and calls done(s, userdata)
 * once exchange_host_is_done(s); `done` may free the session. Attach a fresh session, once.
 * While the appraisal waits, `waiting` (optional) is called, once per wait: the caller arranges
 * for exchange_host_event_resume() when what it waits for is in (collateral_wait()), and
 * returns 0, or -errno to end the exchange without a verdict. */
typedef void (*ExchangeHostDoneFn)(ExchangeHostSession *s, void *userdata);
/* As exchange_host_attach_event_full() without `waiting`: an appraisal that waits ends it. */
int exchange_host_attach_event(ExchangeHostSession *s, sd_event *e, int fd, ExchangeHostDoneFn done,
                               void *userdata);
typedef int (*ExchangeHostWaitFn)(ExchangeHostSession *s, void *userdata);
int exchange_host_attach_event_full(ExchangeHostSession *s, sd_event *e, int fd, ExchangeHostDoneFn done,
                                    ExchangeHostWaitFn waiting, void *userdata);
/* Runs the held appraisal again and moves the exchange on under the driver (which may call
 * `done`, and so free the session, before this returns). */
void exchange_host_event_resume(ExchangeHostSession *s);
