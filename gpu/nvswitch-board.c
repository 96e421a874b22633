/* SPDX-License-Identifier: Apache-2.0 */
/* NVSwitches passed through with an HGX board in protected-PCIe mode: all or nothing. Every
 * switch is verified on its own (nvswitch-verify.c), then the topology NVIDIA's PPCIe verifier
 * applies, tied to the attested switches: the GPUs name one set of switch PDIs (disabled, zero,
 * links left out), exactly the switches attested; each attested switch names the same eight
 * distinct GPU PDIs. The GPU side lists a switch's PDI little-endian and the switch's DEVICE_PDI
 * holds it big-endian (docs/nvswitch.md: the real captures agree only that way), so both are
 * compared as numbers. */
#include <stdio.h>
#include <string.h>

#include "cvm/nvswitch.h"
#include "cvm/util.h"

typedef struct PdiList {
        uint64_t v[NV_SWITCH_PDIS_MAX];
        size_t n;
} PdiList;

static bool list_has(const PdiList *l, uint64_t x) {
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i] == x)
                        return true;
        return false;
}

static void list_add(PdiList *l, uint64_t x) {
        if (x != 0 && l->n < NV_SWITCH_PDIS_MAX && !list_has(l, x))
                l->v[l->n++] = x;
}

static bool list_equal(const PdiList *a, const PdiList *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (!list_has(b, a->v[i]))
                        return false;
        return true;
}

static bool gpu_is_ppcie(const NvReport *r) {
        return (r->has_feature_flag && r->feature_flag == NV_FEATURE_PPCIE) ||
               (r->has_protected_pcie_status && r->protected_pcie_status == NV_PROTECTED_PCIE_ON);
}

/* The switch PDIs every GPU names, or a failed "nvswitch.topology" and false. */
static bool gpu_side(const NvReport *const *gpus, size_t n_gpus, PdiList *ret, Verdict *v) {
        PdiList other;

        if (n_gpus == 0) {
                verdict_check(v, "nvswitch.topology", CHECK_FAIL, "NVSwitches are passed through without any GPU");
                return false;
        }
        for (size_t i = 0; i < n_gpus; i++) {
                PdiList *l = i == 0 ? ret : &other;
                size_t n;

                if (!gpus[i] || !gpu_is_ppcie(gpus[i])) {
                        verdict_check(v, "nvswitch.topology", CHECK_FAIL,
                                      "GPU %zu %s: NVSwitches are part of the trust domain only in protected-PCIe mode",
                                      i, gpus[i] ? "is not in protected-PCIe mode" : "has no readable report");
                        return false;
                }
                *l = (PdiList){};
                n = gpus[i]->n_switch_pdis < NV_SWITCH_PDIS_MAX ? gpus[i]->n_switch_pdis : NV_SWITCH_PDIS_MAX;
                for (size_t k = 0; k < n; k++)
                        list_add(l, nv_pdi_from_gpu_entry(gpus[i]->switch_pdis[k]));
                if (i > 0 && !list_equal(ret, &other)) {
                        verdict_check(
                                v, "nvswitch.topology", CHECK_FAIL,
                                "GPU %zu names other NVSwitches than GPU 0: the GPUs are not on one NVSwitch fabric",
                                i);
                        return false;
                }
        }
        return true;
}

/* Each attested switch is one the GPUs name, once, and links the same eight GPUs. */
static bool switch_side(const PdiList *named, const NvSwitchAppraisal *sw, size_t n, Verdict *v) {
        PdiList first = {}, gpus, seen = {};
        char h[17];

        if (named->n != n) {
                verdict_check(v, "nvswitch.topology", CHECK_FAIL, "the GPUs name %zu NVSwitches and %zu are attested",
                              named->n, n);
                return false;
        }
        for (size_t i = 0; i < n; i++) {
                const NvSwitchReport *r = &sw[i].report;

                if (!r->has_pdi || !r->has_gpu_pdis) {
                        verdict_check(v, "nvswitch.topology", CHECK_FAIL, "NVSwitch %zu's report has no %s", i,
                                      r->has_pdi ? "SWITCH_GPU_PDIS" : "DEVICE_PDI");
                        return false;
                }
                nv_pdi_format(r->pdi, h);
                if (!list_has(named, r->pdi)) {
                        verdict_check(v, "nvswitch.topology", CHECK_FAIL,
                                      "NVSwitch %zu (PDI %s) is not one of the NVSwitches the GPUs are linked to", i,
                                      h);
                        return false;
                }
                if (list_has(&seen, r->pdi)) {
                        verdict_check(v, "nvswitch.topology", CHECK_FAIL, "NVSwitch %zu (PDI %s) was attested twice", i,
                                      h);
                        return false;
                }
                list_add(&seen, r->pdi);
                gpus = (PdiList){};
                for (size_t k = 0; k < NV_SWITCH_GPU_PDIS; k++)
                        list_add(&gpus, r->gpu_pdis[k]);
                if (gpus.n != NV_SWITCH_GPU_PDIS) {
                        verdict_check(v, "nvswitch.topology", CHECK_FAIL,
                                      "NVSwitch %zu (PDI %s) links %zu distinct GPUs, a protected-PCIe board has %u", i,
                                      h, gpus.n, NV_SWITCH_GPU_PDIS);
                        return false;
                }
                if (i == 0)
                        first = gpus;
                else if (!list_equal(&first, &gpus)) {
                        verdict_check(v, "nvswitch.topology", CHECK_FAIL,
                                      "NVSwitch %zu (PDI %s) links other GPUs than NVSwitch 0: not one board", i, h);
                        return false;
                }
        }
        verdict_check(v, "nvswitch.topology", CHECK_PASS,
                      "the GPUs name the %zu attested NVSwitches, each once, and every switch links the same %u GPUs",
                      n, NV_SWITCH_GPU_PDIS);
        return true;
}

