/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl verify gpu: verify NVIDIA confidential GPU evidence (one or several GPUs) against the
 * pinned NVIDIA roots, RIMs or a golden list, OCSP and a policy. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "verify-args.h"
#include "cvm/collateral.h"
#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/kds.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/policy.h"
#include "cvm/util.h"

#define GPUS_MAX 64u

static void help_gpu(void) {
        printf("Usage: cvmctl verify gpu REPORT... --chain PEM... [OPTIONS]\n"
               "\n"
               "Verify NVIDIA confidential-computing GPU attestation reports (SPDM GET_MEASUREMENTS request +\n"
               "MEASUREMENTS response): the ECDSA P-384 signature with the device leaf key, the 5-certificate\n"
               "chain to the pinned NVIDIA Device Identity CA at the verification time, the FWID binding, the\n"
               "nonce, and the measurements against the driver and VBIOS RIMs (or a golden list); then OCSP\n"
               "and the policy. Several reports (an HGX board) are verified together: every one must pass.\n"
               "\n"
               "Options:\n"
               "  --chain PEM         the GPU's certificate chain, leaf first; one per REPORT, in order\n"
               "  --nonce HEX         expected nonce (32 bytes): once for every GPU, or once per REPORT\n"
               "  --rim FILE          a signed RIM (SWID XML); may be repeated\n"
               "  --rim-dir DIR       every *.xml in DIR is a RIM\n"
               "  --golden FILE       compare against a golden list instead of RIMs: a JSON array of\n"
               "                      {\"index\": RIM index, \"values\": [\"hex\", ...]}\n"
               "  --policy FILE       policy file (JSON, \"gpu\" section)\n"
               "  --at TIME           verification time, RFC 3339 (default: now)\n"
               "  --ocsp              check the chains with OCSP (also when the policy requires it)\n"
               "  --offline           never contact NVIDIA: RIMs and OCSP answers from the cache only\n"
               "  --cache DIR         collateral cache (default /var/cache/cvmd as root)\n"
               "  --rim-url URL       RIM service (default https://rim.attestation.nvidia.com)\n"
               "  --ocsp-url URL      OCSP responder (default https://ocsp.ndis.nvidia.com)\n"
               "  --json              one JSON object on stdout\n"
               "  -h, --help          show this help\n"
               "\n"
               "Without --rim, --rim-dir or --golden the RIMs each report names are taken from the cache or\n"
               "the RIM service. Accepted means authentic, measurements \"match\" and no policy denial.\n"
               "Exit status: 0 accepted, 1 rejected (including malformed evidence), 2 usage error or\n"
               "unreadable file.\n");
}

typedef struct GpuArgs {
        char **reports;
        const char **chains, **nonces, **rims;
        size_t n_reports, n_chains, n_nonces, n_rims;
        const char *rim_dir, *golden, *rim_url, *ocsp_url;
        bool ocsp;
        VerifyArgs common;
} GpuArgs;

enum {
        ARG_CHAIN = 0x100,
        ARG_NONCE,
        ARG_RIM,
        ARG_RIM_DIR,
        ARG_GOLDEN,
        ARG_OCSP,
        ARG_RIM_URL,
        ARG_OCSP_URL,
};

typedef struct State {
        uint8_t *reports[GPUS_MAX];
        size_t report_sizes[GPUS_MAX];
        NvChain *chains[GPUS_MAX];
        uint8_t nonces[GPUS_MAX][NV_NONCE_SIZE];
        NvRimSet rims;
        NvGolden *golden;
} State;

static void state_done(State *s) {
        for (size_t i = 0; i < GPUS_MAX; i++) {
                free(s->reports[i]);
                nv_chain_free(s->chains[i]);
        }
        nv_rim_set_done(&s->rims);
        nv_golden_free(s->golden);
}

/* The id a RIM was stored under: its file name without ".xml", when that is a valid id. */
static char *rim_id_from_path(const char *path) {
        const char *base = strrchr(path, '/');
        size_t n;
        char *id;

        base = base ? base + 1 : path;
        n = strlen(base);
        if (n <= 4 || !streq(base + n - 4, ".xml"))
                return NULL;
        id = strndup(base, n - 4);
        if (id && !nv_rim_id_is_valid(id))
                id = mfree_str(id);
        return id;
}

