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

static void add_metadata(Builder *b, xmlNode *domain, const LaunchSpec *spec, const Placement *p,
                         const uint8_t digest[LAUNCH_DIGEST_SIZE], uint32_t cid) {
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
                attrf(b, c, "memory", "%" PRIu64, p->cells[i].pages * p->page_kib);
                attr(b, c, "unit", "KiB");
        }
}

static void add_tuning(Builder *b, xmlNode *domain, const Placement *p) {
        _cleanup_free_ char *guest = range(p->n_cells);
        _cleanup_free_ unsigned *hosts = calloc(p->n_cells, sizeof(unsigned));
        xmlNode *mb, *hp, *page, *ct, *nt, *mem;

        if (!guest || !hosts) {
                b->oom = true;
                return;
        }
        mb = el(b, domain, "memoryBacking", NULL);
        hp = el(b, mb, "hugepages", NULL);
        page = el(b, hp, "page", NULL);
        attrf(b, page, "size", "%" PRIu64, p->page_kib);
        attr(b, page, "unit", "KiB");
        attr(b, page, "nodeset", guest);
        el(b, mb, "locked", NULL);

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

static void add_devices(Builder *b, xmlNode *domain, const LaunchSpec *spec, const DomainXmlOptions *o, uint32_t cid) {
        xmlNode *dev = el(b, domain, "devices", NULL);

        if (o->emulator)
                el(b, dev, "emulator", o->emulator);
        if (spec->n_gpus > 0 && streq(o->machine, "q35")) {
                /* a 64-bit MMIO window large enough for every GPU's BARs (H100: 128 GiB BAR1) */
                xmlNode *root = el(b, dev, "controller", NULL), *hole;
                attr(b, root, "type", "pci");
                attr(b, root, "index", "0");
                attr(b, root, "model", "pcie-root");
                hole = elf(b, root, "pcihole64", "%zu", spec->n_gpus * (size_t) DOMAIN_XML_MMIO_PER_GPU_GIB);
                attr(b, hole, "unit", "GiB");
        }
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
        for (size_t i = 0; i < spec->n_gpus; i++) {
                const PciAddress *a = &spec->gpus[i];
                xmlNode *hd = el(b, dev, "hostdev", NULL), *addr;
                attr(b, hd, "mode", "subsystem");
                attr(b, hd, "type", "pci");
                attr(b, hd, "managed", "yes");
                attr(b, el(b, hd, "driver", NULL), "name", "vfio");
                addr = el(b, el(b, hd, "source", NULL), "address", NULL);
                attrf(b, addr, "domain", "0x%04x", a->domain);
                attrf(b, addr, "bus", "0x%02x", a->bus);
                attrf(b, addr, "slot", "0x%02x", a->slot);
                attrf(b, addr, "function", "0x%x", a->function);
        }
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

static int add_launch_security(Builder *b, xmlNode *domain, const LaunchSpec *spec, const HostProbe *host,
                               const DomainXmlOptions *o, const uint8_t digest[LAUNCH_DIGEST_SIZE]) {
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
                if (host->have_cbitpos) {
                        elf(b, ls, "cbitpos", "%u", host->cbitpos);
                        elf(b, ls, "reducedPhysBits", "%u", host->reduced_phys_bits);
                }
                elf(b, ls, "policy", "0x%08llx", (unsigned long long) DOMAIN_XML_SNP_POLICY);
                el(b, ls, "hostData", blob);
                break;
        case CVM_TEE_TDX:
                blob = base64(digest, LAUNCH_TDX_MRCONFIGID_SIZE);
                if (!blob)
                        return -ENOMEM;
                ls = el(b, domain, "launchSecurity", NULL);
                attr(b, ls, "type", "tdx");
                elf(b, ls, "policy", "0x%llx", (unsigned long long) DOMAIN_XML_TDX_POLICY);
                el(b, ls, "mrConfigId", blob);
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
        uint64_t pages = 0;
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
                pages += p->cells[i].pages;
        if (p->n_vcpus != spec->vcpus || p->page_kib != spec->hugepage_kib || p->n_cells == 0 ||
            pages * p->page_kib != spec->memory_mib * 1024 || !streq_ptr(p->owner, spec->name))
                return set_reason(ret_reason, -EINVAL, "the placement is not the placement of this spec");
        cid = spec->vsock_cid ? spec->vsock_cid : o.vsock_cid;
        if (cid == 0 && spec->tee != CVM_TEE_NONE)
                return set_reason(ret_reason, -EINVAL, "no vsock CID: the spec gives none and none was assigned");
        if (cid != 0 && (cid < LAUNCH_SPEC_VSOCK_CID_MIN || cid > LAUNCH_SPEC_VSOCK_CID_MAX))
                return set_reason(ret_reason, -EINVAL, "vsock CID %" PRIu32 " is reserved", cid);
        r = launch_spec_digest(spec, digest);
        if (r < 0)
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
        add_metadata(&b, domain, spec, p, digest, cid);
        n = elf(&b, domain, "memory", "%" PRIu64, spec->memory_mib * 1024);
        attr(&b, n, "unit", "KiB");
        n = elf(&b, domain, "currentMemory", "%" PRIu64, spec->memory_mib * 1024);
        attr(&b, n, "unit", "KiB");
        add_tuning(&b, domain, p);
        attr(&b, elf(&b, domain, "vcpu", "%u", spec->vcpus), "placement", "static");
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
        add_devices(&b, domain, spec, &o, cid);
        r = add_launch_security(&b, domain, spec, host, &o, digest);
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

static int parse_placement(xmlNode *pl, const char *owner, Placement **ret) {
        _cleanup_(placement_freep) Placement *p = calloc(1, sizeof(Placement));
        _cleanup_xmlfree_ xmlChar *res = NULL, *emu = NULL;
        _cleanup_free_ char *pins = NULL;
        uint64_t v;
        size_t n = 0;

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
        *ret = TAKE_PTR(p);
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
        *ret = m;
        m = (CvmdMetadata) {};
        return 0;
}
