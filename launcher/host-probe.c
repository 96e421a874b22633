/* SPDX-License-Identifier: Apache-2.0 */
/* The host probe: libvirt's host and domain capabilities, free hugepages, GPU locality, and why
 * a TEE cannot run here. README.md "Host probe". */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cvm/host-probe.h"
#include "cvm/placement.h"
#include "cvm/util.h"
#include "cvm/verdict.h" /* json_object_putp */
#include "launcher-internal.h"

static const uint64_t page_kib[_HOST_PAGE_MAX] = { [HOST_PAGE_2M] = 2048, [HOST_PAGE_1G] = 1048576 };

HostPageSize host_page_size_from_kib(uint64_t kib) {
        for (int i = 0; i < _HOST_PAGE_MAX; i++)
                if (page_kib[i] == kib)
                        return (HostPageSize) i;
        return _HOST_PAGE_INVALID;
}

uint64_t host_page_size_kib(HostPageSize p) {
        return p >= 0 && p < _HOST_PAGE_MAX ? page_kib[p] : 0;
}

HostProbe *host_probe_new(void) {
        HostProbe *h = calloc(1, sizeof(HostProbe));

        if (h)
                h->kvm_sev_snp = h->kvm_tdx = HOST_FACT_UNKNOWN;
        return h;
}

static void group_free(HostGroupMember *g, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(g[i].driver);
        free(g);
}

static void gpu_done(HostGpu *g) {
        free(g->driver);
        group_free(g->group, g->n_group);
        g->driver = NULL;
        g->group = NULL;
        g->n_group = 0;
}

static void cells_free(HostCell *cells, size_t n) {
        for (size_t i = 0; i < n; i++) {
                for (size_t k = 0; k < cells[i].n_cpus; k++)
                        free(cells[i].cpus[k].siblings);
                free(cells[i].cpus);
        }
        free(cells);
}

HostProbe *host_probe_free(HostProbe *h) {
        if (!h)
                return NULL;
        free(h->driver_name);
        free(h->domcaps_error);
        free(h->machine);
        for (size_t i = 0; i < h->n_firmware; i++)
                free(h->firmware[i]);
        free(h->firmware);
        cells_free(h->cells, h->n_cells);
        for (size_t i = 0; i < h->n_gpus; i++)
                gpu_done(&h->gpus[i]);
        free(h->gpus);
        free(h->root);
        free(h->firmware_sev_snp);
        free(h->firmware_tdx);
        free(h);
        return NULL;
}

static const char *xml_error_text(int r) {
        return r == -EFBIG ? "too large" : "not well-formed XML";
}

/* ---- host capabilities ---- */

