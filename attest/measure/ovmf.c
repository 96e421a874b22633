/* SPDX-License-Identifier: Apache-2.0 */
/* The footer GUID table of an OVMF, TDVF or SVSM image and the SEV and TDVF metadata it
 * points to. Sources: OVMF's ResetVector (the GUIDed table and "ASEV" metadata layout) and the
 * Intel TDVF specification ("TDVF" descriptor, section types and attributes). Every offset in
 * the image is untrusted: all reads go through bounded readers over the caller's buffer. */
#include <errno.h>
#include <string.h>

#include "cvm/ovmf.h"
#include "cvm/reader.h"
#include "cvm/util.h"

static const uint8_t guid_footer[16] = OVMF_GUID_BYTES(0x96b582de, 0x1fb2, 0x45f7, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a,
                                                  0x08, 0x2d);
static const uint8_t guid_reset_block[16] = OVMF_GUID_BYTES(0x00f771de, 0x1a7e, 0x4fcb, 0x89, 0x0e, 0x68, 0xc7, 0x7e,
                                                       0x2f, 0xb4, 0x4e);
static const uint8_t guid_hash_table[16] = OVMF_GUID_BYTES(0x7255371f, 0x3a3b, 0x4b04, 0x92, 0x7b, 0x1d, 0xa6, 0xef,
                                                      0xa8, 0xd4, 0x54);
static const uint8_t guid_sev_metadata[16] = OVMF_GUID_BYTES(0xdc886566, 0x984a, 0x4798, 0xa7, 0x5e, 0x55, 0x85, 0xa7,
                                                        0xbf, 0x67, 0xcc);
static const uint8_t guid_tdx_metadata[16] = OVMF_GUID_BYTES(0xe47a6535, 0x984a, 0x4798, 0x86, 0x5e, 0x46, 0x85, 0xa7,
                                                        0xbf, 0x8e, 0xc2);
static const uint8_t guid_svsm_info[16] = OVMF_GUID_BYTES(0xa789a612, 0x0597, 0x4c4b, 0xa4, 0x9f, 0xcb, 0xb1, 0xfe,
                                                     0x9d, 0x1d, 0xdd);

/* The table ends this many bytes before the end of the image. */
#define FOOTER_GAP 32u
/* Each entry's trailer: u16 length, then the GUID. */
#define ENTRY_TRAILER 18u

const char *ovmf_section_type_to_string(uint32_t type) {
        switch (type) {
        case OVMF_SECTION_SNP_SEC_MEM:
                return "SNP_SEC_MEM";
        case OVMF_SECTION_SNP_SECRETS:
                return "SNP_SECRETS";
        case OVMF_SECTION_CPUID:
                return "CPUID";
        case OVMF_SECTION_SVSM_CAA:
                return "SVSM_CAA";
        case OVMF_SECTION_SNP_KERNEL_HASHES:
                return "SNP_KERNEL_HASHES";
        default:
                return NULL;
        }
}

const char *tdvf_section_type_to_string(uint32_t type) {
        static const char *const names[_TDVF_SECTION_MAX] = {
                [TDVF_SECTION_BFV] = "BFV",           [TDVF_SECTION_CFV] = "CFV",
                [TDVF_SECTION_TD_HOB] = "TD_HOB",     [TDVF_SECTION_TEMP_MEM] = "TempMem",
                [TDVF_SECTION_PERM_MEM] = "PermMem",  [TDVF_SECTION_PAYLOAD] = "Payload",
                [TDVF_SECTION_PAYLOAD_PARAM] = "PayloadParam",
        };
        return type < _TDVF_SECTION_MAX ? names[type] : NULL;
}

bool ovmf_has_sev_section(const OvmfImage *img, uint32_t type) {
        for (size_t i = 0; i < img->n_sev_sections; i++)
                if (img->sev_sections[i].type == type)
                        return true;
        return false;
}

