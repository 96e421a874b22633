/* SPDX-License-Identifier: Apache-2.0 */
/* The exchange as a state machine (include/cvm/exchange.h) and its two drivers. By hand: it asks
 * for exactly one frame at a time, refuses an oversized frame from its header alone, sends only
 * once a whole message is in, and times out only at its deadline. Blocking: the honest SEV-SNP
 * guest gets its keys, a silent one times out. On one sd-event loop: eight simulated guests at
 * once all get their keys while a tampered one gets nothing; and a silent guest's short deadline
 * fires while eight others are mid-exchange (held after their challenge until it fired), and
 * they still get their keys. An appraisal that waits for collateral holds the evidence, sends
 * the guest nothing, and goes on to the release once resumed; the blocking driver, which nothing
 * would resume, ends such an exchange without keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../src/agent/agent.h"
#include "../common/exchange-fixture.h"
#include "cvm/appraise.h"
#include "cvm/crypto.h"
#include "cvm/exchange.h"
#include "cvm/token.h"
#include "cvm/util.h"

typedef enum Misbehaviour {
        HONEST,
        HELD,     /* honest, but waits after the challenge until the gate opens */
        SILENT,   /* never answers the challenge */
        TAMPERED, /* one byte of the signed report changed */
} Misbehaviour;

#define GUESTS 8
#define SILENT_TIMEOUT_USEC 200000u
#define TIMEOUT_USEC 5000000u

static char sim_dir[] = "/tmp/cvmd-test-exchange-loop-XXXXXX";
static char snp_dir[sizeof(sim_dir) + 8];
static char ark_digest[65];
static Policy *policy;
static EVP_PKEY *token_key;
static NonceStore nonces;
static AppraiseConfig appraise_config;
static int gate[2] = { -1, -1 }; /* HELD agents read gate[0] until the test closes gate[1] */

