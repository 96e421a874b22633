#!/bin/bash
# NVSwitches passed through with an 8-GPU board in protected-PCIe mode, end to end with the real
# programs: cvmctl sim init --gpus 8 --switches 4 makes a simulated HGX board (the GPUs in PPCIe
# mode naming the four switches, each switch with its own chain under the board's root),
# cvm-agent --simulate-gpus answers with GPU and NVSwitch evidence, cvmctl attest-guest --gpus 8
# --switches 4 verifies all twelve devices and releases a data key. All or nothing: one switch
# not locked, a switch of another board (another root), a switch whose PDI the GPUs do not name,
# a GPU naming another set of switches, and a switch missing release nothing, and the reason
# names the switch; under gpu.require_ocsp the switches' chains are checked by OCSP like the GPUs'
# (tests/helpers/nvidia-server): good answers pass, a revoked switch certificate refuses the
# board, and `cvmctl collateral fetch gpu --switch-chain` lets an offline host accept it; no key
# byte appears in any output or log.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
guest_test_init exchange-switch

export CVM_CACHE_DIR=$tmp/cache
"$CVMCTL" sim init sim --gpus 8 --switches 4 --cache "$CVM_CACHE_DIR" --json > sim.json 2> sim.err && ok \
        || bad "sim init: $(cat sim.err)"
"$CVMCTL" sim init other --gpus 1 --switches 4 --json > other.json 2> other.err && ok || bad "sim init other: $(cat other.err)"
ark=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
gpu_root=$(jq -r '.gpu_trusted_simulator_roots[0].spki_sha256' sim.json)
[ "$(jq -r .switches sim.json)" = 4 ] && [ "$(grep -c 'BEGIN CERTIFICATE' sim/gpu/switch3/chain.pem)" = 5 ] \
        && [ "$(stat -c %a sim/gpu/switch0/leaf-key.pem)" = 600 ] && [ "$(wc -l < sim/gpu/gpu0/switch-pdis)" = 18 ] \
        && [ "$(cat sim/gpu/switch2/lock-status)" = 1 ] && ok || bad "sim/gpu: $(ls -lR sim/gpu | head -40)"
openssl x509 -in sim/gpu/switch0/chain.pem -noout -subject | grep -q 'LS_10 A01 FSP FMC LF.*cvmd Simulated NVIDIA' && ok \
        || bad "switch leaf subject"
# the switches are issued under the GPUs' root
[ "$(awk '/BEGIN/{n++} n==5' sim/gpu/switch0/chain.pem | sha256sum)" = "$(awk '/BEGIN/{n++} n==5' sim/gpu/gpu0/chain.pem | sha256sum)" ] \
        && ok || bad "switch and GPU roots differ"
"$CVMCTL" sim init bad --switches 9 > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--switches 9 is a usage error"

# faulty boards, each a copy of the good one with one thing changed (the sim files are plain text)
cp -r sim/gpu unlocked && echo 0 > unlocked/switch3/lock-status
cp -r sim/gpu stranger && rm -r stranger/switch2 && cp -r other/gpu/switch2 stranger/switch2
cp -r sim/gpu unnamed && echo 0123456789abcdef > unnamed/switch1/pdi
cp -r sim/gpu gpu-other && sed -i '1s/.*/0123456789abcdef/' gpu-other/gpu3/switch-pdis
cp -r sim/gpu missing && rm -r missing/switch3

head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > datakey.bin
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid train-1 --keys-dir wrapped < datakey.bin > wrap.out 2> wrap.err \
        && ok || bad "key wrap: $(cat wrap.err)"
snp='"snp": {"trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "'$ark'"}]}'
printf '{"name": "hgx", %s, "gpu": {"gpu_count": 8, "require_ocsp": false, "trusted_simulator_roots": [{"spki_sha256": "%s"}]}}\n' \
        "$snp" "$gpu_root" > policy.json
uuid=2a7d1c3e-5b6f-4a81-9c02-7e4d3b2a1f90
new_releaser_key releaser.key
host_data=$(bound_digest "$(zero_spec)" "$(releaser_pub releaser.key)")

