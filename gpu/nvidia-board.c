/* SPDX-License-Identifier: Apache-2.0 */
/* Several GPUs in one verification (an 8-GPU HGX board): each report against its own chain, then
 * its measurements against the RIMs that match its driver and VBIOS versions (or a golden list).
 * The board is authentic only if every GPU is. */
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/parallel.h"
#include "cvm/util.h"

void nv_board_appraisal_done(NvBoardAppraisal *b) {
        free(b->gpus);
        *b = (NvBoardAppraisal) {};
}

static void check(Verdict *v, const char *prefix, const char *name, CheckStatus s, const char *fmt, ...)
        _printf_(5, 6);
static void check(Verdict *v, const char *prefix, const char *name, CheckStatus s, const char *fmt, ...) {
        _cleanup_free_ char *d = NULL, *full = strdup_printf("%s%s", prefix, name);
        va_list ap;

        va_start(ap, fmt);
        d = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!d || !full) {
                v->oom = true;
                return;
        }
        verdict_check(v, full, s, "%s", d);
}

/* The RIM whose colloquialVersion is `version` (case-insensitive); NULL when none. */
static NvRim *find_rim(const NvBoardParams *p, const char *version) {
        if (!version || !version[0])
                return NULL;
        for (size_t i = 0; i < p->n_rims; i++)
                if (p->rims[i] && p->rims[i]->version && strcasecmp(p->rims[i]->version, version) == 0)
                        return p->rims[i];
        return NULL;
}

/* Finds, verifies (once per RIM) and records one RIM; returns it when it can be trusted. */
static const NvRim *use_rim(const NvBoardParams *p, const char *prefix, const char *kind, const char *version,
                            const char *want_id, char *ret_id, size_t id_size, bool *ret_debug, Verdict *v) {
        NvRim *rim = find_rim(p, version);
        char name[32];
        NvPin def;

        snprintf(name, sizeof(name), "rim.%s", kind);
        if (!rim) {
                check(v, prefix, name, CHECK_FAIL, "no %s RIM for version %s (RIM id %s) among the %zu given", kind,
                      version && version[0] ? version : "(none in the report)", want_id ?: "unknown", p->n_rims);
                return NULL;
        }
        if (rim->verified < 0) {
                const NvPin *pins = p->rim_pins;
                size_t n = p->n_rim_pins;
                int k;

                if (!pins) {
                        memcpy(def.spki_sha256, nv_rim_root_spki_sha256, 32);
                        pins = &def;
                        n = 1;
                }
                k = nv_rim_verify(rim, pins, n, p->gpu.at, &rim->verify_error);
                if (k == -ENOMEM) {
                        v->oom = true;
                        return NULL;
                }
                rim->verified = k > 0;
        }
        if (!rim->verified) {
                check(v, prefix, name, CHECK_FAIL, "%s RIM %s: %s", kind, rim->id ?: want_id ?: "?",
                      rim->verify_error ?: "signature does not verify");
                return NULL;
        }
        snprintf(ret_id, id_size, "%s", rim->id ?: want_id ?: "");
        *ret_debug = nv_rim_is_debug(rim) || (rim->id && strcasestr(rim->id, "debug"));
        check(v, prefix, name, CHECK_PASS, "%s RIM %s (version %s): signed by a chain to the pinned RIM root, %zu entries",
              kind, ret_id[0] ? ret_id : "?", rim->version, rim->n_entries);
        return rim;
}

static json_object *mismatch_json(const NvMeasOutcome *o) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < o->n_mismatches; i++)
                json_object_array_add(a, json_object_new_int((int) o->mismatches[i].index));
        return a;
}

static void record_outcome(Verdict *v, const char *prefix, const NvMeasOutcome *o, const char *what) {
        char list[512] = "";
        size_t n = 0;

        if (o->error) {
                check(v, prefix, "measurements", CHECK_FAIL, "%s", o->error);
                return;
        }
        for (size_t i = 0; i < o->n_mismatches && n < sizeof(list) - 16; i++)
                n += (size_t) snprintf(list + n, sizeof(list) - n, "%s%u (%s)", i ? ", " : "", o->mismatches[i].index,
                                       o->mismatches[i].source == NV_MEAS_SOURCE_DRIVER  ? "driver"
                                       : o->mismatches[i].source == NV_MEAS_SOURCE_VBIOS ? "VBIOS"
                                                                                         : "golden");
        switch (o->result) {
        case NV_MEAS_MATCH:
                check(v, prefix, "measurements", CHECK_PASS, "all %u active %s values match%s", o->n_compared, what,
                      o->n_skipped ? " (index 35 skipped: NVDEC0 disabled)" : "");
                break;
        case NV_MEAS_MISMATCH:
                check(v, prefix, "measurements", CHECK_FAIL, "%zu of %u compared %s values differ; RIM indices %s",
                      o->n_mismatches, o->n_compared, what, list);
                break;
        default:
                check(v, prefix, "measurements", CHECK_SKIP, "not checked: %s", "no trusted driver and VBIOS RIM pair");
                break;
        }
}

