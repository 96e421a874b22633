#!/bin/bash
# cvmctl measure and cvmctl eventlog end to end: every scored case of $CVM_VECTORS/measure
# through the command line (SNP launch measurements and refusals, the ID block, TDX MRTD, CCEL
# replays against their quote), a tampered event log refused against the quote, and the usage
# and malformed-input paths with their exit status and single JSON object.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
BUILD=${BUILD:-build}
V=${CVM_VECTORS:-../shared/vectors}/measure
CVMCTL="$BUILD/cvmctl"
CHECK_QUIET_OK=1
check_init measure

run() { # command... ; leaves $tmp/out, $tmp/err, $rc
        "$@" >"$tmp/out" 2>"$tmp/err"
        rc=$?
}
one_json_object() { # description: stdout holds exactly one JSON object
        if [ "$(jq -s 'length' "$tmp/out" 2>/dev/null)" = 1 ] && jq -e 'type == "object"' "$tmp/out" >/dev/null; then
                ok
        else
                bad "$1: stdout is not one JSON object: $(head -c 300 "$tmp/out")"
        fi
}

# --- usage errors: exit 2, the reason on stderr
expect_exit 2 "measure without kind" "$CVMCTL" measure
expect_exit 2 "measure unknown kind" "$CVMCTL" measure sev
expect_exit 2 "measure snp without --vcpus" "$CVMCTL" measure snp --firmware /nonexistent
grep -q -- "--vcpus" "$tmp/err" && ok || bad "missing --vcpus not named: $(cat "$tmp/err")"
expect_exit 2 "measure snp qemu without CPU signature" "$CVMCTL" measure snp --firmware x --vcpus 1
grep -q -- "--vcpu-type" "$tmp/err" && ok || bad "missing CPU signature not named: $(cat "$tmp/err")"
expect_exit 2 "unknown CPU model" "$CVMCTL" measure snp --firmware x --vcpus 1 --vcpu-type Pentium
expect_exit 2 "bad --vcpu-sig" "$CVMCTL" measure snp --firmware x --vcpus 1 --vcpu-sig xyz
expect_exit 2 "bad --vmm" "$CVMCTL" measure snp --firmware x --vcpus 1 --vmm azure
expect_exit 2 "zero vCPUs" "$CVMCTL" measure snp --firmware x --vcpus 0 --vcpu-sig 0x800f12
expect_exit 2 "--initrd without --kernel" "$CVMCTL" measure snp --firmware x --vcpus 1 --vcpu-sig 1 --initrd y
expect_exit 2 "--svsm without --vars-size" "$CVMCTL" measure snp --firmware x --vcpus 1 --vcpu-sig 1 --svsm y
expect_exit 2 "bad --ovmf-hash" "$CVMCTL" measure snp --firmware x --vcpus 1 --vcpu-sig 1 --ovmf-hash 00
expect_exit 2 "unreadable firmware" "$CVMCTL" measure snp --firmware /nonexistent/ovmf.fd --vcpus 1 --vcpu-sig 1 --json
grep -q "/nonexistent/ovmf.fd" "$tmp/err" && ok || bad "unreadable firmware not named: $(cat "$tmp/err")"
one_json_object "unreadable firmware --json"
expect_exit 2 "id block without key" "$CVMCTL" measure snp-id-block --measurement "$(printf '00%.0s' $(seq 48))"
expect_exit 2 "id block policy without bit 17" "$CVMCTL" measure snp-id-block \
        --measurement "$(printf '00%.0s' $(seq 48))" --id-key x --policy 0x10000
expect_exit 2 "measure tdx without --firmware" "$CVMCTL" measure tdx
expect_exit 2 "eventlog without TEE" "$CVMCTL" eventlog
expect_exit 2 "eventlog snp" "$CVMCTL" eventlog snp x
expect_exit 2 "eventlog unreadable" "$CVMCTL" eventlog tdx /nonexistent/ccel --json
one_json_object "eventlog unreadable --json"
for sub in "measure snp" "measure snp-id-block" "measure tdx" "eventlog tdx"; do
        # shellcheck disable=SC2086
        expect_exit 0 "$sub --help" "$CVMCTL" $sub --help
done

# --- malformed input: exit 1 with a reason, never a crash
head -c 8192 /dev/urandom >"$tmp/junk.fd"
expect_exit 1 "random firmware" "$CVMCTL" measure snp --firmware "$tmp/junk.fd" --vcpus 1 --vcpu-sig 1 --json
one_json_object "random firmware --json"
expect_exit 1 "random TDVF" "$CVMCTL" measure tdx --firmware "$tmp/junk.fd" --json
one_json_object "random TDVF --json"
head -c 1000 /dev/urandom >"$tmp/junk.log"
expect_exit 1 "random event log" "$CVMCTL" eventlog tdx "$tmp/junk.log" --json
one_json_object "random event log --json"
jq -e '.error | test("event log")' "$tmp/out" >/dev/null && ok || bad "event log refusal: $(cat "$tmp/out")"

