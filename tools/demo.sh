#!/bin/bash
# make demo: cvmd, the attestation-gated launcher, in a sandbox (a private dbus-daemon, libvirt's
# test driver, the SEV-SNP and NVIDIA GPU simulators): a VM with two GPUs gets its key and a
# token, one is refused for its GPUs' evidence, one is quarantined; then the domain XML for a
# real SEV-SNP launch, and the verifiers on real evidence from real hardware (../shared/vectors).
#
# It checks its own outcomes: any that does not hold makes it exit non-zero naming the step; its
# last line says whether it ended as expected. CVM_DEMO_AGENT: another agent binary for the
# guests (tests/integration/test-demo.sh breaks the demo on purpose with a missing one).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$PWD/$BUILD ;; esac
export BUILD
V=${CVM_VECTORS:-$(cd .. && pwd)/shared/vectors}
CVMCTL=$B/cvmctl
SANDBOX=$PWD/tools/cvmd-sandbox
export CVMD_SANDBOX_AGENT=${CVM_DEMO_AGENT:-$B/cvm-agent}
export CVMD_SANDBOX_BOOT_TIMEOUT=${CVMD_SANDBOX_BOOT_TIMEOUT:-5}
SHARED=$(dirname "$V")
GPUS=(0000:41:00.0@0 0000:42:00.0@0 0000:c1:00.0@1 0000:c2:00.0@1)
tmp=$(mktemp -d)
sandbox_dir=
cleanup() {
        [ -n "$sandbox_dir" ] && [ -d "$sandbox_dir" ] && "$SANDBOX" stop "$sandbox_dir"
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "Demo did NOT end as expected: interrupted."; exit 130' INT TERM

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# The demo checks its own outcomes: every expectation is named, and any that does not hold makes
# the demo exit non-zero with the list of what went wrong.
failed_steps=()
expect() { # description command...
        local what=$1
        shift
        if "$@"; then
                printf '  \342\234\223 %s\n' "$what"
        else
                printf '  \342\234\227 %s\n' "$what"
                failed_steps+=("$what")
        fi
}
jq_true() { jq -e "$2" "$1" > /dev/null 2>&1; }
say() { printf '$ %s\n' "$*"; }
indent() { sed 's/^/    /'; }
b64url() { # decodes base64url without padding
        local s=${1//-/+}
        s=${s//_//}
        case $((${#s} % 4)) in 2) s+="==" ;; 3) s+="=" ;; esac
        printf '%s' "$s" | base64 -d 2> /dev/null
}
no_keys_in() { [ -d "$1" ] && [ -z "$(ls -A "$1")" ]; }
sandbox_pids_gone() {
        local pid
        while read -r pid; do kill -0 "$pid" 2> /dev/null && return 1; done < "$tmp/sandbox.pids"
        return 0
}
# launch NAME SPEC [--gpus]: starts NAME's guest agent and runs cvmctl launch --wait
launch() {
        local name=$1 spec=$2 gpus=${3:-}
        say "tools/cvmd-sandbox agent $name snp${gpus:+ $gpus}        # the guest's agent, on a unix socket"
        "$SANDBOX" agent "$name" snp $gpus > /dev/null 2> "$tmp/$name.agent.err" || sed 's/^/  /' "$tmp/$name.agent.err"
        say "cvmctl launch ${spec#"$PWD"/} --wait"
        timeout 60 "$CVMCTL" launch "$spec" --wait > "$tmp/$name.out" 2> "$tmp/$name.err"
        launch_status=$?
        # the phases on stderr, the outcome on stdout (printed once)
        sed 's/^cvmctl: //' "$tmp/$name.err" | grep -vxF -f "$tmp/$name.out" | indent
        indent < "$tmp/$name.out"
        echo "    (exit status $launch_status)"
        "$CVMCTL" status "$name" --json > "$tmp/$name.status" 2> /dev/null
}

cat <<'EOF2'
cvmd demo: no verified evidence, no keys.

cvmd runs here on a private D-Bus with libvirt's test driver standing in for the hypervisor,
the SEV-SNP and NVIDIA H100 simulators for the hardware, and unix sockets for vsock. Each guest's
agent (cvm-agent) answers cvmd's challenge with simulated evidence; cvmd releases the data key
only to evidence its policy accepts. Then the domain XML for a real SEV-SNP launch, and real
evidence captured on AMD EPYC, Intel Xeon and NVIDIA H100 machines.
EOF2

sandbox_part() {
        local keys spec
        bold "== 1. Start cvmd in a sandbox, with four simulated H100s on two NUMA cells"
        say "eval \"\$(tools/cvmd-sandbox start$(printf ' --gpu %s' "${GPUS[@]}"))\""
        local gpu_args=() g
        for g in "${GPUS[@]}"; do gpu_args+=(--gpu "$g"); done
        "$SANDBOX" start "${gpu_args[@]}" > "$tmp/env" 2> "$tmp/start.log"
        local status=$?
        sed 's/^cvmd-sandbox: /  /' "$tmp/start.log"
        # shellcheck disable=SC1091
        [ "$status" -eq 0 ] && . "$tmp/env" && sandbox_dir=$CVMD_SANDBOX_DIR
        expect "the sandbox starts: cvmd answers on its bus" test "$status" -eq 0 -a -n "$sandbox_dir"
        [ -n "$sandbox_dir" ] || return 1
        cp "$sandbox_dir/pids" "$tmp/sandbox.pids"
        echo "The data key demo-key is wrapped under a KEK in cvmd's key store. The policy sim-gpu trusts"
        echo "the simulators' roots (filled in from cvmctl sim init) and wants exactly two GPUs:"
        say "jq -c . policies/sim-gpu.json"
        jq -c '{allow_development, snp: {trusted_simulator_arks: [.snp.trusted_simulator_arks[] | .spki_sha256 |= .[:16] + "..."]},
                gpu: {gpu_count: .gpu.gpu_count, trusted_simulator_roots: [.gpu.trusted_simulator_roots[] | .spki_sha256 |= .[:16] + "..."]}}' \
                "$sandbox_dir/policies/sim-gpu.json" | indent

        bold "== 2. A VM with two GPUs: placed, booted, attested (CPU and each GPU), keys released"
        say "jq -c . examples/specs/sim-gpu.json"
        jq -c . examples/specs/sim-gpu.json | indent
        keys=$CVMD_SANDBOX_KEYS_DIR/train-gpu
        launch train-gpu "$PWD/examples/specs/sim-gpu.json" --gpus
        echo "  what cvmd checked (cvmctl status train-gpu --json: .appraisal.checks, abridged):"
        jq -r '.appraisal.checks[]? | select(.name | test("ark-pinned|^report.signature|binding|gpu.count|chain$|nonce|measurements"))
                | "\(.result)  \(.name): \(.detail)"' "$tmp/train-gpu.status" 2> /dev/null | cut -c1-110 | indent
        echo "  the guest's key file: $(ls -l "$keys" 2> /dev/null | awk '/demo-key/ {print $1, $5 " bytes", $NF}')"
        expect "cvmctl launch --wait exits 0 with train-gpu running" \
                eval '[ "$launch_status" -eq 0 ] && jq_true "$tmp/train-gpu.status" ".state == \"running\""'
        expect "the evidence of the CPU and both GPUs is accepted, the GPUs' measurements match" jq_true "$tmp/train-gpu.status" \
                '.appraisal.accepted and .appraisal.claims.gpu_count == 2 and ([.appraisal.claims.gpus[].measurements] == ["match", "match"])'
        expect "the key is released and its receipt confirmed" jq_true "$tmp/train-gpu.status" '.released and .confirmed'
        expect "the guest's key file is byte-for-byte the original data key" cmp -s "$keys/demo-key" "$sandbox_dir/demo.key"

        echo
        echo "The result token: a JWT signed by cvmd, for whoever relies on the guest."
        say "cvmctl token train-gpu"
        "$CVMCTL" token train-gpu > "$tmp/token" 2> "$tmp/token.err"
        local token_status=$? token
        token=$(cat "$tmp/token")
        echo "    ${token:0:72}..."
        echo "  header:"
        b64url "$(cut -d. -f1 <<< "$token")" | jq -c . 2> /dev/null | indent
        echo "  claims (abridged):"
        b64url "$(cut -d. -f2 <<< "$token")" > "$tmp/claims.json"
        jq '{iss, iat: (.iat | todate), exp: (.exp | todate), "ear.status", "ear.appraisal-policy-id", accepted, tee, vm_uuid,
             nonce, gpus, measurement: .claims.measurement,
             gpu_claims: [.claims.gpus[]? | {driver_version, vbios_version, measurements}]}' "$tmp/claims.json" 2> /dev/null | indent
        expect "cvmctl token exits 0; the claims say accepted, affirming under sim-gpu, two GPUs" eval '[ "$token_status" -eq 0 ] &&
                jq_true "$tmp/claims.json" ".accepted and .[\"ear.status\"] == \"affirming\" and .gpus == 2 and
                        .[\"ear.appraisal-policy-id\"] == \"sim-gpu\""'
        curl -fsS -o "$tmp/jwks.json" "$CVMD_JWKS_URL" 2> /dev/null
        say "python3 (python3-jwt): jwt.decode(token, the key of JWKS $CVMD_JWKS_URL)"
        expect "the token's signature verifies with the JWKS cvmd serves (python3-jwt)" /usr/bin/python3 - "$tmp/jwks.json" "$tmp/token" \
                2> "$tmp/jwt.err" <<'EOF2'
import json, sys
import jwt
from jwt.algorithms import ECAlgorithm
keys = {k["kid"]: k for k in json.load(open(sys.argv[1]))["keys"]}
token = open(sys.argv[2]).read().strip()
key = ECAlgorithm.from_jwk(json.dumps(keys[jwt.get_unverified_header(token)["kid"]]))
jwt.decode(token, key, algorithms=["ES256"], options={"require": ["exp", "iat"]})
EOF2
        [ -s "$tmp/jwt.err" ] && tail -1 "$tmp/jwt.err" | indent

        bold "== 3. The same with a policy that does not trust the simulator's NVIDIA root: refused, destroyed"
        say "jq -c .gpu policies/sim-gpu-untrusted.json       # no trusted_simulator_roots"
        jq -c .gpu "$sandbox_dir/policies/sim-gpu-untrusted.json" | indent
        keys=$CVMD_SANDBOX_KEYS_DIR/gpu-refused
        launch gpu-refused "$PWD/examples/specs/sim-gpu-refused.json" --gpus
        echo "  the checks that failed (the CPU's evidence passed):"
        jq -r '.appraisal.checks[]? | select(.result == "fail") | "\(.result)  \(.name): \(.detail)"' "$tmp/gpu-refused.status" \
                2> /dev/null | cut -c1-110 | indent
        echo "  keys in the guest: $(ls -A "$keys" 2> /dev/null | wc -l)"
        say "cvmctl token gpu-refused"
        "$CVMCTL" token gpu-refused 2>&1 | indent
        # shellcheck disable=SC2034 # read by expect's eval
        token_status=${PIPESTATUS[0]}
        expect "cvmctl launch --wait exits 1: failed, the domain destroyed (failure_action destroy)" \
                eval '[ "$launch_status" -eq 1 ] && jq_true "$tmp/gpu-refused.status" ".state == \"failed\""'
        expect "refused for the evidence: the GPUs' root is not pinned by the policy" jq_true "$tmp/gpu-refused.status" \
                '(.reason | test("^evidence refused: gpu0[.]chain: .*not a pinned root")) and (.appraisal.accepted == false)
                 and any(.appraisal.checks[]; .name == "chain.ark-pinned" and .result == "pass")'
        expect "nothing released, no key in the guest, no token" \
                eval 'jq_true "$tmp/gpu-refused.status" "(.released | not) and (.confirmed | not)" && no_keys_in "$keys" &&
                      [ "$token_status" -eq 1 ]'

        bold "== 4. A policy that says quarantine: the guest is kept running, without keys, for forensics"
        say "jq -c . policies/quarantine.json"
        jq -c 'del(.description)' "$sandbox_dir/policies/quarantine.json" | indent
        keys=$CVMD_SANDBOX_KEYS_DIR/suspect1
        launch suspect1 "$PWD/examples/specs/sim-quarantine.json"
        echo "  keys in the guest: $(ls -A "$keys" 2> /dev/null | wc -l)"
        expect "cvmctl launch --wait exits 1 with suspect1 quarantined" \
                eval '[ "$launch_status" -eq 1 ] && jq_true "$tmp/suspect1.status" ".state == \"quarantined\""'
        expect "quarantined for the evidence: the SEV-SNP root is not pinned by the policy" jq_true "$tmp/suspect1.status" \
                '(.reason | test("^evidence refused: chain[.]ark-pinned: ")) and (.appraisal.accepted == false)'
        expect "nothing released to the quarantined guest" \
                eval 'jq_true "$tmp/suspect1.status" "(.released | not)" && no_keys_in "$keys"'

        bold "== 5. What cvmd knows, and its audit trail"
        say "cvmctl list"
        "$CVMCTL" list 2>&1 | cut -c1-120 | indent
        "$CVMCTL" list --json > "$tmp/list.json" 2> /dev/null
        expect "cvmctl list: train-gpu running, gpu-refused failed, suspect1 quarantined" jq_true "$tmp/list.json" \
                '[.vms[] | "\(.name)=\(.state)"] | sort == ["gpu-refused=failed", "suspect1=quarantined", "train-gpu=running"]'
        say "cvmctl audit --verify | cut -c1-110"
        "$CVMCTL" audit --verify > "$tmp/audit.out" 2>&1
        # shellcheck disable=SC2034 # read by expect's eval
        local audit_status=$?
        cut -c1-110 "$tmp/audit.out" | indent
        "$CVMCTL" audit --verify --json > "$tmp/audit.json" 2> /dev/null
        expect "the audit chain is intact" eval '[ "$audit_status" -eq 0 ] && tail -1 "$tmp/audit.out" | grep -q "^chain: intact" &&
                jq_true "$tmp/audit.json" ".chain_ok"'
        expect "the audit shows a key release for train-gpu only, and an appraisal for each launch" jq_true "$tmp/audit.json" \
                '([.events[] | select(.kind == "key_release") | .vm] == ["train-gpu"])
                 and ([.events[] | select(.kind == "appraisal") | .vm] | sort == ["gpu-refused", "suspect1", "train-gpu"])'

        bold "== Stop the sandbox"
        say "tools/cvmd-sandbox stop"
        "$SANDBOX" stop "$sandbox_dir"
        expect "no cvmd, dbus-daemon or agent of the sandbox is left, and its files are gone" \
                eval 'sandbox_pids_gone && [ ! -e "$sandbox_dir" ] && [ ! -e "$CVMD_SANDBOX_KEYS_DIR" ]'
        sandbox_dir=
}
sandbox_part

# A 2-cell host with 2 MiB pages for the domain XML below.
{
        echo "<capabilities><host><topology><cells num='2'>"
        for n in 0 1; do
                echo "<cell id='$n'><memory unit='KiB'>67108864</memory><pages unit='KiB' size='2048'>16384</pages><cpus num='16'>"
                for t in 0 1; do for c in $(seq 0 7); do
                        echo "<cpu id='$((t * 16 + n * 8 + c))' socket_id='$n' core_id='$c' siblings='$((n * 8 + c)),$((16 + n * 8 + c))'/>"
                done; done
                echo "</cpus></cell>"
        done
        echo "</cells></topology></host></capabilities>"
} > "$tmp/caps.xml"

bold "== 6. The domain XML for a real SEV-SNP launch with one H100 (libvirt 12.8 schema)"
cat > "$tmp/snp-spec.json" <<'EOF2'
{ "name": "llama-train-1", "tee": "sev-snp", "vcpus": 8, "memory_mib": 16384, "gpus": ["0000:91:00.0"],
  "boot": { "kernel": "/var/lib/cvmd/vmlinuz", "initrd": "/var/lib/cvmd/initrd", "cmdline": "console=ttyS0" },
  "policy": "production", "key_ids": ["llama-dataset"] }
EOF2
cat > "$tmp/snp-domcaps.xml" <<'EOF2'
<domainCapabilities><machine>pc-q35-10.0</machine><features><tdx supported='no'/>
<sev supported='yes'><cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits></sev>
<launchSecurity supported='yes'><enum name='sectype'><value>sev</value><value>sev-snp</value></enum></launchSecurity>
</features></domainCapabilities>
EOF2
say "cvmctl render snp-spec.json --host-caps caps.xml --domcaps domcaps.xml --gpu 0000:91:00.0@1"
"$CVMCTL" render "$tmp/snp-spec.json" --host-caps "$tmp/caps.xml" --domcaps "$tmp/snp-domcaps.xml" \
        --gpu 0000:91:00.0@1 > "$tmp/domain.xml"
expect "cvmctl render writes the domain" test -s "$tmp/domain.xml"
grep -E "<launchSecurity|<policy>|<hostData>|<vcpupin|<emulatorpin|<memnode|<hugepages|<page |<hostdev|<address domain|<cid" \
        "$tmp/domain.xml" | head -16
if [ -f "$SHARED/libvirt/schemas/domain.rng" ]; then
        expect "the domain XML is valid against libvirt's schema" \
                xmllint --noout --relaxng "$SHARED/libvirt/schemas/domain.rng" "$tmp/domain.xml"
fi

bold "== 7. Verifying real evidence (each at the time its certificates were valid)"
snp() { # case accepted? extra...
        local c=$1 want=$2; shift 2
        say "cvmctl verify snp snp/$c/report.bin --certs snp/$c/certs --at $(jq -r .at "$V/snp/$c/case.json") $*"
        "$CVMCTL" verify snp "$V/snp/$c/report.bin" --certs "$V/snp/$c/certs" --at "$(jq -r .at "$V/snp/$c/case.json")" \
                --offline --cache "$tmp/cache" --json "$@" > "$tmp/$c.json"
        jq -c '{authentic, accepted, product: .claims.product, reasons}' "$tmp/$c.json"
        expect "$c: authentic as its case says, accepted: $want" jq_true "$tmp/$c.json" \
                "(.authentic == $(jq .expected.authentic "$V/snp/$c/case.json")) and (.accepted == $want)"
}
if [ -d "$V/snp" ]; then
        snp oak-turin-v5 true
        snp NEG-trustee-byte384 false
        echo '{"snp": {"allow_debug": false, "require_crl": false}}' > "$tmp/nodebug.json" # no AMD CRL in the vectors
        snp gsg-milan-v2 false --policy "$tmp/nodebug.json"
        expect "gsg-milan-v2 is refused by policy.snp.allow_debug" jq_true "$tmp/gsg-milan-v2.json" \
                '.authentic and any(.reasons[]; test("allow_debug"))'
else
        failed_steps+=("no vectors at $V")
fi
if [ -d "$V/tdx/phala-near-v4-uptodate" ]; then
        c=phala-near-v4-uptodate
        say "cvmctl verify tdx tdx/$c/quote.bin --collateral tdx/$c/collateral --at $(jq -r .at "$V/tdx/$c/case.json")"
        "$CVMCTL" verify tdx "$V/tdx/$c/quote.bin" --collateral "$V/tdx/$c/collateral" --at "$(jq -r .at "$V/tdx/$c/case.json")" \
                --offline --cache "$tmp/cache" --json > "$tmp/tdx.json"
        jq -c '{authentic, tcb_status, advisory_ids, accepted, reasons}' "$tmp/tdx.json"
        expect "$c: authentic and accepted" jq_true "$tmp/tdx.json" '.authentic and .accepted'
fi
if [ -d "$V/nvidia/nvtrust_2023_h100_545.00" ]; then
        c=nvtrust_2023_h100_545.00
        say "cvmctl verify gpu nvidia/$c/report.bin --chain nvidia/$c/chain.pem --rim-dir nvidia/$c/rims ..."
        "$CVMCTL" verify gpu "$V/nvidia/$c/report.bin" --chain "$V/nvidia/$c/chain.pem" --nonce "$(cat "$V/nvidia/$c/nonce.hex")" \
                --rim-dir "$V/nvidia/$c/rims" --at "$(jq -r .at "$V/nvidia/$c/case.json")" --offline --json > "$tmp/gpu.json"
        jq -c '{authentic, measurements, accepted, driver: .claims.gpus[0].driver_version, reasons}' "$tmp/gpu.json"
        expect "$c: authentic, measurements match the RIMs, accepted" jq_true "$tmp/gpu.json" '.authentic and .accepted'
fi

echo
if [ ${#failed_steps[@]} -eq 0 ]; then
        echo "Demo ended as expected: keys released only to verified evidence (CPU and GPUs), refused and quarantined for the stated reasons."
        exit 0
fi
echo "Demo did NOT end as expected; what went wrong:"
printf '  - %s\n' "${failed_steps[@]}"
echo "Demo did NOT end as expected (${#failed_steps[@]} step(s) failed)."
exit 1
