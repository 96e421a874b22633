/* SPDX-License-Identifier: Apache-2.0 */
/* The NVIDIA GPU attestation report (spec §1): the 37-byte SPDM 1.1 GET_MEASUREMENTS request,
 * then the MEASUREMENTS response: measurement record, responder nonce, opaque data (TLVs), and a
 * raw ECDSA P-384 signature. Everything is read through the bounded Reader, little-endian.
 *
 * Bytes after the signature: refused. The signature covers exactly the bytes before it, so
 * anything appended is unauthenticated; NVML returns the exact report size
 * (attestationReportSize), so trailing bytes only appear when an attester ships the wrong length
 * (one CoCo attester shipped the whole 8 KiB buffer once). Upstream verifiers disagree about such
 * reports (NVIDIA's C++ takes the last 96 bytes as the signature, the Python signs data[:-96],
 * trustee parses), so a report with trailing bytes means different things to different
 * verifiers: we refuse it and name the count, and the fix belongs in the attester. */
#include <stdio.h>
#include <string.h>

#include "cvm/gpu.h"
#include "cvm/reader.h"
#include "cvm/util.h"

/* ASCII text of a TLV: printable characters, then only NUL padding. */
static bool copy_text(const uint8_t *v, size_t n, char *dst, size_t dst_size) {
        size_t len = 0;

        while (len < n && v[len] != 0)
                len++;
        if (len >= dst_size || !memeqzero(v + len, n - len))
                return false;
        for (size_t i = 0; i < len; i++)
                if (v[i] < 0x21 || v[i] > 0x7e)
                        return false;
        memcpy(dst, v, len);
        dst[len] = 0;
        return true;
}

static bool driver_version_ok(const char *s) {
        if (!s[0])
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || *p == '.' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      *p == '-' || *p == '_'))
                        return false;
        return true;
}

