/* SPDX-License-Identifier: Apache-2.0 */
/* The host ledger on libvirt's test driver (test:///default, one instance per process): a
 * foreign (non-cvmd) domain's pinned CPUs and CID are never given out; a "restart" (a new
 * connection rebuilding from libvirt) gives the same ledger; and two launches that each fit
 * alone but not together, planned and created at once from two threads with connections of
 * their own, end with exactly one domain, the other refused naming the cell and the resource,
 * because the ledger lock in the state directory makes plan-and-create one step. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cvm/launch-plan.h"
#include "cvm/lifecycle.h"
#include "cvm/util.h"
#include "../common/test-dir.h"

#define URI "test:///default"

/* One cell of four cores (no SMT): core 0 is housekeeping, three are left for guests. */
static const char caps_xml[] =
        "<capabilities><host><topology><cells num='1'><cell id='0'><memory unit='KiB'>16777216</memory>"
        "<pages unit='KiB' size='2048'>4096</pages><cpus num='4'>"
        "<cpu id='0' socket_id='0' core_id='0' siblings='0'/><cpu id='1' socket_id='0' core_id='1' siblings='1'/>"
        "<cpu id='2' socket_id='0' core_id='2' siblings='2'/><cpu id='3' socket_id='0' core_id='3' siblings='3'/>"
        "</cpus></cell></cells></topology></host></capabilities>";
static const char domcaps_xml[] = "<domainCapabilities><features><sev supported='no'/><tdx supported='no'/></features>"
                                  "</domainCapabilities>";

/* A domain someone else started: vCPU 0 pinned to CPU 1, vsock CID 3. */
static const char foreign_xml[] =
        "<domain type='test'><name>not-cvmd</name><memory unit='MiB'>512</memory><vcpu placement='static'>1</vcpu>"
        "<cputune><vcpupin vcpu='0' cpuset='1'/></cputune><os><type>hvm</type></os>"
        "<devices><vsock model='virtio'><cid auto='no' address='3'/></vsock></devices></domain>";

static LaunchSpec *spec(const char *name, unsigned vcpus) {
        _cleanup_free_ char *json = strdup_printf("{\"name\":\"%s\",\"tee\":\"none\",\"vcpus\":%u,\"memory_mib\":512,"
                                                  "\"boot\":{\"disk\":\"/img\"},\"policy\":\"dev\"}",
                                                  name, vcpus);
        LaunchSpec *s = NULL;

        assert_int_equal(launch_spec_parse(json, strlen(json), &s, NULL), 0);
        return s;
}

static LaunchPlanOptions options(const char *state_dir) {
        return (LaunchPlanOptions) {
                .host_caps_xml = caps_xml,
                .host_caps_size = strlen(caps_xml),
                .domcaps_xml = domcaps_xml,
                .domcaps_size = strlen(domcaps_xml),
                .housekeeping_cores = 1,
                .domain_type = "test",
                .state_dir = state_dir,
                .ledger_lock_timeout_sec = 30,
        };
}

static void destroy(const char *name) {
        virConnectPtr c = virConnectOpen(URI);
        virDomainPtr d = c ? virDomainLookupByName(c, name) : NULL;

        if (d) {
                (void) virDomainDestroy(d);
                virDomainFree(d);
        }
        if (c)
                virConnectClose(c);
}

static void test_foreign_and_restart(void **state) {
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        _cleanup_(placement_ledger_done) PlacementLedger before = {}, after = {};
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec("cvm-one", 2);
        _cleanup_(launch_plan_freep) LaunchPlan *plan = NULL;
        _cleanup_free_ char *reason = NULL;
        LaunchPlanOptions o = options(*state);
        virDomainPtr foreign;
        /* libvirt itself, which outlives cvmd's connections (the test driver's domains live as
         * long as one connection does) */
        virConnectPtr libvirtd = virConnectOpen(URI);

        assert_non_null(libvirtd);
        assert_int_equal(lifecycle_open(URI, NULL, NULL, &l, &reason), 0);
        foreign = virDomainCreateXML(lifecycle_connection(l), foreign_xml, 0);
        assert_non_null(foreign);
        virDomainFree(foreign);

        /* the plan reads every domain: CPU 1 and CID 3 are someone else's */
        if (launch_plan_build(s, l, &o, &plan, &reason) < 0)
                fail_msg("plan: %s", reason);
        assert_int_equal(plan->placement->vcpu_pins[0], 2);
        assert_int_equal(plan->placement->vcpu_pins[1], 3);
        assert_int_equal(plan->vsock_cid, 4);
        assert_int_equal(lifecycle_create(l, plan->xml, NULL, &reason), 0);

        assert_int_equal(lifecycle_rebuild_host_ledger(l, plan->host, &before, &reason), 0);
        lifecycle_ledger_unlock(l);
        {
                const char *names[] = { "not-cvmd", "cvm-one", "test" }; /* "test": the driver's own domain */
                assert_int_equal(before.n_held, 3);
                for (size_t i = 0; i < 3; i++) {
                        bool found = false;
                        for (size_t k = 0; k < before.n_held; k++)
                                found = found || streq(before.held[k]->owner, names[i]);
                        assert_true(found);
                }
        }
        assert_true(placement_ledger_cpu_held(&before, 1));
        assert_string_equal(placement_ledger_cid_holder(&before, 3), "not-cvmd");
        assert_string_equal(placement_ledger_cid_holder(&before, 4), "cvm-one");

        /* a "restart": a new connection rebuilds the same ledger from libvirt alone */
        lifecycle_free(TAKE_PTR(l));
        assert_int_equal(lifecycle_open(URI, NULL, NULL, &l, &reason), 0);
        assert_int_equal(lifecycle_rebuild_host_ledger(l, plan->host, &after, &reason), 0);
        lifecycle_ledger_unlock(l);
        if (!placement_ledger_equal(&before, &after)) {
                json_object *x = placement_ledger_to_json(&before), *y = placement_ledger_to_json(&after);
                fprintf(stderr, "before: %s\nafter:  %s\n", json_object_to_json_string(x), json_object_to_json_string(y));
                fail_msg("a restart rebuilt another ledger");
        }
        /* and a launch after it still gets no held CPU: none is left */
        {
                _cleanup_(launch_spec_freep) LaunchSpec *t = spec("cvm-two", 1);
                _cleanup_(launch_plan_freep) LaunchPlan *p2 = NULL;
                free(reason);
                reason = NULL;
                assert_int_equal(launch_plan_build(t, l, &o, &p2, &reason), -EPERM);
                assert_string_equal(reason, "placement refused: needs 1 free CPUs (whole cores, 1 housekeeping core "
                                            "kept) on cell 0, 0 free");
        }
        destroy("cvm-one");
        destroy("not-cvmd");
        virConnectClose(libvirtd);
}

