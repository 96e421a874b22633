/* SPDX-License-Identifier: Apache-2.0 */
/* The NVSwitch attestation report (docs/nvswitch.md): the same SPDM 1.1 GET_MEASUREMENTS request
 * and MEASUREMENTS response a GPU returns (37-byte request, DMTF measurement blocks, responder
 * nonce, opaque TLVs, raw ECDSA P-384 signature), read with the bounded reader. What differs is
 * the opaque data: type 22 is the switch's own PDI (on a GPU it lists the switches), 26 lists the
 * eight GPUs the switch links, 23..25 are its disabled ports, position and lock status, and the
 * BIOS version (6) is ASCII where a GPU packs 8 bytes. Bytes after the signature are refused for
 * the reason gpu/nvidia-report.c gives. */
#include <stdio.h>
#include <string.h>

#include "cvm/nvswitch.h"
#include "cvm/reader.h"
#include "cvm/util.h"

static uint64_t be64(const uint8_t *p) {
        uint64_t x = 0;

        for (size_t i = 0; i < 8; i++)
                x = x << 8 | p[i];
        return x;
}

uint64_t nv_pdi_from_gpu_entry(const uint8_t entry[NV_PDI_SIZE]) {
        uint64_t x = 0;

        for (size_t i = NV_PDI_SIZE; i > 0; i--)
                x = x << 8 | entry[i - 1];
        return x;
}

void nv_pdi_format(uint64_t pdi, char ret[17]) {
        snprintf(ret, 17, "%016llx", (unsigned long long) pdi);
}

/* ASCII version text: printable, then only NUL padding. */
static bool version_text(const uint8_t *v, size_t n, char *dst, size_t dst_size) {
        size_t len = 0;

        while (len < n && v[len] != 0)
                len++;
        if (len == 0 || len >= dst_size || !memeqzero(v + len, n - len))
                return false;
        for (size_t i = 0; i < len; i++)
                if (v[i] < 0x21 || v[i] > 0x7e)
                        return false;
        memcpy(dst, v, len);
        dst[len] = 0;
        return true;
}

static int want_size(uint16_t type, size_t at, uint16_t len, uint16_t want, char **ret_reason) {
        if (len == want)
                return 0;
        return set_reason(ret_reason, -EBADMSG, "opaque data: TLV type %u at offset %zu has %u bytes, expected %u",
                          type, at, len, want);
}

static int parse_field(uint16_t type, const uint8_t *v, uint16_t len, size_t at, NvSwitchReport *r, char **ret_reason) {
        switch (type) {
        case NV_SWITCH_OPAQUE_BIOS_VERSION:
                if (!version_text(v, len, r->bios_version, sizeof(r->bios_version)))
                        return set_reason(ret_reason, -EBADMSG,
                                          "opaque data: BIOS_VERSION at offset %zu is not version text", at);
                return 0;
        case NV_SWITCH_OPAQUE_FWID:
                if (want_size(type, at, len, NV_FWID_SIZE, ret_reason) < 0)
                        return -EBADMSG;
                memcpy(r->fwid, v, NV_FWID_SIZE);
                r->has_fwid = true;
                return 0;
        case NV_SWITCH_OPAQUE_DEVICE_PDI:
                if (want_size(type, at, len, NV_PDI_SIZE, ret_reason) < 0)
                        return -EBADMSG;
                r->pdi = be64(v);
                r->has_pdi = true;
                return 0;
        case NV_SWITCH_OPAQUE_GPU_PDIS:
                if (len < NV_SWITCH_GPU_PDIS * NV_PDI_SIZE ||
                    len - NV_SWITCH_GPU_PDIS * NV_PDI_SIZE > NV_SWITCH_PORTS_MAX)
                        return set_reason(
                                ret_reason, -EBADMSG,
                                "opaque data: SWITCH_GPU_PDIS at offset %zu has %u bytes, expected %u GPU PDIs and "
                                "at most %u port bytes",
                                at, len, NV_SWITCH_GPU_PDIS, NV_SWITCH_PORTS_MAX);
                for (size_t i = 0; i < NV_SWITCH_GPU_PDIS; i++)
                        r->gpu_pdis[i] = be64(v + i * NV_PDI_SIZE);
                r->n_ports = len - NV_SWITCH_GPU_PDIS * NV_PDI_SIZE;
                memcpy(r->ports, v + NV_SWITCH_GPU_PDIS * NV_PDI_SIZE, r->n_ports);
                r->has_gpu_pdis = true;
                return 0;
        case NV_SWITCH_OPAQUE_FLOORSWEPT_PORTS:
                if (len == 0 || len > sizeof(r->floorswept_ports))
                        return set_reason(ret_reason, -EBADMSG,
                                          "opaque data: FLOORSWEPT_PORTS at offset %zu has %u bytes, "
                                          "expected 1..%zu",
                                          at, len, sizeof(r->floorswept_ports));
                memcpy(r->floorswept_ports, v, len);
                r->floorswept_size = len;
                r->has_floorswept_ports = true;
                return 0;
        case NV_SWITCH_OPAQUE_POSITION_ID:
        case NV_SWITCH_OPAQUE_LOCK_STATUS:
                if (want_size(type, at, len, 2, ret_reason) < 0)
                        return -EBADMSG;
                if (type == NV_SWITCH_OPAQUE_POSITION_ID) {
                        r->position_id = (uint16_t) (v[0] | v[1] << 8);
                        r->has_position_id = true;
                } else {
                        r->lock_status = (uint16_t) (v[0] | v[1] << 8);
                        r->has_lock_status = true;
                }
                return 0;
        default:
                return 0; /* signed, but nothing we interpret (MSRSCNT, ...) */
        }
}

