/* SPDX-License-Identifier: Apache-2.0 */
/* Retry-After (RFC 9110 §10.2.3) from the header's own bytes: delay-seconds, or an HTTP-date in
 * any of the three forms a recipient must accept (§5.6.7): IMF-fixdate, the obsolete RFC 850
 * form and asctime's. A pure function of the bytes and the current time, so that what the HTTP
 * client waits is decided by our code, bounded, and exercised by a fuzz target
 * (tests/fuzz/fuzz-retry-after.c) rather than left to libcurl's reading of the header. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cvm/http.h"

static const char *const day_names[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const day_names_long[7] = { "Monday", "Tuesday", "Wednesday", "Thursday",
                                               "Friday", "Saturday", "Sunday" };
static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

typedef struct Cursor {
        const char *p, *end;
} Cursor;

static bool take_lit(Cursor *c, const char *lit) {
        size_t n = strlen(lit);

        if ((size_t) (c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
                return false;
        c->p += n;
        return true;
}

/* Exactly n digits (n <= 4). */
static bool take_digits(Cursor *c, unsigned n, unsigned *ret) {
        unsigned v = 0;

        if ((size_t) (c->end - c->p) < n)
                return false;
        for (unsigned i = 0; i < n; i++) {
                if (c->p[i] < '0' || c->p[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (c->p[i] - '0');
        }
        c->p += n;
        *ret = v;
        return true;
}

/* One of names (case-sensitive, as the grammar spells them); its index. */
static bool take_name(Cursor *c, const char *const *names, unsigned n, unsigned *ret) {
        for (unsigned i = 0; i < n; i++)
                if (take_lit(c, names[i])) {
                        *ret = i;
                        return true;
                }
        return false;
}

/* time-of-day = hour ":" minute ":" second; second 60 is a leap second. */
static bool take_time(Cursor *c, unsigned *h, unsigned *m, unsigned *s) {
        return take_digits(c, 2, h) && take_lit(c, ":") && take_digits(c, 2, m) && take_lit(c, ":") &&
               take_digits(c, 2, s) && *h <= 23 && *m <= 59 && *s <= 60;
}

static bool is_leap(unsigned y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (year >= 1). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static bool date_to_unix(unsigned year, unsigned month, unsigned day, unsigned h, unsigned m, unsigned s,
                         int64_t *ret) {
        static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        if (year < 1 || month >= 12 || day < 1 || day > mdays[month] + (month == 1 && is_leap(year)))
                return false;
        *ret = days_from_civil(year, month + 1, day) * 86400 + (int64_t) h * 3600 + m * 60 + s;
        return true;
}

/* The year of a two-digit RFC 850 year: a date more than 50 years ahead of now is the most
 * recent past year with those digits (§5.6.7). */
static unsigned rfc850_year(unsigned yy, int64_t now) {
        int64_t days = now / 86400;
        unsigned current = 1970, year;

        /* the current year, without gmtime(): count whole years from 1970 */
        while (days >= (is_leap(current) ? 366 : 365) && current < 9999) {
                days -= is_leap(current) ? 366 : 365;
                current++;
        }
        year = current - current % 100 + yy;
        if (year > current + 50)
                year -= 100;
        return year;
}

static bool parse_date(Cursor *c, int64_t now, int64_t *ret) {
        unsigned wd, day, month, year, h, m, s;
        Cursor save = *c;

        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        if (take_name(c, day_names, 7, &wd) && take_lit(c, ", ") && take_digits(c, 2, &day) && take_lit(c, " ") &&
            take_name(c, month_names, 12, &month) && take_lit(c, " ") && take_digits(c, 4, &year) &&
            take_lit(c, " ") && take_time(c, &h, &m, &s) && take_lit(c, " GMT") && c->p == c->end)
                return date_to_unix(year, month, day, h, m, s, ret);
        *c = save;
        /* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
        if (take_name(c, day_names_long, 7, &wd) && take_lit(c, ", ") && take_digits(c, 2, &day) &&
            take_lit(c, "-") && take_name(c, month_names, 12, &month) && take_lit(c, "-") &&
            take_digits(c, 2, &year) && take_lit(c, " ") && take_time(c, &h, &m, &s) && take_lit(c, " GMT") &&
            c->p == c->end)
                return date_to_unix(rfc850_year(year, now), month, day, h, m, s, ret);
        *c = save;
        /* asctime-date: Sun Nov  6 08:49:37 1994 */
        if (take_name(c, day_names, 7, &wd) && take_lit(c, " ") && take_name(c, month_names, 12, &month) &&
            take_lit(c, " ")) {
                if (take_lit(c, " ")) {
                        if (!take_digits(c, 1, &day))
                                return false;
                } else if (!take_digits(c, 2, &day))
                        return false;
                if (take_lit(c, " ") && take_time(c, &h, &m, &s) && take_lit(c, " ") && take_digits(c, 4, &year) &&
                    c->p == c->end)
                        return date_to_unix(year, month, day, h, m, s, ret);
        }
        return false;
}

int http_retry_after_parse(const char *value, size_t size, int64_t now, uint64_t *ret_sec) {
        Cursor c = { value, value + size };
        int64_t when;

        if (!value || size > HTTP_RETRY_AFTER_VALUE_MAX)
                return -EBADMSG;
        /* optional whitespace around a field value (§5.5) */
        while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
                c.p++;
        while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
                c.end--;
        if (c.p == c.end)
                return -EBADMSG;

        if (*c.p >= '0' && *c.p <= '9') {
                /* delay-seconds = 1*DIGIT, however many digits: saturates at the bound */
                uint64_t sec = 0;

                for (; c.p < c.end; c.p++) {
                        if (*c.p < '0' || *c.p > '9')
                                return -EBADMSG;
                        sec = sec * 10 + (uint64_t) (*c.p - '0');
                        if (sec > HTTP_RETRY_AFTER_SEC_MAX)
                                sec = HTTP_RETRY_AFTER_SEC_MAX;
                }
                *ret_sec = sec;
                return 0;
        }
        if (!parse_date(&c, now, &when))
                return -EBADMSG;
        /* a date in the past: retry now */
        if (when <= now) {
                *ret_sec = 0;
                return 0;
        }
        {
                /* unsigned: exact for any two int64 values with when > now */
                uint64_t d = (uint64_t) when - (uint64_t) now;
                *ret_sec = d > HTTP_RETRY_AFTER_SEC_MAX ? HTTP_RETRY_AFTER_SEC_MAX : d;
        }
        return 0;
}