/* The entry's data must hold at least the u32 we read from it. */
static int entry_u32(const uint8_t *data, size_t size, size_t at, uint32_t *ret) {
        Reader r = reader_init(data, size);
        return reader_seek(&r, at) < 0 ? -EBADMSG : reader_le32(&r, ret);
}

/* "offset from the end of the image" as the footer entries give it, into a reader positioned
 * there. */
static int seek_from_end(const OvmfImage *img, uint32_t offset, Reader *ret) {
        if (offset > img->size)
                return -EBADMSG;
        *ret = reader_init(img->data, img->size);
        return reader_seek(ret, img->size - offset);
}

/* The header both metadata tables share: signature, length, version 1, section count; r is left
 * at the first section. what names the table in reasons ("SEV metadata"). */
static int parse_metadata_header(const OvmfImage *img, uint32_t offset, const char *signature, const char *what,
                                 Reader *r, uint32_t *ret_len, uint32_t *ret_n, char **ret_reason) {
        uint32_t version;
        const uint8_t *sig;

        if (seek_from_end(img, offset, r) < 0 || reader_take(r, 4, &sig) < 0 || reader_le32(r, ret_len) < 0 ||
            reader_le32(r, &version) < 0 || reader_le32(r, ret_n) < 0)
                return set_reason(ret_reason, -EBADMSG, "%s: offset %u from the end lies outside the image", what,
                                  offset);
        if (memcmp(sig, signature, 4) != 0)
                return set_reason(ret_reason, -EBADMSG, "%s: no '%s' signature at offset %u from the end", what,
                                  signature, offset);
        if (version != 1)
                return set_reason(ret_reason, -EBADMSG, "%s: version %u, only 1 is known", what, version);
        return 0;
}

static int parse_sev_metadata(OvmfImage *img, uint32_t offset, char **ret_reason) {
        uint64_t total = 0;
        uint32_t len, n;
        Reader r;
        int k;

        k = parse_metadata_header(img, offset, "ASEV", "SEV metadata", &r, &len, &n, ret_reason);
        if (k < 0)
                return k;
        if (n > OVMF_SECTIONS_MAX)
                return set_reason(ret_reason, -EBADMSG, "SEV metadata: %u sections, at most %u accepted", n,
                                  OVMF_SECTIONS_MAX);
        /* The header's length is left 0 by some synthetic images; when it is set it must cover
         * every section the count announces. */
        if (len != 0 && len < 16 + 12 * (uint64_t) n)
                return set_reason(ret_reason, -EBADMSG, "SEV metadata: length %u is too short for %u sections", len,
                                  n);
        for (uint32_t i = 0; i < n; i++) {
                OvmfSevSection *s = &img->sev_sections[i];
                if (reader_le32(&r, &s->gpa) < 0 || reader_le32(&r, &s->size) < 0 || reader_le32(&r, &s->type) < 0)
                        return set_reason(ret_reason, -EBADMSG, "SEV metadata: section %u lies outside the image", i);
                if (!ovmf_section_type_to_string(s->type))
                        return set_reason(ret_reason, -EBADMSG, "SEV metadata: section %u has unknown type %u", i,
                                          s->type);
                if (s->size == 0 || s->gpa % OVMF_PAGE_SIZE != 0 || s->size % OVMF_PAGE_SIZE != 0)
                        return set_reason(ret_reason, -EBADMSG,
                                          "SEV metadata: section %u (GPA 0x%x, size 0x%x) is not whole pages", i,
                                          s->gpa, s->size);
                if ((uint64_t) s->gpa + s->size > OVMF_FOUR_GIB)
                        return set_reason(ret_reason, -EBADMSG, "SEV metadata: section %u ends above 4 GiB", i);
                total += s->size;
                if (total > OVMF_MEASURED_MAX)
                        return set_reason(ret_reason, -EBADMSG, "SEV metadata: the sections cover more than 1 GiB");
        }
        img->n_sev_sections = n;
        img->have_sev_metadata = true;
        return 0;
}

