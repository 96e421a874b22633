/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Small helpers shared by every module: hex, bounded file I/O, RFC 3339 time, strings.
 * Nothing here logs; errors are returned as negative errno values. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cvm/macro.h"

/* Largest file any cvmd input (evidence, certificates, policies, collateral) may have. */
#define CVM_INPUT_MAX (4u * 1024u * 1024u)

char *hex_encode(const void *p, size_t n);
/* The value of one hex digit, or -EINVAL. */
int unhex_digit(char c);
/* Decodes an even-length hex string (an optional "0x" prefix is allowed). */
int hex_decode(const char *s, uint8_t **ret, size_t *ret_size);
/* Decodes hex into exactly n bytes; -EINVAL if the length differs. */
int hex_decode_exact(const char *s, void *dst, size_t n);

/* "6f1c2a9e-4b7d-4e21-9a43-0c5d8e7f1a26" (dashes optional) into 16 bytes. */
int uuid_parse(const char *s, uint8_t ret[16]);

bool memeqzero(const void *p, size_t n);
bool memeqbyte(uint8_t byte, const void *p, size_t n);

char *strdup_printf(const char *fmt, ...) _printf_(1, 2);
/* The one way to explain a refusal: stores a malloc'ed message in *ret_reason (when ret_reason
 * is not NULL), freeing any earlier one, and returns r. The arguments may point into the earlier
 * message ("%s: %s", path, *ret_reason). */
int set_reason(char **ret_reason, int r, const char *fmt, ...) _printf_(3, 4);
int set_reasonv(char **ret_reason, int r, const char *fmt, va_list ap) _printf_(3, 0);
char *strdup_vprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* Strict base64 (RFC 4648 §4): padded, canonical, no whitespace. -EINVAL when malformed,
 * -EFBIG when it decodes to more than max bytes. */
int b64_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_size);
char *b64_encode(const uint8_t *p, size_t n);

/* Reads a whole regular file of at most max bytes; -EFBIG when larger, -EISDIR for a directory,
 * -EBADFD for anything else that is not a regular file (a FIFO, a device, a socket), refused
 * without blocking. The buffer gets one extra NUL byte that is not counted in *ret_size, so
 * text parsers can use it directly. */
int read_file_bounded(const char *path, size_t max, uint8_t **ret, size_t *ret_size);
/* Writes all n bytes, retrying short writes and EINTR; -errno. */
int write_all(int fd, const void *p, size_t n);
/* Writes through a temporary file in the same directory (a random name, created exclusively),
 * fsync and rename: readers never see a half-written file. */
int write_file_atomic(const char *path, const void *p, size_t n, mode_t mode);
int mkdir_p(const char *path, mode_t mode);

/* RFC 3339 / ISO 8601 UTC time: "2023-01-26T00:00:00Z", fractions and +hh:mm offsets allowed. */
int parse_rfc3339(const char *s, int64_t *ret);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 32 bytes). */
const char *format_rfc3339(int64_t t, char *buf, size_t size);
