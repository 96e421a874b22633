#!/bin/bash
# Regenerates the synthetic seed corpora of the parser and whole-verification fuzz targets:
# pem-bundle, pcs-header, crl, collateral-dir, golden, rim-service, pkcs11-uri, libvirt-caps,
# ocsp, guest-evidence, snp-verify, tdx-verify, nv-verify. Everything is made up here with
# python3-cryptography (keys, certificates, CRLs, OCSP responses, an SNP report signed by a
# made-up VCEK under a made-up ARK); no real evidence is copied. The whole-verification seeds
# reuse the synthetic snp/tdx/gpu corpora, so run make-seeds.sh, make-seeds-tdx.sh and
# make-seeds-gpu.sh first. Run from the repository root.
set -euo pipefail
out=tests/fuzz/corpus

python3 - "$out" <<'PY'
import datetime, hashlib, os, struct, sys, urllib.parse, uuid
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID, ObjectIdentifier

out = sys.argv[1]
SPLIT = b"\n--cvmd-fuzz-split--\n"
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)

def corpus(name, seeds):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    for k, v in seeds.items():
        open(os.path.join(d, k), "wb").write(v if isinstance(v, bytes) else v.encode())

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cvmd fuzz seed"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])

def cert(cn, key, issuer_cn=None, issuer_key=None, serial=1, ca=False, exts=(), algo=None):
    b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer_cn or cn))
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(NOW - datetime.timedelta(days=30)).not_valid_after(NOW + datetime.timedelta(days=3650)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    for oid, val in exts:
        b = b.add_extension(x509.UnrecognizedExtension(ObjectIdentifier(oid), val), critical=False)
    signer = issuer_key or key
    if algo == "pss":
        return b.sign(signer, hashes.SHA384(),
                      rsa_padding=padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48))
    return b.sign(signer, hashes.SHA384() if isinstance(signer, ec.EllipticCurvePrivateKey) and
                  signer.curve.name == "secp384r1" else hashes.SHA256())

pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
der = lambda c: c.public_bytes(serialization.Encoding.DER)

p256 = lambda: ec.generate_private_key(ec.SECP256R1())
p384 = lambda: ec.generate_private_key(ec.SECP384R1())
root_key, inter_key, leaf_key = p256(), p256(), p256()
root = cert("Fuzz Root CA", root_key, ca=True)
inter = cert("Fuzz Intermediate CA", inter_key, "Fuzz Root CA", root_key, serial=2, ca=True)
leaf = cert("Fuzz Leaf", leaf_key, "Fuzz Intermediate CA", inter_key, serial=3)
chain = pem(leaf) + pem(inter) + pem(root)

# ---- pem-bundle: every shape, and the refusals ----
corpus("pem-bundle", {
    "lf.pem": chain,
    "crlf.pem": chain.replace(b"\n", b"\r\n"),
    "trailing-space.pem": chain.replace(b"\n", b" \t\n"),
    "blank-lines.pem": chain.replace(b"-----\n-----", b"-----\n\n\n-----"),
    "glued.pem": chain.replace(b"-----END CERTIFICATE-----\n-----BEGIN", b"-----END CERTIFICATE----------BEGIN"),
    "percent-encoded": urllib.parse.quote(chain.decode(), safe="-_.~").encode(),
    "one.der": der(leaf),
    "der-trailing-byte": der(leaf) + b"\x00",
    "text-between.pem": pem(leaf) + b"subject=CN = x\n" + pem(inter),
    "no-end.pem": pem(leaf)[:-27],
    "header.pem": pem(leaf).replace(b"-----\n", b"-----\nProc-Type: 4,ENCRYPTED\n", 1),
    "private-key.pem": pem(leaf) + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    "bad-base64.pem": pem(leaf).replace(b"M", b"*", 3),
    "seventeen.pem": pem(leaf) * 17,
    "empty": b"",
})

# ---- pcs-header: issuer-chain header values as PCS/PCCS send them ----
two = pem(inter) + pem(root)
enc = urllib.parse.quote(two.decode(), safe="-_.~")
corpus("pcs-header", {
    "tcb-info-issuer-chain": enc,
    "lower-case-escapes": enc.replace("%0A", "%0a"),
    "space-as-plus": urllib.parse.quote_plus(two.decode()),
    "bad-escape": enc[:40] + "%G1" + enc[43:],
    "nul-escape": enc[:40] + "%00" + enc[43:],
    "truncated-escape": enc[:-1] + "%",
    "plain-pem": two,
})

