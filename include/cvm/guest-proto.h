/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The guest channel protocol, shared by cvmd (host) and cvm-agent (guest). A frame is a 4-byte
 * big-endian length followed by that many bytes of one JSON object, at most PROTO_FRAME_MAX;
 * binary fields are base64. The guest is hostile: every frame is bounded before anything is
 * allocated, every message is parsed strictly (unknown keys, wrong types, wrong sizes are
 * errors), and a state table permits each message once and in order. The protocol is
 * described in docs/guest-protocol.md. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/tee.h"

#define PROTO_VERSION 1
#define PROTO_FRAME_MAX (1024u * 1024u)
#define PROTO_NONCE_SIZE 32u
#define PROTO_PUBKEY_SIZE 32u /* X25519 */
#define PROTO_CONFIRM_SIZE 32u
#define PROTO_GPUS_MAX 16u
#define PROTO_SWITCHES_MAX 8u /* NVSwitches (an HGX H100/H200 board has 4) */
#define PROTO_PCI_ADDRESS_SIZE 13u /* a GPU's guest PCI address "dddd:bb:ss.f" and its NUL */
#define PROTO_SPEC_DIGEST_SIZE 48u  /* SHA-384 of the launch spec (launch_spec_digest()) */
#define PROTO_RELEASER_KEY_SIZE 32u /* X25519: cvmd's static releaser public key */
#define PROTO_LAUNCH_DIGEST_SIZE 48u /* the bound launch digest: TDX MRCONFIGID, SNP HOST_DATA's 32 */
#define PROTO_SNP_HOST_DATA_SIZE 32u

typedef enum ProtoMsgType {
        PROTO_HELLO,
        PROTO_CHALLENGE,
        PROTO_EVIDENCE,
        PROTO_KEY_RELEASE,
        PROTO_ACK,
        PROTO_ERROR,
        _PROTO_MSG_MAX,
        _PROTO_MSG_INVALID = -EINVAL,
} ProtoMsgType;

const char *proto_msg_type_to_string(ProtoMsgType t);

/* A GPU's confidential-computing mode as the guest's NVIDIA driver reports it (NVML
 * nvmlSystemGetConfComputeState): the guest's word, bound into that GPU's SPDM nonce. */
typedef enum ProtoGpuCc {
        PROTO_GPU_CC_OFF,      /* "off": CC feature disabled */
        PROTO_GPU_CC_ON,       /* "on": CC on, developer tools off */
        PROTO_GPU_CC_DEVTOOLS, /* "devtools": CC on in developer-tools mode (not confidential) */
        _PROTO_GPU_CC_MAX,
        _PROTO_GPU_CC_INVALID = -EINVAL,
} ProtoGpuCc;

const char *proto_gpu_cc_to_string(ProtoGpuCc c);
ProtoGpuCc proto_gpu_cc_from_string(const char *s);
/* Exactly "dddd:bb:ss.f": lower-case hex, slot 00..1f, function 0..7. */
bool proto_pci_address_is_valid(const char *s);

typedef struct ProtoBlob {
        uint8_t *data;
        size_t size;
} ProtoBlob;

/* One message. Only the fields of its type are meaningful. */
typedef struct ProtoMsg {
        ProtoMsgType type;
        /* hello (agent -> host) */
        uint32_t version;
        /* challenge (host -> agent) */
        uint8_t nonce[PROTO_NONCE_SIZE];
        CvmTee tee; /* CVM_TEE_SEV_SNP or CVM_TEE_TDX; "sev-snp" or "tdx" on the wire */
        uint32_t gpus;
        uint32_t switches; /* NVSwitches whose evidence is asked for; absent on the wire when 0 */
        uint8_t vm_uuid[16]; /* the VM the keys are for: part of the HPKE aad */
        uint8_t spec_digest[PROTO_SPEC_DIGEST_SIZE];    /* what the VM was launched from */
        uint8_t releaser_key[PROTO_RELEASER_KEY_SIZE];  /* who seals the key release (HPKE auth) */
        /* evidence (agent -> host); tee as above */
        ProtoBlob report; /* SNP report or TDX quote */
        ProtoBlob cert_table;
        ProtoBlob gpu_reports[PROTO_GPUS_MAX];
        ProtoBlob gpu_chains[PROTO_GPUS_MAX]; /* PEM text */
        char gpu_pci[PROTO_GPUS_MAX][PROTO_PCI_ADDRESS_SIZE]; /* each GPU's guest PCI address (NVML) */
        ProtoGpuCc gpu_cc[PROTO_GPUS_MAX];                    /* each GPU's CC mode (NVML) */
        size_t n_gpus;
        /* each NVSwitch's report and chain (PEM), absent on the wire when there are none */
        ProtoBlob switch_reports[PROTO_SWITCHES_MAX];
        ProtoBlob switch_chains[PROTO_SWITCHES_MAX];
        size_t n_switches;
        uint8_t pubkey[PROTO_PUBKEY_SIZE];
        /* optional: TDX, the CC event log (firmware's CCEL log area, then the agent's runtime
         * events on RTMR3); SNP, the SHA-384 digests of the workloads the agent was asked to
         * start (n × 48 bytes), bound into REPORT_DATA (proto_report_data_workloads()) */
        ProtoBlob eventlog;
        ProtoBlob workload_digests;
        /* key_release (host -> agent) */
        ProtoBlob enc;        /* HPKE encapsulated key */
        ProtoBlob ciphertext; /* HPKE-sealed key bundle */
        char *token;          /* signed result token */
        /* ack (agent -> host) */
        uint8_t confirmation[PROTO_CONFIRM_SIZE];
        /* error (either way) */
        char *reason;
} ProtoMsg;

