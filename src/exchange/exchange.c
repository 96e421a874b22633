/* SPDX-License-Identifier: Apache-2.0 */
/* The host side of the attestation exchange (include/cvm/exchange.h), as a state machine that
 * does no I/O: the drivers in exchange-loop.c move its bytes. Fail closed: the only path that
 * sends key material is the one where every step before it succeeded. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/exchange.h"
#include "cvm/hpke.h"
#include "cvm/token.h"
#include "cvm/util.h"
#include "exchange-internal.h"

#ifndef CVM_VERSION
#define CVM_VERSION "0.1.0"
#endif

/* What the guest is told when the host fails it: bounded and free of control characters, since
 * the guest's decoder refuses anything else (and the whole message with it). */
#define GUEST_REASON_MAX 1024u

/* Where the exchange stands. Each phase but DONE either reads one message or sends one. */
typedef enum Phase {
        PHASE_HELLO,     /* reading the agent's Hello */
        PHASE_CHALLENGE, /* sending the Challenge */
        PHASE_EVIDENCE,  /* reading the Evidence */
        PHASE_APPRAISAL, /* the appraisal waits for collateral: the evidence is held, nothing is
                          * read or sent, no deadline but the fetch's own */
        PHASE_RELEASE,   /* sending KeyRelease */
        PHASE_ACK,       /* reading the Ack with the key confirmation */
        PHASE_ERROR,     /* the outcome is known; telling the guest, best effort */
        PHASE_DONE,
} Phase;

struct ExchangeHostSession {
        const ExchangeHost *h;
        Phase phase;
        ProtoState st;
        ExchangeResult res;
        bool oom;
        uint64_t deadline;
        uint8_t nonce[PROTO_NONCE_SIZE];
        uint8_t confirm[HPKE_CONFIRM_SIZE];
        ProtoMsg evidence; /* PHASE_APPRAISAL: the Evidence, appraised again on resume */

        /* the frame being read: its header, then the whole frame once the header is checked */
        uint8_t hdr[4];
        size_t hdr_got;
        uint8_t *frame;
        uint32_t frame_len;
        size_t body_got;

        /* the frame being sent */
        uint8_t *out;
        size_t out_size, out_done;

        void *driver;
        void (*driver_free)(void *data);
};

void exchange_result_done(ExchangeResult *r) {
        verdict_done(&r->verdict);
        free(r->error);
        free(r->token);
        *r = (ExchangeResult) {};
}

static size_t size_min(size_t a, size_t b) {
        return a < b ? a : b;
}

static bool phase_reads(Phase p) {
        return p == PHASE_HELLO || p == PHASE_EVIDENCE || p == PHASE_ACK;
}

static void set_error(ExchangeHostSession *s, const char *fmt, ...) _printf_(2, 3);
static void set_error(ExchangeHostSession *s, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) set_reasonv(&s->res.error, 0, fmt, ap);
        va_end(ap);
        if (!s->res.error)
                s->oom = true;
}

static void input_reset(ExchangeHostSession *s) {
        free(s->frame);
        s->frame = NULL;
        s->hdr_got = s->body_got = 0;
        s->frame_len = 0;
}

static void output_reset(ExchangeHostSession *s) {
        free(s->out);
        s->out = NULL;
        s->out_size = s->out_done = 0;
}

static void finish(ExchangeHostSession *s) {
        input_reset(s);
        output_reset(s);
        proto_msg_done(&s->evidence);
        explicit_bzero(s->confirm, sizeof(s->confirm));
        s->phase = PHASE_DONE;
        s->deadline = UINT64_MAX;
}

static void enter(ExchangeHostSession *s, Phase p) {
        s->phase = p;
        s->deadline = proto_now_usec() + s->h->timeout_usec;
}

/* Queues one message and enters the phase that sends it. */
static int send_msg(ExchangeHostSession *s, const ProtoMsg *m, Phase p) {
        int r;

        output_reset(s);
        r = proto_frame_encode(m, &s->out, &s->out_size);
        if (r < 0)
                return r;
        enter(s, p);
        return 0;
}