# ---- crl: DER, PEM, hex text (a PCCS), revoked entries with an indirect issuer ----
def crl(issuer_cn, key, revoked=(), indirect=None):
    b = (x509.CertificateRevocationListBuilder().issuer_name(name(issuer_cn))
         .last_update(NOW - datetime.timedelta(days=1)).next_update(NOW + datetime.timedelta(days=30)))
    for s in revoked:
        r = x509.RevokedCertificateBuilder().serial_number(s).revocation_date(NOW - datetime.timedelta(days=2))
        if indirect:
            r = r.add_extension(x509.CertificateIssuer([x509.DirectoryName(name(indirect))]), critical=True)
        b = b.add_revoked_certificate(r.build())
    return b.sign(key, hashes.SHA256())
c_empty = crl("Fuzz Root CA", root_key)
c_rev = crl("Fuzz Intermediate CA", inter_key, revoked=[3, 0x10001])
c_ind = crl("Fuzz Root CA", root_key, revoked=[3], indirect="Fuzz Intermediate CA")
corpus("crl", {
    "root.der": c_empty.public_bytes(serialization.Encoding.DER),
    "pck-revoking.der": c_rev.public_bytes(serialization.Encoding.DER),
    "indirect.der": c_ind.public_bytes(serialization.Encoding.DER),
    "pem-crlf.pem": c_rev.public_bytes(serialization.Encoding.PEM).replace(b"\n", b"\r\n"),
    "pccs-hex": c_empty.public_bytes(serialization.Encoding.DER).hex(),
    "two-pem.pem": c_rev.public_bytes(serialization.Encoding.PEM) * 2,
    "der-trailing": c_empty.public_bytes(serialization.Encoding.DER) + b"\x00",
    "odd-hex": "abc",
    "empty": b"",
})

# ---- collateral-dir: seven files (TdxCollateralFile order) from the synthetic tdx corpus ----
def read(path):
    try:
        return open(path, "rb").read()
    except FileNotFoundError:
        return b""
tcb = read(os.path.join(out, "tdx-collateral", "tcb-info"))
qe = read(os.path.join(out, "tdx-collateral", "qe-identity"))
crl_der = c_rev.public_bytes(serialization.Encoding.DER)
root_crl = c_empty.public_bytes(serialization.Encoding.DER)
bundle = [tcb, two, qe, two, crl_der, two, root_crl]
corpus("collateral-dir", {
    "complete": SPLIT.join(bundle),
    "crlf-chains": SPLIT.join([tcb, two.replace(b"\n", b"\r\n"), qe, two, crl_der, two, root_crl]),
    "percent-encoded-chain": SPLIT.join([tcb, enc.encode(), qe, two, crl_der, two, root_crl]),
    "missing-files": SPLIT.join([tcb, b"", qe]),
    "bad-chain": SPLIT.join([tcb, b"junk\n" + two, qe, two, crl_der, two, root_crl]),
    "pem-crl": SPLIT.join([tcb, two, qe, two, c_rev.public_bytes(serialization.Encoding.PEM), two, root_crl]),
    "empty": b"",
})

# ---- golden: the golden list of cvmctl sim init ----
h = lambda b: hashlib.sha384(b).hexdigest()
corpus("golden", {
    "list.json": '[{"index": 0, "values": ["%s"]}, {"index": 1, "values": ["%s", "%s"]}]' % (h(b"a"), h(b"b"), h(b"c")),
    "sha512.json": '[{"index": 3, "values": ["%s"]}]' % hashlib.sha512(b"d").hexdigest(),
    "duplicate-index.json": '[{"index": 0, "values": ["%s"]}, {"index": 0, "values": ["%s"]}]' % (h(b"a"), h(b"b")),
    "duplicate-key.json": '[{"index": 0, "index": 1, "values": ["%s"]}]' % h(b"a"),
    "overlong-utf8.json": b'[{"index": 0, "values": ["\xc0\xaf"]}]',
    "index-255.json": '[{"index": 255, "values": ["%s"]}]' % h(b"a"),
    "not-array.json": '{"index": 0}',
    "empty": b"",
})

