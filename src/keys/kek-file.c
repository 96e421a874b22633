/* SPDX-License-Identifier: Apache-2.0 */
/* File and systemd-credential KEKs: the KEK bytes in a protected file, RFC 5649 in software. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/keywrap.h"
#include "cvm/util.h"
#include "kek-internal.h"

int kek_open_protected_file(const char *path, int *ret_fd, char **ret_reason) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) {
                int r = -errno;
                if (r == -ELOOP)
                        return set_reason(ret_reason, -EPERM, "%s: is a symbolic link, refusing it", path);
                return set_reason(ret_reason, r, "%s: cannot open: %s", path, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: cannot stat: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return set_reason(ret_reason, -EPERM, "%s: not a regular file, refusing it", path);
        if (st.st_mode & 077)
                return set_reason(ret_reason, -EPERM,
                                  "%s: mode %04o gives group or others access, refusing it (chmod 0600)", path,
                                  (unsigned) (st.st_mode & 07777));
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return set_reason(ret_reason, -EPERM, "%s: owned by UID %u, not root, refusing it", path,
                                  (unsigned) st.st_uid);
        *ret_fd = fd;
        fd = -EBADF;
        return 0;
}

/* Raw 16/24/32 bytes, or that many bytes as hex with one optional trailing newline. */
static int kek_decode(const Secret *raw, Secret **ret) {
        const uint8_t *p = secret_data(raw);
        size_t n = secret_size(raw);
        _cleanup_(secret_freep) Secret *k = NULL;
        bool hex = true;
        int r;

        if (n == 16 || n == 24 || n == 32) {
                /* 32 raw bytes can also be 32 hex digits (a 16-byte key): raw wins unless every byte is
                 * a hex digit, which a random key practically never is. */
                for (size_t i = 0; i < n && hex; i++)
                        hex = unhex_digit((char) p[i]) >= 0;
                if (!hex || n != 32)
                        return secret_dup(raw, ret);
        }
        if (n > 0 && p[n - 1] == '\n')
                n--;
        if (n != 32 && n != 48 && n != 64)
                return -EINVAL;
        r = secret_new(n / 2, &k);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n / 2; i++) {
                int hi = unhex_digit((char) p[2 * i]), lo = unhex_digit((char) p[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                secret_data_mut(k)[i] = (uint8_t) (hi << 4 | lo);
        }
        *ret = TAKE_PTR(k);
        return 0;
}

int kek_file_load(const char *path, Secret **ret, char **ret_reason) {
        _cleanup_(secret_freep) Secret *raw = NULL, *k = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = kek_open_protected_file(path, &fd, ret_reason);
        if (r < 0)
                return r;
        r = secret_read_fd(fd, 65, &raw);
        if (r == -EFBIG || r == -ENODATA)
                return set_reason(ret_reason, -EINVAL, "%s: %s; a KEK file holds 16, 24 or 32 raw bytes or their hex",
                                  path, r == -EFBIG ? "too long" : "empty");
        if (r < 0)
                return set_reason(ret_reason, r, "%s: cannot read: %s", path, strerror(-r));
        r = kek_decode(raw, &k);
        if (r == -EINVAL)
                return set_reason(ret_reason, r, "%s: not a KEK: expected 16, 24 or 32 raw bytes or 32, 48 or 64 hex "
                                  "digits", path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

static int file_wrap(Kek *k, const Secret *key, uint8_t **ret, size_t *ret_size) {
        return keywrap_wrap(k->data, key, ret, ret_size);
}

static int file_unwrap(Kek *k, const uint8_t *wrapped, size_t n, Secret **ret) {
        return keywrap_unwrap(k->data, wrapped, n, ret);
}

static void file_done(Kek *k) {
        k->data = secret_free(k->data);
}

static const KekOps file_ops = {
        .wrap = file_wrap,
        .unwrap = file_unwrap,
        .done = file_done,
};

int kek_file_open(const char *path, const char *reference, Kek **ret, char **ret_reason) {
        _cleanup_(secret_freep) Secret *key = NULL;
        _cleanup_(kek_freep) Kek *k = NULL;
        int r;

        r = kek_file_load(path, &key, ret_reason);
        if (r < 0)
                return r;
        k = calloc(1, sizeof(Kek));
        if (!k)
                return -ENOMEM;
        k->reference = strdup(reference);
        if (!k->reference)
                return -ENOMEM;
        k->alg = keywrap_alg_for_kek_size(secret_size(key));
        k->ops = &file_ops;
        k->data = TAKE_PTR(key);
        *ret = TAKE_PTR(k);
        return 0;
}