/* Tells the guest the exchange is over and why; best effort, the channel is closed anyway. */
static void refuse(ExchangeHostSession *s, const char *fmt, ...) _printf_(2, 3);
static void refuse(ExchangeHostSession *s, const char *fmt, ...) {
        _cleanup_free_ char *reason = NULL;
        ProtoMsg m = { .type = PROTO_ERROR };
        va_list ap;

        va_start(ap, fmt);
        reason = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!reason) {
                s->oom = true;
                return finish(s);
        }
        if (strlen(reason) > GUEST_REASON_MAX)
                reason[GUEST_REASON_MAX] = '\0';
        for (char *p = reason; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = ' ';
        m.reason = reason;
        if (send_msg(s, &m, PHASE_ERROR) < 0)
                finish(s);
}

/* Receiving failed: the exchange ends without a word to the guest. */
static void recv_failed(ExchangeHostSession *s, const char *fmt, ...) _printf_(2, 3);
static void recv_failed(ExchangeHostSession *s, const char *fmt, ...) {
        _cleanup_free_ char *why = NULL;
        va_list ap;

        va_start(ap, fmt);
        why = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!why)
                s->oom = true;
        else if (s->phase == PHASE_ACK)
                set_error(s, "keys sent but not confirmed: %s", why);
        else
                set_error(s, "%s", why);
        finish(s);
}

void exchange_host_channel_failed(ExchangeHostSession *s, int error) {
        switch (s->phase) {
        case PHASE_HELLO:
        case PHASE_EVIDENCE:
        case PHASE_ACK:
                if (s->frame)
                        recv_failed(s, "channel: reading a %u-byte frame: %s", s->frame_len, strerror(-error));
                else
                        recv_failed(s, "channel: reading a frame header: %s", strerror(-error));
                break;
        case PHASE_CHALLENGE:
                set_error(s, "sending the challenge failed: %s", strerror(-error));
                finish(s);
                break;
        case PHASE_RELEASE:
                set_error(s, "sending KeyRelease failed: %s", strerror(-error));
                finish(s);
                break;
        case PHASE_APPRAISAL:
                /* the driver cannot wait for the fetch, or gave up on the channel: no verdict */
                set_error(s, "the appraisal was waiting for collateral: %s", strerror(-error));
                finish(s);
                break;
        case PHASE_ERROR:
                finish(s);
                break;
        case PHASE_DONE:
                break;
        }
}

void exchange_host_eof(ExchangeHostSession *s) {
        exchange_host_channel_failed(s, -ECONNRESET);
}

void exchange_host_timeout(ExchangeHostSession *s, uint64_t now_usec) {
        if (s->phase != PHASE_DONE && now_usec >= s->deadline)
                exchange_host_channel_failed(s, -ETIMEDOUT);
}

static void on_hello(ExchangeHostSession *s, const ProtoMsg *hello) {
        const ExchangeHost *h = s->h;
        ProtoMsg chal = { .type = PROTO_CHALLENGE, .gpus = h->gpus, .switches = h->switches, .tee = h->tee };
        int r;

        if (hello->version != PROTO_VERSION) {
                set_error(s, "guest speaks protocol version %u, the host %u", hello->version, PROTO_VERSION);
                return refuse(s, "unsupported protocol version");
        }
        r = nonce_issue(h->nonces, proto_now_usec(), h->nonce_ttl_usec, s->nonce);
        if (r < 0) {
                set_error(s, "cannot issue a nonce: %s", strerror(-r));
                return finish(s);
        }
        memcpy(chal.nonce, s->nonce, sizeof(s->nonce));
        memcpy(chal.vm_uuid, h->vm_uuid, 16);
        if (h->spec_digest)
                memcpy(chal.spec_digest, h->spec_digest, sizeof(chal.spec_digest));
        memcpy(chal.releaser_key, h->releaser->pk, sizeof(chal.releaser_key));
        r = send_msg(s, &chal, PHASE_CHALLENGE);
        if (r < 0) {
                set_error(s, "sending the challenge failed: %s", strerror(-r));
                finish(s);
        }
}

