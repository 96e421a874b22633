/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The steps of keys_install() (install-keys.c), one file per target: install-file.c,
 * install-keyring.c, install-luks.c. Every target is installed in two phases so that a bundle
 * goes in all or nothing: stage (write, add or check everything where nothing of it is in use
 * yet, the step where almost every failure happens), then commit (one atomic step per key or
 * user: a rename, a keyring link, a volume activation), undone in reverse on a later failure. */

#include <stdbool.h>
#include <sys/types.h>

#include "agent.h"
#include "cvm/key-bundle.h"
#include "cvm/secure-file.h"

typedef struct InstallItem {
        const KeyBundleEntry *e;
        bool to_file, to_keyring, to_luks;
        /* file */
        uid_t file_uid;
        gid_t file_gid;
        mode_t file_mode;
        char tmp[SECURE_TMP_NAME_SIZE];    /* the staged copy, when staged */
        char backup[SECURE_TMP_NAME_SIZE]; /* a link to the file it replaced, when it did */
        bool staged, has_backup, committed, kept;
        /* keyring */
        uid_t ring_uid;
        gid_t ring_gid;
        /* LUKS */
        bool luks_already_open, luks_activated;
} InstallItem;

/* ---- files on a memory file system ---- */

/* Whether the swaps file (NULL: /proc/swaps) lists any active swap area. */
int swap_is_active(const char *swaps_path, bool *ret, char **ret_reason);
/* Opens the keys directory and refuses one that is not on tmpfs/ramfs, is not owned by the
 * agent's uid or is writable by group or others, or (unless allow_swap) any while swap is on. */
int install_dir_open(const AgentConfig *c, int *ret_dfd, char **ret_reason);
int install_file_stage(int dfd, InstallItem *it, char **ret_reason);
/* Renames the staged file into place (keeping a link to the file it replaces), or, when the
 * bundle does not replace and the key exists, leaves the old one and drops the staged copy. */
int install_file_commit(int dfd, InstallItem *it, bool replace, char **ret_reason);
/* Undoes stage and commit: the earlier file is back under its name, or no file is. */
void install_file_rollback(int dfd, InstallItem *it);
/* After every commit succeeded: drops the links to the replaced files. */
void install_file_finish(int dfd, InstallItem *it);

/* ---- keyrings ---- */

/* One user's keyring: a child process running as that user holds the staged keyring. */
typedef struct KeyringStage KeyringStage;
/* Builds, as uid:gid, a new keyring "cvmd" holding the items whose ring_uid is uid (as "user"
 * keys "cvmd:<kid>") and every key of the user's current "cvmd" keyring the bundle does not
 * replace; nothing in the user's keyring changes yet. */
int keyring_stage(uid_t uid, gid_t gid, InstallItem *items, size_t n, bool replace, KeyringStage **ret,
                  char **ret_reason);
/* Links the new keyring into the user's keyring, displacing the old one in one step. */
int keyring_commit(KeyringStage *s, char **ret_reason);
/* Puts the old keyring back (after a commit) or drops the staged one (before). */
void keyring_rollback(KeyringStage *s);
/* Ends the child; after a commit the new keyring stays. NULL-safe; returns NULL. */
KeyringStage *keyring_stage_free(KeyringStage *s);

/* ---- LUKS volumes ---- */

/* Checks that the key opens the volume's key slot without activating anything (works without
 * device-mapper); notes a volume already open under the item's name. */
int luks_stage(InstallItem *it, char **ret_reason);
/* Opens the volume under its dm name (nothing to do when it already was open). */
int luks_commit(InstallItem *it, char **ret_reason);
/* Closes a volume luks_commit() opened. */
void luks_rollback(InstallItem *it);
/* The dm name of an item: its metadata's, or "cvmd-<kid>"; buf of KEY_INSTALL_DM_NAME_MAX + 1. */
const char *luks_dm_name(const InstallItem *it, char *buf);
