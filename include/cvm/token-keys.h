/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The result-token signing keys, kept in cvmd's state directory:
 *
 *   token-signing-key.pem            the current key (EC P-256, PKCS#8 PEM, mode 0600)
 *   token-signing-key.previous.pem   the key it replaced, kept while tokens it signed live
 *
 * The current key is made on first start. A key file that is not a regular file, is not owned
 * by our effective user or is readable or writable by group or others is refused (-EPERM), not
 * repaired: someone else may have read it. A key's creation time is its file's mtime, set when
 * it is written and never touched after.
 *
 * Rotation with overlap: once the current key is rotate_sec old, a new one takes over signing,
 * and the old one's public key stays in the JWKS for overlap_sec more (the token lifetime), so
 * a token signed just before the rotation still verifies until it expires. After that the old
 * key file is removed.
 *
 * Key IDs are RFC 7638 thumbprints (token_key_id()). Every function takes the object's mutex:
 * the HTTP listener's thread serves the JWKS while the event loop signs and rotates. */

#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdint.h>

#include "cvm/macro.h"

#define TOKEN_KEYS_FILE                "token-signing-key.pem"
#define TOKEN_KEYS_PREVIOUS_FILE       "token-signing-key.previous.pem"
#define TOKEN_KEYS_ROTATE_SEC_DEFAULT  (7 * 24 * 3600)
#define TOKEN_KEYS_OVERLAP_SEC_DEFAULT (30 * 60) /* the default token lifetime */

typedef struct TokenKeys TokenKeys;

/* Loads the keys from dir (made 0700 when missing), creating the current key if there is none.
 * now is Unix time (seconds). A previous key past its overlap is removed. ret_reason (may be
 * NULL) says what is wrong with which file. */
int token_keys_open(const char *dir, int64_t rotate_sec, int64_t overlap_sec, int64_t now, TokenKeys **ret,
                    char **ret_reason);
TokenKeys *token_keys_free(TokenKeys *k);
DEFINE_CLEANUP(TokenKeys *, token_keys_free)

/* A new current key now; the current one becomes the previous (replacing any earlier one). */
int token_keys_rotate(TokenKeys *k, int64_t now, char **ret_reason);
/* Rotates when the current key is rotate_sec old and drops a previous key past its overlap.
 * 1 when it rotated, 0 when nothing was due. The daemon calls it from a timer and before
 * signing; when it fails the current key keeps signing. */
int token_keys_rotate_if_due(TokenKeys *k, int64_t now, char **ret_reason);

/* token_sign() with the current key, its kid in the header. */
int token_keys_sign(TokenKeys *k, json_object *claims, char **ret);
/* The current key's kid (a copy). */
int token_keys_current_kid(TokenKeys *k, char **ret);
/* The current signing key, with a reference of the caller's own (EVP_PKEY_free() it), and its kid:
 * a rotation meanwhile does not pull the key from under an exchange that signs with it. */
int token_keys_current(TokenKeys *k, EVP_PKEY **ret_key, char **ret_kid);
/* {"keys":[<current JWK>, <previous JWK while in its overlap at now>]}, compact. */
int token_keys_jwks_json(TokenKeys *k, int64_t now, char **ret);
