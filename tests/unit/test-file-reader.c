/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded file reader every file argument goes through (read_file_bounded): a regular file
 * reads whole; a FIFO, a character device and a directory are refused at once instead of
 * blocking (a FIFO opened without O_NONBLOCK waits for a writer forever); size bounds hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/util.h"

static char dir[] = "/tmp/cvmd-test-file-reader-XXXXXX";

static int setup(void **state) {
        /* A hang is a failure: SIGALRM's default action ends the test binary, which the runner
         * reports. Not a timing assertion: nothing here should wait at all. */
        alarm(60);
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
        return cmd && system(cmd) == 0 ? 0 : -1;
}

static void test_regular_file_and_bounds(void **state) {
        _cleanup_free_ char *p = strdup_printf("%s/f", dir);
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;

        assert_int_equal(write_file_atomic(p, "hello", 5, 0600), 0);
        assert_int_equal(read_file_bounded(p, 5, &data, &size), 0);
        assert_int_equal(size, 5);
        assert_memory_equal(data, "hello", 5);
        assert_int_equal(data[5], 0); /* the extra NUL */
        assert_int_equal(read_file_bounded(p, 4, &data, &size), -EFBIG);
}

static void test_fifo_is_refused_without_blocking(void **state) {
        _cleanup_free_ char *p = strdup_printf("%s/fifo", dir);
        uint8_t *data = NULL;
        size_t size = 7;

        assert_int_equal(mkfifo(p, 0600), 0);
        /* no writer exists: an open without O_NONBLOCK would never return */
        assert_int_equal(read_file_bounded(p, 1024, &data, &size), -EBADFD);
        assert_null(data);
        assert_int_equal(size, 7);
}

static void test_device_and_directory_are_refused(void **state) {
        uint8_t *data = NULL;
        size_t size;

        assert_int_equal(read_file_bounded("/dev/zero", 1024, &data, &size), -EBADFD);
        assert_int_equal(read_file_bounded("/dev/null", 1024, &data, &size), -EBADFD);
        assert_int_equal(read_file_bounded(dir, 1024, &data, &size), -EISDIR);
        assert_null(data);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_regular_file_and_bounds),
                cmocka_unit_test(test_fifo_is_refused_without_blocking),
                cmocka_unit_test(test_device_and_directory_are_refused),
        };
        return cmocka_run_group_tests_name("file-reader", tests, setup, teardown);
}
