#!/bin/bash
# Regenerates the synthetic seed corpora for the TDX fuzz targets (tdx-quote, tdx-collateral).
# Everything is made up locally: quote-shaped byte strings around a self-signed P-256 "PCK"
# certificate carrying an SGX-style extension, and TCB info / QE identity documents with
# made-up values and signatures. No real evidence is copied. Run from the repository root.
set -euo pipefail
out=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The SGX extension: SEQUENCE of {OID, value}, built in Python as DER hex.
ext=$(python3 - <<'PY'
def tlv(tag, body):
    n = len(body)
    if n < 0x80: l = bytes([n])
    elif n < 0x100: l = bytes([0x81, n])
    else: l = bytes([0x82, n >> 8, n & 0xff])
    return bytes([tag]) + l + body
base = bytes.fromhex("2a864886f84d010d01")
oid = lambda *arcs: tlv(0x06, base + bytes(arcs))
ent = lambda o, v: tlv(0x30, o + v)
tcb = b"".join(ent(oid(2, k), tlv(0x02, bytes([k % 7]))) for k in range(1, 17))
tcb += ent(oid(2, 17), tlv(0x02, bytes([11]))) + ent(oid(2, 18), tlv(0x04, bytes(range(16))))
body = ent(oid(1), tlv(0x04, b"\x11" * 16)) + ent(oid(2), tlv(0x30, tcb)) + ent(oid(3), tlv(0x04, b"\0\0"))
body += ent(oid(4), tlv(0x04, bytes.fromhex("a1b2c3000000"))) + ent(oid(5), tlv(0x0a, b"\x01"))
print(tlv(0x30, body).hex())
PY
)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/k.pem" \
        -subj "/O=cvmd fuzz seed/CN=Fuzz SGX PCK Certificate" -days 3650 -out "$tmp/leaf.pem" \
        -addext "1.2.840.113741.1.13.1=DER:$ext" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/r.pem" \
        -subj "/O=cvmd fuzz seed/CN=Fuzz Root" -days 3650 -out "$tmp/root.pem" 2>/dev/null

python3 - "$out/tdx-quote" "$tmp/leaf.pem" "$tmp/root.pem" <<'PY'
import os, struct, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
chain = open(sys.argv[2], "rb").read() + open(sys.argv[3], "rb").read()
def quote(version=4, body_type=2, chain=chain, nul=True, auth=32, outer=6, inner=5, pad=0, att_key_type=2):
    h = struct.pack("<HHI", version, att_key_type, 0x81) + b"\0" * 4
    h += bytes.fromhex("939a7233f79c4ca9940a0db3957f0607") + b"\x55" * 20
    body = bytearray(584 if body_type == 2 else 648)
    body[0:16] = bytes([5, 1, 2]) + bytes(13)
    body[120:128] = bytes([0, 0, 0, 0x10, 0, 0, 0, 0])
    body[136:184] = b"\x42" * 48
    if version == 5:
        h += struct.pack("<HI", body_type, len(body))
    qe = bytearray(384); qe[256:258] = b"\x02\x00"; qe[258:260] = b"\x07\x00"
    cdata = chain + (b"\0" if nul else b"")
    c6 = bytes(qe) + b"\x33" * 64 + struct.pack("<H", auth) + bytes(range(auth))
    c6 += struct.pack("<HI", inner, len(cdata)) + cdata
    sig = b"\x22" * 64 + b"\x44" * 64 + struct.pack("<HI", outer, len(c6)) + c6
    return h + bytes(body) + struct.pack("<I", len(sig)) + sig + b"\0" * pad
seeds = {
    "v4": quote(), "v4-padded": quote(pad=70), "v4-no-nul": quote(nul=False),
    "v5-td15": quote(5, 3), "v5-td10": quote(5, 2), "v5-sgx-body": quote(5, 1),
    "auth-empty": quote(auth=0), "outer-type-5": quote(outer=5), "inner-type-4": quote(inner=4),
    "p384-key": quote(att_key_type=3), "der-chain": quote(chain=b"\x30\x82\x01\x00" + b"\0" * 256),
    "truncated": quote()[:900], "header-only": quote()[:48], "empty": b"",
}
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
PY

python3 - "$out/tdx-collateral" <<'PY'
import json, os, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
comp = lambda v: [{"svn": v} for _ in range(16)]
lvl = lambda s, p, t, st, adv=None: dict({"tcb": {"sgxtcbcomponents": comp(s), "pcesvn": p, "tdxtcbcomponents": comp(t)},
                                          "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": st}, **({"advisoryIDs": adv} if adv else {}))
tcb = {"id": "TDX", "version": 3, "issueDate": "2025-01-01T00:00:00Z", "nextUpdate": "2025-02-01T00:00:00Z",
       "fmspc": "A1B2C3000000", "pceId": "0000", "tcbType": 0, "tcbEvaluationDataNumber": 17,
       "tdxModule": {"mrsigner": "00" * 48, "attributes": "00" * 8, "attributesMask": "FF" * 8},
       "tdxModuleIdentities": [{"id": "TDX_01", "mrsigner": "00" * 48, "attributes": "00" * 8, "attributesMask": "FF" * 8,
                                "tcbLevels": [{"tcb": {"isvsvn": 4}, "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": "UpToDate"}]}],
       "tcbLevels": [lvl(3, 13, 5, "UpToDate"), lvl(2, 11, 3, "OutOfDate", ["INTEL-SA-00001", "INTEL-SA-00002"])]}
qe = {"id": "TD_QE", "version": 2, "issueDate": "2025-01-01T00:00:00Z", "nextUpdate": "2025-02-01T00:00:00Z",
      "tcbEvaluationDataNumber": 17, "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
      "attributes": "11" + "00" * 15, "attributesMask": "FBFF" + "FF" * 6 + "00" * 8, "mrsigner": "AB" * 32,
      "isvprodid": 2, "tcbLevels": [{"tcb": {"isvsvn": 4}, "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": "UpToDate"}]}
sig = "5a" * 64
w = lambda n, s: open(os.path.join(d, n), "w").write(s)
w("tcb-info", json.dumps({"tcbInfo": tcb, "signature": sig}, separators=(",", ":")))
w("tcb-info-spaced", json.dumps({"tcbInfo": tcb, "signature": sig}, indent=2))
w("qe-identity", json.dumps({"enclaveIdentity": qe, "signature": sig}, separators=(",", ":")))
w("tcb-info-duplicate-key", '{"tcbInfo":{},"tcbInfo":' + json.dumps(tcb) + ',"signature":"' + sig + '"}')
w("tcb-info-sgx", json.dumps({"tcbInfo": dict(tcb, id="SGX", version=2), "signature": sig}))
w("qe-identity-qe", json.dumps({"enclaveIdentity": dict(qe, id="QE"), "signature": sig}))
w("deep", "[" * 200 + "]" * 200)
w("escapes", '{"tcbInfo":{"id":"T\\u0044X","a":"\\"}"},"signature":"' + sig + '"}')
w("empty", "")
PY
echo "seeds written to $out/tdx-quote and $out/tdx-collateral"