static int parse_opaque(Reader *o, size_t base, NvSwitchReport *r, char **ret_reason) {
        uint64_t seen = 0; /* types 0..63 */
        unsigned n = 0;

        while (reader_remaining(o) > 0) {
                size_t at = base + o->off;
                uint16_t type, len;
                const uint8_t *v;

                if (reader_le16(o, &type) < 0 || reader_le16(o, &len) < 0)
                        return set_reason(ret_reason, -EBADMSG, "opaque data: truncated TLV header at offset %zu", at);
                if (reader_take(o, len, &v) < 0)
                        return set_reason(ret_reason, -EBADMSG,
                                          "opaque data: TLV type %u at offset %zu claims %u bytes, only %zu remain",
                                          type, at, len, reader_remaining(o));
                if (type < 64) {
                        if (seen & (UINT64_C(1) << type))
                                return set_reason(ret_reason, -EBADMSG,
                                                  "opaque data: TLV type %u appears twice (offset %zu)", type, at);
                        seen |= UINT64_C(1) << type;
                }
                if (++n > 1024)
                        return set_reason(ret_reason, -EBADMSG, "opaque data: more than 1024 fields");
                if (parse_field(type, v, len, at, r, ret_reason) < 0)
                        return -EBADMSG;
        }
        return 0;
}

static int parse_request(Reader *rd, NvSwitchReport *r, char **ret_reason) {
        const uint8_t *p;
        uint8_t slot;

        if (reader_take(rd, 4, &p) < 0 || reader_copy(rd, r->nonce, NV_NONCE_SIZE) < 0 || reader_u8(rd, &slot) < 0)
                return set_reason(ret_reason, -EBADMSG, "report is shorter than the %u-byte SPDM request",
                                  NV_SPDM_REQUEST_SIZE);
        if (p[0] != 0x11)
                return set_reason(ret_reason, -EBADMSG,
                                  "request: SPDMVersion 0x%02x at offset 0, expected 0x11 (SPDM 1.1)", p[0]);
        if (p[1] != 0xE0)
                return set_reason(ret_reason, -EBADMSG,
                                  "request: code 0x%02x at offset 1, expected 0xE0 (GET_MEASUREMENTS)", p[1]);
        if (!(p[2] & 0x01))
                return set_reason(ret_reason, -EBADMSG,
                                  "request: Param1 0x%02x at offset 2 does not ask for a signature", p[2]);
        if (p[3] != 0xFF)
                return set_reason(ret_reason, -EBADMSG,
                                  "request: Param2 0x%02x at offset 3, expected 0xFF (all measurement blocks)", p[3]);
        return 0;
}

/* NumberOfBlocks DMTF blocks exactly filling the record, indices ascending from 1. */
static int parse_blocks(Reader *rec, unsigned nblocks, NvSwitchReport *r, char **ret_reason) {
        for (unsigned i = 0; i < nblocks; i++) {
                size_t at = 45 + rec->off;
                NvMeasurement *m = &r->blocks[i];
                uint16_t msize, vsize;
                Reader blk;

                if (reader_u8(rec, &m->index) < 0 || reader_u8(rec, &m->spec) < 0 || reader_le16(rec, &msize) < 0 ||
                    reader_sub(rec, msize, &blk) < 0)
                        return set_reason(ret_reason, -EBADMSG, "measurement block %u at offset %zu is truncated",
                                          i + 1, at);
                if (m->spec != 0x01)
                        return set_reason(ret_reason, -EBADMSG,
                                          "measurement block %u at offset %zu: specification 0x%02x is not DMTF", i + 1,
                                          at, m->spec);
                if (reader_u8(&blk, &m->value_type) < 0 || reader_le16(&blk, &vsize) < 0 || vsize > NV_DIGEST_MAX ||
                    vsize != reader_remaining(&blk))
                        return set_reason(ret_reason, -EBADMSG,
                                          "measurement block %u at offset %zu: malformed DMTF value", i + 1, at);
                (void) reader_copy(&blk, m->value, vsize);
                m->size = (uint8_t) vsize;
                if (m->index == 0 || (i > 0 && m->index <= r->blocks[i - 1].index))
                        return set_reason(ret_reason, -EBADMSG,
                                          "measurement block %u at offset %zu: index %u is not ascending from 1", i + 1,
                                          at, m->index);
        }
        if (reader_remaining(rec) != 0)
                return set_reason(ret_reason, -EBADMSG, "measurement record: %zu bytes left after %u blocks",
                                  reader_remaining(rec), nblocks);
        r->n_blocks = nblocks;
        return 0;
}

