/* SPDX-License-Identifier: Apache-2.0 */
/* The GHCB extended-report certificate table (GHCB spec #56421): 24-byte entries of GUID,
 * u32 LE offset, u32 LE length, ended by an all-zero entry. Offsets count from the start of
 * the table; every blob must lie inside the buffer and after the table itself. */
#include <stdio.h>
#include <string.h>

#include "cvm/reader.h"
#include "cvm/snp.h"
#include "cvm/util.h"

/* GUIDs as stored: RFC 4122 byte order, the order the string is written in. */
static const struct {
        uint8_t guid[16];
        SnpCertTableRole role;
} known_guids[] = {
        {{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd},
         SNP_CERT_TABLE_VCEK},
        {{0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1},
         SNP_CERT_TABLE_VLEK},
        {{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82},
         SNP_CERT_TABLE_ASK},
        {{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae},
         SNP_CERT_TABLE_ARK},
        {{0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea},
         SNP_CERT_TABLE_CRL},
};

const char *snp_cert_table_role_to_string(SnpCertTableRole role) {
        switch (role) {
        case SNP_CERT_TABLE_VCEK:
                return "VCEK";
        case SNP_CERT_TABLE_VLEK:
                return "VLEK";
        case SNP_CERT_TABLE_ASK:
                return "ASK";
        case SNP_CERT_TABLE_ARK:
                return "ARK";
        case SNP_CERT_TABLE_CRL:
                return "CRL";
        default:
                return "other";
        }
}

static SnpCertTableRole role_from_guid(const uint8_t guid[16]) {
        for (size_t i = 0; i < ELEMENTSOF(known_guids); i++)
                if (memcmp(known_guids[i].guid, guid, 16) == 0)
                        return known_guids[i].role;
        return SNP_CERT_TABLE_OTHER;
}

/* Reads entry i of the table: GUID, offset, length. */
static int read_entry(const uint8_t *data, size_t size, size_t i, uint8_t guid[16], uint32_t *offset,
                      uint32_t *length) {
        Reader rd = reader_init(data, size);

        if (i > SIZE_MAX / 24 || reader_skip(&rd, i * 24) < 0 || reader_copy(&rd, guid, 16) < 0 ||
            reader_le32(&rd, offset) < 0 || reader_le32(&rd, length) < 0)
                return -EBADMSG;
        return 0;
}

int snp_cert_table_parse(const uint8_t *data, size_t size, SnpCertTableEntry *entries, size_t max_entries,
                         size_t *ret_n, char **ret_reason) {
        uint8_t guid[16];
        uint32_t offset, length;
        size_t n, table_end;

        /* First pass: find the terminator, so the table's own extent is known. */
        for (n = 0;; n++) {
                if (read_entry(data, size, n, guid, &offset, &length) < 0)
                        return set_reason(ret_reason, -EBADMSG,
                                          "certificate table ends at byte %zu without its all-zero terminator entry",
                                          size);
                if (memeqzero(guid, 16)) {
                        if (offset != 0 || length != 0)
                                return set_reason(ret_reason, -EBADMSG,
                                                  "terminator entry %zu has a non-zero offset or length", n);
                        break;
                }
                if (n >= max_entries)
                        return set_reason(ret_reason, -EBADMSG, "certificate table has more than %zu entries",
                                          max_entries);
        }
        table_end = (n + 1) * 24;

        /* Second pass: every blob must lie after the table and inside the buffer. */
        for (size_t i = 0; i < n; i++) {
                SnpCertTableRole role;

                (void) read_entry(data, size, i, guid, &offset, &length);
                role = role_from_guid(guid);
                for (size_t j = 0; j < i; j++)
                        if (memcmp(entries[j].guid, guid, 16) == 0)
                                return set_reason(ret_reason, -EBADMSG, "entry %zu repeats the GUID of entry %zu", i,
                                                  j);
                if (length == 0)
                        return set_reason(ret_reason, -EBADMSG, "entry %zu (%s) has length 0", i,
                                          snp_cert_table_role_to_string(role));
                if (offset < table_end || offset > size || length > size - offset)
                        return set_reason(ret_reason, -EBADMSG,
                                          "entry %zu (%s) points at bytes %u..%llu, outside the %zu-byte buffer after "
                                          "the %zu-byte table",
                                          i, snp_cert_table_role_to_string(role), offset,
                                          (unsigned long long) offset + length, size, table_end);
                memcpy(entries[i].guid, guid, 16);
                entries[i].role = role;
                entries[i].data = data + offset;
                entries[i].size = length;
        }
        *ret_n = n;
        return 0;
}
