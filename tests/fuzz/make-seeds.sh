#!/bin/bash
# Regenerates the synthetic seed corpora for the SNP fuzz targets. Everything here is made up
# locally (no real evidence is copied into the repository): report-shaped byte strings, and
# self-signed certificates carrying AMD-style extensions. Run from the repository root.
set -euo pipefail
out=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$out/snp-report" <<'PY'
import os, struct, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
def report(version, fam=0, mod=0, chip=b"\x11" * 64, tcb=bytes([3,0,0,0,0,0,8,115]), key_info=0):
    r = bytearray(0x4A0)
    struct.pack_into("<IIQ", r, 0, version, 1, 0x30000)
    struct.pack_into("<II", r, 0x30, 0, 1)
    r[0x38:0x40] = tcb
    struct.pack_into("<Q", r, 0x40, 0x3)
    struct.pack_into("<I", r, 0x48, key_info)
    r[0x50:0x90] = bytes(range(64))
    r[0x160:0x180] = b"\xff" * 32
    r[0x180:0x188] = tcb
    if version >= 3:
        r[0x188], r[0x189], r[0x18A] = fam, mod, 1
    r[0x1A0:0x1E0] = chip
    r[0x1E0:0x1E8] = tcb; r[0x1F0:0x1F8] = tcb
    r[0x1E8:0x1EB] = bytes([29, 55, 1])
    if version == 5:
        struct.pack_into("<QQ", r, 0x1F8, 1, 1)
    r[0x2A0:0x2A0+48] = b"\x22" * 48; r[0x2E8:0x2E8+48] = b"\x33" * 48
    return bytes(r)
seeds = {
    "v2-milan": report(2),
    "v3-genoa": report(3, 0x19, 0x11),
    "v3-bergamo": report(3, 0x19, 0xA0),
    "v5-turin": report(5, 0x1A, 0x02, chip=b"\x3b" * 8 + bytes(56), tcb=bytes([0,1,0,2,0,0,0,71])),
    "v3-vlek": report(3, 0x19, 0x01, chip=bytes(64), key_info=1 << 2),
    "v4-unpublished": report(4, 0x19, 0x01),
    "unsigned": report(3, 0x19, 0x01, key_info=7 << 2),
    "bad-version": report(9),
    "truncated": report(3)[:700],
    "oversized": report(3) + b"\x00" * 20,
    "empty": b"",
}
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
PY

# A self-signed EC P-384 "VCEK" and "VLEK" with the AMD extension profile.
mkcert() { # name cn extra-extensions
        local name=$1 cn=$2 ext=$3
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -keyout "$tmp/$name.key" \
                -subj "/O=cvmd fuzz seed/CN=$cn" -days 3650 -out "$tmp/$name.pem" \
                -addext "1.3.6.1.4.1.3704.1.1=ASN1:INTEGER:0" -addext "1.3.6.1.4.1.3704.1.2=ASN1:IA5STRING:Milan-B0" \
                -addext "1.3.6.1.4.1.3704.1.3.1=ASN1:INTEGER:3" -addext "1.3.6.1.4.1.3704.1.3.2=ASN1:INTEGER:0" \
                -addext "1.3.6.1.4.1.3704.1.3.3=ASN1:INTEGER:8" -addext "1.3.6.1.4.1.3704.1.3.8=ASN1:INTEGER:219" \
                $ext 2>/dev/null
        openssl x509 -in "$tmp/$name.pem" -outform DER -out "$tmp/$name.der"
}
mkcert vcek SEV-VCEK "-addext 1.3.6.1.4.1.3704.1.4=DER:$(printf '11%.0s' $(seq 64))"
mkcert vcek-wrapped SEV-VCEK "-addext 1.3.6.1.4.1.3704.1.4=ASN1:FORMAT:HEX,OCTETSTRING:$(printf '22%.0s' $(seq 64))"
mkcert vlek SEV-VLEK "-addext 1.3.6.1.4.1.3704.1.5=ASN1:IA5STRING:CN=example"
mkcert ask SEV-Milan ""
mkdir -p "$out/snp-certs" "$out/snp-cert-table"
cp "$tmp/vcek.der" "$out/snp-certs/vcek.der"
cp "$tmp/vcek-wrapped.pem" "$out/snp-certs/vcek-wrapped-hwid.pem"
cp "$tmp/vlek.pem" "$out/snp-certs/vlek.pem"
cat "$tmp/ask.pem" "$tmp/vcek.pem" > "$out/snp-certs/two-pem.pem"
printf 'not a certificate\n' > "$out/snp-certs/garbage"

python3 - "$tmp" "$out/snp-cert-table" <<'PY'
import os, struct, sys, uuid
tmp, d = sys.argv[1], sys.argv[2]; os.makedirs(d, exist_ok=True)
G = {"vcek": "63da758d-e664-4564-adc5-f4b93be8accd", "vlek": "a8074bc2-a25a-483e-aae6-39c045a0b8a1",
     "ask": "4ab7b379-bbac-4fe4-a02f-05aef327c782", "ark": "c0b406a4-a803-4952-9743-3fb6014cd0ae"}
