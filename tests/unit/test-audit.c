/* SPDX-License-Identifier: Apache-2.0 */
/* The audit store: a chain that verifies; each kind of tampering (content, kind, time, a
 * prev_hash link, a deleted middle or last row) named at the right row; the documented hash
 * recomputed independently; reopening continues the chain; --since filtering; two handles
 * appending alternately keep one chain; read-only handles create and change nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/audit.h"
#include "cvm/cleanup.h"
#include "cvm/util.h"

static const uint8_t UUID1[16] = {0x6f, 0x1c, 0x2a, 0x9e, 0x4b, 0x7d, 0x4e, 0x21,
                                  0x9a, 0x43, 0x0c, 0x5d, 0x8e, 0x7f, 0x1a, 0x26};

typedef struct Fixture {
        char dir[64];
        char path[128];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-audit-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        char p[160];

        for (const char *const *sfx = (const char *const[]){"", "-wal", "-shm", "-journal", NULL}; *sfx; sfx++) {
                snprintf(p, sizeof(p), "%s%s", f->path, *sfx);
                (void) unlink(p);
        }
        (void) rmdir(f->dir);
        free(f);
        return 0;
}

static AuditStore *open_store(const char *path, bool ro) {
        _cleanup_free_ char *reason = NULL;
        AuditStore *s = NULL;
        int r = audit_open(path, ro, &s, &reason);

        if (r < 0)
                fail_msg("audit_open %s: %d %s", path, r, reason ? reason : "");
        return s;
}

static int64_t append(AuditStore *s, int64_t t, AuditKind k, const char *name, const char *details_json) {
        _cleanup_(json_object_putp) json_object *d = details_json ? json_tokener_parse(details_json) : NULL;
        _cleanup_free_ char *reason = NULL;
        int64_t id = 0;
        int r;

        if (details_json)
                assert_non_null(d);
        r = audit_append(s, t, k, name, name ? UUID1 : NULL, d, &id, &reason);
        if (r < 0)
                fail_msg("audit_append: %d %s", r, reason ? reason : "");
        return id;
}

/* Five events, times 100..500, ids 1..5. */
static void fill(const char *path) {
        _cleanup_(audit_closep) AuditStore *s = open_store(path, false);

        assert_int_equal(append(s, 100, AUDIT_LAUNCH, "vm1", "{\"tee\":\"sev-snp\",\"gpus\":2}"), 1);
        assert_int_equal(
                append(s, 200, AUDIT_APPRAISAL, "vm1", "{\"accepted\":true,\"reasons\":[\"measurement matches\"]}"), 2);
        assert_int_equal(append(s, 300, AUDIT_KEY_RELEASE, "vm1", "{\"key_ids\":[\"train-1\"]}"), 3);
        assert_int_equal(append(s, 400, AUDIT_STATE, "vm1", "{\"from\":\"releasing\",\"to\":\"running\"}"), 4);
        assert_int_equal(append(s, 500, AUDIT_STOP, "vm1", NULL), 5);
}

