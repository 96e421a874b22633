/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A growing buffer of TCG2 crypto-agile event log records (eventlog-write.c). An allocation
 * failure sets oom and makes every later call a no-op: check it once at the end. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct LogBuf {
        uint8_t *p;
        size_t n, alloc;
        bool oom;
} LogBuf;

void logbuf_put(LogBuf *b, const void *p, size_t n);
void logbuf_le32(LogBuf *b, uint32_t v);
/* The Spec ID event (SHA-1 format, EV_NO_ACTION) declaring SHA-384 as the only algorithm. */
void logbuf_spec_id(LogBuf *b);
/* One TCG_PCR_EVENT2 record with a SHA-384 digest; mr_index 1..4 is RTMR0..3. */
void logbuf_event(LogBuf *b, uint32_t mr_index, uint32_t type, const uint8_t digest[48], const void *data,
                  uint32_t size);
/* An EV_EVENT_TAG record: TCG_PCClientTaggedEvent {tag, size, description with its NUL}. */
void logbuf_tagged(LogBuf *b, uint32_t mr_index, uint32_t tag, const uint8_t digest[48], const char *description);