# ---- rim-service: {"id", "rim": base64 XML} ----
import base64
xml = b'<?xml version="1.0"?><SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd"/>'
rid = "NV_GPU_DRIVER_GH100_550.90.07"
corpus("rim-service", {
    "answer.json": '{"id": "%s", "rim": "%s", "sha256": "x"}' % (rid, base64.b64encode(xml).decode()),
    "wrapped-base64.json": '{"id": "%s", "rim": "%s"}' % (rid, "\\n".join(base64.b64encode(xml * 3).decode()[i:i + 76]
                                                                        for i in range(0, len(xml) * 4, 76))),
    "other-id.json": '{"id": "NV_GPU_VBIOS_1010_0200_882_96009F0001", "rim": "%s"}' % base64.b64encode(xml).decode(),
    "duplicate-id.json": '{"id": "x", "id": "%s", "rim": "QUFB"}' % rid,
    "bad-base64.json": '{"id": "%s", "rim": "A*=="}' % rid,
    "not-object.json": '["id"]',
    "empty": b"",
})

# ---- pkcs11-uri: RFC 7512 ----
corpus("pkcs11-uri", {
    "token-object": "pkcs11:token=cvmd;object=kek;type=secret-key?pin-source=file:/etc/cvmd/pin&module-path=/usr/lib/softhsm/libsofthsm2.so",
    "percent": "pkcs11:token=my%20token;object=k%2Fe%3Bk?pin-value=1234",
    "id": "pkcs11:id=%01%02%03;manufacturer=SoftHSM%20project;serial=abc;slot-id=7",
    "bad-percent": "pkcs11:token=%G0",
    "nul-percent": "pkcs11:token=a%00b",
    "repeated": "pkcs11:token=a;token=b",
    "unknown-attr": "pkcs11:frobnicate=1",
    "not-pkcs11": "file:/etc/passwd",
    "empty": b"",
})

# ---- libvirt-caps: capabilities, domain capabilities, node device XML ----
caps = """<capabilities><host><uuid>00000000-0000-0000-0000-000000000001</uuid><cpu><arch>x86_64</arch></cpu>
<topology><cells num='2'>
<cell id='0'><memory unit='KiB'>65536000</memory><cpus num='2'><cpu id='0' socket_id='0' core_id='0' siblings='0,2'/><cpu id='2' socket_id='0' core_id='0' siblings='0,2'/></cpus></cell>
<cell id='1'><memory unit='KiB'>65536000</memory><cpus num='1'><cpu id='1' socket_id='1' core_id='0' siblings='1'/></cpus></cell>
</cells></topology></host></capabilities>"""
domcaps = """<domainCapabilities><path>/usr/bin/qemu-system-x86_64</path><domain>kvm</domain><machine>pc-q35-7.2</machine><arch>x86_64</arch>
<features><sev supported='yes'><cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits><maxGuests>509</maxGuests><maxESGuests>0</maxESGuests></sev>
<sgx supported='no'/><tdx supported='yes'/></features></domainCapabilities>"""
nodedev = """<device><name>pci_0000_41_00_0</name><driver><name>vfio-pci</name></driver><capability type='pci'><domain>0</domain><bus>65</bus><slot>0</slot><function>0</function></capability></device>"""
corpus("libvirt-caps", {
    "capabilities.xml": caps,
    "domcaps.xml": domcaps,
    "nodedev.xml": nodedev,
    "doctype.xml": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><capabilities>&e;</capabilities>',
    "cpu-in-two-cells.xml": caps.replace("cpu id='1'", "cpu id='0'"),
    "truncated.xml": caps[:200],
    "empty": b"",
})

