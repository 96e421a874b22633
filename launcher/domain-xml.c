/* SPDX-License-Identifier: Apache-2.0 */
/* The libvirt domain XML for a placed launch spec, built as a libxml2 tree (every value goes
 * through the library's escaping), and cvmd's metadata element read back. README.md "Domain
 * XML". */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/domain-xml.h"
#include "cvm/util.h"
#include "launcher-internal.h"

/* Builds the tree; the first failed allocation sets oom and later calls do nothing. */
typedef struct Builder {
        xmlDoc *doc;
        bool oom;
} Builder;

static xmlNode *el(Builder *b, xmlNode *parent, const char *name, const char *text) {
        xmlNode *n;

        if (b->oom || !parent)
                return NULL;
        n = xmlNewTextChild(parent, NULL, BAD_CAST name, text ? BAD_CAST text : NULL);
        if (!n)
                b->oom = true;
        return n;
}

static xmlNode *elf(Builder *b, xmlNode *parent, const char *name, const char *fmt, ...) _printf_(4, 5);
static xmlNode *elf(Builder *b, xmlNode *parent, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!s) {
                b->oom = true;
                return NULL;
        }
        return el(b, parent, name, s);
}

static void attr(Builder *b, xmlNode *n, const char *name, const char *value) {
        if (b->oom || !n)
                return;
        if (!xmlNewProp(n, BAD_CAST name, BAD_CAST value))
                b->oom = true;
}

static void attrf(Builder *b, xmlNode *n, const char *name, const char *fmt, ...) _printf_(4, 5);
static void attrf(Builder *b, xmlNode *n, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!s) {
                b->oom = true;
                return;
        }
        attr(b, n, name, s);
}

static void attr_cpuset(Builder *b, xmlNode *n, const char *name, const unsigned *cpus, size_t k) {
        _cleanup_free_ char *s = cpuset_format(cpus, k);

        if (!s) {
                b->oom = true;
                return;
        }
        attr(b, n, name, s);
}

static char *base64(const uint8_t *p, size_t n) {
        char *s = malloc(4 * ((n + 2) / 3) + 1);

        if (s)
                (void) EVP_EncodeBlock((unsigned char *) s, p, (int) n);
        return s;
}

/* "0-1" for guest cells 0..n-1 */
static char *range(size_t n) {
        return n == 1 ? strdup("0") : strdup_printf("0-%zu", n - 1);
}

/* Where each passed-through device sits in the guest: a root port of its own, behind the
 * expander bus of the guest cell that mirrors its host cell, or on the root bus when its
 * locality is unknown. */
typedef struct PciSlot {
        const PciAddress *host;
        unsigned expander; /* controller index of its expander; 0: the root bus */
        unsigned port;     /* controller index of its root port */
        unsigned slot;     /* the root port's slot on its bus */
        bool has_guest;
        unsigned guest_bus; /* the bus the guest firmware gives the device */
} PciSlot;

typedef struct PciExpander {
        unsigned index, guest_cell, bus_nr, slot;
} PciExpander;

#define PCI_EXPANDERS_MAX 7u /* each takes 0x20 bus numbers from the top down to 0x20 */

typedef struct PciLayout {
        PciExpander exp[PCI_EXPANDERS_MAX];
        size_t n_exp;
        PciSlot dev[LAUNCH_SPEC_GPUS_MAX + LAUNCH_SPEC_NVSWITCHES_MAX];
        size_t n_dev;
        uint64_t mmio_gib;
} PciLayout;

