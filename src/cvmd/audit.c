/* SPDX-License-Identifier: Apache-2.0 */
/* The audit store: a hash-chained event table in SQLite. include/cvm/audit.h has the hash. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cvm/audit.h"
#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/util.h"

/* "cvmd" in ASCII: lets audit_open() tell our file from any other SQLite database. */
#define AUDIT_APPLICATION_ID 0x63766d64
/* How long an append waits for another writer (a second cvmd handle, a reader's checkpoint). */
#define AUDIT_BUSY_TIMEOUT_MS 5000
#define AUDIT_HASH_DOMAIN     "cvmd-audit-v1"

DEFINE_CLEANUP(sqlite3_stmt *, sqlite3_finalize)
DEFINE_CLEANUP(sqlite3 *, sqlite3_close_v2)

struct AuditStore {
        sqlite3 *db;
        bool read_only;
};

static const char *const kind_names[_AUDIT_KIND_MAX] = {
        [AUDIT_LAUNCH] = "launch", [AUDIT_APPRAISAL] = "appraisal", [AUDIT_KEY_RELEASE] = "key_release",
        [AUDIT_STOP] = "stop",     [AUDIT_FAILURE] = "failure",     [AUDIT_STATE] = "state",
};

const char *audit_kind_to_string(AuditKind k) {
        if (k < 0 || k >= _AUDIT_KIND_MAX)
                return NULL;
        return kind_names[k];
}

AuditKind audit_kind_from_string(const char *s) {
        if (!s)
                return _AUDIT_KIND_INVALID;
        for (AuditKind k = 0; k < _AUDIT_KIND_MAX; k++)
                if (streq(s, kind_names[k]))
                        return k;
        return _AUDIT_KIND_INVALID;
}

const char *audit_uuid_format(const uint8_t u[16], char *buf, size_t size) {
        snprintf(buf, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
        return buf;
}

/* SQLite's result codes into errno, with its message in the reason. */
static int sql_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

static int sql_fail(sqlite3 *db, int rc, char **ret_reason, const char *what) {
        return set_reason(ret_reason, sql_errno(rc), "audit store: %s: %s", what,
                          db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int sql_exec(sqlite3 *db, const char *sql, char **ret_reason) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK)
                return sql_fail(db, rc, ret_reason, sql);
        return 0;
}

static int sql_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, char **ret_reason) {
        int rc = sqlite3_prepare_v2(db, sql, -1, ret, NULL);

        if (rc != SQLITE_OK)
                return sql_fail(db, rc, ret_reason, "prepare");
        return 0;
}

/* One integer from a query such as "PRAGMA user_version". */
static int sql_int(sqlite3 *db, const char *sql, int64_t *ret, char **ret_reason) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r, rc;

        r = sql_prepare(db, sql, &st, ret_reason);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? set_reason(ret_reason, -EBADMSG, "audit store: %s: no result", sql)
                                         : sql_fail(db, rc, ret_reason, sql);
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

/* --- the row hash */

static int hash_field(EVP_MD_CTX *c, const void *p, size_t n, bool present) {
        uint64_t len = present ? (uint64_t) n : UINT64_MAX;
        uint8_t be[8];

        for (size_t i = 0; i < 8; i++)
                be[i] = (uint8_t) (len >> (56 - 8 * i));
        if (EVP_DigestUpdate(c, be, sizeof(be)) != 1)
                return -EIO;
        if (present && n > 0 && EVP_DigestUpdate(c, p, n) != 1)
                return -EIO;
        return 0;
}

static int hash_int(EVP_MD_CTX *c, int64_t v) {
        uint8_t be[8];

        for (size_t i = 0; i < 8; i++)
                be[i] = (uint8_t) ((uint64_t) v >> (56 - 8 * i));
        return hash_field(c, be, sizeof(be), true);
}

static int hash_str(EVP_MD_CTX *c, const char *s) {
        return hash_field(c, s, s ? strlen(s) : 0, s != NULL);
}

/* kind is the stored text, not the enum: a row whose kind was changed to a name we do not know
 * must still hash (and then fail to match) rather than be skipped. */
