#!/bin/bash
# KEKs in a real SoftHSM2 token: a fresh token in a private SOFTHSM2_CONF, a sensitive,
# non-extractable AES-256 KEK generated inside it, `cvmctl key wrap --kek 'pkcs11:...'`, the
# unwrap through the library (build/tests/kek-unwrap), the round trip giving the original bytes,
# RFC 5649 interoperability between the token and the software wrap (a known KEK imported as a
# non-extractable object), refusals (extractable KEK, wrong PIN, tampered envelope, bad file
# KEK modes), and no key byte in any output or log of the run.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/check.sh
. tests/lib/secrets.sh
BUILD=${BUILD:-build}
CVMCTL="$BUILD/cvmctl"
UNWRAP="$BUILD/tests/kek-unwrap"

MODULE=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
        [ -f "$m" ] && MODULE=$m && break
done
if [ -z "$MODULE" ] || ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null; then
        echo "SKIP: SoftHSM2 or pkcs11-tool not installed (tools/install-deps.sh installs softhsm2 and opensc)"
        exit 0
fi
require_programs "$CVMCTL" "$UNWRAP"

CHECK_QUIET_OK=1
check_init softhsm
log=$tmp/log # every output of the run goes here, to be searched for key bytes at the end
mkdir -p "$tmp/tokens" "$tmp/keys"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" >"$tmp/softhsm2.conf"
export SOFTHSM2_CONF=$tmp/softhsm2.conf
unset CVMD_KEYS_DIR CVMD_PKCS11_MODULE
run() { # command... ; stdout+stderr appended to the log, also kept in $tmp/out
        "$@" >"$tmp/out" 2>&1
        local rc=$?
        cat "$tmp/out" >>"$log"
        return $rc
}
p11() { run pkcs11-tool --module "$MODULE" --token-label cvmd --login --pin 5678 "$@"; }

run softhsm2-util --init-token --free --label cvmd --so-pin 1234 --pin 5678 || give_up "token init"
umask 077
printf '5678\n' >"$tmp/pin"
printf 'wrong\n' >"$tmp/badpin"
p11 --keygen --key-type AES:32 --label kek --id 01 --sensitive --usage-wrap || bad "KEK keygen"
p11 --keygen --key-type AES:32 --label leaky --id 02 --extractable --usage-wrap || bad "extractable keygen"
head -c 32 /dev/urandom >"$tmp/known.kek"
p11 --write-object "$tmp/known.kek" --type secrkey --key-type AES:32 --label known --id 03 --sensitive \
        --usage-wrap || bad "known KEK import"
# the generated KEK really is sensitive and never extractable
p11 --list-objects --type secrkey
grep -A4 "label: *kek" "$tmp/out" | grep -q "never extractable" && ok || bad "KEK attributes: $(cat "$tmp/out")"

base="pkcs11:token=cvmd;object=kek?module-path=$MODULE"
URI="$base&pin-source=$tmp/pin"
KNOWN="pkcs11:token=cvmd;object=known?module-path=$MODULE&pin-source=$tmp/pin"

# data keys: 32 and 24 bytes, an odd length (padding), and 1 byte
head -c 32 /dev/urandom >"$tmp/k32"
head -c 24 /dev/urandom >"$tmp/k24"
head -c 45 /dev/urandom >"$tmp/k45"
head -c 1 /dev/urandom >"$tmp/k1"
wrapped_ok=()
for k in k32 k24 k45 k1; do
        run "$CVMCTL" key wrap --kek "$URI" --kid "$k" --keys-dir "$tmp/keys" <"$tmp/$k"
        rc=$?
        if [ $rc -eq 1 ] && [ "$k" != k32 ] && [ "$k" != k24 ] && grep -q "not RFC 5649" "$tmp/out" &&
                [ ! -e "$tmp/keys/$k.json" ]; then
                # SoftHSM2 2.6 zero-pads such keys before wrapping: refused, nothing stored
                ok
                continue
        fi
        [ $rc -eq 0 ] && ok || { bad "wrap $k: $(cat "$tmp/out")"; continue; }
        wrapped_ok+=("$k")
        grep -qx "$tmp/keys/$k.json" "$tmp/out" && ok || bad "wrap $k did not print the envelope path"
        jq -e --arg ref "$URI" '.alg == "A256KWP" and .kek == $ref and (keys | length == 4)' "$tmp/keys/$k.json" \
                >/dev/null && ok || bad "envelope $k: $(cat "$tmp/keys/$k.json")"
        [ "$(stat -c %a "$tmp/keys/$k.json")" = 600 ] && ok || bad "envelope $k mode"
        run "$UNWRAP" "$tmp/keys/$k.json" "$tmp/$k.out" && ok || bad "unwrap $k: $(cat "$tmp/out")"
        cmp -s "$tmp/$k" "$tmp/$k.out" && ok || bad "round trip $k gave other bytes"
        # RFC 5649 size: 8 + the key rounded up to 8
        n=$(wc -c <"$tmp/$k")
        got=$(jq -r .wrapped "$tmp/keys/$k.json" | base64 -d | wc -c)
        [ "$got" = $((8 + (n + 7) / 8 * 8)) ] && ok || bad "$k wrapped to $got bytes"
