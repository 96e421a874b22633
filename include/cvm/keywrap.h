/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* AES key wrap with padding, RFC 5649 (JOSE names A128KWP / A192KWP / A256KWP), done by OpenSSL
 * (EVP_aes_{128,192,256}_wrap_pad). The KEK size picks the variant. Pure code. */

#include <stddef.h>
#include <stdint.h>

#include "cvm/secret.h"

/* Largest key that may be wrapped; a wrapped key is at most KEYWRAP_KEY_MAX + 15 bytes. */
#define KEYWRAP_KEY_MAX 4096u
#define KEYWRAP_WRAPPED_MIN 16u
#define KEYWRAP_WRAPPED_MAX (KEYWRAP_KEY_MAX + 15u)

/* The wrapped size for a key of n bytes: 8 + n rounded up to a multiple of 8. */
static inline size_t keywrap_wrapped_size(size_t n) {
        return 8 + (n + 7) / 8 * 8;
}

/* "A128KWP", "A192KWP" or "A256KWP" for a KEK of 16, 24 or 32 bytes; NULL otherwise. */
const char *keywrap_alg_for_kek_size(size_t kek_size);
/* The KEK size an algorithm name needs, or -EOPNOTSUPP. */
int keywrap_alg_kek_size(const char *alg);

/* Wraps key (1..KEYWRAP_KEY_MAX bytes) under kek (16, 24 or 32 bytes). */
int keywrap_wrap(const Secret *kek, const Secret *key, uint8_t **ret, size_t *ret_size);
/* Unwraps into a Secret. -EBADMSG when the integrity check fails (wrong KEK, tampering, bad
 * padding) or the length is impossible (under 16 bytes, not a multiple of 8, too long). */
int keywrap_unwrap(const Secret *kek, const uint8_t *wrapped, size_t n, Secret **ret);