/* The result token's claims, shaped after the EAT Attestation Results (EAR) draft: the
 * verifier, the appraisal status and policy, and the evidence's claims as verified. A token is
 * issued only for an accepted appraisal: its status is always "affirming". */
static json_object *token_claims(const ExchangeHost *h, const uint8_t nonce[32], const Verdict *v) {
        _cleanup_free_ char *n = hex_encode(nonce, 32), *u = hex_encode(h->vm_uuid, 16),
                            *d = h->launch_digest ? hex_encode(h->launch_digest, 48) : NULL;
        json_object *c = json_object_new_object(), *verifier = json_object_new_object();
        int64_t now = (int64_t) time(NULL);

        if (!c || !verifier || !n || !u || (h->launch_digest && !d)) {
                json_object_put(c);
                json_object_put(verifier);
                return NULL;
        }
        json_object_object_add(verifier, "developer", json_object_new_string("cvmd"));
        json_object_object_add(verifier, "build", json_object_new_string(CVM_VERSION));
        json_object_object_add(c, "eat_profile", json_object_new_string(TOKEN_EAT_PROFILE));
        json_object_object_add(c, "iss", json_object_new_string("cvmd"));
        json_object_object_add(c, "iat", json_object_new_int64(now));
        json_object_object_add(c, "exp", json_object_new_int64(now + (h->token_lifetime_sec > 0 ? h->token_lifetime_sec
                                                                                                : TOKEN_LIFETIME_DEFAULT)));
        json_object_object_add(c, "ear.verifier-id", verifier);
        json_object_object_add(c, "ear.status", json_object_new_string(v->accepted ? "affirming" : "contraindicated"));
        if (h->policy_name)
                json_object_object_add(c, "ear.appraisal-policy-id", json_object_new_string(h->policy_name));
        json_object_object_add(c, "eat_nonce", json_object_new_string(n));
        json_object_object_add(c, "tee", json_object_new_string(cvm_tee_to_string(h->tee)));
        json_object_object_add(c, "accepted", json_object_new_boolean(v->accepted));
        json_object_object_add(c, "nonce", json_object_new_string(n));
        json_object_object_add(c, "vm_uuid", json_object_new_string(u));
        json_object_object_add(c, "launch_digest", d ? json_object_new_string(d) : NULL);
        json_object_object_add(c, "gpus", json_object_new_int64(h->gpus));
        /* measurements, TCB status, GPUs' drivers and VBIOS, as the verifiers read them */
        json_object_object_add(c, "claims", json_object_get(v->claims));
        return c;
}

/* Seals the bundle to the guest's key, from the releaser key (HPKE auth mode), and queues
 * KeyRelease; keeps the expected confirmation. On failure the guest hears the host's reason. */
