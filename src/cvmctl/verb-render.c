/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl render: the libvirt domain XML cvmd would start for a launch spec, offline from
 * capability files or against a live libvirt connection. README.md "cvmctl render". */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cvm/domain-xml.h"
#include "cvm/host-probe.h"
#include "cvm/launch-spec.h"
#include "cvm/lifecycle.h"
#include "cvm/placement.h"
#include "cvm/util.h"

DEFINE_CLEANUP(json_object *, json_object_put)

static void render_help(void) {
        printf("Usage: cvmctl render SPEC --host-caps CAPS.xml --domcaps DOMCAPS.xml [--gpu BDF@CELL]... [OPTIONS]\n"
               "       cvmctl render SPEC --connect URI [OPTIONS]\n"
               "\n"
               "Validates a launch spec, places it on the host's NUMA cells and prints the libvirt\n"
               "domain XML cvmd would start.\n"
               "\n"
               "  --host-caps FILE        host capabilities XML (virsh capabilities); offline\n"
               "  --domcaps FILE          domain capabilities XML (virsh domcapabilities); offline\n"
               "  --gpu BDF@CELL          a GPU of the spec and its host NUMA node; offline, repeatable\n"
               "  --connect URI           probe a live libvirt instead (e.g. qemu:///system)\n"
               "  --vsock-cid N           CID when the spec has none (offline default 3; live: the\n"
               "                          lowest CID no cvmd domain uses)\n"
               "  --housekeeping-cores N  cores per cell kept for the host (default 1)\n"
               "  --domain-type TYPE      kvm (default) or test (libvirt's test driver)\n"
               "  --qgs-path PATH         TDX quote generation socket (default " DOMAIN_XML_TDX_QGS_DEFAULT ")\n"
               "  --json                  print a JSON object with the XML, digest and placement\n"
               "  -h --help               this help\n"
               "\n"
               "Exit status: 0 rendered, 1 refused (invalid spec, TEE unsupported, not enough\n"
               "resources, libvirt failure), 2 usage error or unreadable file.\n");
}

typedef struct GpuArg {
        PciAddress address;
        int cell;
} GpuArg;

static int parse_gpu_arg(const char *s, GpuArg *ret) {
        const char *at = strchr(s, '@');
        char bdf[32];
        uint64_t cell = 0;
        const char *c;

        if (!at || (size_t) (at - s) >= sizeof(bdf))
                return -EINVAL;
        memcpy(bdf, s, (size_t) (at - s));
        bdf[at - s] = '\0';
        if (pci_address_parse(bdf, &ret->address) < 0)
                return -EINVAL;
        c = at + 1;
        if (!*c || strlen(c) > 4)
                return -EINVAL;
        for (; *c; c++) {
                if (*c < '0' || *c > '9')
                        return -EINVAL;
                cell = cell * 10 + (uint64_t) (*c - '0');
        }
        ret->cell = (int) cell;
        return 0;
}

static int parse_uint_arg(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        if (*s < '0' || *s > '9')
                return cli_usage_error("%s: '%s' is not a number", opt, s);
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end || v < min || v > max)
                return cli_usage_error("%s: '%s' is not a number from %" PRIu64 " to %" PRIu64, opt, s, min, max);
        *ret = v;
        return 0;
}

static int refuse(bool json, const char *what, const char *reason) {
        if (json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (o) {
                        json_object_object_add(o, "rendered", json_object_new_boolean(false));
                        json_object_object_add(o, "reason", json_object_new_string(reason ? reason : what));
                        (void) cli_print_json(o, true);
                }
        }
        return cli_error(EXIT_REJECTED, "%s: %s", what, reason ? reason : "failed");
}

static int load_xml_file(const char *path, char **ret, size_t *ret_size) {
        uint8_t *data;
        int r = cli_read_file(path, &data, ret_size);

        if (r < 0)
                return r;
        *ret = (char *) data;
        return 0;
}

