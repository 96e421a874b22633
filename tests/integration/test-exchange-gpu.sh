#!/bin/bash
# The attestation-gated key release with GPU evidence, end to end with the real programs: cvmctl
# sim init makes the simulated AMD and NVIDIA chains and the GPUs' golden measurements,
# cvm-agent --simulate snp --simulate-gpus answers as an SEV-SNP guest with simulated H100s over a
# unix socket, cvmctl attest-guest --gpus 8 --gpu-golden verifies every GPU and releases a data
# key wrapped under a file KEK. The guest ends up with exactly the original key; a GPU count the
# policy does not allow, a policy that does not name the simulated NVIDIA root, measurements off
# the golden list, one simulated GPU identity answering for two or eight GPUs (cvmctl sim init
# --gpu-fault shared-identity), and a GPU whose driver reports CC off or devtools release nothing;
# no key byte appears in any output or log.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
guest_test_init exchange-gpu

# the host's collateral (the simulator's CRL) in a cache of the test's own: never the network
export CVM_CACHE_DIR=$tmp/cache
"$CVMCTL" sim init sim --cache "$CVM_CACHE_DIR" --json > sim.json 2> sim.err && ok || bad "sim init: $(cat sim.err)"
# another board, every GPU answering with GPU 0's identity: only its gpu/ is used
"$CVMCTL" sim init shared --gpus 8 --gpu-fault shared-identity --json > shared.json 2> shared.err && ok \
        || bad "sim init --gpu-fault: $(cat shared.err)"
