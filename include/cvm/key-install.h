/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Where and how the guest agent installs one data key: the install metadata that travels with
 * the key, from its envelope in the key store (cvmctl key wrap --target ...) through the sealed
 * key bundle to cvm-agent. On the agent's side it is untrusted input: every field is checked
 * with key_install_validate() before it is used.
 *
 *   target DEFAULT  no metadata: the agent's own configuration (--keys-dir and/or --keyring-user)
 *   target FILE     <keys-dir>/<kid>, owned by owner:group (default: the agent's user and group,
 *                   root:root), mode (default 0400; never group/other-writable, never executable)
 *   target KEYRING  a "user" key "cvmd:<kid>" in owner's keyring (default: --keyring-user)
 *   target LUKS     the LUKS volume at device opened with the key as its passphrase (key file),
 *                   as the device-mapper name dm_name (default "cvmd-<kid>")
 *
 * Fields that do not belong to the target must be empty (0 for mode). */

#include <stdbool.h>
#include <stdint.h>

#define KEY_INSTALL_NAME_MAX 32u     /* a user or group name */
#define KEY_INSTALL_DEVICE_MAX 255u  /* the LUKS device path */
#define KEY_INSTALL_DM_NAME_MAX 127u /* device-mapper names are at most 127 characters */
#define KEY_INSTALL_MODE_DEFAULT 0400u

typedef enum KeyTarget {
        KEY_TARGET_DEFAULT,
        KEY_TARGET_FILE,
        KEY_TARGET_KEYRING,
        KEY_TARGET_LUKS,
        _KEY_TARGET_MAX,
} KeyTarget;

typedef struct KeyInstall {
        KeyTarget target;
        char owner[KEY_INSTALL_NAME_MAX + 1]; /* FILE: the file's owner; KEYRING: the keyring's user */
        char group[KEY_INSTALL_NAME_MAX + 1]; /* FILE */
        uint16_t mode;                        /* FILE; 0: KEY_INSTALL_MODE_DEFAULT */
        char device[KEY_INSTALL_DEVICE_MAX + 1];   /* LUKS */
        char dm_name[KEY_INSTALL_DM_NAME_MAX + 1]; /* LUKS; empty: "cvmd-<kid>" */
} KeyInstall;

/* "default", "file", "keyring", "luks"; NULL for anything else. */
const char *key_target_to_string(KeyTarget t);
/* The target named s (not "default": that is the absence of metadata), or -EINVAL. */
int key_target_from_string(const char *s);

/* A user or group name: 1 to KEY_INSTALL_NAME_MAX characters A-Z a-z 0-9 _ . -, starting with a
 * letter, a digit or '_'. */
bool key_install_name_is_valid(const char *s);
/* A mode a key file may have: permission bits only, no execute bit, not group/other-writable. */
bool key_install_mode_is_valid(unsigned mode);
/* An absolute path under /dev/ of printable ASCII without "/../" or "/./" components. */
bool key_install_device_is_valid(const char *s);
/* 1 to KEY_INSTALL_DM_NAME_MAX characters A-Z a-z 0-9 _ . - +, not "." or "..". */
bool key_install_dm_name_is_valid(const char *s);

/* Checks every field against the target; -EINVAL with a reason naming the field. */
int key_install_validate(const KeyInstall *k, char **ret_reason);
/* The file mode to use: k->mode, or the default. */
unsigned key_install_file_mode(const KeyInstall *k);
