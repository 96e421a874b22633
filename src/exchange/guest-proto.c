/* SPDX-License-Identifier: Apache-2.0 */
/* Guest channel frames and messages (see include/cvm/guest-proto.h). */
#include <openssl/sha.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cvm/cleanup.h"
#include "cvm/guest-proto.h"
#include "cvm/json-strict.h"
#include "cvm/key-bundle.h"
#include "cvm/reader.h"
#include "cvm/util.h"

static const char *const type_names[_PROTO_MSG_MAX] = {
        [PROTO_HELLO] = "hello",   [PROTO_CHALLENGE] = "challenge", [PROTO_EVIDENCE] = "evidence",
        [PROTO_KEY_RELEASE] = "key_release", [PROTO_ACK] = "ack", [PROTO_ERROR] = "error",
};

const char *proto_msg_type_to_string(ProtoMsgType t) {
        return t >= 0 && t < _PROTO_MSG_MAX ? type_names[t] : "invalid";
}

static const char *const gpu_cc_names[_PROTO_GPU_CC_MAX] = {
        [PROTO_GPU_CC_OFF] = "off", [PROTO_GPU_CC_ON] = "on", [PROTO_GPU_CC_DEVTOOLS] = "devtools",
};

const char *proto_gpu_cc_to_string(ProtoGpuCc c) {
        return c >= 0 && c < _PROTO_GPU_CC_MAX ? gpu_cc_names[c] : NULL;
}

ProtoGpuCc proto_gpu_cc_from_string(const char *s) {
        for (int c = 0; s && c < _PROTO_GPU_CC_MAX; c++)
                if (streq(s, gpu_cc_names[c]))
                        return c;
        return _PROTO_GPU_CC_INVALID;
}

static bool is_lower_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool proto_pci_address_is_valid(const char *s) {
        /* one spelling only, so that the host can compare addresses as strings */
        static const char shape[] = "xxxx:xx:xx.x";

        if (!s || strlen(s) != sizeof(shape) - 1)
                return false;
        for (size_t i = 0; i < sizeof(shape) - 1; i++)
                if (shape[i] == 'x' ? !is_lower_hex(s[i]) : s[i] != shape[i])
                        return false;
        return (s[8] == '0' || s[8] == '1') && s[11] >= '0' && s[11] <= '7';
}

static ProtoMsgType type_from_string(const char *s) {
        for (int t = 0; t < _PROTO_MSG_MAX; t++)
                if (streq(s, type_names[t]))
                        return t;
        return _PROTO_MSG_INVALID;
}

static void blob_done(ProtoBlob *b) {
        free(b->data);
        *b = (ProtoBlob) {};
}

void proto_msg_done(ProtoMsg *m) {
        blob_done(&m->report);
        blob_done(&m->cert_table);
        blob_done(&m->eventlog);
        blob_done(&m->workload_digests);
        for (size_t i = 0; i < PROTO_GPUS_MAX; i++) {
                blob_done(&m->gpu_reports[i]);
                blob_done(&m->gpu_chains[i]);
        }
        for (size_t i = 0; i < PROTO_SWITCHES_MAX; i++) {
                blob_done(&m->switch_reports[i]);
                blob_done(&m->switch_chains[i]);
        }
        blob_done(&m->enc);
        blob_done(&m->ciphertext);
        free(m->token);
        free(m->reason);
        *m = (ProtoMsg) {};
}

/* ---- JSON <-> message ---- */

static int add_b64(json_object *o, const char *key, const uint8_t *p, size_t n) {
        _cleanup_free_ char *s = b64_encode(p, n);

        if (!s)
                return -ENOMEM;
        return json_object_object_add(o, key, json_object_new_string(s)) < 0 ? -ENOMEM : 0;
}

