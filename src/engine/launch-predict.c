/* SPDX-License-Identifier: Apache-2.0 */
/* The files a launch boots, read once each: their SHA-384 digests for the launch digest (the
 * launch binds contents, not paths) and, from the same bytes, the predicted SEV-SNP MEASUREMENT
 * or TDX MRTD. Reading each file once matters: a file hashed in one read and measured in another
 * could be swapped between the two. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/cleanup.h"
#include "cvm/launch-predict.h"
#include "cvm/measure-files.h"
#include "cvm/ovmf.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"

#define CHUNK (1u << 20)
#define CPUINFO_MAX (8u << 20)

bool launch_policy_predicts(const Policy *policy, CvmTee evidence) {
        if (!policy)
                return false;
        if (evidence == CVM_TEE_SEV_SNP)
                return policy->has_snp && policy->snp.measurements_predicted;
        if (evidence == CVM_TEE_TDX)
                return policy->has_tdx && policy->tdx.mrtds_predicted;
        return false;
}

bool launch_spec_has_boot_files(const LaunchSpec *spec) {
        return spec->boot.firmware || spec->boot.kernel || spec->boot.initrd;
}

void launch_boot_files_done(LaunchBootFiles *f) {
        if (!f)
                return;
        free(f->firmware);
        *f = (LaunchBootFiles) {};
}

/* One pass over a regular file: its SHA-384, its SHA-256 when sha256 is given, and its bytes
 * when ret_data is given. Bounded by max; the type is checked on the descriptor, and O_NONBLOCK
 * keeps a FIFO planted at the path from blocking the open. */
static int read_boot_file(const char *field, const char *path, uint64_t max, uint8_t sha384[48], uint8_t *sha256,
                          uint8_t **ret_data, size_t *ret_size, char **ret_reason) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *c384 = EVP_MD_CTX_new(), *c256 = EVP_MD_CTX_new();
        _cleanup_free_ uint8_t *chunk = malloc(CHUNK), *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t total = 0;
        struct stat st;

        if (!c384 || !c256 || !chunk || EVP_DigestInit_ex(c384, EVP_sha384(), NULL) != 1 ||
            EVP_DigestInit_ex(c256, EVP_sha256(), NULL) != 1)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: cannot read %s: %s", field, path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return set_reason(ret_reason, -EBADFD, "%s: %s is not a regular file", field, path);
        if ((uint64_t) st.st_size > max)
                return set_reason(ret_reason, -EFBIG, "%s: %s is larger than %" PRIu64 " MiB", field, path, max >> 20);
        if (ret_data && !(data = malloc(max)))
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, chunk, CHUNK);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return set_reason(ret_reason, -errno, "%s: cannot read %s: %s", field, path, strerror(errno));
                if (k == 0)
                        break;
                /* the file may grow while it is read: the bound holds for what is read */
                if ((uint64_t) k > max - total)
                        return set_reason(ret_reason, -EFBIG, "%s: %s is larger than %" PRIu64 " MiB", field, path,
                                          max >> 20);
                if (EVP_DigestUpdate(c384, chunk, (size_t) k) != 1 ||
                    (sha256 && EVP_DigestUpdate(c256, chunk, (size_t) k) != 1))
                        return set_reason(ret_reason, -EIO, "%s: digest failed", field);
                if (data)
                        memcpy(data + total, chunk, (size_t) k);
                total += (uint64_t) k;
        }
        if (EVP_DigestFinal_ex(c384, sha384, NULL) != 1 || (sha256 && EVP_DigestFinal_ex(c256, sha256, NULL) != 1))
                return set_reason(ret_reason, -EIO, "%s: digest failed", field);
        if (ret_data) {
                *ret_data = TAKE_PTR(data);
                *ret_size = (size_t) total;
        }
        return 0;
}

int launch_boot_files_read(const LaunchSpec *spec, LaunchBootFiles *ret, char **ret_reason) {
        _cleanup_(launch_boot_files_done) LaunchBootFiles f = {};
        const LaunchBoot *b = &spec->boot;
        int r;

        if (b->firmware) {
                r = read_boot_file("boot.firmware", b->firmware, OVMF_IMAGE_MAX, f.firmware_sha384, NULL, &f.firmware,
                                   &f.firmware_size, ret_reason);
                if (r < 0)
                        return r;
                f.has_firmware = true;
        }
        if (b->kernel) {
                r = read_boot_file("boot.kernel", b->kernel, MEASURE_BOOT_FILE_MAX, f.kernel_sha384,
                                   f.kernel_hashes.kernel, NULL, NULL, ret_reason);
                if (r < 0)
                        return r;
                f.has_kernel = true;
                if (b->initrd) {
                        r = read_boot_file("boot.initrd", b->initrd, MEASURE_BOOT_FILE_MAX, f.initrd_sha384,
                                           f.kernel_hashes.initrd, NULL, NULL, ret_reason);
                        if (r < 0)
                                return r;
                        f.has_initrd = true;
                } else if (EVP_Digest("", 0, f.kernel_hashes.initrd, NULL, EVP_sha256(), NULL) != 1)
                        return -ENOMEM;
                r = snp_cmdline_digest(b->cmdline, f.kernel_hashes.cmdline);
                if (r < 0)
                        return set_reason(ret_reason, r, "boot.cmdline: digest failed");
        }
        *ret = f;
        f = (LaunchBootFiles) {};
        return 0;
}

static char *content_name(const uint8_t digest[48]) {
        _cleanup_free_ char *hex = hex_encode(digest, 48);

        return hex ? strdup_printf("sha384:%s", hex) : NULL;
}

