#!/bin/bash
# cvmctl verify snp end to end: every SNP vector case through the command line (exit status
# and JSON verdict), the policy, --report-data, and the usage and malformed-input paths.
set -uo pipefail
. "$(dirname "$0")/../lib/check.sh"
BUILD=${BUILD:-build}
V=${CVM_VECTORS:-../shared/vectors}
CVMCTL="$BUILD/cvmctl"
CHECK_QUIET_OK=1
check_init

expect_exit 2 "no verb" "$CVMCTL"
expect_exit 2 "unknown verb" "$CVMCTL" frobnicate
expect_exit 2 "verify without TEE" "$CVMCTL" verify
expect_exit 2 "unknown TEE" "$CVMCTL" verify sgx x
expect_exit 2 "missing report argument" "$CVMCTL" verify snp
expect_exit 2 "unknown option" "$CVMCTL" verify snp x --frob
expect_exit 2 "unreadable report" "$CVMCTL" verify snp /nonexistent/report.bin --offline
grep -q "/nonexistent/report.bin" "$tmp/err" && ok || bad "unreadable file not named in the error"
expect_exit 2 "bad --at" "$CVMCTL" verify snp x --at yesterday
grep -q "RFC 3339" "$tmp/err" && ok || bad "bad --at message"
expect_exit 2 "bad --report-data" "$CVMCTL" verify snp x --report-data zz
expect_exit 2 "bad --product" "$CVMCTL" verify snp x --product Naples
expect_exit 0 "--help" "$CVMCTL" --help
expect_exit 0 "verify snp --help" "$CVMCTL" verify snp --help
grep -q -- "--cert-table" "$tmp/out" && ok || bad "verify snp --help lacks --cert-table"
expect_exit 0 "--version" "$CVMCTL" --version

# --- malformed evidence: exit 1 with a reason, never a crash
: > "$tmp/empty.bin"
expect_exit 1 "empty report" "$CVMCTL" verify snp "$tmp/empty.bin" --offline --cache "$tmp/c" --json
jq -e '.authentic == false and .accepted == false and (.reasons[0] | test("empty"))' "$tmp/out" >/dev/null && ok \
        || bad "empty report JSON: $(cat "$tmp/out")"
head -c 5000 /dev/urandom > "$tmp/junk.bin"
expect_exit 1 "oversized report" "$CVMCTL" verify snp "$tmp/junk.bin" --offline --cache "$tmp/c" --json
jq -e '.reasons[0] | test("5000 bytes")' "$tmp/out" >/dev/null && ok || bad "oversized reason: $(cat "$tmp/out")"

if [ ! -d "$V/snp" ]; then
        echo "SKIP: no vectors at $V: the vector cases are skipped"
        echo "$passed passed, $failed failed"
        [ "$failed" -eq 0 ]
        exit
fi

