/* SPDX-License-Identifier: Apache-2.0 */
/* The policy set: loading a directory of named policies, the refusals (no name, duplicate
 * names naming both files, a broken file, a FIFO, a missing directory), and the atomic reload:
 * a broken file keeps the old set in force, a good reload swaps, and a reference taken before
 * a reload stays valid after it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/policy-set.h"
#include "cvm/util.h"
#include "../common/test-dir.h"

static void remove_at(const char *dir, const char *name) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);

        assert_int_equal(unlink(path), 0);
}

/* Fails with exactly this reason, DIR standing for the directory. */
static void load_fails(const char *dir, const char *want) {
        PolicySet *sentinel = (PolicySet *) 0x1, *s = sentinel;
        _cleanup_free_ char *reason = NULL, *expect = NULL;
        const char *at;

        expect = strdup(want);
        while (expect && (at = strstr(expect, "DIR"))) {
                char *e = strdup_printf("%.*s%s%s", (int) (at - expect), expect, dir, at + 3);
                free(expect);
                expect = e;
        }
        assert_non_null(expect);
        assert_true(policy_set_load(dir, &s, &reason) < 0);
        assert_ptr_equal(s, sentinel);
        assert_non_null(reason);
        assert_string_equal(reason, expect);
}

static PolicySet *load_ok(const char *dir) {
        PolicySet *s = NULL;
        _cleanup_free_ char *reason = NULL;
        int r = policy_set_load(dir, &s, &reason);

        if (r < 0)
                fail_msg("policy_set_load(%s): %d %s", dir, r, reason ?: "(no reason)");
        assert_non_null(s);
        return s;
}

static void test_load(void **state) {
        _cleanup_(policy_set_unrefp) PolicySet *s = NULL;
        _cleanup_free_ char *path = NULL;
        const char *dir = *state;
        const Policy *p;

        test_dir_write(dir, "b.json", "{\"name\": \"snp-prod\", \"snp\": {\"allow_debug\": false}}");
        test_dir_write(dir, "a.json", "{\"name\": \"dev\", \"description\": \"development\", \"allow_development\": true}");
        test_dir_write(dir, "c.json", "{\"name\": \"tdx\", \"tdx\": {}}");
        /* Not policies: other suffixes, hidden files, a directory without the suffix. */
        test_dir_write(dir, "README", "not json");
        test_dir_write(dir, "d.json.orig", "{");
        test_dir_write(dir, ".e.json", "{");

        s = load_ok(dir);
        assert_int_equal(policy_set_size(s), 3);
        assert_int_equal(policy_set_generation(s), 1);
        assert_string_equal(policy_set_directory(s), dir);

        p = policy_set_find(s, "snp-prod");
        assert_non_null(p);
        assert_true(p->has_snp);
        p = policy_set_find(s, "dev");
        assert_non_null(p);
        assert_true(p->allow_development);
        assert_non_null(policy_set_find(s, "tdx"));
        assert_null(policy_set_find(s, "missing"));
        assert_null(policy_set_find(s, ""));
        assert_null(policy_set_find(s, NULL));
        assert_null(policy_set_find(NULL, "dev"));

        /* Name order, for listing. */
        assert_string_equal(policy_set_get(s, 0)->name, "dev");
        assert_string_equal(policy_set_get(s, 1)->name, "snp-prod");
        assert_string_equal(policy_set_get(s, 2)->name, "tdx");
        assert_null(policy_set_get(s, 3));

        path = strdup_printf("%s/b.json", dir);
        assert_string_equal(policy_set_path(s, "snp-prod"), path);
        assert_null(policy_set_path(s, "missing"));
}

static void test_empty_and_missing(void **state) {
        _cleanup_(policy_set_unrefp) PolicySet *s = NULL;
        _cleanup_free_ char *gone = strdup_printf("%s/nope", (char *) *state), *slashed = NULL;

        s = load_ok(*state);
        assert_int_equal(policy_set_size(s), 0);
        assert_null(policy_set_find(s, "x"));

        load_fails(gone, "DIR: cannot open: No such file or directory");

        /* A trailing slash does not show in the names of the files. */
        test_dir_write(*state, "x.json", "{\"name\": \"x\"}");
        slashed = strdup_printf("%s/", (char *) *state);
        policy_set_unref(s);
        s = load_ok(slashed);
        assert_string_equal(policy_set_directory(s), *state);
}

static void test_refusals(void **state) {
        _cleanup_free_ char *fifo = strdup_printf("%s/f.json", (char *) *state);
        const char *dir = *state;

        test_dir_write(dir, "a.json", "{\"name\": \"one\"}");
        test_dir_write(dir, "b.json", "{\"description\": \"nameless\"}");
        load_fails(dir, "DIR/b.json: the policy has no \"name\"");

        test_dir_write(dir, "b.json", "{\"name\": \"two\"}");
        test_dir_write(dir, "c.json", "{\"name\": \"one\", \"snp\": {}}");
        load_fails(dir, "DIR/a.json and DIR/c.json both name the policy \"one\"");
        /* The same whichever file sorts first by content. */
        test_dir_write(dir, "a.json", "{\"name\": \"one\", \"snp\": {}}");
        test_dir_write(dir, "c.json", "{\"name\": \"one\"}");
        load_fails(dir, "DIR/a.json and DIR/c.json both name the policy \"one\"");
        remove_at(dir, "c.json");

        test_dir_write(dir, "b.json", "{\"name\": \"two\", \"snp\": {\"alow_debug\": true}}");
        load_fails(dir, "DIR/b.json: snp.alow_debug: unknown key");
        test_dir_write(dir, "b.json", "{\"name\": \"two\"");
        {
                PolicySet *s = NULL;
                _cleanup_free_ char *reason = NULL, *prefix = strdup_printf("%s/b.json: ", dir);

                assert_true(policy_set_load(dir, &s, &reason) < 0);
                assert_null(s);
                assert_non_null(reason);
                assert_memory_equal(reason, prefix, strlen(prefix));
        }
        test_dir_write(dir, "b.json", "{\"name\": \"two\"}");

        /* A FIFO is refused before anything opens it (the open would block). */
        assert_int_equal(mkfifo(fifo, 0600), 0);
        load_fails(dir, "DIR/f.json: not a regular file");
}

