/* SPDX-License-Identifier: Apache-2.0 */
/* The host's collateral provider (include/cvm/collateral.h) against a KDS-shaped server in this
 * process (libmicrohttpd on 127.0.0.1) that serves a simulated SEV-SNP platform and counts
 * requests: a miss is fetched and then served from the cache; offline with an empty cache
 * refuses naming what is missing; a CRL past its nextUpdate is stale, and so is one older than
 * the policy's age limit; in the event mode concurrent lookups of one item join one fetch that
 * runs off the loop; a failure backs off for as long as the server's Retry-After; the listing
 * says fresh, expiring and stale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cvm/collateral.h"
#include "cvm/kds.h"
#include "cvm/snp-sim.h"
#include "cvm/util.h"
#include "../common/test-dir.h"

#define DAY INT64_C(86400)

/* ---- a KDS-shaped server over a snp_sim_write_kds() tree ---- */

typedef struct Server {
        struct MHD_Daemon *d;
        unsigned port;
        char root[512];
        pthread_mutex_t lock;
        unsigned vcek, cert_chain, crl, other; /* requests, by what they asked for */
        unsigned throttle_retry_after;       /* > 0: every answer is 429 with this Retry-After */
} Server;

static Server server = { .lock = PTHREAD_MUTEX_INITIALIZER };

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const void *body, size_t size,
                             const char *retry_after) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(size, (void *) body, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (!resp)
                return MHD_NO;
        if (retry_after)
                (void) MHD_add_response_header(resp, "Retry-After", retry_after);
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **state) {
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        unsigned *counter, retry;
        const char *last = strrchr(url, '/');
        char ra[16];
        size_t size;

        pthread_mutex_lock(&server.lock);
        if (strstr(url, "/cert_chain"))
                counter = &server.cert_chain;
        else if (last && streq(last, "/crl"))
                counter = &server.crl;
        else if (strncmp(url, "/vcek/v1/", 9) == 0)
                counter = &server.vcek;
        else
                counter = &server.other;
        (*counter)++;
        retry = server.throttle_retry_after;
        pthread_mutex_unlock(&server.lock);

        if (retry > 0) {
                snprintf(ra, sizeof(ra), "%u", retry);
                return reply(conn, 429, "", 0, ra);
        }
        if (strstr(url, ".."))
                return reply(conn, 404, "", 0, NULL);
        /* a VCEK is <hwid>.der in the tree; the query (the SPLs) is not part of url */
        path = counter == &server.vcek ? strdup_printf("%s%s.der", server.root, url) : strdup_printf("%s%s", server.root, url);
        if (!path || read_file_bounded(path, CVM_INPUT_MAX, &data, &size) < 0)
                return reply(conn, 404, "", 0, NULL);
        return reply(conn, 200, data, size, NULL);
}

static void server_start(const char *root) {
        const union MHD_DaemonInfo *info;

        snprintf(server.root, sizeof(server.root), "%s", root);
        server.vcek = server.cert_chain = server.crl = server.other = 0;
        server.throttle_retry_after = 0;
        server.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, NULL,
                                    MHD_OPTION_END);
        assert_non_null(server.d);
        info = MHD_get_daemon_info(server.d, MHD_DAEMON_INFO_BIND_PORT);
        assert_non_null(info);
        server.port = info->port;
}

static void server_stop(void) {
        MHD_stop_daemon(server.d);
        server.d = NULL;
}

static unsigned requests(void) {
        unsigned n;

        pthread_mutex_lock(&server.lock);
        n = server.vcek + server.cert_chain + server.crl + server.other;
        pthread_mutex_unlock(&server.lock);
        return n;
}

/* ---- the simulated platform ---- */

static SnpSim *sim;
static SnpAnchor anchor;
static int64_t now;

static int group_setup(void **state) {
        SnpSimParams p = { .product = SNP_PRODUCT_MILAN, .rsa_bits = 2048 };

        now = (int64_t) time(NULL);
        snp_tcb_set(&p.tcb, false, 0, 3, 0, 20, 209);
        for (size_t i = 0; i < sizeof(p.chip_id); i++)
                p.chip_id[i] = (uint8_t) (0x40 + i);
        assert_int_equal(snp_sim_new(&p, &sim), 0);
        assert_int_equal(snp_sim_anchor(sim, &anchor), 0);
        return 0;
}

