/* SPDX-License-Identifier: Apache-2.0 */
/* Placement on synthetic hosts (1, 2 and 4 NUMA cells, with and without SMT): GPU-local cells,
 * whole cores with SMT siblings together and a guest topology that says so, the housekeeping
 * core, memory per cell by capacity (the 7:1 GPU split), a SEV-SNP guest's private
 * memory from ordinary memory and its shared view from hugepages (or a capped shared part),
 * refusals that name the cell and the resource, the ledger between competing launches,
 * devices and IOMMU groups held once, a foreign domain's pins, memory, devices and CID read
 * from its XML and never given out, determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"
#include "cvm/lifecycle.h"
#include "cvm/placement.h"
#include "cvm/util.h"

/* A host of `cells` cells, `cores` cores per cell and `threads` threads per core. CPU numbering
 * as Linux does it on two-socket servers: thread t of core c in cell n is
 * t * (cells * cores) + n * cores + c. Every cell has pages2m 2 MiB and pages1g 1 GiB pages. */
static HostProbe *host(unsigned cells, unsigned cores, unsigned threads, uint64_t pages2m, uint64_t pages1g) {
        HostProbe *h = host_probe_new();
        size_t size = 1 << 20, len = 0;
        _cleanup_free_ char *x = malloc(size);
        _cleanup_free_ char *reason = NULL;

        assert_non_null(h);
        assert_non_null(x);
        len += (size_t) snprintf(x + len, size - len, "<capabilities><host><topology><cells num='%u'>", cells);
        for (unsigned n = 0; n < cells; n++) {
                len += (size_t) snprintf(x + len, size - len,
                                         "<cell id='%u'><memory unit='KiB'>%llu</memory>"
                                         "<pages unit='KiB' size='4'>1000</pages>"
                                         "<pages unit='KiB' size='2048'>%llu</pages>"
                                         "<pages unit='KiB' size='1048576'>%llu</pages><cpus num='%u'>",
                                         n, 1ull << 30, (unsigned long long) pages2m, (unsigned long long) pages1g,
                                         cores * threads);
                for (unsigned t = 0; t < threads; t++)
                        for (unsigned c = 0; c < cores; c++) {
                                unsigned id = t * cells * cores + n * cores + c;
                                len += (size_t) snprintf(x + len, size - len,
                                                         "<cpu id='%u' socket_id='%u' core_id='%u' siblings='", id, n, c);
                                for (unsigned s = 0; s < threads; s++)
                                        len += (size_t) snprintf(x + len, size - len, "%s%u", s ? "," : "",
                                                                 s * cells * cores + n * cores + c);
                                len += (size_t) snprintf(x + len, size - len, "'/>");
                        }
                len += (size_t) snprintf(x + len, size - len, "</cpus></cell>");
        }
        len += (size_t) snprintf(x + len, size - len, "</cells></topology></host></capabilities>");
        if (host_probe_parse_caps(h, x, len, &reason) < 0)
                fail_msg("caps: %s", reason);
        return h;
}

static void gpu(HostProbe *h, unsigned bus, int node) {
        PciAddress a = { .bus = (uint8_t) bus };
        assert_int_equal(host_probe_set_gpu(h, &a, node, (int) bus, "vfio-pci"), 0);
}

static LaunchSpec *spec(const char *name, unsigned vcpus, uint64_t memory_mib, const char *gpus, const char *page) {
        _cleanup_free_ char *json = strdup_printf(
                "{\"name\":\"%s\",\"tee\":\"sev-snp\",\"vcpus\":%u,\"memory_mib\":%llu,\"gpus\":[%s],"
                "\"hugepage_size\":\"%s\",\"boot\":{\"disk\":\"/d\"},\"policy\":\"p\"}",
                name, vcpus, (unsigned long long) memory_mib, gpus, page);
        _cleanup_free_ char *reason = NULL;
        LaunchSpec *s = NULL;

        if (launch_spec_parse(json, strlen(json), &s, &reason) < 0)
                fail_msg("spec: %s", reason);
        return s;
}