static void tamper(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        char *err = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        assert_int_equal(sqlite3_changes(db), 1);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void verify_ok(const char *path, int64_t want_n) {
        _cleanup_(audit_closep) AuditStore *s = open_store(path, true);
        _cleanup_free_ char *reason = NULL;
        int64_t n = -1, broken = -1;
        int r = audit_verify(s, &n, &broken, &reason);

        if (r < 0)
                fail_msg("verify: %d %s (row %lld)", r, reason ? reason : "", (long long) broken);
        assert_int_equal(n, want_n);
        assert_int_equal(broken, -1);
}

static void verify_broken(const char *path, int64_t want_row, const char *want_reason) {
        _cleanup_(audit_closep) AuditStore *s = open_store(path, true);
        _cleanup_free_ char *reason = NULL;
        int64_t n = -1, broken = -1;

        assert_int_equal(audit_verify(s, &n, &broken, &reason), -EBADMSG);
        assert_int_equal(n, -1);
        assert_non_null(reason);
        if (broken != want_row || !strstr(reason, want_reason))
                fail_msg("broken row %lld \"%s\", expected row %lld \"%s\"", (long long) broken, reason,
                         (long long) want_row, want_reason);
}

static void test_kind_strings(void **state) {
        for (AuditKind k = 0; k < _AUDIT_KIND_MAX; k++) {
                assert_non_null(audit_kind_to_string(k));
                assert_int_equal(audit_kind_from_string(audit_kind_to_string(k)), k);
        }
        assert_string_equal(audit_kind_to_string(AUDIT_KEY_RELEASE), "key_release");
        assert_null(audit_kind_to_string(_AUDIT_KIND_MAX));
        assert_null(audit_kind_to_string(_AUDIT_KIND_INVALID));
        assert_int_equal(audit_kind_from_string("Launch"), _AUDIT_KIND_INVALID);
        assert_int_equal(audit_kind_from_string(NULL), _AUDIT_KIND_INVALID);
}

static void test_chain_ok(void **state) {
        Fixture *f = *state;

        fill(f->path);
        verify_ok(f->path, 5);
}

static void test_empty_ok(void **state) {
        Fixture *f = *state;

        audit_close(open_store(f->path, false));
        verify_ok(f->path, 0);
}

static void test_tamper_details(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "UPDATE events SET details = '{\"accepted\":false}' WHERE id = 2");
        verify_broken(f->path, 2, "does not match its hash");
}

static void test_tamper_kind(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "UPDATE events SET kind = 'stop' WHERE id = 3");
        verify_broken(f->path, 3, "does not match its hash");
}

static void test_tamper_kind_unknown(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "UPDATE events SET kind = 'bogus' WHERE id = 1");
        verify_broken(f->path, 1, "row 1");
}

static void test_tamper_time(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "UPDATE events SET time = time + 1 WHERE id = 4");
        verify_broken(f->path, 4, "row 4: its content does not match");
}

static void test_tamper_name_and_uuid(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "UPDATE events SET vm_uuid = NULL WHERE id = 5");
        verify_broken(f->path, 5, "does not match its hash");
}

static void test_delete_middle(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "DELETE FROM events WHERE id = 3");
        verify_broken(f->path, 4, "rows 3 to 3 are missing");
}

static void test_delete_first(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "DELETE FROM events WHERE id = 1");
        verify_broken(f->path, 2, "rows 1 to 1 are missing");
}

static void test_delete_last(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "DELETE FROM events WHERE id = 5");
        verify_broken(f->path, 5, "missing from the end");

        /* An append after the cut continues from the head: the gap stays visible. */
        {
                _cleanup_(audit_closep) AuditStore *s = open_store(f->path, false);
                assert_int_equal(append(s, 600, AUDIT_LAUNCH, "vm2", NULL), 6);
        }
        verify_broken(f->path, 6, "rows 5 to 5 are missing");
}

static void test_change_prev_hash(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "UPDATE events SET prev_hash = zeroblob(32) WHERE id = 3");
        verify_broken(f->path, 3, "prev_hash is not the hash of row 2");
}

/* A forger who rewrites a row and its hash still breaks the next row's link. */
static void test_rehashed_row(void **state) {
        Fixture *f = *state;

        fill(f->path);
        tamper(f->path, "UPDATE events SET hash = randomblob(32) WHERE id = 2");
        verify_broken(f->path, 2, "does not match its hash");
}

static void test_wrong_type(void **state) {
        Fixture *f = *state;

        fill(f->path);
        /* STRICT refuses a text time; a NULL UUID of the wrong size cannot be stored either, so
         * try what a STRICT table allows: a text uuid is refused, a short blob by the CHECK. */
        {
                sqlite3 *db = NULL;
                assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
                assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET time = 'x' WHERE id = 1", NULL, NULL, NULL),
                                     SQLITE_OK);
                assert_int_not_equal(
                        sqlite3_exec(db, "UPDATE events SET vm_uuid = x'00' WHERE id = 1", NULL, NULL, NULL),
                        SQLITE_OK);
                sqlite3_close(db);
        }
        verify_ok(f->path, 5);
}

