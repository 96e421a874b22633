/* SPDX-License-Identifier: Apache-2.0 */
/* The host probe: libvirt's host and domain capabilities, free hugepages, GPU locality, and why
 * a TEE cannot run here. README.md "Host probe". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cvm/host-probe.h"
#include "cvm/placement.h"
#include "cvm/util.h"
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
        return calloc(1, sizeof(HostProbe));
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
                free(h->gpus[i].driver);
        free(h->gpus);
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

const HostGpu *host_probe_find_gpu(const HostProbe *h, const PciAddress *a) {
        for (size_t i = 0; i < h->n_gpus; i++)
                if (pci_address_equal(&h->gpus[i].address, a))
                        return &h->gpus[i];
        return NULL;
}

int host_probe_parse_nodedev(HostProbe *h, const PciAddress *a, const char *xml, size_t size, char **reason) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_free_ char *driver = NULL;
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
                if (!xml_prop_is(cap, "type", "pci"))
                        continue;
                if (xml_prop_u64(xml_child(cap, "iommuGroup"), "number", INT_MAX, &v) == 0)
                        group = (int) v;
                if (xml_prop_u64(xml_child(cap, "numa"), "node", INT_MAX, &v) == 0)
                        numa = (int) v;
        }
        return host_probe_set_gpu(h, a, numa, group, driver && driver[0] ? driver : NULL);
}

static int read_small_file(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n;

        if (fd < 0)
                return -errno;
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

int host_probe_gpu_from_sysfs(HostProbe *h, const PciAddress *a, const char *sysfs_root) {
        _cleanup_free_ char *dir = NULL, *p = NULL;
        char bdf[16], buf[64], driver[256];
        int numa = -1, group = -1;
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
        return host_probe_set_gpu(h, a, numa, group, driver[0] ? driver : NULL);
}

/* ---- live probe ---- */

static int vir_errno(void) {
        virErrorPtr e = virGetLastError();

        if (!e)
                return -EIO;
        switch (e->code) {
        case VIR_ERR_NO_MEMORY:
                return -ENOMEM;
        case VIR_ERR_NO_SUPPORT:
                return -EOPNOTSUPP;
        case VIR_ERR_NO_DOMAIN:
        case VIR_ERR_NO_NODE_DEVICE:
                return -ENOENT;
        case VIR_ERR_OPERATION_DENIED:
        case VIR_ERR_AUTH_FAILED:
                return -EPERM;
        default:
                return -EIO;
        }
}

int host_probe_refresh_free_pages(HostProbe *h, virConnectPtr conn, char **reason) {
        unsigned sizes[_HOST_PAGE_MAX] = { 2048, 1048576 };

        for (size_t i = 0; i < h->n_cells; i++) {
                unsigned long long counts[_HOST_PAGE_MAX] = {};
                if (virNodeGetFreePages(conn, _HOST_PAGE_MAX, sizes, (int) h->cells[i].id, 1, counts, 0) < 0)
                        return set_reason(reason, vir_errno(), "cannot read the free hugepages of cell %u: %s",
                                          h->cells[i].id, virGetLastErrorMessage());
                for (int p = 0; p < _HOST_PAGE_MAX; p++)
                        h->cells[i].pages_free[p] = counts[p];
        }
        return 0;
}

int host_probe_libvirt(virConnectPtr conn, const PciAddress *gpus, size_t n_gpus, const char *sysfs_root,
                       HostProbe **ret, char **reason) {
        _cleanup_(host_probe_freep) HostProbe *h = host_probe_new();
        _cleanup_free_ char *caps = NULL, *domcaps = NULL;
        const char *type;
        int r;

        if (!h)
                return -ENOMEM;
        if (virConnectGetLibVersion(conn, &h->libvirt_version) < 0)
                return set_reason(reason, vir_errno(), "cannot read libvirt's version: %s", virGetLastErrorMessage());
        type = virConnectGetType(conn);
        if (type && !(h->driver_name = strdup(type)))
                return -ENOMEM;
        if (virConnectGetVersion(conn, &h->qemu_version) < 0 || !h->driver_name || !streq(h->driver_name, "QEMU"))
                h->qemu_version = 0; /* only a QEMU driver's hypervisor version is QEMU's */

        caps = virConnectGetCapabilities(conn);
        if (!caps)
                return set_reason(reason, vir_errno(), "cannot read the host capabilities: %s",
                                  virGetLastErrorMessage());
        r = host_probe_parse_caps(h, caps, strlen(caps), reason);
        if (r < 0)
                return r;
        r = host_probe_refresh_free_pages(h, conn, reason);
        if (r < 0)
                return r;

        domcaps = virConnectGetDomainCapabilities(conn, NULL, "x86_64", NULL, "kvm", 0);
        if (domcaps) {
                r = host_probe_parse_domcaps(h, domcaps, strlen(domcaps), reason);
                if (r < 0)
                        return r;
        } else if (!(h->domcaps_error = strdup(virGetLastErrorMessage())))
                return -ENOMEM;

        for (size_t i = 0; i < n_gpus; i++) {
                _cleanup_free_ char *name = NULL, *xml = NULL;
                virNodeDevicePtr dev;

                name = strdup_printf("pci_%04x_%02x_%02x_%x", gpus[i].domain, gpus[i].bus, gpus[i].slot,
                                     gpus[i].function);
                if (!name)
                        return -ENOMEM;
                dev = virNodeDeviceLookupByName(conn, name);
                if (dev) {
                        xml = virNodeDeviceGetXMLDesc(dev, 0);
                        virNodeDeviceFree(dev);
                }
                if (xml)
                        r = host_probe_parse_nodedev(h, &gpus[i], xml, strlen(xml), reason);
                else
                        r = host_probe_gpu_from_sysfs(h, &gpus[i], sysfs_root);
                if (r == -ENOENT) {
                        /* recorded as absent; placement names it */
                        HostGpu *a = reallocarray(h->gpus, h->n_gpus + 1, sizeof(HostGpu));
                        if (!a)
                                return -ENOMEM;
                        h->gpus = a;
                        h->gpus[h->n_gpus++] = (HostGpu) { .address = gpus[i], .numa_node = -1, .iommu_group = -1 };
                } else if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(h);
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
        else {
                *ret = NULL;
                return 0;
        }
        if (!msg)
                return -ENOMEM;
        *ret = msg;
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
