/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's side of one exchange: Hello, Challenge, Evidence, KeyRelease, Ack. The agent
 * trusts only the host that launched it: before any evidence leaves, it checks that the
 * challenge's releaser key and spec digest are the ones bound into the launch digest that its
 * own hardware report carries (HOST_DATA / MRCONFIGID, which only the hypervisor sets), and it
 * opens the key release only as sealed by that releaser (HPKE auth mode). It acknowledges only
 * once every key is installed. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cvm/exchange.h"
#include "cvm/hpke.h"
#include "cvm/snp.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

/* The simulated hypervisor's launch digest from c->sim_launch_digest_file, waiting for it to be
 * written (a sandbox learns it from cvmd once the VM is planned); else the fixed values. */
static int sim_launch_values(const AgentConfig *c, uint8_t host_data[32], uint8_t mrconfigid[48], char **ret_reason) {
        uint64_t deadline = proto_now_usec() + c->timeout_usec;

        memcpy(host_data, c->sim_host_data, 32);
        memcpy(mrconfigid, c->sim_mrconfigid, 48);
        if (!c->sim_launch_digest_file)
                return 0;
        for (;;) {
                _cleanup_free_ uint8_t *data = NULL;
                uint8_t digest[48];
                size_t size;
                char hex[97];

                if (read_file_bounded(c->sim_launch_digest_file, 256, &data, &size) >= 0 && size >= 96) {
                        memcpy(hex, data, 96);
                        hex[96] = '\0';
                        if (hex_decode_exact(hex, digest, sizeof(digest)) < 0)
                                return set_reason(ret_reason, -EINVAL, "%s: not a launch digest (96 hex digits)",
                                                  c->sim_launch_digest_file);
                        memcpy(host_data, digest, 32);
                        memcpy(mrconfigid, digest, 48);
                        return 0;
                }
                if (proto_now_usec() >= deadline)
                        return set_reason(ret_reason, -ETIMEDOUT, "%s: the simulated hypervisor set no launch digest",
                                          c->sim_launch_digest_file);
                (void) usleep(50000);
        }
}