int nv_switch_report_parse(const uint8_t *data, size_t size, NvSwitchReport *ret, char **ret_reason) {
        _cleanup_free_ NvSwitchReport *r = calloc(1, sizeof(NvSwitchReport));
        Reader rd = reader_init(data, size), rec, opaque;
        const uint8_t *p;
        uint8_t nblocks, l[3];
        uint16_t opaque_len;
        size_t rec_len, opaque_at;

        if (!r)
                return -ENOMEM;
        if (size == 0 || size > NV_REPORT_SIZE_MAX)
                return set_reason(ret_reason, -EBADMSG, "report is %zu bytes, expected 1..%u", size,
                                  NV_REPORT_SIZE_MAX);
        if (parse_request(&rd, r, ret_reason) < 0)
                return -EBADMSG;

        if (reader_take(&rd, 4, &p) < 0 || reader_u8(&rd, &nblocks) < 0 || reader_copy(&rd, l, 3) < 0)
                return set_reason(ret_reason, -EBADMSG, "response: truncated header (report is %zu bytes)", size);
        if (p[0] != 0x11 || p[1] != 0x60)
                return set_reason(ret_reason, -EBADMSG,
                                  "response: version 0x%02x code 0x%02x at offset 37, expected 0x11 0x60 "
                                  "(SPDM 1.1 MEASUREMENTS)",
                                  p[0], p[1]);
        rec_len = (size_t) l[0] | (size_t) l[1] << 8 | (size_t) l[2] << 16;
        if (reader_sub(&rd, rec_len, &rec) < 0)
                return set_reason(ret_reason, -EBADMSG,
                                  "response: measurement record length %zu at offset 42 runs past the end", rec_len);
        if (parse_blocks(&rec, nblocks, r, ret_reason) < 0)
                return -EBADMSG;

        if (reader_copy(&rd, r->responder_nonce, NV_NONCE_SIZE) < 0 || reader_le16(&rd, &opaque_len) < 0)
                return set_reason(ret_reason, -EBADMSG,
                                  "response: truncated after the measurement record (report is %zu bytes)", size);
        opaque_at = rd.off;
        if (reader_sub(&rd, opaque_len, &opaque) < 0)
                return set_reason(ret_reason, -EBADMSG, "opaque data length %u at offset %zu runs past the end",
                                  opaque_len, opaque_at - 2);
        if (parse_opaque(&opaque, opaque_at, r, ret_reason) < 0)
                return -EBADMSG;

        r->signed_size = rd.off;
        if (reader_copy(&rd, r->signature, NV_SIGNATURE_SIZE) < 0)
                return set_reason(ret_reason, -EBADMSG, "signature at offset %zu: %zu bytes, expected %u",
                                  r->signed_size, reader_remaining(&rd), NV_SIGNATURE_SIZE);
        if (reader_remaining(&rd) != 0)
                return set_reason(ret_reason, -EBADMSG,
                                  "%zu bytes after the signature (offset %zu): they are not signed, refusing",
                                  reader_remaining(&rd), rd.off);
        *ret = *r;
        return 0;
}

json_object *nv_switch_report_claims(const NvSwitchReport *r) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *gpus = json_object_new_array();
        _cleanup_free_ char *nonce = hex_encode(r->nonce, NV_NONCE_SIZE);
        char h[17];

        if (!o || !gpus || !nonce) {
                json_object_put(gpus);
                return NULL;
        }
        json_object_object_add(o, "nonce", json_object_new_string(nonce));
        json_object_object_add(o, "bios_version", r->bios_version[0] ? json_object_new_string(r->bios_version) : NULL);
        nv_pdi_format(r->pdi, h);
        json_object_object_add(o, "pdi", r->has_pdi ? json_object_new_string(h) : NULL);
        for (size_t i = 0; r->has_gpu_pdis && i < NV_SWITCH_GPU_PDIS; i++) {
                nv_pdi_format(r->gpu_pdis[i], h);
                json_object_array_add(gpus, json_object_new_string(h));
        }
        json_object_object_add(o, "gpu_pdis", gpus);
        json_object_object_add(o, "position_id", r->has_position_id ? json_object_new_int(r->position_id) : NULL);
        json_object_object_add(o, "lock_status", r->has_lock_status ? json_object_new_int(r->lock_status) : NULL);
        json_object_object_add(o, "measurement_blocks", json_object_new_int((int) r->n_blocks));
        return TAKE_PTR(o);
}