static void release(ExchangeHostSession *s, const ProtoMsg *ev, Secret *bundle) {
        const ExchangeHost *h = s->h;
        _cleanup_(hpke_context_freep) HpkeContext *ctx = NULL;
        _cleanup_(json_object_putp) json_object *claims = NULL;
        _cleanup_free_ uint8_t *ct = NULL;
        ProtoMsg kr = { .type = PROTO_KEY_RELEASE };
        uint8_t enc[HPKE_ENC_SIZE], aad[32 + 16];
        size_t ct_size;
        int r;

        memcpy(aad, s->nonce, 32);
        memcpy(aad + 32, h->vm_uuid, 16);
        r = hpke_setup_auth_sender(HPKE_SUITE_DEFAULT, ev->pubkey, sizeof(ev->pubkey),
                                   (const uint8_t *) PROTO_KEY_RELEASE_INFO, strlen(PROTO_KEY_RELEASE_INFO),
                                   h->releaser->sk, enc, &ctx);
        if (r < 0) {
                set_error(s, "cannot seal to the guest's key: %s", strerror(-r));
                return refuse(s, "key release failed on the host: %s", s->res.error);
        }
        r = hpke_seal(ctx, aad, sizeof(aad), secret_data(bundle), secret_size(bundle), &ct, &ct_size);
        if (r < 0) {
                set_error(s, "sealing the key bundle failed: %s", strerror(-r));
                return refuse(s, "key release failed on the host: %s", s->res.error);
        }
        r = hpke_key_confirmation(ctx, s->confirm);
        if (r < 0) {
                set_error(s, "deriving the key confirmation failed: %s", strerror(-r));
                return refuse(s, "key release failed on the host: %s", s->res.error);
        }
        claims = token_claims(h, s->nonce, &s->res.verdict);
        if (!claims || token_sign(h->token_key, h->token_kid, claims, &s->res.token) < 0) {
                set_error(s, "cannot sign the result token");
                free(s->res.token);
                s->res.token = NULL;
                return refuse(s, "key release failed on the host: %s", s->res.error);
        }
        kr.enc = (ProtoBlob) { .data = enc, .size = sizeof(enc) };
        kr.ciphertext = (ProtoBlob) { .data = ct, .size = ct_size };
        kr.token = s->res.token;
        r = send_msg(s, &kr, PHASE_RELEASE);
        if (r < 0) {
                set_error(s, "sending KeyRelease failed: %s", strerror(-r));
                finish(s);
        }
}

/* Appraises the evidence in hand and, when accepted, releases. -EINPROGRESS from the appraisal
 * (collateral being fetched off the loop): the evidence stays held in PHASE_APPRAISAL, nothing
 * goes to the guest, and exchange_host_resume() runs this again. Each try starts from a fresh
 * verdict: checks a try that did not finish recorded must not stand. */
static void appraise_held(ExchangeHostSession *s) {
        const ExchangeHost *h = s->h;
        const ProtoMsg *ev = &s->evidence;
        _cleanup_(secret_freep) Secret *bundle = NULL;
        _cleanup_free_ char *reason = NULL;
        ExchangeEvidence e = { .gpus_requested = h->gpus, .switches_requested = h->switches, .msg = ev };
        int r;

        verdict_done(&s->res.verdict);
        r = verdict_init(&s->res.verdict, cvm_tee_to_string(h->tee));
        if (r < 0) {
                s->oom = true;
                return finish(s);
        }
        proto_report_data(s->nonce, ev->pubkey, e.report_data);
        for (uint32_t i = 0; i < h->gpus; i++)
                proto_gpu_nonce(s->nonce, ev->pubkey, i, ev->gpu_pci[i], ev->gpu_cc[i], e.gpu_nonces[i]);
        for (uint32_t i = 0; i < h->switches && i < PROTO_SWITCHES_MAX; i++)
                proto_switch_nonce(s->nonce, ev->pubkey, i, e.switch_nonces[i]);
        r = h->appraise(h->userdata, &e, &s->res.verdict);
        if (r == -EINPROGRESS) {
                s->phase = PHASE_APPRAISAL;
                s->deadline = UINT64_MAX;
                return;
        }
        if (r < 0) {
                set_error(s, "appraisal failed: %s", strerror(-r));
                return refuse(s, "attestation refused");
        }
        if (!s->res.verdict.accepted || s->res.verdict.oom) {
                set_error(s, "evidence refused: %s",
                          s->res.verdict.n_reasons > 0 ? s->res.verdict.reasons[0] : "not accepted");
                return refuse(s, "attestation refused");
        }

        /* Accepted: only now are the data keys unwrapped. */
        r = h->unwrap_keys(h->userdata, &bundle, &reason);
        if (r < 0) {
                /* accepted, but the host cannot deliver: the guest hears the real cause */
                set_error(s, "cannot unwrap the data keys: %s", reason ? reason : strerror(-r));
                return refuse(s, "key release failed on the host: %s", s->res.error);
        }
        release(s, ev, bundle);
        proto_msg_done(&s->evidence); /* sealed to its key; nothing else needs it */
}

