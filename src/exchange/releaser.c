/* SPDX-License-Identifier: Apache-2.0 */
/* The releaser key (include/cvm/releaser.h): load, generate, and cvmd's copy in its state
 * directory. The key file is raw bytes read straight into locked memory, so no parser and no
 * intermediate buffer ever hold the private key. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/crypto.h"
#include "cvm/hpke.h"
#include "cvm/releaser.h"
#include "cvm/util.h"

void releaser_key_done(ReleaserKey *k) {
        secret_free(k->sk);
        *k = (ReleaserKey) {};
}

int releaser_key_generate(ReleaserKey *ret) {
        ReleaserKey k = {};
        int r = hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &k.sk, k.pk);

        if (r < 0)
                return r;
        *ret = k;
        return 0;
}

/* Reads the key from an open file; `owned` also requires the file to be ours. */
static int key_read_fd(int fd, const char *path, bool owned, ReleaserKey *ret, char **ret_reason) {
        _cleanup_(secret_freep) Secret *sk = NULL;
        ReleaserKey k = {};
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return set_reason(ret_reason, -EINVAL, "%s: not a regular file", path);
        if (owned && st.st_uid != geteuid())
                return set_reason(ret_reason, -EPERM, "%s: owned by uid %u, not by us (%u)", path,
                                  (unsigned) st.st_uid, (unsigned) geteuid());
        if (st.st_mode & 0077)
                return set_reason(ret_reason, -EPERM, "%s: mode %04o gives group or others access, refusing", path,
                                  (unsigned) (st.st_mode & 07777));
        r = secret_read_fd(fd, HPKE_PRIVATE_KEY_SIZE, &sk);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || secret_size(sk) != HPKE_PRIVATE_KEY_SIZE)
                return set_reason(ret_reason, -EINVAL, "%s: not an X25519 private key (exactly %u raw bytes)", path,
                                  HPKE_PRIVATE_KEY_SIZE);
        r = hpke_public_key(HPKE_SUITE_DEFAULT, sk, k.pk);
        if (r < 0)
                return set_reason(ret_reason, r == -ENOMEM ? r : -EINVAL, "%s: not a usable X25519 private key", path);
        k.sk = TAKE_PTR(sk);
        *ret = k;
        return 0;
}

int releaser_key_load(const char *path, ReleaserKey *ret, char **ret_reason) {
        _cleanup_close_ int fd = -EBADF;

        /* O_NONBLOCK: a FIFO given as the key must not hang open(); key_read_fd() then refuses
         * anything but a regular file (which ignores the flag) */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return set_reason(ret_reason, errno == ENOMEM ? -ENOMEM : -EINVAL, "%s: cannot read: %s", path,
                                  strerror(errno));
        return key_read_fd(fd, path, false, ret, ret_reason);
}

/* Creates the key file in dir_fd; -EEXIST when another process made one first. */
static int key_create(int dir_fd, const char *dir, ReleaserKey *ret, char **ret_reason) {
        _cleanup_(releaser_key_done) ReleaserKey k = {};
        _cleanup_close_ int fd = -EBADF;
        uint8_t rnd[8];
        char tmp[64];
        int r;

        r = releaser_key_generate(&k);
        if (r < 0)
                return set_reason(ret_reason, r, "generating an X25519 key failed");
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
                return openssl_fail(-EIO);
        /* a random name opened O_EXCL: never a file or link someone else put there */
        snprintf(tmp, sizeof(tmp), ".%s.%02x%02x%02x%02x%02x%02x%02x%02x", RELEASER_KEY_FILE, rnd[0], rnd[1], rnd[2],
                 rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return set_reason(ret_reason, -errno, "%s/%s: %s", dir, tmp, strerror(errno));
        r = fchmod(fd, 0600) < 0 ? -errno : 0; /* whatever the umask */
        if (r >= 0)
                r = write_all(fd, secret_data(k.sk), secret_size(k.sk));
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        /* no replace: a key that is there (another cvmd's, just made) is the one VMs are bound to */
        if (r >= 0 && renameat2(dir_fd, tmp, dir_fd, RELEASER_KEY_FILE, RENAME_NOREPLACE) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r == -EEXIST ? r : set_reason(ret_reason, r, "%s/%s: %s", dir, RELEASER_KEY_FILE, strerror(-r));
        }
        if (fsync(dir_fd) < 0)
                return set_reason(ret_reason, -errno, "%s: fsync: %s", dir, strerror(errno));
        *ret = k;
        k = (ReleaserKey) {};
        return 0;
}

int releaser_key_open_state(const char *dir, ReleaserKey *ret, char **ret_reason) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, RELEASER_KEY_FILE);
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        if (!path)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", dir, strerror(-r));
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return set_reason(ret_reason, -errno, "%s: %s", dir, strerror(errno));
        for (int attempt = 0; attempt < 2; attempt++) {
                _cleanup_close_ int fd = openat(dir_fd, RELEASER_KEY_FILE,
                                                  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

                if (fd >= 0)
                        return key_read_fd(fd, path, true, ret, ret_reason);
                if (errno != ENOENT)
                        return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
                r = key_create(dir_fd, dir, ret, ret_reason);
                if (r != -EEXIST)
                        return r;
                /* made meanwhile by someone else: read theirs */
        }
        return set_reason(ret_reason, -EEXIST, "%s: appeared and vanished while being created", path);
}
