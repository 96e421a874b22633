/* SPDX-License-Identifier: Apache-2.0 */
/* The planning options of `render` and `launch`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plan-args.h"

void plan_args_init(PlanArgs *a) {
        const char *state = getenv("CVMD_STATE_DIR");

        *a = (PlanArgs) { .o = { .housekeeping_cores = 1 } };
        a->o.gpus = a->gpus;
        a->o.state_dir = state && state[0] == '/' ? state : NULL;
}

void plan_args_done(PlanArgs *a) {
        free(a->host_caps_xml);
        free(a->domcaps_xml);
}

int plan_args_option(void *args, int c, const char *arg) {
        PlanArgs *a = args;
        uint64_t v;

        switch (c) {
        case PLAN_ARG_HOST_CAPS:
                a->host_caps = arg;
                return 1;
        case PLAN_ARG_DOMCAPS:
                a->domcaps = arg;
                return 1;
        case PLAN_ARG_GPU:
                if (a->o.n_gpus >= ELEMENTSOF(a->gpus))
                        return cli_usage_error("--gpu: at most %u GPUs", LAUNCH_SPEC_GPUS_MAX);
                if (launch_gpu_location_parse(arg, &a->gpus[a->o.n_gpus]) < 0)
                        return cli_usage_error("--gpu: '%s' is not BDF@CELL (for example 0000:41:00.0@1)", arg);
                a->o.n_gpus++;
                return 1;
        case PLAN_ARG_CID:
                if (cli_parse_uint("--vsock-cid", arg, LAUNCH_SPEC_VSOCK_CID_MIN, LAUNCH_SPEC_VSOCK_CID_MAX, &v) != 0)
                        return EXIT_USAGE;
                a->o.vsock_cid = (uint32_t) v;
                return 1;
        case PLAN_ARG_HK:
                if (cli_parse_uint("--housekeeping-cores", arg, 0, 64, &v) != 0)
                        return EXIT_USAGE;
                a->o.housekeeping_cores = (unsigned) v;
                return 1;
        case PLAN_ARG_TYPE:
                if (!streq(arg, "kvm") && !streq(arg, "test"))
                        return cli_usage_error("--domain-type: expected kvm or test, got '%s'", arg);
                a->o.domain_type = arg;
                return 1;
        case PLAN_ARG_QGS:
                if (arg[0] != '/')
                        return cli_usage_error("--qgs-path: expected an absolute path");
                a->o.qgs_path = arg;
                return 1;
        case PLAN_ARG_NODEDEV_DIR:
                a->o.nodedev_dir = arg;
                return 1;
        case PLAN_ARG_HOST_ROOT:
                if (arg[0] != '/')
                        return cli_usage_error("--host-root: expected an absolute path");
                a->o.host_root = arg;
                return 1;
        case PLAN_ARG_STATE_DIR:
                if (arg[0] != '/')
                        return cli_usage_error("--state-dir: expected an absolute path");
                a->o.state_dir = arg;
                return 1;
        case PLAN_ARG_LOCK_TIMEOUT:
                if (cli_parse_uint("--lock-timeout", arg, 1, 3600, &v) != 0)
                        return EXIT_USAGE;
                a->o.ledger_lock_timeout_sec = (unsigned) v;
                return 1;
        default:
                return 0;
        }
}

static int read_xml(const char *path, char **ret, size_t *ret_size) {
        uint8_t *data;

        if (cli_read_file(path, &data, ret_size) < 0)
                return EXIT_USAGE;
        *ret = (char *) data;
        return 0;
}

int plan_args_finish(PlanArgs *a) {
        if (!a->host_caps != !a->domcaps)
                return cli_usage_error("--host-caps and --domcaps go together");
        if (a->o.n_gpus && !a->host_caps)
                return cli_usage_error("--gpu places GPUs given with --host-caps; a live probe finds them itself");
        if (a->o.nodedev_dir && !a->host_caps)
                return cli_usage_error("--nodedev-dir goes with --host-caps; a live probe asks libvirt");
        if (!a->host_caps)
                return 0;
        if (read_xml(a->host_caps, &a->host_caps_xml, &a->o.host_caps_size) != 0 ||
            read_xml(a->domcaps, &a->domcaps_xml, &a->o.domcaps_size) != 0)
                return EXIT_USAGE;
        a->o.host_caps_xml = a->host_caps_xml;
        a->o.domcaps_xml = a->domcaps_xml;
        return 0;
}
