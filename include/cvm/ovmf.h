/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Firmware images as QEMU loads them for confidential guests: OVMF (and a Coconut-SVSM image,
 * which carries the same footer) for SEV-SNP, TDVF for TDX. Everything here reads an untrusted
 * image through bounded readers and only describes it; snp-measure.h and tdx-measure.h turn the
 * description into the digests the hardware computes.
 *
 * The footer GUID table ends 32 bytes before the end of the image: its last entry is the footer
 * GUID 96b582de-1fb2-45f7-baea-a366c55a082d with the table's total length in front of it, and
 * every entry before it is "data, u16 length (data + 18), GUID", read from the end backwards.
 * The entries we use:
 *   SEV-ES reset block 00f771de-...: u32 AP reset EIP
 *   SEV hash table     7255371f-...: u32 GPA, u32 size of QEMU's kernel hashes table
 *   SEV metadata       dc886566-...: u32 offset from the image end to the "ASEV" header
 *   TDX metadata       e47a6535-...: u32 offset from the image end to the "TDVF" descriptor
 *   SVSM info          a789a612-...: u32 offset of the SVSM entry point from the image start */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"

#define OVMF_PAGE_SIZE 4096u
#define OVMF_FOUR_GIB UINT64_C(0x100000000)
/* The most metadata sections we accept: real images have fewer than ten. */
#define OVMF_SECTIONS_MAX 64u
/* The most guest memory the metadata of one image may have measured, all sections together:
 * real images describe a few MiB; a forged one must not keep the measure code busy for hours. */
#define OVMF_MEASURED_MAX (UINT64_C(1) << 30)
/* Largest firmware image cvmd measures: 64 MiB (real OVMF builds are 2 to 4 MiB). */
#define OVMF_IMAGE_MAX (64u * 1024u * 1024u)

/* A GUID as firmware stores it: the first three fields little-endian, the rest as written. */
#define OVMF_GUID_BYTES(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)                                             \
        {                                                                                                    \
                (a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff, (b) & 0xff,             \
                        ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff, d0, d1, d2, d3, d4, d5, d6, d7        \
        }

/* OVMF SEV metadata section types. */
typedef enum OvmfSectionType {
        OVMF_SECTION_SNP_SEC_MEM = 1,
        OVMF_SECTION_SNP_SECRETS = 2,
        OVMF_SECTION_CPUID = 3,
        OVMF_SECTION_SVSM_CAA = 4,
        OVMF_SECTION_SNP_KERNEL_HASHES = 0x10,
} OvmfSectionType;

typedef struct OvmfSevSection {
        uint32_t gpa;
        uint32_t size;
        uint32_t type;
} OvmfSevSection;

/* TDVF section types and attributes (TDVF specification, "TDVF metadata"). */
typedef enum TdvfSectionType {
        TDVF_SECTION_BFV = 0,
        TDVF_SECTION_CFV = 1,
        TDVF_SECTION_TD_HOB = 2,
        TDVF_SECTION_TEMP_MEM = 3,
        TDVF_SECTION_PERM_MEM = 4,
        TDVF_SECTION_PAYLOAD = 5,
        TDVF_SECTION_PAYLOAD_PARAM = 6,
        _TDVF_SECTION_MAX,
} TdvfSectionType;

#define TDVF_ATTR_MR_EXTEND (UINT32_C(1) << 0)
#define TDVF_ATTR_PAGE_AUG (UINT32_C(1) << 1)

typedef struct TdvfSection {
        uint32_t data_offset; /* in the image */
        uint32_t raw_size;    /* bytes taken from the image */
        uint64_t mem_base;    /* guest physical */
        uint64_t mem_size;
        uint32_t type;
        uint32_t attributes;
} TdvfSection;

/* What a firmware image says about itself. data points into the caller's buffer. */
typedef struct OvmfImage {
        const uint8_t *data;
        size_t size;
        uint64_t gpa; /* where its first byte lands: end_gpa - size */

        bool have_table; /* a footer GUID table was found */
        bool have_reset_eip;
        uint32_t reset_eip; /* SEV-ES reset block: where APs start */
        bool have_hashes_table;
        uint32_t hashes_table_gpa; /* 0 when the firmware reserves none */
        uint32_t hashes_table_size;
        bool have_svsm_info;
        uint32_t svsm_entry_offset;

        OvmfSevSection sev_sections[OVMF_SECTIONS_MAX];
        size_t n_sev_sections;
        bool have_sev_metadata;

        TdvfSection tdvf_sections[OVMF_SECTIONS_MAX];
        size_t n_tdvf_sections;
        bool have_tdvf_metadata;
} OvmfImage;

#define OVMF_WANT_SEV (1u << 0)  /* the SEV metadata */
#define OVMF_WANT_TDVF (1u << 1) /* the TDVF metadata */

/* Parses the footer table and the metadata named in want that it points to. The image is
 * placed so that it ends at end_gpa (4 GiB for OVMF; below OVMF and its variable store for an
 * SVSM). An image without a footer table parses (have_table false); a table, header or section
 * that is present but malformed is refused with -EBADMSG and a reason naming it. */
int ovmf_parse(const uint8_t *data, size_t size, uint64_t end_gpa, unsigned want, OvmfImage *ret,
               char **ret_reason);

bool ovmf_has_sev_section(const OvmfImage *img, uint32_t type);
/* "SNP_SEC_MEM", "CPUID", ...; NULL for a type we do not know. */
const char *ovmf_section_type_to_string(uint32_t type);
const char *tdvf_section_type_to_string(uint32_t type);
