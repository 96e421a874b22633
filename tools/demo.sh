#!/bin/bash
# make demo: an attestation-gated launch, end to end, on the simulator and libvirt's test
# driver; then the verifiers on real evidence from real hardware (../shared/vectors).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
V=${CVM_VECTORS:-$(cd .. && pwd)/shared/vectors}
CVMCTL=$PWD/$BUILD/cvmctl
# CVM_DEMO_AGENT: another agent binary (the tests break the demo on purpose with a missing one)
AGENT=${CVM_DEMO_AGENT:-$PWD/$BUILD/cvm-agent}
SHARED=$(dirname "$V")
tmp=$(mktemp -d)
keys=$(mktemp -d /dev/shm/cvmd-demo-keys.XXXXXX)
agent_pid=
cleanup() { [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null; rm -rf "$tmp" "$keys"; }
trap cleanup EXIT

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# The demo checks its own outcomes: every expectation is named, and any that does not hold makes
# the demo exit non-zero with the list of what went wrong.
failed_steps=()
expect() { # description command...
        local what=$1
        shift
        if "$@"; then
                printf '  \342\234\223 %s\n' "$what"
        else
                printf '  \342\234\227 %s\n' "$what"
                failed_steps+=("$what")
        fi
}
jq_true() { jq -e "$2" "$1" > /dev/null 2>&1; }
say() { printf '$ %s\n' "$*"; }
start_agent() {
        rm -f "$tmp/agent.sock"
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate snp --sim-dir "$tmp/sim/snp" --keys-dir "$keys" \
                2> "$tmp/agent.log" &
        agent_pid=$!
        for _ in $(seq 50); do [ -S "$tmp/agent.sock" ] && break; sleep 0.1; done
}
stop_agent() { # the agent serves one exchange; if the host never connected, stop it
        for _ in $(seq 30); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
        kill "$agent_pid" 2>/dev/null
        wait "$agent_pid" 2>/dev/null
        agent_pid=
}

cat <<'EOF2'
cvmd demo: no verified evidence, no keys.

Part 1 runs a whole attestation-gated launch on this machine: the SEV-SNP simulator stands in for
the CPU, libvirt's test driver for the hypervisor, a unix socket for vsock. Part 2 verifies real
evidence captured on AMD EPYC, Intel Xeon and NVIDIA H100 machines.
EOF2

bold "== 1. A simulated SEV-SNP platform, and a data key wrapped under a KEK"
say "cvmctl sim init sim"
if ! "$CVMCTL" sim init "$tmp/sim" --json > "$tmp/sim.json" 2> "$tmp/sim.err"; then
        cat "$tmp/sim.err"
        echo "Demo did NOT end as expected: step 1 (cvmctl sim init) failed."
        exit 1
fi
jq -c '{snp_dir, product, signing_key}' "$tmp/sim.json" | sed "s|$tmp/||g"
digest=$(jq -r '.trusted_simulator_arks[0].spki_sha256' "$tmp/sim.json")
head -c 32 /dev/urandom > "$tmp/kek.bin"; chmod 0600 "$tmp/kek.bin"
head -c 32 /dev/urandom > "$tmp/dataset.key"
say "cvmctl key wrap --kek file:kek.bin --kid llama-dataset < dataset.key"
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid llama-dataset --keys-dir "$tmp/keys" < "$tmp/dataset.key" > "$tmp/wrap.out"
expect "the data key is wrapped into the key store" test -s "$tmp/keys/llama-dataset.json"
sed "s|$tmp/||" "$tmp/wrap.out"

cat > "$tmp/spec.json" <<'EOF2'
{ "name": "llama-train-0", "tee": "none", "vcpus": 4, "memory_mib": 4096, "gpus": [],
  "boot": { "disk": "/var/lib/cvmd/images/trainer.qcow2", "disk_format": "qcow2" },
  "policy": "dev", "key_ids": ["llama-dataset"] }
EOF2
printf '{"name": "dev", "allow_development": true,\n "snp": {"allow_debug": false, "trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "%s"}]}}\n' \
        "$digest" > "$tmp/dev-policy.json"
echo '{"name": "production", "snp": {"allow_debug": false}}' > "$tmp/prod-policy.json"
# A 2-cell host with 2 MiB pages: the test driver reports no hugepage pools of its own.
{
        echo "<capabilities><host><topology><cells num='2'>"
        for n in 0 1; do
                echo "<cell id='$n'><memory unit='KiB'>67108864</memory><pages unit='KiB' size='2048'>16384</pages><cpus num='16'>"
                for t in 0 1; do for c in $(seq 0 7); do
                        echo "<cpu id='$((t * 16 + n * 8 + c))' socket_id='$n' core_id='$c' siblings='$((n * 8 + c)),$((16 + n * 8 + c))'/>"
                done; done
                echo "</cpus></cell>"
        done
        echo "</cells></topology></host></capabilities>"
} > "$tmp/caps.xml"
echo '<domainCapabilities><features><sev supported="no"/><tdx supported="no"/></features></domainCapabilities>' > "$tmp/domcaps.xml"

bold "== 2. Launch: placement, domain, challenge, evidence, verification, key release"
echo "(the guest agent runs cvm-agent --simulate snp; the policy names the simulator's root)"
start_agent
say "cvmctl launch spec.json --connect test:///default --policy dev-policy.json --json"
"$CVMCTL" launch "$tmp/spec.json" --connect test:///default --host-caps "$tmp/caps.xml" --domcaps "$tmp/domcaps.xml" \
        --domain-type test --policy "$tmp/dev-policy.json" --keys-dir "$tmp/keys" --channel "unix:$tmp/agent.sock" --boot-timeout 10 \
        --json > "$tmp/launch.json"
status=$?
stop_agent
jq '{domain, running, authentic, accepted, released, confirmed, launch_digest,
     checks: [.checks[] | "\(.result) \(.name)"], measurement: .claims.measurement}' "$tmp/launch.json"
