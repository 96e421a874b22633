/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A data key wrapped under a file KEK, as `cvmctl key wrap` would store it: for the tests and
 * benches that launch through the real key store. Returns 0 or -1 (no cmocka: benches use it). */

#include <stdint.h>

/* Writes dir/kek.bin (0600, 32 fixed bytes) and the envelope of `kid` into keys_dir; the data key
 * is key[i] = 0x90 + i, 32 bytes. */
int key_fixture_wrap(const char *dir, const char *keys_dir, const char *kid);
