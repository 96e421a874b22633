/* SPDX-License-Identifier: Apache-2.0 */
/* Domain XML: SEV-SNP and TDX specs (1 GPU, 8 GPUs over 2 cells, direct and disk boot) rendered
 * on synthetic hosts; each validates against libvirt 12.8's RelaxNG schema
 * ($CVM_SHARED/libvirt/schemas, skipped when absent), carries the launch digest where the TEE
 * measures it, and has the upstream examples' launchSecurity shape. Also the host probe's
 * parsers: capabilities, domain capabilities (the upstream samples when present), node devices,
 * the sysfs fallback, and the TEE refusals.
 *
 * The HGX H100 host of tests/data/hgx-h100 (two sockets, eight H100s, four NVSwitches, their
 * node devices and the host's files): SEV-SNP and TDX with 1, 2, 4 and 8 GPUs (8 with the
 * NVSwitches), with and without a NIC, each valid against the schema and checked element by
 * element: the MMIO window per GPU (pcihole64 and OVMF's fw_cfg), a root port per device, an
 * expander bus per host cell with its guest <node>, cells, pins and numatune agreeing, the
 * guest topology, the console log path, the memory accounting per node, the launch policies;
 * and the host checks: KVM parameters, firmware, VFIO's dma_entry_limit, IOMMU groups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/relaxng.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/domain-xml.h"
#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"
#include "cvm/placement.h"
#include "cvm/util.h"

/* Two cells of 16 two-thread cores, 64 GiB of 2 MiB pages and 64 1 GiB pages each. */
static char *caps_xml(void) {
        size_t size = 1 << 16, len = 0;
        char *x = malloc(size);

        assert_non_null(x);
        len += (size_t) snprintf(x + len, size - len, "<capabilities><host><topology><cells num='2'>");
        for (unsigned n = 0; n < 2; n++) {
                len += (size_t) snprintf(x + len, size - len,
                                         "<cell id='%u'><memory unit='KiB'>268435456</memory>"
                                         "<pages unit='KiB' size='2048'>32768</pages>"
                                         "<pages unit='KiB' size='1048576'>64</pages><cpus num='32'>", n);
                for (unsigned t = 0; t < 2; t++)
                        for (unsigned c = 0; c < 16; c++)
                                len += (size_t) snprintf(x + len, size - len,
                                                         "<cpu id='%u' socket_id='%u' core_id='%u' siblings='%u,%u'/>",
                                                         t * 32 + n * 16 + c, n, c, n * 16 + c, 32 + n * 16 + c);
                len += (size_t) snprintf(x + len, size - len, "</cpus></cell>");
        }
        snprintf(x + len, size - len, "</cells></topology></host></capabilities>");
        return x;
}

static const char snp_domcaps[] =
        "<domainCapabilities><machine>pc-q35-10.0</machine><os supported='yes'><loader supported='yes'>"
        "<value>/usr/share/ovmf/OVMF.amdsev.fd</value></loader></os><features>"
        "<tdx supported='no'/><sev supported='yes'><cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits></sev>"
        "<launchSecurity supported='yes'><enum name='sectype'><value>sev</value><value>sev-snp</value></enum>"
        "</launchSecurity></features></domainCapabilities>";
static const char tdx_domcaps[] =
        "<domainCapabilities><machine>pc-q35-10.1</machine><features><tdx supported='yes'/><sev supported='no'/>"
        "<launchSecurity supported='yes'><enum name='sectype'><value>tdx</value></enum></launchSecurity>"
        "</features></domainCapabilities>";
static const char old_domcaps[] =
        "<domainCapabilities><features><sev supported='yes'><cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits>"
        "</sev></features></domainCapabilities>";

static xmlRelaxNGPtr schema;
static char *shared_dir;

static int setup(void **state) {
        const char *s = getenv("CVM_SHARED");
        _cleanup_free_ char *rng = NULL;
        xmlRelaxNGParserCtxtPtr pc;

        shared_dir = strdup(s ? s : "../shared");
        rng = strdup_printf("%s/libvirt/schemas/domain.rng", shared_dir);
        if (!rng || access(rng, R_OK) < 0)
                return 0;
        pc = xmlRelaxNGNewParserCtxt(rng);
        schema = pc ? xmlRelaxNGParse(pc) : NULL;
        xmlRelaxNGFreeParserCtxt(pc);
        return schema ? 0 : -1;
}

static int teardown(void **state) {
        if (schema)
                xmlRelaxNGFree(schema);
        free(shared_dir);
        return 0;
}

static HostProbe *probe(const char *domcaps) {
        HostProbe *h = host_probe_new();
        _cleanup_free_ char *caps = caps_xml(), *reason = NULL;

        assert_non_null(h);
        assert_int_equal(host_probe_parse_caps(h, caps, strlen(caps), &reason), 0);
        assert_int_equal(host_probe_parse_domcaps(h, domcaps, strlen(domcaps), &reason), 0);
        /* 8 GPUs: 0x11-0x14 on cell 0, 0x91-0x94 on cell 1 */
        for (unsigned i = 0; i < 4; i++) {
                PciAddress a = { .bus = (uint8_t) (0x11 + i) }, b = { .bus = (uint8_t) (0x91 + i) };
                assert_int_equal(host_probe_set_gpu(h, &a, 0, (int) i, "vfio-pci"), 0);
                assert_int_equal(host_probe_set_gpu(h, &b, 1, (int) (10 + i), "vfio-pci"), 0);
        }
        return h;
}

typedef struct Rendered {
        LaunchSpec *spec;
        Placement *placement;
        char *xml;
        xmlDoc *doc;
        xmlXPathContext *xp;
} Rendered;

static void rendered_done(Rendered *r) {
        launch_spec_free(r->spec);
        placement_free(r->placement);
        free(r->xml);
        xmlXPathFreeContext(r->xp);
        xmlFreeDoc(r->doc);
}

#define ONE_GPU "\"gpus\":[\"0000:91:00.0\"]"
#define EIGHT_GPUS                                                                                                     \
        "\"gpus\":[\"0000:11:00.0\",\"0000:12:00.0\",\"0000:13:00.0\",\"0000:14:00.0\",\"0000:91:00.0\","             \
        "\"0000:92:00.0\",\"0000:93:00.0\",\"0000:94:00.0\"]"
#define DIRECT "\"boot\":{\"kernel\":\"/var/lib/cvmd/vmlinuz\",\"initrd\":\"/var/lib/cvmd/initrd\",\"cmdline\":\"console=ttyS0 a<b&c\"}"
#define DISK "\"boot\":{\"disk\":\"/var/lib/cvmd/images/root.qcow2\",\"disk_format\":\"qcow2\"}"

static void render_on(HostProbe *h, const char *tee, unsigned vcpus, unsigned mib, const char *gpus, const char *boot,
                      Rendered *ret);

static void render(const char *domcaps, const char *tee, unsigned vcpus, unsigned mib, const char *gpus,
                   const char *boot, Rendered *ret) {
        _cleanup_(host_probe_freep) HostProbe *h = probe(domcaps);

        render_on(h, tee, vcpus, mib, gpus, boot, ret);
}