static int group_teardown(void **state) {
        snp_sim_free(sim);
        return 0;
}

/* A test directory with kds/ (the server's tree, its CRL valid now-1d..now+30d) and cache/. */
typedef struct Fixture {
        char dir[256], kds[300], cache[300], url[64];
        SnpReport report;
} Fixture;

static Fixture fx;

static int setup(void **state) {
        assert_int_equal(test_dir_setup(state), 0);
        snprintf(fx.dir, sizeof(fx.dir), "%s", (const char *) *state);
        snprintf(fx.kds, sizeof(fx.kds), "%s/kds", fx.dir);
        snprintf(fx.cache, sizeof(fx.cache), "%s/cache", fx.dir);
        assert_int_equal(snp_sim_write_kds(sim, fx.kds, now - DAY, now + 30 * DAY), 0);
        assert_int_equal(snp_sim_report_template(sim, 3, &fx.report), 0);
        server_start(fx.kds);
        snprintf(fx.url, sizeof(fx.url), "http://127.0.0.1:%u", server.port);
        return 0;
}

static int teardown(void **state) {
        server_stop();
        return test_dir_teardown(state);
}

static CollateralConfig config(bool offline) {
        return (CollateralConfig) { .cache_dir = fx.cache, .kds_url = fx.url, .offline = offline, .timeout_sec = 5 };
}

/* One lookup into a fresh chain: its result, and the reason in *ret_reason (freed by the caller). */
static int lookup(Collateral *c, int64_t at, int64_t max_age, SnpChain **ret_chain, char **ret_reason) {
        SnpChain *chain = snp_chain_new();
        int r;

        assert_non_null(chain);
        *ret_reason = NULL;
        r = collateral_snp(c, &fx.report, SNP_PRODUCT_MILAN, at, true, max_age, chain, ret_reason);
        if (ret_chain)
                *ret_chain = chain;
        else
                snp_chain_free(chain);
        return r;
}

/* The chain verifies with the simulator's ARK, revocation included. */
static void assert_chain_verifies(SnpChain *chain, int64_t at) {
        _cleanup_(verdict_done) Verdict v = {};
        SnpReport signed_report = fx.report;
        SnpVerifyParams p = { .anchors = &anchor, .n_anchors = 1, .at = at, .require_crl = true };

        assert_int_equal(snp_sim_sign_report(sim, &signed_report), 0);
        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        assert_int_equal(snp_verify(signed_report.raw, SNP_REPORT_SIZE, chain, &p, NULL, &v), 0);
        if (!v.authentic)
                fail_msg("not authentic: %s", v.n_reasons ? v.reasons[0] : "?");
}

static void test_fetch_then_cache(void **state) {
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(snp_chain_freep) SnpChain *chain = NULL;
        _cleanup_free_ char *reason = NULL;
        CollateralConfig cfg = config(false);
        CollateralStats st;

        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(lookup(c, now, 0, &chain, &reason), 0);
        assert_non_null(snp_chain_leaf(chain));
        assert_non_null(snp_chain_intermediate(chain));
        assert_non_null(chain->cert[SNP_ROLE_ARK]);
        assert_non_null(chain->crl);
        assert_chain_verifies(chain, now);
        assert_int_equal(server.vcek, 1);
        assert_int_equal(server.cert_chain, 1);
        assert_int_equal(server.crl, 1);
        collateral_stats(c, &st);
        assert_int_equal(st.fetches, 1);

        /* again, and from another provider on the same cache: nothing more is asked */
        collateral_free(TAKE_PTR(c));
        cfg = config(true);
        assert_int_equal(collateral_new(&cfg, &c), 0);
        snp_chain_free(TAKE_PTR(chain));
        free(TAKE_PTR(reason));
        assert_int_equal(lookup(c, now, 0, &chain, &reason), 0);
        assert_chain_verifies(chain, now);
        assert_int_equal(requests(), 3);
}