/* The RIMs and measurements of one GPU whose evidence nv_verify() has checked (g->a), and its
 * claims. */
static int appraise_one(const NvGpuInput *in, size_t i, const NvBoardParams *p, NvGpuAppraisal *g, json_object *gpus,
                        Verdict *v) {
        _cleanup_free_ char *prefix = strdup_printf("gpu%zu.", i), *drv_id = NULL, *vb_id = NULL;
        _cleanup_(nv_meas_outcome_done) NvMeasOutcome o = {};
        json_object *claims;
        int r;

        if (!prefix)
                return -ENOMEM;
        g->measurements = NV_MEAS_NOT_CHECKED;

        if (!g->a.parsed)
                ;
        else if (!g->a.authentic)
                check(v, prefix, "measurements", CHECK_SKIP, "not checked: the evidence is not authentic");
        else if (p->golden) {
                r = nv_measure_golden(&g->a.report, p->golden, &o);
                if (r < 0)
                        return r;
                record_outcome(v, prefix, &o, "golden");
        } else if (p->n_rims > 0) {
                const NvRim *drv, *vb;

                (void) nv_report_driver_rim_id(&g->a.report, &drv_id);
                (void) nv_report_vbios_rim_id(&g->a.report, &vb_id);
                drv = use_rim(p, prefix, "driver", g->a.report.driver_version, drv_id, g->driver_rim_id,
                              sizeof(g->driver_rim_id), &g->driver_rim_debug, v);
                vb = use_rim(p, prefix, "vbios", g->a.report.has_vbios ? g->a.report.vbios_version : NULL, vb_id,
                             g->vbios_rim_id, sizeof(g->vbios_rim_id), &g->vbios_rim_debug, v);
                r = nv_measure_rims(&g->a.report, drv, vb, &o);
                if (r < 0)
                        return r;
                record_outcome(v, prefix, &o, "RIM");
        } else
                check(v, prefix, "measurements", CHECK_SKIP, "not checked: no RIMs and no golden list given");
        g->measurements = o.result;

        claims = g->a.parsed ? nv_report_claims(&g->a.report) : json_object_new_object();
        if (!claims)
                return -ENOMEM;
        json_object_object_add(claims, "authentic", json_object_new_boolean(g->a.authentic));
        json_object_object_add(claims, "measurements", json_object_new_string(nv_meas_result_to_string(o.result)));
        json_object_object_add(claims, "mismatching_indices", mismatch_json(&o));
        json_object_object_add(claims, "driver_rim", g->driver_rim_id[0] ? json_object_new_string(g->driver_rim_id) : NULL);
        json_object_object_add(claims, "vbios_rim", g->vbios_rim_id[0] ? json_object_new_string(g->vbios_rim_id) : NULL);
        if (in->chain && nv_chain_leaf(in->chain)) {
                _cleanup_free_ char *cn = sk_X509_num(in->chain->certs) > 1
                                                  ? x509_subject_cn(sk_X509_value(in->chain->certs, 1))
                                                  : NULL;
                json_object_object_add(claims, "hwmodel", cn ? json_object_new_string(cn) : NULL);
        }
        json_object_array_add(gpus, claims);
        return 0;
}

/* The evidence of every GPU (report signature, chain, FWID, nonce: nv_verify()), each into a
 * verdict of its own, on the available cores (include/cvm/parallel.h). */
typedef struct EvidenceJob {
        const NvGpuInput *gpus;
        const NvBoardParams *p;
        char (*prefixes)[sizeof("gpu.") + 20];
        Verdict *verdicts;
        NvGpuAppraisal *g;
        int *results;
} EvidenceJob;

static void verify_evidence(void *userdata, size_t i) {
        EvidenceJob *j = userdata;
        NvVerifyParams vp = j->p->gpu;

        vp.prefix = j->prefixes[i];
        if (j->p->nonces)
                vp.expected_nonce = j->p->nonces[i];
        j->results[i] = nv_verify(j->gpus[i].report, j->gpus[i].report_size, j->gpus[i].chain, &vp, &j->g[i].a,
                                  &j->verdicts[i]);
}

