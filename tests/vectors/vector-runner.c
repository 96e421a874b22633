/* SPDX-License-Identifier: Apache-2.0 */
/* Data-driven runner over the real evidence in $CVM_VECTORS (default ../shared/vectors): each
 * case is verified at its pinned time and must give its expected verdict, and every field the
 * case lists must appear in the claims with the same value. TEEs without a verifier yet are
 * counted as skipped, never as passed. */
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/crypto.h"
#include "cvm/snp.h"
#include "cvm/util.h"

typedef struct Counts {
        unsigned passed, failed, skipped;
} Counts;

static int read_all(const char *path, uint8_t **ret, size_t *ret_size) {
        return read_file_bounded(path, CVM_INPUT_MAX, ret, ret_size);
}

/* Compares an expected field (from case.json) with the claim of the same name. */
static bool field_matches(json_object *want, json_object *got, char *why, size_t size, const char *path) {
        if (!got) {
                snprintf(why, size, "claim '%s' missing", path);
                return false;
        }
        if (json_object_is_type(want, json_type_object)) {
                json_object_object_foreach(want, k, w) {
                        json_object *g = NULL;
                        char sub[128];
                        snprintf(sub, sizeof(sub), "%s.%s", path, k);
                        (void) json_object_object_get_ex(got, k, &g);
                        if (!field_matches(w, g, why, size, sub))
                                return false;
                }
                return true;
        }
        if (json_object_is_type(want, json_type_int)) {
                if (json_object_is_type(got, json_type_int) && json_object_get_int64(got) == json_object_get_int64(want))
                        return true;
        } else if (json_object_is_type(want, json_type_string)) {
                if (json_object_is_type(got, json_type_string) &&
                    strcasecmp(json_object_get_string(got), json_object_get_string(want)) == 0)
                        return true;
        } else if (json_object_equal(want, got))
                return true;
        snprintf(why, size, "claim '%s' is %s, expected %s", path, json_object_to_json_string(got),
                 json_object_to_json_string(want));
        return false;
}

static int load_snp_certs(const char *dir, SnpChain *chain, char **ret_reason) {
        _cleanup_free_ char *table = strdup_printf("%s/cert_table.bin", dir);
        static const char *const files[] = { "vcek.der", "vlek.der", "ask.pem", "asvk.pem", "ark.pem" };
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        if (!table)
                return -ENOMEM;
        if (read_all(table, &data, &size) >= 0)
                return snp_chain_add_cert_table(chain, data, size, ret_reason);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s", dir, files[i]);
                _cleanup_free_ uint8_t *d = NULL;
                if (!p)
                        return -ENOMEM;
                if (read_all(p, &d, &size) < 0)
                        continue;
                r = snp_chain_add_data(chain, d, size, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void run_snp_case(const char *dir, const char *id, Counts *counts) {
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
            read_all(report_path, &report, &size) < 0) {
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
        if (ok && json_object_object_get_ex(expected, "fields", &fields)) {
                json_object_object_foreach(fields, k, w) {
                        json_object *g = NULL;
                        (void) json_object_object_get_ex(v.claims, k, &g);
                        if (!field_matches(w, g, why, sizeof(why), k)) {
                                ok = false;
                                break;
                        }
                }
        }
        if (ok) {
                printf("snp/%s: ok (authentic=%s%s%s)\n", id, v.authentic ? "true" : "false",
                       v.authentic ? "" : "; ", v.authentic ? "" : v.reasons[0]);
                counts->passed++;
        } else {
                printf("snp/%s: FAIL (%s)\n", id, why);
                counts->failed++;
        }
}

static int case_filter(const struct dirent *d) {
        return d->d_name[0] != '.' && !streq(d->d_name, "roots");
}

static void run_tee(const char *root, const char *tee, Counts *counts) {
        _cleanup_free_ char *dir = strdup_printf("%s/%s", root, tee);
        struct dirent **names = NULL;
        int n;

        if (!dir)
                return;
        n = scandir(dir, &names, case_filter, alphasort);
        if (n < 0) {
                printf("%s: no cases at %s\n", tee, dir);
                return;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *sub = strdup_printf("%s/%s", dir, names[i]->d_name);
                struct stat st;

                if (sub && stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
                        if (streq(tee, "snp"))
                                run_snp_case(sub, names[i]->d_name, counts);
                        else {
                                printf("%s/%s: skipped (no %s verifier in this build yet)\n", tee, names[i]->d_name,
                                       tee);
                                counts->skipped++;
                        }
                }
                free(names[i]);
        }
        free(names);
}

int main(int argc, char *argv[]) {
        const char *root = getenv("CVM_VECTORS");
        Counts counts = {};
        struct stat st;

        if (argc > 1)
                root = argv[1];
        if (!root || !*root)
                root = "../shared/vectors";
        if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
                printf("vector-runner: no vectors at '%s' (set CVM_VECTORS); every case is skipped\n", root);
                printf("0 passed, 0 failed, 1 skipped\n");
                return 0;
        }
        run_tee(root, "snp", &counts);
        run_tee(root, "tdx", &counts);
        run_tee(root, "nvidia", &counts);
        printf("vectors: %u passed, %u failed, %u skipped\n", counts.passed, counts.failed, counts.skipped);
        return counts.failed ? 1 : 0;
}
