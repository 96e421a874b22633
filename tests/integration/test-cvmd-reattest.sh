#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Re-attestation in cvmd, in the sandbox (tools/cvmd-sandbox) with agents that serve repeated
# exchanges (the sandbox's agent without --once): `cvmctl attest` on a running VM succeeds, the
# guest's key file is replaced (same bytes, a new file) and the token is new; a re-attestation
# the reloaded policy now refuses applies its failure action (destroyed, quarantined) and
# releases nothing; the policy's reattest_interval_sec timer re-attests by itself; a GPU driver
# reload in the guest (the simulated guest's switch, `cvmd-sandbox gpu-reload`) makes its agent
# tell cvmd, which re-attests the VM, and a refused one applies the failure action; the usage
# errors and unknown names. (A VM recovered after a restart is re-attested in the unit test
# test-cvmd-recover: the sandbox's libvirt test driver lives inside cvmd and dies with it.)
#
#   BUILD=build tests/integration/test-cvmd-reattest.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
export BUILD
CVMCTL=$PWD/$BUILD/cvmctl
export CVMD_SANDBOX_BOOT_TIMEOUT=10
CHECK_QUIET_OK=1
check_init cvmd-reattest
require_programs "$CVMCTL" "$PWD/$BUILD/cvmd" "$PWD/$BUILD/cvm-agent"
# the sandbox's agent serves one exchange (--once); a re-attestation needs one that stays
cat > "$tmp/agent" <<EOF2
#!/bin/bash
args=()
for a in "\$@"; do [ "\$a" = --once ] || args+=("\$a"); done
exec "$PWD/$BUILD/cvm-agent" "\${args[@]}"
EOF2
chmod 755 "$tmp/agent"
export CVMD_SANDBOX_AGENT=$tmp/agent
start_cvmd_sandbox
policies=$sandbox_dir/policies

# policy NAME FROM [jq filter]: policies/NAME.json from FROM's, renamed; then cvmd reloads
policy() {
        jq --arg n "$1" ".name = \$n | ${3:-.}" "$policies/$2.json" > "$policies/.$1.json" \
                && mv -f "$policies/.$1.json" "$policies/$1.json"
}
reload() {
        busctl --system call org.cvmd /org/cvmd/Manager1 org.cvmd.Manager1 ReloadPolicies > /dev/null 2> "$tmp/reload.err" \
                || bad "ReloadPolicies: $(cat "$tmp/reload.err")"
}
spec() { jq --arg n "$1" --arg p "$2" '.name = $n | .policy = $p' examples/specs/sim-dev.json; }
launch() { # name policy: the agent started, launched with --wait; prints the guest's keys dir
        local keys
        keys=$("$SANDBOX" agent "$1") || { bad "agent $1"; return 1; }
        spec "$1" "$2" > "$tmp/$1.json"
        timeout 60 "$CVMCTL" launch "$tmp/$1.json" --wait > "$tmp/$1.out" 2> "$tmp/$1.err" \
                || { bad "launch $1: $(cat "$tmp/$1.err")"; return 1; }
        echo "$keys"
}
state_of() { "$CVMCTL" status "$1" --json | jq -r .state; }
reason_of() { "$CVMCTL" status "$1" --json | jq -r '.reason // ""'; }
file_id() { stat -c '%i %Y.%y' "$1" 2> /dev/null; }

policy keep sim-dev
policy flip sim-dev
policy flipq sim-dev '.failure_action = "quarantine"'
policy tick sim-dev '.reattest_interval_sec = 5'
policy gpuflip sim-dev
reload

# --- on demand: accepted, the key file replaced with the same bytes, a new token
keys=$(launch re1 keep)
before=$(file_id "$keys/demo-key")
token1=$("$CVMCTL" token re1)
sleep 1 # a new mtime second: the replacement shows in the mtime as well as the inode
timeout 60 "$CVMCTL" attest re1 > "$tmp/attest1.out" 2> "$tmp/attest1.err"; rc=$?
[ "$rc" -eq 0 ] && ok || bad "attest re1: exit $rc: $(cat "$tmp/attest1.err")"
grep -q "^re1: running" "$tmp/attest1.out" && ok || bad "attest re1: $(cat "$tmp/attest1.out")"
[ "$(state_of re1)" = running ] && [ "$(reason_of re1)" = "re-attestation: on demand" ] && ok \
        || bad "re1 after attest: $(state_of re1): $(reason_of re1)"
cmp -s "$keys/demo-key" "$sandbox_dir/demo.key" && ok || bad "re1: the guest's key differs after the re-attestation"
after=$(file_id "$keys/demo-key")
[ -n "$after" ] && [ "$after" != "$before" ] && ok || bad "re1: the key file was not replaced ($before / $after)"
token2=$("$CVMCTL" token re1)
[ -n "$token2" ] && [ "$token2" != "$token1" ] && ok || bad "re1: no new token"
# --json: one object, the VM running
timeout 60 "$CVMCTL" attest re1 --json > "$tmp/attest2.json" 2> "$tmp/attest2.err"; rc=$?
[ "$rc" -eq 0 ] && [ "$(jq -s length "$tmp/attest2.json")" = 1 ] \
        && jq -e '.name == "re1" and .state == "running" and .released and .confirmed' "$tmp/attest2.json" > /dev/null \
        && ok || bad "attest --json: exit $rc: $(cat "$tmp/attest2.json" "$tmp/attest2.err")"
# the audit chain holds the new appraisals and still verifies
"$CVMCTL" audit --verify > /dev/null 2> "$tmp/audit.err" && ok || bad "audit --verify: $(cat "$tmp/audit.err")"

