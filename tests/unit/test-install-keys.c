/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's key installation, for real: key files on a tmpfs (/dev/shm) with the owner, group
 * and mode of their metadata (checked with stat), replaced atomically by a second bundle or kept
 * when it says so, all or nothing when a key in the middle fails, a keys directory that others
 * may write refused, a planted temporary name harmless, swap refused unless allowed, keys in
 * root's and another user's kernel keyring, and a LUKS2 volume on a loop device. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <libcryptsetup.h>
#include <linux/keyctl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/agent/agent.h"
#include "../../src/agent/install.h"
#include "cvm/key-bundle.h"
#include "cvm/util.h"

typedef struct Fixture {
        char keys[64];   /* on /dev/shm */
        char work[64];   /* swaps files and the like */
        char swaps[128]; /* header only: no swap */
        AgentConfig c;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        FILE *s;

        assert_non_null(f);
        strcpy(f->keys, "/dev/shm/test-install-keys.XXXXXX");
        strcpy(f->work, "/tmp/test-install-keys.XXXXXX");
        assert_non_null(mkdtemp(f->keys));
        assert_non_null(mkdtemp(f->work));
        snprintf(f->swaps, sizeof(f->swaps), "%s/swaps", f->work);
        assert_non_null(s = fopen(f->swaps, "w"));
        fputs("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", s);
        fclose(s);
        f->c = (AgentConfig) { .keys_dir = f->keys, .swaps_path = f->swaps };
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *cmd = strdup_printf("chmod -R u+w '%s'; rm -rf '%s' '%s'", f->keys, f->keys, f->work);

        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static Secret *key_of(size_t n, uint8_t seed) {
        Secret *s;

        assert_int_equal(secret_new(n, &s), 0);
        for (size_t i = 0; i < n; i++)
                secret_data_mut(s)[i] = (uint8_t) (seed * 31 + i);
        return s;
}

typedef struct K {
        const char *kid;
        uint8_t seed;
        KeyInstall install;
} K;

static Secret *bundle_of(const K *keys, size_t n, bool replace) {
        Secret *b;

        assert_int_equal(key_bundle_new(&b), 0);
        key_bundle_set_replace(b, replace);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(secret_freep) Secret *k = key_of(32, keys[i].seed);
                _cleanup_free_ char *reason = NULL;
                if (key_bundle_add_install(&b, keys[i].kid, &keys[i].install, k, &reason) < 0)
                        fail_msg("bundle: %s", reason);
        }
        return b;
}

static int install(const Fixture *f, const K *keys, size_t n, bool replace, char **ret_reason) {
        _cleanup_(secret_freep) Secret *b = bundle_of(keys, n, replace);
        return keys_install(&f->c, b, ret_reason);
}

static void install_ok(const Fixture *f, const K *keys, size_t n, bool replace) {
        _cleanup_free_ char *reason = NULL;
        int r = install(f, keys, n, replace, &reason);

        if (r != (int) n)
                fail_msg("keys_install: %d: %s", r, reason ? reason : "");
}

/* Whether dir/kid holds the key of that seed. */
static bool file_has(const char *dir, const char *kid, uint8_t seed) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, kid);
        _cleanup_(secret_freep) Secret *want = key_of(32, seed);
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;

        return read_file_bounded(path, 1024, &data, &size) == 0 && secret_equal_bytes(want, data, size);
}

static bool file_exists(const char *dir, const char *name) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);
        struct stat st;

        return lstat(path, &st) == 0;
}

static size_t count_temporaries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                n += strncmp(de->d_name, ".cvmd-tmp-", 10) == 0;
        closedir(d);
        return n;
}

