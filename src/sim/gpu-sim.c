/* SPDX-License-Identifier: Apache-2.0 */
/* A software NVIDIA H100 in CC mode: NVIDIA's five-certificate device chain profile with the
 * Hopper FWID extension (shared/specs/nvidia-gpu.md §2.1, §2.3) and real-format attestation
 * reports (§1) signed with the leaf key. */
#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/gpu-sim.h"
#include "cvm/util.h"
#include "sim-internal.h"

#define NVIDIA_NOT_AFTER INT64_C(253402300799) /* 9999-12-31T23:59:59Z, as NVIDIA's device chains */
#define DEFAULT_DRIVER   "550.90.07"

/* Subjects, leaf first. */
static const char *const chain_cns[NV_CHAIN_LENGTH] = {
        "GH100 A01 GSP FMC LF",  "GH100 A01 GSP BROM",        "NVIDIA GH100 Provisioner ICA 1",
        "NVIDIA GH100 Identity", "NVIDIA Device Identity CA",
};

/* ---- the Hopper FWID extension ---- */

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
        der_wrap(&body, 0x30, &digest);
        *ret = (Der){};
        der_wrap(ret, 0x30, &body);
        if (ret->overflow)
                return -ENOBUFS;
        return 0;
}

/* ---- certificates ---- */