/* Takes the Evidence over (*ev is left empty). */
static void on_evidence(ExchangeHostSession *s, ProtoMsg *ev) {
        const ExchangeHost *h = s->h;
        int r;

        /* The nonce is single use whatever happens next; late evidence is refused. A wait for
         * collateral after this does not give it back: the evidence is held, not asked again. */
        r = nonce_consume(h->nonces, s->nonce, proto_now_usec());
        if (r < 0) {
                set_error(s, "the challenge nonce %s before the evidence arrived",
                          r == -ESTALE ? "expired" : "was already used");
                return refuse(s, "challenge expired");
        }
        if (ev->tee != h->tee) {
                set_error(s, "guest sent %s evidence, %s was asked for", cvm_tee_to_string(ev->tee),
                          cvm_tee_to_string(h->tee));
                return refuse(s, "attestation refused");
        }
        if (ev->n_gpus != h->gpus) {
                set_error(s, "guest sent %zu GPU reports, %u were asked for", ev->n_gpus, h->gpus);
                return refuse(s, "attestation refused");
        }
        if (ev->n_switches != h->switches) {
                set_error(s, "guest sent %zu NVSwitch reports, %u were asked for", ev->n_switches, h->switches);
                return refuse(s, "attestation refused");
        }
        s->evidence = *ev;
        *ev = (ProtoMsg) {};
        appraise_held(s);
}

bool exchange_host_is_appraising(const ExchangeHostSession *s) {
        return s->phase == PHASE_APPRAISAL;
}

void exchange_host_resume(ExchangeHostSession *s) {
        if (s->phase == PHASE_APPRAISAL)
                appraise_held(s);
}

static void on_ack(ExchangeHostSession *s, const ProtoMsg *ack) {
        s->res.confirmed = CRYPTO_memcmp(ack->confirmation, s->confirm, sizeof(s->confirm)) == 0;
        if (!s->res.confirmed)
                set_error(s, "the guest's key confirmation does not match: it did not open the keys");
        finish(s);
}

/* A whole frame is in: decode it, check it against the state table, act on it. */
static void on_frame(ExchangeHostSession *s) {
        _cleanup_free_ char *reason = NULL;
        ProtoMsg m = {};
        int r;

        r = proto_frame_decode(s->frame, 4 + (size_t) s->frame_len, &m, &reason);
        input_reset(s);
        if (r < 0) {
                if (r == -ENOMEM)
                        s->oom = true;
                return recv_failed(s, "channel: %s", reason ? reason : strerror(-r));
        }
        r = proto_state_receive(&s->st, m.type, &reason);
        if (r == -ECONNABORTED)
                recv_failed(s, "guest reported an error: %s", m.reason ? m.reason : "(none)");
        else if (r < 0)
                recv_failed(s, "channel: %s", reason);
        else if (s->phase == PHASE_HELLO)
                on_hello(s, &m);
        else if (s->phase == PHASE_EVIDENCE)
                on_evidence(s, &m);
        else
                on_ack(s, &m);
        proto_msg_done(&m);
}

/* The header is in: bound the frame before allocating anything for it. */
static void on_header(ExchangeHostSession *s) {
        uint32_t len = (uint32_t) s->hdr[0] << 24 | (uint32_t) s->hdr[1] << 16 | (uint32_t) s->hdr[2] << 8 | s->hdr[3];

        if (len > PROTO_FRAME_MAX)
                return recv_failed(s, "channel: frame of %u bytes exceeds the %u-byte limit", len, PROTO_FRAME_MAX);
        s->frame = malloc(4 + (size_t) len);
        if (!s->frame) {
                s->oom = true;
                return recv_failed(s, "channel: %s", strerror(ENOMEM));
        }
        memcpy(s->frame, s->hdr, 4);
        s->frame_len = len;
        s->body_got = 0;
        if (len == 0)
                on_frame(s);
}

