/* SPDX-License-Identifier: Apache-2.0 */
/* QEMU's SEV hash table for measured direct kernel boot (target/i386/sev.c, "SevHashTable"):
 * the header GUID, u16 length of the table, then three entries of GUID, u16 length (50) and a
 * SHA-256 digest, in the order command line, initrd, kernel; padded with zeros to a multiple of
 * 16 bytes. QEMU writes it into the page OVMF reserves (the SNP_KERNEL_HASHES section), at the
 * table GPA's offset within that page, and the page is measured as a NORMAL page. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "cvm/snp-measure.h"

static const uint8_t guid_table[16] = OVMF_GUID_BYTES(0x9438d606, 0x4f22, 0x4cc9, 0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11,
                                                      0xfd, 0x21);
static const uint8_t guid_kernel[16] = OVMF_GUID_BYTES(0x4de79437, 0xabd2, 0x427f, 0xb8, 0x35, 0xd5, 0xb1, 0x72,
                                                       0xd2, 0x04, 0x5b);
static const uint8_t guid_initrd[16] = OVMF_GUID_BYTES(0x44baf731, 0x3a2f, 0x4bd7, 0x9a, 0xf1, 0x41, 0xe2, 0x91,
                                                       0x69, 0x78, 0x1d);
static const uint8_t guid_cmdline[16] = OVMF_GUID_BYTES(0x97d02dd8, 0xbd20, 0x4c94, 0xaa, 0x78, 0xe7, 0x71, 0x4d,
                                                        0x36, 0xab, 0x2a);

#define ENTRY_SIZE (16u + 2u + 32u)
#define TABLE_SIZE (16u + 2u + 3u * ENTRY_SIZE)
#define TABLE_PADDED ((TABLE_SIZE + 15u) & ~15u)

int snp_cmdline_digest(const char *append, uint8_t ret[32]) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned n = 0;
        bool ok;

        if (!ctx)
                return -ENOMEM;
        /* QEMU hashes the command line with its terminating NUL */
        ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, append ? append : "",
                                                                             append ? strlen(append) + 1 : 1) &&
             EVP_DigestFinal_ex(ctx, ret, &n) && n == 32;
        EVP_MD_CTX_free(ctx);
        return ok ? 0 : -EIO;
}

static uint8_t *put_entry(uint8_t *p, const uint8_t guid[16], const uint8_t digest[32]) {
        memcpy(p, guid, 16);
        p[16] = ENTRY_SIZE & 0xff;
        p[17] = ENTRY_SIZE >> 8;
        memcpy(p + 18, digest, 32);
        return p + ENTRY_SIZE;
}

int snp_kernel_hashes_page(const SnpKernelHashes *h, uint32_t offset, uint8_t ret[OVMF_PAGE_SIZE]) {
        uint8_t *p;

        if (offset > OVMF_PAGE_SIZE - TABLE_PADDED)
                return -EINVAL;
        memset(ret, 0, OVMF_PAGE_SIZE);
        p = ret + offset;
        memcpy(p, guid_table, 16);
        p[16] = TABLE_SIZE & 0xff;
        p[17] = TABLE_SIZE >> 8;
        p = put_entry(p + 18, guid_cmdline, h->cmdline);
        p = put_entry(p, guid_initrd, h->initrd);
        (void) put_entry(p, guid_kernel, h->kernel);
        return 0;
}