done
# list and check
run "$CVMCTL" key list --keys-dir "$tmp/keys" --json && ok || bad "key list"
want=$(printf '%s\n' "${wrapped_ok[@]}" | sort | jq -R . | jq -sc .)
jq -e --argjson want "$want" '[.keys[].kid] == $want and all(.keys[]; .valid)' "$tmp/out" >/dev/null && ok \
        || bad "key list JSON: $(cat "$tmp/out")"
run "$CVMCTL" key check --keys-dir "$tmp/keys" --json && ok || bad "key check: $(cat "$tmp/out")"
jq -e '.ok and all(.keys[]; .unwraps)' "$tmp/out" >/dev/null && ok || bad "key check JSON"

# interoperability: the token's wrap and OpenSSL's RFC 5649 wrap with the same KEK agree both ways
cp "$tmp/known.kek" "$tmp/file.kek"
run "$CVMCTL" key wrap --kek "file:$tmp/file.kek" --kid soft --keys-dir "$tmp/keys" <"$tmp/k45" && ok || bad "file wrap"
run "$UNWRAP" "$tmp/keys/soft.json" "$tmp/soft.out" "$KNOWN" && ok || bad "token unwrap of a software wrap"
cmp -s "$tmp/k45" "$tmp/soft.out" && ok || bad "software -> token round trip"
run "$CVMCTL" key wrap --kek "file:$tmp/file.kek" --kid soft1 --keys-dir "$tmp/keys" <"$tmp/k1" && ok || bad "file wrap"
run "$UNWRAP" "$tmp/keys/soft1.json" "$tmp/soft1.out" "$KNOWN" && ok || bad "token unwrap of a 1-byte software wrap"
cmp -s "$tmp/k1" "$tmp/soft1.out" && ok || bad "software -> token round trip (1 byte)"
run "$CVMCTL" key wrap --kek "$KNOWN" --kid hard --keys-dir "$tmp/keys" <"$tmp/k32" && ok || bad "token wrap (known)"
run "$UNWRAP" "$tmp/keys/hard.json" "$tmp/hard.out" "file:$tmp/file.kek" && ok || bad "software unwrap of a token wrap"
cmp -s "$tmp/k32" "$tmp/hard.out" && ok || bad "token -> software round trip"
# the envelope written through the token equals OpenSSL's RFC 5649 wrap with the same KEK (deterministic)
run "$CVMCTL" key wrap --kek "file:$tmp/file.kek" --kid hard-soft --keys-dir "$tmp/keys" <"$tmp/k32" && ok || bad "file wrap"
[ "$(jq -r .wrapped "$tmp/keys/hard.json")" = "$(jq -r .wrapped "$tmp/keys/hard-soft.json")" ] && ok \
        || bad "token and software wraps of the same key differ"

# refusals
run "$CVMCTL" key wrap --kek "pkcs11:token=cvmd;object=leaky?module-path=$MODULE&pin-source=$tmp/pin" --kid x \
        --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 1 ] && grep -q "EXTRACTABLE" "$tmp/out" && ok || bad "extractable KEK accepted: $(cat "$tmp/out")"
