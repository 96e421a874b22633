#!/bin/bash
# Key delivery a training job can use, end to end with the real programs (cvm-agent --simulate
# snp, cvmctl attest-guest, the key store of cvmctl key wrap): install metadata travels with the
# key (a file with its owner, group and mode; a "user" key in another user's kernel keyring); a
# second exchange with the running agent replaces the keys and is confirmed; 64 keys of 4 KiB
# are refused by the host before anything is released; a guest with swap on refuses key files
# and the host hears why (released, not confirmed); no key byte in any output.
# Needs root (key files owned by nobody, nobody's keyring), keyutils (keyctl), setpriv.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
guest_test_init key-install

if [ "$(id -u)" -ne 0 ] || ! command -v keyctl > /dev/null || ! command -v setpriv > /dev/null; then
        echo "SKIP: needs root, keyctl (keyutils) and setpriv"
        exit 0
fi

export CVM_CACHE_DIR=$tmp/cache
"$CVMCTL" sim init sim --product Genoa --cache "$CVM_CACHE_DIR" --json > sim.json 2> sim.err || bad "sim init: $(cat sim.err)"
digest=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
printf '{"name": "sim", "snp": {"allow_debug": false, "trusted_simulator_arks": [{"product": "Genoa", "spki_sha256": "%s"}]}}\n' \
        "$digest" > trusting.json
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
uuid=6f1c2a9e-4b7d-4e21-9a43-0c5d8e7f1a26
new_releaser_key releaser.key
host_data=$(bound_digest "$(zero_spec)" "$(releaser_pub releaser.key)")
host_data=${host_data:0:64}
printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n' > no-swap
printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/vda2  partition\t2097148\t\t0\t\t-2\n' > swap-on
ring=ring-$$-$RANDOM # this run's own ID: nobody's keyring outlives the test

wrap() { # kid keyfile [options...]
        local kid=$1 file=$2
        shift 2
        "$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid "$kid" --keys-dir wrapped --force "$@" < "$file" \
                > wrap.out 2>&1 || bad "key wrap $kid: $(cat wrap.out)"
        cat wrap.out >> wrap.log
}
start_agent() { # log swaps-file
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --simulate snp --sim-dir sim/snp --keys-dir "$keys" \
                --vm-uuid "$uuid" --timeout 10 --sim-host-data "$host_data" --swaps-file "$2" 2> "$1" &
        agent_pid=$!
        wait_for_socket agent.sock
}
exchange() { # name key...
        local name=$1 args=()
        shift
        for k in "$@"; do args+=(--key "$k"); done
        "$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --policy trusting.json "${args[@]}" --keys-dir wrapped \
                --vm-uuid "$uuid" --releaser-key releaser.key --json > "host-$name.json" 2> "host-$name.err"
}
# The "user" key cvmd:<kid> as nobody finds it from nobody's keyring, to stdout.
nobody_key() {
        setpriv --reuid nobody --regid nogroup --clear-groups keyctl session - \
                sh -c "keyctl link @u @s >/dev/null && keyctl pipe \"\$(keyctl search @u user cvmd:$1)\"" 2>/dev/null
}

# --- one exchange: a file with metadata and a key in nobody's keyring
head -c 32 /dev/urandom > ds.bin
head -c 48 /dev/urandom > ring.bin
wrap ds-key ds.bin --target file --install-owner nobody --install-group nogroup --install-mode 0440
wrap "$ring" ring.bin --target keyring --install-user nobody
jq -e '.install == {"target": "file", "owner": "nobody", "group": "nogroup", "mode": "0440"}' wrapped/ds-key.json > /dev/null \
        && ok || bad "the envelope lacks its install metadata: $(cat wrapped/ds-key.json)"
start_agent agent.log no-swap
exchange first ds-key "$ring"
[ $? -eq 0 ] && jq -e '.released and .confirmed' host-first.json > /dev/null && ok \
        || bad "first exchange: $(cat host-first.err) $(jq -c '{error}' host-first.json)"
cmp -s "$keys/ds-key" ds.bin && ok || bad "the installed file differs from the key"
[ "$(stat -c '%U:%G %a' "$keys/ds-key")" = "nobody:nogroup 440" ] && ok \
        || bad "the key file is $(stat -c '%U:%G %a' "$keys/ds-key"), not nobody:nogroup 440"
nobody_key "$ring" > ring.got
cmp -s ring.got ring.bin && ok || bad "nobody's keyring does not hold cvmd:$ring"
[ ! -e "$keys/$ring" ] && ok || bad "a keyring-only key was also written as a file"

# --- re-attestation of the running agent: the keys are replaced, and that is confirmed
head -c 32 /dev/urandom > ds2.bin
head -c 48 /dev/urandom > ring2.bin
wrap ds-key ds2.bin --target file --install-owner nobody --install-group nogroup --install-mode 0440
wrap "$ring" ring2.bin --target keyring --install-user nobody
exchange second ds-key "$ring"
[ $? -eq 0 ] && jq -e '.released and .confirmed' host-second.json > /dev/null && ok \
        || bad "second exchange: $(cat host-second.err) $(jq -c '{error}' host-second.json)"
cmp -s "$keys/ds-key" ds2.bin && ok || bad "re-attestation did not replace the key file"
nobody_key "$ring" > ring.got
cmp -s ring.got ring2.bin && ok || bad "re-attestation did not replace the keyring key"
[ -z "$(find "$keys" -name '.cvmd-tmp-*')" ] && ok || bad "temporary files left in the keys directory"

# --- 64 keys of 4 KiB: more than one release carries; the host refuses before releasing
big=()
for i in $(seq 64); do
        head -c 4096 /dev/urandom > "big-$i.bin"
        wrap "big-$i" "big-$i.bin"
        big+=("big-$i")
done
exchange big "${big[@]}"
status=$?
[ "$status" -eq 1 ] && jq -e '(.released | not) and (.error | test("over the 262128"))' host-big.json > /dev/null && ok \
        || bad "64 keys of 4 KiB: exit $status $(jq -c '{released, error}' host-big.json)"
[ ! -e "$keys/big-1" ] && ok || bad "a key of the refused release was installed"
stop_agent 0 # it serves on (no --once): stopped now

# --- swap on in the guest: key files refused, the host is told the real reason
start_agent agent-swap.log swap-on
head -c 32 /dev/urandom > ds3.bin
wrap ds-key ds3.bin
exchange swap ds-key
status=$?
[ "$status" -ne 0 ] && jq -e '(.confirmed | not) and (.error | test("swap is on"))' host-swap.json > /dev/null && ok \
        || bad "swap: exit $status $(jq -c '{released, confirmed, error}' host-swap.json)"
cmp -s "$keys/ds-key" ds2.bin && ok || bad "a refused install changed the installed key"
grep -q "swap is on" agent-swap.log && ok || bad "the agent did not log why: $(cat agent-swap.log)"
stop_agent 0

for key in ds.bin ds2.bin ds3.bin ring.bin ring2.bin big-1.bin; do
        no_key_bytes "$key" *.log *.json *.err && ok || bad "key material of $key leaked into output"
done
check_finish