static int event_hash(int64_t id, int64_t time, const char *kind, const char *vm_name, const uint8_t *vm_uuid,
                      const char *details, const uint8_t prev[AUDIT_HASH_SIZE], uint8_t ret[AUDIT_HASH_SIZE]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned n = 0;

        if (!c)
                return openssl_fail(-ENOMEM);
        if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 || hash_str(c, AUDIT_HASH_DOMAIN) < 0 ||
            hash_int(c, id) < 0 || hash_int(c, time) < 0 || hash_str(c, kind) < 0 || hash_str(c, vm_name) < 0 ||
            hash_field(c, vm_uuid, 16, vm_uuid != NULL) < 0 || hash_str(c, details) < 0 ||
            hash_field(c, prev, AUDIT_HASH_SIZE, true) < 0 || EVP_DigestFinal_ex(c, ret, &n) != 1 ||
            n != AUDIT_HASH_SIZE)
                return openssl_fail(-EIO);
        return 0;
}

/* --- open and schema */

static const char schema_v1[] = "CREATE TABLE events ("
                                "  id INTEGER PRIMARY KEY,"
                                "  time INTEGER NOT NULL,"
                                "  kind TEXT NOT NULL,"
                                "  vm_name TEXT,"
                                "  vm_uuid BLOB CHECK (vm_uuid IS NULL OR length(vm_uuid) = 16),"
                                "  details TEXT NOT NULL,"
                                "  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),"
                                "  hash BLOB NOT NULL CHECK (length(hash) = 32)"
                                ") STRICT;"
                                "CREATE INDEX events_time ON events(time);"
                                /* one row: the last id and hash, so that a cut-off tail is noticed */
                                "CREATE TABLE head ("
                                "  one INTEGER PRIMARY KEY CHECK (one = 1),"
                                "  id INTEGER NOT NULL,"
                                "  hash BLOB NOT NULL CHECK (length(hash) = 32)"
                                ") STRICT;";

/* Checks (and, on a new file, creates) the schema inside one write transaction, so that two
 * daemons starting at once cannot both create it. */
static int schema_setup_locked(sqlite3 *db, char **ret_reason) {
        int64_t app_id, version, n_tables;
        int r;

        r = sql_int(db, "PRAGMA application_id", &app_id, ret_reason);
        if (r < 0)
                return r;
        r = sql_int(db, "PRAGMA user_version", &version, ret_reason);
        if (r < 0)
                return r;
        r = sql_int(db, "SELECT count(*) FROM sqlite_schema", &n_tables, ret_reason);
        if (r < 0)
                return r;
        if (app_id == 0 && version == 0 && n_tables == 0) {
                char set[128];

                r = sql_exec(db, schema_v1, ret_reason);
                if (r < 0)
                        return r;
                snprintf(set, sizeof(set), "PRAGMA application_id = %d; PRAGMA user_version = %d", AUDIT_APPLICATION_ID,
                         AUDIT_SCHEMA_VERSION);
                return sql_exec(db, set, ret_reason);
        }
        if (app_id != AUDIT_APPLICATION_ID)
                return set_reason(ret_reason, -EBADMSG, "not a cvmd audit store (application_id %" PRId64 ")", app_id);
        if (version != AUDIT_SCHEMA_VERSION)
                return set_reason(ret_reason, version > AUDIT_SCHEMA_VERSION ? -EPROTONOSUPPORT : -EBADMSG,
                                  "audit store schema version %" PRId64 ", this cvmd knows %d", version,
                                  AUDIT_SCHEMA_VERSION);
        return 0;
}

