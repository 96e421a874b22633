/* SPDX-License-Identifier: Apache-2.0 */
/* The protected-PCIe (PPCIe) topology rule for an 8-GPU HGX board: in PPCIe mode the GPUs and
 * the NVSwitches between them form one trust domain, so every GPU must see the same switches.
 * Each GPU report lists the PDIs of the NVSwitches it is linked to (SWITCH_PDI, one per link:
 * 18 entries naming 4 switches); zero entries are disabled links. */
#include <stdio.h>
#include <string.h>

#include "cvm/gpu.h"
#include "cvm/util.h"

static bool is_ppcie(const NvReport *r) {
        return (r->has_feature_flag && r->feature_flag == NV_FEATURE_PPCIE) ||
               (r->has_protected_pcie_status && r->protected_pcie_status == NV_PROTECTED_PCIE_ON);
}

typedef struct PdiSet {
        uint8_t pdi[NV_SWITCH_PDIS_MAX][NV_PDI_SIZE];
        size_t n;
} PdiSet;

static int pdi_cmp(const void *a, const void *b) {
        return memcmp(a, b, NV_PDI_SIZE);
}

/* The distinct non-zero PDIs a report names, sorted. */
static void pdi_set(const NvReport *r, PdiSet *s) {
        static const uint8_t zero[NV_PDI_SIZE];
        size_t n = r->n_switch_pdis < NV_SWITCH_PDIS_MAX ? r->n_switch_pdis : NV_SWITCH_PDIS_MAX;

        s->n = 0;
        for (size_t i = 0; i < n; i++) {
                bool seen = memcmp(r->switch_pdis[i], zero, NV_PDI_SIZE) == 0;
                for (size_t k = 0; !seen && k < s->n; k++)
                        seen = memcmp(s->pdi[k], r->switch_pdis[i], NV_PDI_SIZE) == 0;
                if (!seen)
                        memcpy(s->pdi[s->n++], r->switch_pdis[i], NV_PDI_SIZE);
        }
        qsort(s->pdi, s->n, NV_PDI_SIZE, pdi_cmp);
}

static int record_pdis(const PdiSet *s, Verdict *v) {
        json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *h = hex_encode(s->pdi[i], NV_PDI_SIZE);
                if (!h || json_object_array_add(a, json_object_new_string(h)) < 0) {
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        json_object_object_add(v->claims, "nvswitch_pdis", a);
        return 0;
}

/* The rule over a board whose GPUs all report PPCIe mode. */
static int check_board(const NvReport *const *reports, size_t n, Verdict *v) {
        _cleanup_free_ PdiSet *first = calloc(1, sizeof(PdiSet)), *other = calloc(1, sizeof(PdiSet));

        if (!first || !other)
                return -ENOMEM;
        if (n != NV_PPCIE_GPUS) {
                verdict_check(v, "board.ppcie", CHECK_FAIL,
                              "the GPUs are in protected-PCIe mode, which takes the whole %u-GPU board, and %zu were "
                              "attested",
                              NV_PPCIE_GPUS, n);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                PdiSet *s = i == 0 ? first : other;

                if (reports[i]->n_switch_pdis > NV_SWITCH_PDIS_MAX) {
                        verdict_check(v, "board.ppcie", CHECK_FAIL, "GPU %zu names %u NVSwitch links, more than the %u "
                                      "this verifier reads", i, reports[i]->n_switch_pdis, NV_SWITCH_PDIS_MAX);
                        return 0;
                }
                pdi_set(reports[i], s);
                if (s->n != NV_PPCIE_SWITCHES) {
                        verdict_check(v, "board.ppcie", CHECK_FAIL,
                                      "GPU %zu names %zu distinct NVSwitches, a protected-PCIe board has %u", i, s->n,
                                      NV_PPCIE_SWITCHES);
                        return 0;
                }
                if (i > 0 && memcmp(first->pdi, other->pdi, sizeof(first->pdi[0]) * first->n) != 0) {
                        verdict_check(v, "board.ppcie", CHECK_FAIL,
                                      "GPU %zu names other NVSwitches than GPU 0: the GPUs are not on one board", i);
                        return 0;
                }
        }
        verdict_check(v, "board.ppcie", CHECK_PASS, "the %zu GPUs are in protected-PCIe mode and name the same %u NVSwitches",
                      n, NV_PPCIE_SWITCHES);
        return record_pdis(first, v);
}

int nv_board_topology(const NvReport *const *reports, size_t n, unsigned expected_switches, Verdict *v) {
        size_t ppcie = 0, parsed = 0;
        int r = 0;

        for (size_t i = 0; i < n; i++)
                if (reports[i]) {
                        parsed++;
                        ppcie += is_ppcie(reports[i]);
                }
        if (ppcie == 0)
                verdict_check(v, "board.ppcie", CHECK_SKIP, "no GPU reports protected-PCIe mode");
        else if (parsed != n || ppcie != n) {
                for (size_t i = 0; i < n; i++)
                        if (!reports[i] || !is_ppcie(reports[i])) {
                                verdict_check(v, "board.ppcie", CHECK_FAIL,
                                              "%zu GPUs report protected-PCIe mode and GPU %zu does not%s", ppcie, i,
                                              reports[i] ? "" : " (its report could not be read)");
                                break;
                        }
        } else
                r = check_board(reports, n, v);
        if (r < 0)
                return r;
        /* NVSwitches passed through are devices of the trust domain like the GPUs: each one's own
         * attestation and the switch side of the topology are nv_switch_board_verify()'s
         * (cvm/nvswitch.h), which records "nvswitch" then */
        if (expected_switches == 0)
                verdict_check(v, "nvswitch", CHECK_SKIP, "no NVSwitch is passed through");
        return 0;
}
