/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The host side of one attestation exchange with a guest agent (ARCHITECTURE.md §2, steps
 * 6-11): Hello, Challenge (a fresh single-use nonce), Evidence, appraisal, and only when the
 * appraisal accepts: unwrap the data keys, seal them with HPKE to the guest's attested key
 * (aad = nonce || VM UUID), KeyRelease with a signed result token, and the guest's Ack with the
 * key confirmation. Every failure, at any step, releases nothing and says why. */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/guest-proto.h"
#include "cvm/nonce.h"
#include "cvm/secret.h"
#include "cvm/verdict.h"

/* The key bundle inside the HPKE ciphertext: "CVMK", version 1, a count, then per key:
 * u8 kid length, kid, u16 BE key length, key. Built and parsed only inside Secrets. */
#define KEY_BUNDLE_MAGIC "CVMK"
#define KEY_BUNDLE_MAX_KEYS 64u

int key_bundle_new(Secret **ret);
int key_bundle_add(Secret **bundle, const char *kid, const Secret *key);
/* Calls cb for each key; the key points into the bundle (do not keep it). -EBADMSG when the
 * bundle is malformed. */
int key_bundle_foreach(const Secret *bundle,
                       int (*cb)(void *userdata, const char *kid, const uint8_t *key, size_t size),
                       void *userdata);

typedef struct ExchangeEvidence {
        const ProtoMsg *msg;                    /* the Evidence message */
        uint8_t report_data[64];                /* what REPORT_DATA must be */
        uint8_t gpu_nonces[PROTO_GPUS_MAX][32]; /* what each GPU's nonce must be */
        uint32_t gpus_requested;
} ExchangeEvidence;

typedef struct ExchangeHost {
        const char *tee; /* "sev-snp" or "tdx" */
        uint32_t gpus;
        uint8_t vm_uuid[16];
        uint64_t timeout_usec; /* for each message the host waits for */
        NonceStore *nonces;
        uint64_t nonce_ttl_usec;
        /* Verifies the evidence and applies the policy: fills v, sets v->authentic and
         * v->accepted. Must check REPORT_DATA and every GPU nonce against `e`. */
        int (*appraise)(void *userdata, const ExchangeEvidence *e, Verdict *v);
        /* Called only after an accepted appraisal: the data keys, unwrapped, in a bundle. */
        int (*unwrap_keys)(void *userdata, Secret **ret_bundle, char **ret_reason);
        void *userdata;
        EVP_PKEY *token_key; /* signs the result token (ES256) */
        const char *token_kid;
} ExchangeHost;

typedef struct ExchangeResult {
        bool released;  /* KeyRelease was sent */
        bool confirmed; /* and the guest's Ack proved it opened it */
        Verdict verdict;
        char *error; /* why nothing was released, or why the release is unconfirmed */
        char *token;
} ExchangeResult;

void exchange_result_done(ExchangeResult *r);

/* Runs one exchange on a connected stream socket. Returns 0 when the exchange ran to an outcome
 * (see ret->released / ret->confirmed / ret->error), -ENOMEM when it could not. */
int exchange_host_run(const ExchangeHost *h, int fd, ExchangeResult *ret);