static void test_files_and_metadata(void **state) {
        Fixture *f = *state;
        struct passwd *nobody = getpwnam("nobody");
        struct group *nogroup = getgrnam("nogroup");
        const K keys[] = {
                { "plain", 1, {} },
                { "ds-key", 2, { .target = KEY_TARGET_FILE, .owner = "nobody", .group = "nogroup", .mode = 0440 } },
                { "ro-default", 3, { .target = KEY_TARGET_FILE } },
        };
        _cleanup_free_ char *p0 = strdup_printf("%s/plain", f->keys), *p1 = strdup_printf("%s/ds-key", f->keys),
                            *p2 = strdup_printf("%s/ro-default", f->keys);
        struct stat st;

        if (geteuid() != 0)
                skip(); /* files owned by nobody need root, as the agent has */
        assert_non_null(nobody);
        assert_non_null(nogroup);
        install_ok(f, keys, ELEMENTSOF(keys), true);
        assert_true(file_has(f->keys, "plain", 1));
        assert_true(file_has(f->keys, "ds-key", 2));
        assert_true(file_has(f->keys, "ro-default", 3));
        assert_int_equal(stat(p0, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0400);
        assert_int_equal(st.st_uid, geteuid());
        assert_int_equal(st.st_gid, getegid());
        assert_int_equal(stat(p1, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0440);
        assert_int_equal(st.st_uid, nobody->pw_uid);
        assert_int_equal(st.st_gid, nogroup->gr_gid);
        assert_int_equal(stat(p2, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0400);
        assert_int_equal(count_temporaries(f->keys), 0);
}

static void test_replace_and_keep(void **state) {
        Fixture *f = *state;
        const K first[] = { { "k1", 1, {} }, { "k2", 2, {} } };
        const K second[] = { { "k1", 11, {} } };
        const K keep[] = { { "k1", 21, {} }, { "k3", 23, {} } };

        install_ok(f, first, ELEMENTSOF(first), true);
        /* re-attestation: the same ID again replaces it (this used to fail with "File exists") */
        install_ok(f, second, ELEMENTSOF(second), true);
        assert_true(file_has(f->keys, "k1", 11));
        assert_true(file_has(f->keys, "k2", 2)); /* not named: left alone */
        /* a bundle that asks to keep installed keys: k1 stays, k3 is new */
        install_ok(f, keep, ELEMENTSOF(keep), false);
        assert_true(file_has(f->keys, "k1", 11));
        assert_true(file_has(f->keys, "k3", 23));
        assert_int_equal(count_temporaries(f->keys), 0);
}

static void test_all_or_nothing(void **state) {
        Fixture *f = *state;
        const K first[] = { { "k1", 1, {} }, { "k2", 2, {} } };
        const K unknown_owner[] = { { "k1", 11, {} }, { "k2", 12, { .target = KEY_TARGET_FILE, .owner = "no-such-user-h2" } } };
        const K blocked[] = { { "k1", 11, {} }, { "k2", 12, {} }, { "k3", 13, {} } };
        _cleanup_free_ char *reason = NULL, *k3 = strdup_printf("%s/k3", f->keys);

        install_ok(f, first, ELEMENTSOF(first), true);
        /* refused while planning: nothing written */
        assert_int_equal(install(f, unknown_owner, ELEMENTSOF(unknown_owner), true, &reason), -ENOENT);
        assert_non_null(strstr(reason, "key 'k2': owner: no user 'no-such-user-h2'"));
        assert_true(file_has(f->keys, "k1", 1));
        assert_true(file_has(f->keys, "k2", 2));
        /* refused in the middle of the commit (k3's name is taken by a directory): k1 and k2, already
         * renamed into place, are put back as they were */
        assert_int_equal(mkdir(k3, 0700), 0);
        free(reason);
        reason = NULL;
        assert_int_equal(install(f, blocked, ELEMENTSOF(blocked), true, &reason), -EEXIST);
        assert_non_null(strstr(reason, "key 'k3'"));
        assert_true(file_has(f->keys, "k1", 1));
        assert_true(file_has(f->keys, "k2", 2));
        assert_int_equal(count_temporaries(f->keys), 0);
        assert_int_equal(rmdir(k3), 0);
        /* a key in the middle that is not new: the same without the obstacle goes in whole */
        install_ok(f, blocked, ELEMENTSOF(blocked), true);
        assert_true(file_has(f->keys, "k1", 11));
        assert_true(file_has(f->keys, "k3", 13));
}

static void test_directory_refused(void **state) {
        Fixture *f = *state;
        const K keys[] = { { "k1", 1, {} } };
        struct passwd *nobody = getpwnam("nobody");
        _cleanup_free_ char *reason = NULL;
        struct statfs sf;

        assert_int_equal(chmod(f->keys, 0770), 0);
        assert_int_equal(install(f, keys, 1, true, &reason), -EPERM);
        assert_non_null(strstr(reason, "writable by its group"));
        assert_int_equal(chmod(f->keys, 0703), 0);
        assert_int_equal(install(f, keys, 1, true, &reason), -EPERM);
        assert_non_null(strstr(reason, "writable by others"));
        assert_int_equal(chmod(f->keys, 0700), 0);
        if (geteuid() == 0) {
                assert_non_null(nobody);
                assert_int_equal(chown(f->keys, nobody->pw_uid, (gid_t) -1), 0);
                assert_int_equal(install(f, keys, 1, true, &reason), -EPERM);
                assert_non_null(strstr(reason, "is owned by uid"));
                assert_int_equal(chown(f->keys, 0, (gid_t) -1), 0);
        }
        assert_false(file_exists(f->keys, "k1"));
        /* not a memory file system */
        if (statfs(f->work, &sf) == 0 && sf.f_type != 0x01021994) {
                AgentConfig c = f->c;
                c.keys_dir = f->work;
                _cleanup_(secret_freep) Secret *b = bundle_of(keys, 1, true);
                assert_int_equal(keys_install(&c, b, &reason), -EPERM);
                assert_non_null(strstr(reason, "is not on tmpfs"));
        }
}

static void test_planted_temporary(void **state) {
        Fixture *f = *state;
        const K keys[] = { { "k1", 1, {} } };
        struct passwd *nobody = getpwnam("nobody");
        _cleanup_free_ char *planted = strdup_printf("%s/.tmp.%d", f->keys, (int) getpid()),
                            *link = strdup_printf("%s/k1.tmp.%d", f->keys, (int) getpid()),
                            *k1 = strdup_printf("%s/k1", f->keys);
        struct stat st;
        int fd;

        /* what another user could plant when the directory was shared: the old fixed temporary
         * name (which used to give a 0666 key file owned by the planter) and a symlink */
        fd = open(planted, O_WRONLY | O_CREAT | O_EXCL, 0666);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(chmod(planted, 0666), 0);
        if (geteuid() == 0 && nobody)
                assert_int_equal(chown(planted, nobody->pw_uid, (gid_t) -1), 0);
        assert_int_equal(symlink("/etc/passwd-h2-never", link), 0);
        install_ok(f, keys, 1, true);
        assert_int_equal(lstat(k1, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0400);
        assert_int_equal(st.st_uid, geteuid());
        assert_int_equal(stat(planted, &st), 0);
        assert_int_equal(st.st_size, 0); /* untouched */
        assert_false(file_exists("/etc", "passwd-h2-never"));
}

static void test_swap(void **state) {
        Fixture *f = *state;
        const K keys[] = { { "k1", 1, {} } };
        _cleanup_free_ char *reason = NULL, *swaps = strdup_printf("%s/swaps-on", f->work);
        FILE *s = fopen(swaps, "w");
        bool on;

        assert_non_null(s);
        fputs("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/vda2  partition\t2097148\t\t0\t\t-2\n", s);
        fclose(s);
        assert_int_equal(swap_is_active(f->swaps, &on, NULL), 0);
        assert_false(on);
        assert_int_equal(swap_is_active(swaps, &on, NULL), 0);
        assert_true(on);

        f->c.swaps_path = swaps;
        assert_int_equal(install(f, keys, 1, true, &reason), -EPERM);
        assert_non_null(strstr(reason, "swap is on"));
        assert_false(file_exists(f->keys, "k1"));
        f->c.allow_swap = true;
        install_ok(f, keys, 1, true);
        assert_true(file_has(f->keys, "k1", 1));
        f->c.allow_swap = false;
        /* an unreadable swaps file is a refusal, not a guess */
        f->c.swaps_path = "/nonexistent/swaps";
        assert_int_equal(install(f, keys, 1, true, &reason), -ENOENT);
        assert_non_null(strstr(reason, "whether swap is on"));
}

/* As uid, whether "user" key cvmd:<kid> found from the user's keyring holds the key of seed:
 * 0 yes, 1 not found, 2 other bytes, 3 could not look. */
static int keyring_has(uid_t uid, gid_t gid, const char *kid, uint8_t seed) {
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                char desc[128], buf[64];
                _cleanup_(secret_freep) Secret *want = NULL;
                long id, n;

                if (uid != geteuid() && (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
                                         setresuid(uid, uid, uid) < 0))
                        _exit(3);
                if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0L) < 0 ||
                    syscall(SYS_keyctl, KEYCTL_LINK, KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING) < 0)
                        _exit(3);
                snprintf(desc, sizeof(desc), "cvmd:%s", kid);
                id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0L);
                if (id < 0)
                        _exit(1);
                n = syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof(buf));
                want = key_of(32, seed);
                _exit(n == 32 && secret_equal_bytes(want, buf, 32) ? 0 : 2);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void random_kid(char *buf, size_t size, const char *prefix) {
        uint8_t r[4];

        assert_int_equal(getrandom(r, sizeof(r), 0), (ssize_t) sizeof(r));
        snprintf(buf, size, "%s-%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3]);
}

static void test_keyring(void **state) {
        Fixture *f = *state;
        struct passwd *nobody = getpwnam("nobody");
        char a[32], b[32], c[32];
        _cleanup_free_ char *reason = NULL;

        if (geteuid() != 0)
                skip(); /* another user's keyring needs root, as the agent has */
        assert_non_null(nobody);
        /* IDs of this run only: the keyrings outlive the test */
        random_kid(a, sizeof(a), "ring-a");
        random_kid(b, sizeof(b), "ring-b");
        random_kid(c, sizeof(c), "ring-c");
        {
                /* the agent's own user (no metadata, --keyring-user) and another user's (metadata) */
                K keys[] = { { a, 1, { .target = KEY_TARGET_KEYRING } },
                             { b, 2, { .target = KEY_TARGET_KEYRING, .owner = "nobody" } } };
                struct passwd *me = getpwuid(geteuid());
                assert_non_null(me);
                f->c.keyring_user = me->pw_name;
                install_ok(f, keys, ELEMENTSOF(keys), true);
                assert_int_equal(keyring_has(geteuid(), getegid(), a, 1), 0);
                assert_int_equal(keyring_has(nobody->pw_uid, nobody->pw_gid, b, 2), 0);
                assert_int_equal(keyring_has(nobody->pw_uid, nobody->pw_gid, a, 1), 1);
        }
        {
                /* re-attestation replaces b and adds c; a key of the earlier bundle stays */
                K keys[] = { { b, 12, { .target = KEY_TARGET_KEYRING, .owner = "nobody" } },
                             { c, 13, { .target = KEY_TARGET_KEYRING, .owner = "nobody" } } };
                install_ok(f, keys, ELEMENTSOF(keys), true);
                assert_int_equal(keyring_has(nobody->pw_uid, nobody->pw_gid, b, 12), 0);
                assert_int_equal(keyring_has(nobody->pw_uid, nobody->pw_gid, c, 13), 0);
        }
        {
                /* keep: b stays 12 */
                K keys[] = { { b, 22, { .target = KEY_TARGET_KEYRING, .owner = "nobody" } } };
                install_ok(f, keys, ELEMENTSOF(keys), false);
                assert_int_equal(keyring_has(nobody->pw_uid, nobody->pw_gid, b, 12), 0);
        }
        {
                /* all or nothing across targets: the file commit fails (a directory in the way), so
                 * the keyring is not switched and the earlier file is back */
                K keys[] = { { b, 32, { .target = KEY_TARGET_KEYRING, .owner = "nobody" } }, { "blocked", 33, {} } };
                _cleanup_free_ char *blocked = strdup_printf("%s/blocked", f->keys);
                f->c.keyring_user = NULL;
                assert_int_equal(mkdir(blocked, 0700), 0);
                assert_true(install(f, keys, ELEMENTSOF(keys), true, &reason) < 0);
                assert_non_null(strstr(reason, "key 'blocked'"));
                assert_int_equal(keyring_has(nobody->pw_uid, nobody->pw_gid, b, 12), 0);
                assert_int_equal(rmdir(blocked), 0);
        }
        {
                K keys[] = { { "nowhere", 1, { .target = KEY_TARGET_KEYRING } } };
                assert_int_equal(install(f, keys, 1, true, &reason), -EINVAL);
                assert_non_null(strstr(reason, "names no user, and the agent has no --keyring-user"));
        }
}

/* ---- LUKS ---- */

static void quiet(int level, const char *msg, void *usrptr) {
}

static void test_luks(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *img = strdup_printf("%s/luks.img", f->work), *cmd = NULL, *reason = NULL;
        _cleanup_(secret_freep) Secret *key = key_of(32, 7), *wrong = key_of(32, 8);
        struct crypt_pbkdf_type fast = { .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000,
                                         .flags = CRYPT_PBKDF_NO_BENCHMARK };
        struct crypt_device *cd = NULL;
        char loop[64] = "";
        FILE *p;
        int fd;

        fd = open(img, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 32 * 1024 * 1024), 0);
        close(fd);
        /* a real LUKS2 header, the key as the passphrase of slot 0 (luksFormat --key-file) */
        crypt_set_log_callback(NULL, quiet, NULL);
        assert_int_equal(crypt_init(&cd, img), 0);
        assert_int_equal(crypt_set_pbkdf_type(cd, &fast), 0);
        assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, NULL), 0);
        assert_true(crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, (const char *) secret_data(key),
                                                    secret_size(key)) >= 0);
        crypt_free(cd);

        cmd = strdup_printf("losetup -f --show '%s' 2>/dev/null", img);
        p = popen(cmd, "r");
        if (!p || !fgets(loop, sizeof(loop), p) || strncmp(loop, "/dev/loop", 9) != 0) {
                if (p)
                        pclose(p);
                skip(); /* no loop devices here: the LUKS install is not exercised (said as skipped) */
        }
        pclose(p);
        loop[strcspn(loop, "\n")] = '\0';
        {
                K ok_keys[] = { { "vol", 7, { .target = KEY_TARGET_LUKS } }, { "k1", 11, {} } };
                K wrong_keys[] = { { "vol", 8, { .target = KEY_TARGET_LUKS } }, { "k1", 21, {} } };
                K before[] = { { "k1", 1, {} } };
                char mapper[160];
                int r;

                memcpy(ok_keys[0].install.device, loop, strlen(loop) + 1);
                memcpy(wrong_keys[0].install.device, loop, strlen(loop) + 1);
                snprintf(ok_keys[0].install.dm_name, sizeof(ok_keys[0].install.dm_name), "cvmd-test-%d", (int) getpid());
                install_ok(f, before, 1, true);

                /* a key that opens no key slot: refused before anything is in place */
                r = install(f, wrong_keys, ELEMENTSOF(wrong_keys), true, &reason);
                assert_int_equal(r, -EPERM);
                assert_non_null(strstr(reason, "key 'vol': it opens no key slot of the LUKS volume"));
                assert_true(file_has(f->keys, "k1", 1));

                /* the right key: the volume opens, or, where device-mapper is missing (containers),
                 * the activation fails and the file key of the same bundle is rolled back */
                free(reason);
                reason = NULL;
                r = install(f, ok_keys, ELEMENTSOF(ok_keys), true, &reason);
                snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", ok_keys[0].install.dm_name);
                if (r == 2) {
                        struct stat st;
                        assert_int_equal(stat(mapper, &st), 0);
                        assert_true(file_has(f->keys, "k1", 11));
                        /* a second exchange finds it open and leaves it so */
                        assert_int_equal(install(f, ok_keys, ELEMENTSOF(ok_keys), true, &reason), 2);
                        assert_int_equal(crypt_deactivate(NULL, ok_keys[0].install.dm_name), 0);
                } else {
                        print_message("LUKS activation not possible here (%s): checked the key against the "
                                      "header and the rollback only\n", reason);
                        assert_non_null(strstr(reason, "key 'vol': cannot open"));
                        assert_true(file_has(f->keys, "k1", 1));
                        assert_int_equal(count_temporaries(f->keys), 0);
                }
                free(cmd);
                cmd = strdup_printf("losetup -d '%s'", loop);
                assert_int_equal(system(cmd), 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_files_and_metadata, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replace_and_keep, setup, teardown),
                cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_directory_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_planted_temporary, setup, teardown),
                cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keyring, setup, teardown),
                cmocka_unit_test_setup_teardown(test_luks, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