/* gpus: the spec's keys after "memory_mib" (gpus, nvswitches, network, ...). */
static void render_on(HostProbe *h, const char *tee, unsigned vcpus, unsigned mib, const char *gpus, const char *boot,
                      Rendered *ret) {
        _cleanup_free_ char *json = NULL, *reason = NULL;
        DomainXmlOptions o = { .vsock_cid = 77, .state_dir = "/srv/cvmd" };

        json = strdup_printf("{\"name\":\"job\",\"tee\":\"%s\",\"vcpus\":%u,\"memory_mib\":%u,%s,%s,"
                             "\"policy\":\"prod\",\"key_ids\":[\"k1\"]}",
                             tee, vcpus, mib, gpus, boot);
        *ret = (Rendered) {};
        if (launch_spec_parse(json, strlen(json), &ret->spec, &reason) < 0)
                fail_msg("spec: %s", reason);
        if (placement_compute(ret->spec, h, NULL, NULL, &ret->placement, &reason) < 0)
                fail_msg("placement: %s", reason);
        if (domain_xml_render(ret->spec, h, ret->placement, &o, &ret->xml, &reason) < 0)
                fail_msg("render: %s", reason);
        ret->doc = xmlReadMemory(ret->xml, (int) strlen(ret->xml), NULL, NULL, XML_PARSE_NONET);
        assert_non_null(ret->doc);
        ret->xp = xmlXPathNewContext(ret->doc);
        assert_non_null(ret->xp);
        assert_int_equal(xmlXPathRegisterNs(ret->xp, BAD_CAST "c", BAD_CAST CVMD_METADATA_NS), 0);

        if (schema) {
                xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(schema);
                int v = xmlRelaxNGValidateDoc(vc, ret->doc);
                xmlRelaxNGFreeValidCtxt(vc);
                if (v != 0)
                        fail_msg("rendered XML does not validate against domain.rng:\n%s", ret->xml);
        }
}

static char *xs(Rendered *r, const char *expr) {
        _cleanup_free_ char *q = strdup_printf("string(%s)", expr);
        xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST q, r->xp);
        char *s;

        assert_non_null(o);
        s = strdup((const char *) (o->stringval ? o->stringval : BAD_CAST ""));
        xmlXPathFreeObject(o);
        return s;
}

static void assert_xs(Rendered *r, const char *expr, const char *want) {
        _cleanup_free_ char *got = xs(r, expr);
        if (!streq(got, want))
                fail_msg("%s: got '%s', want '%s'", expr, got, want);
}

static double xn(Rendered *r, const char *expr) {
        xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, r->xp);
        double d;

        assert_non_null(o);
        d = xmlXPathCastToNumber(o);
        xmlXPathFreeObject(o);
        return d;
}

static void decode(const char *b64, uint8_t *out, size_t want) {
        uint8_t buf[128];
        size_t len = strlen(b64);
        int n;

        assert_true(len < sizeof(buf) && len % 4 == 0);
        n = EVP_DecodeBlock(buf, (const unsigned char *) b64, (int) len);
        assert_true(n >= 0);
        n -= (len >= 1 && b64[len - 1] == '=') + (len >= 2 && b64[len - 2] == '=');
        assert_int_equal(n, want);
        memcpy(out, buf, want);
}

/* What every CVM's XML has, whatever the TEE. */
static void common_checks(Rendered *r, size_t n_gpus, size_t n_cells) {
        _cleanup_(cvmd_metadata_done) CvmdMetadata m = {};
        uint8_t digest[48];
        char q[128];

        assert_xs(r, "/domain/@type", "kvm");
        assert_xs(r, "/domain/name", "job");
        assert_xs(r, "/domain/memoryBacking/hugepages/page/@size", "2048");
        assert_true(xn(r, "count(/domain/memoryBacking/locked)") == 1);
        assert_xs(r, "/domain/devices/memballoon/@model", "none");
        assert_xs(r, "/domain/cpu/@mode", "host-passthrough");
        assert_true(xn(r, "count(/domain/cputune/vcpupin)") == r->spec->vcpus);
        assert_true(xn(r, "count(/domain/cputune/emulatorpin)") == 1);
        assert_xs(r, "/domain/numatune/memory/@mode", "strict");
        assert_true(xn(r, "count(/domain/numatune/memnode[@mode='strict'])") == n_cells);
        assert_true(xn(r, "count(/domain/cpu/numa/cell)") == n_cells);
        assert_true(xn(r, "sum(/domain/cpu/numa/cell/@memory)") == r->spec->memory_mib * 1024.0);
        assert_true(xn(r, "count(/domain/devices/hostdev[@type='pci'][@managed='yes']/driver[@name='vfio'])") ==
                    n_gpus + r->spec->n_nvswitches);
        snprintf(q, sizeof(q), "%zu", n_gpus * 256 + r->spec->n_nvswitches);
        assert_xs(r, "/domain/devices/controller[@model='pcie-root']/pcihole64", q);
        assert_xs(r, "/domain/devices/controller[@model='pcie-root']/pcihole64/@unit", "GiB");
        /* OVMF's own window: the same size in MiB */
        snprintf(q, sizeof(q), "%zu", (n_gpus * 256 + r->spec->n_nvswitches) * 1024);
        assert_xs(r, "/domain/sysinfo[@type='fwcfg']/entry[@name='opt/ovmf/X-PciMmio64Mb']", q);
        assert_xs(r, "/domain/devices/serial/log/@file", "/srv/cvmd/console/job.log");
        assert_xs(r, "/domain/devices/console/target/@type", "serial");
        assert_xs(r, "/domain/devices/vsock/cid/@address", "77");
        assert_xs(r, "/domain/devices/vsock/cid/@auto", "no");
        assert_xs(r, "/domain/devices/vsock/driver/@iommu", "on");
        assert_true(xn(r, "count(/domain/devices/disk/driver[@iommu!='on'])") == 0);
        assert_xs(r, "/domain/on_crash", "destroy");

        /* metadata: what cvmd finds again after a restart */
        assert_int_equal(launch_spec_digest(r->spec, digest), 0);
        assert_int_equal(cvmd_metadata_parse(r->xml, strlen(r->xml), &m), 0);
        assert_string_equal(m.job, "job");
        assert_string_equal(m.policy, "prod");
        assert_memory_equal(m.digest, digest, 48);
        assert_int_equal(m.vsock_cid, 77);
        assert_int_equal(m.placement->n_vcpus, r->placement->n_vcpus);
        assert_memory_equal(m.placement->vcpu_pins, r->placement->vcpu_pins, r->placement->n_vcpus * sizeof(unsigned));
        assert_int_equal(m.placement->n_cells, n_cells);
        for (size_t i = 0; i < n_cells; i++) {
                assert_int_equal(m.placement->cells[i].host_cell, r->placement->cells[i].host_cell);
                assert_int_equal(m.placement->cells[i].pages, r->placement->cells[i].pages);
        }
        assert_int_equal(m.placement->n_reserved, r->placement->n_reserved);
}

