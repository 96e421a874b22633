#!/bin/bash
# make demo: the main job that exists today, shown on real evidence from real hardware.
# cvmctl verifies SEV-SNP attestation reports from ../shared/vectors offline, each at the time
# its certificates were valid: accepted reports, a tampered one, and a debug guest that an
# otherwise authentic report cannot hide from the policy.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
V=${CVM_VECTORS:-$(cd .. && pwd)/shared/vectors}
CVMCTL="$BUILD/cvmctl"
if [ ! -d "$V/snp" ]; then
        echo "demo: no vectors at $V (set CVM_VECTORS to the shared/vectors folder)" >&2
        exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

at() { jq -r .at "$V/snp/$1/case.json"; }
banner() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }
show() { # title case extra-args...
        local title=$1 case=$2
        shift 2
        local cmd=("$CVMCTL" verify snp "$V/snp/$case/report.bin" --at "$(at "$case")" --offline --cache "$tmp/cache" "$@")
        banner "$title" "cvmctl verify snp snp/$case/report.bin --at $(at "$case") $*"
        "${cmd[@]}"
        echo "(exit status $?)"
}

cat <<'EOF2'
cvmd demo: attestation-gated trust starts with verifying the evidence.
Every report below comes from a real AMD EPYC machine; the AMD roots are pinned in cvmctl.
EOF2

show "Genoa, report v5: accepted" oak-genoa-v5 --certs "$V/snp/oak-genoa-v5/certs"
c=oak-turin-v5
banner "Turin: its own TCB layout, fmcSPL and 8-byte hwID (JSON, abridged with jq)" \
        "cvmctl verify snp snp/$c/report.bin --at $(at $c) --certs snp/$c/certs --json | jq ..."
"$CVMCTL" verify snp "$V/snp/$c/report.bin" --at "$(at $c)" --certs "$V/snp/$c/certs" --offline --cache "$tmp/cache" \
        --json | jq '{tee, authentic, accepted, reasons, claims: {product: .claims.product, version: .claims.version,
                     reported_tcb: .claims.reported_tcb, chip_id: .claims.chip_id, platform_info: .claims.platform_info}}'
echo "(exit status ${PIPESTATUS[0]})"
show "AWS VLEK-signed Milan report (the VLEK expired since; verified at a time it was valid)" \
        trustee-milan-vlek-v3 --certs "$V/snp/trustee-milan-vlek-v3/certs"
show "Extended report: certificates only in the guest's GHCB certificate table" \
        veraison-tsm-genoa-v3-ext --cert-table "$V/snp/veraison-tsm-genoa-v3-ext/certs/cert_table.bin"
show "Tampered: one byte of REPORTED_TCB changed: rejected" NEG-trustee-byte384 \
        --certs "$V/snp/NEG-trustee-byte384/certs"

cat > "$tmp/no-debug.json" <<'EOF2'
{ "name": "production", "snp": { "allow_debug": false, "min_report_version": 2 } }
EOF2
show "Authentic, but a debug guest: the production policy rejects it" gsg-milan-v2 \
        --certs "$V/snp/gsg-milan-v2/certs" --policy "$tmp/no-debug.json"

banner "Malformed evidence: a truncated report" "cvmctl verify snp truncated.bin"
head -c 1000 "$V/snp/oak-genoa-v5/report.bin" > "$tmp/truncated.bin"
"$CVMCTL" verify snp "$tmp/truncated.bin" --offline --cache "$tmp/cache" --json | jq -c '{authentic, accepted, reasons}'
echo "(exit status ${PIPESTATUS[0]})"

banner "Usage error" "cvmctl verify snp /nonexistent"
"$CVMCTL" verify snp /nonexistent
echo "(exit status $?)"
exit 0
