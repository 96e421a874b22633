/* SPDX-License-Identifier: Apache-2.0 */
/* Measurement comparison (spec §3.4): the report's SPDM measurement blocks against the active
 * entries of the driver and VBIOS RIMs, or against a golden list. RIM index i is SPDM block i+1;
 * any listed alternative may match (same size); index 35 (NVDEC) is skipped when NVDEC0_STATUS
 * says NVDEC is disabled (0x55) and compared otherwise, also when the status is absent or
 * unknown, which is the stricter choice. */
#include <stdio.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/gpu.h"
#include "cvm/json-read.h"
#include "cvm/util.h"

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

#define GOLDEN_SIZE_MAX (1024u * 1024u)
#define GOLDEN_JSON_DEPTH 8u

/* {"index": 0..254, "values": ["<hex>", ...]}: 1 to NV_RIM_ALTERNATIVES_MAX digests of one size. */
typedef struct GoldenEntry {
        NvRimEntry e;
        bool has_index, has_values;
} GoldenEntry;

static int golden_index(json_object *v, const char *path, void *data, char **reason) {
        GoldenEntry *g = data;
        uint64_t idx;
        int r;

        r = json_read_uint(v, path, 0, NV_BLOCKS_MAX - 1, &idx, reason);
        if (r < 0)
                return r;
        g->e.index = (unsigned) idx;
        g->has_index = true;
        return 0;
}

static int golden_values(json_object *v, const char *path, void *data, char **reason) {
        GoldenEntry *g = data;
        size_t n;
        int r;

        r = json_read_array(v, path, NV_RIM_ALTERNATIVES_MAX, &n, reason);
        if (r < 0)
                return r;
        if (n == 0)
                return json_error(reason, path, "expected 1 to %u digests", NV_RIM_ALTERNATIVES_MAX);
        for (size_t k = 0; k < n; k++) {
                _cleanup_free_ char *p = json_path_index(path, k);
                size_t size;

                if (!p)
                        return -ENOMEM;
                r = json_read_hex_bounded(json_object_array_get_idx(v, k), p, g->e.alternatives[k], NV_DIGEST_MAX,
                                          &size, reason);
                if (r < 0)
                        return r;
                if (k > 0 && size != g->e.size)
                        return json_error(reason, p, "%zu bytes, the first digest has %u: all must have one size", size,
                                          g->e.size);
                g->e.size = (unsigned) size;
        }
        g->e.n_alternatives = (unsigned) n;
        g->has_values = true;
        return 0;
}

static const JsonField golden_fields[] = {
        { "index", golden_index },
        { "values", golden_values },
};

static int golden_entry(json_object *o, const char *path, NvRimEntry *ret, char **reason) {
        GoldenEntry g = {};
        int r;

        r = json_read_object(o, path, golden_fields, ELEMENTSOF(golden_fields), &g, reason);
        if (r < 0)
                return r;
        if (!g.has_index || !g.has_values)
                return json_error(reason, path, "expected both \"index\" and \"values\"");
        g.e.active = true;
        *ret = g.e;
        return 0;
}

static int golden_from_tree(json_object *root, NvGolden **ret, char **reason) {
        _cleanup_(nv_golden_freep) NvGolden *g = NULL;
        size_t n;
        int r;

        if (!json_object_is_type(root, json_type_array))
                return json_error(reason, NULL, "expected a JSON array of {\"index\", \"values\"} objects, got %s",
                                  json_type_name(root));
        r = json_read_array(root, "", NV_RIM_ENTRIES_MAX, &n, reason);
        if (r < 0)
                return r;
        if (n == 0)
                return json_error(reason, NULL, "expected 1 to %u entries", NV_RIM_ENTRIES_MAX);
        g = calloc(1, sizeof(NvGolden));
        if (!g || !(g->entries = calloc(n, sizeof(NvRimEntry))))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index("", i);

                if (!p)
                        return -ENOMEM;
                r = golden_entry(json_object_array_get_idx(root, i), p, &g->entries[i], reason);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < i; k++)
                        if (g->entries[k].index == g->entries[i].index)
                                return json_error(reason, p, "index %u appears twice", g->entries[i].index);
                g->n_entries++;
        }
        *ret = TAKE_PTR(g);
        return 0;
}

int nv_golden_parse(const char *json, size_t size, NvGolden **ret, char **ret_reason) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_free_ char *reason = NULL;
        int r;

        r = json_parse_strict_value(json, size, GOLDEN_SIZE_MAX, GOLDEN_JSON_DEPTH, "golden list", &root, &reason);
        if (r >= 0)
                r = golden_from_tree(root, ret, &reason);
        /* Every refusal of a golden list is -EINVAL, an oversized one too. */
        if (r == -EFBIG)
                r = -EINVAL;
        if (r < 0 && r != -ENOMEM && ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}
