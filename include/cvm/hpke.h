/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* HPKE, RFC 9180, base mode (mode_base 0x00: no PSK, no sender authentication) and auth mode
 * (mode_auth 0x02: the sender proves it holds a static private key, the receiver names the
 * public key it expects), on OpenSSL 3.0's EVP API (OpenSSL has no HPKE of its own before 3.2).
 * The PSK modes are not implemented.
 *
 * Suites: KEM DHKEM(X25519, HKDF-SHA256) (0x0020), KDF HKDF-SHA256 (0x0001), and any of the AEADs
 * AES-128-GCM (0x0001), AES-256-GCM (0x0002), ChaCha20-Poly1305 (0x0003) or export-only (0xFFFF).
 * cvmd uses HPKE_SUITE_DEFAULT: X25519 / HKDF-SHA256 / AES-256-GCM. The NIST-curve KEMs (P-256,
 * P-384, P-521), X448 and HKDF-SHA384/512 are not implemented: hpke_suite_check() refuses them
 * with -EOPNOTSUPP.
 *
 * The key release (ARCHITECTURE.md §2 steps 10-11, docs/guest-protocol.md), both ends, in auth
 * mode: the sender's static key is cvmd's releaser key, which the guest found bound into its
 * launch digest (HOST_DATA / MRCONFIGID), so only the cvmd that launched the guest can release:
 *
 *   host:  hpke_setup_auth_sender(suite, guest_pubkey, info, releaser_sk, enc, &ctx)
 *          hpke_seal(ctx, aad = nonce || VM UUID, bundle) -> ciphertext;  send enc + ciphertext
 *          hpke_key_confirmation(ctx, expected)
 *   guest: hpke_setup_auth_receiver(suite, enc, sk, info, releaser_pk, &ctx)
 *          hpke_open(ctx, aad, ciphertext) -> bundle (a Secret)
 *          hpke_key_confirmation(ctx, confirmation);  send it in the Ack
 *   host:  CRYPTO_memcmp(confirmation, expected) == 0, or the release failed
 *
 * Private keys and every key-schedule secret live in Secrets; contexts wipe them when freed.
 * Pure code: no I/O, no logging, no globals. Errors: -EINVAL (bad sizes or arguments),
 * -EOPNOTSUPP (suite), -EBADMSG (authentication failed on open), -ERANGE (sequence number
 * exhausted), -EPROTO (a DH result that is all zero: a low-order public key), -ENOMEM, -EIO
 * (OpenSSL failed otherwise). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/secret.h"

#define HPKE_KEM_X25519_HKDF_SHA256 0x0020u
#define HPKE_KDF_HKDF_SHA256 0x0001u
#define HPKE_AEAD_AES_128_GCM 0x0001u
#define HPKE_AEAD_AES_256_GCM 0x0002u
#define HPKE_AEAD_CHACHA20_POLY1305 0x0003u
#define HPKE_AEAD_EXPORT_ONLY 0xFFFFu

#define HPKE_MODE_BASE 0x00u
#define HPKE_MODE_AUTH 0x02u

/* X25519: Npk = Nenc = Nsk = 32. */
#define HPKE_PUBLIC_KEY_SIZE 32u
#define HPKE_PRIVATE_KEY_SIZE 32u
#define HPKE_ENC_SIZE 32u
#define HPKE_TAG_SIZE 16u
/* Limits on caller-supplied inputs (RFC 9180 §7.2.1 lets an implementation choose them). */
#define HPKE_INFO_MAX 1024u
#define HPKE_AAD_MAX (64u * 1024u)
#define HPKE_PLAINTEXT_MAX (1024u * 1024u)
#define HPKE_EXPORTER_CONTEXT_MAX 512u
#define HPKE_IKM_MIN 32u /* DeriveKeyPair: at least Nsk bytes of input keying material */
#define HPKE_IKM_MAX 1024u

/* Key confirmation: Export(exporter_context = HPKE_CONFIRM_CONTEXT, L = HPKE_CONFIRM_SIZE). */
#define HPKE_CONFIRM_CONTEXT "cvmd key confirmation v1"
#define HPKE_CONFIRM_SIZE 32u

typedef struct HpkeSuite {
        uint16_t kem_id;
        uint16_t kdf_id;
        uint16_t aead_id;
} HpkeSuite;

#define HPKE_SUITE_DEFAULT                                                                                     \
        ((HpkeSuite) { HPKE_KEM_X25519_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_256_GCM })

/* 0 when the suite is implemented, -EOPNOTSUPP otherwise. */
int hpke_suite_check(HpkeSuite suite);

