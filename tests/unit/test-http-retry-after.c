/* SPDX-License-Identifier: Apache-2.0 */
/* Retry-After values (src/shared/http-retry-after.c): delay-seconds and the three HTTP-date
 * forms (RFC 9110 §5.6.7, §10.2.3) against a fixed now, the bound, and what is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "cvm/http.h"

static const int64_t now = 1767225600; /* 2026-01-01T00:00:00Z, a Thursday */

static int parse(const char *s, uint64_t *ret) {
        *ret = UINT64_MAX;
        return http_retry_after_parse(s, strlen(s), now, ret);
}

static void test_delay_seconds(void **state) {
        uint64_t s;

        assert_int_equal(parse("120", &s), 0);
        assert_int_equal(s, 120);
        assert_int_equal(parse("0", &s), 0);
        assert_int_equal(s, 0);
        assert_int_equal(parse(" \t30 ", &s), 0);
        assert_int_equal(s, 30);
        /* however many digits: saturates at the bound, never wraps */
        assert_int_equal(parse("99999999999999999999999999999999", &s), 0);
        assert_int_equal(s, HTTP_RETRY_AFTER_SEC_MAX);
        assert_int_equal(parse("18446744073709551617", &s), 0);
        assert_int_equal(s, HTTP_RETRY_AFTER_SEC_MAX);
        /* the value is its bytes: a NUL or digits after the size are not read */
        assert_int_equal(http_retry_after_parse("12345", 2, now, &s), 0);
        assert_int_equal(s, 12);
}

static void test_http_dates(void **state) {
        uint64_t s;

        assert_int_equal(parse("Thu, 01 Jan 2026 00:02:00 GMT", &s), 0);
        assert_int_equal(s, 120);
        assert_int_equal(parse("Thursday, 01-Jan-26 00:10:00 GMT", &s), 0);
        assert_int_equal(s, 600);
        assert_int_equal(parse("Thu Jan  1 00:05:00 2026", &s), 0);
        assert_int_equal(s, 300);
        assert_int_equal(parse("Thu Jan 15 00:00:00 2026", &s), 0);
        assert_int_equal(s, 14 * 86400);
        /* a year ahead; the leap day of a leap year; a date in the past is "now" */
        assert_int_equal(parse("Fri, 01 Jan 2027 00:00:00 GMT", &s), 0);
        assert_int_equal(s, 365 * 86400);
        assert_int_equal(parse("Thu, 29 Feb 2024 00:00:00 GMT", &s), 0);
        assert_int_equal(s, 0);
        assert_int_equal(parse("Wed, 31 Dec 2025 23:00:00 GMT", &s), 0);
        assert_int_equal(s, 0);
        assert_int_equal(parse("Sun, 06 Nov 1994 08:49:37 GMT", &s), 0);
        assert_int_equal(s, 0);
        /* RFC 850's two-digit year more than 50 years ahead is the past century */
        assert_int_equal(parse("Sunday, 06-Nov-94 08:49:37 GMT", &s), 0);
        assert_int_equal(s, 0);
        /* far future: bounded */
        assert_int_equal(parse("Fri, 31 Dec 9999 23:59:59 GMT", &s), 0);
        assert_int_equal(s, HTTP_RETRY_AFTER_SEC_MAX);
}

static void test_refused(void **state) {
        static const char *const bad[] = {
                "",
                "   ",
                "-5",
                "+5",
                "1.5",
                "5 s",
                "0x10",
                "Thu, 01 Jan 2026 24:00:00 GMT",
                "Thu, 01 Jan 2026 00:60:00 GMT",
                "Thu, 32 Jan 2026 00:00:00 GMT",
                "Thu, 00 Jan 2026 00:00:00 GMT",
                "Sat, 29 Feb 2025 00:00:00 GMT",
                "Thu, 01 Jan 2026 00:02:00 UTC",
                "Thu, 01 Jan 2026 00:02:00 GMT trailing",
                "Thu, 1 Jan 2026 00:02:00 GMT",
                "thu, 01 jan 2026 00:02:00 GMT",
                "Thu, 01 Foo 2026 00:02:00 GMT",
                "Thu, 01 Jan 0000 00:00:00 GMT",
                "Thu Jan 1 00:05:00 2026",
                "Thu Jan  1 00:05:00 26",
                "Thursday, 01-Jan-2026 00:10:00 GMT",
                "Thu, 01 Jan 2026 00:02:00 GMT                                   padding",
        };
        uint64_t s;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (parse(bad[i], &s) != -EBADMSG)
                        fail_msg("accepted \"%s\" as %llu", bad[i], (unsigned long long) s);
        /* longer than the bound, even if it would parse */
        {
                char longer[HTTP_RETRY_AFTER_VALUE_MAX + 2];
                memset(longer, ' ', sizeof(longer) - 2);
                longer[sizeof(longer) - 2] = '1';
                longer[sizeof(longer) - 1] = 0;
                assert_int_equal(parse(longer, &s), -EBADMSG);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_delay_seconds),
                cmocka_unit_test(test_http_dates),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
