/* SPDX-License-Identifier: Apache-2.0 */
/* GPU evidence in the exchange: each GPU's report against its chain (rooted at NVIDIA's Device
 * Identity CA or a simulator root the policy names), its nonce against the one derived from the
 * exchange nonce, the guest's key and the PCI address and CC mode the guest claims for it; one
 * device per GPU, each the GPU the domain passes through at the address it claims; its
 * measurements against the golden list or the RIMs (the code `cvmctl verify gpu` runs); the
 * protected-PCIe topology; OCSP; then the policy's gpu section. */
#include <string.h>
#include <time.h>

#include "appraise-internal.h"
#include "cvm/gpu.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/util.h"

static void check_name(Verdict *v, size_t i, const char *what, CheckStatus s, const char *fmt, ...) _printf_(5, 6);
static void check_name(Verdict *v, size_t i, const char *what, CheckStatus s, const char *fmt, ...) {
        _cleanup_free_ char *name = strdup_printf("gpu%zu.%s", i, what), *d = NULL;
        va_list ap;

        va_start(ap, fmt);
        d = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!name || !d) {
                v->oom = true;
                return;
        }
        verdict_check(v, name, s, "%s", d);
}

/* Each report must claim the guest address of a GPU the domain passes through, each a different
 * one: with as many reports as GPUs, every passed-through GPU then answers for itself. The
 * address is the guest's word, but it is bound into the nonce the GPU signed. */
static void check_addresses(const AppraiseConfig *c, const ProtoMsg *m, size_t n, Verdict *v) {
        if (c->gpu_addresses_known && c->n_gpu_addresses != n)
                verdict_check(v, "gpu.addresses", CHECK_FAIL, "the domain passes %zu GPUs through and %zu reports came",
                              c->n_gpu_addresses, n);
        for (size_t i = 0; i < n; i++) {
                const char *claim = m->gpu_pci[i];
                bool known = false;
                size_t dup = i;

                if (!c->gpu_addresses_known) {
                        check_name(v, i, "pci", CHECK_SKIP,
                                   "the guest puts GPU %zu at %s; the host knows no domain XML to check that against", i,
                                   claim);
                        continue;
                }
                for (size_t k = 0; k < c->n_gpu_addresses; k++)
                        known = known || streq(c->gpu_addresses[k], claim);
                for (size_t k = 0; k < i && dup == i; k++)
                        if (streq(m->gpu_pci[k], claim))
                                dup = k;
                if (!known)
                        check_name(v, i, "pci", CHECK_FAIL,
                                   "GPU %zu reports guest PCI address %s, where the domain passes no GPU through", i, claim);
                else if (dup != i)
                        check_name(v, i, "pci", CHECK_FAIL, "GPU %zu and GPU %zu both claim guest PCI address %s", dup, i,
                                   claim);
                else
                        check_name(v, i, "pci", CHECK_PASS,
                                   "GPU %zu is the GPU the domain passes through at guest address %s", i, claim);
        }
}

static NvCcMode cc_mode(ProtoGpuCc c) {
        switch (c) {
        case PROTO_GPU_CC_OFF:
                return NV_CC_OFF;
        case PROTO_GPU_CC_ON:
                return NV_CC_ON;
        case PROTO_GPU_CC_DEVTOOLS:
                return NV_CC_DEVTOOLS;
        default:
                return NV_CC_UNKNOWN;
        }
}

/* The guest's claims per GPU, next to what its report says, and the CC mode for the policy. */
static void record_claims(const ProtoMsg *m, NvBoardAppraisal *b, Verdict *v) {
        json_object *gpus = NULL;

        (void) json_object_object_get_ex(v->claims, "gpus", &gpus);
        for (size_t i = 0; i < b->n_gpus; i++) {
                json_object *g = json_object_array_get_idx(gpus, i);

                b->gpus[i].cc_mode = cc_mode(m->gpu_cc[i]);
                if (!g)
                        continue;
                json_object_object_add(g, "pci_address", json_object_new_string(m->gpu_pci[i]));
                json_object_object_add(g, "cc_mode", json_object_new_string(proto_gpu_cc_to_string(m->gpu_cc[i]) ?: "?"));
        }
}

static int topology(const AppraiseConfig *c, const NvBoardAppraisal *b, Verdict *v) {
        const NvReport *reports[PROTO_GPUS_MAX] = {};

        for (size_t i = 0; i < b->n_gpus; i++)
                reports[i] = b->gpus[i].a.parsed ? &b->gpus[i].a.report : NULL;
        return nv_board_topology(reports, b->n_gpus, c->gpu_switches, v);
}

/* Two steps that may wait for the collateral provider: an error first, else -EINPROGRESS when
 * either waits, else 0. */
