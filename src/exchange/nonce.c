/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "cvm/nonce.h"

int nonce_issue(NonceStore *s, uint64_t now_usec, uint64_t ttl_usec, uint8_t ret[PROTO_NONCE_SIZE]) {
        NonceEntry *slot = NULL;

        for (size_t i = 0; i < NONCE_STORE_MAX; i++) {
                NonceEntry *e = &s->entries[i];
                if (e->expires_usec != 0 && e->expires_usec <= now_usec)
                        *e = (NonceEntry) {}; /* expired: free it */
                if (e->expires_usec == 0 && !slot)
                        slot = e;
        }
        if (!slot)
                return -EBUSY;
        if (RAND_bytes(slot->nonce, PROTO_NONCE_SIZE) != 1)
                return -EIO;
        slot->expires_usec = now_usec + (ttl_usec ? ttl_usec : 1);
        memcpy(ret, slot->nonce, PROTO_NONCE_SIZE);
        return 0;
}

int nonce_consume(NonceStore *s, const uint8_t nonce[PROTO_NONCE_SIZE], uint64_t now_usec) {
        for (size_t i = 0; i < NONCE_STORE_MAX; i++) {
                NonceEntry *e = &s->entries[i];
                bool live;

                if (e->expires_usec == 0 || CRYPTO_memcmp(e->nonce, nonce, PROTO_NONCE_SIZE) != 0)
                        continue;
                live = now_usec < e->expires_usec;
                *e = (NonceEntry) {}; /* single use, whatever the outcome */
                return live ? 0 : -ESTALE;
        }
        return -ENOENT;
}
