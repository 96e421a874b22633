#!/bin/bash
# cvmctl verify gpu end to end: every NVIDIA vector case through the command line (exit status,
# JSON verdict, fields), all eight protected-PCIe GPUs of one HGX board in one call, the policy's
# gpu section, RIMs fetched from a local RIM service (nvidia-server on 127.0.0.1) and the cache,
# OCSP refusing a responder the chain does not trust, and the usage and malformed-input paths.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
V=${CVM_VECTORS:-../shared/vectors}
CVMCTL="$BUILD/cvmctl"
SERVER="$BUILD/tests/nvidia-server"
CHECK_QUIET_OK=1
check_init cli-gpu

jqok() { # description jq-filter (on $tmp/out)
        if jq -e "$2" "$tmp/out" >/dev/null 2>&1; then ok; else bad "$1: $(jq -c '[.authentic, .measurements, .reasons]' "$tmp/out" 2>/dev/null | head -c 600)"; fi
}

# --- usage errors: exit 2
expect_exit 2 "missing report" "$CVMCTL" verify gpu
expect_exit 2 "chain count" "$CVMCTL" verify gpu a.bin b.bin --chain a.pem
expect_exit 2 "unknown option" "$CVMCTL" verify gpu a.bin --chain a.pem --frob
expect_exit 2 "unreadable report" "$CVMCTL" verify gpu /nonexistent/r.bin --chain /nonexistent/c.pem --offline
grep -q "/nonexistent/r.bin" "$tmp/err" && ok || bad "unreadable report not named"
: > "$tmp/empty.bin"
echo "not a certificate" > "$tmp/junk.pem"
expect_exit 2 "bad nonce" "$CVMCTL" verify gpu "$tmp/empty.bin" --chain "$tmp/junk.pem" --nonce 12zz
expect_exit 2 "golden with rim" "$CVMCTL" verify gpu "$tmp/empty.bin" --chain "$tmp/junk.pem" --golden x --rim y
echo '{"gpu": {"min_driver_verison": "550"}}' > "$tmp/typo.json"
expect_exit 2 "policy typo" "$CVMCTL" verify gpu "$tmp/empty.bin" --chain "$tmp/junk.pem" --policy "$tmp/typo.json"
grep -q "min_driver_verison" "$tmp/err" && ok || bad "policy typo not named"
expect_exit 0 "--help" "$CVMCTL" verify gpu --help
grep -q -- "--rim-dir" "$tmp/out" && ok || bad "help lacks --rim-dir"

# --- malformed evidence: exit 1 with reasons, never a crash
expect_exit 1 "empty report" "$CVMCTL" verify gpu "$tmp/empty.bin" --chain "$tmp/junk.pem" --offline --cache "$tmp/c" --json
jqok "empty report JSON" '.tee == "nvidia-gpu" and .authentic == false and .accepted == false and (.reasons | any(test("empty")))'
head -c 4000 /dev/urandom > "$tmp/rand.bin"
expect_exit 1 "random report" "$CVMCTL" verify gpu "$tmp/rand.bin" --chain "$tmp/junk.pem" --offline --cache "$tmp/c" --json
jqok "random report JSON" '.authentic == false and .measurements == "not-checked"'

if [ ! -d "$V/nvidia" ]; then
        echo "SKIP: no vectors at $V: the vector cases are skipped"
        check_finish
        exit
fi