def table(entries):
    head = 24 * (len(entries) + 1); blobs = b""; rows = b""
    for guid, blob in entries:
        rows += uuid.UUID(guid).bytes + struct.pack("<II", head + len(blobs), len(blob)); blobs += blob
    return rows + bytes(24) + blobs
vcek = open(os.path.join(tmp, "vcek.pem"), "rb").read()
ask = open(os.path.join(tmp, "ask.pem"), "rb").read()
vlek = open(os.path.join(tmp, "vlek.der"), "rb").read()
seeds = {
    "vcek-ask": table([(G["ask"], ask), (G["vcek"], vcek)]),
    "vlek-der": table([(G["vlek"], vlek)]),
    "unknown-guid": table([("01234567-89ab-cdef-0123-456789abcdef", b"opaque"), (G["vcek"], vcek)]),
    "terminator-only": bytes(24),
    "no-terminator": table([(G["vcek"], vcek)])[:24],
    "out-of-bounds": uuid.UUID(G["vcek"]).bytes + struct.pack("<II", 48, 0xffff) + bytes(24),
    "empty": b"",
}
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
PY
echo "seeds written under $out"

# Guest channel frames: each message type, and broken frames.
python3 - tests/fuzz/corpus/guest-frame <<'PY'
import base64, json, os, struct, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
b = lambda x: base64.b64encode(x).decode()
def frame(obj):
    body = obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body
msgs = {
    "hello": {"type": "hello", "version": 1},
    "challenge": {"type": "challenge", "nonce": b(bytes(range(32))), "vm_uuid": b(bytes(16)),
                  "spec_digest": b(bytes(range(48))), "releaser_key": b(bytes(range(32, 64))), "tee": "sev-snp", "gpus": 2},
    "evidence": {"type": "evidence", "tee": "sev-snp", "report": b(bytes(1184)), "cert_table": "",
                 "gpu_reports": [b(b"\x11" * 200)], "gpu_chains": [b(b"-----BEGIN CERTIFICATE-----")],
                 "gpu_pci": ["0000:e1:00.0"], "gpu_cc": ["on"], "pubkey": b(bytes(range(32)))},
    "evidence-two-gpus": {"type": "evidence", "tee": "tdx", "report": b(bytes(64)), "cert_table": "",
                          "gpu_reports": [b(b"\x11" * 40), b(b"\x12" * 40)], "gpu_chains": [b(b"-"), b(b"-")],
                          "gpu_pci": ["0000:e1:00.0", "0000:1f:1f.7"], "gpu_cc": ["devtools", "off"],
                          "pubkey": b(bytes(range(32)))},
    "evidence-eventlog": {"type": "evidence", "tee": "tdx", "report": b(bytes(64)), "cert_table": "",
                          "gpu_reports": [], "gpu_chains": [], "gpu_pci": [], "gpu_cc": [],
                          "pubkey": b(bytes(range(32))), "eventlog": b(b"\x00" * 64)},
    "evidence-workloads": {"type": "evidence", "tee": "sev-snp", "report": b(bytes(1184)), "cert_table": "",
                           "gpu_reports": [], "gpu_chains": [], "gpu_pci": [], "gpu_cc": [],
                           "pubkey": b(bytes(range(32))), "workload_digests": b(bytes(range(96)))},
    "challenge-switches": {"type": "challenge", "nonce": b(bytes(range(32))), "vm_uuid": b(bytes(16)),
                           "spec_digest": b(bytes(range(48))), "releaser_key": b(bytes(range(32, 64))),
                           "tee": "sev-snp", "gpus": 8, "switches": 4},
    "evidence-switches": {"type": "evidence", "tee": "tdx", "report": b(bytes(64)), "cert_table": "",
                          "gpu_reports": [b(b"\x11" * 40)], "gpu_chains": [b(b"-")], "gpu_pci": ["0000:e1:00.0"],
                          "gpu_cc": ["on"], "pubkey": b(bytes(range(32))),
                          "switch_reports": [b(b"\x21" * 40), b(b"\x22" * 40)], "switch_chains": [b(b"-"), b(b"-")]},
    "key-release": {"type": "key_release", "enc": b(bytes(32)), "ciphertext": b(bytes(64)), "token": "t.o.k"},
    "ack": {"type": "ack", "confirmation": b(bytes(32))},
    "error": {"type": "error", "reason": "no GPU"},
}
for name, m in msgs.items():
    open(os.path.join(d, name), "wb").write(frame(m))
open(os.path.join(d, "oversized-header"), "wb").write(b"\x7f\xff\xff\xff{}")
open(os.path.join(d, "short-body"), "wb").write(struct.pack(">I", 50) + b"{}")
open(os.path.join(d, "not-object"), "wb").write(frame(b"[1,2,3]"))
open(os.path.join(d, "unknown-key"), "wb").write(frame({"type": "hello", "version": 1, "extra": True}))
PY
