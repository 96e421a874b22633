#!/bin/bash
# --json means one JSON object on stdout whatever the outcome: failures included, for every verb
# that takes --json; and a usage error points at the verb's own --help.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
CVMCTL=$PWD/$BUILD/cvmctl
V=${CVM_VECTORS:-$(cd .. && pwd)/shared/vectors}
CHECK_QUIET_OK=1
check_init cli-json

# one_object WANT_EXIT VERB-ARGS...: exit status, and stdout is exactly one JSON object
one_object() {
        local want=$1 status
        shift
        "$CVMCTL" "$@" > "$tmp/out" 2> "$tmp/err"
        status=$?
        [ "$status" -eq "$want" ] || { bad "cvmctl $*: exit $status, wanted $want ($(head -2 "$tmp/err"))"; return; }
        if jq -se 'length == 1 and (.[0] | type == "object")' "$tmp/out" > /dev/null 2>&1; then
                ok
        else
                bad "cvmctl $*: stdout is not one JSON object: $(head -c 300 "$tmp/out")"
        fi
}

echo '{}' > "$tmp/empty.json"
echo '{"name": "p", "snp": {"allow_debug": false}}' > "$tmp/policy.json"
printf '{ "name": "x", "tee": "none", "vcpus": 2, "memory_mib": 2048, "gpus": [], "boot": { "disk": "/d.qcow2", "disk_format": "qcow2" }, "policy": "p", "key_ids": [] }\n' > "$tmp/spec.json"

one_object 2 verify snp "$tmp/missing.bin" --json
one_object 2 verify tdx "$tmp/missing.bin" --json
one_object 2 verify gpu "$tmp/missing.bin" --json
one_object 2 verify snp --no-such-option --json
one_object 2 render "$tmp/empty.json" --json
one_object 2 launch "$tmp/spec.json" --connect test:///default --json
one_object 1 launch "$tmp/spec.json" --connect test:///default --policy "$tmp/policy.json" --json
one_object 0 key list --keys-dir "$tmp/no-keys" --json
one_object 2 key wrap --kid k --json < /dev/null
one_object 2 collateral fetch snp "$tmp/missing.bin" --json
one_object 2 attest-guest --json
one_object 2 sim init --json
if [ -f "$V/snp/oak-turin-v5/report.bin" ]; then
        one_object 1 verify snp "$V/snp/NEG-trustee-byte384/report.bin" --certs "$V/snp/NEG-trustee-byte384/certs" \
                --at 2023-01-26T00:00:00Z --offline --cache "$tmp/cache" --json
fi
# the failure object names the error
"$CVMCTL" verify snp "$tmp/missing.bin" --json > "$tmp/out" 2> /dev/null
jq -e '.ok == false and (.error | test("missing.bin")) and .exit_status == 2' "$tmp/out" > /dev/null && ok \
        || bad "failure object: $(cat "$tmp/out")"

# usage errors point at the verb's own --help
"$CVMCTL" verify snp --frob 2> "$tmp/err" > /dev/null
grep -q "Try 'cvmctl verify snp --help'." "$tmp/err" && ok || bad "verify snp usage: $(cat "$tmp/err")"
"$CVMCTL" key wrap 2> "$tmp/err" < /dev/null > /dev/null
grep -q "Try 'cvmctl key wrap --help'." "$tmp/err" && ok || bad "key wrap usage: $(cat "$tmp/err")"
"$CVMCTL" render 2> "$tmp/err" > /dev/null
grep -q "Try 'cvmctl render --help'." "$tmp/err" && ok || bad "render usage: $(cat "$tmp/err")"
"$CVMCTL" frob 2> "$tmp/err" > /dev/null
grep -q "Try 'cvmctl --help'." "$tmp/err" && ok || bad "unknown verb: $(cat "$tmp/err")"

check_finish
