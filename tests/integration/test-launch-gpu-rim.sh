#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# GPU RIMs and OCSP in the launch's appraisal, through the host's collateral provider
# (include/cvm/collateral.h): `cvmctl launch` (the engine on libvirt's test:///default) of a
# spec with 2 GPUs, a simulated guest agent (cvm-agent --simulate snp --simulate-gpus) serving
# ONE exchange (--once), and tests/helpers/nvidia-server as NVIDIA's RIM service and OCSP
# responder for what `cvmctl sim init` signed. The policy leaves gpu.require_ocsp at its default
# (true) and has no golden list:
#   - online, empty GPU cache: the RIMs and OCSP answers are fetched off the loop while the
#     exchange holds the evidence, and the guest gets its key in that one exchange;
#   - the same cache offline: accepted, and the server is never asked;
#   - offline with no GPU collateral cached: refused, naming the RIM and "offline";
#   - `cvmctl collateral fetch gpu` (reports and chains the real agent code made) fills an empty
#     cache, `collateral list` shows the RIMs and OCSP answers, then offline: accepted;
#   - RIMs signed under a root the policy does not trust: refused;
#   - OCSP "revoked": refused.
# Never contacts anything but 127.0.0.1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
SERVER=$PWD/$BUILD/tests/nvidia-server EVIDENCE=$PWD/$BUILD/tests/make-evidence
require_programs "$CVMCTL" "$AGENT" "$SERVER" "$EVIDENCE"
guest_test_init launch-gpu-rim
server_pid=
unset CVM_CACHE_DIR

# --- the simulated platform and board; the SEV-SNP collateral in the base cache, as a host has it
"$CVMCTL" sim init sim --gpus 2 --cache "$tmp/base" --json > sim.json 2> sim.err && ok || bad "sim init: $(cat sim.err)"
ark=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
gpu_root=$(jq -r '.gpu_trusted_simulator_roots[0].spki_sha256' sim.json)
rim_root=$(jq -r '.gpu_trusted_simulator_rim_roots[0].spki_sha256' sim.json)
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > data.key
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid k1 --keys-dir wrapped < data.key > /dev/null || bad "key wrap"
echo '{"name":"job","tee":"none","vcpus":2,"memory_mib":1024,"gpus":["0000:41:00.0","0000:42:00.0"],"boot":{"disk":"/img.qcow2"},"policy":"p","key_ids":["k1"]}' > spec.json
policy() { # file rim-root: no golden list, gpu.require_ocsp left at its default
        printf '{"name": "p", "allow_development": true, "snp": {"trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "%s"}]}, "gpu": {"gpu_count": 2, "trusted_simulator_roots": [{"spki_sha256": "%s"}], "trusted_simulator_rim_roots": [{"spki_sha256": "%s"}]}}\n' \
                "$ark" "$gpu_root" "$2" > "$1"
}
policy trusting.json "$rim_root"
policy untrusting.json "$(printf 'ab%.0s' $(seq 32))"
write_test_host
gpus=(--gpu 0000:41:00.0@0 --gpu 0000:42:00.0@0)
new_releaser_key releaser.key
spec_digest=$("$CVMCTL" render spec.json --host-caps caps.xml --domcaps domcaps.xml --domain-type test "${gpus[@]}" --json |
        jq -r .spec_digest)
host_data=$(bound_digest "$spec_digest" "$(releaser_pub releaser.key)")

