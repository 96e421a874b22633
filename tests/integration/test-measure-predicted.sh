#!/bin/bash
# "measurements": "predicted" end to end: cvmctl launch (in-process engine, libvirt's test
# driver) predicts the SEV-SNP MEASUREMENT (and the TDX MRTD) from the files the spec boots, and
# the simulated guest attests the measurement of what its domain XML actually booted (sim-boot.h).
# A guest booted as launched gets its keys; one booted with another command line is refused with
# both values named; an SNP disk boot is refused before any domain unless the policy opts in;
# the launch digest covers the boot files' contents, not their paths.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
V=${CVM_VECTORS:-$PWD/../shared/vectors}/measure
SNP_FW=$V/snp/ssm-snp-cmdline-gf1/ovmf_AmdSev_suffix.bin
TDX_FW=$V/tdx/gce-clean-example-2m-mrtd/clean_example_2m.fd
if [ ! -f "$SNP_FW" ] || [ ! -f "$TDX_FW" ]; then
        echo "SKIP: no measure vectors at $V: the firmware images this test boots are missing"
        exit 0
fi
guest_test_init measure-predicted
OFF=(--host-caps caps.xml --domcaps domcaps.xml --domain-type test)

# The plan a launch of SPEC binds (render with the launch's releaser key): its launch digest is
# what the simulated hypervisor puts in HOST_DATA / MRCONFIGID, its XML what it boots.
render() { # spec
        "$CVMCTL" render "$1" "${OFF[@]}" --releaser-key releaser.key --json > plan.json 2> render.err \
                || bad "render $1: $(cat render.err)"
}
# The guest: simulated evidence of KIND whose measurement is that of the domain XML in its
# simulator directory (the rendered one, or one edited to boot something else).
start_agent() { # kind xml
        local digest
        digest=$(jq -r .launch_digest plan.json)
        cp "$2" "sim/$1/domain.xml"
        rm -f agent.sock
        if [ "$1" = snp ]; then
                "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate snp --sim-dir sim/snp --keys-dir "$keys" \
                        --sim-host-data "${digest:0:64}" --timeout 10 2> agent.log &
        else
                "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate tdx --sim-dir sim/tdx --keys-dir "$keys" \
                        --sim-mrconfigid "$digest" --timeout 10 2> agent.log &
        fi
        agent_pid=$!
        wait_for_socket agent.sock
}
stop_guest() { # the agent, and the domain XML it booted
        stop_agent
        rm -f sim/snp/domain.xml sim/tdx/domain.xml
}
launch() { # spec policy extra...
        local spec=$1 policy=$2
        shift 2
        "$CVMCTL" launch "$spec" --connect test:///default "${OFF[@]}" --policy "$policy" --keys-dir wrapped \
                --channel "unix:$tmp/agent.sock" --boot-timeout 5 --releaser-key releaser.key --json "$@" > out.json 2> err
}
# refused before any domain exists: never "booting", nothing destroyed
early_refusal() { # what expected-reason spec policy
        launch "$3" "$4"; status=$?
        [ "$status" -eq 1 ] && ok || bad "$1: exit $status"
        jq -e --arg r "$2" '(.released | not) and .phase == "failed" and (.error | contains($r))' out.json > /dev/null \
                && ok || bad "$1: $(jq -c '{phase, error}' out.json)"
        grep -qE "booting|destroyed" err && bad "$1: a domain was defined: $(cat err)" || ok
}

export CVM_CACHE_DIR=$tmp/cache
"$CVMCTL" sim init sim --cache "$CVM_CACHE_DIR" --json > sim.json 2> /dev/null || bad "sim init"
ark=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
root=$(jq -r '.trusted_simulator_roots[0].spki_sha256' sim.json)
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > data.key
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid k1 --keys-dir wrapped < data.key > /dev/null || bad "key wrap"
new_releaser_key releaser.key
write_test_host

# The boot files: an OVMF image with an SNP_KERNEL_HASHES section (from the measure vectors),
# a made-up kernel and initrd (the measurement hashes them whatever they hold).
cp "$SNP_FW" ovmf.fd && chmod u+w ovmf.fd
cp "$TDX_FW" tdvf.fd && chmod u+w tdvf.fd
head -c 65536 /dev/urandom > vmlinuz
head -c 32768 /dev/urandom > initrd.img
CMDLINE="console=ttyS0 root=/dev/vda1 ro"
# "tee": "none" on the test driver (it defines no SEV-SNP or TDX domain); the guest answers with
# simulated SNP (or TDX) evidence, appraised as a real guest's would be
spec_json() { # name firmware tee
        printf '{"name":"%s","tee":"%s","vcpus":2,"memory_mib":1024,"gpus":[],"boot":{%s"kernel":"%s","initrd":"%s","cmdline":"%s"},"policy":"p","key_ids":["k1"]}\n' \
                "$1" "${3:-none}" "${2:+\"firmware\":\"$2\",}" "$tmp/vmlinuz" "$tmp/initrd.img" "$CMDLINE"
}
spec_json job "$tmp/ovmf.fd" > spec.json
spec_json job "" > nofw.json
printf '{"name": "p", "allow_development": true, "snp": {"trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "%s"}], "measurements": "predicted"}}\n' "$ark" > predicted.json