/* The launchSecurity children, in order, must be an ordered subset of the upstream example's. */
static void compare_shape(Rendered *r, const char *example) {
        _cleanup_free_ char *path = strdup_printf("%s/libvirt/xml/%s", shared_dir, example);
        xmlDoc *up;
        xmlNode *mine, *theirs, *t;

        if (access(path, R_OK) < 0)
                return;
        up = xmlReadFile(path, NULL, XML_PARSE_NONET);
        assert_non_null(up);
        theirs = xmlDocGetRootElement(up)->children;
        while (theirs && (theirs->type != XML_ELEMENT_NODE || !xmlStrEqual(theirs->name, BAD_CAST "launchSecurity")))
                theirs = theirs->next;
        assert_non_null(theirs);
        mine = xmlDocGetRootElement(r->doc)->children;
        while (mine && (mine->type != XML_ELEMENT_NODE || !xmlStrEqual(mine->name, BAD_CAST "launchSecurity")))
                mine = mine->next;
        assert_non_null(mine);
        t = theirs->children;
        for (xmlNode *c = mine->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                while (t && (t->type != XML_ELEMENT_NODE || !xmlStrEqual(t->name, c->name)))
                        t = t->next;
                if (!t)
                        fail_msg("<%s> is not where %s has it", (const char *) c->name, example);
        }
        xmlFreeDoc(up);
}

static void test_snp_one_gpu_direct(void **state) {
        _cleanup_(rendered_done) Rendered r;
        uint8_t digest[48], host_data[32];
        _cleanup_free_ char *b64 = NULL;

        render(snp_domcaps, "sev-snp", 8, 16384, ONE_GPU, DIRECT, &r);
        common_checks(&r, 1, 1);
        assert_xs(&r, "/domain/launchSecurity/@type", "sev-snp");
        assert_xs(&r, "/domain/launchSecurity/@kernelHashes", "yes");
        assert_xs(&r, "/domain/launchSecurity/policy", "0x00030000");
        assert_xs(&r, "/domain/launchSecurity/cbitpos", "51");
        assert_xs(&r, "/domain/launchSecurity/reducedPhysBits", "1");
        b64 = xs(&r, "/domain/launchSecurity/hostData");
        decode(b64, host_data, 32);
        assert_int_equal(launch_spec_digest(r.spec, digest), 0);
        assert_memory_equal(host_data, digest, 32);
        assert_xs(&r, "/domain/os/@firmware", "efi");
        assert_xs(&r, "/domain/os/loader/@stateless", "yes");
        assert_xs(&r, "/domain/os/kernel", "/var/lib/cvmd/vmlinuz");
        /* text goes through the library's escaping and comes back unchanged */
        assert_xs(&r, "/domain/os/cmdline", "console=ttyS0 a<b&c");
        assert_true(xn(&r, "count(/domain/os/boot)") == 0);
        /* GPU on cell 1: everything there */
        assert_xs(&r, "/domain/numatune/memory/@nodeset", "1");
        assert_xs(&r, "/domain/devices/hostdev/source/address/@bus", "0x91");
        assert_true(xn(&r, "count(/domain/features/pmu)") == 0);
        compare_shape(&r, "launch-security-sev-snp.x86_64-latest.05b67b8.xml");
}

static void test_snp_eight_gpus_disk(void **state) {
        _cleanup_(rendered_done) Rendered r;

        render(snp_domcaps, "sev-snp", 32, 65536, EIGHT_GPUS, DISK, &r);
        common_checks(&r, 8, 2);
        assert_true(xn(&r, "count(/domain/launchSecurity/@kernelHashes)") == 0);
        assert_xs(&r, "/domain/os/boot/@dev", "hd");
        assert_xs(&r, "/domain/devices/disk/driver/@type", "qcow2");
        assert_xs(&r, "/domain/devices/disk/source/@file", "/var/lib/cvmd/images/root.qcow2");
        assert_xs(&r, "/domain/devices/disk/target/@bus", "virtio");
        /* two guest cells mirroring host cells 0 and 1 */
        assert_xs(&r, "/domain/numatune/memory/@nodeset", "0-1");
        assert_xs(&r, "/domain/numatune/memnode[@cellid='1']/@nodeset", "1");
        assert_xs(&r, "/domain/cpu/numa/cell[@id='1']/@cpus", "16-31");
        assert_xs(&r, "/domain/memoryBacking/hugepages/page/@nodeset", "0-1");
        assert_xs(&r, "/domain/cpu/topology/@sockets", "2");
        assert_xs(&r, "/domain/cpu/topology/@threads", "2");
        assert_xs(&r, "/domain/cputune/vcpupin[@vcpu='0']/@cpuset", "1");
        assert_xs(&r, "/domain/cputune/vcpupin[@vcpu='1']/@cpuset", "33");
        assert_xs(&r, "/domain/cputune/emulatorpin/@cpuset", "0,32");
        compare_shape(&r, "launch-security-sev-snp.x86_64-latest.05b67b8.xml");
}

static void test_tdx_one_gpu_disk(void **state) {
        _cleanup_(rendered_done) Rendered r;
        uint8_t digest[48], mrconfigid[48];
        _cleanup_free_ char *b64 = NULL;

        render(tdx_domcaps, "tdx", 4, 8192, ONE_GPU, DISK, &r);
        common_checks(&r, 1, 1);
        assert_xs(&r, "/domain/launchSecurity/@type", "tdx");
        assert_xs(&r, "/domain/launchSecurity/policy", "0x10000000");
        b64 = xs(&r, "/domain/launchSecurity/mrConfigId");
        decode(b64, mrconfigid, 48);
        assert_int_equal(launch_spec_digest(r.spec, digest), 0);
        assert_memory_equal(mrconfigid, digest, 48);
        assert_xs(&r, "/domain/launchSecurity/quoteGenerationService/@path", DOMAIN_XML_TDX_QGS_DEFAULT);
        assert_xs(&r, "/domain/features/ioapic/@driver", "qemu");
        assert_xs(&r, "/domain/features/pmu/@state", "off");
        assert_xs(&r, "/domain/features/smm/@state", "off");
        assert_xs(&r, "/domain/os/@firmware", "efi");
        assert_true(xn(&r, "count(/domain/os/loader[@type='pflash'])") == 0);
        compare_shape(&r, "launch-security-tdx.x86_64-latest+inteltdx.xml");
}

static void test_tdx_eight_gpus_direct_rom(void **state) {
        _cleanup_(rendered_done) Rendered r;

        render(tdx_domcaps, "tdx", 16, 32768, EIGHT_GPUS,
               "\"boot\":{\"firmware\":\"/usr/share/ovmf/OVMF.inteltdx.fd\",\"kernel\":\"/k\",\"disk\":\"/d.img\"}", &r);
        common_checks(&r, 8, 2);
        /* TDVF as a ROM, never pflash */
        assert_xs(&r, "/domain/os/loader/@type", "rom");
        assert_xs(&r, "/domain/os/loader", "/usr/share/ovmf/OVMF.inteltdx.fd");
        assert_true(xn(&r, "count(/domain/os/@firmware)") == 0);
        assert_xs(&r, "/domain/os/kernel", "/k");
        assert_xs(&r, "/domain/devices/disk/driver/@type", "raw");
        compare_shape(&r, "launch-security-tdx.x86_64-latest+inteltdx.xml");
}