/* The hash as include/cvm/audit.h documents it, computed here without the store's code. */
static void put_field(EVP_MD_CTX *c, const void *p, uint64_t n, bool present) {
        uint64_t len = present ? n : UINT64_MAX;
        uint8_t be[8];

        for (int i = 0; i < 8; i++)
                be[i] = (uint8_t) (len >> (56 - 8 * i));
        assert_int_equal(EVP_DigestUpdate(c, be, 8), 1);
        if (present && n)
                assert_int_equal(EVP_DigestUpdate(c, p, n), 1);
}

static void put_int(EVP_MD_CTX *c, int64_t v) {
        uint8_t be[8];

        for (int i = 0; i < 8; i++)
                be[i] = (uint8_t) ((uint64_t) v >> (56 - 8 * i));
        put_field(c, be, 8, true);
}

typedef struct Seen {
        size_t n;
        int64_t ids[32];
        uint8_t hashes[32][AUDIT_HASH_SIZE];
        uint8_t prevs[32][AUDIT_HASH_SIZE];
        char details[32][128];
        bool named[32];
} Seen;

static int collect(const AuditEvent *e, void *userdata) {
        Seen *s = userdata;

        assert_true(s->n < 32);
        s->ids[s->n] = e->id;
        memcpy(s->hashes[s->n], e->hash, AUDIT_HASH_SIZE);
        memcpy(s->prevs[s->n], e->prev_hash, AUDIT_HASH_SIZE);
        snprintf(s->details[s->n], sizeof(s->details[0]), "%s", e->details);
        s->named[s->n] = e->vm_name != NULL;
        s->n++;
        return 0;
}

static void test_documented_hash(void **state) {
        Fixture *f = *state;
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *c = EVP_MD_CTX_new();
        _cleanup_free_ char *reason = NULL;
        uint8_t zero[AUDIT_HASH_SIZE] = {}, want[AUDIT_HASH_SIZE];
        const char *details = "{\"a\":\"x/y\",\"n\":1}";
        Seen seen = {};
        unsigned n;

        {
                _cleanup_(audit_closep) AuditStore *s = open_store(f->path, false);
                assert_int_equal(append(s, 1700000000, AUDIT_APPRAISAL, "gpu-vm", details), 1);
                assert_int_equal(append(s, -5, AUDIT_FAILURE, NULL, NULL), 2);
                assert_int_equal(audit_foreach(s, INT64_MIN, collect, &seen, &reason), 0);
        }
        assert_int_equal(seen.n, 2);
        /* the stored text is the compact form, slashes not escaped */
        assert_string_equal(seen.details[0], details);
        assert_string_equal(seen.details[1], "{}");
        assert_memory_equal(seen.prevs[0], zero, AUDIT_HASH_SIZE);
        assert_memory_equal(seen.prevs[1], seen.hashes[0], AUDIT_HASH_SIZE);

        assert_non_null(c);
        assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
        put_field(c, "cvmd-audit-v1", 13, true);
        put_int(c, 1);
        put_int(c, 1700000000);
        put_field(c, "appraisal", 9, true);
        put_field(c, "gpu-vm", 6, true);
        put_field(c, UUID1, 16, true);
        put_field(c, details, strlen(details), true);
        put_field(c, zero, 32, true);
        assert_int_equal(EVP_DigestFinal_ex(c, want, &n), 1);
        assert_memory_equal(seen.hashes[0], want, AUDIT_HASH_SIZE);

        /* absent name and UUID */
        assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
        put_field(c, "cvmd-audit-v1", 13, true);
        put_int(c, 2);
        put_int(c, -5);
        put_field(c, "failure", 7, true);
        put_field(c, NULL, 0, false);
        put_field(c, NULL, 0, false);
        put_field(c, "{}", 2, true);
        put_field(c, seen.hashes[0], 32, true);
        assert_int_equal(EVP_DigestFinal_ex(c, want, &n), 1);
        assert_memory_equal(seen.hashes[1], want, AUDIT_HASH_SIZE);
}

