/* SPDX-License-Identifier: Apache-2.0 */
/* The launcher's libvirt lifecycle against libvirt's in-process test driver (test:///default):
 * a tee "none" spec placed on a synthetic host and rendered for the test driver is created as a
 * transient domain, found again by its cvmd metadata, rebuilt into a ledger, destroyed with a
 * "stopped" event, and a domain destroyed behind the launcher's back is reported as "died". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "cvm/domain-xml.h"
#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"
#include "cvm/lifecycle.h"
#include "cvm/placement.h"
#include "cvm/util.h"

#define URI "test:///default"

/* Two cells, four 2-thread cores each (CPU n and n+8 are siblings), 4096 free 2 MiB pages each. */
static const char caps_xml[] =
        "<capabilities><host><topology><cells num='2'>"
        "<cell id='0'><memory unit='KiB'>16777216</memory><pages unit='KiB' size='2048'>4096</pages><cpus num='8'>"
        "<cpu id='0' socket_id='0' core_id='0' siblings='0,8'/><cpu id='1' socket_id='0' core_id='1' siblings='1,9'/>"
        "<cpu id='2' socket_id='0' core_id='2' siblings='2,10'/><cpu id='3' socket_id='0' core_id='3' siblings='3,11'/>"
        "<cpu id='8' socket_id='0' core_id='0' siblings='0,8'/><cpu id='9' socket_id='0' core_id='1' siblings='1,9'/>"
        "<cpu id='10' socket_id='0' core_id='2' siblings='2,10'/><cpu id='11' socket_id='0' core_id='3' siblings='3,11'/>"
        "</cpus></cell>"
        "<cell id='1'><memory unit='KiB'>16777216</memory><pages unit='KiB' size='2048'>4096</pages><cpus num='8'>"
        "<cpu id='4' socket_id='1' core_id='0' siblings='4,12'/><cpu id='5' socket_id='1' core_id='1' siblings='5,13'/>"
        "<cpu id='6' socket_id='1' core_id='2' siblings='6,14'/><cpu id='7' socket_id='1' core_id='3' siblings='7,15'/>"
        "<cpu id='12' socket_id='1' core_id='0' siblings='4,12'/><cpu id='13' socket_id='1' core_id='1' siblings='5,13'/>"
        "<cpu id='14' socket_id='1' core_id='2' siblings='6,14'/><cpu id='15' socket_id='1' core_id='3' siblings='7,15'/>"
        "</cpus></cell></cells></topology></host></capabilities>";

typedef struct Seen {
        LifecycleEvent events[32];
        char names[32][64];
        size_t n;
} Seen;

static void record(const LifecycleEvent *e, void *userdata) {
        Seen *s = userdata;

        if (s->n >= ELEMENTSOF(s->events))
                return;
        s->events[s->n] = *e;
        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", e->name);
        s->events[s->n].name = s->names[s->n];
        s->events[s->n].uuid = NULL;
        s->n++;
}

/* Runs the loop until an event of kind for name arrived (or 5 s passed). */
static bool wait_for(Lifecycle *l, Seen *s, const char *name, LifecycleEventKind kind, bool *cvmd) {
        for (int i = 0; i < 50; i++) {
                for (size_t k = 0; k < s->n; k++)
                        if (streq(s->names[k], name) && s->events[k].kind == kind) {
                                if (cvmd)
                                        *cvmd = s->events[k].cvmd_domain;
                                return true;
                        }
                assert_true(lifecycle_run(l, 100) >= 0);
        }
        return false;
}

static char *render(const char *name, unsigned vcpus, uint32_t cid, PlacementLedger *ledger, Placement **ret_p) {
        _cleanup_(launch_spec_freep) LaunchSpec *spec = NULL;
        _cleanup_(host_probe_freep) HostProbe *h = host_probe_new();
        _cleanup_free_ char *json = NULL, *reason = NULL;
        Placement *p = NULL;
        char *xml = NULL;
        DomainXmlOptions o = { .domain_type = "test", .arch = "", .machine = "", .vsock_cid = cid };

        json = strdup_printf("{\"name\":\"%s\",\"tee\":\"none\",\"vcpus\":%u,\"memory_mib\":1024,"
                             "\"boot\":{\"disk\":\"/var/lib/cvmd/images/%s.img\"},\"policy\":\"dev\"}",
                             name, vcpus, name);
        assert_non_null(json);
        assert_int_equal(launch_spec_parse(json, strlen(json), &spec, &reason), 0);
        assert_int_equal(host_probe_parse_caps(h, caps_xml, strlen(caps_xml), &reason), 0);
        assert_int_equal(placement_compute(spec, h, ledger, NULL, &p, &reason), 0);
        assert_int_equal(domain_xml_render(spec, h, p, &o, &xml, &reason), 0);
        if (ret_p)
                *ret_p = p;
        else
                placement_free(p);
        return xml;
}

