/* SPDX-License-Identifier: Apache-2.0 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cvm/util.h"
#include "test-dir.h"

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

int test_dir_setup(void **state) {
        char tmpl[] = "/tmp/cvmd-test.XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        *state = strdup(tmpl);
        assert_non_null(*state);
        return 0;
}

int test_dir_teardown(void **state) {
        (void) nftw(*state, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(*state);
        return 0;
}

void test_dir_write(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);
        const char *slash = strrchr(name, '/');
        FILE *f;

        assert_non_null(path);
        if (slash) {
                _cleanup_free_ char *d = strdup_printf("%s/%.*s", dir, (int) (slash - name), name);
                assert_non_null(d);
                (void) mkdir(d, 0755);
        }
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
        assert_int_equal(fclose(f), 0);
}