static void test_bad_arguments(void **state) {
        PolicySet *s = NULL;

        assert_int_equal(policy_set_load(NULL, &s, NULL), -EINVAL);
        assert_int_equal(policy_set_load("", &s, NULL), -EINVAL);
        assert_int_equal(policy_set_load(*state, NULL, NULL), -EINVAL);
        assert_int_equal(policy_set_reload(NULL, *state, NULL), -EINVAL);
        assert_null(policy_set_ref(NULL));
        assert_null(policy_set_unref(NULL));
        assert_int_equal(policy_set_size(NULL), 0);
        assert_int_equal(policy_set_generation(NULL), 0);
}

static void test_reload_broken_keeps_old(void **state) {
        _cleanup_(policy_set_unrefp) PolicySet *s = NULL;
        _cleanup_free_ char *reason = NULL;
        const char *dir = *state;
        PolicySet *before;

        test_dir_write(dir, "a.json", "{\"name\": \"a\"}");
        test_dir_write(dir, "b.json", "{\"name\": \"b\"}");
        s = load_ok(dir);
        before = s;

        /* One good change and one broken file: none of it takes effect. */
        test_dir_write(dir, "a.json", "{\"name\": \"a2\"}");
        test_dir_write(dir, "b.json", "{\"name\": \"b\", \"snp\": {\"max_vmpl\": 9}}");
        assert_int_equal(policy_set_reload(&s, dir, &reason), -EINVAL);
        assert_ptr_equal(s, before);
        assert_int_equal(policy_set_generation(s), 1);
        assert_non_null(policy_set_find(s, "a"));
        assert_null(policy_set_find(s, "a2"));
        assert_non_null(reason);
        {
                _cleanup_free_ char *prefix = strdup_printf("%s/b.json: snp.max_vmpl", dir);
                assert_memory_equal(reason, prefix, strlen(prefix));
        }

        /* A duplicate after a reload is refused the same way. */
        reason = mfree_str(reason);
        test_dir_write(dir, "b.json", "{\"name\": \"a2\"}");
        assert_int_equal(policy_set_reload(&s, dir, &reason), -EEXIST);
        assert_ptr_equal(s, before);
        assert_non_null(reason);

        /* So is a directory that went away. */
        reason = mfree_str(reason);
        {
                _cleanup_free_ char *gone = strdup_printf("%s/gone", dir);
                assert_int_equal(policy_set_reload(&s, gone, &reason), -ENOENT);
                assert_ptr_equal(s, before);
        }
}

static void test_reload_swaps_and_refs_survive(void **state) {
        _cleanup_(policy_set_unrefp) PolicySet *s = NULL, *held = NULL;
        _cleanup_free_ char *reason = NULL;
        const char *dir = *state;
        const Policy *old_a;

        test_dir_write(dir, "a.json", "{\"name\": \"a\", \"description\": \"first\"}");
        s = load_ok(dir);

        /* A launch in flight takes its reference and the policy it appraises against. */
        held = policy_set_ref(s);
        assert_ptr_equal(held, s);
        old_a = policy_set_find(held, "a");
        assert_non_null(old_a);

        test_dir_write(dir, "a.json", "{\"name\": \"a\", \"description\": \"second\"}");
        test_dir_write(dir, "b.json", "{\"name\": \"b\"}");
        assert_int_equal(policy_set_reload(&s, dir, &reason), 0);
        assert_null(reason);
        assert_ptr_not_equal(s, held);
        assert_int_equal(policy_set_generation(s), 2);
        assert_int_equal(policy_set_size(s), 2);
        assert_string_equal(policy_set_find(s, "a")->description, "second");

        /* The old set, and what was found in it, are unchanged while the reference is held. */
        assert_int_equal(policy_set_generation(held), 1);
        assert_int_equal(policy_set_size(held), 1);
        assert_ptr_equal(policy_set_find(held, "a"), old_a);
        assert_string_equal(old_a->description, "first");
        assert_null(policy_set_find(held, "b"));

        /* A third load counts on; dropping the held reference frees the first set (ASan checks). */
        remove_at(dir, "b.json");
        assert_int_equal(policy_set_reload(&s, dir, &reason), 0);
        assert_int_equal(policy_set_generation(s), 3);
        assert_int_equal(policy_set_size(s), 1);
        held = policy_set_unref(held);
        assert_null(held);
        assert_non_null(policy_set_find(s, "a"));
}

static void test_reload_from_nothing(void **state) {
        _cleanup_(policy_set_unrefp) PolicySet *s = NULL;

        test_dir_write(*state, "a.json", "{\"name\": \"a\"}");
        assert_int_equal(policy_set_reload(&s, *state, NULL), 0);
        assert_non_null(s);
        assert_int_equal(policy_set_generation(s), 1);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, test_dir_setup, test_dir_teardown)
        const struct CMUnitTest tests[] = {
                T(test_load),
                T(test_empty_and_missing),
                T(test_refusals),
                T(test_bad_arguments),
                T(test_reload_broken_keeps_old),
                T(test_reload_swaps_and_refs_survive),
                T(test_reload_from_nothing),
        };
#undef T
        return cmocka_run_group_tests(tests, NULL, NULL);
}
