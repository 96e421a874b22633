/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl collateral: fill the host's collateral cache (fetch snp|tdx|gpu) so that later appraisals
 * (cvmctl verify --offline, launch, attest-guest, the daemon) need no network, and show what it
 * holds (list). The cache is the one collateral.h's provider uses. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "collateral-fetch-gpu.h"
#include "cvm/collateral.h"
#include "cvm/guest-proto.h"
#include "cvm/kds.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/pcs.h"
#include "cvm/snp.h"
#include "cvm/util.h"

static void help(void) {
        printf("Usage: cvmctl collateral fetch snp REPORT [OPTIONS]\n"
               "       cvmctl collateral fetch tdx QUOTE|--fmspc HEX [--ca platform|processor] [OPTIONS]\n"
               "       cvmctl collateral fetch gpu REPORT... --chain FILE... [--switch-chain FILE...] [OPTIONS]\n"
               "       cvmctl collateral list [OPTIONS]\n"
               "\n"
               "fetch snp: what verifying an AMD SEV-SNP report needs from AMD KDS, into the cache: the VCEK\n"
               "for the report's CHIP_ID and REPORTED_TCB and the product's ASK + ARK (cert_chain), with\n"
               "--crl the product's CRL too (launches require it by default). Files already cached and\n"
               "valid are not fetched again.\n"
               "fetch tdx: the Intel PCS/PCCS collateral (TCB info, QE identity, PCK and root CA CRLs and\n"
               "their issuer chains) for a platform: its FMSPC and PCK CA, read from a quote's PCK\n"
               "certificate or given with --fmspc and --ca.\n"
               "fetch gpu: the NVIDIA collateral for GPU evidence: the driver and VBIOS RIMs each report\n"
               "names, from the RIM service, and OCSP answers for each device chain (certificates 1-3),\n"
               "each NVSwitch chain given, and each RIM's signer chain. Current ones in the cache are\n"
               "used, as a launch would.\n"
               "list: what the cache holds, for which platform, valid until when, and whether it is fresh,\n"
               "expiring (fetched anew on its next use), stale or invalid.\n"
               "\n"
               "Options:\n"
               "  --cache DIR         collateral cache (default $CVM_CACHE_DIR, /var/cache/cvmd as root,\n"
               "                      else $XDG_CACHE_HOME/cvmd or ~/.cache/cvmd)\n"
               "  --kds-url URL       snp: KDS base URL (default " KDS_DEFAULT_URL ")\n"
               "  --product NAME      snp: Milan, Genoa or Turin, where a version 2 report leaves it open\n"
               "                      (otherwise the products it could be are tried in turn)\n"
               "  --crl               snp: also fetch the product's CRL\n"
               "  --pccs-url URL      tdx: fetch from this PCCS instead of Intel PCS\n"
               "  --fmspc HEX         tdx: the platform's FMSPC (6 bytes), instead of a quote\n"
               "  --ca NAME           tdx with --fmspc: the PCK CA, platform (default) or processor\n"
               "  --chain FILE        gpu: a report's device certificate chain (PEM), one per REPORT, in order\n"
               "  --switch-chain FILE gpu: an NVSwitch's certificate chain (PEM), for its OCSP answers\n"
               "                      (repeatable; for boards in protected-PCIe mode)\n"
               "  --rim-url URL       gpu: NVIDIA RIM service (default " NV_RIM_SERVICE_DEFAULT_URL ")\n"
               "  --ocsp-url URL      gpu: NVIDIA OCSP responder (default " NV_OCSP_DEFAULT_URL ")\n"
               "  --at TIME           fetch: cached files must be valid at this time; list: judge them at\n"
               "                      this time; RFC 3339 (default: now)\n"
               "  --json              one JSON object on stdout\n"
               "  -h, --help          show this help\n"
               "\n"
               "A VLEK-signed report's VLEK cannot be fetched by chip ID: it comes from the cloud provider\n"
               "or the report's certificate table.\n"
               "Exit status: 0 done, 1 a fetch failed or the evidence is malformed, 2 usage error or\n"
               "unreadable file.\n");
}

