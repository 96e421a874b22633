/* SPDX-License-Identifier: Apache-2.0 */
/* RIMs and OCSP for a board of GPUs, one code path for `cvmctl verify gpu` and the launch's
 * appraisal: which RIMs the reports name, getting them from the cache or the RIM service, and
 * OCSP over the device and RIM chains, all from an NvSource (the host's collateral provider). A
 * source on an event loop answers -EINPROGRESS for what it is fetching: every item is still asked
 * for, so that one wait covers them all, and the caller gets -EINPROGRESS instead of a verdict. */
#include <stdlib.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"

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

/* One RIM id: already in the set, or from the source. 1 asked and in flight, 0, -ENOMEM. */
static int get_rim(const NvSource *src, const char *id, int64_t at, NvRimSet *set, Verdict *v) {
        _cleanup_free_ uint8_t *xml = NULL;
        _cleanup_free_ char *err = NULL;
        size_t size;
        int r;

        if (set_has(set, id))
                return 0;
        r = src->rim(src, id, at, &xml, &size, &err);
        if (r == -ENOMEM)
                return r;
        if (r == -EINPROGRESS)
                return 1;
        if (r < 0) {
                /* the source's reason names the RIM */
                if (err)
                        verdict_check(v, "rim.fetch", CHECK_FAIL, "%s", err);
                else
                        verdict_check(v, "rim.fetch", CHECK_FAIL, "RIM %s: %s", id, strerror(-r));
                return 0;
        }
        r = nv_rim_set_add(set, xml, size, id, id, v);
        return r == -E2BIG ? 0 : r;
}

int nv_rims_for_reports(const NvSource *src, const NvGpuInput *gpus, size_t n, int64_t at, NvRimSet *set, Verdict *v) {
        _cleanup_free_ NvReport *rep = calloc(1, sizeof(NvReport));
        bool pending = false;

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
                        if (ids[k] && r >= 0) {
                                r = get_rim(src, ids[k], at, set, v);
                                pending = pending || r > 0;
                        }
                        free(ids[k]);
                }
                if (r < 0)
                        return r;
        }
        return pending ? -EINPROGRESS : 0;
}

/* OCSP for certs[first .. last) of a chain, each issued by the next: 1 all good, 0 not (the
 * check records why), -EINPROGRESS (every certificate asked for), -ENOMEM. */
static int chain_ocsp(const NvSource *src, STACK_OF(X509) *certs, size_t first, size_t last, int64_t at,
                      const char *name, const char *what, Verdict *v) {
        size_t n = certs ? (size_t) sk_X509_num(certs) : 0;
        bool pending = false;

        if (n < 2 || last >= n || first >= last) {
                verdict_check(v, name, CHECK_FAIL, "the chain is too short for OCSP");
                return 0;
        }
        for (size_t i = first; i < last; i++) {
                X509 *cert = sk_X509_value(certs, (int) i), *issuer = sk_X509_value(certs, (int) i + 1);
                _cleanup_free_ char *why = NULL, *cn = NULL;
                NvOcspStatus st;
                int r = src->ocsp(src, cert, issuer, at, &st, &why);

                if (r == -ENOMEM)
                        return r;
                if (r == -EINPROGRESS) {
                        pending = true;
                        continue;
                }
                if (pending)
                        continue;
                cn = x509_subject_cn(cert);
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
        if (pending)
                return -EINPROGRESS;
        verdict_check(v, name, CHECK_PASS, "%s good according to OCSP", what);
        return 1;
}

static bool rim_used(const NvRim *rim, const NvBoardAppraisal *b) {
        for (size_t i = 0; rim->id && i < b->n_gpus; i++)
                if (streq(b->gpus[i].driver_rim_id, rim->id) || streq(b->gpus[i].vbios_rim_id, rim->id))
                        return true;
        return false;
}

int nv_chains_ocsp(const NvSource *src, const char *kind, NvChain *const *chains, size_t n, int64_t at, Verdict *v) {
        bool all = n > 0, pending = false;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = strdup_printf("%s%zu.ocsp", kind, i);
                int k;

                if (!name)
                        return -ENOMEM;
                if (!chains[i]) {
                        verdict_check(v, name, CHECK_FAIL, "no certificate chain");
                        all = false;
                        continue;
                }
                k = chain_ocsp(src, chains[i]->certs, 1, NV_CHAIN_LENGTH - 1, at, name,
                               "certificates 1-3 of the chain are", v);
                if (k == -EINPROGRESS) {
                        pending = true;
                        continue;
                }
                if (k < 0)
                        return k;
                all = all && k > 0;
        }
        if (pending)
                return -EINPROGRESS;
        return all ? 1 : 0;
}

int nv_board_ocsp(const NvSource *src, const NvGpuInput *gpus, size_t n, const NvRimSet *rims,
                  const NvBoardAppraisal *b, int64_t at, Verdict *v) {
        _cleanup_free_ NvChain **chains = calloc(n ? n : 1, sizeof(NvChain *));
        bool all, pending;
        int r;

        if (!chains)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                chains[i] = gpus[i].chain;
        r = nv_chains_ocsp(src, "gpu", chains, n, at, v);
        if (r < 0 && r != -EINPROGRESS)
                return r;
        pending = r == -EINPROGRESS;
        all = r > 0;
        for (size_t j = 0; rims && j < rims->n; j++) {
                const NvRim *rim = rims->rims[j];
                _cleanup_free_ char *name = NULL;
                int k;

                if (!rim_used(rim, b) || rim->verified != 1)
                        continue;
                name = strdup_printf("rim.%s.ocsp", rim->id);
                if (!name)
                        return -ENOMEM;
                k = chain_ocsp(src, rim->certs, 0, (size_t) sk_X509_num(rim->certs) - 1, at, name,
                               "the RIM signer chain is", v);
                if (k == -EINPROGRESS) {
                        pending = true;
                        continue;
                }
                if (k < 0)
                        return k;
                all = all && k > 0;
        }
        if (pending)
                return -EINPROGRESS;
        return all ? 1 : 0;
}