static int schema_setup(sqlite3 *db, char **ret_reason) {
        int r;

        r = sql_exec(db, "BEGIN IMMEDIATE", ret_reason);
        if (r < 0)
                return r;
        r = schema_setup_locked(db, ret_reason);
        if (r < 0) {
                (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                return r;
        }
        return sql_exec(db, "COMMIT", ret_reason);
}

static int schema_check(sqlite3 *db, char **ret_reason) {
        int64_t app_id, version;
        int r;

        r = sql_int(db, "PRAGMA application_id", &app_id, ret_reason);
        if (r < 0)
                return r;
        r = sql_int(db, "PRAGMA user_version", &version, ret_reason);
        if (r < 0)
                return r;
        if (app_id != AUDIT_APPLICATION_ID)
                return set_reason(ret_reason, -EBADMSG, "not a cvmd audit store");
        if (version != AUDIT_SCHEMA_VERSION)
                return set_reason(ret_reason, version > AUDIT_SCHEMA_VERSION ? -EPROTONOSUPPORT : -EBADMSG,
                                  "audit store schema version %" PRId64 ", this cvmctl knows %d", version,
                                  AUDIT_SCHEMA_VERSION);
        return 0;
}

/* An audit log that loses its last events on power loss is no audit log: WAL with
 * synchronous=FULL syncs the WAL on every commit. */
static int configure_writer(sqlite3 *db, char **ret_reason) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        const char *mode;
        int r, rc;

        r = sql_prepare(db, "PRAGMA journal_mode = WAL", &st, ret_reason);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return sql_fail(db, rc, ret_reason, "PRAGMA journal_mode = WAL");
        mode = (const char *) sqlite3_column_text(st, 0);
        if (!mode || strcasecmp(mode, "wal") != 0)
                return set_reason(ret_reason, -EIO, "audit store: cannot switch to WAL (journal mode %s)",
                                  mode ? mode : "unknown");
        return sql_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", ret_reason);
}

int audit_open(const char *path, bool read_only, AuditStore **ret, char **ret_reason) {
        _cleanup_(sqlite3_close_v2p) sqlite3 *db = NULL;
        AuditStore *s;
        int flags, rc, r;

        if (!path || !*path)
                return set_reason(ret_reason, -EINVAL, "audit store: no path");
        /* SQLite says only "unable to open database file"; name the common cases ourselves. */
        if (read_only && access(path, F_OK) < 0)
                return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));

        flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOFOLLOW |
                SQLITE_OPEN_NOMUTEX;
        rc = sqlite3_open_v2(path, &db, flags, NULL);
        if (rc != SQLITE_OK)
                return set_reason(ret_reason, sql_errno(rc), "%s: %s", path,
                                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        (void) sqlite3_extended_result_codes(db, 1);
        rc = sqlite3_busy_timeout(db, AUDIT_BUSY_TIMEOUT_MS);
        if (rc != SQLITE_OK)
                return sql_fail(db, rc, ret_reason, "busy timeout");

        if (read_only)
                r = sql_exec(db, "PRAGMA query_only = ON", ret_reason);
        else
                r = configure_writer(db, ret_reason);
        if (r >= 0)
                r = read_only ? schema_check(db, ret_reason) : schema_setup(db, ret_reason);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", path,
                                  ret_reason && *ret_reason ? *ret_reason : strerror(-r));

        s = calloc(1, sizeof(*s));
        if (!s)
                return set_reason(ret_reason, -ENOMEM, "out of memory");
        s->db = TAKE_PTR(db);
        s->read_only = read_only;
        *ret = s;
        return 0;
}

AuditStore *audit_close(AuditStore *s) {
        if (!s)
                return NULL;
        (void) sqlite3_close_v2(s->db);
        free(s);
        return NULL;
}

/* --- append */

typedef struct Head {
        int64_t id;
        uint8_t hash[AUDIT_HASH_SIZE];
} Head;

static int head_read(sqlite3 *db, Head *ret, char **ret_reason) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r, rc;

        r = sql_prepare(db, "SELECT id, hash FROM head WHERE one = 1", &st, ret_reason);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                *ret = (Head){};
                return 0;
        }
        if (rc != SQLITE_ROW)
                return sql_fail(db, rc, ret_reason, "read the head");
        if (sqlite3_column_bytes(st, 1) != AUDIT_HASH_SIZE)
                return set_reason(ret_reason, -EBADMSG, "audit store: the head's hash is malformed");
        ret->id = sqlite3_column_int64(st, 0);
        memcpy(ret->hash, sqlite3_column_blob(st, 1), AUDIT_HASH_SIZE);
        return 1;
}

typedef struct NewEvent {
        int64_t time;
        const char *kind, *vm_name, *details;
        const uint8_t *vm_uuid;
} NewEvent;

