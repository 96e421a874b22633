/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cvm-agent: the guest side of the attestation exchange. It answers the host's challenge with
 * the CPU evidence (and each GPU's) bound to a fresh HPKE key pair, opens the sealed key bundle,
 * proves it did with the key confirmation, installs the keys, and only then lets the GPUs take
 * work. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
        /* instead of both: a file where the simulated hypervisor puts the launch digest (96 hex
         * digits) once it knows it; evidence waits for it up to timeout_usec. NULL: not used */
        const char *sim_launch_digest_file;
        const char *sim_gpu_dir; /* simulated GPUs (cvmctl sim init's gpu/ directory) instead of NVML; NULL: NVML */
        const char *tsm_dir;  /* configfs-tsm report root; default /sys/kernel/config/tsm/report */
        const char *keys_dir; /* where keys are installed as 0400 files; NULL: not as files */
        const char *keyring_user; /* install into this user's keyring as "user" keys; NULL: not */
        const char *swaps_path;   /* what says whether swap is on; NULL: /proc/swaps (tests inject one) */
        bool allow_swap;          /* key files on tmpfs even while swap is on (encrypted swap) */
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

/* GPUs through NVML (dlopen of libnvidia-ml.so.1): for each of the first n GPUs its guest PCI
 * address and CC mode, then its report for the nonce bound to them (proto_gpu_nonce() of the
 * challenge nonce and ev->pubkey) and its chain, into ev's GPU members (ev->n_gpus is set). */
int gpu_evidence_get(uint32_t n, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev, char **ret_reason);
int gpu_set_ready(char **ret_reason);
/* The same from the simulated board in dir (cvmctl sim init's gpu/): GPU i is dir/gpu<i>, with
 * its own device identity, PCI address and CC mode. */
int evidence_sim_gpus(const char *dir, uint32_t n, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev,
                      char **ret_reason);

/* Installs every key of the bundle (key-bundle.h) where its install metadata says (a file in
 * keys_dir with its owner, group and mode; a "user" key "cvmd:<kid>" in a user's keyring; a
 * LUKS volume opened with it), or, without metadata, as <keys_dir>/<kid> (0400) and/or in
 * keyring_user's keyring. All or nothing: on failure none of this bundle's keys is in place and
 * the keys of an earlier exchange are as they were (install-keys.c says how far that holds).
 * Keys already installed under the same IDs are replaced, or kept when the bundle says so.
 * Nothing is logged. Returns the number of keys. */
int keys_install(const AgentConfig *c, const Secret *bundle, char **ret_reason);

/* systemd notification (agent-notify.c): STATUS while waiting; READY=1 after the first exchange
 * whose keys are installed (r >= 0 from agent_session_serve()). */
void agent_notify_listening(const char *addr);
void agent_notify_exchange(int r, bool authenticated, const char *reason);

/* One exchange on a connected socket. Returns the number of GPUs set ready (>= 0) when keys
 * were received, installed and then confirmed; -errno with a reason otherwise. */
int agent_session_run(const AgentConfig *c, int fd, char **ret_reason);
/* The same; *ret_concluded says whether the exchange reached the host's decision (a KeyRelease
 * or the host's Error after the evidence), which only the releaser bound at launch gets to: a
 * refused peer or releaser, or a channel that broke before the decision, is not one. */
int agent_session_serve(const AgentConfig *c, int fd, bool *ret_concluded, char **ret_reason);

/* Whether the challenge's releaser key and spec digest give the launch digest that the guest's
 * own report (SNP HOST_DATA, first 32 bytes; TDX MRCONFIGID) carries: 0, or -EACCES ("releaser
 * not bound at launch"), -EBADMSG when the report cannot be read. */
int agent_check_releaser(const ProtoMsg *challenge, const ProtoMsg *evidence, char **ret_reason);

/* Who may connect at all (peer-check.c): on vsock only the host (CID 2), on a unix socket only
 * a peer whose SO_PEERCRED uid is root or trusted. */
#define AGENT_TRUST_UIDS_MAX 16u
typedef struct AgentPeerPolicy {
        uid_t trust_uids[AGENT_TRUST_UIDS_MAX]; /* besides root */
        size_t n_trust_uids;
} AgentPeerPolicy;
/* 0 when the peer of the accepted socket fd may speak to the agent, -EPERM with a reason naming
 * the peer otherwise. */
int agent_peer_check(int fd, const AgentPeerPolicy *p, char **ret_reason);

/* The steps, for the session and for tests that compose misbehaving agents. */
int agent_build_evidence(const AgentConfig *c, const ProtoMsg *challenge, Secret **ret_sk, ProtoMsg *ret_evidence,
                         char **ret_reason);
int agent_open_release(const ProtoMsg *challenge, const Secret *sk, const ProtoMsg *release, Secret **ret_bundle,
                       uint8_t ret_confirm[32], char **ret_reason);
