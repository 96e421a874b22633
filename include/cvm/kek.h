/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Key-encryption keys (KEKs), opened by URI:
 *
 *   file:/etc/cvmd/kek.bin     a local file holding the raw KEK (16, 24 or 32 bytes) or its hex
 *   file:///etc/cvmd/kek.bin   (64, 48 or 32 hex digits, one optional trailing newline)
 *   cred:NAME                  the systemd credential $CREDENTIALS_DIRECTORY/NAME (LoadCredential=),
 *                              same contents
 *   pkcs11:token=T;object=O?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/cvmd/pin
 *                              an AES key inside a PKCS#11 token (RFC 7512 URI)
 *
 * File and credential KEKs: the file must be a regular file (not a symlink), with no group or
 * other permission bits (0600 or 0400) and owned by root, or by the effective UID of the process
 * (so that unprivileged test runs work; cvmd runs as root, where the two are the same). Anything
 * else is refused before a byte is read. The KEK is held in a Secret; wrapping and unwrapping is
 * RFC 5649 in software.
 *
 * PKCS#11 KEKs never leave the token: wrap and unwrap are C_WrapKey / C_UnwrapKey inside it, with
 * CKM_AES_KEY_WRAP_KWP (PKCS#11 3.0) when the token lists it, else CKM_AES_KEY_WRAP_PAD (what
 * SoftHSM2 2.6 implements, RFC 5649 there). The KEK object must be an AES secret key with
 * CKA_SENSITIVE true and CKA_EXTRACTABLE false, and with CKA_WRAP / CKA_UNWRAP for the operation.
 * URI path attributes: token, manufacturer, serial, model, slot-id, object (CKA_LABEL), id
 * (CKA_ID, percent-encoded), type (must be "secret-key" when given); query attributes:
 * module-path (absolute; the module must be a root- or euid-owned file not writable by group or
 * others), pin-source (a file path or file: URI; the same ownership and 0600/0400 rule as KEK
 * files; its first line is the PIN) and pin-value. Without module-path, the configured module is
 * used (KekOptions.pkcs11_module, default $CVMD_PKCS11_MODULE). The URI must match exactly one
 * token and one key. pin-value is never written anywhere by cvmd: kek_reference() drops it, and
 * reasons never show it.
 *
 * A data key unwrapped by any provider lands in a Secret. Reasons are for people and contain no
 * secret. Errors: -EINVAL bad URI, -EPERM file ownership or mode refused, -ENOENT missing file or
 * object, -ENOTUNIQ several objects match, -EOPNOTSUPP the token lacks the mechanism, -EBADMSG
 * the integrity check of an unwrap failed, -EACCES login failed, -EIO other token failures. */

#include <stddef.h>
#include <stdint.h>

#include "cvm/keystore.h"
#include "cvm/macro.h"
#include "cvm/secret.h"

typedef struct Kek Kek;

typedef struct KekOptions {
        const char *pkcs11_module;   /* used when a pkcs11: URI has no module-path */
        const char *credentials_dir; /* for cred: URIs; NULL: $CREDENTIALS_DIRECTORY */
} KekOptions;

int kek_open(const char *uri, Kek **ret, char **ret_reason);
int kek_open_full(const char *uri, const KekOptions *opts, Kek **ret, char **ret_reason);
/* Wraps a data key (1..KEYWRAP_KEY_MAX bytes) with RFC 5649. */
int kek_wrap(Kek *k, const Secret *key, uint8_t **ret, size_t *ret_size);
int kek_unwrap(Kek *k, const uint8_t *wrapped, size_t n, Secret **ret);
Kek *kek_free(Kek *k);
DEFINE_CLEANUP(Kek *, kek_free)

/* The URI to store in an envelope: the one given, without pin-value. */
const char *kek_reference(const Kek *k);
/* The envelope algorithm for this KEK: "A256KWP" (A128KWP / A192KWP for short file KEKs). */
const char *kek_alg(const Kek *k);

/* Opens the envelope's KEK and unwraps its key; the alg must match the KEK's. For the host after
 * an accepted appraisal. */
int kek_unwrap_envelope(const KeyEnvelope *e, const KekOptions *opts, Secret **ret, char **ret_reason);