static void test_offline_empty(void **state) {
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_free_ char *reason = NULL;
        CollateralConfig cfg = config(true);

        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(lookup(c, now, 0, NULL, &reason), -ENOENT);
        assert_non_null(reason);
        assert_non_null(strstr(reason, "offline"));
        assert_non_null(strstr(reason, "VCEK"));
        assert_int_equal(requests(), 0);
}

/* A guest that sent its certificates still gets the host's CRL, and a CRL of its own is not used. */
static void test_guest_crl_ignored(void **state) {
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_(X509_CRL_freep) X509_CRL *guest_crl = NULL;
        _cleanup_free_ char *reason = NULL;
        CollateralConfig cfg = config(false);

        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(snp_chain_add_cert(chain, sim->leaf, NULL), 0);
        assert_int_equal(snp_chain_add_cert(chain, sim->ask, NULL), 0);
        assert_int_equal(snp_chain_add_cert(chain, sim->ark, NULL), 0);
        assert_int_equal(snp_sim_make_crl(sim, &sim->ask, 1, now - DAY, now + DAY, &guest_crl), 0);
        assert_int_equal(snp_chain_set_crl(chain, guest_crl), 0);
        assert_int_equal(collateral_snp(c, &fx.report, SNP_PRODUCT_MILAN, now, true, 0, chain, &reason), 0);
        assert_ptr_not_equal(chain->crl, guest_crl);
        assert_int_equal(server.vcek, 0); /* the guest's VCEK is used */
        assert_int_equal(server.crl, 1);
        assert_chain_verifies(chain, now);
}

static void test_stale_crl(void **state) {
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_free_ char *reason = NULL;
        CollateralConfig cfg = config(false);
        int64_t later = now + 31 * DAY;

        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(lookup(c, now, 0, NULL, &reason), 0);
        free(TAKE_PTR(reason));
        collateral_free(TAKE_PTR(c));
        /* past nextUpdate (a month on, another process): fetched anew, and what KDS has is no
         * newer: refused, naming the CRL */
        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(lookup(c, later, 0, NULL, &reason), -ESTALE);
        assert_non_null(strstr(reason, "CRL"));
        assert_int_equal(server.crl, 2);
        free(TAKE_PTR(reason));
        /* asked again at once: the same answer, without asking KDS for the same CRL again */
        assert_int_equal(lookup(c, later, 0, NULL, &reason), -ESTALE);
        assert_non_null(strstr(reason, "CRL"));
        assert_int_equal(server.crl, 2);
        free(TAKE_PTR(reason));
        collateral_free(TAKE_PTR(c));
        /* offline: the cached one is stale, and nothing is fetched */
        cfg = config(true);
        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(lookup(c, later, 0, NULL, &reason), -ESTALE);
        assert_non_null(strstr(reason, "CRL"));
        assert_non_null(strstr(reason, "not current"));
        assert_int_equal(server.crl, 2);
}

static void test_crl_max_age(void **state) {
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_free_ char *reason = NULL;
        CollateralConfig cfg = config(true);

        assert_int_equal(snp_sim_write_cache(sim, fx.cache, now - 10 * DAY, now + 20 * DAY), 0);
        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(lookup(c, now, 30 * DAY, NULL, &reason), 0);
        free(TAKE_PTR(reason));
        assert_int_equal(lookup(c, now, 5 * DAY, NULL, &reason), -ESTALE);
        assert_non_null(strstr(reason, "max_crl_age_sec"));
        free(TAKE_PTR(reason));
        collateral_free(TAKE_PTR(c));
        /* online: the newer CRL from KDS (issued a day ago) replaces it */
        cfg = config(false);
        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(lookup(c, now, 5 * DAY, NULL, &reason), 0);
        assert_int_equal(server.crl, 1);
        assert_int_equal(server.vcek, 0);
}

static void run_until_idle(sd_event *e, Collateral *c) {
        CollateralStats st;

        for (int i = 0; i < 100; i++) {
                collateral_stats(c, &st);
                if (st.in_flight == 0)
                        return;
                assert_true(sd_event_run(e, 100000) >= 0);
        }
        fail_msg("the fetch did not finish");
}

