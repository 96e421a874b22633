/* SPDX-License-Identifier: Apache-2.0 */
/* RIMs and OCSP for a board of GPUs, one code path for `cvmctl verify gpu` and the launch's
 * appraisal: which RIMs the reports name, getting them from the cache or the RIM service, and
 * OCSP over the device and RIM chains. An appraisal on an event loop passes an NvWants: it then
 * reads the cache only and lists what is missing, for its caller to fetch on a worker thread. */
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"

void nv_wants_done(NvWants *w) {
        for (size_t i = 0; i < w->n_rim_ids; i++)
                free(w->rim_ids[i]);
        for (size_t i = 0; i < w->n_ocsp; i++) {
                X509_free(w->ocsp_certs[i]);
                X509_free(w->ocsp_issuers[i]);
        }
        *w = (NvWants) {};
}

bool nv_wants_empty(const NvWants *w) {
        return !w || (w->n_rim_ids == 0 && w->n_ocsp == 0);
}

static int want_rim(NvWants *w, const char *id) {
        for (size_t i = 0; i < w->n_rim_ids; i++)
                if (streq(w->rim_ids[i], id))
                        return 0;
        if (w->n_rim_ids >= NV_WANTS_MAX)
                return 0; /* the rest on a later round */
        w->rim_ids[w->n_rim_ids] = strdup(id);
        if (!w->rim_ids[w->n_rim_ids])
                return -ENOMEM;
        w->n_rim_ids++;
        return 0;
}

static int want_ocsp(NvWants *w, X509 *cert, X509 *issuer) {
        for (size_t i = 0; i < w->n_ocsp; i++)
                if (X509_cmp(w->ocsp_certs[i], cert) == 0 && X509_cmp(w->ocsp_issuers[i], issuer) == 0)
                        return 0;
        if (w->n_ocsp >= NV_WANTS_MAX)
                return 0;
        if (!X509_up_ref(cert))
                return -ENOMEM;
        if (!X509_up_ref(issuer)) {
                X509_free(cert);
                return -ENOMEM;
        }
        w->ocsp_certs[w->n_ocsp] = cert;
        w->ocsp_issuers[w->n_ocsp] = issuer;
        w->n_ocsp++;
        return 0;
}

int nv_wants_fetch(const NvFetchOptions *o, const NvWants *w, int64_t at, char **ret_reason) {
        int ret = 0;

        if (!o->cache_dir)
                return set_reason(ret_reason, -EINVAL, "no collateral cache to fetch NVIDIA RIMs and OCSP answers into");
        if (o->offline)
                return set_reason(ret_reason, -EIO, "offline: NVIDIA RIMs and OCSP answers come from the cache only");
        for (size_t i = 0; i < w->n_rim_ids; i++) {
                _cleanup_free_ uint8_t *xml = NULL;
                _cleanup_free_ char *why = NULL;
                size_t size;
                int r = nv_rim_get(o, w->rim_ids[i], &xml, &size, &why); /* stores it in the cache */

                if (r == -ENOMEM)
                        return r;
                if (r < 0 && ret == 0)
                        ret = set_reason(ret_reason, -EIO, "RIM %s: %s", w->rim_ids[i], why ?: strerror(-r));
        }
        for (size_t i = 0; i < w->n_ocsp; i++) {
                _cleanup_free_ char *why = NULL;
                NvOcspStatus st;
                int r = nv_ocsp_check(o, w->ocsp_certs[i], w->ocsp_issuers[i], at, &st, &why);

                if (r == -ENOMEM)
                        return r;
                if (r <= 0 && ret == 0) {
                        _cleanup_free_ char *cn = x509_subject_cn(w->ocsp_certs[i]);
                        ret = set_reason(ret_reason, -EIO, "OCSP for %s: %s", cn ?: "a certificate",
                                         why ?: r < 0 ? strerror(-r) : "no answer");
                }
        }
        return ret;
}

void nv_rim_set_done(NvRimSet *s) {
        for (size_t i = 0; i < s->n; i++)
                nv_rim_free(s->rims[i]);
        *s = (NvRimSet) {};
}

int nv_rim_set_add(NvRimSet *s, const uint8_t *data, size_t size, const char *what, const char *id, Verdict *v) {
        _cleanup_free_ char *reason = NULL;
        NvRim *rim = NULL;
        int r;

        if (s->n >= NV_RIM_SET_MAX)
                return -E2BIG;
        r = nv_rim_parse(data, size, &rim, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                verdict_check(v, "rim.load", CHECK_FAIL, "%s: %s", what, reason ?: "malformed RIM");
                return 0;
        }
        if (id && !(rim->id = strdup(id))) {
                nv_rim_free(rim);
                return -ENOMEM;
        }
        s->rims[s->n++] = rim;
        return 0;
}

static bool set_has(const NvRimSet *s, const char *id) {
        for (size_t i = 0; i < s->n; i++)
                if (s->rims[i]->id && streq(s->rims[i]->id, id))
                        return true;
        return false;
}

