#!/bin/bash
# Regenerates the seed corpus of fuzz-switch-report from simulated NVSwitches only: a board of
# four (cvmctl sim init --switches 4), each switch's report signed by the simulator's code
# (tests/helpers/switch-report) followed by its chain after the split marker (sim0..3), and
# malformed variants of switch 0's report: cut short, a TLV claiming too much, a duplicated TLV,
# SWITCH_GPU_PDIS too short, a byte after the signature, the opaque data without the switch
# fields, empty. No real capture is needed or used. Run from the repository root after a build
# (BUILD, default build; it needs cvmctl and tests/switch-report).
set -euo pipefail
BUILD=${BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/tests/fuzz/corpus}/switch-report
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*
"$BUILD/cvmctl" sim init "$tmp/sim" --gpus 8 --switches 4 --json > /dev/null
for i in 0 1 2 3; do
        nonce=$(printf '%02x' $(seq $((0xa0 + i)) $((0xa0 + i + 31))))
        "$BUILD/tests/switch-report" "$tmp/sim/gpu/switch$i" "$nonce" > "$tmp/report$i.bin"
        cp "$tmp/sim/gpu/switch$i/chain.pem" "$tmp/chain$i.pem"
done
python3 - "$tmp" "$out" <<'PY'
import os, struct, sys
src, out = sys.argv[1], sys.argv[2]
SPLIT = b"\n--cvmd-fuzz-split--\n"
def read(p):
    with open(p, "rb") as f:
        return f.read()
def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
for i in range(4):
    write("sim%d" % i, read(f"{src}/report{i}.bin") + SPLIT + read(f"{src}/chain{i}.pem"))
rep = read(f"{src}/report0.bin")
# locate the opaque data: request 37, response header 8, record, nonce 32, length 2
rec = int.from_bytes(rep[42:45], "little")
at = 37 + 8 + rec + 32
olen = int.from_bytes(rep[at:at + 2], "little")
opaque = rep[at + 2:at + 2 + olen]
assert at + 2 + olen + 96 == len(rep), "not a report with a P-384 signature after the opaque data"
def with_opaque(o, tail=b"\0" * 96):
    return rep[:at] + struct.pack("<H", len(o)) + o + tail
tlvs, p = [], 0
while p < len(opaque):
    t, l = struct.unpack("<HH", opaque[p:p + 4]); tlvs.append((t, opaque[p + 4:p + 4 + l])); p += 4 + l
assert {22, 26} <= {t for t, _ in tlvs}, "the simulated report lacks DEVICE_PDI or SWITCH_GPU_PDIS"
def join(ts):
    return b"".join(struct.pack("<HH", t, len(v)) + v for t, v in ts)
write("truncated", rep[:at + 2 + olen // 2])
write("tlv-too-long", with_opaque(opaque[:2] + b"\xff\x7f" + opaque[4:]))
write("duplicate-pdi", with_opaque(join(tlvs + [t for t in tlvs if t[0] == 22])))
write("short-gpu-pdis", with_opaque(join([(t, v[:40] if t == 26 else v) for t, v in tlvs])))
write("trailing-byte", rep + b"\0")
write("no-switch-fields", with_opaque(join([(t, v) for t, v in tlvs if t < 22])))
write("empty", b"")
PY