typedef struct FileList {
        char **paths;
        bool *fetched;
        size_t n;
        bool store_failed;
        bool oom;
} FileList;

static void file_list_done(FileList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->paths[i]);
        free(l->paths);
        free(l->fetched);
}

static void on_file(void *userdata, KdsItem item, const char *path, bool fetched) {
        FileList *l = userdata;
        char **paths;
        bool *f;

        if (!path) {
                l->store_failed = true; /* the progress callback has said why */
                return;
        }
        paths = reallocarray(l->paths, l->n + 1, sizeof(char *));
        if (!paths) {
                l->oom = true;
                return;
        }
        l->paths = paths;
        f = reallocarray(l->fetched, l->n + 1, sizeof(bool));
        if (!f) {
                l->oom = true;
                return;
        }
        l->fetched = f;
        l->paths[l->n] = strdup(path);
        if (!l->paths[l->n]) {
                l->oom = true;
                return;
        }
        l->fetched[l->n++] = fetched;
}

typedef struct Args {
        const char *action; /* "fetch" or "list" */
        const char *tee;    /* fetch: "snp" or "tdx" */
        const char *input;  /* fetch: the report or quote; NULL for tdx with --fmspc */
        const char *cache;
        const char *kds_url;
        const char *pccs_url;
        const char *product;
        bool crl;
        bool has_fmspc;
        uint8_t fmspc[6];
        TdxPckCa ca;
        bool has_ca;
        const char *chains[64]; /* gpu */
        size_t n_chains;
        const char *switch_chains[PROTO_SWITCHES_MAX]; /* gpu */
        size_t n_switch_chains;
        const char *rim_url, *ocsp_url;
        char *const *reports; /* gpu: every REPORT */
        size_t n_reports;
        int64_t at;
        bool json;
} Args;

static int cache_dir(const Args *a, char **ret) {
        int r;

        if (a->cache)
                *ret = strdup(a->cache);
        else {
                r = kds_default_cache_dir(ret);
                if (r < 0)
                        return cli_error(EXIT_REJECTED, "cannot tell where the cache is (%s): use --cache DIR",
                                         strerror(-r));
        }
        if (!*ret)
                return cli_error(EXIT_REJECTED, "out of memory");
        return 0;
}

static int fetch_snp(const Args *a) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(file_list_done) FileList files = {};
        _cleanup_free_ char *cache = NULL, *reason = NULL, *error = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        SnpProduct product = _SNP_PRODUCT_INVALID, p;
        KdsOptions ko = {};
        SnpReport report;
        size_t size;
        int r;

        if (!chain)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (cli_read_file(a->input, &data, &size) < 0)
                return EXIT_USAGE;
        r = snp_report_parse(data, size, &report, &reason);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "%s: not a valid SEV-SNP attestation report: %s", a->input,
                                 reason ? reason : strerror(-r));

        r = snp_report_product(&report, &p);
        if (r >= 0) {
                product = p;
                if (a->product && snp_product_from_string(a->product) != p)
                        fprintf(stderr, "cvmctl: the report names its processor as %s; ignoring --product %s\n",
                                snp_product_to_string(p), a->product);
        } else if (r == -EOPNOTSUPP)
                return cli_error(EXIT_REJECTED,
                                 "%s: CPUID family 0x%02x model 0x%02x has no AMD certificate chain on KDS",
                                 a->input, report.cpuid_fam_id, report.cpuid_mod_id);
        else if (a->product)
                product = snp_product_from_string(a->product);

        r = cache_dir(a, &cache);
        if (r != 0)
                return r;

        ko.base_url = a->kds_url;
        ko.cache_dir = cache;
        ko.http = (HttpOptions) { .progress = cli_progress };
        ko.file_used = on_file;
        ko.file_userdata = &files;
        r = kds_complete_chain(&ko, &report, product, a->at, a->crl, chain, &error);
        if (r < 0) {
                /* Say what did make it into the cache before failing. */
                if (!a->json)
                        for (size_t i = 0; i < files.n; i++)
                                printf("%-7s %s\n", files.fetched[i] ? "stored" : "cached", files.paths[i]);
                return cli_error(EXIT_REJECTED, "%s", error ? error : strerror(-r));
        }
        if (files.oom)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (files.store_failed)
                return cli_error(EXIT_REJECTED, "fetched, but could not store everything in the cache %s", cache);

        /* The product KDS answered for (a v2 report was probed). */
        if (product < 0 && snp_chain_intermediate(chain))
                (void) snp_cert_identify(snp_chain_intermediate(chain), &product);

        if (!a->json) {
                for (size_t i = 0; i < files.n; i++)
                        printf("%-7s %s\n", files.fetched[i] ? "stored" : "cached", files.paths[i]);
                return 0;
        }

        o = json_object_new_object();
        if (!o)
                return cli_error(EXIT_REJECTED, "out of memory");
        {
                json_object *list = json_object_new_array();

                if (!list || json_object_object_add(o, "tee", json_object_new_string("sev-snp")) < 0 ||
                    json_object_object_add(o, "product", product >= 0 ? json_object_new_string(snp_product_to_string(product))
                                                                      : NULL) < 0 ||
                    json_object_object_add(o, "cache", json_object_new_string(cache)) < 0 ||
                    json_object_object_add(o, "files", list) < 0) {
                        json_object_put(list);
                        return cli_error(EXIT_REJECTED, "out of memory");
                }
                for (size_t i = 0; i < files.n; i++)
                        if (json_object_array_add(list, json_object_new_string(files.paths[i])) < 0)
                                return cli_error(EXIT_REJECTED, "out of memory");
        }
        if (cli_print_json(o, true) < 0)
                return cli_error(EXIT_REJECTED, "cannot write to standard output");
        return 0;
}

