#!/bin/bash
# cvmctl render and cvmctl host end to end: usage errors (exit 2), invalid specs and refusals
# (exit 1, with the reason), offline rendering of SEV-SNP and TDX specs validated with xmllint
# against libvirt 12.8's schema ($CVM_SHARED/libvirt/schemas, default ../shared), the launch
# digest in hostData / mrConfigId, and the live paths against libvirt's test:///default driver.
# The HGX H100 host of tests/data/hgx-h100 (its capabilities, domain capabilities and node
# devices themselves valid against libvirt's schemas): SEV-SNP and TDX with 1, 2, 4 and 8 GPUs
# (8 with the NVSwitches), with a NIC, each valid and with a root port per device behind its
# node's expander, the MMIO window, the console log; refusals for an IOMMU group shared with
# another driver and for VFIO's dma_entry_limit; the host ledger's lock held by another launch.
set -uo pipefail
. "$(dirname "$0")/../lib/check.sh"
BUILD=${BUILD:-build}
SHARED=${CVM_SHARED:-../shared}
CVMCTL="$BUILD/cvmctl"
RNG="$SHARED/libvirt/schemas/domain.rng"
CHECK_QUIET_OK=1
check_init
sandbox_dir=
at_exit '[ -n "$sandbox_dir" ] && [ -d "$sandbox_dir" ] && tools/cvmd-sandbox stop "$sandbox_dir"'

expect_err() { # description pattern
        if grep -q -- "$2" "$tmp/err"; then ok; else bad "$1: stderr lacks '$2': $(head -3 "$tmp/err")"; fi
}
validate() { # description file
        if [ ! -f "$RNG" ]; then return; fi
        if xmllint --noout --relaxng "$RNG" "$2" 2>"$tmp/xmllint"; then ok; else bad "$1: xmllint: $(tail -3 "$tmp/xmllint")"; fi
}

# --- synthetic host: 2 cells x 16 cores x 2 threads, 32768 free 2 MiB pages per cell
{
        echo "<capabilities><host><topology><cells num='2'>"
        for n in 0 1; do
                echo "<cell id='$n'><memory unit='KiB'>134217728</memory><pages unit='KiB' size='2048'>32768</pages>"
                echo "<pages unit='KiB' size='1048576'>0</pages><cpus num='32'>"
                for t in 0 1; do for c in $(seq 0 15); do
                        id=$((t * 32 + n * 16 + c))
                        echo "<cpu id='$id' socket_id='$n' core_id='$c' siblings='$((n * 16 + c)),$((32 + n * 16 + c))'/>"
                done; done
                echo "</cpus></cell>"
        done
        echo "</cells></topology></host></capabilities>"
} > "$tmp/caps.xml"
cat > "$tmp/snp-domcaps.xml" <<'X'
<domainCapabilities><machine>pc-q35-10.0</machine><features><tdx supported='no'/>
<sev supported='yes'><cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits></sev>
<launchSecurity supported='yes'><enum name='sectype'><value>sev</value><value>sev-snp</value></enum></launchSecurity>
</features></domainCapabilities>
X
cat > "$tmp/tdx-domcaps.xml" <<'X'
<domainCapabilities><machine>pc-q35-10.1</machine><features><tdx supported='yes'/><sev supported='no'/>
<launchSecurity supported='yes'><enum name='sectype'><value>tdx</value></enum></launchSecurity>
</features></domainCapabilities>
X
G8='"0000:11:00.0","0000:12:00.0","0000:13:00.0","0000:14:00.0","0000:91:00.0","0000:92:00.0","0000:93:00.0","0000:94:00.0"'
GPUARGS8=(--gpu 0000:11:00.0@0 --gpu 0000:12:00.0@0 --gpu 0000:13:00.0@0 --gpu 0000:14:00.0@0
          --gpu 0000:91:00.0@1 --gpu 0000:92:00.0@1 --gpu 0000:93:00.0@1 --gpu 0000:94:00.0@1)