static int first_failure(int a, int b) {
        if (a < 0 && a != -EINPROGRESS)
                return a;
        if (b < 0 && b != -EINPROGRESS)
                return b;
        return a == -EINPROGRESS || b == -EINPROGRESS ? -EINPROGRESS : 0;
}

int appraise_gpus(const AppraiseConfig *c, const ExchangeEvidence *e, Verdict *v) {
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        _cleanup_(nv_rim_set_done) NvRimSet rims = {};
        NvChain *chains[PROTO_GPUS_MAX] = {}, *switch_chains[PROTO_SWITCHES_MAX] = {};
        NvGpuInput in[PROTO_GPUS_MAX] = {};
        _cleanup_free_ NvPin *pins = NULL, *rim_pins = NULL;
        const ProtoMsg *m = e->msg;
        bool cpu_authentic = v->authentic;
        int64_t at = c->at ? c->at : (int64_t) time(NULL);
        NvBoardParams p = {};
        size_t n = m->n_gpus, n_pins, n_rim_pins;
        int r;

        if (n > PROTO_GPUS_MAX)
                return -EINVAL;
        if (n != e->gpus_requested)
                verdict_check(v, "gpu.count", CHECK_FAIL, "%zu GPU reports for the %u GPUs asked for", n,
                              e->gpus_requested);
        else
                verdict_check(v, "gpu.count", CHECK_PASS, "one report and chain for each of the %u GPUs asked for",
                              e->gpus_requested);
        if ((r = policy_gpu_pins(c->policy, &pins, &n_pins)) < 0 ||
            (r = policy_gpu_rim_pins(c->policy, &rim_pins, &n_rim_pins)) < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                r = nv_chain_new(m->gpu_chains[i].data, m->gpu_chains[i].size, &chains[i]);
                if (r == -ENOMEM)
                        goto finish;
                if (r < 0) {
                        chains[i] = NULL; /* nv_verify() records the failed "gpu<i>.chain" check */
                        r = 0;
                }
                in[i] = (NvGpuInput){
                        .report = m->gpu_reports[i].data, .report_size = m->gpu_reports[i].size, .chain = chains[i]};
        }
        /* the golden list, when the operator gave one, overrides the RIMs */
        /* -EINPROGRESS: the provider fetches them; the exchange holds the evidence until then */
        if (!c->gpu_golden && c->gpu_source) {
                r = nv_rims_for_reports(c->gpu_source, in, n, at, &rims, v);
                if (r < 0)
                        goto finish;
        }
        p.gpu = (NvVerifyParams){.root_pins = pins, .n_root_pins = n_pins, .at = at};
        p.nonces = (const uint8_t(*)[NV_NONCE_SIZE]) e->gpu_nonces;
        p.golden = c->gpu_golden;
        p.rims = rims.rims;
        p.n_rims = rims.n;
        p.rim_pins = rim_pins;
        p.n_rim_pins = n_rim_pins;
        r = nv_verify_gpus(in, n, &p, &b, v);
        if (r < 0)
                goto finish;
        /* nv_verify_gpus() sets v->authentic for the GPUs alone: the evidence is authentic only when
         * the CPU's and every GPU's is. */
        v->authentic = cpu_authentic && b.authentic && !v->oom;

        /* one GPU per GPU: distinct devices, each where the domain put a GPU */
        r = nv_board_distinct(in, n, v);
        if (r < 0)
                goto finish;
        check_addresses(c, m, n, v);
        record_claims(m, &b, v);
        r = topology(c, &b, v);
        if (r >= 0)
                r = appraise_switch_chains(e, switch_chains);
        if (r >= 0)
                r = appraise_switches(c, e, &b, switch_chains, v); /* NVSwitches passed through: all or nothing */
        if (r < 0)
                goto finish;

        if (c->gpu_source && policy_gpu_requires_ocsp(c->policy)) {
                /* the GPUs', the RIM signers' and the switches' certificates: all asked for before
                 * a wait, so that one wait covers them */
                int gpus = nv_board_ocsp(c->gpu_source, in, n, &rims, &b, at, v),
                    switches = appraise_switches_ocsp(c, e, switch_chains, at, v);

                r = first_failure(gpus, switches);
                if (r < 0)
                        goto finish;
                b.ocsp_checked = gpus > 0 && switches > 0;
        } else
                verdict_check(v, "gpu.ocsp", CHECK_SKIP, "%s",
                              c->gpu_source ? "not required by the policy (gpu.require_ocsp)"
                                           : "no OCSP responder or cache configured for this launch");
        policy_evaluate_gpu(c->policy, &b, v);
        r = 0;
finish:
        for (size_t i = 0; i < n; i++)
                nv_chain_free(chains[i]);
        for (size_t i = 0; i < PROTO_SWITCHES_MAX; i++)
                nv_chain_free(switch_chains[i]);
        return r;
}
