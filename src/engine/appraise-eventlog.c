/* SPDX-License-Identifier: Apache-2.0 */
/* The TDX CC event log in the appraisal: replayed against the quote's RTMR0-3 (a log that does
 * not replay to them proves nothing and is refused, naming the register), then read for what
 * booted (kernel, initrd, command line) and which workloads the agent measured into RTMR3
 * (cvm/workload-event.h), which become claims and meet the policy. On SEV-SNP the workload
 * digests travel beside the report and are bound into REPORT_DATA. The log is the guest's: every
 * event is read with the bounded reader, and nothing in it counts before the replay matched. */
#include <string.h>

#include "appraise-eventlog.h"
#include "cvm/eventlog-boot.h"
#include "cvm/reader.h"
#include "cvm/tdx-measure.h"
#include "cvm/tdx.h"
#include "cvm/util.h"
#include "cvm/workload-event.h"

/* A tagged event's ID and its data, or -EBADMSG. */
static int tagged_event(const CcEventLog *log, const CcEvent *ev, uint32_t *ret_id, Reader *ret_data) {
        Reader r = reader_init(log->data + ev->data_offset, ev->data_size);
        uint32_t size;

        if (reader_le32(&r, ret_id) < 0 || reader_le32(&r, &size) < 0 || reader_sub(&r, size, ret_data) < 0)
                return -EBADMSG;
        return 0;
}

static bool data_starts_with(const CcEventLog *log, const CcEvent *ev, const char *prefix) {
        size_t n = strlen(prefix);

        return ev->data_size >= n && memcmp(log->data + ev->data_offset, prefix, n) == 0;
}

/* Guest text as a claim: printable ASCII as is, anything else as hex. */
static json_object *text_claim(const uint8_t *p, size_t n) {
        _cleanup_free_ char *s = NULL;
        bool text = n > 0;

        while (n > 0 && p[n - 1] == 0)
                n--;
        for (size_t i = 0; i < n && text; i++)
                text = p[i] >= 0x20 && p[i] < 0x7f;
        s = text ? strndup((const char *) p, n) : hex_encode(p, n);
        return s ? json_object_new_string(s) : NULL;
}

