/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A stateless verification request (cvmd's VerifyEvidence, see cvmd(8)): evidence exactly as a
 * guest sends it on the guest channel, and the values it must be bound to.
 *
 *   {"evidence": {"type": "evidence", "tee": "sev-snp", "report": "<base64>", ...},
 *    "nonce": "<64 hex digits>", "launch_digest": "<96 hex digits>", "at": 1767225600}
 *
 * evidence: the Evidence message (docs/guest-protocol.md), decoded as strictly as on the channel.
 * nonce: required: the challenge nonce; REPORT_DATA and each GPU's nonce must be bound to it and
 *      the evidence's public key exactly as in an exchange.
 * launch_digest: optional: what HOST_DATA (its first 32 bytes) / MRCONFIGID must hold.
 * at: optional: the verification time (Unix seconds); absent: now.
 * Untrusted input: strict JSON (no duplicate or unknown keys), at most EVIDENCE_REQUEST_MAX bytes;
 * reasons name the JSON path. */

#include <stdbool.h>
#include <stdint.h>

#include "cvm/exchange.h"
#include "cvm/guest-proto.h"

/* A frame's JSON and a little more for the other members. */
#define EVIDENCE_REQUEST_MAX (PROTO_FRAME_MAX + 4096u)

typedef struct EvidenceRequest {
        ProtoMsg msg;             /* the Evidence message */
        ExchangeEvidence binding; /* .msg points at msg: what REPORT_DATA and the GPU nonces must be */
        bool has_launch_digest;
        uint8_t launch_digest[PROTO_LAUNCH_DIGEST_SIZE];
        int64_t at; /* 0: now */
} EvidenceRequest;

/* -EINVAL with a reason naming the member, -EFBIG over EVIDENCE_REQUEST_MAX, -ENOMEM. On success
 * the request must be released with evidence_request_done(); it must not move (binding.msg). */
int evidence_request_parse(const char *json, size_t size, EvidenceRequest *ret, char **ret_reason);
void evidence_request_done(EvidenceRequest *r);
