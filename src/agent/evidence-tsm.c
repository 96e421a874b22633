/* SPDX-License-Identifier: Apache-2.0 */
/* CPU evidence through configfs-tsm (Linux 6.7+): our own report directory, the provider
 * check, and the generation protocol that detects a concurrent writer (specs/guest-abi-and-hpke.md
 * §1.3). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cvm/snp.h"
#include "cvm/util.h"

#define TSM_ROOT_DEFAULT "/sys/kernel/config/tsm/report"
#define OUTBLOB_MAX (16u * 1024u * 1024u)
#define TDX_QUOTE_MIN 1021u /* Intel's libtdx_attest refuses quotes of 1020 bytes or less */

static int read_attr(const char *dir, const char *name, size_t max, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, name);

        if (!p)
                return -ENOMEM;
        return read_file_bounded(p, max, ret, ret_size);
}

static int read_generation(const char *dir, unsigned long *ret) {
        _cleanup_free_ uint8_t *s = NULL;
        size_t n;
        char *end;
        int r;

        r = read_attr(dir, "generation", 64, &s, &n);
        if (r < 0)
                return r;
        errno = 0;
        *ret = strtoul((char *) s, &end, 10);
        if (errno != 0 || end == (char *) s || (*end != '\n' && *end != '\0'))
                return -EBADMSG;
        return 0;
}

static int write_inblob(const char *dir, const uint8_t data[64]) {
        _cleanup_free_ char *p = strdup_printf("%s/inblob", dir);
        int fd;
        ssize_t k;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        k = write(fd, data, 64);
        if (k != 64) {
                int e = k < 0 ? -errno : -EIO;
                close(fd);
                return e;
        }
        /* configfs commits a binary attribute on close. */
        if (close(fd) < 0)
                return -errno;
        return 0;
}

int evidence_tsm(const char *root, CvmTee tee, const uint8_t report_data[64], ProtoBlob *ret_report,
                 ProtoBlob *ret_aux, char **ret_reason) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ uint8_t *provider = NULL, *out = NULL, *aux = NULL;
        const char *want = tee == CVM_TEE_TDX ? "tdx_guest" : "sev_guest", *name = cvm_tee_to_string(tee) ?: "unknown";
        unsigned long g1, g2, g3;
        size_t n, out_size, aux_size = 0;
        int r;

        if (!root)
                root = TSM_ROOT_DEFAULT;
        dir = strdup_printf("%s/cvm-agent.%d", root, (int) getpid());
        if (!dir)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return set_reason(ret_reason, r, "%s does not exist: configfs-tsm needs Linux 6.7+ with configfs "
                                          "mounted at /sys/kernel/config", root);
                if (r == -ENXIO)
                        return set_reason(ret_reason, r, "configfs-tsm has no provider: no SEV-SNP or TDX guest driver");
                return set_reason(ret_reason, r, "cannot create %s: %s", dir, strerror(-r));
        }

        r = read_attr(dir, "provider", 64, &provider, &n);
        if (r < 0) {
                r = set_reason(ret_reason, r, "%s/provider: %s", dir, strerror(-r));
                goto out;
        }
        if (strncmp((char *) provider, want, strlen(want)) != 0) {
                r = set_reason(ret_reason, -ENODEV, "configfs-tsm provider is '%.*s', %s evidence needs %s",
                               (int) strcspn((char *) provider, "\n"), (char *) provider, name, want);
                goto out;
        }
        if ((r = read_generation(dir, &g1)) < 0 || (r = write_inblob(dir, report_data)) < 0 ||
            (r = read_generation(dir, &g2)) < 0) {
                r = set_reason(ret_reason, r, "configfs-tsm request failed: %s", strerror(-r));
                goto out;
        }
        if (g2 != g1 + 1) {
                r = set_reason(ret_reason, -EBUSY, "another writer used %s (generation %lu -> %lu)", dir, g1, g2);
                goto out;
        }
        r = read_attr(dir, "outblob", OUTBLOB_MAX, &out, &out_size);
        if (r < 0) {
                r = set_reason(ret_reason, r, "reading the %s evidence failed: %s", name, strerror(-r));
                goto out;
        }
        if (tee != CVM_TEE_TDX) {
                r = read_attr(dir, "auxblob", OUTBLOB_MAX, &aux, &aux_size);
                if (r < 0 && r != -ENOENT) {
                        r = set_reason(ret_reason, r, "reading the certificate table failed: %s", strerror(-r));
                        goto out;
                }
        }
        if ((r = read_generation(dir, &g3)) < 0 || g3 != g2) {
                r = set_reason(ret_reason, r < 0 ? r : -EBUSY, "the report changed while it was read");
                goto out;
        }
        if (tee == CVM_TEE_TDX ? out_size < TDX_QUOTE_MIN : out_size != SNP_REPORT_SIZE) {
                r = set_reason(ret_reason, -EBADMSG, "configfs-tsm returned a %zu-byte %s", out_size,
                               tee == CVM_TEE_TDX ? "quote (too short)" : "report (expected 1184)");
                goto out;
        }
        *ret_report = (ProtoBlob) { .data = TAKE_PTR(out), .size = out_size };
        *ret_aux = (ProtoBlob) { .data = aux ? TAKE_PTR(aux) : calloc(1, 1), .size = aux_size };
        r = 0;
out:
        (void) rmdir(dir);
        return r;
}
