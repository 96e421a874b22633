#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cvmd's VerifyEvidence over D-Bus, in the sandbox: evidence made by the real agent code from
# the simulators (tests/helpers/make-evidence) is accepted under a policy that trusts the
# simulator and refused under one that does not, naming the check; a request bound to another
# nonce or launch digest is refused on the binding; a malformed request and an unknown policy
# are InvalidArgs naming the member; nothing about the request changes cvmd's state.
#
#   BUILD=build tests/integration/test-cvmd-verify.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
export BUILD
MAKE_EVIDENCE=$PWD/$BUILD/tests/make-evidence
CHECK_QUIET_OK=1
check_init cvmd-verify
require_programs "$MAKE_EVIDENCE"
start_cvmd_sandbox
sim=$sandbox_dir/sim

# verify REQUEST-FILE POLICY: the verdict JSON in $tmp/out.json, busctl's error in $tmp/err
verify() {
        busctl --system --json=short call org.cvmd /org/cvmd/Manager1 org.cvmd.Manager1 VerifyEvidence ss \
                "$(cat "$1")" "$2" > "$tmp/reply.json" 2> "$tmp/err" || return 1
        jq -r '.data[0]' "$tmp/reply.json" > "$tmp/out.json"
}

"$MAKE_EVIDENCE" snp "$sim/snp" > "$tmp/snp.json" 2> "$tmp/make.err" || bad "make-evidence snp: $(cat "$tmp/make.err")"

# --- accepted under a policy that trusts the simulator
verify "$tmp/snp.json" sim-dev && ok || bad "VerifyEvidence sim-dev: $(cat "$tmp/err")"
jq -e '.tee == "sev-snp" and .authentic and .accepted and (.reasons | length) == 0
       and ([.checks[] | select(.name == "binding.report-data" or .name == "binding.host-data") | .result]
            | sort == ["pass", "pass"])' "$tmp/out.json" > /dev/null && ok \
        || bad "sim-dev verdict: $(jq -c '{accepted, reasons, checks: [.checks[] | select(.name | startswith("binding"))]}' "$tmp/out.json")"

# --- refused where the simulator's root is not trusted, naming the check
verify "$tmp/snp.json" production && ok || bad "VerifyEvidence production: $(cat "$tmp/err")"
jq -e '(.accepted | not) and any(.reasons[]; test("chain.ark-pinned"))' "$tmp/out.json" > /dev/null && ok \
        || bad "production verdict: $(jq -c '{accepted, reasons}' "$tmp/out.json")"

# --- bound to another nonce, or another launch digest: the binding fails
jq '.nonce = ("00" * 32)' "$tmp/snp.json" > "$tmp/nonce.json"
verify "$tmp/nonce.json" sim-dev && jq -e '(.accepted | not) and any(.reasons[]; test("binding.report-data"))' \
        "$tmp/out.json" > /dev/null && ok || bad "another nonce: $(cat "$tmp/err") $(jq -c .reasons "$tmp/out.json")"
jq '.launch_digest = ("11" * 48)' "$tmp/snp.json" > "$tmp/digest.json"
verify "$tmp/digest.json" sim-dev && jq -e '(.accepted | not) and any(.reasons[]; test("binding.host-data"))' \
        "$tmp/out.json" > /dev/null && ok || bad "another launch digest: $(cat "$tmp/err") $(jq -c .reasons "$tmp/out.json")"

# --- TDX evidence from the TDX simulator, with its collateral from cvmd's cache
"$MAKE_EVIDENCE" tdx "$sim/tdx" > "$tmp/tdx.json" 2> "$tmp/make.err" || bad "make-evidence tdx: $(cat "$tmp/make.err")"
root=$(jq -r '.trusted_simulator_roots[0].spki_sha256 // empty' "$sandbox_dir/sim.json")
if [ -n "$root" ]; then
        printf '{"name": "sim-tdx", "tdx": {"trusted_simulator_roots": [{"spki_sha256": "%s"}]}}\n' "$root" \
                > "$sandbox_dir/policies/sim-tdx.json"
        busctl --system call org.cvmd /org/cvmd/Manager1 org.cvmd.Manager1 ReloadPolicies > /dev/null 2> "$tmp/err" \
                || bad "reload: $(cat "$tmp/err")"
        verify "$tmp/tdx.json" sim-tdx && jq -e '.tee == "tdx" and .accepted' "$tmp/out.json" > /dev/null && ok \
                || bad "tdx under sim-tdx: $(cat "$tmp/err") $(jq -c '{accepted, reasons}' "$tmp/out.json")"
else
        bad "sim.json names no TDX simulator root"
fi

# --- malformed requests and unknown policies: InvalidArgs naming what is wrong
echo '{"nonce": "00"}' > "$tmp/junk.json"
verify "$tmp/junk.json" sim-dev; [ $? -ne 0 ] && grep -q "InvalidArgs\|nonce" "$tmp/err" && ok || bad "short nonce: $(cat "$tmp/err")"
jq '.evidence.type = "hello"' "$tmp/snp.json" > "$tmp/type.json"
verify "$tmp/type.json" sim-dev; [ $? -ne 0 ] && grep -q "evidence" "$tmp/err" && ok || bad "not evidence: $(cat "$tmp/err")"
jq '.extra = 1' "$tmp/snp.json" > "$tmp/extra.json"
verify "$tmp/extra.json" sim-dev; [ $? -ne 0 ] && grep -q "unknown key" "$tmp/err" && ok || bad "unknown key: $(cat "$tmp/err")"
# a duplicate member (the strict parser refuses it; jq cannot write one)
sed 's/^{/{"nonce":"'"$(printf '00%.0s' $(seq 32))"'",/' "$tmp/snp.json" > "$tmp/dup.json"
verify "$tmp/dup.json" sim-dev; [ $? -ne 0 ] && grep -qi "duplicate" "$tmp/err" && ok || bad "duplicate member: $(cat "$tmp/err")"
verify "$tmp/snp.json" no-such-policy; [ $? -ne 0 ] && grep -q "no policy named 'no-such-policy'" "$tmp/err" && ok \
        || bad "unknown policy: $(cat "$tmp/err")"

# --- nothing recorded: no VM appeared
[ "$(busctl --system --json=short call org.cvmd /org/cvmd/Manager1 org.cvmd.Manager1 List | jq '.data[0] | length')" = 0 ] \
        && ok || bad "VerifyEvidence left a VM in the table"

check_finish
