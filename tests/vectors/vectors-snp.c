/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP cases: report.bin, certs/ (vcek/vlek, ask/asvk, ark) or certs/cert_table.bin. */
#include <stdio.h>
#include <string.h>

#include "cvm/snp.h"
#include "cvm/util.h"
#include "vectors.h"

static int load_snp_certs(const char *dir, SnpChain *chain, char **ret_reason) {
        _cleanup_free_ char *table = strdup_printf("%s/cert_table.bin", dir);
        static const char *const files[] = { "vcek.der", "vlek.der", "ask.pem", "asvk.pem", "ark.pem" };
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        if (!table)
                return -ENOMEM;
        if (vector_read(table, &data, &size) >= 0)
                return snp_chain_add_cert_table(chain, data, size, ret_reason);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s", dir, files[i]);
                _cleanup_free_ uint8_t *d = NULL;
                if (!p)
                        return -ENOMEM;
                if (vector_read(p, &d, &size) < 0)
                        continue;
                r = snp_chain_add_data(chain, d, size, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

void run_snp_case(const char *dir, const char *id, Counts *counts) {
        _cleanup_free_ char *case_path = strdup_printf("%s/case.json", dir), *report_path = strdup_printf("%s/report.bin", dir),
                            *certs = strdup_printf("%s/certs", dir), *reason = NULL;
        _cleanup_(json_object_putp) json_object *kase = NULL;
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_free_ uint8_t *report = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        json_object *expected, *want_authentic, *fields, *at;
        SnpVerifyParams params = {};
        size_t size;
        int64_t t;
        char why[512] = "";
        bool ok = true;

        if (!case_path || !report_path || !certs || !chain || verdict_init(&v, "sev-snp") < 0) {
                printf("snp/%s: FAIL (out of memory)\n", id);
                counts->failed++;
                return;
        }
        kase = json_object_from_file(case_path);
        if (!kase || !json_object_object_get_ex(kase, "expected", &expected) ||
            !json_object_object_get_ex(expected, "authentic", &want_authentic) ||
            !json_object_object_get_ex(kase, "at", &at) || parse_rfc3339(json_object_get_string(at), &t) < 0 ||
            vector_read(report_path, &report, &size) < 0) {
                printf("snp/%s: FAIL (case folder unreadable or case.json malformed)\n", id);
                counts->failed++;
                return;
        }
        if (load_snp_certs(certs, chain, &reason) < 0) {
                /* A certificate that does not load is the evidence being bad: the verdict says so. */
                verdict_check(&v, "chain.load", CHECK_FAIL, "%s", reason ? reason : "certificates do not load");
        }
        params.anchors = snp_builtin_anchors(&params.n_anchors);
        params.at = t;
        if (snp_verify(report, size, chain, &params, NULL, &v) < 0) {
                printf("snp/%s: FAIL (out of memory)\n", id);
                counts->failed++;
                return;
        }
        if (verdict_has_failed_check(&v))
                v.authentic = false;

        if (v.authentic != json_object_get_boolean(want_authentic)) {
                ok = false;
                snprintf(why, sizeof(why), "authentic is %s, expected %s%s%s", v.authentic ? "true" : "false",
                         json_object_get_boolean(want_authentic) ? "true" : "false", v.n_reasons ? ": " : "",
                         v.n_reasons ? v.reasons[0] : "");
        }
        if (ok && json_object_object_get_ex(expected, "fields", &fields))
                ok = vector_fields_match(fields, v.claims, why, sizeof(why));
        if (ok) {
                printf("snp/%s: ok (authentic=%s%s%s)\n", id, v.authentic ? "true" : "false",
                       v.authentic ? "" : "; ", v.authentic ? "" : v.reasons[0]);
                counts->passed++;
        } else {
                printf("snp/%s: FAIL (%s)\n", id, why);
                counts->failed++;
        }
}

