/* SPDX-License-Identifier: Apache-2.0 */
/* A software NVIDIA H100 in CC mode: NVIDIA's five-certificate device chain profile with the
 * Hopper FWID extension (shared/specs/nvidia-gpu.md §2.1, §2.3) and real-format attestation
 * reports (§1) signed with the leaf key. */
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/crypto.h"
#include "cvm/gpu-sim.h"
#include "cvm/util.h"

DEFINE_CLEANUP(ASN1_OCTET_STRING *, ASN1_OCTET_STRING_free)
DEFINE_CLEANUP(X509_EXTENSION *, X509_EXTENSION_free)

#define DAY_SEC          INT64_C(86400)
#define NVIDIA_NOT_AFTER INT64_C(253402300799) /* 9999-12-31T23:59:59Z, as NVIDIA's device chains */
#define DEFAULT_DRIVER   "550.90.07"

/* Subjects, leaf first. */
static const char *const chain_cns[NV_CHAIN_LENGTH] = {
        "GH100 A01 GSP FMC LF",  "GH100 A01 GSP BROM",        "NVIDIA GH100 Provisioner ICA 1",
        "NVIDIA GH100 Identity", "NVIDIA Device Identity CA",
};

/* ---- the Hopper FWID extension ---- */

typedef struct Der {
        uint8_t buf[512];
        size_t n;
        bool overflow;
} Der;

static void der_put(Der *d, const void *p, size_t n) {
        if (d->overflow || n > sizeof(d->buf) - d->n) {
                d->overflow = true;
                return;
        }
        memcpy(d->buf + d->n, p, n);
        d->n += n;
}

static void der_tlv(Der *d, uint8_t tag, const void *v, size_t n) {
        uint8_t h[4] = {tag};
        size_t hn = 2;

        if (n > 0xffff) {
                d->overflow = true;
                return;
        }
        if (n < 0x80)
                h[1] = (uint8_t) n;
        else if (n <= 0xff) {
                h[1] = 0x81;
                h[2] = (uint8_t) n;
                hn = 3;
        } else {
                h[1] = 0x82;
                h[2] = (uint8_t) (n >> 8);
                h[3] = (uint8_t) n;
                hn = 4;
        }
        der_put(d, h, hn);
        der_put(d, v, n);
}

/* SEQUENCE { INTEGER 1, SubjectPublicKeyInfo, SEQUENCE { OID sha384, OCTET STRING fwid } }: the
 * FWID is the last element and the extension value's last 48 bytes (§2.3). */
