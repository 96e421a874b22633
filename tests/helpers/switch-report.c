/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper for tests/fuzz/make-seeds-switch.sh: one signed NVSwitch report from a simulated
 * switch (cvmctl sim init --switches N writes DIR/gpu/switch<i>/), made by the simulator's own
 * code (switch_sim_report()), so the switch-report seeds are real-format evidence that owes
 * nothing to a real capture. The switch's chain is its chain.pem, beside it.
 *
 *   switch-report SWITCH-DIR NONCE-HEX
 *
 * NONCE-HEX is the requester's nonce (64 hex digits). Writes the report's bytes to stdout.
 * Exit status: 0 done, 1 failed, 2 usage. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cvm/switch-sim.h"
#include "cvm/util.h"

int main(int argc, char *argv[]) {
        _cleanup_(switch_sim_freep) SwitchSim *s = NULL;
        _cleanup_free_ uint8_t *report = NULL;
        uint8_t nonce[NV_NONCE_SIZE];
        size_t size;
        int r;

        if (argc != 3 || strlen(argv[2]) != 2 * NV_NONCE_SIZE || hex_decode_exact(argv[2], nonce, sizeof(nonce)) < 0) {
                fprintf(stderr, "usage: switch-report SWITCH-DIR NONCE-HEX (64 hex digits)\n");
                return 2;
        }
        r = switch_sim_load(argv[1], &s);
        if (r < 0) {
                fprintf(stderr, "switch-report: %s: not a simulated switch: %s\n", argv[1], strerror(-r));
                return 1;
        }
        r = switch_sim_report(s, nonce, &report, &size);
        if (r < 0) {
                fprintf(stderr, "switch-report: cannot make the report: %s\n", strerror(-r));
                return 1;
        }
        r = write_all(STDOUT_FILENO, report, size);
        if (r < 0) {
                fprintf(stderr, "switch-report: stdout: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