start_agent() { # log gpu-dir
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate snp --sim-dir sim/snp --simulate-gpus "$2" \
                --keys-dir "$keys" --vm-uuid "$uuid" --timeout 10 --sim-host-data "${host_data:0:64}" 2> "$1" &
        agent_pid=$!
        wait_for_socket agent.sock
}

attest() { # out switches [attest-guest options...]
        local out=$1 n=$2
        shift 2
        "$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --tee snp --gpus 8 --switches "$n" \
                --gpu-golden sim/gpu/golden.json --policy policy.json --key train-1 --keys-dir wrapped \
                --vm-uuid "$uuid" --releaser-key releaser.key --json "$@" > "$out.json" 2> "$out.err"
}

# --- accepted: 8 GPUs and 4 NVSwitches, every one attested; the key arrives byte for byte
start_agent agent-ok.log sim/gpu
attest host-ok 4
status=$?
wait "$agent_pid"; agent_pid=
[ "$status" -eq 0 ] && ok || bad "accepted exchange: exit $status: $(cat host-ok.err) $(jq -c '{error, reasons}' host-ok.json)"
jq -e '.authentic and .accepted and .released and .confirmed and (.claims.nvswitches | length == 4)
       and ([.claims.nvswitches[] | select(.authentic and .lock_status == 1)] | length == 4)
       and ([.checks[] | select((.name | test("^nvswitch[0-3]\\.nonce$")) and .result == "pass")] | length == 4)
       and ([.checks[] | select(.name == "nvswitch.topology" and .result == "pass")] | length == 1)
       and ([.checks[] | select(.name == "board.ppcie" and .result == "pass")] | length == 1)' \
        host-ok.json > /dev/null && ok || bad "host verdict: $(jq -c '{authentic, accepted, released, error, reasons}' host-ok.json)"
cmp -s "$keys/train-1" datakey.bin && ok || bad "the guest's key differs from the original"

