/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A temporary directory per cmocka test (its path in *state) and files written into it. */

int test_dir_setup(void **state);
int test_dir_teardown(void **state);
/* Writes dir/name, creating name's parent directory when name has one (e.g. "cvmd.conf.d/x.conf");
 * asserts on failure. */
void test_dir_write(const char *dir, const char *name, const char *text);
