#!/bin/bash
# The libraries are layers: each archive may use the ones below it (earlier in LAYERS) and never
# one above, and no symbol is defined in two archives. Fails naming each offending reference.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
LAYERS=$(make --no-print-directory -s -f Makefile print-layers)
CHECK_QUIET_OK=1
check_init

rank=0
for l in $LAYERS; do
        a=$BUILD/libcvm-$l.a
        [ -f "$a" ] || { bad "no archive $a (make check-build builds every layer)"; continue; }
        nm -g --defined-only "$a" 2> /dev/null | awk -v l="$l" -v r="$rank" 'NF == 3 && $2 ~ /[A-Z]/ && $2 != "U" { print $3, l, r }' >> "$tmp/defined"
        nm -g --undefined-only "$a" 2> /dev/null | awk -v l="$l" -v r="$rank" 'NF == 2 && $1 == "U" { print $2, l, r }' | sort -u >> "$tmp/undefined"
        rank=$((rank + 1))
done
[ -s "$tmp/defined" ] && ok || bad "no symbols read from the archives"

# a symbol defined twice
dups=$(awk '{ print $1 }' "$tmp/defined" | sort | uniq -d)
[ -z "$dups" ] && ok || bad "defined in two archives: $(echo $dups)"

# a reference upward: used in layer r, defined in a layer above r
up=$(awk 'NR == FNR { def[$1] = $2; rank[$1] = $3; next }
          ($1 in def) && rank[$1] > $3 { printf "%s (libcvm-%s) uses %s from libcvm-%s\n", $2, $2, $1, def[$1] }' \
        "$tmp/defined" "$tmp/undefined" | sort -u)
if [ -z "$up" ]; then ok; else bad "a lower layer calls a higher one:"; echo "$up" | sed 's/^/        /'; fi

check_finish "layers ($LAYERS)"