static int bind_text(sqlite3_stmt *st, int i, const char *s) {
        return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int insert_event(sqlite3 *db, int64_t id, const NewEvent *e, const uint8_t prev[AUDIT_HASH_SIZE],
                        const uint8_t hash[AUDIT_HASH_SIZE], char **ret_reason) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r, rc;

        r = sql_prepare(db,
                        "INSERT INTO events (id, time, kind, vm_name, vm_uuid, details, prev_hash, hash) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        &st, ret_reason);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK || sqlite3_bind_int64(st, 2, e->time) != SQLITE_OK ||
            bind_text(st, 3, e->kind) != SQLITE_OK || bind_text(st, 4, e->vm_name) != SQLITE_OK ||
            (e->vm_uuid ? sqlite3_bind_blob(st, 5, e->vm_uuid, 16, SQLITE_STATIC) : sqlite3_bind_null(st, 5)) !=
                    SQLITE_OK ||
            bind_text(st, 6, e->details) != SQLITE_OK ||
            sqlite3_bind_blob(st, 7, prev, AUDIT_HASH_SIZE, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_blob(st, 8, hash, AUDIT_HASH_SIZE, SQLITE_STATIC) != SQLITE_OK)
                return sql_fail(db, SQLITE_ERROR, ret_reason, "bind");
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return sql_fail(db, rc, ret_reason, "insert the event");
        return 0;
}

static int head_write(sqlite3 *db, int64_t id, const uint8_t hash[AUDIT_HASH_SIZE], char **ret_reason) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r, rc;

        r = sql_prepare(db, "INSERT OR REPLACE INTO head (one, id, hash) VALUES (1, ?, ?)", &st, ret_reason);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
            sqlite3_bind_blob(st, 2, hash, AUDIT_HASH_SIZE, SQLITE_STATIC) != SQLITE_OK)
                return sql_fail(db, SQLITE_ERROR, ret_reason, "bind");
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return sql_fail(db, rc, ret_reason, "update the head");
        return 0;
}

/* Inside the write transaction: the head cannot move under us. The new row continues from the
 * head, not from max(id): after a deleted last row the gap stays visible. */
static int append_locked(sqlite3 *db, const NewEvent *e, int64_t *ret_id, char **ret_reason) {
        uint8_t hash[AUDIT_HASH_SIZE];
        Head head;
        int r;

        r = head_read(db, &head, ret_reason);
        if (r < 0)
                return r;
        if (head.id == INT64_MAX)
                return set_reason(ret_reason, -EOVERFLOW, "audit store: no ids left");
        r = event_hash(head.id + 1, e->time, e->kind, e->vm_name, e->vm_uuid, e->details, head.hash, hash);
        if (r < 0)
                return set_reason(ret_reason, r, "audit store: cannot hash the event");
        r = insert_event(db, head.id + 1, e, head.hash, hash, ret_reason);
        if (r < 0)
                return r;
        r = head_write(db, head.id + 1, hash, ret_reason);
        if (r < 0)
                return r;
        *ret_id = head.id + 1;
        return 0;
}

static int check_vm_name(const char *name, char **ret_reason) {
        size_t n;

        if (!name)
                return 0;
        n = strlen(name);
        if (n == 0 || n > AUDIT_VM_NAME_MAX)
                return set_reason(ret_reason, -EINVAL, "audit: VM name must be 1 to %d bytes", AUDIT_VM_NAME_MAX);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) name[i] < 0x20 || name[i] == 0x7f)
                        return set_reason(ret_reason, -EINVAL, "audit: VM name holds a control character");
        return 0;
}

