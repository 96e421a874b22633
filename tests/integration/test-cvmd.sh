#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cvmd end to end through cvmctl over D-Bus, in the sandbox (tools/cvmd-sandbox: a private
# dbus-daemon, libvirt's test driver, the SEV-SNP simulator): a launch reaches running and the
# guest gets the key; a policy that does not trust the simulator refuses (failed, or quarantined)
# and releases nothing; an invalid spec is InvalidArgs (exit 2) naming the field; a guest that
# never answers fails at the boot timeout; list/status/stop/token, the token verified by
# python3-jwt against the served JWKS; a caller outside root and the cvmd group is refused; 50
# launches at once all reach running; /metrics counts them.
#
#   BUILD=build tests/integration/test-cvmd.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
export BUILD
CVMCTL=$PWD/$BUILD/cvmctl
PYTHON=${PYTHON:-/usr/bin/python3}
BULK=${CVMD_TEST_BULK:-50}
export CVMD_SANDBOX_BOOT_TIMEOUT=5
CHECK_QUIET_OK=1
check_init cvmd
require_programs "$CVMCTL" "$PWD/$BUILD/cvmd" "$PWD/$BUILD/cvm-agent"
start_cvmd_sandbox
JWKS_URL=${CVMD_METRICS_URL%/metrics}/.well-known/jwks.json

spec() { # name policy > spec
        jq --arg n "$1" --arg p "$2" '.name = $n | .policy = $p' examples/specs/sim-dev.json
}
agent() { "$SANDBOX" agent "$1"; }
launch() { # name policy [cvmctl options...]: spec written, launched with --wait; exit status
        local name=$1 policy=$2
        shift 2
        spec "$name" "$policy" > "$tmp/$name.json"
        timeout 60 "$CVMCTL" launch "$tmp/$name.json" --wait "$@" > "$tmp/$name.out" 2> "$tmp/$name.err"
}
state_of() { "$CVMCTL" status "$1" --json | jq -r .state; }

# --- a launch that reaches running, and the guest gets the key
keys=$(agent job1) || bad "agent job1"
launch job1 sim-dev; rc=$?
[ "$rc" -eq 0 ] && ok || bad "launch job1: exit $rc: $(cat "$tmp/job1.err")"
[ "$(grep -oE ': (defined|booting|attesting|releasing|running)$' "$tmp/job1.err" | tr -d ': \n' | tr '\n' ' ')" \
        = "definedbootingattestingreleasingrunning" ] && ok || bad "job1: phases on stderr: $(cat "$tmp/job1.err")"
[ "$(tail -1 "$tmp/job1.out" | cut -d: -f1-2)" = "job1: running" ] && ok || bad "job1: final line: $(cat "$tmp/job1.out")"
cmp -s "$keys/demo-key" "$sandbox_dir/demo.key" && ok || bad "job1: the guest's key differs from the original"

# --json: exactly one object, the VM as cvmd describes it
keys2=$(agent job2) || bad "agent job2"
launch job2 sim-dev --json; rc=$?
[ "$rc" -eq 0 ] && ok || bad "launch job2 --json: exit $rc: $(cat "$tmp/job2.err")"
[ "$(jq -s length "$tmp/job2.out" 2>/dev/null)" = 1 ] && ok || bad "launch --json: not one JSON object: $(cat "$tmp/job2.out")"
jq -e '.name == "job2" and .state == "running" and .released and .confirmed and (.launch_digest | length) == 96' \
        "$tmp/job2.out" > /dev/null && ok || bad "launch --json: $(cat "$tmp/job2.out")"
cmp -s "$keys2/demo-key" "$sandbox_dir/demo.key" && ok || bad "job2: the guest's key differs"

# --- refused by a policy that does not trust the simulator: failed, a reason, no key
keys=$(agent refused1) || bad "agent refused1"
launch refused1 production; rc=$?
[ "$rc" -eq 1 ] && ok || bad "refused launch: exit $rc: $(cat "$tmp/refused1.err")"
grep -q "^refused1: failed: .*ark" "$tmp/refused1.out" && ok || bad "refused1: final line: $(cat "$tmp/refused1.out")"
"$CVMCTL" status refused1 --json > "$tmp/refused1.status"
jq -e '.state == "failed" and (.reason | length) > 0 and (.released | not) and (.confirmed | not)' "$tmp/refused1.status" \
        > /dev/null && ok || bad "refused1 status: $(cat "$tmp/refused1.status")"