static int fwid_extension(EVP_PKEY *leaf_key, const uint8_t fwid[NV_FWID_SIZE], Der *ret) {
        static const uint8_t one = 1;
        static const uint8_t oid_sha384[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
        Der body = {}, digest = {};
        unsigned char *spki = NULL;
        int n;

        n = i2d_PUBKEY(leaf_key, &spki);
        if (n <= 0)
                return openssl_fail(-EIO);
        der_tlv(&body, 0x02, &one, 1);
        der_put(&body, spki, (size_t) n);
        OPENSSL_free(spki);
        der_tlv(&digest, 0x06, oid_sha384, sizeof(oid_sha384));
        der_tlv(&digest, 0x04, fwid, NV_FWID_SIZE);
        der_tlv(&body, 0x30, digest.buf, digest.n);
        *ret = (Der){};
        der_tlv(ret, 0x30, body.buf, body.n);
        if (digest.overflow || body.overflow || ret->overflow)
                return -ENOBUFS;
        return 0;
}

/* ---- certificates ---- */

/* One certificate of the chain: index 0 the leaf, NV_CHAIN_LENGTH-1 the self-signed root. */
static int make_cert(GpuSim *s, size_t i, int64_t nb, int64_t na, X509 **ret) {
        _cleanup_(X509_freep) X509 *x = X509_new();
        _cleanup_(BN_freep) BIGNUM *bn = BN_new();
        X509 *issuer = i + 1 < NV_CHAIN_LENGTH ? s->certs[i + 1] : NULL;
        EVP_PKEY *key = i == 0 ? s->leaf_key : s->ca_keys[NV_CHAIN_LENGTH - 1 - i];
        EVP_PKEY *issuer_key = i + 1 < NV_CHAIN_LENGTH ? s->ca_keys[NV_CHAIN_LENGTH - 2 - i] : key;
        X509_NAME *name;
        int r;

        if (!x || !bn)
                return openssl_fail(-ENOMEM);
        name = X509_get_subject_name(x);
        if (!X509_set_version(x, X509_VERSION_3) || !BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
            !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
            !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) chain_cns[i], -1, -1, 0) ||
            !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *) GPU_SIM_ORGANIZATION, -1, -1,
                                        0) ||
            !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) || !X509_set_pubkey(x, key))
                return openssl_fail(-EIO);
        if ((r = asn1_time_set_unix(X509_getm_notBefore(x), nb)) < 0 || (r = asn1_time_set_unix(X509_getm_notAfter(x), na)) < 0)
                return r;
        if ((r = x509_add_conf_ext(x, issuer, NID_subject_key_identifier, "hash")) < 0 ||
            (issuer && (r = x509_add_conf_ext(x, issuer, NID_authority_key_identifier, "keyid:always")) < 0))
                return r;
        if (i == 0) {
                _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj("2.23.133.5.4.1", 1);
                _cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
                _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = NULL;
                Der der;

                if ((r = x509_add_conf_ext(x, issuer, NID_key_usage, "critical,digitalSignature")) < 0 ||
                    (r = x509_add_conf_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE")) < 0)
                        return r;
                if (!obj || !os)
                        return openssl_fail(-ENOMEM);
                r = fwid_extension(key, s->fwid, &der);
                if (r < 0)
                        return r;
                if (!ASN1_OCTET_STRING_set(os, der.buf, (int) der.n) ||
                    !(ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) || !X509_add_ext(x, ext, -1))
                        return openssl_fail(-ENOMEM);
        } else if ((r = x509_add_conf_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign")) < 0 ||
                   (r = x509_add_conf_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE")) < 0)
                return r;
        if (X509_sign(x, issuer_key, EVP_sha384()) <= 0)
                return openssl_fail(-EIO);
        *ret = TAKE_PTR(x);
        return 0;
}

/* Deterministic firmware: SHA-384("cvmd-sim gpu measurement <i>") for the active blocks. */
static int fill_measurements(GpuSim *s) {
        memset(s->measurements, 0, sizeof(s->measurements));
        for (unsigned i = 0; i < GPU_SIM_ACTIVE_BLOCKS; i++) {
                char label[48];
                int n = snprintf(label, sizeof(label), "cvmd-sim gpu measurement %u", i);

                if (!EVP_Digest(label, (size_t) n, s->measurements[i], NULL, EVP_sha384(), NULL))
                        return openssl_fail(-EIO);
        }
        return 0;
}

static void set_platform(GpuSim *s, const char *driver) {
        static const uint8_t vbios[8] = {0x00, 0x9f, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00}; /* 96.00.9F.00.01 */

        snprintf(s->driver_version, sizeof(s->driver_version), "%s", driver ?: DEFAULT_DRIVER);
        memcpy(s->vbios_raw, vbios, sizeof(vbios));
}

GpuSim *gpu_sim_free(GpuSim *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(s->ca_keys); i++)
                EVP_PKEY_free(s->ca_keys[i]);
        EVP_PKEY_free(s->leaf_key);
        for (size_t i = 0; i < NV_CHAIN_LENGTH; i++)
                X509_free(s->certs[i]);
        free(s);
        return NULL;
}

static bool driver_ok(const char *d) {
        size_t n = strlen(d);

        if (n == 0 || n >= sizeof(((GpuSim *) NULL)->driver_version))
                return false;
        for (; *d; d++)
                if (!((*d >= '0' && *d <= '9') || *d == '.'))
                        return false;
        return true;
}

int gpu_sim_new(const GpuSimParams *p, GpuSim **ret) {
        _cleanup_(gpu_sim_freep) GpuSim *s = NULL;
        int64_t nb = p ? p->not_before : 0, na = p ? p->not_after : 0;
        const char *driver = p && p->driver_version ? p->driver_version : DEFAULT_DRIVER;
        int r;

        if (nb == 0 && na == 0) {
                nb = (int64_t) time(NULL) - DAY_SEC;
                na = NVIDIA_NOT_AFTER;
        }
        if (nb < 0 || na <= nb || !driver_ok(driver))
                return -EINVAL;
        s = calloc(1, sizeof(GpuSim));
        if (!s)
                return -ENOMEM;
        set_platform(s, driver);
        if (RAND_bytes(s->fwid, NV_FWID_SIZE) != 1)
                return openssl_fail(-EIO);
        r = fill_measurements(s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(s->ca_keys); i++)
                if (!(s->ca_keys[i] = EVP_EC_gen("P-384")))
                        return openssl_fail(-EIO);
        if (!(s->leaf_key = EVP_EC_gen("P-384")))
                return openssl_fail(-EIO);
        for (size_t k = 0; k < NV_CHAIN_LENGTH; k++) {
                size_t i = NV_CHAIN_LENGTH - 1 - k; /* root first: each needs its issuer */
                r = make_cert(s, i, nb, na, &s->certs[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int gpu_sim_root_pin(const GpuSim *s, NvPin *ret) {
        NvPin pin;
        int r;

        r = x509_spki_sha256(s->certs[NV_CHAIN_LENGTH - 1], pin.spki_sha256);
        if (r < 0)
                return r;
        *ret = pin;
        return 0;
}

int gpu_sim_chain_pem(const GpuSim *s, uint8_t **ret, size_t *ret_size) {
        _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL;
        uint8_t *out;
        long n;

        if (!bio)
                return openssl_fail(-ENOMEM);
        for (size_t i = 0; i < NV_CHAIN_LENGTH; i++)
                if (PEM_write_bio_X509(bio, s->certs[i]) != 1)
                        return openssl_fail(-ENOMEM);
        n = BIO_get_mem_data(bio, &data);
        if (n <= 0)
                return openssl_fail(-EIO);
        out = malloc((size_t) n + 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, data, (size_t) n);
        out[n] = 0;
        *ret = out;
        *ret_size = (size_t) n;
        return 0;
}

/* ---- reports ---- */

typedef struct Buf {
        uint8_t *p;
        size_t n, cap;
        bool overflow;
} Buf;

static void put(Buf *b, const void *p, size_t n) {
        if (b->overflow || n > b->cap - b->n) {
                b->overflow = true;
                return;
        }
        memcpy(b->p + b->n, p, n);
        b->n += n;
}

static void put_u8(Buf *b, uint8_t v) {
        put(b, &v, 1);
}

static void put_le16(Buf *b, uint16_t v) {
        uint8_t x[2] = {(uint8_t) v, (uint8_t) (v >> 8)};
        put(b, x, 2);
}

static void put_tlv(Buf *b, uint16_t type, const void *v, uint16_t len) {
        put_le16(b, type);
        put_le16(b, len);
        put(b, v, len);
}

/* A text TLV of `width` bytes, NUL-padded as NVIDIA's. */
static void put_text(Buf *b, uint16_t type, const char *s, uint16_t width) {
        uint8_t v[16] = {};
        size_t n = strlen(s);

        if (width > sizeof(v) || n >= width) {
                b->overflow = true;
                return;
        }
        memcpy(v, s, n);
        put_tlv(b, type, v, width);
}

int gpu_sim_report(const GpuSim *s, const uint8_t nonce[NV_NONCE_SIZE], uint8_t **ret, size_t *ret_size) {
        static const uint8_t gpu_info[8] = {0x80, 0x01}; /* H100 */
        const uint32_t rec_len = GPU_SIM_BLOCKS * 55u;
        _cleanup_free_ uint8_t *out = malloc(NV_REPORT_SIZE_MAX);
        uint8_t responder_nonce[NV_NONCE_SIZE], opaque[1024], drv[16] = {};
        Buf b = {.p = out, .cap = NV_REPORT_SIZE_MAX}, o = {.p = opaque, .cap = sizeof(opaque)};
        size_t dn = strlen(s->driver_version);
        int r;

        if (!out)
                return -ENOMEM;
        if (dn + 1 > sizeof(drv))
                return -EINVAL;
        if (RAND_bytes(responder_nonce, sizeof(responder_nonce)) != 1)
                return openssl_fail(-EIO);

        /* Opaque data, VBIOS first as in real reports. */
        put_tlv(&o, NV_OPAQUE_VBIOS_VERSION, s->vbios_raw, 8);
        memcpy(drv, s->driver_version, dn);
        put_tlv(&o, NV_OPAQUE_DRIVER_VERSION, drv, (uint16_t) (dn + 1));
        put_tlv(&o, NV_OPAQUE_GPU_INFO, gpu_info, sizeof(gpu_info));
        put_tlv(&o, NV_OPAQUE_NVDEC0_STATUS, (const uint8_t[]){NV_NVDEC_ENABLED}, 1);
        put_text(&o, NV_OPAQUE_CHIP_SKU, "882", 9);
        put_text(&o, NV_OPAQUE_CHIP_SKU_MOD, "0", 5);
        put_text(&o, NV_OPAQUE_PROJECT, "G520", 5);
        put_text(&o, NV_OPAQUE_PROJECT_SKU, "0200", 5);
        put_tlv(&o, NV_OPAQUE_PROJECT_SKU_MOD, (const uint8_t[]){0, 0}, 2);
        put_tlv(&o, NV_OPAQUE_FWID, s->fwid, NV_FWID_SIZE);
        put_tlv(&o, NV_OPAQUE_PROTECTED_PCIE_STATUS, (const uint8_t[]){0x55}, 1);
        put_tlv(&o, NV_OPAQUE_OPAQUE_DATA_VERSION, (const uint8_t[]){1, 0}, 2);
        put_tlv(&o, NV_OPAQUE_FEATURE_FLAG, (const uint8_t[]){0, 0}, 2);
        if (o.overflow)
                return -ENOBUFS;

        /* Request: SPDM 1.1 GET_MEASUREMENTS, signature requested, all blocks, slot 0. */
        put(&b, (const uint8_t[]){0x11, 0xE0, 0x01, 0xFF}, 4);
        put(&b, nonce, NV_NONCE_SIZE);
        put_u8(&b, 0);
        /* Response: MEASUREMENTS, the record of DMTF blocks with SHA-384 values. */
        put(&b, (const uint8_t[]){0x11, 0x60, 0x00, 0x00}, 4);
        put_u8(&b, GPU_SIM_BLOCKS);
        put(&b, (const uint8_t[]){(uint8_t) rec_len, (uint8_t) (rec_len >> 8), (uint8_t) (rec_len >> 16)}, 3);
        for (unsigned i = 0; i < GPU_SIM_BLOCKS; i++) {
                put_u8(&b, (uint8_t) (i + 1));
                put_u8(&b, 0x01); /* DMTF */
                put_le16(&b, 51);
                put_u8(&b, 0x01);
                put_le16(&b, 48);
                put(&b, s->measurements[i], 48);
        }
        put(&b, responder_nonce, NV_NONCE_SIZE);
        put_le16(&b, (uint16_t) o.n);
        put(&b, opaque, o.n);
        if (b.overflow || b.n + NV_SIGNATURE_SIZE > b.cap)
                return -ENOBUFS;
        r = ecdsa_sign_raw(s->leaf_key, EVP_sha384(), out, b.n, out + b.n, 48);
        if (r < 0)
                return r;
        *ret_size = b.n + NV_SIGNATURE_SIZE;
        *ret = TAKE_PTR(out);
        return 0;
}

int gpu_sim_golden_json(const GpuSim *s, char **ret) {
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array();
        const char *text;
        char *dup;

        if (!arr)
                return -ENOMEM;
        for (unsigned i = 0; i < GPU_SIM_ACTIVE_BLOCKS; i++) {
                _cleanup_free_ char *h = hex_encode(s->measurements[i], 48);
                json_object *e = json_object_new_object(), *vals = json_object_new_array();

                if (!h || !e || !vals || json_object_array_add(arr, e) < 0) {
                        json_object_put(e);
                        json_object_put(vals);
                        return -ENOMEM;
                }
                if (json_object_object_add(e, "index", json_object_new_int((int) i)) < 0 ||
                    json_object_object_add(e, "values", vals) < 0) {
                        json_object_put(vals);
                        return -ENOMEM;
                }
                if (json_object_array_add(vals, json_object_new_string(h)) < 0)
                        return -ENOMEM;
        }
        text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
        if (!text || !(dup = strdup_printf("%s\n", text)))
                return -ENOMEM;
        *ret = dup;
        return 0;
}

/* ---- files ---- */

static int write_key(const char *path, EVP_PKEY *key) {
        _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL;
        long n;
        int r;

        if (!bio)
                return openssl_fail(-ENOMEM);
        if (!PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
                return openssl_fail(-EIO);
        n = BIO_get_mem_data(bio, &data);
        if (n <= 0)
                return openssl_fail(-EIO);
        r = write_file_atomic(path, data, (size_t) n, 0600);
        OPENSSL_cleanse(data, (size_t) n);
        return r;
}

int gpu_sim_write(const GpuSim *s, const char *dir) {
        _cleanup_free_ char *chain_path = strdup_printf("%s/chain.pem", dir),
                            *key_path = strdup_printf("%s/leaf-key.pem", dir),
                            *golden_path = strdup_printf("%s/golden.json", dir), *golden = NULL;
        _cleanup_free_ uint8_t *pem = NULL;
        size_t size;
        int r;

        if (!chain_path || !key_path || !golden_path)
                return -ENOMEM;
        if (!s->leaf_key)
                return -ENOKEY;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        if ((r = gpu_sim_chain_pem(s, &pem, &size)) < 0 || (r = gpu_sim_golden_json(s, &golden)) < 0)
                return r;
        if ((r = write_file_atomic(chain_path, pem, size, 0644)) < 0 || (r = write_key(key_path, s->leaf_key)) < 0 ||
            (r = write_file_atomic(golden_path, golden, strlen(golden), 0644)) < 0)
                return r;
        return 0;
}

static bool is_simulated(X509 *x) {
        X509_NAME *n = X509_get_subject_name(x);
        int i = X509_NAME_get_index_by_NID(n, NID_organizationName, -1);
        const ASN1_STRING *v;

        if (i < 0 || X509_NAME_get_index_by_NID(n, NID_organizationName, i) >= 0)
                return false;
        v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
        return (size_t) ASN1_STRING_length(v) == strlen(GPU_SIM_ORGANIZATION) &&
               memcmp(ASN1_STRING_get0_data(v), GPU_SIM_ORGANIZATION, strlen(GPU_SIM_ORGANIZATION)) == 0;
}

static int read_key(const char *path, EVP_PKEY **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        EVP_PKEY *k;
        size_t size;
        int r;

        r = read_file_bounded(path, 64 * 1024, &data, &size);
        if (r < 0)
                return r;
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio) {
                OPENSSL_cleanse(data, size);
                return openssl_fail(-ENOMEM);
        }
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        OPENSSL_cleanse(data, size);
        if (!k)
                return openssl_fail(-EBADMSG);
        if (!pkey_is_ec_curve(k, NID_secp384r1)) {
                EVP_PKEY_free(k);
                return -EBADMSG;
        }
        *ret = k;
        return 0;
}

int gpu_sim_load(const char *dir, GpuSim **ret) {
        _cleanup_(gpu_sim_freep) GpuSim *s = calloc(1, sizeof(GpuSim));
        _cleanup_free_ char *chain_path = strdup_printf("%s/chain.pem", dir),
                            *key_path = strdup_printf("%s/leaf-key.pem", dir);
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;
        _cleanup_free_ uint8_t *pem = NULL;
        size_t size;
        int r;

        if (!s || !chain_path || !key_path)
                return -ENOMEM;
        r = read_file_bounded(chain_path, 256 * 1024, &pem, &size);
        if (r < 0)
                return r;
        r = nv_chain_new(pem, size, &chain);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (sk_X509_num(chain->certs) != (int) NV_CHAIN_LENGTH)
                return -EBADMSG;
        for (size_t i = 0; i < NV_CHAIN_LENGTH; i++) {
                X509 *c = sk_X509_value(chain->certs, (int) i),
                     *issuer = sk_X509_value(chain->certs, (int) (i + 1 < NV_CHAIN_LENGTH ? i + 1 : i));

                if (!is_simulated(c) || x509_signed_by(c, X509_get0_pubkey(issuer)) != 1)
                        return openssl_fail(-EBADMSG);
                if (!X509_up_ref(c))
                        return openssl_fail(-ENOMEM);
                s->certs[i] = c;
        }
        r = read_key(key_path, &s->leaf_key);
        if (r < 0)
                return r;
        if (EVP_PKEY_eq(s->leaf_key, X509_get0_pubkey(s->certs[0])) != 1)
                return openssl_fail(-EBADMSG);
        r = nv_leaf_fwid(s->certs[0], s->fwid);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (r == 0)
                return -EBADMSG;
        set_platform(s, NULL);
        r = fill_measurements(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}
