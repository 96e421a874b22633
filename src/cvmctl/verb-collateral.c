/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl collateral fetch snp: fill the collateral cache from AMD KDS for one report, so that
 * later verifications (cvmctl verify --offline, the daemon) need no network. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cvm/kds.h"
#include "cvm/snp.h"
#include "cvm/util.h"

static void help(void) {
        printf("Usage: cvmctl collateral fetch snp REPORT [OPTIONS]\n"
               "\n"
               "Fetch what verifying an AMD SEV-SNP report needs from AMD KDS into the collateral cache:\n"
               "the VCEK for the report's CHIP_ID and REPORTED_TCB and the product's ASK + ARK\n"
               "(cert_chain). Files already cached and valid are not fetched again.\n"
               "\n"
               "Options:\n"
               "  --cache DIR         collateral cache (default $CVM_CACHE_DIR, /var/cache/cvmd as root,\n"
               "                      else $XDG_CACHE_HOME/cvmd or ~/.cache/cvmd)\n"
               "  --kds-url URL       KDS base URL (default " KDS_DEFAULT_URL ")\n"
               "  --product NAME      Milan, Genoa or Turin, where a version 2 report leaves it open\n"
               "                      (otherwise the products it could be are tried in turn)\n"
               "  --crl               also fetch the product's CRL\n"
               "  --at TIME           cached files must be valid at this time, RFC 3339 (default: now)\n"
               "  --json              one JSON object on stdout\n"
               "  -h, --help          show this help\n"
               "\n"
               "A VLEK-signed report's VLEK cannot be fetched by chip ID: it comes from the cloud provider\n"
               "or the report's certificate table.\n"
               "Exit status: 0 done, 1 a fetch failed or the report is malformed, 2 usage error or\n"
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
        const char *report;
        const char *cache;
        const char *kds_url;
        const char *product;
        bool crl;
        int64_t at;
        bool json;
} Args;

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
        if (cli_read_file(a->report, &data, &size) < 0)
                return EXIT_USAGE;
        r = snp_report_parse(data, size, &report, &reason);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "%s: not a valid SEV-SNP attestation report: %s", a->report,
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
                                 a->report, report.cpuid_fam_id, report.cpuid_mod_id);
        else if (a->product)
                product = snp_product_from_string(a->product);

        if (a->cache)
                cache = strdup(a->cache);
        else {
                r = kds_default_cache_dir(&cache);
                if (r < 0)
                        return cli_error(EXIT_REJECTED, "cannot tell where the cache is (%s): use --cache DIR",
                                         strerror(-r));
        }
        if (!cache)
                return cli_error(EXIT_REJECTED, "out of memory");

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

int verb_collateral(int argc, char *argv[]) {
        enum {
                ARG_CACHE = 0x100,
                ARG_KDS_URL,
                ARG_PRODUCT,
                ARG_CRL,
                ARG_AT,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "cache", required_argument, NULL, ARG_CACHE },
                { "kds-url", required_argument, NULL, ARG_KDS_URL },
                { "product", required_argument, NULL, ARG_PRODUCT },
                { "crl", no_argument, NULL, ARG_CRL },
                { "at", required_argument, NULL, ARG_AT },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Args a = { .at = (int64_t) time(NULL) };
        int c;

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
                        if (strncmp(optarg, "https://", 8) != 0 && strncmp(optarg, "http://", 7) != 0)
                                return cli_usage_error("--kds-url: '%s' is not an http:// or https:// URL", optarg);
                        a.kds_url = optarg;
                        break;
                case ARG_PRODUCT:
                        if (snp_product_from_string(optarg) < 0)
                                return cli_usage_error("--product: '%s' is not Milan, Genoa or Turin", optarg);
                        a.product = optarg;
                        break;
                case ARG_CRL:
                        a.crl = true;
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
                return cli_usage_error("collateral: missing action (fetch)");
        if (!streq(argv[optind], "fetch"))
                return cli_usage_error("collateral: unknown action '%s' (supported: fetch)", argv[optind]);
        if (optind + 1 >= argc)
                return cli_usage_error("collateral fetch: missing TEE (snp)");
        if (!streq(argv[optind + 1], "snp"))
                return cli_usage_error("collateral fetch: unknown TEE '%s' (supported: snp)", argv[optind + 1]);
        if (optind + 2 >= argc)
                return cli_usage_error("collateral fetch snp: missing REPORT file");
        if (optind + 3 < argc)
                return cli_usage_error("collateral fetch snp: unexpected argument '%s'", argv[optind + 3]);
        a.report = argv[optind + 2];
        return fetch_snp(&a);
}
