/* SPDX-License-Identifier: Apache-2.0 */
/* The SEV-SNP launch digest as the PSP extends it during SNP_LAUNCH_UPDATE: one PAGE_INFO
 * structure per 4 KiB page (SNP ABI, "PAGE_INFO"), hashed with SHA-384:
 *   0x00 DIGEST_CUR[48]  0x30 CONTENTS[48]  0x60 LENGTH u16 = 0x70  0x62 PAGE_TYPE u8
 *   0x63 IMI_PAGE u8     0x64 VMPL3/2/1_PERMS u8 each, reserved u8  0x68 GPA u64
 * CONTENTS is SHA-384 of the page for NORMAL and VMSA pages and zero for every other type. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "cvm/snp-measure.h"

#define PAGE_INFO_SIZE 0x70u

void snp_gctx_init(SnpGctx *g, const uint8_t *seed) {
        if (seed)
                memcpy(g->ld, seed, SNP_LD_SIZE);
        else
                memset(g->ld, 0, SNP_LD_SIZE);
}

static void put_le64(uint8_t *p, uint64_t v) {
        for (size_t i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

int snp_gctx_update_page(SnpGctx *g, SnpPageType type, uint64_t gpa, const uint8_t contents[SNP_LD_SIZE]) {
        uint8_t info[PAGE_INFO_SIZE] = {};
        unsigned n = 0;

        if (gpa % OVMF_PAGE_SIZE != 0)
                return -EINVAL;
        memcpy(info, g->ld, SNP_LD_SIZE);
        memcpy(info + 0x30, contents, SNP_LD_SIZE);
        info[0x60] = PAGE_INFO_SIZE;
        info[0x61] = 0;
        info[0x62] = (uint8_t) type;
        put_le64(info + 0x68, gpa);
        if (!EVP_Digest(info, sizeof(info), g->ld, &n, EVP_sha384(), NULL) || n != SNP_LD_SIZE)
                return -EIO;
        return 0;
}

int snp_gctx_update_normal(SnpGctx *g, uint64_t gpa, const uint8_t *data, size_t size) {
        if (size % OVMF_PAGE_SIZE != 0)
                return -EINVAL;
        for (size_t off = 0; off < size; off += OVMF_PAGE_SIZE) {
                uint8_t digest[SNP_LD_SIZE];
                unsigned n = 0;
                int r;

                if (!EVP_Digest(data + off, OVMF_PAGE_SIZE, digest, &n, EVP_sha384(), NULL) || n != SNP_LD_SIZE)
                        return -EIO;
                r = snp_gctx_update_page(g, SNP_PAGE_NORMAL, gpa + off, digest);
                if (r < 0)
                        return r;
        }
        return 0;
}

int snp_gctx_update_empty(SnpGctx *g, SnpPageType type, uint64_t gpa, uint64_t size) {
        static const uint8_t zero[SNP_LD_SIZE] = {};

        if (type == SNP_PAGE_NORMAL || type == SNP_PAGE_VMSA || size % OVMF_PAGE_SIZE != 0)
                return -EINVAL;
        for (uint64_t off = 0; off < size; off += OVMF_PAGE_SIZE) {
                int r = snp_gctx_update_page(g, type, gpa + off, zero);
                if (r < 0)
                        return r;
        }
        return 0;
}

int snp_gctx_update_vmsa(SnpGctx *g, const uint8_t page[OVMF_PAGE_SIZE]) {
        uint8_t digest[SNP_LD_SIZE];
        unsigned n = 0;

        if (!EVP_Digest(page, OVMF_PAGE_SIZE, digest, &n, EVP_sha384(), NULL) || n != SNP_LD_SIZE)
                return -EIO;
        return snp_gctx_update_page(g, SNP_PAGE_VMSA, SNP_VMSA_GPA, digest);
}
