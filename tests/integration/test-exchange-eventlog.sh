#!/bin/bash
# What booted and what runs, end to end with the real programs: cvm-agent --simulate tdx sends
# its simulated firmware's CC event log with the quote, cvmctl attest-guest replays it against
# the quote's RTMRs and releases the key when it matches; a log that lies about the command line
# is refused naming RTMR2; a policy naming another command line refuses this one; workloads
# measured with `cvm-agent measure-workload` replay into RTMR3 and meet tdx.workload_digests; an
# edited runtime log is refused naming RTMR3; on SEV-SNP the workload digest is bound into
# REPORT_DATA and meets snp.workload_digests; with a launch's domain XML in the simulator
# directory the log measures its kernel, initrd and command line; in a cvmctl launch a lying log
# is refused (domain destroyed) and an honest one gets its key. The expected digests are computed
# here with sha384sum and iconv, independently of cvmd's code.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
VECTORS=${CVM_VECTORS:-$PWD/../shared/vectors}
# KEEP=1 leaves the run's files and the guest's keys where they are, for a look (registered
# first: it runs before the removals)
at_exit '[ -z "${KEEP:-}" ] || { echo "kept $tmp and $keys" >&2; tmp= keys=; }'
guest_test_init exchange-eventlog
mkdir out || exit 1

"$CVMCTL" sim init sim --json > sim.json 2> sim.err && ok || bad "sim init: $(cat sim.err)"
root=$(jq -r '.trusted_simulator_roots[0].spki_sha256' sim.json)
arks=$(jq -c '.trusted_simulator_arks' sim.json)
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > datakey.bin
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid train-1 --keys-dir wrapped < datakey.bin > wrap.out 2> wrap.err \
        && ok || bad "key wrap: $(cat wrap.err)"
uuid=5d0c1e7a-3b2f-4c81-9a02-6e4d3b2a1f91
new_releaser_key releaser.key
digest=$(bound_digest "$(zero_spec)" "$(releaser_pub releaser.key)")

# the digests a policy names, as the firmware and the EFI stub extend them
cmdline_digest() { printf '%s\0' "$1" | iconv -f ASCII -t UTF-16LE | sha384sum | cut -d' ' -f1; }
booted="console=hvc0 root=/dev/vda1 ro"
good_cmd=$(cmdline_digest "$booted")
other_cmd=$(cmdline_digest "console=hvc0 init=/bin/sh")
image1=$(printf 'training image v1' | sha384sum | cut -d' ' -f1)
image2=$(printf 'training image v2' | sha384sum | cut -d' ' -f1)

tdx_policy() { # file extra-json
        printf '{"name": "sim", "tdx": {"trusted_simulator_roots": [{"spki_sha256": "%s"}]%s}}\n' "$root" "$2" > "$1"
}
snp_policy() { # file extra-json
        printf '{"name": "sim", "snp": {"require_crl": false, "trusted_simulator_arks": %s%s}}\n' "$arks" "$2" > "$1"
}
tdx_policy plain.json ''
tdx_policy cmdline-ok.json ", \"require_eventlog\": true, \"cmdline_digests\": [\"$good_cmd\"]"
tdx_policy cmdline-other.json ", \"cmdline_digests\": [\"$other_cmd\"]"
tdx_policy workload-1.json ", \"workload_digests\": [\"$image1\"]"
tdx_policy workload-12.json ", \"workload_digests\": [\"$image1\", \"$image2\"]"
snp_policy snp-workload-1.json ", \"workload_digests\": [\"$image1\"]"
snp_policy snp-workload-2.json ", \"workload_digests\": [\"$image2\"]"

start_agent() { # log tee [agent options...]
        local log=$1 tee=$2; shift 2
        rm -f agent.sock
        if [ "$tee" = tdx ]; then
                set -- --simulate tdx --sim-dir sim/tdx --sim-mrconfigid "$digest" "$@"
        else
                set -- --simulate snp --sim-dir sim/snp --sim-host-data "${digest:0:64}" "$@"
        fi
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --keys-dir "$keys" --vm-uuid "$uuid" --timeout 10 "$@" 2> "$log" &
        agent_pid=$!
        wait_for_socket agent.sock
}

attest() { # tee policy out
        local extra=()
        [ "$1" = tdx ] && extra=(--collateral sim/tdx/collateral)
        "$CVMCTL" attest-guest --channel "unix:$tmp/agent.sock" --tee "$1" "${extra[@]}" --policy "$2" --key train-1 \
                --keys-dir wrapped --vm-uuid "$uuid" --releaser-key releaser.key --json > "out/$3.json" 2> "out/$3.err"
        local status=$?
        # --once ends with a concluded exchange; one that never reached the agent does not
        stop_agent
        return $status
}

