/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "cvm/reader.h"

size_t reader_remaining(const Reader *r) {
        return r->off > r->size ? 0 : r->size - r->off;
}

int reader_take(Reader *r, size_t n, const uint8_t **ret) {
        if (r->off > r->size || n > r->size - r->off)
                return -EBADMSG;
        if (ret)
                *ret = r->p + r->off;
        r->off += n;
        return 0;
}

int reader_skip(Reader *r, size_t n) {
        return reader_take(r, n, NULL);
}

int reader_seek(Reader *r, size_t off) {
        if (off > r->size)
                return -EBADMSG;
        r->off = off;
        return 0;
}

int reader_copy(Reader *r, void *dst, size_t n) {
        const uint8_t *b;

        if (reader_take(r, n, &b) < 0)
                return -EBADMSG;
        if (n > 0)
                memcpy(dst, b, n);
        return 0;
}

int reader_u8(Reader *r, uint8_t *ret) {
        const uint8_t *b;

        if (reader_take(r, 1, &b) < 0)
                return -EBADMSG;
        *ret = b[0];
        return 0;
}

int reader_le16(Reader *r, uint16_t *ret) {
        const uint8_t *b;

        if (reader_take(r, 2, &b) < 0)
                return -EBADMSG;
        *ret = (uint16_t) (b[0] | (uint16_t) b[1] << 8);
        return 0;
}

int reader_le32(Reader *r, uint32_t *ret) {
        const uint8_t *b;

        if (reader_take(r, 4, &b) < 0)
                return -EBADMSG;
        *ret = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
        return 0;
}

int reader_le64(Reader *r, uint64_t *ret) {
        const uint8_t *b;
        uint64_t v = 0;

        if (reader_take(r, 8, &b) < 0)
                return -EBADMSG;
        for (size_t i = 8; i > 0; i--)
                v = v << 8 | b[i - 1];
        *ret = v;
        return 0;
}

int reader_be16(Reader *r, uint16_t *ret) {
        const uint8_t *b;

        if (reader_take(r, 2, &b) < 0)
                return -EBADMSG;
        *ret = (uint16_t) ((uint16_t) b[0] << 8 | b[1]);
        return 0;
}

int reader_be32(Reader *r, uint32_t *ret) {
        const uint8_t *b;

        if (reader_take(r, 4, &b) < 0)
                return -EBADMSG;
        *ret = (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
        return 0;
}

int reader_sub(Reader *r, size_t n, Reader *ret) {
        const uint8_t *b;

        if (reader_take(r, n, &b) < 0)
                return -EBADMSG;
        *ret = reader_init(b, n);
        return 0;
}
