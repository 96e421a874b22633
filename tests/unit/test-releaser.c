/* SPDX-License-Identifier: Apache-2.0 */
/* The releaser key (include/cvm/releaser.h): cvmd's copy is made once in its state directory
 * with mode 0600 and found again on the next start (never rotated); a key file that others may
 * read, that is not exactly 32 bytes, or that is not a regular file is refused; the public key
 * is the X25519 public key of the file's bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/hpke.h"
#include "cvm/releaser.h"
#include "cvm/util.h"

static char dir[] = "/tmp/cvmd-test-releaser-XXXXXX";

static int setup(void **state) {
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(write(fd, p, n), (ssize_t) n);
        close(fd);
}

static void test_state_key_made_once(void **state) {
        _cleanup_(releaser_key_done) ReleaserKey a = {}, b = {};
        _cleanup_free_ char *state_dir = strdup_printf("%s/state", dir), *path = NULL, *reason = NULL;
        uint8_t pk[HPKE_PUBLIC_KEY_SIZE];
        struct stat st;

        assert_non_null(state_dir);
        path = strdup_printf("%s/%s", state_dir, RELEASER_KEY_FILE);
        assert_int_equal(releaser_key_open_state(state_dir, &a, &reason), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, HPKE_PRIVATE_KEY_SIZE);
        assert_int_equal(hpke_public_key(HPKE_SUITE_DEFAULT, a.sk, pk), 0);
        assert_memory_equal(pk, a.pk, sizeof(pk));
        /* the next start finds the same key: running VMs stay bound to it */
        assert_int_equal(releaser_key_open_state(state_dir, &b, &reason), 0);
        assert_memory_equal(a.pk, b.pk, sizeof(a.pk));
        assert_true(secret_equal(a.sk, b.sk));
        /* and its file, made readable by others, is refused rather than used */
        assert_int_equal(chmod(path, 0644), 0);
        releaser_key_done(&b);
        assert_int_equal(releaser_key_open_state(state_dir, &b, &reason), -EPERM);
        assert_non_null(strstr(reason, "group or others"));
        assert_null(b.sk);
}

static void test_key_files(void **state) {
        _cleanup_free_ char *good = strdup_printf("%s/good.key", dir), *open_mode = strdup_printf("%s/open.key", dir),
                            *shortk = strdup_printf("%s/short.key", dir), *longk = strdup_printf("%s/long.key", dir);
        uint8_t bytes[40], pk[HPKE_PUBLIC_KEY_SIZE];
        ReleaserKey k = {};

        for (size_t i = 0; i < sizeof(bytes); i++)
                bytes[i] = (uint8_t) (7 * i + 1);
        write_file(good, bytes, 32, 0600);
        write_file(open_mode, bytes, 32, 0640);
        write_file(shortk, bytes, 31, 0600);
        write_file(longk, bytes, 33, 0600);

        assert_int_equal(releaser_key_load(good, &k, NULL), 0);
        assert_true(secret_equal_bytes(k.sk, bytes, 32));
        assert_int_equal(hpke_public_key(HPKE_SUITE_DEFAULT, k.sk, pk), 0);
        assert_memory_equal(pk, k.pk, sizeof(pk));
        releaser_key_done(&k);

        assert_int_equal(releaser_key_load(open_mode, &k, NULL), -EPERM);
        assert_int_equal(releaser_key_load(shortk, &k, NULL), -EINVAL);
        assert_int_equal(releaser_key_load(longk, &k, NULL), -EINVAL);
        assert_int_equal(releaser_key_load(dir, &k, NULL), -EINVAL); /* a directory */
        assert_int_equal(releaser_key_load("/nonexistent/releaser.key", &k, NULL), -EINVAL);
        assert_null(k.sk);
}

static void test_generated_keys_differ(void **state) {
        _cleanup_(releaser_key_done) ReleaserKey a = {}, b = {};

        assert_int_equal(releaser_key_generate(&a), 0);
        assert_int_equal(releaser_key_generate(&b), 0);
        assert_memory_not_equal(a.pk, b.pk, sizeof(a.pk));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_state_key_made_once),
                cmocka_unit_test(test_key_files),
                cmocka_unit_test(test_generated_keys_differ),
        };
        (void) secret_init();
        return cmocka_run_group_tests_name("releaser", tests, setup, teardown);
}