typedef struct Launcher {
        const char *state_dir;
        const char *name;
        pthread_barrier_t *start;
        int r;
        char *reason;
} Launcher;

/* One launch as the engine runs it: plan (the ledger under its lock), then create. */
static void *launch_thread(void *userdata) {
        Launcher *x = userdata;
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec(x->name, 2);
        _cleanup_(launch_plan_freep) LaunchPlan *plan = NULL;
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        LaunchPlanOptions o = options(x->state_dir);

        x->r = lifecycle_open(URI, NULL, NULL, &l, &x->reason);
        (void) pthread_barrier_wait(x->start);
        if (x->r < 0)
                return NULL;
        x->r = launch_plan_build(s, l, &o, &plan, &x->reason);
        if (x->r >= 0)
                x->r = lifecycle_create(l, plan->xml, NULL, &x->reason);
        return NULL;
}

static void test_concurrent_launches(void **state) {
        _cleanup_(lifecycle_freep) Lifecycle *first = NULL;
        pthread_barrier_t start;
        Launcher a = { .state_dir = *state, .name = "race-a", .start = &start };
        Launcher b = { .state_dir = *state, .name = "race-b", .start = &start };
        pthread_t ta, tb;
        _cleanup_free_ char *reason = NULL;

        /* libvirt's event loop is registered once, by the first connection */
        assert_int_equal(lifecycle_open(URI, NULL, NULL, &first, &reason), 0);
        assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
        /* each needs two of the three free cores: alone each fits, together they do not */
        assert_int_equal(pthread_create(&ta, NULL, launch_thread, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, launch_thread, &b), 0);
        assert_int_equal(pthread_join(ta, NULL), 0);
        assert_int_equal(pthread_join(tb, NULL), 0);
        pthread_barrier_destroy(&start);

        if ((a.r >= 0) == (b.r >= 0))
                fail_msg("want exactly one launch: race-a %d (%s), race-b %d (%s)", a.r, a.reason ? a.reason : "",
                         b.r, b.reason ? b.reason : "");
        {
                const Launcher *lost = a.r < 0 ? &a : &b;
                assert_int_equal(lost->r, -EPERM);
                assert_string_equal(lost->reason, "placement refused: needs 2 free CPUs (whole cores, 1 housekeeping "
                                                  "core kept) on cell 0, 1 free");
        }
        destroy(a.r >= 0 ? "race-a" : "race-b");
        free(a.reason);
        free(b.reason);
}

/* A lock another launch holds, and never lets go of, is a refusal after the timeout. */
static void test_lock_held(void **state) {
        _cleanup_(lifecycle_freep) Lifecycle *holder = NULL, *l = NULL;
        _cleanup_(placement_ledger_done) PlacementLedger ledger = {}, other = {};
        _cleanup_free_ char *reason = NULL, *path = strdup_printf("%s/ledger.lock", (char *) *state);

        assert_int_equal(lifecycle_open(URI, NULL, NULL, &holder, &reason), 0);
        assert_int_equal(lifecycle_open(URI, NULL, NULL, &l, &reason), 0);
        assert_int_equal(lifecycle_set_ledger_lock(holder, path, 1), 0);
        assert_int_equal(lifecycle_set_ledger_lock(l, path, 1), 0);
        assert_int_equal(lifecycle_rebuild_host_ledger(holder, NULL, &ledger, &reason), 0);
        assert_int_equal(lifecycle_rebuild_host_ledger(l, NULL, &other, &reason), -EBUSY);
        assert_non_null(strstr(reason, "another launch has held the host ledger lock"));
        assert_non_null(strstr(reason, path));
        /* let go: the next one gets it */
        lifecycle_ledger_unlock(holder);
        placement_ledger_done(&other);
        assert_int_equal(lifecycle_rebuild_host_ledger(l, NULL, &other, &reason), 0);
        lifecycle_ledger_unlock(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_foreign_and_restart, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_launches, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_lock_held, test_dir_setup, test_dir_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
