/* SPDX-License-Identifier: Apache-2.0 */
/* The event log against a quote: what the appraisal calls once the quote itself is verified.
 * A log that replays to the quote's RTMRs tells what booted; one that does not proves nothing
 * and is refused. */
#include "cvm/tdx-measure.h"
#include "cvm/tdx.h"
#include "cvm/util.h"

int tdx_eventlog_replay_quote(const uint8_t *log, size_t size, const struct TdxQuote *q, CcEventLog **ret_log,
                              char **ret_reason) {
        _cleanup_(cc_eventlog_freep) CcEventLog *l = NULL;
        int r;

        r = cc_eventlog_parse(log, size, &l, ret_reason);
        if (r < 0)
                return r;
        r = cc_eventlog_match(l, (const uint8_t(*)[TDX_MR_SIZE]) q->rtmr, ret_reason);
        if (r < 0)
                return set_reason(ret_reason, r, "out of memory");
        if (ret_log)
                *ret_log = TAKE_PTR(l);
        return r;
}
