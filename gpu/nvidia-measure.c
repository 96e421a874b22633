/* SPDX-License-Identifier: Apache-2.0 */
/* Measurement comparison (spec §3.4): the report's SPDM measurement blocks against the active
 * entries of the driver and VBIOS RIMs, or against a golden list. RIM index i is SPDM block i+1;
 * any listed alternative may match (same size); index 35 (NVDEC) is skipped when NVDEC0_STATUS
 * says NVDEC is disabled (0x55) and compared otherwise, also when the status is absent or
 * unknown, which is the stricter choice. */
#include <stdio.h>
#include <string.h>

#include "cvm/gpu.h"
#include "cvm/util.h"

DEFINE_CLEANUP(json_tokener *, json_tokener_free)

const char *nv_meas_result_to_string(NvMeasResult m) {
        switch (m) {
        case NV_MEAS_NOT_CHECKED:
                return "not-checked";
        case NV_MEAS_MATCH:
                return "match";
        case NV_MEAS_MISMATCH:
                return "mismatch";
        default:
                return "invalid";
        }
}

void nv_meas_outcome_done(NvMeasOutcome *o) {
        free(o->error);
        *o = (NvMeasOutcome) {};
}

static bool entry_matches(const NvReport *r, const NvRimEntry *e) {
        const NvMeasurement *m = nv_report_block(r, e->index + 1);

        if (!m || m->size != e->size)
                return false;
        for (unsigned i = 0; i < e->n_alternatives; i++)
                if (memcmp(m->value, e->alternatives[i], e->size) == 0)
                        return true;
        return false;
}

static void compare(const NvReport *r, const NvRimEntry *entries, size_t n, NvMeasSource src, NvMeasOutcome *o) {
        for (size_t i = 0; i < n; i++) {
                const NvRimEntry *e = &entries[i];

                if (!e->active)
                        continue;
                if (e->index == NV_NVDEC_RIM_INDEX && r->has_nvdec0_status && r->nvdec0_status == NV_NVDEC_DISABLED) {
                        o->n_skipped++;
                        continue;
                }
                o->n_compared++;
                if (!entry_matches(r, e) && o->n_mismatches < ELEMENTSOF(o->mismatches))
                        o->mismatches[o->n_mismatches++] = (NvMismatch) { .index = e->index, .source = src };
        }
}

int nv_measure_rims(const NvReport *r, const NvRim *driver, const NvRim *vbios, NvMeasOutcome *ret) {
        NvMeasOutcome o = {};

        if (driver && vbios)
                for (size_t i = 0; i < driver->n_entries; i++) {
                        if (!driver->entries[i].active)
                                continue;
                        for (size_t k = 0; k < vbios->n_entries; k++)
                                if (vbios->entries[k].active && vbios->entries[k].index == driver->entries[i].index) {
                                        o.error = strdup_printf("the driver and VBIOS RIMs both have an active entry "
                                                                "at index %u",
                                                                driver->entries[i].index);
                                        if (!o.error)
                                                return -ENOMEM;
                                        *ret = o;
                                        return 0;
                                }
                }
        if (driver)
                compare(r, driver->entries, driver->n_entries, NV_MEAS_SOURCE_DRIVER, &o);
        if (vbios)
                compare(r, vbios->entries, vbios->n_entries, NV_MEAS_SOURCE_VBIOS, &o);
        if (o.n_mismatches > 0)
                o.result = NV_MEAS_MISMATCH;
        else if (driver && vbios && o.n_compared > 0)
                o.result = NV_MEAS_MATCH;
        else
                o.result = NV_MEAS_NOT_CHECKED;
        *ret = o;
        return 0;
}

int nv_measure_golden(const NvReport *r, const NvGolden *g, NvMeasOutcome *ret) {
        NvMeasOutcome o = {};

        compare(r, g->entries, g->n_entries, NV_MEAS_SOURCE_GOLDEN, &o);
        o.result = o.n_mismatches > 0 ? NV_MEAS_MISMATCH : o.n_compared > 0 ? NV_MEAS_MATCH : NV_MEAS_NOT_CHECKED;
        *ret = o;
        return 0;
}

/* ---- golden lists ---- */

NvGolden *nv_golden_free(NvGolden *g) {
        if (!g)
                return NULL;
        free(g->entries);
        free(g);
        return NULL;
}

