/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl verify tdx: verify an Intel TDX quote against the pinned Intel SGX Root CA, Intel
 * collateral and a policy. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "verify-args.h"
#include "cvm/crypto.h"
#include "cvm/kds.h"
#include "cvm/pcs.h"
#include "cvm/policy.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

static void help_tdx(void) {
        printf("Usage: cvmctl verify tdx QUOTE [OPTIONS]\n"
               "\n"
               "Verify an Intel TDX quote (v4 or v5): the attestation-key signature over the TD report,\n"
               "the QE report signed by the PCK certificate and binding the attestation key, the PCK\n"
               "chain up to the pinned Intel SGX Root CA; with collateral also the PCK and Root CA\n"
               "CRLs, the TCB info and QE identity (signatures, windows), the QE identity and the TCB\n"
               "level (status and advisories); then the policy.\n"
               "\n"
               "Options:\n"
               "  --collateral DIR    collateral bundle: tcb_info.json, tcb_info_issuer_chain.pem,\n"
               "                      qe_identity.json, qe_identity_issuer_chain.pem, pck_crl.der,\n"
               "                      pck_crl_issuer_chain.pem, root_ca_crl.der\n"
               "  --policy FILE       policy file (JSON, \"tdx\" section); without it the built-in\n"
               "                      defaults of the tdx section apply\n"
               "  --report-data HEX   expected REPORT_DATA (up to 64 bytes, zero-padded)\n"
               "  --at TIME           verification time, RFC 3339 (default: now)\n"
               "  --offline           never contact Intel PCS or a PCCS; use the cache only\n"
               "  --pccs-url URL      fetch collateral from this PCCS instead of Intel PCS\n"
               "  --cache DIR         collateral cache (default /var/cache/cvmd as root)\n"
               "  --json              one JSON object on stdout\n"
               "  -h, --help          show this help\n"
               "\n"
               "Without --collateral the bundle comes from the cache or is fetched (unless --offline).\n"
               "Exit status: 0 accepted, 1 rejected (including malformed evidence), 2 usage error or\n"
               "unreadable file.\n");
}

typedef struct TdxArgs {
        const char *quote;
        const char *collateral;
        const char *report_data;
        const char *pccs_url;
        VerifyArgs common;
} TdxArgs;

enum {
        ARG_COLLATERAL = 0x100,
        ARG_REPORT_DATA,
        ARG_PCCS_URL,
};

/* The bundle from the cache or PCS/PCCS: the quote's PCK certificate names the FMSPC and CA.
 * When none can be had, the verdict says why and the TCB status stays unknown. */
static int obtain_collateral(const TdxArgs *a, const uint8_t *data, size_t size, TdxCollateral **ret, Verdict *v) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
        _cleanup_free_ char *cache = NULL, *error = NULL;
        TdxQuote q;
        TdxPckInfo pck;
        PcsOptions o = {};
        int r;

        if (tdx_quote_parse(data, size, &q, NULL) < 0 || tdx_pck_chain_parse(q.pck_chain, q.pck_chain_size, &chain, NULL) < 0 ||
            tdx_pck_info_parse(sk_X509_value(chain, 0), &pck, NULL) < 0)
                return 0; /* tdx_verify() reports why */
        if (pck.ca < 0) {
                verdict_check(v, "collateral", CHECK_FAIL, "the PCK certificate's issuer is not a known Intel PCK CA");
                return 0;
        }
        r = verify_args_cache_dir(&a->common, &cache);
        if (r != 0)
                return r;
        o.base_url = a->pccs_url;
        o.pccs = a->pccs_url != NULL;
        o.cache_dir = cache;
        o.offline = a->common.offline;
        o.http = (HttpOptions) { .progress = cli_progress };
        r = pcs_get_collateral(&o, pck.fmspc, pck.ca, a->common.at, ret, &error);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r == -ENOENT && a->common.offline)
                /* quote-only: the TCB status stays unknown, which no policy accepts */
                verdict_check(v, "collateral", CHECK_SKIP, "%s; the TCB status cannot be evaluated",
                              error ? error : "no collateral in the cache");
        else if (r < 0)
                verdict_check(v, "collateral", CHECK_FAIL, "%s", error ? error : strerror(-r));
        return 0;
}

