/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper for tests/integration/test-softhsm.sh: unwraps one key envelope through the
 * library (kek_open + kek_unwrap, i.e. what cvmd does after an accepted appraisal) and writes
 * the key bytes to OUT (mode 0600) so the script can compare them; never to stdout or stderr.
 *
 *   kek-unwrap ENVELOPE OUT [KEK-URI]
 *
 * KEK-URI overrides the envelope's KEK reference, to unwrap with the same KEK held by another
 * provider (a file KEK imported into the token). Exit status: 0 done, 1 refused or failed. */
#include <stdio.h>
#include <string.h>

#include "cvm/kek.h"
#include "cvm/keystore.h"
#include "cvm/secret.h"
#include "cvm/util.h"

int main(int argc, char *argv[]) {
        _cleanup_(key_envelope_done) KeyEnvelope e = {};
        _cleanup_(secret_freep) Secret *key = NULL;
        _cleanup_(kek_freep) Kek *kek = NULL;
        _cleanup_free_ char *reason = NULL;
        int r;

        if (argc < 3 || argc > 4) {
                fprintf(stderr, "usage: kek-unwrap ENVELOPE OUT [KEK-URI]\n");
                return 2;
        }
        (void) secret_init();
        r = key_envelope_load(argv[1], &e, &reason);
        if (r < 0) {
                fprintf(stderr, "kek-unwrap: %s: %s\n", argv[1], reason ? reason : strerror(-r));
                return 1;
        }
        r = kek_open(argc == 4 ? argv[3] : e.kek, &kek, &reason);
        if (r < 0) {
                fprintf(stderr, "kek-unwrap: KEK refused: %s\n", reason ? reason : strerror(-r));
                return 1;
        }
        if (!streq(kek_alg(kek), e.alg)) {
                fprintf(stderr, "kek-unwrap: envelope alg %s, KEK alg %s\n", e.alg, kek_alg(kek));
                return 1;
        }
        r = kek_unwrap(kek, e.wrapped, e.wrapped_size, &key);
        if (r < 0) {
                fprintf(stderr, "kek-unwrap: unwrap failed: %s\n", strerror(-r));
                return 1;
        }
        r = write_file_atomic(argv[2], secret_data(key), secret_size(key), 0600);
        if (r < 0) {
                fprintf(stderr, "kek-unwrap: %s: %s\n", argv[2], strerror(-r));
                return 1;
        }
        return 0;
}
