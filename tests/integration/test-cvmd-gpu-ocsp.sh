#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Revocation decided by cvmd, in the sandbox (tools/cvmd-sandbox: 2 simulated host GPUs, cvmd's
# collateral offline, [Collateral] Offline=yes): a policy that leaves gpu.require_ocsp at its
# default (true) refuses a VM with GPUs while the host's cache holds no OCSP answers for their
# chains, naming them and "offline"; `cvmctl collateral fetch gpu` (reports and chains the real
# agent code made, tests/helpers/nvidia-server as the responder) fills cvmd's cache, and the same
# launch then reaches running with its key, every GPU chain checked good from the cache; `cvmctl
# collateral list` shows the answers. (The sandbox gives cvmd a golden list, which overrides the
# RIMs: RIMs through the provider are covered by test-launch-gpu-rim.sh.)
#
#   BUILD=build tests/integration/test-cvmd-gpu-ocsp.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
export BUILD
CVMCTL=$PWD/$BUILD/cvmctl
SERVER=$PWD/$BUILD/tests/nvidia-server
EVIDENCE=$PWD/$BUILD/tests/make-evidence
export CVMD_SANDBOX_BOOT_TIMEOUT=10
CHECK_QUIET_OK=1
check_init cvmd-gpu-ocsp
require_programs "$CVMCTL" "$PWD/$BUILD/cvmd" "$PWD/$BUILD/cvm-agent" "$SERVER" "$EVIDENCE"
start_cvmd_sandbox --gpu 0000:41:00.0@0 --gpu 0000:42:00.0@0
sim=$sandbox_dir/sim
cache=$sandbox_dir/cache

# sim-gpu without its "require_ocsp": false: the default, OCSP required
jq '.name = "gpu-ocsp" | del(.gpu.require_ocsp)' "$sandbox_dir/policies/sim-gpu.json" > "$sandbox_dir/policies/gpu-ocsp.json"
busctl --system call org.cvmd /org/cvmd/Manager1 org.cvmd.Manager1 ReloadPolicies > /dev/null 2> "$tmp/reload.err" \
        && ok || bad "ReloadPolicies: $(cat "$tmp/reload.err")"
launch() { # name: the sandbox's agent with the simulated GPUs, launched with --wait; exit status in $status
        jq --arg n "$1" '.name = $n | .policy = "gpu-ocsp"' examples/specs/sim-gpu.json > "$tmp/$1.json"
        keys=$("$SANDBOX" agent "$1" snp --gpus) || bad "agent $1"
        timeout 60 "$CVMCTL" launch "$tmp/$1.json" --wait --json > "$tmp/$1.out" 2> "$tmp/$1.err"
        status=$?
}

# --- nothing cached: refused, the reason names the missing answers and that cvmd is offline
launch nocache
[ "$status" -ne 0 ] && [ -z "$(ls -A "$keys" 2>/dev/null)" ] && ok || bad "no OCSP cached: exit $status: $(cat "$tmp/nocache.err")"
"$CVMCTL" status nocache --json > "$tmp/nocache.status" 2> /dev/null
grep -h -q 'gpu0.ocsp.*offline' "$tmp/nocache.out" "$tmp/nocache.err" "$tmp/nocache.status" && ok \
        || bad "the refusal does not name the OCSP answers: $(cat "$tmp/nocache.out" "$tmp/nocache.err" "$tmp/nocache.status")"

# --- the operator fills cvmd's cache from the responder, then the same launch is accepted
start_port_server nvidia "$SERVER" --rim-dir "$sim/gpu/rim" --status good --responders "$sim/gpu/ocsp" \
        --log "$tmp/server.log"
url=http://127.0.0.1:$port
"$EVIDENCE" snp "$sim/snp" "$sim/gpu" 2 > "$tmp/ev.json" 2> "$tmp/ev.err" || bad "make-evidence: $(cat "$tmp/ev.err")"
for i in 0 1; do
        jq -r ".evidence.gpu_reports[$i]" "$tmp/ev.json" | base64 -d > "$tmp/report$i.bin"
        jq -r ".evidence.gpu_chains[$i]" "$tmp/ev.json" | base64 -d > "$tmp/chain$i.pem"
done
"$CVMCTL" collateral fetch gpu "$tmp/report0.bin" "$tmp/report1.bin" --chain "$tmp/chain0.pem" --chain "$tmp/chain1.pem" \
        --cache "$cache" --rim-url "$url" --ocsp-url "$url/ocsp" --json > "$tmp/fetch.json" 2> "$tmp/fetch.err" \
        && jq -e '.failed == 0' "$tmp/fetch.json" > /dev/null && ok || bad "fetch gpu: $(cat "$tmp/fetch.err" "$tmp/fetch.json")"
"$CVMCTL" collateral list --cache "$cache" --json | jq -e '[.collateral[] | select(.tee == "gpu" and .kind == "ocsp"
        and .state != "stale")] | length >= 4' > /dev/null && ok || bad "list: no OCSP answers in cvmd's cache"
: > "$tmp/server.log"
launch cached
[ "$status" -eq 0 ] && [ "$(jq -r .state "$tmp/cached.out" 2>/dev/null)" = running ] && [ -s "$keys/demo-key" ] && ok \
        || bad "from the cache: exit $status: $(cat "$tmp/cached.err" "$tmp/cached.out")"
cmp -s "$keys/demo-key" "$sandbox_dir/demo.key" && ok || bad "the guest's key differs"
[ ! -s "$tmp/server.log" ] && ok || bad "cvmd (offline) asked the responder: $(cat "$tmp/server.log")"
check_finish
