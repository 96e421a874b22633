/* SPDX-License-Identifier: Apache-2.0 */
/* Writing TCG2 crypto-agile event log records (SHA-384 only), for the simulated firmware's log
 * and the agent's runtime log of measured workloads. */
#include <stdlib.h>
#include <string.h>

#include "cvm/tdx-measure.h"
#include "cvm/workload-event.h"
#include "eventlog-write.h"

void logbuf_put(LogBuf *b, const void *p, size_t n) {
        if (b->oom)
                return;
        if (b->n + n > b->alloc) {
                size_t m = (b->n + n) * 2;
                uint8_t *q = realloc(b->p, m);
                if (!q) {
                        b->oom = true;
                        return;
                }
                b->p = q;
                b->alloc = m;
        }
        memcpy(b->p + b->n, p, n);
        b->n += n;
}

void logbuf_le32(LogBuf *b, uint32_t v) {
        uint8_t x[4] = {(uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24)};
        logbuf_put(b, x, 4);
}

static void put_le16(LogBuf *b, uint16_t v) {
        uint8_t x[2] = {(uint8_t) v, (uint8_t) (v >> 8)};
        logbuf_put(b, x, 2);
}

/* The first event, in the SHA-1 format: TCG_EfiSpecIDEvent declaring SHA-384 only. */
void logbuf_spec_id(LogBuf *b) {
        static const uint8_t sha1_zero[20];
        static const char sig[16] = "Spec ID Event03";
        /* signature, platformClass 0, spec 2.0 errata 2, uintnSize 2 (64-bit), one algorithm,
         * no vendor data */
        uint32_t size = 16 + 4 + 4 + 4 + 4 + 1;

        logbuf_le32(b, 0);
        logbuf_le32(b, TCG_EV_NO_ACTION);
        logbuf_put(b, sha1_zero, sizeof(sha1_zero));
        logbuf_le32(b, size);
        logbuf_put(b, sig, sizeof(sig));
        logbuf_le32(b, 0);
        logbuf_put(b, (const uint8_t[]){0, 2, 2, 2}, 4);
        logbuf_le32(b, 1);
        put_le16(b, TCG_ALG_SHA384);
        put_le16(b, TDX_MR_SIZE);
        logbuf_put(b, (const uint8_t[]){0}, 1);
}

/* One TCG_PCR_EVENT2 with its SHA-384 digest. */
void logbuf_event(LogBuf *b, uint32_t mr_index, uint32_t type, const uint8_t digest[TDX_MR_SIZE], const void *data,
                  uint32_t size) {
        logbuf_le32(b, mr_index);
        logbuf_le32(b, type);
        logbuf_le32(b, 1);
        put_le16(b, TCG_ALG_SHA384);
        logbuf_put(b, digest, TDX_MR_SIZE);
        logbuf_le32(b, size);
        logbuf_put(b, data, size);
}

/* A tagged event (TCG_PCClientTaggedEvent): ID, size, description. */
void logbuf_tagged(LogBuf *b, uint32_t mr_index, uint32_t tag, const uint8_t digest[TDX_MR_SIZE],
                   const char *description) {
        uint32_t n = (uint32_t) strlen(description) + 1;
        LogBuf data = {};

        logbuf_le32(&data, tag);
        logbuf_le32(&data, n);
        logbuf_put(&data, description, n);
        if (data.oom)
                b->oom = true;
        else
                logbuf_event(b, mr_index, TCG_EV_EVENT_TAG, digest, data.p, (uint32_t) data.n);
        free(data.p);
}