static void test_reopen_continues(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *reason = NULL;
        Seen seen = {};

        fill(f->path);
        {
                _cleanup_(audit_closep) AuditStore *s = open_store(f->path, false);
                assert_int_equal(append(s, 600, AUDIT_LAUNCH, "vm2", NULL), 6);
                assert_int_equal(audit_foreach(s, 0, collect, &seen, &reason), 0);
        }
        assert_int_equal(seen.n, 6);
        assert_memory_equal(seen.prevs[5], seen.hashes[4], AUDIT_HASH_SIZE);
        verify_ok(f->path, 6);
}

static void test_since(void **state) {
        Fixture *f = *state;
        _cleanup_(audit_closep) AuditStore *s = NULL;
        _cleanup_free_ char *reason = NULL;
        Seen seen = {};

        fill(f->path);
        s = open_store(f->path, true);
        assert_int_equal(audit_foreach(s, 250, collect, &seen, &reason), 0);
        assert_int_equal(seen.n, 3);
        assert_int_equal(seen.ids[0], 3);
        assert_int_equal(seen.ids[2], 5);
        assert_true(seen.named[2]);

        seen = (Seen){};
        assert_int_equal(audit_foreach(s, 501, collect, &seen, &reason), 0);
        assert_int_equal(seen.n, 0);
}

static int stop_at_two(const AuditEvent *e, void *userdata) {
        return e->id == 2 ? -ECANCELED : 0;
}

static void test_foreach_stops(void **state) {
        Fixture *f = *state;
        _cleanup_(audit_closep) AuditStore *s = NULL;

        fill(f->path);
        s = open_store(f->path, true);
        assert_int_equal(audit_foreach(s, 0, stop_at_two, NULL, NULL), -ECANCELED);
}

static void test_two_handles(void **state) {
        Fixture *f = *state;
        _cleanup_(audit_closep) AuditStore *a = open_store(f->path, false);
        _cleanup_(audit_closep) AuditStore *b = open_store(f->path, false);

        for (int i = 0; i < 10; i++) {
                assert_int_equal(append(a, 1000 + i, AUDIT_STATE, "a", NULL), 2 * i + 1);
                assert_int_equal(append(b, 1000 + i, AUDIT_STATE, "b", NULL), 2 * i + 2);
        }
        verify_ok(f->path, 20);
}

/* Two processes appending at once, not taking turns: one chain, no id twice. */
static void test_two_processes(void **state) {
        Fixture *f = *state;
        pid_t pid;
        int status;

        audit_close(open_store(f->path, false));
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                AuditStore *s = NULL;
                if (audit_open(f->path, false, &s, NULL) < 0)
                        _exit(1);
                for (int i = 0; i < 50; i++)
                        if (audit_append(s, i, AUDIT_STATE, "child", NULL, NULL, NULL, NULL) < 0)
                                _exit(2);
                audit_close(s);
                _exit(0);
        }
        {
                _cleanup_(audit_closep) AuditStore *s = open_store(f->path, false);
                for (int i = 0; i < 50; i++)
                        (void) append(s, i, AUDIT_STATE, "parent", NULL);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        verify_ok(f->path, 100);
}

static void test_key_release(void **state) {
        Fixture *f = *state;
        _cleanup_(audit_closep) AuditStore *s = open_store(f->path, false);
        _cleanup_free_ char *reason = NULL;
        const char *ids[] = {"train-1", "train-2"};
        Seen seen = {};
        int64_t id = 0;

        assert_int_equal(audit_append_key_release(s, 7, "vm1", UUID1, ids, 2, &id, &reason), 0);
        assert_int_equal(id, 1);
        assert_int_equal(audit_foreach(s, 0, collect, &seen, &reason), 0);
        assert_string_equal(seen.details[0], "{\"key_ids\":[\"train-1\",\"train-2\"]}");
}

