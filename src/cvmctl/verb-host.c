/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl host: what this host offers confidential guests (TEE support and why not, NUMA cells,
 * CPUs, hugepages, GPUs). README.md "cvmctl host". */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cvm/cleanup.h"
#include "cvm/host-probe.h"
#include "cvm/lifecycle.h"
#include "cvm/placement.h"
#include "cvm/util.h"

static void host_help(void) {
        printf("Usage: cvmctl host [--connect URI] [--gpu BDF]... [--host-root DIR] [--json]\n"
               "       cvmctl host --host-caps CAPS.xml [--domcaps DOMCAPS.xml] [--nodedev-dir DIR --gpu BDF]...\n"
               "                   [--host-root DIR] [--json]\n"
               "\n"
               "Shows what this host offers confidential guests: SEV-SNP and TDX support (and why\n"
               "not), NUMA cells with their CPUs, hugepages and ordinary memory, VFIO's DMA mapping\n"
               "limit, and each device's locality, driver and IOMMU group.\n"
               "\n"
               "  --connect URI     libvirt URI (default: libvirt's default, usually qemu:///system)\n"
               "  --gpu BDF         also probe this PCI device (NUMA node, IOMMU group and its devices'\n"
               "                    drivers); repeatable\n"
               "  --host-caps FILE  read host capabilities XML instead of connecting\n"
               "  --domcaps FILE    read domain capabilities XML (with --host-caps)\n"
               "  --nodedev-dir DIR with --host-caps: node device XML files (DIR/pci_dddd_bb_ss_f.xml)\n"
               "  --host-root DIR   read the host's /sys and firmware descriptors under DIR (default /\n"
               "                    when connected; not read with --host-caps unless given)\n"
               "  --json            print JSON\n"
               "  -h --help         this help\n"
               "\n"
               "Exit status: 0 shown, 1 libvirt or probe failure, 2 usage error or unreadable file.\n");
}

