/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cvmctl collateral fetch gpu: the NVIDIA collateral a board's evidence needs, into the host's
 * collateral cache through its provider (collateral.h), as a launch would fetch it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct GpuFetchArgs {
        const char *cache;
        const char *rim_url, *ocsp_url; /* NULL: NVIDIA's */
        char *const *reports;
        const char *const *chains; /* one per report */
        size_t n;
        const char *const *switch_chains; /* NVSwitch chains: OCSP answers only */
        size_t n_switch_chains;
        int64_t at;
        bool json;
} GpuFetchArgs;

/* The RIMs each report names, and OCSP answers for certificates 1-3 of each chain (GPUs' and
 * NVSwitches') and for the RIMs' signer chains. Exit status: 0 all in the cache and current, 1 any could not be had, 2 an
 * unreadable file. */
int collateral_fetch_gpu(const GpuFetchArgs *a);