static void test_event_single_flight(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(snp_chain_freep) SnpChain *chain = NULL;
        _cleanup_free_ char *r1 = NULL, *r2 = NULL, *r3 = NULL;
        CollateralConfig cfg = config(false);
        CollateralStats st;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(collateral_new_event(&cfg, e, &c), 0);
        /* two launches of one platform: the lookups answer at once, the first starts the fetch */
        assert_int_equal(lookup(c, now, 0, NULL, &r1), -EINPROGRESS);
        assert_int_equal(lookup(c, now, 0, NULL, &r2), -EINPROGRESS);
        assert_non_null(strstr(r2, "being fetched"));
        collateral_stats(c, &st);
        assert_int_equal(st.joined, 1);
        assert_int_equal(st.in_flight, 1);
        run_until_idle(e, c);
        assert_int_equal(lookup(c, now, 0, &chain, &r3), 0);
        assert_chain_verifies(chain, now);
        assert_int_equal(server.vcek, 1);
        assert_int_equal(server.cert_chain, 1);
        assert_int_equal(server.crl, 1);
        collateral_stats(c, &st);
        assert_int_equal(st.fetches, 1);
        assert_int_equal(st.failures, 0);
}

/* collateral_wait(): the caller of a lookup that answered -EINPROGRESS hears, once and on the
 * loop, that the fetch ended, and then the lookup answers; a cancelled waiter hears nothing; a
 * failed fetch wakes the waiter too, and the lookup then fails with the fetch's reason. */
typedef struct Woken {
        Collateral *c;
        unsigned calls;
        int lookup;
        char *reason;
} Woken;

static void on_woken(void *userdata) {
        Woken *w = userdata;

        w->calls++;
        w->lookup = lookup(w->c, now, 0, NULL, &w->reason);
}

static void on_not_woken(void *userdata) {
        fail_msg("a cancelled waiter was called");
}

static void test_event_wait(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(collateral_waiter_freep) CollateralWaiter *w1 = NULL, *w2 = NULL;
        _cleanup_free_ char *r1 = NULL;
        CollateralConfig cfg = config(false);
        Woken woken = {};

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(collateral_new_event(&cfg, e, &c), 0);
        woken.c = c;
        assert_int_equal(lookup(c, now, 0, NULL, &r1), -EINPROGRESS);
        assert_int_equal(collateral_wait(c, on_woken, &woken, &w1), 0);
        assert_int_equal(collateral_wait(c, on_not_woken, NULL, &w2), 0);
        w2 = collateral_waiter_free(w2);
        assert_int_equal(woken.calls, 0); /* not before the fetch ends */
        run_until_idle(e, c);
        assert_int_equal(woken.calls, 1);
        assert_int_equal(woken.lookup, 0);
        assert_null(woken.reason);
        free(woken.reason);
}

static void test_event_wait_failed_fetch(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_(collateral_waiter_freep) CollateralWaiter *w = NULL;
        _cleanup_free_ char *r1 = NULL;
        CollateralConfig cfg = config(false);
        Woken woken = {};

        server.throttle_retry_after = 60;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(collateral_new_event(&cfg, e, &c), 0);
        woken.c = c;
        assert_int_equal(lookup(c, now, 0, NULL, &r1), -EINPROGRESS);
        assert_int_equal(collateral_wait(c, on_woken, &woken, &w), 0);
        run_until_idle(e, c);
        server.throttle_retry_after = 0;
        assert_int_equal(woken.calls, 1);
        assert_true(woken.lookup < 0 && woken.lookup != -EINPROGRESS);
        assert_non_null(woken.reason);
        assert_non_null(strstr(woken.reason, "429"));
        free(woken.reason);
}

static void test_blocking_cannot_wait(void **state) {
        _cleanup_(collateral_freep) Collateral *c = NULL;
        CollateralWaiter *w = NULL;
        CollateralConfig cfg = config(false);

        assert_int_equal(collateral_new(&cfg, &c), 0);
        assert_int_equal(collateral_wait(c, on_not_woken, NULL, &w), -EOPNOTSUPP);
        assert_null(w);
}