static int setup(void **state) {
        _cleanup_free_ char *json = NULL;
        char *reason = NULL;

        assert_non_null(mkdtemp(sim_dir));
        snprintf(snp_dir, sizeof(snp_dir), "%s/snp", sim_dir);
        exchange_fixture_snp_sim(snp_dir, ark_digest);
        exchange_fixture_set_data_key(0xD0);
        json = strdup_printf("{\"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": [{\"product\": \"Genoa\", \"spki_sha256\": \"%s\"}]}}",
                             ark_digest);
        if (policy_parse(json, strlen(json), &policy, &reason) < 0)
                fail_msg("policy: %s", reason);
        appraise_config.policy = policy;
        assert_int_equal(token_key_generate(&token_key), 0);
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        policy_free(policy);
        EVP_PKEY_free(token_key);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim_dir);
        return system(cmd) == 0 ? 0 : -1;
}

static ExchangeHost host(uint64_t timeout_usec) {
        return (ExchangeHost) { .tee = CVM_TEE_SEV_SNP, .timeout_usec = timeout_usec, .nonces = &nonces,
                                .nonce_ttl_usec = 10000000, .appraise = appraise_evidence,
                                .unwrap_keys = exchange_fixture_unwrap, .userdata = &appraise_config,
                                .token_key = token_key, .releaser = exchange_fixture_releaser() };
}

/* The agent side. Returns the child's exit code. */
static int run_agent(int fd, void *userdata) {
        Misbehaviour how = *(const Misbehaviour *) userdata;
        AgentConfig c = { .source = EVIDENCE_SIM_SNP, .sim_dir = snp_dir, .timeout_usec = TIMEOUT_USEC };
        _cleanup_(secret_freep) Secret *sk = NULL;
        ProtoMsg chal = {}, ev = {};
        int rc;

        exchange_fixture_bind_agent(&c);
        if (exchange_fixture_agent_hello(fd, &chal) < 0)
                return 1;
        if (how == SILENT)
                return exchange_fixture_agent_finish(fd, &chal, NULL, false);
        if (how == HELD) {
                char b;
                /* the host is now waiting for this guest's evidence: hold it there */
                while (read(gate[0], &b, 1) > 0)
                        ;
        }
        if (agent_build_evidence(&c, &chal, &sk, &ev, NULL) < 0)
                return 2;
        if (how == TAMPERED)
                ev.report.data[0x90] ^= 1; /* MEASUREMENT */
        if (proto_send(fd, &ev, proto_now_usec() + TIMEOUT_USEC) < 0)
                return 1;
        proto_msg_done(&ev);
        rc = exchange_fixture_agent_finish(fd, &chal, sk, how != TAMPERED);
        proto_msg_done(&chal);
        return rc;
}

static void frame(const ProtoMsg *m, uint8_t **ret, size_t *ret_size) {
        assert_int_equal(proto_frame_encode(m, ret, ret_size), 0);
}

static void test_by_hand(void **state) {
        _cleanup_(exchange_host_session_freep) ExchangeHostSession *s = NULL;
        ExchangeHost h = host(TIMEOUT_USEC), none = host(TIMEOUT_USEC);
        _cleanup_free_ uint8_t *hello = NULL;
        _cleanup_free_ char *reason = NULL;
        ExchangeResult res = {};
        ProtoMsg chal = {};
        const uint8_t *out;
        size_t size, out_size;
        uint64_t deadline;

        none.tee = CVM_TEE_NONE;
        assert_int_equal(exchange_host_session_new(&none, &s), -EINVAL);
        assert_int_equal(exchange_host_session_new(&h, &s), 0);
        assert_false(exchange_host_is_done(s));
        assert_false(exchange_host_pending_output(s, &out, &out_size));
        assert_int_equal(exchange_host_result(s, &res), -EBUSY);
        deadline = exchange_host_deadline(s);
        assert_true(deadline > proto_now_usec() && deadline <= proto_now_usec() + TIMEOUT_USEC);

        /* A Hello a byte at a time: the header first, then exactly its body. */
        frame(&(ProtoMsg) { .type = PROTO_HELLO, .version = PROTO_VERSION }, &hello, &size);
        assert_int_equal(exchange_host_input_wanted(s), 4);
        for (size_t i = 0; i < size; i++) {
                assert_int_equal(exchange_host_input_wanted(s), i < 4 ? 4 - i : size - i);
                assert_false(exchange_host_pending_output(s, &out, &out_size));
                assert_int_equal(exchange_host_feed(s, hello + i, 1), 1);
        }
        /* Now it only talks: it takes nothing until the Challenge is out. */
        assert_int_equal(exchange_host_input_wanted(s), 0);
        assert_int_equal(exchange_host_feed(s, hello, size), 0);
        assert_true(exchange_host_pending_output(s, &out, &out_size));
        assert_int_equal(proto_frame_decode(out, out_size, &chal, &reason), 0);
        assert_int_equal(chal.type, PROTO_CHALLENGE);
        assert_int_equal(chal.tee, CVM_TEE_SEV_SNP);
        exchange_host_output_done(s, 3);
        assert_true(exchange_host_pending_output(s, &out, &size));
        assert_int_equal(size, out_size - 3);
        exchange_host_output_done(s, size);
        assert_false(exchange_host_pending_output(s, &out, &size));
        assert_int_equal(exchange_host_input_wanted(s), 4);

        /* The evidence step has its own deadline; nothing happens before it. */
        deadline = exchange_host_deadline(s);
        exchange_host_timeout(s, deadline - 1);
        assert_false(exchange_host_is_done(s));
        exchange_host_timeout(s, deadline);
        assert_true(exchange_host_is_done(s));
        assert_int_equal(exchange_host_deadline(s), UINT64_MAX);
        assert_false(exchange_host_pending_output(s, &out, &size));
        assert_int_equal(exchange_host_result(s, &res), 0);
        assert_false(res.released);
        assert_non_null(strstr(res.error, "reading a frame header: Connection timed out"));
        /* The Challenge carried the nonce it issued, still live: no evidence consumed it. */
        assert_int_equal(nonce_consume(&nonces, chal.nonce, proto_now_usec()), 0);
        assert_int_equal(nonce_consume(&nonces, chal.nonce, proto_now_usec()), -ENOENT);
        proto_msg_done(&chal);
        exchange_result_done(&res);
}

static void test_oversized_header(void **state) {
        _cleanup_(exchange_host_session_freep) ExchangeHostSession *s = NULL;
        static const uint8_t hdr[8] = { 0x00, 0x20, 0x00, 0x00, '{', '"', 'a', '"' };
        ExchangeHost h = host(TIMEOUT_USEC);
        ExchangeResult res = {};

        assert_int_equal(exchange_host_session_new(&h, &s), 0);
        /* Refused from the four header bytes, before a body is read or allocated. */
        assert_int_equal(exchange_host_feed(s, hdr, sizeof(hdr)), 4);
        assert_true(exchange_host_is_done(s));
        assert_int_equal(exchange_host_input_wanted(s), 0);
        assert_int_equal(exchange_host_result(s, &res), 0);
        assert_non_null(strstr(res.error, "frame of 2097152 bytes exceeds the 1048576-byte limit"));
        exchange_result_done(&res);
}

static void test_eof(void **state) {
        _cleanup_(exchange_host_session_freep) ExchangeHostSession *s = NULL;
        ExchangeHost h = host(TIMEOUT_USEC);
        ExchangeResult res = {};

        assert_int_equal(exchange_host_session_new(&h, &s), 0);
        assert_int_equal(exchange_host_feed(s, (const uint8_t *) "\0\0", 2), 2);
        exchange_host_eof(s);
        assert_true(exchange_host_is_done(s));
        assert_int_equal(exchange_host_result(s, &res), 0);
        assert_string_equal(res.error, "channel: reading a frame header: Connection reset by peer");
        exchange_result_done(&res);
}

static void test_blocking_driver(void **state) {
        static const Misbehaviour honest = HONEST, silent = SILENT;
        ExchangeHost h = host(TIMEOUT_USEC), quick = host(SILENT_TIMEOUT_USEC);
        ExchangeResult res = {};
        uint64_t t0;
        int agent;

        exchange_fixture_run(&h, run_agent, (void *) &honest, &res, &agent);
        if (res.error)
                fail_msg("exchange failed: %s", res.error);
        assert_true(res.released && res.confirmed);
        assert_int_equal(agent, AGENT_GOT_KEYS);
        exchange_result_done(&res);

        t0 = proto_now_usec();
        exchange_fixture_run(&quick, run_agent, (void *) &silent, &res, &agent);
        assert_true(proto_now_usec() - t0 >= SILENT_TIMEOUT_USEC);
        assert_false(res.released);
        assert_non_null(res.error);
        assert_non_null(strstr(res.error, "timed out"));
        assert_int_equal(agent, AGENT_GOT_NOTHING);
        exchange_result_done(&res);
}

/* ---- many guests on one sd-event loop ---- */

typedef struct Loop Loop;

typedef struct Guest {
        Loop *loop;
        Misbehaviour how;
        ExchangeHost h;
        ExchangeHostSession *session;
        int fd;
        pid_t pid;
        bool done;
        unsigned finished_as; /* 0 for the first to finish */
        int result;
        ExchangeResult res;
        int agent;
} Guest;

struct Loop {
        sd_event *event;
        Guest guests[GUESTS + 1];
        size_t n, n_done;
        size_t busy_when_silent_done; /* guests not done when the silent one's deadline fired */
};

static void on_done(ExchangeHostSession *s, void *userdata) {
        Guest *g = userdata;
        Loop *l = g->loop;

        g->result = exchange_host_result(s, &g->res);
        /* the callback may free the session: do it here, as a daemon would */
        g->session = exchange_host_session_free(s);
        close(g->fd);
        g->fd = -1;
        g->done = true;
        g->finished_as = (unsigned) l->n_done++;
        if (g->how == SILENT) {
                for (size_t i = 0; i < l->n; i++)
                        l->busy_when_silent_done += !l->guests[i].done;
                /* let the held guests go on */
                close(gate[1]);
                gate[1] = -1;
        }
        if (l->n_done == l->n)
                (void) sd_event_exit(l->event, 0);
}

static void add_guest(Loop *l, Misbehaviour how, uint64_t timeout_usec) {
        Guest *g = &l->guests[l->n++];

        *g = (Guest) { .loop = l, .how = how, .h = host(timeout_usec), .fd = -1 };
        exchange_fixture_spawn(run_agent, &g->how, how == HELD ? gate[0] : -1, &g->fd, &g->pid);
        assert_int_equal(exchange_host_session_new(&g->h, &g->session), 0);
        assert_int_equal(exchange_host_attach_event(g->session, l->event, g->fd, on_done, g), 0);
}

static void loop_run(Loop *l) {
        assert_int_equal(sd_event_loop(l->event), 0);
        assert_int_equal(l->n_done, l->n);
        for (size_t i = 0; i < l->n; i++) {
                Guest *g = &l->guests[i];
                assert_true(g->done);
                assert_null(g->session);
                assert_int_equal(g->result, 0);
                g->agent = exchange_fixture_reap(g->pid);
        }
        l->event = sd_event_unref(l->event);
}

static void loop_done(Loop *l) {
        for (size_t i = 0; i < l->n; i++)
                exchange_result_done(&l->guests[i].res);
}

static void expect_keys(const Guest *g) {
        if (g->res.error)
                fail_msg("guest %zu: %s", (size_t) (g - g->loop->guests), g->res.error);
        assert_true(g->res.verdict.accepted);
        assert_true(g->res.released);
        assert_true(g->res.confirmed);
        assert_non_null(g->res.token);
        assert_int_equal(g->agent, AGENT_GOT_KEYS);
}

static void expect_nothing(const Guest *g, const char *needle) {
        assert_false(g->res.released);
        assert_false(g->res.confirmed);
        assert_null(g->res.token);
        assert_non_null(g->res.error);
        if (!strstr(g->res.error, needle))
                fail_msg("reason '%s' lacks '%s'", g->res.error, needle);
        assert_int_equal(g->agent, AGENT_GOT_NOTHING);
}

static void test_event_loop_many_guests(void **state) {
        Loop l = {};

        assert_int_equal(sd_event_new(&l.event), 0);
        for (size_t i = 0; i < GUESTS; i++)
                add_guest(&l, HONEST, TIMEOUT_USEC);
        add_guest(&l, TAMPERED, TIMEOUT_USEC);
        loop_run(&l);
        for (size_t i = 0; i < GUESTS; i++)
                expect_keys(&l.guests[i]);
        expect_nothing(&l.guests[GUESTS], "report.signature");
        loop_done(&l);
}

static void test_event_loop_deadline_mid_exchange(void **state) {
        Loop l = {};
        const Guest *silent;

        assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
        assert_int_equal(sd_event_new(&l.event), 0);
        for (size_t i = 0; i < GUESTS; i++)
                add_guest(&l, HELD, TIMEOUT_USEC);
        add_guest(&l, SILENT, SILENT_TIMEOUT_USEC);
        silent = &l.guests[GUESTS];
        loop_run(&l);
        close(gate[0]);
        gate[0] = -1;

        /* The silent guest's deadline fired first, with all eight others still in their exchange;
         * they completed after it. */
        assert_int_equal(silent->finished_as, 0);
        assert_int_equal(l.busy_when_silent_done, GUESTS);
        expect_nothing(silent, "timed out");
        for (size_t i = 0; i < GUESTS; i++) {
                assert_true(l.guests[i].finished_as > 0);
                expect_keys(&l.guests[i]);
        }
        loop_done(&l);
}

/* ---- an appraisal that waits for collateral ---- */

typedef struct Waiting {
        sd_event *event;
        ExchangeHostSession *session;
        sd_event_source *fetch; /* stands for the provider's fetch: ends on a timer */
        unsigned tries, waits;
        bool fetched;
        bool done;
        ExchangeResult res;
} Waiting;

static Waiting waiting;

/* Like a launch's appraisal whose collateral is not cached yet: no verdict until it is in. */
static int appraise_after_fetch(void *userdata, const ExchangeEvidence *e, Verdict *v) {
        waiting.tries++;
        if (!waiting.fetched)
                return -EINPROGRESS;
        return appraise_evidence(userdata, e, v);
}

static int on_fetch_ended(sd_event_source *source, uint64_t usec, void *userdata) {
        Waiting *w = userdata;
        const uint8_t *out;
        size_t n;

        /* all the while, the guest was told nothing */
        assert_true(exchange_host_is_appraising(w->session));
        assert_false(exchange_host_pending_output(w->session, &out, &n));
        assert_int_equal(exchange_host_deadline(w->session), UINT64_MAX);
        w->fetch = sd_event_source_disable_unref(w->fetch);
        w->fetched = true;
        exchange_host_event_resume(w->session);
        return 0;
}

static int on_wait(ExchangeHostSession *s, void *userdata) {
        Waiting *w = userdata;

        w->waits++;
        /* longer than the guest's per-message deadline below: the wait has no deadline of its own */
        return sd_event_add_time_relative(w->event, &w->fetch, CLOCK_MONOTONIC, 3 * SILENT_TIMEOUT_USEC, 1000,
                                          on_fetch_ended, w);
}

static void on_waiting_done(ExchangeHostSession *s, void *userdata) {
        Waiting *w = userdata;

        assert_int_equal(exchange_host_result(s, &w->res), 0);
        w->done = true;
        (void) sd_event_exit(w->event, 0);
}

static void test_event_loop_waits_for_collateral(void **state) {
        static const Misbehaviour honest = HONEST;
        _cleanup_(exchange_host_session_freep) ExchangeHostSession *s = NULL;
        ExchangeHost h = host(SILENT_TIMEOUT_USEC);
        int fd, agent;
        pid_t pid;

        h.appraise = appraise_after_fetch;
        waiting = (Waiting) {};
        assert_int_equal(sd_event_new(&waiting.event), 0);
        exchange_fixture_spawn(run_agent, (void *) &honest, -1, &fd, &pid);
        assert_int_equal(exchange_host_session_new(&h, &s), 0);
        waiting.session = s;
        assert_int_equal(exchange_host_attach_event_full(s, waiting.event, fd, on_waiting_done, on_wait, &waiting), 0);
        assert_int_equal(sd_event_loop(waiting.event), 0);
        agent = exchange_fixture_reap(pid);
        close(fd);
        assert_true(waiting.done);
        if (waiting.res.error)
                fail_msg("exchange failed: %s", waiting.res.error);
        assert_int_equal(waiting.tries, 2);
        assert_int_equal(waiting.waits, 1);
        assert_true(waiting.res.verdict.accepted);
        assert_true(waiting.res.released && waiting.res.confirmed);
        assert_int_equal(agent, AGENT_GOT_KEYS);
        exchange_result_done(&waiting.res);
        waiting.event = sd_event_unref(waiting.event);
}

static void test_blocking_driver_cannot_wait(void **state) {
        static const Misbehaviour honest = HONEST;
        ExchangeHost h = host(TIMEOUT_USEC);
        ExchangeResult res = {};
        int agent;

        h.appraise = appraise_after_fetch;
        waiting = (Waiting) {};
        exchange_fixture_run(&h, run_agent, (void *) &honest, &res, &agent);
        assert_int_equal(waiting.tries, 1);
        assert_false(res.released);
        assert_null(res.token);
        assert_non_null(res.error);
        assert_non_null(strstr(res.error, "waiting for collateral"));
        assert_int_equal(agent, AGENT_GOT_NOTHING);
        exchange_result_done(&res);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_by_hand),
                cmocka_unit_test(test_oversized_header),
                cmocka_unit_test(test_eof),
                cmocka_unit_test(test_blocking_driver),
                cmocka_unit_test(test_event_loop_many_guests),
                cmocka_unit_test(test_event_loop_deadline_mid_exchange),
                cmocka_unit_test(test_event_loop_waits_for_collateral),
                cmocka_unit_test(test_blocking_driver_cannot_wait),
        };
        (void) secret_init();
        return cmocka_run_group_tests_name("exchange-loop", tests, setup, teardown);
}
