/* SPDX-License-Identifier: Apache-2.0 */
/* TDX quote v4 / v5 parsing (shared/specs/tdx.md §1, §2). Every field is read through the
 * bounded Reader. Real quotes arrive in padded buffers: what follows the declared end is
 * ignored, but every length the quote declares must lie within the input. */
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/pem-bundle.h"
#include "cvm/reader.h"
#include "cvm/tdx.h"
#include "cvm/util.h"
#include "cvm/x509-cache.h"

/* At most this many certificates in the type-5 chain (Intel's have 3). */
#define PCK_CHAIN_MAX_CERTS 8

static int parse_qe_report(Reader *rd, TdxQeReport *q) {
        Reader r;
        int k = 0;

        k |= reader_sub(rd, TDX_SGX_REPORT_SIZE, &r);
        if (k < 0)
                return -EBADMSG;
        memcpy(q->raw, r.p + r.off, TDX_SGX_REPORT_SIZE);
        k |= reader_copy(&r, q->cpu_svn, 16);
        k |= reader_le32(&r, &q->miscselect);
        k |= reader_skip(&r, 12 + 16); /* reserved1, isv_ext_prod_id */
        k |= reader_copy(&r, q->attributes, 16);
        k |= reader_copy(&r, q->mr_enclave, 32);
        k |= reader_skip(&r, 32);
        k |= reader_copy(&r, q->mr_signer, 32);
        k |= reader_skip(&r, 32 + 64); /* reserved3, config_id */
        k |= reader_le16(&r, &q->isv_prod_id);
        k |= reader_le16(&r, &q->isv_svn);
        k |= reader_skip(&r, 2 + 42 + 16); /* config_svn, reserved4, isv_family_id */
        k |= reader_copy(&r, q->report_data, 64);
        return k < 0 ? -EBADMSG : 0;
}

static int parse_td_body(Reader *rd, TdxQuote *q, bool td15) {
        int k = 0;

        k |= reader_copy(rd, q->tee_tcb_svn, 16);
        k |= reader_copy(rd, q->mrseam, 48);
        k |= reader_copy(rd, q->mrsignerseam, 48);
        k |= reader_copy(rd, q->seam_attributes, 8);
        k |= reader_copy(rd, q->td_attributes, 8);
        k |= reader_copy(rd, q->xfam, 8);
        k |= reader_copy(rd, q->mrtd, 48);
        k |= reader_copy(rd, q->mrconfigid, 48);
        k |= reader_copy(rd, q->mrowner, 48);
        k |= reader_copy(rd, q->mrownerconfig, 48);
        for (size_t i = 0; i < 4; i++)
                k |= reader_copy(rd, q->rtmr[i], 48);
        k |= reader_copy(rd, q->report_data, 64);
        if (td15) {
                k |= reader_copy(rd, q->tee_tcb_svn2, 16);
                k |= reader_copy(rd, q->mrservicetd, 48);
        }
        return k < 0 ? -EBADMSG : 0;
}