static int cmp_cpu(const void *a, const void *b) {
        const HostCpu *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_cell(const void *a, const void *b) {
        const HostCell *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

static int parse_cell(xmlNode *c, HostCell *cell, char **reason) {
        xmlNode *cpus, *n;
        uint64_t v;
        int r;

        if (xml_prop_u64(c, "id", HOST_PROBE_CELLS_MAX * 64, &v) < 0)
                return set_reason(reason, -EBADMSG, "host capabilities: a <cell> without a valid id");
        cell->id = (unsigned) v;
        n = xml_child(c, "memory");
        if (n && xml_text_kib(n, &cell->memory_kib) < 0)
                return set_reason(reason, -EBADMSG, "host capabilities: cell %u: invalid <memory>", cell->id);
        for (n = xml_child(c, "pages"); n; n = xml_next(n, "pages")) {
                uint64_t size, count;
                HostPageSize p;
                if (xml_prop_u64(n, "size", UINT64_MAX, &size) < 0 || xml_text_u64(n, UINT64_MAX, &count) < 0)
                        return set_reason(reason, -EBADMSG, "host capabilities: cell %u: invalid <pages>", cell->id);
                if (!xml_prop_is(n, "unit", "KiB") && xmlHasProp(n, BAD_CAST "unit"))
                        return set_reason(reason, -EBADMSG, "host capabilities: cell %u: <pages> unit is not KiB",
                                          cell->id);
                p = host_page_size_from_kib(size);
                if (p >= 0)
                        cell->pages_total[p] = cell->pages_free[p] = count;
        }
        cpus = xml_child(c, "cpus");
        for (n = xml_child(cpus, "cpu"); n; n = xml_next(n, "cpu")) {
                HostCpu *cpu, *a;
                _cleanup_xmlfree_ xmlChar *sib = NULL;

                if (cell->n_cpus >= HOST_PROBE_CPUS_MAX)
                        return set_reason(reason, -EBADMSG, "host capabilities: cell %u: too many CPUs", cell->id);
                a = reallocarray(cell->cpus, cell->n_cpus + 1, sizeof(HostCpu));
                if (!a)
                        return -ENOMEM;
                cell->cpus = a;
                cpu = &cell->cpus[cell->n_cpus];
                *cpu = (HostCpu) {};
                if (xml_prop_u64(n, "id", HOST_PROBE_CPUS_MAX - 1, &v) < 0)
                        return set_reason(reason, -EBADMSG, "host capabilities: cell %u: a <cpu> without a valid id",
                                          cell->id);
                cpu->id = (unsigned) v;
                if (xml_prop_u64(n, "socket_id", UINT_MAX, &v) == 0)
                        cpu->socket_id = (unsigned) v;
                if (xml_prop_u64(n, "core_id", UINT_MAX, &v) == 0)
                        cpu->core_id = (unsigned) v;
                cell->n_cpus++;
                sib = xmlGetProp(n, BAD_CAST "siblings");
                if (sib) {
                        r = cpuset_parse((const char *) sib, HOST_PROBE_CPUS_MAX - 1, &cpu->siblings, &cpu->n_siblings);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return set_reason(reason, -EBADMSG, "host capabilities: CPU %u: invalid siblings",
                                                  cpu->id);
                }
                if (cpu->n_siblings == 0) {
                        /* no SMT information: the CPU is its own core */
                        free(cpu->siblings);
                        cpu->siblings = malloc(sizeof(unsigned));
                        if (!cpu->siblings)
                                return -ENOMEM;
                        cpu->siblings[0] = cpu->id;
                        cpu->n_siblings = 1;
                }
        }
        /* what the hugepage pools leave is ordinary memory; offline, all of it counts as free */
        {
                uint64_t pools = 0;
                for (int p = 0; p < _HOST_PAGE_MAX; p++)
                        if (cell->pages_total[p] <= UINT64_MAX / host_page_size_kib((HostPageSize) p))
                                pools += cell->pages_total[p] * host_page_size_kib((HostPageSize) p);
                cell->ordinary_total_kib = cell->memory_kib > pools ? cell->memory_kib - pools : 0;
                cell->ordinary_free_kib = cell->ordinary_total_kib;
        }
        qsort(cell->cpus, cell->n_cpus, sizeof(HostCpu), cmp_cpu);
        for (size_t i = 1; i < cell->n_cpus; i++)
                if (cell->cpus[i].id == cell->cpus[i - 1].id)
                        return set_reason(reason, -EBADMSG, "host capabilities: CPU %u listed twice", cell->cpus[i].id);
        return 0;
}

int host_probe_parse_caps(HostProbe *h, const char *xml, size_t size, char **reason) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        HostCell *cells = NULL;
        size_t n = 0;
        xmlNode *root, *c;
        int r;

        r = xml_read(xml, size, HOST_PROBE_XML_MAX, &doc);
        if (r < 0)
                return set_reason(reason, r, "host capabilities: %s", xml_error_text(r));
        root = xmlDocGetRootElement(doc);
        if (!xml_is(root, "capabilities"))
                return set_reason(reason, -EBADMSG, "host capabilities: the root element is not <capabilities>");
        c = xml_child(xml_child(xml_child(xml_child(root, "host"), "topology"), "cells"), "cell");
        for (; c; c = xml_next(c, "cell")) {
                HostCell *a;
                if (n >= HOST_PROBE_CELLS_MAX) {
                        r = set_reason(reason, -EBADMSG, "host capabilities: more than %u NUMA cells",
                                       HOST_PROBE_CELLS_MAX);
                        goto fail;
                }
                a = reallocarray(cells, n + 1, sizeof(HostCell));
                if (!a) {
                        r = -ENOMEM;
                        goto fail;
                }
                cells = a;
                cells[n] = (HostCell) {};
                n++;
                r = parse_cell(c, &cells[n - 1], reason);
                if (r < 0)
                        goto fail;
        }
        if (n == 0) {
                r = set_reason(reason, -EBADMSG, "host capabilities: no NUMA topology (<topology><cells>)");
                goto fail;
        }
        qsort(cells, n, sizeof(HostCell), cmp_cell);
        for (size_t i = 1; i < n; i++)
                if (cells[i].id == cells[i - 1].id) {
                        r = set_reason(reason, -EBADMSG, "host capabilities: cell %u listed twice", cells[i].id);
                        goto fail;
                }
        cells_free(h->cells, h->n_cells);
        h->cells = cells;
        h->n_cells = n;
        return 0;
fail:
        cells_free(cells, n);
        return r;
}

const HostCell *host_probe_find_cell(const HostProbe *h, unsigned id) {
        for (size_t i = 0; i < h->n_cells; i++)
                if (h->cells[i].id == id)
                        return &h->cells[i];
        return NULL;
}

/* ---- domain capabilities ---- */

int host_probe_parse_domcaps(HostProbe *h, const char *xml, size_t size, char **reason) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        xmlNode *root, *features, *n;
        int r;

        r = xml_read(xml, size, HOST_PROBE_XML_MAX, &doc);
        if (r < 0)
                return set_reason(reason, r, "domain capabilities: %s", xml_error_text(r));
        root = xmlDocGetRootElement(doc);
        if (!xml_is(root, "domainCapabilities"))
                return set_reason(reason, -EBADMSG,
                                  "domain capabilities: the root element is not <domainCapabilities>");

        h->sev = h->sev_snp = h->tdx = h->have_cbitpos = false;
        free(h->machine);
        h->machine = NULL;
        if ((n = xml_child(root, "machine")) && !(h->machine = xml_text(n)))
                return -ENOMEM;
        for (size_t i = 0; i < h->n_firmware; i++)
                free(h->firmware[i]);
        h->n_firmware = 0;
        for (n = xml_child(xml_child(xml_child(root, "os"), "loader"), "value"); n; n = xml_next(n, "value")) {
                char **a = reallocarray(h->firmware, h->n_firmware + 1, sizeof(char *));
                if (!a)
                        return -ENOMEM;
                h->firmware = a;
                if (!(h->firmware[h->n_firmware] = xml_text(n)))
                        return -ENOMEM;
                h->n_firmware++;
        }

        features = xml_child(root, "features");
        n = xml_child(features, "sev");
        if (n && xml_prop_is(n, "supported", "yes")) {
                uint64_t cbit, rpb;
                h->sev = true;
                if (xml_text_u64(xml_child(n, "cbitpos"), 63, &cbit) == 0 &&
                    xml_text_u64(xml_child(n, "reducedPhysBits"), 63, &rpb) == 0) {
                        h->have_cbitpos = true;
                        h->cbitpos = (unsigned) cbit;
                        h->reduced_phys_bits = (unsigned) rpb;
                }
        }
        n = xml_child(features, "tdx");
        if (n && xml_prop_is(n, "supported", "yes"))
                h->tdx = true;
        n = xml_child(features, "launchSecurity");
        if (n && xml_prop_is(n, "supported", "yes"))
                for (xmlNode *e = xml_child(n, "enum"); e; e = xml_next(e, "enum")) {
                        if (!xml_prop_is(e, "name", "sectype"))
                                continue;
                        for (xmlNode *v = xml_child(e, "value"); v; v = xml_next(v, "value")) {
                                _cleanup_free_ char *t = xml_text(v);
                                if (!t)
                                        return -ENOMEM;
                                if (streq(t, "sev-snp"))
                                        h->sev_snp = true;
                                else if (streq(t, "tdx"))
                                        h->tdx = true;
                                else if (streq(t, "sev"))
                                        h->sev = true;
                        }
                }
        /* SNP without SEV's cbitpos cannot be described. */
        h->have_domcaps = true;
        free(h->domcaps_error);
        h->domcaps_error = NULL;
        return 0;
}

/* ---- GPUs ---- */

int host_probe_set_gpu(HostProbe *h, const PciAddress *a, int numa_node, int iommu_group, const char *driver) {
        HostGpu *g = (HostGpu *) host_probe_find_gpu(h, a);
        char *d = NULL;

        if (driver && !(d = strdup(driver)))
                return -ENOMEM;
        if (!g) {
                HostGpu *n = reallocarray(h->gpus, h->n_gpus + 1, sizeof(HostGpu));
                if (!n) {
                        free(d);
                        return -ENOMEM;
                }
                h->gpus = n;
                g = &h->gpus[h->n_gpus++];
                *g = (HostGpu) { .address = *a };
        }
        free(g->driver);
        g->driver = d;
        g->numa_node = numa_node;
        g->iommu_group = iommu_group;
        g->found = true;
        return 0;
}

