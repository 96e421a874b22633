/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's side of one exchange: Hello, Challenge, Evidence, KeyRelease, Ack. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cvm/exchange.h"
#include "cvm/hpke.h"
#include "cvm/util.h"

#define KEY_RELEASE_INFO "cvmd key release v1" /* as the host uses */

int evidence_get(const AgentConfig *c, CvmTee tee, const uint8_t report_data[64], ProtoBlob *ret_report,
                 ProtoBlob *ret_cert_table, char **ret_reason) {
        _cleanup_free_ char *tsm_reason = NULL;
        int r;

        switch (c->source) {
        case EVIDENCE_SIM_SNP:
                if (tee != CVM_TEE_SEV_SNP)
                        return set_reason(ret_reason, -EOPNOTSUPP, "the simulator here makes SEV-SNP evidence, %s was asked for",
                                          cvm_tee_to_string(tee));
                return evidence_sim_snp(c->sim_dir, c->sim_host_data, report_data, ret_report, ret_cert_table,
                                        ret_reason);
        case EVIDENCE_SIM_TDX:
                if (tee != CVM_TEE_TDX)
                        return set_reason(ret_reason, -EOPNOTSUPP, "the simulator here makes TDX evidence, %s was asked for",
                                          cvm_tee_to_string(tee));
                return evidence_sim_tdx(c->sim_dir, c->sim_mrconfigid, report_data, ret_report, ret_reason);
        case EVIDENCE_TSM:
                return evidence_tsm(c->tsm_dir, tee, report_data, ret_report, ret_cert_table, ret_reason);
        case EVIDENCE_SEV_GUEST:
                return evidence_sev_guest(report_data, ret_report, ret_cert_table, ret_reason);
        case EVIDENCE_AUTO:
                r = evidence_tsm(c->tsm_dir, tee, report_data, ret_report, ret_cert_table, &tsm_reason);
                if (r >= 0 || tee != CVM_TEE_SEV_SNP || (r != -ENOENT && r != -ENXIO))
                        return r < 0 ? set_reason(ret_reason, r, "%s", tsm_reason) : r;
                r = evidence_sev_guest(report_data, ret_report, ret_cert_table, ret_reason);
                if (r < 0 && ret_reason && *ret_reason) {
                        char *both = strdup_printf("%s; %s", tsm_reason, *ret_reason);
                        free(*ret_reason);
                        *ret_reason = both;
                }
                return r;
        }
        return -EINVAL;
}

int agent_build_evidence(const AgentConfig *c, const ProtoMsg *challenge, Secret **ret_sk, ProtoMsg *ret_evidence,
                         char **ret_reason) {
        _cleanup_(secret_freep) Secret *sk = NULL;
        ProtoMsg ev = { .type = PROTO_EVIDENCE };
        uint8_t report_data[64], nonces[PROTO_GPUS_MAX][32];
        int r;

        if (c->has_vm_uuid && memcmp(c->vm_uuid, challenge->vm_uuid, 16) != 0)
                return set_reason(ret_reason, -EPERM, "the challenge is for another VM");
        /* A fresh key pair per exchange: the host seals the keys to this one. */
        r = hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &sk, ev.pubkey);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot make a key pair: %s", strerror(-r));
        proto_report_data(challenge->nonce, ev.pubkey, report_data);
        ev.tee = challenge->tee;
        r = evidence_get(c, challenge->tee, report_data, &ev.report, &ev.cert_table, ret_reason);
        if (r < 0)
                goto fail;
        for (uint32_t i = 0; i < challenge->gpus; i++)
                proto_gpu_nonce(challenge->nonce, ev.pubkey, i, nonces[i]);
        if (c->sim_gpu_dir)
                r = evidence_sim_gpus(c->sim_gpu_dir, challenge->gpus, (const uint8_t (*)[32]) nonces, ev.gpu_reports,
                                      ev.gpu_chains, ret_reason);
        else
                r = gpu_evidence_get(challenge->gpus, (const uint8_t (*)[32]) nonces, ev.gpu_reports, ev.gpu_chains,
                                     ret_reason);
        if (r < 0)
                goto fail;
        ev.n_gpus = challenge->gpus;
        *ret_sk = TAKE_PTR(sk);
        *ret_evidence = ev;
        return 0;
fail:
        proto_msg_done(&ev);
        return r;
}