static int parse_tdvf_metadata(OvmfImage *img, uint32_t offset, char **ret_reason) {
        uint64_t total = 0;
        uint32_t len, n;
        Reader r;
        int k;

        k = parse_metadata_header(img, offset, "TDVF", "TDVF metadata", &r, &len, &n, ret_reason);
        if (k < 0)
                return k;
        if (n == 0 || n > OVMF_SECTIONS_MAX)
                return set_reason(ret_reason, -EBADMSG, "TDVF metadata: %u sections, 1 to %u accepted", n,
                                  OVMF_SECTIONS_MAX);
        if (len < 16 + 32 * (uint64_t) n)
                return set_reason(ret_reason, -EBADMSG, "TDVF metadata: length %u is too short for %u sections", len,
                                  n);
        for (uint32_t i = 0; i < n; i++) {
                TdvfSection *s = &img->tdvf_sections[i];
                if (reader_le32(&r, &s->data_offset) < 0 || reader_le32(&r, &s->raw_size) < 0 ||
                    reader_le64(&r, &s->mem_base) < 0 || reader_le64(&r, &s->mem_size) < 0 ||
                    reader_le32(&r, &s->type) < 0 || reader_le32(&r, &s->attributes) < 0)
                        return set_reason(ret_reason, -EBADMSG, "TDVF metadata: section %u lies outside the image", i);
                if (!tdvf_section_type_to_string(s->type))
                        return set_reason(ret_reason, -EBADMSG, "TDVF metadata: section %u has unknown type %u", i,
                                          s->type);
                if (s->attributes & ~(TDVF_ATTR_MR_EXTEND | TDVF_ATTR_PAGE_AUG))
                        return set_reason(ret_reason, -EBADMSG, "TDVF metadata: section %u has unknown attributes 0x%x",
                                          i, s->attributes);
                if (s->mem_base % OVMF_PAGE_SIZE != 0 || s->mem_size % OVMF_PAGE_SIZE != 0 ||
                    s->mem_size > UINT64_MAX - s->mem_base)
                        return set_reason(ret_reason, -EBADMSG,
                                          "TDVF metadata: section %u (base 0x%llx, size 0x%llx) is not whole pages", i,
                                          (unsigned long long) s->mem_base, (unsigned long long) s->mem_size);
                if (s->raw_size > s->mem_size || (uint64_t) s->data_offset + s->raw_size > img->size)
                        return set_reason(ret_reason, -EBADMSG,
                                          "TDVF metadata: section %u data (offset 0x%x, size 0x%x) lies outside the "
                                          "image or its memory",
                                          i, s->data_offset, s->raw_size);
                if (!(s->attributes & TDVF_ATTR_PAGE_AUG)) {
                        total += s->mem_size;
                        if (s->mem_size > OVMF_MEASURED_MAX || total > OVMF_MEASURED_MAX)
                                return set_reason(ret_reason, -EBADMSG,
                                                  "TDVF metadata: the sections added at launch cover more than 1 GiB");
                }
        }
        img->n_tdvf_sections = n;
        img->have_tdvf_metadata = true;
        return 0;
}

