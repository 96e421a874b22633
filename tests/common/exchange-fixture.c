/* SPDX-License-Identifier: Apache-2.0 */
/* The child-agent harness of the exchange tests (exchange-fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/agent/agent.h"
#include "cvm/hpke.h"
#include "cvm/snp-sim.h"
#include "cvm/util.h"
#include "exchange-fixture.h"

#define AGENT_TIMEOUT_USEC 5000000u

static uint8_t data_key[32];
static ReleaserKey releaser;

const ReleaserKey *exchange_fixture_releaser(void) {
        static const uint8_t seed[32] = "cvmd exchange tests: releaser!!";

        if (!releaser.sk)
                assert_int_equal(hpke_derive_key_pair(HPKE_SUITE_DEFAULT, seed, sizeof(seed), &releaser.sk, releaser.pk),
                                 0);
        return &releaser;
}

void exchange_fixture_launch_digest(uint8_t ret[PROTO_LAUNCH_DIGEST_SIZE]) {
        static const uint8_t no_spec[PROTO_SPEC_DIGEST_SIZE] = {};

        proto_launch_digest(no_spec, exchange_fixture_releaser()->pk, ret);
}

void exchange_fixture_bind_agent(AgentConfig *c) {
        uint8_t d[PROTO_LAUNCH_DIGEST_SIZE];

        exchange_fixture_launch_digest(d);
        memcpy(c->sim_host_data, d, sizeof(c->sim_host_data));
        memcpy(c->sim_mrconfigid, d, sizeof(c->sim_mrconfigid));
}

void exchange_fixture_set_data_key(uint8_t base) {
        for (size_t i = 0; i < sizeof(data_key); i++)
                data_key[i] = (uint8_t) (base + i);
}

int exchange_fixture_unwrap(void *userdata, Secret **ret_bundle, char **ret_reason) {
        _cleanup_(secret_freep) Secret *key = NULL, *bundle = NULL;
        int r;

        if ((r = key_bundle_new(&bundle)) < 0 || (r = secret_new_copy(data_key, sizeof(data_key), &key)) < 0 ||
            (r = key_bundle_add(&bundle, "train-1", key)) < 0)
                return r;
        *ret_bundle = TAKE_PTR(bundle);
        return 0;
}

void exchange_fixture_snp_sim(const char *dir, char ret_ark_digest[65]) {
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        _cleanup_free_ char *hex = NULL;
        SnpSimParams p = { .product = SNP_PRODUCT_GENOA, .rsa_bits = 2048 };
        SnpAnchor a;

        snp_tcb_set(&p.tcb, false, 0, 10, 0, 23, 84);
        assert_int_equal(snp_sim_new(&p, &s), 0);
        assert_int_equal(snp_sim_write_pem(s, dir), 0);
        assert_int_equal(snp_sim_anchor(s, &a), 0);
        hex = hex_encode(a.spki_sha256, 32);
        assert_non_null(hex);
        memcpy(ret_ark_digest, hex, 65);
}

int exchange_fixture_agent_hello(int fd, ProtoMsg *ret_challenge) {
        ProtoMsg hello = { .type = PROTO_HELLO, .version = PROTO_VERSION };
        uint64_t deadline = proto_now_usec() + AGENT_TIMEOUT_USEC;

        if (proto_send(fd, &hello, deadline) < 0 || proto_recv(fd, deadline, ret_challenge, NULL) < 0 ||
            ret_challenge->type != PROTO_CHALLENGE)
                return -1;
        return 0;
}

int exchange_fixture_agent_finish(int fd, const ProtoMsg *challenge, const Secret *sk, bool open) {
        ProtoMsg next = {};
        bool got;
        int rc;

        /* Whatever comes back: was it key material? */
        got = proto_recv(fd, proto_now_usec() + AGENT_TIMEOUT_USEC, &next, NULL) >= 0 &&
              next.type == PROTO_KEY_RELEASE;
        rc = got ? AGENT_GOT_KEYS : AGENT_GOT_NOTHING;
        if (got && open) {
                _cleanup_(secret_freep) Secret *bundle = NULL;
                ProtoMsg ack = { .type = PROTO_ACK };

                if (agent_open_release(challenge, sk, &next, &bundle, ack.confirmation, NULL) < 0 ||
                    proto_send(fd, &ack, proto_now_usec() + AGENT_TIMEOUT_USEC) < 0)
                        rc = 3;
                /* the bundle must hold exactly our data key */
                else if (secret_size(bundle) < sizeof(data_key) ||
                         memcmp(secret_data(bundle) + secret_size(bundle) - sizeof(data_key), data_key,
                                sizeof(data_key)))
                        rc = 4;
        }
        proto_msg_done(&next);
        return rc;
}

/* In the child: every descriptor but stdio, fd and keep_fd is closed. */
static void close_others(int fd, int keep_fd) {
        int lo = fd, hi = keep_fd;

        if (keep_fd < 0)
                lo = hi = fd;
        else if (keep_fd < fd)
                lo = keep_fd, hi = fd;
        if (lo > 3)
                (void) close_range(3, (unsigned) lo - 1, 0);
        if (hi > lo + 1)
                (void) close_range((unsigned) lo + 1, (unsigned) hi - 1, 0);
        (void) close_range((unsigned) hi + 1, ~0u, 0);
}

void exchange_fixture_spawn(ExchangeFixtureAgent agent, void *userdata, int keep_fd, int *ret_fd, pid_t *ret_pid) {
        int sv[2];
        pid_t pid;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close_others(sv[1], keep_fd);
                _exit(agent(sv[1], userdata));
        }
        close(sv[1]);
        *ret_fd = sv[0];
        *ret_pid = pid;
}

int exchange_fixture_reap(pid_t pid) {
        int status;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

void exchange_fixture_run(const ExchangeHost *h, ExchangeFixtureAgent agent, void *userdata, ExchangeResult *ret,
                          int *ret_agent_status) {
        pid_t pid;
        int fd;

        exchange_fixture_spawn(agent, userdata, -1, &fd, &pid);
        assert_int_equal(exchange_host_run(h, fd, ret), 0);
        close(fd);
        *ret_agent_status = exchange_fixture_reap(pid);
}