/* Adds one RIM. A file that cannot be read is a usage error; one that does not parse is evidence
 * trouble, recorded as a failed check. */
static int add_rim_data(State *s, const uint8_t *data, size_t size, const char *what, const char *id, Verdict *v) {
        int r = nv_rim_set_add(&s->rims, data, size, what, id, v);

        if (r == -E2BIG)
                return cli_error(EXIT_USAGE, "more than %u RIMs", NV_RIM_SET_MAX);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        return 0;
}

static int add_rim_file(State *s, const char *path, Verdict *v) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *id = rim_id_from_path(path);
        size_t size;

        if (cli_read_file(path, &data, &size) < 0)
                return EXIT_USAGE;
        return add_rim_data(s, data, size, path, id, v);
}

typedef struct RimDir {
        State *s;
        Verdict *v;
} RimDir;

static int add_rim_dir_file(void *userdata, const char *path) {
        RimDir *d = userdata;

        return add_rim_file(d->s, path, d->v);
}

static void print_gpus(json_object *gpus) {
        printf("\nGPUs:\n");
        for (size_t i = 0; i < json_object_array_length(gpus); i++) {
                json_object *g = json_object_array_get_idx(gpus, i), *x;
#define FIELD(k) (json_object_object_get_ex(g, k, &x) && x ? json_object_get_string(x) : "-")
                printf("  gpu%zu: authentic %s, measurements %s, driver %s, VBIOS %s, %s\n", i, FIELD("authentic"),
                       FIELD("measurements"), FIELD("driver_version"), FIELD("vbios_version"), FIELD("hwmodel"));
                printf("        nonce %s\n        fwid  %s\n", FIELD("nonce"), FIELD("fwid"));
                if (json_object_object_get_ex(g, "mismatching_indices", &x) && json_object_array_length(x) > 0)
                        printf("        mismatching RIM indices %s\n",
                               json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN));
#undef FIELD
        }
}