# --- the launch digest covers the files' contents: bound plans name them by SHA-384
render spec.json
cp plan.json plan1.json
jq -e --arg k "$(sha384sum vmlinuz | cut -d' ' -f1)" --arg i "$(sha384sum initrd.img | cut -d' ' -f1)" \
        --arg f "$(sha384sum ovmf.fd | cut -d' ' -f1)" \
        '.boot_contents == {firmware: $f, kernel: $k, initrd: $i}' plan.json > /dev/null \
        && ok || bad "boot contents: $(jq -c .boot_contents plan.json)"
[ "$(jq -r .launch_digest plan.json)" = "$(bound_digest "$(jq -r .spec_digest plan.json)" "$(releaser_pub releaser.key)")" ] \
        && ok || bad "the launch digest does not bind the spec digest and the releaser key"
# the same paths with other contents: another digest; an unbound (offline) render names paths
cp vmlinuz vmlinuz.orig && head -c 65536 /dev/urandom > vmlinuz
render spec.json
[ "$(jq -r .spec_digest plan.json)" != "$(jq -r .spec_digest plan1.json)" ] && ok || bad "a new kernel at the same path kept the digest"
mv vmlinuz.orig vmlinuz
"$CVMCTL" render spec.json "${OFF[@]}" --json > unbound.json 2> /dev/null
jq -e '.boot_contents == null' unbound.json > /dev/null && [ "$(jq -r .spec_digest unbound.json)" != "$(jq -r .spec_digest plan1.json)" ] \
        && ok || bad "an unbound render: $(jq -c '{spec_digest, boot_contents}' unbound.json)"
mkfifo fifo && spec_json fifo "$tmp/fifo" > fifo-spec.json
timeout 10 "$CVMCTL" render fifo-spec.json "${OFF[@]}" --releaser-key releaser.key > /dev/null 2> fifo.err; status=$?
[ "$status" -eq 1 ] && grep -q "boot.firmware: $tmp/fifo is not a regular file" fifo.err && ok \
        || bad "a FIFO as firmware: exit $status: $(cat fifo.err)"