int evidence_get(const AgentConfig *c, CvmTee tee, const uint8_t report_data[64], const uint8_t (*sim_rtmr)[48],
                 ProtoBlob *ret_report, ProtoBlob *ret_cert_table, char **ret_reason) {
        _cleanup_free_ char *tsm_reason = NULL;
        uint8_t host_data[32], mrconfigid[48];
        int r;

        switch (c->source) {
        case EVIDENCE_SIM_SNP:
                if (tee != CVM_TEE_SEV_SNP)
                        return set_reason(ret_reason, -EOPNOTSUPP, "the simulator here makes SEV-SNP evidence, %s was asked for",
                                          cvm_tee_to_string(tee));
                if ((r = sim_launch_values(c, host_data, mrconfigid, ret_reason)) < 0)
                        return r;
                return evidence_sim_snp(c->sim_dir, host_data, report_data, ret_report, ret_cert_table, ret_reason);
        case EVIDENCE_SIM_TDX:
                if (tee != CVM_TEE_TDX)
                        return set_reason(ret_reason, -EOPNOTSUPP, "the simulator here makes TDX evidence, %s was asked for",
                                          cvm_tee_to_string(tee));
                if ((r = sim_launch_values(c, host_data, mrconfigid, ret_reason)) < 0)
                        return r;
                return evidence_sim_tdx(c->sim_dir, mrconfigid, sim_rtmr, report_data, ret_report, ret_reason);
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

int agent_check_releaser(const ProtoMsg *challenge, const ProtoMsg *evidence, char **ret_reason) {
        uint8_t bound[PROTO_LAUNCH_DIGEST_SIZE];
        _cleanup_free_ char *why = NULL;

        /* the field is read from the report the hardware just made, with the verifiers' own
         * bounded parsers: the host's word is never taken for it */
        if (evidence->tee == CVM_TEE_SEV_SNP) {
                SnpReport rep;
                if (snp_report_parse(evidence->report.data, evidence->report.size, &rep, &why) < 0)
                        return set_reason(ret_reason, -EBADMSG, "cannot read HOST_DATA from this guest's own report: %s",
                                          why ? why : "malformed");
                proto_launch_digest(challenge->spec_digest, challenge->releaser_key, bound);
                return CRYPTO_memcmp(rep.host_data, bound, PROTO_SNP_HOST_DATA_SIZE) == 0
                               ? 0
                               : set_reason(ret_reason, -EACCES,
                                            "releaser not bound at launch: HOST_DATA is not the launch digest of "
                                            "this spec digest and releaser key");
        }
        if (evidence->tee == CVM_TEE_TDX) {
                TdxQuote q;
                if (tdx_quote_parse(evidence->report.data, evidence->report.size, &q, &why) < 0)
                        return set_reason(ret_reason, -EBADMSG, "cannot read MRCONFIGID from this guest's own quote: %s",
                                          why ? why : "malformed");
                proto_launch_digest(challenge->spec_digest, challenge->releaser_key, bound);
                return CRYPTO_memcmp(q.mrconfigid, bound, sizeof(q.mrconfigid)) == 0
                               ? 0
                               : set_reason(ret_reason, -EACCES,
                                            "releaser not bound at launch: MRCONFIGID is not the launch digest of "
                                            "this spec digest and releaser key");
        }
        return set_reason(ret_reason, -EOPNOTSUPP, "no launch binding for %s evidence", cvm_tee_to_string(evidence->tee));
}

int agent_build_evidence(const AgentConfig *c, const ProtoMsg *challenge, Secret **ret_sk, ProtoMsg *ret_evidence,
                         char **ret_reason) {
        _cleanup_(secret_freep) Secret *sk = NULL;
        ProtoMsg ev = { .type = PROTO_EVIDENCE };
        uint8_t report_data[64];
        int r;

        if (c->has_vm_uuid && memcmp(c->vm_uuid, challenge->vm_uuid, 16) != 0)
                return set_reason(ret_reason, -EPERM, "the challenge is for another VM");
        /* A fresh key pair per exchange: the host seals the keys to this one. */
        r = hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &sk, ev.pubkey);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot make a key pair: %s", strerror(-r));
        proto_report_data(challenge->nonce, ev.pubkey, report_data);
        ev.tee = challenge->tee;
        /* with the event log (TDX) or the workload digests (SEV-SNP) that go with the report */
        r = evidence_get_measured(c, challenge->tee, report_data, &ev, ret_reason);
        if (r < 0)
                goto fail;
        /* before anything else is collected or sent: is the host the one we were launched for? */
        r = agent_check_releaser(challenge, &ev, ret_reason);
        if (r < 0)
                goto fail;
        /* each GPU's nonce binds its PCI address and CC mode: the sources read those first */
        if (c->sim_gpu_dir)
                r = evidence_sim_gpus(c->sim_gpu_dir, challenge->gpus, challenge->nonce, &ev, ret_reason);
        else
                r = gpu_evidence_get(challenge->gpus, challenge->nonce, &ev, ret_reason);
        if (r < 0)
                goto fail;
        ev.n_gpus = challenge->gpus;
        /* NVSwitches passed through with the GPUs (protected PCIe): their own evidence */
        if (c->sim_gpu_dir)
                r = evidence_sim_switches(c->sim_gpu_dir, challenge->switches, challenge->nonce, &ev, ret_reason);
        else
                r = switch_evidence_get(challenge->switches, ret_reason);
        if (r < 0)
                goto fail;
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
        /* auth mode with the releaser key the challenge named and agent_check_releaser() found
         * bound at launch: a release sealed by anyone else does not open */
        r = hpke_setup_auth_receiver(HPKE_SUITE_DEFAULT, release->enc.data, release->enc.size, sk,
                                     (const uint8_t *) PROTO_KEY_RELEASE_INFO, strlen(PROTO_KEY_RELEASE_INFO),
                                     challenge->releaser_key, sizeof(challenge->releaser_key), &ctx);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot set up HPKE: %s", strerror(-r));
        r = hpke_open(ctx, aad, sizeof(aad), release->ciphertext.data, release->ciphertext.size, &bundle);
        if (r < 0)
                return set_reason(ret_reason, r,
                                  "the key release does not open with this exchange's key from the bound releaser");
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

/* Tells the host why the exchange ends here; best effort. */
static void send_error(const AgentConfig *c, int fd, const char *reason) {
        ProtoMsg err = { .type = PROTO_ERROR, .reason = (char *) reason };

        (void) proto_send(fd, &err, proto_now_usec() + c->timeout_usec);
}

int agent_session_serve(const AgentConfig *c, int fd, bool *ret_concluded, char **ret_reason) {
        _cleanup_(secret_freep) Secret *sk = NULL, *bundle = NULL;
        ProtoState st = proto_state_init(PROTO_ROLE_AGENT);
        ProtoMsg hello = { .type = PROTO_HELLO, .version = PROTO_VERSION }, chal = {}, ev = {}, rel = {};
        ProtoMsg ack = { .type = PROTO_ACK };
        _cleanup_free_ char *why = NULL;
        const char *what = NULL;
        uint32_t gpus;
        int r;

        *ret_concluded = false;
        r = proto_send(fd, &hello, proto_now_usec() + c->timeout_usec);
        if (r < 0)
                return set_reason(ret_reason, r, "sending Hello: %s", strerror(-r));
        r = recv_step(fd, &st, c, &chal, ret_reason);
        if (r < 0)
                return r;
        r = agent_build_evidence(c, &chal, &sk, &ev, &why);
        if (r < 0) {
                send_error(c, fd, why ? why : strerror(-r));
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
        /* the bound releaser decided: keys, or a refusal (an Error); a broken or silent channel
         * is no decision, and the host tries again */
        *ret_concluded = r >= 0 || r == -ECONNABORTED;
        if (r < 0) {
                proto_msg_done(&chal);
                return r;
        }
        gpus = chal.gpus;
        r = agent_open_release(&chal, sk, &rel, &bundle, ack.confirmation, ret_reason);
        proto_msg_done(&chal);
        proto_msg_done(&rel);
        if (r < 0) {
                send_error(c, fd, ret_reason && *ret_reason ? *ret_reason : "the key release does not open");
                return r;
        }
        /* Confirmed means installed: the keys first, then the GPUs may take work, and only then
         * the Ack. A failure is told to the host as it is. */
        r = keys_install(c, bundle, &why);
        if (r < 0)
                what = "key installation failed";
        else if (gpus > 0 && !c->sim_gpu_dir && (r = gpu_set_ready(&why)) < 0)
                what = "keys installed, but the GPUs could not be set ready";
        if (r < 0) {
                _cleanup_free_ char *msg = strdup_printf("%s: %s", what, why ? why : strerror(-r));
                explicit_bzero(ack.confirmation, sizeof(ack.confirmation));
                send_error(c, fd, msg ? msg : what);
                return set_reason(ret_reason, r, "%s: %s", what, why ? why : strerror(-r));
        }
        r = proto_send(fd, &ack, proto_now_usec() + c->timeout_usec);
        explicit_bzero(ack.confirmation, sizeof(ack.confirmation));
        if (r < 0)
                return set_reason(ret_reason, r, "keys installed, but sending Ack failed: %s", strerror(-r));
        return (int) gpus;
}

int agent_session_run(const AgentConfig *c, int fd, char **ret_reason) {
        bool concluded;

        return agent_session_serve(c, fd, &concluded, ret_reason);
}
