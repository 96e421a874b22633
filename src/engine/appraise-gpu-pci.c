/* SPDX-License-Identifier: Apache-2.0 */
/* Where each passed-through GPU sits in the guest, from the domain XML the host defined: cvmd's
 * metadata records, per device, its host address and the guest address the guest firmware gives
 * it (launcher/domain-xml.c: the expander's busNr + 1 + the root port's slot on it), which is
 * what the guest's NVML reports for it. */
#include <string.h>

#include "cvm/appraise.h"
#include "cvm/domain-xml.h"
#include "cvm/util.h"

int appraise_gpu_addresses_from_xml(AppraiseConfig *c, const char *xml, const PciAddress *gpus, size_t n_gpus,
                                    char **ret_reason) {
        _cleanup_(cvmd_metadata_done) CvmdMetadata m = {};
        char bdf[16];
        int r;

        c->gpu_addresses_known = false;
        c->n_gpu_addresses = 0;
        if (n_gpus > PROTO_GPUS_MAX)
                return set_reason(ret_reason, -EINVAL, "%zu GPUs, at most %u can be attested", n_gpus, PROTO_GPUS_MAX);
        if (n_gpus == 0) {
                c->gpu_addresses_known = true;
                return 0;
        }
        r = cvmd_metadata_parse(xml, strlen(xml), &m);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_reason, -EINVAL, "the domain XML has no readable cvmd metadata: %s", strerror(-r));
        for (size_t i = 0; i < n_gpus; i++) {
                const CvmdDevice *d = NULL;

                for (size_t k = 0; k < m.n_devices && !d; k++)
                        if (pci_address_equal(&m.devices[k].host, &gpus[i]))
                                d = &m.devices[k];
                if (!d)
                        return set_reason(ret_reason, -EINVAL, "the domain XML records no device for GPU %s",
                                          pci_address_format(&gpus[i], bdf, sizeof(bdf)));
                /* without it the host could not tell which GPU report is which GPU */
                if (!d->has_guest)
                        return set_reason(ret_reason, -EINVAL,
                                          "the domain XML records no guest address for GPU %s (its NUMA cell is "
                                          "unknown, so it sits behind no expander whose bus numbers the host sets)",
                                          pci_address_format(&gpus[i], bdf, sizeof(bdf)));
                pci_address_format(&d->guest, c->gpu_addresses[i], sizeof(c->gpu_addresses[i]));
        }
        c->n_gpu_addresses = n_gpus;
        c->gpu_addresses_known = true;
        return 0;
}