static int parse_opaque(Reader *o, size_t base, NvReport *r, char **ret_reason) {
        uint64_t seen_lo = 0; /* types 0..63 */

        while (reader_remaining(o) > 0) {
                size_t at = base + o->off;
                uint16_t type, len;
                const uint8_t *v;
                char *dst = NULL;
                size_t dst_size = 0;

                if (reader_le16(o, &type) < 0 || reader_le16(o, &len) < 0)
                        return set_reason(ret_reason, -EBADMSG, "opaque data: truncated TLV header at offset %zu", at);
                if (reader_take(o, len, &v) < 0)
                        return set_reason(ret_reason, -EBADMSG, "opaque data: TLV type %u at offset %zu claims %u bytes, only %zu remain",
                                    type, at, len, reader_remaining(o));
                if (type < 64) {
                        if (seen_lo & (UINT64_C(1) << type))
                                return set_reason(ret_reason, -EBADMSG, "opaque data: TLV type %u appears twice (offset %zu)", type, at);
                        seen_lo |= UINT64_C(1) << type;
                }
                if (r->n_opaque_fields >= 1024)
                        return set_reason(ret_reason, -EBADMSG, "opaque data: more than 1024 fields");
                r->n_opaque_fields++;

                switch (type) {
                case NV_OPAQUE_DRIVER_VERSION:
                        if (!copy_text(v, len, r->driver_version, sizeof(r->driver_version)) ||
                            !driver_version_ok(r->driver_version))
                                return set_reason(ret_reason, -EBADMSG, "opaque data: DRIVER_VERSION at offset %zu is not a version string",
                                            at);
                        break;
                case NV_OPAQUE_VBIOS_VERSION:
                        if (len != 8)
                                return set_reason(ret_reason, -EBADMSG, "opaque data: VBIOS_VERSION at offset %zu has %u bytes, expected 8",
                                            at, len);
                        memcpy(r->vbios_raw, v, 8);
                        snprintf(r->vbios_version, sizeof(r->vbios_version), "%02X.%02X.%02X.%02X.%02X", v[3], v[2],
                                 v[1], v[0], v[4]);
                        r->has_vbios = true;
                        break;
                case NV_OPAQUE_FWID:
                        if (len != NV_FWID_SIZE)
                                return set_reason(ret_reason, -EBADMSG, "opaque data: FWID at offset %zu has %u bytes, expected %u", at,
                                            len, NV_FWID_SIZE);
                        memcpy(r->fwid, v, NV_FWID_SIZE);
                        r->has_fwid = true;
                        break;
                case NV_OPAQUE_NVDEC0_STATUS:
                        if (len != 1)
                                return set_reason(ret_reason, -EBADMSG, "opaque data: NVDEC0_STATUS at offset %zu has %u bytes, expected 1",
                                            at, len);
                        r->nvdec0_status = v[0];
                        r->has_nvdec0_status = true;
                        break;
                case NV_OPAQUE_PROTECTED_PCIE_STATUS:
                        if (len != 1)
                                return set_reason(ret_reason, -EBADMSG,
                                            "opaque data: PROTECTED_PCIE_STATUS at offset %zu has %u bytes, expected 1", at,
                                            len);
                        r->protected_pcie_status = v[0];
                        r->has_protected_pcie_status = true;
                        break;
                case NV_OPAQUE_FEATURE_FLAG:
                case NV_OPAQUE_OPAQUE_DATA_VERSION: {
                        uint16_t u;
                        if (len != 2)
                                return set_reason(ret_reason, -EBADMSG, "opaque data: TLV type %u at offset %zu has %u bytes, expected 2",
                                            type, at, len);
                        u = (uint16_t) (v[0] | v[1] << 8);
                        if (type == NV_OPAQUE_FEATURE_FLAG) {
                                r->feature_flag = u;
                                r->has_feature_flag = true;
                        } else {
                                r->opaque_data_version = u;
                                r->has_opaque_data_version = true;
                        }
                        break;
                }
                case NV_OPAQUE_SWITCH_PDI:
                        if (len % 8 != 0)
                                return set_reason(ret_reason, -EBADMSG, "opaque data: SWITCH_PDI at offset %zu is not a multiple of 8 bytes",
                                            at);
                        r->n_switch_pdis = len / 8;
                        memcpy(r->switch_pdis, v, (r->n_switch_pdis < NV_SWITCH_PDIS_MAX ? r->n_switch_pdis : NV_SWITCH_PDIS_MAX) * NV_PDI_SIZE);
                        break;
                case NV_OPAQUE_PROJECT:
                        dst = r->project, dst_size = sizeof(r->project);
                        break;
                case NV_OPAQUE_PROJECT_SKU:
                        dst = r->project_sku, dst_size = sizeof(r->project_sku);
                        break;
                case NV_OPAQUE_CHIP_SKU:
                        dst = r->chip_sku, dst_size = sizeof(r->chip_sku);
                        break;
                case NV_OPAQUE_CHIP_INFO:
                        dst = r->chip_info, dst_size = sizeof(r->chip_info);
                        break;
                default:
                        /* Signed, but nothing we interpret (GPU_INFO, MSRSCNT, BOARD_ID, CPRINFO, ...). */
                        break;
                }
                if (dst && !copy_text(v, len, dst, dst_size))
                        return set_reason(ret_reason, -EBADMSG, "opaque data: TLV type %u at offset %zu is not short printable text",
                                    type, at);
        }
        return 0;
}

