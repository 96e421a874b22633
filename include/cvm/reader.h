/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A bounded cursor over untrusted bytes. Every read checks the remaining length before it
 * touches memory, advances only on success, and assembles integers byte by byte, so no
 * buffer is ever cast onto a struct. All functions return 0 or -EBADMSG. */

#include <stddef.h>
#include <stdint.h>

typedef struct Reader {
        const uint8_t *p;
        size_t size;
        size_t off;
} Reader;

static inline Reader reader_init(const void *p, size_t size) {
        return (Reader) { .p = p, .size = size, .off = 0 };
}

size_t reader_remaining(const Reader *r);
int reader_take(Reader *r, size_t n, const uint8_t **ret);
int reader_skip(Reader *r, size_t n);
int reader_seek(Reader *r, size_t off);
int reader_copy(Reader *r, void *dst, size_t n);
int reader_u8(Reader *r, uint8_t *ret);
int reader_le16(Reader *r, uint16_t *ret);
int reader_le32(Reader *r, uint32_t *ret);
int reader_le64(Reader *r, uint64_t *ret);
int reader_be16(Reader *r, uint16_t *ret);
int reader_be32(Reader *r, uint32_t *ret);
/* A sub-reader over the next n bytes; the parent advances past them. */
int reader_sub(Reader *r, size_t n, Reader *ret);
