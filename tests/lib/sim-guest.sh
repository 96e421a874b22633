# shellcheck shell=bash
# Sourced, from the repository root, by the integration scripts that run a simulated guest agent
# (cvm-agent --listen unix:...) against cvmctl, some of them launching on libvirt's test driver.
# It sources tests/lib/check.sh, releaser.sh and secrets.sh (a released key must not leak), and
# sets BUILD (default build), and CVMCTL and AGENT, the programs built there.
#
#   guest_test_init NAME      check_init NAME with ok taking no argument; $keys, the guest's keys
#                             on tmpfs (guest_keys_dir NAME); $agent_pid, stopped at exit if
#                             still set; then the script works in $tmp
#   wait_for_socket PATH      waits up to 5 s for the agent to listen at PATH (a script's next
#                             step then fails on its own, naming what it could not reach)
#   stop_agent [TENTHS]       an agent started with --once ends by itself after its exchange:
#                             waits up to TENTHS tenths of a second (30) for $agent_pid to end,
#                             then stops it; clears $agent_pid
#   write_test_host           caps.xml and domcaps.xml in the current directory: the host that
#                             render and launch plan for (--host-caps, --domcaps): one NUMA cell of
#                             8 CPUs with 2 MiB pages, and neither SEV-SNP nor TDX offered

. tests/lib/check.sh
. tests/lib/releaser.sh
. tests/lib/secrets.sh
BUILD=${BUILD:-build}
# shellcheck disable=SC2034 # the sourcing scripts run them
CVMCTL=$PWD/$BUILD/cvmctl AGENT=$PWD/$BUILD/cvm-agent

guest_test_init() {
        CHECK_QUIET_OK=1
        check_init "$1"
        guest_keys_dir "$1"
        agent_pid=
        stop_at_exit agent_pid
        cd "$tmp" || exit 1
}

wait_for_socket() {
        for _ in $(seq 50); do [ -S "$1" ] && break; sleep 0.1; done
}

stop_agent() {
        for _ in $(seq "${1:-30}"); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
        kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; agent_pid=
}

write_test_host() {
        printf "<capabilities><host><topology><cells num='1'><cell id='0'><memory unit='KiB'>8388608</memory>%s<cpus num='8'>%s</cpus></cell></cells></topology></host></capabilities>" \
                "<pages unit='KiB' size='2048'>2048</pages>" \
                "$(for c in 0 1 2 3; do echo "<cpu id='$c' socket_id='0' core_id='$c' siblings='$c,$((c + 4))'/><cpu id='$((c + 4))' socket_id='0' core_id='$c' siblings='$c,$((c + 4))'/>"; done)" > caps.xml
        echo '<domainCapabilities><features><sev supported="no"/><tdx supported="no"/></features></domainCapabilities>' > domcaps.xml
}
