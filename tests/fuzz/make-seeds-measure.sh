#!/bin/bash
# Regenerates the synthetic seed corpora of the measure fuzz targets: ovmf (firmware images with
# a footer GUID table, SEV and TDVF metadata) and eventlog (TCG2 crypto-agile CC event logs and
# ACPI CCEL tables). Every byte is made up here from the published layouts; no firmware or log
# is copied. Run from the repository root.
set -euo pipefail
out=tests/fuzz/corpus

python3 - "$out/ovmf" <<'PY'
import os, struct, sys, uuid
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
g = lambda s: uuid.UUID(s).bytes_le
FOOTER, RESET, HASHES = g("96b582de-1fb2-45f7-baea-a366c55a082d"), g("00f771de-1a7e-4fcb-890e-68c77e2fb44e"), g("7255371f-3a3b-4b04-927b-1da6efa8d454")
SEV, TDX, SVSM = g("dc886566-984a-4798-a75e-5585a7bf67cc"), g("e47a6535-984a-4798-865e-4685a7bf8ec2"), g("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd")
entry = lambda guid, data: data + struct.pack("<H", len(data) + 18) + guid

def image(size=4096, entries=None, sev=None, tdvf=None, table_len=None, footer=FOOTER):
    img = bytearray(size)
    img[0x800:0x810] = b"cvmd fuzz seed.."
    if sev is not None:
        img[0x200:0x200 + len(sev)] = sev
    if tdvf is not None:
        img[0x400:0x400 + len(tdvf)] = tdvf
    body = b"".join(entries or [])
    end = size - 32 - 18
    n = len(body) + 18 if table_len is None else table_len
    img[end - len(body):end] = body
    img[end:end + 18] = struct.pack("<H", n) + footer
    return bytes(img)

def sev_meta(sections, sig=b"ASEV", version=1, length=None):
    items = b"".join(struct.pack("<III", *s) for s in sections)
    return sig + struct.pack("<III", 16 + len(items) if length is None else length, version, len(sections)) + items

def tdvf_meta(sections, sig=b"TDVF", version=1):
    items = b"".join(struct.pack("<IIQQII", *s) for s in sections)
    return sig + struct.pack("<III", 16 + len(items), version, len(sections)) + items

snp_sections = [(0x800000, 0x3000, 1), (0x803000, 0x1000, 2), (0x804000, 0x1000, 3), (0x805000, 0x1000, 0x10)]
tdx_sections = [(0, 0x1000, 0xfffff000, 0x1000, 0, 1), (0, 0, 0x810000, 0x2000, 3, 0), (0, 0, 0x809000, 0x1000, 2, 0),
                (0, 0, 0x900000, 0x100000, 4, 2)]
common = [entry(RESET, struct.pack("<I", 0xffff0000)), entry(HASHES, struct.pack("<II", 0x805c00, 0x400)),
          entry(SEV, struct.pack("<I", 4096 - 0x200))]
seeds = {
    "snp": image(entries=common, sev=sev_meta(snp_sections)),
    "snp-and-tdx": image(entries=common + [entry(TDX, struct.pack("<I", 4096 - 0x400))], sev=sev_meta(snp_sections),
                         tdvf=tdvf_meta(tdx_sections)),
    "tdx": image(entries=[entry(TDX, struct.pack("<I", 4096 - 0x400))], tdvf=tdvf_meta(tdx_sections)),
    "svsm": image(entries=common + [entry(SVSM, struct.pack("<I", 0x10))], sev=sev_meta(snp_sections[:3])),
    "no-kernel-hashes": image(entries=common[:1] + [entry(HASHES, struct.pack("<II", 0, 0)), common[2]],
                              sev=sev_meta(snp_sections[:3])),
    "hash-entry-gpa-only": image(entries=[common[0], entry(HASHES, struct.pack("<I", 0x805000)), common[2]],
                                 sev=sev_meta(snp_sections, length=0)),
    "no-footer": bytes(4096),
    "wrong-footer-guid": image(entries=common, sev=sev_meta(snp_sections), footer=RESET),
    "table-too-long": image(entries=common, sev=sev_meta(snp_sections), table_len=0xffff),
    "entry-length-zero": image(entries=[b"\0\0" + RESET]),
    "bad-asev": image(entries=common, sev=sev_meta(snp_sections, sig=b"XSEV")),
    "asev-version-2": image(entries=common, sev=sev_meta(snp_sections, version=2)),
    "asev-short-length": image(entries=common, sev=sev_meta(snp_sections, length=20)),
    "asev-unknown-type": image(entries=common, sev=sev_meta([(0x800000, 0x1000, 9)])),
    "asev-unaligned": image(entries=common, sev=sev_meta([(0x800010, 0x1000, 1)])),
    "asev-offset-outside": image(entries=[entry(SEV, struct.pack("<I", 0x10000))]),
    "tdvf-data-outside": image(entries=[entry(TDX, struct.pack("<I", 4096 - 0x400))],
                               tdvf=tdvf_meta([(0x800, 0x2000, 0xfffff000, 0x2000, 0, 1)])),
    "tdvf-huge": image(entries=[entry(TDX, struct.pack("<I", 4096 - 0x400))],
                       tdvf=tdvf_meta([(0, 0, 0x1000000, 1 << 40, 3, 0)])),
    "tdvf-bad-sig": image(entries=[entry(TDX, struct.pack("<I", 4096 - 0x400))], tdvf=tdvf_meta(tdx_sections, sig=b"TDVX")),
    "two-pages": image(size=8192, entries=common, sev=sev_meta(snp_sections)),
    "short-entry-data": image(entries=[entry(RESET, b"\x01")]),
    "odd-size": bytes(100),
    "empty": b"",
}
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
PY