int ovmf_parse(const uint8_t *data, size_t size, uint64_t end_gpa, unsigned want, OvmfImage *ret,
               char **ret_reason) {
        uint32_t sev_metadata_offset = 0, tdx_metadata_offset = 0;
        bool have_sev_metadata = false, have_tdx_metadata = false;
        size_t footer, end, table_start;
        uint16_t table_len;
        OvmfImage img = {
                .data = data,
                .size = size,
        };
        Reader r;
        int k;

        if (size == 0 || size % OVMF_PAGE_SIZE != 0)
                return set_reason(ret_reason, -EBADMSG, "firmware: %zu bytes is not a whole number of 4 KiB pages",
                                  size);
        if (size > OVMF_IMAGE_MAX || size > end_gpa)
                return set_reason(ret_reason, -EBADMSG, "firmware: %zu bytes is too large", size);
        img.gpa = end_gpa - size;

        /* No footer GUID: an image without the table (plain SEC or a non-OVMF blob). */
        footer = size - FOOTER_GAP - ENTRY_TRAILER;
        if (memcmp(data + footer + 2, guid_footer, 16) != 0) {
                *ret = img;
                return 0;
        }
        r = reader_init(data, size);
        if (reader_seek(&r, footer) < 0 || reader_le16(&r, &table_len) < 0)
                return set_reason(ret_reason, -EBADMSG, "firmware: footer table unreadable");
        if (table_len < ENTRY_TRAILER || table_len - ENTRY_TRAILER > footer)
                return set_reason(ret_reason, -EBADMSG, "firmware: footer table length %u is out of range", table_len);
        img.have_table = true;
        table_start = footer - (table_len - ENTRY_TRAILER);

        /* Entries from the end backwards; each one's trailer sits just below the one after it. */
        end = footer;
        for (k = 0; end - table_start >= ENTRY_TRAILER; k++) {
                const uint8_t *guid = data + end - 16;
                uint16_t elen = (uint16_t) (data[end - ENTRY_TRAILER] | data[end - ENTRY_TRAILER + 1] << 8);
                size_t dstart, dlen;

                if (elen < ENTRY_TRAILER || elen > end - table_start)
                        return set_reason(ret_reason, -EBADMSG,
                                          "firmware: footer table entry %d has length %u, outside the table", k, elen);
                dstart = end - elen;
                dlen = elen - ENTRY_TRAILER;
                if (memcmp(guid, guid_reset_block, 16) == 0) {
                        if (entry_u32(data + dstart, dlen, 0, &img.reset_eip) < 0)
                                return set_reason(ret_reason, -EBADMSG, "firmware: SEV-ES reset block is too short");
                        img.have_reset_eip = true;
                } else if (memcmp(guid, guid_hash_table, 16) == 0) {
                        if (entry_u32(data + dstart, dlen, 0, &img.hashes_table_gpa) < 0)
                                return set_reason(ret_reason, -EBADMSG, "firmware: SEV hash table entry is too short");
                        /* some images give only the GPA; QEMU's table then has its own size */
                        if (entry_u32(data + dstart, dlen, 4, &img.hashes_table_size) < 0)
                                img.hashes_table_size = 0;
                        img.have_hashes_table = img.hashes_table_gpa != 0;
                } else if (memcmp(guid, guid_sev_metadata, 16) == 0) {
                        if (entry_u32(data + dstart, dlen, 0, &sev_metadata_offset) < 0)
                                return set_reason(ret_reason, -EBADMSG, "firmware: SEV metadata entry is too short");
                        have_sev_metadata = true;
                } else if (memcmp(guid, guid_tdx_metadata, 16) == 0) {
                        if (entry_u32(data + dstart, dlen, 0, &tdx_metadata_offset) < 0)
                                return set_reason(ret_reason, -EBADMSG, "firmware: TDX metadata entry is too short");
                        have_tdx_metadata = true;
                } else if (memcmp(guid, guid_svsm_info, 16) == 0) {
                        if (entry_u32(data + dstart, dlen, 0, &img.svsm_entry_offset) < 0)
                                return set_reason(ret_reason, -EBADMSG, "firmware: SVSM info entry is too short");
                        img.have_svsm_info = true;
                }
                end = dstart;
        }

        /* Each TEE reads only its own metadata: an SNP launch does not depend on the TDVF
         * descriptor of a combined image being sound, nor a TDX one on the SEV metadata. */
        if ((want & OVMF_WANT_SEV) && have_sev_metadata && parse_sev_metadata(&img, sev_metadata_offset, ret_reason) < 0)
                return -EBADMSG;
        if ((want & OVMF_WANT_TDVF) && have_tdx_metadata &&
            parse_tdvf_metadata(&img, tdx_metadata_offset, ret_reason) < 0)
                return -EBADMSG;
        *ret = img;
        return 0;
}
