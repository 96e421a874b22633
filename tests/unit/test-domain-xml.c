/* SPDX-License-Identifier: Apache-2.0 */
/* Domain XML: SEV-SNP and TDX specs (1 GPU, 8 GPUs over 2 cells, direct and disk boot) rendered
 * on synthetic hosts; each validates against libvirt 12.8's RelaxNG schema
 * ($CVM_SHARED/libvirt/schemas, skipped when absent), carries the launch digest where the TEE
 * measures it, and has the upstream examples' launchSecurity shape. Also the host probe's
 * parsers: capabilities, domain capabilities (the upstream samples when present), node devices,
 * the sysfs fallback, and the TEE refusals. */
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

static void render(const char *domcaps, const char *tee, unsigned vcpus, unsigned mib, const char *gpus,
                   const char *boot, Rendered *ret) {
        _cleanup_(host_probe_freep) HostProbe *h = probe(domcaps);
        _cleanup_free_ char *json = NULL, *reason = NULL;
        DomainXmlOptions o = { .vsock_cid = 77 };

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
        assert_true(xn(r, "count(/domain/devices/hostdev[@type='pci'][@managed='yes']/driver[@name='vfio'])") == n_gpus);
        snprintf(q, sizeof(q), "%zu", n_gpus * 256);
        assert_xs(r, "/domain/devices/controller[@model='pcie-root']/pcihole64", q);
        assert_xs(r, "/domain/devices/controller[@model='pcie-root']/pcihole64/@unit", "GiB");
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
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
