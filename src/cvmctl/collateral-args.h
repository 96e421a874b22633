/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The host collateral options of the verbs that appraise a guest (launch, attest-guest):
 * --offline, --cache, --kds-url, --pccs-url, --nvidia-rim-url, --nvidia-ocsp-url and the appraisal's --at, parsed in one place into a CollateralConfig for
 * the host's collateral provider (include/cvm/collateral.h). */

#include <getopt.h>

#include "cvm/collateral.h"

enum {
        COLLATERAL_ARG_OFFLINE = 0x380,
        COLLATERAL_ARG_CACHE,
        COLLATERAL_ARG_KDS_URL,
        COLLATERAL_ARG_PCCS_URL,
        COLLATERAL_ARG_AT,
        COLLATERAL_ARG_NVIDIA_RIM_URL,
        COLLATERAL_ARG_NVIDIA_OCSP_URL,
};

#define COLLATERAL_ARGS_OPTIONS                                                        \
        { "offline", no_argument, NULL, COLLATERAL_ARG_OFFLINE },                      \
                { "cache", required_argument, NULL, COLLATERAL_ARG_CACHE },            \
                { "kds-url", required_argument, NULL, COLLATERAL_ARG_KDS_URL },        \
                { "pccs-url", required_argument, NULL, COLLATERAL_ARG_PCCS_URL },      \
                { "at", required_argument, NULL, COLLATERAL_ARG_AT },                  \
                { "nvidia-rim-url", required_argument, NULL, COLLATERAL_ARG_NVIDIA_RIM_URL }, \
                { "nvidia-ocsp-url", required_argument, NULL, COLLATERAL_ARG_NVIDIA_OCSP_URL }

#define COLLATERAL_ARGS_HELP                                                                             \
        "  --offline               collateral from the cache only: never contact AMD KDS, Intel PCS\n" \
        "                          or NVIDIA's RIM service and OCSP responder\n"                      \
        "  --cache DIR             collateral cache (default $CVM_CACHE_DIR, /var/cache/cvmd as root,\n" \
        "                          else ~/.cache/cvmd)\n"                                                \
        "  --kds-url URL           AMD KDS base URL (default https://kdsintf.amd.com)\n"                \
        "  --pccs-url URL          Intel PCCS to fetch TDX collateral from (default Intel PCS)\n"       \
        "  --nvidia-rim-url URL    NVIDIA RIM service for the GPUs' RIMs (default\n"                     \
        "                          https://rim.attestation.nvidia.com)\n"                              \
        "  --nvidia-ocsp-url URL   NVIDIA OCSP responder (default https://ocsp.ndis.nvidia.com)\n"      \
        "  --at TIME               appraise as at this time, RFC 3339 (default: now)\n"

/* config->progress is cli_progress; the rest is what the options say. */
void collateral_args_init(CollateralConfig *config);
/* Handles one of COLLATERAL_ARGS_OPTIONS (--at into *at, the appraisal's time; 0 is now): 1 when
 * it was one, 0 when not, EXIT_USAGE on a bad value. */
int collateral_args_option(CollateralConfig *config, int64_t *at, int c, const char *arg);