spec() { # file tee vcpus mib gpus boot
        printf '{"name":"job-%s","tee":"%s","vcpus":%s,"memory_mib":%s,"gpus":[%s],"boot":%s,"policy":"prod","key_ids":["k1"]}' \
                "$2" "$2" "$3" "$4" "$5" "$6" > "$1"
}
DIRECT='{"kernel":"/var/lib/cvmd/vmlinuz","initrd":"/var/lib/cvmd/initrd","cmdline":"console=ttyS0"}'
DISK='{"disk":"/var/lib/cvmd/images/root.qcow2","disk_format":"qcow2"}'
spec "$tmp/snp1.json" sev-snp 8 16384 '"0000:91:00.0"' "$DIRECT"
spec "$tmp/snp8.json" sev-snp 32 65536 "$G8" "$DISK"
spec "$tmp/tdx1.json" tdx 8 16384 '"0000:11:00.0"' "$DISK"
spec "$tmp/tdx8.json" tdx 32 65536 "$G8" "$DIRECT"
spec "$tmp/none.json" none 2 1024 '' '{"disk":"/var/lib/cvmd/images/dev.img"}'
OFF=(--host-caps "$tmp/caps.xml")

# --- usage errors: exit 2
expect_exit 2 "render without SPEC" "$CVMCTL" render
expect_exit 2 "render without caps" "$CVMCTL" render "$tmp/snp1.json"
expect_err "render without caps" "give --host-caps and --domcaps, or --connect URI"
expect_exit 2 "render --connect with --host-caps" "$CVMCTL" render "$tmp/snp1.json" --connect test:///default "${OFF[@]}"
expect_exit 2 "render unreadable spec" "$CVMCTL" render /nonexistent/spec.json "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml"
expect_err "unreadable spec" "/nonexistent/spec.json"
expect_exit 2 "render unreadable caps" "$CVMCTL" render "$tmp/snp1.json" --host-caps /nonexistent/caps.xml --domcaps "$tmp/snp-domcaps.xml"
expect_exit 2 "render bad --gpu" "$CVMCTL" render "$tmp/snp1.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml" --gpu 0000:91:00.0
expect_exit 2 "render bad --vsock-cid" "$CVMCTL" render "$tmp/snp1.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml" --vsock-cid 2
expect_exit 2 "render unknown option" "$CVMCTL" render "$tmp/snp1.json" --frob
expect_exit 2 "host unexpected argument" "$CVMCTL" host extra
expect_exit 2 "host --domcaps alone" "$CVMCTL" host --domcaps "$tmp/snp-domcaps.xml"
expect_exit 0 "render --help" "$CVMCTL" render --help
grep -q -- "--host-caps" "$tmp/out" && ok || bad "render --help lacks --host-caps"
expect_exit 0 "host --help" "$CVMCTL" host --help

# --- invalid specs and refusals: exit 1 with the reason
printf '{"name":"a","tee":"sev-snp","vcpus":0,"memory_mib":512,"boot":{"disk":"/d"},"policy":"p"}' > "$tmp/bad.json"
expect_exit 1 "invalid spec" "$CVMCTL" render "$tmp/bad.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml"
expect_err "invalid spec" "vcpus: expected an integer from 1 to 512, got 0"
expect_exit 1 "invalid spec --json" "$CVMCTL" render "$tmp/bad.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml" --json
jq -e '.rendered == false and (.reason | test("^vcpus: "))' "$tmp/out" >/dev/null && ok || bad "invalid spec JSON: $(cat "$tmp/out")"
expect_exit 1 "TDX on an SNP host" "$CVMCTL" render "$tmp/tdx1.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml" --gpu 0000:11:00.0@0
expect_err "TDX on an SNP host" "libvirt does not offer tdx on this host"
expect_exit 1 "GPU not on the host" "$CVMCTL" render "$tmp/snp1.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml"
expect_err "GPU not on the host" "GPU 0000:91:00.0 is not on this host"
spec "$tmp/huge.json" sev-snp 8 131072 '"0000:91:00.0"' "$DISK"
expect_exit 1 "too few pages" "$CVMCTL" render "$tmp/huge.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml" --gpu 0000:91:00.0@1
expect_err "too few pages" "needs 65536 free 2 MiB pages on cell 1, 32768 free"
spec "$tmp/cores.json" sev-snp 32 2048 '"0000:91:00.0"' "$DISK"
expect_exit 1 "too few cores" "$CVMCTL" render "$tmp/cores.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml" --gpu 0000:91:00.0@1
expect_err "too few cores" "needs 32 free CPUs (whole cores, 1 housekeeping core kept) on cell 1, 30 free"