[ -z "$(ls -A "$keys")" ] && ok || bad "refused1: a key reached the guest"
"$CVMCTL" token refused1 > /dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] && ok || bad "token of a failed VM: exit $rc"

# --- quarantined under a policy that says so: kept, no key
keys=$(agent suspect1) || bad "agent suspect1"
launch suspect1 quarantine; rc=$?
[ "$rc" -eq 1 ] && [ "$(state_of suspect1)" = quarantined ] && ok \
        || bad "quarantine: exit $rc, state $(state_of suspect1): $(cat "$tmp/suspect1.err")"
[ -z "$(ls -A "$keys")" ] && ok || bad "suspect1: a key reached the guest"

# --- invalid specs: InvalidArgs, exit 2, the field named
timeout 20 "$CVMCTL" launch examples/specs/invalid-vcpus.json --wait > /dev/null 2> "$tmp/invalid.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "vcpus" "$tmp/invalid.err" && ok || bad "invalid vcpus: exit $rc: $(cat "$tmp/invalid.err")"
spec nopol no-such-policy > "$tmp/nopol.json"
timeout 20 "$CVMCTL" launch "$tmp/nopol.json" > /dev/null 2> "$tmp/nopol.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "policy" "$tmp/nopol.err" && ok || bad "unknown policy: exit $rc: $(cat "$tmp/nopol.err")"
"$CVMCTL" launch /nonexistent.json > /dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok || bad "unreadable spec: exit $rc"
"$CVMCTL" launch "$tmp/nopol.json" --policy x > /dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok || bad "an in-process option without --connect: exit $rc"

# --- an agent that never answers: failed after BootTimeoutSec
start=$SECONDS
launch silent1 sim-dev; rc=$?
took=$((SECONDS - start))
[ "$rc" -eq 1 ] && [ "$took" -ge 3 ] && [ "$took" -le 20 ] && ok || bad "silent agent: exit $rc after ${took}s"
[ "$(state_of silent1)" = failed ] && grep -q "did not answer" "$tmp/silent1.out" && ok \
        || bad "silent1: $(cat "$tmp/silent1.out")"

# --- list and status
"$CVMCTL" list --json > "$tmp/list.json"; rc=$?
[ "$rc" -eq 0 ] && jq -e '[.vms[] | "\(.name)=\(.state)"] | contains(["job1=running", "job2=running",
        "refused1=failed", "suspect1=quarantined", "silent1=failed"])' "$tmp/list.json" > /dev/null && ok \
        || bad "list --json: exit $rc: $(cat "$tmp/list.json")"
"$CVMCTL" list | grep -qE '^job1 +running' && ok || bad "list: $("$CVMCTL" list 2>&1)"
"$CVMCTL" status job1 --json > "$tmp/status.json"
jq -e '.name == "job1" and .state == "running" and .released and .confirmed and .policy == "sim-dev"' \
        "$tmp/status.json" > /dev/null && ok || bad "status --json: $(cat "$tmp/status.json")"
"$CVMCTL" status no-such-vm > /dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok || bad "status of an unknown VM: exit $rc"

# --- the token verifies against the served JWKS, with a JWT library that is not ours
"$CVMCTL" token job1 > "$tmp/token"; rc=$?
[ "$rc" -eq 0 ] && ok || bad "token job1: exit $rc"
curl -fsS -o "$tmp/jwks.json" "$JWKS_URL" || bad "cannot fetch $JWKS_URL"
cat > "$tmp/verify.py" <<'EOF2'
import json, sys
import jwt
from jwt.algorithms import ECAlgorithm

keys = {k["kid"]: k for k in json.load(open(sys.argv[1]))["keys"]}
token = open(sys.argv[2]).read().strip()
key = ECAlgorithm.from_jwk(json.dumps(keys[jwt.get_unverified_header(token)["kid"]]))
claims = jwt.decode(token, key, algorithms=["ES256"], options={"require": ["exp", "iat"]})
assert claims["iss"] == "cvmd" and claims["accepted"] is True, claims
# EAR-shaped: affirming, under the spec's policy, for 30 minutes by default
assert claims["ear.status"] == "affirming" and claims["ear.appraisal-policy-id"] == "sim-dev", claims
assert claims["eat_profile"] == "tag:github.com,2023:veraison/ear" and claims["exp"] - claims["iat"] == 1800, claims
h, p, s = token.split(".")
c = json.loads(jwt.utils.base64url_decode(p))
c["accepted"] = False
forged = ".".join([h, jwt.utils.base64url_encode(json.dumps(c).encode()).decode(), s])
try:
    jwt.decode(forged, key, algorithms=["ES256"])