static Placement *place_ok(const LaunchSpec *s, const HostProbe *h, const PlacementLedger *l) {
        _cleanup_free_ char *reason = NULL;
        Placement *p = NULL;

        if (placement_compute(s, h, l, NULL, &p, &reason) < 0)
                fail_msg("placement refused: %s", reason);
        return p;
}

static void place_fails(const LaunchSpec *s, const HostProbe *h, const PlacementLedger *l, int want_r,
                        const char *want) {
        Placement *sentinel = (Placement *) 0x1, *p = sentinel;
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(placement_compute(s, h, l, NULL, &p, &reason), want_r);
        assert_ptr_equal(p, sentinel);
        if (!streq_ptr(reason, want))
                fail_msg("\n  got:  %s\n  want: %s", reason, want);
}

static void assert_cpus(const unsigned *v, size_t n, const char *want) {
        _cleanup_free_ char *s = cpuset_format(v, n);
        assert_string_equal(s, want);
}

static void test_one_cell(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(1, 8, 1, 4096, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec("a", 4, 2048, "", "2M");
        _cleanup_(placement_freep) Placement *p = place_ok(s, h, NULL), *again = place_ok(s, h, NULL);

        assert_int_equal(p->n_cells, 1);
        assert_int_equal(p->cells[0].host_cell, 0);
        assert_int_equal(p->cells[0].pages, 1024);
        assert_int_equal(p->cells[0].n_vcpus, 4);
        /* core 0 is the housekeeping core: the emulator runs there, no vCPU does */
        assert_cpus(p->emulator_cpus, p->n_emulator, "0");
        assert_cpus(p->vcpu_pins, 4, "1-4");
        assert_cpus(p->reserved_cpus, p->n_reserved, "1-4");
        assert_int_equal(p->sockets * p->cores * p->threads, 4);
        /* deterministic */
        assert_memory_equal(p->vcpu_pins, again->vcpu_pins, 4 * sizeof(unsigned));

        /* seven usable cores: eight vCPUs do not fit */
        _cleanup_(launch_spec_freep) LaunchSpec *big = spec("b", 8, 2048, "", "2M");
        place_fails(big, h, NULL, -ENOSPC,
                    "needs 8 free CPUs (whole cores, 1 housekeeping core kept) on cell 0, 7 free");
        /* ... unless no housekeeping core is kept; then the emulator shares the guest's CPUs */
        {
                PlacementOptions o = { .housekeeping_cores = 0 };
                _cleanup_(placement_freep) Placement *q = NULL;
                assert_int_equal(placement_compute(big, h, NULL, &o, &q, NULL), 0);
                assert_cpus(q->emulator_cpus, q->n_emulator, "0-7");
        }
}

static void test_smt(void **state) {
        /* 2 cells x 4 cores x 2 threads: cell 0 has CPUs 0-3 and 8-11, siblings n and n+8 */
        _cleanup_(host_probe_freep) HostProbe *h = host(2, 4, 2, 4096, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec("a", 6, 1024, "", "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *odd = spec("b", 3, 1024, "", "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *five = spec("c", 5, 1024, "", "2M");
        _cleanup_(placement_freep) Placement *p = place_ok(s, h, NULL), *q = place_ok(odd, h, NULL);
        static const unsigned want[] = { 1, 9, 2, 10, 3, 11 };

        assert_memory_equal(p->vcpu_pins, want, sizeof(want));
        assert_cpus(p->emulator_cpus, p->n_emulator, "0,8");
        assert_int_equal(p->threads, 2);
        assert_int_equal(p->cores, 3);
        assert_int_equal(p->sockets, 1);
        /* an odd count: one vCPU per core, its sibling held idle, so that the guest's one thread
         * per core is what the pinning does */
        assert_cpus(q->reserved_cpus, q->n_reserved, "1-3,9-11");
        {
                static const unsigned want_odd[] = { 1, 2, 3 };
                assert_memory_equal(q->vcpu_pins, want_odd, sizeof(want_odd));
        }
        assert_int_equal(q->threads, 1);
        assert_int_equal(q->cores, 3);
        /* five such cores are more than a cell has */
        place_fails(five, h, NULL, -ENOSPC,
                    "needs 5 free cores (one vCPU per core: 5 vCPUs are not a multiple of the 2 threads per core; 1 "
                    "housekeeping core kept) on cell 0, 3 free; needs 5 free cores (one vCPU per core: 5 vCPUs are not "
                    "a multiple of the 2 threads per core; 1 housekeeping core kept) on cell 1, 3 free");
}

static void test_two_cells_gpu_local(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(2, 8, 1, 4096, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec("a", 4, 4096, "\"0000:c1:00.0\"", "2M");
        _cleanup_(placement_freep) Placement *p = NULL;

        gpu(h, 0xc1, 1);
        p = place_ok(s, h, NULL);
        assert_int_equal(p->n_cells, 1);
        assert_int_equal(p->cells[0].host_cell, 1);
        assert_int_equal(p->cells[0].pages, 2048);
        assert_cpus(p->vcpu_pins, 4, "9-12");
        assert_cpus(p->emulator_cpus, p->n_emulator, "8");
}

static void test_four_cells_eight_gpus(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(4, 16, 2, 0, 512);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec(
                "big", 32, 524288,
                "\"0000:11:00.0\",\"0000:12:00.0\",\"0000:13:00.0\",\"0000:14:00.0\","
                "\"0000:91:00.0\",\"0000:92:00.0\",\"0000:93:00.0\",\"0000:94:00.0\"",
                "1G");
        _cleanup_(placement_freep) Placement *p = NULL;

        for (unsigned i = 0; i < 4; i++) {
                gpu(h, 0x11 + i, 3); /* listed first, but on the higher cell */
                gpu(h, 0x91 + i, 1);
        }
        p = place_ok(s, h, NULL);
        /* two guest cells mirroring host cells 1 and 3, ascending, half of everything each */
        assert_int_equal(p->n_cells, 2);
        assert_int_equal(p->cells[0].host_cell, 1);
        assert_int_equal(p->cells[1].host_cell, 3);
        assert_int_equal(p->cells[0].pages, 256);
        assert_int_equal(p->cells[1].pages, 256);
        assert_int_equal(p->cells[0].n_vcpus, 16);
        assert_int_equal(p->cells[1].first_vcpu, 16);
        assert_int_equal(p->page_kib, 1048576);
        assert_int_equal(p->sockets, 2);
        assert_int_equal(p->cores, 8);
        assert_int_equal(p->threads, 2);
        /* cell 1 is CPUs 16-31 and 80-95; core 16 (16,80) is housekeeping */
        assert_int_equal(p->vcpu_pins[0], 17);
        assert_int_equal(p->vcpu_pins[1], 81);
        assert_cpus(p->emulator_cpus, p->n_emulator, "16,80");
        /* cell 3 is CPUs 48-63 and 112-127 */
        assert_int_equal(p->vcpu_pins[16], 49);
        assert_int_equal(p->vcpu_pins[17], 113);
}

static void test_uneven_gpus(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(4, 8, 1, 8192, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec(
                "a", 8, 8192, "\"0000:01:00.0\",\"0000:02:00.0\",\"0000:03:00.0\",\"0000:04:00.0\"", "2M");
        _cleanup_(placement_freep) Placement *p = NULL;

        gpu(h, 1, 0);
        gpu(h, 2, 0);
        gpu(h, 3, 2);
        gpu(h, 4, 0);
        p = place_ok(s, h, NULL);
        assert_int_equal(p->n_cells, 2);
        assert_int_equal(p->cells[0].host_cell, 0);
        assert_int_equal(p->cells[0].n_vcpus, 6);
        assert_int_equal(p->cells[0].pages, 3072);
        assert_int_equal(p->cells[1].host_cell, 2);
        assert_int_equal(p->cells[1].n_vcpus, 2);
        assert_int_equal(p->cells[1].pages, 1024);
        assert_int_equal(p->sockets, 1); /* unequal cells: one socket */
}

static void test_too_few_pages(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(2, 32, 1, 65536, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec("a", 8, 262144, "\"0000:c1:00.0\"", "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *g = spec("b", 8, 262144, "", "1G");

        gpu(h, 0xc1, 1);
        place_fails(s, h, NULL, -ENOSPC, "needs 131072 free 2 MiB pages on cell 1, 65536 free");
        /* free pages below the pool: the host's free count wins */
        h->cells[1].pages_total[HOST_PAGE_2M] = 200000;
        h->cells[1].pages_free[HOST_PAGE_2M] = 100000;
        place_fails(s, h, NULL, -ENOSPC, "needs 131072 free 2 MiB pages on cell 1, 100000 free");
        /* no GPU, no single cell large enough: every cell's shortfall */
        place_fails(g, h, NULL, -ENOSPC,
                    "needs 256 free 1 GiB pages on cell 0, 0 free; needs 256 free 1 GiB pages on cell 1, 0 free");
}

static void test_gpu_problems(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(2, 8, 1, 4096, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec("a", 2, 1024, "\"0000:c1:00.0\"", "2M");
        _cleanup_(placement_freep) Placement *p = NULL;

        place_fails(s, h, NULL, -ENODEV, "GPU 0000:c1:00.0 is not on this host");
        gpu(h, 0xc1, 7);
        place_fails(s, h, NULL, -ENODEV, "GPU 0000:c1:00.0 is on NUMA node 7, which the host capabilities do not list");
        /* unknown locality on a two-cell host: no constraint, the first cell that fits */
        gpu(h, 0xc1, -1);
        p = place_ok(s, h, NULL);
        assert_int_equal(p->cells[0].host_cell, 0);
}

static void test_competing_launches(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(2, 8, 2, 4096, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *a = spec("a", 8, 4096, "\"0000:c1:00.0\"", "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *b = spec("b", 4, 2048, "\"0000:c2:00.0\"", "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *c = spec("c", 6, 2048, "\"0000:c3:00.0\"", "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *d = spec("d", 2, 4096, "\"0000:c3:00.0\"", "2M");
        _cleanup_(placement_ledger_done) PlacementLedger l = {};
        _cleanup_(placement_freep) Placement *pa = NULL, *pb = NULL, *pc = NULL;

        gpu(h, 0xc1, 1);
        gpu(h, 0xc2, 1);
        gpu(h, 0xc3, 1);
        pa = place_ok(a, h, &l);
        assert_int_equal(placement_ledger_add(&l, pa), 0);
        assert_int_equal(placement_ledger_add(&l, pa), -EEXIST);
        assert_int_equal(placement_ledger_pages(&l, 1, 2048), 2048);
        pb = place_ok(b, h, &l);
        /* no CPU and no page twice */
        for (size_t i = 0; i < pb->n_reserved; i++)
                assert_false(placement_ledger_cpu_held(&l, pb->reserved_cpus[i]));
        assert_cpus(pa->reserved_cpus, pa->n_reserved, "9-12,25-28");
        assert_cpus(pb->reserved_cpus, pb->n_reserved, "13-14,29-30");
        assert_int_equal(placement_ledger_add(&l, pb), 0);
        /* cell 1 has one free core (2 CPUs) and 1024 free pages left */
        place_fails(c, h, &l, -ENOSPC,
                    "needs 6 free CPUs (whole cores, 1 housekeeping core kept) on cell 1, 2 free");
        place_fails(d, h, &l, -ENOSPC, "needs 2048 free 2 MiB pages on cell 1, 1024 free");
        /* the same name twice is refused */
        place_fails(a, h, &l, -EEXIST, "a domain named 'a' already holds resources");
        /* released, it fits again */
        assert_int_equal(placement_ledger_release(&l, "a"), 0);
        assert_int_equal(placement_ledger_release(&l, "a"), -ENOENT);
        pc = place_ok(c, h, &l);
        assert_cpus(pc->reserved_cpus, pc->n_reserved, "9-11,25-27");
}

/* The case: GPUs split 7:1 over two cells, the GPU-heavy cell short of pages. The memory
 * follows capacity: cell 0 gives what it has, cell 1 the rest. */
static void test_capacity_split(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(2, 16, 2, 200000, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec(
                "a", 16, 524288,
                "\"0000:11:00.0\",\"0000:12:00.0\",\"0000:13:00.0\",\"0000:14:00.0\",\"0000:15:00.0\",\"0000:16:00.0\","
                "\"0000:17:00.0\",\"0000:91:00.0\"",
                "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *big = spec(
                "b", 16, 819200,
                "\"0000:11:00.0\",\"0000:12:00.0\",\"0000:13:00.0\",\"0000:14:00.0\",\"0000:15:00.0\",\"0000:16:00.0\","
                "\"0000:17:00.0\",\"0000:91:00.0\"",
                "2M");
        _cleanup_(placement_freep) Placement *p = NULL;

        for (unsigned i = 0; i < 7; i++)
                gpu(h, 0x11 + i, 0);
        gpu(h, 0x91, 1);
        h->cells[0].pages_free[HOST_PAGE_2M] = 100000; /* 262144 pages are needed, 229376 by GPU count */
        p = place_ok(s, h, NULL);
        assert_int_equal(p->n_cells, 2);
        assert_int_equal(p->cells[0].pages, 100000);
        assert_int_equal(p->cells[1].pages, 262144 - 100000);
        assert_int_equal(p->cells[0].memory_kib + p->cells[1].memory_kib, 524288ull * 1024);
        /* vCPUs still follow the GPUs: 14 and 2, in whole cores */
        assert_int_equal(p->cells[0].n_vcpus, 14);
        assert_int_equal(p->cells[1].n_vcpus, 2);
        assert_int_equal(p->threads, 2);
        /* more than both cells hold: each cell named with what it has */
        place_fails(big, h, NULL, -ENOSPC,
                    "needs 409600 free 2 MiB pages on cells 0,1, 300000 free (cell 0: 100000, cell 1: 200000)");
}

/* A SEV-SNP guest takes its private memory from the cell's ordinary memory besides the
 * hugepages of its shared view; a capped shared part moves the shared view to ordinary memory;
 * a guest without a TEE takes hugepages only. */
static void test_confidential_memory(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(1, 8, 1, 8192, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *snp = spec("a", 2, 8192, "", "2M"), *none = NULL, *capped = NULL;
        _cleanup_(placement_freep) Placement *p = NULL, *q = NULL, *c = NULL;
        _cleanup_(placement_ledger_done) PlacementLedger l = {};
        _cleanup_free_ char *reason = NULL;
        const char *nj = "{\"name\":\"n\",\"tee\":\"none\",\"vcpus\":2,\"memory_mib\":8192,\"boot\":{\"disk\":\"/d\"},\"policy\":\"p\"}";
        const char *cj = "{\"name\":\"c\",\"tee\":\"sev-snp\",\"vcpus\":2,\"memory_mib\":8192,\"shared_memory_mib\":1024,"
                         "\"boot\":{\"disk\":\"/d\"},\"policy\":\"p\"}";

        assert_int_equal(launch_spec_parse(nj, strlen(nj), &none, &reason), 0);
        assert_int_equal(launch_spec_parse(cj, strlen(cj), &capped, &reason), 0);
        /* 16 GiB of pages, 12 GiB of ordinary memory left by the pool */
        h->cells[0].ordinary_total_kib = h->cells[0].ordinary_free_kib = 12ull << 20;
        p = place_ok(snp, h, NULL);
        assert_int_equal(p->cells[0].pages, 4096);
        assert_int_equal(p->cells[0].ordinary_kib, 8192ull * 1024);
        q = place_ok(none, h, NULL);
        assert_int_equal(q->cells[0].pages, 4096);
        assert_int_equal(q->cells[0].ordinary_kib, 0);
        c = place_ok(capped, h, NULL);
        assert_int_equal(c->cells[0].pages, 0);
        assert_int_equal(c->cells[0].ordinary_kib, 9216ull * 1024);
        assert_int_equal(c->cells[0].memory_kib, 8192ull * 1024);

        /* held by the first, the second SEV-SNP guest finds the pages but not the private memory */
        assert_int_equal(placement_ledger_add(&l, p), 0);
        assert_int_equal(placement_ledger_ordinary_kib(&l, 0), 8192ull * 1024);
        snp->name[0] = 'b';
        place_fails(snp, h, &l, -ENOSPC,
                    "needs 8192 MiB of free ordinary memory (private memory) on cell 0, 4096 free");
        /* the host's own count wins when lower */
        h->cells[0].ordinary_free_kib = 1ull << 20;
        place_fails(capped, h, NULL, -ENOSPC,
                    "needs 9216 MiB of free ordinary memory (private memory and the capped shared part) on cell 0, "
                    "1024 free");
}

static const char nodedev_41[] =
        "<device><name>pci_0000_41_00_0</name><driver><name>vfio-pci</name></driver>"
        "<capability type='pci'><iommuGroup number='40'>"
        "<address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/>"
        "<address domain='0x0000' bus='0x41' slot='0x00' function='0x1'/></iommuGroup>"
        "<numa node='1'/></capability></device>";

/* A device, and every member of its IOMMU group, is held by one domain only. */
static void test_devices_held(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(2, 8, 1, 4096, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *a = spec("a", 2, 1024, "\"0000:41:00.0\"", "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *b = spec("b", 2, 1024, "\"0000:41:00.1\"", "2M");
        _cleanup_(placement_ledger_done) PlacementLedger l = {};
        _cleanup_(placement_freep) Placement *p = NULL;
        _cleanup_free_ char *reason = NULL;
        PciAddress a41 = { .bus = 0x41 }, a41f1 = { .bus = 0x41, .function = 1 };

        assert_int_equal(host_probe_parse_nodedev(h, &a41, nodedev_41, strlen(nodedev_41), &reason), 0);
        assert_int_equal(host_probe_set_gpu(h, &a41f1, 1, 40, "vfio-pci"), 0);
        p = place_ok(a, h, &l);
        assert_int_equal(p->n_devices, 2); /* the GPU and its group's other function */
        assert_int_equal(placement_ledger_add(&l, p), 0);
        assert_string_equal(placement_ledger_device_holder(&l, &a41f1), "a");
        place_fails(a, h, &l, -EEXIST, "a domain named 'a' already holds resources");
        place_fails(b, h, &l, -EBUSY, "GPU 0000:41:00.1 is held by domain 'a'");
}

/* A domain cvmd did not start: what its XML pins, binds and passes through is held. */
static const char foreign_xml[] =
        "<domain type='kvm'><name>legacy-db</name><memory unit='GiB'>4</memory><vcpu placement='static'>2</vcpu>"
        "<memoryBacking><hugepages><page size='2' unit='M'/></hugepages></memoryBacking>"
        "<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='1' cpuset='2'/><emulatorpin cpuset='3'/></cputune>"
        "<numatune><memory mode='strict' nodeset='0'/></numatune>"
        "<os><type>hvm</type></os><devices>"
        "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x41' slot='0x00' "
        "function='0x0'/></source></hostdev>"
        "<vsock model='virtio'><cid auto='no' address='3'/></vsock></devices></domain>";

static void test_foreign_domain(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(1, 8, 1, 4096, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec("a", 4, 2048, "", "2M");
        _cleanup_(launch_spec_freep) LaunchSpec *g = spec("g", 1, 1024, "\"0000:41:00.0\"", "2M");
        _cleanup_(placement_ledger_done) PlacementLedger l = {};
        _cleanup_(placement_freep) Placement *f = NULL, *p = NULL;
        const char *bad = "<domain><name>x</name><memory>12</memory><cputune><vcpupin vcpu='0' cpuset='1-'/>"
                          "</cputune></domain>";

        assert_int_equal(domain_holdings_parse(foreign_xml, strlen(foreign_xml), &f), 0);
        assert_true(f->foreign);
        assert_string_equal(f->owner, "legacy-db");
        assert_cpus(f->reserved_cpus, f->n_reserved, "1-3");
        assert_int_equal(f->n_cells, 1);
        assert_int_equal(f->cells[0].host_cell, 0);
        assert_int_equal(f->cells[0].pages, 2048);
        assert_int_equal(f->cells[0].ordinary_kib, 0);
        assert_int_equal(f->n_devices, 1);
        assert_int_equal(f->vsock_cid, 3);
        assert_int_equal(placement_ledger_add(&l, f), 0);

        /* its CPUs are never given out: the vCPUs go to the cores after them */
        p = place_ok(s, h, &l);
        assert_cpus(p->vcpu_pins, 4, "4-7");
        assert_int_equal(placement_ledger_pages(&l, 0, 2048), 2048);
        /* nor its device, nor its CID */
        gpu(h, 0x41, 0);
        place_fails(g, h, &l, -EBUSY, "GPU 0000:41:00.0 is held by domain 'legacy-db'");
        assert_string_equal(placement_ledger_cid_holder(&l, 3), "legacy-db");
        assert_int_equal(placement_ledger_free_cid(&l), 4);
        /* what cannot be read is an error, never an under-count */
        placement_free(f);
        f = NULL;
        assert_int_equal(domain_holdings_parse(bad, strlen(bad), &f), -EBADMSG);
        assert_null(f);
}

static void test_cpuset(void **state) {
        _cleanup_free_ unsigned *v = NULL;
        _cleanup_free_ char *s = NULL;
        size_t n;

        assert_int_equal(cpuset_parse("8,0-3,2,10-11", 100, &v, &n), 0);
        assert_int_equal(n, 7);
        s = cpuset_format(v, n);
        assert_string_equal(s, "0-3,8,10-11");
        free(v);
        v = NULL;
        assert_int_equal(cpuset_parse("3-1", 100, &v, &n), -EINVAL);
        assert_int_equal(cpuset_parse("1,", 100, &v, &n), -EINVAL);
        assert_int_equal(cpuset_parse("101", 100, &v, &n), -EINVAL);
        assert_int_equal(cpuset_parse("^1", 100, &v, &n), -EINVAL);
        assert_int_equal(cpuset_parse("", 100, &v, &n), -EINVAL);
        assert_int_equal(cpuset_parse("0-99999999999", 100, &v, &n), -EINVAL);
        assert_null(v);
}

static void test_json(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host(1, 4, 2, 4096, 0);
        _cleanup_(launch_spec_freep) LaunchSpec *s = spec("a", 2, 1024, "", "2M");
        _cleanup_(placement_freep) Placement *p = place_ok(s, h, NULL);
        json_object *o = placement_to_json(p);

        assert_non_null(o);
        assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                            "{\"page_kib\":2048,\"cells\":[{\"host_cell\":0,\"guest_cell\":0,\"vcpus\":2,"
                            "\"memory_kib\":1048576,\"pages\":512,\"ordinary_kib\":1048576}],"
                            "\"vcpu_pins\":[1,5],\"reserved_cpus\":\"1,5\",\"emulator_cpus\":\"0,4\",\"sockets\":1,"
                            "\"cores\":1,\"threads\":2,\"devices\":[]}");
        json_object_put(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_cell),      cmocka_unit_test(test_smt),
                cmocka_unit_test(test_two_cells_gpu_local), cmocka_unit_test(test_four_cells_eight_gpus),
                cmocka_unit_test(test_uneven_gpus),   cmocka_unit_test(test_too_few_pages),
                cmocka_unit_test(test_gpu_problems),  cmocka_unit_test(test_competing_launches),
                cmocka_unit_test(test_cpuset),        cmocka_unit_test(test_json),
                cmocka_unit_test(test_capacity_split), cmocka_unit_test(test_confidential_memory),
                cmocka_unit_test(test_devices_held),  cmocka_unit_test(test_foreign_domain),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