static int print_result(Verdict *v, const NvBoardAppraisal *b, bool json) {
        const char *meas = nv_meas_result_to_string(b->measurements);

        if (json) {
                _cleanup_(json_object_putp) json_object *o = verdict_to_json(v);
                if (!o)
                        return cli_error(EXIT_REJECTED, "cannot write the verdict");
                json_object_object_add(o, "measurements", json_object_new_string(meas));
                if (cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the verdict");
        } else {
                _cleanup_(json_object_putp) json_object *gpus = NULL;
                json_object *g;

                /* The per-GPU claims read better as a table than as one JSON line. */
                if (json_object_object_get_ex(v->claims, "gpus", &g)) {
                        gpus = json_object_get(g);
                        json_object_object_del(v->claims, "gpus");
                }
                verdict_print(v, stdout);
                printf("\nMeasurements: %s\n", meas);
                if (gpus)
                        print_gpus(gpus);
        }
        return v->accepted && !v->oom ? EXIT_ACCEPTED : EXIT_REJECTED;
}

static int verify_gpu(const GpuArgs *a) {
        _cleanup_(state_done) State s = {};
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        _cleanup_free_ char *reason = NULL, *cache = NULL;
        NvGpuInput in[GPUS_MAX];
        _cleanup_(collateral_freep) Collateral *provider = NULL;
        CollateralConfig cc = {};
        NvSource src;
        NvBoardParams p = {};
        _cleanup_free_ NvPin *pins = NULL, *rim_pins = NULL;
        int rc;

        if (verdict_init(&v, "nvidia-gpu") < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (a->common.policy && policy_load(a->common.policy, &policy, &reason) < 0)
                return cli_error(EXIT_USAGE, "%s", reason ?: "invalid policy");
        for (size_t i = 0; i < a->n_nonces; i++)
                if (strlen(a->nonces[i]) != 2 * NV_NONCE_SIZE ||
                    hex_decode_exact(a->nonces[i], s.nonces[i], NV_NONCE_SIZE) < 0)
                        return cli_usage_error("--nonce: '%s' is not 32 bytes (64 hex digits)", a->nonces[i]);
        if (a->n_nonces > 1 && a->n_nonces != a->n_reports)
                return cli_usage_error("verify gpu: %zu nonces for %zu reports: give one, or one per report", a->n_nonces,
                                       a->n_reports);

        for (size_t i = 0; i < a->n_reports; i++) {
                _cleanup_free_ uint8_t *pem = NULL;
                size_t size;
                int r;

                if (cli_read_file(a->reports[i], &s.reports[i], &s.report_sizes[i]) < 0 ||
                    cli_read_file(a->chains[i], &pem, &size) < 0)
                        return EXIT_USAGE;
                r = nv_chain_new(pem, size, &s.chains[i]);
                if (r == -ENOMEM)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (r < 0)
                        verdict_check(&v, "chain.load", CHECK_FAIL, "%s: no PEM or DER certificate", a->chains[i]);
        }
        if (a->golden) {
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_free_ char *why = NULL;
                size_t size;

                if (cli_read_file(a->golden, &data, &size) < 0)
                        return EXIT_USAGE;
                if (nv_golden_parse((const char *) data, size, &s.golden, &why) < 0)
                        return cli_error(EXIT_USAGE, "%s: %s", a->golden, why ?: "invalid golden list");
        }
        for (size_t i = 0; i < a->n_rims; i++) {
                rc = add_rim_file(&s, a->rims[i], &v);
                if (rc != 0)
                        return rc;
        }
        if (a->rim_dir) {
                rc = cli_dir_foreach(a->rim_dir, ".xml", add_rim_dir_file, &(RimDir){&s, &v});
                if (rc != 0)
                        return rc;
        }

        rc = verify_args_cache_dir(&a->common, &cache);
        if (rc != 0)
                return rc;
        /* the host's collateral provider, as the launch uses it: its cache, single flights
         * across processes, backoff and freshness windows; blocking here */
        cc = (CollateralConfig) { .cache_dir = cache, .nvidia_rim_url = a->rim_url, .nvidia_ocsp_url = a->ocsp_url,
                                  .offline = a->common.offline, .progress = cli_progress };
        if (collateral_new(&cc, &provider) < 0)
                return cli_error(EXIT_REJECTED, "cannot set up the collateral cache");
        collateral_gpu_source(provider, NULL, NULL, &src);
        for (size_t i = 0; i < a->n_reports; i++)
                in[i] = (NvGpuInput) { .report = s.reports[i], .report_size = s.report_sizes[i], .chain = s.chains[i] };
        /* the RIMs the reports name, from the cache or the RIM service; one that cannot be had is
         * recorded, and verification then fails on the missing RIM */
        if (!a->golden && a->n_rims == 0 && !a->rim_dir && nv_rims_for_reports(&src, in, a->n_reports, a->common.at, &s.rims, &v) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        /* NVIDIA's root, and the simulator roots the policy names (gpu.trusted_simulator_roots). */
        if (policy_gpu_pins(policy, &pins, &p.gpu.n_root_pins) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (policy_gpu_rim_pins(policy, &rim_pins, &p.n_rim_pins) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        p.rim_pins = rim_pins;
        p.gpu.root_pins = pins;
        p.gpu.at = a->common.at;
        p.rims = s.rims.rims;
        p.n_rims = s.rims.n;
        p.golden = s.golden;
        if (a->n_nonces == 1)
                p.gpu.expected_nonce = s.nonces[0];
        else if (a->n_nonces > 1)
                p.nonces = (const uint8_t(*)[NV_NONCE_SIZE]) s.nonces;
        rc = nv_verify_gpus(in, a->n_reports, &p, &b, &v);
        if (rc < 0)
                return cli_error(EXIT_REJECTED, "out of memory while verifying");
        /* A chain or RIM file that failed to load is a failed check, even if the rest verified. */
        if (verdict_find_check(&v, "chain.load") && verdict_find_check(&v, "chain.load")->status == CHECK_FAIL)
                v.authentic = false;

        if (a->ocsp || policy_gpu_requires_ocsp(policy)) {
                rc = nv_board_ocsp(&src, in, a->n_reports, &s.rims, &b, a->common.at, &v);
                if (rc < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
                b.ocsp_checked = rc > 0;
        } else
                verdict_check(&v, "ocsp", CHECK_SKIP, "not requested (--ocsp or the policy's gpu.require_ocsp)");

        if (policy)
                policy_evaluate_gpu(policy, &b, &v);
        /* Measurements that do not match refuse like a policy reason, so that acceptance is decided
         * as for every verifier. */
        if (v.authentic && b.measurements != NV_MEAS_MATCH && v.n_reasons == 0)
                verdict_reason(&v, "measurements: %s; acceptance needs the measurements to match the RIMs or the golden list",
                               nv_meas_result_to_string(b.measurements));
        verify_conclude(&a->common, &v);
        if (b.measurements != NV_MEAS_MATCH)
                v.accepted = false;
        return print_result(&v, &b, a->common.json);
}

static int gpu_option(void *args, int c, const char *arg) {
        GpuArgs *a = args;

        switch (c) {
        case ARG_CHAIN:
                a->chains[a->n_chains++] = arg;
                break;
        case ARG_NONCE:
                a->nonces[a->n_nonces++] = arg;
                break;
        case ARG_RIM:
                a->rims[a->n_rims++] = arg;
                break;
        case ARG_RIM_DIR:
                a->rim_dir = arg;
                break;
        case ARG_GOLDEN:
                a->golden = arg;
                break;
        case ARG_OCSP:
                a->ocsp = true;
                break;
        case ARG_RIM_URL:
                a->rim_url = arg;
                break;
        case ARG_OCSP_URL:
                a->ocsp_url = arg;
                break;
        }
        return 0;
}

int verify_gpu_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "chain", required_argument, NULL, ARG_CHAIN },
                { "nonce", required_argument, NULL, ARG_NONCE },
                { "rim", required_argument, NULL, ARG_RIM },
                { "rim-dir", required_argument, NULL, ARG_RIM_DIR },
                { "golden", required_argument, NULL, ARG_GOLDEN },
                { "ocsp", no_argument, NULL, ARG_OCSP },
                { "rim-url", required_argument, NULL, ARG_RIM_URL },
                { "ocsp-url", required_argument, NULL, ARG_OCSP_URL },
                VERIFY_ARGS_OPTIONS,
                {},
        };
        _cleanup_free_ const char **chains = calloc((size_t) argc + 1, sizeof(char *)),
                                  **nonces = calloc((size_t) argc + 1, sizeof(char *)),
                                  **rims = calloc((size_t) argc + 1, sizeof(char *));
        GpuArgs a = { .common.at = (int64_t) time(NULL) };
        const CliParser p = { .options = options, .help = help_gpu, .verb = "verify gpu",
                              .shared = verify_args_option, .shared_args = &a.common, .own = gpu_option, .args = &a };
        int r;

        if (!chains || !nonces || !rims)
                return cli_error(EXIT_REJECTED, "out of memory");
        a.chains = chains;
        a.nonces = nonces;
        a.rims = rims;
        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        /* argv[0] is "gpu"; the reports are the positional arguments. */
        if (optind >= argc)
                return cli_usage_error("verify gpu: missing REPORT file");
        a.reports = argv + optind;
        a.n_reports = (size_t) (argc - optind);
        if (a.n_reports > GPUS_MAX)
                return cli_usage_error("verify gpu: %zu reports, at most %u", a.n_reports, GPUS_MAX);
        if (a.n_chains != a.n_reports)
                return cli_usage_error("verify gpu: %zu reports but %zu --chain files: give one chain per report, in order",
                                       a.n_reports, a.n_chains);
        if (a.n_nonces > 1 && a.n_nonces != a.n_reports)
                return cli_usage_error("verify gpu: %zu nonces for %zu reports: give one, or one per report", a.n_nonces,
                                       a.n_reports);
        if (a.golden && (a.n_rims || a.rim_dir))
                return cli_usage_error("verify gpu: --golden replaces the RIMs; do not combine it with --rim or --rim-dir");
        return verify_gpu(&a);
}