# --- every vector case
informative=0
for dir in "$V"/nvidia/*/; do
        id=$(basename "$dir")
        [ "$id" = roots ] && continue
        at=$(jq -r .at "$dir/case.json")
        want=$(jq -r .expected.authentic "$dir/case.json")
        wantm=$(jq -r '.expected.measurements // "not-checked"' "$dir/case.json")
        scored=$(jq -r '.expected.scored // true' "$dir/case.json")
        rims=()
        [ -d "$dir/rims" ] && rims=(--rim-dir "$dir/rims")
        "$CVMCTL" verify gpu "$dir/report.bin" --chain "$dir/chain.pem" --nonce "$(cat "$dir/nonce.hex")" "${rims[@]}" \
                --at "$at" --offline --cache "$tmp/empty-cache" --json >"$tmp/out" 2>"$tmp/err"
        status=$?
        got=$(jq -r .authentic "$tmp/out" 2>/dev/null)
        gotm=$(jq -r .measurements "$tmp/out" 2>/dev/null)
        wantstatus=1; [ "$want" = true ] && [ "$wantm" = match ] && wantstatus=0
        fields_ok=false
        jq -e --slurpfile c "$dir/case.json" '. as $v | $c[0].expected.fields | to_entries |
                all((($v.claims.gpus[0][.key] // "") | ascii_downcase) == (.value | ascii_downcase))' "$tmp/out" >/dev/null 2>&1 \
                && fields_ok=true
        if [ "$scored" = false ]; then
                echo "informative (not scored): $id authentic=$got measurements=$gotm exit=$status"
                informative=$((informative + 1))
        elif [ "$got" = "$want" ] && [ "$gotm" = "$wantm" ] && [ "$status" -eq "$wantstatus" ] && $fields_ok; then
                ok
        else
                bad "$id: authentic=$got measurements=$gotm exit=$status fields=$fields_ok, expected $want/$wantm/$wantstatus $(jq -c .reasons "$tmp/out" 2>/dev/null | head -c 400)"
        fi
done

# --- the 8-GPU protected-PCIe board in one call, with a golden list made here from the reports
b="$V/nvidia/nvtrust_ppcie_h100_590.12_gpu"
reports=() chains=()
for i in 0 1 2 3 4 5 6 7; do reports+=("$b$i/report.bin"); chains+=(--chain "$b$i/chain.pem"); done
python3 - "${reports[@]}" > "$tmp/golden.json" <<'PY'
import json, sys
vals = {}
for f in sys.argv[1:]:
    d = open(f, "rb").read()
    l1 = d[42] | d[43] << 8 | d[44] << 16
    o, end = 45, 45 + l1
    while o < end:
        idx, size = d[o], d[o + 2] | d[o + 3] << 8
        vals.setdefault(idx - 1, set()).add(d[o + 7:o + 4 + size].hex())
        o += 4 + size
print(json.dumps([{"index": k, "values": sorted(v)} for k, v in sorted(vals.items()) if len(v) <= 16]))
PY
nonce=$(cat "${b}0/nonce.hex")
expect_exit 0 "8 GPUs" "$CVMCTL" verify gpu "${reports[@]}" "${chains[@]}" --nonce "$nonce" --golden "$tmp/golden.json" \
        --at 2026-01-01T00:00:00Z --offline --cache "$tmp/c" --json
jqok "8 GPUs JSON" '.authentic and .accepted and .measurements == "match" and .claims.gpu_count == 8 and
        (.claims.gpus | length == 8 and all(.authentic and .driver_version == "590.12" and .measurements == "match"))'
# one GPU with a neighbour's chain: the board is refused, naming that GPU
bad_chains=("${chains[@]}"); bad_chains[7]="${b}4/chain.pem"
expect_exit 1 "8 GPUs, one wrong chain" "$CVMCTL" verify gpu "${reports[@]}" "${bad_chains[@]}" --nonce "$nonce" \
        --golden "$tmp/golden.json" --at 2026-01-01T00:00:00Z --offline --cache "$tmp/c" --json
jqok "wrong chain named" '.authentic == false and (.reasons | any(startswith("gpu3."))) and (.claims.gpus[3].authentic == false) and (.claims.gpus[2].authentic)'
# a changed golden value: mismatch naming the index
jq '.[5].values = ["'"$(printf '%096d' 0)"'"]' "$tmp/golden.json" > "$tmp/golden-bad.json"
expect_exit 1 "golden mismatch" "$CVMCTL" verify gpu "${reports[@]}" "${chains[@]}" --nonce "$nonce" --golden "$tmp/golden-bad.json" \
        --at 2026-01-01T00:00:00Z --offline --cache "$tmp/c" --json
jqok "golden mismatch" '.authentic and .measurements == "mismatch" and (.claims.gpus[0].mismatching_indices | index(5) != null)'

# --- policy
echo '{"gpu": {"gpu_count": 4, "min_driver_version": "595.1", "require_ocsp": false}}' > "$tmp/p1.json"
expect_exit 1 "policy count and driver" "$CVMCTL" verify gpu "${reports[@]}" "${chains[@]}" --nonce "$nonce" --golden "$tmp/golden.json" \
        --at 2026-01-01T00:00:00Z --offline --cache "$tmp/c" --policy "$tmp/p1.json" --json
jqok "policy denials" '.authentic and .accepted == false and (.reasons | any(startswith("policy.gpu.gpu_count"))) and (.reasons | any(startswith("policy.gpu.min_driver_version")))'
echo '{"gpu": {"gpu_count": 8, "min_driver_version": "590.12", "min_vbios_version": "96.00.A5.00.01", "require_ocsp": false}}' > "$tmp/p2.json"
expect_exit 0 "policy satisfied" "$CVMCTL" verify gpu "${reports[@]}" "${chains[@]}" --nonce "$nonce" --golden "$tmp/golden.json" \
        --at 2026-01-01T00:00:00Z --offline --cache "$tmp/c" --policy "$tmp/p2.json"
expect_exit 1 "policy needs a nonce" "$CVMCTL" verify gpu "${reports[@]}" "${chains[@]}" --golden "$tmp/golden.json" \
        --at 2026-01-01T00:00:00Z --offline --cache "$tmp/c" --policy "$tmp/p2.json" --json
jqok "require_nonce" '.authentic and (.reasons | any(startswith("policy.gpu.require_nonce")))'
c="$V/nvidia/nvtrust_2023_h100_545.00"
echo '{"gpu": {"allowed_rim_ids": ["NV_GPU_DRIVER_GH100_545.00"], "require_ocsp": false}}' > "$tmp/p3.json"
expect_exit 1 "allowed RIM ids" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" --nonce "$(cat "$c/nonce.hex")" \
        --rim-dir "$c/rims" --at 2024-01-01T00:00:00Z --offline --cache "$tmp/c" --policy "$tmp/p3.json" --json
jqok "allowed RIM ids" '.measurements == "match" and (.reasons | any(test("policy.gpu.allowed_rim_ids: GPU 0.s VBIOS RIM NV_GPU_VBIOS")))'
echo '{"snp": {}}' > "$tmp/p4.json"
expect_exit 1 "policy without gpu section" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" \
        --rim-dir "$c/rims" --at 2024-01-01T00:00:00Z --offline --cache "$tmp/c" --policy "$tmp/p4.json" --json
jqok "no gpu section" '.reasons | any(startswith("policy.gpu: "))'
# RIMs are checked at the verification time: their signer expired in 2025
expect_exit 1 "expired RIM signer" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" --rim-dir "$c/rims" \
        --at 2025-08-01T00:00:00Z --offline --cache "$tmp/c" --json
jqok "expired RIM signer" '.authentic and .measurements == "not-checked" and (.reasons | any(test("rim.driver: .*has expired")))'
# a RIM whose bytes are not in its declared encoding: refused with cvmctl's reason, and libxml2
# prints nothing of its own on stderr
mkdir -p "$tmp/badenc"
cp "$c"/rims/NV_GPU_VBIOS_*.xml "$tmp/badenc/"
printf '<?xml version="1.0" encoding="EUC-JP"?>\n<a>\216\377\377</a>\n' > "$tmp/badenc/NV_GPU_DRIVER_GH100_545.00.xml"
expect_exit 1 "RIM in a broken encoding" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" --rim-dir "$tmp/badenc" \
        --at 2024-01-01T00:00:00Z --offline --cache "$tmp/c" --json
jqok "broken encoding named" '.measurements == "not-checked" and (.reasons | any(startswith("rim.load: ") and endswith("NV_GPU_DRIVER_GH100_545.00.xml: the RIM is not well-formed XML")))'
grep -q "encoding error\|I/O error" "$tmp/err" && bad "libxml2 wrote on stderr: $(head -2 "$tmp/err")" || ok

# --- RIM service and cache through a local server
mkdir -p "$tmp/rimsrv"
cp "$c"/rims/*.xml "$tmp/rimsrv/"
start_port_server nvidia "$SERVER" --rim-dir "$tmp/rimsrv" --log "$tmp/server.log"
url="http://127.0.0.1:$port"
expect_exit 0 "RIMs from the service" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" --nonce "$(cat "$c/nonce.hex")" \
        --rim-url "$url" --cache "$tmp/cache" --at 2024-01-01T00:00:00Z --json
jqok "fetched RIMs match" '.measurements == "match" and .claims.gpus[0].driver_rim == "NV_GPU_DRIVER_GH100_545.00"'
[ "$(grep -c '^GET /v1/rim/' "$tmp/server.log")" -eq 2 ] && ok || bad "expected 2 RIM fetches: $(cat "$tmp/server.log")"
[ -f "$tmp/cache/nvidia/rim/NV_GPU_DRIVER_GH100_545.00.xml" ] && ok || bad "fetched RIM not cached"
expect_exit 0 "RIMs from the cache, offline" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" --nonce "$(cat "$c/nonce.hex")" \
        --rim-url "$url" --cache "$tmp/cache" --at 2024-01-01T00:00:00Z --offline
[ "$(grep -c '^GET /v1/rim/' "$tmp/server.log")" -eq 2 ] && ok || bad "offline run contacted the service"
d="$V/nvidia/nvtrust_2025_h100_550.90.07"
expect_exit 1 "RIM not on the service" "$CVMCTL" verify gpu "$d/report.bin" --chain "$d/chain.pem" --rim-url "$url" \
        --cache "$tmp/cache" --at 2026-01-01T00:00:00Z --json
jqok "RIM 404 named" '.authentic and .measurements == "not-checked" and (.reasons | any(test("404")))'

# --- OCSP: a responder the chain does not trust is refused; offline with nothing cached fails closed
expect_exit 1 "untrusted OCSP responder" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" --rim-dir "$c/rims" \
        --ocsp --ocsp-url "$url/ocsp" --cache "$tmp/cache" --at 2024-01-01T00:00:00Z --json
jqok "OCSP refused" '.authentic and (.reasons | any(test("gpu0.ocsp: .*neither the issuer")))'
grep -q '^POST /ocsp 200' "$tmp/server.log" && ok || bad "no OCSP request reached the server"
expect_exit 1 "OCSP offline, nothing cached" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" --rim-dir "$c/rims" \
        --ocsp --offline --cache "$tmp/empty-cache" --at 2024-01-01T00:00:00Z --json
jqok "OCSP offline" '.reasons | any(test("gpu0.ocsp: .*no usable OCSP response"))'
echo '{"gpu": {"require_ocsp": true}}' > "$tmp/p5.json"
expect_exit 1 "policy requires OCSP" "$CVMCTL" verify gpu "$c/report.bin" --chain "$c/chain.pem" --rim-dir "$c/rims" \
        --offline --cache "$tmp/empty-cache" --at 2024-01-01T00:00:00Z --policy "$tmp/p5.json" --nonce "$(cat "$c/nonce.hex")" --json
jqok "require_ocsp" '.reasons | any(startswith("policy.gpu.require_ocsp"))'

[ "$informative" -gt 0 ] && echo "$informative informative case(s) not counted"
check_finish
