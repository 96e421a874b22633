/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/util.h"

char *hex_encode(const void *p, size_t n) {
        static const char digits[] = "0123456789abcdef";
        const uint8_t *b = p;
        char *s;

        if (n > (SIZE_MAX - 1) / 2)
                return NULL;
        s = malloc(n * 2 + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                s[2 * i] = digits[b[i] >> 4];
                s[2 * i + 1] = digits[b[i] & 0xf];
        }
        s[2 * n] = '\0';
        return s;
}

int unhex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int hex_decode(const char *s, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len, n;

        if (!s)
                return -EINVAL;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        len = strlen(s);
        if (len % 2 != 0)
                return -EINVAL;
        n = len / 2;
        buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int hi = unhex_digit(s[2 * i]), lo = unhex_digit(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                buf[i] = (uint8_t) (hi << 4 | lo);
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

int hex_decode_exact(const char *s, void *dst, size_t n) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size;
        int r;

        r = hex_decode(s, &buf, &size);
        if (r < 0)
                return r;
        if (size != n)
                return -EINVAL;
        memcpy(dst, buf, n);
        return 0;
}

int uuid_parse(const char *s, uint8_t ret[16]) {
        char hex[33];
        size_t n = 0;

        for (; *s && n < 32; s++)
                if (*s != '-')
                        hex[n++] = *s;
        hex[n] = '\0';
        return *s == '\0' && n == 32 ? hex_decode_exact(hex, ret, 16) : -EINVAL;
}

bool memeqbyte(uint8_t byte, const void *p, size_t n) {
        const uint8_t *b = p;

        for (size_t i = 0; i < n; i++)
                if (b[i] != byte)
                        return false;
        return true;
}

bool memeqzero(const void *p, size_t n) {
        return memeqbyte(0, p, n);
}

char *strdup_vprintf(const char *fmt, va_list ap) {
        char *s;

        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

int set_reasonv(char **ret_reason, int r, const char *fmt, va_list ap) {
        char *msg;

        if (!ret_reason)
                return r;
        /* Formatted before the old message is freed: the arguments may point into it. */
        msg = strdup_vprintf(fmt, ap);
        free(*ret_reason);
        *ret_reason = msg;
        return r;
}

int set_reason(char **ret_reason, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = set_reasonv(ret_reason, r, fmt, ap);
        va_end(ap);
        return r;
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        return s;
}

/* ---- strict base64 (RFC 4648 §4, padded, no whitespace) ---- */

static int b64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int b64_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t pad = 0, n = 0;

        if (len == 0 || len % 4 != 0)
                return -EINVAL;
        if (s[len - 1] == '=')
                pad = s[len - 2] == '=' ? 2 : 1;
        if (len / 4 * 3 - pad > max)
                return -EFBIG;
        out = malloc(len / 4 * 3);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                int v[4];
                bool last = i + 4 == len;
                for (size_t k = 0; k < 4; k++) {
                        if (last && s[i + k] == '=' && k >= 4 - pad)
                                v[k] = 0;
                        else if ((v[k] = b64_value(s[i + k])) < 0)
                                return -EINVAL;
                }
                uint32_t w = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 | (uint32_t) v[3];
                out[n++] = (uint8_t) (w >> 16);
                if (!last || pad < 2)
                        out[n++] = (uint8_t) (w >> 8);
                if (!last || pad < 1)
                        out[n++] = (uint8_t) w;
                /* canonical: the bits under the padding are zero */
                if (last && ((pad == 2 && (w & 0xffff)) || (pad == 1 && (w & 0xff))))
                        return -EINVAL;
        }
        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}

char *b64_encode(const uint8_t *p, size_t n) {
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *out, *o;

        if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
                return NULL;
        out = o = malloc((n + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t w = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) |
                             (i + 2 < n ? p[i + 2] : 0);
                *o++ = tbl[w >> 18 & 63];
                *o++ = tbl[w >> 12 & 63];
                *o++ = i + 1 < n ? tbl[w >> 6 & 63] : '=';
                *o++ = i + 2 < n ? tbl[w & 63] : '=';
        }
        *o = '\0';
        return out;
}

int read_file_bounded(const char *path, size_t max, uint8_t **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t size = 0;

        /* O_NONBLOCK: opening a FIFO without it waits for a writer forever. The type is checked
         * on the descriptor (no race with a rename), and a regular file ignores the flag. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;

        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        /* Read until EOF rather than trusting st_size: the file may change under us. */
        for (;;) {
                ssize_t k = read(fd, buf + size, max + 1 - size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int write_all(int fd, const void *p, size_t n) {
        const uint8_t *b = p;

        while (n > 0) {
                ssize_t k = write(fd, b, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                b += k;
                n -= (size_t) k;
        }
        return 0;
}

int write_file_atomic(const char *path, const void *p, size_t n, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* a random name created O_EXCL (mkostemp): a file someone planted under a predictable
         * name is never written through */
        tmp = strdup_printf("%s.tmp.XXXXXX", path);
        if (!tmp)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r >= 0)
                r = write_all(fd, p, n);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static int parse_digits(const char **s, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*s)[i]))
                        return -EINVAL;
                v = v * 10 + ((*s)[i] - '0');
        }
        *s += n;
        *ret = v;
        return 0;
}

static int expect_char(const char **s, char c) {
        if (**s != c)
                return -EINVAL;
        (*s)++;
        return 0;
}

int parse_rfc3339(const char *s, int64_t *ret) {
        int year, mon, day, hour, min, sec, off = 0;
        struct tm tm = {};
        time_t t;

        if (!s || parse_digits(&s, 4, &year) < 0 || expect_char(&s, '-') < 0 ||
            parse_digits(&s, 2, &mon) < 0 || expect_char(&s, '-') < 0 || parse_digits(&s, 2, &day) < 0)
                return -EINVAL;
        if (*s != 'T' && *s != 't' && *s != ' ')
                return -EINVAL;
        s++;
        if (parse_digits(&s, 2, &hour) < 0 || expect_char(&s, ':') < 0 || parse_digits(&s, 2, &min) < 0 ||
            expect_char(&s, ':') < 0 || parse_digits(&s, 2, &sec) < 0)
                return -EINVAL;
        if (*s == '.') {
                s++;
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                while (isdigit((unsigned char) *s))
                        s++;
        }
        if (*s == 'Z' || *s == 'z')
                s++;
        else if (*s == '+' || *s == '-') {
                int sign = *s == '-' ? -1 : 1, oh, om;
                s++;
                if (parse_digits(&s, 2, &oh) < 0 || expect_char(&s, ':') < 0 || parse_digits(&s, 2, &om) < 0 ||
                    oh > 23 || om > 59)
                        return -EINVAL;
                off = sign * (oh * 3600 + om * 60);
        } else
                return -EINVAL;
        if (*s != '\0')
                return -EINVAL;
        if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
                return -EINVAL;

        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        /* timegm() normalises 31 February into March: refuse dates that do not exist. */
        if (tm.tm_mday != day || tm.tm_mon != mon - 1)
                return -EINVAL;
        *ret = (int64_t) t - off;
        return 0;
}

const char *format_rfc3339(int64_t t, char *buf, size_t size) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "@%lld", (long long) t);
        return buf;
}