int tdx_quote_parse(const uint8_t *data, size_t size, TdxQuote *ret, char **ret_reason) {
        _cleanup_free_ TdxQuote *q = calloc(1, sizeof(TdxQuote));
        Reader rd = reader_init(data, size), sig, cert6;
        uint32_t sig_len, body_size = 0, outer_size, inner_size;
        uint16_t outer_type, auth_size, inner_type;
        size_t body_off;
        const uint8_t *p;

        if (!q)
                return -ENOMEM;
        if (!data || size < TDX_QUOTE_HEADER_SIZE)
                return set_reason(ret_reason, -EBADMSG, "quote is %zu bytes, shorter than the %u-byte header", size,
                                  TDX_QUOTE_HEADER_SIZE);
        if (reader_le16(&rd, &q->version) < 0 || reader_le16(&rd, &q->att_key_type) < 0 ||
            reader_le32(&rd, &q->tee_type) < 0 || reader_skip(&rd, 4) < 0 ||
            reader_copy(&rd, q->qe_vendor_id, 16) < 0 || reader_copy(&rd, q->user_data, 20) < 0)
                return set_reason(ret_reason, -EBADMSG, "header truncated");
        if (q->version != 4 && q->version != 5)
                return set_reason(ret_reason, -EBADMSG, "quote version %u is not 4 or 5", q->version);
        if (q->att_key_type != TDX_ATT_KEY_TYPE_ECDSA_P256)
                return set_reason(ret_reason, -EBADMSG,
                                  "attestation key type %u is not 2 (ECDSA-256 with P-256)", q->att_key_type);
        if (q->tee_type != TDX_TEE_TYPE)
                return set_reason(ret_reason, -EBADMSG, "TEE type 0x%08x is not TDX (0x00000081)", q->tee_type);

        if (q->version == 4) {
                q->body_type = 2;
                body_size = TDX_TD10_BODY_SIZE;
        } else {
                if (reader_le16(&rd, &q->body_type) < 0 || reader_le32(&rd, &body_size) < 0)
                        return set_reason(ret_reason, -EBADMSG, "v5 body descriptor truncated");
                if (q->body_type != 2 && q->body_type != 3)
                        return set_reason(ret_reason, -EBADMSG,
                                          "v5 body type %u is not a TD report (2: TDX 1.0, 3: TDX 1.5)", q->body_type);
                if (body_size != (q->body_type == 2 ? TDX_TD10_BODY_SIZE : TDX_TD15_BODY_SIZE))
                        return set_reason(ret_reason, -EBADMSG, "v5 body size %u does not match body type %u (%u)",
                                          body_size, q->body_type,
                                          q->body_type == 2 ? TDX_TD10_BODY_SIZE : TDX_TD15_BODY_SIZE);
        }
        body_off = rd.off;
        if (parse_td_body(&rd, q, q->body_type == 3) < 0)
                return set_reason(ret_reason, -EBADMSG, "TD report body truncated: %zu bytes from offset %zu, need %u",
                                  size - body_off, body_off, body_size);
        q->signed_data = data;
        q->signed_size = rd.off;

        if (reader_le32(&rd, &sig_len) < 0)
                return set_reason(ret_reason, -EBADMSG, "signature data length truncated at offset %zu", rd.off);
        if (reader_sub(&rd, sig_len, &sig) < 0)
                return set_reason(ret_reason, -EBADMSG,
                                  "signature data length %u at offset %zu runs past the end of the %zu-byte input",
                                  sig_len, q->signed_size, size);
        q->quote_size = rd.off;

        if (reader_copy(&sig, q->signature, 64) < 0 || reader_copy(&sig, q->att_key, 64) < 0 ||
            reader_le16(&sig, &outer_type) < 0 || reader_le32(&sig, &outer_size) < 0)
                return set_reason(ret_reason, -EBADMSG, "signature data (%u bytes) too short for signature and key",
                                  sig_len);
        if (outer_type != TDX_CERT_DATA_QE_REPORT)
                return set_reason(ret_reason, -EBADMSG,
                                  "certification data type %u is not 6 (QE report certification data)", outer_type);
        if (reader_sub(&sig, outer_size, &cert6) < 0)
                return set_reason(ret_reason, -EBADMSG,
                                  "certification data size %u runs past the signature data (%zu bytes left)",
                                  outer_size, reader_remaining(&sig));
        if (reader_remaining(&sig) != 0)
                return set_reason(ret_reason, -EBADMSG, "%zu bytes after the certification data in the signature data",
                                  reader_remaining(&sig));

        if (parse_qe_report(&cert6, &q->qe_report) < 0 || reader_copy(&cert6, q->qe_report_signature, 64) < 0 ||
            reader_le16(&cert6, &auth_size) < 0)
                return set_reason(ret_reason, -EBADMSG, "QE report certification data (%u bytes) truncated", outer_size);
        if (reader_take(&cert6, auth_size, &p) < 0)
                return set_reason(ret_reason, -EBADMSG, "QE authentication data size %u runs past its container",
                                  auth_size);
        q->qe_auth_data = p;
        q->qe_auth_size = auth_size;
        if (reader_le16(&cert6, &inner_type) < 0 || reader_le32(&cert6, &inner_size) < 0)
                return set_reason(ret_reason, -EBADMSG, "inner certification data header truncated");
        if (inner_type != TDX_CERT_DATA_PCK_CHAIN)
                return set_reason(ret_reason, -EBADMSG,
                                  "inner certification data type %u is not 5 (PCK certificate chain)", inner_type);
        if (reader_take(&cert6, inner_size, &p) < 0)
                return set_reason(ret_reason, -EBADMSG, "PCK chain size %u runs past its container", inner_size);
        if (reader_remaining(&cert6) != 0)
                return set_reason(ret_reason, -EBADMSG, "%zu bytes after the PCK chain in the QE certification data",
                                  reader_remaining(&cert6));
        /* The chain is PEM text, often with a terminating NUL counted in its size. */
        while (inner_size > 0 && p[inner_size - 1] == 0)
                inner_size--;
        if (inner_size == 0)
                return set_reason(ret_reason, -EBADMSG, "PCK certificate chain is empty");
        q->pck_chain = p;
        q->pck_chain_size = inner_size;

        *ret = *q;
        return 0;
}

uint64_t tdx_quote_td_attributes(const TdxQuote *q) {
        uint64_t v = 0;

        for (size_t i = 0; i < 8; i++)
                v |= (uint64_t) q->td_attributes[i] << (8 * i);
        return v;
}