int nv_report_parse(const uint8_t *data, size_t size, NvReport *ret, char **ret_reason) {
        _cleanup_free_ NvReport *r = calloc(1, sizeof(NvReport));
        Reader rd = reader_init(data, size), rec, opaque;
        const uint8_t *p;
        uint8_t nblocks, l[3];
        uint16_t opaque_len;
        size_t rec_len;

        if (!r)
                return -ENOMEM;
        if (size == 0)
                return set_reason(ret_reason, -EBADMSG, "report is empty");
        if (size > NV_REPORT_SIZE_MAX)
                return set_reason(ret_reason, -EBADMSG, "report is %zu bytes, more than the %u NVML can return", size, NV_REPORT_SIZE_MAX);
        if (size < NV_SPDM_REQUEST_SIZE)
                return set_reason(ret_reason, -EBADMSG, "report is %zu bytes, shorter than the %u-byte SPDM request", size,
                            NV_SPDM_REQUEST_SIZE);

        /* Request. */
        (void) reader_take(&rd, 4, &p);
        if (p[0] != 0x11)
                return set_reason(ret_reason, -EBADMSG, "request: SPDMVersion 0x%02x at offset 0, expected 0x11 (SPDM 1.1)", p[0]);
        if (p[1] != 0xE0)
                return set_reason(ret_reason, -EBADMSG, "request: code 0x%02x at offset 1, expected 0xE0 (GET_MEASUREMENTS)", p[1]);
        if (!(p[2] & 0x01))
                return set_reason(ret_reason, -EBADMSG, "request: Param1 0x%02x at offset 2 does not ask for a signature", p[2]);
        if (p[3] != 0xFF)
                return set_reason(ret_reason, -EBADMSG, "request: Param2 0x%02x at offset 3, expected 0xFF (all measurement blocks)",
                            p[3]);
        r->request_param1 = p[2];
        r->request_param2 = p[3];
        (void) reader_copy(&rd, r->nonce, NV_NONCE_SIZE);
        (void) reader_u8(&rd, &r->slot);

        /* Response header. */
        if (reader_take(&rd, 4, &p) < 0 || reader_u8(&rd, &nblocks) < 0 || reader_copy(&rd, l, 3) < 0)
                return set_reason(ret_reason, -EBADMSG, "response: truncated header (report is %zu bytes)", size);
        if (p[0] != 0x11)
                return set_reason(ret_reason, -EBADMSG, "response: SPDMVersion 0x%02x at offset 37, expected 0x11", p[0]);
        if (p[1] != 0x60)
                return set_reason(ret_reason, -EBADMSG, "response: code 0x%02x at offset 38, expected 0x60 (MEASUREMENTS)", p[1]);
        r->response_param1 = p[2];
        r->response_param2 = p[3];
        rec_len = (size_t) l[0] | (size_t) l[1] << 8 | (size_t) l[2] << 16;
        if (reader_sub(&rd, rec_len, &rec) < 0)
                return set_reason(ret_reason, -EBADMSG, "response: measurement record length %zu at offset 42 runs past the end", rec_len);

        /* Measurement record: NumberOfBlocks DMTF blocks, exactly filling the record. */
        for (unsigned i = 0; i < nblocks; i++) {
                size_t at = 45 + rec.off;
                NvMeasurement *m = &r->blocks[i];
                uint16_t msize, vsize;
                Reader blk;

                if (reader_u8(&rec, &m->index) < 0 || reader_u8(&rec, &m->spec) < 0 || reader_le16(&rec, &msize) < 0 ||
                    reader_sub(&rec, msize, &blk) < 0)
                        return set_reason(ret_reason, -EBADMSG, "measurement block %u at offset %zu is truncated", i + 1, at);
                if (m->spec != 0x01)
                        return set_reason(ret_reason, -EBADMSG, "measurement block %u at offset %zu: specification 0x%02x is not DMTF",
                                    i + 1, at, m->spec);
                if (reader_u8(&blk, &m->value_type) < 0 || reader_le16(&blk, &vsize) < 0)
                        return set_reason(ret_reason, -EBADMSG, "measurement block %u at offset %zu: truncated DMTF header", i + 1, at);
                if (vsize > NV_DIGEST_MAX || vsize != reader_remaining(&blk))
                        return set_reason(ret_reason, -EBADMSG,
                                    "measurement block %u at offset %zu: value size %u does not fill the block (%zu bytes)",
                                    i + 1, at, vsize, reader_remaining(&blk));
                (void) reader_copy(&blk, m->value, vsize);
                m->size = (uint8_t) vsize;
                if (m->index == 0 || (i > 0 && m->index <= r->blocks[i - 1].index))
                        return set_reason(ret_reason, -EBADMSG, "measurement block %u at offset %zu: index %u is not ascending from 1",
                                    i + 1, at, m->index);
        }
        if (reader_remaining(&rec) != 0)
                return set_reason(ret_reason, -EBADMSG, "measurement record: %zu bytes left after %u blocks", reader_remaining(&rec),
                            nblocks);
        r->n_blocks = nblocks;

        if (reader_copy(&rd, r->responder_nonce, NV_NONCE_SIZE) < 0 || reader_le16(&rd, &opaque_len) < 0)
                return set_reason(ret_reason, -EBADMSG, "response: truncated after the measurement record (report is %zu bytes)", size);
        r->opaque_offset = rd.off;
        r->opaque_size = opaque_len;
        if (reader_sub(&rd, opaque_len, &opaque) < 0)
                return set_reason(ret_reason, -EBADMSG, "opaque data length %u at offset %zu runs past the end", opaque_len,
                            r->opaque_offset - 2);
        if (parse_opaque(&opaque, r->opaque_offset, r, ret_reason) < 0)
                return -EBADMSG;

        r->signed_size = rd.off;
        if (reader_copy(&rd, r->signature, NV_SIGNATURE_SIZE) < 0)
                return set_reason(ret_reason, -EBADMSG, "signature at offset %zu: %zu bytes, expected %u", r->signed_size,
                            reader_remaining(&rd), NV_SIGNATURE_SIZE);
        if (reader_remaining(&rd) != 0)
                return set_reason(ret_reason, -EBADMSG, "%zu bytes after the signature (offset %zu): they are not signed, refusing",
                            reader_remaining(&rd), rd.off);

        *ret = *r;
        return 0;
}