# --- the guest booted as launched: accepted, the key released; its MEASUREMENT is the one
# cvmctl measure snp computes for these files on this host's vCPU signature (from /proc/cpuinfo,
# encoded here independently: CPUID 1 EAX with extended family and model)
render spec.json
start_agent snp <(jq -r .xml plan.json)
launch spec.json predicted.json; status=$?
stop_guest
[ "$status" -eq 0 ] && ok || bad "predicted, matching: exit $status: $(cat err) $(jq -c '{error, reasons}' out.json)"
jq -e '.running and .released and .confirmed' out.json > /dev/null && ok || bad "predicted JSON: $(jq -c 'del(.checks)' out.json)"
cmp -s "$keys/k1" data.key && ok || bad "the guest's key differs"
sig=$(awk -F': *' '/^cpu family/ {f=$2} /^model[[:space:]]*:/ {m=$2} /^stepping/ {s=$2; exit}
        END { bf = f > 15 ? 15 : f; ef = f > 15 ? f - 15 : 0;
              printf "0x%x", s + (m % 16) * 16 + bf * 256 + int(m / 16) * 65536 + ef * 1048576 }' /proc/cpuinfo)
want=$("$CVMCTL" measure snp --firmware ovmf.fd --vcpus 2 --vcpu-sig "$sig" --kernel vmlinuz --initrd initrd.img \
        --append "$CMDLINE" --json | jq -r .measurement)
[ -n "$want" ] && jq -e --arg m "$want" '.claims.measurement == $m' out.json > /dev/null \
        && ok || bad "MEASUREMENT $(jq -r .claims.measurement out.json), cvmctl measure snp says $want"

# --- a guest booted with another command line than the launch's: refused, both values named
rm -f "$keys"/*
jq -r .xml plan.json | sed "s|<cmdline>$CMDLINE</cmdline>|<cmdline>$CMDLINE init=/bin/sh</cmdline>|" > other.xml
grep -q "init=/bin/sh" other.xml || bad "the edited domain XML lacks the other command line"
start_agent snp other.xml
launch spec.json predicted.json; status=$?
stop_guest
[ "$status" -eq 1 ] && ok || bad "other command line: exit $status"
jq -e '(.released | not) and (.reasons | any(test("^policy.snp.measurements: MEASUREMENT [0-9a-f]{96} differs from the MEASUREMENT predicted at launch from the files booted, [0-9a-f]{96}")))' \
        out.json > /dev/null && ok || bad "other command line: $(jq -c '{error, reasons}' out.json)"
grep -q "destroyed" err && ok || bad "the refused domain was not destroyed: $(cat err)"
[ -z "$(ls -A "$keys")" ] && ok || bad "a key was installed for a guest booted otherwise"

# --- a prediction needs the firmware: a spec that lets libvirt pick one is refused at once
early_refusal "predicted without a firmware" "boot.firmware: none given, and policy 'p' compares the measurement" \
        nofw.json predicted.json

# --- SEV-SNP disk boot: refused before any domain exists unless the policy opts in
echo '{"name":"disk","tee":"sev-snp","vcpus":2,"memory_mib":1024,"gpus":[],"boot":{"disk":"/img.qcow2"},"policy":"p","key_ids":["k1"]}' > disk.json
printf '{"name": "p", "snp": {"trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "%s"}]}}\n' "$ark" > snp.json
printf '{"name": "p", "snp": {"allow_unmeasured_disk_boot": true}}\n' > optin.json
early_refusal "SNP disk boot" "boot: the spec boots from its disk without a kernel" disk.json snp.json
grep -q "snp.allow_unmeasured_disk_boot" out.json && ok || bad "the disk boot refusal does not name the rule"
# with the opt-in the boot check passes; this host (no SEV-SNP in its domain capabilities) is
# what refuses it then, still before any domain
launch disk.json optin.json; status=$?
[ "$status" -eq 1 ] && jq -e '(.error | contains("allow_unmeasured_disk_boot") | not) and (.error | contains("SEV-SNP"))' \
        out.json > /dev/null && ok || bad "SNP disk boot with the opt-in: exit $status: $(jq -c '{phase, error}' out.json)"
# a direct-boot SNP spec passes the boot check without the opt-in
spec_json direct "$tmp/ovmf.fd" sev-snp > direct.json
launch direct.json snp.json; status=$?
jq -e '.error | contains("allow_unmeasured_disk_boot") | not' out.json > /dev/null && ok \
        || bad "direct SNP boot: $(jq -c '{phase, error}' out.json)"

# --- TDX: "mrtds": "predicted" against the MRTD of the TDVF image the simulated TD booted
spec_json tdx-job "$tmp/tdvf.fd" > tdx.json
printf '{"name": "p", "allow_development": true, "tdx": {"trusted_simulator_roots": [{"spki_sha256": "%s"}], "mrtds": "predicted"}}\n' "$root" > tdx-predicted.json
render tdx.json
start_agent tdx <(jq -r .xml plan.json)
launch tdx.json tdx-predicted.json --evidence tdx --collateral sim/tdx/collateral; status=$?
stop_guest
[ "$status" -eq 0 ] && jq -e '.running and .released' out.json > /dev/null && ok \
        || bad "TDX predicted: exit $status: $(cat err) $(jq -c '{error, reasons}' out.json)"
jq -e --arg m "$(jq -r .expected.mrtd "$V/tdx/gce-clean-example-2m-mrtd/case.json")" '.claims.mrtd == $m' out.json > /dev/null \
        && ok || bad "TDX MRTD $(jq -r .claims.mrtd out.json) is not the vector's"
# a TD booted from another firmware image than the launch's: refused
rm -f "$keys"/*
cp "$TDX_FW" other.fd && chmod u+w other.fd && printf '\x01' | dd of=other.fd bs=1 seek=135168 conv=notrunc status=none
jq -r .xml plan.json | sed "s|$tmp/tdvf.fd|$tmp/other.fd|" > other-tdx.xml
start_agent tdx other-tdx.xml
launch tdx.json tdx-predicted.json --evidence tdx --collateral sim/tdx/collateral; status=$?
stop_guest
[ "$status" -eq 1 ] && jq -e '.reasons | any(test("^policy.tdx.mrtds: MRTD [0-9a-f]{96} differs from the MRTD predicted"))' \
        out.json > /dev/null && ok || bad "TDX other firmware: exit $status: $(jq -c '{error, reasons}' out.json)"

check_finish
