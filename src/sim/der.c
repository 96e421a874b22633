/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny DER writer: enough for the simulators' private certificate extensions (AMD's SPL and
 * product values, Intel's SGX extension, NVIDIA's FWID). */
#include <string.h>

#include "sim-internal.h"

void der_put(Der *d, const void *p, size_t n) {
        if (d->overflow || n > sizeof(d->buf) - d->n) {
                d->overflow = true;
                return;
        }
        memcpy(d->buf + d->n, p, n);
        d->n += n;
}

void der_tlv(Der *d, uint8_t tag, const void *v, size_t n) {
        uint8_t h[4] = {tag};
        size_t hn = 2;

        if (n > 0xffff) {
                d->overflow = true;
                return;
        }
        if (n < 0x80)
                h[1] = (uint8_t) n;
        else if (n <= 0xff) {
                h[1] = 0x81;
                h[2] = (uint8_t) n;
                hn = 3;
        } else {
                h[1] = 0x82;
                h[2] = (uint8_t) (n >> 8);
                h[3] = (uint8_t) n;
                hn = 4;
        }
        der_put(d, h, hn);
        der_put(d, v, n);
}

void der_uint(Der *d, uint8_t tag, uint32_t v) {
        uint8_t b[5];
        size_t n = 0;
        int shift = 24;

        while (shift > 0 && ((v >> shift) & 0xff) == 0)
                shift -= 8;
        if ((v >> shift) & 0x80)
                b[n++] = 0;
        for (; shift >= 0; shift -= 8)
                b[n++] = (uint8_t) (v >> shift);
        der_tlv(d, tag, b, n);
}

void der_wrap(Der *d, uint8_t tag, const Der *inner) {
        if (inner->overflow)
                d->overflow = true;
        der_tlv(d, tag, inner->buf, inner->n);
}

void der_append(Der *d, const Der *inner) {
        if (inner->overflow)
                d->overflow = true;
        der_put(d, inner->buf, inner->n);
}
