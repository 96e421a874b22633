/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cvmd's audit store: one SQLite file (WAL, synchronous=FULL) of events — launches, appraisals
 * with their reasons, key releases (key IDs, never key bytes), stops, failures and state
 * changes — each row carrying the hash of the one before it, so that a changed, reordered or
 * deleted row breaks the chain and audit_verify() names where.
 *
 * The row hash, version 1:
 *
 *   hash = SHA-256( F("cvmd-audit-v1") || F(id) || F(time) || F(kind) || F(vm_name)
 *                   || F(vm_uuid) || F(details) || F(prev_hash) )
 *
 *   F(x)       = u64be(length of x) || x; an absent field (no VM name, no UUID) is
 *                u64be(0xffffffffffffffff) with no bytes, so absent and empty differ
 *   id, time   = 8 bytes, big-endian two's complement (time: Unix seconds)
 *   kind       = its name in ASCII, as audit_kind_to_string() spells it ("key_release")
 *   vm_uuid    = the 16 raw bytes
 *   details    = the JSON text exactly as stored (a compact object)
 *   prev_hash  = the 32-byte hash of row id - 1; 32 zero bytes for row 1
 *
 * Ids start at 1 and grow by one. A one-row "head" table holds the last id and hash, updated
 * in the same transaction as each append, so that a deleted last row is noticed too.
 *
 * A handle is used by one thread at a time; several handles (processes) may append to one
 * file: each append is one IMMEDIATE transaction that reads the head and extends it. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "cvm/macro.h"

#define AUDIT_SCHEMA_VERSION 1
#define AUDIT_HASH_SIZE      32
/* Largest details object (compact JSON text) one event may carry. */
#define AUDIT_DETAILS_MAX (256u * 1024u)
#define AUDIT_VM_NAME_MAX 256
#define AUDIT_DB_DEFAULT  "/var/lib/cvmd/audit.db"

typedef enum AuditKind {
        AUDIT_LAUNCH,
        AUDIT_APPRAISAL,
        AUDIT_KEY_RELEASE,
        AUDIT_STOP,
        AUDIT_FAILURE,
        AUDIT_STATE,
        _AUDIT_KIND_MAX,
        _AUDIT_KIND_INVALID = -EINVAL,
} AuditKind;

const char *audit_kind_to_string(AuditKind k);
AuditKind audit_kind_from_string(const char *s);

typedef struct AuditStore AuditStore;

/* One row as read back. The strings and the buffers belong to the store's iteration and are
 * valid only during the callback. */
typedef struct AuditEvent {
        int64_t id;
        int64_t time;
        AuditKind kind;
        const char *vm_name; /* NULL when the event concerns no VM */
        bool has_uuid;
        uint8_t vm_uuid[16];
        const char *details; /* compact JSON object text */
        uint8_t prev_hash[AUDIT_HASH_SIZE];
        uint8_t hash[AUDIT_HASH_SIZE];
} AuditEvent;

/* Opens (read_only: without creating or changing anything; -ENOENT when the file is missing)
 * or opens and creates the store at path: WAL, synchronous=FULL, foreign_keys, a busy timeout,
 * the schema when new. -EPROTONOSUPPORT for a newer schema, -EBADMSG for a file that is not an
 * audit store. */
int audit_open(const char *path, bool read_only, AuditStore **ret, char **ret_reason);
AuditStore *audit_close(AuditStore *s);
DEFINE_CLEANUP(AuditStore *, audit_close)

/* Appends one event in its own transaction and returns its id. details: a JSON object or NULL
 * (stored as {}); it must never hold key material: a key release is recorded by its key IDs
 * (audit_append_key_release). -EINVAL for a bad argument, -EBUSY when another writer held the
 * store past the busy timeout, -EROFS on a read-only handle. */
int audit_append(AuditStore *s, int64_t time, AuditKind kind, const char *vm_name, const uint8_t vm_uuid[16],
                 json_object *details, int64_t *ret_id, char **ret_reason);
/* A key release: details {"key_ids": [...]} from the IDs alone. */
int audit_append_key_release(AuditStore *s, int64_t time, const char *vm_name, const uint8_t vm_uuid[16],
                             const char *const *key_ids, size_t n_key_ids, int64_t *ret_id, char **ret_reason);

/* Recomputes every row's hash and the links between rows, in one read transaction. 0 when the
 * chain is intact (*ret_n_events: its length). -EBADMSG when it is broken: then, unlike other
 * ret_ parameters, *ret_first_broken_id names the first row that fails (changed content, a
 * prev_hash that is not the previous row's hash, the row after a gap of deleted rows; after the
 * last row when rows were cut off the end) and *ret_reason says why. Other -errno: unreadable. */
int audit_verify(AuditStore *s, int64_t *ret_n_events, int64_t *ret_first_broken_id, char **ret_reason);

/* Calls f for each event with time >= since, in id order; a negative return from f stops the
 * walk and is returned. Rows whose columns have the wrong types are reported as -EBADMSG. */
typedef int (*AuditEventFunc)(const AuditEvent *e, void *userdata);
int audit_foreach(AuditStore *s, int64_t since, AuditEventFunc f, void *userdata, char **ret_reason);

/* {"id", "time" (RFC 3339), "unix_time", "kind", "vm", "uuid", "details", "prev_hash", "hash"};
 * NULL on OOM. */
json_object *audit_event_to_json(const AuditEvent *e);
/* "6f1c2a9e-4b7d-4e21-9a43-0c5d8e7f1a26" into buf (at least 37 bytes). */
const char *audit_uuid_format(const uint8_t uuid[16], char *buf, size_t size);
