/* SPDX-License-Identifier: Apache-2.0 */
/* NVIDIA GPU cases: report.bin, chain.pem, nonce.hex and, where present, rims/<RIM id>.xml. Each is
 * verified at its pinned `at` and must give its expected authentic and measurements values and
 * fields. A case marked "scored": false is printed as informative and counted as skipped. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "cvm/gpu.h"
#include "cvm/util.h"
#include "vectors.h"

static void rims_free(NvRim **rims, size_t n) {
        for (size_t i = 0; i < n; i++)
                nv_rim_free(rims[i]);
}

/* Every rims/<id>.xml, its id from the file name. A RIM that does not parse is skipped here; the
 * verification then reports the RIM as missing. */
static int load_rims(const char *dir, NvRim **rims, size_t max, size_t *ret_n) {
        _cleanup_free_ char *sub = strdup_printf("%s/rims", dir);
        struct dirent **names = NULL;
        size_t n = 0;
        int k;

        *ret_n = 0;
        if (!sub)
                return -ENOMEM;
        k = scandir(sub, &names, NULL, alphasort);
        if (k < 0)
                return 0;
        for (int i = 0; i < k; i++) {
                const char *name = names[i]->d_name;
                size_t len = strlen(name);
                _cleanup_free_ char *p = NULL;
                _cleanup_free_ uint8_t *data = NULL;
                size_t size;
                NvRim *rim = NULL;

                if (n < max && len > 4 && streq(name + len - 4, ".xml") && (p = strdup_printf("%s/%s", sub, name)) &&
                    vector_read(p, &data, &size) >= 0 && nv_rim_parse(data, size, &rim, NULL) >= 0) {
                        rim->id = strndup(name, len - 4);
                        rims[n++] = rim;
                }
                free(names[i]);
        }
        free(names);
        *ret_n = n;
        return 0;
}

void run_nvidia_case(const char *dir, const char *id, Counts *counts) {
        _cleanup_free_ char *case_path = strdup_printf("%s/case.json", dir), *report_path = strdup_printf("%s/report.bin", dir),
                            *chain_path = strdup_printf("%s/chain.pem", dir), *nonce_path = strdup_printf("%s/nonce.hex", dir);
        _cleanup_(json_object_putp) json_object *kase = NULL;
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;
        _cleanup_free_ uint8_t *report = NULL, *chain_pem = NULL, *nonce_hex = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        _cleanup_(nv_board_appraisal_done) NvBoardAppraisal b = {};
        json_object *expected, *want_authentic, *want_meas = NULL, *fields, *at, *scored, *gpus;
        NvRim *rims[16] = {};
        size_t n_rims = 0, report_size, chain_size, nonce_size;
        uint8_t nonce[NV_NONCE_SIZE];
        NvBoardParams p = {};
        NvGpuInput in;
        int64_t t;
        char why[512] = "";
        bool ok = true, informative;

        if (!case_path || !report_path || !chain_path || !nonce_path || verdict_init(&v, "nvidia-gpu") < 0) {
                printf("nvidia/%s: FAIL (out of memory)\n", id);
                counts->failed++;
                return;
        }
        kase = json_object_from_file(case_path);
        if (!kase || !json_object_object_get_ex(kase, "expected", &expected) ||
            !json_object_object_get_ex(expected, "authentic", &want_authentic) ||
            !json_object_object_get_ex(kase, "at", &at) || parse_rfc3339(json_object_get_string(at), &t) < 0 ||
            vector_read(report_path, &report, &report_size) < 0 || vector_read(chain_path, &chain_pem, &chain_size) < 0 ||
            vector_read(nonce_path, &nonce_hex, &nonce_size) < 0 || hex_decode_exact((char *) nonce_hex, nonce, sizeof(nonce)) < 0) {
                printf("nvidia/%s: FAIL (case folder unreadable or case.json malformed)\n", id);
                counts->failed++;
                return;
        }
        (void) json_object_object_get_ex(expected, "measurements", &want_meas);
        informative = json_object_object_get_ex(expected, "scored", &scored) && !json_object_get_boolean(scored);

        if (nv_chain_new(chain_pem, chain_size, &chain) < 0)
                chain = NULL; /* a chain that does not load is a failed check in the verdict */
        if (load_rims(dir, rims, ELEMENTSOF(rims), &n_rims) < 0) {
                printf("nvidia/%s: FAIL (out of memory)\n", id);
                counts->failed++;
                return;
        }
        in = (NvGpuInput) { .report = report, .report_size = report_size, .chain = chain };
        p.gpu.at = t;
        p.gpu.expected_nonce = nonce;
        p.rims = rims;
        p.n_rims = n_rims;
        if (nv_verify_gpus(&in, 1, &p, &b, &v) < 0) {
                rims_free(rims, n_rims);
                printf("nvidia/%s: FAIL (out of memory)\n", id);
                counts->failed++;
                return;
        }
        rims_free(rims, n_rims);

        if (v.authentic != json_object_get_boolean(want_authentic)) {
                ok = false;
                snprintf(why, sizeof(why), "authentic is %s, expected %s%s%s", v.authentic ? "true" : "false",
                         json_object_get_boolean(want_authentic) ? "true" : "false", v.n_reasons ? ": " : "",
                         v.n_reasons ? v.reasons[0] : "");
        }
        if (ok && want_meas && strcmp(nv_meas_result_to_string(b.measurements), json_object_get_string(want_meas)) != 0) {
                ok = false;
                snprintf(why, sizeof(why), "measurements are %s, expected %s", nv_meas_result_to_string(b.measurements),
                         json_object_get_string(want_meas));
        }
        if (ok && json_object_object_get_ex(expected, "fields", &fields) &&
            json_object_object_get_ex(v.claims, "gpus", &gpus))
                ok = vector_fields_match(fields, json_object_array_get_idx(gpus, 0), why, sizeof(why));

        if (informative) {
                printf("nvidia/%s: informative, not scored (authentic=%s, measurements=%s%s%s)\n", id,
                       v.authentic ? "true" : "false", nv_meas_result_to_string(b.measurements), ok ? "" : "; differs: ",
                       ok ? "" : why);
                counts->skipped++;
        } else if (ok) {
                printf("nvidia/%s: ok (authentic=%s, measurements=%s%s%s)\n", id, v.authentic ? "true" : "false",
                       nv_meas_result_to_string(b.measurements), v.authentic ? "" : "; ",
                       v.authentic ? "" : v.reasons[0]);
                counts->passed++;
        } else {
                printf("nvidia/%s: FAIL (%s)\n", id, why);
                counts->failed++;
        }
}