/* Replaces a's group member list (its drivers unknown). */
static int set_group(HostProbe *h, const PciAddress *a, const PciAddress *members, size_t n) {
        HostGpu *g = (HostGpu *) host_probe_find_gpu(h, a);
        HostGroupMember *v;

        if (!g)
                return -ENOENT;
        v = calloc(n ? n : 1, sizeof(HostGroupMember));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                v[i].address = members[i];
        group_free(g->group, g->n_group);
        g->group = v;
        g->n_group = n;
        return 0;
}

int host_probe_set_member_driver(HostProbe *h, const PciAddress *a, const PciAddress *m, const char *driver) {
        HostGpu *g = (HostGpu *) host_probe_find_gpu(h, a);

        for (size_t i = 0; g && i < g->n_group; i++)
                if (pci_address_equal(&g->group[i].address, m)) {
                        char *d = NULL;
                        if (driver && !(d = strdup(driver)))
                                return -ENOMEM;
                        free(g->group[i].driver);
                        g->group[i].driver = d;
                        g->group[i].driver_known = true;
                        return 0;
                }
        return -ENOENT;
}

const char *host_nodedev_name(const PciAddress *a, char *buf, size_t size) {
        (void) snprintf(buf, size, "pci_%04x_%02x_%02x_%x", a->domain, a->bus, a->slot, a->function);
        return buf;
}

const HostGpu *host_probe_find_gpu(const HostProbe *h, const PciAddress *a) {
        for (size_t i = 0; i < h->n_gpus; i++)
                if (pci_address_equal(&h->gpus[i].address, a))
                        return &h->gpus[i];
        return NULL;
}

/* <address domain= bus= slot= function=/> (hex with 0x, as libvirt writes it). */
static int parse_pci_address_element(xmlNode *n, PciAddress *ret) {
        static const char *const names[] = { "domain", "bus", "slot", "function" };
        static const unsigned long max[] = { 0xffff, 0xff, 0x1f, 7 };
        unsigned long v[4];

        for (size_t i = 0; i < 4; i++) {
                _cleanup_xmlfree_ xmlChar *s = xmlGetProp(n, BAD_CAST names[i]);
                char *end;
                if (!s || strncmp((const char *) s, "0x", 2) != 0 || !s[2])
                        return -EBADMSG;
                errno = 0;
                v[i] = strtoul((const char *) s + 2, &end, 16);
                if (errno || *end || v[i] > max[i])
                        return -EBADMSG;
        }
        *ret = (PciAddress) { (uint16_t) v[0], (uint8_t) v[1], (uint8_t) v[2], (uint8_t) v[3] };
        return 0;
}

int host_probe_nodedev_driver(const char *xml, size_t size, char **ret_driver) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        xmlNode *root, *name;
        int r;

        r = xml_read(xml, size, HOST_PROBE_XML_MAX, &doc);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!xml_is(root, "device"))
                return -EBADMSG;
        name = xml_child(xml_child(root, "driver"), "name");
        *ret_driver = NULL;
        if (name) {
                char *d = xml_text(name);
                if (!d)
                        return -ENOMEM;
                if (!d[0])
                        free(d);
                else
                        *ret_driver = d;
        }
        return 0;
}

int host_probe_parse_nodedev(HostProbe *h, const PciAddress *a, const char *xml, size_t size, char **reason) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_free_ char *driver = NULL;
        _cleanup_free_ PciAddress *members = NULL;
        size_t n_members = 0;
        bool have_group = false;
        xmlNode *root, *cap;
        int numa = -1, group = -1, r;
        char bdf[16];
        uint64_t v;

        r = xml_read(xml, size, HOST_PROBE_XML_MAX, &doc);
        if (r < 0)
                return set_reason(reason, r, "node device %s: %s", pci_address_format(a, bdf, sizeof(bdf)),
                                  xml_error_text(r));
        root = xmlDocGetRootElement(doc);
        if (!xml_is(root, "device"))
                return set_reason(reason, -EBADMSG, "node device %s: the root element is not <device>",
                                  pci_address_format(a, bdf, sizeof(bdf)));
        if (xml_child(xml_child(root, "driver"), "name") && !(driver = xml_text(xml_child(xml_child(root, "driver"), "name"))))
                return -ENOMEM;
        for (cap = xml_child(root, "capability"); cap; cap = xml_next(cap, "capability")) {
                xmlNode *g;
                if (!xml_prop_is(cap, "type", "pci"))
                        continue;
                g = xml_child(cap, "iommuGroup");
                if (xml_prop_u64(g, "number", INT_MAX, &v) == 0)
                        group = (int) v;
                if (xml_prop_u64(xml_child(cap, "numa"), "node", INT_MAX, &v) == 0)
                        numa = (int) v;
                for (xmlNode *m = xml_child(g, "address"); m; m = xml_next(m, "address")) {
                        PciAddress *q;
                        if (n_members >= HOST_PROBE_GROUP_MAX)
                                return set_reason(reason, -EBADMSG, "node device %s: more than %u devices in its IOMMU group",
                                                  pci_address_format(a, bdf, sizeof(bdf)), HOST_PROBE_GROUP_MAX);
                        q = reallocarray(members, n_members + 1, sizeof(PciAddress));
                        if (!q)
                                return -ENOMEM;
                        members = q;
                        if (parse_pci_address_element(m, &members[n_members]) < 0)
                                return set_reason(reason, -EBADMSG, "node device %s: an invalid address in its IOMMU group",
                                                  pci_address_format(a, bdf, sizeof(bdf)));
                        n_members++;
                }
                have_group = g != NULL;
        }
        r = host_probe_set_gpu(h, a, numa, group, driver && driver[0] ? driver : NULL);
        if (r < 0 || !have_group)
                return r;
        r = set_group(h, a, members, n_members);
        if (r < 0)
                return r;
        /* the device's own driver is known from this very file */
        (void) host_probe_set_member_driver(h, a, a, driver && driver[0] ? driver : NULL);
        return 0;
}