# --- offline rendering, validated against the schema
render() { # name spec domcaps gpu-args...
        local name=$1 s=$2 dc=$3
        shift 3
        expect_exit 0 "render $name" "$CVMCTL" render "$s" "${OFF[@]}" --domcaps "$dc" "$@" --vsock-cid 42
        cp "$tmp/out" "$tmp/$name.xml"
        validate "render $name" "$tmp/$name.xml"
        expect_exit 0 "render $name --json" "$CVMCTL" render "$s" "${OFF[@]}" --domcaps "$dc" "$@" --vsock-cid 42 --json
        cp "$tmp/out" "$tmp/$name.json.out"
        jq -j .xml "$tmp/$name.json.out" | cmp -s - "$tmp/$name.xml" && ok || bad "$name: --json xml differs from plain output"
}
b64() { xxd -r -p | base64 -w0; }
render snp1 "$tmp/snp1.json" "$tmp/snp-domcaps.xml" --gpu 0000:91:00.0@1
render snp8 "$tmp/snp8.json" "$tmp/snp-domcaps.xml" "${GPUARGS8[@]}"
render tdx1 "$tmp/tdx1.json" "$tmp/tdx-domcaps.xml" --gpu 0000:11:00.0@0
render tdx8 "$tmp/tdx8.json" "$tmp/tdx-domcaps.xml" "${GPUARGS8[@]}"
render none "$tmp/none.json" "$tmp/snp-domcaps.xml"

# the launch digest where the TEE measures it
hd=$(jq -r .snp_host_data "$tmp/snp1.json.out" | b64)
grep -q "<hostData>$hd</hostData>" "$tmp/snp1.xml" && ok || bad "snp1: hostData is not the digest's first 32 bytes"
[ "$(jq -r '.launch_digest | .[0:64]' "$tmp/snp1.json.out")" = "$(jq -r .snp_host_data "$tmp/snp1.json.out")" ] && ok \
        || bad "snp_host_data is not the first 32 bytes of launch_digest"
mr=$(jq -r .tdx_mrconfigid "$tmp/tdx8.json.out" | b64)
grep -q "<mrConfigId>$mr</mrConfigId>" "$tmp/tdx8.xml" && ok || bad "tdx8: mrConfigId is not the launch digest"
grep -q 'kernelHashes="yes"' "$tmp/snp1.xml" && ok || bad "snp1: no kernelHashes for direct boot"
grep -q 'kernelHashes' "$tmp/snp8.xml" && bad "snp8: kernelHashes without direct boot" || ok
[ "$(grep -c '<hostdev ' "$tmp/snp8.xml")" -eq 8 ] && ok || bad "snp8: not 8 hostdevs"
grep -q '<pcihole64 unit="GiB">2048</pcihole64>' "$tmp/snp8.xml" && ok || bad "snp8: MMIO window"
jq -e '.placement.cells | length == 2 and .[0].host_cell == 0 and .[1].host_cell == 1' "$tmp/snp8.json.out" >/dev/null && ok \
        || bad "snp8: placement does not span cells 0 and 1"
grep -q '<pmu state="off"/>' "$tmp/tdx1.xml" && grep -q '<ioapic driver="qemu"/>' "$tmp/tdx1.xml" && ok || bad "tdx1: irqchip/pmu"
grep -q 'launchSecurity' "$tmp/none.xml" && bad "none: has launchSecurity" || ok
jq -e '.vsock_cid == 42' "$tmp/none.json.out" >/dev/null && ok || bad "vsock CID"
# deterministic
"$CVMCTL" render "$tmp/snp8.json" "${OFF[@]}" --domcaps "$tmp/snp-domcaps.xml" "${GPUARGS8[@]}" --vsock-cid 42 | cmp -s - "$tmp/snp8.xml" \
        && ok || bad "render is not deterministic"

