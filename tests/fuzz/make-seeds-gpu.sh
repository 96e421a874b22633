#!/bin/bash
# Regenerates the synthetic seed corpora for the NVIDIA GPU fuzz targets (gpu-report, gpu-rim).
# Everything is made up here: report-shaped byte strings with invented measurements and opaque
# fields, and SWID RIM documents signed by nothing (a throwaway self-signed certificate sits in
# KeyInfo so the parser reaches the certificate code). No real evidence is copied. Run from the
# repository root.
set -euo pipefail
out=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$out/gpu-report" <<'PY'
import os, struct, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
def tlv(t, v): return struct.pack("<HH", t, len(v)) + v
def report(nblocks=4, opaque=None, trailing=b"", nonce=b"\xab" * 32, vsize=48):
    req = bytes([0x11, 0xE0, 0x01, 0xFF]) + nonce + b"\x00"
    rec = b""
    for i in range(nblocks):
        rec += bytes([i + 1, 1]) + struct.pack("<H", 3 + vsize) + bytes([1]) + struct.pack("<H", vsize) + bytes([i]) * vsize
    if opaque is None:
        opaque = (tlv(6, bytes([0, 0x9f, 0, 0x96, 1, 0, 0, 0])) + tlv(3, b"550.90.07\0") + tlv(17, b"1010\0") +
                  tlv(18, b"0200\0") + tlv(15, b"882\0\0\0\0\0\0") + tlv(11, b"\x55") + tlv(20, b"\x77" * 48) +
                  tlv(21, b"\x55"))
    resp = bytes([0x11, 0x60, 0, 0, nblocks]) + len(rec).to_bytes(3, "little") + rec + b"\xcd" * 32
    resp += struct.pack("<H", len(opaque)) + opaque
    return req + resp + b"\x42" * 96 + trailing
seeds = {
    "hopper": report(),
    "blackwell": report(opaque=tlv(6, bytes(8)) + tlv(3, b"595.58.03\0") + tlv(35, b"GB202\0") + tlv(34, b"\x01\x00") +
                       tlv(36, b"\x00\x00") + tlv(33, b"\x07\x07") + tlv(11, b"\xaa") + tlv(17, b"G153\0") +
                       tlv(18, b"0200\0") + tlv(15, b"885\0")),
    "ppcie": report(opaque=tlv(3, b"590.12\0") + tlv(22, b"\x01" * 144) + tlv(36, b"\x02\x00") + tlv(21, b"\xaa")),
    "no-opaque": report(opaque=b""),
    "no-blocks": report(nblocks=0),
    "sha512-blocks": report(vsize=64),
    "trailing-byte": report(trailing=b"\x00"),
    "duplicate-tlv": report(opaque=tlv(3, b"1\0") + tlv(3, b"2\0")),
    "unknown-tlv": report(opaque=tlv(200, b"xyz") + tlv(3, b"1.2\0")),
    "bad-tlv-length": report(opaque=struct.pack("<HH", 3, 500)),
    "truncated": report()[:200],
    "request-only": report()[:37],
    "empty": b"",
}
for k, v in seeds.items():
    open(os.path.join(d, k), "wb").write(v)
PY

mkdir -p "$out/gpu-rim"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -keyout "$tmp/k.pem" -out "$tmp/c.pem" \
        -subj "/CN=cvmd fuzz seed signer" -days 1 2>/dev/null
cert=$(grep -v -- '-----' "$tmp/c.pem")
rim() { # name version resources extra-signature-content
        cat > "$out/gpu-rim/$1" <<XML
<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" xmlns:ns0="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384" name="GH100" tagId="seed" version="1.0">
<ns0:Meta xmlns:ns1="https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/" colloquialVersion="$2" product="GH100" edition="GPU" ns1:FirmwareManufacturerId="5703"/>
<ns0:Payload>$3</ns0:Payload>
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#sha384"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>$cert</ds:X509Certificate>$4</ds:X509Data></ds:KeyInfo></ds:Signature>
</SoftwareIdentity>
XML
}
h0=$(printf '%096d' 0); h1=$(printf 'ab%.0s' $(seq 48))
res() { echo "<ns0:Resource type=\"Measurement\" index=\"$1\" active=\"$2\" alternatives=\"$3\" ns2:Hash0=\"$h0\" ns2:Hash1=\"$h1\" name=\"Measurement_$1\" size=\"48\"/>"; }
rim driver "550.90.07" "$(res 7 True 1)$(res 21 True 2)$(res 22 False 1)" ""
rim vbios "96.00.9F.00.01" "$(res 0 True 1)$(res 12 True 2)" ""
rim no-resources "1.0" "" ""
rim duplicate-index "1.0" "$(res 3 True 1)$(res 3 True 1)" ""
rim bad-active "1.0" "$(res 3 Maybe 1)" ""
rim too-many-alternatives "1.0" "$(res 3 True 99)" ""
rim bad-cert "1.0" "$(res 3 True 1)" "<ds:X509Certificate>!!!!</ds:X509Certificate>"
printf '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>' > "$out/gpu-rim/doctype"
printf '<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd"><Meta' > "$out/gpu-rim/truncated"
printf '<a/>' > "$out/gpu-rim/wrong-root"
: > "$out/gpu-rim/empty"
