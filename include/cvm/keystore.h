/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Wrapped data keys at rest. Each key is one JSON document, the envelope:
 *
 *   {"kid": "train-2025-01", "kek": "pkcs11:token=cvmd;object=kek?pin-source=/etc/cvmd/pin",
 *    "alg": "A256KWP", "wrapped": "<base64 of the RFC 5649 wrapped key>",
 *    "install": {"target": "file", "owner": "trainer", "group": "trainer", "mode": "0440"}}
 *
 * kid: the key-ID grammar (KEY_ID_GRAMMAR), the one grammar of key IDs everywhere (launch specs,
 *      cvmctl key, the key bundle, the agent); it names the file.
 * kek: the KEK reference, a URI for kek_open() (file:, cred:, pkcs11:), at most KEK_URI_MAX
 *      bytes; never holds a PIN value.
 * alg: "A256KWP" (or "A128KWP" / "A192KWP" for file KEKs of 16 / 24 bytes): RFC 5649.
 * wrapped: standard padded base64 (RFC 4648 §4, no whitespace) of 16..KEYWRAP_WRAPPED_MAX bytes,
 *      a multiple of 8.
 * install (optional): how the guest agent installs the key (cvm/key-install.h), an object of
 *      strings: "target" ("file" when absent, "keyring", "luks"); file: "owner", "group", "mode"
 *      (octal, e.g. "0440"); keyring: "user"; luks: "device" (required), "name". Without it the
 *      agent installs the key as it is configured to (KEY_TARGET_DEFAULT).
 *
 * Parsing is strict: every member is required, unknown and duplicate keys, wrong types, bad
 * base64, bad lengths, trailing data and documents over KEY_ENVELOPE_MAX are errors whose reason
 * names the field. The key directory (KEYSTORE_DIR_DEFAULT, overridable) holds <kid>.json files,
 * written with mode 0600 through a random temporary name (cvm/secure-file.h); a directory owned
 * by another user or writable by group or others is refused. Nothing here logs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm/key-install.h"
#include "cvm/macro.h"

#define KEYSTORE_DIR_DEFAULT "/var/lib/cvmd/keys"
#define KEY_ID_MAX 64u
#define KEY_ID_GRAMMAR "1 to 64 characters A-Z a-z 0-9 . _ -, starting with a letter or digit"
#define KEK_URI_MAX 1024u
#define KEY_ENVELOPE_MAX (16u * 1024u)

typedef struct KeyEnvelope {
        char *kid;
        char *kek;
        char *alg;
        uint8_t *wrapped;
        size_t wrapped_size;
        KeyInstall install; /* target KEY_TARGET_DEFAULT: no "install" member */
} KeyEnvelope;

void key_envelope_done(KeyEnvelope *e);

/* THE key-ID grammar: 1 to KEY_ID_MAX characters A-Z a-z 0-9 . _ -, the first a letter or a
 * digit. An ID names files and keyring keys, so it never holds '/' or ':' and never starts with
 * '.' or '-'. */
bool key_id_is_valid(const char *kid);

/* Parses a document of size bytes (no NUL needed). On error *ret is untouched and *ret_reason
 * (when not NULL) says what is wrong, e.g. "wrapped: not valid base64". -EINVAL for a
 * malformed envelope, -EFBIG when over KEY_ENVELOPE_MAX, -ENOMEM. */
int key_envelope_parse(const char *json, size_t size, KeyEnvelope *ret, char **ret_reason);
/* The document, pretty-printed with a trailing newline. Validates e first (-EINVAL). */
int key_envelope_format(const KeyEnvelope *e, char **ret);
/* Reads and parses a file (at most KEY_ENVELOPE_MAX bytes). */
int key_envelope_load(const char *path, KeyEnvelope *ret, char **ret_reason);

/* The key directory to use: dir when given, else $CVMD_KEYS_DIR when set, else
 * KEYSTORE_DIR_DEFAULT. */
const char *keystore_dir(const char *dir);
/* "<dir>/<kid>.json"; -EINVAL for an invalid kid. */
int keystore_path(const char *dir, const char *kid, char **ret);
/* Writes <dir>/<kid>.json atomically (mode 0600), creating dir (0700) when missing. -EEXIST
 * when the file exists and replace is false; -EPERM when dir is owned by another user or is
 * group/other-writable (with ret_reason). */
int keystore_write_full(const char *dir, const KeyEnvelope *e, bool replace, char **ret_reason);
int keystore_write(const char *dir, const KeyEnvelope *e, bool replace);
/* Loads <dir>/<kid>.json; the envelope's kid must equal the file name's. */
int keystore_read(const char *dir, const char *kid, KeyEnvelope *ret, char **ret_reason);
/* The kids of every <kid>.json in dir with a valid name, sorted; a missing dir is empty. */
int keystore_list(const char *dir, char ***ret_kids, size_t *ret_n);
void keystore_list_free(char **kids, size_t n);
