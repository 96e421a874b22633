/* SPDX-License-Identifier: Apache-2.0 */
/* The host side of the attestation exchange (include/cvm/exchange.h). Fail closed: the only
 * path that sends key material is the one where every step before it succeeded. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/exchange.h"
#include "cvm/hpke.h"
#include "cvm/token.h"
#include "cvm/util.h"

#define KEY_RELEASE_INFO "cvmd key release v1"

void exchange_result_done(ExchangeResult *r) {
        verdict_done(&r->verdict);
        free(r->error);
        free(r->token);
        *r = (ExchangeResult) {};
}

static int fail(ExchangeResult *res, const char *fmt, ...) _printf_(2, 3);
static int fail(ExchangeResult *res, const char *fmt, ...) {
        va_list ap;

        free(res->error);
        va_start(ap, fmt);
        res->error = strdup_vprintf(fmt, ap);
        va_end(ap);
        return res->error ? 0 : -ENOMEM;
}

/* Tells the guest the exchange is over; best effort, the channel is closed anyway. */
static void send_error(int fd, const char *reason, uint64_t timeout_usec) {
        ProtoMsg m = { .type = PROTO_ERROR, .reason = (char *) reason };

        (void) proto_send(fd, &m, proto_now_usec() + timeout_usec);
}

