#!/bin/bash
# make demo checks its own outcomes: it ends "as expected" with exit 0 when the VM with two GPUs
# gets its key and token, the refusal and the quarantine happen for their stated reasons and the
# audit chain is intact; and exits non-zero naming the steps when they do not (here: an agent
# binary that does not exist, so no key can be released and every refusal is for want of an
# agent, not for the evidence). After either run nothing of the demo is left: no cvmd,
# dbus-daemon or agent, no temporary directory.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD
. tests/lib/check.sh
CHECK_QUIET_OK=1
check_init demo
LAST_OK="Demo ended as expected: keys released only to verified evidence (CPU and GPUs), refused and quarantined for the stated reasons."

# runs the demo with its temporary files under a directory of its own, then checks that nothing
# of it is left behind
run_demo() { # name [env assignments...]
        local name=$1 status
        shift
        mkdir -p "$tmp/$name.tmp"
        env TMPDIR="$tmp/$name.tmp" "$@" bash tools/demo.sh > "$tmp/$name.out" 2>&1
        status=$?
        # processes started from the demo's sandbox all name its directory on their command lines
        if pgrep -f "$tmp/$name.tmp/" > /dev/null; then
                bad "$name: processes of the demo are left: $(pgrep -af "$tmp/$name.tmp/")"
        else
                ok
        fi
        [ -z "$(ls -A "$tmp/$name.tmp")" ] && ok || bad "$name: temporary files are left: $(ls -A "$tmp/$name.tmp")"
        return "$status"
}
step_ok() { grep -qF "  ✓ $1" "$tmp/$2.out" && ok || bad "$2: step not shown as passed: $1"; }
step_failed() { grep -qxF "  - $1" "$tmp/$2.out" && ok || bad "$2: the failed step is not named: $1: $(tail -14 "$tmp/$2.out")"; }

run_demo good
status=$?
[ "$status" -eq 0 ] && ok || bad "the demo exited $status: $(grep -E '✗|NOT' "$tmp/good.out")"
[ "$(tail -1 "$tmp/good.out")" = "$LAST_OK" ] && ok || bad "last line: $(tail -1 "$tmp/good.out")"
step_ok "the key is released and its receipt confirmed" good
step_ok "the guest's key file is byte-for-byte the original data key" good
step_ok "the token's signature verifies with the JWKS cvmd serves (python3-jwt)" good
step_ok "refused for the evidence: the GPUs' root is not pinned by the policy" good
step_ok "quarantined for the evidence: the SEV-SNP root is not pinned by the policy" good
step_ok "the audit chain is intact" good
grep -q '^\$ cvmctl launch examples/specs/sim-gpu.json --wait$' "$tmp/good.out" && ok || bad "the launch command is not shown"

run_demo broken CVM_DEMO_AGENT="$tmp/no-such-agent"
status=$?
[ "$status" -ne 0 ] && ok || bad "a demo whose agent does not exist exited 0"
tail -1 "$tmp/broken.out" | grep -q "^Demo did NOT end as expected" && ok || bad "last line: $(tail -1 "$tmp/broken.out")"
step_failed "the key is released and its receipt confirmed" broken
step_failed "the guest's key file is byte-for-byte the original data key" broken
# the refusal and the quarantine happened for want of an agent, not for the evidence: the demo
# must say so
step_failed "refused for the evidence: the GPUs' root is not pinned by the policy" broken
step_failed "quarantined for the evidence: the SEV-SNP root is not pinned by the policy" broken

check_finish
