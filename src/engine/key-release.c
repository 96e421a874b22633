/* SPDX-License-Identifier: Apache-2.0 */
/* Key release for one exchange: its inputs loaded once, and the exchange's two callbacks. */
#include <errno.h>
#include <openssl/pem.h>
#include <string.h>

#include "cvm/collateral.h"
#include "cvm/crypto.h"
#include "cvm/kek.h"
#include "cvm/key-release.h"
#include "cvm/keystore.h"
#include "cvm/pcs.h"
#include "cvm/token.h"
#include "cvm/util.h"

static int load_token_key(const char *path, EVP_PKEY **ret, char **ret_reason) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(BIO_freep) BIO *b = NULL;
        size_t size;
        EVP_PKEY *k;
        int r;

        r = read_file_bounded(path, CVM_INPUT_MAX, &data, &size);
        if (r < 0)
                return set_reason(ret_reason, r == -ENOMEM ? r : -EINVAL, "%s: cannot read: %s", path, strerror(-r));
        b = BIO_new_mem_buf(data, (int) size);
        k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        explicit_bzero(data, size);
        openssl_clear_errors();
        if (!k || !pkey_is_ec_curve(k, NID_X9_62_prime256v1)) {
                EVP_PKEY_free(k);
                return set_reason(ret_reason, -EINVAL, "%s: not an EC P-256 private key", path);
        }
        *ret = k;
        return 0;
}

int key_release_load_golden(const char *path, NvGolden **ret, char **ret_reason) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *why = NULL;
        size_t size;
        int r;

        r = read_file_bounded(path, CVM_INPUT_MAX, &data, &size);
        if (r < 0)
                return set_reason(ret_reason, r == -ENOMEM ? r : -EINVAL, "%s: cannot read: %s", path, strerror(-r));
        r = nv_golden_parse((const char *) data, size, ret, &why);
        if (r < 0)
                return set_reason(ret_reason, r == -ENOMEM ? r : -EINVAL, "%s: %s", path,
                                  why ? why : "invalid golden list");
        return 0;
}

int key_release_load(KeyRelease *kr, const KeyReleasePaths *p, char **ret_reason) {
        int r;

        r = policy_load(p->policy, &kr->policy, ret_reason);
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        if (p->collateral) {
                r = pcs_collateral_load_dir(p->collateral, &kr->collateral, ret_reason);
                if (r < 0 && ret_reason && !*ret_reason)
                        (void) set_reason(ret_reason, r, "%s: cannot load the collateral", p->collateral);
                if (r < 0)
                        return r == -ENOMEM ? r : -EINVAL;
        }
        if (p->host_collateral) {
                r = collateral_new(p->host_collateral, &kr->provider);
                if (r < 0)
                        return set_reason(ret_reason, r, "cannot set up the collateral cache: %s", strerror(-r));
                r = key_release_set_gpu_fetch(kr, kr->provider, p->host_collateral->nvidia_rim_url,
                                              p->host_collateral->nvidia_ocsp_url);
                if (r < 0)
                        return r;
        }
        if (p->gpu_golden) {
                r = key_release_load_golden(p->gpu_golden, &kr->golden, ret_reason);
                if (r < 0)
                        return r;
        }
        if (p->token_key)
                r = load_token_key(p->token_key, &kr->token_key, ret_reason);
        else if ((r = token_key_generate(&kr->token_key)) < 0)
                r = set_reason(ret_reason, r, "cannot make a token key");
        if (r < 0)
                return r;
        if (p->releaser_key)
                r = releaser_key_load(p->releaser_key, &kr->releaser_key, ret_reason);
        else if ((r = releaser_key_generate(&kr->releaser_key)) < 0)
                r = set_reason(ret_reason, r, "cannot make a releaser key");
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;

        kr->appraise.policy = kr->policy;
        kr->appraise.tdx_collateral = kr->collateral;
        kr->appraise.collateral = kr->provider;
        kr->appraise.gpu_golden = kr->golden;
        kr->signing_key = kr->token_key;
        kr->releaser = &kr->releaser_key;
        return 0;
}

void key_release_done(KeyRelease *kr) {
        policy_free(kr->policy);
        tdx_collateral_free(kr->collateral);
        collateral_free(kr->provider);
        nv_golden_free(kr->golden);
        for (size_t i = 0; i < ELEMENTSOF(kr->gpu_urls); i++)
                free(kr->gpu_urls[i]);
        EVP_PKEY_free(kr->token_key);
        releaser_key_done(&kr->releaser_key);
        *kr = (KeyRelease) {};
}

int key_release_set_gpu_fetch(KeyRelease *kr, Collateral *provider, const char *rim_url, const char *ocsp_url) {
        const char *from[2] = { rim_url, ocsp_url };

        for (size_t i = 0; i < ELEMENTSOF(from); i++) {
                free(kr->gpu_urls[i]);
                kr->gpu_urls[i] = NULL;
                if (from[i] && !(kr->gpu_urls[i] = strdup(from[i])))
                        return -ENOMEM;
        }
        collateral_gpu_source(provider, kr->gpu_urls[0], kr->gpu_urls[1], &kr->gpu_source);
        kr->appraise.gpu_source = &kr->gpu_source;
        return 0;
}

void key_release_set_keys(KeyRelease *kr, const char *keys_dir, char *const *key_ids, size_t n_key_ids) {
        kr->keys_dir = keystore_dir(keys_dir);
        kr->key_ids = key_ids;
        kr->n_key_ids = n_key_ids;
}

static int appraise(void *userdata, const ExchangeEvidence *e, Verdict *v) {
        return appraise_evidence(&((KeyRelease *) userdata)->appraise, e, v);
}

/* Called by the exchange only after an accepted appraisal. */
static int unwrap_keys(void *userdata, Secret **ret_bundle, char **ret_reason) {
        KeyRelease *kr = userdata;
        _cleanup_(secret_freep) Secret *bundle = NULL;
        int r = key_bundle_new(&bundle);

        if (r < 0)
                return r;
        /* the bundle's limits, checked before any key is unwrapped (and again as it is built) */
        r = key_bundle_check_keys(kr->keys_dir, kr->key_ids, kr->n_key_ids, ret_reason);
        if (r < 0)
                return r;
        key_bundle_set_replace(bundle, !kr->keep_installed_keys);
        for (size_t i = 0; i < kr->n_key_ids; i++) {
                _cleanup_(secret_freep) Secret *key = NULL;
                _cleanup_free_ char *why = NULL;
                const char *kid = kr->key_ids[i];
                _cleanup_(key_envelope_done) KeyEnvelope e = {};

                r = keystore_read(kr->keys_dir, kid, &e, &why);
                if (r >= 0)
                        r = kek_unwrap_envelope(&e, NULL, &key, &why);
                if (r >= 0)
                        r = key_bundle_add_install(&bundle, kid, &e.install, key, &why);
                if (r < 0)
                        return set_reason(ret_reason, r, "key '%s': %s", kid, why ? why : strerror(-r));
        }
        *ret_bundle = TAKE_PTR(bundle);
        return 0;
}

void key_release_attach(KeyRelease *kr, ExchangeHost *h) {
        h->appraise = appraise;
        h->unwrap_keys = unwrap_keys;
        h->userdata = kr;
        h->token_key = kr->signing_key;
        h->token_kid = kr->signing_kid;
        h->token_lifetime_sec = kr->token_lifetime_sec;
        h->policy_name = kr->appraise.policy ? kr->appraise.policy->name : NULL;
        h->launch_digest = kr->appraise.has_launch_digest ? kr->appraise.launch_digest : NULL;
        h->releaser = kr->releaser;
}