/* Receives the next message and checks it against the state table. */
static int recv_expected(int fd, ProtoState *st, uint64_t timeout_usec, ProtoMsg *ret, ExchangeResult *res) {
        _cleanup_free_ char *reason = NULL;
        ProtoMsg m = {};
        int r;

        r = proto_recv(fd, proto_now_usec() + timeout_usec, &m, &reason);
        if (r < 0)
                return fail(res, "channel: %s", reason ? reason : strerror(-r)) < 0 ? -ENOMEM : r;
        r = proto_state_receive(st, m.type, &reason);
        if (r == -ECONNABORTED)
                r = fail(res, "guest reported an error: %s", m.reason ? m.reason : "(none)") < 0 ? -ENOMEM : -ECONNABORTED;
        else if (r < 0)
                r = fail(res, "channel: %s", reason) < 0 ? -ENOMEM : r;
        if (r < 0) {
                proto_msg_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

static json_object *token_claims(const ExchangeHost *h, const uint8_t nonce[32], const Verdict *v) {
        _cleanup_free_ char *n = hex_encode(nonce, 32), *u = hex_encode(h->vm_uuid, 16);
        json_object *c = json_object_new_object();
        int64_t now = (int64_t) time(NULL);

        if (!c || !n || !u) {
                json_object_put(c);
                return NULL;
        }
        json_object_object_add(c, "iss", json_object_new_string("cvmd"));
        json_object_object_add(c, "iat", json_object_new_int64(now));
        json_object_object_add(c, "exp", json_object_new_int64(now + 300));
        json_object_object_add(c, "tee", json_object_new_string(h->tee));
        json_object_object_add(c, "accepted", json_object_new_boolean(v->accepted));
        json_object_object_add(c, "nonce", json_object_new_string(n));
        json_object_object_add(c, "vm_uuid", json_object_new_string(u));
        json_object_object_add(c, "gpus", json_object_new_int64(h->gpus));
        json_object_object_add(c, "claims", json_object_get(v->claims));
        return c;
}

/* Seals the bundle to the guest's key and sends KeyRelease; writes the expected confirmation. */
static int release(const ExchangeHost *h, int fd, const ProtoMsg *ev, const uint8_t nonce[32], Secret *bundle,
                   ExchangeResult *res, uint8_t ret_confirm[HPKE_CONFIRM_SIZE]) {
        _cleanup_(hpke_context_freep) HpkeContext *ctx = NULL;
        _cleanup_(json_object_putp) json_object *claims = NULL;
        ProtoMsg kr = { .type = PROTO_KEY_RELEASE };
        uint8_t enc[HPKE_ENC_SIZE], aad[32 + 16];
        uint8_t *ct = NULL;
        size_t ct_size;
        int r;

        memcpy(aad, nonce, 32);
        memcpy(aad + 32, h->vm_uuid, 16);
        r = hpke_setup_sender(HPKE_SUITE_DEFAULT, ev->pubkey, sizeof(ev->pubkey),
                              (const uint8_t *) KEY_RELEASE_INFO, strlen(KEY_RELEASE_INFO), enc, &ctx);
        if (r < 0)
                return fail(res, "cannot seal to the guest's key: %s", strerror(-r));
        r = hpke_seal(ctx, aad, sizeof(aad), secret_data(bundle), secret_size(bundle), &ct, &ct_size);
        if (r < 0)
                return fail(res, "sealing the key bundle failed: %s", strerror(-r));
        r = hpke_key_confirmation(ctx, ret_confirm);
        if (r < 0) {
                free(ct);
                return fail(res, "deriving the key confirmation failed: %s", strerror(-r));
        }
        claims = token_claims(h, nonce, &res->verdict);
        if (!claims || token_sign(h->token_key, h->token_kid, claims, &res->token) < 0) {
                free(ct);
                return fail(res, "cannot sign the result token");
        }
        kr.enc = (ProtoBlob) { .data = enc, .size = sizeof(enc) };
        kr.ciphertext = (ProtoBlob) { .data = ct, .size = ct_size };
        kr.token = res->token;
        r = proto_send(fd, &kr, proto_now_usec() + h->timeout_usec);
        free(ct);
        if (r < 0)
                return fail(res, "sending KeyRelease failed: %s", strerror(-r));
        res->released = true;
        return 0;
}

static int run(const ExchangeHost *h, int fd, ExchangeResult *res) {
        _cleanup_(secret_freep) Secret *bundle = NULL;
        ProtoState st = proto_state_init(PROTO_ROLE_HOST);
        ProtoMsg hello = {}, ev = {}, ack = {}, chal = { .type = PROTO_CHALLENGE, .gpus = h->gpus };
        ExchangeEvidence e = { .gpus_requested = h->gpus };
        uint8_t nonce[PROTO_NONCE_SIZE], confirm[HPKE_CONFIRM_SIZE];
        _cleanup_free_ char *reason = NULL;
        int r;

        r = recv_expected(fd, &st, h->timeout_usec, &hello, res);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        if (hello.version != PROTO_VERSION) {
                uint32_t v = hello.version;
                proto_msg_done(&hello);
                send_error(fd, "unsupported protocol version", h->timeout_usec);
                return fail(res, "guest speaks protocol version %u, the host %u", v, PROTO_VERSION);
        }
        proto_msg_done(&hello);

        r = nonce_issue(h->nonces, proto_now_usec(), h->nonce_ttl_usec, nonce);
        if (r < 0)
                return fail(res, "cannot issue a nonce: %s", strerror(-r));
        memcpy(chal.nonce, nonce, sizeof(nonce));
        memcpy(chal.vm_uuid, h->vm_uuid, 16);
        snprintf(chal.tee, sizeof(chal.tee), "%s", h->tee);
        r = proto_send(fd, &chal, proto_now_usec() + h->timeout_usec);
        if (r < 0)
                return fail(res, "sending the challenge failed: %s", strerror(-r));

        r = recv_expected(fd, &st, h->timeout_usec, &ev, res);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        /* The nonce is single use whatever happens next; late evidence is refused. */
        r = nonce_consume(h->nonces, nonce, proto_now_usec());
        if (r < 0) {
                proto_msg_done(&ev);
                send_error(fd, "challenge expired", h->timeout_usec);
                return fail(res, "the challenge nonce %s before the evidence arrived",
                            r == -ESTALE ? "expired" : "was already used");
        }
        if (!streq(ev.tee, h->tee)) {
                r = fail(res, "guest sent %s evidence, %s was asked for", ev.tee, h->tee);
                goto refuse;
        }
        if (ev.n_gpus != h->gpus) {
                r = fail(res, "guest sent %zu GPU reports, %u were asked for", ev.n_gpus, h->gpus);
                goto refuse;
        }

        e.msg = &ev;
        proto_report_data(nonce, ev.pubkey, e.report_data);
        for (uint32_t i = 0; i < h->gpus; i++)
                proto_gpu_nonce(nonce, ev.pubkey, i, e.gpu_nonces[i]);
        r = h->appraise(h->userdata, &e, &res->verdict);
        if (r < 0) {
                r = fail(res, "appraisal failed: %s", strerror(-r));
                goto refuse;
        }
        if (!res->verdict.accepted || res->verdict.oom) {
                r = fail(res, "evidence refused: %s",
                         res->verdict.n_reasons > 0 ? res->verdict.reasons[0] : "not accepted");
                goto refuse;
        }

        /* Accepted: only now are the data keys unwrapped. */
        r = h->unwrap_keys(h->userdata, &bundle, &reason);
        if (r < 0) {
                r = fail(res, "cannot unwrap the data keys: %s", reason ? reason : strerror(-r));
                goto refuse;
        }
        r = release(h, fd, &ev, nonce, bundle, res, confirm);
        proto_msg_done(&ev);
        if (r < 0 || !res->released)
                return r;

        r = recv_expected(fd, &st, h->timeout_usec, &ack, res);
        if (r < 0) {
                _cleanup_free_ char *why = TAKE_PTR(res->error);
                return r == -ENOMEM ? r : fail(res, "keys sent but not confirmed: %s", why ? why : "no Ack");
        }
        res->confirmed = CRYPTO_memcmp(ack.confirmation, confirm, sizeof(confirm)) == 0;
        proto_msg_done(&ack);
        explicit_bzero(confirm, sizeof(confirm));
        if (!res->confirmed)
                return fail(res, "the guest's key confirmation does not match: it did not open the keys");
        return 0;

refuse:
        proto_msg_done(&ev);
        send_error(fd, "attestation refused", h->timeout_usec);
        return r;
}

int exchange_host_run(const ExchangeHost *h, int fd, ExchangeResult *ret) {
        ExchangeResult res = {};
        int r;

        r = verdict_init(&res.verdict, streq(h->tee, "tdx") ? "tdx" : "sev-snp");
        if (r < 0)
                return r;
        r = run(h, fd, &res);
        if (r == -ENOMEM) {
                exchange_result_done(&res);
                return r;
        }
        *ret = res;
        return 0;
}