except jwt.InvalidSignatureError:
    print("verified; a forged token refused")
else:
    sys.exit("a forged token verified")
EOF2
"$PYTHON" "$tmp/verify.py" "$tmp/jwks.json" "$tmp/token" > "$tmp/verify.out" 2>&1 && ok \
        || bad "python3-jwt: $(cat "$tmp/verify.out")"
"$CVMCTL" token job1 --json | jq -e --rawfile t "$tmp/token" '.name == "job1" and .token + "\n" == $t' > /dev/null && ok \
        || bad "token --json"

# --- callers outside root and the cvmd group are refused
# nobody may not reach a checkout under a private home (CI's may be): a copy it can run and read
chmod 711 "$tmp" && mkdir -m 755 "$tmp/pub" && install -m 755 "$CVMCTL" "$tmp/pub/cvmctl" \
        && install -m 644 examples/specs/sim-dev.json "$tmp/pub/spec.json" || bad "cannot make a copy for nobody"
runuser -u nobody -- "$tmp/pub/cvmctl" list > /dev/null 2> "$tmp/nobody.err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "access denied" "$tmp/nobody.err" && ok || bad "nobody: list: exit $rc: $(cat "$tmp/nobody.err")"
runuser -u nobody -- "$tmp/pub/cvmctl" launch "$tmp/pub/spec.json" > /dev/null 2> "$tmp/nobody.err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "access denied" "$tmp/nobody.err" && ok || bad "nobody: launch: exit $rc: $(cat "$tmp/nobody.err")"
runuser -u nobody -- busctl --system call org.cvmd /org/cvmd/Manager1 org.cvmd.Manager1 Stop s job1 \
        > /dev/null 2> "$tmp/nobody.err"
grep -qi "access denied" "$tmp/nobody.err" && [ "$(state_of job1)" = running ] && ok \
        || bad "nobody: busctl Stop: $(cat "$tmp/nobody.err")"

# --- stop
"$CVMCTL" stop job2 > /dev/null 2>&1; rc=$?
[ "$rc" -eq 0 ] && ok || bad "stop job2: exit $rc"
for _ in $(seq 50); do [ "$(state_of job2)" = stopped ] && break; sleep 0.1; done
[ "$(state_of job2)" = stopped ] && ok || bad "job2 is $(state_of job2) after stop"
"$CVMCTL" stop no-such-vm > /dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok || bad "stop of an unknown VM: exit $rc"

# --- many launches at once, all to running, within 120 s
for i in $(seq "$BULK"); do
        agent "bulk$i" > /dev/null || bad "agent bulk$i"
        spec "bulk$i" sim-dev > "$tmp/bulk$i.json"
done
start=$SECONDS
pids=()
for i in $(seq "$BULK"); do
        timeout 120 "$CVMCTL" launch "$tmp/bulk$i.json" --wait > "$tmp/bulk$i.out" 2> "$tmp/bulk$i.err" &
        pids+=($!)
done
running=0
for i in "${!pids[@]}"; do
        wait "${pids[$i]}" && running=$((running + 1))
done
took=$((SECONDS - start))
[ "$running" -eq "$BULK" ] && ok || bad "$BULK launches at once: $running reached running in ${took}s: $(
        for i in $(seq "$BULK"); do grep -vh "running$" "$tmp/bulk$i.out"; done | sort | uniq -c | head -5)"
echo "$BULK launches at once: $running running in ${took}s"
for i in $(seq "$BULK"); do cmp -s "$CVMD_SANDBOX_KEYS_DIR/bulk$i/demo-key" "$sandbox_dir/demo.key" || break; done \
        && ok || bad "a bulk guest has no key or a wrong one"

# --- /metrics counts the running VMs: job1 and the bulk launches
want=$((1 + running))
curl -fsS -o "$tmp/metrics.txt" "$CVMD_METRICS_URL" || bad "cannot scrape $CVMD_METRICS_URL"
grep -qxF "cvmd_vms{state=\"running\"} $want" "$tmp/metrics.txt" && ok \
        || bad "metrics: want running $want: $(grep '^cvmd_vms' "$tmp/metrics.txt")"
[ "$("$CVMCTL" list --json | jq '[.vms[] | select(.state == "running")] | length')" = "$want" ] && ok \
        || bad "list: running count is not $want"

check_finish
