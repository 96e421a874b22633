#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Collateral from a KDS-shaped server on 127.0.0.1 (tests/helpers/kds-server), built from the
# real vectors: `cvmctl collateral fetch snp` fills a cache, `cvmctl verify snp --offline` then
# verifies from it; the second fetch comes from the cache; an empty cache offline, a TCB the
# server has no certificate for (404) and throttling (429 + Retry-After) behave.
# Never contacts anything but 127.0.0.1.
#
#   BUILD=build CVM_VECTORS=/work/shared/vectors tests/integration/test-kds.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/check.sh

BUILD=${BUILD:-build}
VECTORS=${CVM_VECTORS:-../shared/vectors}
CVMCTL=$BUILD/cvmctl
SERVER=$BUILD/tests/kds-server
CASES="cmc-milan-v2:Milan oak-turin-v5:Turin oak-genoa-v5:Genoa"

if [ ! -d "$VECTORS/snp" ]; then
        echo "SKIP: no vectors at $VECTORS: every case is skipped"
        exit 0
fi
require_programs "$CVMCTL" "$SERVER"

check_init

# Starts a server; sets $port. Arguments: NAME [server options...]
start_server() {
        local name=$1
        shift
        start_port_server "$name" "$SERVER" --root "$tmp/root" --log "$tmp/$name.log" "$@"
}

chip_hex() { # REPORT NBYTES: CHIP_ID (report offset 0x1A0) as lowercase hex
        od -An -tx1 -v -j 416 -N "$2" "$1" | tr -d ' \n'
}

case_at() {
        sed -n 's/^ *"at": *"\([^"]*\)".*/\1/p' "$1" | head -n 1
}

