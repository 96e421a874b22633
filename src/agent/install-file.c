/* SPDX-License-Identifier: Apache-2.0 */
/* Key files on a memory file system: staged under a random name with their owner and mode set
 * on the descriptor, renamed into place, and undone from a link to what they replaced. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cvm/util.h"
#include "install.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

#define SWAPS_DEFAULT "/proc/swaps"

int swap_is_active(const char *swaps_path, bool *ret, char **ret_reason) {
        _cleanup_free_ uint8_t *data = NULL;
        const char *path = swaps_path ? swaps_path : SWAPS_DEFAULT, *nl;
        size_t size;
        int r;

        /* /proc/swaps: a header line, then one line per active swap area */
        r = read_file_bounded(path, 1024 * 1024, &data, &size);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot read %s to tell whether swap is on: %s", path, strerror(-r));
        nl = memchr(data, '\n', size);
        *ret = nl && (size_t) (nl + 1 - (const char *) data) < size;
        return 0;
}

int install_dir_open(const AgentConfig *c, int *ret_dfd, char **ret_reason) {
        _cleanup_close_ int dfd = -EBADF;
        struct statfs sf;
        bool swap;
        int r;

        dfd = open(c->keys_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return set_reason(ret_reason, -errno, "keys directory %s: %s", c->keys_dir, strerror(errno));
        if (fstatfs(dfd, &sf) < 0)
                return set_reason(ret_reason, -errno, "%s: %s", c->keys_dir, strerror(errno));
        /* keys must not reach a disk: a memory file system only */
        if (sf.f_type != TMPFS_MAGIC && sf.f_type != RAMFS_MAGIC)
                return set_reason(ret_reason, -EPERM, "%s is not on tmpfs: data keys never go to disk", c->keys_dir);
        r = secure_dir_check(dfd, c->keys_dir, geteuid(), ret_reason);
        if (r < 0)
                return r;
        if (!c->allow_swap) {
                /* tmpfs pages can be swapped out, and then the key is on a disk after all */
                r = swap_is_active(c->swaps_path, &swap, ret_reason);
                if (r < 0)
                        return r;
                if (swap)
                        return set_reason(ret_reason, -EPERM,
                                          "swap is on (%s): key files on tmpfs could be written to disk; turn swap "
                                          "off, or give --allow-swap when the swap is encrypted",
                                          c->swaps_path ? c->swaps_path : SWAPS_DEFAULT);
        }
        *ret_dfd = dfd;
        dfd = -EBADF;
        return 0;
}

int install_file_stage(int dfd, InstallItem *it, char **ret_reason) {
        int r = secure_file_stage(dfd, it->e->key, it->e->key_size, it->file_uid, it->file_gid, it->file_mode, it->tmp);

        if (r < 0)
                return set_reason(ret_reason, r, "key '%s': cannot write a temporary file: %s", it->e->kid,
                                  strerror(-r));
        it->staged = true;
        return 0;
}

/* A second name for the file being replaced, so that a rollback can put it back. */
static int link_backup(int dfd, InstallItem *it) {
        for (int tries = 0; tries < 8; tries++) {
                uint8_t b[8];

                if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
                        return -EIO;
                snprintf(it->backup, sizeof(it->backup), ".cvmd-tmp-%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                         b[3], b[4], b[5], b[6], b[7]);
                if (linkat(dfd, it->e->kid, dfd, it->backup, 0) >= 0) {
                        it->has_backup = true;
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

int install_file_commit(int dfd, InstallItem *it, bool replace, char **ret_reason) {
        struct stat st;
        int r;

        if (fstatat(dfd, it->e->kid, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (!replace) {
                        /* the bundle asks to leave installed keys as they are */
                        (void) unlinkat(dfd, it->tmp, 0);
                        it->staged = false;
                        it->kept = true;
                        return 0;
                }
                if (!S_ISREG(st.st_mode))
                        return set_reason(ret_reason, -EEXIST,
                                          "key '%s': that name exists in the keys directory and is not a regular file",
                                          it->e->kid);
                r = link_backup(dfd, it);
                if (r < 0)
                        return set_reason(ret_reason, r, "key '%s': cannot keep the earlier key for a rollback: %s",
                                          it->e->kid, strerror(-r));
        } else if (errno != ENOENT)
                return set_reason(ret_reason, -errno, "key '%s': %s", it->e->kid, strerror(errno));
        if (renameat(dfd, it->tmp, dfd, it->e->kid) < 0)
                return set_reason(ret_reason, -errno, "key '%s': cannot rename it into place: %s", it->e->kid,
                                  strerror(errno));
        it->staged = false;
        it->committed = true;
        return 0;
}

void install_file_rollback(int dfd, InstallItem *it) {
        if (it->committed) {
                if (it->has_backup)
                        (void) renameat(dfd, it->backup, dfd, it->e->kid);
                else
                        (void) unlinkat(dfd, it->e->kid, 0);
                it->committed = it->has_backup = false;
        } else if (it->has_backup) {
                (void) unlinkat(dfd, it->backup, 0);
                it->has_backup = false;
        }
        if (it->staged) {
                (void) unlinkat(dfd, it->tmp, 0);
                it->staged = false;
        }
}

void install_file_finish(int dfd, InstallItem *it) {
        if (it->has_backup)
                (void) unlinkat(dfd, it->backup, 0);
        it->has_backup = false;
}