const NvMeasurement *nv_report_block(const NvReport *r, unsigned spdm_index) {
        for (unsigned i = 0; i < r->n_blocks; i++)
                if (r->blocks[i].index == spdm_index)
                        return &r->blocks[i];
        return NULL;
}

int nv_report_driver_rim_id(const NvReport *r, char **ret) {
        char *s;

        if (!r->driver_version[0])
                return -ENODATA;
        if (r->chip_info[0])
                s = strdup_printf("NV_GPU_CC_DRIVER_%s_%s", r->chip_info, r->driver_version);
        else
                s = strdup_printf("NV_GPU_DRIVER_GH100_%s", r->driver_version);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int nv_report_vbios_rim_id(const NvReport *r, char **ret) {
        char v[16];
        char *s;

        if (!r->has_vbios || !r->project[0] || !r->project_sku[0] || !r->chip_sku[0])
                return -ENODATA;
        snprintf(v, sizeof(v), "%02X%02X%02X%02X%02X", r->vbios_raw[3], r->vbios_raw[2], r->vbios_raw[1],
                 r->vbios_raw[0], r->vbios_raw[4]);
        s = strdup_printf("NV_GPU_VBIOS_%s_%s_%s_%s", r->project, r->project_sku, r->chip_sku, v);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static void add_hex(json_object *o, const char *key, const void *p, size_t n) {
        _cleanup_free_ char *h = hex_encode(p, n);
        json_object_object_add(o, key, h ? json_object_new_string(h) : NULL);
}

static void add_str(json_object *o, const char *key, const char *s) {
        json_object_object_add(o, key, s && s[0] ? json_object_new_string(s) : NULL);
}

json_object *nv_report_claims(const NvReport *r) {
        json_object *o = json_object_new_object();
        _cleanup_free_ char *drv = NULL, *vb = NULL;

        if (!o)
                return NULL;
        add_str(o, "driver_version", r->driver_version);
        add_str(o, "vbios_version", r->has_vbios ? r->vbios_version : NULL);
        add_hex(o, "nonce", r->nonce, NV_NONCE_SIZE);
        add_hex(o, "responder_nonce", r->responder_nonce, NV_NONCE_SIZE);
        if (r->has_fwid)
                add_hex(o, "fwid", r->fwid, NV_FWID_SIZE);
        else
                json_object_object_add(o, "fwid", NULL);
        add_str(o, "chip_info", r->chip_info);
        add_str(o, "project", r->project);
        add_str(o, "project_sku", r->project_sku);
        add_str(o, "chip_sku", r->chip_sku);
        if (r->has_nvdec0_status) {
                char b[8];
                snprintf(b, sizeof(b), "0x%02x", r->nvdec0_status);
                json_object_object_add(o, "nvdec0_status", json_object_new_string(b));
        }
        if (r->has_feature_flag)
                json_object_object_add(o, "mode",
                                       json_object_new_string(r->feature_flag == 0   ? "spt"
                                                              : r->feature_flag == 1 ? "mpt"
                                                              : r->feature_flag == 2 ? "ppcie"
                                                                                     : "unknown"));
        if (r->has_protected_pcie_status)
                json_object_object_add(o, "protected_pcie", json_object_new_boolean(r->protected_pcie_status == 0xAA));
        if (r->n_switch_pdis)
                json_object_object_add(o, "switch_pdis", json_object_new_int((int) r->n_switch_pdis));
        json_object_object_add(o, "measurement_blocks", json_object_new_int((int) r->n_blocks));
        if (nv_report_driver_rim_id(r, &drv) >= 0)
                add_str(o, "driver_rim_id", drv);
        if (nv_report_vbios_rim_id(r, &vb) >= 0)
                add_str(o, "vbios_rim_id", vb);
        return o;
}