/* What KDS serves is stale itself: once fetched, the refusal stands; the launch is not sent
 * round for the same fetch again. */
static void test_event_stale_after_fetch(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_free_ char *r1 = NULL, *r2 = NULL;
        CollateralConfig cfg = config(false);
        int64_t later = now + 31 * DAY;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(collateral_new_event(&cfg, e, &c), 0);
        assert_int_equal(lookup(c, later, 0, NULL, &r1), -EINPROGRESS);
        run_until_idle(e, c);
        assert_int_equal(lookup(c, later, 0, NULL, &r2), -ESTALE);
        assert_non_null(strstr(r2, "CRL"));
        assert_int_equal(server.crl, 1);
}

static void test_retry_after(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(collateral_freep) Collateral *c = NULL;
        _cleanup_free_ char *r1 = NULL, *r2 = NULL;
        CollateralConfig cfg = config(false);
        CollateralStats st;
        unsigned asked;

        server.throttle_retry_after = 3600;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(collateral_new_event(&cfg, e, &c), 0);
        assert_int_equal(lookup(c, now, 0, NULL, &r1), -EINPROGRESS);
        run_until_idle(e, c);
        collateral_stats(c, &st);
        assert_int_equal(st.failures, 1);
        asked = requests();
        assert_true(asked >= 1);
        /* backing off for the hour the server asked for: refused at once, saying so, nothing asked */
        assert_true(lookup(c, now, 0, NULL, &r2) < 0);
        assert_non_null(strstr(r2, "next try in"));
        assert_non_null(strstr(r2, "429"));
        {
                const char *n = strstr(r2, "next try in ");
                unsigned long sec = strtoul(n + strlen("next try in "), NULL, 10);
                assert_true(sec > 3000 && sec <= 3600);
        }
        assert_int_equal(requests(), asked);
}

typedef struct Listed {
        unsigned n;
        unsigned state[_COLLATERAL_STATE_MAX];
        bool saw_crl, saw_vcek;
} Listed;

static int on_entry(void *userdata, const CollateralEntry *e) {
        Listed *l = userdata;

        l->n++;
        l->state[e->state]++;
        assert_string_equal(e->tee, "sev-snp");
        assert_string_equal(e->platform, "Milan");
        if (streq(e->kind, "crl"))
                l->saw_crl = true;
        if (streq(e->kind, "vcek")) {
                l->saw_vcek = true;
                assert_non_null(e->detail);
                assert_non_null(strstr(e->detail, "chip 404142"));
        }
        return 0;
}

static void test_list(void **state) {
        Listed l = {};

        assert_int_equal(collateral_list(fx.cache, now, 0, on_entry, &l), 0);
        assert_int_equal(l.n, 0); /* absent cache: empty */
        assert_int_equal(snp_sim_write_cache(sim, fx.cache, now - DAY, now + 30 * DAY), 0);
        assert_int_equal(collateral_list(fx.cache, now, 0, on_entry, &l), 0);
        assert_int_equal(l.n, 3);
        assert_int_equal(l.state[COLLATERAL_FRESH], 3);
        assert_true(l.saw_crl && l.saw_vcek);
        /* within a day of the CRL's nextUpdate: expiring; past it: stale */
        l = (Listed) {};
        assert_int_equal(collateral_list(fx.cache, now + 29 * DAY + 3600, 0, on_entry, &l), 0);
        assert_int_equal(l.state[COLLATERAL_EXPIRING], 1);
        l = (Listed) {};
        assert_int_equal(collateral_list(fx.cache, now + 31 * DAY, 0, on_entry, &l), 0);
        assert_int_equal(l.state[COLLATERAL_STALE], 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fetch_then_cache, setup, teardown),
                cmocka_unit_test_setup_teardown(test_offline_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guest_crl_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_crl, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crl_max_age, setup, teardown),
                cmocka_unit_test_setup_teardown(test_event_single_flight, setup, teardown),
                cmocka_unit_test_setup_teardown(test_event_stale_after_fetch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
                cmocka_unit_test_setup_teardown(test_event_wait, setup, teardown),
                cmocka_unit_test_setup_teardown(test_event_wait_failed_fetch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_blocking_cannot_wait, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