int launch_boot_spec_digest(const LaunchSpec *spec, const LaunchBootFiles *f, uint8_t ret[LAUNCH_DIGEST_SIZE]) {
        _cleanup_free_ char *firmware = NULL, *kernel = NULL, *initrd = NULL;
        LaunchSpec by_content;

        if (!launch_spec_has_boot_files(spec))
                return launch_spec_digest(spec, ret);
        if ((spec->boot.firmware && !f->has_firmware) || (spec->boot.kernel && !f->has_kernel) ||
            (spec->boot.initrd && !f->has_initrd))
                return -EINVAL; /* the files were not read */
        /* the canonical encoding of the same spec, each file named by its contents: a file
         * replaced at the same path changes the digest, a file moved elsewhere does not */
        by_content = *spec;
        if (f->has_firmware && !(by_content.boot.firmware = firmware = content_name(f->firmware_sha384)))
                return -ENOMEM;
        if (f->has_kernel && !(by_content.boot.kernel = kernel = content_name(f->kernel_sha384)))
                return -ENOMEM;
        if (f->has_initrd && !(by_content.boot.initrd = initrd = content_name(f->initrd_sha384)))
                return -ENOMEM;
        return launch_spec_digest(&by_content, ret);
}

/* "key\t: value" of the first processor in cpuinfo. */
static bool cpuinfo_field(const char *line, const char *key, unsigned *ret) {
        size_t n = strlen(key);
        const char *p = line + n;
        char *end;
        unsigned long v;

        if (strncmp(line, key, n) != 0)
                return false;
        p += strspn(p, " \t");
        if (*p != ':')
                return false;
        errno = 0;
        v = strtoul(p + 1, &end, 10);
        if (errno != 0 || end == p + 1 || v > 0xffff)
                return false;
        *ret = (unsigned) v;
        return true;
}

int launch_predict_host_vcpu_sig(const char *root, uint32_t *ret, char **ret_reason) {
        _cleanup_free_ char *path = strdup_printf("%s/proc/cpuinfo", root && !streq(root, "/") ? root : "");
        _cleanup_free_ uint8_t *data = NULL;
        unsigned family = 0, model = 0, stepping = 0, found = 0;
        char *line, *save = NULL;
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        /* a few KiB per processor; read_file_bounded() adds the NUL the parse below needs */
        r = read_file_bounded(path, CPUINFO_MAX, &data, &size);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot read %s: %s", path, strerror(-r));
        /* the first processor's block: every vCPU of a host-passthrough guest carries the same */
        for (line = strtok_r((char *) data, "\n", &save); line && found != 7; line = strtok_r(NULL, "\n", &save)) {
                if (cpuinfo_field(line, "cpu family", &family))
                        found |= 1;
                else if (cpuinfo_field(line, "model", &model))
                        found |= 2;
                else if (cpuinfo_field(line, "stepping", &stepping))
                        found |= 4;
        }
        if (found != 7)
                return set_reason(ret_reason, -ENODATA, "%s: no cpu family, model and stepping", path);
        *ret = snp_cpu_signature(family, model, stepping);
        return 0;
}

static int predict_snp(const LaunchSpec *spec, const LaunchBootFiles *f, uint32_t vcpu_sig,
                       uint8_t ret[LAUNCH_PREDICT_SIZE], char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        SnpMeasurement m;
        SnpMeasureParams p = {
                .vmm = SNP_VMM_QEMU,
                .vcpus = spec->vcpus,
                .vcpu_sig = vcpu_sig,
                .guest_features = LAUNCH_PREDICT_SNP_FEATURES,
                .firmware = f->firmware,
                .firmware_size = f->firmware_size,
                .kernel_hashes = f->has_kernel ? &f->kernel_hashes : NULL,
        };
        int r = snp_measure(&p, &m, &why);

        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_reason, -EINVAL, "boot.firmware: cannot predict the SEV-SNP measurement: %s",
                                  why ? why : strerror(-r));
        memcpy(ret, m.measurement, LAUNCH_PREDICT_SIZE);
        return 0;
}

static int predict_tdx(const LaunchBootFiles *f, uint8_t ret[LAUNCH_PREDICT_SIZE], char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        OvmfImage img;
        int r;

        r = ovmf_parse(f->firmware, f->firmware_size, OVMF_FOUR_GIB, OVMF_WANT_TDVF, &img, &why);
        if (r >= 0)
                r = tdx_mrtd(&img, ret, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_reason, -EINVAL, "boot.firmware: cannot predict the TDX MRTD: %s",
                                  why ? why : strerror(-r));
        return 0;
}

int launch_predict(const LaunchSpec *spec, const LaunchBootFiles *f, CvmTee tee, uint32_t vcpu_sig,
                   uint8_t ret[LAUNCH_PREDICT_SIZE], char **ret_reason) {
        if (!f->has_firmware)
                return set_reason(ret_reason, -EINVAL,
                                  "boot.firmware: none given, and a measurement cannot be predicted for the firmware "
                                  "libvirt would pick");
        if (tee == CVM_TEE_SEV_SNP)
                return predict_snp(spec, f, vcpu_sig, ret, ret_reason);
        if (tee == CVM_TEE_TDX)
                return predict_tdx(f, ret, ret_reason);
        return set_reason(ret_reason, -EINVAL, "%s evidence has no launch measurement to predict",
                          cvm_tee_to_string(tee) ?: "unknown");
}
