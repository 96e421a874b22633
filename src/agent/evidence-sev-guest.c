/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP evidence through the legacy /dev/sev-guest SNP_GET_EXT_REPORT ioctl, for kernels
 * without configfs-tsm. The ioctl structures are the kernel's UAPI; the response the firmware
 * fills is read through the bounded Reader. */
#include <fcntl.h>
#include <linux/sev-guest.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent.h"
#include "cvm/reader.h"
#include "cvm/snp.h"
#include "cvm/util.h"

#define CERTS_MAX (16u * 1024u) /* SEV_FW_BLOB_MAX_SIZE */

int evidence_sev_guest(const uint8_t report_data[64], ProtoBlob *ret_report, ProtoBlob *ret_cert_table,
                       char **ret_reason) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *certs = NULL, *report = NULL;
        struct snp_ext_report_req req = {};
        struct snp_report_resp resp = {};
        struct snp_guest_request_ioctl io = { .msg_version = 1 };
        SnpCertTableEntry e[SNP_CERT_TABLE_MAX_ENTRIES];
        uint32_t status, size;
        size_t n = 0, used = 24;
        Reader rd;

        fd = open("/dev/sev-guest", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return set_reason(ret_reason, -errno, "/dev/sev-guest: %s (not an SEV-SNP guest?)", strerror(errno));
        certs = calloc(1, CERTS_MAX);
        if (!certs)
                return -ENOMEM;
        memcpy(req.data.user_data, report_data, 64);
        req.certs_address = (uint64_t) (uintptr_t) certs;
        req.certs_len = CERTS_MAX;
        io.req_data = (uint64_t) (uintptr_t) &req;
        io.resp_data = (uint64_t) (uintptr_t) &resp;
        if (ioctl(fd, SNP_GET_EXT_REPORT, &io) < 0)
                return set_reason(ret_reason, -errno, "SNP_GET_EXT_REPORT failed: %s (firmware error 0x%llx)",
                                  strerror(errno), (unsigned long long) io.exitinfo2);

        rd = reader_init(resp.data, sizeof(resp.data));
        if (reader_le32(&rd, &status) < 0 || reader_le32(&rd, &size) < 0 || reader_seek(&rd, 0x20) < 0)
                return set_reason(ret_reason, -EBADMSG, "short SNP report response");
        if (status != 0)
                return set_reason(ret_reason, -EIO, "firmware refused the report request (status 0x%x)", status);
        if (size != SNP_REPORT_SIZE)
                return set_reason(ret_reason, -EBADMSG, "firmware returned a %u-byte report, expected %u", size,
                                  SNP_REPORT_SIZE);
        report = malloc(SNP_REPORT_SIZE);
        if (!report || reader_copy(&rd, report, SNP_REPORT_SIZE) < 0)
                return report ? set_reason(ret_reason, -EBADMSG, "short SNP report response") : -ENOMEM;

        /* The host may give no certificates (an all-zero table); otherwise send only the
         * table and its blobs, not the zero padding of the buffer. */
        if (snp_cert_table_parse(certs, CERTS_MAX, e, ELEMENTSOF(e), &n, NULL) >= 0) {
                used = (n + 1) * 24;
                for (size_t i = 0; i < n; i++)
                        if ((size_t) (e[i].data - certs) + e[i].size > used)
                                used = (size_t) (e[i].data - certs) + e[i].size;
        }
        *ret_report = (ProtoBlob) { .data = TAKE_PTR(report), .size = SNP_REPORT_SIZE };
        *ret_cert_table = (ProtoBlob) { .data = TAKE_PTR(certs), .size = n ? used : 0 };
        return 0;
}
