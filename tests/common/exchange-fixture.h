/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The child-agent harness of the exchange tests: a guest agent in a forked child on one end of a
 * socketpair, the host on the other, and the pieces every such agent shares. Fixture functions
 * assert (cmocka) instead of returning errors, except those that run in the child. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../src/agent/agent.h"
#include "cvm/exchange.h"
#include "cvm/releaser.h"

/* Exit codes of a fixture agent: it saw a KeyRelease (and, when honest, opened and confirmed
 * it), or it saw none. 1..4 are the agent's own failures. */
#define AGENT_GOT_KEYS 10
#define AGENT_GOT_NOTHING 20

/* Runs in the child; its return value is the child's exit code. */
typedef int (*ExchangeFixtureAgent)(int fd, void *userdata);

/* The host's releaser key in the exchange tests: derived from a fixed seed, so that an agent in
 * a forked child knows its public half too. */
const ReleaserKey *exchange_fixture_releaser(void);
/* The launch digest that key makes with an all-zero spec digest (what ExchangeHost sends when
 * it has no spec_digest). */
void exchange_fixture_launch_digest(uint8_t ret[PROTO_LAUNCH_DIGEST_SIZE]);
/* A simulated agent launched bound to that releaser: its HOST_DATA and MRCONFIGID carry the
 * launch digest. */
void exchange_fixture_bind_agent(AgentConfig *c);

/* The data key the host releases and the agent checks for, as kid "train-1": key[i] = base + i. */
void exchange_fixture_set_data_key(uint8_t base);
/* An ExchangeHost.unwrap_keys: a bundle with that one key. */
int exchange_fixture_unwrap(void *userdata, Secret **ret_bundle, char **ret_reason);

/* Writes a Genoa SEV-SNP simulator (cvmctl sim init's snp/) to dir; the hex SHA-256 of its ARK's
 * SPKI, which a policy names in "trusted_simulator_arks", goes to ret_ark_digest. */
void exchange_fixture_snp_sim(const char *dir, char ret_ark_digest[65]);

/* The agent's first step: Hello, then the Challenge. -1 when either fails. */
int exchange_fixture_agent_hello(int fd, ProtoMsg *ret_challenge);
/* The agent's last step: waits up to 5 s for the host's next message. When it is a KeyRelease
 * and `open` is set, opens it with sk, sends the Ack, and checks that the bundle ends with the
 * data key (3: opening or the Ack failed, 4: another key). Otherwise AGENT_GOT_KEYS or
 * AGENT_GOT_NOTHING. */
int exchange_fixture_agent_finish(int fd, const ProtoMsg *challenge, const Secret *sk, bool open);

/* Forks agent(fd, userdata) on one end of a fresh socketpair and returns the other end and the
 * child. The child keeps only its end, stdio and keep_fd (-1: none) open, so that closing the
 * host's end is an EOF for its agent even with several agents running. */
void exchange_fixture_spawn(ExchangeFixtureAgent agent, void *userdata, int keep_fd, int *ret_fd, pid_t *ret_pid);
/* Waits for the agent; returns its exit code (asserts it exited). */
int exchange_fixture_reap(pid_t pid);
/* One exchange: spawns the agent, runs exchange_host_run() here, closes, reaps. */
void exchange_fixture_run(const ExchangeHost *h, ExchangeFixtureAgent agent, void *userdata, ExchangeResult *ret,
                          int *ret_agent_status);
