# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The scaffolding every integration script needs, in one place: a temporary directory that is
# removed on exit together with the background processes the script started, and one way to
# count checks and report them. Source it, then call check_init:
#
#   . "$(dirname "$0")/../lib/check.sh"
#   check_init [NAME]           # sets $tmp; traps EXIT; NAME (default: the script's) for reports
#   track_pid $!                # a background process to stop at exit
#   at_exit 'rm -rf "$keys"'    # more cleanup, run before $tmp is removed
#   ok "what held"              # counts a passed check
#   fail "what did not" [FILE]  # counts a failed one; shows FILE's last 20 lines
#   bad "what did not"          # the same, for scripts that report only failures
#   give_up "why"               # a failure that makes the rest meaningless: reported, script ends
#   check_finish [NAME]         # "NAME: N passed, N failed"; non-zero if anything failed
#
# A script whose checks never ran must not pass: check_finish also fails when nothing was
# counted at all.

passed=0
failed=0
_check_pids=()
_check_exit_cmds=()

_check_cleanup() {
        local p c
        for c in "${_check_exit_cmds[@]}"; do
                eval "$c" || true
        done
        for p in "${_check_pids[@]}"; do
                kill "$p" 2>/dev/null || true
                wait "$p" 2>/dev/null || true
        done
        [ -n "${tmp:-}" ] && rm -rf "$tmp"
        return 0
}

check_init() {
        check_name=${1:-$(basename "$0" .sh)}
        tmp=$(mktemp -d)
        trap _check_cleanup EXIT
}

track_pid() { _check_pids+=("$1"); }
at_exit() { _check_exit_cmds+=("$1"); }

ok() {
        [ "${CHECK_QUIET_OK:-0}" = 1 ] || echo "  ok    $1"
        passed=$((passed + 1))
}

fail() {
        echo "  FAIL  $1"
        shift
        if [ $# -gt 0 ] && [ -f "$1" ]; then
                sed 's/^/        | /' "$1" | tail -20
        fi
        failed=$((failed + 1))
}

bad() { fail "$*"; }

# require_programs PROGRAM...: every one must be built (or installed) before the script runs.
require_programs() {
        local b
        for b in "$@"; do
                if [ ! -x "$b" ]; then
                        echo "missing $b: build it first (make $b)" >&2
                        exit 1
                fi
        done
}

# start_port_server NAME PROGRAM ARGS...: starts a test server that writes its port to
# $tmp/NAME.port (--port-file); sets $port and $server_pid. The server's stderr is $tmp/NAME.err,
# shown if it does not start.
start_port_server() {
        local name=$1 prog=$2
        shift 2
        rm -f "$tmp/$name.port"
        "$prog" --port-file "$tmp/$name.port" "$@" 2>"$tmp/$name.err" &
        server_pid=$!
        track_pid $server_pid
        for _ in $(seq 1 200); do
                [ -s "$tmp/$name.port" ] && break
                kill -0 "$server_pid" 2>/dev/null || break
                sleep 0.05
        done
        if [ ! -s "$tmp/$name.port" ]; then
                echo "$(basename "$prog") ($name) did not start" >&2
                cat "$tmp/$name.err" >&2
                exit 1
        fi
        port=$(cat "$tmp/$name.port")
}

# expect_exit STATUS DESCRIPTION COMMAND...: the command exits with STATUS; its stdout and stderr
# are left in $tmp/out and $tmp/err for further checks.
expect_exit() {
        local want=$1 what=$2 got
        shift 2
        "$@" >"$tmp/out" 2>"$tmp/err"
        got=$?
        if [ "$got" -eq "$want" ]; then ok "$what"; else bad "$what: exit $got, expected $want; stderr: $(head -3 "$tmp/err")"; fi
}

# guest_keys_dir NAME: a fresh directory on tmpfs for a guest agent's installed keys (keys must
# never reach a disk, even in tests), removed at exit; sets $keys.
guest_keys_dir() {
        keys=$(mktemp -d "/dev/shm/cvmd-test-$1.XXXXXX")
        at_exit 'rm -rf "$keys"'
}

# give_up WHY: a failure after which the remaining checks mean nothing (a server that did not
# start): counted and reported, and the script ends failing.
give_up() {
        fail "$1"
        check_finish
        exit 1
}

# start_cvmd_sandbox [OPTIONS...]: cvmd in its sandbox (tools/cvmd-sandbox start OPTIONS: a
# private dbus-daemon, libvirt's test driver, the simulator), stopped at exit. Its environment
# is sourced; sets $SANDBOX and $sandbox_dir. The script gives up if it does not start.
start_cvmd_sandbox() {
        SANDBOX=${SANDBOX:-$PWD/tools/cvmd-sandbox}
        if ! "$SANDBOX" start "$@" >"$tmp/sandbox.env" 2>"$tmp/sandbox-start.log"; then
                give_up "the sandbox did not start: $(cat "$tmp/sandbox-start.log")"
        fi
        # shellcheck disable=SC1091
        . "$tmp/sandbox.env"
        sandbox_dir=$CVMD_SANDBOX_DIR
        at_exit '[ -n "${sandbox_dir:-}" ] && "$SANDBOX" stop "$sandbox_dir"'
}

# stop_at_exit VAR...: the processes whose PIDs are in these variables at exit are killed then.
stop_at_exit() {
        local v
        for v in "$@"; do
                at_exit "[ -n \"\${$v:-}\" ] && kill \"\$$v\" 2>/dev/null"
        done
}

check_finish() {
        local name=${1:-$check_name}
        echo "$name: $passed passed, $failed failed"
        if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
                echo "$name: no check ran" >&2
                return 1
        fi
        [ "$failed" -eq 0 ]
}
