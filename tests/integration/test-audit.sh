#!/bin/bash
# cvmctl audit on a store built the way cvmd writes it: the listing, --since, --json (one
# object, whatever the outcome), --verify on an intact chain and after each kind of tampering,
# the default path from $CVMD_STATE_DIR, and a missing store that is reported, not created.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
CVMCTL=$PWD/$BUILD/cvmctl
APPEND=$PWD/$BUILD/tests/audit-append
CHECK_QUIET_OK=1
check_init audit
require_programs "$CVMCTL" "$APPEND"

# run WANT_EXIT ARGS...: cvmctl audit ARGS, stdout in $tmp/out
run() {
        local want=$1 status
        shift
        "$CVMCTL" audit "$@" > "$tmp/out" 2> "$tmp/err"
        status=$?
        if [ "$status" -eq "$want" ]; then ok; else bad "cvmctl audit $*: exit $status, wanted $want: $(head -2 "$tmp/err")"; fi
}

# check JQ-EXPR: $tmp/out is one JSON object for which the expression holds
check() {
        if jq -se "length == 1 and (.[0] | $1)" "$tmp/out" > /dev/null 2>&1; then ok; else bad "jq '$1' fails on: $(head -c 400 "$tmp/out")"; fi
}

# a fresh store of five events, times 100..500
fill() {
        rm -f "$1" "$1-wal" "$1-shm"
        "$APPEND" "$1" 100 launch vm1 '{"tee":"sev-snp"}' > /dev/null &&
        "$APPEND" "$1" 200 appraisal vm1 '{"accepted":true,"reasons":[]}' > /dev/null &&
        "$APPEND" "$1" 300 key_release vm1 '{"key_ids":["train-1"]}' > /dev/null &&
        "$APPEND" "$1" 400 state vm1 '{"to":"running"}' > /dev/null &&
        "$APPEND" "$1" 500 stop vm1 > /dev/null || bad "audit-append failed"
}

db=$tmp/audit.db
fill "$db"

run 0 --db "$db"
[ "$(grep -c 'vm1' "$tmp/out")" -eq 5 ] && ok || bad "listing: $(cat "$tmp/out")"
grep -q 'key_release' "$tmp/out" && ok || bad "listing lacks key_release"

run 0 --db "$db" --verify
grep -q 'chain: intact, 5 events' "$tmp/out" && ok || bad "verify: $(tail -1 "$tmp/out")"

run 0 --db "$db" --verify --json
check '.ok == true and .chain_ok == true and .first_broken_id == null and (.events | length) == 5'
check '.events[2].kind == "key_release" and .events[2].details.key_ids == ["train-1"] and .events[0].uuid == "6f1c2a9e-4b7d-4e21-9a43-0c5d8e7f1a26"'
check '.events[1].prev_hash == .events[0].hash and .events[0].prev_hash == ("0" * 64)'

run 0 --db "$db" --since 300 --json
check '[.events[].id] == [3, 4, 5] and (has("chain_ok") | not)'
run 0 --db "$db" --since 1970-01-01T00:06:50Z --json
check '[.events[].id] == [5]'

# the default path
CVMD_STATE_DIR=$tmp run 0 --json
check '(.events | length) == 5'
run 0 --state-dir "$tmp" --json
check '(.events | length) == 5'

# tampering, each named at its row
tamper() { # SQL WANT_ROW
        fill "$db"
        sqlite3 "$db" "$1" || bad "sqlite3 $1"
        run 1 --db "$db" --verify --json
        check ".ok == false and .chain_ok == false and .first_broken_id == $2 and (.reason | type) == \"string\""
        run 1 --db "$db" --verify
        grep -q "BROKEN at row $2" "$tmp/out" && ok || bad "$1: $(tail -1 "$tmp/out")"
}
tamper "UPDATE events SET details = '{\"accepted\":false}' WHERE id = 2" 2
tamper "UPDATE events SET kind = 'failure' WHERE id = 3" 3
tamper "UPDATE events SET time = 401 WHERE id = 4" 4
tamper "DELETE FROM events WHERE id = 3" 4
tamper "DELETE FROM events WHERE id = 5" 5
tamper "UPDATE events SET prev_hash = zeroblob(32) WHERE id = 2" 2

# without --verify a tampered store still lists
run 0 --db "$db" --json
check '.ok == true'

# a missing store: exit 2, one object under --json, and nothing created
run 2 --db "$tmp/none.db" --json
check '.ok == false and .exit_status == 2'
[ ! -e "$tmp/none.db" ] && ok || bad "cvmctl audit created $tmp/none.db"
CVMD_STATE_DIR=$tmp/nodir run 2
[ ! -e "$tmp/nodir" ] && ok || bad "cvmctl audit created $tmp/nodir"

# not an audit store
sqlite3 "$tmp/other.db" 'CREATE TABLE t (x)'
run 1 --db "$tmp/other.db" --json
check '.ok == false and (.error | test("not a cvmd audit store"))'

# usage errors
run 2 --db "$db" --state-dir "$tmp"
run 2 --since yesterday --db "$db" --json
check '.ok == false and .exit_status == 2'
run 2 --db "$db" extra
run 0 --help

check_finish