echo "(exit status $status)"
echo "guest agent: $(tail -1 "$tmp/agent.log" | sed 's/^cvm-agent: //')"
expect "cvmctl launch exits 0" test "$status" -eq 0
expect "the evidence is authentic and accepted" jq_true "$tmp/launch.json" '.authentic and .accepted'
expect "the key is released and its receipt confirmed" jq_true "$tmp/launch.json" '.released and .confirmed and .running'
expect "the guest's key file is byte-for-byte the original data key" cmp -s "$keys/llama-dataset" "$tmp/dataset.key"

bold "== 3. The same launch under a production policy: the simulator is not trusted"
echo '{"name": "production", "allow_development": true, "snp": {"allow_debug": false}}' > "$tmp/prod-policy.json"
rm -f "$keys"/*
start_agent
say "cvmctl launch spec.json --connect test:///default --policy prod-policy.json --json"
"$CVMCTL" launch "$tmp/spec.json" --connect test:///default --host-caps "$tmp/caps.xml" --domcaps "$tmp/domcaps.xml" \
        --domain-type test --policy "$tmp/prod-policy.json" --keys-dir "$tmp/keys" --channel "unix:$tmp/agent.sock" --boot-timeout 10 \
        --json > "$tmp/refused.json" 2> "$tmp/refused.err"
status=$?
stop_agent
grep -v "^cvmctl: probing" "$tmp/refused.err"
jq '{domain, running, authentic, released, error}' "$tmp/refused.json"
echo "(exit status $status; keys in the guest: $(ls "$keys" | wc -l))"
expect "cvmctl launch exits 1 (refused)" test "$status" -eq 1
expect "refused for the evidence: its root is not a pinned AMD root" \
        jq_true "$tmp/refused.json" '(.authentic == false) and (.error | test("chain.ark-pinned"))'
expect "nothing released, and the domain destroyed" jq_true "$tmp/refused.json" '(.released == false) and (.running == false)'
expect "no key in the guest" test -z "$(ls -A "$keys")"

bold "== 4. The domain XML for a real SEV-SNP launch with one H100 (libvirt 12.8 schema)"
cat > "$tmp/snp-spec.json" <<'EOF2'
{ "name": "llama-train-1", "tee": "sev-snp", "vcpus": 8, "memory_mib": 16384, "gpus": ["0000:91:00.0"],
  "boot": { "kernel": "/var/lib/cvmd/vmlinuz", "initrd": "/var/lib/cvmd/initrd", "cmdline": "console=ttyS0" },
  "policy": "production", "key_ids": ["llama-dataset"] }
EOF2
cat > "$tmp/snp-domcaps.xml" <<'EOF2'
<domainCapabilities><machine>pc-q35-10.0</machine><features><tdx supported='no'/>
<sev supported='yes'><cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits></sev>
<launchSecurity supported='yes'><enum name='sectype'><value>sev</value><value>sev-snp</value></enum></launchSecurity>
</features></domainCapabilities>
EOF2
say "cvmctl render snp-spec.json --host-caps caps.xml --domcaps domcaps.xml --gpu 0000:91:00.0@1"
"$CVMCTL" render "$tmp/snp-spec.json" --host-caps "$tmp/caps.xml" --domcaps "$tmp/snp-domcaps.xml" \
        --gpu 0000:91:00.0@1 > "$tmp/domain.xml"
expect "cvmctl render writes the domain" test -s "$tmp/domain.xml"
grep -E "<launchSecurity|<policy>|<hostData>|<vcpupin|<emulatorpin|<memnode|<hugepages|<page |<hostdev|<address domain|<cid" \
        "$tmp/domain.xml" | head -16
if [ -f "$SHARED/libvirt/schemas/domain.rng" ]; then
        expect "the domain XML is valid against libvirt's schema" \
                xmllint --noout --relaxng "$SHARED/libvirt/schemas/domain.rng" "$tmp/domain.xml"
fi

bold "== 5. Verifying real evidence (each at the time its certificates were valid)"
snp() { # case accepted? extra...
        local c=$1 want=$2; shift 2
        say "cvmctl verify snp snp/$c/report.bin --certs snp/$c/certs --at $(jq -r .at "$V/snp/$c/case.json") $*"
        "$CVMCTL" verify snp "$V/snp/$c/report.bin" --certs "$V/snp/$c/certs" --at "$(jq -r .at "$V/snp/$c/case.json")" \
                --offline --cache "$tmp/cache" --json "$@" > "$tmp/$c.json"
        jq -c '{authentic, accepted, product: .claims.product, reasons}' "$tmp/$c.json"
        expect "$c: authentic as its case says, accepted: $want" jq_true "$tmp/$c.json" \
                "(.authentic == $(jq .expected.authentic "$V/snp/$c/case.json")) and (.accepted == $want)"
}
if [ -d "$V/snp" ]; then
        snp oak-turin-v5 true
        snp NEG-trustee-byte384 false
        echo '{"snp": {"allow_debug": false}}' > "$tmp/nodebug.json"
        snp gsg-milan-v2 false --policy "$tmp/nodebug.json"
        expect "gsg-milan-v2 is refused by policy.snp.allow_debug" jq_true "$tmp/gsg-milan-v2.json" \
                '.authentic and any(.reasons[]; test("allow_debug"))'
else
        failed_steps+=("no vectors at $V")
fi
if [ -d "$V/tdx/phala-near-v4-uptodate" ]; then
        c=phala-near-v4-uptodate
        say "cvmctl verify tdx tdx/$c/quote.bin --collateral tdx/$c/collateral --at $(jq -r .at "$V/tdx/$c/case.json")"
        "$CVMCTL" verify tdx "$V/tdx/$c/quote.bin" --collateral "$V/tdx/$c/collateral" --at "$(jq -r .at "$V/tdx/$c/case.json")" \
                --offline --cache "$tmp/cache" --json > "$tmp/tdx.json"
        jq -c '{authentic, tcb_status, advisory_ids, accepted, reasons}' "$tmp/tdx.json"
        expect "$c: authentic and accepted" jq_true "$tmp/tdx.json" '.authentic and .accepted'
fi
if [ -d "$V/nvidia/nvtrust_2023_h100_545.00" ]; then
        c=nvtrust_2023_h100_545.00
        say "cvmctl verify gpu nvidia/$c/report.bin --chain nvidia/$c/chain.pem --rim-dir nvidia/$c/rims ..."
        "$CVMCTL" verify gpu "$V/nvidia/$c/report.bin" --chain "$V/nvidia/$c/chain.pem" --nonce "$(cat "$V/nvidia/$c/nonce.hex")" \
                --rim-dir "$V/nvidia/$c/rims" --at "$(jq -r .at "$V/nvidia/$c/case.json")" --offline --json > "$tmp/gpu.json"
        jq -c '{authentic, measurements, accepted, driver: .claims.gpus[0].driver_version, reasons}' "$tmp/gpu.json"
        expect "$c: authentic, measurements match the RIMs, accepted" jq_true "$tmp/gpu.json" '.authentic and .accepted'
fi

echo
if [ ${#failed_steps[@]} -eq 0 ]; then
        echo "Demo ended as expected: keys released only to verified evidence, refused for the stated reason."
        exit 0
fi
echo "Demo did NOT end as expected; what went wrong:"
printf '  - %s\n' "${failed_steps[@]}"
echo "Demo did NOT end as expected (${#failed_steps[@]} step(s) failed)."
exit 1