accepted() { # tee policy name [agent options...]
        local tee=$1 policy=$2 name=$3; shift 3
        rm -f "$keys"/*
        start_agent "agent-$name.log" "$tee" "$@"
        attest "$tee" "$policy" "$name"
        local status=$?
        [ "$status" -eq 0 ] && jq -e '.accepted and .released and .confirmed' "out/$name.json" > /dev/null \
                && cmp -s "$keys/train-1" datakey.bin && ok \
                || bad "$name: exit $status: $(cat "out/$name.err") $(jq -c '{error, reasons}' "out/$name.json" 2> /dev/null)"
}

refused() { # tee policy name pattern [agent options...]
        local tee=$1 policy=$2 name=$3 pattern=$4; shift 4
        rm -f "$keys"/*
        start_agent "agent-$name.log" "$tee" "$@"
        attest "$tee" "$policy" "$name"
        local status=$?
        [ "$status" -eq 1 ] && jq -e --arg p "$pattern" '(.released | not) and ([.reasons[] | test($p)] | any)' \
                "out/$name.json" > /dev/null && [ -z "$(ls -A "$keys")" ] && ok \
                || bad "$name: exit $status $(head -c 300 "out/$name.err"), no reason matching '$pattern': $(jq -c '{error, reasons}' "out/$name.json" 2> /dev/null)"
}

# --- the log replays to the quote: keys; the claims name what booted
accepted tdx cmdline-ok.json log-ok --sim-cmdline "$booted"
jq -e --arg c "$good_cmd" '.claims.eventlog.cmdline == $c and (.claims.eventlog.kernel | length == 96)
       and (.claims.eventlog.initrd | length == 96)
       and ([.checks[] | select(.name == "eventlog.replay" and .result == "pass")] | length == 1)' out/log-ok.json \
        > /dev/null && ok || bad "claims: $(jq -c '{claims, checks}' out/log-ok.json)"

# --- the simulated hypervisor booted the files of the domain XML a launch left in the simulator
# directory (sim-boot.h; a TDX one needs its TDVF image, from the measure vectors): the log
# measures them, as the claims show
TDX_FW=$VECTORS/measure/tdx/gce-clean-example-2m-mrtd/clean_example_2m.fd
if [ -f "$TDX_FW" ]; then
        head -c 8192 /dev/urandom > vmlinuz
        head -c 4096 /dev/urandom > initrd.img
        printf "<domain type='test'><name>g</name><vcpu>2</vcpu><os><type>hvm</type><loader>%s</loader><kernel>%s</kernel><initrd>%s</initrd><cmdline>console=ttyS0 quiet</cmdline></os></domain>\n" \
                "$TDX_FW" "$tmp/vmlinuz" "$tmp/initrd.img" > sim/tdx/domain.xml
        tdx_policy xml-cmdline.json ", \"cmdline_digests\": [\"$(cmdline_digest 'console=ttyS0 quiet')\"]"
        accepted tdx xml-cmdline.json log-xml
        jq -e --arg k "$(sha384sum vmlinuz | cut -d' ' -f1)" --arg i "$(sha384sum initrd.img | cut -d' ' -f1)" \
                '.claims.eventlog.kernel == $k and .claims.eventlog.initrd == $i' out/log-xml.json > /dev/null \
                && ok || bad "booted files: $(jq -c .claims.eventlog out/log-xml.json)"
        rm -f sim/tdx/domain.xml
else
        echo "note: no measure vectors at $TDX_FW: the domain XML case is skipped"
fi

# --- a log that does not match the quote's RTMRs is refused, naming the register
refused tdx plain.json log-lies 'eventlog.replay: event log does not match the quote: RTMR2 replays to' \
        --sim-cmdline "console=hvc0 init=/bin/sh" --sim-log-cmdline "$booted"

# --- the policy names another command line
refused tdx cmdline-other.json cmdline-other 'policy.tdx.cmdline_digests: command line [0-9a-f]{96} is not among' \
        --sim-cmdline "$booted"

# --- workloads measured at run time into RTMR3
mkdir -p runtime
refused tdx workload-1.json workload-none 'policy.tdx.workload_digests: the guest measured no workload' \
        --runtime-dir "$tmp/runtime"
"$AGENT" measure-workload --simulate tdx --runtime-dir runtime --digest "sha384:$image1" --description "trainer v1" \
        > measure1.out 2> measure1.err && grep -q "extended into RTMR3" measure1.out && ok \
        || bad "measure-workload: $(cat measure1.err)"
accepted tdx workload-1.json workload-1 --runtime-dir "$tmp/runtime"
jq -e --arg d "$image1" '.claims.eventlog.workloads == [{"digest": $d, "description": "trainer v1"}]' out/workload-1.json \
        > /dev/null && ok || bad "workload claims: $(jq -c .claims.eventlog out/workload-1.json)"
"$AGENT" measure-workload --simulate tdx --runtime-dir runtime --digest "sha384:$image2" > /dev/null 2>&1 && ok \
        || bad "second measure-workload"
refused tdx workload-1.json workload-out "policy.tdx.workload_digests: workload $image2 is not among" \
        --runtime-dir "$tmp/runtime"
accepted tdx workload-12.json workload-12 --runtime-dir "$tmp/runtime"
# an edited runtime log (the second workload's digest) no longer replays to RTMR3
size=$(stat -c %s runtime/workloads.log)
printf '\x00' | dd of=runtime/workloads.log bs=1 seek=$((size - 60)) conv=notrunc status=none
refused tdx plain.json runtime-edited 'RTMR3 replays to' --runtime-dir "$tmp/runtime"

# --- SEV-SNP: the workload digest bound into REPORT_DATA
mkdir -p snp-runtime
"$AGENT" measure-workload --simulate snp --runtime-dir snp-runtime --digest "sha384:$image1" > measure-snp.out 2>&1 \
        && grep -q "bound into REPORT_DATA" measure-snp.out && ok || bad "measure-workload snp: $(cat measure-snp.out)"
accepted sev-snp snp-workload-1.json snp-workload --runtime-dir "$tmp/snp-runtime"
jq -e --arg d "$image1" '.claims.workloads == [$d] and
       ([.checks[] | select(.name == "binding.report-data" and .result == "pass")] | length == 1)' out/snp-workload.json \
        > /dev/null && ok || bad "snp claims: $(jq -c '{claims, checks}' out/snp-workload.json)"
refused sev-snp snp-workload-2.json snp-workload-out "policy.snp.workload_digests: workload $image1 is not among" \
        --runtime-dir "$tmp/snp-runtime"

# --- the same in a launch (cvmctl launch on libvirt's test driver): the simulated TD whose log
# lies is refused naming RTMR2 and destroyed, nothing installed; an honest one gets its key
echo '{"name":"tdx-job","tee":"none","vcpus":2,"memory_mib":1024,"gpus":[],"boot":{"disk":"/img.qcow2"},"policy":"p","key_ids":["train-1"]}' > spec.json
printf '{"name": "p", "allow_development": true, "tdx": {"trusted_simulator_roots": [{"spki_sha256": "%s"}], "require_eventlog": true}}\n' \
        "$root" > launch-policy.json
write_test_host
HOST=(--host-caps caps.xml --domcaps domcaps.xml --domain-type test)
spec_digest=$("$CVMCTL" render spec.json "${HOST[@]}" --json | jq -r .spec_digest)
launch_digest=$(bound_digest "$spec_digest" "$(releaser_pub releaser.key)")
launch() { # name [agent options...]
        local name=$1; shift
        rm -f "$keys"/* agent.sock
        "$AGENT" --listen "unix:$tmp/agent.sock" --once --simulate tdx --sim-dir sim/tdx --sim-mrconfigid "$launch_digest" \
                --keys-dir "$keys" --timeout 10 "$@" 2> "agent-$name.log" &
        agent_pid=$!
        wait_for_socket agent.sock
        "$CVMCTL" launch spec.json --connect test:///default "${HOST[@]}" --policy launch-policy.json --evidence tdx \
                --collateral sim/tdx/collateral --keys-dir wrapped --channel "unix:$tmp/agent.sock" --boot-timeout 5 \
                --releaser-key releaser.key --json > "out/$name.json" 2> "out/$name.err"
        local status=$?
        stop_agent
        return $status
}
launch launch-lies --sim-cmdline "console=hvc0 init=/bin/sh" --sim-log-cmdline "$booted"; status=$?
[ "$status" -eq 1 ] && jq -e '(.released | not) and .phase == "failed"
        and ([.reasons[] | test("eventlog.replay: event log does not match the quote: RTMR2")] | any)' \
        out/launch-lies.json > /dev/null && grep -q "domain 'tdx-job' stopped" out/launch-lies.err \
        && [ -z "$(ls -A "$keys")" ] && ok \
        || bad "launch with a lying log: exit $status $(jq -c '{phase, error}' out/launch-lies.json) $(tail -3 out/launch-lies.err)"
launch launch-ok --sim-cmdline "$booted"; status=$?
[ "$status" -eq 0 ] && jq -e --arg c "$good_cmd" '.released and .confirmed and .claims.eventlog.cmdline == $c' \
        out/launch-ok.json > /dev/null && cmp -s "$keys/train-1" datakey.bin && ok \
        || bad "launch: exit $status $(jq -c '{phase, error}' out/launch-ok.json) $(tail -3 out/launch-ok.err)"

# --- usage
"$AGENT" measure-workload --digest sha384:00 > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "short digest"
"$AGENT" measure-workload --runtime-dir runtime > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "missing --digest"
"$AGENT" measure-workload --help | grep -q -- "--digest sha384:HEX" && ok || bad "measure-workload --help"
"$AGENT" --sim-cmdline "$(printf 'a\tb')" --keys-dir "$keys" > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "control character"

no_key_bytes datakey.bin *.log *.out out/* && ok || bad "key material leaked into output"

check_finish
