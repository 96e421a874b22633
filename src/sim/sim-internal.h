/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the SEV-SNP, TDX and NVIDIA simulators share: a small DER writer for their private
 * certificate extensions (der.c), and certificate, CRL, PEM and file helpers (sim-x509.c).
 * Internal to src/sim/: no verifier may reach it. */

#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/macro.h"

#define DAY_SEC  INT64_C(86400)
#define YEAR_SEC (365 * DAY_SEC)

/* ---- a bounded writer for the simulated SPDM reports (GPUs, NVSwitches): what does not fit
 * is not written and the overflow is remembered, to be checked once at the end ---- */

typedef struct SimBuf {
        uint8_t *p;
        size_t n, cap;
        bool overflow;
} SimBuf;

static inline void sim_buf_put(SimBuf *b, const void *p, size_t n) {
        if (b->overflow || n > b->cap - b->n) {
                b->overflow = true;
                return;
        }
        memcpy(b->p + b->n, p, n);
        b->n += n;
}

static inline void sim_buf_le16(SimBuf *b, uint16_t v) {
        const uint8_t x[2] = { (uint8_t) v, (uint8_t) (v >> 8) };
        sim_buf_put(b, x, 2);
}

/* An opaque-data TLV's header: type and length, little-endian. */
static inline void sim_buf_tlv_header(SimBuf *b, uint16_t type, uint16_t len) {
        sim_buf_le16(b, type);
        sim_buf_le16(b, len);
}

/* A signed SPDM 1.1 GET_MEASUREMENTS request and MEASUREMENTS response as NVIDIA's devices send
 * them (sim-spdm.c): the requester's nonce, n_blocks DMTF blocks of SHA-384 values, a fresh
 * responder nonce, the opaque data, and key's raw ECDSA P-384 signature over all of it.
 * *ret is malloc'ed; -ENOBUFS when it would exceed NV_REPORT_SIZE_MAX. */
int sim_spdm_measurements(EVP_PKEY *key, const uint8_t nonce[NV_NONCE_SIZE], const uint8_t (*measurements)[48],
                          unsigned n_blocks, const uint8_t *opaque, size_t opaque_size, uint8_t **ret,
                          size_t *ret_size);
/* A simulated device's identity as `cvmctl sim init` stored it in dir (GPUs and NVSwitches
 * alike): chain.pem, NV_CHAIN_LENGTH certificates of the simulator's organization, each signed by
 * the next (the root by itself), and leaf-key.pem, the leaf's P-384 key. certs[] get a reference
 * each; -EBADMSG when anything does not hold. */
int sim_spdm_load_identity(const char *dir, X509 *certs[NV_CHAIN_LENGTH], EVP_PKEY **ret_leaf_key);

/* ---- little-endian stores for the binary evidence formats ---- */

static inline void sim_put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static inline void sim_put_le32(uint8_t *p, uint32_t v) {
        for (size_t i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static inline void sim_put_le64(uint8_t *p, uint64_t v) {
        for (size_t i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* ---- DER writer (der.c) ---- */

/* A bounded DER buffer. Writers never fail: they set overflow, which sticks; check it once at
 * the end (der_take_overflow() when nesting). */
typedef struct Der {
        uint8_t buf[1024];
        size_t n;
        bool overflow;
} Der;

void der_put(Der *d, const void *p, size_t n);
/* tag, minimal definite length (up to 0xffff), value */
void der_tlv(Der *d, uint8_t tag, const void *v, size_t n);
/* A non-negative INTEGER (0x02) or ENUMERATED (0x0a), minimal. */
void der_uint(Der *d, uint8_t tag, uint32_t v);
/* tag wrapped around everything `inner` holds; inner's overflow carries over. */
void der_wrap(Der *d, uint8_t tag, const Der *inner);
/* Appends `inner`'s bytes as they are; its overflow carries over. */
void der_append(Der *d, const Der *inner);

/* ---- certificates, CRLs, files (sim-x509.c) ---- */

typedef struct SimRdn {
        const char *field, *value;
} SimRdn;

typedef struct SimCertSpec {
        const SimRdn *subject; /* in the order they are written */
        size_t n_subject;
        X509 *issuer;  /* NULL: self-issued */
        EVP_PKEY *key; /* the subject's public key */
        int64_t not_before, not_after;
        uint64_t serial; /* used when serial_bits is 0 */
        int serial_bits; /* > 0: a random positive serial of that many bits, top bit set */
} SimCertSpec;

/* Sets an ASN1_TIME from Unix seconds; -ERANGE when it does not fit. */
int asn1_time_set_unix(ASN1_TIME *t, int64_t when);
/* Adds a standard extension given in openssl.cnf syntax ("critical,CA:TRUE", "keyid:always");
 * issuer NULL means self-issued. */
int x509_add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value);

/* A version 3 certificate with everything but extensions and signature. */
int sim_cert_begin(const SimCertSpec *spec, X509 **ret);
/* A non-critical extension whose extnValue holds exactly `value`. */
int sim_cert_add_raw_ext(X509 *x, const char *oid, const uint8_t *value, size_t n);
/* The same with the bytes of `der`; -ENOBUFS when it overflowed. */
int sim_cert_add_der_ext(X509 *x, const char *oid, const Der *der);
/* True when the subject carries exactly one organizationName, equal to org. */
bool sim_cert_has_org(X509 *x, const char *org);

/* A version 2 CRL from issuer, unsigned: the revoked certificates' serials (revoked at
 * this_update), AKI and CRL number 1, sorted. */
int sim_crl_begin(X509 *issuer, X509 *const *revoked, size_t n_revoked, int64_t this_update, int64_t next_update,
                  X509_CRL **ret);

/* The bytes a memory BIO holds, malloc'ed with a terminating NUL that *ret_size does not count. */
int sim_bio_take(BIO *bio, uint8_t **ret, size_t *ret_size);
/* The certificates in PEM, one after the other, malloc'ed with a terminating NUL that
 * *ret_size does not count. */
int sim_pem_chain(X509 *const *certs, size_t n, uint8_t **ret, size_t *ret_size);

typedef enum SimObject {
        SIM_PEM_CERT,
        SIM_DER_CERT,
        SIM_PEM_KEY,
} SimObject;

/* dir/name, written atomically with mode. */
int sim_write_file(const char *dir, const char *name, const void *data, size_t n, mode_t mode);
/* A certificate (0644) or private key (0600, the buffer wiped after) as dir/name. */
int sim_write_object(const char *dir, const char *name, SimObject kind, X509 *cert, EVP_PKEY *key);
/* dir/name, bounded by CVM_INPUT_MAX. */
int sim_read_file(const char *dir, const char *name, uint8_t **ret, size_t *ret_size);
int sim_read_cert(const char *dir, const char *name, X509 **ret);
/* A PEM private key on the curve curve_nid; -EBADMSG otherwise. */
int sim_read_key(const char *dir, const char *name, int curve_nid, EVP_PKEY **ret);

/* dir/<name>.pem for tests/helpers/nvidia-server --responders: an OCSP responder certificate
 * issued by ca (a year's validity from yesterday), ca's certificate, then the responder's key
 * (0600). dir is made when missing. */
int sim_write_ocsp_responder(const char *dir, const char *name, X509 *ca, EVP_PKEY *ca_key);

/* Deterministic, plausible-looking bytes: md(text), truncated to n or zero-extended. */
void sim_fill_digest(const EVP_MD *md, const char *text, uint8_t *out, size_t n);
