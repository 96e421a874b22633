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

#include "cvm/util.h"
#include "vectors.h"

int vector_read(const char *path, uint8_t **ret, size_t *ret_size) {
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

bool vector_fields_match(json_object *fields, json_object *claims, char *why, size_t size) {
        json_object_object_foreach(fields, k, w) {
                json_object *g = NULL;
                (void) json_object_object_get_ex(claims, k, &g);
                if (!field_matches(w, g, why, size, k))
                        return false;
        }
        return true;
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
                        void (*run)(const char *, const char *, Counts *) = NULL;

                        if (streq(tee, "snp"))
                                run = run_snp_case;
                        if (streq(tee, "nvidia"))
                                run = run_nvidia_case;
                        if (streq(tee, "tdx"))
                                run = run_tdx_case;
                        if (run)
                                run(sub, names[i]->d_name, counts);
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
        run_measure(root, &counts);
        printf("vectors: %u passed, %u failed, %u skipped\n", counts.passed, counts.failed, counts.skipped);
        return counts.failed ? 1 : 0;
}
