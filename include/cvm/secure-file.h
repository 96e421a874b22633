/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Writing secrets into a directory without trusting its other users: a file is created under a
 * random temporary name with O_CREAT|O_EXCL|O_NOFOLLOW (a name planted in advance, or a symlink,
 * makes the creation fail rather than write through it), its owner and mode are set on the
 * descriptor before a byte is written, it is fsync'ed, and only then renamed to its final name.
 * The key store (src/keys/keystore.c) and the guest agent's key files use it. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ".cvmd-tmp-" + 16 hex digits + NUL */
#define SECURE_TMP_NAME_SIZE 27u

/* Refuses a directory (by descriptor, as opened with O_DIRECTORY) that is not owned by uid or that
 * group or others may write to: -EPERM with a reason naming path. */
int secure_dir_check(int dirfd, const char *path, uid_t uid, char **ret_reason);

/* Creates and fills a file with a fresh random name in dirfd: owner uid:gid (no change when
 * uid/gid is (uid_t) -1 / (gid_t) -1) and mode set through the descriptor, written and fsync'ed.
 * Writes its name to ret_name. On failure nothing is left behind. */
int secure_file_stage(int dirfd, const void *p, size_t n, uid_t uid, gid_t gid, mode_t mode,
                      char ret_name[static SECURE_TMP_NAME_SIZE]);

/* Writes dir/name atomically through secure_file_stage() with the caller's uid and gid: renamed
 * over an existing file when replace is true, else -EEXIST when name exists. The directory is
 * checked with secure_dir_check() first and fsync'ed after the rename. */
int secure_file_write(const char *dir, const char *name, const void *p, size_t n, mode_t mode, bool replace,
                      char **ret_reason);
