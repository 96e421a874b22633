#!/bin/bash
# The agent trusts only the host that launched it, end to end with the real programs over a unix
# socket: the simulated guest's HOST_DATA binds the real host's releaser key (as cvmd binds it at
# launch). An attacker's `cvmctl attest-guest` with its own releaser key that reaches the agent
# first is refused ("releaser not bound at launch") and installs nothing, and the real host's
# exchange then succeeds with the key installed; a releaser key other than the bound one is
# refused whatever the policy; a unix peer with an untrusted uid (nobody) is refused at the
# socket; a peer that connects and stalls holds the agent only until its deadline; a second
# exchange with the running agent replaces the key and is confirmed only once it is installed.
#
#   BUILD=build tests/integration/test-agent-auth.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
PYTHON=${PYTHON:-/usr/bin/python3}
. tests/lib/sim-guest.sh
guest_test_init agent-auth
staller_pid=
stop_at_exit staller_pid
finish() { check_finish; exit; }
for f in "$CVMCTL" "$AGENT"; do [ -x "$f" ] || { bad "$f is not built"; finish; }; done

# the host's collateral (the simulator's CRL) in a cache of the test's own: never the network
export CVM_CACHE_DIR=$tmp/cache
"$CVMCTL" sim init sim --product Genoa --cache "$CVM_CACHE_DIR" --json > sim.json 2> sim.err || bad "sim init: $(cat sim.err)"
ark=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > key1.bin
head -c 32 /dev/urandom > key2.bin
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid train-1 --keys-dir wrapped1 < key1.bin > /dev/null 2> wrap.err \
        || bad "key wrap: $(cat wrap.err)"
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid train-1 --keys-dir wrapped2 < key2.bin > /dev/null 2> wrap.err \
        || bad "key wrap: $(cat wrap.err)"
printf '{"name": "sim", "snp": {"trusted_simulator_arks": [{"product": "Genoa", "spki_sha256": "%s"}]}}\n' "$ark" \
        > trusting.json

# the real host's releaser key, bound into the guest's HOST_DATA at "launch"; the attacker's own
new_releaser_key host.key
new_releaser_key attacker.key
spec=$(printf 'job spec' | sha384sum | cut -d' ' -f1)
host_data=$(bound_digest "$spec" "$(releaser_pub host.key)")

start_agent() { # log [agent options...]
        local log=$1
        shift
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --simulate snp --sim-dir sim/snp --keys-dir "$keys" \
                --sim-host-data "${host_data:0:64}" "$@" 2> "$log" &
        agent_pid=$!
        wait_for_socket agent.sock
        [ -S agent.sock ] || bad "the agent did not start: $(cat "$log")"
}
attest() { # out releaser-key wrapped-dir [options...]
        local out=$1 key=$2 dir=$3
        shift 3
        "$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --policy trusting.json --key train-1 --keys-dir "$dir" \
                --spec-digest "$spec" --releaser-key "$key" --timeout 10 --json "$@" > "$out.json" 2> "$out.err"
}

# --- the attacker reaches the agent first: refused, nothing installed, the agent goes on
start_agent agent-once.log --once --timeout 10
attest attacker attacker.key wrapped1; status=$?
[ "$status" -eq 1 ] && jq -e '(.released | not) and (.confirmed | not) and (.token == null)
        and (.error | test("guest reported an error: releaser not bound at launch: HOST_DATA"))' attacker.json > /dev/null \
        && ok || bad "attacker: exit $status $(jq -c '{released, error}' attacker.json)"
[ -z "$(ls -A "$keys")" ] && ok || bad "the attacker installed a key"
kill -0 "$agent_pid" 2> /dev/null && ok || bad "the agent (--once) ended after refusing the attacker: $(cat agent-once.log)"
# --- then the real host: the key is installed, confirmed, and the agent (--once) ends with it
attest host host.key wrapped1; status=$?
wait "$agent_pid"; agent_status=$?; agent_pid=
[ "$status" -eq 0 ] && jq -e '.released and .confirmed and .launch_digest == $d' --arg d "$host_data" host.json > /dev/null \
        && ok || bad "real host after the attacker: exit $status $(jq -c '{released, confirmed, error}' host.json)"
[ "$agent_status" -eq 0 ] && ok || bad "agent exit $agent_status: $(cat agent-once.log)"
cmp -s "$keys/train-1" key1.bin && ok || bad "the guest's key is not the real host's"
grep -q "refused a peer: releaser not bound at launch" agent-once.log && grep -q "keys received, installed and confirmed" \
        agent-once.log && ok || bad "agent log: $(cat agent-once.log)"