if [ ! -d "$V/snp" ]; then
        echo "SKIP: no vectors at $V: the vector cases are skipped"
        check_finish
        exit
fi

# --- SEV-SNP launch measurements and refusals (modes snp and snp:svsm, files as inputs)
for dir in "$V"/snp/*/; do
        c=$dir/case.json
        kind=$(jq -r .kind "$c")
        mode=$(jq -r '.inputs.mode // ""' "$c")
        [ "$(jq -r '.runnable' "$c")" = true ] || continue
        [ "$(jq -r '.inputs.input_style // ""' "$c")" = precomputed ] && continue
        case "$kind" in
        launch_measurement) [[ $mode == snp || $mode == snp:svsm ]] || continue ;;
        expected_error) ;;
        *) continue ;;
        esac
        id=$(basename "$dir")
        args=(measure snp --json --firmware "$dir$(jq -r .inputs.firmware "$c")" --vcpus "$(jq -r '.inputs.vcpus // 1' "$c")")
        vmm=$(jq -r '.inputs.vmm // "qemu"' "$c")
        args+=(--vmm "$vmm")
        sig=$(jq -r '.inputs.vcpu_sig // ""' "$c")
        [ -n "$sig" ] && args+=(--vcpu-sig "$sig")
        [ -z "$sig" ] && [ "${vmm,,}" = qemu ] && args+=(--vcpu-type "$(jq -r '.inputs.vcpu_type // "EPYC-v4"' "$c")")
        gf=$(jq -r '.inputs.guest_features // ""' "$c")
        [ -n "$gf" ] && args+=(--guest-features "$gf")
        for f in kernel initrd; do
                v=$(jq -r ".inputs.$f // \"\"" "$c")
                [ "$v" = /dev/null ] && args+=(--"$f" /dev/null)
                [ -n "$v" ] && [ "$v" != /dev/null ] && args+=(--"$f" "$dir$v")
        done
        if [ "$(jq -r '.inputs.kernel // ""' "$c")" != "" ]; then
                args+=(--append "$(jq -r '.inputs.append // ""' "$c")")
        fi
        h=$(jq -r '.inputs.snp_ovmf_hash // ""' "$c")
        [ -n "$h" ] && args+=(--ovmf-hash "$h")
        s=$(jq -r '.inputs.svsm // ""' "$c")
        [ -n "$s" ] && args+=(--svsm "$dir$s" --vars-size "$(jq -r .inputs.ovmf_vars_size "$c")")
        run "$CVMCTL" "${args[@]}"
        if [ "$kind" = expected_error ]; then
                if [ "$rc" -eq 1 ] && jq -e '.ok == false and (.error | length > 0)' "$tmp/out" >/dev/null; then
                        ok
                else
                        bad "$id: expected a refusal with a reason, got exit $rc: $(head -c 300 "$tmp/out")"
                fi
                continue
        fi
        want=$(jq -r .expected.measurement "$c")
        got=$(jq -r .measurement "$tmp/out" 2>/dev/null)
        if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok; else bad "$id: exit $rc, measurement $got, expected $want; $(head -2 "$tmp/err")"; fi
        want=$(jq -r '.expected.ovmf_hash // ""' "$c")
        if [ -n "$want" ]; then
                got=$(jq -r .ovmf_hash "$tmp/out")
                [ "$got" = "$want" ] && ok || bad "$id: ovmf_hash $got, expected $want"
        fi
done

# A different command line gives a different measurement (what a policy relies on).
base=(measure snp --json --firmware "$V/snp/ssm-snp-cmdline-gf21/ovmf_AmdSev_suffix.bin" --vcpus 1
        --vcpu-type EPYC-v4 --guest-features 0x21 --kernel /dev/null --initrd /dev/null)
run "$CVMCTL" "${base[@]}" --append "console=ttyS0 loglevel=7"
m1=$(jq -r .measurement "$tmp/out")
run "$CVMCTL" "${base[@]}" --append "console=ttyS0 loglevel=7 init=/bin/sh"
m2=$(jq -r .measurement "$tmp/out")
[ -n "$m1" ] && [ "$m1" != "$m2" ] && ok || bad "a changed command line did not change the measurement"

# --- the ID block
c=$V/snp/ssm-id-block/case.json
ld=$(jq -r .inputs.launch_digest_base64 "$c" | base64 -d | od -An -tx1 -v | tr -d ' \n')
expect_exit 0 "id block" "$CVMCTL" measure snp-id-block --json --measurement "$ld" \
        --id-key "$V/snp/ssm-id-block/id_key_test.pem" --author-key "$V/snp/ssm-id-block/author_key_test.pem" \
        --family-id "$(jq -r .inputs.family_id "$c")" --image-id "$(jq -r .inputs.image_id "$c")" \
        --version 1 --guest-svn 0 --policy 0x30000
for k in id_block id_key_digest author_key_digest; do
        want=$(jq -r ".expected.${k}_base64" "$c")
        got=$(jq -r ".$k" "$tmp/out")
        [ "$got" = "$want" ] && ok || bad "id block: $k is $got, expected $want"
done
n=$(jq -r .id_auth "$tmp/out" | base64 -d | wc -c)
[ "$n" -eq 4096 ] && ok || bad "id_auth is $n bytes, not 4096"
grep -q "PRIVATE" "$tmp/out" "$tmp/err" && bad "private key material in the output" || ok

# --- TDX: MRTD and event log replays
for dir in "$V"/tdx/*/; do
        c=$dir/case.json
        id=$(basename "$dir")
        [ "$(jq -r .runnable "$c")" = true ] || continue
        case "$(jq -r .kind "$c")" in
        mrtd)
                expect_exit 0 "$id" "$CVMCTL" measure tdx --json --firmware "$dir$(jq -r .inputs.firmware "$c")"
                [ "$(jq -r .mrtd "$tmp/out")" = "$(jq -r .expected.mrtd "$c")" ] && ok || bad "$id: mrtd $(jq -r .mrtd "$tmp/out")"
                ;;
        ccel_replay)
                args=(eventlog tdx --json "$dir$(jq -r .inputs.ccel_data "$c")")
                t=$(jq -r '.inputs.ccel_table // ""' "$c")
                [ -n "$t" ] && args+=(--table "$dir$t")
                q=$(jq -r '.inputs.quote // ""' "$c")
                [ -n "$q" ] && args+=(--quote "$dir$q")
                expect_exit 0 "$id" "$CVMCTL" "${args[@]}"
                for i in 0 1 2 3; do
                        want=$(jq -r ".expected.rtmr$i" "$c")
                        got=$(jq -r ".rtmr$i" "$tmp/out")
                        [ "$got" = "$want" ] && ok || bad "$id: rtmr$i is $got, expected $want"
                done
                if [ -n "$q" ]; then
                        jq -e '.quote_match == true' "$tmp/out" >/dev/null && ok || bad "$id: replay does not match its quote"
                fi
                ;;
        esac
