/* SPDX-License-Identifier: Apache-2.0 */
/* The measure code's file side: firmware read whole (it is measured page by page), kernel and
 * initrd streamed through their digest (they can be hundreds of MiB), private keys read into
 * locked memory. cvmctl measure and the launch call these with the files a guest boots. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/measure-files.h"
#include "cvm/secret.h"
#include "cvm/util.h"

#define CHUNK (1u << 20)
#define PRIVATE_KEY_MAX (64u * 1024u)

static bool is_dev_null(const struct stat *st) {
        return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 3;
}

int measure_file_digest(const char *path, const EVP_MD *md, uint8_t *ret, char **ret_reason) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        _cleanup_free_ uint8_t *buf = malloc(CHUNK);
        _cleanup_close_ int fd = -EBADF;
        uint64_t total = 0;
        struct stat st;
        unsigned n = 0;

        if (!ctx || !buf || EVP_DigestInit_ex(ctx, md, NULL) != 1)
                return set_reason(ret_reason, -ENOMEM, "out of memory");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode) && !is_dev_null(&st))
                return set_reason(ret_reason, -EBADFD, "%s: not a regular file", path);
        for (;;) {
                ssize_t k = read(fd, buf, CHUNK);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
                if (k == 0)
                        break;
                total += (uint64_t) k;
                if (total > MEASURE_BOOT_FILE_MAX)
                        return set_reason(ret_reason, -EFBIG, "%s: larger than 4 GiB", path);
                if (EVP_DigestUpdate(ctx, buf, (size_t) k) != 1)
                        return set_reason(ret_reason, -EIO, "digest failed");
        }
        if (EVP_DigestFinal_ex(ctx, ret, &n) != 1 || n != (unsigned) EVP_MD_get_size(md))
                return set_reason(ret_reason, -EIO, "digest failed");
        return 0;
}

int measure_read_firmware(const char *path, uint8_t **ret, size_t *ret_size, char **ret_reason) {
        int r = read_file_bounded(path, OVMF_IMAGE_MAX, ret, ret_size);
        if (r == -EFBIG)
                return set_reason(ret_reason, r, "%s: larger than %u MiB, not a firmware image", path,
                                  OVMF_IMAGE_MAX >> 20);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", path, strerror(-r));
        return 0;
}

int measure_load_private_key(const char *path, EVP_PKEY **ret, char **ret_reason) {
        _cleanup_(secret_freep) Secret *pem = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        _cleanup_close_ int fd = -EBADF;
        EVP_PKEY *key;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return set_reason(ret_reason, -EBADFD, "%s: not a regular file", path);
        r = secret_read_fd(fd, PRIVATE_KEY_MAX, &pem);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", path, r == -ENODATA ? "empty" : strerror(-r));
        bio = BIO_new_mem_buf(secret_data(pem), (int) secret_size(pem));
        key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        if (!key)
                return set_reason(ret_reason, openssl_fail(-EBADMSG), "%s: not a PEM private key", path);
        *ret = key;
        return 0;
}

int snp_measure_files(const SnpMeasureFiles *f, SnpMeasurement *ret, SnpKernelHashes *ret_hashes,
                      char **ret_reason) {
        _cleanup_free_ uint8_t *fw = NULL, *svsm = NULL;
        size_t fw_size = 0, svsm_size = 0;
        SnpKernelHashes kh = {};
        SnpMeasureParams p = {
                .vmm = f->vmm,
                .vcpus = f->vcpus,
                .vcpu_sig = f->vcpu_sig,
                .guest_features = f->guest_features,
                .ovmf_hash = f->ovmf_hash,
                .vars_size = f->vars_size,
        };
        int r;

        if (!f->kernel && (f->initrd || f->append))
                return set_reason(ret_reason, -EINVAL, "an initrd or command line is measured only with a kernel");
        r = measure_read_firmware(f->firmware, &fw, &fw_size, ret_reason);
        if (r < 0)
                return r;
        p.firmware = fw;
        p.firmware_size = fw_size;
        if (f->svsm) {
                r = measure_read_firmware(f->svsm, &svsm, &svsm_size, ret_reason);
                if (r < 0)
                        return r;
                p.svsm = svsm;
                p.svsm_size = svsm_size;
        }
        if (f->kernel) {
                r = measure_file_digest(f->kernel, EVP_sha256(), kh.kernel, ret_reason);
                if (r >= 0)
                        r = f->initrd ? measure_file_digest(f->initrd, EVP_sha256(), kh.initrd, ret_reason)
                                      : (EVP_Digest("", 0, kh.initrd, NULL, EVP_sha256(), NULL) ? 0 : -EIO);
                if (r >= 0)
                        r = snp_cmdline_digest(f->append, kh.cmdline);
                if (r < 0)
                        return ret_reason && *ret_reason ? r : set_reason(ret_reason, r, "SHA-256 failed");
                p.kernel_hashes = &kh;
        }
        r = snp_measure(&p, ret, ret_reason);
        if (r < 0)
                return r;
        if (ret_hashes)
                *ret_hashes = kh;
        return 0;
}

int tdx_mrtd_file(const char *firmware, uint8_t ret[TDX_MR_SIZE], char **ret_reason) {
        _cleanup_free_ uint8_t *fw = NULL;
        OvmfImage img;
        size_t size;
        int r;

        r = measure_read_firmware(firmware, &fw, &size, ret_reason);
        if (r < 0)
                return r;
        r = ovmf_parse(fw, size, OVMF_FOUR_GIB, OVMF_WANT_TDVF, &img, ret_reason);
        if (r < 0)
                return r;
        return tdx_mrtd(&img, ret, ret_reason);
}