int agent_open_release(const ProtoMsg *challenge, const Secret *sk, const ProtoMsg *release, Secret **ret_bundle,
                       uint8_t ret_confirm[32], char **ret_reason) {
        _cleanup_(hpke_context_freep) HpkeContext *ctx = NULL;
        _cleanup_(secret_freep) Secret *bundle = NULL;
        uint8_t aad[32 + 16];
        int r;

        memcpy(aad, challenge->nonce, 32);
        memcpy(aad + 32, challenge->vm_uuid, 16);
        r = hpke_setup_receiver(HPKE_SUITE_DEFAULT, release->enc.data, release->enc.size, sk,
                                (const uint8_t *) KEY_RELEASE_INFO, strlen(KEY_RELEASE_INFO), &ctx);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot set up HPKE: %s", strerror(-r));
        r = hpke_open(ctx, aad, sizeof(aad), release->ciphertext.data, release->ciphertext.size, &bundle);
        if (r < 0)
                return set_reason(ret_reason, r, "the key release does not open with this exchange's key");
        r = hpke_key_confirmation(ctx, ret_confirm);
        if (r < 0)
                return set_reason(ret_reason, r, "key confirmation: %s", strerror(-r));
        *ret_bundle = TAKE_PTR(bundle);
        return 0;
}

static int recv_step(int fd, ProtoState *st, const AgentConfig *c, ProtoMsg *ret, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        ProtoMsg m = {};
        int r;

        r = proto_recv(fd, proto_now_usec() + c->timeout_usec, &m, &why);
        if (r < 0)
                return set_reason(ret_reason, r, "channel: %s", why ? why : strerror(-r));
        r = proto_state_receive(st, m.type, &why);
        if (r < 0) {
                r = set_reason(ret_reason, r, "%s%s", r == -ECONNABORTED ? "host refused: " : "",
                               r == -ECONNABORTED && m.reason ? m.reason : why);
                proto_msg_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int agent_session_run(const AgentConfig *c, int fd, char **ret_reason) {
        _cleanup_(secret_freep) Secret *sk = NULL, *bundle = NULL;
        ProtoState st = proto_state_init(PROTO_ROLE_AGENT);
        ProtoMsg hello = { .type = PROTO_HELLO, .version = PROTO_VERSION }, chal = {}, ev = {}, rel = {};
        ProtoMsg ack = { .type = PROTO_ACK };
        _cleanup_free_ char *why = NULL;
        uint32_t gpus;
        int r;

        r = proto_send(fd, &hello, proto_now_usec() + c->timeout_usec);
        if (r < 0)
                return set_reason(ret_reason, r, "sending Hello: %s", strerror(-r));
        r = recv_step(fd, &st, c, &chal, ret_reason);
        if (r < 0)
                return r;
        r = agent_build_evidence(c, &chal, &sk, &ev, &why);
        if (r < 0) {
                ProtoMsg err = { .type = PROTO_ERROR, .reason = why };
                (void) proto_send(fd, &err, proto_now_usec() + c->timeout_usec);
                proto_msg_done(&chal);
                return set_reason(ret_reason, r, "%s", why ? why : strerror(-r));
        }
        r = proto_send(fd, &ev, proto_now_usec() + c->timeout_usec);
        proto_msg_done(&ev);
        if (r < 0) {
                proto_msg_done(&chal);
                return set_reason(ret_reason, r, "sending Evidence: %s", strerror(-r));
        }
        r = recv_step(fd, &st, c, &rel, ret_reason);
        if (r < 0) {
                proto_msg_done(&chal);
                return r;
        }
        gpus = chal.gpus;
        r = agent_open_release(&chal, sk, &rel, &bundle, ack.confirmation, ret_reason);
        proto_msg_done(&chal);
        proto_msg_done(&rel);
        if (r < 0)
                return r;
        r = proto_send(fd, &ack, proto_now_usec() + c->timeout_usec);
        explicit_bzero(ack.confirmation, sizeof(ack.confirmation));
        if (r < 0)
                return set_reason(ret_reason, r, "sending Ack: %s", strerror(-r));
        /* Keys first, then the GPUs may take work: never the other way round. */
        r = keys_install(c, bundle, ret_reason);
        if (r < 0)
                return r;
        if (gpus > 0 && !c->sim_gpu_dir) {
                r = gpu_set_ready(ret_reason);
                if (r < 0)
                        return r;
        }
        return (int) gpus;
}
