#!/bin/bash
# cvmctl launch of a TDX guest on the simulator, with Intel-shaped collateral from the TDX
# simulator: the domain is created on libvirt's test driver, the simulated TDX guest's quote is
# appraised with the collateral, and the key is released and confirmed; without --collateral
# the same launch is refused (no collateral, no keys) and the domain destroyed.
set -uo pipefail
. "$(dirname "$0")/../lib/secrets.sh"
. "$(dirname "$0")/../lib/releaser.sh"
BUILD=${BUILD:-build}
CVMCTL=$PWD/$BUILD/cvmctl
AGENT=$PWD/$BUILD/cvm-agent
passed=0 failed=0
tmp=$(mktemp -d)
keys=$(mktemp -d /dev/shm/cvmd-test-launch-tdx.XXXXXX)
agent_pid=
cleanup() { [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null; rm -rf "$tmp" "$keys"; }
trap cleanup EXIT
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
cd "$tmp" || exit 1

# The simulated TD's MRCONFIGID: the launch digest of the spec and the launch's releaser key.
start_agent() {
        local spec_digest mrconfigid
        spec_digest=$("$CVMCTL" render spec.json --host-caps caps.xml --domcaps domcaps.xml --domain-type test --json |
                jq -r .spec_digest)
        mrconfigid=$(bound_digest "$spec_digest" "$(releaser_pub releaser.key)")
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate tdx --sim-dir sim/tdx --keys-dir "$keys" \
                --sim-mrconfigid "$mrconfigid" --timeout 10 2> agent.log &
        agent_pid=$!
        for _ in $(seq 50); do [ -S agent.sock ] && break; sleep 0.1; done
}
stop_agent() {
        for _ in $(seq 30); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
        kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; agent_pid=
}
launch() { # extra options...
        "$CVMCTL" launch spec.json --connect test:///default --host-caps caps.xml --domcaps domcaps.xml --domain-type test \
                --policy dev.json --evidence tdx --keys-dir wrapped --channel "unix:$tmp/agent.sock" --boot-timeout 5 \
                --releaser-key releaser.key --json "$@" > out.json 2> err
}

"$CVMCTL" sim init sim --json > sim.json 2> sim.err || bad "sim init: $(cat sim.err)"
root=$(jq -r '.trusted_simulator_roots[0].spki_sha256' sim.json)
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > data.key
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid k1 --keys-dir wrapped < data.key > /dev/null || bad "key wrap"
# "tee": "none" on the test driver (libvirt here cannot define a TDX domain); the guest answers
# with simulated TDX evidence, appraised exactly as a TDX guest's would be
echo '{"name":"tdx-job","tee":"none","vcpus":2,"memory_mib":1024,"gpus":[],"boot":{"disk":"/img.qcow2"},"policy":"p","key_ids":["k1"]}' > spec.json
printf '{"name": "p", "allow_development": true, "tdx": {"trusted_simulator_roots": [{"spki_sha256": "%s"}]}}\n' "$root" > dev.json
printf "<capabilities><host><topology><cells num='1'><cell id='0'><memory unit='KiB'>8388608</memory>%s<cpus num='8'>%s</cpus></cell></cells></topology></host></capabilities>" \
        "<pages unit='KiB' size='2048'>2048</pages>" \
        "$(for c in 0 1 2 3; do echo "<cpu id='$c' socket_id='0' core_id='$c' siblings='$c,$((c + 4))'/><cpu id='$((c + 4))' socket_id='0' core_id='$c' siblings='$c,$((c + 4))'/>"; done)" > caps.xml
echo '<domainCapabilities><features><sev supported="no"/><tdx supported="no"/></features></domainCapabilities>' > domcaps.xml
new_releaser_key releaser.key

# --- with collateral: running, keys released and confirmed, byte for byte
start_agent
launch --collateral sim/tdx/collateral; status=$?
stop_agent
[ "$status" -eq 0 ] && ok || bad "launch: exit $status: $(cat err) $(jq -c '{error, reasons}' out.json)"
jq -e '.running and .released and .confirmed and .phase == "running" and .domain == "tdx-job"
       and .claims.tcb_status == "UpToDate"' out.json > /dev/null && ok || bad "launch JSON: $(jq -c 'del(.checks)' out.json)"
cmp -s "$keys/k1" data.key && ok || bad "the guest's key differs from the original"

# --- without collateral (none given, an empty cache, offline): refused, destroyed, nothing installed
rm -f "$keys"/*
start_agent
launch --offline --cache "$tmp/empty-cache"; status=$?
stop_agent
[ "$status" -eq 1 ] && ok || bad "launch without collateral: exit $status"
jq -e '(.running | not) and (.released | not) and .phase == "failed"' out.json > /dev/null && ok \
        || bad "refusal JSON: $(jq -c '{phase, running, released, error}' out.json)"
grep -q "domain 'tdx-job' stopped" err && ok || bad "the domain was not destroyed: $(cat err)"
[ -z "$(ls -A "$keys")" ] && ok || bad "a key was installed after a refusal"

# --- an unreadable collateral directory is a usage error, before any domain exists
launch --collateral "$tmp/none"; status=$?
[ "$status" -eq 2 ] && ok || bad "missing collateral directory: exit $status"
jq -e '.ok == false' out.json > /dev/null && ok || bad "usage error JSON: $(cat out.json)"
grep -q "created" err && bad "a domain was created before the collateral was read" || ok

no_key_bytes data.key ./*.json err agent.log && ok || bad "key material leaked into output"
echo "launch-tdx: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
