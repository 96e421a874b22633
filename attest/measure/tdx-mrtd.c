/* SPDX-License-Identifier: Apache-2.0 */
/* MRTD as the TDX module builds it while the VMM loads the TDVF image (TDX module spec,
 * TDH.MEM.PAGE.ADD and TDH.MR.EXTEND): each call extends the running SHA-384 with a 128-byte
 * record, the operation's name in ASCII at offset 0 and the GPA (u64 little-endian) at 16;
 * MR.EXTEND then adds the 256 bytes of its chunk. TDH.MR.FINALIZE closes the hash. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"

#define RECORD_SIZE 128u
#define CHUNK_SIZE 256u

static bool record(EVP_MD_CTX *ctx, const char *op, uint64_t gpa) {
        uint8_t rec[RECORD_SIZE] = {};

        memcpy(rec, op, strlen(op));
        for (size_t i = 0; i < 8; i++)
                rec[16 + i] = (uint8_t) (gpa >> (8 * i));
        return EVP_DigestUpdate(ctx, rec, sizeof(rec)) == 1;
}

/* The bytes the VMM copies into one page of a section: image data up to raw_size, zeros after
 * it (and for sections without data: TD_HOB, TempMem). */
static void section_page(const OvmfImage *img, const TdvfSection *s, uint64_t off, uint8_t page[OVMF_PAGE_SIZE]) {
        memset(page, 0, OVMF_PAGE_SIZE);
        if (off < s->raw_size) {
                uint64_t n = s->raw_size - off < OVMF_PAGE_SIZE ? s->raw_size - off : OVMF_PAGE_SIZE;
                memcpy(page, img->data + s->data_offset + off, n);
        }
}

static bool section_is_added(const TdvfSection *s) {
        /* PAGE_AUG memory is accepted by the guest at run time: never added, never measured */
        return !(s->attributes & TDVF_ATTR_PAGE_AUG) && s->type != TDVF_SECTION_PERM_MEM;
}

int tdx_mrtd(const OvmfImage *img, uint8_t ret[TDX_MR_SIZE], char **ret_reason) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint8_t page[OVMF_PAGE_SIZE];
        unsigned n = 0;

        if (!img->have_tdvf_metadata)
                return set_reason(ret_reason, -EBADMSG, "firmware: no TDVF metadata in its footer table: not a TDX image");
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha384(), NULL) != 1)
                return set_reason(ret_reason, -ENOMEM, "SHA-384 unavailable");
        for (size_t i = 0; i < img->n_tdvf_sections; i++) {
                const TdvfSection *s = &img->tdvf_sections[i];

                if (!section_is_added(s))
                        continue;
                for (uint64_t off = 0; off < s->mem_size; off += OVMF_PAGE_SIZE) {
                        if (!record(ctx, "MEM.PAGE.ADD", s->mem_base + off))
                                return set_reason(ret_reason, -EIO, "SHA-384 failed");
                        if (!(s->attributes & TDVF_ATTR_MR_EXTEND))
                                continue;
                        section_page(img, s, off, page);
                        for (size_t c = 0; c < OVMF_PAGE_SIZE; c += CHUNK_SIZE)
                                if (!record(ctx, "MR.EXTEND", s->mem_base + off + c) ||
                                    EVP_DigestUpdate(ctx, page + c, CHUNK_SIZE) != 1)
                                        return set_reason(ret_reason, -EIO, "SHA-384 failed");
                }
        }
        if (EVP_DigestFinal_ex(ctx, ret, &n) != 1 || n != TDX_MR_SIZE)
                return set_reason(ret_reason, -EIO, "SHA-384 failed");
        return 0;
}

int tdx_padded_digest(const uint8_t *data, size_t size, size_t padded_size, uint8_t ret[TDX_MR_SIZE]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        static const uint8_t zeros[4096];
        unsigned n = 0;

        if (size > padded_size)
                return -EINVAL;
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha384(), NULL) != 1 || EVP_DigestUpdate(ctx, data, size) != 1)
                return -EIO;
        for (size_t left = padded_size - size; left > 0;) {
                size_t k = left < sizeof(zeros) ? left : sizeof(zeros);
                if (EVP_DigestUpdate(ctx, zeros, k) != 1)
                        return -EIO;
                left -= k;
        }
        return EVP_DigestFinal_ex(ctx, ret, &n) == 1 && n == TDX_MR_SIZE ? 0 : -EIO;
}
