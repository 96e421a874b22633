/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Challenge nonces: 32 random bytes, single use, expiring. The host issues one per exchange and
 * consumes it when the evidence arrives; a nonce seen twice (a replay) or too late is refused. */

#include <stdint.h>

#include "cvm/guest-proto.h"

#define NONCE_STORE_MAX 1024u

typedef struct NonceEntry {
        uint8_t nonce[PROTO_NONCE_SIZE];
        uint64_t expires_usec; /* 0: free slot */
} NonceEntry;

typedef struct NonceStore {
        NonceEntry entries[NONCE_STORE_MAX];
} NonceStore;

/* A fresh nonce valid until now + ttl. -EBUSY when every slot holds a live nonce. */
int nonce_issue(NonceStore *s, uint64_t now_usec, uint64_t ttl_usec, uint8_t ret[PROTO_NONCE_SIZE]);
/* Consumes a nonce: 0 when it was issued and is still live (it is then forgotten), -ESTALE when
 * it expired, -ENOENT when it was never issued or was already used. */
int nonce_consume(NonceStore *s, const uint8_t nonce[PROTO_NONCE_SIZE], uint64_t now_usec);