static void test_create_list_destroy(void **state) {
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        _cleanup_(placement_ledger_done) PlacementLedger ledger = {}, rebuilt = {};
        _cleanup_(placement_freep) Placement *p1 = NULL;
        _cleanup_free_ char *xml1 = NULL, *xml2 = NULL, *name = NULL, *reason = NULL;
        LifecycleDomain *d = NULL;
        size_t n = 0, bad = 0;
        uint32_t cid;
        Seen seen = {};
        bool cvmd = false;

        assert_int_equal(lifecycle_open(URI, record, &seen, &l, &reason), 0);

        /* nothing of cvmd's yet (the test driver's own "test" domain has no metadata) */
        assert_int_equal(lifecycle_list(l, &d, &n, &bad, &reason), 0);
        assert_int_equal(n, 0);
        lifecycle_domains_free(d, n);
        assert_int_equal(lifecycle_next_vsock_cid(l, &cid, &reason), 0);
        assert_int_equal(cid, 3);

        xml1 = render("cvm-a", 4, 3, &ledger, &p1);
        assert_int_equal(lifecycle_create(l, xml1, &name, &reason), 0);
        assert_string_equal(name, "cvm-a");
        assert_true(wait_for(l, &seen, "cvm-a", LIFECYCLE_STARTED, &cvmd));
        assert_true(cvmd);
        assert_int_equal(placement_ledger_add(&ledger, p1), 0);

        /* a second launch gets other cores, and the next free CID */
        assert_int_equal(lifecycle_next_vsock_cid(l, &cid, &reason), 0);
        assert_int_equal(cid, 4);
        xml2 = render("cvm-b", 4, cid, &ledger, NULL);
        assert_int_equal(lifecycle_create(l, xml2, NULL, &reason), 0);

        /* both are found by metadata, with what they hold */
        assert_int_equal(lifecycle_list(l, &d, &n, &bad, &reason), 0);
        assert_int_equal(n, 2);
        assert_int_equal(bad, 0);
        assert_string_equal(d[0].name, "cvm-a");
        assert_string_equal(d[1].name, "cvm-b");
        assert_true(d[0].active);
        assert_string_equal(d[0].meta.policy, "dev");
        assert_string_equal(d[0].meta.tee, "none");
        assert_int_equal(d[0].meta.vsock_cid, 3);
        assert_int_equal(d[1].meta.vsock_cid, 4);
        assert_int_equal(d[0].meta.placement->n_vcpus, 4);
        assert_memory_equal(d[0].meta.placement->vcpu_pins, p1->vcpu_pins, 4 * sizeof(unsigned));
        for (size_t i = 0; i < d[1].meta.placement->n_reserved; i++)
                assert_false(placement_ledger_cpu_held(&ledger, d[1].meta.placement->reserved_cpus[i]));
        lifecycle_domains_free(d, n);

        /* after a "restart" the ledger is rebuilt from libvirt */
        assert_int_equal(lifecycle_rebuild_ledger(l, &rebuilt, &reason), 0);
        assert_int_equal(rebuilt.n_held, 2);
        /* cvm-a took two cores of cell 0, so cvm-b (four vCPUs) went to cell 1 */
        assert_int_equal(placement_ledger_pages(&rebuilt, 0, 2048), 512);
        assert_int_equal(placement_ledger_pages(&rebuilt, 1, 2048), 512);

        /* cvmd destroys one: an expected stop */
        assert_int_equal(lifecycle_destroy(l, "cvm-a", &reason), 0);
        assert_true(wait_for(l, &seen, "cvm-a", LIFECYCLE_STOPPED, NULL));
        assert_int_equal(lifecycle_destroy(l, "cvm-a", &reason), -ENOENT);
        free(reason);
        reason = NULL;
        /* never the domains it did not start */
        assert_int_equal(lifecycle_destroy(l, "test", &reason), -EPERM);
        assert_non_null(strstr(reason, "not cvmd's"));
        free(reason);
        reason = NULL;

        /* the other dies behind the launcher's back: destroyed through a second connection */
        {
                virConnectPtr other = virConnectOpen(URI);
                virDomainPtr dom;
                assert_non_null(other);
                dom = virDomainLookupByName(other, "cvm-b");
                assert_non_null(dom);
                assert_int_equal(virDomainDestroy(dom), 0);
                virDomainFree(dom);
                virConnectClose(other);
        }
        assert_true(wait_for(l, &seen, "cvm-b", LIFECYCLE_DIED, &cvmd));
        assert_true(cvmd);
        assert_false(wait_for(l, &seen, "cvm-b", LIFECYCLE_STOPPED, NULL));

        /* transient domains are gone once stopped */
        assert_int_equal(lifecycle_list(l, &d, &n, &bad, &reason), 0);
        assert_int_equal(n, 0);
        lifecycle_domains_free(d, n);
}

static void test_refusals(void **state) {
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        _cleanup_free_ char *reason = NULL, *xml = NULL;
        char *name = NULL;

        assert_int_equal(lifecycle_open(URI, NULL, NULL, &l, &reason), 0);
        /* XML without cvmd's metadata is not started */
        assert_int_equal(lifecycle_create(l, "<domain type='test'><name>x</name><memory>1024</memory>"
                                             "<os><type>hvm</type></os></domain>", &name, &reason), -EINVAL);
        assert_null(name);
        free(reason);
        reason = NULL;
        /* libvirt's refusal comes back with its message: a second domain of the same name */
        xml = render("cvm-dup", 2, 5, NULL, NULL);
        assert_int_equal(lifecycle_create(l, xml, NULL, &reason), 0);
        assert_true(lifecycle_create(l, xml, NULL, &reason) < 0);
        assert_non_null(reason);
        assert_int_equal(lifecycle_destroy(l, "cvm-dup", NULL), 0);
        free(reason);
        reason = NULL;
        /* a URI that does not open */
        lifecycle_free(TAKE_PTR(l));
        assert_true(lifecycle_open("test:///nonexistent/file.xml", NULL, NULL, &l, &reason) < 0);
        assert_null(l);
        assert_non_null(reason);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_list_destroy),
                cmocka_unit_test(test_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
