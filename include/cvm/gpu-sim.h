/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A software NVIDIA H100 (Hopper) in confidential-computing mode: a simulated five-certificate
 * device chain with NVIDIA's profile (ECDSA P-384 / ecdsa-with-SHA384 throughout: "NVIDIA Device
 * Identity CA" root, "NVIDIA GH100 Identity", "NVIDIA GH100 Provisioner ICA 1", the per-device
 * "GH100 A01 GSP BROM" CA and the "GH100 A01 GSP FMC LF" leaf carrying the Hopper FWID extension
 * 2.23.133.5.4.1), and attestation reports in the real NVML format (shared/specs/nvidia-gpu.md
 * §1): the SPDM 1.1 GET_MEASUREMENTS request with the caller's nonce, the MEASUREMENTS response
 * with 64 DMTF measurement blocks, a random responder nonce, opaque-data TLVs (driver and VBIOS
 * versions, GPU info, NVDEC0 status, chip/project SKUs, FWID equal to the leaf's, protected-PCIe
 * status, opaque data version, feature flag) and the raw ECDSA P-384/SHA-384 signature over every
 * byte before it. Plus the matching golden-measurement list (nv_golden_parse() format), so a host
 * can check measurements without RIMs.
 *
 * A simulated board (gpu_sim_new_board()) has one device identity per GPU, as real hardware: the
 * root, identity and provisioner CAs are shared, each GPU has its own BROM CA and leaf key, all
 * run the same firmware (one FWID, the same measurements). Each GPU also has the guest PCI
 * address and CC mode its driver would report. gpu_sim_write_board() can instead make every GPU
 * answer with GPU 0's identity (a fault for tests: a verifier must refuse one device standing in
 * for several).
 *
 * Simulated chains are unmistakable: O= is "cvmd Simulated NVIDIA" in every subject. Their root is
 * never NVIDIA's: a verifier trusts it only when handed gpu_sim_root_pin() (a policy's
 * "gpu.trusted_simulator_roots"). Pure code apart from gpu_sim_write() and gpu_sim_load(); no
 * logging. */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "cvm/gpu.h"
#include "cvm/guest-proto.h"
#include "cvm/macro.h"

#define GPU_SIM_ORGANIZATION  "cvmd Simulated NVIDIA"
#define GPU_SIM_BLOCKS        64u /* measurement blocks per report, as real H100 reports */
#define GPU_SIM_ACTIVE_BLOCKS 40u /* blocks 1..40 carry digests; 41..64 are zero (unused slots) */

typedef struct GpuSimParams {
        const char *driver_version; /* NULL: "550.90.07"; not written: a loaded sim reports 550.90.07 */
        int64_t not_before;         /* both 0: now - 1 day, and NVIDIA's 9999-12-31T23:59:59Z */
        int64_t not_after;
} GpuSimParams;

typedef struct GpuSim {
        EVP_PKEY *ca_keys[4];         /* root, identity, provisioner, BROM; NULL in a sim from gpu_sim_load() */
        EVP_PKEY *leaf_key;           /* signs reports */
        X509 *certs[NV_CHAIN_LENGTH]; /* leaf first, as NVML returns the chain */
        uint8_t fwid[NV_FWID_SIZE];
        char driver_version[32];
        uint8_t vbios_raw[8];
        uint8_t measurements[GPU_SIM_BLOCKS][48]; /* SPDM block i+1 */
        char pci_address[PROTO_PCI_ADDRESS_SIZE]; /* the guest PCI address NVML would report */
        ProtoGpuCc cc_mode;                       /* the CC mode NVML would report */
        /* protected-PCIe mode when n_switch_pdis > 0: the report says PPCIe and lists these NVSwitch
         * links (SWITCH_PDI, little-endian PDIs); set by switch_sim_link_gpus(), kept in the GPU's
         * directory as switch-pdis (one hex entry a line) */
        size_t n_switch_pdis;
        uint8_t switch_pdis[NV_SWITCH_PDIS_MAX][NV_PDI_SIZE];
} GpuSim;

/* Generates the five P-384 keys and issues the chain with a random FWID. -EINVAL for bad params,
 * -EIO when OpenSSL fails. */
int gpu_sim_new(const GpuSimParams *p, GpuSim **ret);
GpuSim *gpu_sim_free(GpuSim *s);
DEFINE_CLEANUP(GpuSim *, gpu_sim_free)

/* The pin for the simulated root: SHA-256 of its SubjectPublicKeyInfo. */
int gpu_sim_root_pin(const GpuSim *s, NvPin *ret);

/* The chain as NVML returns it: PEM text, leaf first. *ret is malloc'ed (NUL-terminated, the
 * size excludes the NUL). */
int gpu_sim_chain_pem(const GpuSim *s, uint8_t **ret, size_t *ret_size);

/* A signed attestation report for the requester nonce `nonce`. *ret is malloc'ed. */
int gpu_sim_report(const GpuSim *s, const uint8_t nonce[NV_NONCE_SIZE], uint8_t **ret, size_t *ret_size);

