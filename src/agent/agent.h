/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cvm-agent: the guest side of the attestation exchange. It answers the host's challenge with
 * the CPU evidence (and each GPU's) bound to a fresh HPKE key pair, opens the sealed key bundle,
 * proves it did with the key confirmation, installs the keys, and only then lets the GPUs take
 * work. */

#include <stdbool.h>
#include <stdint.h>

#include "cvm/guest-proto.h"
#include "cvm/secret.h"

typedef enum EvidenceSource {
        EVIDENCE_AUTO,      /* configfs-tsm, then /dev/sev-guest */
        EVIDENCE_TSM,       /* /sys/kernel/config/tsm/report */
        EVIDENCE_SEV_GUEST, /* /dev/sev-guest SNP_GET_EXT_REPORT */
        EVIDENCE_SIM_SNP,   /* the SEV-SNP simulator (cvmctl sim init) */
        EVIDENCE_SIM_TDX,   /* the TDX simulator (cvmctl sim init) */
} EvidenceSource;

typedef struct AgentConfig {
        EvidenceSource source;
        const char *sim_dir;  /* EVIDENCE_SIM_SNP / _TDX: the simulator's snp/ or tdx/ directory */
        uint8_t sim_host_data[32]; /* what a simulated hypervisor put in HOST_DATA */
        uint8_t sim_mrconfigid[48]; /* what a simulated VMM put in MRCONFIGID */
        const char *sim_gpu_dir; /* simulated GPUs (cvmctl sim init's gpu/ directory) instead of NVML; NULL: NVML */
        const char *tsm_dir;  /* configfs-tsm report root; default /sys/kernel/config/tsm/report */
        const char *keys_dir; /* where keys are installed as 0400 files; NULL: not as files */
        const char *keyring_user; /* install into this user's keyring as "user" keys; NULL: not */
        bool has_vm_uuid;
        uint8_t vm_uuid[16];  /* when known: a challenge for another VM is refused */
        uint64_t timeout_usec;
} AgentConfig;

/* CPU evidence for REPORT_DATA: the report or quote, and the SNP certificate table. */
int evidence_get(const AgentConfig *c, CvmTee tee, const uint8_t report_data[64], ProtoBlob *ret_report,
                 ProtoBlob *ret_cert_table, char **ret_reason);
int evidence_tsm(const char *root, CvmTee tee, const uint8_t report_data[64], ProtoBlob *ret_report,
                 ProtoBlob *ret_aux, char **ret_reason);
int evidence_sev_guest(const uint8_t report_data[64], ProtoBlob *ret_report, ProtoBlob *ret_cert_table,
                       char **ret_reason);
int evidence_sim_snp(const char *dir, const uint8_t host_data[32], const uint8_t report_data[64],
                     ProtoBlob *ret_report, ProtoBlob *ret_cert_table, char **ret_reason);
/* A simulated TDX quote v4 from the simulator in dir: REPORTDATA and MRCONFIGID as given. */
int evidence_sim_tdx(const char *dir, const uint8_t mrconfigid[48], const uint8_t report_data[64],
                     ProtoBlob *ret_report, char **ret_reason);

/* GPUs through NVML (dlopen of libnvidia-ml.so.1): one report and chain per GPU for its nonce. */
int gpu_evidence_get(uint32_t n, const uint8_t nonces[][32], ProtoBlob *ret_reports, ProtoBlob *ret_chains,
                     char **ret_reason);
int gpu_set_ready(char **ret_reason);
/* Simulated GPUs from the simulator in dir: n real-format reports, one per nonce, each with the
 * simulated chain (one simulated device identity stands for every GPU). */
int evidence_sim_gpus(const char *dir, uint32_t n, const uint8_t nonces[][32], ProtoBlob *ret_reports,
                      ProtoBlob *ret_chains, char **ret_reason);

/* Installs each key of the bundle as <keys_dir>/<kid> (0400) and/or a "user" key named
 * "cvmd:<kid>" in the user's keyring. Nothing is logged. Returns the number of keys. */
int keys_install(const AgentConfig *c, const Secret *bundle, char **ret_reason);

/* One exchange on a connected socket. Returns the number of GPUs set ready (>= 0) when keys
 * were received, confirmed and installed; -errno with a reason otherwise. */
int agent_session_run(const AgentConfig *c, int fd, char **ret_reason);

/* The steps, for the session and for tests that compose misbehaving agents. */
int agent_build_evidence(const AgentConfig *c, const ProtoMsg *challenge, Secret **ret_sk, ProtoMsg *ret_evidence,
                         char **ret_reason);
int agent_open_release(const ProtoMsg *challenge, const Secret *sk, const ProtoMsg *release, Secret **ret_bundle,
                       uint8_t ret_confirm[32], char **ret_reason);