# --- every vector case through the CLI
for dir in "$V"/snp/*/; do
        id=$(basename "$dir")
        [ "$id" = roots ] && continue
        at=$(jq -r .at "$dir/case.json")
        want=$(jq -r .expected.authentic "$dir/case.json")
        if [ -f "$dir/certs/cert_table.bin" ]; then src=(--cert-table "$dir/certs/cert_table.bin"); else src=(--certs "$dir/certs"); fi
        "$CVMCTL" verify snp "$dir/report.bin" "${src[@]}" --at "$at" --offline --cache "$tmp/c" --json >"$tmp/out" 2>"$tmp/err"
        status=$?
        got=$(jq -r .authentic "$tmp/out" 2>/dev/null)
        wantstatus=1; [ "$want" = true ] && wantstatus=0
        if [ "$got" = "$want" ] && [ "$status" -eq "$wantstatus" ] && jq -e '.tee == "sev-snp"' "$tmp/out" >/dev/null; then
                ok
        else
                bad "$id: authentic=$got exit=$status, expected authentic=$want exit=$wantstatus $(jq -c .reasons "$tmp/out" 2>/dev/null)"
        fi
        # the listed fields appear in the claims
        if jq -e --slurpfile c "$dir/case.json" '
                . as $v | $c[0].expected.fields | to_entries | all(
                  .key as $k | .value as $w |
                  if ($w | type) == "object" then ($w | to_entries | all(.key as $kk | ($v.claims[$k][$kk] | tostring | ascii_downcase) == (.value | tostring | ascii_downcase)))
                  else ($v.claims[$k] | tostring | ascii_downcase) == ($w | tostring | ascii_downcase) end)' "$tmp/out" >/dev/null; then
                ok
        else
                bad "$id: claims differ from the case's fields"
        fi
done

# --- without a time, today's clock rejects the expired VLEK, naming it
c=trustee-milan-vlek-v3
"$CVMCTL" verify snp "$V/snp/$c/report.bin" --certs "$V/snp/$c/certs" --offline --cache "$tmp/c" --json >"$tmp/out"
[ $? -eq 1 ] && jq -e '.reasons | any(test("VLEK has expired"))' "$tmp/out" >/dev/null && ok || bad "expired VLEK not named"

# --- policy: debug guest is authentic but rejected, naming the rule and the claim
c=gsg-milan-v2
at=$(jq -r .at "$V/snp/$c/case.json")
# the vectors hold no AMD CRL: these policies say they check other things than revocation
echo '{"snp": {"allow_debug": false, "require_crl": false}}' > "$tmp/nodebug.json"
expect_exit 1 "debug policy" "$CVMCTL" verify snp "$V/snp/$c/report.bin" --certs "$V/snp/$c/certs" --at "$at" --offline \
        --cache "$tmp/c" --policy "$tmp/nodebug.json" --json
jq -e '.authentic == true and .accepted == false and (.reasons | any(startswith("policy.snp.allow_debug")))' "$tmp/out" >/dev/null \
        && ok || bad "debug denial: $(jq -c .reasons "$tmp/out")"
echo '{"snp": {"allow_debug": true, "require_crl": false}}' > "$tmp/debugok.json"
expect_exit 0 "debug allowed" "$CVMCTL" verify snp "$V/snp/$c/report.bin" --certs "$V/snp/$c/certs" --at "$at" --offline \
        --cache "$tmp/c" --policy "$tmp/debugok.json"
# --- a policy's default requires the host's CRL: offline with none cached, refused naming it
echo '{"snp": {"allow_debug": true}}' > "$tmp/default.json"
expect_exit 1 "CRL required by default" "$CVMCTL" verify snp "$V/snp/$c/report.bin" --certs "$V/snp/$c/certs" --at "$at" \
        --offline --cache "$tmp/c" --policy "$tmp/default.json" --json
jq -e '.accepted == false and (.reasons | any(test("CRL")))' "$tmp/out" >/dev/null && ok \
        || bad "no CRL, default policy: $(jq -c .reasons "$tmp/out")"
echo '{"snp": {"alow_debug": true}}' > "$tmp/typo.json"
expect_exit 2 "policy typo" "$CVMCTL" verify snp "$V/snp/$c/report.bin" --policy "$tmp/typo.json"
grep -q "alow_debug" "$tmp/err" && ok || bad "policy typo not named"

# --- --report-data: the guest-supplied binding
c=trustee-milan-v2
at=$(jq -r .at "$V/snp/$c/case.json")
rd=$(jq -r .expected.fields.report_data "$V/snp/$c/case.json")
expect_exit 0 "report-data match" "$CVMCTL" verify snp "$V/snp/$c/report.bin" --certs "$V/snp/$c/certs" --at "$at" --offline \
        --cache "$tmp/c" --report-data "${rd:0:64}"
expect_exit 1 "report-data mismatch" "$CVMCTL" verify snp "$V/snp/$c/report.bin" --certs "$V/snp/$c/certs" --at "$at" \
        --offline --cache "$tmp/c" --report-data 00ff --json
jq -e '.authentic == true and .accepted == false and (.reasons | any(startswith("report-data")))' "$tmp/out" >/dev/null \
        && ok || bad "report-data mismatch verdict"

# --- certificates for the wrong product are refused by name
expect_exit 1 "Genoa report with Milan chain" "$CVMCTL" verify snp "$V/snp/oak-genoa-v5/report.bin" \
        --certs "$V/snp/oak-genoa-v5/certs/vcek.der" --certs "$V/snp/roots/milan_ask.pem" --certs "$V/snp/roots/milan_ark.pem" \
        --at 2025-08-09T00:00:00Z --offline --cache "$tmp/c" --json
jq -e '.reasons | any(test("Genoa CPU but the ASK is for Milan"))' "$tmp/out" >/dev/null && ok || bad "wrong product: $(jq -c .reasons "$tmp/out")"

# --- offline with nothing cached: fails closed, says what is missing
expect_exit 1 "offline, no certificates" "$CVMCTL" verify snp "$V/snp/oak-genoa-v5/report.bin" --at 2025-08-09T00:00:00Z \
        --offline --cache "$tmp/empty-cache" --json
jq -e '.authentic == false and (.reasons | any(test("missing|cache|offline")))' "$tmp/out" >/dev/null && ok \
        || bad "offline missing: $(jq -c .reasons "$tmp/out")"

check_finish cli-snp