run "$CVMCTL" key wrap --kek "$base&pin-source=$tmp/badpin" --kid x --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 1 ] && grep -q "CKR_PIN_INCORRECT" "$tmp/out" && ok || bad "wrong PIN: $(cat "$tmp/out")"
run "$CVMCTL" key wrap --kek "$base" --kid x --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 1 ] && grep -q "PIN" "$tmp/out" && ok || bad "no PIN: $(cat "$tmp/out")"
run "$CVMCTL" key wrap --kek "pkcs11:token=nosuch;object=kek?module-path=$MODULE&pin-source=$tmp/pin" --kid x \
        --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 1 ] && grep -q "no PKCS#11 token" "$tmp/out" && ok || bad "unknown token: $(cat "$tmp/out")"
run "$CVMCTL" key wrap --kek "$URI&pin-value=5678" --kid x --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 2 ] || [ $? -eq 1 ] && ok || bad "pin-value and pin-source together accepted"
# pin-value is used but never stored
run "$CVMCTL" key wrap --kek "$base&pin-value=5678" --kid pv --keys-dir "$tmp/keys" <"$tmp/k32" && ok \
        || bad "pin-value: $(cat "$tmp/out")"
grep -q "pin-value\|5678" "$tmp/keys/pv.json" && bad "the PIN was written into the envelope" || ok
chmod 0640 "$tmp/pin"
run "$CVMCTL" key wrap --kek "$URI" --kid x --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 1 ] && grep -q "mode 0640" "$tmp/out" && ok || bad "group-readable pin-source accepted"
chmod 0600 "$tmp/pin"
chmod 0644 "$tmp/file.kek"
run "$CVMCTL" key wrap --kek "file:$tmp/file.kek" --kid x --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 1 ] && grep -q "refusing" "$tmp/out" && ok || bad "world-readable KEK file accepted"
chmod 0600 "$tmp/file.kek"
ln -s "$tmp/file.kek" "$tmp/link.kek"
run "$CVMCTL" key wrap --kek "file:$tmp/link.kek" --kid x --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 1 ] && grep -q "symbolic link" "$tmp/out" && ok || bad "symlinked KEK file accepted"
run "$CVMCTL" key wrap --kek "$URI" --kid k32 --keys-dir "$tmp/keys" <"$tmp/k32"
[ $? -eq 1 ] && grep -q "exists already" "$tmp/out" && ok || bad "existing envelope replaced without --force"
# a tampered envelope fails the integrity check inside the token
jq --arg w "$(jq -r .wrapped "$tmp/keys/k32.json" | base64 -d | python3 -c 'import sys,base64; b=bytearray(sys.stdin.buffer.read()); b[9]^=1; print(base64.b64encode(b).decode())')" \
        '.wrapped = $w' "$tmp/keys/k32.json" >"$tmp/tampered.json"
run "$UNWRAP" "$tmp/tampered.json" "$tmp/tampered.out"
[ $? -eq 1 ] && [ ! -e "$tmp/tampered.out" ] && ok || bad "tampered envelope unwrapped"
# an envelope moved under another name is refused by key check
cp "$tmp/keys/k32.json" "$tmp/keys/renamed.json"
run "$CVMCTL" key check --keys-dir "$tmp/keys" renamed
[ $? -eq 1 ] && grep -q "does not match" "$tmp/out" && ok || bad "renamed envelope: $(cat "$tmp/out")"

# usage errors
run "$CVMCTL" key wrap --kid x </dev/null; [ $? -eq 2 ] && ok || bad "wrap without --kek"
run "$CVMCTL" key wrap --kek "$URI" --kid ../x <"$tmp/k32"; [ $? -eq 2 ] && ok || bad "bad kid accepted"
run "$CVMCTL" key wrap --kek "$URI" --kid e --keys-dir "$tmp/keys" </dev/null; [ $? -eq 2 ] && ok || bad "empty stdin"
head -c 5000 /dev/zero >"$tmp/big"
run "$CVMCTL" key wrap --kek "$URI" --kid e --keys-dir "$tmp/keys" <"$tmp/big"; [ $? -eq 2 ] && ok || bad "oversize key"
run "$CVMCTL" key wrap --help; [ $? -eq 0 ] && grep -q -- "--kek URI" "$tmp/out" && ok || bad "key wrap --help"
run "$CVMCTL" key frob; [ $? -eq 2 ] && ok || bad "unknown key command"

# no key byte in any output or log of the run: raw bytes, hex and base64 of every data key
for k in k32 k24 k45; do
        no_key_bytes "$tmp/$k" "$log" && ok || bad "bytes of $k in the output"
done
grep -q "5678" "$log" && bad "the PIN appears in the output" || ok

check_finish
