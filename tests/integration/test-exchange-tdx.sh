#!/bin/bash
# The attestation-gated key release with TDX evidence, end to end with the real programs: cvmctl
# sim init makes the simulated Intel chain and collateral, cvm-agent --simulate tdx answers as a
# TDX guest over a unix socket, cvmctl attest-guest --tee tdx --collateral verifies and releases
# a data key wrapped under a file KEK. The guest ends up with exactly the original key; a policy
# that does not name the simulated root, or a spec digest other than the bound one, releases nothing; no key byte
# appears in any output or log.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
guest_test_init exchange-tdx

"$CVMCTL" sim init sim --json > sim.json 2> sim.err && ok || bad "sim init: $(cat sim.err)"
root=$(jq -r '.trusted_simulator_roots[0].spki_sha256' sim.json)
[ "$(jq -r .tdx_collateral_dir sim.json)" = sim/tdx/collateral ] && ok || bad "sim init JSON: $(cat sim.json)"
for f in tcb_info.json tcb_info_issuer_chain.pem qe_identity.json qe_identity_issuer_chain.pem pck_crl.der \
         pck_crl_issuer_chain.pem root_ca_crl.der; do
        [ -s "sim/tdx/collateral/$f" ] || bad "sim init did not write collateral/$f"
done
[ "$(stat -c %a sim/tdx/pck-key.pem)" = 600 ] && [ "$(stat -c %a sim/tdx/att-key.pem)" = 600 ] && ok \
        || bad "private key modes: $(stat -c '%n %a' sim/tdx/*-key.pem)"
"$CVMCTL" sim init human > human.out 2>&1 && grep -q '"trusted_simulator_roots": \[' human.out && ok \
        || bad "sim init text output: $(cat human.out)"

head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > datakey.bin
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid train-1 --keys-dir wrapped < datakey.bin > wrap.out 2> wrap.err \
        && ok || bad "key wrap: $(cat wrap.err)"
printf '{"name": "sim", "tdx": {"trusted_simulator_roots": [{"spki_sha256": "%s"}]}}\n' "$root" > trusting.json
echo '{"name": "production", "tdx": {}}' > production.json
uuid=2a7d1c3e-5b6f-4a81-9c02-7e4d3b2a1f90
spec=$(printf 'cvmd launch spec' | sha384sum | cut -d' ' -f1)
# the simulated VMM set MRCONFIGID to the launch digest binding the spec and the host's releaser key
new_releaser_key releaser.key
digest=$(bound_digest "$spec" "$(releaser_pub releaser.key)")

start_agent() { # log
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate tdx --sim-dir sim/tdx --sim-mrconfigid "$digest" \
                --keys-dir "$keys" --vm-uuid "$uuid" --timeout 10 2> "$1" &
        agent_pid=$!
        wait_for_socket agent.sock
}

attest() { # policy out spec-digest
        "$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --tee tdx --collateral sim/tdx/collateral \
                --policy "$1" --key train-1 --keys-dir wrapped --vm-uuid "$uuid" --spec-digest "$3" \
                --releaser-key releaser.key --json > "$2.json" 2> "$2.err"
}

# --- accepted: the key arrives, confirmed, byte for byte
start_agent agent-ok.log
attest trusting.json host-ok "$spec"
status=$?
wait "$agent_pid"; agent_status=$?; agent_pid=
[ "$status" -eq 0 ] && ok || bad "accepted exchange: exit $status: $(cat host-ok.err) $(jq -c '{error, reasons}' host-ok.json)"
[ "$agent_status" -eq 0 ] && ok || bad "agent exit $agent_status: $(cat agent-ok.log)"
jq -e '.authentic and .accepted and .released and .confirmed and .claims.tcb_status == "UpToDate"
       and ([.checks[] | select(.name == "binding.mrconfigid" and .result == "pass")] | length == 1)' host-ok.json \
        > /dev/null && ok || bad "host verdict: $(jq -c '{authentic, accepted, released, confirmed, error}' host-ok.json)"
cmp -s "$keys/train-1" datakey.bin && ok || bad "the guest's key differs from the original"

# --- refused: a policy that does not name the simulated root
rm -f "$keys"/*
start_agent agent-refused.log
attest production.json host-refused "$spec"
status=$?
wait "$agent_pid"; agent_status=$?; agent_pid=
[ "$status" -eq 1 ] && ok || bad "refused exchange exit $status"
jq -e '(.released | not) and (.error | test("pck.root-pinned"))' host-refused.json > /dev/null && ok \
        || bad "refusal: $(jq -c '{released, error}' host-refused.json)"
[ "$agent_status" -eq 1 ] && grep -q "host refused" agent-refused.log && ok || bad "agent: $(cat agent-refused.log)"
[ -z "$(ls -A "$keys")" ] && ok || bad "a key was installed after a refusal"

# --- refused by the guest: another spec digest makes another launch digest than the TD's
# MRCONFIGID; the agent sends no evidence, and keeps serving (--once counts only its launcher)
start_agent agent-digest.log
attest trusting.json host-digest "$(printf 'another spec' | sha384sum | cut -d' ' -f1)"
status=$?
[ "$status" -eq 1 ] && jq -e '(.released | not) and (.error | test("releaser not bound at launch: MRCONFIGID"))' \
        host-digest.json > /dev/null && ok || bad "wrong MRCONFIGID: exit $status $(jq -c '{released, error}' host-digest.json)"
kill -0 "$agent_pid" 2> /dev/null && ok || bad "the agent stopped after refusing a stranger: $(cat agent-digest.log)"
kill "$agent_pid"; wait "$agent_pid" 2> /dev/null; agent_pid=
grep -q "refused a peer: releaser not bound at launch" agent-digest.log && ok || bad "agent log: $(cat agent-digest.log)"
[ -z "$(ls -A "$keys")" ] && ok || bad "a key was installed after a MRCONFIGID mismatch"

# --- usage errors
"$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --tee tdx --collateral "$tmp/none" --policy trusting.json \
        --key train-1 > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "missing collateral directory"
"$AGENT" --simulate tdx --keys-dir "$keys" > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "agent: --simulate tdx without --sim-dir"
"$AGENT" --simulate tdx --sim-dir sim/tdx --sim-mrconfigid 00 --keys-dir "$keys" > /dev/null 2>&1
[ $? -eq 2 ] && ok || bad "agent: short --sim-mrconfigid"

# --- no key byte in any output or log
no_key_bytes datakey.bin *.log *.json *.err *.out && ok || bad "key material leaked into output"

check_finish
