#!/bin/bash
# Regenerates the synthetic seed corpus for fuzz-key-bundle: version-2 key bundles made up here
# (random key bytes, no real key material), valid ones and one per way of being wrong. Run from
# the repository root.
set -euo pipefail
out=tests/fuzz/corpus/key-bundle
mkdir -p "$out"
python3 - "$out" <<'PY'
import os, struct, sys
d = sys.argv[1]
TARGETS = {"default": 0, "file": 1, "keyring": 2, "luks": 3}
def s8(b):
    b = b.encode() if isinstance(b, str) else b
    return bytes([len(b)]) + b
def rec(kid, key, target="default", owner="", group="", mode=0, device="", name=""):
    return (s8(kid) + bytes([TARGETS.get(target, target) if isinstance(target, str) else target]) + s8(owner) +
            s8(group) + struct.pack(">H", mode) + s8(device) + s8(name) + struct.pack(">H", len(key)) + key)
def bundle(recs, flags=1, version=2, count=None):
    return b"CVMK" + bytes([version, flags, len(recs) if count is None else count]) + b"".join(recs)
k32 = bytes((i * 37 + 11) & 0xff for i in range(32))
k64 = bytes((i * 13 + 5) & 0xff for i in range(64))
seeds = {
    "valid-empty": bundle([]),
    "valid-default": bundle([rec("train-1", k32)]),
    "valid-keep": bundle([rec("train-1", k32)], flags=0),
    "valid-file": bundle([rec("ds-key", k32, "file", "trainer", "trainer", 0o440)]),
    "valid-keyring": bundle([rec("ckpt.key", k64, "keyring", "trainer")]),
    "valid-luks": bundle([rec("vol_1", k64, "luks", device="/dev/vdb", name="data")]),
    "valid-mixed": bundle([rec("a", k32), rec("b", k32, "file", mode=0o400), rec("c", k64, "luks", device="/dev/disk/by-id/virtio-x")]),
    "bad-version-1": b"CVMK\x01\x01" + bytes([7]) + b"train-1" + struct.pack(">H", 32) + k32,
    "bad-version-3": bundle([rec("a", k32)], version=3),
    "bad-magic": b"CVMX" + bundle([rec("a", k32)])[4:],
    "bad-flags": bundle([rec("a", k32)], flags=0x81),
    "bad-count": bundle([rec("a", k32)], count=2),
    "bad-too-many": bundle([], count=65),
    "bad-duplicate": bundle([rec("a", k32), rec("a", k64)]),
    "bad-kid": bundle([rec("../etc/passwd", k32)]),
    "bad-kid-colon": bundle([rec("kms:a", k32)]),
    "bad-kid-nul": bundle([rec("a\x00b", k32)]),
    "bad-target": bundle([rec("a", k32, 9)]),
    "bad-mode-writable": bundle([rec("a", k32, "file", mode=0o666)]),
    "bad-mode-keyring": bundle([rec("a", k32, "keyring", mode=0o400)]),
    "bad-owner": bundle([rec("a", k32, "file", owner="-rf")]),
    "bad-device": bundle([rec("a", k32, "luks", device="/etc/../dev/sda")]),
    "bad-luks-nodevice": bundle([rec("a", k32, "luks")]),
    "bad-dm-name": bundle([rec("a", k32, "luks", device="/dev/vdb", name="a/b")]),
    "bad-empty-key": bundle([rec("a", b"")]),
    "bad-big-key": bundle([rec("a", bytes(4097))]),
    "bad-truncated": bundle([rec("a", k32)])[:-5],
    "bad-trailing": bundle([rec("a", k32)]) + b"\x00",
    "empty": b"",
}
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
PY
