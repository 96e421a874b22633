#!/bin/bash
# Regenerates the synthetic seed corpus for fuzz-key-envelope: envelopes made up here (random
# wrapped bytes, no real key material), valid ones and one per way of being wrong. Run from the
# repository root.
set -euo pipefail
out=tests/fuzz/corpus/key-envelope
mkdir -p "$out"
python3 - "$out" <<'PY'
import base64, json, os, sys
d = sys.argv[1]
w24 = base64.b64encode(bytes(range(24))).decode()
w40 = base64.b64encode(bytes((i * 7) & 0xff for i in range(40))).decode()
def env(**kw):
    e = {"kid": "train-1", "kek": "file:/etc/cvmd/kek.bin", "alg": "A256KWP", "wrapped": w24}
    e.update(kw)
    return json.dumps(e, indent=2) + "\n"
seeds = {
    "valid-file.json": env(),
    "valid-pkcs11.json": env(kid="job.42_a", kek="pkcs11:token=cvmd;object=kek;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/cvmd/pin", wrapped=w40),
    "valid-cred.json": env(kek="cred:cvmd-kek", alg="A128KWP"),
    "valid-compact.json": json.dumps({"kid": "k", "kek": "file:/k", "alg": "A192KWP", "wrapped": w24}, separators=(",", ":")),
    "bad-unknown-key.json": env(extra=1),
    "bad-missing.json": json.dumps({"kid": "k", "kek": "file:/k", "alg": "A256KWP"}),
    "bad-kid.json": env(kid="../etc/passwd"),
    "bad-type.json": env(kid=5),
    "bad-alg.json": env(alg="A256GCM"),
    "bad-scheme.json": env(kek="https://example.invalid/kek"),
    "bad-base64.json": env(wrapped="AAEC AwQF"),
    "bad-short.json": env(wrapped=base64.b64encode(bytes(8)).decode()),
    "bad-unaligned.json": env(wrapped=base64.b64encode(bytes(20)).decode()),
    "bad-duplicate.json": '{"kid":"a","kid":"b","kek":"file:/k","alg":"A256KWP","wrapped":"%s"}' % w24,
    "bad-escaped-key.json": '{"k\\u0069d":"a","kek":"file:/k","alg":"A256KWP","wrapped":"%s"}' % w24,
    "bad-nul.json": '{"kid":"a\\u0000","kek":"file:/k","alg":"A256KWP","wrapped":"%s"}' % w24,
    "bad-trailing.json": env() + "{}",
    "bad-array.json": "[]",
    "bad-truncated.json": env()[:40],
    "valid-install-file.json": env(install={"target": "file", "owner": "trainer", "group": "trainer", "mode": "0440"}),
    "valid-install-keyring.json": env(install={"target": "keyring", "user": "trainer"}),
    "valid-install-luks.json": env(install={"target": "luks", "device": "/dev/vdb", "name": "data"}),
    "bad-install-mode.json": env(install={"mode": "0666"}),
    "bad-install-user-file.json": env(install={"target": "file", "user": "trainer"}),
    "bad-install-target.json": env(install={"target": "disk"}),
    "bad-install-duplicate.json": '{"kid":"a","kek":"file:/k","alg":"A256KWP","wrapped":"%s","install":{"mode":"0400","mode":"0440"}}' % w24,
    "empty": "",
}
for name, text in seeds.items():
    open(os.path.join(d, name), "w").write(text)
PY
