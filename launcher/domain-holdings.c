/* SPDX-License-Identifier: Apache-2.0 */
/* What a running domain holds on the host, read from its XML for the host ledger: cvmd's own
 * domains from their metadata (the exact placement), every other domain from what its XML
 * pins and binds: CPUs (vcpupin, emulatorpin, iothreadpin, <vcpu cpuset>), memory per host cell
 * (numatune; hugepages or ordinary memory, and a SEV-SNP/TDX guest's private memory), PCI
 * hostdevs and its vsock CID. cvmd-launch-spec(5) "HOST LEDGER". The XML comes from libvirt,
 * which other tools fill: it is parsed bounded, and what does not parse is an error, never a
 * guess that would under-count. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/domain-xml.h"
#include "cvm/lifecycle.h"
#include "cvm/util.h"
#include "launcher-internal.h"

#define HOLDINGS_CPUS_MAX HOST_PROBE_CPUS_MAX
#define HOLDINGS_DEVICES_MAX 256u

static int add_cpuset(Placement *p, xmlNode *n, const char *attr) {
        _cleanup_xmlfree_ xmlChar *v = n ? xmlGetProp(n, BAD_CAST attr) : NULL;
        _cleanup_free_ unsigned *cpus = NULL;
        unsigned *a;
        size_t k;
        int r;

        if (!v)
                return 0;
        r = cpuset_parse((const char *) v, HOLDINGS_CPUS_MAX - 1, &cpus, &k);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        a = reallocarray(p->reserved_cpus, p->n_reserved + k + 1, sizeof(unsigned));
        if (!a)
                return -ENOMEM;
        p->reserved_cpus = a;
        memcpy(a + p->n_reserved, cpus, k * sizeof(unsigned));
        p->n_reserved += k;
        return 0;
}

static int cmp_unsigned(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

static void sort_unique(unsigned *v, size_t *n) {
        size_t k = 0;

        if (*n == 0) /* v may be NULL: qsort() of NULL is undefined even for 0 elements */
                return;
        qsort(v, *n, sizeof(unsigned), cmp_unsigned);
        for (size_t i = 0; i < *n; i++)
                if (k == 0 || v[k - 1] != v[i])
                        v[k++] = v[i];
        *n = k;
}

/* A hugepage size attribute pair (size, unit) in KiB. */
static int page_size_kib(xmlNode *page, uint64_t *ret) {
        _cleanup_xmlfree_ xmlChar *unit = xmlGetProp(page, BAD_CAST "unit");
        uint64_t size, mul = 1;

        if (xml_prop_u64(page, "size", UINT32_MAX, &size) < 0)
                return -EBADMSG;
        if (unit && (streq((const char *) unit, "M") || streq((const char *) unit, "MiB")))
                mul = 1024;
        else if (unit && (streq((const char *) unit, "G") || streq((const char *) unit, "GiB")))
                mul = 1048576;
        else if (unit && !streq((const char *) unit, "KiB") && !streq((const char *) unit, "k"))
                return -EBADMSG;
        *ret = size * mul;
        return 0;
}

/* Charges kib of memory to the host cells of nodeset (evenly), or to no cell in particular. */
static int charge(Placement *p, const char *nodeset, uint64_t kib, uint64_t page_kib, bool hugepages,
                  bool confidential) {
        _cleanup_free_ unsigned *nodes = NULL;
        unsigned any = PLACEMENT_CELL_ANY;
        PlacementCell *cells;
        size_t n = 1;
        int r;

        if (nodeset) {
                r = cpuset_parse(nodeset, HOST_PROBE_CELLS_MAX * 64, &nodes, &n);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG;
        }
        /* one allocation for all of the nodeset's cells: growing by one per node made a long
         * nodeset in a foreign domain quadratic (found by fuzzing) */
        cells = reallocarray(p->cells, p->n_cells + n, sizeof(PlacementCell));
        if (!cells)
                return -ENOMEM;
        p->cells = cells;
        for (size_t i = 0; i < n; i++) {
                uint64_t share = kib / n + (i < kib % n ? 1 : 0);
                PlacementCell *c = &p->cells[p->n_cells];

                *c = (PlacementCell) {
                        .host_cell = nodes ? nodes[i] : any,
                        .guest_cell = (unsigned) p->n_cells,
                        .memory_kib = share,
                        .pages = hugepages ? (share + page_kib - 1) / page_kib : 0,
                        /* ordinary memory: all of it without hugepages; a TEE's private memory too */
                        .ordinary_kib = !hugepages || confidential ? share : 0,
                };
                p->n_cells++;
        }
        return 0;
}

static int parse_hex_attr(xmlNode *n, const char *attr, unsigned long max, unsigned long *ret) {
        _cleanup_xmlfree_ xmlChar *v = xmlGetProp(n, BAD_CAST attr);
        char *end;

        if (!v || strncmp((const char *) v, "0x", 2) != 0 || !v[2])
                return -EBADMSG;
        errno = 0;
        *ret = strtoul((const char *) v + 2, &end, 16);
        return errno || *end || *ret > max ? -EBADMSG : 0;
}

