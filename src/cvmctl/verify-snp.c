/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl verify snp: verify SEV-SNP evidence against pinned AMD roots and a policy. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "verify-args.h"
#include "cvm/crypto.h"
#include "cvm/kds.h"
#include "cvm/policy.h"
#include "cvm/pem-bundle.h"
#include "cvm/snp.h"
#include "cvm/util.h"

static void help_snp(void) {
        printf("Usage: cvmctl verify snp REPORT [OPTIONS]\n"
               "\n"
               "Verify an AMD SEV-SNP attestation report (1184 bytes): its ECDSA P-384 signature, the\n"
               "VCEK/VLEK -> ASK/ASVK -> ARK chain up to a pinned AMD root, validity at the verification\n"
               "time, revocation, and the binding of the leaf to REPORTED_TCB and CHIP_ID; then the policy.\n"
               "\n"
               "Options:\n"
               "  --certs DIR|FILE    certificates (DER or PEM; a KDS cert_chain file; a directory takes\n"
               "                      every certificate file in it). May be repeated.\n"
               "  --cert-table FILE   the extended report's GHCB certificate table\n"
               "  --crl FILE          AMD CRL (DER or PEM), signed by the ARK\n"
               "  --policy FILE       policy file (JSON); without it, accepted equals authentic\n"
               "  --report-data HEX   expected REPORT_DATA (up to 64 bytes, zero-padded)\n"
               "  --at TIME           verification time, RFC 3339 (default: now)\n"
               "  --offline           never contact AMD KDS; use only the given files and the cache\n"
               "  --kds-url URL       KDS base URL (default https://kdsintf.amd.com)\n"
               "  --cache DIR         collateral cache (default /var/cache/cvmd as root)\n"
               "  --product NAME      Milan, Genoa or Turin: where a version 2 report leaves it open\n"
               "  --json              one JSON object on stdout\n"
               "  -h, --help          show this help\n"
               "\n"
               "Missing certificates are taken from the cache or fetched from KDS unless --offline.\n"
               "Exit status: 0 accepted, 1 rejected (including malformed evidence), 2 usage error or\n"
               "unreadable file.\n");
}

typedef struct SnpArgs {
        const char *report;
        const char **certs;
        size_t n_certs;
        const char *cert_table;
        const char *crl;
        const char *report_data;
        const char *kds_url;
        const char *product;
        VerifyArgs common;
} SnpArgs;

enum {
        ARG_CERTS = 0x100,
        ARG_CERT_TABLE,
        ARG_CRL,
        ARG_REPORT_DATA,
        ARG_KDS_URL,
        ARG_PRODUCT,
};

typedef struct CertDir {
        SnpChain *chain;
        Verdict *v;
} CertDir;

