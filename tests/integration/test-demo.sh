#!/bin/bash
# make demo checks its own outcomes: it ends "as expected" with exit 0 when the keys reach the
# verified guest and the refusal is refused for its stated reason, and exits non-zero naming the
# step when they do not (here: an agent binary that does not exist, so no key can be released).
set -uo pipefail
BUILD=${BUILD:-build}
export BUILD
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

bash tools/demo.sh > "$tmp/good.out" 2>&1
status=$?
[ "$status" -eq 0 ] && ok || bad "the demo exited $status: $(grep -E '✗|NOT' "$tmp/good.out")"
[ "$(tail -1 "$tmp/good.out")" = "Demo ended as expected: keys released only to verified evidence, refused for the stated reason." ] \
        && ok || bad "last line: $(tail -1 "$tmp/good.out")"
grep -q "✓ the guest's key file is byte-for-byte the original data key" "$tmp/good.out" && ok || bad "key step not shown"

CVM_DEMO_AGENT=$tmp/no-such-agent bash tools/demo.sh > "$tmp/broken.out" 2>&1
status=$?
[ "$status" -ne 0 ] && ok || bad "a demo whose agent does not exist exited 0"
tail -1 "$tmp/broken.out" | grep -q "^Demo did NOT end as expected" && ok || bad "last line: $(tail -1 "$tmp/broken.out")"
grep -q "^  - the key is released and its receipt confirmed$" "$tmp/broken.out" && ok \
        || bad "the failed key step is not named: $(tail -8 "$tmp/broken.out")"
# the refusal in part 3 happened for want of an agent, not for the evidence: the demo must say so
grep -q "^  - refused for the evidence: its root is not a pinned AMD root$" "$tmp/broken.out" && ok \
        || bad "a refusal by timeout passed for a refusal by policy"

echo "demo: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