static int add_hex(json_object *o, const char *key, const uint8_t *p, size_t n) {
        _cleanup_free_ char *s = hex_encode(p, n);
        json_object *j = s ? json_object_new_string(s) : NULL;

        if (!j || json_object_object_add(o, key, j) < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        return 0;
}

/* Finds the boot components and the workloads; *ret_workloads is malloc'ed (48 bytes each). */
static int read_boot(const CcEventLog *log, PolicyMeasuredBoot *b, uint8_t **ret_workloads, json_object *workloads) {
        _cleanup_free_ uint8_t *w = NULL;
        size_t n = 0;

        for (size_t i = 0; i < log->n_events; i++) {
                const CcEvent *ev = &log->events[i];
                uint32_t id;
                Reader data;
                bool tagged = ev->type == TCG_EV_EVENT_TAG && tagged_event(log, ev, &id, &data) >= 0;

                if (ev->type == TCG_EV_NO_ACTION)
                        continue;
                if (ev->mr_index == CC_MR_INDEX_RTMR1 && ev->type == TCG_EV_EFI_BOOT_SERVICES_APPLICATION) {
                        memcpy(b->kernel, ev->digest, 48);
                        b->has_kernel = true;
                } else if (ev->mr_index == CC_MR_INDEX_RTMR2 && tagged && id == LINUX_INITRD_EVENT_TAG) {
                        memcpy(b->initrd, ev->digest, 48);
                        b->has_initrd = true;
                } else if (ev->mr_index == CC_MR_INDEX_RTMR2 &&
                           ((tagged && id == LINUX_LOAD_OPTIONS_EVENT_TAG) ||
                            (ev->type == TCG_EV_IPL && data_starts_with(log, ev, GRUB_CMDLINE_PREFIX)))) {
                        memcpy(b->cmdline, ev->digest, 48);
                        b->has_cmdline = true;
                } else if (ev->mr_index == CC_MR_INDEX_RTMR3 && tagged && id == CVM_WORKLOAD_EVENT_TAG) {
                        json_object *o = json_object_new_object(), *d;
                        uint8_t *p = reallocarray(w, n + 1, 48);

                        if (!o || !p || json_object_array_add(workloads, o) < 0) {
                                json_object_put(o);
                                if (p)
                                        w = p;
                                return -ENOMEM;
                        }
                        w = p;
                        memcpy(w + 48 * n++, ev->digest, 48);
                        d = text_claim(data.p + data.off, reader_remaining(&data));
                        if (add_hex(o, "digest", ev->digest, 48) < 0 || !d ||
                            json_object_object_add(o, "description", d) < 0) {
                                json_object_put(d);
                                return -ENOMEM;
                        }
                }
        }
        b->n_workloads = n;
        *ret_workloads = TAKE_PTR(w);
        return 0;
}

static int boot_claims(json_object *o, const PolicyMeasuredBoot *b) {
        if ((b->has_kernel && add_hex(o, "kernel", b->kernel, 48) < 0) ||
            (b->has_initrd && add_hex(o, "initrd", b->initrd, 48) < 0) ||
            (b->has_cmdline && add_hex(o, "cmdline", b->cmdline, 48) < 0))
                return -ENOMEM;
        return 0;
}

int eventlog_read_boot(const CcEventLog *log, PolicyMeasuredBoot *b, uint8_t **ret_workloads,
                       json_object **ret_claims) {
        _cleanup_(json_object_putp) json_object *claims = json_object_new_object();
        _cleanup_free_ uint8_t *workloads = NULL;
        json_object *list = json_object_new_array();
        int r;

        if (!claims || !list || json_object_object_add(claims, "workloads", list) < 0) {
                json_object_put(list);
                return -ENOMEM;
        }
        *b = (PolicyMeasuredBoot) {};
        r = read_boot(log, b, &workloads, list);
        if (r < 0)
                return r;
        if (boot_claims(claims, b) < 0)
                return -ENOMEM;
        b->has_eventlog = true;
        b->workloads = workloads;
        if (ret_workloads)
                *ret_workloads = TAKE_PTR(workloads);
        else
                b->workloads = NULL;
        *ret_claims = TAKE_PTR(claims);
        return 0;
}

int appraise_tdx_eventlog(const AppraiseConfig *c, const ExchangeEvidence *e, const TdxQuote *q, Verdict *v) {
        _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
        _cleanup_(json_object_putp) json_object *claims = NULL;
        _cleanup_free_ uint8_t *workloads = NULL;
        _cleanup_free_ char *why = NULL;
        const ProtoMsg *m = e->msg;
        PolicyMeasuredBoot b = {};
        int r;

        if (m->workload_digests.size > 0)
                verdict_check(v, "evidence.workload-digests", CHECK_FAIL,
                              "TDX workloads are measured into RTMR3 and read from the event log, not sent beside it");
        if (m->eventlog.size == 0) {
                verdict_check(v, "eventlog.replay", CHECK_SKIP, "the guest sent no event log");
                policy_evaluate_tdx_eventlog(c->policy, &b, v);
                return 0;
        }
        r = tdx_eventlog_replay_quote(m->eventlog.data, m->eventlog.size, q, &log, &why);
        if (r == -ENOMEM)
                return r;
        if (r <= 0) {
                /* a failed check is also a reason: the evidence is not accepted */
                verdict_check(v, "eventlog.replay", CHECK_FAIL, "%s", why ? why : "the event log does not replay");
                v->authentic = false;
                return 0;
        }
        verdict_check(v, "eventlog.replay", CHECK_PASS, "%zu events replay to the quote's RTMR0-3", log->n_events);
        r = eventlog_read_boot(log, &b, &workloads, &claims);
        if (r < 0)
                return r;
        if (json_object_object_add(v->claims, "eventlog", TAKE_PTR(claims)) < 0)
                return -ENOMEM;
        policy_evaluate_tdx_eventlog(c->policy, &b, v);
        return 0;
}

int appraise_snp_workloads(const AppraiseConfig *c, const ExchangeEvidence *e, const uint8_t report_data[64],
                           Verdict *v) {
        const ProtoMsg *m = e->msg;
        size_t n = m->workload_digests.size / PROTO_WORKLOAD_DIGEST_SIZE;
        uint8_t want[64];
        json_object *list;

        proto_report_data_workloads(e->report_data, m->workload_digests.data, n, want);
        appraise_check_equal(v, "binding.report-data", report_data, want, 64,
                             n ? "REPORT_DATA = SHA-512(\"cvmd-workload-v1\" || SHA-512(\"cvmd-attest-v1\" || nonce || "
                                 "guest key) || SHA-384(workload digests))"
                               : "REPORT_DATA = SHA-512(\"cvmd-attest-v1\" || nonce || guest key)");
        if (m->eventlog.size > 0)
                verdict_check(v, "evidence.eventlog", CHECK_FAIL, "an SEV-SNP guest has no CC event log to send");
        if (n > 0) {
                list = json_object_new_array();
                if (!list || json_object_object_add(v->claims, "workloads", list) < 0) {
                        json_object_put(list);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *s = hex_encode(m->workload_digests.data + 48 * i, 48);
                        if (!s || json_object_array_add(list, json_object_new_string(s)) < 0)
                                return -ENOMEM;
                }
        }
        policy_evaluate_snp_workloads(c->policy, m->workload_digests.data, n, v);
        return 0;
}