/* The platform: --fmspc/--ca, or the quote's PCK certificate. */
static int tdx_platform(const Args *a, uint8_t fmspc[6], TdxPckCa *ca) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *reason = NULL;
        size_t size;
        int r;

        if (a->has_fmspc) {
                memcpy(fmspc, a->fmspc, 6);
                *ca = a->has_ca ? a->ca : TDX_PCK_CA_PLATFORM;
                return 0;
        }
        if (cli_read_file(a->input, &data, &size) < 0)
                return EXIT_USAGE;
        r = collateral_tdx_platform(data, size, fmspc, ca, &reason);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r < 0)
                return cli_error(EXIT_REJECTED, "%s: %s", a->input, reason ? reason : strerror(-r));
        return 0;
}

static int fetch_tdx(const Args *a) {
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *cache = NULL, *dir = NULL, *error = NULL, *hex = NULL;
        PcsOptions po = {};
        uint8_t fmspc[6];
        TdxPckCa ca;
        int64_t from, until;
        char t1[32], t2[32];
        int r;

        r = tdx_platform(a, fmspc, &ca);
        if (r != 0)
                return r;
        r = cache_dir(a, &cache);
        if (r != 0)
                return r;
        if (pcs_cache_path(cache, fmspc, ca, &dir) < 0 || !(hex = hex_encode(fmspc, 6)))
                return cli_error(EXIT_REJECTED, "out of memory");
        po.base_url = a->pccs_url;
        po.pccs = a->pccs_url != NULL;
        po.cache_dir = cache;
        po.http = (HttpOptions) { .progress = cli_progress };
        r = pcs_get_collateral(&po, fmspc, ca, a->at, &col, &error);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r < 0)
                return cli_error(EXIT_REJECTED, "FMSPC %s (%s CA): %s", hex, tdx_pck_ca_to_string(ca),
                                 error ? error : strerror(-r));
        if (tdx_collateral_window(col, &from, &until) < 0)
                return cli_error(EXIT_REJECTED, "%s: the collateral has no validity window", dir);
        format_rfc3339(from, t1, sizeof(t1));
        format_rfc3339(until, t2, sizeof(t2));
        if (!a->json) {
                printf("cached  %s (FMSPC %s, %s CA, valid %s to %s)\n", dir, hex, tdx_pck_ca_to_string(ca), t1, t2);
                return 0;
        }
        o = json_object_new_object();
        if (!o || json_object_object_add(o, "tee", json_object_new_string("tdx")) < 0 ||
            json_object_object_add(o, "fmspc", json_object_new_string(hex)) < 0 ||
            json_object_object_add(o, "ca", json_object_new_string(tdx_pck_ca_to_string(ca))) < 0 ||
            json_object_object_add(o, "cache", json_object_new_string(cache)) < 0 ||
            json_object_object_add(o, "directory", json_object_new_string(dir)) < 0 ||
            json_object_object_add(o, "valid_from", json_object_new_string(t1)) < 0 ||
            json_object_object_add(o, "valid_until", json_object_new_string(t2)) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (cli_print_json(o, true) < 0)
                return cli_error(EXIT_REJECTED, "cannot write to standard output");
        return 0;
}