/* One RIM id: already in the set, from the cache or the service, or wanted. */
static int get_rim(const NvFetchOptions *o, const char *id, NvRimSet *set, NvWants *wants, Verdict *v) {
        _cleanup_free_ uint8_t *xml = NULL;
        _cleanup_free_ char *err = NULL;
        NvFetchOptions cache_only = *o;
        size_t size;
        int r;

        if (set_has(set, id))
                return 0;
        if (wants)
                cache_only.offline = true;
        r = nv_rim_get(&cache_only, id, &xml, &size, &err);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT && wants) {
                verdict_check(v, "rim.fetch", CHECK_FAIL, "RIM %s is not in the cache yet: it is fetched for the next exchange",
                              id);
                return want_rim(wants, id);
        }
        if (r < 0) {
                verdict_check(v, "rim.fetch", CHECK_FAIL, "%s", err ?: strerror(-r));
                return 0;
        }
        r = nv_rim_set_add(set, xml, size, id, id, v);
        return r == -E2BIG ? 0 : r;
}

int nv_rims_for_reports(const NvFetchOptions *o, const NvGpuInput *gpus, size_t n, NvRimSet *set, NvWants *wants,
                        Verdict *v) {
        _cleanup_free_ NvReport *rep = calloc(1, sizeof(NvReport));

        if (!rep)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char *ids[2] = {};
                int r = 0;

                /* an unreadable report has its own failed check; it names no RIM */
                if (nv_report_parse(gpus[i].report, gpus[i].report_size, rep, NULL) < 0)
                        continue;
                (void) nv_report_driver_rim_id(rep, &ids[0]);
                (void) nv_report_vbios_rim_id(rep, &ids[1]);
                for (size_t k = 0; k < 2; k++) {
                        if (ids[k] && r >= 0)
                                r = get_rim(o, ids[k], set, wants, v);
                        free(ids[k]);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* OCSP for certs[first .. last) of a chain, each issued by the next: 1 all good, 0 not (the
 * check records why), -ENOMEM. With wants, certificates without a usable cached answer are all
 * listed (not only the first), so that one round of fetching is enough. */
static int chain_ocsp(const NvFetchOptions *o, STACK_OF(X509) *certs, size_t first, size_t last, int64_t at,
                      NvWants *wants, const char *name, const char *what, Verdict *v) {
        size_t n = certs ? (size_t) sk_X509_num(certs) : 0;
        NvFetchOptions opts = *o;
        bool missing = false;

        if (wants)
                opts.offline = true;
        if (n < 2 || last >= n || first >= last) {
                verdict_check(v, name, CHECK_FAIL, "the chain is too short for OCSP");
                return 0;
        }
        for (size_t i = first; i < last; i++) {
                X509 *cert = sk_X509_value(certs, (int) i), *issuer = sk_X509_value(certs, (int) i + 1);
                _cleanup_free_ char *why = NULL, *cn = x509_subject_cn(cert);
                NvOcspStatus st;
                int r = nv_ocsp_check(&opts, cert, issuer, at, &st, &why);

                if (r == -ENOMEM)
                        return r;
                if (r == 0 && wants) {
                        missing = true;
                        r = want_ocsp(wants, cert, issuer);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r <= 0) {
                        verdict_check(v, name, CHECK_FAIL, "certificate %zu (%s): %s", i, cn ?: "no CN",
                                      why ?: r < 0 ? strerror(-r) : "no OCSP answer");
                        return 0;
                }
                if (st != NV_OCSP_GOOD) {
                        verdict_check(v, name, CHECK_FAIL, "certificate %zu (%s) is %s according to OCSP", i, cn ?: "no CN",
                                      nv_ocsp_status_to_string(st));
                        return 0;
                }
        }
        if (missing) {
                verdict_check(v, name, CHECK_FAIL, "no usable OCSP answer in the cache yet: fetched for the next exchange");
                return 0;
        }
        verdict_check(v, name, CHECK_PASS, "%s good according to OCSP", what);
        return 1;
}

static bool rim_used(const NvRim *rim, const NvBoardAppraisal *b) {
        for (size_t i = 0; rim->id && i < b->n_gpus; i++)
                if (streq(b->gpus[i].driver_rim_id, rim->id) || streq(b->gpus[i].vbios_rim_id, rim->id))
                        return true;
        return false;
}

int nv_board_ocsp(const NvFetchOptions *o, const NvGpuInput *gpus, size_t n, const NvRimSet *rims,
                  const NvBoardAppraisal *b, int64_t at, NvWants *wants, Verdict *v) {
        bool all = n > 0;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = strdup_printf("gpu%zu.ocsp", i);
                int k;

                if (!name)
                        return -ENOMEM;
                if (!gpus[i].chain) {
                        verdict_check(v, name, CHECK_FAIL, "no certificate chain");
                        all = false;
                        continue;
                }
                k = chain_ocsp(o, gpus[i].chain->certs, 1, NV_CHAIN_LENGTH - 1, at, wants, name,
                               "certificates 1-3 of the chain are", v);
                if (k < 0)
                        return k;
                all = all && k > 0;
        }
        for (size_t j = 0; rims && j < rims->n; j++) {
                const NvRim *rim = rims->rims[j];
                _cleanup_free_ char *name = NULL;
                int k;

                if (!rim_used(rim, b) || rim->verified != 1)
                        continue;
                name = strdup_printf("rim.%s.ocsp", rim->id);
                if (!name)
                        return -ENOMEM;
                k = chain_ocsp(o, rim->certs, 0, (size_t) sk_X509_num(rim->certs) - 1, at, wants, name,
                               "the RIM signer chain is", v);
                if (k < 0)
                        return k;
                all = all && k > 0;
        }
        return all ? 1 : 0;
}