refused() { # name gpu-dir switches needle [attest-guest options...]
        rm -f "$keys"/*
        start_agent "agent-$1.log" "$2"
        attest "host-$1" "$3" "${@:5}"
        local status=$?
        # an agent that could not make its evidence waits for a host that decides: the host is done
        kill "$agent_pid" 2>/dev/null; wait "$agent_pid"; agent_pid=
        [ "$status" -eq 1 ] && ok || bad "$1: exit $status"
        jq -e --arg n "$4" '(.released | not) and (.token == null) and ((.error | contains($n)) or ([.reasons[] | contains($n)] | any))' \
                "host-$1.json" > /dev/null && ok || bad "$1: $(jq -c '{released, error, reasons}' "host-$1.json")"
        [ -z "$(ls -A "$keys")" ] && ok || bad "$1: a key was installed after a refusal"
}

# --- refused, the whole board, the reason naming the switch
refused unlocked unlocked 4 "nvswitch3.locked: LOCK_SWITCH_STATUS is 0"
refused stranger stranger 4 "nvswitch2.chain"
refused unnamed unnamed 4 "is not one of the NVSwitches the GPUs are linked to"
refused gpu-other gpu-other 4 "nvswitch.topology: GPU 3 names other NVSwitches than GPU 0"
refused missing missing 4 "NVSwitch 3"
# --- refused: the GPUs are in protected-PCIe mode and no NVSwitch is attested
refused not-asked sim/gpu 0 "nvswitch: GPU 0 is in protected-PCIe mode"

"$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --gpus 8 --switches 9 --policy policy.json \
        --key train-1 > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--switches 9 is a usage error"

# --- OCSP over the switches' chains as over the GPUs' (gpu.require_ocsp): every certificate good
# passes, checks nvswitch<i>.ocsp; a revoked BROM certificate (issued by the switches' provisioner
# CA) refuses the whole board, naming each switch
sed -i 's/"require_ocsp": false/"require_ocsp": true/' policy.json
nvidia_server() { # nvidia-server options...: (re)started, its URL in $url
        [ -n "${server_pid:-}" ] && kill "$server_pid" && wait "$server_pid" 2>/dev/null
        start_port_server nvidia "$(dirname "$CVMCTL")/tests/nvidia-server" --rim-dir sim/gpu/rim \
                --responders sim/gpu/ocsp "$@"
        url=http://127.0.0.1:$port
}
nvidia_server --status good
# each case its own copy of the cache: the simulator's AMD CRL, no OCSP answer yet
for c in c-good c-revoked c-fetched; do cp -r "$CVM_CACHE_DIR" "$c"; done
rm -f "$keys"/*
start_agent agent-ocsp.log sim/gpu
attest host-ocsp 4 --cache c-good --nvidia-ocsp-url "$url/ocsp" --nvidia-rim-url "$url"
status=$?
wait "$agent_pid"; agent_pid=
[ "$status" -eq 0 ] && ok || bad "OCSP good: exit $status: $(cat host-ocsp.err) $(jq -c '{error, reasons}' host-ocsp.json)"
jq -e '([.checks[] | select((.name | test("^nvswitch[0-3]\\.ocsp$")) and .result == "pass")] | length == 4)
       and ([.checks[] | select((.name | test("^gpu[0-7]\\.ocsp$")) and .result == "pass")] | length == 8)' \
        host-ocsp.json > /dev/null && ok || bad "OCSP checks: $(jq -c '[.checks[] | select(.name | test("ocsp"))]' host-ocsp.json)"
nvidia_server --status good --revoke-under switch-provisioner
refused switch-revoked sim/gpu 4 "nvswitch0.ocsp: certificate 1 (LS_10 A01 FSP BROM) is revoked according to OCSP" \
        --cache c-revoked --nvidia-ocsp-url "$url/ocsp" --nvidia-rim-url "$url"
jq -e '[.checks[] | select(.result == "fail") | .name] == ["nvswitch0.ocsp", "nvswitch1.ocsp", "nvswitch2.ocsp", "nvswitch3.ocsp"]' \
        host-switch-revoked.json > /dev/null && ok \
        || bad "switch revoked: not exactly the switches failed: $(jq -c '[.checks[] | select(.result == "fail")]' host-switch-revoked.json)"

# --- an offline host: cvmctl collateral fetch gpu --switch-chain fills the cache with the switches'
# OCSP answers beside the GPUs', and the board is then accepted without a responder
nvidia_server --status good
"$(dirname "$CVMCTL")/tests/make-evidence" snp sim/snp sim/gpu 8 > ev.json 2> ev.err || bad "make-evidence: $(cat ev.err)"
fetch_args=()
for i in $(seq 0 7); do
        jq -r ".evidence.gpu_reports[$i]" ev.json | base64 -d > "report$i.bin"
        jq -r ".evidence.gpu_chains[$i]" ev.json | base64 -d > "chain$i.pem"
        fetch_args+=("report$i.bin" --chain "chain$i.pem")
done
for i in 0 1 2 3; do fetch_args+=(--switch-chain "sim/gpu/switch$i/chain.pem"); done
"$CVMCTL" collateral fetch gpu "${fetch_args[@]}" --cache c-fetched --rim-url "$url" --ocsp-url "$url/ocsp" --json \
        > fetch.json 2> fetch.err && jq -e '.failed == 0 and ([.items[] | select(.kind == "ocsp"
        and (.name | startswith("LS_10")) and .result == "good")] | length == 4)' fetch.json > /dev/null && ok \
        || bad "fetch gpu --switch-chain: $(cat fetch.err) $(jq -c '[.items[] | select(.kind == "ocsp")]' fetch.json)"
kill "$server_pid"; wait "$server_pid" 2>/dev/null
rm -f "$keys"/*
start_agent agent-offline.log sim/gpu
attest host-offline 4 --cache c-fetched --offline
status=$?
wait "$agent_pid"; agent_pid=
[ "$status" -eq 0 ] && jq -e '[.checks[] | select((.name | test("^nvswitch[0-3]\\.ocsp$")) and .result == "pass")] | length == 4' \
        host-offline.json > /dev/null && ok \
        || bad "offline after fetch --switch-chain: exit $status: $(jq -c '{error, reasons}' host-offline.json)"
cmp -s "$keys/train-1" datakey.bin && ok || bad "offline: the guest's key differs from the original"

no_key_bytes datakey.bin *.log *.json *.err *.out && ok || bad "key material leaked into output"

check_finish
