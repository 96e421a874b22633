/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing a stateless verification request (include/cvm/evidence-request.h). The evidence is
 * decoded by the guest channel's own decoder, so a request is held to exactly the rules a guest
 * is held to. */
#include <errno.h>
#include <string.h>

#include "cvm/evidence-request.h"
#include "cvm/json-read.h"
#include "cvm/json-strict.h"
#include "cvm/util.h"

/* request members, then the Evidence message's own levels */
#define EVIDENCE_REQUEST_DEPTH 8u
/* 2026-01-01 .. 2100-01-01: a time a verification can mean */
#define AT_MIN 1767225600u
#define AT_MAX 4102444800u

void evidence_request_done(EvidenceRequest *r) {
        proto_msg_done(&r->msg);
        *r = (EvidenceRequest) {};
}

static int parse_members(json_object *o, EvidenceRequest *r, char **ret_reason) {
        uint8_t nonce[PROTO_NONCE_SIZE];
        bool has_nonce = false;
        _cleanup_free_ char *why = NULL;
        int k;

        json_object_object_foreach(o, key, v) {
                if (streq(key, "evidence")) {
                        if (!json_object_is_type(v, json_type_object))
                                return json_error(ret_reason, "evidence", "expected an object, got %s",
                                                  json_type_name(v));
                        k = proto_msg_from_json(v, &r->msg, &why);
                        if (k < 0)
                                return set_reason(ret_reason, k == -ENOMEM ? k : -EINVAL, "evidence: %s",
                                                  why ? why : "invalid");
                        if (r->msg.type != PROTO_EVIDENCE)
                                return json_error(ret_reason, "evidence.type", "expected \"evidence\", got \"%s\"",
                                                  proto_msg_type_to_string(r->msg.type));
                } else if (streq(key, "nonce")) {
                        k = json_read_hex(v, "nonce", nonce, sizeof(nonce), ret_reason);
                        if (k < 0)
                                return k;
                        has_nonce = true;
                } else if (streq(key, "launch_digest")) {
                        k = json_read_hex(v, "launch_digest", r->launch_digest, sizeof(r->launch_digest), ret_reason);
                        if (k < 0)
                                return k;
                        r->has_launch_digest = true;
                } else if (streq(key, "at")) {
                        uint64_t at;
                        k = json_read_uint(v, "at", AT_MIN, AT_MAX, &at, ret_reason);
                        if (k < 0)
                                return k;
                        r->at = (int64_t) at;
                } else {
                        _cleanup_free_ char *name = json_escape(key, strlen(key));
                        return json_error(ret_reason, NULL, "%s: unknown key", name ? name : "?");
                }
        }
        if (r->msg.type != PROTO_EVIDENCE)
                return json_error(ret_reason, "evidence", "missing (required)");
        if (!has_nonce)
                return json_error(ret_reason, "nonce", "missing (required)");
        /* the bindings, exactly as the exchange computes them for the nonce it issued */
        r->binding.msg = &r->msg;
        r->binding.gpus_requested = (uint32_t) r->msg.n_gpus;
        proto_report_data(nonce, r->msg.pubkey, r->binding.report_data);
        for (size_t i = 0; i < r->msg.n_gpus && i < PROTO_GPUS_MAX; i++)
                proto_gpu_nonce(nonce, r->msg.pubkey, (uint32_t) i, r->msg.gpu_pci[i], r->msg.gpu_cc[i],
                                r->binding.gpu_nonces[i]);
        r->binding.switches_requested = (uint32_t) r->msg.n_switches;
        for (size_t i = 0; i < r->msg.n_switches && i < PROTO_SWITCHES_MAX; i++)
                proto_switch_nonce(nonce, r->msg.pubkey, (uint32_t) i, r->binding.switch_nonces[i]);
        return 0;
}

int evidence_request_parse(const char *json, size_t size, EvidenceRequest *ret, char **ret_reason) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        EvidenceRequest r = {};
        int k;

        k = json_parse_strict(json, size, EVIDENCE_REQUEST_MAX, EVIDENCE_REQUEST_DEPTH, "evidence request", &o,
                              ret_reason);
        if (k < 0)
                return k;
        k = parse_members(o, &r, ret_reason);
        if (k < 0) {
                evidence_request_done(&r);
                return k;
        }
        *ret = r;
        ret->binding.msg = &ret->msg; /* the struct moved */
        return 0;
}