int audit_append(AuditStore *s, int64_t time, AuditKind kind, const char *vm_name, const uint8_t vm_uuid[16],
                 json_object *details, int64_t *ret_id, char **ret_reason) {
        NewEvent e = {.time = time, .vm_name = vm_name, .vm_uuid = vm_uuid};
        int64_t id = 0;
        int r;

        if (!s)
                return set_reason(ret_reason, -EINVAL, "audit: no store");
        if (s->read_only)
                return set_reason(ret_reason, -EROFS, "audit: the store was opened read-only");
        e.kind = audit_kind_to_string(kind);
        if (!e.kind)
                return set_reason(ret_reason, -EINVAL, "audit: unknown event kind %d", (int) kind);
        r = check_vm_name(vm_name, ret_reason);
        if (r < 0)
                return r;
        if (details && !json_object_is_type(details, json_type_object))
                return set_reason(ret_reason, -EINVAL, "audit: details must be a JSON object");
        /* Compact and without escaped slashes: the stored text is what the hash covers. */
        e.details = details ? json_object_to_json_string_ext(details,
                                                             JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                            : "{}";
        if (!e.details)
                return set_reason(ret_reason, -ENOMEM, "out of memory");
        if (strlen(e.details) > AUDIT_DETAILS_MAX)
                return set_reason(ret_reason, -EFBIG, "audit: details larger than %u bytes", AUDIT_DETAILS_MAX);

        /* IMMEDIATE: take the write lock before reading the head, so that two writers cannot
         * both extend the same head. */
        r = sql_exec(s->db, "BEGIN IMMEDIATE", ret_reason);
        if (r < 0)
                return r;
        r = append_locked(s->db, &e, &id, ret_reason);
        if (r >= 0)
                r = sql_exec(s->db, "COMMIT", ret_reason);
        if (r < 0) {
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                return r;
        }
        if (ret_id)
                *ret_id = id;
        return 0;
}

int audit_append_key_release(AuditStore *s, int64_t time, const char *vm_name, const uint8_t vm_uuid[16],
                             const char *const *key_ids, size_t n_key_ids, int64_t *ret_id, char **ret_reason) {
        _cleanup_(json_object_putp) json_object *d = json_object_new_object();
        json_object *ids;

        if (!d)
                return set_reason(ret_reason, -ENOMEM, "out of memory");
        ids = json_object_new_array();
        if (!ids)
                return set_reason(ret_reason, -ENOMEM, "out of memory");
        if (json_object_object_add(d, "key_ids", ids) < 0) {
                json_object_put(ids);
                return set_reason(ret_reason, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n_key_ids; i++) {
                if (!key_ids[i])
                        return set_reason(ret_reason, -EINVAL, "audit: key ID %zu is missing", i);
                if (json_object_array_add(ids, json_object_new_string(key_ids[i])) < 0)
                        return set_reason(ret_reason, -ENOMEM, "out of memory");
        }
        return audit_append(s, time, AUDIT_KEY_RELEASE, vm_name, vm_uuid, d, ret_id, ret_reason);
}

/* --- reading rows back */

/* A row as stored, columns checked for type; the text points into the statement. */
typedef struct Row {
        int64_t id, time;
        const char *kind, *vm_name, *details;
        const uint8_t *vm_uuid, *prev_hash, *hash;
} Row;

#define ROW_COLUMNS "id, time, kind, vm_name, vm_uuid, details, prev_hash, hash"

static bool column_is(sqlite3_stmt *st, int i, int type, bool nullable, int size) {
        int t = sqlite3_column_type(st, i);

        if (t == SQLITE_NULL)
                return nullable;
        if (t != type)
                return false;
        return size < 0 || sqlite3_column_bytes(st, i) == size;
}

/* -EBADMSG when a column has the wrong type or size: STRICT tables refuse most of that, but a
 * file edited with another tool (or an older SQLite) might not have. */
static int row_read(sqlite3_stmt *st, Row *ret) {
        if (!column_is(st, 0, SQLITE_INTEGER, false, -1) || !column_is(st, 1, SQLITE_INTEGER, false, -1) ||
            !column_is(st, 2, SQLITE_TEXT, false, -1) || !column_is(st, 3, SQLITE_TEXT, true, -1) ||
            !column_is(st, 4, SQLITE_BLOB, true, 16) || !column_is(st, 5, SQLITE_TEXT, false, -1) ||
            !column_is(st, 6, SQLITE_BLOB, false, AUDIT_HASH_SIZE) ||
            !column_is(st, 7, SQLITE_BLOB, false, AUDIT_HASH_SIZE))
                return -EBADMSG;
        *ret = (Row){
                .id = sqlite3_column_int64(st, 0),
                .time = sqlite3_column_int64(st, 1),
                .kind = (const char *) sqlite3_column_text(st, 2),
                .vm_name = (const char *) sqlite3_column_text(st, 3),
                .vm_uuid = sqlite3_column_blob(st, 4),
                .details = (const char *) sqlite3_column_text(st, 5),
                .prev_hash = sqlite3_column_blob(st, 6),
                .hash = sqlite3_column_blob(st, 7),
        };
        if (!ret->kind || !ret->details)
                return -ENOMEM;
        return 0;
}

int audit_foreach(AuditStore *s, int64_t since, AuditEventFunc f, void *userdata, char **ret_reason) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r, rc;

        r = sql_prepare(s->db, "SELECT " ROW_COLUMNS " FROM events WHERE time >= ? ORDER BY id", &st, ret_reason);
        if (r < 0)
                return r;
        if (sqlite3_bind_int64(st, 1, since) != SQLITE_OK)
                return sql_fail(s->db, SQLITE_ERROR, ret_reason, "bind");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                AuditEvent e;
                Row row;

                r = row_read(st, &row);
                if (r < 0)
                        return set_reason(ret_reason, r, "audit store: event %" PRId64 " is malformed",
                                          (int64_t) sqlite3_column_int64(st, 0));
                e = (AuditEvent){
                        .id = row.id,
                        .time = row.time,
                        .kind = audit_kind_from_string(row.kind),
                        .vm_name = row.vm_name,
                        .has_uuid = row.vm_uuid != NULL,
                        .details = row.details,
                };
                if (row.vm_uuid)
                        memcpy(e.vm_uuid, row.vm_uuid, 16);
                memcpy(e.prev_hash, row.prev_hash, AUDIT_HASH_SIZE);
                memcpy(e.hash, row.hash, AUDIT_HASH_SIZE);
                r = f(&e, userdata);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return sql_fail(s->db, rc, ret_reason, "read the events");
        return 0;
}

/* --- verification */

typedef struct Walk {
        int64_t expect_id; /* the id the next row must have */
        uint8_t prev[AUDIT_HASH_SIZE];
} Walk;

/* 0 when the row extends the chain, or -EBADMSG with the reason. */
static int walk_row(Walk *w, sqlite3_stmt *st, char **ret_reason) {
        uint8_t hash[AUDIT_HASH_SIZE];
        Row row;
        int r;

        r = row_read(st, &row);
        if (r < 0)
                return set_reason(ret_reason, r, "a column has the wrong type or size");
        if (row.id != w->expect_id)
                return row.id > w->expect_id
                               ? set_reason(ret_reason, -EBADMSG, "rows %" PRId64 " to %" PRId64 " are missing",
                                            w->expect_id, row.id - 1)
                               : set_reason(ret_reason, -EBADMSG, "id out of sequence (expected %" PRId64 ")",
                                            w->expect_id);
        if (memcmp(row.prev_hash, w->prev, AUDIT_HASH_SIZE) != 0)
                return set_reason(ret_reason, -EBADMSG, "prev_hash is not the hash of row %" PRId64, row.id - 1);
        r = event_hash(row.id, row.time, row.kind, row.vm_name, row.vm_uuid, row.details, row.prev_hash, hash);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot compute the hash");
        if (memcmp(hash, row.hash, AUDIT_HASH_SIZE) != 0)
                return set_reason(ret_reason, -EBADMSG, "its content does not match its hash (changed)");
        if (audit_kind_from_string(row.kind) < 0)
                return set_reason(ret_reason, -EBADMSG, "unknown kind");
        memcpy(w->prev, row.hash, AUDIT_HASH_SIZE);
        w->expect_id++;
        return 0;
}

/* After the last row: the head must name it, or rows were cut off the end (or added without
 * moving the head). */
static int walk_end(const Walk *w, sqlite3 *db, int64_t *ret_broken, char **ret_reason) {
        int64_t last = w->expect_id - 1;
        Head head;
        int r;

        r = head_read(db, &head, ret_reason);
        if (r == -EBADMSG)
                *ret_broken = last > 0 ? last : 1;
        if (r < 0)
                return r;
        if (r == 0 && last == 0)
                return 0;
        if (r == 0) {
                *ret_broken = last;
                return set_reason(ret_reason, -EBADMSG, "the chain head record is missing");
        }
        if (head.id > last) {
                *ret_broken = last + 1;
                return set_reason(ret_reason, -EBADMSG, "rows %" PRId64 " to %" PRId64 " are missing from the end",
                                  last + 1, head.id);
        }
        if (head.id < last) {
                *ret_broken = head.id + 1;
                return set_reason(ret_reason, -EBADMSG, "rows after %" PRId64 " were added outside the chain head",
                                  head.id);
        }
        if (memcmp(head.hash, w->prev, AUDIT_HASH_SIZE) != 0) {
                *ret_broken = last;
                return set_reason(ret_reason, -EBADMSG, "the chain head's hash differs from the row's");
        }
        return 0;
}

static int verify_locked(sqlite3 *db, int64_t *ret_n, int64_t *ret_broken, char **ret_reason) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        Walk w = {.expect_id = 1};
        int r, rc;

        r = sql_prepare(db, "SELECT " ROW_COLUMNS " FROM events ORDER BY id", &st, ret_reason);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = walk_row(&w, st, ret_reason);
                if (r == -EBADMSG) {
                        int64_t id = sqlite3_column_int64(st, 0);
                        *ret_broken = id;
                        return set_reason(ret_reason, r, "row %" PRId64 ": %s", id, *ret_reason);
                }
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return sql_fail(db, rc, ret_reason, "read the events");
        r = walk_end(&w, db, ret_broken, ret_reason);
        if (r < 0)
                return r;
        *ret_n = w.expect_id - 1;
        return 0;
}

