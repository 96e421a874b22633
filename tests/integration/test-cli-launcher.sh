#!/bin/bash
# cvmctl render and cvmctl host end to end: usage errors (exit 2), invalid specs and refusals
# (exit 1, with the reason), offline rendering of SEV-SNP and TDX specs validated with xmllint
# against libvirt 12.8's schema ($CVM_SHARED/libvirt/schemas, default ../shared), the launch
# digest in hostData / mrConfigId, and the live paths against libvirt's test:///default driver.
set -uo pipefail
BUILD=${BUILD:-build}
SHARED=${CVM_SHARED:-../shared}
CVMCTL="$BUILD/cvmctl"
RNG="$SHARED/libvirt/schemas/domain.rng"
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
expect_exit() { # want-status description command...
        local want=$1 what=$2
        shift 2
        "$@" >"$tmp/out" 2>"$tmp/err"
        local got=$?
        if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $(head -3 "$tmp/err")"; fi
}
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
        expect_exit 0 "render on upstream caps" "$CVMCTL" render "$tmp/small.json" --host-caps "$SHARED/libvirt/caps/vircaps-x86_64-basic.xml" \
                --domcaps "$SHARED/libvirt/caps/qemu_10.0.0-q35.x86_64+amdsev.xml" --gpu 0000:41:00.0@2
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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