static int fetch_gpu(const Args *a) {
        _cleanup_free_ char *cache = NULL;
        int r = cache_dir(a, &cache);

        if (r != 0)
                return r;
        return collateral_fetch_gpu(&(GpuFetchArgs) { .cache = cache, .rim_url = a->rim_url, .ocsp_url = a->ocsp_url,
                                                      .reports = a->reports, .chains = a->chains, .n = a->n_reports,
                                                      .switch_chains = a->switch_chains,
                                                      .n_switch_chains = a->n_switch_chains,
                                                      .at = a->at, .json = a->json });
}

typedef struct ListOut {
        json_object *list; /* --json */
        size_t n;
} ListOut;

static json_object *time_or_null(int64_t t) {
        char buf[32];

        if (t == 0 || t == INT64_MIN || t == INT64_MAX)
                return NULL;
        return json_object_new_string(format_rfc3339(t, buf, sizeof(buf)));
}

static int list_one(void *userdata, const CollateralEntry *e) {
        ListOut *l = userdata;
        json_object *j;
        char until[32] = "-";

        l->n++;
        if (!l->list) {
                if (e->valid_until != 0 && e->valid_until != INT64_MAX)
                        format_rfc3339(e->valid_until, until, sizeof(until));
                printf("%-8s %-7s %-16s %-9s %-20s %s%s%s\n", collateral_state_to_string(e->state), e->tee, e->kind,
                       e->platform, until, e->path, e->detail ? "  " : "", e->detail ? e->detail : "");
                return 0;
        }
        j = json_object_new_object();
        if (!j || json_object_array_add(l->list, j) < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        if (json_object_object_add(j, "tee", json_object_new_string(e->tee)) < 0 ||
            json_object_object_add(j, "kind", json_object_new_string(e->kind)) < 0 ||
            json_object_object_add(j, "platform", json_object_new_string(e->platform)) < 0 ||
            json_object_object_add(j, "detail", e->detail ? json_object_new_string(e->detail) : NULL) < 0 ||
            json_object_object_add(j, "path", json_object_new_string(e->path)) < 0 ||
            json_object_object_add(j, "valid_from", time_or_null(e->valid_from)) < 0 ||
            json_object_object_add(j, "valid_until", time_or_null(e->valid_until)) < 0 ||
            json_object_object_add(j, "state", json_object_new_string(collateral_state_to_string(e->state))) < 0)
                return -ENOMEM;
        return 0;
}

static int list(const Args *a) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *cache = NULL;
        ListOut l = {};
        char at[32];
        int r;

        r = cache_dir(a, &cache);
        if (r != 0)
                return r;
        if (a->json) {
                o = json_object_new_object();
                l.list = json_object_new_array();
                if (!o || !l.list || json_object_object_add(o, "cache", json_object_new_string(cache)) < 0 ||
                    json_object_object_add(o, "at", json_object_new_string(format_rfc3339(a->at, at, sizeof(at)))) < 0 ||
                    json_object_object_add(o, "collateral", l.list) < 0) {
                        json_object_put(l.list);
                        return cli_error(EXIT_REJECTED, "out of memory");
                }
        } else
                printf("%-8s %-7s %-16s %-9s %-20s %s\n", "STATE", "TEE", "KIND", "PLATFORM", "VALID UNTIL", "PATH");
        r = collateral_list(cache, a->at, 0, list_one, &l);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "%s: cannot list the cache: %s", cache, strerror(-r));
        if (a->json) {
                if (cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write to standard output");
        } else if (l.n == 0)
                printf("(the cache %s holds no collateral)\n", cache);
        return 0;
}