static void test_snp_explicit_firmware(void **state) {
        _cleanup_(rendered_done) Rendered r;

        render(snp_domcaps, "sev-snp", 2, 1024, "\"gpus\":[]",
               "\"boot\":{\"firmware\":\"/usr/share/ovmf/OVMF.amdsev.fd\",\"disk\":\"/d.img\"}", &r);
        assert_xs(&r, "/domain/os/loader", "/usr/share/ovmf/OVMF.amdsev.fd");
        assert_xs(&r, "/domain/os/loader/@type", "pflash");
        assert_xs(&r, "/domain/os/loader/@stateless", "yes");
        assert_xs(&r, "/domain/os/loader/@readonly", "yes");
        assert_true(xn(&r, "count(/domain/os/nvram)") == 0);
        /* no GPUs: no MMIO window needed */
        assert_true(xn(&r, "count(/domain/devices/controller)") == 0);
        assert_true(xn(&r, "count(/domain/sysinfo)") == 0);
        assert_true(xn(&r, "count(/domain/devices/hostdev)") == 0);
}

static void test_refusals(void **state) {
        _cleanup_(host_probe_freep) HostProbe *snp = probe(snp_domcaps), *old = probe(old_domcaps);
        _cleanup_(launch_spec_freep) LaunchSpec *s = NULL, *t = NULL;
        _cleanup_(placement_freep) Placement *p = NULL;
        _cleanup_free_ char *reason = NULL;
        char *xml = NULL;
        const char *tdx = "{\"name\":\"job\",\"tee\":\"tdx\",\"vcpus\":2,\"memory_mib\":1024," DISK ",\"policy\":\"p\"}";
        const char *snpj = "{\"name\":\"job\",\"tee\":\"sev-snp\",\"vcpus\":2,\"memory_mib\":1024," DISK ",\"policy\":\"p\"}";
        DomainXmlOptions o = { .vsock_cid = 3 };

        assert_int_equal(launch_spec_parse(tdx, strlen(tdx), &t, NULL), 0);
        assert_int_equal(launch_spec_parse(snpj, strlen(snpj), &s, NULL), 0);
        assert_int_equal(placement_compute(t, snp, NULL, NULL, &p, NULL), 0);
        assert_int_equal(domain_xml_render(t, snp, p, &o, &xml, &reason), -EOPNOTSUPP);
        assert_null(xml);
        assert_string_equal(reason,
                            "libvirt does not offer tdx on this host (not in the domain capabilities' launchSecurity "
                            "types); check that TDX is enabled in the firmware setup, kvm_intel is loaded with tdx=1, "
                            "and a TDVF firmware is installed");
        free(reason);
        reason = NULL;
        /* what libvirt 9.0 (Debian 12) says */
        old->libvirt_version = 9000000;
        assert_int_equal(host_probe_tee_refusal(old, CVM_TEE_SEV_SNP, &reason), 0);
        assert_string_equal(reason, "libvirt 9.0.0 does not support sev-snp; needs 10.5.0 with QEMU 9.1");
        free(reason);
        assert_int_equal(host_probe_tee_refusal(old, CVM_TEE_TDX, &reason), 0);
        assert_string_equal(reason, "libvirt 9.0.0 does not support tdx; needs 11.6.0 with QEMU 10.1");
        free(reason);
        old->libvirt_version = 10010000;
        old->qemu_version = 8002000;
        assert_int_equal(host_probe_tee_refusal(old, CVM_TEE_SEV_SNP, &reason), 0);
        assert_string_equal(reason, "QEMU 8.2.0 does not support sev-snp; needs 9.1");
        free(reason);
        assert_int_equal(host_probe_tee_refusal(old, CVM_TEE_NONE, &reason), 0);
        assert_null(reason);
        assert_int_equal(host_probe_tee_refusal(snp, CVM_TEE_SEV_SNP, &reason), 0);
        assert_null(reason);
        /* a CVM always gets a vsock CID */
        placement_free(p);
        p = NULL;
        assert_int_equal(placement_compute(s, snp, NULL, NULL, &p, NULL), 0);
        o.vsock_cid = 0;
        assert_int_equal(domain_xml_render(s, snp, p, &o, &xml, &reason), -EINVAL);
        assert_string_equal(reason, "no vsock CID: the spec gives none and none was assigned");
        free(reason);
        reason = NULL;
        /* and the placement must be this spec's */
        o.vsock_cid = 3;
        p->n_vcpus = 1;
        assert_int_equal(domain_xml_render(s, snp, p, &o, &xml, &reason), -EINVAL);
        p->n_vcpus = 2;
}

static void test_metadata_parse(void **state) {
        CvmdMetadata m = {};
        static const char bare[] =
                "<launch><job>j</job><policy>p</policy><tee>none</tee>"
                "<digest>000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001</digest>"
                "<vsock cid='9'/><placement page-kib='2048' reserved='1-2' emulator='0' sockets='1' cores='2' threads='1'>"
                "<cell host='0' first-vcpu='0' vcpus='2' pages='10'/><vcpupins>1,2</vcpupins></placement></launch>";

        /* as virDomainGetMetadata returns it: namespace stripped */
        assert_int_equal(cvmd_metadata_parse(bare, strlen(bare), &m), 0);
        assert_string_equal(m.job, "j");
        assert_int_equal(m.digest[47], 1);
        assert_int_equal(m.vsock_cid, 9);
        assert_int_equal(m.placement->vcpu_pins[1], 2);
        cvmd_metadata_done(&m);
        /* a domain without it */
        assert_int_equal(cvmd_metadata_parse("<domain><name>x</name></domain>", 31, &m), -ENOENT);
        /* a foreign namespace's <launch> is not ours */
        assert_int_equal(cvmd_metadata_parse("<domain><metadata><x:launch xmlns:x='urn:other'/></metadata></domain>", 70,
                                             &m),
                         -ENOENT);
        assert_int_equal(cvmd_metadata_parse("<launch><job>j</job>", 20, &m), -EBADMSG);
        /* pins that do not match the cells */
        {
                _cleanup_free_ char *bad = strdup(bare);
                char *p = strstr(bad, "1,2</vcpupins>");
                p[1] = ';';
                assert_int_equal(cvmd_metadata_parse(bad, strlen(bad), &m), -EBADMSG);
        }
        assert_null(m.job);
}

/* ---- host probe ---- */