void proto_msg_done(ProtoMsg *m);

/* Message <-> JSON object. Decoding refuses unknown keys, missing keys, wrong types, bad base64
 * and wrong sizes, with a reason naming the field. */
int proto_msg_to_json(const ProtoMsg *m, json_object **ret);
int proto_msg_from_json(json_object *o, ProtoMsg *ret, char **ret_reason);

/* A whole frame in memory: header + JSON body. Decoding requires the declared length to match
 * the buffer exactly. */
int proto_frame_encode(const ProtoMsg *m, uint8_t **ret, size_t *ret_size);
int proto_frame_decode(const uint8_t *frame, size_t size, ProtoMsg *ret, char **ret_reason);

/* Blocking I/O on a stream socket with an absolute CLOCK_MONOTONIC deadline (microseconds).
 * -ETIMEDOUT when the deadline passes, -EMSGSIZE for a frame over PROTO_FRAME_MAX (refused
 * before reading its body), -ECONNRESET when the peer closes mid-frame, -EBADMSG for a
 * malformed message. */
int proto_send(int fd, const ProtoMsg *m, uint64_t deadline_usec);
int proto_recv(int fd, uint64_t deadline_usec, ProtoMsg *ret, char **ret_reason);
uint64_t proto_now_usec(void);

/* Which side of the channel a state table is for. */
typedef enum ProtoRole {
        PROTO_ROLE_HOST,
        PROTO_ROLE_AGENT,
} ProtoRole;

/* The exchange: agent Hello -> host Challenge -> agent Evidence -> host KeyRelease -> agent
 * Ack. Each side checks every message it receives against what the sequence permits next; an
 * Error from the peer, or anything else, ends the exchange. */
typedef struct ProtoState {
        ProtoRole role;
        unsigned step; /* index into the role's expected inbound sequence */
        bool closed;
} ProtoState;

static inline ProtoState proto_state_init(ProtoRole role) {
        return (ProtoState) { .role = role };
}
/* 0 when `t` is the message the sequence permits now (and advances), -EPROTO otherwise (and
 * closes the state), -ECONNABORTED for an Error message. */
int proto_state_receive(ProtoState *s, ProtoMsgType t, char **ret_reason);
/* True once every inbound message of the role has been received. */
bool proto_state_done(const ProtoState *s);

/* Bindings between the nonce, the guest's key and the evidence (ARCHITECTURE.md §2):
 *   REPORT_DATA = SHA-512("cvmd-attest-v1" || nonce || pubkey)
 *   GPU nonce i = SHA-256("cvmd-gpu-v2" || nonce || pubkey || be32(i) || pci || cc)
 * where pci is GPU i's guest PCI address as the evidence names it (12 characters) and cc its CC
 * mode (one byte, ProtoGpuCc): the GPU signs the nonce, so the address and the mode the guest
 * claims for it cannot be changed on the way without breaking its report's nonce check. */
void proto_report_data(const uint8_t nonce[PROTO_NONCE_SIZE], const uint8_t pubkey[PROTO_PUBKEY_SIZE],
                       uint8_t ret[64]);
/* NVSwitch nonce i = SHA-256("cvmd-nvswitch-v1" || nonce || pubkey || be32(i)) */
void proto_switch_nonce(const uint8_t nonce[PROTO_NONCE_SIZE], const uint8_t pubkey[PROTO_PUBKEY_SIZE], uint32_t index,
                        uint8_t ret[32]);
void proto_gpu_nonce(const uint8_t nonce[PROTO_NONCE_SIZE], const uint8_t pubkey[PROTO_PUBKEY_SIZE], uint32_t index,
                     const char *pci, ProtoGpuCc cc, uint8_t ret[32]);

/* The most bytes of event log an Evidence carries: real CCEL log areas are 64 KiB, and the
 * frame (PROTO_FRAME_MAX) must still hold the base64 of it with everything else. */
#define PROTO_EVENTLOG_MAX (256u * 1024u)
#define PROTO_WORKLOADS_MAX 64u
#define PROTO_WORKLOAD_DIGEST_SIZE 48u

/* SEV-SNP has no runtime measurement register (without an SVSM vTPM): the agent binds the
 * workload digests it measured into REPORT_DATA instead, on top of the usual binding:
 *   REPORT_DATA = SHA-512("cvmd-workload-v1" || base || SHA-384(digest 1 || ... || digest n))
 * where base = proto_report_data(nonce, pubkey). With no workloads REPORT_DATA is base. */
void proto_report_data_workloads(const uint8_t base[64], const uint8_t *digests, size_t n, uint8_t ret[64]);

/* The launch digest cvmd binds into SEV-SNP HOST_DATA (its first 32 bytes) and TDX MRCONFIGID
 * (all 48), which only the hypervisor sets, before the guest runs:
 *   launch digest = SHA-384("cvmd-launch-v2" || spec digest || releaser public key)
 * The guest recomputes it from a challenge's spec_digest and releaser_key and compares it with
 * its own report: a releaser whose key was not bound at launch is refused. */
void proto_launch_digest(const uint8_t spec_digest[PROTO_SPEC_DIGEST_SIZE],
                         const uint8_t releaser_key[PROTO_RELEASER_KEY_SIZE], uint8_t ret[PROTO_LAUNCH_DIGEST_SIZE]);

/* The info string of the key release's HPKE context, both ends. */
#define PROTO_KEY_RELEASE_INFO "cvmd key release v1"