static int add_hostdevs(Placement *p, xmlNode *devices) {
        for (xmlNode *h = xml_child(devices, "hostdev"); h; h = xml_next(h, "hostdev")) {
                xmlNode *a = xml_child(xml_child(h, "source"), "address");
                unsigned long d, b, s, f;
                PciAddress *v;

                if (!xml_prop_is(h, "type", "pci") || !a)
                        continue;
                if (parse_hex_attr(a, "domain", 0xffff, &d) < 0 || parse_hex_attr(a, "bus", 0xff, &b) < 0 ||
                    parse_hex_attr(a, "slot", 0x1f, &s) < 0 || parse_hex_attr(a, "function", 7, &f) < 0)
                        return -EBADMSG;
                if (p->n_devices >= HOLDINGS_DEVICES_MAX)
                        return -EBADMSG;
                v = reallocarray(p->devices, p->n_devices + 1, sizeof(PciAddress));
                if (!v)
                        return -ENOMEM;
                p->devices = v;
                p->devices[p->n_devices++] = (PciAddress) { (uint16_t) d, (uint8_t) b, (uint8_t) s, (uint8_t) f };
        }
        return 0;
}

static int foreign_memory(Placement *p, xmlNode *root) {
        xmlNode *mb = xml_child(root, "memoryBacking"), *hp = xml_child(mb, "hugepages"), *numa, *nt;
        xmlNode *ls = xml_child(root, "launchSecurity");
        _cleanup_xmlfree_ xmlChar *nodeset = NULL;
        bool confidential = ls && (xml_prop_is(ls, "type", "sev-snp") || xml_prop_is(ls, "type", "tdx"));
        uint64_t total, page_kib = 2048; /* libvirt's default hugepage size on x86 */
        bool charged = false;
        int r;

        if (xml_text_kib(xml_child(root, "memory"), &total) < 0)
                return -EBADMSG;
        if (xml_child(hp, "page") && (r = page_size_kib(xml_child(hp, "page"), &page_kib)) < 0)
                return r;
        if (page_kib == 0)
                return -EBADMSG;
        p->page_kib = page_kib;
        nt = xml_child(root, "numatune");
        nodeset = xmlGetProp(xml_child(nt, "memory"), BAD_CAST "nodeset");
        /* guest cells bound one by one (memnode), else the whole memory to numatune's nodeset */
        numa = xml_child(xml_child(root, "cpu"), "numa");
        for (xmlNode *c = xml_child(numa, "cell"); c; c = xml_next(c, "cell")) {
                _cleanup_xmlfree_ xmlChar *id = xmlGetProp(c, BAD_CAST "id"), *cell_nodes = NULL;
                uint64_t kib;
                if (!id || xml_prop_u64(c, "memory", UINT64_MAX, &kib) < 0)
                        return -EBADMSG;
                {
                        /* the cell's memory attribute has its own unit (KiB by default) */
                        _cleanup_xmlfree_ xmlChar *unit = xmlGetProp(c, BAD_CAST "unit");
                        if (unit && (streq((const char *) unit, "MiB") || streq((const char *) unit, "M")))
                                kib *= 1024;
                        else if (unit && (streq((const char *) unit, "GiB") || streq((const char *) unit, "G")))
                                kib *= 1048576;
                }
                /* the first memnode for this cell, as libvirt (which refuses a second) */
                for (xmlNode *m = xml_child(nt, "memnode"); m && !cell_nodes; m = xml_next(m, "memnode"))
                        if (xml_prop_is(m, "cellid", (const char *) id))
                                cell_nodes = xmlGetProp(m, BAD_CAST "nodeset");
                r = charge(p, (const char *) (cell_nodes ? cell_nodes : nodeset), kib, page_kib, hp != NULL, confidential);
                if (r < 0)
                        return r;
                charged = true;
        }
        if (!charged)
                return charge(p, (const char *) nodeset, total, page_kib, hp != NULL, confidential);
        return 0;
}

static int foreign_holdings(xmlNode *root, Placement *p) {
        xmlNode *ct = xml_child(root, "cputune"), *devices = xml_child(root, "devices"), *cid;
        uint64_t v;
        int r;

        p->foreign = true;
        /* pinned CPUs: every vCPU, emulator and I/O thread pin, and the <vcpu cpuset> mask */
        for (xmlNode *n = ct ? ct->children : NULL; n; n = n->next)
                if (xml_is(n, "vcpupin") || xml_is(n, "emulatorpin") || xml_is(n, "iothreadpin"))
                        if ((r = add_cpuset(p, n, "cpuset")) < 0)
                                return r;
        if ((r = add_cpuset(p, xml_child(root, "vcpu"), "cpuset")) < 0)
                return r;
        sort_unique(p->reserved_cpus, &p->n_reserved);
        r = foreign_memory(p, root);
        if (r < 0)
                return r;
        r = add_hostdevs(p, devices);
        if (r < 0)
                return r;
        cid = xml_child(xml_child(devices, "vsock"), "cid");
        if (cid && xml_prop_u64(cid, "address", UINT32_MAX, &v) == 0)
                p->vsock_cid = (uint32_t) v;
        return 0;
}

int domain_holdings_parse(const char *xml, size_t size, Placement **ret) {
        _cleanup_(placement_freep) Placement *p = NULL;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        CvmdMetadata m = {};
        xmlNode *root;
        int r;

        r = cvmd_metadata_parse(xml, size, &m);
        if (r == 0) {
                /* cvmd's own: exactly what its placement took, and its CID */
                *ret = TAKE_PTR(m.placement);
                cvmd_metadata_done(&m);
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = xml_read(xml, size, HOST_PROBE_XML_MAX, &doc);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!xml_is(root, "domain"))
                return -EBADMSG;
        p = calloc(1, sizeof(Placement));
        if (!p)
                return -ENOMEM;
        p->owner = xml_text(xml_child(root, "name"));
        if (!p->owner)
                return -ENOMEM;
        r = foreign_holdings(root, p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}
