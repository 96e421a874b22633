#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cvmctl verify tdx over every TDX vector case: exit code, and "authentic", "tcb_status",
# "advisory_ids" in the JSON as each case.json expects, at its pinned time. Then collateral
# fetched from a PCS-shaped server on 127.0.0.1 (tests/helpers/pcs-server) into a cache and
# verified again --offline from the cache alone; usage errors exit 2.
# Never contacts anything but 127.0.0.1.
#
#   BUILD=build CVM_VECTORS=/work/shared/vectors tests/integration/test-cli-tdx.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/check.sh

BUILD=${BUILD:-build}
VECTORS=${CVM_VECTORS:-../shared/vectors}
CVMCTL=$BUILD/cvmctl
SERVER=$BUILD/tests/pcs-server

if [ ! -d "$VECTORS/tdx" ]; then
        echo "SKIP: no vectors at $VECTORS: every case is skipped"
        exit 0
fi
require_programs "$CVMCTL" "$SERVER"

check_init

# check CASE_JSON OUTPUT_JSON RC: the verdict matches the case; prints why not.
check() {
        python3 - "$1" "$2" "$3" <<'PY'
import json, sys
case = json.load(open(sys.argv[1]))["expected"]
try:
    out = json.load(open(sys.argv[2]))
except Exception as e:
    print("output is not JSON:", e); sys.exit(1)
rc = int(sys.argv[3])
errs = []
for k in ("authentic", "tcb_status", "advisory_ids"):
    if out.get(k, "absent") != case.get(k):
        errs.append(f"{k} is {out.get(k, 'absent')!r}, expected {case.get(k)!r}")
if out.get("tee") != "tdx":
    errs.append("tee is not tdx")
attrs = bytes.fromhex(case["fields"]["td_attributes"])
accept = (case["authentic"] and case.get("tcb_status") in ("UpToDate", "SWHardeningNeeded")
          and not attrs[0] & 1 and bool(attrs[3] & 0x10))
if out.get("accepted") != accept:
    errs.append(f"accepted is {out.get('accepted')}, expected {accept} under the default policy")
if rc != (0 if accept else 1):
    errs.append(f"exit code {rc}, expected {0 if accept else 1}")
for k, v in case["fields"].items():
    if str(out["claims"].get(k, "")).lower() != str(v).lower():
        errs.append(f"claim {k} differs")
print("; ".join(errs))
sys.exit(1 if errs else 0)
PY
}

case_at() {
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["at"])' "$1"
}

