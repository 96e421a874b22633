/* SPDX-License-Identifier: Apache-2.0 */
/* The NVIDIA GPU report parser (SPDM request + MEASUREMENTS response + opaque TLVs), the claims
 * and RIM ids built from it, the golden-list comparison, and the protected-PCIe topology rule over
 * a board of eight copies of the report (its SWITCH_PDI list). */
#include <stdint.h>

#include "cvm/gpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NvReport *r = calloc(1, sizeof(NvReport));
        char *reason = NULL, *a = NULL, *b = NULL;

        if (!r)
                return 0;
        if (nv_report_parse(data, size, r, &reason) >= 0) {
                NvGolden g = { .entries = calloc(1, sizeof(NvRimEntry)), .n_entries = 1 };
                NvMeasOutcome o = {};

                json_object_put(nv_report_claims(r));
                (void) nv_report_driver_rim_id(r, &a);
                (void) nv_report_vbios_rim_id(r, &b);
                if (g.entries) {
                        g.entries[0] = (NvRimEntry) { .index = 0, .active = true, .size = 48, .n_alternatives = 1 };
                        (void) nv_measure_golden(r, &g, &o);
                        nv_meas_outcome_done(&o);
                }
                free(g.entries);
                {
                        const NvReport *board[NV_PPCIE_GPUS];
                        Verdict v = {};

                        for (size_t i = 0; i < NV_PPCIE_GPUS; i++)
                                board[i] = r;
                        if (verdict_init(&v, "nvidia-gpu") >= 0) {
                                (void) nv_board_topology(board, NV_PPCIE_GPUS, 0, &v);
                                verdict_done(&v);
                        }
                }
        }
        free(reason);
        free(a);
        free(b);
        free(r);
        return 0;
}
