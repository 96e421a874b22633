/* SPDX-License-Identifier: Apache-2.0 */
/* Installing the released data keys: 0400 files on a tmpfs directory and/or "user" keys in a
 * user's kernel keyring. The key bytes go from the Secret to the kernel and nowhere else. */
#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "cvm/exchange.h"
#include "cvm/util.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

typedef struct InstallCtx {
        const AgentConfig *c;
        uid_t uid;
        gid_t gid;
        unsigned count;
        char **reason;
} InstallCtx;

static int write_key_file(const char *dir, const char *kid, const uint8_t *key, size_t n, char **ret_reason) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, kid);
        _cleanup_close_ int fd = -EBADF;
        size_t done = 0;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
        if (fd < 0)
                return set_reason(ret_reason, -errno, "cannot create %s: %s", path, strerror(errno));
        while (done < n) {
                ssize_t k = write(fd, key + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = -errno;
                        (void) unlink(path);
                        return set_reason(ret_reason, r, "cannot write %s: %s", path, strerror(-r));
                }
                done += (size_t) k;
        }
        return 0;
}

/* add_key(2) as the target user, so the key lands in that user's keyring and is owned by it. */
static int add_user_key(uid_t uid, gid_t gid, const char *kid, const uint8_t *key, size_t n, char **ret_reason) {
        _cleanup_free_ char *desc = strdup_printf("cvmd:%s", kid);
        pid_t pid;
        int status;

        if (!desc)
                return -ENOMEM;
        if (uid == geteuid()) {
                if (syscall(SYS_add_key, "user", desc, key, n, KEY_SPEC_USER_KEYRING) < 0)
                        return set_reason(ret_reason, -errno, "add_key %s: %s", desc, strerror(errno));
                return 0;
        }
        /* The child gets the key through a pipe, not through inherited memory: Secrets may be
         * mapped MADV_WIPEONFORK, and a pipe leaves no copy behind in either process. */
        {
                int p[2];
                size_t done = 0;

                if (pipe2(p, O_CLOEXEC) < 0)
                        return set_reason(ret_reason, -errno, "pipe: %s", strerror(errno));
                pid = fork();
                if (pid < 0) {
                        close(p[0]);
                        close(p[1]);
                        return set_reason(ret_reason, -errno, "fork: %s", strerror(errno));
                }
                if (pid == 0) {
                        uint8_t buf[UINT16_MAX];
                        size_t got = 0;
                        long k;

                        close(p[1]);
                        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                                _exit(2);
                        while (got < n && (k = read(p[0], buf + got, n - got)) > 0)
                                got += (size_t) k;
                        k = got == n ? syscall(SYS_add_key, "user", desc, buf, n, KEY_SPEC_USER_KEYRING) : -1;
                        explicit_bzero(buf, sizeof(buf));
                        _exit(k < 0 ? 1 : 0);
                }
                close(p[0]);
                while (done < n) {
                        ssize_t k = write(p[1], key + done, n - done);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                break;
                        done += (size_t) k;
                }
                close(p[1]);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return set_reason(ret_reason, -EIO, "add_key %s as uid %u failed", desc, (unsigned) uid);
        return 0;
}

static int install_one(void *userdata, const char *kid, const uint8_t *key, size_t n) {
        InstallCtx *x = userdata;
        int r;

        /* A kid names a file: the sender is trusted, but a path is never taken on faith. */
        if (strchr(kid, '/') || kid[0] == '.')
                return set_reason(x->reason, -EINVAL, "key ID '%s' is not a plain name", kid);
        if (x->c->keys_dir) {
                r = write_key_file(x->c->keys_dir, kid, key, n, x->reason);
                if (r < 0)
                        return r;
        }
        if (x->c->keyring_user) {
                r = add_user_key(x->uid, x->gid, kid, key, n, x->reason);
                if (r < 0)
                        return r;
        }
        x->count++;
        return 0;
}

int keys_install(const AgentConfig *c, const Secret *bundle, char **ret_reason) {
        InstallCtx x = { .c = c, .reason = ret_reason };
        int r;

        if (!c->keys_dir && !c->keyring_user)
                return set_reason(ret_reason, -EINVAL, "nowhere to install keys (no keys directory, no keyring user)");
        if (c->keys_dir) {
                struct statfs sf;
                if (statfs(c->keys_dir, &sf) < 0)
                        return set_reason(ret_reason, -errno, "%s: %s", c->keys_dir, strerror(errno));
                /* Keys must not reach a disk: refuse anything but a memory file system. */
                if (sf.f_type != TMPFS_MAGIC && sf.f_type != RAMFS_MAGIC)
                        return set_reason(ret_reason, -EPERM, "%s is not on tmpfs: data keys never go to disk",
                                          c->keys_dir);
        }
        if (c->keyring_user) {
                struct passwd *pw = getpwnam(c->keyring_user);
                if (!pw)
                        return set_reason(ret_reason, -ENOENT, "no user '%s' for the keyring", c->keyring_user);
                x.uid = pw->pw_uid;
                x.gid = pw->pw_gid;
        }
        r = key_bundle_foreach(bundle, install_one, &x);
        if (r == -EBADMSG)
                return set_reason(ret_reason, r, "the key bundle is malformed");
        return r < 0 ? r : (int) x.count;
}
