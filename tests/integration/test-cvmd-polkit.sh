#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cvmd's callers outside root and the cvmd group, decided by a real polkitd on the sandbox's
# private bus: with a rule that grants `nobody` org.cvmd.read only, nobody may list and read,
# and is refused Launch, Stop and GetToken (org.cvmd.manage, org.cvmd.token) naming the action;
# once polkitd is gone, nobody is refused everything again, and the daemon keeps answering.
#
# polkitd reads actions and rules only from the system's directories: the test installs
# systemd/org.cvmd.policy (as `make install` does) and a rule of its own, and removes what it
# added.
#
#   BUILD=build tests/integration/test-cvmd-polkit.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
export BUILD
CVMCTL=$PWD/$BUILD/cvmctl
POLKITD=${POLKITD:-/usr/lib/polkit-1/polkitd}
ACTIONS=/usr/share/polkit-1/actions/org.cvmd.policy
RULE=/etc/polkit-1/rules.d/49-cvmd-test-$$.rules
export CVMD_SANDBOX_BOOT_TIMEOUT=5
CHECK_QUIET_OK=1
check_init cvmd-polkit
polkit_pid=''
# set when this script installed the actions file: the at_exit command removes it then
added_actions=''
stop_at_exit polkit_pid
at_exit '[ -n "$added_actions" ] && rm -f "$ACTIONS"; rm -f "$RULE"'

[ -x "$POLKITD" ] || give_up "$POLKITD is missing (Debian package polkitd; tools/install-deps.sh installs it)"
[ "$(id -u)" -eq 0 ] || give_up "needs root: it runs a polkitd and calls as nobody"
if [ ! -f "$ACTIONS" ]; then
        # shellcheck disable=SC2034  # read by the at_exit command
        install -Dm0644 systemd/org.cvmd.policy "$ACTIONS" && added_actions=1
elif ! cmp -s systemd/org.cvmd.policy "$ACTIONS"; then
        give_up "$ACTIONS differs from systemd/org.cvmd.policy (an older install?)"
fi
mkdir -p "$(dirname "$RULE")"
cat > "$RULE" << 'EOF'
// cvmd's polkit test: nobody may read cvmd's state, nothing more.
polkit.addRule(function(action, subject) {
        if (action.id == "org.cvmd.read" && subject.user == "nobody")
                return polkit.Result.YES;
});
EOF

start_cvmd_sandbox

# a VM to read and to try to stop
jq '.name = "job1" | .policy = "sim-dev"' examples/specs/sim-dev.json > "$tmp/job1.json"
"$SANDBOX" agent job1 > /dev/null 2>&1 &
timeout 60 "$CVMCTL" launch "$tmp/job1.json" --wait > /dev/null 2> "$tmp/launch.err" && ok \
        || bad "launch as root: $(cat "$tmp/launch.err")"

# nobody may not reach a checkout under a private home: a copy it can run and read
chmod 711 "$tmp" && mkdir -m 755 "$tmp/pub" && install -m 755 "$CVMCTL" "$tmp/pub/cvmctl" \
        && install -m 644 "$tmp/job1.json" "$tmp/pub/spec.json" || bad "cannot make a copy for nobody"
as_nobody() { runuser -u nobody -- "$tmp/pub/cvmctl" "$@"; }

# --- polkitd on the sandbox's bus
DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS setsid "$POLKITD" --no-debug > "$tmp/polkitd.log" 2>&1 &
polkit_pid=$!
for _ in $(seq 100); do
        busctl --system status org.freedesktop.PolicyKit1 > /dev/null 2>&1 && break
        sleep 0.1
done
busctl --system status org.freedesktop.PolicyKit1 > /dev/null 2>&1 && ok \
        || bad "polkitd did not take its name on the sandbox's bus: $(cat "$tmp/polkitd.log")"

as_nobody list --json > "$tmp/list.json" 2> "$tmp/list.err"; rc=$?
[ "$rc" -eq 0 ] && jq -e '.vms | map(.name) | index("job1") != null' "$tmp/list.json" > /dev/null && ok \
        || bad "nobody, allowed org.cvmd.read: list: exit $rc: $(cat "$tmp/list.err")"
as_nobody status job1 --json > "$tmp/status.json" 2> "$tmp/status.err"; rc=$?
[ "$rc" -eq 0 ] && jq -e '.state == "running"' "$tmp/status.json" > /dev/null && ok \
        || bad "nobody, allowed org.cvmd.read: status: exit $rc: $(cat "$tmp/status.err")"
as_nobody stop job1 > /dev/null 2> "$tmp/stop.err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "authorised by polkit for org.cvmd.manage" "$tmp/stop.err" && ok \
        || bad "nobody: stop: exit $rc: $(cat "$tmp/stop.err")"
[ "$("$CVMCTL" status job1 --json | jq -r .state)" = running ] && ok || bad "job1 stopped on nobody's word"
as_nobody token job1 > /dev/null 2> "$tmp/token.err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "org.cvmd.token" "$tmp/token.err" && ok || bad "nobody: token: exit $rc: $(cat "$tmp/token.err")"
as_nobody launch "$tmp/pub/spec.json" > /dev/null 2> "$tmp/launch2.err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "org.cvmd.manage" "$tmp/launch2.err" && ok \
        || bad "nobody: launch: exit $rc: $(cat "$tmp/launch2.err")"

# --- polkitd gone: refused, and cvmd still answers root
kill "$polkit_pid" 2> /dev/null
wait "$polkit_pid" 2> /dev/null
polkit_pid=
as_nobody list > /dev/null 2> "$tmp/list2.err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "polkit did not answer" "$tmp/list2.err" && ok \
        || bad "nobody without polkitd: list: exit $rc: $(cat "$tmp/list2.err")"
"$CVMCTL" list > /dev/null 2> "$tmp/list3.err" && ok || bad "root: list after polkitd left: $(cat "$tmp/list3.err")"

check_finish
