/* SPDX-License-Identifier: Apache-2.0 */
/* The CC event log of a TDX guest (TCG PC Client PFP crypto-agile format, as TDVF and td-shim
 * write it into the ACPI CCEL log area) and its replay into RTMR0-3. The log comes from the
 * guest: every length is checked against what is left before it is used. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/reader.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"

#define SPEC_ID_SIGNATURE "Spec ID Event03"
#define SHA1_DIGEST_SIZE 20u
#define ALGS_MAX 16u

typedef struct Alg {
        uint16_t id;
        uint16_t size;
} Alg;

/* The digest sizes the log declares in its Spec ID event, by algorithm. */
typedef struct AlgTable {
        Alg algs[ALGS_MAX];
        size_t n;
} AlgTable;

CcEventLog *cc_eventlog_free(CcEventLog *log) {
        if (log) {
                free(log->events);
                free(log);
        }
        return NULL;
}

const char *tcg_event_type_to_string(uint32_t type) {
        switch (type) {
        case 0x0:
                return "EV_PREBOOT_CERT";
        case 0x1:
                return "EV_POST_CODE";
        case 0x3:
                return "EV_NO_ACTION";
        case 0x4:
                return "EV_SEPARATOR";
        case 0x5:
                return "EV_ACTION";
        case 0x6:
                return "EV_EVENT_TAG";
        case 0x7:
                return "EV_S_CRTM_CONTENTS";
        case 0x8:
                return "EV_S_CRTM_VERSION";
        case 0x9:
                return "EV_CPU_MICROCODE";
        case 0xa:
                return "EV_PLATFORM_CONFIG_FLAGS";
        case 0xb:
                return "EV_TABLE_OF_DEVICES";
        case 0xc:
                return "EV_COMPACT_HASH";
        case 0xd:
                return "EV_IPL";
        case 0xe:
                return "EV_IPL_PARTITION_DATA";
        case 0xf:
                return "EV_NONHOST_CODE";
        case 0x10:
                return "EV_NONHOST_CONFIG";
        case 0x11:
                return "EV_NONHOST_INFO";
        case 0x12:
                return "EV_OMIT_BOOT_DEVICE_EVENTS";
        case 0x80000001:
                return "EV_EFI_VARIABLE_DRIVER_CONFIG";
        case 0x80000002:
                return "EV_EFI_VARIABLE_BOOT";
        case 0x80000003:
                return "EV_EFI_BOOT_SERVICES_APPLICATION";
        case 0x80000004:
                return "EV_EFI_BOOT_SERVICES_DRIVER";
        case 0x80000005:
                return "EV_EFI_RUNTIME_SERVICES_DRIVER";
        case 0x80000006:
                return "EV_EFI_GPT_EVENT";
        case 0x80000007:
                return "EV_EFI_ACTION";
        case 0x80000008:
                return "EV_EFI_PLATFORM_FIRMWARE_BLOB";
        case 0x80000009:
                return "EV_EFI_HANDOFF_TABLES";
        case 0x8000000a:
                return "EV_EFI_PLATFORM_FIRMWARE_BLOB2";
        case 0x8000000b:
                return "EV_EFI_HANDOFF_TABLES2";
        case 0x8000000c:
                return "EV_EFI_VARIABLE_BOOT2";
        case 0x80000010:
                return "EV_EFI_HCRTM_EVENT";
        case 0x800000e0:
                return "EV_EFI_VARIABLE_AUTHORITY";
        case 0x800000e1:
                return "EV_EFI_SPDM_FIRMWARE_BLOB";
        case 0x800000e2:
                return "EV_EFI_SPDM_FIRMWARE_CONFIG";
        default:
                return NULL;
        }
}

static int fail_at(char **ret_reason, size_t index, size_t offset, const char *what) {
        return set_reason(ret_reason, -EBADMSG, "event log: event %zu at offset %zu: %s", index, offset, what);
}