/* Which options go with which action. */
static int check_options(const Args *a) {
        bool snp = a->tee && streq(a->tee, "snp"), tdx = a->tee && streq(a->tee, "tdx");

        if (streq(a->action, "list")) {
                if (a->kds_url || a->pccs_url || a->product || a->crl || a->has_fmspc || a->has_ca || a->n_chains ||
                    a->n_switch_chains || a->rim_url || a->ocsp_url)
                        return cli_usage_error("collateral list takes only --cache, --at and --json");
                return 0;
        }
        if (!streq(a->tee, "gpu") && (a->n_chains || a->n_switch_chains || a->rim_url || a->ocsp_url))
                return cli_usage_error("collateral fetch %s: --chain, --switch-chain, --rim-url and --ocsp-url are "
                                       "for gpu", a->tee);
        if (streq(a->tee, "gpu") && a->n_reports == 0)
                return cli_usage_error("collateral fetch gpu: missing REPORT file");
        if (streq(a->tee, "gpu") && a->n_chains != a->n_reports)
                return cli_usage_error("collateral fetch gpu: %zu reports but %zu --chain files: give one chain per "
                                       "report, in order", a->n_reports, a->n_chains);
        if (!snp && (a->kds_url || a->product || a->crl))
                return cli_usage_error("collateral fetch %s: --kds-url, --product and --crl are for snp", a->tee);
        if (!tdx && (a->pccs_url || a->has_fmspc || a->has_ca))
                return cli_usage_error("collateral fetch %s: --pccs-url, --fmspc and --ca are for tdx", a->tee);
        if (a->has_ca && !a->has_fmspc)
                return cli_usage_error("collateral fetch tdx: --ca goes with --fmspc (a quote names its CA)");
        if (tdx && a->has_fmspc == (a->input != NULL))
                return cli_usage_error("collateral fetch tdx: give a QUOTE file or --fmspc, one of them");
        if (snp && !a->input)
                return cli_usage_error("collateral fetch snp: missing REPORT file");
        return 0;
}