int audit_verify(AuditStore *s, int64_t *ret_n_events, int64_t *ret_first_broken_id, char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        int64_t n = 0, broken = 0;
        int r;

        if (!s)
                return set_reason(ret_reason, -EINVAL, "audit: no store");
        /* One read transaction: the rows and the head from the same snapshot, whatever a
         * writer does meanwhile. */
        r = sql_exec(s->db, "BEGIN", ret_reason);
        if (r < 0)
                return r;
        r = verify_locked(s->db, &n, &broken, &reason);
        (void) sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        if (r == -EBADMSG && broken > 0) {
                if (ret_first_broken_id)
                        *ret_first_broken_id = broken;
                return set_reason(ret_reason, r, "%s", reason);
        }
        if (r < 0)
                return set_reason(ret_reason, r == -EBADMSG ? -EIO : r, "%s", reason ? reason : strerror(-r));
        if (ret_n_events)
                *ret_n_events = n;
        return 0;
}

/* --- JSON */

json_object *audit_event_to_json(const AuditEvent *e) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *prev = hex_encode(e->prev_hash, AUDIT_HASH_SIZE),
                            *hash = hex_encode(e->hash, AUDIT_HASH_SIZE);
        const char *kind = audit_kind_to_string(e->kind);
        json_object *details;
        char t[32], u[40];

        if (!o || !prev || !hash)
                return NULL;
        /* The details are our own compact JSON; should they no longer parse, show the text. */
        details = json_tokener_parse(e->details);
        if (!details)
                details = json_object_new_string(e->details);
        if (json_object_object_add(o, "id", json_object_new_int64(e->id)) < 0 ||
            json_object_object_add(o, "time", json_object_new_string(format_rfc3339(e->time, t, sizeof(t)))) < 0 ||
            json_object_object_add(o, "unix_time", json_object_new_int64(e->time)) < 0 ||
            json_object_object_add(o, "kind", json_object_new_string(kind ? kind : "unknown")) < 0 ||
            json_object_object_add(o, "vm", e->vm_name ? json_object_new_string(e->vm_name) : NULL) < 0 ||
            json_object_object_add(o, "uuid",
                                   e->has_uuid ? json_object_new_string(audit_uuid_format(e->vm_uuid, u, sizeof(u)))
                                               : NULL) < 0 ||
            json_object_object_add(o, "details", details) < 0 ||
            json_object_object_add(o, "prev_hash", json_object_new_string(prev)) < 0 ||
            json_object_object_add(o, "hash", json_object_new_string(hash)) < 0)
                return NULL;
        return TAKE_PTR(o);
}