/* One certificate of the chain: index 0 the leaf, NV_CHAIN_LENGTH-1 the self-signed root. */
static int make_cert(GpuSim *s, size_t i, int64_t nb, int64_t na, X509 **ret) {
        _cleanup_(X509_freep) X509 *x = NULL;
        X509 *issuer = i + 1 < NV_CHAIN_LENGTH ? s->certs[i + 1] : NULL;
        EVP_PKEY *key = i == 0 ? s->leaf_key : s->ca_keys[NV_CHAIN_LENGTH - 1 - i];
        EVP_PKEY *issuer_key = i + 1 < NV_CHAIN_LENGTH ? s->ca_keys[NV_CHAIN_LENGTH - 2 - i] : key;
        const SimRdn subject[] = { { "CN", chain_cns[i] }, { "O", GPU_SIM_ORGANIZATION } };
        int r;

        r = sim_cert_begin(&(SimCertSpec) { .subject = subject, .n_subject = ELEMENTSOF(subject), .issuer = issuer,
                                            .key = key, .not_before = nb, .not_after = na, .serial_bits = 127 },
                           &x);
        if (r < 0)
                return r;
        if ((r = x509_add_conf_ext(x, issuer, NID_subject_key_identifier, "hash")) < 0 ||
            (issuer && (r = x509_add_conf_ext(x, issuer, NID_authority_key_identifier, "keyid:always")) < 0))
                return r;
        if (i == 0) {
                Der der;

                if ((r = x509_add_conf_ext(x, issuer, NID_key_usage, "critical,digitalSignature")) < 0 ||
                    (r = x509_add_conf_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
                    (r = fwid_extension(key, s->fwid, &der)) < 0 ||
                    (r = sim_cert_add_der_ext(x, "2.23.133.5.4.1", &der)) < 0)
                        return r;
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
        gpu_sim_default_pci_address(0, s->pci_address);
        s->cc_mode = PROTO_GPU_CC_ON;
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
        return sim_pem_chain(s->certs, NV_CHAIN_LENGTH, ret, ret_size);
}

/* ---- a board ---- */

void gpu_sim_default_pci_address(size_t i, char ret[PROTO_PCI_ADDRESS_SIZE]) {
        snprintf(ret, PROTO_PCI_ADDRESS_SIZE, "0000:%02x:00.0", (unsigned) ((0xe1 + i) & 0xff));
}

/* Another GPU of s's board: s's root, identity and provisioner CAs (and firmware), a BROM CA and
 * a leaf of its own. */
static int board_sibling(const GpuSim *s, int64_t nb, int64_t na, size_t index, GpuSim **ret) {
        _cleanup_(gpu_sim_freep) GpuSim *g = calloc(1, sizeof(GpuSim));
        int r;

        if (!g)
                return -ENOMEM;
        memcpy(g->fwid, s->fwid, sizeof(g->fwid));
        memcpy(g->driver_version, s->driver_version, sizeof(g->driver_version));
        memcpy(g->vbios_raw, s->vbios_raw, sizeof(g->vbios_raw));
        memcpy(g->measurements, s->measurements, sizeof(g->measurements));
        gpu_sim_default_pci_address(index, g->pci_address);
        g->cc_mode = PROTO_GPU_CC_ON;
        /* certs[2..4] and their keys ca_keys[0..2] are the board's */
        for (size_t k = 0; k < 3; k++) {
                if (!EVP_PKEY_up_ref(s->ca_keys[k]) || !X509_up_ref(s->certs[NV_CHAIN_LENGTH - 1 - k]))
                        return openssl_fail(-ENOMEM);
                g->ca_keys[k] = s->ca_keys[k];
                g->certs[NV_CHAIN_LENGTH - 1 - k] = s->certs[NV_CHAIN_LENGTH - 1 - k];
        }
        if (!(g->ca_keys[3] = EVP_EC_gen("P-384")) || !(g->leaf_key = EVP_EC_gen("P-384")))
                return openssl_fail(-EIO);
        if ((r = make_cert(g, 1, nb, na, &g->certs[1])) < 0 || (r = make_cert(g, 0, nb, na, &g->certs[0])) < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

int gpu_sim_new_board(const GpuSimParams *p, size_t n, GpuSim **ret) {
        GpuSim *board[PROTO_GPUS_MAX] = {};
        int64_t nb, na;
        int r;

        if (n == 0 || n > PROTO_GPUS_MAX)
                return -EINVAL;
        r = gpu_sim_new(p, &board[0]);
        if (r < 0)
                return r;
        /* the validity gpu_sim_new() chose, for the siblings' BROM and leaf */
        if (asn1_time_to_unix(X509_get0_notBefore(board[0]->certs[0]), &nb) < 0 ||
            asn1_time_to_unix(X509_get0_notAfter(board[0]->certs[0]), &na) < 0)
                r = -EIO;
        for (size_t i = 1; r >= 0 && i < n; i++)
                r = board_sibling(board[0], nb, na, i, &board[i]);
        if (r < 0) {
                gpu_sim_board_free(board, n);
                return r;
        }
        memcpy(ret, board, n * sizeof(GpuSim *));
        return 0;
}

void gpu_sim_board_free(GpuSim **board, size_t n) {
        for (size_t i = 0; board && i < n; i++)
                board[i] = gpu_sim_free(board[i]);
}

int gpu_sim_board_gpu_dir(const char *dir, size_t i, char **ret) {
        char *p = strdup_printf("%s/gpu%zu", dir, i);

        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int gpu_sim_write_board(GpuSim *const *board, size_t n, bool shared_identity, const char *dir) {
        _cleanup_free_ char *golden = NULL;
        int r;

        if (n == 0 || n > PROTO_GPUS_MAX)
                return -EINVAL;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        if ((r = gpu_sim_golden_json(board[0], &golden)) < 0 ||
            (r = sim_write_file(dir, "golden.json", golden, strlen(golden), 0644)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *sub = NULL;
                GpuSim g = *board[shared_identity ? 0 : i];

                /* the identity (chain, key, FWID) of GPU 0 when shared; the place and mode its own */
                memcpy(g.pci_address, board[i]->pci_address, sizeof(g.pci_address));
                g.cc_mode = board[i]->cc_mode;
                if ((r = gpu_sim_board_gpu_dir(dir, i, &sub)) < 0 || (r = gpu_sim_write(&g, sub)) < 0)
                        return r;
        }
        return 0;
}

/* ---- reports ---- */

static void put_tlv(SimBuf *b, uint16_t type, const void *v, uint16_t len) {
        sim_buf_tlv_header(b, type, len);
        sim_buf_put(b, v, len);
}

/* A text TLV of `width` bytes, NUL-padded as NVIDIA's. */
static void put_text(SimBuf *b, uint16_t type, const char *s, uint16_t width) {
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
        uint8_t opaque[1024], drv[16] = {};
        SimBuf o = { .p = opaque, .cap = sizeof(opaque) };
        size_t dn = strlen(s->driver_version);

        if (dn + 1 > sizeof(drv))
                return -EINVAL;

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
        /* protected PCIe (an HGX board with its NVSwitches): the status, the switch links, the flag */
        put_tlv(&o, NV_OPAQUE_PROTECTED_PCIE_STATUS,
                (const uint8_t[]){s->n_switch_pdis > 0 ? NV_PROTECTED_PCIE_ON : 0x55}, 1);
        if (s->n_switch_pdis > 0 && s->n_switch_pdis <= NV_SWITCH_PDIS_MAX)
                put_tlv(&o, NV_OPAQUE_SWITCH_PDI, s->switch_pdis, (uint16_t) (s->n_switch_pdis * NV_PDI_SIZE));
        put_tlv(&o, NV_OPAQUE_OPAQUE_DATA_VERSION, (const uint8_t[]){1, 0}, 2);
        put_tlv(&o, NV_OPAQUE_FEATURE_FLAG, (const uint8_t[]){s->n_switch_pdis > 0 ? NV_FEATURE_PPCIE : 0, 0}, 2);
        if (o.overflow)
                return -ENOBUFS;
        return sim_spdm_measurements(s->leaf_key, nonce, (const uint8_t(*)[48]) s->measurements, GPU_SIM_BLOCKS, opaque,
                                     o.n, ret, ret_size);
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

static int write_claims(const GpuSim *s, const char *dir);

int gpu_sim_write(const GpuSim *s, const char *dir) {
        _cleanup_free_ char *golden = NULL;
        _cleanup_free_ uint8_t *pem = NULL;
        size_t size;
        int r;

        if (!s->leaf_key)
                return -ENOKEY;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        if ((r = gpu_sim_chain_pem(s, &pem, &size)) < 0 || (r = gpu_sim_golden_json(s, &golden)) < 0)
                return r;
        if ((r = sim_write_file(dir, "chain.pem", pem, size, 0644)) < 0 ||
            (r = sim_write_object(dir, "leaf-key.pem", SIM_PEM_KEY, NULL, s->leaf_key)) < 0 ||
            (r = sim_write_file(dir, "golden.json", golden, strlen(golden), 0644)) < 0)
                return r;
        return write_claims(s, dir);
}

/* switch-pdis, in protected-PCIe mode only: one 16-hex-digit SWITCH_PDI entry a line. */
static int write_switch_links(const GpuSim *s, const char *dir) {
        _cleanup_free_ char *text = NULL;
        size_t n = s->n_switch_pdis;

        if (n == 0)
                return 0;
        if (n > NV_SWITCH_PDIS_MAX)
                return -EINVAL;
        text = malloc(n * 17 + 1);
        if (!text)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                for (size_t k = 0; k < NV_PDI_SIZE; k++)
                        snprintf(text + i * 17 + k * 2, 3, "%02x", s->switch_pdis[i][k]);
                text[i * 17 + 16] = '\n';
        }
        return sim_write_file(dir, "switch-pdis", text, n * 17, 0644);
}

static int load_switch_links(GpuSim *s, const char *dir) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t n;
        int r;

        r = sim_read_file(dir, "switch-pdis", &data, &n);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (n == 0 || n % 17 != 0 || n / 17 > NV_SWITCH_PDIS_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < n / 17; i++) {
                if (data[i * 17 + 16] != '\n')
                        return -EBADMSG;
                for (size_t k = 0; k < NV_PDI_SIZE; k++) {
                        unsigned x;
                        char hex[3] = { (char) data[i * 17 + 2 * k], (char) data[i * 17 + 2 * k + 1], 0 };
                        if (!isxdigit((unsigned char) hex[0]) || !isxdigit((unsigned char) hex[1]) || sscanf(hex, "%2x", &x) != 1)
                                return -EBADMSG;
                        s->switch_pdis[i][k] = (uint8_t) x;
                }
        }
        s->n_switch_pdis = n / 17;
        return 0;
}

/* pci-address and cc-mode: what the simulated driver reports, editable by hand for tests. */
static int write_claims(const GpuSim *s, const char *dir) {
        const char *mode = proto_gpu_cc_to_string(s->cc_mode);
        _cleanup_free_ char *a = strdup_printf("%s\n", s->pci_address), *m = mode ? strdup_printf("%s\n", mode) : NULL;
        int r;

        if (!proto_pci_address_is_valid(s->pci_address) || !mode)
                return -EINVAL;
        if (!a || !m)
                return -ENOMEM;
        if ((r = sim_write_file(dir, "pci-address", a, strlen(a), 0644)) < 0 ||
            (r = sim_write_file(dir, "cc-mode", m, strlen(m), 0644)) < 0)
                return r;
        return write_switch_links(s, dir);
}

/* One line of text: the file's bytes less one trailing newline, at most size-1 of them. */
static int read_line(const char *dir, const char *name, char *buf, size_t size) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t n;
        int r;

        r = sim_read_file(dir, name, &data, &n);
        if (r < 0)
                return r;
        if (n > 0 && data[n - 1] == '\n')
                n--;
        if (n == 0 || n >= size || memchr(data, 0, n) || memchr(data, '\n', n))
                return -EBADMSG;
        memcpy(buf, data, n);
        buf[n] = 0;
        return 0;
}

static int load_claims(GpuSim *s, const char *dir) {
        char mode[16];
        int r;

        if ((r = read_line(dir, "pci-address", s->pci_address, sizeof(s->pci_address))) < 0 ||
            (r = read_line(dir, "cc-mode", mode, sizeof(mode))) < 0)
                return r;
        s->cc_mode = proto_gpu_cc_from_string(mode);
        if (!proto_pci_address_is_valid(s->pci_address) || s->cc_mode < 0)
                return -EBADMSG;
        return 0;
}

int gpu_sim_load(const char *dir, GpuSim **ret) {
        _cleanup_(gpu_sim_freep) GpuSim *s = calloc(1, sizeof(GpuSim));
        int r;

        if (!s)
                return -ENOMEM;
        r = sim_spdm_load_identity(dir, s->certs, &s->leaf_key);
        if (r < 0)
                return r;
        r = nv_leaf_fwid(s->certs[0], s->fwid);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (r == 0)
                return -EBADMSG;
        set_platform(s, NULL);
        r = fill_measurements(s);
        if (r < 0)
                return r;
        r = load_claims(s, dir);
        if (r >= 0)
                r = load_switch_links(s, dir);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}
