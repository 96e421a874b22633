/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Software NVSwitches (LS10) for a simulated protected-PCIe HGX board (docs/nvswitch.md): each has
 * its own device identity under the simulated GPUs' root, as real switches are issued under the
 * NVIDIA Device Identity CA through "NVIDIA GH100 Identity" ("NVIDIA LS_10 Provisioner ICA 1",
 * the per-switch "LS_10 A01 FSP BROM" CA, the "LS_10 A01 FSP FMC LF" leaf), a PDI, a position,
 * the eight GPU PDIs it links, and reports in the real format: the SPDM 1.1 GET_MEASUREMENTS
 * request and MEASUREMENTS response with the switch-side opaque fields (BIOS version text,
 * DEVICE_PDI, SWITCH_GPU_PDIS with a port map, FLOORSWEPT_PORTS, POSITION_ID,
 * LOCK_SWITCH_STATUS), signed with the leaf key. switch_sim_link_gpus() puts the board's GPUs in
 * PPCIe mode, each naming every switch. Trusted only where a policy names the simulated root
 * ("gpu.trusted_simulator_roots"), like the simulated GPUs. Pure code apart from the files. */

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cvm/gpu-sim.h"
#include "cvm/nvswitch.h"

#define SWITCH_SIM_BLOCKS 31u /* measurement blocks per report, as real LS10 reports */
#define SWITCH_SIM_LINKS  18u /* NVLinks per H100: SWITCH_PDI entries each GPU reports */
#define SWITCH_SIM_PORTS  64u

typedef struct SwitchSim {
        EVP_PKEY *leaf_key;
        EVP_PKEY *provisioner_key; /* a new board's "LS_10 Provisioner ICA" key; NULL when loaded */
        X509 *certs[NV_CHAIN_LENGTH]; /* leaf first */
        uint64_t pdi;
        uint16_t position_id;
        uint16_t lock_status; /* NV_SWITCH_LOCKED; the file lock-status may say otherwise (tests) */
        uint64_t gpu_pdis[NV_SWITCH_GPU_PDIS];
        uint8_t measurements[SWITCH_SIM_BLOCKS][48];
} SwitchSim;

SwitchSim *switch_sim_free(SwitchSim *s);
DEFINE_CLEANUP(SwitchSim *, switch_sim_free)
void switch_sim_board_free(SwitchSim **switches, size_t n);

/* n (1..NV_SWITCH_PDIS_MAX) switches issued under gpu0's root and identity CA (gpu0 from
 * gpu_sim_new_board(): it must hold its CA keys, -EINVAL otherwise), with random PDIs, positions
 * 0..n-1, and one set of eight random GPU PDIs. -EIO when OpenSSL fails. */
int switch_sim_new_board(const GpuSim *gpu0, size_t n, SwitchSim **ret);
/* Puts every GPU in protected-PCIe mode naming the switches: SWITCH_SIM_LINKS links each, spread
 * over the switches in turn. */
void switch_sim_link_gpus(SwitchSim *const *switches, size_t n, GpuSim *const *gpus, size_t n_gpus);

/* A signed report for the requester nonce; *ret malloc'ed. */
int switch_sim_report(const SwitchSim *s, const uint8_t nonce[NV_NONCE_SIZE], uint8_t **ret, size_t *ret_size);
/* The chain as NSCQ returns it: PEM, leaf first; *ret malloc'ed and NUL-terminated. */
int switch_sim_chain_pem(const SwitchSim *s, uint8_t **ret, size_t *ret_size);

/* dir/switch<i>: where switch_sim_write_board() puts switch i. */
int switch_sim_board_dir(const char *dir, size_t i, char **ret);
/* Writes dir/switch<i>/ for each: chain.pem, leaf-key.pem (0600), pdi, gpu-pdis, position and
 * lock-status (one line of text each, editable for tests); for a new board also
 * dir/ocsp/switch-provisioner.pem, the OCSP responder for the switches' BROM certificates (the
 * GPU responders for the rest of their chain are gpu_sim_write_ocsp_responders()'). */
int switch_sim_write_board(SwitchSim *const *switches, size_t n, const char *dir);
/* Loads what switch_sim_write_board() wrote for one switch: -ENOENT when missing, -EBADMSG when
 * inconsistent (a chain not of the simulator, a key not the leaf's, malformed lines). */
int switch_sim_load(const char *dir, SwitchSim **ret);
