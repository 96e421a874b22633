#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The host's collateral in the launch's appraisal (include/cvm/collateral.h), with the simulators
# and local KDS- and PCS-shaped servers (tests/helpers) serving what `cvmctl sim init` wrote:
#   - an SEV-SNP guest that sends no certificate table is refused offline with an empty cache,
#     gets its keys with the VCEK, cert_chain and the host's CRL fetched from KDS (off the launch's
#     loop: the exchange holds the evidence until they are in, so an agent that serves one
#     exchange only, --once, gets its keys), then from the cache offline;
#   - a CRL past its nextUpdate at the pinned --at time is refused, naming it;
#   - a TDX launch (an agent with --once) gets its keys with collateral from the PCS-shaped server, then from the cache
#     offline; stale TDX collateral is refused, naming its window;
#   - three hosts (cvmctl attest-guest) appraising guests of one platform at once, with one
#     cache, fetch the VCEK once (counted at the server).
# Never contacts anything but 127.0.0.1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/sim-guest.sh
KDS=$PWD/$BUILD/tests/kds-server PCS=$PWD/$BUILD/tests/pcs-server
require_programs "$CVMCTL" "$AGENT" "$KDS" "$PCS"
guest_test_init launch-collateral
unset CVM_CACHE_DIR

count() { # log regex: requests logged that match
        grep -cE "$2" "$1" 2> /dev/null || true
}