# --- a long-running agent: the bound key under another spec digest, and a key other than the
# bound one, are both refused whatever the policy says
rm -f "$keys"/*
start_agent agent.log --timeout 3
attest otherspec host.key wrapped1 --spec-digest "$(printf 'other spec' | sha384sum | cut -d' ' -f1)"; status=$?
[ "$status" -eq 1 ] && jq -e '(.released | not) and (.error | test("releaser not bound at launch"))' otherspec.json \
        > /dev/null && ok || bad "another spec digest: exit $status $(jq -c '{released, error}' otherspec.json)"
attest ephemeral /dev/null wrapped1 > /dev/null 2>&1; status=$?
[ "$status" -eq 2 ] && ok || bad "a releaser key file that is not 32 bytes: exit $status"
"$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --policy trusting.json --key train-1 --keys-dir wrapped1 \
        --spec-digest "$spec" --timeout 10 --json > ephemeral.json 2> ephemeral.err; status=$?
[ "$status" -eq 1 ] && jq -e '(.released | not) and (.error | test("releaser not bound at launch"))' ephemeral.json \
        > /dev/null && ok || bad "an ephemeral releaser: exit $status $(jq -c '{released, error}' ephemeral.json)"
[ -z "$(ls -A "$keys")" ] && ok || bad "a key was installed for an unbound releaser"

# --- a unix peer with an untrusted uid: refused at the socket, and the agent goes on
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null; then
        # nobody needs a copy of cvmctl, the policy and the socket's directory it can reach
        pub=$(mktemp -d)
        # the socket itself open to everyone: the agent's own check is what is tested
        chmod 0755 "$pub" && chmod 0711 "$tmp" && chmod 0666 agent.sock
        cp "$CVMCTL" trusting.json "$pub/" && chmod 0755 "$pub/cvmctl" && chmod 0644 "$pub/trusting.json"
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$pub/cvmctl" attest-guest --channel "unix:$tmp/agent.sock" \
                --policy "$pub/trusting.json" --key train-1 --keys-dir "$pub" --timeout 10 --json \
                > nobody.json 2> nobody.err; status=$?
        rm -rf "$pub"
        [ "$status" -eq 1 ] && jq -e '(.released | not) and (.error | test("channel"))' nobody.json > /dev/null && ok \
                || bad "nobody: exit $status $(cat nobody.err) $(jq -c '{released, error}' nobody.json)"
        grep -q "refused unix peer uid $(id -u nobody)" agent.log && ok || bad "agent log: $(cat agent.log)"
else
        echo "SKIP: the untrusted-uid peer needs root and setpriv"
fi

# --- a peer that connects and stalls holds the agent only until its deadline (3 s here); the
# host that connects meanwhile is served next
"$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print("connected", flush=True)
time.sleep(60)' "$tmp/agent.sock" > staller.log 2>&1 &
staller_pid=$!
for _ in $(seq 50); do grep -q connected staller.log && break; sleep 0.1; done
attest after-staller host.key wrapped1; status=$?
[ "$status" -eq 0 ] && jq -e '.released and .confirmed' after-staller.json > /dev/null && ok \
        || bad "the host after a stalling peer: exit $status $(jq -c '{released, confirmed, error}' after-staller.json)"
kill "$staller_pid" 2> /dev/null; staller_pid=
grep -q "exchange ended before the host decided: channel: reading a frame header: Connection timed out" agent.log && ok \
        || bad "the staller was not cut off at its deadline: $(cat agent.log)"
cmp -s "$keys/train-1" key1.bin && ok || bad "the guest's key after the staller"

# --- re-attestation of the running agent: the new key replaces the old, and is confirmed
attest again host.key wrapped2; status=$?
[ "$status" -eq 0 ] && jq -e '.released and .confirmed' again.json > /dev/null && ok \
        || bad "second exchange: exit $status $(jq -c '{released, confirmed, error}' again.json)"
cmp -s "$keys/train-1" key2.bin && ok || bad "the key was not replaced by the second exchange"
kill -0 "$agent_pid" 2> /dev/null && ok || bad "the agent ended: $(cat agent.log)"
stop_agent 0 # it serves on (no --once): stopped now

# --- usage
"$AGENT" --simulate snp --sim-dir sim/snp --keys-dir "$keys" --trust-uid nobody > /dev/null 2>&1
[ $? -eq 2 ] && ok || bad "agent: a non-numeric --trust-uid"
"$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --policy trusting.json --key train-1 --spec-digest 00 \
        > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "attest-guest: a short --spec-digest"

# --- no byte of a data key or a releaser key in any output or log (one file: one scan per key)
cat -- *.log *.json *.err > all-output
for key in key1.bin key2.bin host.key attacker.key; do
        no_key_bytes "$key" all-output && ok || bad "bytes of $key leaked into output"
done
finish