static void print_text(const HostProbe *h) {
        char v[32];

        if (h->libvirt_version)
                snprintf(v, sizeof(v), "%lu.%lu.%lu", h->libvirt_version / 1000000, h->libvirt_version / 1000 % 1000,
                         h->libvirt_version % 1000);
        else
                snprintf(v, sizeof(v), "unknown");
        printf("libvirt:     %s%s%s%s\n", v, h->driver_name ? " (driver " : "", h->driver_name ? h->driver_name : "",
               h->driver_name ? ")" : "");
        if (h->qemu_version)
                printf("QEMU:        %lu.%lu.%lu\n", h->qemu_version / 1000000, h->qemu_version / 1000 % 1000,
                       h->qemu_version % 1000);
        if (!h->have_domcaps)
                printf("domcaps:     unavailable: %s\n", h->domcaps_error ? h->domcaps_error : "not given");
        else if (h->machine)
                printf("machine:     %s\n", h->machine);
        for (CvmTee t = 0; t < _CVM_TEE_MAX; t++) {
                _cleanup_free_ char *why = NULL;
                if (host_probe_tee_refusal(h, t, &why) < 0)
                        continue;
                char label[16];
                snprintf(label, sizeof(label), "%s:", cvm_tee_to_string(t));
                printf("%-12s %s%s\n", label, why ? "no: " : "yes",
                       why ? why : (t == CVM_TEE_NONE ? " (development only)" : ""));
        }
        if (h->have_cbitpos)
                printf("SEV:         cbitpos %u, reducedPhysBits %u\n", h->cbitpos, h->reduced_phys_bits);
        for (size_t i = 0; i < h->n_firmware; i++)
                printf("%s %s\n", i == 0 ? "firmware:   " : "            ", h->firmware[i]);
        printf("NUMA cells:  %zu\n", h->n_cells);
        for (size_t i = 0; i < h->n_cells; i++) {
                const HostCell *c = &h->cells[i];
                _cleanup_free_ unsigned *ids = calloc(c->n_cpus ? c->n_cpus : 1, sizeof(unsigned));
                _cleanup_free_ char *set = NULL;
                size_t cores = 0;

                if (!ids)
                        return;
                for (size_t k = 0; k < c->n_cpus; k++) {
                        ids[k] = c->cpus[k].id;
                        if (c->cpus[k].siblings[0] == c->cpus[k].id)
                                cores++;
                }
                set = cpuset_format(ids, c->n_cpus);
                printf("  cell %u: CPUs %s (%zu CPUs, %zu cores), memory %" PRIu64 " MiB\n", c->id, set ? set : "?",
                       c->n_cpus, cores, c->memory_kib / 1024);
                printf("          2 MiB pages %" PRIu64 " free of %" PRIu64 ", 1 GiB pages %" PRIu64 " free of %" PRIu64 "\n",
                       c->pages_free[HOST_PAGE_2M], c->pages_total[HOST_PAGE_2M], c->pages_free[HOST_PAGE_1G],
                       c->pages_total[HOST_PAGE_1G]);
                printf("          ordinary memory %" PRIu64 " MiB free of %" PRIu64 " MiB (private memory of SEV-SNP/TDX guests)\n",
                       c->ordinary_free_kib / 1024, c->ordinary_total_kib / 1024);
        }
        if (h->n_gpus)
                printf("GPUs:\n");
        for (size_t i = 0; i < h->n_gpus; i++) {
                const HostGpu *g = &h->gpus[i];
                char bdf[16];
                pci_address_format(&g->address, bdf, sizeof(bdf));
                if (!g->found) {
                        printf("  %s: not found\n", bdf);
                        continue;
                }
                printf("  %s: NUMA node ", bdf);
                g->numa_node >= 0 ? printf("%d", g->numa_node) : printf("unknown");
                printf(", IOMMU group ");
                g->iommu_group >= 0 ? printf("%d", g->iommu_group) : printf("unknown");
                printf(", driver %s\n", g->driver ? g->driver : "none");
                for (size_t k = 0; k < g->n_group; k++) {
                        char m[16];
                        printf("    group member %s: driver %s\n", pci_address_format(&g->group[k].address, m, sizeof(m)),
                               !g->group[k].driver_known ? "unknown" : g->group[k].driver ? g->group[k].driver : "none");
                }
        }
        if (h->root) {
                printf("host files:  under %s\n", h->root);
                printf("  kvm_amd sev_snp: %s, kvm_intel tdx: %s\n", h->kvm_sev_snp == HOST_FACT_YES ? "yes" : "no",
                       h->kvm_tdx == HOST_FACT_YES ? "yes" : "no");
                if (h->dma_entry_limit)
                        printf("  vfio_iommu_type1 dma_entry_limit: %" PRIu64 "\n", h->dma_entry_limit);
                else
                        printf("  vfio_iommu_type1: not loaded\n");
                printf("  firmware for sev-snp: %s\n", h->firmware_sev_snp ? h->firmware_sev_snp : "none");
                printf("  firmware for tdx: %s\n", h->firmware_tdx ? h->firmware_tdx : "none");
        }
}