/* One file of a --certs directory: certificates or a CRL; anything else fails chain.load. */
static int load_cert_dir_file(void *userdata, const char *path) {
        CertDir *d = userdata;
        _cleanup_free_ char *reason = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        struct stat st;
        size_t size;

        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        if (cli_read_file(path, &data, &size) < 0)
                return EXIT_USAGE;
        /* a CRL, else certificates: a file that is neither fails the chain with the reader's
         * reason (file and byte), never skipped */
        if (pem_bundle_parse_crl(data, size, &crl, NULL) >= 0) {
                if (snp_chain_set_crl(d->chain, crl) < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
                return 0;
        }
        if (snp_chain_add_data(d->chain, data, size, &reason) < 0)
                verdict_check(d->v, "chain.load", CHECK_FAIL, "%s: %s", path, reason ? reason : "not a certificate or CRL");
        return 0;
}

/* Loads every certificate source named on the command line into the chain. Unreadable files
 * are usage errors (exit 2); files that read but do not parse are evidence problems, recorded
 * as a failed check so the verdict says what was wrong. */
static int load_certs(const SnpArgs *a, SnpChain *chain, Verdict *v) {
        int rc;

        for (size_t i = 0; i < a->n_certs; i++) {
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_free_ char *reason = NULL;
                struct stat st;
                size_t size;

                if (stat(a->certs[i], &st) < 0)
                        return cli_error(EXIT_USAGE, "%s: %m", a->certs[i]);
                if (S_ISDIR(st.st_mode)) {
                        rc = cli_dir_foreach(a->certs[i], NULL, load_cert_dir_file, &(CertDir){chain, v});
                        if (rc != 0)
                                return rc;
                        continue;
                }
                if (cli_read_file(a->certs[i], &data, &size) < 0)
                        return EXIT_USAGE;
                if (snp_chain_add_data(chain, data, size, &reason) < 0)
                        verdict_check(v, "chain.load", CHECK_FAIL, "%s: %s", a->certs[i], reason);
        }
        if (a->cert_table) {
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_free_ char *reason = NULL;
                size_t size;

                if (cli_read_file(a->cert_table, &data, &size) < 0)
                        return EXIT_USAGE;
                if (snp_chain_add_cert_table(chain, data, size, &reason) < 0)
                        verdict_check(v, "chain.load", CHECK_FAIL, "%s: %s", a->cert_table, reason);
        }
        if (a->crl) {
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
                size_t size;

                if (cli_read_file(a->crl, &data, &size) < 0)
                        return EXIT_USAGE;
                if (x509_crl_parse(data, size, &crl) < 0)
                        verdict_check(v, "chain.load", CHECK_FAIL, "%s: not a DER or PEM X.509 CRL", a->crl);
                else if (snp_chain_set_crl(chain, crl) < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
        }
        return 0;
}

/* Fills what the chain lacks from the cache or AMD KDS. A failure is recorded in the verdict,
 * which then fails on the missing certificates. */
static int complete_chain(const SnpArgs *a, const uint8_t *data, size_t size, SnpChain *chain, bool want_crl,
                          Verdict *v) {
        _cleanup_free_ char *cache = NULL, *error = NULL;
        SnpReport report;
        KdsOptions o = {};
        SnpProduct product = _SNP_PRODUCT_INVALID;
        int r;

        if (snp_chain_leaf(chain) && snp_chain_intermediate(chain) && chain->cert[SNP_ROLE_ARK] &&
            (!want_crl || chain->crl))
                return 0;
        if (snp_report_parse(data, size, &report, NULL) < 0)
                return 0; /* snp_verify() reports why */
        r = verify_args_cache_dir(&a->common, &cache);
        if (r != 0)
                return r;
        if (snp_report_product(&report, &product) < 0 && a->product)
                product = snp_product_from_string(a->product);

        o.base_url = a->kds_url;
        o.cache_dir = cache;
        o.offline = a->common.offline;
        o.http = (HttpOptions) { .progress = cli_progress };
        r = kds_complete_chain(&o, &report, product, a->common.at, want_crl, chain, &error);
        if (r < 0)
                verdict_check(v, "collateral", CHECK_FAIL, "%s", error ? error : strerror(-r));
        return 0;
}

static int verify_snp(const SnpArgs *a) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_free_ SnpAnchor *anchors = NULL;
        _cleanup_free_ SnpAppraisal *ap = calloc(1, sizeof(SnpAppraisal));
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *reason = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        SnpVerifyParams params = { .at = a->common.at };
        size_t size, n_anchors = 0;
        uint8_t report_data[64];
        int rc;

        if (!chain || !ap || verdict_init(&v, "sev-snp") < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (cli_read_file(a->report, &data, &size) < 0)
                return EXIT_USAGE;
        if (a->common.policy && policy_load(a->common.policy, &policy, &reason) < 0)
                return cli_error(EXIT_USAGE, "%s", reason ? reason : "invalid policy");
        if (a->report_data && verify_report_data_parse(a->report_data, report_data) != 0)
                return EXIT_USAGE;

        rc = load_certs(a, chain, &v);
        if (rc != 0)
                return rc;
        rc = complete_chain(a, data, size, chain, policy && policy_snp_requires_crl(policy), &v);
        if (rc != 0)
                return rc;

        if (policy) {
                if (policy_snp_anchors(policy, &anchors, &n_anchors) < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
                params.anchors = anchors;
                params.require_crl = policy_snp_requires_crl(policy);
        } else
                params.anchors = snp_builtin_anchors(&params.n_anchors);
        if (anchors)
                params.n_anchors = n_anchors;

        if (snp_verify(data, size, chain, &params, ap, &v) < 0)
                return cli_error(EXIT_REJECTED, "out of memory while verifying");
        /* A chain file that failed to load is a failed check even if the rest verified. */
        if (verdict_has_failed_check(&v))
                v.authentic = false;

        if (a->report_data && ap->parsed)
                verify_report_data_check(&v, report_data, ap->report.report_data);
        if (policy && ap->parsed) {
                int64_t crl_this_update;

                policy_evaluate_snp(policy, ap, &v);
                if (chain->crl && asn1_time_to_unix(X509_CRL_get0_lastUpdate(chain->crl), &crl_this_update) >= 0)
                        policy_evaluate_snp_crl_age(policy, ap, crl_this_update, a->common.at, &v);
        }
        verify_conclude(&a->common, &v);

        return cli_print_verdict(&v, a->common.json);
}

static int snp_option(void *args, int c, const char *arg) {
        SnpArgs *a = args;

        switch (c) {
        case ARG_CERTS:
                a->certs[a->n_certs++] = arg;
                break;
        case ARG_CERT_TABLE:
                a->cert_table = arg;
                break;
        case ARG_CRL:
                a->crl = arg;
                break;
        case ARG_REPORT_DATA:
                a->report_data = arg;
                break;
        case ARG_KDS_URL:
                a->kds_url = arg;
                break;
        case ARG_PRODUCT:
                if (snp_product_from_string(arg) < 0)
                        return cli_usage_error("--product: '%s' is not Milan, Genoa or Turin", arg);
                a->product = arg;
                break;
        }
        return 0;
}

int verify_snp_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "certs", required_argument, NULL, ARG_CERTS },
                { "cert-table", required_argument, NULL, ARG_CERT_TABLE },
                { "crl", required_argument, NULL, ARG_CRL },
                { "report-data", required_argument, NULL, ARG_REPORT_DATA },
                { "kds-url", required_argument, NULL, ARG_KDS_URL },
                { "product", required_argument, NULL, ARG_PRODUCT },
                VERIFY_ARGS_OPTIONS,
                {},
        };
        _cleanup_free_ const char **certs = NULL;
        SnpArgs a = { .common.at = (int64_t) time(NULL) };
        const CliParser p = { .options = options, .help = help_snp, .verb = "verify snp",
                              .shared = verify_args_option, .shared_args = &a.common, .own = snp_option, .args = &a };
        int r;

        certs = calloc((size_t) argc, sizeof(char *));
        if (!certs)
                return cli_error(EXIT_REJECTED, "out of memory");
        a.certs = certs;
        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        /* argv[0] is "snp"; the report is the only positional argument. */
        if ((r = verify_args_positional(argc, argv, "verify snp", "REPORT", &a.report)) != 0)
                return r;
        return verify_snp(&a);
}