shared_root=$(jq -r '.gpu_trusted_simulator_roots[0].spki_sha256' shared.json)
ark=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
gpu_root=$(jq -r '.gpu_trusted_simulator_roots[0].spki_sha256' sim.json)
[ "$(jq -r .gpu_dir sim.json)" = sim/gpu ] && [ ${#gpu_root} -eq 64 ] && ok || bad "sim init JSON: $(cat sim.json)"
[ "$(jq -r .gpus sim.json)" = 8 ] && [ "$(stat -c %a sim/gpu/gpu7/leaf-key.pem)" = 600 ] \
        && [ "$(grep -c 'BEGIN CERTIFICATE' sim/gpu/gpu0/chain.pem)" = 5 ] && ok || bad "sim/gpu: $(ls -lR sim/gpu)"
jq -e 'length == 40 and .[0].index == 0' sim/gpu/golden.json > /dev/null && ok || bad "golden.json"
openssl x509 -in sim/gpu/gpu0/chain.pem -noout -subject | grep -q 'GH100 A01 GSP FMC LF.*cvmd Simulated NVIDIA' && ok \
        || bad "leaf subject: $(openssl x509 -in sim/gpu/gpu0/chain.pem -noout -subject)"
# one device per GPU: eight leaf keys; with the fault, one
leaf_keys() { for g in "$1"/gpu/gpu*; do openssl x509 -in "$g/chain.pem" -noout -pubkey | sha256sum; done | sort -u | wc -l; }
[ "$(leaf_keys sim)" = 8 ] && [ "$(leaf_keys shared)" = 1 ] && ok || bad "leaf keys: $(leaf_keys sim), $(leaf_keys shared)"
[ "$(cat sim/gpu/gpu0/pci-address)" = 0000:e1:00.0 ] && [ "$(cat sim/gpu/gpu7/pci-address)" = 0000:e8:00.0 ] \
        && [ "$(cat shared/gpu/gpu7/pci-address)" = 0000:e8:00.0 ] && [ "$(cat sim/gpu/gpu3/cc-mode)" = on ] && ok \
        || bad "pci-address, cc-mode: $(cat sim/gpu/gpu*/pci-address sim/gpu/gpu3/cc-mode)"
"$CVMCTL" sim init bad --gpus 17 > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--gpus 17 is a usage error"
"$CVMCTL" sim init bad --gpu-cc maybe > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--gpu-cc maybe is a usage error"
"$CVMCTL" sim init bad --gpu-fault other > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--gpu-fault other is a usage error"
# a board whose drivers report CC off, another in devtools mode (the claims are plain files)
for mode in off devtools; do
        cp -r sim/gpu "gpu-$mode" && echo "$mode" > "gpu-$mode/gpu1/cc-mode"
done

head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > datakey.bin
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid train-1 --keys-dir wrapped < datakey.bin > wrap.out 2> wrap.err \
        && ok || bad "key wrap: $(cat wrap.err)"
snp='"snp": {"trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "'$ark'"}]}'
# the simulated chains have no OCSP responder here (test-exchange-gpu-rim.sh has one)
printf '{"name": "sim", %s, "gpu": {"gpu_count": 8, "require_ocsp": false, "trusted_simulator_roots": [{"spki_sha256": "%s"}]}}\n' \
        "$snp" "$gpu_root" > trusting.json
printf '{"name": "nvidia-only", %s, "gpu": {"gpu_count": 8, "require_ocsp": false}}\n' "$snp" > nvidia-only.json
printf '{"name": "shared", %s, "gpu": {"require_ocsp": false, "trusted_simulator_roots": [{"spki_sha256": "%s"}]}}\n' \
        "$snp" "$shared_root" > shared-policy.json
printf '{"name": "devtools", %s, "gpu": {"allow_devtools": true, "require_ocsp": false, "trusted_simulator_roots": [{"spki_sha256": "%s"}]}}\n' \
        "$snp" "$gpu_root" > devtools-ok.json
jq '.[3].values[0] |= (if startswith("0") then "1" else "0" end + .[1:])' sim/gpu/golden.json > bad-golden.json
uuid=2a7d1c3e-5b6f-4a81-9c02-7e4d3b2a1f90
# HOST_DATA binds the host's releaser key (no spec: an all-zero spec digest)
new_releaser_key releaser.key
host_data=$(bound_digest "$(zero_spec)" "$(releaser_pub releaser.key)")

start_agent() { # log [gpu dir]
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate snp --sim-dir sim/snp --simulate-gpus "${2:-sim/gpu}" \
                --keys-dir "$keys" --vm-uuid "$uuid" --timeout 10 --sim-host-data "${host_data:0:64}" 2> "$1" &
        agent_pid=$!
        wait_for_socket agent.sock
}

attest() { # policy out gpus golden
        "$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --tee snp --gpus "$3" --gpu-golden "$4" \
                --policy "$1" --key train-1 --keys-dir wrapped --vm-uuid "$uuid" --releaser-key releaser.key --json \
                > "$2.json" 2> "$2.err"
}

# --- accepted: 8 GPUs, the key arrives, confirmed, byte for byte; the GPUs are set ready after it
start_agent agent-ok.log
attest trusting.json host-ok 8 sim/gpu/golden.json
status=$?
wait "$agent_pid"; agent_status=$?; agent_pid=
[ "$status" -eq 0 ] && ok || bad "accepted exchange: exit $status: $(cat host-ok.err) $(jq -c '{error, reasons}' host-ok.json)"
[ "$agent_status" -eq 0 ] && grep -q "GPUs ready (simulated)" agent-ok.log && ok || bad "agent exit $agent_status: $(cat agent-ok.log)"
jq -e '.authentic and .accepted and .released and .confirmed and .claims.gpu_count == 8
       and ([.claims.gpus[] | select(.authentic and .measurements == "match")] | length == 8)
       and ([.checks[] | select((.name | test("^gpu[0-7]\\.nonce$")) and .result == "pass")] | length == 8)' \
        host-ok.json > /dev/null && ok || bad "host verdict: $(jq -c '{authentic, accepted, released, confirmed, error}' host-ok.json)"
cmp -s "$keys/train-1" datakey.bin && ok || bad "the guest's key differs from the original"

refused() { # name policy gpus golden needle [gpu dir]
        rm -f "$keys"/*
        start_agent "agent-$1.log" "${6:-sim/gpu}"
        attest "$2" "host-$1" "$3" "$4"
        local status=$?
        wait "$agent_pid"; local agent_status=$?; agent_pid=
        [ "$status" -eq 1 ] && ok || bad "$1: exit $status"
        jq -e --arg n "$5" '(.released | not) and (.token == null) and ((.error | contains($n)) or ([.reasons[] | contains($n)] | any))' \
                "host-$1.json" > /dev/null && ok || bad "$1: $(jq -c '{released, error, reasons}' "host-$1.json")"
        [ "$agent_status" -eq 1 ] && grep -q "host refused" "agent-$1.log" && ok || bad "$1 agent: $(cat "agent-$1.log")"
        [ -z "$(ls -A "$keys")" ] && ok || bad "$1: a key was installed after a refusal"
}

# --- refused: fewer GPUs than the policy requires
refused count trusting.json 4 sim/gpu/golden.json "policy.gpu.gpu_count"
# --- refused: the policy does not name the simulated NVIDIA root
refused root nvidia-only.json 8 sim/gpu/golden.json "gpu0.chain"
# --- refused: a measurement off the golden list
refused golden trusting.json 8 bad-golden.json "gpu0.measurements"
# --- refused: one GPU identity answering for two, and for eight GPUs
refused shared2 shared-policy.json 2 sim/gpu/golden.json "gpu.distinct: GPU 0 and GPU 1 are one device" shared/gpu
refused shared8 shared-policy.json 8 sim/gpu/golden.json "gpu.distinct: GPU 0 and GPU 1 are one device" shared/gpu
# --- refused: a GPU whose driver reports CC off, or developer tools (unless the policy allows them)
refused cc-off trusting.json 8 sim/gpu/golden.json "policy.gpu.require_cc: GPU 1" gpu-off
refused devtools trusting.json 8 sim/gpu/golden.json "policy.gpu.allow_devtools: GPU 1" gpu-devtools
rm -f "$keys"/*
start_agent agent-devtools-ok.log gpu-devtools
attest devtools-ok.json host-devtools-ok 2 sim/gpu/golden.json
status=$?
wait "$agent_pid"; agent_pid=
[ "$status" -eq 0 ] && jq -e '.released and .confirmed and .claims.gpus[1].cc_mode == "devtools"
        and .claims.gpus[1].pci_address == "0000:e2:00.0"' host-devtools-ok.json > /dev/null && ok \
        || bad "devtools allowed: exit $status: $(jq -c '{error, reasons}' host-devtools-ok.json)"

# --- usage errors
echo '[{"index": 1}]' > broken-golden.json
"$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --gpus 1 --gpu-golden broken-golden.json --policy trusting.json \
        --key train-1 > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "a malformed golden list is a usage error"
"$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --gpus 1 --gpu-golden "$tmp/none" --policy trusting.json \
        --key train-1 > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "a missing golden list is a usage error"

# --- no key byte in any output or log
no_key_bytes datakey.bin *.log *.json *.err *.out && ok || bad "key material leaked into output"

check_finish
