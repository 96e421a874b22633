/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NVIDIA NVSwitch (LS10, HGX H100/H200) attestation in protected-PCIe (PPCIe) mode: the switch's
 * own report (the GPU's SPDM 1.1 GET_MEASUREMENTS request + MEASUREMENTS response, with
 * switch-side opaque fields), its five-certificate chain to the NVIDIA Device Identity CA (the
 * GPUs' root), and the board topology: every GPU names the same NVSwitch PDIs, every switch
 * passed through is attested, each attested switch is one of them and names the same eight
 * GPUs. All or nothing: one switch that fails refuses the whole board. Pure code: bytes,
 * certificates, pins and a time in; checks in a Verdict out. Facts: docs/nvswitch.md. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/gpu.h"
#include "cvm/verdict.h"

#define NV_SWITCH_GPU_PDIS  8u   /* SWITCH_GPU_PDIS: the eight GPU PDIs, then one byte per port */
#define NV_SWITCH_PORTS_MAX 256u /* port bytes kept (real LS10 reports have 64) */
#define NV_SWITCH_LOCKED    1u   /* LOCK_SWITCH_STATUS of a switch locked for PPCIe */

/* Switch-side opaque-data TLV types (NVIDIA's switch verifier; shared/specs/nvidia-gpu.md §1.4). */
typedef enum NvSwitchOpaqueType {
        NV_SWITCH_OPAQUE_BIOS_VERSION = 6, /* ASCII "96.10.73.00.01", not the GPU's packed 8 bytes */
        NV_SWITCH_OPAQUE_MSRSCNT = 12,
        NV_SWITCH_OPAQUE_FWID = 20,
        NV_SWITCH_OPAQUE_DEVICE_PDI = 22, /* the switch's own PDI (a GPU's type 22 lists switches) */
        NV_SWITCH_OPAQUE_FLOORSWEPT_PORTS = 23,
        NV_SWITCH_OPAQUE_POSITION_ID = 24,
        NV_SWITCH_OPAQUE_LOCK_STATUS = 25,
        NV_SWITCH_OPAQUE_GPU_PDIS = 26,
} NvSwitchOpaqueType;

typedef struct NvSwitchReport {
        uint8_t nonce[NV_NONCE_SIZE]; /* the requester's nonce, report bytes 4..35 */
        unsigned n_blocks;
        NvMeasurement blocks[NV_BLOCKS_MAX];
        uint8_t responder_nonce[NV_NONCE_SIZE];
        char bios_version[32]; /* "" when absent */
        bool has_fwid;
        uint8_t fwid[NV_FWID_SIZE];
        bool has_pdi;
        uint64_t pdi; /* DEVICE_PDI read big-endian: the value a GPU's SWITCH_PDI entry holds little-endian */
        bool has_gpu_pdis;
        uint64_t gpu_pdis[NV_SWITCH_GPU_PDIS]; /* as the report holds them (big-endian reads) */
        size_t n_ports;
        uint8_t ports[NV_SWITCH_PORTS_MAX]; /* GPU index per port, 0xff: none */
        bool has_floorswept_ports;
        uint8_t floorswept_ports[16];
        size_t floorswept_size;
        bool has_position_id;
        uint16_t position_id;
        bool has_lock_status;
        uint16_t lock_status;
        size_t signed_size; /* offset of the signature: every byte before it is signed */
        uint8_t signature[NV_SIGNATURE_SIZE];
} NvSwitchReport;

/* Parses a switch report with the bounded reader: the 37-byte request, the response, the
 * switch-side opaque fields (sizes checked), the signature located by parsing; bytes after it are
 * refused. -EBADMSG with a malloc'ed reason naming the field and offset; *ret untouched then. */
int nv_switch_report_parse(const uint8_t *data, size_t size, NvSwitchReport *ret, char **ret_reason);
/* pdi, gpu_pdis, position_id, lock_status, bios_version, nonce, ... */
json_object *nv_switch_report_claims(const NvSwitchReport *r);

/* The PDI a GPU report's SWITCH_PDI entry names (8 bytes, little-endian). */
uint64_t nv_pdi_from_gpu_entry(const uint8_t entry[NV_PDI_SIZE]);
/* 16 lower-case hex digits and a NUL: the form NVIDIA's verifiers print. */
void nv_pdi_format(uint64_t pdi, char ret[17]);

/* ---- verification ---- */

typedef struct NvSwitchInput {
        const uint8_t *report;
        size_t report_size;
        NvChain *chain; /* may be NULL: a failed check */
} NvSwitchInput;

typedef struct NvSwitchParams {
        const NvPin *root_pins; /* device identity roots; NULL: nv_device_root_spki_sha256 */
        size_t n_root_pins;
        int64_t at;
        const uint8_t (*nonces)[NV_NONCE_SIZE]; /* one expected nonce per switch; NULL: not checked */
} NvSwitchParams;

typedef struct NvSwitchAppraisal {
        bool parsed;
        NvSwitchReport report;
        bool authentic; /* parsed, signed by the leaf, chain pinned and valid, FWID, nonce, locked */
} NvSwitchAppraisal;

/* One switch: parse, signature with the leaf key, chain (5 certificates) to a pinned root valid at
 * `at`, the FWID when the report carries one (real LS10 reports do not: NVIDIA's verifier then
 * has nothing to compare), the nonce, and LOCK_SWITCH_STATUS locked. Records checks
 * "nvswitch<index>.{report.parse,report.signature,chain,fwid,nonce,locked}". 0, or -ENOMEM. */
int nv_switch_verify(const NvSwitchInput *in, size_t index, const NvSwitchParams *p, NvSwitchAppraisal *ret,
                     Verdict *v);

/* The board, all or nothing: every switch verified (nv_switch_verify()); the count equal to
 * `expected` (the spec's NVSwitches); the GPUs in PPCIe mode naming one set of NVSwitch PDIs, as
 * many as there are switches; each switch's PDI in that set, no switch twice; each switch naming
 * NV_SWITCH_GPU_PDIS distinct GPU PDIs, the same on every switch. Records "nvswitch<i>.*",
 * "nvswitch.count", "nvswitch.topology" and "nvswitch" (the summary naming the first switch that
 * failed), claim "nvswitches". gpu_reports[i] may be NULL (unparsed: the rule then fails).
 * expected 0 with no switch: "nvswitch" skipped, unless a GPU reports PPCIe mode, which trusts
 * the board's switches: then failed. *ret_authentic: every switch authentic (true when there are
 * none). 0, or -ENOMEM. */
int nv_switch_board_verify(const NvReport *const *gpu_reports, size_t n_gpus, const NvSwitchInput *switches,
                           size_t n_switches, unsigned expected, const NvSwitchParams *p, bool *ret_authentic,
                           Verdict *v);