/* Whether two GPUs share a chain object: its caches are then filled by one thread at a time. */
static bool chains_shared(const NvGpuInput *gpus, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (size_t k = i + 1; gpus[i].chain && k < n; k++)
                        if (gpus[k].chain == gpus[i].chain)
                                return true;
        return false;
}

static void verdicts_free(Verdict *verdicts, size_t n) {
        for (size_t i = 0; verdicts && i < n; i++)
                verdict_done(&verdicts[i]);
        free(verdicts);
}

/* Runs the jobs; the caller merges each GPU's verdict in GPU order, whichever thread ran what. */
static int verify_all_evidence(const NvGpuInput *gpus, size_t n, const NvBoardParams *p, NvGpuAppraisal *g,
                               const char *tee, Verdict **ret_verdicts, int **ret_results) {
        _cleanup_free_ char(*prefixes)[sizeof("gpu.") + 20] = calloc(n ? n : 1, sizeof(*prefixes));
        Verdict *verdicts = calloc(n ? n : 1, sizeof(Verdict));
        int *results = calloc(n ? n : 1, sizeof(int));
        EvidenceJob job = { .gpus = gpus, .p = p, .prefixes = prefixes, .verdicts = verdicts, .g = g, .results = results };

        if (!prefixes || !verdicts || !results) {
                free(verdicts);
                free(results);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                snprintf(prefixes[i], sizeof(prefixes[i]), "gpu%zu.", i);
                if (verdict_init(&verdicts[i], tee) < 0) {
                        verdicts_free(verdicts, i);
                        free(results);
                        return -ENOMEM;
                }
        }
        if (chains_shared(gpus, n))
                for (size_t i = 0; i < n; i++)
                        verify_evidence(&job, i);
        else
                parallel_for(n, verify_evidence, &job);
        *ret_verdicts = verdicts;
        *ret_results = results;
        return 0;
}

/* One GPU's evidence checks into the board's verdict, as if recorded there. */
static int merge_verdict(Verdict *v, Verdict *from, int result) {
        for (size_t k = 0; k < from->n_checks; k++)
                verdict_check(v, from->checks[k].name, from->checks[k].status, "%s", from->checks[k].detail);
        v->oom = v->oom || from->oom;
        return result < 0 ? result : v->oom ? -ENOMEM : 0;
}

int nv_verify_gpus(const NvGpuInput *gpus, size_t n, const NvBoardParams *p, NvBoardAppraisal *ret, Verdict *v) {
        _cleanup_free_ NvGpuAppraisal *g = NULL;
        _cleanup_free_ int *results = NULL;
        Verdict *verdicts = NULL;
        json_object *arr;
        bool authentic = n > 0, any_mismatch = false, all_match = n > 0;
        int r;

        v->authentic = false;
        g = calloc(n ? n : 1, sizeof(NvGpuAppraisal));
        arr = json_object_new_array();
        if (!g || !arr) {
                json_object_put(arr);
                return -ENOMEM;
        }
        json_object_object_add(v->claims, "gpus", arr);
        json_object_object_add(v->claims, "gpu_count", json_object_new_int((int) n));
        if (n == 0)
                verdict_check(v, "gpus", CHECK_FAIL, "no GPU evidence given");
        r = verify_all_evidence(gpus, n, p, g, v->tee, &verdicts, &results);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = merge_verdict(v, &verdicts[i], results[i]);
                if (r >= 0)
                        r = appraise_one(&gpus[i], i, p, &g[i], arr, v);
                if (r < 0) {
                        verdicts_free(verdicts, n);
                        return r;
                }
                authentic = authentic && g[i].a.authentic;
                any_mismatch = any_mismatch || g[i].measurements == NV_MEAS_MISMATCH;
                all_match = all_match && g[i].measurements == NV_MEAS_MATCH;
        }
        verdicts_free(verdicts, n);
        v->authentic = authentic && !v->oom;
        if (ret) {
                *ret = (NvBoardAppraisal) {
                        .n_gpus = n,
                        .gpus = TAKE_PTR(g),
                        .authentic = v->authentic,
                        .measurements = any_mismatch ? NV_MEAS_MISMATCH : all_match ? NV_MEAS_MATCH : NV_MEAS_NOT_CHECKED,
                };
        }
        return v->oom ? -ENOMEM : 0;
}