# the upstream capability samples, when present
if [ -f "$SHARED/libvirt/caps/vircaps-x86_64-basic.xml" ]; then
        spec "$tmp/small.json" sev-snp 2 1024 '"0000:41:00.0"' "$DIRECT"
        # the sample's cell 2 has all of its memory in hugepage pools: no ordinary memory for
        # the guest's private memory
        expect_exit 1 "render on upstream caps" "$CVMCTL" render "$tmp/small.json" --host-caps "$SHARED/libvirt/caps/vircaps-x86_64-basic.xml" \
                --domcaps "$SHARED/libvirt/caps/qemu_10.0.0-q35.x86_64+amdsev.xml" --gpu 0000:41:00.0@2
        expect_err "render on upstream caps" "needs 1024 MiB of free ordinary memory (private memory) on cell 2, 0 free"
        expect_exit 0 "render with upstream domcaps" "$CVMCTL" render "$tmp/small.json" "${OFF[@]}" \
                --domcaps "$SHARED/libvirt/caps/qemu_10.0.0-q35.x86_64+amdsev.xml" --gpu 0000:41:00.0@1
        cp "$tmp/out" "$tmp/small.xml"
        validate "upstream caps" "$tmp/small.xml"
        grep -q '<cbitpos>51</cbitpos>' "$tmp/small.xml" && ok || bad "cbitpos from the upstream domcaps"
        expect_exit 0 "host on upstream caps" "$CVMCTL" host --host-caps "$SHARED/libvirt/caps/vircaps-x86_64-basic.xml" \
                --domcaps "$SHARED/libvirt/caps/qemu_10.1.0-q35.x86_64+inteltdx.xml" --json
        jq -e '(.cells | length) == 4 and .tee.tdx.supported == true and .tee["sev-snp"].supported == false' "$tmp/out" >/dev/null \
                && ok || bad "host --json on upstream caps: $(jq -c .tee "$tmp/out")"
else
        echo "note: no libvirt samples at $SHARED/libvirt: the upstream-caps cases are left out"
fi
[ -f "$RNG" ] || echo "note: no schema at $RNG: rendered XML is not validated"