# ---- ocsp: a certificate and its issuer, then the DER response ----
def ocsp_resp(status, responder_key, responder_cert, nonce=None, this=NOW, nxt=NOW + datetime.timedelta(hours=1)):
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf, issuer=inter, algorithm=hashes.SHA1(), cert_status=status, this_update=this, next_update=nxt,
        revocation_time=NOW - datetime.timedelta(days=1) if status == ocsp.OCSPCertStatus.REVOKED else None,
        revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert)
    if nonce is not None:
        b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
    return b.sign(responder_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
head = pem(leaf) + pem(inter) + SPLIT
corpus("ocsp", {
    "good": head + ocsp_resp(ocsp.OCSPCertStatus.GOOD, inter_key, inter),
    "revoked": head + ocsp_resp(ocsp.OCSPCertStatus.REVOKED, inter_key, inter),
    "unknown": head + ocsp_resp(ocsp.OCSPCertStatus.UNKNOWN, inter_key, inter),
    "nonce": head + ocsp_resp(ocsp.OCSPCertStatus.GOOD, inter_key, inter, nonce=b"\x5a" + bytes(31)),
    "other-nonce": head + ocsp_resp(ocsp.OCSPCertStatus.GOOD, inter_key, inter, nonce=b"\x01" * 32),
    "wrong-signer": head + ocsp_resp(ocsp.OCSPCertStatus.GOOD, root_key, root),
    "unauthorized": head + ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER),
    "empty": head,
})

# ---- guest-evidence: configfs-tsm outblob and auxblob ----
snp_report = read(os.path.join(out, "snp-report", "v3-genoa"))
tdx_quote = read(os.path.join(out, "tdx-quote", "v4"))
table = read(os.path.join(out, "snp-cert-table", "vcek-ask"))
corpus("guest-evidence", {
    "snp-with-table": snp_report + SPLIT + table,
    "snp-no-table": snp_report + SPLIT,
    "tdx-quote": tdx_quote,
    "snp-bad-table": snp_report + SPLIT + read(os.path.join(out, "snp-cert-table", "out-of-bounds")),
    "zero-table-16k": snp_report + SPLIT + bytes(16 * 1024),
    "empty": b"",
})

# ---- snp-verify: a report signed by a made-up VCEK under a made-up ARK and ASK ----
ark_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ask_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
vcek_key = p384()
chip = bytes(range(64))
tcb = bytes([3, 0, 0, 0, 0, 0, 8, 115])
def spl(v):
    return bytes([0x02, 0x01, v]) if v < 0x80 else bytes([0x02, 0x02, 0x00, v])
vcek_exts = [("1.3.6.1.4.1.3704.1.1", b"\x02\x01\x00"), ("1.3.6.1.4.1.3704.1.2", b"\x16\x05Genoa"),
             ("1.3.6.1.4.1.3704.1.3.1", spl(3)), ("1.3.6.1.4.1.3704.1.3.2", spl(0)),
             ("1.3.6.1.4.1.3704.1.3.3", spl(8)), ("1.3.6.1.4.1.3704.1.3.8", spl(115)),
             ("1.3.6.1.4.1.3704.1.4", chip)]
amd = lambda cn: x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
                            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cvmd fuzz seed"),
                            x509.NameAttribute(NameOID.COMMON_NAME, cn)])
