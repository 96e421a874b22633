/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl collateral fetch gpu (collateral-fetch-gpu.h): the same provider and source the
 * launch's appraisal uses, in its blocking mode, so that what lands in the cache, and where, is
 * exactly what a launch later finds (offline too). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "collateral-fetch-gpu.h"
#include "cvm/collateral.h"
#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/guest-proto.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"

#define GPU_FETCH_MAX 64u /* as cvmctl verify gpu */

typedef struct Board {
        uint8_t *reports[GPU_FETCH_MAX];
        size_t sizes[GPU_FETCH_MAX];
        NvChain *chains[GPU_FETCH_MAX];
        NvGpuInput in[GPU_FETCH_MAX];
        NvChain *switches[PROTO_SWITCHES_MAX];
        NvRimSet rims;
} Board;

static void board_done(Board *b) {
        for (size_t i = 0; i < GPU_FETCH_MAX; i++) {
                free(b->reports[i]);
                nv_chain_free(b->chains[i]);
        }
        for (size_t i = 0; i < PROTO_SWITCHES_MAX; i++)
                nv_chain_free(b->switches[i]);
        nv_rim_set_done(&b->rims);
}

typedef struct Out {
        json_object *items; /* --json */
        unsigned failed;
} Out;

static int report(Out *o, const char *kind, const char *what, const char *outcome, const char *error) {
        json_object *j;

        if (error)
                o->failed++;
        if (!o->items) {
                printf("%-5s %-48s %s%s%s\n", kind, what, error ? "failed" : outcome, error ? ": " : "", error ?: "");
                return 0;
        }
        j = json_object_new_object();
        if (!j || json_object_array_add(o->items, j) < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        if (json_object_object_add(j, "kind", json_object_new_string(kind)) < 0 ||
            json_object_object_add(j, "name", json_object_new_string(what)) < 0 ||
            json_object_object_add(j, "result", error ? NULL : json_object_new_string(outcome)) < 0 ||
            json_object_object_add(j, "error", error ? json_object_new_string(error) : NULL) < 0)
                return -ENOMEM;
        return 0;
}

/* A chain file: PEM or DER; -ENOMEM, else EXIT_USAGE reported. */
static int load_chain(const char *path, NvChain **ret) {
        _cleanup_free_ uint8_t *pem = NULL;
        size_t size;
        int r;

        if (cli_read_file(path, &pem, &size) < 0)
                return EXIT_USAGE;
        r = nv_chain_new(pem, size, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return cli_error(EXIT_USAGE, "%s: no PEM or DER certificate chain", path);
        return 0;
}

/* OCSP for certs[first .. last), each issued by the next. */
static int chain_ocsp(const NvSource *src, STACK_OF(X509) *certs, size_t first, size_t last, int64_t at, Out *o) {
        size_t n = certs ? (size_t) sk_X509_num(certs) : 0;

        for (size_t i = first; i < last && i + 1 < n; i++) {
                X509 *cert = sk_X509_value(certs, (int) i), *issuer = sk_X509_value(certs, (int) i + 1);
                _cleanup_free_ char *why = NULL, *cn = x509_subject_cn(cert);
                NvOcspStatus st;
                int r = src->ocsp(src, cert, issuer, at, &st, &why);

                if (r == -ENOMEM)
                        return r;
                r = report(o, "ocsp", cn ?: "(no CN)", r > 0 ? nv_ocsp_status_to_string(st) : NULL,
                           r > 0 ? NULL : why ?: strerror(r < 0 ? -r : EIO));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int fetch(const GpuFetchArgs *a, Collateral *provider, Board *b, Out *o) {
        _cleanup_(verdict_done) Verdict v = {};
        NvSource src;
        int r;

        collateral_gpu_source(provider, NULL, NULL, &src);
        if (verdict_init(&v, "nvidia-gpu") < 0)
                return -ENOMEM;
        r = nv_rims_for_reports(&src, b->in, a->n, a->at, &b->rims, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b->rims.n; i++)
                if ((r = report(o, "rim", b->rims.rims[i]->id, "cached", NULL)) < 0)
                        return r;
        /* what could not be had, the source's reason for each */
        for (size_t i = 0; i < v.n_checks; i++)
                if (v.checks[i].status == CHECK_FAIL &&
                    (r = report(o, "rim", v.checks[i].name, NULL, v.checks[i].detail)) < 0)
                        return r;
        for (size_t i = 0; i < a->n; i++)
                if (b->chains[i] && (r = chain_ocsp(&src, b->chains[i]->certs, 1, NV_CHAIN_LENGTH - 1, a->at, o)) < 0)
                        return r;
        for (size_t i = 0; i < a->n_switch_chains; i++)
                if ((r = chain_ocsp(&src, b->switches[i]->certs, 1, NV_CHAIN_LENGTH - 1, a->at, o)) < 0)
                        return r;
        for (size_t i = 0; i < b->rims.n; i++) {
                STACK_OF(X509) *certs = b->rims.rims[i]->certs;

                if (certs && sk_X509_num(certs) > 1 &&
                    (r = chain_ocsp(&src, certs, 0, (size_t) sk_X509_num(certs) - 1, a->at, o)) < 0)
                        return r;
        }
        return 0;
}

int collateral_fetch_gpu(const GpuFetchArgs *a) {
        _cleanup_(board_done) Board b = {};
        _cleanup_(collateral_freep) Collateral *provider = NULL;
        _cleanup_(json_object_putp) json_object *obj = NULL;
        CollateralConfig cc = { .cache_dir = a->cache, .nvidia_rim_url = a->rim_url, .nvidia_ocsp_url = a->ocsp_url,
                                .progress = cli_progress };
        Out o = {};
        int r;

        if (a->n > GPU_FETCH_MAX)
                return cli_usage_error("collateral fetch gpu: %zu reports, at most %u", a->n, GPU_FETCH_MAX);
        if (a->n_switch_chains > PROTO_SWITCHES_MAX)
                return cli_usage_error("collateral fetch gpu: %zu switch chains, at most %u", a->n_switch_chains,
                                       PROTO_SWITCHES_MAX);
        for (size_t i = 0; i < a->n; i++) {
                if (cli_read_file(a->reports[i], &b.reports[i], &b.sizes[i]) < 0)
                        return EXIT_USAGE;
                r = load_chain(a->chains[i], &b.chains[i]);
                if (r != 0)
                        return r == -ENOMEM ? cli_error(EXIT_REJECTED, "out of memory") : r;
                b.in[i] = (NvGpuInput) { .report = b.reports[i], .report_size = b.sizes[i], .chain = b.chains[i] };
        }
        for (size_t i = 0; i < a->n_switch_chains; i++) {
                r = load_chain(a->switch_chains[i], &b.switches[i]);
                if (r != 0)
                        return r == -ENOMEM ? cli_error(EXIT_REJECTED, "out of memory") : r;
        }
        if (collateral_new(&cc, &provider) < 0)
                return cli_error(EXIT_REJECTED, "cannot set up the collateral cache %s", a->cache);
        if (a->json && (!(obj = json_object_new_object()) || !(o.items = json_object_new_array()) ||
                        json_object_object_add(obj, "tee", json_object_new_string("gpu")) < 0 ||
                        json_object_object_add(obj, "cache", json_object_new_string(a->cache)) < 0 ||
                        json_object_object_add(obj, "items", o.items) < 0))
                return cli_error(EXIT_REJECTED, "out of memory");
        r = fetch(a, provider, &b, &o);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (a->json && (json_object_object_add(obj, "failed", json_object_new_int((int) o.failed)) < 0 ||
                        cli_print_json(obj, true) < 0))
                return cli_error(EXIT_REJECTED, "cannot write to standard output");
        if (o.failed > 0) {
                fprintf(stderr, "cvmctl: %u of the GPU collateral could not be had\n", o.failed);
                return EXIT_REJECTED;
        }
        return 0;
}