# A simulated guest agent at unix:NAME.sock answering with TEE evidence whose binding field holds
# the launch digest of spec.json (or, for attest-guest, of no spec) and releaser.key.
start_agent() { # name snp|tdx [--once] [--no-spec]
        local name=$1 tee=$2 once=${3:-} digest spec
        if [ "${4:-}" = --no-spec ]; then
                spec=$(zero_spec)
        else
                spec=$("$CVMCTL" render spec.json --host-caps caps.xml --domcaps domcaps.xml --domain-type test --json |
                        jq -r .spec_digest)
        fi
        digest=$(bound_digest "$spec" "$(releaser_pub releaser.key)")
        mkdir -p "$keys/$name" && rm -f "$keys/$name"/* "$name.sock"
        if [ "$tee" = snp ]; then
                set -- --sim-host-data "${digest:0:64}"
        else
                set -- --sim-mrconfigid "$digest"
        fi
        # without --once the agent serves on after a refusal, as cvm-agent.service does
        "$AGENT" --listen "unix:$tmp/$name.sock" $once --simulate "$tee" --sim-dir "sim/$tee" --keys-dir "$keys/$name" \
                --timeout 10 "$@" 2> "$name.agent.log" &
        agent_pid=$!
        track_pid $agent_pid
        wait_for_socket "$name.sock"
}
launch() { # name policy options...
        local name=$1 policy=$2
        shift 2
        "$CVMCTL" launch spec.json --connect test:///default --host-caps caps.xml --domcaps domcaps.xml --domain-type test \
                --policy "$policy" --keys-dir wrapped --channel "unix:$tmp/$name.sock" --boot-timeout 10 \
                --releaser-key releaser.key --json "$@" > "$name.json" 2> "$name.err"
}
released() { # name: running with its key, byte for byte
        jq -e '.running and .released and .confirmed' "$1.json" > /dev/null && cmp -s "$keys/$1/k1" data.key
}
refused() { # name needle: refused, the domain destroyed, no key, the reason names needle
        jq -e --arg n "$2" '(.running | not) and (.released | not) and .phase == "failed" and (.error | test($n))' \
                "$1.json" > /dev/null && grep -q "stopped" "$1.err" && [ -z "$(ls -A "$keys/$1")" ]
}

# --- the simulated platforms: a host that supplies no certificate table with SNP reports
"$CVMCTL" sim init sim --no-cert-table --json > sim.json 2> sim.err || bad "sim init: $(cat sim.err)"
[ -f sim/snp/no-cert-table ] && [ -s "sim/kds/vcek/v1/Milan/crl" ] && [ -s "sim/kds/vcek/v1/Milan/cert_chain" ] \
        && [ "$(jq -r .kds_dir sim.json)" = sim/kds ] && ok || bad "sim init: no KDS tree: $(cat sim.json)"
ark=$(jq -r '.trusted_simulator_arks[0].spki_sha256' sim.json)
root=$(jq -r '.trusted_simulator_roots[0].spki_sha256' sim.json)
head -c 32 /dev/urandom > kek.bin && chmod 0600 kek.bin
head -c 32 /dev/urandom > data.key
"$CVMCTL" key wrap --kek "file:$tmp/kek.bin" --kid k1 --keys-dir wrapped < data.key > /dev/null || bad "key wrap"
echo '{"name":"job","tee":"none","vcpus":2,"memory_mib":1024,"gpus":[],"boot":{"disk":"/img.qcow2"},"policy":"p","key_ids":["k1"]}' > spec.json
# the policies' defaults: the host's CRL is required (snp.require_crl), TDX collateral checked
printf '{"name": "p", "allow_development": true, "snp": {"trusted_simulator_arks": [{"product": "Milan", "spki_sha256": "%s"}]}, "tdx": {"trusted_simulator_roots": [{"spki_sha256": "%s"}]}}' \
        "$ark" "$root" > dev.json
write_test_host
new_releaser_key releaser.key
start_port_server kds "$KDS" --root sim/kds --log kds.log
kds_url=http://127.0.0.1:$port
start_port_server pcs "$PCS" --collateral sim/tdx/collateral --log pcs.log
pcs_url=http://127.0.0.1:$port

# --- SNP, no certificate table, offline with an empty cache: refused, naming the missing VCEK
start_agent snp-offline snp --once
launch snp-offline dev.json --offline --cache "$tmp/empty-cache"; status=$?
stop_agent 20
[ "$status" -eq 1 ] && refused snp-offline 'VCEK.*offline|offline.*VCEK' && ok \
        || bad "offline, empty cache: exit $status: $(jq -c '{phase, released, error}' snp-offline.json)"
[ "$(count kds.log .)" -eq 0 ] && ok || bad "offline, yet KDS was asked: $(cat kds.log)"

# --- SNP, no certificate table: the VCEK, the chain and the host's CRL from KDS into the cache,
# in the first exchange (the agent serves one only)
start_agent snp-kds snp --once
launch snp-kds dev.json --kds-url "$kds_url" --cache "$tmp/cache"; status=$?
stop_agent 20
[ "$status" -eq 0 ] && released snp-kds && ok \
        || bad "from KDS: exit $status: $(cat snp-kds.err) $(jq -c '{phase, error, reasons}' snp-kds.json)"
jq -e 'any(.checks[]; .name == "chain.revocation" and .result == "pass")' snp-kds.json > /dev/null && ok \
        || bad "the host's CRL was not checked: $(jq -c '[.checks[] | select(.name | startswith("chain"))]' snp-kds.json)"
[ "$(count kds.log '^GET /vcek/v1/Milan/[0-9a-f]{128}')" -eq 1 ] && [ "$(count kds.log 'cert_chain')" -eq 1 ] \
        && [ "$(count kds.log '/crl')" -eq 1 ] && ok || bad "KDS requests: $(cat kds.log)"
[ -s "$tmp/cache/snp/Milan/crl.der" ] && ls "$tmp/cache/snp/Milan/vcek/"*.der > /dev/null 2>&1 && ok \
        || bad "the cache holds: $(find "$tmp/cache" -type f)"

# --- then from the cache, offline: keys, and KDS is not asked again
start_agent snp-cached snp --once
launch snp-cached dev.json --offline --cache "$tmp/cache"; status=$?
stop_agent 20
[ "$status" -eq 0 ] && released snp-cached && ok || bad "from the cache: exit $status: $(jq -c '{error}' snp-cached.json)"
[ "$(count kds.log .)" -eq 3 ] && ok || bad "KDS asked again: $(cat kds.log)"

# --- the cached CRL past its nextUpdate (sim init made it for 30 days) at the pinned time: refused
at=$(date -u -d '+31 days' +%Y-%m-%dT%H:%M:%SZ)
start_agent snp-stale snp --once
launch snp-stale dev.json --offline --cache "$tmp/cache" --at "$at"; status=$?
stop_agent 20
[ "$status" -eq 1 ] && refused snp-stale 'CRL.*not current' && ok \
        || bad "stale CRL: exit $status: $(jq -c '{phase, released, error}' snp-stale.json)"

# --- the listing says what is there and how fresh
"$CVMCTL" collateral list --cache "$tmp/cache" --json > list.json 2> list.err && ok || bad "collateral list: $(cat list.err)"
jq -e '[.collateral[] | select(.tee == "sev-snp" and .platform == "Milan")] | (map(.kind) | sort) == ["cert_chain", "crl", "vcek"]
       and all(.state == "fresh")' list.json > /dev/null && ok || bad "list: $(cat list.json)"
"$CVMCTL" collateral list --cache "$tmp/cache" --at "$at" --json > list-later.json 2> /dev/null
jq -e 'any(.collateral[]; .kind == "crl" and .state == "stale")' list-later.json > /dev/null && ok \
        || bad "list at $at: $(cat list-later.json)"

# --- TDX: collateral from the PCS-shaped server in the first exchange, then from the cache offline
start_agent tdx-pcs tdx --once
launch tdx-pcs dev.json --evidence tdx --pccs-url "$pcs_url" --cache "$tmp/cache"; status=$?
stop_agent 20
[ "$status" -eq 0 ] && released tdx-pcs && jq -e '.claims.tcb_status == "UpToDate"' tdx-pcs.json > /dev/null && ok \
        || bad "TDX from PCS: exit $status: $(cat tdx-pcs.err) $(jq -c '{phase, error, reasons}' tdx-pcs.json)"
n_pcs=$(count pcs.log .)
[ "$n_pcs" -ge 4 ] && ok || bad "PCS requests: $(cat pcs.log)"
start_agent tdx-cached tdx --once
launch tdx-cached dev.json --evidence tdx --offline --cache "$tmp/cache"; status=$?
stop_agent 20
[ "$status" -eq 0 ] && released tdx-cached && [ "$(count pcs.log .)" -eq "$n_pcs" ] && ok \
        || bad "TDX from the cache: exit $status: $(jq -c '{error}' tdx-cached.json); $(cat pcs.log)"
start_agent tdx-stale tdx --once
launch tdx-stale dev.json --evidence tdx --offline --cache "$tmp/cache" --at "$at"; status=$?
stop_agent 20
[ "$status" -eq 1 ] && refused tdx-stale 'current only from' && ok \
        || bad "stale TDX collateral: exit $status: $(jq -c '{phase, released, error}' tdx-stale.json)"
"$CVMCTL" collateral list --cache "$tmp/cache" --json | jq -e 'any(.collateral[]; .tee == "tdx" and .kind == "bundle"
        and .state == "fresh")' > /dev/null && ok || bad "list: no TDX bundle"

# --- three hosts, one cache, guests of one platform at once: the VCEK is fetched once
: > kds.log
for i in 1 2 3; do start_agent "par$i" snp --once --no-spec; done
for i in 1 2 3; do
        "$CVMCTL" attest-guest --channel "unix:$tmp/par$i.sock" --policy dev.json --key k1 --keys-dir wrapped \
                --releaser-key releaser.key --kds-url "$kds_url" --cache "$tmp/shared-cache" --json \
                > "par$i.json" 2> "par$i.err" &
        hosts[$i]=$!
done
for i in 1 2 3; do
        wait "${hosts[$i]}"; status=$?
        [ "$status" -eq 0 ] && jq -e '.released and .confirmed' "par$i.json" > /dev/null && ok \
                || bad "parallel host $i: exit $status: $(cat "par$i.err") $(jq -c '{error}' "par$i.json")"
done
[ "$(count kds.log '^GET /vcek/v1/Milan/[0-9a-f]{128}')" -eq 1 ] && [ "$(count kds.log '/crl')" -eq 1 ] && ok \
        || bad "three hosts, one platform: KDS asked $(count kds.log .) times: $(cat kds.log)"

# --- usage: fetch tdx needs a quote or --fmspc; list takes no TEE options
"$CVMCTL" collateral fetch tdx > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "fetch tdx without input"
"$CVMCTL" collateral list --kds-url "$kds_url" > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "list --kds-url"
"$CVMCTL" collateral fetch tdx --fmspc "$(jq -r .tcbInfo.fmspc sim/tdx/collateral/tcb_info.json)" --pccs-url "$pcs_url" \
        --cache "$tmp/fetched" --json > fetch-tdx.json 2> fetch-tdx.err && jq -e '.tee == "tdx" and .ca == "platform"' \
        fetch-tdx.json > /dev/null && ok || bad "fetch tdx --fmspc: $(cat fetch-tdx.err)"

no_key_bytes data.key ./*.json ./*.err ./*.log && ok || bad "key material leaked into output"
check_finish