# The KDS tree: cert_chain = intermediate first, then the ARK (KDS order); the VCEK under
# the hwID KDS names it by (Turin: the first 8 bytes of CHIP_ID).
for c in $CASES; do
        id=${c%%:*} product=${c##*:}
        dir=$VECTORS/snp/$id
        n=64
        [ "$product" = Turin ] && n=8
        mkdir -p "$tmp/root/vcek/v1/$product"
        cat "$dir/certs/ask.pem" "$dir/certs/ark.pem" >"$tmp/root/vcek/v1/$product/cert_chain"
        cp "$dir/certs/vcek.der" "$tmp/root/vcek/v1/$product/$(chip_hex "$dir/report.bin" $n).der"
done

echo "kds: fetch into the cache, then verify offline"
start_server main
url=http://127.0.0.1:$port
cache=$tmp/cache
for c in $CASES; do
        id=${c%%:*} product=${c##*:}
        dir=$VECTORS/snp/$id
        at=$(case_at "$dir/case.json")
        out=$tmp/$id.fetch

        if "$CVMCTL" collateral fetch snp "$dir/report.bin" --kds-url "$url" --cache "$cache" --at "$at" \
                --json >"$out" 2>&1 &&
                grep -q "\"product\": *\"$product\"" "$out" &&
                grep -q "snp/$product/vcek/" "$out" && grep -q "snp/$product/cert_chain.pem" "$out"; then
                ok "$id: collateral fetch stores the $product VCEK and cert_chain"
        else
                fail "$id: collateral fetch" "$out"
        fi

        out=$tmp/$id.verify
        rc=0
        "$CVMCTL" verify snp "$dir/report.bin" --offline --cache "$cache" --at "$at" --json >"$out" 2>&1 || rc=$?
        if [ $rc -eq 0 ] && grep -q '"authentic": *true' "$out"; then
                ok "$id: verify --offline from the cache is authentic"
        else
                fail "$id: verify --offline from the cache (exit $rc)" "$out"
        fi

        before=$(grep -c "^GET /vcek/v1/$product/[0-9a-f]*?" "$tmp/main.log" || true)
        out=$tmp/$id.refetch
        if "$CVMCTL" collateral fetch snp "$dir/report.bin" --kds-url "$url" --cache "$cache" --at "$at" \
                >"$out" 2>&1 && grep -q '^cached .*/vcek/' "$out" &&
                [ "$(grep -c "^GET /vcek/v1/$product/[0-9a-f]*?" "$tmp/main.log" || true)" = "$before" ]; then
                ok "$id: a second fetch is served from the cache (no VCEK request)"
        else
                fail "$id: a second fetch is served from the cache" "$out"
        fi
done

echo "kds: failures"
id=cmc-milan-v2
dir=$VECTORS/snp/$id
at=$(case_at "$dir/case.json")

out=$tmp/offline-empty
rc=0
"$CVMCTL" verify snp "$dir/report.bin" --offline --cache "$tmp/empty-cache" --at "$at" >"$out" 2>&1 || rc=$?
if [ $rc -eq 1 ] && grep -q 'VCEK' "$out" && grep -q "$tmp/empty-cache/snp/Milan/vcek/" "$out"; then
        ok "verify --offline with an empty cache fails, naming the missing VCEK"
else
        fail "verify --offline with an empty cache (exit $rc)" "$out"
fi

# NEG-trustee-byte384 style: REPORTED_TCB.bl + 1. KDS has no certificate for that TCB.
mutated=$tmp/wrong-tcb.bin
cp "$dir/report.bin" "$mutated"
b=$(od -An -tu1 -j 384 -N 1 "$mutated" | tr -d ' ')
printf "\\$(printf '%03o' $(((b + 1) & 255)))" | dd of="$mutated" bs=1 seek=384 conv=notrunc status=none
out=$tmp/wrong-tcb
rc=0
"$CVMCTL" collateral fetch snp "$mutated" --kds-url "$url" --cache "$tmp/cache-wrong" --at "$at" >"$out" 2>&1 || rc=$?
if [ $rc -eq 1 ] && grep -q '404' "$out" && ! ls "$tmp"/cache-wrong/snp/*/vcek/* >/dev/null 2>&1; then
        ok "a REPORTED_TCB KDS has no VCEK for gives 404: fetch fails, nothing cached"
else
        fail "wrong REPORTED_TCB (exit $rc)" "$out"
fi

out=$tmp/usage
rc=0
"$CVMCTL" collateral fetch snp "$tmp/no-such-report.bin" --cache "$tmp/x" >"$out" 2>&1 || rc=$?
if [ $rc -eq 2 ]; then
        ok "an unreadable report is a usage error (exit 2)"
else
        fail "unreadable report (exit $rc)" "$out"
fi

# Path components are checked: no '..', no odd characters; a VCEK wants its SPLs.
http_status() { # PATH -> status code from the main server
        local line
        exec 3<>"/dev/tcp/127.0.0.1/$port"
        printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
        read -r _ line _ <&3 || true
        exec 3<&- 3>&-
        echo "$line"
}
hwid=$(chip_hex "$dir/report.bin" 64)
if [ "$(http_status /vcek/v1/../cert_chain)" = 404 ] &&
        [ "$(http_status /vcek/v1/Milan/..%2Fcert_chain)" = 404 ] &&
        [ "$(http_status /vcek/v1/Milan/cert_chain)" = 200 ] &&
        [ "$(http_status "/vcek/v1/Milan/$hwid")" = 400 ]; then
        ok "kds-server refuses '..' and odd path components, and a VCEK request without SPLs"
else
        fail "kds-server path validation"
fi

echo "kds: CRL"
# No real AMD CRL is public (spec §10): a throwaway one, valid 2020..2040, is enough for the cache
# logic; its signature is the verifier's business, not the fetcher's.
if command -v openssl >/dev/null; then
        ca=$tmp/ca
        mkdir -p "$ca"
        touch "$ca/index.txt"
        echo 01 >"$ca/crlnumber"
        printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\n' \
                "$ca" "$ca" >"$ca/ca.cnf"
        if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ca/ca.key" \
                -out "$ca/ca.pem" -subj /CN=test-crl-issuer -days 1 >/dev/null 2>&1 &&
                openssl ca -config "$ca/ca.cnf" -gencrl -keyfile "$ca/ca.key" -cert "$ca/ca.pem" \
                        -crl_lastupdate 20200101000000Z -crl_nextupdate 20400101000000Z -out "$ca/crl.pem" \
                        >/dev/null 2>&1 &&
                openssl crl -in "$ca/crl.pem" -outform DER -out "$tmp/root/vcek/v1/Turin/crl" 2>/dev/null; then
                tdir=$VECTORS/snp/oak-turin-v5
                tat=$(case_at "$tdir/case.json")
                out=$tmp/crl-fetch
                if "$CVMCTL" collateral fetch snp "$tdir/report.bin" --kds-url "$url" --cache "$tmp/cache-crl" \
                        --at "$tat" --crl >"$out" 2>&1 && grep -q '^stored .*/snp/Turin/crl.der$' "$out"; then
                        ok "--crl fetches and stores the CRL"
                else
                        fail "--crl fetch" "$out"
                fi
                before=$(grep -c '^GET /vcek/v1/Turin/crl ' "$tmp/main.log" || true)
                out=$tmp/crl-refetch
                if "$CVMCTL" collateral fetch snp "$tdir/report.bin" --kds-url "$url" --cache "$tmp/cache-crl" \
                        --at "$tat" --crl >"$out" 2>&1 && grep -q '^cached .*/snp/Turin/crl.der$' "$out" &&
                        [ "$(grep -c '^GET /vcek/v1/Turin/crl ' "$tmp/main.log" || true)" = "$before" ]; then
                        ok "a current cached CRL is used"
                else
                        fail "cached CRL" "$out"
                fi
                out=$tmp/crl-stale
                if "$CVMCTL" collateral fetch snp "$tdir/report.bin" --kds-url "$url" --cache "$tmp/cache-crl" \
                        --at 2041-01-01T00:00:00Z --crl >"$out" 2>&1 &&
                        grep -q 'vcek/.*is expired at 2041-01-01T00:00:00Z, fetching it again' "$out" &&
                        grep -q 'crl.der is not current at 2041-01-01T00:00:00Z, fetching it again' "$out"; then
                        ok "cached files not valid at --at are fetched again"
                else
                        fail "stale cache" "$out"
                fi
        else
                fail "cannot make a test CRL with openssl"
        fi
else
        echo "  skip  CRL cases (no openssl command)"
fi

echo "kds: throttling"
start_server throttled --throttle 2 --retry-after 1
out=$tmp/throttled
if "$CVMCTL" collateral fetch snp "$dir/report.bin" --kds-url "http://127.0.0.1:$port" --cache "$tmp/cache-throttled" \
        --at "$at" >"$out" 2>&1 && grep -q '429' "$out" && grep -q 'retrying in 1 s' "$out" &&
        [ "$(grep -c ' 429$' "$tmp/throttled.log")" = 2 ]; then
        ok "two 429 answers with Retry-After: 1 are retried, and the fetch succeeds"
else
        fail "throttled fetch" "$out"
fi

check_finish kds