int verb_host(int argc, char *argv[]) {
        enum { ARG_CONNECT = 0x100, ARG_GPU, ARG_HOST_CAPS, ARG_DOMCAPS, ARG_JSON, ARG_NODEDEV_DIR, ARG_HOST_ROOT };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "connect", required_argument, NULL, ARG_CONNECT },
                { "gpu", required_argument, NULL, ARG_GPU },
                { "host-caps", required_argument, NULL, ARG_HOST_CAPS },
                { "domcaps", required_argument, NULL, ARG_DOMCAPS },
                { "json", no_argument, NULL, ARG_JSON },
                { "nodedev-dir", required_argument, NULL, ARG_NODEDEV_DIR },
                { "host-root", required_argument, NULL, ARG_HOST_ROOT },
                {},
        };
        const char *arg_connect = NULL, *arg_host_caps = NULL, *arg_domcaps = NULL, *arg_nodedev_dir = NULL,
                   *arg_host_root = NULL;
        PciAddress gpus[LAUNCH_SPEC_GPUS_MAX];
        size_t n_gpus = 0;
        bool arg_json = false;
        _cleanup_(host_probe_freep) HostProbe *h = NULL;
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        _cleanup_free_ char *reason = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        host_help();
                        return EXIT_ACCEPTED;
                case ARG_CONNECT:
                        arg_connect = optarg;
                        break;
                case ARG_GPU:
                        if (n_gpus >= ELEMENTSOF(gpus))
                                return cli_usage_error("--gpu: at most %u GPUs", LAUNCH_SPEC_GPUS_MAX);
                        if (pci_address_parse(optarg, &gpus[n_gpus]) < 0)
                                return cli_usage_error("--gpu: '%s' is not a PCI address dddd:bb:ss.f", optarg);
                        n_gpus++;
                        break;
                case ARG_HOST_CAPS:
                        arg_host_caps = optarg;
                        break;
                case ARG_DOMCAPS:
                        arg_domcaps = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NODEDEV_DIR:
                        arg_nodedev_dir = optarg;
                        break;
                case ARG_HOST_ROOT:
                        if (optarg[0] != '/')
                                return cli_usage_error("--host-root: expected an absolute path");
                        arg_host_root = optarg;
                        break;
                default:
                        return cli_usage_error("unknown option '%s'", argv[optind - 1]);
                }
        if (optind != argc)
                return cli_usage_error("host: unexpected argument '%s'", argv[optind]);
        if (arg_host_caps && (arg_connect || (n_gpus && !arg_nodedev_dir)))
                return cli_usage_error("host: --host-caps cannot be combined with --connect, or with --gpu without --nodedev-dir");
        if (arg_nodedev_dir && !arg_host_caps)
                return cli_usage_error("host: --nodedev-dir needs --host-caps");
        if (arg_domcaps && !arg_host_caps)
                return cli_usage_error("host: --domcaps needs --host-caps");

        if (arg_host_caps) {
                _cleanup_free_ uint8_t *caps = NULL, *dc = NULL;
                size_t n, m = 0;
                if (cli_read_file(arg_host_caps, &caps, &n) < 0 || (arg_domcaps && cli_read_file(arg_domcaps, &dc, &m) < 0))
                        return EXIT_USAGE;
                h = host_probe_new();
                if (!h)
                        return cli_error(EXIT_REJECTED, "out of memory");
                r = host_probe_parse_caps(h, (const char *) caps, n, &reason);
                if (r >= 0 && dc)
                        r = host_probe_parse_domcaps(h, (const char *) dc, m, &reason);
                if (r >= 0 && arg_nodedev_dir)
                        r = host_probe_devices_from_dir(h, arg_nodedev_dir, gpus, n_gpus, &reason);
                if (r >= 0 && arg_host_root)
                        r = host_probe_read_host_files(h, arg_host_root, &reason);
                if (r < 0)
                        return cli_error(EXIT_REJECTED, "%s", reason ? reason : strerror(-r));
        } else {
                r = lifecycle_open(arg_connect, NULL, NULL, &l, &reason);
                if (r < 0)
                        return cli_error(EXIT_REJECTED, "%s", reason ? reason : strerror(-r));
                r = host_probe_libvirt(lifecycle_connection(l), gpus, n_gpus, arg_host_root, &h, &reason);
                if (r < 0)
                        return cli_error(EXIT_REJECTED, "host probe: %s", reason ? reason : strerror(-r));
        }

        if (arg_json) {
                _cleanup_(json_object_putp) json_object *o = host_probe_to_json(h);
                if (!o || cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the output");
        } else
                print_text(h);
        return EXIT_ACCEPTED;
}
