/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Signature checks that succeeded, kept so that the process does each one once: a
 * certificate's signature by its issuer (a chain link), a CRL's by its issuer, a signed
 * collateral document's by its signing certificate, a whole device chain's path validation.
 * The key names the kind of check (its profile: "snp-link" is RSASSA-PSS SHA-384 with names
 * chained, "tdx-link" ECDSA SHA-256, ...) and the SHA-256 of both parties' exact bytes, so a
 * result is only reused for the very same bytes under the very same rules. Each result holds
 * for a window, the signer's and the subject's common validity (a link verified at a time
 * stays verified until the earliest notAfter): a lookup at a time outside it is a miss and the
 * check runs again. Validity and revocation are still checked by every verification; only
 * successes are kept. Stored in the object cache (include/cvm/object-cache.h): bounded,
 * thread-safe. */

#include <stdbool.h>
#include <stdint.h>

/* SHA-256(kind ‖ 0 ‖ signer ‖ subject). */
void verified_cache_key(uint8_t ret[32], const char *kind, const uint8_t signer[32], const uint8_t subject[32]);
/* Whether the check with this key succeeded before, for a window that holds `at`. */
bool verified_cache_lookup(const uint8_t key[32], int64_t at);
/* Remembers a success valid from `from` to `until` (Unix seconds). */
void verified_cache_remember(const uint8_t key[32], int64_t from, int64_t until);
