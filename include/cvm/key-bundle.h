/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The data-key bundle the host seals to the guest (inside the HPKE ciphertext of key_release),
 * built and read only inside Secrets. Version 2:
 *
 *   "CVMK" | u8 version (2) | u8 flags | u8 count
 *   per key: u8 kid length | kid | u8 target | u8 owner length | owner | u8 group length | group |
 *            u16 mode | u8 device length | device | u8 dm-name length | dm name |
 *            u16 key length | key
 *
 * (all integers big-endian). flags bit 0, KEY_BUNDLE_REPLACE: keys already installed under the
 * same IDs are replaced; without it they are left as they are. The other bits must be 0. The
 * install metadata is that of cvm/key-install.h; IDs follow key_id_is_valid().
 *
 * The limits are the same on both sides: the host refuses to build (and checks, before anything
 * is released, with key_bundle_check_keys()) what the agent would refuse to open. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/key-install.h"
#include "cvm/keystore.h"
#include "cvm/secret.h"

#define KEY_BUNDLE_MAGIC "CVMK"
#define KEY_BUNDLE_VERSION 2u
#define KEY_BUNDLE_REPLACE 0x01u
#define KEY_BUNDLE_MAX_KEYS 64u
#define KEY_BUNDLE_KEY_MAX 4096u /* KEYWRAP_KEY_MAX: the largest key the key store holds */
/* The key_release ciphertext limit of the guest protocol, and what of it the bundle may use:
 * the ciphertext is the bundle plus AES-256-GCM's 16-byte tag. */
#define KEY_BUNDLE_SEALED_MAX (256u * 1024u)
#define KEY_BUNDLE_SIZE_MAX (KEY_BUNDLE_SEALED_MAX - 16u)

/* A bundle with no keys, flags KEY_BUNDLE_REPLACE. */
int key_bundle_new(Secret **ret);
/* Sets or clears KEY_BUNDLE_REPLACE. */
void key_bundle_set_replace(Secret *bundle, bool replace);
/* Appends one key with its install metadata (NULL: none, KEY_TARGET_DEFAULT). -EINVAL with a
 * reason for an invalid ID or metadata, a duplicate ID, a key of 0 or over KEY_BUNDLE_KEY_MAX
 * bytes; -E2BIG when the bundle would hold more than KEY_BUNDLE_MAX_KEYS keys or
 * KEY_BUNDLE_SIZE_MAX bytes. The bundle is unchanged on failure. */
int key_bundle_add_install(Secret **bundle, const char *kid, const KeyInstall *install, const Secret *key,
                           char **ret_reason);
int key_bundle_add(Secret **bundle, const char *kid, const Secret *key);

/* The size one key takes in the bundle. */
size_t key_bundle_record_size(const char *kid, const KeyInstall *install, size_t key_size);
/* What the host checks before it releases anything (at launch-check time, and again when it
 * builds the bundle): the IDs are valid and distinct, each is in the key store at keys_dir, and
 * the bundle of their keys (counted at their padded length) fits the limits. -EINVAL, -ENOENT
 * or -E2BIG with a reason naming the key. */
int key_bundle_check_keys(const char *keys_dir, char *const *kids, size_t n, char **ret_reason);

typedef struct KeyBundleEntry {
        char kid[KEY_ID_MAX + 1];
        KeyInstall install;
        const uint8_t *key; /* points into the bundle's Secret: do not keep it past that */
        size_t key_size;
} KeyBundleEntry;

typedef struct KeyBundle {
        bool replace;
        size_t n;
        KeyBundleEntry entries[KEY_BUNDLE_MAX_KEYS];
} KeyBundle;

/* Parses a whole bundle (untrusted: bounded reads, every field checked, duplicates refused)
 * before anything is done with any of its keys. -EBADMSG with a reason naming the key and the
 * field; -EPROTONOSUPPORT for another version. *ret is freed with free(). */
int key_bundle_parse(const Secret *bundle, KeyBundle **ret, char **ret_reason);