static void test_probe_shared_caps(void **state) {
        _cleanup_free_ char *caps = strdup_printf("%s/libvirt/caps/vircaps-x86_64-basic.xml", shared_dir);
        _cleanup_free_ char *amd = strdup_printf("%s/libvirt/caps/qemu_10.0.0-q35.x86_64+amdsev.xml", shared_dir);
        _cleanup_free_ char *intel = strdup_printf("%s/libvirt/caps/qemu_10.1.0-q35.x86_64+inteltdx.xml", shared_dir);
        _cleanup_(host_probe_freep) HostProbe *h = host_probe_new();
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *reason = NULL;
        size_t n;

        if (access(caps, R_OK) < 0 || access(amd, R_OK) < 0 || access(intel, R_OK) < 0)
                skip();
        assert_int_equal(read_file_bounded(caps, HOST_PROBE_XML_MAX, &data, &n), 0);
        assert_int_equal(host_probe_parse_caps(h, (char *) data, n, &reason), 0);
        assert_int_equal(h->n_cells, 4);
        assert_int_equal(h->cells[3].id, 3);
        assert_int_equal(h->cells[3].memory_kib, 4194304);
        assert_int_equal(h->cells[1].pages_total[HOST_PAGE_2M], 6144);
        assert_int_equal(h->cells[1].pages_free[HOST_PAGE_1G], 8192);
        assert_int_equal(h->cells[2].n_cpus, 4);
        assert_int_equal(h->cells[2].cpus[0].id, 8);
        assert_int_equal(h->cells[2].cpus[0].n_siblings, 1);
        free(data);
        data = NULL;

        assert_int_equal(read_file_bounded(amd, HOST_PROBE_XML_MAX, &data, &n), 0);
        assert_int_equal(host_probe_parse_domcaps(h, (char *) data, n, &reason), 0);
        assert_true(h->sev_snp);
        assert_false(h->tdx);
        assert_true(h->have_cbitpos);
        assert_int_equal(h->cbitpos, 51);
        assert_int_equal(h->reduced_phys_bits, 1);
        assert_string_equal(h->machine, "pc-q35-10.0");
        assert_int_equal(h->n_firmware, 2);
        free(data);
        data = NULL;

        assert_int_equal(read_file_bounded(intel, HOST_PROBE_XML_MAX, &data, &n), 0);
        assert_int_equal(host_probe_parse_domcaps(h, (char *) data, n, &reason), 0);
        assert_true(h->tdx);
        assert_false(h->sev_snp);
        assert_false(h->have_cbitpos);
}

static void test_probe_bad_xml(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host_probe_new();
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(host_probe_parse_caps(h, "<capabilities>", 14, &reason), -EBADMSG);
        assert_string_equal(reason, "host capabilities: not well-formed XML");
        free(reason);
        reason = NULL;
        assert_int_equal(host_probe_parse_caps(h, "<domain/>", 9, &reason), -EBADMSG);
        free(reason);
        reason = NULL;
        assert_int_equal(host_probe_parse_caps(h, "<capabilities><host/></capabilities>", 36, &reason), -EBADMSG);
        assert_string_equal(reason, "host capabilities: no NUMA topology (<topology><cells>)");
        free(reason);
        reason = NULL;
        static const char badcpu[] = "<capabilities><host><topology><cells><cell id='0'><cpus>"
                                     "<cpu id='0' siblings='0,x'/></cpus></cell></cells></topology></host></capabilities>";
        assert_int_equal(host_probe_parse_caps(h, badcpu, strlen(badcpu), &reason), -EBADMSG);
        assert_string_equal(reason, "host capabilities: CPU 0: invalid siblings");
        free(reason);
        reason = NULL;
        /* entities are not expanded */
        static const char ent[] = "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domainCapabilities>"
                                  "<machine>&x;</machine></domainCapabilities>";
        assert_int_equal(host_probe_parse_domcaps(h, ent, strlen(ent), &reason), 0);
        assert_string_equal(h->machine, "");
        assert_int_equal(h->n_cells, 0);
}

static void test_probe_nodedev_and_sysfs(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = host_probe_new();
        _cleanup_free_ char *reason = NULL, *dir = NULL, *path = NULL;
        static const char nodedev[] =
                "<device><name>pci_0000_41_00_0</name><driver><name>vfio-pci</name></driver>"
                "<capability type='pci'><domain>0</domain><bus>65</bus><slot>0</slot><function>0</function>"
                "<iommuGroup number='40'><address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></iommuGroup>"
                "<numa node='1'/></capability></device>";
        PciAddress a = { .bus = 0x41 }, b = { .bus = 0x42 }, missing = { .bus = 0x43 };
        char tmpl[] = "/tmp/test-sysfs-XXXXXX";
        const HostGpu *g;
        FILE *f;

        assert_int_equal(host_probe_parse_nodedev(h, &a, nodedev, strlen(nodedev), &reason), 0);
        g = host_probe_find_gpu(h, &a);
        assert_non_null(g);
        assert_true(g->found);
        assert_int_equal(g->numa_node, 1);
        assert_int_equal(g->iommu_group, 40);
        assert_string_equal(g->driver, "vfio-pci");

        /* a fake sysfs tree */
        assert_non_null(mkdtemp(tmpl));
        dir = strdup_printf("%s/bus/pci/devices/0000:42:00.0", tmpl);
        assert_int_equal(mkdir_p(dir, 0755), 0);
        path = strdup_printf("%s/numa_node", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("3\n", f);
        fclose(f);
        free(path);
        path = strdup_printf("%s/iommu_group", dir);
        assert_int_equal(symlink("../../../../kernel/iommu_groups/17", path), 0);
        free(path);
        path = strdup_printf("%s/driver", dir);
        assert_int_equal(symlink("../../../../bus/pci/drivers/nvidia", path), 0);
        assert_int_equal(host_probe_gpu_from_sysfs(h, &b, tmpl), 0);
        g = host_probe_find_gpu(h, &b);
        assert_int_equal(g->numa_node, 3);
        assert_int_equal(g->iommu_group, 17);
        assert_string_equal(g->driver, "nvidia");
        assert_int_equal(host_probe_gpu_from_sysfs(h, &missing, tmpl), -ENOENT);
        assert_null(host_probe_find_gpu(h, &missing));
        {
                _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", tmpl);
                assert_int_equal(system(cmd), 0);
        }
}

static void test_probe_json(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = probe(snp_domcaps);
        json_object *o = host_probe_to_json(h), *v;

        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "tee", &v));
        assert_true(json_object_get_boolean(json_object_object_get(json_object_object_get(v, "sev-snp"), "supported")));
        assert_false(json_object_get_boolean(json_object_object_get(json_object_object_get(v, "tdx"), "supported")));
        assert_true(json_object_object_get_ex(o, "cells", &v));
        assert_int_equal(json_object_array_length(v), 2);
        assert_int_equal(json_object_get_int(json_object_object_get(json_object_array_get_idx(v, 1), "pages_2m_free")),
                         32768);
        assert_true(json_object_object_get_ex(o, "gpus", &v));
        assert_int_equal(json_object_array_length(v), 8);
        json_object_put(o);
}

/* ---- the HGX H100 host of tests/data/hgx-h100 ---- */

