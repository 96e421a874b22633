#!/bin/bash
# Regenerates the seed corpus of fuzz-evidence-request: requests made by the real agent code from
# the simulators (tests/helpers/make-evidence), and one broken variant per class of error. Run
# from the repository root after a build (BUILD, default build).
set -euo pipefail
BUILD=${BUILD:-build}
d=tests/fuzz/corpus/evidence-request
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$d"
rm -f "$d"/*
"$BUILD/cvmctl" sim init "$tmp/sim" --gpus 2 --json > /dev/null 2>&1
"$BUILD/tests/make-evidence" snp "$tmp/sim/snp" > "$d/valid-snp"
"$BUILD/tests/make-evidence" tdx "$tmp/sim/tdx" > "$d/valid-tdx"
"$BUILD/tests/make-evidence" snp "$tmp/sim/snp" "$tmp/sim/gpu" 2 > "$d/valid-snp-2-gpus"
jq -c 'del(.launch_digest) | .at = 1767225600' "$d/valid-snp" > "$d/valid-at"
jq -c 'del(.nonce)' "$d/valid-snp" > "$d/bad-no-nonce"
jq -c 'del(.evidence)' "$d/valid-snp" > "$d/bad-no-evidence"
jq -c '.evidence.type = "challenge"' "$d/valid-snp" > "$d/bad-type"
jq -c '.at = 5' "$d/valid-snp" > "$d/bad-at"
jq -c '.launch_digest = "zz"' "$d/valid-snp" > "$d/bad-digest"
jq -c '.evidence.gpu_reports = ["AA=="]' "$d/valid-snp" > "$d/bad-gpu-count"
sed 's/^{/{"at":1767225600,"at":1767225601,/' "$d/valid-snp" > "$d/bad-duplicate"
printf '{"evidence": [], "nonce": 1}' > "$d/bad-types"
printf '{"evidence": {"type": "evidence"' > "$d/bad-truncated"