/* The golden list of this simulated GPU's measurements: [{"index": i, "values": ["<hex>"]}, ...]
 * for RIM indices 0..GPU_SIM_ACTIVE_BLOCKS-1. *ret is malloc'ed. */
int gpu_sim_golden_json(const GpuSim *s, char **ret);

/* Writes into dir (created 0700): chain.pem (the five certificates, leaf first), leaf-key.pem
 * (0600), golden.json, pci-address and cc-mode (one line of text each: "0000:01:00.0", "on").
 * The CA private keys are not written. */
int gpu_sim_write(const GpuSim *s, const char *dir);
/* Loads what gpu_sim_write() wrote, for making reports: five simulated certificates (the
 * organization in every subject), each signed by the next, the last self-signed, the leaf's key
 * the private key's, the leaf's FWID extension well-formed, a valid PCI address and a known CC
 * mode. -ENOENT for missing files, -EBADMSG when they are inconsistent. */
int gpu_sim_load(const char *dir, GpuSim **ret);

/* ---- a board of several GPUs ---- */

#define GPU_SIM_BOARD_DEFAULT 8u

/* The guest PCI address GPU i gets by default: where the launcher's domain XML puts GPU i when
 * every GPU is on one NUMA cell (one pcie-expander-bus with busNr 0xe0, a root port per GPU in
 * slot i behind it: the guest firmware numbers its bus 0xe1 + i), 0000:<e1+i>:00.0. */
void gpu_sim_default_pci_address(size_t i, char ret[PROTO_PCI_ADDRESS_SIZE]);
/* n (1..PROTO_GPUS_MAX) GPUs under one simulated root: ret[i] is GPU i, with its own BROM and
 * leaf keys, the board's FWID and measurements, gpu_sim_default_pci_address(i), CC mode on. */
int gpu_sim_new_board(const GpuSimParams *p, size_t n, GpuSim **ret);
void gpu_sim_board_free(GpuSim **board, size_t n);
/* Writes dir/golden.json and dir/gpu<i>/ (gpu_sim_write()) for each GPU; with shared_identity
 * every gpu<i>/ holds GPU 0's chain and key (but its own PCI address and CC mode). */
int gpu_sim_write_board(GpuSim *const *board, size_t n, bool shared_identity, const char *dir);
/* dir/gpu<i>: the directory gpu_sim_write_board() wrote GPU i to. */
int gpu_sim_board_gpu_dir(const char *dir, size_t i, char **ret);

/* ---- RIMs and OCSP for the simulated board (gpu-sim-rim.c) ---- */

/* RIM index i (SPDM block i+1) is in the VBIOS RIM for i < GPU_SIM_VBIOS_BLOCKS, else in the
 * driver RIM (up to GPU_SIM_ACTIVE_BLOCKS): each index in one RIM only, as real RIMs. */
#define GPU_SIM_VBIOS_BLOCKS 8u

/* A simulated RIM signing chain: a self-signed P-384 root (O=GPU_SIM_ORGANIZATION, trusted only
 * through a policy's "gpu.trusted_simulator_rim_roots") and the signer it issued. */
typedef struct GpuSimRimSigner {
        EVP_PKEY *root_key, *signer_key;
        X509 *root, *signer;
} GpuSimRimSigner;

/* Both 0: valid from a day ago until 9999-12-31T23:59:59Z. -EIO when OpenSSL fails. */
int gpu_sim_rim_signer_new(int64_t not_before, int64_t not_after, GpuSimRimSigner **ret);
GpuSimRimSigner *gpu_sim_rim_signer_free(GpuSimRimSigner *s);
DEFINE_CLEANUP(GpuSimRimSigner *, gpu_sim_rim_signer_free)
/* The pin for the RIM root: SHA-256 of its SubjectPublicKeyInfo. */
int gpu_sim_rim_root_pin(const GpuSimRimSigner *s, NvPin *ret);
/* The driver and VBIOS RIM ids s's reports name (the verifier's derivation), malloc'ed. */
int gpu_sim_rim_ids(const GpuSim *s, char **ret_driver, char **ret_vbios);
/* Writes dir/<id>.xml for s's driver and VBIOS RIMs (created 0755), signed by signer: the
 * layout nvidia-server --rim-dir serves. wrong_index >= 0: that index's digest is altered before
 * signing (a genuine-looking RIM the measurements do not match). */
int gpu_sim_write_rims(const GpuSim *s, const GpuSimRimSigner *signer, int wrong_index, const char *dir);
/* Writes dir/{provisioner,identity,root,rim-root}.pem (dir 0700, files 0600): for each issuer of
 * a certificate OCSP is asked about (s's device chain and signer's RIM chain), a responder
 * certificate it issued with the OCSPSigning EKU, the issuer's certificate and the responder's
 * key, for a local OCSP responder (nvidia-server --responders). s must have its CA keys (from
 * gpu_sim_new_board(), not gpu_sim_load()): -EINVAL otherwise. */
int gpu_sim_write_ocsp_responders(const GpuSim *s, const GpuSimRimSigner *signer, const char *dir);