#define HGX "tests/data/hgx-h100"
static const char *const hgx_gpus[] = { "0000:1b:00.0", "0000:43:00.0", "0000:52:00.0", "0000:61:00.0",
                                        "0000:9d:00.0", "0000:c3:00.0", "0000:d1:00.0", "0000:df:00.0" };
static const char *const hgx_switches[] = { "0000:05:00.0", "0000:06:00.0", "0000:07:00.0", "0000:08:00.0" };

static char *slurp(const char *path, size_t *ret_n) {
        uint8_t *data = NULL;

        if (read_file_bounded(path, HOST_PROBE_XML_MAX, &data, ret_n) < 0)
                fail_msg("cannot read %s (run from the source tree)", path);
        return (char *) data;
}

static HostProbe *hgx_probe(const char *domcaps) {
        _cleanup_free_ char *caps = NULL, *dc = NULL, *dcpath = strdup_printf(HGX "/%s", domcaps), *reason = NULL;
        _cleanup_free_ char *root = realpath(HGX "/root", NULL);
        PciAddress all[12];
        HostProbe *h = host_probe_new();
        size_t n, m;

        assert_non_null(h);
        assert_non_null(root);
        caps = slurp(HGX "/capabilities.xml", &n);
        dc = slurp(dcpath, &m);
        assert_int_equal(host_probe_parse_caps(h, caps, n, &reason), 0);
        assert_int_equal(host_probe_parse_domcaps(h, dc, m, &reason), 0);
        for (size_t i = 0; i < 12; i++)
                assert_int_equal(pci_address_parse(i < 8 ? hgx_gpus[i] : hgx_switches[i - 8], &all[i]), 0);
        if (host_probe_devices_from_dir(h, HGX "/nodedev", all, 12, &reason) < 0)
                fail_msg("node devices: %s", reason);
        if (host_probe_read_host_files(h, root, &reason) < 0)
                fail_msg("host files: %s", reason);
        return h;
}

/* "\"gpus\":[...]" with the first n GPUs, two per node for 2, ... */
static char *hgx_keys(size_t n, bool switches, bool nic) {
        static const size_t order[] = { 0, 4, 1, 5, 2, 6, 3, 7 };
        size_t size = 1024, len = 0;
        char *s = malloc(size);

        assert_non_null(s);
        len += (size_t) snprintf(s + len, size - len, "\"gpus\":[");
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(s + len, size - len, "%s\"%s\"", i ? "," : "", hgx_gpus[n == 1 ? 0 : order[i]]);
        len += (size_t) snprintf(s + len, size - len, "]");
        if (switches)
                len += (size_t) snprintf(s + len, size - len, ",\"nvswitches\":[\"%s\",\"%s\",\"%s\",\"%s\"]", hgx_switches[0],
                                         hgx_switches[1], hgx_switches[2], hgx_switches[3]);
        if (nic)
                snprintf(s + len, size - len, ",\"network\":{\"bridge\":\"br-train\"}");
        return s;
}

static unsigned xu(Rendered *r, const char *fmt, ...) _printf_(2, 3);
static unsigned xu(Rendered *r, const char *fmt, ...) {
        _cleanup_free_ char *e = NULL;
        va_list ap;

        va_start(ap, fmt);
        e = strdup_vprintf(fmt, ap);
        va_end(ap);
        return (unsigned) xn(r, e);
}

static unsigned hex_attr(Rendered *r, const char *fmt, ...) _printf_(2, 3);
static unsigned hex_attr(Rendered *r, const char *fmt, ...) {
        _cleanup_free_ char *e = NULL, *v = NULL;
        va_list ap;

        va_start(ap, fmt);
        e = strdup_vprintf(fmt, ap);
        va_end(ap);
        v = xs(r, e);
        assert_true(strncmp(v, "0x", 2) == 0);
        return (unsigned) strtoul(v + 2, NULL, 16);
}

/* Every semantic of the issue, element by element. */
static void hgx_checks(Rendered *r, const HostProbe *h, size_t n_gpus) {
        size_t n_dev = r->spec->n_gpus + r->spec->n_nvswitches;
        const Placement *p = r->placement;

        common_checks(r, n_gpus, p->n_cells);
        /* a root port per device; the device alone behind it, at slot 0 */
        assert_int_equal(xu(r, "count(/domain/devices/controller[@model='pcie-root-port'])"), n_dev);
        for (size_t i = 0; i < n_dev; i++) {
                const PciAddress *a = i < r->spec->n_gpus ? &r->spec->gpus[i] : &r->spec->nvswitches[i - r->spec->n_gpus];
                const HostGpu *g = host_probe_find_gpu(h, a);
                char hd[160];
                unsigned port, expander, node = 0;
                bool found = false;

                snprintf(hd, sizeof(hd), "/domain/devices/hostdev[source/address/@bus='0x%02x']", a->bus);
                assert_int_equal(xu(r, "count(%s)", hd), 1);
                assert_int_equal(hex_attr(r, "string(%s/address/@slot)", hd), 0);
                port = hex_attr(r, "string(%s/address/@bus)", hd);
                assert_int_equal(xu(r, "count(/domain/devices/controller[@model='pcie-root-port'][@index='%u'])", port), 1);
                assert_int_equal(xu(r, "count(/domain/devices/hostdev/address[@bus='0x%02x'])", port), 1);
                /* behind the expander of the guest cell that mirrors the device's host node */
                expander = hex_attr(r, "string(/domain/devices/controller[@index='%u']/address/@bus)", port);
                assert_int_equal(xu(r, "count(/domain/devices/controller[@index='%u'][@model='pcie-expander-bus'])",
                                    expander),
                                 1);
                for (size_t c = 0; c < p->n_cells; c++)
                        if (p->cells[c].host_cell == (unsigned) g->numa_node) {
                                node = p->cells[c].guest_cell;
                                found = true;
                        }
                assert_true(found);
                assert_int_equal(xu(r, "number(/domain/devices/controller[@index='%u']/target/node)", expander), node);
        }
        /* one expander per host cell with devices, on the root bus, distinct bus ranges */
        assert_int_equal(xu(r, "count(/domain/devices/controller[@model='pcie-expander-bus'])"),
                         xu(r, "count(/domain/devices/controller[@model='pcie-expander-bus'][address/@bus='0x00'])"));
        assert_int_equal(xu(r, "count(/domain/devices/controller[@model='pcie-expander-bus'])"),
                         n_gpus >= 2 ? 2 : 1);
        /* cells, pins and numatune agree: each vCPU on a host CPU of its guest cell's host cell */
        for (size_t c = 0; c < p->n_cells; c++) {
                const HostCell *hc = host_probe_find_cell(h, p->cells[c].host_cell);
                assert_int_equal(xu(r, "number(/domain/numatune/memnode[@cellid='%zu']/@nodeset)", c), hc->id);
                for (unsigned v = p->cells[c].first_vcpu; v < p->cells[c].first_vcpu + p->cells[c].n_vcpus; v++) {
                        unsigned cpu = xu(r, "number(/domain/cputune/vcpupin[@vcpu='%u']/@cpuset)", v);
                        bool in = false;
                        for (size_t k = 0; k < hc->n_cpus; k++)
                                in = in || hc->cpus[k].id == cpu;
                        if (!in)
                                fail_msg("vCPU %u of guest cell %zu is pinned to CPU %u, not on host cell %u", v, c, cpu, hc->id);
                }
                /* memory accounting per node: the shared view in 2 MiB pages, private memory from
                 * ordinary memory, both the cell's whole memory */
                assert_int_equal(p->cells[c].pages * 2048, p->cells[c].memory_kib);
                assert_int_equal(p->cells[c].ordinary_kib, p->cells[c].memory_kib);
                assert_int_equal(xu(r, "number(/domain/cpu/numa/cell[@id='%zu']/@memory)", c), p->cells[c].memory_kib);
        }
        /* the guest's topology is the pinning's: sibling pairs are told as two threads */
        assert_int_equal(xu(r, "number(/domain/cpu/topology/@sockets) * number(/domain/cpu/topology/@cores) * "
                               "number(/domain/cpu/topology/@threads)"),
                         r->spec->vcpus);
        assert_int_equal(xu(r, "number(/domain/cpu/topology/@threads)"), 2);
        assert_int_equal(r->placement->vcpu_pins[1], r->placement->vcpu_pins[0] + 112);
}