int verb_collateral(int argc, char *argv[]) {
        enum {
                ARG_CACHE = 0x100,
                ARG_KDS_URL,
                ARG_PRODUCT,
                ARG_CRL,
                ARG_AT,
                ARG_JSON,
                ARG_PCCS_URL,
                ARG_FMSPC,
                ARG_CA,
                ARG_CHAIN,
                ARG_SWITCH_CHAIN,
                ARG_RIM_URL,
                ARG_OCSP_URL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "cache", required_argument, NULL, ARG_CACHE },
                { "kds-url", required_argument, NULL, ARG_KDS_URL },
                { "product", required_argument, NULL, ARG_PRODUCT },
                { "crl", no_argument, NULL, ARG_CRL },
                { "at", required_argument, NULL, ARG_AT },
                { "json", no_argument, NULL, ARG_JSON },
                { "pccs-url", required_argument, NULL, ARG_PCCS_URL },
                { "fmspc", required_argument, NULL, ARG_FMSPC },
                { "ca", required_argument, NULL, ARG_CA },
                { "chain", required_argument, NULL, ARG_CHAIN },
                { "switch-chain", required_argument, NULL, ARG_SWITCH_CHAIN },
                { "rim-url", required_argument, NULL, ARG_RIM_URL },
                { "ocsp-url", required_argument, NULL, ARG_OCSP_URL },
                {},
        };
        Args a = { .at = (int64_t) time(NULL) };
        int c, r, n;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_CACHE:
                        if (!*optarg)
                                return cli_usage_error("--cache: empty directory name");
                        a.cache = optarg;
                        break;
                case ARG_KDS_URL:
                case ARG_PCCS_URL:
                case ARG_RIM_URL:
                case ARG_OCSP_URL:
                        if (strncmp(optarg, "https://", 8) != 0 && strncmp(optarg, "http://", 7) != 0)
                                return cli_usage_error("%s: '%s' is not an http:// or https:// URL",
                                                       c == ARG_KDS_URL    ? "--kds-url"
                                                       : c == ARG_PCCS_URL ? "--pccs-url"
                                                       : c == ARG_RIM_URL  ? "--rim-url"
                                                                           : "--ocsp-url",
                                                       optarg);
                        *(c == ARG_KDS_URL    ? &a.kds_url
                          : c == ARG_PCCS_URL ? &a.pccs_url
                          : c == ARG_RIM_URL  ? &a.rim_url
                                              : &a.ocsp_url) = optarg;
                        break;
                case ARG_CHAIN:
                        if (a.n_chains >= ELEMENTSOF(a.chains))
                                return cli_usage_error("--chain: at most %zu", ELEMENTSOF(a.chains));
                        a.chains[a.n_chains++] = optarg;
                        break;
                case ARG_SWITCH_CHAIN:
                        if (a.n_switch_chains >= ELEMENTSOF(a.switch_chains))
                                return cli_usage_error("--switch-chain: at most %zu", ELEMENTSOF(a.switch_chains));
                        a.switch_chains[a.n_switch_chains++] = optarg;
                        break;
                case ARG_PRODUCT:
                        if (snp_product_from_string(optarg) < 0)
                                return cli_usage_error("--product: '%s' is not Milan, Genoa or Turin", optarg);
                        a.product = optarg;
                        break;
                case ARG_CRL:
                        a.crl = true;
                        break;
                case ARG_FMSPC:
                        if (hex_decode_exact(optarg, a.fmspc, sizeof(a.fmspc)) < 0)
                                return cli_usage_error("--fmspc: '%s' is not 6 bytes of hex (12 digits)", optarg);
                        a.has_fmspc = true;
                        break;
                case ARG_CA:
                        if (streq(optarg, "platform"))
                                a.ca = TDX_PCK_CA_PLATFORM;
                        else if (streq(optarg, "processor"))
                                a.ca = TDX_PCK_CA_PROCESSOR;
                        else
                                return cli_usage_error("--ca: '%s' is not platform or processor", optarg);
                        a.has_ca = true;
                        break;
                case ARG_AT:
                        if (cli_parse_at(optarg, &a.at) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_JSON:
                        a.json = true;
                        break;
                default:
                        return cli_usage_error("collateral: invalid option '%s'", argv[optind - 1]);
                }

        if (optind >= argc)
                return cli_usage_error("collateral: missing action (fetch or list)");
        a.action = argv[optind];
        n = argc - optind - 1; /* arguments after the action */
        if (streq(a.action, "list")) {
                if (n > 0)
                        return cli_usage_error("collateral list: unexpected argument '%s'", argv[optind + 1]);
        } else if (streq(a.action, "fetch")) {
                if (n < 1)
                        return cli_usage_error("collateral fetch: missing TEE (snp, tdx or gpu)");
                a.tee = argv[optind + 1];
                if (!streq(a.tee, "snp") && !streq(a.tee, "tdx") && !streq(a.tee, "gpu"))
                        return cli_usage_error("collateral fetch: unknown TEE '%s' (supported: snp, tdx, gpu)", a.tee);
                a.reports = argv + optind + 2;
                a.n_reports = (size_t) n - 1;
                if (n > 2 && !streq(a.tee, "gpu"))
                        return cli_usage_error("collateral fetch %s: unexpected argument '%s'", a.tee, argv[optind + 3]);
                a.input = n == 2 ? argv[optind + 2] : NULL;
        } else
                return cli_usage_error("collateral: unknown action '%s' (supported: fetch, list)", a.action);
        r = check_options(&a);
        if (r != 0)
                return r;
        if (streq(a.action, "list"))
                return list(&a);
        if (streq(a.tee, "gpu"))
                return fetch_gpu(&a);
        return streq(a.tee, "snp") ? fetch_snp(&a) : fetch_tdx(&a);
}
