#!/bin/bash
# cvmctl launch end to end on libvirt's test driver with the SEV-SNP simulator: the domain is
# created, the guest attested, the key released; a refusal destroys the domain and releases
# nothing; a development ("tee": "none") launch needs a policy that allows it.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
guest_test_init launch

# The simulated guest's HOST_DATA: the launch digest that binds the spec and the releaser key
# (default releaser.key) that `launch` uses, as the hypervisor sets it from the domain XML.
start_agent() { # [releaser-key]
        local spec_digest host_data
        spec_digest=$("$CVMCTL" render spec.json --host-caps caps.xml --domcaps domcaps.xml --domain-type test --json |
                jq -r .spec_digest)
        host_data=$(bound_digest "$spec_digest" "$(releaser_pub "${1:-releaser.key}")")
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate snp --sim-dir sim/snp --keys-dir "$keys" \
                --sim-host-data "${host_data:0:64}" 2> agent.log &
        agent_pid=$!
        wait_for_socket agent.sock
}
launch() { # policy [releaser-key]
        "$CVMCTL" launch spec.json --connect test:///default --host-caps caps.xml --domcaps domcaps.xml --domain-type test \
                --policy "$1" --keys-dir wrapped --channel "unix:$tmp/agent.sock" --boot-timeout 5 \
                --releaser-key "${2:-releaser.key}" --json > out.json 2> err
}

# the host's collateral (the simulator's CRL) in a cache of the test's own: never the network
export CVM_CACHE_DIR=$tmp/cache
"$CVMCTL" sim init sim --cache "$CVM_CACHE_DIR" --json > sim.json 2> /dev/null || bad "sim init"
digest=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > data.key
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid k1 --keys-dir wrapped < data.key > /dev/null || bad "key wrap"
echo '{"name":"job","tee":"none","vcpus":2,"memory_mib":1024,"gpus":[],"boot":{"disk":"/img.qcow2"},"policy":"p","key_ids":["k1"]}' > spec.json
printf '{"name": "p", "allow_development": true, "snp": {"trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "%s"}]}}' "$digest" > dev.json
echo '{"name": "p", "allow_development": true, "snp": {}}' > prod.json
echo '{"name": "p", "snp": {}}' > nodev.json
write_test_host
new_releaser_key releaser.key

start_agent
launch dev.json; status=$?
stop_agent
[ "$status" -eq 0 ] && ok || bad "launch: exit $status: $(cat err)"
jq -e '.running and .released and .confirmed and .domain == "job"' out.json > /dev/null && ok || bad "launch JSON: $(cat out.json)"
cmp -s "$keys/k1" data.key && ok || bad "the guest's key differs"
# the launch names what it bound: the spec digest, the releaser key, and their launch digest
jq -e --arg k "$(releaser_pub releaser.key)" '.releaser_key == $k
        and .launch_digest == ($ARGS.positional[0]) and .spec_digest != .launch_digest' \
        --args "$(bound_digest "$(jq -r .spec_digest out.json)" "$(releaser_pub releaser.key)")" out.json > /dev/null \
        && ok || bad "launch digest binding: $(jq -c '{spec_digest, releaser_key, launch_digest}' out.json)"

# --- a launch by a releaser other than the one the guest's HOST_DATA binds: the agent refuses
# it before any evidence, and nothing is released
rm -f "$keys"/*
new_releaser_key other.key
start_agent releaser.key
launch dev.json other.key; status=$?
stop_agent
[ "$status" -eq 1 ] && jq -e '(.released | not) and (.error | test("releaser not bound at launch"))' out.json > /dev/null \
        && ok || bad "another releaser: exit $status: $(jq -c '{released, error}' out.json)"
grep -q "refused a peer: releaser not bound at launch" agent.log && ok || bad "agent log: $(cat agent.log)"
[ -z "$(ls -A "$keys")" ] && ok || bad "a key was installed for another releaser"

rm -f "$keys"/*
start_agent
launch prod.json; status=$?
stop_agent
[ "$status" -eq 1 ] && ok || bad "refused launch: exit $status"
jq -e '(.running | not) and (.released | not) and (.error | test("chain.ark-pinned"))' out.json > /dev/null && ok \
        || bad "refusal JSON: $(cat out.json)"
grep -q "destroyed" err && ok || bad "the refused domain was not destroyed: $(cat err)"
[ -z "$(ls -A "$keys")" ] && ok || bad "a key was installed after a refusal"

launch nodev.json; status=$?
[ "$status" -eq 1 ] && grep -q "allow_development" err && ok || bad "tee none without allow_development: exit $status $(cat err)"

# --- refused before any domain exists: the launch never reaches "booting", nothing is destroyed
early_refusal() { # what expected-reason
        launch dev.json; status=$?
        [ "$status" -eq 1 ] && ok || bad "$1: exit $status"
        jq -e --arg r "$2" '(.released | not) and .phase == "failed" and (.error | contains($r))' out.json > /dev/null \
                && ok || bad "$1: $(jq -c '{phase, error}' out.json)"
        grep -qE "booting|destroyed" err && bad "$1: a domain was defined: $(cat err)" || ok
}
cp spec.json good-spec.json
sed 's/"k1"/"k1","no-such-key"/' good-spec.json > spec.json
early_refusal "unknown key" "key 'no-such-key' is not in the key store"
sed 's/"policy":"p"/"policy":"h100-production"/' good-spec.json > spec.json
early_refusal "policy name mismatch" "the spec names policy 'h100-production', the policy given is 'p'"
cp good-spec.json spec.json

"$CVMCTL" launch spec.json --policy dev.json > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--policy without --connect"
"$CVMCTL" launch /nonexistent.json --connect test:///default --policy dev.json > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "unreadable spec"

check_finish