static int print_tdx_verdict(const Verdict *v, bool json) {
        json_object *status = NULL, *adv = NULL;

        if (v->authentic && !v->oom) {
                (void) json_object_object_get_ex(v->claims, "tcb_status", &status);
                (void) json_object_object_get_ex(v->claims, "advisory_ids", &adv);
        }
        if (json) {
                _cleanup_(json_object_putp) json_object *o = verdict_to_json(v);
                if (!o)
                        return cli_error(EXIT_REJECTED, "cannot write the verdict");
                json_object_object_add(o, "tcb_status", json_object_get(status));
                json_object_object_add(o, "advisory_ids", json_object_get(adv));
                if (cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the verdict");
        } else {
                verdict_print(v, stdout);
                printf("\nTCB status: %s\n", status ? json_object_get_string(status) : "-");
                if (adv)
                        printf("Advisories: %s\n", json_object_array_length(adv) ? json_object_to_json_string(adv) : "none");
        }
        return v->accepted && !v->oom ? EXIT_ACCEPTED : EXIT_REJECTED;
}

static int verify_tdx(const TdxArgs *a) {
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_(tdx_appraisal_done) TdxAppraisal ap = {};
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *reason = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        TdxVerifyParams params = { .at = a->common.at };
        size_t size;
        uint8_t report_data[64];
        int rc;

        if (verdict_init(&v, "tdx") < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (cli_read_file(a->quote, &data, &size) < 0)
                return EXIT_USAGE;
        if (a->common.policy && policy_load(a->common.policy, &policy, &reason) < 0)
                return cli_error(EXIT_USAGE, "%s", reason ? reason : "invalid policy");
        if (a->report_data && verify_report_data_parse(a->report_data, report_data) != 0)
                return EXIT_USAGE;

        if (a->collateral) {
                struct stat st;

                if (stat(a->collateral, &st) < 0 || !S_ISDIR(st.st_mode))
                        return cli_error(EXIT_USAGE, "%s: not a readable directory", a->collateral);
                free(reason);
                reason = NULL;
                rc = pcs_collateral_load_dir(a->collateral, &col, &reason);
                if (rc == -ENOMEM)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (rc == -EACCES || rc == -EISDIR || rc == -EFBIG || rc == -ENOTDIR)
                        return cli_error(EXIT_USAGE, "%s", reason ? reason : a->collateral);
                if (rc < 0)
                        verdict_check(&v, "collateral.load", CHECK_FAIL, "%s", reason ? reason : "does not load");
        } else {
                rc = obtain_collateral(a, data, size, &col, &v);
                if (rc != 0)
                        return rc;
        }

        _cleanup_free_ TdxAnchor *anchors = NULL; /* Intel's root and the policy's simulator roots */
        if (policy_tdx_anchors(policy, &anchors, &params.n_anchors) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        params.anchors = anchors;
        if (tdx_verify(data, size, col, &params, &ap, &v) < 0)
                return cli_error(EXIT_REJECTED, "out of memory while verifying");
        if (verdict_has_failed_check(&v))
                v.authentic = false;
        if (!v.authentic && ap.tcb_evaluated) {
                tdx_appraisal_done(&ap);
                json_object_object_add(v.claims, "tcb_status", NULL);
                json_object_object_add(v.claims, "advisory_ids", NULL);
        }

        if (a->report_data && ap.parsed)
                verify_report_data_check(&v, report_data, ap.quote.report_data);
        if (ap.parsed)
                policy_evaluate_tdx(policy, &ap, a->common.at, &v);
        verify_conclude(&a->common, &v);
        return print_tdx_verdict(&v, a->common.json);
}

static int tdx_option(void *args, int c, const char *arg) {
        TdxArgs *a = args;

        switch (c) {
        case ARG_COLLATERAL:
                a->collateral = arg;
                break;
        case ARG_REPORT_DATA:
                a->report_data = arg;
                break;
        case ARG_PCCS_URL:
                if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0)
                        return cli_usage_error("--pccs-url: '%s' is not an http:// or https:// URL", arg);
                a->pccs_url = arg;
                break;
        }
        return 0;
}

int verify_tdx_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "collateral", required_argument, NULL, ARG_COLLATERAL },
                { "report-data", required_argument, NULL, ARG_REPORT_DATA },
                { "pccs-url", required_argument, NULL, ARG_PCCS_URL },
                VERIFY_ARGS_OPTIONS,
                {},
        };
        TdxArgs a = { .common.at = (int64_t) time(NULL) };
        const CliParser p = { .options = options, .help = help_tdx, .verb = "verify tdx",
                              .shared = verify_args_option, .shared_args = &a.common, .own = tdx_option, .args = &a };
        int r;

        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        if ((r = verify_args_positional(argc, argv, "verify tdx", "QUOTE", &a.quote)) != 0)
                return r;
        return verify_tdx(&a);
}
