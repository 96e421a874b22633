/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Key release for one exchange: what the appraisal needs (policy, collateral, golden GPU
 * measurements, the launch digest) and which data keys go to the guest once it is accepted.
 * key_release_attach() plugs it into an ExchangeHost as its appraise and unwrap callbacks, so
 * every front end (cvmctl launch, cvmctl attest-guest, cvmd) releases keys the same way: only
 * after an accepted appraisal, unwrapped one by one from the key store into one bundle. */

#include <openssl/evp.h>
#include <stdbool.h>

#include "cvm/appraise.h"
#include "cvm/exchange.h"
#include "cvm/gpu.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/policy.h"
#include "cvm/releaser.h"
#include "cvm/tdx.h"

/* Where the inputs come from; NULL members are not loaded. */
typedef struct KeyReleasePaths {
        const char *policy;     /* required */
        const char *collateral; /* TDX collateral directory (cvmctl verify tdx --collateral shape) */
        /* The host's collateral provider (collateral.h), made in its blocking mode; NULL: none */
        const struct CollateralConfig *host_collateral;
        const char *gpu_golden; /* golden GPU measurements (JSON list) */
        const char *token_key;  /* EC P-256 private key (PEM) that signs result tokens; NULL: a fresh one */
        const char *releaser_key; /* X25519 releaser key (include/cvm/releaser.h); NULL: an ephemeral one */
} KeyReleasePaths;

typedef struct KeyRelease {
        AppraiseConfig appraise; /* what the appraisal applies: appraise.policy is the policy */
        EVP_PKEY *signing_key;   /* signs the result token */
        const char *signing_kid; /* its key ID in the token's header; NULL: none */
        int64_t token_lifetime_sec; /* 0: TOKEN_LIFETIME_DEFAULT */
        const ReleaserKey *releaser; /* seals the key release; bound into the launch digest */
        /* what key_release_load() read, owned; a daemon may instead point appraise and
         * signing_key at inputs it owns itself */
        Policy *policy;
        TdxCollateral *collateral;
        struct Collateral *provider;
        NvGolden *golden;
        NvSource gpu_source; /* appraise.gpu_source points here (key_release_set_gpu_fetch()) */
        char *gpu_urls[2];   /* its RIM service and OCSP responder, owned */
        EVP_PKEY *token_key;
        ReleaserKey releaser_key;
        const char *keys_dir;
        char *const *key_ids; /* borrowed */
        size_t n_key_ids;
        bool keep_installed_keys; /* the bundle asks the agent to keep keys it has under these IDs */
} KeyRelease;

/* Loads the inputs. On failure *ret_reason names the file and what is wrong; returns -ENOMEM,
 * or -EINVAL for an input that is unreadable or invalid (a usage error for a CLI). */
int key_release_load(KeyRelease *kr, const KeyReleasePaths *p, char **ret_reason);
void key_release_done(KeyRelease *kr);
/* Reads a golden GPU measurement list (the nv_golden_parse() format); -EINVAL naming the file. */
int key_release_load_golden(const char *path, NvGolden **ret, char **ret_reason);
/* GPUs: RIMs and OCSP answers through the provider (collateral_gpu_source(): its cache, its
 * single flights and backoff, its offline mode), fetched from the RIM service at rim_url and the
 * OCSP responder at ocsp_url (NULL: the provider's). A golden list, when one is loaded, still
 * overrides the RIMs. -ENOMEM. */
int key_release_set_gpu_fetch(KeyRelease *kr, struct Collateral *provider, const char *rim_url,
                              const char *ocsp_url);
/* The keys to release: IDs in the key store at keys_dir (NULL: the default store). */
void key_release_set_keys(KeyRelease *kr, const char *keys_dir, char *const *key_ids, size_t n_key_ids);
/* Makes h appraise with kr and unwrap kr's keys; sets its token key and releaser too. */
void key_release_attach(KeyRelease *kr, ExchangeHost *h);
