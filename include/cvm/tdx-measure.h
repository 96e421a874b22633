/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What a TDX guest will attest: MRTD predicted from a TDVF image, the CC event log (the ACPI
 * CCEL table's log area, TCG2 crypto-agile format) parsed and replayed into RTMR0-3, and that
 * replay compared with a quote. Sources: Intel TDX module specification (TDH.MEM.PAGE.ADD and
 * TDH.MR.EXTEND measurement records), Intel TDVF specification (metadata, CCEL), TCG PC Client
 * Platform Firmware Profile (TCG_PCR_EVENT2, the Spec ID event), ACPI 6.5 (CCEL). Pure code. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/macro.h"
#include "cvm/ovmf.h"

#define TDX_MR_SIZE 48u
#define TDX_RTMRS 4u
/* The most events a log may hold: real firmware logs have a few hundred. */
#define CC_EVENTS_MAX 65536u

/* MRTD: SHA-384 over 128-byte records, "MEM.PAGE.ADD" + GPA for each page the VMM adds, and
 * "MR.EXTEND" + GPA followed by the 256 bytes for each chunk of a section with MR_EXTEND, in
 * the order KVM issues them: section by section in metadata order, each page added and then
 * extended.
 * Sections with PAGE_AUG (and PermMem) are accepted by the guest later and not measured.
 * -EBADMSG with a reason when the image has no TDVF metadata. */
int tdx_mrtd(const OvmfImage *img, uint8_t ret[TDX_MR_SIZE], char **ret_reason);
/* SHA-384 of data zero-padded to padded_size: how td-shim measures its payload parameter. */
int tdx_padded_digest(const uint8_t *data, size_t size, size_t padded_size, uint8_t ret[TDX_MR_SIZE]);

/* TCG event types the log uses (TCG PC Client PFP, "Event Types"). */
#define TCG_EV_NO_ACTION UINT32_C(0x3)
#define TCG_EV_SEPARATOR UINT32_C(0x4)
#define TCG_ALG_SHA1 UINT16_C(0x0004)
#define TCG_ALG_SHA256 UINT16_C(0x000b)
#define TCG_ALG_SHA384 UINT16_C(0x000c)
#define TCG_ALG_SHA512 UINT16_C(0x000d)
#define TCG_ALG_SM3_256 UINT16_C(0x0012)

const char *tcg_event_type_to_string(uint32_t type);

typedef struct CcEvent {
        uint32_t mr_index; /* as logged: 1..4 = RTMR0..3 */
        uint32_t type;
        uint8_t digest[TDX_MR_SIZE]; /* SHA-384; zero for EV_NO_ACTION events without one */
        size_t offset;               /* of the event in the log */
        size_t data_offset;          /* of its event data */
        uint32_t data_size;
} CcEvent;

/* A parsed log. data points into the caller's buffer, which must outlive it. */
typedef struct CcEventLog {
        const uint8_t *data;
        size_t size; /* the bytes the events take, fill excluded */
        CcEvent *events;
        size_t n_events;
        uint8_t rtmr[TDX_RTMRS][TDX_MR_SIZE]; /* the replay */
} CcEventLog;

/* Parses the log area: the Spec ID event first (SHA-1 format, EV_NO_ACTION, and SHA-384 among
 * its algorithms), then TCG_PCR_EVENT2 records up to the end of the buffer or to the fill that
 * follows the last event (0xFF as an erased log area reads, or zeros). Each extended event must
 * carry a SHA-384 digest and an MR index 1..4; EV_NO_ACTION events are kept but not extended.
 * Replays RTMR0-3 from zero. -EBADMSG with a reason naming the event and its offset. */
int cc_eventlog_parse(const uint8_t *data, size_t size, CcEventLog **ret, char **ret_reason);
CcEventLog *cc_eventlog_free(CcEventLog *log);
DEFINE_CLEANUP(CcEventLog *, cc_eventlog_free)

/* {"rtmr0": hex, ... "rtmr3": hex, "events": [{"index", "mr", "type", "digest", "data"}]};
 * the data as text when it is printable, else as hex. */
json_object *cc_eventlog_to_json(const CcEventLog *log);

/* The ACPI CCEL table (56 bytes): CC type (2 = TDX), log area minimum length and start. */
typedef struct CcelTable {
        uint8_t cc_type;
        uint8_t cc_subtype;
        uint64_t laml;
        uint64_t lasa;
} CcelTable;

#define CCEL_CC_TYPE_TDX 2u

/* Checks signature, length, checksum and a TDX CC type. */
int ccel_table_parse(const uint8_t *data, size_t size, CcelTable *ret, char **ret_reason);

/* The function an appraisal calls: replays the log and compares RTMR0-3 with the quote's.
 * Returns 1 when all four match, 0 when one does not (the reason names each RTMR that differs
 * with both values), -EBADMSG when the log does not parse (reason). On success or mismatch
 * *ret_log (may be NULL) receives the parsed log, so the policy can look at its events. */
struct TdxQuote;
int tdx_eventlog_replay_quote(const uint8_t *log, size_t size, const struct TdxQuote *q, CcEventLog **ret_log,
                              char **ret_reason);
/* The same for a parsed log and the four RTMRs of a quote. */
int cc_eventlog_match(const CcEventLog *log, const uint8_t rtmr[TDX_RTMRS][TDX_MR_SIZE], char **ret_reason);
