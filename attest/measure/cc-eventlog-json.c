/* SPDX-License-Identifier: Apache-2.0 */
/* A replayed CC event log as JSON: the four RTMRs and every event with its register, type,
 * SHA-384 digest and data. Event data is guest-chosen: it is shown as text only when every
 * byte is printable ASCII (trailing NULs dropped), else as hex, so nothing is interpreted. */
#include <stdio.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"

static bool is_text(const uint8_t *p, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (p[i] < 0x20 || p[i] > 0x7e)
                        return false;
        return true;
}

static json_object *data_json(const uint8_t *p, size_t n) {
        size_t text = n;
        _cleanup_free_ char *s = NULL;

        while (text > 0 && p[text - 1] == 0)
                text--;
        if (is_text(p, text)) {
                s = strndup((const char *) p, text);
                return s ? json_object_new_string(s) : NULL;
        }
        s = hex_encode(p, n);
        return s ? json_object_new_string(s) : NULL;
}

static int add_hex(json_object *o, const char *key, const uint8_t *p, size_t n) {
        _cleanup_free_ char *s = hex_encode(p, n);
        json_object *v = s ? json_object_new_string(s) : NULL;

        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *event_json(const CcEventLog *log, size_t i) {
        const CcEvent *ev = &log->events[i];
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const char *name = tcg_event_type_to_string(ev->type);
        char unknown[sizeof("0x") + 8], mr[16];
        bool extended = ev->type != TCG_EV_NO_ACTION;

        if (!o)
                return NULL;
        /* a known name as is (the longest is 32 characters), else the type in hex */
        if (!name) {
                snprintf(unknown, sizeof(unknown), "0x%08x", ev->type);
                name = unknown;
        }
        snprintf(mr, sizeof(mr), "rtmr%u", ev->mr_index - 1);
        if (json_object_object_add(o, "index", json_object_new_int64((int64_t) i)) < 0 ||
            json_object_object_add(o, "mr_index", json_object_new_int64(ev->mr_index)) < 0 ||
            json_object_object_add(o, "mr", extended ? json_object_new_string(mr) : NULL) < 0 ||
            json_object_object_add(o, "type", json_object_new_string(name)) < 0 ||
            json_object_object_add(o, "offset", json_object_new_int64((int64_t) ev->offset)) < 0)
                return NULL;
        if (extended && add_hex(o, "digest", ev->digest, TDX_MR_SIZE) < 0)
                return NULL;
        if (json_object_object_add(o, "data", data_json(log->data + ev->data_offset, ev->data_size)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_object *cc_eventlog_to_json(const CcEventLog *log) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *events = json_object_new_array();

        if (!o || !events || json_object_object_add(o, "events", events) < 0) {
                json_object_put(events);
                return NULL;
        }
        for (unsigned i = 0; i < TDX_RTMRS; i++) {
                char key[8];
                snprintf(key, sizeof(key), "rtmr%u", i);
                if (add_hex(o, key, log->rtmr[i], TDX_MR_SIZE) < 0)
                        return NULL;
        }
        for (size_t i = 0; i < log->n_events; i++) {
                json_object *e = event_json(log, i);
                if (!e || json_object_array_add(events, e) < 0) {
                        json_object_put(e);
                        return NULL;
                }
        }
        return TAKE_PTR(o);
}
