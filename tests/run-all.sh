#!/bin/bash
# Runs every test of the suite: cmocka unit tests, the vector runner over ../shared/vectors,
# every fuzz corpus replayed through its target, and the integration scripts. Prints one
# result line per suite and a closing "N passed, N failed, N skipped" line; exits non-zero if
# anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export CVM_VECTORS=${CVM_VECTORS:-$(cd .. && pwd)/shared/vectors}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
passed=0 failed=0 skipped=0 failures=()

run() { # name command...
        local name=$1 out=$log/$(echo "$1" | tr '/ ' '__').log start end
        shift
        start=$(date +%s.%N)
        if "$@" >"$out" 2>&1; then
                end=$(date +%s.%N)
                if grep -qiE '^(\[  SKIPPED \]|.*every case is skipped|SKIP:)' "$out" && ! grep -qE '\[  PASSED  \] [1-9]' "$out"; then
                        printf '  skip  %-40s\n' "$name"
                        skipped=$((skipped + 1))
                else
                        printf '  ok    %-40s %6.2fs\n' "$name" "$(awk "BEGIN { print $end - $start }")"
                        passed=$((passed + 1))
                fi
        else
                printf '  FAIL  %-40s\n' "$name"
                sed 's/^/        | /' "$out" | tail -40
                failed=$((failed + 1))
                failures+=("$name")
        fi
}

if [ ! -d "$CVM_VECTORS" ]; then
        echo "note: no vectors at $CVM_VECTORS: the vector cases are skipped, not passed"
fi

echo "unit tests:"
for t in "$BUILD"/tests/test-*; do
        [ -x "$t" ] && run "unit/$(basename "$t")" "$t"
done

echo "vectors:"
run "vectors/all" "$BUILD/tests/vector-runner" "$CVM_VECTORS"
grep -h '^vectors:' "$log"/vectors_all.log 2>/dev/null | sed 's/^/        /'

echo "fuzz corpora:"
for f in "$BUILD"/fuzz-replay/fuzz-*; do
        name=$(basename "$f"); name=${name#fuzz-}
        if [ -d "tests/fuzz/corpus/$name" ]; then
                run "fuzz/$name" "$f" "tests/fuzz/corpus/$name"
        else
                printf '  FAIL  %-40s (no corpus at tests/fuzz/corpus/%s)\n' "fuzz/$name" "$name"
                failed=$((failed + 1))
        fi
done

echo "integration:"
for s in tests/integration/*.sh; do
        [ -f "$s" ] && run "integration/$(basename "$s" .sh)" bash "$s"
done

echo
if [ "$failed" -gt 0 ]; then
        echo "failed: ${failures[*]}"
fi
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
