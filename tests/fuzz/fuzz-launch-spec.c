/* SPDX-License-Identifier: Apache-2.0 */
/* The launch spec parser; whatever parses is also encoded, digested, placed on a fixed
 * two-cell host (GPUs on bus 0x1b are on cell 0, all others on cell 1) and rendered. */
#include <stdint.h>
#include <string.h>

#include "cvm/domain-xml.h"
#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"
#include "cvm/placement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each cell: 4 TiB of hugepage pools and 2 TiB of ordinary memory, which SEV-SNP and TDX
 * private memory (guest_memfd) comes from. */
static const char caps[] =
        "<capabilities><host><topology><cells num='2'>"
        "<cell id='0'><memory unit='KiB'>6442450944</memory><pages unit='KiB' size='2048'>1000000</pages><pages unit='KiB' size='1048576'>2000</pages><cpus>"
        "<cpu id='0' siblings='0,2'/><cpu id='1' siblings='1,3'/><cpu id='2' siblings='0,2'/><cpu id='3' siblings='1,3'/>"
        "<cpu id='4' siblings='4'/><cpu id='5' siblings='5'/><cpu id='6' siblings='6'/><cpu id='7' siblings='7'/>"
        "</cpus></cell>"
        "<cell id='1'><memory unit='KiB'>6442450944</memory><pages unit='KiB' size='2048'>1000000</pages><pages unit='KiB' size='1048576'>2000</pages><cpus>"
        "<cpu id='8'/><cpu id='9'/><cpu id='10'/><cpu id='11'/><cpu id='12'/><cpu id='13'/><cpu id='14'/><cpu id='15'/>"
        "</cpus></cell></cells></topology></host></capabilities>";
static const char domcaps[] =
        "<domainCapabilities><features><tdx supported='yes'/><sev supported='yes'><cbitpos>51</cbitpos>"
        "<reducedPhysBits>1</reducedPhysBits></sev><launchSecurity supported='yes'><enum name='sectype'>"
        "<value>sev-snp</value><value>tdx</value></enum></launchSecurity></features></domainCapabilities>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(launch_spec_freep) LaunchSpec *s = NULL;
        _cleanup_(host_probe_freep) HostProbe *h = NULL;
        _cleanup_(placement_freep) Placement *p = NULL;
        _cleanup_free_ char *reason = NULL, *xml = NULL;
        _cleanup_free_ uint8_t *enc = NULL;
        uint8_t digest[LAUNCH_DIGEST_SIZE];
        DomainXmlOptions o = { .vsock_cid = 3 };
        size_t n;

        if (launch_spec_parse((const char *) data, size, &s, &reason) < 0)
                return 0;
        /* a parsed spec always encodes and digests */
        if (launch_spec_canonical(s, &enc, &n) < 0 || launch_spec_digest(s, digest) < 0)
                __builtin_trap();
        h = host_probe_new();
        if (!h || host_probe_parse_caps(h, caps, sizeof(caps) - 1, NULL) < 0 ||
            host_probe_parse_domcaps(h, domcaps, sizeof(domcaps) - 1, NULL) < 0)
                return 0;
        for (size_t i = 0; i < s->n_gpus; i++)
                (void) host_probe_set_gpu(h, &s->gpus[i], s->gpus[i].bus == 0x1b ? 0 : 1, (int) i, "vfio-pci");
        if (placement_compute(s, h, NULL, NULL, &p, &reason) < 0)
                return 0;
        (void) domain_xml_render(s, h, p, &o, &xml, &reason);
        return 0;
}
