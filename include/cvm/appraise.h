/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The appraisal the host runs on a guest's Evidence: the TEE verifier with the policy's trust
 * anchors, the bindings (REPORT_DATA from the nonce and the guest's key, each GPU's nonce, the
 * launch digest in HOST_DATA), the GPU count, then the policy. Used by the exchange. */

#include <stdint.h>

#include "cvm/exchange.h"
#include "cvm/policy.h"

typedef struct AppraiseConfig {
        const Policy *policy; /* required: no policy, no keys */
        int64_t at;           /* verification time; 0 = now */
        bool has_launch_digest;
        uint8_t launch_digest[48]; /* SNP HOST_DATA is its first 32 bytes; TDX MRCONFIGID all 48 */
        /* the SNP MEASUREMENT or TDX MRTD the launch predicted from the files it booted
         * (launch-predict.h), for a policy that says "predicted"; none: such a policy refuses */
        bool has_predicted;
        uint8_t predicted[48];
        struct TdxCollateral *tdx_collateral; /* TDX: an explicit bundle (pcs_collateral_load_dir()),
                                               * used instead of the provider's; NULL: the provider's */
        struct Collateral *collateral; /* the host's collateral provider (collateral.h): the SNP
                                        * certificates the guest did not send and the host's CRL,
                                        * the TDX bundle. NULL: none, so an SNP chain comes from
                                        * the guest alone without a CRL, and TDX needs tdx_collateral */
        const struct NvGolden *gpu_golden; /* GPUs: the golden measurements (nv_golden_parse()); NULL: the
                                            * RIMs from gpu_source, or, without it, the measurements are not
                                            * checked, which the policy's default gpu.require_measurements
                                            * refuses */
        /* GPUs: RIMs when there is no golden list, and OCSP when the policy requires it
         * (gpu.require_ocsp), from the host's collateral provider (collateral_gpu_source(): in
         * its event mode a fetch makes the appraisal answer -EINPROGRESS); NULL: neither */
        const struct NvSource *gpu_source;
        /* GPUs: the guest PCI address of each GPU the domain passes through (a launch knows them
         * from its domain XML: appraise_gpu_addresses_from_xml()); each GPU report must claim a
         * different one of them. Not known (cvmctl attest-guest): the check is skipped. */
        bool gpu_addresses_known;
        size_t n_gpu_addresses;
        char gpu_addresses[PROTO_GPUS_MAX][PROTO_PCI_ADDRESS_SIZE];
        unsigned gpu_switches; /* NVSwitches passed through: each attested with the GPUs (appraise-switch.c) */
} AppraiseConfig;

struct PciAddress;

/* Fills c's GPU addresses from the domain XML the host defined: for each of the n_gpus host
 * addresses, in order, the guest address cvmd's metadata records for that device (the address
 * the guest firmware gives it). -EINVAL with a reason when a GPU has none (the host then cannot
 * tell which report is which GPU: the launch is refused), -ENOMEM. */
int appraise_gpu_addresses_from_xml(AppraiseConfig *c, const char *xml, const struct PciAddress *gpus, size_t n_gpus,
                                    char **ret_reason);

/* An ExchangeHost.appraise callback; userdata is an AppraiseConfig. Returns 0 with the verdict
 * in v, -ENOMEM, or -EINPROGRESS when the provider (in its event mode) is fetching collateral
 * this evidence needs: no verdict then; the caller appraises fresh evidence once it is in. */
int appraise_evidence(void *userdata, const ExchangeEvidence *e, Verdict *v);