static void add_metadata(Builder *b, xmlNode *domain, const LaunchSpec *spec, const Placement *p,
                         const PciLayout *layout, const uint8_t digest[LAUNCH_DIGEST_SIZE], uint32_t cid) {
        _cleanup_free_ char *hex = hex_encode(digest, LAUNCH_DIGEST_SIZE);
        xmlNode *md = el(b, domain, "metadata", NULL), *launch, *pl;
        xmlNs *ns;

        if (!hex || b->oom) {
                b->oom = true;
                return;
        }
        launch = xmlNewChild(md, NULL, BAD_CAST CVMD_METADATA_ELEMENT, NULL);
        if (!launch) {
                b->oom = true;
                return;
        }
        ns = xmlNewNs(launch, BAD_CAST CVMD_METADATA_NS, BAD_CAST CVMD_METADATA_PREFIX);
        if (!ns) {
                b->oom = true;
                return;
        }
        xmlSetNs(launch, ns);
#define CHILD(name, text)                                                                                              \
        ({                                                                                                             \
                xmlNode *_c = b->oom ? NULL : xmlNewTextChild(launch, ns, BAD_CAST(name), BAD_CAST(text));             \
                if (!_c)                                                                                               \
                        b->oom = true;                                                                                 \
                _c;                                                                                                    \
        })
        CHILD("job", spec->name);
        CHILD("policy", spec->policy);
        CHILD("tee", cvm_tee_to_string(spec->tee));
        CHILD("digest", hex);
        attrf(b, CHILD("vsock", NULL), "cid", "%" PRIu32, cid);
        pl = CHILD("placement", NULL);
#undef CHILD
        attrf(b, pl, "page-kib", "%" PRIu64, p->page_kib);
        attr_cpuset(b, pl, "reserved", p->reserved_cpus, p->n_reserved);
        attr_cpuset(b, pl, "emulator", p->emulator_cpus, p->n_emulator);
        attrf(b, pl, "sockets", "%u", p->sockets);
        attrf(b, pl, "cores", "%u", p->cores);
        attrf(b, pl, "threads", "%u", p->threads);
        for (size_t i = 0; i < p->n_cells && !b->oom; i++) {
                xmlNode *c = xmlNewChild(pl, ns, BAD_CAST "cell", NULL);
                if (!c) {
                        b->oom = true;
                        break;
                }
                attrf(b, c, "host", "%u", p->cells[i].host_cell);
                attrf(b, c, "first-vcpu", "%u", p->cells[i].first_vcpu);
                attrf(b, c, "vcpus", "%u", p->cells[i].n_vcpus);
                attrf(b, c, "pages", "%" PRIu64, p->cells[i].pages);
                attrf(b, c, "memory-kib", "%" PRIu64, p->cells[i].memory_kib);
                attrf(b, c, "ordinary-kib", "%" PRIu64, p->cells[i].ordinary_kib);
        }
        /* the devices passed through and where the guest finds them; then every device held
         * (their IOMMU groups included) */
        for (size_t i = 0; i < layout->n_dev && !b->oom; i++) {
                xmlNode *d = xmlNewChild(launch, ns, BAD_CAST "device", NULL);
                const PciAddress *a = layout->dev[i].host;
                if (!d) {
                        b->oom = true;
                        break;
                }
                attrf(b, d, "host", "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot, a->function);
                if (layout->dev[i].has_guest)
                        attrf(b, d, "guest", "0000:%02x:00.0", layout->dev[i].guest_bus);
        }
        for (size_t i = 0; i < p->n_devices && !b->oom; i++) {
                xmlNode *d = xmlNewChild(pl, ns, BAD_CAST "holds", NULL);
                const PciAddress *a = &p->devices[i];
                if (!d) {
                        b->oom = true;
                        break;
                }
                attrf(b, d, "device", "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot, a->function);
        }
        if (!b->oom) {
                /* the pins in vCPU order, comma-separated */
                size_t size = p->n_vcpus * 11 + 1, len = 0;
                _cleanup_free_ char *pins = malloc(size);
                xmlNode *v;
                if (!pins) {
                        b->oom = true;
                        return;
                }
                pins[0] = '\0';
                for (size_t i = 0; i < p->n_vcpus; i++)
                        len += (size_t) snprintf(pins + len, size - len, "%s%u", i ? "," : "", p->vcpu_pins[i]);
                v = xmlNewTextChild(pl, ns, BAD_CAST "vcpupins", BAD_CAST pins);
                if (!v)
                        b->oom = true;
        }
}

static void add_os(Builder *b, xmlNode *domain, const LaunchSpec *spec, const DomainXmlOptions *o) {
        xmlNode *os = el(b, domain, "os", NULL), *type, *loader;
        const char *fw = spec->boot.firmware;

        type = el(b, os, "type", "hvm");
        if (o->arch[0])
                attr(b, type, "arch", o->arch);
        if (o->machine[0])
                attr(b, type, "machine", o->machine);

        switch (spec->tee) {
        case CVM_TEE_SEV_SNP:
                /* SNP needs a stateless (no NVRAM) firmware; without an explicit image libvirt picks a
                 * descriptor with the amd-sev-snp feature */
                attr(b, os, "firmware", "efi");
                loader = el(b, os, "loader", fw);
                if (fw) {
                        attr(b, loader, "readonly", "yes");
                        attr(b, loader, "type", "pflash");
                }
                attr(b, loader, "stateless", "yes");
                if (fw)
                        attr(b, loader, "format", "raw");
                break;
        case CVM_TEE_TDX:
                /* TDVF is loaded as a ROM image, never pflash; otherwise libvirt picks a descriptor
                 * with the intel-tdx feature */
                if (fw) {
                        loader = el(b, os, "loader", fw);
                        attr(b, loader, "type", "rom");
                        attr(b, loader, "readonly", "yes");
                } else
                        attr(b, os, "firmware", "efi");
                break;
        default:
                if (fw) {
                        loader = el(b, os, "loader", fw);
                        attr(b, loader, "readonly", "yes");
                        attr(b, loader, "type", "pflash");
                }
                break;
        }
        if (spec->boot.kernel) {
                el(b, os, "kernel", spec->boot.kernel);
                if (spec->boot.initrd)
                        el(b, os, "initrd", spec->boot.initrd);
                if (spec->boot.cmdline)
                        el(b, os, "cmdline", spec->boot.cmdline);
        } else
                attr(b, el(b, os, "boot", NULL), "dev", "hd");
}

static void add_cpu(Builder *b, xmlNode *domain, const LaunchSpec *spec, const Placement *p) {
        xmlNode *cpu = el(b, domain, "cpu", NULL), *topo, *numa;

        attr(b, cpu, "mode", "host-passthrough");
        attr(b, cpu, "check", "none");
        attr(b, cpu, "migratable", "off");
        topo = el(b, cpu, "topology", NULL);
        attrf(b, topo, "sockets", "%u", p->sockets);
        attr(b, topo, "dies", "1");
        attrf(b, topo, "cores", "%u", p->cores);
        attrf(b, topo, "threads", "%u", p->threads);
        /* the guest sees the host's physical address width: room for the GPUs' 64-bit BARs */
        attr(b, el(b, cpu, "maxphysaddr", NULL), "mode", "passthrough");
        numa = el(b, cpu, "numa", NULL);
        for (size_t i = 0; i < p->n_cells; i++) {
                xmlNode *c = el(b, numa, "cell", NULL);
                attrf(b, c, "id", "%u", p->cells[i].guest_cell);
                if (p->cells[i].n_vcpus == 1)
                        attrf(b, c, "cpus", "%u", p->cells[i].first_vcpu);
                else
                        attrf(b, c, "cpus", "%u-%u", p->cells[i].first_vcpu,
                              p->cells[i].first_vcpu + p->cells[i].n_vcpus - 1);
                attrf(b, c, "memory", "%" PRIu64, p->cells[i].memory_kib);
                attr(b, c, "unit", "KiB");
        }
}

static void add_tuning(Builder *b, xmlNode *domain, const LaunchSpec *spec, const Placement *p) {
        _cleanup_free_ char *guest = range(p->n_cells);
        _cleanup_free_ unsigned *hosts = calloc(p->n_cells, sizeof(unsigned));
        xmlNode *mb, *hp, *page, *ct, *nt, *mem;

        if (!guest || !hosts) {
                b->oom = true;
                return;
        }
        mb = el(b, domain, "memoryBacking", NULL);
        if (spec->shared_memory_mib) {
                /* a capped shared part: an ordinary memfd, faulted in as the guest shares pages and
                 * punched out by QEMU when it makes them private again; locking it would fault in
                 * all of it (mlockall), hugepages would be preallocated and never given back */
                attr(b, el(b, mb, "source", NULL), "type", "memfd");
                attr(b, el(b, mb, "allocation", NULL), "mode", "ondemand");
        } else {
                hp = el(b, mb, "hugepages", NULL);
                page = el(b, hp, "page", NULL);
                attrf(b, page, "size", "%" PRIu64, p->page_kib);
                attr(b, page, "unit", "KiB");
                attr(b, page, "nodeset", guest);
                el(b, mb, "locked", NULL);
        }

        ct = el(b, domain, "cputune", NULL);
        for (size_t i = 0; i < p->n_vcpus; i++) {
                xmlNode *pin = el(b, ct, "vcpupin", NULL);
                attrf(b, pin, "vcpu", "%zu", i);
                attrf(b, pin, "cpuset", "%u", p->vcpu_pins[i]);
        }
        attr_cpuset(b, el(b, ct, "emulatorpin", NULL), "cpuset", p->emulator_cpus, p->n_emulator);

        nt = el(b, domain, "numatune", NULL);
        for (size_t i = 0; i < p->n_cells; i++)
                hosts[i] = p->cells[i].host_cell;
        mem = el(b, nt, "memory", NULL);
        attr(b, mem, "mode", "strict");
        attr_cpuset(b, mem, "nodeset", hosts, p->n_cells);
        for (size_t i = 0; i < p->n_cells; i++) {
                xmlNode *mn = el(b, nt, "memnode", NULL);
                attrf(b, mn, "cellid", "%u", p->cells[i].guest_cell);
                attr(b, mn, "mode", "strict");
                attrf(b, mn, "nodeset", "%u", p->cells[i].host_cell);
        }
}

static const PciAddress *device_at(const LaunchSpec *spec, size_t i) {
        return i < spec->n_gpus ? &spec->gpus[i] : &spec->nvswitches[i - spec->n_gpus];
}

/* The guest cell of a device's host cell, or -1. */
static int guest_cell_of(const HostProbe *host, const Placement *p, const PciAddress *a) {
        const HostGpu *g = host_probe_find_gpu(host, a);

        for (size_t c = 0; g && g->numa_node >= 0 && c < p->n_cells; c++)
                if (p->cells[c].host_cell == (unsigned) g->numa_node)
                        return (int) p->cells[c].guest_cell;
        return -1;
}

static int pci_layout(const LaunchSpec *spec, const HostProbe *host, const Placement *p, PciLayout *l, char **reason) {
        size_t n = spec->n_gpus + spec->n_nvswitches;
        unsigned next_index, root_ports = 0, per_exp[PCI_EXPANDERS_MAX] = {};

        *l = (PciLayout) { .n_dev = n };
        /* one expander per guest cell with devices, ascending */
        for (size_t c = 0; c < p->n_cells; c++) {
                bool used = false;
                for (size_t i = 0; i < n; i++)
                        used = used || guest_cell_of(host, p, device_at(spec, i)) == (int) p->cells[c].guest_cell;
                if (!used)
                        continue;
                if (l->n_exp >= PCI_EXPANDERS_MAX)
                        return set_reason(reason, -EINVAL, "devices on more than %u NUMA cells", PCI_EXPANDERS_MAX);
                l->exp[l->n_exp] = (PciExpander) { .index = (unsigned) l->n_exp + 1, .guest_cell = p->cells[c].guest_cell,
                                                   .slot = DOMAIN_XML_EXPANDER_SLOT + (unsigned) l->n_exp };
                l->n_exp++;
        }
        for (size_t e = 0; e < l->n_exp; e++)
                l->exp[e].bus_nr = 0x100u - 0x20u * (unsigned) (l->n_exp - e);
        next_index = (unsigned) l->n_exp + 1;
        for (size_t i = 0; i < n; i++) {
                int gc = guest_cell_of(host, p, device_at(spec, i));
                PciSlot *d = &l->dev[i];

                *d = (PciSlot) { .host = device_at(spec, i), .port = next_index++ };
                l->mmio_gib += i < spec->n_gpus ? DOMAIN_XML_MMIO_PER_GPU_GIB : DOMAIN_XML_MMIO_PER_NVSWITCH_GIB;
                for (size_t e = 0; gc >= 0 && e < l->n_exp; e++)
                        if (l->exp[e].guest_cell == (unsigned) gc) {
                                d->expander = l->exp[e].index;
                                d->slot = per_exp[e]++;
                                /* firmware numbers the root ports' buses after the expander's, in
                                 * slot order */
                                d->has_guest = true;
                                d->guest_bus = l->exp[e].bus_nr + 1 + d->slot;
                        }
                if (d->expander == 0) {
                        if (root_ports >= 0x1f - DOMAIN_XML_ROOT_PORT_SLOT)
                                return set_reason(reason, -EINVAL, "too many devices of unknown NUMA locality");
                        d->slot = DOMAIN_XML_ROOT_PORT_SLOT + root_ports++;
                }
        }
        return 0;
}

static void pci_address(Builder *b, xmlNode *parent, unsigned bus, unsigned slot) {
        xmlNode *a = el(b, parent, "address", NULL);

        attr(b, a, "type", "pci");
        attr(b, a, "domain", "0x0000");
        attrf(b, a, "bus", "0x%02x", bus);
        attrf(b, a, "slot", "0x%02x", slot);
        attr(b, a, "function", "0x0");
}

static void add_controllers(Builder *b, xmlNode *dev, const PciLayout *l) {
        xmlNode *root = el(b, dev, "controller", NULL), *hole;

        attr(b, root, "type", "pci");
        attr(b, root, "index", "0");
        attr(b, root, "model", "pcie-root");
        /* a 64-bit MMIO window large enough for every GPU's BARs (H100: 128 GiB BAR1) */
        hole = elf(b, root, "pcihole64", "%" PRIu64, l->mmio_gib);
        attr(b, hole, "unit", "GiB");
        for (size_t e = 0; e < l->n_exp; e++) {
                xmlNode *c = el(b, dev, "controller", NULL), *t;
                attr(b, c, "type", "pci");
                attrf(b, c, "index", "%u", l->exp[e].index);
                attr(b, c, "model", "pcie-expander-bus");
                attr(b, el(b, c, "model", NULL), "name", "pxb-pcie");
                t = el(b, c, "target", NULL);
                attrf(b, t, "busNr", "%u", l->exp[e].bus_nr);
                /* the guest sees which vCPUs and memory are near these devices */
                elf(b, t, "node", "%u", l->exp[e].guest_cell);
                pci_address(b, c, 0, l->exp[e].slot);
        }
        for (size_t i = 0; i < l->n_dev; i++) {
                xmlNode *c = el(b, dev, "controller", NULL), *t;
                attr(b, c, "type", "pci");
                attrf(b, c, "index", "%u", l->dev[i].port);
                attr(b, c, "model", "pcie-root-port");
                attr(b, el(b, c, "model", NULL), "name", "pcie-root-port");
                t = el(b, c, "target", NULL);
                attrf(b, t, "chassis", "%u", l->dev[i].port);
                attrf(b, t, "port", "0x%x", 0x10 + (unsigned) i);
                pci_address(b, c, l->dev[i].expander, l->dev[i].slot);
        }
}

static void add_hostdev(Builder *b, xmlNode *dev, const PciSlot *d) {
        xmlNode *hd = el(b, dev, "hostdev", NULL), *addr;

        attr(b, hd, "mode", "subsystem");
        attr(b, hd, "type", "pci");
        attr(b, hd, "managed", "yes");
        attr(b, el(b, hd, "driver", NULL), "name", "vfio");
        addr = el(b, el(b, hd, "source", NULL), "address", NULL);
        attrf(b, addr, "domain", "0x%04x", d->host->domain);
        attrf(b, addr, "bus", "0x%02x", d->host->bus);
        attrf(b, addr, "slot", "0x%02x", d->host->slot);
        attrf(b, addr, "function", "0x%x", d->host->function);
        /* explicit: alone behind its own root port */
        pci_address(b, hd, d->port, 0);
}

static void add_console(Builder *b, xmlNode *dev, const LaunchSpec *spec, const DomainXmlOptions *o) {
        xmlNode *serial = el(b, dev, "serial", NULL), *t, *log, *con;
        const char *dir = o->state_dir ? o->state_dir : DOMAIN_XML_STATE_DIR_DEFAULT;

        /* console=ttyS0 lands here, and a boot that fails before the agent starts is on record */
        attr(b, serial, "type", "pty");
        t = el(b, serial, "target", NULL);
        attr(b, t, "type", "isa-serial");
        attr(b, t, "port", "0");
        attr(b, el(b, t, "model", NULL), "name", "isa-serial");
        log = el(b, serial, "log", NULL);
        attrf(b, log, "file", "%s%sconsole/%s.log", dir, streq(dir, "/") ? "" : "/", spec->name);
        attr(b, log, "append", "off");
        con = el(b, dev, "console", NULL);
        attr(b, con, "type", "pty");
        t = el(b, con, "target", NULL);
        attr(b, t, "type", "serial");
        attr(b, t, "port", "0");
}

static void add_interface(Builder *b, xmlNode *dev, const LaunchNetwork *n) {
        bool bridge = n->kind == LAUNCH_NETWORK_BRIDGE;
        xmlNode *i;

        if (n->kind == LAUNCH_NETWORK_NONE)
                return;
        i = el(b, dev, "interface", NULL);
        attr(b, i, "type", bridge ? "bridge" : "network");
        attr(b, el(b, i, "source", NULL), bridge ? "bridge" : "network", n->source);
        attr(b, el(b, i, "model", NULL), "type", "virtio");
        /* the device reaches guest memory through the (shared) bounce buffers; iPXE cannot run
         * in an encrypted guest */
        attr(b, el(b, i, "driver", NULL), "iommu", "on");
        attr(b, el(b, i, "rom", NULL), "enabled", "no");
}

static void add_devices(Builder *b, xmlNode *domain, const LaunchSpec *spec, const DomainXmlOptions *o,
                        const PciLayout *l, uint32_t cid) {
        xmlNode *dev = el(b, domain, "devices", NULL);

        if (o->emulator)
                el(b, dev, "emulator", o->emulator);
        if (l->n_dev > 0)
                add_controllers(b, dev, l);
        if (spec->boot.disk) {
                xmlNode *disk = el(b, dev, "disk", NULL), *drv;
                attr(b, disk, "type", "file");
                attr(b, disk, "device", "disk");
                drv = el(b, disk, "driver", NULL);
                attr(b, drv, "name", "qemu");
                attr(b, drv, "type", launch_disk_format_to_string(spec->boot.disk_format));
                attr(b, drv, "cache", "none");
                attr(b, drv, "iommu", "on");
                attr(b, el(b, disk, "source", NULL), "file", spec->boot.disk);
                xmlNode *t = el(b, disk, "target", NULL);
                attr(b, t, "dev", "vda");
                attr(b, t, "bus", "virtio");
        }
        add_interface(b, dev, &spec->network);
        for (size_t i = 0; i < l->n_dev; i++)
                add_hostdev(b, dev, &l->dev[i]);
        add_console(b, dev, spec, o);
        if (cid != 0) {
                xmlNode *vs = el(b, dev, "vsock", NULL), *c;
                attr(b, vs, "model", "virtio");
                c = el(b, vs, "cid", NULL);
                attr(b, c, "auto", "no");
                attrf(b, c, "address", "%" PRIu32, cid);
                attr(b, el(b, vs, "driver", NULL), "iommu", "on");
        }
        attr(b, el(b, dev, "memballoon", NULL), "model", "none");
}

/* OVMF sizes its 64-bit PCI window from this fw_cfg file: room for every GPU's BARs (NVIDIA's
 * own launch scripts for H100 confidential computing set it). */
static void add_sysinfo(Builder *b, xmlNode *domain, const PciLayout *l) {
        xmlNode *si, *e;

        if (l->n_dev == 0)
                return;
        si = el(b, domain, "sysinfo", NULL);
        attr(b, si, "type", "fwcfg");
        e = elf(b, si, "entry", "%" PRIu64, l->mmio_gib * 1024);
        attr(b, e, "name", DOMAIN_XML_FWCFG_MMIO64);
}

static int add_launch_security(Builder *b, xmlNode *domain, const LaunchSpec *spec, const HostProbe *host,
                               const DomainXmlOptions *o, const uint8_t digest[LAUNCH_DIGEST_SIZE]) {
        const LaunchSecurity *sec = &spec->security;
        _cleanup_free_ char *blob = NULL;
        xmlNode *ls;

        switch (spec->tee) {
        case CVM_TEE_SEV_SNP:
                blob = base64(digest, LAUNCH_SNP_HOST_DATA_SIZE);
                if (!blob)
                        return -ENOMEM;
                ls = el(b, domain, "launchSecurity", NULL);
                attr(b, ls, "type", "sev-snp");
                if (launch_spec_is_direct_boot(spec))
                        attr(b, ls, "kernelHashes", "yes");
                if (sec->author_key)
                        attr(b, ls, "authorKey", "yes");
                if (sec->vlek_only) /* the guest's reports are signed by the VLEK, never the VCEK */
                        attr(b, ls, "vcek", "no");
                if (host->have_cbitpos) {
                        elf(b, ls, "cbitpos", "%u", host->cbitpos);
                        elf(b, ls, "reducedPhysBits", "%u", host->reduced_phys_bits);
                }
                elf(b, ls, "policy", "0x%08llx", (unsigned long long) launch_spec_tee_policy(spec));
                if (sec->id_block) {
                        _cleanup_free_ char *ib = base64(sec->id_block, LAUNCH_SNP_ID_BLOCK_SIZE);
                        _cleanup_free_ char *ia = base64(sec->id_auth, LAUNCH_SNP_ID_AUTH_SIZE);
                        if (!ib || !ia)
                                return -ENOMEM;
                        el(b, ls, "idBlock", ib);
                        el(b, ls, "idAuth", ia);
                }
                el(b, ls, "hostData", blob);
                break;
        case CVM_TEE_TDX:
                blob = base64(digest, LAUNCH_TDX_MRCONFIGID_SIZE);
                if (!blob)
                        return -ENOMEM;
                ls = el(b, domain, "launchSecurity", NULL);
                attr(b, ls, "type", "tdx");
                elf(b, ls, "policy", "0x%llx", (unsigned long long) launch_spec_tee_policy(spec));
                el(b, ls, "mrConfigId", blob);
                if (sec->has_mr_owner) {
                        _cleanup_free_ char *mo = base64(sec->mr_owner, LAUNCH_TDX_MR_OWNER_SIZE);
                        if (!mo)
                                return -ENOMEM;
                        el(b, ls, "mrOwner", mo);
                }
                if (sec->has_mr_owner_config) {
                        _cleanup_free_ char *mc = base64(sec->mr_owner_config, LAUNCH_TDX_MR_OWNER_SIZE);
                        if (!mc)
                                return -ENOMEM;
                        el(b, ls, "mrOwnerConfig", mc);
                }
                attr(b, el(b, ls, "quoteGenerationService", NULL), "path",
                     o->qgs_path ? o->qgs_path : DOMAIN_XML_TDX_QGS_DEFAULT);
                break;
        default:
                break;
        }
        return 0;
}

int domain_xml_render(const LaunchSpec *spec, const HostProbe *host, const Placement *p,
                      const DomainXmlOptions *opts, char **ret_xml, char **ret_reason) {
        DomainXmlOptions o = opts ? *opts : (DomainXmlOptions) {};
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_free_ char *refusal = NULL;
        uint8_t digest[LAUNCH_DIGEST_SIZE];
        xmlChar *out = NULL;
        Builder b = {};
        xmlNode *domain, *n;
        uint64_t memory = 0;
        PciLayout layout;
        uint32_t cid;
        int size, r;

        if (!spec || !host || !p || !ret_xml)
                return -EINVAL;
        if (!o.domain_type)
                o.domain_type = "kvm";
        if (!o.arch)
                o.arch = "x86_64";
        if (!o.machine)
                o.machine = "q35";

        r = host_probe_tee_refusal(host, spec->tee, &refusal);
        if (r < 0)
                return r;
        if (refusal)
                return set_reason(ret_reason, -EOPNOTSUPP, "%s", refusal);
        for (size_t i = 0; i < p->n_cells; i++)
                memory += p->cells[i].memory_kib;
        if (p->n_vcpus != spec->vcpus || p->page_kib != spec->hugepage_kib || p->n_cells == 0 ||
            memory != spec->memory_mib * 1024 || !streq_ptr(p->owner, spec->name))
                return set_reason(ret_reason, -EINVAL, "the placement is not the placement of this spec");
        r = pci_layout(spec, host, p, &layout, ret_reason);
        if (r < 0)
                return r;
        cid = spec->vsock_cid ? spec->vsock_cid : o.vsock_cid;
        if (cid == 0 && spec->tee != CVM_TEE_NONE)
                return set_reason(ret_reason, -EINVAL, "no vsock CID: the spec gives none and none was assigned");
        if (cid != 0 && (cid < LAUNCH_SPEC_VSOCK_CID_MIN || cid > LAUNCH_SPEC_VSOCK_CID_MAX))
                return set_reason(ret_reason, -EINVAL, "vsock CID %" PRIu32 " is reserved", cid);
        if (o.spec_digest)
                memcpy(digest, o.spec_digest, sizeof(digest));
        else if ((r = launch_spec_digest(spec, digest)) < 0)
                return r;

        doc = xmlNewDoc(BAD_CAST "1.0");
        if (!doc)
                return -ENOMEM;
        b.doc = doc;
        domain = xmlNewNode(NULL, BAD_CAST "domain");
        if (!domain)
                return -ENOMEM;
        xmlDocSetRootElement(doc, domain);
        attr(&b, domain, "type", o.domain_type);
        el(&b, domain, "name", spec->name);
        add_metadata(&b, domain, spec, p, &layout, digest, cid);
        n = elf(&b, domain, "memory", "%" PRIu64, spec->memory_mib * 1024);
        attr(&b, n, "unit", "KiB");
        n = elf(&b, domain, "currentMemory", "%" PRIu64, spec->memory_mib * 1024);
        attr(&b, n, "unit", "KiB");
        add_tuning(&b, domain, spec, p);
        attr(&b, elf(&b, domain, "vcpu", "%u", spec->vcpus), "placement", "static");
        add_sysinfo(&b, domain, &layout);
        add_os(&b, domain, spec, &o);
        n = el(&b, domain, "features", NULL);
        el(&b, n, "acpi", NULL);
        if (spec->tee == CVM_TEE_TDX) {
                /* libvirt refuses TDX without a split irqchip, or with PMU or SMM */
                attr(&b, el(&b, n, "ioapic", NULL), "driver", "qemu");
                attr(&b, el(&b, n, "pmu", NULL), "state", "off");
                attr(&b, el(&b, n, "smm", NULL), "state", "off");
        }
        add_cpu(&b, domain, spec, p);
        attr(&b, el(&b, domain, "clock", NULL), "offset", "utc");
        /* a confidential guest is never rebooted or kept after a crash: cvmd relaunches and
         * re-attests */
        el(&b, domain, "on_poweroff", "destroy");
        el(&b, domain, "on_reboot", "destroy");
        el(&b, domain, "on_crash", "destroy");
        add_devices(&b, domain, spec, &o, &layout, cid);
        /* hardware gets the bound launch digest when the caller has one (the engine binds its
         * releaser key); the metadata keeps the spec digest, which recovery recomputes */
        r = add_launch_security(&b, domain, spec, host, &o, o.launch_digest ? o.launch_digest : digest);
        if (r < 0)
                return r;
        if (b.oom)
                return -ENOMEM;

        xmlDocDumpFormatMemoryEnc(doc, &out, &size, "UTF-8", 1);
        if (!out || size <= 0)
                return -ENOMEM;
        {
                /* drop the XML declaration libvirt does not need */
                const char *s = (const char *) out;
                const char *start = strncmp(s, "<?xml", 5) == 0 ? strchr(s, '\n') : NULL;
                char *copy = strdup(start ? start + 1 : s);
                xmlFree(out);
                if (!copy)
                        return -ENOMEM;
                *ret_xml = copy;
        }
        return 0;
}

/* ---- metadata ---- */

void cvmd_metadata_done(CvmdMetadata *m) {
        free(m->job);
        free(m->policy);
        free(m->tee);
        placement_free(m->placement);
        free(m->devices);
        *m = (CvmdMetadata) {};
}

static bool is_cvmd_ns(xmlNode *n) {
        return n->ns && xmlStrcmp(n->ns->href, BAD_CAST CVMD_METADATA_NS) == 0;
}

/* The element in cvmd's namespace anywhere in a domain XML; or, as virDomainGetMetadata returns
 * it (the namespace stripped, having selected by it), a bare <launch> root. */
static xmlNode *find_launch(xmlNode *n, unsigned depth) {
        if (depth > 8)
                return NULL;
        if (depth == 0 && n && n->type == XML_ELEMENT_NODE && !n->ns &&
            xmlStrcmp(n->name, BAD_CAST CVMD_METADATA_ELEMENT) == 0)
                return n;
        for (; n; n = n->next) {
                xmlNode *f;
                if (n->type != XML_ELEMENT_NODE)
                        continue;
                if (is_cvmd_ns(n) && xmlStrcmp(n->name, BAD_CAST CVMD_METADATA_ELEMENT) == 0)
                        return n;
                f = find_launch(n->children, depth + 1);
                if (f)
                        return f;
        }
        return NULL;
}

/* A child in the parent's namespace (cvmd's, or none for a bare element). */
static xmlNode *ns_child(xmlNode *n, const char *name) {
        for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && (n->ns ? is_cvmd_ns(c) : !c->ns) &&
                    xmlStrcmp(c->name, BAD_CAST name) == 0)
                        return c;
        return NULL;
}

static int parse_u(xmlNode *n, const char *a, uint64_t max, unsigned *ret) {
        uint64_t v;

        if (xml_prop_u64(n, a, max, &v) < 0)
                return -EBADMSG;
        *ret = (unsigned) v;
        return 0;
}

/* "dddd:bb:ss.f" in an attribute. */
static int prop_pci(xmlNode *n, const char *attr, PciAddress *ret) {
        _cleanup_xmlfree_ xmlChar *v = xmlGetProp(n, BAD_CAST attr);

        if (!v)
                return -ENOENT;
        return pci_address_parse((const char *) v, ret) < 0 ? -EBADMSG : 0;
}

static bool is_child(xmlNode *parent, xmlNode *c, const char *name) {
        return c->type == XML_ELEMENT_NODE && (parent->ns ? is_cvmd_ns(c) : c->ns == NULL) &&
               xmlStrcmp(c->name, BAD_CAST name) == 0;
}

static int parse_placement(xmlNode *pl, const char *owner, Placement **ret) {
        _cleanup_(placement_freep) Placement *p = calloc(1, sizeof(Placement));
        _cleanup_xmlfree_ xmlChar *res = NULL, *emu = NULL;
        _cleanup_free_ char *pins = NULL;
        uint64_t v;
        size_t n = 0;
        int r;

        if (!p)
                return -ENOMEM;
        if (!(p->owner = strdup(owner)))
                return -ENOMEM;
        if (xml_prop_u64(pl, "page-kib", 1048576, &v) < 0 || host_page_size_from_kib(v) < 0)
                return -EBADMSG;
        p->page_kib = v;
        res = xmlGetProp(pl, BAD_CAST "reserved");
        emu = xmlGetProp(pl, BAD_CAST "emulator");
        if (!res || !emu || cpuset_parse((const char *) res, HOST_PROBE_CPUS_MAX - 1, &p->reserved_cpus, &p->n_reserved) < 0 ||
            cpuset_parse((const char *) emu, HOST_PROBE_CPUS_MAX - 1, &p->emulator_cpus, &p->n_emulator) < 0)
                return -EBADMSG;
        if (parse_u(pl, "sockets", LAUNCH_SPEC_VCPUS_MAX, &p->sockets) < 0 ||
            parse_u(pl, "cores", LAUNCH_SPEC_VCPUS_MAX, &p->cores) < 0 ||
            parse_u(pl, "threads", LAUNCH_SPEC_VCPUS_MAX, &p->threads) < 0)
                return -EBADMSG;
        for (xmlNode *c = pl->children; c; c = c->next) {
                PlacementCell *a;
                if (c->type != XML_ELEMENT_NODE || (pl->ns ? !is_cvmd_ns(c) : c->ns != NULL) ||
                    xmlStrcmp(c->name, BAD_CAST "cell") != 0)
                        continue;
                if (p->n_cells >= HOST_PROBE_CELLS_MAX)
                        return -EBADMSG;
                a = reallocarray(p->cells, p->n_cells + 1, sizeof(PlacementCell));
                if (!a)
                        return -ENOMEM;
                p->cells = a;
                a = &p->cells[p->n_cells];
                *a = (PlacementCell) { .guest_cell = (unsigned) p->n_cells };
                if (parse_u(c, "host", HOST_PROBE_CELLS_MAX * 64, &a->host_cell) < 0 ||
                    parse_u(c, "first-vcpu", LAUNCH_SPEC_VCPUS_MAX, &a->first_vcpu) < 0 ||
                    parse_u(c, "vcpus", LAUNCH_SPEC_VCPUS_MAX, &a->n_vcpus) < 0 ||
                    xml_prop_u64(c, "pages", UINT64_MAX / 1048576, &a->pages) < 0)
                        return -EBADMSG;
                /* written since the ledger counts ordinary memory; older domains: hugepages only */
                r = xml_prop_u64(c, "memory-kib", UINT64_MAX / 2, &a->memory_kib);
                if (r == -ENOENT)
                        a->memory_kib = a->pages * p->page_kib;
                else if (r < 0)
                        return -EBADMSG;
                r = xml_prop_u64(c, "ordinary-kib", UINT64_MAX / 2, &a->ordinary_kib);
                if (r < 0 && r != -ENOENT)
                        return -EBADMSG;
                n += a->n_vcpus;
                p->n_cells++;
        }
        if (p->n_cells == 0 || n == 0 || n > LAUNCH_SPEC_VCPUS_MAX)
                return -EBADMSG;
        pins = xml_text(ns_child(pl, "vcpupins"));
        if (!pins)
                return -ENOMEM;
        p->vcpu_pins = calloc(n, sizeof(unsigned));
        if (!p->vcpu_pins)
                return -ENOMEM;
        {
                const char *s = pins;
                for (size_t i = 0; i < n; i++) {
                        char *end;
                        unsigned long u;
                        if (*s < '0' || *s > '9')
                                return -EBADMSG;
                        u = strtoul(s, &end, 10);
                        if (u >= HOST_PROBE_CPUS_MAX || (*end != ',' && *end != '\0') || (*end == '\0') != (i + 1 == n))
                                return -EBADMSG;
                        p->vcpu_pins[i] = (unsigned) u;
                        s = *end ? end + 1 : end;
                }
        }
        p->n_vcpus = n;
        for (xmlNode *c = pl->children; c; c = c->next) {
                PciAddress *a;
                if (!is_child(pl, c, "holds"))
                        continue;
                if (p->n_devices >= (LAUNCH_SPEC_GPUS_MAX + LAUNCH_SPEC_NVSWITCHES_MAX) * HOST_PROBE_GROUP_MAX)
                        return -EBADMSG;
                a = reallocarray(p->devices, p->n_devices + 1, sizeof(PciAddress));
                if (!a)
                        return -ENOMEM;
                p->devices = a;
                if (prop_pci(c, "device", &p->devices[p->n_devices]) < 0)
                        return -EBADMSG;
                p->n_devices++;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

static int parse_devices(xmlNode *launch, CvmdMetadata *m) {
        for (xmlNode *c = launch->children; c; c = c->next) {
                CvmdDevice *d;
                int r;
                if (!is_child(launch, c, "device"))
                        continue;
                if (m->n_devices >= LAUNCH_SPEC_GPUS_MAX + LAUNCH_SPEC_NVSWITCHES_MAX)
                        return -EBADMSG;
                d = reallocarray(m->devices, m->n_devices + 1, sizeof(CvmdDevice));
                if (!d)
                        return -ENOMEM;
                m->devices = d;
                d = &m->devices[m->n_devices];
                *d = (CvmdDevice) {};
                if (prop_pci(c, "host", &d->host) < 0)
                        return -EBADMSG;
                r = prop_pci(c, "guest", &d->guest);
                if (r == -EBADMSG)
                        return r;
                d->has_guest = r == 0;
                m->n_devices++;
        }
        return 0;
}

int cvmd_metadata_parse(const char *xml, size_t size, CvmdMetadata *ret) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(cvmd_metadata_done) CvmdMetadata m = {};
        _cleanup_free_ char *hex = NULL;
        xmlNode *launch, *pl;
        uint64_t cid;
        int r;

        r = xml_read(xml, size, HOST_PROBE_XML_MAX, &doc);
        if (r < 0)
                return r == -EFBIG ? r : -EBADMSG;
        launch = find_launch(xmlDocGetRootElement(doc), 0);
        if (!launch)
                return -ENOENT;
        m.job = xml_text(ns_child(launch, "job"));
        m.policy = xml_text(ns_child(launch, "policy"));
        m.tee = xml_text(ns_child(launch, "tee"));
        hex = xml_text(ns_child(launch, "digest"));
        if (!m.job || !m.policy || !m.tee || !hex)
                return -ENOMEM;
        if (!m.job[0] || cvm_tee_from_string(m.tee) < 0 || hex_decode_exact(hex, m.digest, LAUNCH_DIGEST_SIZE) < 0)
                return -EBADMSG;
        if (xml_prop_u64(ns_child(launch, "vsock"), "cid", UINT32_MAX, &cid) < 0)
                return -EBADMSG;
        m.vsock_cid = (uint32_t) cid;
        pl = ns_child(launch, "placement");
        if (!pl)
                return -EBADMSG;
        r = parse_placement(pl, m.job, &m.placement);
        if (r < 0)
                return r;
        m.placement->vsock_cid = m.vsock_cid;
        r = parse_devices(launch, &m);
        if (r < 0)
                return r;
        *ret = m;
        m = (CvmdMetadata) {};
        return 0;
}
