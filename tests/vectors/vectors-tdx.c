/* SPDX-License-Identifier: Apache-2.0 */
/* TDX cases: quote.bin and, where present, collateral/ with the seven PCS files. Each case must
 * give its expected authentic, tcb_status and advisory_ids at its pinned time, and its fields
 * must appear in the claims. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/tdx.h"
#include "cvm/util.h"
#include "vectors.h"

/* 0 with *ret NULL when the case has no collateral folder. */
static int load_collateral(const char *dir, TdxCollateral **ret, char **ret_reason) {
        _cleanup_free_ char *cdir = strdup_printf("%s/collateral", dir);
        uint8_t *data[_TDX_FILE_MAX] = {};
        size_t size[_TDX_FILE_MAX] = {};
        struct stat st;
        int r = 0;

        *ret = NULL;
        if (!cdir)
                return -ENOMEM;
        if (stat(cdir, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        for (int f = 0; f < _TDX_FILE_MAX && r >= 0; f++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s", cdir, tdx_collateral_file_name(f));
                if (!p)
                        r = -ENOMEM;
                else if (vector_read(p, &data[f], &size[f]) < 0)
                        size[f] = 0; /* missing: the verifier names it */
        }
        if (r >= 0)
                r = tdx_collateral_parse((const uint8_t *const *) data, size, ret, ret_reason);
        for (int f = 0; f < _TDX_FILE_MAX; f++)
                free(data[f]);
        return r;
}

static bool json_matches(json_object *want, json_object *got) {
        if (!want || json_object_is_type(want, json_type_null))
                return !got || json_object_is_type(got, json_type_null);
        return got && json_object_equal(want, got);
}

void run_tdx_case(const char *dir, const char *id, Counts *counts) {
        _cleanup_free_ char *case_path = strdup_printf("%s/case.json", dir),
                            *quote_path = strdup_printf("%s/quote.bin", dir), *reason = NULL;
        _cleanup_(json_object_putp) json_object *kase = NULL;
        _cleanup_(tdx_collateral_freep) TdxCollateral *col = NULL;
        _cleanup_free_ uint8_t *quote = NULL;
        _cleanup_(verdict_done) Verdict v = {};
        json_object *expected, *want_authentic, *want_status = NULL, *want_adv = NULL, *fields, *at,
                *got_status = NULL, *got_adv = NULL;
        TdxVerifyParams params = {};
        size_t size;
        int64_t t;
        char why[512] = "";
        bool ok = true;

        if (!case_path || !quote_path || verdict_init(&v, "tdx") < 0) {
                printf("tdx/%s: FAIL (out of memory)\n", id);
                counts->failed++;
                return;
        }
        kase = json_object_from_file(case_path);
        if (!kase || !json_object_object_get_ex(kase, "expected", &expected) ||
            !json_object_object_get_ex(expected, "authentic", &want_authentic) ||
            !json_object_object_get_ex(kase, "at", &at) || parse_rfc3339(json_object_get_string(at), &t) < 0 ||
            vector_read(quote_path, &quote, &size) < 0) {
                printf("tdx/%s: FAIL (case folder unreadable or case.json malformed)\n", id);
                counts->failed++;
                return;
        }
        (void) json_object_object_get_ex(expected, "tcb_status", &want_status);
        (void) json_object_object_get_ex(expected, "advisory_ids", &want_adv);
        if (load_collateral(dir, &col, &reason) < 0)
                verdict_check(&v, "collateral.load", CHECK_FAIL, "%s", reason ? reason : "collateral does not load");

        params.anchors = tdx_builtin_anchors(&params.n_anchors);
        params.at = t;
        if (tdx_verify(quote, size, col, &params, NULL, &v) < 0) {
                printf("tdx/%s: FAIL (out of memory)\n", id);
                counts->failed++;
                return;
        }
        if (verdict_has_failed_check(&v))
                v.authentic = false;
        if (v.authentic) {
                (void) json_object_object_get_ex(v.claims, "tcb_status", &got_status);
                (void) json_object_object_get_ex(v.claims, "advisory_ids", &got_adv);
        }

        if (v.authentic != json_object_get_boolean(want_authentic)) {
                ok = false;
                snprintf(why, sizeof(why), "authentic is %s, expected %s%s%s", v.authentic ? "true" : "false",
                         json_object_get_boolean(want_authentic) ? "true" : "false", v.n_reasons ? ": " : "",
                         v.n_reasons ? v.reasons[0] : "");
        } else if (!json_matches(want_status, got_status)) {
                ok = false;
                snprintf(why, sizeof(why), "tcb_status is %s, expected %s", json_object_to_json_string(got_status),
                         json_object_to_json_string(want_status));
        } else if (!json_matches(want_adv, got_adv)) {
                ok = false;
                snprintf(why, sizeof(why), "advisory_ids is %s, expected %s", json_object_to_json_string(got_adv),
                         json_object_to_json_string(want_adv));
        }
        if (ok && json_object_object_get_ex(expected, "fields", &fields))
                ok = vector_fields_match(fields, v.claims, why, sizeof(why));
        if (ok) {
                printf("tdx/%s: ok (authentic=%s, tcb_status=%s%s%s)\n", id, v.authentic ? "true" : "false",
                       got_status ? json_object_get_string(got_status) : "null", v.authentic ? "" : "; ",
                       v.authentic ? "" : v.reasons[0]);
                counts->passed++;
        } else {
                printf("tdx/%s: FAIL (%s)\n", id, why);
                counts->failed++;
        }
}
