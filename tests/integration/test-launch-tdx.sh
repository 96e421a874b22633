#!/bin/bash
# cvmctl launch of a TDX guest on the simulator, with Intel-shaped collateral from the TDX
# simulator: the domain is created on libvirt's test driver, the simulated TDX guest's quote is
# appraised with the collateral, and the key is released and confirmed; without --collateral
# the same launch is refused (no collateral, no keys) and the domain destroyed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
guest_test_init launch-tdx

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
        wait_for_socket agent.sock
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
write_test_host
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
check_finish