static void test_hgx(CvmTee tee, size_t n_gpus, bool nic) {
        _cleanup_(host_probe_freep) HostProbe *h = hgx_probe(tee == CVM_TEE_TDX ? "domcaps-tdx.xml" : "domcaps-snp.xml");
        _cleanup_free_ char *keys = hgx_keys(n_gpus, n_gpus == 8, nic), *why = NULL;
        _cleanup_(rendered_done) Rendered r;

        render_on(h, cvm_tee_to_string(tee), (unsigned) (12 * n_gpus), (unsigned) (32768 * n_gpus), keys, DISK, &r);
        assert_int_equal(host_probe_spec_refusal(h, r.spec, &why), 0);
        assert_null(why);
        hgx_checks(&r, h, n_gpus);
        assert_int_equal(xu(&r, "count(/domain/devices/interface)"), nic ? 1 : 0);
        if (nic) {
                assert_xs(&r, "/domain/devices/interface/@type", "bridge");
                assert_xs(&r, "/domain/devices/interface/source/@bridge", "br-train");
                assert_xs(&r, "/domain/devices/interface/model/@type", "virtio");
                assert_xs(&r, "/domain/devices/interface/driver/@iommu", "on");
                assert_xs(&r, "/domain/devices/interface/rom/@enabled", "no");
        }
        if (n_gpus == 8) /* protected-PCIe mode: the NVSwitches pass through with the GPUs, near node 0 */
                assert_int_equal(xu(&r, "count(/domain/devices/hostdev[source/address/@bus='0x05' or "
                                        "source/address/@bus='0x06' or source/address/@bus='0x07' or "
                                        "source/address/@bus='0x08'])"),
                                 4);
        if (tee == CVM_TEE_TDX) {
                assert_xs(&r, "/domain/launchSecurity/policy", "0x10000000");
                compare_shape(&r, "launch-security-tdx.x86_64-latest+inteltdx.xml");
        } else {
                assert_xs(&r, "/domain/launchSecurity/policy", "0x00030000");
                compare_shape(&r, "launch-security-sev-snp.x86_64-latest.05b67b8.xml");
        }
}

static void test_hgx_snp(void **state) {
        test_hgx(CVM_TEE_SEV_SNP, 1, false);
        test_hgx(CVM_TEE_SEV_SNP, 2, false);
        test_hgx(CVM_TEE_SEV_SNP, 4, false);
        test_hgx(CVM_TEE_SEV_SNP, 8, false);
        test_hgx(CVM_TEE_SEV_SNP, 1, true);
        test_hgx(CVM_TEE_SEV_SNP, 8, true);
}

static void test_hgx_tdx(void **state) {
        test_hgx(CVM_TEE_TDX, 1, false);
        test_hgx(CVM_TEE_TDX, 2, false);
        test_hgx(CVM_TEE_TDX, 4, false);
        test_hgx(CVM_TEE_TDX, 8, false);
        test_hgx(CVM_TEE_TDX, 2, true);
        test_hgx(CVM_TEE_TDX, 8, true);
}

/* The spec's launch parameters reach launchSecurity; a capped shared part is an ordinary memfd. */
static void test_hgx_launch_security(void **state) {
        _cleanup_(host_probe_freep) HostProbe *snp = hgx_probe("domcaps-snp.xml"), *tdx = hgx_probe("domcaps-tdx.xml");
        _cleanup_free_ char *ib = NULL, *ia = NULL, *keys = NULL, *owner = NULL;
        _cleanup_(rendered_done) Rendered r, t;
        uint8_t block[LAUNCH_SNP_ID_BLOCK_SIZE], auth[LAUNCH_SNP_ID_AUTH_SIZE];
        char hex[97];

        memset(block, 1, sizeof(block));
        memset(auth, 2, sizeof(auth));
        ib = b64_encode(block, sizeof(block));
        ia = b64_encode(auth, sizeof(auth));
        keys = strdup_printf("\"gpus\":[\"0000:1b:00.0\"],\"shared_memory_mib\":4096,\"launch_security\":{\"policy\":"
                             "\"0x70000\",\"id_block\":\"%s\",\"id_auth\":\"%s\",\"author_key\":true,\"vcek\":false}",
                             ib, ia);
        render_on(snp, "sev-snp", 8, 65536, keys, DISK, &r);
        assert_xs(&r, "/domain/launchSecurity/policy", "0x00070000");
        assert_xs(&r, "/domain/launchSecurity/@vcek", "no");
        assert_xs(&r, "/domain/launchSecurity/@authorKey", "yes");
        assert_xs(&r, "/domain/launchSecurity/idBlock", ib);
        assert_xs(&r, "/domain/launchSecurity/idAuth", ia);
        compare_shape(&r, "launch-security-sev-snp.x86_64-latest.05b67b8.xml");
        /* capped: no hugepages, no lock, the shared part in ordinary memory beside the private */
        assert_xs(&r, "/domain/memoryBacking/source/@type", "memfd");
        assert_xs(&r, "/domain/memoryBacking/allocation/@mode", "ondemand");
        assert_int_equal(xu(&r, "count(/domain/memoryBacking/hugepages | /domain/memoryBacking/locked)"), 0);
        assert_int_equal(r.placement->cells[0].pages, 0);
        assert_int_equal(r.placement->cells[0].ordinary_kib, (65536ull + 4096) * 1024);

        memset(hex, 'c', 96);
        hex[96] = '\0';
        owner = strdup_printf("\"gpus\":[],\"launch_security\":{\"policy\":\"0x10000001\",\"mr_owner\":\"%s\","
                              "\"mr_owner_config\":\"%s\"}",
                              hex, hex);
        render_on(tdx, "tdx", 4, 8192, owner, DISK, &t);
        assert_xs(&t, "/domain/launchSecurity/policy", "0x10000001");
        {
                _cleanup_free_ char *mo = xs(&t, "/domain/launchSecurity/mrOwner");
                assert_int_equal(strlen(mo), 64); /* 48 bytes, base64 */
        }
        assert_int_equal(xu(&t, "count(/domain/launchSecurity/mrOwnerConfig)"), 1);
        compare_shape(&t, "launch-security-tdx.x86_64-latest+inteltdx.xml");
}