/* The first event: TCG_PCClientPCREvent (SHA-1 format) holding TCG_EfiSpecIDEvent. */
static int parse_spec_id(Reader *r, AlgTable *algs, CcEvent *ev, char **ret_reason) {
        uint32_t mr, type, size, n;
        uint8_t vendor_size, uintn;
        const uint8_t *sig;
        Reader e;

        ev->offset = r->off;
        if (reader_le32(r, &mr) < 0 || reader_le32(r, &type) < 0 || reader_skip(r, SHA1_DIGEST_SIZE) < 0 ||
            reader_le32(r, &size) < 0 || reader_sub(r, size, &e) < 0)
                return fail_at(ret_reason, 0, ev->offset, "the Spec ID event is truncated");
        if (type != TCG_EV_NO_ACTION)
                return fail_at(ret_reason, 0, ev->offset, "the first event is not the EV_NO_ACTION Spec ID event");
        ev->mr_index = mr;
        ev->type = type;
        ev->data_offset = r->off - size;
        ev->data_size = size;
        if (reader_take(&e, 16, &sig) < 0 || memcmp(sig, SPEC_ID_SIGNATURE, 16) != 0)
                return fail_at(ret_reason, 0, ev->offset, "no 'Spec ID Event03' signature: not a crypto-agile log");
        /* platformClass u32, specVersionMinor, specVersionMajor, specErrata, uintnSize */
        if (reader_skip(&e, 4 + 3) < 0 || reader_u8(&e, &uintn) < 0 || reader_le32(&e, &n) < 0)
                return fail_at(ret_reason, 0, ev->offset, "the Spec ID event is truncated");
        if (n == 0 || n > ALGS_MAX)
                return fail_at(ret_reason, 0, ev->offset, "the Spec ID event lists no or too many algorithms");
        for (uint32_t i = 0; i < n; i++) {
                Alg *a = &algs->algs[i];
                if (reader_le16(&e, &a->id) < 0 || reader_le16(&e, &a->size) < 0)
                        return fail_at(ret_reason, 0, ev->offset, "the Spec ID event's algorithm list is truncated");
                if (a->size == 0 || a->size > 64)
                        return fail_at(ret_reason, 0, ev->offset, "the Spec ID event gives a digest size out of range");
                if (a->id == TCG_ALG_SHA384 && a->size != TDX_MR_SIZE)
                        return fail_at(ret_reason, 0, ev->offset, "the Spec ID event gives SHA-384 a size other than 48");
                for (uint32_t k = 0; k < i; k++)
                        if (algs->algs[k].id == a->id)
                                return fail_at(ret_reason, 0, ev->offset, "the Spec ID event lists an algorithm twice");
        }
        algs->n = n;
        if (reader_u8(&e, &vendor_size) < 0 || reader_skip(&e, vendor_size) < 0)
                return fail_at(ret_reason, 0, ev->offset, "the Spec ID event's vendor data is truncated");
        for (size_t i = 0; i < algs->n; i++)
                if (algs->algs[i].id == TCG_ALG_SHA384)
                        return 0;
        return fail_at(ret_reason, 0, ev->offset, "the log carries no SHA-384 digests");
}

static const Alg *alg_find(const AlgTable *algs, uint16_t id) {
        for (size_t i = 0; i < algs->n; i++)
                if (algs->algs[i].id == id)
                        return &algs->algs[i];
        return NULL;
}

/* After the last event an erased log area reads as 0xFF, a zeroed one as 0: the rest of the
 * buffer must then be that fill and nothing else. */
static bool is_fill(const uint8_t *p, size_t n, uint8_t byte) {
        return memeqbyte(byte, p, n);
}

static int parse_event2(Reader *r, const AlgTable *algs, size_t index, CcEvent *ev, char **ret_reason) {
        uint32_t count, size;
        bool have_sha384 = false;

        ev->offset = r->off;
        if (reader_le32(r, &ev->mr_index) < 0 || reader_le32(r, &ev->type) < 0 || reader_le32(r, &count) < 0)
                return fail_at(ret_reason, index, ev->offset, "truncated header");
        if (count == 0 || count > algs->n)
                return fail_at(ret_reason, index, ev->offset, "digest count out of range");
        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *d;
                const Alg *a;
                uint16_t id;

                if (reader_le16(r, &id) < 0)
                        return fail_at(ret_reason, index, ev->offset, "truncated digest list");
                a = alg_find(algs, id);
                if (!a)
                        return fail_at(ret_reason, index, ev->offset, "a digest of an algorithm the log did not declare");
                if (reader_take(r, a->size, &d) < 0)
                        return fail_at(ret_reason, index, ev->offset, "truncated digest");
                if (id == TCG_ALG_SHA384) {
                        if (have_sha384)
                                return fail_at(ret_reason, index, ev->offset, "two SHA-384 digests");
                        memcpy(ev->digest, d, TDX_MR_SIZE);
                        have_sha384 = true;
                }
        }
        if (reader_le32(r, &size) < 0)
                return fail_at(ret_reason, index, ev->offset, "truncated event size");
        ev->data_offset = r->off;
        ev->data_size = size;
        if (reader_skip(r, size) < 0)
                return fail_at(ret_reason, index, ev->offset, "event data runs past the end of the log");
        if (ev->type == TCG_EV_NO_ACTION)
                return 0;
        if (!have_sha384)
                return fail_at(ret_reason, index, ev->offset, "no SHA-384 digest");
        if (ev->mr_index < 1 || ev->mr_index > TDX_RTMRS)
                return fail_at(ret_reason, index, ev->offset, "MR index outside 1..4 (RTMR0..3)");
        return 0;
}

static int extend(uint8_t mr[TDX_MR_SIZE], const uint8_t digest[TDX_MR_SIZE]) {
        uint8_t buf[2 * TDX_MR_SIZE];
        unsigned n = 0;

        memcpy(buf, mr, TDX_MR_SIZE);
        memcpy(buf + TDX_MR_SIZE, digest, TDX_MR_SIZE);
        return EVP_Digest(buf, sizeof(buf), mr, &n, EVP_sha384(), NULL) && n == TDX_MR_SIZE ? 0 : -EIO;
}

