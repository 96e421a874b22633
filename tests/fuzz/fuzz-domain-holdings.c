/* SPDX-License-Identifier: Apache-2.0 */
/* What a running domain holds, from its libvirt XML (domain_holdings_parse(): cvmd's metadata,
 * or a foreign domain's pins, numatune, memory, hostdevs and CID): whatever parses goes into a
 * ledger, is queried, copied, compared and printed. */
#include <stdint.h>
#include <string.h>

#include "cvm/lifecycle.h"
#include "cvm/placement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(placement_ledger_done) PlacementLedger l = { .n_host_cells = 2 }, copy = { .n_host_cells = 2 };
        _cleanup_(placement_freep) Placement *p = NULL;
        json_object *j;

        if (domain_holdings_parse((const char *) data, size, &p) < 0)
                return 0;
        if (placement_ledger_add(&l, p) < 0 || placement_ledger_add(&copy, p) < 0)
                return 0;
        /* the ledger's answers are total: they never read past what was parsed */
        (void) placement_ledger_pages(&l, 0, 2048);
        (void) placement_ledger_ordinary_kib(&l, 1);
        (void) placement_ledger_cpu_held(&l, 1);
        (void) placement_ledger_free_cid(&l);
        for (size_t i = 0; i < p->n_devices; i++)
                if (!placement_ledger_device_holder(&l, &p->devices[i]))
                        __builtin_trap();
        if (!placement_ledger_equal(&l, &copy))
                __builtin_trap();
        j = placement_ledger_to_json(&l);
        json_object_put(j);
        return 0;
}