/* What the host's files say, and the refusals they give. */
static void test_hgx_host_checks(void **state) {
        _cleanup_(host_probe_freep) HostProbe *h = hgx_probe("domcaps-tdx.xml");
        _cleanup_(launch_spec_freep) LaunchSpec *s = NULL;
        _cleanup_free_ char *why = NULL, *keys = hgx_keys(8, true, false), *json = NULL;
        static const char shared_group[] =
                "<device><name>pci_0000_1b_00_0</name><driver><name>vfio-pci</name></driver>"
                "<capability type='pci'><iommuGroup number='27'>"
                "<address domain='0x0000' bus='0x1b' slot='0x00' function='0x0'/>"
                "<address domain='0x0000' bus='0x1b' slot='0x00' function='0x1'/></iommuGroup>"
                "<numa node='0'/></capability></device>";
        PciAddress gpu0 = { .bus = 0x1b }, audio = { .bus = 0x1b, .function = 1 };

        assert_int_equal(h->kvm_tdx, HOST_FACT_YES);
        assert_int_equal(h->kvm_sev_snp, HOST_FACT_YES);
        assert_int_equal(h->dma_entry_limit, 1048576);
        assert_string_equal(h->firmware_tdx, "/usr/share/ovmf/OVMF.inteltdx.ms.fd");
        assert_string_equal(h->firmware_sev_snp, "/usr/share/ovmf/OVMF.amdsev.fd");
        assert_int_equal(host_probe_find_gpu(h, &gpu0)->numa_node, 0);
        assert_int_equal(host_probe_find_gpu(h, &gpu0)->iommu_group, 27);
        assert_int_equal(host_probe_find_cell(h, 1)->ordinary_total_kib, 1056194560ull - 262144ull * 2048);

        json = strdup_printf("{\"name\":\"j\",\"tee\":\"tdx\",\"vcpus\":96,\"memory_mib\":1048576,%s," DISK
                             ",\"policy\":\"p\"}", keys);
        assert_int_equal(launch_spec_parse(json, strlen(json), &s, &why), 0);
        /* 1 TiB in 2 MiB pages: 524288 DMA mappings, more than VFIO's default */
        assert_int_equal(host_probe_spec_refusal(h, s, &why), 0);
        assert_null(why);
        h->dma_entry_limit = HOST_DMA_ENTRY_LIMIT_DEFAULT;
        assert_int_equal(host_probe_spec_refusal(h, s, &why), 0);
        assert_string_equal(why, "vfio_iommu_type1's dma_entry_limit is 65535; this guest may need 524288 DMA mappings "
                                 "(its shared memory in hugepage-sized pages): load it with dma_entry_limit=524288 or "
                                 "more, or cap shared_memory_mib");
        free(why);
        why = NULL;
        /* TDX disabled in KVM */
        h->kvm_tdx = HOST_FACT_NO;
        assert_int_equal(host_probe_tee_refusal(h, CVM_TEE_TDX, &why), 0);
        assert_non_null(strstr(why, "kvm_intel is not loaded with tdx=1"));
        free(why);
        why = NULL;
        h->kvm_tdx = HOST_FACT_YES;
        h->dma_entry_limit = 1048576;
        /* no firmware with intel-tdx */
        free(h->firmware_tdx);
        h->firmware_tdx = NULL;
        assert_int_equal(host_probe_spec_refusal(h, s, &why), 0);
        assert_non_null(strstr(why, "no firmware descriptor with intel-tdx"));
        free(why);
        why = NULL;
        h->firmware_tdx = strdup("/usr/share/ovmf/OVMF.inteltdx.ms.fd");
        /* a GPU whose IOMMU group has a device bound to another driver: refused, the device named */
        assert_int_equal(host_probe_parse_nodedev(h, &gpu0, shared_group, strlen(shared_group), &why), 0);
        assert_int_equal(host_probe_set_member_driver(h, &gpu0, &audio, "snd_hda_intel"), 0);
        assert_int_equal(host_probe_spec_refusal(h, s, &why), 0);
        assert_string_equal(why, "GPU 0000:1b:00.0 shares IOMMU group 27 with 0000:1b:00.1, which is bound to "
                                 "snd_hda_intel: every device of the group must be bound to vfio-pci");
        free(why);
        why = NULL;
        assert_int_equal(host_probe_set_member_driver(h, &gpu0, &audio, "vfio-pci"), 0);
        assert_int_equal(host_probe_spec_refusal(h, s, &why), 0);
        assert_null(why);
        /* the GPU itself on the host's driver */
        assert_int_equal(host_probe_set_gpu(h, &gpu0, 0, 27, "nvidia"), 0);
        assert_int_equal(host_probe_spec_refusal(h, s, &why), 0);
        assert_string_equal(why, "GPU 0000:1b:00.0 is bound to nvidia, not vfio-pci (bind it to vfio-pci before launching)");
}

static void quiet(void *ctx, const char *msg, ...) {
}

static void test_schema_present(void **state) {
        if (!schema)
                skip();
        /* the schema really rejects: an SNP launchSecurity without its required <policy> */
        static const char bad[] = "<domain type='kvm'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                                  "<launchSecurity type='sev-snp'/></domain>";
        xmlDoc *d = xmlReadMemory(bad, (int) strlen(bad), NULL, NULL, XML_PARSE_NONET);
        xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(schema);
        xmlRelaxNGSetValidErrors(vc, quiet, quiet, NULL);
        assert_int_not_equal(xmlRelaxNGValidateDoc(vc, d), 0);
        xmlRelaxNGFreeValidCtxt(vc);
        xmlFreeDoc(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_schema_present),
                cmocka_unit_test(test_snp_one_gpu_direct),
                cmocka_unit_test(test_snp_eight_gpus_disk),
                cmocka_unit_test(test_tdx_one_gpu_disk),
                cmocka_unit_test(test_tdx_eight_gpus_direct_rom),
                cmocka_unit_test(test_snp_explicit_firmware),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_metadata_parse),
                cmocka_unit_test(test_probe_shared_caps),
                cmocka_unit_test(test_probe_bad_xml),
                cmocka_unit_test(test_probe_nodedev_and_sysfs),
                cmocka_unit_test(test_probe_json),
                cmocka_unit_test(test_hgx_snp),
                cmocka_unit_test(test_hgx_tdx),
                cmocka_unit_test(test_hgx_launch_security),
                cmocka_unit_test(test_hgx_host_checks),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