/* "gpu_pci" and "gpu_cc": one string per GPU, next to its report. */
static int add_gpu_claims(json_object *o, const ProtoMsg *m) {
        json_object *pci = json_object_new_array(), *cc = json_object_new_array();

        if (!pci || !cc || json_object_object_add(o, "gpu_pci", pci) < 0) {
                json_object_put(pci);
                json_object_put(cc);
                return -ENOMEM;
        }
        if (json_object_object_add(o, "gpu_cc", cc) < 0) {
                json_object_put(cc);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m->n_gpus && i < PROTO_GPUS_MAX; i++) {
                const char *mode = proto_gpu_cc_to_string(m->gpu_cc[i]);
                if (!mode || !proto_pci_address_is_valid(m->gpu_pci[i]))
                        return -EINVAL;
                if (json_object_array_add(pci, json_object_new_string(m->gpu_pci[i])) < 0 ||
                    json_object_array_add(cc, json_object_new_string(mode)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* "switch_reports" and "switch_chains": base64 strings, one each per NVSwitch. */
static int add_switches(json_object *o, const ProtoMsg *m) {
        json_object *reports = json_object_new_array(), *chains = json_object_new_array();

        if (!reports || !chains || json_object_object_add(o, "switch_reports", reports) < 0) {
                json_object_put(reports);
                json_object_put(chains);
                return -ENOMEM;
        }
        if (json_object_object_add(o, "switch_chains", chains) < 0) {
                json_object_put(chains);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m->n_switches && i < PROTO_SWITCHES_MAX; i++) {
                _cleanup_free_ char *rep = b64_encode(m->switch_reports[i].data, m->switch_reports[i].size);
                _cleanup_free_ char *chain = b64_encode(m->switch_chains[i].data, m->switch_chains[i].size);
                if (!rep || !chain || json_object_array_add(reports, json_object_new_string(rep)) < 0 ||
                    json_object_array_add(chains, json_object_new_string(chain)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int proto_msg_to_json(const ProtoMsg *m, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return -ENOMEM;
        if (m->type < 0 || m->type >= _PROTO_MSG_MAX)
                return -EINVAL;
        /* The wire spells only the TEEs that make evidence. */
        if ((m->type == PROTO_CHALLENGE || m->type == PROTO_EVIDENCE) && !cvm_tee_has_evidence(m->tee))
                return -EINVAL;
        json_object_object_add(o, "type", json_object_new_string(type_names[m->type]));
        switch (m->type) {
        case PROTO_HELLO:
                json_object_object_add(o, "version", json_object_new_int64(m->version));
                break;
        case PROTO_CHALLENGE:
                r = add_b64(o, "nonce", m->nonce, sizeof(m->nonce));
                if (r >= 0)
                        r = add_b64(o, "vm_uuid", m->vm_uuid, sizeof(m->vm_uuid));
                if (r >= 0)
                        r = add_b64(o, "spec_digest", m->spec_digest, sizeof(m->spec_digest));
                if (r >= 0)
                        r = add_b64(o, "releaser_key", m->releaser_key, sizeof(m->releaser_key));
                json_object_object_add(o, "tee", json_object_new_string(cvm_tee_to_string(m->tee)));
                json_object_object_add(o, "gpus", json_object_new_int64(m->gpus));
                if (m->switches > 0) /* optional: absent when none, as older agents expect */
                        json_object_object_add(o, "switches", json_object_new_int64(m->switches));
                break;
        case PROTO_EVIDENCE: {
                json_object *reports = json_object_new_array(), *chains = json_object_new_array();
                if (!reports || !chains) {
                        json_object_put(reports);
                        json_object_put(chains);
                        return -ENOMEM;
                }
                json_object_object_add(o, "tee", json_object_new_string(cvm_tee_to_string(m->tee)));
                r = add_b64(o, "report", m->report.data, m->report.size);
                if (r >= 0)
                        r = add_b64(o, "cert_table", m->cert_table.data, m->cert_table.size);
                for (size_t i = 0; r >= 0 && i < m->n_gpus && i < PROTO_GPUS_MAX; i++) {
                        _cleanup_free_ char *rep = b64_encode(m->gpu_reports[i].data, m->gpu_reports[i].size);
                        _cleanup_free_ char *chain = b64_encode(m->gpu_chains[i].data, m->gpu_chains[i].size);
                        if (!rep || !chain)
                                r = -ENOMEM;
                        else {
                                json_object_array_add(reports, json_object_new_string(rep));
                                json_object_array_add(chains, json_object_new_string(chain));
                        }
                }
                json_object_object_add(o, "gpu_reports", reports);
                json_object_object_add(o, "gpu_chains", chains);
                if (r >= 0)
                        r = add_gpu_claims(o, m);
                if (r >= 0)
                        r = add_b64(o, "pubkey", m->pubkey, sizeof(m->pubkey));
                /* optional members: absent when empty, so older hosts read what they know */
                if (r >= 0 && m->eventlog.size > 0)
                        r = add_b64(o, "eventlog", m->eventlog.data, m->eventlog.size);
                if (r >= 0 && m->workload_digests.size > 0)
                        r = add_b64(o, "workload_digests", m->workload_digests.data, m->workload_digests.size);
                if (r >= 0 && m->n_switches > 0)
                        r = add_switches(o, m);
                break;
        }
        case PROTO_KEY_RELEASE:
                r = add_b64(o, "enc", m->enc.data, m->enc.size);
                if (r >= 0)
                        r = add_b64(o, "ciphertext", m->ciphertext.data, m->ciphertext.size);
                json_object_object_add(o, "token", json_object_new_string(m->token ? m->token : ""));
                break;
        case PROTO_ACK:
                r = add_b64(o, "confirmation", m->confirmation, sizeof(m->confirmation));
                break;
        case PROTO_ERROR:
                json_object_object_add(o, "reason", json_object_new_string(m->reason ? m->reason : ""));
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

typedef struct Field {
        const char *key;
        json_type type;
        bool optional;
} Field;

/* Every member must be one of `fields` with the right type, and every field not optional must
 * be present. */
static int check_members(json_object *o, const Field *fields, size_t n, const char *what, char **ret_reason) {
        size_t seen = 0;

        json_object_object_foreach(o, key, val) {
                size_t i;
                for (i = 0; i < n; i++)
                        if (streq(key, fields[i].key))
                                break;
                if (i == n)
                        return set_reason(ret_reason, -EBADMSG, "%s: unknown key '%.32s'", what, key);
                if (!json_object_is_type(val, fields[i].type))
                        return set_reason(ret_reason, -EBADMSG, "%s.%s: wrong type", what, key);
                seen++;
        }
        if (seen != n)
                for (size_t i = 0; i < n; i++)
                        if (!fields[i].optional && !json_object_object_get_ex(o, fields[i].key, NULL))
                                return set_reason(ret_reason, -EBADMSG, "%s: missing '%s'", what, fields[i].key);
        return 0;
}

static const char *get_str(json_object *o, const char *key, size_t *ret_len) {
        json_object *v = NULL;

        (void) json_object_object_get_ex(o, key, &v);
        *ret_len = (size_t) json_object_get_string_len(v);
        return json_object_get_string(v);
}

/* A base64 field of min..max decoded bytes. */
static int get_b64(json_object *o, const char *key, const char *what, size_t min, size_t max, ProtoBlob *ret,
                   char **ret_reason) {
        const char *s;
        size_t len;
        int r;

        s = get_str(o, key, &len);
        if (len > (max + 2) / 3 * 4)
                return set_reason(ret_reason, -EBADMSG, "%s.%s: longer than %zu bytes", what, key, max);
        /* An empty string is an empty field (cert_table may be one); b64_decode() refuses it. The
         * length is bounded above, so the size is checked below, where the message names it. */
        r = len == 0 ? 0 : b64_decode(s, len, SIZE_MAX, &ret->data, &ret->size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_reason, -EBADMSG, "%s.%s: not base64", what, key);
        if (ret->size < min || ret->size > max) {
                size_t got = ret->size;
                blob_done(ret);
                return set_reason(ret_reason, -EBADMSG, "%s.%s: %zu bytes, expected %zu..%zu", what, key, got, min, max);
        }
        return 0;
}

static int get_b64_exact(json_object *o, const char *key, const char *what, void *dst, size_t n, char **ret_reason) {
        ProtoBlob b = {};
        int r = get_b64(o, key, what, n, n, &b, ret_reason);

        if (r < 0)
                return r;
        memcpy(dst, b.data, n);
        blob_done(&b);
        return 0;
}

static int get_text(json_object *o, const char *key, const char *what, size_t max, char **ret, char **ret_reason) {
        const char *s;
        size_t len;

        s = get_str(o, key, &len);
        if (len > max)
                return set_reason(ret_reason, -EBADMSG, "%s.%s: longer than %zu bytes", what, key, max);
        /* Guest text ends up in logs and terminals: no control characters (escape sequences). */
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return set_reason(ret_reason, -EBADMSG, "%s.%s: holds a control character", what, key);
        *ret = strndup(s, len);
        return *ret ? 0 : -ENOMEM;
}

static int get_tee(json_object *o, const char *what, CvmTee *ret, char **ret_reason) {
        size_t len;
        const char *s = get_str(o, "tee", &len);
        CvmTee t = cvm_tee_from_string(s);

        if (!cvm_tee_has_evidence(t))
                return set_reason(ret_reason, -EBADMSG, "%s.tee: '%.16s' is not sev-snp or tdx", what, s);
        *ret = t;
        return 0;
}

static int get_u32(json_object *o, const char *key, const char *what, uint32_t max, uint32_t *ret, char **ret_reason) {
        json_object *v = NULL;
        int64_t x;

        (void) json_object_object_get_ex(o, key, &v);
        errno = 0;
        x = json_object_get_int64(v);
        if (errno != 0 || x < 0 || x > max)
                return set_reason(ret_reason, -EBADMSG, "%s.%s: not an integer in 0..%u", what, key, max);
        *ret = (uint32_t) x;
        return 0;
}

/* Largest evidence blobs: an SNP report is 1184 bytes and a TDX quote a few KiB (DICE-based
 * quotes can exceed 8 KiB); a GPU report is under 8 KiB and its chain under 16 KiB. */
#define REPORT_MAX (64u * 1024u)
#define CERT_TABLE_MAX (64u * 1024u)
#define GPU_REPORT_MAX (16u * 1024u)
#define GPU_CHAIN_MAX (32u * 1024u)
#define TEXT_MAX 4096u

/* "eventlog" and "workload_digests", when present: never empty (absent says none), bounded,
 * and the digests a whole number of SHA-384 digests. */
static int get_optional_blobs(json_object *o, ProtoMsg *m, char **ret_reason) {
        int r;

        if (json_object_object_get_ex(o, "eventlog", NULL) &&
            (r = get_b64(o, "eventlog", "evidence", 1, PROTO_EVENTLOG_MAX, &m->eventlog, ret_reason)) < 0)
                return r;
        if (!json_object_object_get_ex(o, "workload_digests", NULL))
                return 0;
        r = get_b64(o, "workload_digests", "evidence", PROTO_WORKLOAD_DIGEST_SIZE,
                    PROTO_WORKLOADS_MAX * PROTO_WORKLOAD_DIGEST_SIZE, &m->workload_digests, ret_reason);
        if (r < 0)
                return r;
        if (m->workload_digests.size % PROTO_WORKLOAD_DIGEST_SIZE != 0)
                return set_reason(ret_reason, -EBADMSG, "evidence.workload_digests: %zu bytes, not a multiple of %u",
                                  m->workload_digests.size, PROTO_WORKLOAD_DIGEST_SIZE);
        return 0;
}

/* "gpu_pci" and "gpu_cc": exactly one valid address and one known mode per GPU report. */
static int get_gpu_claims(json_object *o, ProtoMsg *m, char **ret_reason) {
        json_object *pci, *cc;

        (void) json_object_object_get_ex(o, "gpu_pci", &pci);
        (void) json_object_object_get_ex(o, "gpu_cc", &cc);
        if (json_object_array_length(pci) != m->n_gpus || json_object_array_length(cc) != m->n_gpus)
                return set_reason(ret_reason, -EBADMSG, "evidence: %zu GPU reports but %zu gpu_pci and %zu gpu_cc entries",
                                  m->n_gpus, json_object_array_length(pci), json_object_array_length(cc));
        for (size_t i = 0; i < m->n_gpus; i++) {
                json_object *a = json_object_array_get_idx(pci, i), *b = json_object_array_get_idx(cc, i);
                const char *addr = json_object_is_type(a, json_type_string) ? json_object_get_string(a) : NULL;
                const char *mode = json_object_is_type(b, json_type_string) ? json_object_get_string(b) : NULL;

                if (!addr || !proto_pci_address_is_valid(addr) ||
                    (size_t) json_object_get_string_len(a) != PROTO_PCI_ADDRESS_SIZE - 1)
                        return set_reason(ret_reason, -EBADMSG, "evidence.gpu_pci[%zu]: not a PCI address \"dddd:bb:ss.f\"", i);
                if (!mode || (size_t) json_object_get_string_len(b) != strlen(mode) || proto_gpu_cc_from_string(mode) < 0)
                        return set_reason(ret_reason, -EBADMSG, "evidence.gpu_cc[%zu]: not \"on\", \"off\" or \"devtools\"", i);
                memcpy(m->gpu_pci[i], addr, PROTO_PCI_ADDRESS_SIZE);
                m->gpu_cc[i] = proto_gpu_cc_from_string(mode);
        }
        return 0;
}

/* n report/chain pairs from two arrays of equal length (checked by the caller): each entry a
 * bounded base64 string; *n_done counts the pairs read, so a failure frees only what was read. */
static int get_report_chain_pairs(json_object *reports, json_object *chains, size_t n, const char *device,
                                  const char *reports_what, const char *chains_what, ProtoBlob *ret_reports,
                                  ProtoBlob *ret_chains, size_t *n_done, char **ret_reason) {
        int r;

        for (size_t i = 0; i < n; i++) {
                json_object *a = json_object_array_get_idx(reports, i), *b = json_object_array_get_idx(chains, i);
                _cleanup_(json_object_putp) json_object *tmp = json_object_new_object();

                if (!tmp)
                        return -ENOMEM;
                if (!json_object_is_type(a, json_type_string) || !json_object_is_type(b, json_type_string))
                        return set_reason(ret_reason, -EBADMSG, "evidence: %s %zu entries must be strings", device, i);
                json_object_object_add(tmp, "report", json_object_get(a));
                json_object_object_add(tmp, "chain", json_object_get(b));
                *n_done = i + 1;
                if ((r = get_b64(tmp, "report", reports_what, 1, GPU_REPORT_MAX, &ret_reports[i], ret_reason)) < 0 ||
                    (r = get_b64(tmp, "chain", chains_what, 1, GPU_CHAIN_MAX, &ret_chains[i], ret_reason)) < 0)
                        return r;
        }
        return 0;
}

/* "switch_reports" and "switch_chains" when present: both, as long as each other, never empty,
 * at most PROTO_SWITCHES_MAX, each entry a bounded base64 string. */
static int get_switches(json_object *o, ProtoMsg *m, char **ret_reason) {
        json_object *reports = NULL, *chains = NULL;
        bool has_r = json_object_object_get_ex(o, "switch_reports", &reports),
             has_c = json_object_object_get_ex(o, "switch_chains", &chains);
        size_t n;

        if (!has_r && !has_c)
                return 0;
        n = json_object_array_length(reports);
        if (!has_r || !has_c || n != json_object_array_length(chains) || n == 0)
                return set_reason(ret_reason, -EBADMSG, "evidence: switch_reports and switch_chains must come together, "
                                  "as long as each other and not empty");
        if (n > PROTO_SWITCHES_MAX)
                return set_reason(ret_reason, -EBADMSG, "evidence: %zu NVSwitches, at most %u", n, PROTO_SWITCHES_MAX);
        return get_report_chain_pairs(reports, chains, n, "NVSwitch", "evidence.switch_reports",
                                      "evidence.switch_chains", m->switch_reports, m->switch_chains, &m->n_switches,
                                      ret_reason);
}

static int decode(json_object *o, ProtoMsg *m, char **ret_reason) {
        const char *what = type_names[m->type];
        int r;

        switch (m->type) {
        case PROTO_HELLO: {
                static const Field f[] = { { "type", json_type_string }, { "version", json_type_int } };
                if ((r = check_members(o, f, ELEMENTSOF(f), what, ret_reason)) < 0)
                        return r;
                return get_u32(o, "version", what, UINT32_MAX, &m->version, ret_reason);
        }
        case PROTO_CHALLENGE: {
                static const Field f[] = { { "type", json_type_string },
                                           { "nonce", json_type_string },
                                           { "vm_uuid", json_type_string },
                                           { "spec_digest", json_type_string },
                                           { "releaser_key", json_type_string },
                                           { "tee", json_type_string },
                                           { "gpus", json_type_int },
                                           { "switches", json_type_int, true } };
                if ((r = check_members(o, f, ELEMENTSOF(f), what, ret_reason)) < 0 ||
                    (r = get_b64_exact(o, "nonce", what, m->nonce, sizeof(m->nonce), ret_reason)) < 0 ||
                    (r = get_b64_exact(o, "vm_uuid", what, m->vm_uuid, sizeof(m->vm_uuid), ret_reason)) < 0 ||
                    (r = get_b64_exact(o, "spec_digest", what, m->spec_digest, sizeof(m->spec_digest), ret_reason)) < 0 ||
                    (r = get_b64_exact(o, "releaser_key", what, m->releaser_key, sizeof(m->releaser_key), ret_reason)) < 0 ||
                    (r = get_tee(o, what, &m->tee, ret_reason)) < 0)
                        return r;
                if (json_object_object_get_ex(o, "switches", NULL) &&
                    (r = get_u32(o, "switches", what, PROTO_SWITCHES_MAX, &m->switches, ret_reason)) < 0)
                        return r;
                return get_u32(o, "gpus", what, PROTO_GPUS_MAX, &m->gpus, ret_reason);
        }
        case PROTO_EVIDENCE: {
                static const Field f[] = { { "type", json_type_string },       { "tee", json_type_string },
                                           { "report", json_type_string },     { "cert_table", json_type_string },
                                           { "gpu_reports", json_type_array }, { "gpu_chains", json_type_array },
                                           { "gpu_pci", json_type_array },     { "gpu_cc", json_type_array },
                                           { "pubkey", json_type_string },
                                           { "eventlog", json_type_string, true },
                                           { "workload_digests", json_type_string, true },
                                           { "switch_reports", json_type_array, true },
                                           { "switch_chains", json_type_array, true } };
                json_object *reports, *chains;
                size_t n;

                if ((r = check_members(o, f, ELEMENTSOF(f), what, ret_reason)) < 0 ||
                    (r = get_tee(o, what, &m->tee, ret_reason)) < 0 ||
                    (r = get_b64(o, "report", what, 1, REPORT_MAX, &m->report, ret_reason)) < 0 ||
                    (r = get_b64(o, "cert_table", what, 0, CERT_TABLE_MAX, &m->cert_table, ret_reason)) < 0 ||
                    (r = get_b64_exact(o, "pubkey", what, m->pubkey, sizeof(m->pubkey), ret_reason)) < 0 ||
                    (r = get_optional_blobs(o, m, ret_reason)) < 0 || (r = get_switches(o, m, ret_reason)) < 0)
                        return r;
                (void) json_object_object_get_ex(o, "gpu_reports", &reports);
                (void) json_object_object_get_ex(o, "gpu_chains", &chains);
                n = json_object_array_length(reports);
                if (n != json_object_array_length(chains))
                        return set_reason(ret_reason, -EBADMSG, "evidence: %zu GPU reports but %zu GPU chains", n,
                                          json_object_array_length(chains));
                if (n > PROTO_GPUS_MAX)
                        return set_reason(ret_reason, -EBADMSG, "evidence: %zu GPUs, at most %u", n, PROTO_GPUS_MAX);
                r = get_report_chain_pairs(reports, chains, n, "GPU", "evidence.gpu_reports", "evidence.gpu_chains",
                                           m->gpu_reports, m->gpu_chains, &m->n_gpus, ret_reason);
                if (r < 0)
                        return r;
                m->n_gpus = n;
                return get_gpu_claims(o, m, ret_reason);
        }
        case PROTO_KEY_RELEASE: {
                static const Field f[] = { { "type", json_type_string },
                                           { "enc", json_type_string },
                                           { "ciphertext", json_type_string },
                                           { "token", json_type_string } };
                if ((r = check_members(o, f, ELEMENTSOF(f), what, ret_reason)) < 0 ||
                    (r = get_b64(o, "enc", what, 32, 32, &m->enc, ret_reason)) < 0 ||
                    (r = get_b64(o, "ciphertext", what, 16, KEY_BUNDLE_SEALED_MAX, &m->ciphertext, ret_reason)) < 0)
                        return r;
                return get_text(o, "token", what, 16 * TEXT_MAX, &m->token, ret_reason);
        }
        case PROTO_ACK: {
                static const Field f[] = { { "type", json_type_string }, { "confirmation", json_type_string } };
                if ((r = check_members(o, f, ELEMENTSOF(f), what, ret_reason)) < 0)
                        return r;
                return get_b64_exact(o, "confirmation", what, m->confirmation, sizeof(m->confirmation), ret_reason);
        }
        case PROTO_ERROR: {
                static const Field f[] = { { "type", json_type_string }, { "reason", json_type_string } };
                if ((r = check_members(o, f, ELEMENTSOF(f), what, ret_reason)) < 0)
                        return r;
                return get_text(o, "reason", what, TEXT_MAX, &m->reason, ret_reason);
        }
        default:
                return -EINVAL;
        }
}

int proto_msg_from_json(json_object *o, ProtoMsg *ret, char **ret_reason) {
        ProtoMsg m = {};
        json_object *t;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return set_reason(ret_reason, -EBADMSG, "message is not a JSON object");
        if (!json_object_object_get_ex(o, "type", &t) || !json_object_is_type(t, json_type_string))
                return set_reason(ret_reason, -EBADMSG, "message has no \"type\" string");
        m.type = type_from_string(json_object_get_string(t));
        if (m.type < 0)
                return set_reason(ret_reason, -EBADMSG, "unknown message type '%.32s'", json_object_get_string(t));
        r = decode(o, &m, ret_reason);
        if (r < 0) {
                proto_msg_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

/* ---- frames ---- */

int proto_frame_encode(const ProtoMsg *m, uint8_t **ret, size_t *ret_size) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *s;
        size_t len;
        uint8_t *buf;
        int r;

        r = proto_msg_to_json(m, &o);
        if (r < 0)
                return r;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        len = strlen(s);
        if (len > PROTO_FRAME_MAX)
                return -EMSGSIZE;
        buf = malloc(4 + len);
        if (!buf)
                return -ENOMEM;
        buf[0] = (uint8_t) (len >> 24);
        buf[1] = (uint8_t) (len >> 16);
        buf[2] = (uint8_t) (len >> 8);
        buf[3] = (uint8_t) len;
        memcpy(buf + 4, s, len);
        *ret = buf;
        *ret_size = 4 + len;
        return 0;
}

/* The deepest a message nests: the object, its arrays of GPU claims, with room to spare. */
#define FRAME_JSON_DEPTH 8u

/* One RFC 8259 value, strictly (json_parse_strict_value()): a duplicate member, which json-c
 * would resolve silently to the last, and invalid or overlong UTF-8 are refused with the rest.
 * That it is an object proto_msg_from_json() checks, with the message's other rules. */
static int body_decode(const uint8_t *body, size_t len, ProtoMsg *ret, char **ret_reason) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *why = NULL;
        int r;

        if (len == 0)
                return set_reason(ret_reason, -EBADMSG, "empty frame");
        r = json_parse_strict_value((const char *) body, len, PROTO_FRAME_MAX, FRAME_JSON_DEPTH, "frame", &o, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_reason, -EBADMSG, "frame is not exactly one JSON object: %s",
                                  why ? why : "invalid JSON");
        return proto_msg_from_json(o, ret, ret_reason);
}

int proto_frame_decode(const uint8_t *frame, size_t size, ProtoMsg *ret, char **ret_reason) {
        Reader rd = reader_init(frame, size);
        const uint8_t *body;
        uint32_t len;

        if (reader_be32(&rd, &len) < 0)
                return set_reason(ret_reason, -EBADMSG, "frame shorter than its 4-byte length");
        if (len > PROTO_FRAME_MAX)
                return set_reason(ret_reason, -EMSGSIZE, "frame of %u bytes exceeds the %u-byte limit", len,
                                  PROTO_FRAME_MAX);
        if (reader_remaining(&rd) != len || reader_take(&rd, len, &body) < 0)
                return set_reason(ret_reason, -EBADMSG, "frame declares %u bytes but carries %zu", len,
                                  reader_remaining(&rd));
        return body_decode(body, len, ret, ret_reason);
}

uint64_t proto_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline_usec) {
        for (;;) {
                uint64_t now = proto_now_usec();
                struct pollfd p = { .fd = fd, .events = events };
                int k;

                if (now >= deadline_usec)
                        return -ETIMEDOUT;
                k = poll(&p, 1, (int) ((deadline_usec - now + 999) / 1000));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k > 0)
                        return 0;
        }
}

static int read_exact(int fd, uint8_t *p, size_t n, uint64_t deadline_usec) {
        size_t done = 0;

        while (done < n) {
                ssize_t k;
                int r = wait_fd(fd, POLLIN, deadline_usec);
                if (r < 0)
                        return r;
                k = read(fd, p + done, n - done);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ECONNRESET;
                done += (size_t) k;
        }
        return 0;
}

int proto_recv(int fd, uint64_t deadline_usec, ProtoMsg *ret, char **ret_reason) {
        _cleanup_free_ uint8_t *body = NULL;
        uint8_t hdr[4];
        uint32_t len;
        int r;

        r = read_exact(fd, hdr, sizeof(hdr), deadline_usec);
        if (r < 0)
                return set_reason(ret_reason, r, "reading a frame header: %s", strerror(-r));
        len = (uint32_t) hdr[0] << 24 | (uint32_t) hdr[1] << 16 | (uint32_t) hdr[2] << 8 | hdr[3];
        /* The cap is enforced before allocating: the peer does not choose our memory use. */
        if (len > PROTO_FRAME_MAX)
                return set_reason(ret_reason, -EMSGSIZE, "frame of %u bytes exceeds the %u-byte limit", len,
                                  PROTO_FRAME_MAX);
        body = malloc(len ? len : 1);
        if (!body)
                return -ENOMEM;
        r = read_exact(fd, body, len, deadline_usec);
        if (r < 0)
                return set_reason(ret_reason, r, "reading a %u-byte frame: %s", len, strerror(-r));
        return body_decode(body, len, ret, ret_reason);
}

int proto_send(int fd, const ProtoMsg *m, uint64_t deadline_usec) {
        _cleanup_free_ uint8_t *frame = NULL;
        size_t size, done = 0;
        int r;

        r = proto_frame_encode(m, &frame, &size);
        if (r < 0)
                return r;
        while (done < size) {
                ssize_t k;
                r = wait_fd(fd, POLLOUT, deadline_usec);
                if (r < 0)
                        return r;
                k = send(fd, frame + done, size - done, MSG_NOSIGNAL);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return -errno;
                done += (size_t) k;
        }
        return 0;
}

/* ---- state ---- */

static const ProtoMsgType host_inbound[] = { PROTO_HELLO, PROTO_EVIDENCE, PROTO_ACK };
static const ProtoMsgType agent_inbound[] = { PROTO_CHALLENGE, PROTO_KEY_RELEASE };

static void inbound(ProtoRole role, const ProtoMsgType **ret, size_t *ret_n) {
        if (role == PROTO_ROLE_HOST) {
                *ret = host_inbound;
                *ret_n = ELEMENTSOF(host_inbound);
        } else {
                *ret = agent_inbound;
                *ret_n = ELEMENTSOF(agent_inbound);
        }
}

int proto_state_receive(ProtoState *s, ProtoMsgType t, char **ret_reason) {
        const ProtoMsgType *seq;
        size_t n;

        inbound(s->role, &seq, &n);
        if (s->closed)
                return set_reason(ret_reason, -EPROTO, "channel already closed");
        if (t == PROTO_ERROR) {
                s->closed = true;
                return set_reason(ret_reason, -ECONNABORTED, "peer sent an error");
        }
        if (s->step >= n || seq[s->step] != t) {
                s->closed = true;
                return set_reason(ret_reason, -EPROTO, "%s message out of order (expected %s)",
                                  proto_msg_type_to_string(t),
                                  s->step < n ? proto_msg_type_to_string(seq[s->step]) : "nothing more");
        }
        s->step++;
        return 0;
}

bool proto_state_done(const ProtoState *s) {
        const ProtoMsgType *seq;
        size_t n;

        inbound(s->role, &seq, &n);
        return !s->closed && s->step == n;
}

/* ---- bindings ---- */

void proto_report_data(const uint8_t nonce[PROTO_NONCE_SIZE], const uint8_t pubkey[PROTO_PUBKEY_SIZE],
                       uint8_t ret[64]) {
        static const char label[] = "cvmd-attest-v1";
        uint8_t msg[sizeof(label) - 1 + PROTO_NONCE_SIZE + PROTO_PUBKEY_SIZE];

        memcpy(msg, label, sizeof(label) - 1);
        memcpy(msg + sizeof(label) - 1, nonce, PROTO_NONCE_SIZE);
        memcpy(msg + sizeof(label) - 1 + PROTO_NONCE_SIZE, pubkey, PROTO_PUBKEY_SIZE);
        SHA512(msg, sizeof(msg), ret);
}

void proto_switch_nonce(const uint8_t nonce[PROTO_NONCE_SIZE], const uint8_t pubkey[PROTO_PUBKEY_SIZE], uint32_t index,
                        uint8_t ret[32]) {
        static const char label[] = "cvmd-nvswitch-v1";
        uint8_t msg[sizeof(label) - 1 + PROTO_NONCE_SIZE + PROTO_PUBKEY_SIZE + 4];
        uint8_t *p = msg + sizeof(label) - 1 + PROTO_NONCE_SIZE + PROTO_PUBKEY_SIZE;

        memcpy(msg, label, sizeof(label) - 1);
        memcpy(msg + sizeof(label) - 1, nonce, PROTO_NONCE_SIZE);
        memcpy(msg + sizeof(label) - 1 + PROTO_NONCE_SIZE, pubkey, PROTO_PUBKEY_SIZE);
        p[0] = (uint8_t) (index >> 24);
        p[1] = (uint8_t) (index >> 16);
        p[2] = (uint8_t) (index >> 8);
        p[3] = (uint8_t) index;
        SHA256(msg, sizeof(msg), ret);
}

void proto_gpu_nonce(const uint8_t nonce[PROTO_NONCE_SIZE], const uint8_t pubkey[PROTO_PUBKEY_SIZE], uint32_t index,
                     const char *pci, ProtoGpuCc cc, uint8_t ret[32]) {
        static const char label[] = "cvmd-gpu-v2";
        uint8_t msg[sizeof(label) - 1 + PROTO_NONCE_SIZE + PROTO_PUBKEY_SIZE + 4 + PROTO_PCI_ADDRESS_SIZE - 1 + 1] = {};
        uint8_t *p = msg;
        size_t n = pci ? strnlen(pci, PROTO_PCI_ADDRESS_SIZE - 1) : 0;

        memcpy(p, label, sizeof(label) - 1);
        p += sizeof(label) - 1;
        memcpy(p, nonce, PROTO_NONCE_SIZE);
        p += PROTO_NONCE_SIZE;
        memcpy(p, pubkey, PROTO_PUBKEY_SIZE);
        p += PROTO_PUBKEY_SIZE;
        p[0] = (uint8_t) (index >> 24);
        p[1] = (uint8_t) (index >> 16);
        p[2] = (uint8_t) (index >> 8);
        p[3] = (uint8_t) index;
        p += 4;
        /* a fixed-size field: an address of another length (never valid) cannot shift the mode */
        if (n > 0)
                memcpy(p, pci, n);
        p += PROTO_PCI_ADDRESS_SIZE - 1;
        p[0] = (uint8_t) cc;
        SHA256(msg, sizeof(msg), ret);
}

void proto_report_data_workloads(const uint8_t base[64], const uint8_t *digests, size_t n, uint8_t ret[64]) {
        static const char label[] = "cvmd-workload-v1";
        uint8_t msg[sizeof(label) - 1 + 64 + SHA384_DIGEST_LENGTH];

        if (n == 0) {
                memmove(ret, base, 64);
                return;
        }
        memcpy(msg, label, sizeof(label) - 1);
        memcpy(msg + sizeof(label) - 1, base, 64);
        SHA384(digests, n * PROTO_WORKLOAD_DIGEST_SIZE, msg + sizeof(label) - 1 + 64);
        SHA512(msg, sizeof(msg), ret);
}

void proto_launch_digest(const uint8_t spec_digest[PROTO_SPEC_DIGEST_SIZE],
                         const uint8_t releaser_key[PROTO_RELEASER_KEY_SIZE], uint8_t ret[PROTO_LAUNCH_DIGEST_SIZE]) {
        static const char label[] = "cvmd-launch-v2";
        uint8_t msg[sizeof(label) - 1 + PROTO_SPEC_DIGEST_SIZE + PROTO_RELEASER_KEY_SIZE];

        memcpy(msg, label, sizeof(label) - 1);
        memcpy(msg + sizeof(label) - 1, spec_digest, PROTO_SPEC_DIGEST_SIZE);
        memcpy(msg + sizeof(label) - 1 + PROTO_SPEC_DIGEST_SIZE, releaser_key, PROTO_RELEASER_KEY_SIZE);
        SHA384(msg, sizeof(msg), ret);
}