python3 - "$out/eventlog" <<'PY'
import hashlib, os, struct, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
SHA256, SHA384 = (0x000b, 32), (0x000c, 48)

def spec_id(algs=(SHA384,), mr=0):
    ev = b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(algs))
    ev += b"".join(struct.pack("<HH", a, n) for a, n in algs) + b"\0"
    return struct.pack("<II", mr, 3) + bytes(20) + struct.pack("<I", len(ev)) + ev

def event(mr, etype, data, algs=(SHA384,)):
    digests = b"".join(struct.pack("<H", a) + hashlib.new("sha384" if n == 48 else "sha256", data).digest()
                       for a, n in algs)
    return struct.pack("<III", mr, etype, len(algs)) + digests + struct.pack("<I", len(data)) + data

boot = [event(1, 0x80000008, b"firmware volume"), event(1, 0x80000001, b"SecureBoot"),
        event(2, 0x80000007, b"Calling EFI Application from Boot Option"), event(1, 4, bytes(4)),
        event(2, 4, bytes(4)), event(3, 4, bytes(4)), event(3, 0xd, b"kernel_cmdline: console=ttyS0")]
log = spec_id() + b"".join(boot)
both = spec_id((SHA256, SHA384)) + b"".join(event(e[0], e[1], e[2], (SHA256, SHA384)) for e in
                                            [(1, 4, bytes(4)), (2, 0xd, b"grub_cmd: linux /vmlinuz")])

def ccel_table(laml=0x10000, cc_type=2, fix=True):
    t = bytearray(b"CCEL" + struct.pack("<I", 56) + b"\x01\x00" + b"CVMDFZ" + b"CVMDFUZZ" + struct.pack("<III", 1, 0, 0))
    t += struct.pack("<BBHQQ", cc_type, 0, 0, laml, 0x7fff0000)
    if fix:
        t[9] = (-sum(t)) & 0xff
    return bytes(t)

seeds = {
    "log": log,
    "log-ff-fill": log + b"\xff" * 4096,
    "log-zero-fill": log + bytes(4096),
    "log-sha256-sha384": both,
    "log-duplicate-separators": spec_id() + event(1, 4, bytes(4)) * 2,
    "log-no-action-event": spec_id() + struct.pack("<III", 0, 3, 0) + struct.pack("<I", 4) + b"abcd",
    "log-mr-index-5": spec_id() + event(5, 4, bytes(4)),
    "log-no-sha384": spec_id((SHA256,)) + event(1, 4, bytes(4), (SHA256,)),
    "log-garbage-after-fill": log + b"\xff" * 64 + b"\x01",
    "log-truncated": log[:-7],
    "log-first-not-spec-id": event(1, 4, bytes(4)),
    "log-huge-event-size": spec_id() + struct.pack("<III", 1, 4, 1) + struct.pack("<H", 0x000c) + bytes(48) +
                           struct.pack("<I", 0xffffffff),
    # cvm-agent's runtime log: a workload event on RTMR3, EV_EVENT_TAG with its tag "cvmw"
    "log-runtime-workload": spec_id() + event(4, 6, struct.pack("<II", 0x63766d77, 9) + b"seed job\0"),
    "ccel-table": ccel_table(),
    "ccel-table-bad-checksum": ccel_table(fix=False),
    "ccel-table-sev": ccel_table(cc_type=1),
    "ccel-table-short": ccel_table()[:40],
    "empty": b"",
}
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
PY
