#!/bin/bash
# The attestation-gated key release end to end with the real programs: a simulated SEV-SNP
# guest (cvm-agent --simulate snp) and the host (cvmctl attest-guest) over a unix socket, a data
# key wrapped under a file KEK. The guest ends up with exactly the original key; a policy that
# does not name the simulator releases nothing; and no key byte appears in any output or log.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
guest_test_init exchange

# the host's collateral (the simulator's CRL) in a cache of the test's own: never the network
export CVM_CACHE_DIR=$tmp/cache
"$CVMCTL" sim init sim --product Genoa --cache "$CVM_CACHE_DIR" --json > sim.json 2> sim.err || { bad "sim init: $(cat sim.err)"; }
digest=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > datakey.bin
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid train-1 --keys-dir wrapped < datakey.bin > wrap.out 2> wrap.err \
        && ok || bad "key wrap: $(cat wrap.err)"
printf '{"name": "sim", "snp": {"allow_debug": false, "trusted_simulator_arks": [{"product": "Genoa", "spki_sha256": "%s"}]}}\n' \
        "$digest" > trusting.json
echo '{"name": "production", "snp": {"allow_debug": false}}' > production.json
uuid=6f1c2a9e-4b7d-4e21-9a43-0c5d8e7f1a26
# the host's releaser key, bound (with no spec: an all-zero spec digest) into the simulated
# guest's HOST_DATA, as a hypervisor would have set it at launch
new_releaser_key releaser.key
host_data=$(bound_digest "$(zero_spec)" "$(releaser_pub releaser.key)")
host_data=${host_data:0:64}

start_agent() { # log
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate snp --sim-dir sim/snp --keys-dir "$keys" \
                --vm-uuid "$uuid" --timeout 10 --sim-host-data "$host_data" 2> "$1" &
        agent_pid=$!
        wait_for_socket agent.sock
}
attest() { # policy key out: the host's side, into out.json and out.err
        "$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --policy "$1" --key "$2" --keys-dir wrapped \
                --vm-uuid "$uuid" --releaser-key releaser.key --json > "$3.json" 2> "$3.err"
}

# --- accepted: the key arrives, confirmed, byte for byte
start_agent agent-ok.log
attest trusting.json train-1 host-ok
status=$?
wait "$agent_pid"; agent_status=$?; agent_pid=
[ "$status" -eq 0 ] && ok || bad "accepted exchange: exit $status: $(cat host-ok.err) $(jq -c '{error, reasons}' host-ok.json)"
[ "$agent_status" -eq 0 ] && ok || bad "agent exit $agent_status: $(cat agent-ok.log)"
jq -e '.authentic and .accepted and .released and .confirmed and (.token | split(".") | length == 3)' host-ok.json >/dev/null \
        && ok || bad "host verdict: $(jq -c '{authentic, accepted, released, confirmed, error}' host-ok.json)"
cmp -s "$keys/train-1" datakey.bin && ok || bad "the guest's key differs from the original"
[ "$(stat -c %a "$keys/train-1")" = 400 ] && ok || bad "installed key mode is $(stat -c %a "$keys/train-1")"

# --- refused: a production policy does not trust the simulator; nothing is released
rm -f "$keys"/*
start_agent agent-refused.log
attest production.json train-1 host-refused
status=$?
wait "$agent_pid"; agent_status=$?; agent_pid=
[ "$status" -eq 1 ] && ok || bad "refused exchange exit $status"
jq -e '(.released | not) and (.error | test("chain.ark-pinned"))' host-refused.json >/dev/null && ok \
        || bad "refusal: $(jq -c '{released, error}' host-refused.json)"
[ "$agent_status" -eq 1 ] && grep -q "host refused" agent-refused.log && ok || bad "agent: $(cat agent-refused.log)"
[ -z "$(ls -A "$keys")" ] && ok || bad "a key was installed after a refusal"

# --- usage errors
"$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --key train-1 > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "missing --policy"
"$CVMCTL" attest-guest --channel bogus:1 --policy trusting.json --key k > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "bad channel"
"$AGENT" --simulate tdx --keys-dir "$keys" > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "agent: unsupported simulate"

# --- SoftHSM2: the KEK never leaves the token; the released key is the original
MODULE=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
        [ -f "$m" ] && MODULE=$m && break
done
if [ -n "$MODULE" ] && command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null; then
        mkdir -p tokens
        printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" > softhsm2.conf
        export SOFTHSM2_CONF=$tmp/softhsm2.conf
        softhsm2-util --init-token --free --label cvmd --so-pin 1234 --pin 5678 > hsm-init.out 2>&1
        pkcs11-tool --module "$MODULE" --token-label cvmd --login --pin 5678 --keygen --key-type AES:32 --label kek \
                --id 01 --sensitive --usage-wrap > hsm-keygen.out 2>&1
        (umask 077; printf '5678\n' > pin)
        head -c 32 /dev/urandom > hsmkey.bin
        uri="pkcs11:token=cvmd;object=kek?module-path=$MODULE&pin-source=$tmp/pin"
        "$CVMCTL" key wrap --kek "$uri" --kid hsm-1 --keys-dir wrapped < hsmkey.bin > hsm-wrap.out 2>&1 \
                && ok || bad "HSM wrap: $(cat hsm-wrap.out)"
        rm -f "$keys"/*
        start_agent agent-hsm.log
        attest trusting.json hsm-1 host-hsm
        status=$?
        wait "$agent_pid"; agent_pid=
        [ "$status" -eq 0 ] && jq -e '.released and .confirmed' host-hsm.json > /dev/null && ok \
                || bad "HSM exchange: $(cat host-hsm.err) $(jq -c '{error}' host-hsm.json)"
        cmp -s "$keys/hsm-1" hsmkey.bin && ok || bad "the guest's HSM-released key differs from the original"
else
        echo "note: SoftHSM2 not installed; the HSM release is not exercised here (test-softhsm.sh says so too)"
fi

# --- no key byte in any output or log of the run
for key in datakey.bin hsmkey.bin; do
        [ "$key" = hsmkey.bin ] && [ ! -f "$key" ] && continue # SoftHSM2 absent (said above)
        no_key_bytes "$key" *.log *.json *.err *.out && ok || bad "key material of $key leaked into output"
done

check_finish