/* Key pairs. The private key is 32 raw bytes in a Secret; the public key 32 raw bytes. */
int hpke_generate_key_pair(HpkeSuite suite, Secret **ret_sk, uint8_t ret_pk[HPKE_PUBLIC_KEY_SIZE]);
/* DeriveKeyPair(ikm), RFC 9180 §7.1.3: deterministic, ikm of HPKE_IKM_MIN..HPKE_IKM_MAX bytes. */
int hpke_derive_key_pair(HpkeSuite suite, const uint8_t *ikm, size_t ikm_size, Secret **ret_sk,
                         uint8_t ret_pk[HPKE_PUBLIC_KEY_SIZE]);
int hpke_public_key(HpkeSuite suite, const Secret *sk, uint8_t ret_pk[HPKE_PUBLIC_KEY_SIZE]);

/* A context (either mode): key, base nonce, sequence number and exporter secret. A sender context
 * only seals, a receiver context only opens; both export. */
typedef struct HpkeContext HpkeContext;

/* SetupBaseS(pkR, info): a fresh ephemeral key; writes enc (HPKE_ENC_SIZE bytes). */
int hpke_setup_sender(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size, const uint8_t *info, size_t info_size,
                      uint8_t ret_enc[HPKE_ENC_SIZE], HpkeContext **ret);
/* The same with a given ephemeral private key, for test vectors and nothing else: reusing an
 * ephemeral key with two recipients' messages breaks HPKE's guarantees. */
int hpke_setup_sender_with_ephemeral(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size, const uint8_t *info,
                                     size_t info_size, const Secret *sk_e, uint8_t ret_enc[HPKE_ENC_SIZE],
                                     HpkeContext **ret);
/* SetupBaseR(enc, skR, info). */
int hpke_setup_receiver(HpkeSuite suite, const uint8_t *enc, size_t enc_size, const Secret *sk_r, const uint8_t *info,
                        size_t info_size, HpkeContext **ret);

/* SetupAuthS(pkR, info, skS) (§5.1.3): AuthEncap with the sender's static private key sk_s and a
 * fresh ephemeral key; writes enc. */
int hpke_setup_auth_sender(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size, const uint8_t *info,
                           size_t info_size, const Secret *sk_s, uint8_t ret_enc[HPKE_ENC_SIZE], HpkeContext **ret);
/* The same with a given ephemeral private key, for test vectors only (see above). */
int hpke_setup_auth_sender_with_ephemeral(HpkeSuite suite, const uint8_t *pk_r, size_t pk_r_size,
                                          const uint8_t *info, size_t info_size, const Secret *sk_s,
                                          const Secret *sk_e, uint8_t ret_enc[HPKE_ENC_SIZE], HpkeContext **ret);
/* SetupAuthR(enc, skR, info, pkS): AuthDecap with the public key pk_s the sender must hold the
 * private half of. A context set up with another sender's key derives other keys: hpke_open()
 * then fails with -EBADMSG, and the key confirmation differs. */
int hpke_setup_auth_receiver(HpkeSuite suite, const uint8_t *enc, size_t enc_size, const Secret *sk_r,
                             const uint8_t *info, size_t info_size, const uint8_t *pk_s, size_t pk_s_size,
                             HpkeContext **ret);

/* Seal: ciphertext = AEAD(pt) || tag, pt_size + HPKE_TAG_SIZE bytes; the sequence number
 * advances only on success. -EOPNOTSUPP for an export-only suite, -EPERM on a receiver. */
int hpke_seal(HpkeContext *ctx, const uint8_t *aad, size_t aad_size, const uint8_t *pt, size_t pt_size,
              uint8_t **ret_ct, size_t *ret_ct_size);
/* Open: the plaintext lands in a Secret. On -EBADMSG (wrong key, aad, sequence or tampered
 * ciphertext) nothing is returned and the sequence number does not advance. */
int hpke_open(HpkeContext *ctx, const uint8_t *aad, size_t aad_size, const uint8_t *ct, size_t ct_size,
              Secret **ret_pt);
/* Export(exporter_context, L), RFC 9180 §5.3: L bytes (1..255*Nh) into ret. The caller wipes
 * them when they are secret. */
int hpke_export(const HpkeContext *ctx, const uint8_t *exporter_context, size_t exporter_context_size, uint8_t *ret,
                size_t len);
/* Export(HPKE_CONFIRM_CONTEXT, HPKE_CONFIRM_SIZE): what the guest sends back in its Ack and
 * the host compares (CRYPTO_memcmp) with its own. Safe to send: it reveals nothing about the key. */
int hpke_key_confirmation(const HpkeContext *ctx, uint8_t ret[HPKE_CONFIRM_SIZE]);

/* The next sequence number (for tests and diagnostics). */
uint64_t hpke_context_seq(const HpkeContext *ctx);

HpkeContext *hpke_context_free(HpkeContext *ctx);
DEFINE_CLEANUP(HpkeContext *, hpke_context_free)