# --- refused now: the reloaded policy no longer trusts the simulator; destroyed, nothing released
keys=$(launch re2 flip)
keys_q=$(launch re3 flipq)
before=$(file_id "$keys/demo-key")
before_q=$(file_id "$keys_q/demo-key")
policy flip production
policy flipq production '.failure_action = "quarantine"'
reload
sleep 1
timeout 60 "$CVMCTL" attest re2 > "$tmp/attest3.out" 2> "$tmp/attest3.err"; rc=$?
[ "$rc" -eq 1 ] && ok || bad "attest re2 under a refusing policy: exit $rc: $(cat "$tmp/attest3.out" "$tmp/attest3.err")"
[ "$(state_of re2)" = failed ] && reason_of re2 | grep -q "^re-attestation: on demand: failed: .*ark" && ok \
        || bad "re2: $(state_of re2): $(reason_of re2)"
[ "$(file_id "$keys/demo-key")" = "$before" ] && ok || bad "re2: a key was released to a refused guest"
"$CVMCTL" token re2 > /dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] && ok || bad "token of a VM whose re-attestation failed: exit $rc"
timeout 60 "$CVMCTL" attest re3 --json > "$tmp/attest4.json" 2> "$tmp/attest4.err"; rc=$?
[ "$rc" -eq 1 ] && jq -e '.state == "quarantined"' "$tmp/attest4.json" > /dev/null && ok \
        || bad "attest re3 (quarantine): exit $rc: $(cat "$tmp/attest4.json" "$tmp/attest4.err")"
[ "$(file_id "$keys_q/demo-key")" = "$before_q" ] && ok || bad "re3: a key was released to a refused guest"
# a VM that is not running is not attested again
"$CVMCTL" attest re2 > /dev/null 2> "$tmp/attest5.err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "failed" "$tmp/attest5.err" && ok || bad "attest of a failed VM: exit $rc: $(cat "$tmp/attest5.err")"

# --- the policy's timer: re-attested by itself, the key file replaced
keys=$(launch re4 tick)
before=$(file_id "$keys/demo-key")
seen=
for _ in $(seq 150); do
        [ "$(reason_of re4)" = "re-attestation: timer" ] && [ "$(file_id "$keys/demo-key")" != "$before" ] \
                && { seen=1; break; }
        sleep 0.2
done
[ -n "$seen" ] && [ "$(state_of re4)" = running ] && ok \
        || bad "re4: no timer re-attestation: $(state_of re4): $(reason_of re4)"
cmp -s "$keys/demo-key" "$sandbox_dir/demo.key" && ok || bad "re4: the guest's key differs"

# --- the guest's GPU driver was reloaded: its agent tells cvmd, which attests it again
wait_reason() { # name reason-regex: up to 30 s
        for _ in $(seq 150); do
                reason_of "$1" | grep -qE "$2" && return 0
                sleep 0.2
        done
        return 1
}
keys=$(launch gr1 keep)
before=$(file_id "$keys/demo-key")
token1=$("$CVMCTL" token gr1)
sleep 1
"$SANDBOX" gpu-reload gr1 || bad "gpu-reload gr1"
wait_reason gr1 '^re-attestation: GPU driver reload$' && [ "$(state_of gr1)" = running ] && ok \
        || bad "gr1: no re-attestation on a GPU driver reload: $(state_of gr1): $(reason_of gr1)"
after=$(file_id "$keys/demo-key")
[ -n "$after" ] && [ "$after" != "$before" ] && cmp -s "$keys/demo-key" "$sandbox_dir/demo.key" && ok \
        || bad "gr1: the key file was not replaced with the same key ($before / $after)"
[ "$("$CVMCTL" token gr1)" != "$token1" ] && ok || bad "gr1: no new token after the re-attestation"
grep -q "GPU driver reload: told the host" "$sandbox_dir/agents/gr1.log" && ok \
        || bad "gr1: the agent did not tell the host: $(tail -3 "$sandbox_dir/agents/gr1.log")"
# a burst of reloads: coalesced, rate-limited; the VM stays running and attested
"$SANDBOX" gpu-reload gr1; sleep 0.3; "$SANDBOX" gpu-reload gr1
sleep 1
[ "$(state_of gr1)" = running ] || [ "$(state_of gr1)" = attesting ] || [ "$(state_of gr1)" = releasing ] && ok \
        || bad "gr1 after a burst of reloads: $(state_of gr1): $(reason_of gr1)"
# refused now: the reloaded policy no longer trusts the simulator; the failure action applies
keys=$(launch gr2 gpuflip)
before=$(file_id "$keys/demo-key")
policy gpuflip production
reload
"$SANDBOX" gpu-reload gr2 || bad "gpu-reload gr2"
wait_reason gr2 '^re-attestation: GPU driver reload: failed: ' && [ "$(state_of gr2)" = failed ] && ok \
        || bad "gr2: a refused re-attestation after a reload did not fail it: $(state_of gr2): $(reason_of gr2)"
[ "$(file_id "$keys/demo-key")" = "$before" ] && ok || bad "gr2: a key was released to a refused guest"
"$CVMCTL" token gr2 > /dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] && ok || bad "token of gr2 after its failed re-attestation: exit $rc"

# --- usage and names
"$CVMCTL" attest > /dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok || bad "attest without NAME: exit $rc"
"$CVMCTL" attest no-such-vm > /dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok || bad "attest of an unknown VM: exit $rc"
"$CVMCTL" attest re1 --bogus > /dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok || bad "attest --bogus: exit $rc"

check_finish