done

# What the log says booted: the kernel is the last boot-services application on RTMR1, the
# command line GRUB's "kernel_cmdline:" EV_IPL event on RTMR2 (checked here from the event list).
d=$V/tdx/goeventlog-cos113-ccel-replay
expect_exit 0 "eventlog booted" "$CVMCTL" eventlog tdx "$d/cos-113-intel-tdx.bin" --quote "$d/cos-113-tdx-quote.dat" --json
jq -e '.booted.kernel == ([.events[] | select(.mr == "rtmr1" and .type == "EV_EFI_BOOT_SERVICES_APPLICATION")] | last | .digest)
       and .booted.cmdline == ([.events[] | select(.mr == "rtmr2" and .type == "EV_IPL" and
                                (.data | startswith("kernel_cmdline:")))] | last | .digest)
       and .booted.workloads == [] and .quote_match' "$tmp/out" >/dev/null && ok \
        || bad "booted: $(jq -c .booted "$tmp/out")"

# A replayed CCEL that does not match the quote's RTMRs is refused: one event's SHA-384 digest
# changed (the second event's digest starts 4+4+4+2 bytes into it).
d=$V/tdx/goeventlog-cos113-ccel-replay
cp "$d/cos-113-intel-tdx.bin" "$tmp/ccel"
first=$(python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
size = struct.unpack_from("<I", d, 28)[0]
print(32 + size + 14)' "$tmp/ccel")
printf '\x5a' | dd of="$tmp/ccel" bs=1 seek="$first" conv=notrunc status=none
expect_exit 1 "tampered event log against the quote" "$CVMCTL" eventlog tdx "$tmp/ccel" \
        --table "$d/cos-113-intel-tdx.table.bin" --quote "$d/cos-113-tdx-quote.dat" --json
one_json_object "tampered event log --json"
jq -e '.quote_match == false and (.reason | test("RTMR0"))' "$tmp/out" >/dev/null && ok \
        || bad "tampered log: $(head -c 300 "$tmp/out")"
# The log of another guest against this quote: refused too.
expect_exit 1 "another guest's log against the quote" "$CVMCTL" eventlog tdx "$V/tdx/trustee-ccel-data/CCEL_data" \
        --quote "$d/cos-113-tdx-quote.dat"
grep -q "does not match the quote" "$tmp/err" && ok || bad "mismatch reason: $(cat "$tmp/err")"
# A table whose checksum does not add up is refused.
cp "$d/cos-113-intel-tdx.table.bin" "$tmp/table"
printf '\x00' | dd of="$tmp/table" bs=1 seek=9 conv=notrunc status=none
expect_exit 1 "bad CCEL table checksum" "$CVMCTL" eventlog tdx "$d/cos-113-intel-tdx.bin" --table "$tmp/table"
grep -q "checksum" "$tmp/err" && ok || bad "checksum reason: $(cat "$tmp/err")"

check_finish