size_t exchange_host_input_wanted(const ExchangeHostSession *s) {
        if (!phase_reads(s->phase))
                return 0;
        return s->frame ? s->frame_len - s->body_got : sizeof(s->hdr) - s->hdr_got;
}

size_t exchange_host_feed(ExchangeHostSession *s, const uint8_t *p, size_t n) {
        size_t taken = 0;

        while (taken < n) {
                size_t k = size_min(exchange_host_input_wanted(s), n - taken);

                if (k == 0)
                        break;
                if (!s->frame) {
                        memcpy(s->hdr + s->hdr_got, p + taken, k);
                        s->hdr_got += k;
                        taken += k;
                        if (s->hdr_got == sizeof(s->hdr))
                                on_header(s);
                } else {
                        memcpy(s->frame + 4 + s->body_got, p + taken, k);
                        s->body_got += k;
                        taken += k;
                        if (s->body_got == s->frame_len)
                                on_frame(s);
                }
        }
        return taken;
}

bool exchange_host_pending_output(const ExchangeHostSession *s, const uint8_t **ret, size_t *ret_size) {
        if (!s->out || s->out_done >= s->out_size)
                return false;
        *ret = s->out + s->out_done;
        *ret_size = s->out_size - s->out_done;
        return true;
}

void exchange_host_output_done(ExchangeHostSession *s, size_t n) {
        if (!s->out)
                return;
        s->out_done += size_min(n, s->out_size - s->out_done);
        if (s->out_done < s->out_size)
                return;
        output_reset(s);
        switch (s->phase) {
        case PHASE_CHALLENGE:
                enter(s, PHASE_EVIDENCE);
                break;
        case PHASE_RELEASE:
                s->res.released = true;
                enter(s, PHASE_ACK);
                break;
        default:
                finish(s);
        }
}

uint64_t exchange_host_deadline(const ExchangeHostSession *s) {
        return s->deadline;
}

bool exchange_host_is_done(const ExchangeHostSession *s) {
        return s->phase == PHASE_DONE;
}

int exchange_host_result(ExchangeHostSession *s, ExchangeResult *ret) {
        if (s->phase != PHASE_DONE)
                return -EBUSY;
        if (s->oom)
                return -ENOMEM;
        *ret = s->res;
        s->res = (ExchangeResult) {};
        return 0;
}

int exchange_host_session_new(const ExchangeHost *h, ExchangeHostSession **ret) {
        _cleanup_(exchange_host_session_freep) ExchangeHostSession *s = NULL;
        int r;

        if (!cvm_tee_has_evidence(h->tee) || !h->releaser || !h->releaser->sk)
                return -EINVAL;
        s = calloc(1, sizeof(ExchangeHostSession));
        if (!s)
                return -ENOMEM;
        s->h = h;
        s->st = proto_state_init(PROTO_ROLE_HOST);
        r = verdict_init(&s->res.verdict, cvm_tee_to_string(h->tee));
        if (r < 0)
                return r;
        enter(s, PHASE_HELLO);
        *ret = TAKE_PTR(s);
        return 0;
}

ExchangeHostSession *exchange_host_session_free(ExchangeHostSession *s) {
        if (!s)
                return NULL;
        if (s->driver_free)
                s->driver_free(s->driver);
        finish(s);
        exchange_result_done(&s->res);
        free(s);
        return NULL;
}

void exchange_host_session_set_driver(ExchangeHostSession *s, void *data, void (*free_data)(void *data)) {
        s->driver = data;
        s->driver_free = free_data;
}

void *exchange_host_session_driver(const ExchangeHostSession *s) {
        return s->driver;
}