int verb_render(int argc, char *argv[]) {
        enum { ARG_HOST_CAPS = 0x100, ARG_DOMCAPS, ARG_GPU, ARG_CONNECT, ARG_CID, ARG_HK, ARG_TYPE, ARG_QGS, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "host-caps", required_argument, NULL, ARG_HOST_CAPS },
                { "domcaps", required_argument, NULL, ARG_DOMCAPS },
                { "gpu", required_argument, NULL, ARG_GPU },
                { "connect", required_argument, NULL, ARG_CONNECT },
                { "vsock-cid", required_argument, NULL, ARG_CID },
                { "housekeeping-cores", required_argument, NULL, ARG_HK },
                { "domain-type", required_argument, NULL, ARG_TYPE },
                { "qgs-path", required_argument, NULL, ARG_QGS },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        const char *arg_host_caps = NULL, *arg_domcaps = NULL, *arg_connect = NULL, *arg_type = "kvm",
                   *arg_qgs = NULL;
        GpuArg arg_gpus[LAUNCH_SPEC_GPUS_MAX];
        size_t n_gpu_args = 0;
        uint64_t arg_cid = 0, arg_hk = 1;
        bool arg_json = false;
        _cleanup_(launch_spec_freep) LaunchSpec *spec = NULL;
        _cleanup_(host_probe_freep) HostProbe *host = NULL;
        _cleanup_(placement_freep) Placement *p = NULL;
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        _cleanup_(placement_ledger_done) PlacementLedger ledger = {};
        _cleanup_free_ char *reason = NULL, *xml = NULL, *caps = NULL, *domcaps = NULL;
        _cleanup_free_ uint8_t *spec_data = NULL;
        size_t spec_size, caps_size = 0, domcaps_size = 0;
        uint8_t digest[LAUNCH_DIGEST_SIZE];
        DomainXmlOptions xo = {};
        PlacementOptions po;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        render_help();
                        return EXIT_ACCEPTED;
                case ARG_HOST_CAPS:
                        arg_host_caps = optarg;
                        break;
                case ARG_DOMCAPS:
                        arg_domcaps = optarg;
                        break;
                case ARG_GPU:
                        if (n_gpu_args >= ELEMENTSOF(arg_gpus))
                                return cli_usage_error("--gpu: at most %u GPUs", LAUNCH_SPEC_GPUS_MAX);
                        if (parse_gpu_arg(optarg, &arg_gpus[n_gpu_args]) < 0)
                                return cli_usage_error("--gpu: '%s' is not BDF@CELL (for example 0000:41:00.0@1)",
                                                       optarg);
                        n_gpu_args++;
                        break;
                case ARG_CONNECT:
                        arg_connect = optarg;
                        break;
                case ARG_CID:
                        if (parse_uint_arg("--vsock-cid", optarg, LAUNCH_SPEC_VSOCK_CID_MIN, LAUNCH_SPEC_VSOCK_CID_MAX,
                                           &arg_cid) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_HK:
                        if (parse_uint_arg("--housekeeping-cores", optarg, 0, 64, &arg_hk) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_TYPE:
                        if (!streq(optarg, "kvm") && !streq(optarg, "test"))
                                return cli_usage_error("--domain-type: expected kvm or test, got '%s'", optarg);
                        arg_type = optarg;
                        break;
                case ARG_QGS:
                        if (optarg[0] != '/')
                                return cli_usage_error("--qgs-path: expected an absolute path");
                        arg_qgs = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                default:
                        return cli_usage_error("unknown option '%s'", argv[optind - 1]);
                }
        if (optind + 1 != argc)
                return cli_usage_error(optind >= argc ? "render: missing SPEC" : "render: one SPEC only");
        if (arg_connect && (arg_host_caps || arg_domcaps || n_gpu_args))
                return cli_usage_error("render: --connect cannot be combined with --host-caps, --domcaps or --gpu");
        if (!arg_connect && (!arg_host_caps || !arg_domcaps))
                return cli_usage_error("render: give --host-caps and --domcaps, or --connect URI");

        if (cli_read_file(argv[optind], &spec_data, &spec_size) < 0)
                return EXIT_USAGE;
        if (!arg_connect && (load_xml_file(arg_host_caps, &caps, &caps_size) < 0 ||
                             load_xml_file(arg_domcaps, &domcaps, &domcaps_size) < 0))
                return EXIT_USAGE;

        r = launch_spec_parse((const char *) spec_data, spec_size, &spec, &reason);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r < 0)
                return refuse(arg_json, "invalid launch spec", reason);

        if (arg_connect) {
                r = lifecycle_open(arg_connect, NULL, NULL, &l, &reason);
                if (r < 0)
                        return refuse(arg_json, "libvirt", reason);
                r = host_probe_libvirt(lifecycle_connection(l), spec->gpus, spec->n_gpus, NULL, &host, &reason);
                if (r < 0)
                        return refuse(arg_json, "host probe", reason);
                r = lifecycle_rebuild_ledger(l, &ledger, &reason);
                if (r < 0)
                        return refuse(arg_json, "cvmd's domains", reason);
                if (arg_cid == 0 && spec->vsock_cid == 0) {
                        uint32_t cid;
                        r = lifecycle_next_vsock_cid(l, &cid, &reason);
                        if (r < 0)
                                return refuse(arg_json, "cvmd's domains", reason);
                        arg_cid = cid;
                }
        } else {
                host = host_probe_new();
                if (!host)
                        return cli_error(EXIT_REJECTED, "out of memory");
                r = host_probe_parse_caps(host, caps, caps_size, &reason);
                if (r == -ENOMEM)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (r < 0)
                        return refuse(arg_json, arg_host_caps, reason);
                r = host_probe_parse_domcaps(host, domcaps, domcaps_size, &reason);
                if (r == -ENOMEM)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (r < 0)
                        return refuse(arg_json, arg_domcaps, reason);
                for (size_t i = 0; i < n_gpu_args; i++)
                        if (host_probe_set_gpu(host, &arg_gpus[i].address, arg_gpus[i].cell, -1, NULL) < 0)
                                return cli_error(EXIT_REJECTED, "out of memory");
                if (arg_cid == 0)
                        arg_cid = LAUNCH_SPEC_VSOCK_CID_MIN;
        }

        r = host_probe_tee_refusal(host, spec->tee, &reason);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (reason)
                return refuse(arg_json, "this host cannot run the spec", reason);

        po = (PlacementOptions) { .housekeeping_cores = (unsigned) arg_hk };
        r = placement_compute(spec, host, &ledger, &po, &p, &reason);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r < 0)
                return refuse(arg_json, "placement refused", reason);

        xo = (DomainXmlOptions) {
                .domain_type = arg_type,
                .arch = streq(arg_type, "test") ? "" : NULL,
                .machine = streq(arg_type, "test") ? "" : NULL,
                .qgs_path = arg_qgs,
                .vsock_cid = (uint32_t) arg_cid,
        };
        r = domain_xml_render(spec, host, p, &xo, &xml, &reason);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r < 0)
                return refuse(arg_json, "cannot render", reason);
        if (launch_spec_digest(spec, digest) < 0)
                return cli_error(EXIT_REJECTED, "cannot compute the launch digest");

        if (arg_json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                _cleanup_free_ char *hex = hex_encode(digest, LAUNCH_DIGEST_SIZE);
                json_object *pj = placement_to_json(p);
                if (!o || !hex || !pj) {
                        json_object_put(pj);
                        return cli_error(EXIT_REJECTED, "out of memory");
                }
                json_object_object_add(o, "rendered", json_object_new_boolean(true));
                json_object_object_add(o, "name", json_object_new_string(spec->name));
                json_object_object_add(o, "tee", json_object_new_string(launch_tee_to_string(spec->tee)));
                json_object_object_add(o, "launch_digest", json_object_new_string(hex));
                if (spec->tee == LAUNCH_TEE_SEV_SNP)
                        json_object_object_add(o, "snp_host_data",
                                               json_object_new_string_len(hex, 2 * LAUNCH_SNP_HOST_DATA_SIZE));
                else if (spec->tee == LAUNCH_TEE_TDX)
                        json_object_object_add(o, "tdx_mrconfigid", json_object_new_string(hex));
                json_object_object_add(o, "vsock_cid",
                                       json_object_new_int64(spec->vsock_cid ? spec->vsock_cid : (int64_t) arg_cid));
                json_object_object_add(o, "placement", pj);
                json_object_object_add(o, "xml", json_object_new_string(xml));
                if (cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the output");
        } else if (fputs(xml, stdout) < 0)
                return cli_error(EXIT_REJECTED, "cannot write the output");
        return EXIT_ACCEPTED;
}
