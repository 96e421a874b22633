#!/bin/bash
# RIMs and OCSP in the exchange, end to end with the real programs: cvmctl sim init signs the
# simulated board's driver and VBIOS RIMs under a simulated RIM root and writes OCSP responder
# certificates for the device and RIM chains; tests/helpers/nvidia-server serves them as NVIDIA's
# RIM service and OCSP responder would; cvmctl attest-guest (no golden list) fetches the RIMs and
# OCSP answers into its collateral cache, checks the GPUs' measurements against the RIMs and the
# chains against OCSP, and releases a key. Refused: RIMs signed under a root the policy does not
# trust, a RIM whose measurement the GPUs do not report, and an OCSP "revoked"; offline with an
# empty cache, the RIMs cannot be had. A golden list still overrides the RIMs.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
SERVER=$PWD/$BUILD/tests/nvidia-server
guest_test_init exchange-gpu-rim
server_pid=

export CVM_CACHE_DIR=$tmp/cache
"$CVMCTL" sim init sim --gpus 2 --cache "$CVM_CACHE_DIR" --json > sim.json 2> sim.err && ok || bad "sim init: $(cat sim.err)"
ark=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
gpu_root=$(jq -r '.gpu_trusted_simulator_roots[0].spki_sha256' sim.json)
rim_root=$(jq -r '.gpu_trusted_simulator_rim_roots[0].spki_sha256' sim.json)
[ ${#rim_root} -eq 64 ] && [ "$(ls sim/gpu/rim | wc -l)" = 2 ] && [ "$(ls sim/gpu/ocsp | wc -l)" = 4 ] \
        && [ "$(stat -c %a sim/gpu/ocsp/root.pem)" = 600 ] && ok || bad "sim init RIMs: $(ls -lR sim/gpu)"
ls sim/gpu/rim | grep -q '^NV_GPU_DRIVER_GH100_550.90.07.xml$' && ls sim/gpu/rim | grep -q '^NV_GPU_VBIOS_' && ok \
        || bad "RIM names: $(ls sim/gpu/rim)"
# the mismatching RIMs differ from the good ones only in one measurement, and carry a signature
grep -q '<ds:SignatureValue>\|<SignatureValue>' sim/gpu/rim/NV_GPU_DRIVER_GH100_550.90.07.xml && ok || bad "RIM not signed"
cmp -s sim/gpu/rim/NV_GPU_DRIVER_GH100_550.90.07.xml sim/gpu/rim-mismatch/NV_GPU_DRIVER_GH100_550.90.07.xml \
        && bad "the mismatching RIM is the good one" || ok

head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > datakey.bin
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid train-1 --keys-dir wrapped < datakey.bin > wrap.out 2> wrap.err \
        && ok || bad "key wrap: $(cat wrap.err)"
snp='"snp": {"trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "'$ark'"}]}'
policy() { # file rim-root
        printf '{"name": "rim", %s, "gpu": {"gpu_count": 2, "require_ocsp": true, "trusted_simulator_roots": [{"spki_sha256": "%s"}], "trusted_simulator_rim_roots": [{"spki_sha256": "%s"}]}}\n' \
                "$snp" "$gpu_root" "$2" > "$1"
}
policy trusting.json "$rim_root"
policy untrusting.json "$(printf 'ab%.0s' $(seq 32))"
uuid=2a7d1c3e-5b6f-4a81-9c02-7e4d3b2a1f90
new_releaser_key releaser.key
host_data=$(bound_digest "$(zero_spec)" "$(releaser_pub releaser.key)")

start_server() { # rim-dir status
        [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
        start_port_server nvidia "$SERVER" --rim-dir "$1" --status "$2" --responders sim/gpu/ocsp --log server.log
        url=http://127.0.0.1:$port
}

start_agent() { # log
        rm -f agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate snp --sim-dir sim/snp --simulate-gpus sim/gpu \
                --keys-dir "$keys" --vm-uuid "$uuid" --timeout 10 --sim-host-data "${host_data:0:64}" 2> "$1" &
        agent_pid=$!
        wait_for_socket agent.sock
}

attest() { # name policy cache [more options]
        local name=$1 pol=$2 cache=$3
        shift 3
        rm -f "$keys"/*
        start_agent "agent-$name.log"
        "$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --tee snp --gpus 2 --policy "$pol" --key train-1 \
                --keys-dir wrapped --vm-uuid "$uuid" --releaser-key releaser.key --cache "$cache" \
                --nvidia-rim-url "$url" --nvidia-ocsp-url "$url/ocsp" --json "$@" > "host-$name.json" 2> "host-$name.err"
        status=$?
        wait "$agent_pid"; agent_pid=
}

fresh_cache() { rm -rf "$1" && cp -r "$CVM_CACHE_DIR" "$1"; }

refused() { # name needle
        [ "$status" -eq 1 ] && ok || bad "$1: exit $status: $(cat "host-$1.err")"
        jq -e --arg n "$2" '(.released | not) and ((.error // "" | contains($n)) or ([.reasons[]? | contains($n)] | any))' \
                "host-$1.json" > /dev/null && ok || bad "$1: $(jq -c '{released, error, reasons}' "host-$1.json")"
        [ -z "$(ls -A "$keys")" ] && ok || bad "$1: a key was installed after a refusal"
}

# --- accepted: measurements match the RIMs, OCSP good for every device and RIM certificate
start_server sim/gpu/rim good
fresh_cache c-ok
attest ok trusting.json c-ok
[ "$status" -eq 0 ] && ok || bad "RIM exchange: exit $status: $(cat host-ok.err) $(jq -c '{error, reasons}' host-ok.json)"
jq -e '.released and .confirmed
       and ([.claims.gpus[] | select(.authentic and .measurements == "match")] | length == 2)
       and ([.checks[] | select((.name | test("^gpu[01]\\.ocsp$")) and .result == "pass")] | length == 2)
       and ([.checks[] | select((.name | test("^rim\\..*\\.ocsp$")) and .result == "pass")] | length == 2)' \
        host-ok.json > /dev/null && ok || bad "RIM verdict: $(jq -c '[.checks[] | select(.result != "pass")]' host-ok.json)"
cmp -s "$keys/train-1" datakey.bin && ok || bad "the guest's key differs from the original"
[ -f c-ok/nvidia/rim/NV_GPU_DRIVER_GH100_550.90.07.xml ] && [ -n "$(ls c-ok/nvidia/ocsp)" ] && ok \
        || bad "RIMs and OCSP answers not cached: $(ls -R c-ok/nvidia 2>&1)"

# --- the same cache offline: no request reaches the server
: > server.log
attest offline-ok trusting.json c-ok --offline
[ "$status" -eq 0 ] && [ ! -s server.log ] && ok || bad "offline from the cache: exit $status: $(cat host-offline-ok.err) $(cat server.log)"

# --- refused: offline with no RIMs in the cache
fresh_cache c-empty
attest offline-empty trusting.json c-empty --offline
refused offline-empty "rim.fetch"

# --- refused: RIMs signed under a root the policy does not trust
fresh_cache c-root
attest root untrusting.json c-root
refused root "signer chain: the root's public key"

# --- refused: a validly signed RIM with a measurement the GPUs do not report
start_server sim/gpu/rim-mismatch good
fresh_cache c-mismatch
attest mismatch trusting.json c-mismatch
refused mismatch "gpu0.measurements"

# --- refused: OCSP says revoked
start_server sim/gpu/rim revoked
fresh_cache c-revoked
attest revoked trusting.json c-revoked
refused revoked "revoked according to OCSP"

# --- a golden list overrides the RIMs (the server serves mismatching RIMs: never asked)
start_server sim/gpu/rim-mismatch good
fresh_cache c-golden
attest golden trusting.json c-golden --gpu-golden sim/gpu/golden.json
[ "$status" -eq 0 ] && [ ! -e c-golden/nvidia/rim ] && ok \
        || bad "golden override: exit $status: $(jq -c '{error, reasons}' host-golden.json)"

# --- usage error
"$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --gpus 1 --policy trusting.json --key train-1 \
        --nvidia-rim-url ftp://x > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--nvidia-rim-url ftp:// is a usage error"

no_key_bytes datakey.bin *.log *.json *.err && ok || bad "key material leaked into output"

check_finish