def amd_cert(cn, key, issuer_cn, issuer_key, serial, ca, exts=()):
    b = (x509.CertificateBuilder().subject_name(amd(cn)).issuer_name(amd(issuer_cn)).public_key(key.public_key())
         .serial_number(serial).not_valid_before(NOW - datetime.timedelta(days=30))
         .not_valid_after(NOW + datetime.timedelta(days=3650)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    for oid, val in exts:
        b = b.add_extension(x509.UnrecognizedExtension(ObjectIdentifier(oid), val), critical=False)
    return b.sign(issuer_key, hashes.SHA384(),
                  rsa_padding=padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48))
ark = amd_cert("ARK-Genoa", ark_key, "ARK-Genoa", ark_key, 0x20000, True)
ask = amd_cert("SEV-Genoa", ask_key, "ARK-Genoa", ark_key, 0x20001, True)
vcek = amd_cert("SEV-VCEK", vcek_key, "SEV-Genoa", ask_key, 1, False, vcek_exts)  # AMD uses 0; the builder refuses it
r = bytearray(0x4A0)
struct.pack_into("<IIQ", r, 0, 3, 1, 0x30000)
struct.pack_into("<II", r, 0x30, 0, 1)
r[0x38:0x40] = tcb
struct.pack_into("<Q", r, 0x40, 0x3)
r[0x50:0x90] = bytes(64)
r[0x160:0x180] = b"\xff" * 32
r[0x180:0x188] = tcb
r[0x188], r[0x189], r[0x18A] = 0x19, 0x11, 1
r[0x1A0:0x1E0] = chip
r[0x1E0:0x1E8] = tcb
r[0x1F0:0x1F8] = tcb
r[0x1E8:0x1EB] = bytes([29, 55, 1])
sig = vcek_key.sign(bytes(r[:0x2A0]), ec.ECDSA(hashes.SHA384()))
rr, ss = decode_dss_signature(sig)
r[0x2A0:0x2A0 + 72] = rr.to_bytes(72, "little")
r[0x2E8:0x2E8 + 72] = ss.to_bytes(72, "little")
report = bytes(r)
def cert_table(entries):
    hd = 24 * (len(entries) + 1); blobs = b""; rows = b""
    for g, blob in entries:
        rows += uuid.UUID(g).bytes + struct.pack("<II", hd + len(blobs), len(blob)); blobs += blob
    return rows + bytes(24) + blobs
tbl = cert_table([("63da758d-e664-4564-adc5-f4b93be8accd", der(vcek)),
                  ("4ab7b379-bbac-4fe4-a02f-05aef327c782", pem(ask)),
                  ("c0b406a4-a803-4952-9743-3fb6014cd0ae", pem(ark))])
ark_crl = (x509.CertificateRevocationListBuilder().issuer_name(amd("ARK-Genoa"))
           .last_update(NOW - datetime.timedelta(days=1)).next_update(NOW + datetime.timedelta(days=30)))
def revoke(b, serial):
    return b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial)
                                     .revocation_date(NOW - datetime.timedelta(days=2)).build())
pss = dict(rsa_padding=padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48))
crl_none = ark_crl.sign(ark_key, hashes.SHA384(), **pss).public_bytes(serialization.Encoding.DER)
crl_leaf = revoke(ark_crl, 1).sign(ark_key, hashes.SHA384(), **pss).public_bytes(serialization.Encoding.DER)
corpus("snp-verify", {
    "kds-chain": report + SPLIT + pem(vcek) + pem(ask) + pem(ark),
    "mixed-der-pem": report + SPLIT + der(vcek) + pem(ask) + pem(ark),
    "cert-table": report + SPLIT + SPLIT + tbl,
    "with-crl": report + SPLIT + pem(vcek) + pem(ask) + pem(ark) + SPLIT + SPLIT + crl_none,
    "leaf-revoked": report + SPLIT + pem(vcek) + pem(ask) + pem(ark) + SPLIT + SPLIT + crl_leaf,
    "crlf-chain": report + SPLIT + (pem(vcek) + pem(ask) + pem(ark)).replace(b"\n", b"\r\n"),
    "report-only": report,
    "empty": b"",
})

# ---- tdx-verify: synthetic quotes with the collateral-dir bundle ----
seeds = {}
for q in ("v4", "v5-td15", "v5-td10", "der-chain"):
    quote = read(os.path.join(out, "tdx-quote", q))
    seeds[q + "-collateral"] = quote + SPLIT + SPLIT.join(bundle)
    seeds[q + "-alone"] = quote
seeds["empty"] = b""
corpus("tdx-verify", seeds)

# ---- nv-verify: synthetic reports with a five-certificate P-384 chain ----
keys = [p384() for _ in range(5)]
names = ["Fuzz GPU Root", "Fuzz GPU CA 2", "Fuzz GPU CA 3", "Fuzz GPU CA 4", "Fuzz GPU Leaf"]
gpu = [cert(names[0], keys[0], ca=True)]
for i in range(1, 5):
    gpu.append(cert(names[i], keys[i], names[i - 1], keys[i - 1], serial=i + 1, ca=i < 4))
gchain = b"".join(pem(c) for c in reversed(gpu))
seeds = {}
for g in ("hopper", "blackwell", "ppcie", "truncated"):
    seeds[g] = read(os.path.join(out, "gpu-report", g)) + SPLIT + gchain
seeds["crlf-chain"] = read(os.path.join(out, "gpu-report", "hopper")) + SPLIT + gchain.replace(b"\n", b"\r\n")
seeds["no-chain"] = read(os.path.join(out, "gpu-report", "hopper"))
seeds["empty"] = b""
corpus("nv-verify", seeds)
PY