static int push_event(CcEventLog *log, size_t *alloc, const CcEvent *ev) {
        if (log->n_events >= CC_EVENTS_MAX)
                return -E2BIG;
        if (log->n_events == *alloc) {
                size_t m = *alloc ? *alloc * 2 : 64;
                CcEvent *p = reallocarray(log->events, m, sizeof(CcEvent));
                if (!p)
                        return -ENOMEM;
                log->events = p;
                *alloc = m;
        }
        log->events[log->n_events++] = *ev;
        return 0;
}

int cc_eventlog_parse(const uint8_t *data, size_t size, CcEventLog **ret, char **ret_reason) {
        _cleanup_(cc_eventlog_freep) CcEventLog *log = calloc(1, sizeof(CcEventLog));
        Reader r = reader_init(data, size);
        AlgTable algs = {};
        CcEvent ev = {};
        size_t alloc = 0;
        int k;

        if (!log)
                return -ENOMEM;
        log->data = data;
        if (size == 0)
                return set_reason(ret_reason, -EBADMSG, "event log: empty");
        k = parse_spec_id(&r, &algs, &ev, ret_reason);
        if (k < 0)
                return k;
        if (push_event(log, &alloc, &ev) < 0)
                return -ENOMEM;

        while (reader_remaining(&r) > 0) {
                const uint8_t *rest = data + r.off;
                size_t left = reader_remaining(&r);

                if (is_fill(rest, left, 0xff) || is_fill(rest, left, 0x00))
                        break;
                memset(&ev, 0, sizeof(ev));
                k = parse_event2(&r, &algs, log->n_events, &ev, ret_reason);
                if (k < 0)
                        return k;
                if (ev.type != TCG_EV_NO_ACTION && extend(log->rtmr[ev.mr_index - 1], ev.digest) < 0)
                        return set_reason(ret_reason, -EIO, "SHA-384 failed");
                k = push_event(log, &alloc, &ev);
                if (k == -E2BIG)
                        return set_reason(ret_reason, -EBADMSG, "event log: more than %u events", CC_EVENTS_MAX);
                if (k < 0)
                        return k;
        }
        log->size = r.off;
        *ret = TAKE_PTR(log);
        return 0;
}

int ccel_table_parse(const uint8_t *data, size_t size, CcelTable *ret, char **ret_reason) {
        Reader r = reader_init(data, size);
        const uint8_t *sig;
        uint32_t len;
        uint8_t sum = 0;
        CcelTable t = {};

        if (reader_take(&r, 4, &sig) < 0 || reader_le32(&r, &len) < 0)
                return set_reason(ret_reason, -EBADMSG, "CCEL table: %zu bytes is too short", size);
        if (memcmp(sig, "CCEL", 4) != 0)
                return set_reason(ret_reason, -EBADMSG, "CCEL table: signature is not 'CCEL'");
        if (len < 56 || len > size)
                return set_reason(ret_reason, -EBADMSG, "CCEL table: length %u does not fit the %zu bytes given", len,
                                  size);
        for (uint32_t i = 0; i < len; i++)
                sum = (uint8_t) (sum + data[i]);
        if (sum != 0)
                return set_reason(ret_reason, -EBADMSG, "CCEL table: checksum does not add up");
        /* the 36-byte ACPI header, then CC type, subtype, reserved u16, LAML, LASA */
        if (reader_seek(&r, 36) < 0 || reader_u8(&r, &t.cc_type) < 0 || reader_u8(&r, &t.cc_subtype) < 0 ||
            reader_skip(&r, 2) < 0 || reader_le64(&r, &t.laml) < 0 || reader_le64(&r, &t.lasa) < 0)
                return set_reason(ret_reason, -EBADMSG, "CCEL table: truncated");
        if (t.cc_type != CCEL_CC_TYPE_TDX)
                return set_reason(ret_reason, -EBADMSG, "CCEL table: CC type %u, not TDX (2)", t.cc_type);
        if (t.laml == 0)
                return set_reason(ret_reason, -EBADMSG, "CCEL table: the log area is empty");
        *ret = t;
        return 0;
}

int cc_eventlog_match(const CcEventLog *log, const uint8_t rtmr[TDX_RTMRS][TDX_MR_SIZE], char **ret_reason) {
        _cleanup_free_ char *why = NULL;

        for (unsigned i = 0; i < TDX_RTMRS; i++) {
                _cleanup_free_ char *want = NULL, *got = NULL;
                char *next;

                if (memcmp(log->rtmr[i], rtmr[i], TDX_MR_SIZE) == 0)
                        continue;
                want = hex_encode(rtmr[i], TDX_MR_SIZE);
                got = hex_encode(log->rtmr[i], TDX_MR_SIZE);
                if (!want || !got)
                        return -ENOMEM;
                next = strdup_printf("%s%sRTMR%u replays to %s but the quote has %s", why ? why : "", why ? "; " : "",
                                     i, got, want);
                if (!next)
                        return -ENOMEM;
                free(why);
                why = next;
        }
        if (!why)
                return 1;
        (void) set_reason(ret_reason, 0, "event log does not match the quote: %s", why);
        return 0;
}