static int golden_fail(char **ret_reason, const char *fmt, ...) _printf_(2, 3);
static int golden_fail(char **ret_reason, const char *fmt, ...) {
        va_list ap;

        if (ret_reason) {
                va_start(ap, fmt);
                *ret_reason = strdup_vprintf(fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

static int golden_entry(json_object *o, size_t i, NvRimEntry *e, char **ret_reason) {
        json_object *index = NULL, *values = NULL;
        int64_t idx;
        size_t n;

        if (!json_object_is_type(o, json_type_object))
                return golden_fail(ret_reason, "[%zu]: expected an object", i);
        json_object_object_foreach(o, key, val) {
                (void) val;
                if (!streq(key, "index") && !streq(key, "values"))
                        return golden_fail(ret_reason, "[%zu]: unknown key", i);
        }
        if (!json_object_object_get_ex(o, "index", &index) || !json_object_is_type(index, json_type_int))
                return golden_fail(ret_reason, "[%zu].index: expected an integer", i);
        idx = json_object_get_int64(index);
        if (idx < 0 || idx > (int64_t) NV_BLOCKS_MAX - 1)
                return golden_fail(ret_reason, "[%zu].index: expected 0..%u", i, NV_BLOCKS_MAX - 1);
        if (!json_object_object_get_ex(o, "values", &values) || !json_object_is_type(values, json_type_array))
                return golden_fail(ret_reason, "[%zu].values: expected an array of hex digests", i);
        n = json_object_array_length(values);
        if (n == 0 || n > NV_RIM_ALTERNATIVES_MAX)
                return golden_fail(ret_reason, "[%zu].values: expected 1 to %u digests", i, NV_RIM_ALTERNATIVES_MAX);
        *e = (NvRimEntry) { .index = (unsigned) idx, .active = true, .n_alternatives = (unsigned) n };
        for (size_t k = 0; k < n; k++) {
                json_object *h = json_object_array_get_idx(values, k);
                const char *s = json_object_get_string(h);
                size_t len = s ? strlen(s) : 0;

                if (!json_object_is_type(h, json_type_string) || len == 0 || len % 2 || len / 2 > NV_DIGEST_MAX ||
                    (k > 0 && len / 2 != e->size) || hex_decode_exact(s, e->alternatives[k], len / 2) < 0)
                        return golden_fail(ret_reason, "[%zu].values[%zu]: expected a hex digest of up to %u bytes, "
                                                       "all of one size", i, k, NV_DIGEST_MAX);
                e->size = (unsigned) (len / 2);
        }
        return 0;
}

int nv_golden_parse(const char *json, size_t size, NvGolden **ret, char **ret_reason) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(nv_golden_freep) NvGolden *g = NULL;
        size_t n;
        int r;

        if (size == 0 || size > 1024 * 1024 || memchr(json, 0, size))
                return golden_fail(ret_reason, "expected a JSON array of at most 1 MiB");
        tok = json_tokener_new_ex(8);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, json, (int) size);
        if (!root || json_tokener_get_error(tok) != json_tokener_success)
                return golden_fail(ret_reason, "invalid JSON");
        for (size_t i = json_tokener_get_parse_end(tok); i < size; i++)
                if (!strchr(" \t\r\n", json[i]))
                        return golden_fail(ret_reason, "invalid JSON: text after the array");
        if (!json_object_is_type(root, json_type_array))
                return golden_fail(ret_reason, "expected a JSON array of {\"index\", \"values\"} objects");
        n = json_object_array_length(root);
        if (n == 0 || n > NV_RIM_ENTRIES_MAX)
                return golden_fail(ret_reason, "expected 1 to %u entries", NV_RIM_ENTRIES_MAX);
        g = calloc(1, sizeof(NvGolden));
        if (!g || !(g->entries = calloc(n, sizeof(NvRimEntry))))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = golden_entry(json_object_array_get_idx(root, i), i, &g->entries[i], ret_reason);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < i; k++)
                        if (g->entries[k].index == g->entries[i].index)
                                return golden_fail(ret_reason, "[%zu].index: %u appears twice", i, g->entries[i].index);
                g->n_entries++;
        }
        *ret = TAKE_PTR(g);
        return 0;
}
