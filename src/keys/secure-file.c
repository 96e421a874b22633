/* SPDX-License-Identifier: Apache-2.0 */
/* Secret files in a directory others might share (see cvm/secure-file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/secure-file.h"
#include "cvm/util.h"

int secure_dir_check(int dirfd, const char *path, uid_t uid, char **ret_reason) {
        struct stat st;

        if (fstat(dirfd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return set_reason(ret_reason, -ENOTDIR, "%s is not a directory", path);
        /* Whoever else may write here could replace a key file between our rename and its
         * reader, or plant names for us to trip over. */
        if (st.st_uid != uid)
                return set_reason(ret_reason, -EPERM, "%s is owned by uid %u, not by uid %u: refusing to put keys there",
                                  path, (unsigned) st.st_uid, (unsigned) uid);
        if (st.st_mode & 0022)
                return set_reason(ret_reason, -EPERM, "%s is writable by %s (mode %04o): refusing to put keys there",
                                  path, st.st_mode & 0020 ? "its group" : "others", (unsigned) (st.st_mode & 07777));
        return 0;
}

static int random_name(char ret[static SECURE_TMP_NAME_SIZE]) {
        uint8_t b[8];
        ssize_t k;

        do
                k = getrandom(b, sizeof(b), 0);
        while (k < 0 && errno == EINTR);
        if (k != (ssize_t) sizeof(b))
                return k < 0 ? -errno : -EIO;
        snprintf(ret, SECURE_TMP_NAME_SIZE, ".cvmd-tmp-%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
                 b[5], b[6], b[7]);
        return 0;
}

int secure_file_stage(int dirfd, const void *p, size_t n, uid_t uid, gid_t gid, mode_t mode,
                      char ret_name[static SECURE_TMP_NAME_SIZE]) {
        char name[SECURE_TMP_NAME_SIZE];
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = random_name(name);
        if (r < 0)
                return r;
        /* 0600 at creation whatever the umask lets through; the final mode only once the owner is
         * right, so that no one else ever holds an open descriptor to the key */
        fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if ((uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                goto fail;
        if (fchmod(fd, mode) < 0)
                goto fail;
        r = write_all(fd, p, n);
        if (r < 0) {
                errno = -r;
                goto fail;
        }
        if (fsync(fd) < 0)
                goto fail;
        memcpy(ret_name, name, SECURE_TMP_NAME_SIZE);
        return 0;
fail:
        r = -errno;
        (void) unlinkat(dirfd, name, 0);
        return r;
}

int secure_file_write(const char *dir, const char *name, const void *p, size_t n, mode_t mode, bool replace,
                      char **ret_reason) {
        _cleanup_close_ int dfd = -EBADF;
        char tmp[SECURE_TMP_NAME_SIZE];
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return set_reason(ret_reason, -errno, "%s: %s", dir, strerror(errno));
        r = secure_dir_check(dfd, dir, geteuid(), ret_reason);
        if (r < 0)
                return r;
        r = secure_file_stage(dfd, p, n, (uid_t) -1, (gid_t) -1, mode, tmp);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: cannot write a temporary file: %s", dir, strerror(-r));
        if (renameat2(dfd, tmp, dfd, name, replace ? 0 : RENAME_NOREPLACE) < 0) {
                r = -errno;
                (void) unlinkat(dfd, tmp, 0);
                if (r == -EEXIST)
                        return set_reason(ret_reason, r, "%s/%s exists", dir, name);
                return set_reason(ret_reason, r, "%s/%s: %s", dir, name, strerror(-r));
        }
        (void) fsync(dfd);
        return 0;
}