int tdx_pck_chain_parse(const uint8_t *data, size_t size, STACK_OF(X509) **ret, char **ret_reason) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *sk = NULL;
        _cleanup_free_ char *why = NULL;
        int r;

        /* The same bundle reader as every other PEM input: a quote from a host whose QPL
         * stores CRLF or glued blocks verifies like any other. */
        r = x509_bundle_parse(data, size, &sk, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_reason(ret_reason, r, "PCK chain %s", why ? why : "does not parse");
        if (sk_X509_num(sk) > PCK_CHAIN_MAX_CERTS)
                return set_reason(ret_reason, -EBADMSG, "PCK chain has more than %d certificates", PCK_CHAIN_MAX_CERTS);
        *ret = TAKE_PTR(sk);
        return 0;
}

static int add_hex(json_object *o, const char *key, const void *p, size_t n) {
        _cleanup_free_ char *h = hex_encode(p, n);
        json_object *s;

        if (!h)
                return -ENOMEM;
        s = json_object_new_string(h);
        if (!s || json_object_object_add(o, key, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int add_int(json_object *o, const char *key, int64_t v) {
        json_object *i = json_object_new_int64(v);

        if (!i || json_object_object_add(o, key, i) < 0) {
                json_object_put(i);
                return -ENOMEM;
        }
        return 0;
}

static int add_bool(json_object *o, const char *key, bool v) {
        json_object *b = json_object_new_boolean(v);

        if (!b || json_object_object_add(o, key, b) < 0) {
                json_object_put(b);
                return -ENOMEM;
        }
        return 0;
}

json_object *tdx_quote_claims(const TdxQuote *q) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *qe = json_object_new_object();
        uint64_t attrs = tdx_quote_td_attributes(q);
        static const char *const rtmr_names[4] = { "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
        int k = 0;

        if (!o || !qe)
                return NULL;
        k |= add_int(o, "version", q->version);
        k |= add_int(o, "att_key_type", q->att_key_type);
        k |= add_int(o, "tee_type", q->tee_type);
        k |= add_hex(o, "qe_vendor_id", q->qe_vendor_id, 16);
        k |= add_hex(o, "user_data", q->user_data, 20);
        k |= add_int(o, "body_type", q->body_type);
        k |= add_hex(o, "tee_tcb_svn", q->tee_tcb_svn, 16);
        k |= add_hex(o, "mrseam", q->mrseam, 48);
        k |= add_hex(o, "mrsignerseam", q->mrsignerseam, 48);
        k |= add_hex(o, "seam_attributes", q->seam_attributes, 8);
        k |= add_hex(o, "td_attributes", q->td_attributes, 8);
        k |= add_bool(o, "debug", attrs & TDX_TD_ATTR_DEBUG);
        k |= add_bool(o, "sept_ve_disable", attrs & TDX_TD_ATTR_SEPT_VE_DISABLE);
        k |= add_hex(o, "xfam", q->xfam, 8);
        k |= add_hex(o, "mrtd", q->mrtd, 48);
        k |= add_hex(o, "mrconfigid", q->mrconfigid, 48);
        k |= add_hex(o, "mrowner", q->mrowner, 48);
        k |= add_hex(o, "mrownerconfig", q->mrownerconfig, 48);
        for (size_t i = 0; i < 4; i++)
                k |= add_hex(o, rtmr_names[i], q->rtmr[i], 48);
        k |= add_hex(o, "report_data", q->report_data, 64);
        if (q->body_type == 3) {
                k |= add_hex(o, "tee_tcb_svn2", q->tee_tcb_svn2, 16);
                k |= add_hex(o, "mrservicetd", q->mrservicetd, 48);
        }
        k |= add_int(o, "quote_size", (int64_t) q->quote_size);
        k |= add_hex(qe, "cpu_svn", q->qe_report.cpu_svn, 16);
        k |= add_int(qe, "miscselect", q->qe_report.miscselect);
        k |= add_hex(qe, "attributes", q->qe_report.attributes, 16);
        k |= add_hex(qe, "mr_enclave", q->qe_report.mr_enclave, 32);
        k |= add_hex(qe, "mr_signer", q->qe_report.mr_signer, 32);
        k |= add_int(qe, "isv_prod_id", q->qe_report.isv_prod_id);
        k |= add_int(qe, "isv_svn", q->qe_report.isv_svn);
        k |= add_int(qe, "auth_data_size", (int64_t) q->qe_auth_size);
        if (k < 0 || json_object_object_add(o, "qe_report", qe) < 0)
                return NULL;
        qe = NULL;
        return TAKE_PTR(o);
}
