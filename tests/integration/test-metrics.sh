#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cvmd's HTTP listener, checked by tools that are not ours: tests/helpers/metrics-serve serves
# the daemon's standard metrics and token keys on a free 127.0.0.1 port; curl scrapes /metrics
# and `promtool check metrics` (Debian's prometheus package) must accept it; python3-jwt
# verifies two tokens (one from before a key rotation) against the served JWKS and refuses a
# tampered one; unknown paths are 404, other methods 405, HEAD has no body.
# promtool is required: without it this test fails, it does not skip.
#
#   BUILD=build tests/integration/test-metrics.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/check.sh

BUILD=${BUILD:-build}
SERVER=$BUILD/tests/metrics-serve
# Debian's python3-jwt is installed for the system interpreter, not for one found first in PATH.
PYTHON=${PYTHON:-/usr/bin/python3}

require_programs "$SERVER"

find_promtool() {
        local p
        for p in "${PROMTOOL:-}" "$(command -v promtool 2>/dev/null || true)" /var/cache/cvmd-tools/promtool \
                "$BUILD/tools/promtool" build/tools/promtool; do
                if [ -n "$p" ] && [ -x "$p" ]; then
                        echo "$p"
                        return 0
                fi
        done
        return 1
}
if ! promtool=$(find_promtool); then
        tools/install-deps.sh promtool >&2 || true
        if ! promtool=$(find_promtool); then
                echo "FAIL: no promtool (run tools/install-deps.sh promtool as root, or set PROMTOOL)" >&2
                exit 1
        fi
fi
for tool in curl "$PYTHON"; do
        if ! command -v "$tool" >/dev/null; then
                echo "FAIL: no $tool (run tools/install-deps.sh as root)" >&2
                exit 1
        fi
done
if ! "$PYTHON" -c 'import jwt, jwt.algorithms; assert jwt.algorithms.has_crypto' 2>/dev/null; then
        echo "FAIL: $PYTHON has no python3-jwt with cryptography (run tools/install-deps.sh as root)" >&2
        exit 1
fi

check_init

check() { # NAME COMMAND... : ok when COMMAND succeeds; its output is shown when it does not
        local name=$1
        shift
        if "$@" >"$tmp/out" 2>&1; then ok "$name"; else fail "$name" "$tmp/out"; fi
}

start_port_server metrics-serve "$SERVER" --state-dir "$tmp/state" --token-file "$tmp/token" \
        --old-token-file "$tmp/old-token"
base=http://127.0.0.1:$port
echo "metrics-serve on $base (promtool: $promtool)"

# /metrics
curl -fsS -D "$tmp/metrics.headers" -o "$tmp/metrics.txt" "$base/metrics"
check "/metrics is text/plain; version=0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/metrics.headers"
check "promtool check metrics accepts /metrics" sh -c "'$promtool' check metrics <'$tmp/metrics.txt'"
for want in 'sev_snp_attestation_success_total 1' 'sev_snp_attestation_failure_total 1' \
        'tdx_quote_latency_seconds_bucket{le="0.05"} 1' \
        'cvmd_attestations_total{tee="tdx",result="accepted"} 1' \
        'cvmd_attestation_duration_seconds_count{tee="sev-snp",phase="total"} 2' \
        'cvmd_launch_duration_seconds_bucket{phase="boot",le="+Inf"} 1' \
        'cvmd_key_releases_total 2' 'cvmd_vms{state="running"} 1' \
        'cvmd_collateral_cache_age_seconds{vendor="amd"} 3600' \
        'cvmd_collateral_fetch_failures_total{vendor="intel"} 1' \
        'metrics_serve_escaping_total{value="a\"b\\c\nd"} 1'; do
        check "/metrics has: $want" grep -qxF "$want" "$tmp/metrics.txt"
done

# /.well-known/jwks.json, checked with python3-jwt
curl -fsS -D "$tmp/jwks.headers" -o "$tmp/jwks.json" "$base/.well-known/jwks.json"
check "JWKS is application/json" grep -qi '^content-type: application/json' "$tmp/jwks.headers"
cat >"$tmp/verify.py" <<'EOF'
import base64, hashlib, json, sys
import jwt
from jwt.algorithms import ECAlgorithm

jwks = json.load(open(sys.argv[1]))
keys = {k["kid"]: k for k in jwks["keys"]}
assert len(keys) == 2, "expected the current and the previous key, got %d" % len(keys)
for k in jwks["keys"]:
    assert k["kty"] == "EC" and k["crv"] == "P-256" and k["alg"] == "ES256" and k["use"] == "sig", k
    assert "d" not in k, "private key published"
    # kid is the RFC 7638 thumbprint, recomputed here
    canon = json.dumps({m: k[m] for m in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    thumb = base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()
    assert k["kid"] == thumb, (k["kid"], thumb)

def verify(token):
    kid = jwt.get_unverified_header(token)["kid"]
    key = ECAlgorithm.from_jwk(json.dumps(keys[kid]))
    return jwt.decode(token, key, algorithms=["ES256"], options={"require": ["exp", "iat"]})

for path in sys.argv[2:4]:
    claims = verify(open(path).read().strip())
    assert claims["iss"] == "cvmd" and claims["ear.status"] == "affirming", claims
    print("verified", path, "kid", jwt.get_unverified_header(open(path).read().strip())["kid"])

# a changed claim must not verify
token = open(sys.argv[2]).read().strip()
h, p, s = token.split(".")
claims = json.loads(jwt.utils.base64url_decode(p))
claims["ear.status"] = "contraindicated"
forged = ".".join([h, jwt.utils.base64url_encode(json.dumps(claims).encode()).decode(), s])
try:
    verify(forged)
except jwt.InvalidSignatureError:
    print("forged token refused")
else:
    sys.exit("a forged token verified")
EOF
check "python3-jwt verifies the tokens with the served JWKS" \
        "$PYTHON" "$tmp/verify.py" "$tmp/jwks.json" "$tmp/token" "$tmp/old-token"

# Other paths and methods
status() { curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@"; }
check "GET /nope is 404" test "$(status "$base/nope")" = 404
check "GET / is 404" test "$(status "$base/")" = 404
check "GET /metrics/ is 404" test "$(status "$base/metrics/")" = 404
check "POST /metrics is 405" test "$(status -X POST -d x=1 "$base/metrics")" = 405
check "405 says Allow: GET, HEAD" grep -qi '^allow: GET, HEAD' "$tmp/headers"
check "DELETE /.well-known/jwks.json is 405" test "$(status -X DELETE "$base/.well-known/jwks.json")" = 405
check "HEAD /metrics is 200" test "$(status -I "$base/metrics")" = 200
# curl -I writes the headers where the body would go: ask over a bare socket instead.
head_raw() {
        exec 3<>"/dev/tcp/127.0.0.1/$port"
        printf 'HEAD /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
        cat <&3 >"$tmp/head.raw"
        exec 3<&-
        # nothing after the blank line that ends the headers
        test "$(sed -n '/^\r$/,$p' "$tmp/head.raw" | wc -c)" -eq 2
}
check "HEAD has no body" head_raw
check "GET /metrics?x=1 is 200" test "$(status "$base/metrics?x=1")" = 200

# The key file the listener's keys came from
check "token key is mode 0600" test "$(stat -c %a "$tmp/state/token-signing-key.pem")" = 600

check_finish test-metrics