/* A device recorded as absent: placement and the spec check name it. */
static int add_absent(HostProbe *h, const PciAddress *a) {
        HostGpu *g;

        if (host_probe_find_gpu(h, a))
                return 0;
        g = reallocarray(h->gpus, h->n_gpus + 1, sizeof(HostGpu));
        if (!g)
                return -ENOMEM;
        h->gpus = g;
        h->gpus[h->n_gpus++] = (HostGpu) { .address = *a, .numa_node = -1, .iommu_group = -1 };
        return 0;
}

/* Where node device XML comes from: a directory of files, or a libvirt connection. */
typedef int (*NodedevFetch)(void *userdata, const PciAddress *a, char **ret_xml, size_t *ret_size);

static int fetch_from_dir(void *userdata, const PciAddress *a, char **ret_xml, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        uint8_t *data;
        char name[32];
        int r;

        path = strdup_printf("%s/%s.xml", (const char *) userdata, host_nodedev_name(a, name, sizeof(name)));
        if (!path)
                return -ENOMEM;
        r = read_file_bounded(path, HOST_PROBE_XML_MAX, &data, ret_size);
        if (r < 0)
                return r;
        *ret_xml = (char *) data;
        return 0;
}

static int fetch_from_libvirt(void *userdata, const PciAddress *a, char **ret_xml, size_t *ret_size) {
        virNodeDevicePtr dev;
        char name[32];
        char *xml;

        dev = virNodeDeviceLookupByName(userdata, host_nodedev_name(a, name, sizeof(name)));
        if (!dev)
                return -ENOENT;
        xml = virNodeDeviceGetXMLDesc(dev, 0);
        virNodeDeviceFree(dev);
        if (!xml)
                return -ENOENT;
        *ret_xml = xml;
        *ret_size = strlen(xml);
        return 0;
}

