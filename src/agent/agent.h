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
        /* the runtime log of measured workloads (agent-measure.c); NULL: none */
        const char *runtime_dir;
        /* TDX: the ACPI tables directory with CCEL and data/CCEL; NULL: /sys/firmware/acpi/tables */
        const char *acpi_dir;
        /* the simulated TDX guest's kernel command line (NULL: "console=hvc0"), and, to simulate a
         * lying guest, another one its event log claims (NULL: the same) */
        const char *sim_cmdline;
        const char *sim_log_cmdline;
        uint64_t timeout_usec;
} AgentConfig;

/* CPU evidence for REPORT_DATA: the report or quote, and the SNP certificate table. sim_rtmr:
 * the simulated TD's RTMR0-3 (NULL: the simulator's template values). */
int evidence_get(const AgentConfig *c, CvmTee tee, const uint8_t report_data[64], const uint8_t (*sim_rtmr)[48],
                 ProtoBlob *ret_report, ProtoBlob *ret_cert_table, char **ret_reason);
int evidence_tsm(const char *root, CvmTee tee, const uint8_t report_data[64], ProtoBlob *ret_report,
                 ProtoBlob *ret_aux, char **ret_reason);
int evidence_sev_guest(const uint8_t report_data[64], ProtoBlob *ret_report, ProtoBlob *ret_cert_table,
                       char **ret_reason);
int evidence_sim_snp(const char *dir, const uint8_t host_data[32], const uint8_t report_data[64],
                     ProtoBlob *ret_report, ProtoBlob *ret_cert_table, char **ret_reason);
/* A simulated TDX quote v4 from the simulator in dir: REPORTDATA and MRCONFIGID as given, and
 * RTMR0-3 when rtmr is not NULL (else the template's). */
int evidence_sim_tdx(const char *dir, const uint8_t mrconfigid[48], const uint8_t (*rtmr)[48],
                     const uint8_t report_data[64], ProtoBlob *ret_report, char **ret_reason);

/* The event log and workloads (agent-eventlog.c): the CPU evidence for report_data together with
 * what it measured, consistently: under a shared lock on the runtime log, so that no workload is
 * measured between reading the log and taking the quote. TDX: ev->eventlog is the firmware's
 * CCEL log (real, or the simulated firmware's, whose replay is the simulated quote's RTMR0-2)
 * followed by the runtime RTMR3 events. SEV-SNP: ev->workload_digests, bound into REPORT_DATA
 * (proto_report_data_workloads()). Fills ev->report and ev->cert_table. */
int evidence_get_measured(const AgentConfig *c, CvmTee tee, const uint8_t base_report_data[64], ProtoMsg *ev,
                          char **ret_reason);
/* What the simulated firmware measures for a direct boot (eventlog-sim.c): the kernel's and
 * initrd's digests and the command line. */
typedef struct SimFirmwareBoot {
        uint8_t kernel[48];
        bool has_initrd;
        uint8_t initrd[48];
        const char *cmdline;
} SimFirmwareBoot;
/* Digests of fixed labels and "console=hvc0": a simulated guest with no domain XML. */
void eventlog_sim_boot_default(SimFirmwareBoot *ret);
/* The log the simulated firmware writes for that boot. */
int eventlog_sim_firmware(const SimFirmwareBoot *boot, uint8_t **ret, size_t *ret_size);
/* The firmware's log from ACPI (eventlog-read.c): the CCEL table checked, the log area read
 * (bounded) and cut after its last event. -ENOENT when this guest has no CCEL. */
int eventlog_read_ccel(const char *acpi_dir, uint8_t **ret, size_t *ret_size, char **ret_reason);

/* Runtime measurement (agent-measure.c). The runtime log is <runtime_dir>/workloads.log, a
 * crypto-agile log of RTMR3 workload events; the simulated TDX guest's RTMR3 lives beside it in
 * sim-rtmr3. The log is locked with flock(): exclusively while a workload is measured. */
#define AGENT_RUNTIME_DIR_DEFAULT "/run/cvm-agent"
typedef struct WorkloadLog {
        int lock_fd;         /* -1: no log */
        uint8_t *data;       /* the whole file */
        size_t size;
        size_t records;      /* offset of the first record after the Spec ID event */
        uint8_t *digests;    /* n × 48 */
        size_t n;
} WorkloadLog;
/* Opens and shared-locks the log, reads and parses it. A missing directory or file is an empty
 * log. */
int workload_log_open(const char *runtime_dir, WorkloadLog *ret, char **ret_reason);
void workload_log_close(WorkloadLog *l);
/* The simulated TDX guest's RTMR3 (zero before any extension). */
int sim_rtmr3_read(const char *runtime_dir, uint8_t ret[48]);
/* `cvm-agent measure-workload ...`: argv[0] is "measure-workload". Returns the exit status. */
int agent_measure_main(int argc, char *argv[]);

/* GPUs through NVML (dlopen of libnvidia-ml.so.1): for each of the first n GPUs its guest PCI
 * address and CC mode, then its report for the nonce bound to them (proto_gpu_nonce() of the
 * challenge nonce and ev->pubkey) and its chain, into ev's GPU members (ev->n_gpus is set). */
int gpu_evidence_get(uint32_t n, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev, char **ret_reason);
int gpu_set_ready(char **ret_reason);
/* The same from the simulated board in dir (cvmctl sim init's gpu/): GPU i is dir/gpu<i>, with
 * its own device identity, PCI address and CC mode. */
int evidence_sim_gpus(const char *dir, uint32_t n, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev,
                      char **ret_reason);
/* NVSwitches (evidence-sim-switch.c): from the simulated board in dir, switch i is dir/switch<i>,
 * its report for proto_switch_nonce(nonce, ev->pubkey, i), into ev's switch members. The real
 * agent has no NVSwitch interface: switch_evidence_get() fails for n > 0 (-EOPNOTSUPP). */
int evidence_sim_switches(const char *dir, uint32_t n, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev,
                          char **ret_reason);
int switch_evidence_get(uint32_t n, char **ret_reason);

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

/* The GPU driver reload watch (agent-gpu-watch.c): on a thread of its own, sees a reload (the
 * kernel's uevents: a GPU bound to the "nvidia" driver; or, with sim_trigger, that file
 * appearing, the simulator's switch) and tells the host by connecting to notify and closing: a
 * hint, on which the host can only attest the VM again. */
struct ChannelAddr;
int gpu_watch_start(const struct ChannelAddr *notify, const char *sim_trigger, char **ret_reason);
/* Whether one kernel uevent datagram (NUL-separated strings) is a bind of the nvidia driver. */
bool gpu_watch_uevent_is_reload(const uint8_t *buf, size_t n);

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