# --- the HGX H100 host: two sockets, eight H100s, four NVSwitches
HGX=tests/data/hgx-h100
SCHEMAS="$SHARED/libvirt/schemas"
if [ -f "$SCHEMAS/capability.rng" ]; then
        xmllint --noout --relaxng "$SCHEMAS/capability.rng" "$HGX/capabilities.xml" 2>"$tmp/xmllint" && ok \
                || bad "HGX capabilities: $(tail -2 "$tmp/xmllint")"
        for f in "$HGX"/domcaps-*.xml; do
                xmllint --noout --relaxng "$SCHEMAS/domaincaps.rng" "$f" 2>"$tmp/xmllint" && ok || bad "$f: $(tail -2 "$tmp/xmllint")"
        done
        for f in "$HGX"/nodedev/*.xml; do
                xmllint --noout --relaxng "$SCHEMAS/nodedev.rng" "$f" 2>"$tmp/xmllint" && ok || bad "$f: $(tail -2 "$tmp/xmllint")"
        done
fi
HGX_GPUS=(0000:1b:00.0 0000:9d:00.0 0000:43:00.0 0000:c3:00.0 0000:52:00.0 0000:d1:00.0 0000:61:00.0 0000:df:00.0)
HGX_SWITCHES='"0000:05:00.0","0000:06:00.0","0000:07:00.0","0000:08:00.0"'
HGXOFF=(--host-caps "$HGX/capabilities.xml" --nodedev-dir "$HGX/nodedev" --host-root "$PWD/$HGX/root" --state-dir /srv/cvmd)
hgx_spec() { # file tee n-gpus extra-keys
        local gpus="" i
        for ((i = 0; i < $3; i++)); do gpus+="${gpus:+,}\"${HGX_GPUS[$i]}\""; done
        printf '{"name":"hgx-%s-%s","tee":"%s","vcpus":%s,"memory_mib":%s,"gpus":[%s]%s,"boot":%s,"policy":"prod"}' \
                "$2" "$3" "$2" $((12 * $3)) $((32768 * $3)) "$gpus" "$4" "$DISK" > "$1"
}
for tee in sev-snp tdx; do
        dc=$HGX/domcaps-${tee#sev-}.xml
        for n in 1 2 4 8 8nic; do
                g=${n%nic} extra=""
                [ "$g" = 8 ] && extra=",\"nvswitches\":[$HGX_SWITCHES]"
                [ "$n" = 8nic ] && extra+=',"network":{"network":"train"}'
                hgx_spec "$tmp/hgx.json" "$tee" "$g" "$extra"
                expect_exit 0 "HGX $tee $n" "$CVMCTL" render "$tmp/hgx.json" "${HGXOFF[@]}" --domcaps "$dc" --json
                jq -j .xml "$tmp/out" > "$tmp/hgx-$tee-$n.xml"
                cp "$tmp/out" "$tmp/hgx.plan"
                x="$tmp/hgx-$tee-$n.xml"
                validate "HGX $tee $n" "$x"
                devs=$g
                [ "$g" = 8 ] && devs=12
                # a root port per device, each device behind its own
                [ "$(xmllint --xpath "count(//controller[@model='pcie-root-port'])" "$x")" = "$devs" ] && ok \
                        || bad "HGX $tee $n: root ports"
                [ "$(xmllint --xpath "count(//hostdev/address[@slot='0x00'])" "$x")" = "$devs" ] && ok || bad "HGX $tee $n: hostdev addresses"
                # an expander per node with devices, its guest node given
                want_exp=$([ "$g" = 1 ] && echo 1 || echo 2)
                [ "$(xmllint --xpath "count(//controller[@model='pcie-expander-bus']/target/node)" "$x")" = "$want_exp" ] && ok \
                        || bad "HGX $tee $n: expanders"
                # the MMIO window: 256 GiB per GPU, 1 GiB per NVSwitch, in pcihole64 and OVMF's fw_cfg
                mmio=$((256 * g + devs - g))
                [ "$(xmllint --xpath "string(//pcihole64)" "$x")" = "$mmio" ] && ok || bad "HGX $tee $n: pcihole64"
                [ "$(xmllint --xpath "string(//sysinfo[@type='fwcfg']/entry[@name='opt/ovmf/X-PciMmio64Mb'])" "$x")" = $((mmio * 1024)) ] \
                        && ok || bad "HGX $tee $n: X-PciMmio64Mb"
                [ "$(xmllint --xpath "string(//serial/log/@file)" "$x")" = "/srv/cvmd/console/hgx-$tee-$g.log" ] && ok \
                        || bad "HGX $tee $n: console log"
                # the memory per node: hugepages for the shared view, ordinary memory for the private part
                jq -e '[.placement.cells[] | .pages * 2048 == .memory_kib and .ordinary_kib == .memory_kib] | all' "$tmp/hgx.plan" >/dev/null \
                        && ok || bad "HGX $tee $n: memory accounting $(jq -c .placement.cells "$tmp/hgx.plan")"
                if [ "$n" = 8nic ]; then
                        [ "$(xmllint --xpath "string(//interface[@type='network']/source/@network)" "$x")" = train ] \
                                && [ "$(xmllint --xpath "string(//interface/driver/@iommu)" "$x")" = on ] && ok || bad "HGX $tee: NIC"
                fi
        done
done
# the examples for this host render and validate
for ex in hgx-h100-snp:snp hgx-h100-tdx-capped:tdx; do
        expect_exit 0 "example ${ex%:*}" "$CVMCTL" render "examples/specs/${ex%:*}.json" "${HGXOFF[@]}" --domcaps "$HGX/domcaps-${ex#*:}.xml"
        cp "$tmp/out" "$tmp/example.xml"
        validate "example ${ex%:*}" "$tmp/example.xml"
done
grep -q '<source type="memfd"/>' "$tmp/example.xml" && ! grep -q '<hugepages>' "$tmp/example.xml" && ok \
        || bad "a capped shared part is not an ordinary memfd"
# cvmctl host reads the same files
expect_exit 0 "host on HGX" "$CVMCTL" host --host-caps "$HGX/capabilities.xml" --domcaps "$HGX/domcaps-snp.xml" \
        --nodedev-dir "$HGX/nodedev" --gpu 0000:1b:00.0 --gpu 0000:05:00.0 --host-root "$PWD/$HGX/root" --json
jq -e '.gpus[0].numa_node == 0 and .gpus[0].iommu_group == 27 and .gpus[0].iommu_group_devices[0].driver == "vfio-pci"
       and .host_files.vfio_dma_entry_limit == 1048576 and .host_files.firmware_sev_snp == "/usr/share/ovmf/OVMF.amdsev.fd"
       and .tee["sev-snp"].supported and (.cells[0].ordinary_total_kib > 0)' "$tmp/out" >/dev/null && ok \
        || bad "host --json on HGX: $(cat "$tmp/out")"
# a GPU whose IOMMU group has a device on another driver: refused, the device named
cp -r "$HGX/nodedev" "$tmp/nodedev"
sed -i "s|</iommuGroup>|<address domain='0x0000' bus='0x1b' slot='0x00' function='0x1'/></iommuGroup>|" "$tmp/nodedev/pci_0000_1b_00_0.xml"
sed -e 's/pci_0000_1b_00_0/pci_0000_1b_00_1/' -e 's/vfio-pci/snd_hda_intel/' "$tmp/nodedev/pci_0000_1b_00_0.xml" > "$tmp/nodedev/pci_0000_1b_00_1.xml"
hgx_spec "$tmp/hgx.json" sev-snp 1 ""
expect_exit 1 "HGX shared IOMMU group" "$CVMCTL" render "$tmp/hgx.json" "${HGXOFF[@]}" --nodedev-dir "$tmp/nodedev" --domcaps "$HGX/domcaps-snp.xml"
expect_err "HGX shared IOMMU group" "shares IOMMU group 27 with 0000:1b:00.1, which is bound to snd_hda_intel"
# VFIO's default dma_entry_limit for a large guest
cp -r "$HGX/root" "$tmp/root"
echo 65535 > "$tmp/root/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
hgx_spec "$tmp/hgx.json" tdx 8 ""
expect_exit 1 "HGX dma_entry_limit" "$CVMCTL" render "$tmp/hgx.json" "${HGXOFF[@]}" --host-root "$tmp/root" --domcaps "$HGX/domcaps-tdx.xml"
expect_err "HGX dma_entry_limit" "dma_entry_limit is 65535; this guest may need 131072 DMA mappings"
# SNP disabled in KVM
echo N > "$tmp/root/sys/module/kvm_amd/parameters/sev_snp"
hgx_spec "$tmp/hgx.json" sev-snp 1 ""
expect_exit 1 "HGX kvm_amd sev_snp=N" "$CVMCTL" render "$tmp/hgx.json" "${HGXOFF[@]}" --host-root "$tmp/root" --domcaps "$HGX/domcaps-snp.xml"
expect_err "HGX kvm_amd sev_snp=N" "kvm_amd is not loaded with sev_snp=1"

# --- the host ledger's lock: a launch planning against a live host waits for another's, and
# refuses when it is not let go
mkdir -p "$tmp/state"
flock "$tmp/state/ledger.lock" sleep 30 &
holder=$!
for _ in $(seq 50); do [ -e "$tmp/state/ledger.lock" ] && break; sleep 0.1; done
spec "$tmp/dev.json" none 2 256 '' '{"disk":"/var/lib/cvmd/images/dev.img"}'
expect_exit 1 "ledger lock held" "$CVMCTL" render "$tmp/dev.json" --connect test:///default --domain-type test \
        --state-dir "$tmp/state" --lock-timeout 1
expect_err "ledger lock held" "another launch has held the host ledger lock $tmp/state/ledger.lock for 1 s"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# --- live: libvirt's test driver (in-process, no daemon)
expect_exit 0 "host --connect test" "$CVMCTL" host --connect test:///default
libvirt_version=$(pkg-config --modversion libvirt 2>/dev/null || echo 0)
if [ "$(printf '%s\n10.5.0\n' "$libvirt_version" | sort -V | head -1)" != 10.5.0 ]; then
        grep -q "sev-snp:     no: libvirt $libvirt_version does not support sev-snp; needs 10.5.0 with QEMU 9.1" "$tmp/out" && ok \
                || bad "host: no libvirt version refusal: $(cat "$tmp/out")"
fi
grep -q "^none:        yes" "$tmp/out" && ok || bad "host: none not supported"
expect_exit 0 "host --connect test --json" "$CVMCTL" host --connect test:///default --json --gpu 0000:41:00.0
jq -e '(.cells | length) == 2 and .tee["sev-snp"].supported == false and .domain_capabilities == false
       and .gpus[0].found == false and .driver == "TEST"' "$tmp/out" >/dev/null && ok || bad "host --json: $(cat "$tmp/out")"
expect_exit 1 "host on a bad URI" "$CVMCTL" host --connect test:///nonexistent/file.xml
expect_exit 1 "render SNP on libvirt 9" "$CVMCTL" render "$tmp/snp8.json" --connect test:///default
expect_err "render SNP on the test driver" "does not support sev-snp"
# the test driver's cells have no hugepage pool: a refusal naming the shortfall
expect_exit 1 "render none on the test driver" "$CVMCTL" render "$tmp/none.json" --connect test:///default --domain-type test
expect_err "render none on the test driver" "needs 512 free 2 MiB pages on cell 0, 0 free"

# --- cvmd on the test driver with the simulator: two launches that each fit alone but not
# together, at once: exactly one runs, the other is refused naming the cells and the CPUs
if [ -x "$BUILD/cvmd" ] && [ -x "$BUILD/cvm-agent" ]; then
        if BUILD=$BUILD tools/cvmd-sandbox start > "$tmp/sandbox.env" 2> "$tmp/sandbox.log"; then
                # shellcheck disable=SC1091
                . "$tmp/sandbox.env"
                sandbox_dir=$CVMD_SANDBOX_DIR
                # the sandbox host: two cells of 48 two-thread cores, one kept for the host: 94 CPUs
                # each; the filler takes one cell, the racers want the other
                for name in filler race-a race-b; do
                        BUILD=$BUILD tools/cvmd-sandbox agent "$name" > /dev/null || bad "sandbox agent $name"
                        jq --arg n "$name" '.name = $n | .vcpus = 90' examples/specs/sim-dev.json > "$tmp/$name.json"
                done
                timeout 60 "$CVMCTL" launch "$tmp/filler.json" --wait > "$tmp/filler.out" 2>&1 && ok \
                        || bad "cvmd filler: $(cat "$tmp/filler.out")"
                timeout 60 "$CVMCTL" launch "$tmp/race-a.json" --wait > "$tmp/race-a.out" 2>&1 &
                pa=$!
                timeout 60 "$CVMCTL" launch "$tmp/race-b.json" --wait > "$tmp/race-b.out" 2>&1 &
                pb=$!
                wait "$pa"; ra=$?
                wait "$pb"; rb=$?
                if { [ "$ra" -eq 0 ] && [ "$rb" -eq 1 ]; } || { [ "$ra" -eq 1 ] && [ "$rb" -eq 0 ]; }; then ok; else
                        bad "cvmd race: want exactly one running: race-a exit $ra, race-b exit $rb: $(cat "$tmp/race-a.out" "$tmp/race-b.out")"
                fi
                loser=$([ "$ra" -eq 1 ] && echo race-a || echo race-b)
                grep -q "placement refused: needs 90 free CPUs (whole cores, 1 housekeeping core kept) on cell 0, 4 free" \
                        "$tmp/$loser.out" && ok || bad "cvmd race: $loser's reason: $(cat "$tmp/$loser.out")"
                [ "$("$CVMCTL" list --json | jq '[.vms[] | select(.state == "running")] | length')" = 2 ] && ok \
                        || bad "cvmd race: not two VMs running: $("$CVMCTL" list 2>&1)"
                [ -f "$sandbox_dir/state/ledger.lock" ] && ok || bad "cvmd race: no ledger lock in the state directory"
                tools/cvmd-sandbox stop "$sandbox_dir"
                sandbox_dir=
        else
                bad "the sandbox did not start: $(tail -5 "$tmp/sandbox.log")"
        fi
else
        echo "note: cvmd or cvm-agent is not built: the cvmd race is left out"
fi

check_finish cli-launcher
