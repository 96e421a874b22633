/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The options that say where and how a launch is planned, shared by `render` and `launch` so
 * the two cannot drift: --host-caps, --domcaps, --gpu BDF@CELL, --nodedev-dir, --host-root,
 * --state-dir, --lock-timeout, --vsock-cid, --housekeeping-cores, --domain-type, --qgs-path. */

#include <getopt.h>

#include "cvm/launch-plan.h"
#include "cvm/launch-spec.h"

enum {
        PLAN_ARG_HOST_CAPS = 0x200,
        PLAN_ARG_DOMCAPS,
        PLAN_ARG_GPU,
        PLAN_ARG_CID,
        PLAN_ARG_HK,
        PLAN_ARG_TYPE,
        PLAN_ARG_QGS,
        PLAN_ARG_NODEDEV_DIR,
        PLAN_ARG_HOST_ROOT,
        PLAN_ARG_STATE_DIR,
        PLAN_ARG_LOCK_TIMEOUT,
};

#define PLAN_ARGS_OPTIONS                                                                 \
        { "host-caps", required_argument, NULL, PLAN_ARG_HOST_CAPS },                     \
                { "domcaps", required_argument, NULL, PLAN_ARG_DOMCAPS },                 \
                { "gpu", required_argument, NULL, PLAN_ARG_GPU },                         \
                { "vsock-cid", required_argument, NULL, PLAN_ARG_CID },                   \
                { "housekeeping-cores", required_argument, NULL, PLAN_ARG_HK },           \
                { "domain-type", required_argument, NULL, PLAN_ARG_TYPE },                \
                { "qgs-path", required_argument, NULL, PLAN_ARG_QGS },                    \
                { "nodedev-dir", required_argument, NULL, PLAN_ARG_NODEDEV_DIR },         \
                { "host-root", required_argument, NULL, PLAN_ARG_HOST_ROOT },             \
                { "state-dir", required_argument, NULL, PLAN_ARG_STATE_DIR },             \
                { "lock-timeout", required_argument, NULL, PLAN_ARG_LOCK_TIMEOUT }

#define PLAN_ARGS_HELP                                                                              \
        "  --host-caps FILE        host capabilities XML (virsh capabilities) instead of a live\n"  \
        "  --domcaps FILE          probe, with domain capabilities XML (virsh domcapabilities);\n"  \
        "                          also for libvirt's test driver, which reports no hugepage pools\n" \
        "  --gpu BDF@CELL          with --host-caps: a GPU of the spec and its host NUMA node\n"     \
        "  --nodedev-dir DIR       with --host-caps: node device XML of the spec's GPUs and\n"      \
        "                          NVSwitches and their IOMMU groups (DIR/pci_dddd_bb_ss_f.xml)\n"   \
        "  --host-root DIR         read the host's /sys and firmware descriptors under DIR\n"        \
        "                          (default /, not read with --host-caps unless given)\n"           \
        "  --state-dir DIR         console logs (DIR/console/NAME.log) and the host ledger lock\n"  \
        "                          (DIR/ledger.lock) (default $CVMD_STATE_DIR or /var/lib/cvmd)\n"  \
        "  --lock-timeout SEC      how long to wait for another launch's ledger lock (default 60)\n" \
        "  --vsock-cid N           CID when the spec has none (default: the lowest CID no cvmd\n"    \
        "                          domain uses; 3 offline)\n"                                        \
        "  --housekeeping-cores N  cores per cell kept for the host (default 1)\n"                   \
        "  --domain-type TYPE      kvm (default) or test (libvirt's test driver)\n"                  \
        "  --qgs-path PATH         TDX quote generation socket (default " DOMAIN_XML_TDX_QGS_DEFAULT ")\n"

typedef struct PlanArgs {
        const char *host_caps, *domcaps;
        LaunchGpuLocation gpus[LAUNCH_SPEC_GPUS_MAX + LAUNCH_SPEC_NVSWITCHES_MAX];
        LaunchPlanOptions o;
        char *host_caps_xml, *domcaps_xml;
} PlanArgs;

void plan_args_init(PlanArgs *a);
void plan_args_done(PlanArgs *a);
/* Handles one of PLAN_ARGS_OPTIONS: 1 when it was one, 0 when not, EXIT_USAGE on a bad value. */
int plan_args_option(void *args, int c, const char *arg);
/* After parsing: checks the options agree and reads the capability files. 0 or EXIT_USAGE. */
int plan_args_finish(PlanArgs *a);