static void test_event_json(void **state) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        AuditEvent e = {.id = 3,
                        .time = 0,
                        .kind = AUDIT_KEY_RELEASE,
                        .vm_name = "vm1",
                        .has_uuid = true,
                        .details = "{\"key_ids\":[\"k\"]}"};

        memcpy(e.vm_uuid, UUID1, 16);
        o = audit_event_to_json(&e);
        assert_non_null(o);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "kind")), "key_release");
        assert_string_equal(json_object_get_string(json_object_object_get(o, "time")), "1970-01-01T00:00:00Z");
        assert_string_equal(json_object_get_string(json_object_object_get(o, "uuid")),
                            "6f1c2a9e-4b7d-4e21-9a43-0c5d8e7f1a26");
        assert_true(json_object_is_type(json_object_object_get(o, "details"), json_type_object));
        assert_int_equal(strlen(json_object_get_string(json_object_object_get(o, "hash"))), 64);
}

static void test_bad_arguments(void **state) {
        Fixture *f = *state;
        _cleanup_(audit_closep) AuditStore *s = open_store(f->path, false);
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array();
        _cleanup_free_ char *reason = NULL;
        int64_t id = 77;

        assert_int_equal(audit_append(s, 1, _AUDIT_KIND_MAX, "vm", NULL, NULL, &id, &reason), -EINVAL);
        assert_int_equal(audit_append(s, 1, AUDIT_LAUNCH, "", NULL, NULL, &id, &reason), -EINVAL);
        assert_int_equal(audit_append(s, 1, AUDIT_LAUNCH, "a\nb", NULL, NULL, &id, &reason), -EINVAL);
        assert_int_equal(audit_append(s, 1, AUDIT_LAUNCH, "vm", NULL, arr, &id, &reason), -EINVAL);
        assert_int_equal(id, 77);
        verify_ok(f->path, 0);
}

static void test_read_only(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *reason = NULL;
        AuditStore *s = NULL;
        struct stat st;

        assert_int_equal(audit_open(f->path, true, &s, &reason), -ENOENT);
        assert_null(s);
        assert_non_null(reason);
        assert_int_equal(stat(f->path, &st), -1);

        fill(f->path);
        s = open_store(f->path, true);
        assert_int_equal(audit_append(s, 1, AUDIT_LAUNCH, "vm", NULL, NULL, NULL, &reason), -EROFS);
        audit_close(s);
        verify_ok(f->path, 5);
}

static void test_not_an_audit_store(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *reason = NULL;
        AuditStore *s = NULL;
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(audit_open(f->path, false, &s, &reason), -EBADMSG);
        assert_int_equal(audit_open(f->path, true, &s, &reason), -EBADMSG);
        assert_null(s);

        /* a newer schema is refused, not misread */
        (void) unlink(f->path);
        audit_close(open_store(f->path, false));
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(audit_open(f->path, true, &s, &reason), -EPROTONOSUPPORT);
        assert_int_equal(audit_open(f->path, false, &s, &reason), -EPROTONOSUPPORT);
}

static void test_wal(void **state) {
        Fixture *f = *state;
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        fill(f->path);
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *) sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        sqlite3_close(db);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kind_strings),
                cmocka_unit_test(test_event_json),
                T(test_chain_ok),
                T(test_empty_ok),
                T(test_tamper_details),
                T(test_tamper_kind),
                T(test_tamper_kind_unknown),
                T(test_tamper_time),
                T(test_tamper_name_and_uuid),
                T(test_delete_middle),
                T(test_delete_first),
                T(test_delete_last),
                T(test_change_prev_hash),
                T(test_rehashed_row),
                T(test_wrong_type),
                T(test_documented_hash),
                T(test_reopen_continues),
                T(test_since),
                T(test_foreach_stops),
                T(test_two_handles),
                T(test_two_processes),
                T(test_key_release),
                T(test_bad_arguments),
                T(test_read_only),
                T(test_not_an_audit_store),
                T(test_wal),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