/* One device and the drivers of its group's members; -ENOENT when there is no XML for it. */
static int device_from_nodedevs(HostProbe *h, const PciAddress *a, NodedevFetch fetch, void *userdata, char **reason) {
        _cleanup_free_ char *xml = NULL;
        const HostGpu *g;
        size_t size;
        int r;

        r = fetch(userdata, a, &xml, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -ENOENT;
        r = host_probe_parse_nodedev(h, a, xml, size, reason);
        if (r < 0)
                return r;
        g = host_probe_find_gpu(h, a);
        for (size_t i = 0; g && i < g->n_group; i++) {
                _cleanup_free_ char *mxml = NULL, *driver = NULL;
                PciAddress m = g->group[i].address;
                size_t msize;

                if (g->group[i].driver_known)
                        continue;
                r = fetch(userdata, &m, &mxml, &msize);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue; /* stays unknown: the spec check names it */
                r = host_probe_nodedev_driver(mxml, msize, &driver);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                r = host_probe_set_member_driver(h, a, &m, driver);
                if (r < 0)
                        return r;
                g = host_probe_find_gpu(h, a); /* the array may have moved */
        }
        return 0;
}

int host_probe_devices_from_dir(HostProbe *h, const char *dir, const PciAddress *a, size_t n, char **reason) {
        for (size_t i = 0; i < n; i++) {
                int r = device_from_nodedevs(h, &a[i], fetch_from_dir, (void *) dir, reason);
                if (r == -ENOENT)
                        r = add_absent(h, &a[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* path is under the host root the user names: O_NONBLOCK so that a FIFO planted there cannot
 * hang the probe at open(), and only a regular file is read (sysfs attributes are). */
static int read_small_file(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

/* The last path component of a symlink's target into buf. */
static int link_basename(const char *path, char *buf, size_t size) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        const char *b;

        if (n < 0)
                return -errno;
        target[n] = '\0';
        b = strrchr(target, '/');
        b = b ? b + 1 : target;
        if (strlen(b) >= size || !b[0])
                return -EINVAL;
        strcpy(buf, b);
        return 0;
}

static int cmp_pci(const void *a, const void *b) {
        const PciAddress *x = a, *y = b;
        uint64_t u = (uint64_t) x->domain << 24 | (uint64_t) x->bus << 16 | (uint64_t) x->slot << 8 | x->function;
        uint64_t w = (uint64_t) y->domain << 24 | (uint64_t) y->bus << 16 | (uint64_t) y->slot << 8 | y->function;
        return u < w ? -1 : u > w;
}

/* The members of IOMMU group `group` (<sysfs>/kernel/iommu_groups/N/devices/<bdf>) and each
 * one's driver (<sysfs>/bus/pci/devices/<bdf>/driver). */
static int group_from_sysfs(HostProbe *h, const PciAddress *a, const char *sysfs, int group) {
        _cleanup_free_ char *dir = strdup_printf("%s/kernel/iommu_groups/%d/devices", sysfs, group);
        _cleanup_free_ PciAddress *members = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;
        int r;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return 0; /* the group's members stay unknown */
        while ((de = readdir(d))) {
                PciAddress m, *q;
                if (pci_address_parse(de->d_name, &m) < 0)
                        continue;
                if (n >= HOST_PROBE_GROUP_MAX || !(q = reallocarray(members, n + 1, sizeof(PciAddress)))) {
                        closedir(d);
                        return n >= HOST_PROBE_GROUP_MAX ? -E2BIG : -ENOMEM;
                }
                members = q;
                members[n++] = m;
        }
        closedir(d);
        qsort(members, n, sizeof(PciAddress), cmp_pci);
        r = set_group(h, a, members, n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *link = NULL;
                char bdf[16], driver[256];
                link = strdup_printf("%s/bus/pci/devices/%s/driver", sysfs, pci_address_format(&members[i], bdf, sizeof(bdf)));
                if (!link)
                        return -ENOMEM;
                r = host_probe_set_member_driver(h, a, &members[i], link_basename(link, driver, sizeof(driver)) == 0 ? driver : NULL);
        }
        return r;
}

int host_probe_gpu_from_sysfs(HostProbe *h, const PciAddress *a, const char *sysfs_root) {
        _cleanup_free_ char *dir = NULL, *p = NULL;
        char bdf[16], buf[64], driver[256];
        int numa = -1, group = -1, r;
        uint64_t v;

        dir = strdup_printf("%s/bus/pci/devices/%s", sysfs_root ? sysfs_root : "/sys",
                            pci_address_format(a, bdf, sizeof(bdf)));
        if (!dir)
                return -ENOMEM;
        if (access(dir, F_OK) < 0)
                return -errno;

        p = strdup_printf("%s/numa_node", dir);
        if (!p)
                return -ENOMEM;
        /* "-1" when the platform gives no locality: stays unknown */
        if (read_small_file(p, buf, sizeof(buf)) == 0 && parse_u64_strict(buf, INT_MAX, &v) == 0)
                numa = (int) v;
        free(p);
        p = strdup_printf("%s/iommu_group", dir);
        if (!p)
                return -ENOMEM;
        if (link_basename(p, buf, sizeof(buf)) == 0 && parse_u64_strict(buf, INT_MAX, &v) == 0)
                group = (int) v;
        free(p);
        p = strdup_printf("%s/driver", dir);
        if (!p)
                return -ENOMEM;
        if (link_basename(p, driver, sizeof(driver)) < 0)
                driver[0] = '\0';
        r = host_probe_set_gpu(h, a, numa, group, driver[0] ? driver : NULL);
        if (r < 0 || group < 0)
                return r;
        return group_from_sysfs(h, a, sysfs_root ? sysfs_root : "/sys", group);
}

/* ---- live probe ---- */

int host_probe_refresh_free_pages(HostProbe *h, virConnectPtr conn, char **reason) {
        unsigned sizes[_HOST_PAGE_MAX] = { 2048, 1048576 };

        for (size_t i = 0; i < h->n_cells; i++) {
                unsigned long long counts[_HOST_PAGE_MAX] = {};
                if (virNodeGetFreePages(conn, _HOST_PAGE_MAX, sizes, (int) h->cells[i].id, 1, counts, 0) < 0)
                        return set_reason(reason, vir_last_errno(), "cannot read the free hugepages of cell %u: %s",
                                          h->cells[i].id, virGetLastErrorMessage());
                for (int p = 0; p < _HOST_PAGE_MAX; p++)
                        h->cells[i].pages_free[p] = counts[p];
        }
        return 0;
}

/* Each cell's free ordinary memory (the kernel's free count, which leaves out the hugepage
 * pools). A driver that cannot tell keeps the capabilities' totals. */
static void refresh_free_memory(HostProbe *h, virConnectPtr conn) {
        for (size_t i = 0; i < h->n_cells; i++) {
                unsigned long long bytes = 0;
                if (virNodeGetCellsFreeMemory(conn, &bytes, (int) h->cells[i].id, 1) == 1)
                        h->cells[i].ordinary_free_kib = bytes / 1024 < h->cells[i].ordinary_total_kib
                                                                ? bytes / 1024
                                                                : h->cells[i].ordinary_total_kib;
        }
}

int host_probe_libvirt(virConnectPtr conn, const PciAddress *gpus, size_t n_gpus, const char *host_root,
                       HostProbe **ret, char **reason) {
        _cleanup_(host_probe_freep) HostProbe *h = host_probe_new();
        _cleanup_free_ char *caps = NULL, *domcaps = NULL, *sysfs = NULL;
        const char *root = host_root ? host_root : "/";
        const char *type;
        int r;

        if (!h)
                return -ENOMEM;
        sysfs = strdup_printf("%s/sys", streq(root, "/") ? "" : root);
        if (!sysfs)
                return -ENOMEM;
        if (virConnectGetLibVersion(conn, &h->libvirt_version) < 0)
                return set_reason(reason, vir_last_errno(), "cannot read libvirt's version: %s", virGetLastErrorMessage());
        type = virConnectGetType(conn);
        if (type && !(h->driver_name = strdup(type)))
                return -ENOMEM;
        if (virConnectGetVersion(conn, &h->qemu_version) < 0 || !h->driver_name || !streq(h->driver_name, "QEMU"))
                h->qemu_version = 0; /* only a QEMU driver's hypervisor version is QEMU's */

        caps = virConnectGetCapabilities(conn);
        if (!caps)
                return set_reason(reason, vir_last_errno(), "cannot read the host capabilities: %s",
                                  virGetLastErrorMessage());
        r = host_probe_parse_caps(h, caps, strlen(caps), reason);
        if (r < 0)
                return r;
        r = host_probe_refresh_free_pages(h, conn, reason);
        if (r < 0)
                return r;
        refresh_free_memory(h, conn);

        domcaps = virConnectGetDomainCapabilities(conn, NULL, "x86_64", NULL, "kvm", 0);
        if (domcaps) {
                r = host_probe_parse_domcaps(h, domcaps, strlen(domcaps), reason);
                if (r < 0)
                        return r;
        } else if (!(h->domcaps_error = strdup(virGetLastErrorMessage())))
                return -ENOMEM;

        for (size_t i = 0; i < n_gpus; i++) {
                r = device_from_nodedevs(h, &gpus[i], fetch_from_libvirt, conn, reason);
                if (r == -ENOENT)
                        r = host_probe_gpu_from_sysfs(h, &gpus[i], sysfs);
                if (r == -ENOENT)
                        r = add_absent(h, &gpus[i]);
                if (r < 0)
                        return r;
        }
        r = host_probe_read_host_files(h, root, reason);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}

/* ---- the host's files ---- */

static char *under(const char *root, const char *path) {
        return strdup_printf("%s%s", streq(root, "/") ? "" : root, path);
}

/* A kernel module's boolean parameter: "Y"/"1" yes, "N"/"0" no; absent (module not loaded or
 * without the parameter): no. */
static HostFact module_flag(const char *root, const char *path) {
        _cleanup_free_ char *p = under(root, path);
        char buf[16];

        if (!p || read_small_file(p, buf, sizeof(buf)) < 0)
                return HOST_FACT_NO;
        return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1' ? HOST_FACT_YES : HOST_FACT_NO;
}

/* The image of a firmware descriptor that has `feature` and whose file is present, or NULL. */
static int descriptor_image(const char *root, const char *file, const char *feature, char **ret) {
        _cleanup_(json_object_putp) json_object *d = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        json_object *features, *mapping, *v = NULL;
        const char *image = NULL;
        size_t size;
        bool has = false;

        *ret = NULL;
        if (read_file_bounded(file, 64 * 1024, &data, &size) < 0)
                return 0;
        d = json_tokener_parse((const char *) data);
        if (!d || !json_object_object_get_ex(d, "features", &features) || !json_object_is_type(features, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(features); i++) {
                const char *f = json_object_get_string(json_object_array_get_idx(features, i));
                has = has || (f && streq(f, feature));
        }
        if (!has || !json_object_object_get_ex(d, "mapping", &mapping))
                return 0;
        /* "device": "memory" has "filename"; "flash" has "executable": {"filename"} */
        if (json_object_object_get_ex(mapping, "filename", &v) ||
            (json_object_object_get_ex(mapping, "executable", &v) && json_object_object_get_ex(v, "filename", &v)))
                image = json_object_get_string(v);
        if (!image || image[0] != '/')
                return 0;
        {
                _cleanup_free_ char *p = under(root, image);
                if (!p)
                        return -ENOMEM;
                if (access(p, R_OK) < 0)
                        return 0;
        }
        *ret = strdup(image);
        return *ret ? 0 : -ENOMEM;
}

static int find_firmware(const char *root, const char *feature, char **ret) {
        static const char *const dirs[] = { "/etc/qemu/firmware", "/usr/share/qemu/firmware" };

        *ret = NULL;
        for (size_t i = 0; i < ELEMENTSOF(dirs) && !*ret; i++) {
                _cleanup_free_ char *dir = under(root, dirs[i]);
                struct dirent **list = NULL;
                int n;

                if (!dir)
                        return -ENOMEM;
                n = scandir(dir, &list, NULL, alphasort); /* libvirt's order: by file name */
                for (int k = 0; k < n; k++) {
                        const char *name = list[k]->d_name;
                        size_t len = strlen(name);
                        if (!*ret && len > 5 && streq(name + len - 5, ".json")) {
                                _cleanup_free_ char *file = strdup_printf("%s/%s", dir, name);
                                if (!file || descriptor_image(root, file, feature, ret) < 0) {
                                        for (; k < n; k++)
                                                free(list[k]);
                                        free(list);
                                        return -ENOMEM;
                                }
                        }
                        free(list[k]);
                }
                free(list);
        }
        return 0;
}

int host_probe_read_host_files(HostProbe *h, const char *root, char **reason) {
        _cleanup_free_ char *dma = NULL;
        char buf[32];
        uint64_t v;
        int r;

        free(h->root);
        if (!(h->root = strdup(root)))
                return -ENOMEM;
        h->kvm_sev_snp = module_flag(root, "/sys/module/kvm_amd/parameters/sev_snp");
        h->kvm_tdx = module_flag(root, "/sys/module/kvm_intel/parameters/tdx");
        dma = under(root, "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit");
        if (!dma)
                return -ENOMEM;
        h->dma_entry_limit = 0;
        if (read_small_file(dma, buf, sizeof(buf)) == 0 && parse_u64_strict(buf, UINT32_MAX, &v) == 0)
                h->dma_entry_limit = v;
        free(h->firmware_sev_snp);
        free(h->firmware_tdx);
        h->firmware_sev_snp = h->firmware_tdx = NULL;
        r = find_firmware(root, "amd-sev-snp", &h->firmware_sev_snp);
        if (r >= 0)
                r = find_firmware(root, "intel-tdx", &h->firmware_tdx);
        if (r < 0)
                return set_reason(reason, r, "cannot read the firmware descriptors under %s", root);
        return 0;
}

/* ---- TEE support ---- */

static char *version_string(unsigned long v) {
        return strdup_printf("%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}

int host_probe_tee_refusal(const HostProbe *h, CvmTee tee, char **ret) {
        _cleanup_free_ char *lv = NULL, *qv = NULL;
        const char *name, *lneed, *qneed, *hint;
        unsigned long lmin, qmin;
        bool offered;
        char *msg;

        switch (tee) {
        case CVM_TEE_NONE:
                *ret = NULL;
                return 0;
        case CVM_TEE_SEV_SNP:
                name = "sev-snp", lmin = HOST_LIBVIRT_SEV_SNP, qmin = HOST_QEMU_SEV_SNP, lneed = "10.5.0",
                qneed = "9.1";
                offered = h->sev_snp;
                hint = "check that SEV-SNP is enabled in the firmware setup, kvm_amd is loaded with sev_snp=1, and "
                       "an SNP-capable OVMF is installed";
                break;
        case CVM_TEE_TDX:
                name = "tdx", lmin = HOST_LIBVIRT_TDX, qmin = HOST_QEMU_TDX, lneed = "11.6.0", qneed = "10.1";
                offered = h->tdx;
                hint = "check that TDX is enabled in the firmware setup, kvm_intel is loaded with tdx=1, and a "
                       "TDVF firmware is installed";
                break;
        default:
                return -EINVAL;
        }

        if (h->libvirt_version != 0 && h->libvirt_version < lmin) {
                lv = version_string(h->libvirt_version);
                msg = lv ? strdup_printf("libvirt %s does not support %s; needs %s with QEMU %s", lv, name, lneed, qneed)
                         : NULL;
        } else if (h->qemu_version != 0 && h->qemu_version < qmin) {
                qv = version_string(h->qemu_version);
                msg = qv ? strdup_printf("QEMU %s does not support %s; needs %s", qv, name, qneed) : NULL;
        } else if (!h->have_domcaps)
                msg = strdup_printf("no domain capabilities (%s), so %s support cannot be confirmed", h->domcaps_error ? h->domcaps_error : "none given", name);
        else if (!offered)
                msg = strdup_printf("libvirt does not offer %s on this host (not in the domain capabilities' "
                                    "launchSecurity types); %s",
                                    name, hint);
        else if (tee == CVM_TEE_SEV_SNP && h->kvm_sev_snp == HOST_FACT_NO)
                msg = strdup_printf("kvm_amd is not loaded with sev_snp=1 (%s/sys/module/kvm_amd/parameters/sev_snp "
                                    "is not Y); %s",
                                    h->root && !streq(h->root, "/") ? h->root : "", hint);
        else if (tee == CVM_TEE_TDX && h->kvm_tdx == HOST_FACT_NO)
                msg = strdup_printf("kvm_intel is not loaded with tdx=1 (%s/sys/module/kvm_intel/parameters/tdx is not "
                                    "Y); %s",
                                    h->root && !streq(h->root, "/") ? h->root : "", hint);
        else {
                *ret = NULL;
                return 0;
        }
        if (!msg)
                return -ENOMEM;
        *ret = msg;
        return 0;
}

/* ---- a spec on this host ---- */

uint64_t host_dma_entries_needed(const LaunchSpec *spec) {
        /* QEMU maps the guest's shared memory into the IOMMU range by range as the guest converts
         * it (shared device assignment); in the worst case every shared page is a mapping of its
         * own: 2 MiB pages for a hugepage-backed shared view, 4 KiB pages for a capped one */
        if (spec->n_gpus + spec->n_nvswitches == 0 || spec->tee == CVM_TEE_NONE)
                return 0;
        if (spec->shared_memory_mib)
                return spec->shared_memory_mib * 1024 / 4;
        return spec->memory_mib * 1024 / spec->hugepage_kib;
}

static bool driver_is_vfio(const char *d) {
        size_t n = d ? strlen(d) : 0;

        /* vfio-pci and its variant drivers (nvgrace-gpu-vfio-pci, ...) */
        return n >= 8 && streq(d + n - 8, "vfio-pci");
}

/* A group member that may share a group with a passed-through device: VFIO's own driver, no
 * driver, pci-stub, or a bridge's pcieport. */
static bool member_driver_ok(const char *d) {
        return !d || driver_is_vfio(d) || streq(d, "pci-stub") || streq(d, "pcieport");
}

static int device_refusal(const HostProbe *h, const PciAddress *a, const char *what, char **ret) {
        const HostGpu *g = host_probe_find_gpu(h, a);
        char bdf[16], m[16];

        pci_address_format(a, bdf, sizeof(bdf));
        if (!g || !g->found) {
                *ret = strdup_printf("%s %s is not on this host", what, bdf);
                return *ret ? 0 : -ENOMEM;
        }
        /* facts given by hand (--gpu BDF@CELL) have no driver or group to check */
        if (g->iommu_group < 0 && !g->driver)
                return 0;
        if (!driver_is_vfio(g->driver)) {
                *ret = strdup_printf("%s %s is bound to %s, not vfio-pci (bind it to vfio-pci before launching)", what,
                                     bdf, g->driver ? g->driver : "no driver");
                return *ret ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < g->n_group; i++) {
                const HostGroupMember *x = &g->group[i];
                if (pci_address_equal(&x->address, a))
                        continue;
                pci_address_format(&x->address, m, sizeof(m));
                if (!x->driver_known)
                        *ret = strdup_printf("%s %s shares IOMMU group %d with %s, whose driver cannot be read", what,
                                             bdf, g->iommu_group, m);
                else if (!member_driver_ok(x->driver))
                        *ret = strdup_printf("%s %s shares IOMMU group %d with %s, which is bound to %s: every device "
                                             "of the group must be bound to vfio-pci",
                                             what, bdf, g->iommu_group, m, x->driver);
                else
                        continue;
                return *ret ? 0 : -ENOMEM;
        }
        return 0;
}

int host_probe_spec_refusal(const HostProbe *h, const LaunchSpec *spec, char **ret) {
        const char *fw = spec->tee == CVM_TEE_SEV_SNP ? h->firmware_sev_snp : h->firmware_tdx;
        uint64_t need;
        int r;

        *ret = NULL;
        for (size_t i = 0; i < spec->n_gpus; i++)
                if ((r = device_refusal(h, &spec->gpus[i], "GPU", ret)) < 0 || *ret)
                        return r;
        for (size_t i = 0; i < spec->n_nvswitches; i++)
                if ((r = device_refusal(h, &spec->nvswitches[i], "NVSwitch", ret)) < 0 || *ret)
                        return r;
        if (!h->root || spec->tee == CVM_TEE_NONE)
                return 0; /* the host's files were not read: nothing more to tell */
        if (spec->boot.firmware) {
                _cleanup_free_ char *p = under(h->root, spec->boot.firmware);
                if (!p)
                        return -ENOMEM;
                if (access(p, R_OK) < 0) {
                        *ret = strdup_printf("boot.firmware %s is not present on this host", spec->boot.firmware);
                        return *ret ? 0 : -ENOMEM;
                }
        } else if (!fw) {
                *ret = strdup_printf("no firmware descriptor with %s whose image is present (in /etc/qemu/firmware or "
                                     "/usr/share/qemu/firmware); install %s",
                                     spec->tee == CVM_TEE_SEV_SNP ? "amd-sev-snp" : "intel-tdx",
                                     spec->tee == CVM_TEE_SEV_SNP ? "ovmf-amdsev" : "ovmf-inteltdx");
                return *ret ? 0 : -ENOMEM;
        }
        need = host_dma_entries_needed(spec);
        if (need > 0) {
                uint64_t limit = h->dma_entry_limit;
                if (limit == 0)
                        *ret = strdup("vfio_iommu_type1 is not loaded (no dma_entry_limit): VFIO cannot pass the GPUs through");
                else if (limit < need)
                        *ret = strdup_printf("vfio_iommu_type1's dma_entry_limit is %" PRIu64 "; this guest may need %" PRIu64
                                             " DMA mappings (its shared memory in %s pages): load it with "
                                             "dma_entry_limit=%" PRIu64 " or more, or cap shared_memory_mib",
                                             limit, need, spec->shared_memory_mib ? "4 KiB" : "hugepage-sized", need);
                else
                        return 0;
                return *ret ? 0 : -ENOMEM;
        }
        return 0;
}

/* ---- JSON ---- */

static json_object *uint_array(const unsigned *v, size_t n) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_object_array_add(a, json_object_new_int64(v[i])) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *version_json(unsigned long v) {
        _cleanup_free_ char *s = NULL;

        s = version_string(v);
        return s ? json_object_new_string(s) : NULL;
}

json_object *host_probe_to_json(const HostProbe *h) {
        json_object *o = json_object_new_object(), *tees, *cells, *gpus, *fw;
        int r = 0;

        if (!o)
                return NULL;
        if (h->libvirt_version)
                r |= add(o, "libvirt_version", version_json(h->libvirt_version));
        else
                r |= json_object_object_add(o, "libvirt_version", NULL);
        if (h->qemu_version)
                r |= add(o, "qemu_version", version_json(h->qemu_version));
        else
                r |= json_object_object_add(o, "qemu_version", NULL);
        r |= h->driver_name ? add(o, "driver", json_object_new_string(h->driver_name))
                            : json_object_object_add(o, "driver", NULL);
        r |= add(o, "domain_capabilities", json_object_new_boolean(h->have_domcaps));
        if (h->domcaps_error)
                r |= add(o, "domain_capabilities_error", json_object_new_string(h->domcaps_error));
        if (h->machine)
                r |= add(o, "machine", json_object_new_string(h->machine));
        if (h->have_cbitpos) {
                r |= add(o, "cbitpos", json_object_new_int64(h->cbitpos));
                r |= add(o, "reduced_phys_bits", json_object_new_int64(h->reduced_phys_bits));
        }
        fw = json_object_new_array();
        for (size_t i = 0; fw && i < h->n_firmware; i++)
                r |= json_object_array_add(fw, json_object_new_string(h->firmware[i]));
        r |= add(o, "firmware", fw);

        tees = json_object_new_object();
        r |= add(o, "tee", tees);
        for (CvmTee t = 0; tees && t < _CVM_TEE_MAX; t++) {
                _cleanup_free_ char *why = NULL;
                json_object *e = json_object_new_object();
                r |= add(tees, cvm_tee_to_string(t), e);
                if (!e || host_probe_tee_refusal(h, t, &why) < 0)
                        goto oom;
                r |= add(e, "supported", json_object_new_boolean(!why));
                if (why)
                        r |= add(e, "reason", json_object_new_string(why));
        }

        cells = json_object_new_array();
        r |= add(o, "cells", cells);
        for (size_t i = 0; cells && i < h->n_cells; i++) {
                const HostCell *c = &h->cells[i];
                json_object *e = json_object_new_object(), *cpus = json_object_new_array();
                r |= json_object_array_add(cells, e);
                if (!e) {
                        json_object_put(cpus);
                        goto oom;
                }
                r |= add(e, "id", json_object_new_int64(c->id));
                r |= add(e, "memory_kib", json_object_new_int64((int64_t) c->memory_kib));
                r |= add(e, "pages_2m_total", json_object_new_int64((int64_t) c->pages_total[HOST_PAGE_2M]));
                r |= add(e, "pages_2m_free", json_object_new_int64((int64_t) c->pages_free[HOST_PAGE_2M]));
                r |= add(e, "pages_1g_total", json_object_new_int64((int64_t) c->pages_total[HOST_PAGE_1G]));
                r |= add(e, "pages_1g_free", json_object_new_int64((int64_t) c->pages_free[HOST_PAGE_1G]));
                r |= add(e, "ordinary_total_kib", json_object_new_int64((int64_t) c->ordinary_total_kib));
                r |= add(e, "ordinary_free_kib", json_object_new_int64((int64_t) c->ordinary_free_kib));
                r |= add(e, "cpus", cpus);
                for (size_t k = 0; cpus && k < c->n_cpus; k++) {
                        json_object *cpu = json_object_new_object();
                        r |= json_object_array_add(cpus, cpu);
                        if (!cpu)
                                goto oom;
                        r |= add(cpu, "id", json_object_new_int64(c->cpus[k].id));
                        r |= add(cpu, "socket", json_object_new_int64(c->cpus[k].socket_id));
                        r |= add(cpu, "core", json_object_new_int64(c->cpus[k].core_id));
                        r |= add(cpu, "siblings", uint_array(c->cpus[k].siblings, c->cpus[k].n_siblings));
                }
        }

        gpus = json_object_new_array();
        r |= add(o, "gpus", gpus);
        for (size_t i = 0; gpus && i < h->n_gpus; i++) {
                const HostGpu *g = &h->gpus[i];
                json_object *e = json_object_new_object();
                char bdf[16];
                r |= json_object_array_add(gpus, e);
                if (!e)
                        goto oom;
                r |= add(e, "address", json_object_new_string(pci_address_format(&g->address, bdf, sizeof(bdf))));
                r |= add(e, "found", json_object_new_boolean(g->found));
                r |= g->numa_node >= 0 ? add(e, "numa_node", json_object_new_int64(g->numa_node))
                                       : json_object_object_add(e, "numa_node", NULL);
                r |= g->iommu_group >= 0 ? add(e, "iommu_group", json_object_new_int64(g->iommu_group))
                                         : json_object_object_add(e, "iommu_group", NULL);
                r |= g->driver ? add(e, "driver", json_object_new_string(g->driver))
                               : json_object_object_add(e, "driver", NULL);
                if (g->group) {
                        json_object *members = json_object_new_array();
                        r |= add(e, "iommu_group_devices", members);
                        for (size_t k = 0; members && k < g->n_group; k++) {
                                json_object *m = json_object_new_object();
                                r |= json_object_array_add(members, m);
                                if (!m)
                                        goto oom;
                                r |= add(m, "address", json_object_new_string(
                                                               pci_address_format(&g->group[k].address, bdf, sizeof(bdf))));
                                r |= !g->group[k].driver_known ? add(m, "driver", json_object_new_string("unknown"))
                                     : g->group[k].driver      ? add(m, "driver", json_object_new_string(g->group[k].driver))
                                                               : json_object_object_add(m, "driver", NULL);
                        }
                }
        }
        if (h->root) {
                json_object *f = json_object_new_object();
                r |= add(o, "host_files", f);
                if (!f)
                        goto oom;
                r |= add(f, "root", json_object_new_string(h->root));
                r |= add(f, "kvm_amd_sev_snp", json_object_new_boolean(h->kvm_sev_snp == HOST_FACT_YES));
                r |= add(f, "kvm_intel_tdx", json_object_new_boolean(h->kvm_tdx == HOST_FACT_YES));
                r |= h->dma_entry_limit ? add(f, "vfio_dma_entry_limit", json_object_new_int64((int64_t) h->dma_entry_limit))
                                        : json_object_object_add(f, "vfio_dma_entry_limit", NULL);
                r |= h->firmware_sev_snp ? add(f, "firmware_sev_snp", json_object_new_string(h->firmware_sev_snp))
                                         : json_object_object_add(f, "firmware_sev_snp", NULL);
                r |= h->firmware_tdx ? add(f, "firmware_tdx", json_object_new_string(h->firmware_tdx))
                                     : json_object_object_add(f, "firmware_tdx", NULL);
        }
        if (r != 0)
                goto oom;
        return o;
oom:
        json_object_put(o);
        return NULL;
}

/* ---- cache ---- */

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void host_probe_cache_done(HostProbeCache *c) {
        c->probe = host_probe_free(c->probe);
        c->taken_usec = 0;
}

int host_probe_cache_get(HostProbeCache *c, const PciAddress *gpus, size_t n_gpus, bool refresh,
                         const HostProbe **ret, char **reason) {
        HostProbe *h = NULL;
        bool stale = refresh || !c->probe || now_usec() - c->taken_usec > c->max_age_usec;
        int r;

        for (size_t i = 0; !stale && i < n_gpus; i++)
                if (!host_probe_find_gpu(c->probe, &gpus[i]))
                        stale = true;
        if (!stale) {
                *ret = c->probe;
                return 0;
        }
        r = host_probe_libvirt(c->conn, gpus, n_gpus, c->sysfs_root, &h, reason);
        if (r < 0)
                return r;
        host_probe_free(c->probe);
        c->probe = h;
        c->taken_usec = now_usec();
        *ret = h;
        return 0;
}
