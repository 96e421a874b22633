/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Predicted launch measurements from the files a guest boots: the one part of the measure
 * code that reads files, so that cvmctl measure and the launch (which knows the files of its
 * spec) compute the same values. The digests themselves are snp-measure.h and tdx-measure.h. */

#include <openssl/evp.h>
#include <stdint.h>

#include "cvm/snp-measure.h"
#include "cvm/tdx-measure.h"

/* Largest kernel or initrd hashed (streamed, never held in memory whole). */
#define MEASURE_BOOT_FILE_MAX (UINT64_C(4) << 30)

/* The digest (SHA-256 or SHA-384) of a regular file, read in chunks; "/dev/null" counts as an
 * empty file. -EFBIG above MEASURE_BOOT_FILE_MAX. */
int measure_file_digest(const char *path, const EVP_MD *md, uint8_t *ret, char **ret_reason);
/* A firmware image (bounded by OVMF_IMAGE_MAX) into a malloc'ed buffer. */
int measure_read_firmware(const char *path, uint8_t **ret, size_t *ret_size, char **ret_reason);
/* A PEM private key; the file's bytes pass only through locked memory. */
int measure_load_private_key(const char *path, EVP_PKEY **ret, char **ret_reason);

typedef struct SnpMeasureFiles {
        SnpVmm vmm;
        unsigned vcpus;
        uint32_t vcpu_sig;
        uint64_t guest_features;
        const char *firmware;
        const uint8_t *ovmf_hash; /* 48 bytes or NULL */
        const char *kernel;       /* NULL: no direct kernel boot; then initrd and append must be NULL */
        const char *initrd;       /* NULL: none (hashed as empty) */
        const char *append;       /* NULL: none (hashed as one NUL) */
        const char *svsm;
        uint64_t vars_size;
} SnpMeasureFiles;

/* snp_measure() over the named files; ret_hashes (may be NULL) receives the kernel hashes when
 * a kernel was given. */
int snp_measure_files(const SnpMeasureFiles *f, SnpMeasurement *ret, SnpKernelHashes *ret_hashes,
                      char **ret_reason);
/* tdx_mrtd() over a firmware file. */
int tdx_mrtd_file(const char *firmware, uint8_t ret[TDX_MR_SIZE], char **ret_reason);