static int record_claims(const NvSwitchAppraisal *sw, size_t n, Verdict *v) {
        json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *o = sw[i].parsed ? nv_switch_report_claims(&sw[i].report) : json_object_new_object();

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        json_object_put(a);
                        return -ENOMEM;
                }
                json_object_object_add(o, "authentic", json_object_new_boolean(sw[i].authentic));
        }
        json_object_object_add(v->claims, "nvswitches", a);
        return 0;
}

int nv_switch_board_verify(const NvReport *const *gpu_reports, size_t n_gpus, const NvSwitchInput *switches,
                           size_t n_switches, unsigned expected, const NvSwitchParams *p, bool *ret_authentic,
                           Verdict *v) {
        _cleanup_free_ NvSwitchAppraisal *sw = NULL;
        _cleanup_free_ PdiList *named = calloc(1, sizeof(PdiList));
        bool authentic = true, count_ok, topology_ok = false;
        size_t bad = SIZE_MAX;
        int r;

        *ret_authentic = true;
        if (!named)
                return -ENOMEM;
        if (expected == 0 && n_switches == 0) {
                /* PPCIe makes the board's switches part of the guest's trust domain (NVIDIA's PPCIe
                 * verifier always attests them): GPUs in that mode without their switches attested
                 * would trust switches nobody checked */
                for (size_t i = 0; i < n_gpus; i++)
                        if (gpu_reports[i] && gpu_is_ppcie(gpu_reports[i])) {
                                verdict_check(
                                        v, "nvswitch", CHECK_FAIL,
                                        "GPU %zu is in protected-PCIe mode, which trusts the board's NVSwitches, and "
                                        "none is passed through and attested",
                                        i);
                                return 0;
                        }
                verdict_check(v, "nvswitch", CHECK_SKIP, "no NVSwitch is passed through");
                return 0;
        }
        sw = calloc(n_switches ?: 1, sizeof(NvSwitchAppraisal));
        if (!sw)
                return -ENOMEM;
        for (size_t i = 0; i < n_switches; i++) {
                r = nv_switch_verify(&switches[i], i, p, &sw[i], v);
                if (r < 0)
                        return r;
                if (!sw[i].authentic && bad == SIZE_MAX)
                        bad = i;
                authentic = authentic && sw[i].authentic;
        }
        count_ok = n_switches == expected;
        if (count_ok)
                verdict_check(v, "nvswitch.count", CHECK_PASS,
                              "one report and chain for each of the %u NVSwitches passed through", expected);
        else
                verdict_check(v, "nvswitch.count", CHECK_FAIL,
                              "%zu NVSwitch reports for the %u NVSwitches passed through", n_switches, expected);
        /* the topology is read from reports that must also be authentic to count */
        if (gpu_side(gpu_reports, n_gpus, named, v))
                topology_ok = switch_side(named, sw, n_switches, v);

        r = record_claims(sw, n_switches, v);
        if (r < 0)
                return r;
        if (bad != SIZE_MAX)
                verdict_check(v, "nvswitch", CHECK_FAIL,
                              "NVSwitch %zu failed its attestation (see nvswitch%zu.*): the whole board is refused",
                              bad, bad);
        else if (!count_ok || !topology_ok)
                verdict_check(v, "nvswitch", CHECK_FAIL,
                              "the NVSwitches do not match the spec and the GPUs: the whole board is refused");
        else
                verdict_check(v, "nvswitch", CHECK_PASS, "all %zu NVSwitches attested and on the GPUs' fabric",
                              n_switches);
        *ret_authentic = authentic;
        return v->oom ? -ENOMEM : 0;
}