start_server() { # rim-dir status
        [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
        start_port_server nvidia "$SERVER" --rim-dir "$1" --status "$2" --responders sim/gpu/ocsp --log server.log
        url=http://127.0.0.1:$port
}

# cvmctl launch against a fresh agent that serves one exchange: a refetch by a second exchange
# would find no agent, so an accepted launch proves the exchange waited for the collateral
launch() { # name policy cache [options...]
        local name=$1 policy=$2 cache=$3
        shift 3
        mkdir -p "$keys/$name" && rm -f "$name.sock"
        "$AGENT" --listen "unix:$tmp/$name.sock" --once --simulate snp --sim-dir sim/snp --simulate-gpus sim/gpu \
                --keys-dir "$keys/$name" --timeout 20 --sim-host-data "${host_data:0:64}" 2> "$name.agent.log" &
        agent_pid=$!
        wait_for_socket "$name.sock"
        "$CVMCTL" launch spec.json --connect test:///default --host-caps caps.xml --domcaps domcaps.xml --domain-type test \
                "${gpus[@]}" --policy "$policy" --keys-dir wrapped --channel "unix:$tmp/$name.sock" --boot-timeout 20 \
                --releaser-key releaser.key --cache "$cache" --nvidia-rim-url "$url" --nvidia-ocsp-url "$url/ocsp" \
                --json "$@" > "$name.json" 2> "$name.err"
        status=$?
        stop_agent 20
}
released() { # name: running with its key, byte for byte
        [ "$status" -eq 0 ] && jq -e '.running and .released and .confirmed' "$1.json" > /dev/null &&
                cmp -s "$keys/$1/k1" data.key
}
refused() { # name regex: refused, no key, the error or a reason matches
        [ "$status" -eq 1 ] && jq -e --arg n "$2" '(.running | not) and (.released | not)
                and ((.error // "" | test($n)) or any(.reasons[]?; test($n)))' "$1.json" > /dev/null &&
                [ -z "$(ls -A "$keys/$1")" ]
}
fresh_cache() { rm -rf "$1" && cp -r base "$1"; }
rim_checks_pass() { # name: measurements match the RIMs; device and RIM chains good by OCSP
        jq -e '([.claims.gpus[] | select(.authentic and .measurements == "match")] | length == 2)
               and ([.checks[] | select((.name | test("^gpu[01]\\.ocsp$")) and .result == "pass")] | length == 2)
               and ([.checks[] | select((.name | test("^rim\\..*\\.ocsp$")) and .result == "pass")] | length == 2)' \
                "$1.json" > /dev/null
}

start_server sim/gpu/rim good

# --- online, nothing GPU cached: fetched while the one exchange waits
fresh_cache c-ok
launch ok trusting.json c-ok
released ok && rim_checks_pass ok && ok \
        || bad "online: exit $status: $(cat ok.err) $(jq -c '{phase, error, reasons}' ok.json)"
[ -f c-ok/nvidia/rim/NV_GPU_DRIVER_GH100_550.90.07.xml ] && [ -n "$(ls c-ok/nvidia/ocsp 2>/dev/null)" ] && ok \
        || bad "RIMs and OCSP answers not cached: $(find c-ok -path '*nvidia*' 2>&1)"
[ "$(grep -c '^GET /v1/rim/' server.log)" -eq 2 ] && ok || bad "each RIM fetched once: $(cat server.log)"
[ -n "$(ls c-ok/locks/ | grep '^nvidia_')" ] && ok || bad "no lock files for the GPU items: $(ls c-ok/locks)"

# --- the same cache offline: accepted without a request
: > server.log
launch offline-ok trusting.json c-ok --offline
released offline-ok && [ ! -s server.log ] && ok \
        || bad "offline from the cache: exit $status: $(jq -c '{error, reasons}' offline-ok.json) $(cat server.log)"

# --- offline with no GPU collateral: refused, and the reason says why
fresh_cache c-empty
launch offline-empty trusting.json c-empty --offline
refused offline-empty 'rim.fetch.*not in the cache.*offline' && [ ! -s server.log ] && ok \
        || bad "offline, empty cache: exit $status: $(jq -c '{error, reasons}' offline-empty.json)"

# --- cvmctl collateral fetch gpu: the board's RIMs and OCSP answers, from reports and chains the
# real agent code made; then listed, and an offline launch is accepted
"$EVIDENCE" snp sim/snp sim/gpu 2 > ev.json 2> ev.err || bad "make-evidence: $(cat ev.err)"
for i in 0 1; do
        jq -r ".evidence.gpu_reports[$i]" ev.json | base64 -d > "report$i.bin"
        jq -r ".evidence.gpu_chains[$i]" ev.json | base64 -d > "chain$i.pem"
done
fresh_cache c-fetched
"$CVMCTL" collateral fetch gpu report0.bin report1.bin --chain chain0.pem --chain chain1.pem --cache c-fetched \
        --rim-url "$url" --ocsp-url "$url/ocsp" --json > fetch.json 2> fetch.err && ok || bad "fetch gpu: $(cat fetch.err)"
jq -e '.tee == "gpu" and .failed == 0 and ([.items[] | select(.kind == "rim")] | length == 2)
       and ([.items[] | select(.kind == "ocsp" and .result == "good")] | length >= 4)' fetch.json > /dev/null && ok \
        || bad "fetch gpu: $(cat fetch.json)"
"$CVMCTL" collateral list --cache c-fetched --json > list.json 2> list.err && ok || bad "list: $(cat list.err)"
jq -e '([.collateral[] | select(.tee == "gpu" and .kind == "rim" and .state == "fresh")] | map(.detail) | sort)
         == ["NV_GPU_DRIVER_GH100_550.90.07", "NV_GPU_VBIOS_G520_0200_882_96009F0001"]
       and ([.collateral[] | select(.tee == "gpu" and .kind == "ocsp")] | length >= 4
            and all(.detail | test("^serial [0-9a-f]+ good$")) and all(.valid_until != null))' list.json > /dev/null && ok \
        || bad "list: $(jq -c '[.collateral[] | select(.tee == "gpu")]' list.json)"
: > server.log
launch fetched trusting.json c-fetched --offline
released fetched && rim_checks_pass fetched && [ ! -s server.log ] && ok \
        || bad "offline after fetch gpu: exit $status: $(jq -c '{error, reasons}' fetched.json)"

# --- RIMs signed under a root the policy does not trust
fresh_cache c-root
launch root untrusting.json c-root
refused root 'signer chain' && ok || bad "untrusted RIM root: exit $status: $(jq -c '{error, reasons}' root.json)"

# --- the responder says revoked
start_server sim/gpu/rim revoked
fresh_cache c-revoked
launch revoked trusting.json c-revoked
refused revoked 'revoked according to OCSP' && ok \
        || bad "OCSP revoked: exit $status: $(jq -c '{error, reasons}' revoked.json)"

# --- usage
"$CVMCTL" collateral fetch gpu report0.bin > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "fetch gpu without --chain"
"$CVMCTL" collateral fetch snp report0.bin --chain chain0.pem > /dev/null 2>&1; [ $? -eq 2 ] && ok \
        || bad "fetch snp --chain"

no_key_bytes data.key ./*.json ./*.err ./*.log && ok || bad "key material leaked into output"
check_finish
