/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The releaser key: a static X25519 key pair whose public half cvmd binds into every launch
 * digest (proto_launch_digest()) and whose private half seals every key release (HPKE auth
 * mode). A guest agent releases nothing to a host that cannot prove it holds the key bound at
 * its launch. cvmd keeps one in its state directory (releaser_key_open_state()); cvmctl takes one
 * with --releaser-key FILE, or makes an ephemeral one.
 *
 * The key file holds exactly the 32 raw bytes of the X25519 private key (any 32 random bytes
 * are one: `head -c 32 /dev/urandom`), readable by its owner only. The private key is read
 * straight into a Secret and never leaves one. */

#include <stdint.h>

#include "cvm/guest-proto.h"
#include "cvm/secret.h"

#define RELEASER_KEY_FILE "releaser.key"

typedef struct ReleaserKey {
        Secret *sk;                               /* X25519 private key, 32 bytes */
        uint8_t pk[PROTO_RELEASER_KEY_SIZE];      /* its public key */
} ReleaserKey;

void releaser_key_done(ReleaserKey *k);

/* A fresh key pair in memory (an ephemeral releaser: it can release only to a guest launched
 * bound to it, which no guest is unless the caller binds it). */
int releaser_key_generate(ReleaserKey *ret);
/* Reads a key file: a regular file of exactly 32 bytes that neither group nor others may read.
 * -EINVAL (or -EPERM for its mode) with a reason naming the file. */
int releaser_key_load(const char *path, ReleaserKey *ret, char **ret_reason);
/* cvmd's key in its state directory dir (RELEASER_KEY_FILE): loaded when present (it must also
 * be owned by us), else created: written under a random temporary name opened O_EXCL with mode
 * 0600, fsync'ed, renamed into place without replacing anything, and the directory fsync'ed.
 * Never rotated: every running VM is bound to it (a new key strands them all). */
int releaser_key_open_state(const char *dir, ReleaserKey *ret, char **ret_reason);