echo "verify tdx: every vector case"
mkdir -p "$tmp/empty-cache"
for dir in "$VECTORS"/tdx/*/; do
        dir=${dir%/}
        id=$(basename "$dir")
        [ -f "$dir/case.json" ] || continue
        at=$(case_at "$dir/case.json")
        out=$tmp/$id.json
        rc=0
        if [ -d "$dir/collateral" ]; then
                "$CVMCTL" verify tdx "$dir/quote.bin" --collateral "$dir/collateral" --at "$at" --json \
                        >"$out" 2>"$tmp/$id.err" || rc=$?
        else
                "$CVMCTL" verify tdx "$dir/quote.bin" --offline --cache "$tmp/empty-cache" --at "$at" --json \
                        >"$out" 2>"$tmp/$id.err" || rc=$?
        fi
        if why=$(check "$dir/case.json" "$out" $rc); then
                ok "$id"
        else
                echo "$why" >>"$tmp/$id.err"
                fail "$id: $why" "$tmp/$id.err"
        fi
done

echo "verify tdx: collateral from a PCS-shaped server, then --offline from the cache"
for dir in "$VECTORS"/tdx/*/; do
        dir=${dir%/}
        id=$(basename "$dir")
        [ -d "$dir/collateral" ] && [ -f "$dir/case.json" ] || continue
        python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["expected"]["authentic"] else 1)' \
                "$dir/case.json" || continue
        at=$(case_at "$dir/case.json")
        start_port_server "$id" "$SERVER" --collateral "$dir/collateral" --log "$tmp/$id.log"
        pid=$server_pid
        url=http://127.0.0.1:$port
        cache=$tmp/cache-$id
        rc=0
        "$CVMCTL" verify tdx "$dir/quote.bin" --pccs-url "$url" --cache "$cache" --at "$at" --json \
                >"$tmp/$id.fetch.json" 2>"$tmp/$id.fetch.err" || rc=$?
        if why=$(check "$dir/case.json" "$tmp/$id.fetch.json" $rc) && [ "$(find "$cache/tdx" -type f | wc -l)" = 7 ]; then
                ok "$id: fetched through --pccs-url into the cache (7 files)"
        else
                echo "$why" >>"$tmp/$id.fetch.err"
                fail "$id: fetch through --pccs-url" "$tmp/$id.fetch.err"
        fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        before=$(wc -l <"$tmp/$id.log")
        rc=0
        "$CVMCTL" verify tdx "$dir/quote.bin" --offline --cache "$cache" --at "$at" --json \
                >"$tmp/$id.offline.json" 2>"$tmp/$id.offline.err" || rc=$?
        if why=$(check "$dir/case.json" "$tmp/$id.offline.json" $rc) && [ "$(wc -l <"$tmp/$id.log")" = "$before" ]; then
                ok "$id: --offline from the cache alone"
        else
                echo "$why" >>"$tmp/$id.offline.err"
                fail "$id: --offline from the cache" "$tmp/$id.offline.err"
        fi
done

echo "verify tdx: stale cache and usage errors"
one=$VECTORS/tdx/phala-tdx-quote-v4-uptodate
if [ -d "$tmp/cache-phala-tdx-quote-v4-uptodate" ]; then
        rc=0
        "$CVMCTL" verify tdx "$one/quote.bin" --offline --cache "$tmp/cache-phala-tdx-quote-v4-uptodate" \
                --at 2025-09-01T00:00:00Z --json >"$tmp/stale.json" 2>&1 || rc=$?
        if [ $rc -eq 1 ] && grep -q '"tcb_status": null' "$tmp/stale.json" && grep -q 'current only from' "$tmp/stale.json"; then
                ok "stale cached collateral offline is refused"
        else
                fail "stale cached collateral offline (exit $rc)" "$tmp/stale.json"
        fi
fi
expect_rc() { # EXPECTED NAME ARGS...
        local want=$1 name=$2 rc=0
        shift 2
        "$CVMCTL" "$@" >"$tmp/usage.out" 2>&1 || rc=$?
        if [ $rc -eq "$want" ]; then
                ok "$name (exit $want)"
        else
                fail "$name: exit $rc, expected $want" "$tmp/usage.out"
        fi
}
head -c 700 "$one/quote.bin" >"$tmp/short.bin"
expect_rc 2 "missing quote file" verify tdx "$tmp/nonexistent.bin" --offline
expect_rc 2 "bad --at" verify tdx "$one/quote.bin" --at yesterday
expect_rc 2 "unknown option" verify tdx "$one/quote.bin" --frobnicate
expect_rc 2 "bad --report-data" verify tdx "$one/quote.bin" --report-data xyz --offline
expect_rc 2 "collateral is not a directory" verify tdx "$one/quote.bin" --collateral "$one/quote.bin"
expect_rc 1 "truncated quote" verify tdx "$tmp/short.bin" --collateral "$one/collateral" --at 2025-07-19T10:00:34Z
expect_rc 1 "wrong --report-data" verify tdx "$one/quote.bin" --collateral "$one/collateral" \
        --at 2025-07-19T10:00:34Z --report-data 00
expect_rc 0 "right --report-data" verify tdx "$one/quote.bin" --collateral "$one/collateral" \
        --at 2025-07-19T10:00:34Z --report-data "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expected"]["fields"]["report_data"])' "$one/case.json")"
expect_rc 0 "help" verify tdx --help

check_finish "verify tdx"
