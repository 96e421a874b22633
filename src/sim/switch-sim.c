/* SPDX-License-Identifier: Apache-2.0 */
/* Simulated NVSwitches (include/cvm/switch-sim.h): identities under the simulated GPUs' root and
 * identity CA, and reports laid out as the real LS10 captures (docs/nvswitch.md). */
#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cvm/switch-sim.h"
#include "cvm/util.h"
#include "sim-internal.h"

#define BIOS_VERSION "96.10.73.00.01"

SwitchSim *switch_sim_free(SwitchSim *s) {
        if (!s)
                return NULL;
        EVP_PKEY_free(s->leaf_key);
        EVP_PKEY_free(s->provisioner_key);
        for (size_t i = 0; i < NV_CHAIN_LENGTH; i++)
                X509_free(s->certs[i]);
        free(s);
        return NULL;
}

void switch_sim_board_free(SwitchSim **switches, size_t n) {
        for (size_t i = 0; i < n; i++)
                switches[i] = switch_sim_free(switches[i]);
}

/* Deterministic firmware: SHA-384("cvmd-sim nvswitch measurement <i>"), the last blocks unused. */
static void fill_measurements(SwitchSim *s) {
        memset(s->measurements, 0, sizeof(s->measurements));
        for (unsigned i = 0; i + 4 < SWITCH_SIM_BLOCKS; i++) {
                char label[48];
                snprintf(label, sizeof(label), "cvmd-sim nvswitch measurement %u", i);
                sim_fill_digest(EVP_sha384(), label, s->measurements[i], 48);
        }
}

/* A CA or leaf certificate of the switch chain, signed by issuer_key. */
static int issue(const char *cn, const char *serial_text, X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, bool ca,
                 X509 **ret) {
        _cleanup_(X509_freep) X509 *x = NULL;
        const SimRdn with_serial[] = {{"serialNumber", serial_text}, {"CN", cn}, {"O", GPU_SIM_ORGANIZATION}};
        const SimRdn plain[] = {{"CN", cn}, {"O", GPU_SIM_ORGANIZATION}};
        int64_t now = (int64_t) time(NULL);
        int r;

        r = sim_cert_begin(&(SimCertSpec){.subject = serial_text ? with_serial : plain,
                                          .n_subject = serial_text ? ELEMENTSOF(with_serial) : ELEMENTSOF(plain),
                                          .issuer = issuer,
                                          .key = key,
                                          .not_before = now - DAY_SEC,
                                          .not_after = INT64_C(253402300799),
                                          .serial_bits = 127},
                           &x);
        if (r < 0)
                return r;
        if ((r = x509_add_conf_ext(x, issuer, NID_subject_key_identifier, "hash")) < 0 ||
            (r = x509_add_conf_ext(x, issuer, NID_authority_key_identifier, "keyid:always")) < 0 ||
            (r = x509_add_conf_ext(x, issuer, NID_key_usage,
                                   ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature")) < 0 ||
            (r = x509_add_conf_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE")) <
                    0)
                return r;
        if (X509_sign(x, issuer_key, EVP_sha384()) <= 0)
                return openssl_fail(-EIO);
        *ret = TAKE_PTR(x);
        return 0;
}

static uint64_t random_pdi(void) {
        uint64_t x = 0;

        while (x == 0)
                if (RAND_bytes((unsigned char *) &x, sizeof(x)) != 1)
                        return 0;
        return x;
}

static int new_switch(const GpuSim *gpu0, X509 *provisioner, EVP_PKEY *provisioner_key, size_t position,
                      const uint64_t gpu_pdis[NV_SWITCH_GPU_PDIS], SwitchSim **ret) {
        _cleanup_(switch_sim_freep) SwitchSim *s = calloc(1, sizeof(SwitchSim));
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *brom_key = EVP_EC_gen("P-384");
        char serial[24];
        int r;

        if (!s || !brom_key)
                return -ENOMEM;
        if (!(s->leaf_key = EVP_EC_gen("P-384")) || !(s->pdi = random_pdi()))
                return openssl_fail(-EIO);
        /* the BROM CA's serialNumber is "50" and the PDI, as on real switches */
        snprintf(serial, sizeof(serial), "50%016llX", (unsigned long long) s->pdi);
        if ((r = issue("LS_10 A01 FSP BROM", serial, provisioner, provisioner_key, brom_key, true, &s->certs[1])) < 0 ||
            (r = issue("LS_10 A01 FSP FMC LF", NULL, s->certs[1], brom_key, s->leaf_key, false, &s->certs[0])) < 0)
                return r;
        if (!X509_up_ref(provisioner) || !X509_up_ref(gpu0->certs[3]) || !X509_up_ref(gpu0->certs[4]))
                return openssl_fail(-ENOMEM);
        s->certs[2] = provisioner;
        s->certs[3] = gpu0->certs[3];
        if (!EVP_PKEY_up_ref(provisioner_key))
                return openssl_fail(-ENOMEM);
        s->provisioner_key = provisioner_key;
        s->certs[4] = gpu0->certs[4];
        s->position_id = (uint16_t) position;
        s->lock_status = NV_SWITCH_LOCKED;
        memcpy(s->gpu_pdis, gpu_pdis, sizeof(s->gpu_pdis));
        fill_measurements(s);
        *ret = TAKE_PTR(s);
        return 0;
}

int switch_sim_new_board(const GpuSim *gpu0, size_t n, SwitchSim **ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *provisioner_key = NULL;
        _cleanup_(X509_freep) X509 *provisioner = NULL;
        uint64_t gpu_pdis[NV_SWITCH_GPU_PDIS];
        int r;

        if (n == 0 || n > NV_SWITCH_PDIS_MAX || !gpu0->ca_keys[0] || !gpu0->ca_keys[1])
                return -EINVAL;
        for (size_t i = 0; i < NV_SWITCH_GPU_PDIS; i++)
                if (!(gpu_pdis[i] = random_pdi()))
                        return openssl_fail(-EIO);
        provisioner_key = EVP_EC_gen("P-384");
        if (!provisioner_key)
                return openssl_fail(-EIO);
        /* under the GPUs' identity CA, as NVIDIA issues "NVIDIA LS_10 Provisioner ICA 1" */
        r = issue("NVIDIA LS_10 Provisioner ICA 1", NULL, gpu0->certs[3], gpu0->ca_keys[1], provisioner_key, true,
                  &provisioner);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = new_switch(gpu0, provisioner, provisioner_key, i, gpu_pdis, &ret[i]);
                if (r < 0) {
                        switch_sim_board_free(ret, i);
                        return r;
                }
        }
        return 0;
}

void switch_sim_link_gpus(SwitchSim *const *switches, size_t n, GpuSim *const *gpus, size_t n_gpus) {
        for (size_t g = 0; g < n_gpus; g++) {
                gpus[g]->n_switch_pdis = n > 0 ? SWITCH_SIM_LINKS : 0;
                for (size_t k = 0; n > 0 && k < SWITCH_SIM_LINKS; k++) {
                        uint64_t pdi = switches[(k / 2 + g) % n]->pdi; /* two links to a switch in a row */
                        for (size_t b = 0; b < NV_PDI_SIZE; b++)
                                gpus[g]->switch_pdis[k][b] = (uint8_t) (pdi >> (8 * b)); /* little-endian */
                }
        }
}

/* ---- reports ---- */

static void put_be64(SimBuf *b, uint64_t v) {
        uint8_t x[8];

        for (size_t i = 0; i < 8; i++)
                x[i] = (uint8_t) (v >> (56 - 8 * i));
        sim_buf_put(b, x, 8);
}

/* The opaque data in the order of the real captures. */
static void put_opaque(SimBuf *o, const SwitchSim *s) {
        uint8_t msrscnt[108] = {}, ports[SWITCH_SIM_PORTS];

        sim_buf_tlv_header(o, NV_SWITCH_OPAQUE_BIOS_VERSION, sizeof(BIOS_VERSION) - 1);
        sim_buf_put(o, BIOS_VERSION, sizeof(BIOS_VERSION) - 1);
        sim_buf_tlv_header(o, NV_SWITCH_OPAQUE_DEVICE_PDI, NV_PDI_SIZE);
        put_be64(o, s->pdi);
        sim_buf_tlv_header(o, NV_SWITCH_OPAQUE_MSRSCNT, sizeof(msrscnt));
        sim_buf_put(o, msrscnt, sizeof(msrscnt));
        /* two ports per GPU, the rest unused */
        memset(ports, 0xff, sizeof(ports));
        for (size_t i = 0; i < 2 * NV_SWITCH_GPU_PDIS; i++)
                ports[32 + i] = (uint8_t) (i / 2);
        sim_buf_tlv_header(o, NV_SWITCH_OPAQUE_GPU_PDIS, NV_SWITCH_GPU_PDIS * NV_PDI_SIZE + sizeof(ports));
        for (size_t i = 0; i < NV_SWITCH_GPU_PDIS; i++)
                put_be64(o, s->gpu_pdis[i]);
        sim_buf_put(o, ports, sizeof(ports));
        sim_buf_tlv_header(o, NV_SWITCH_OPAQUE_FLOORSWEPT_PORTS, 2);
        sim_buf_put(o, (const uint8_t[]){0xec, 0x00}, 2);
        sim_buf_tlv_header(o, NV_SWITCH_OPAQUE_POSITION_ID, 2);
        sim_buf_le16(o, s->position_id);
        sim_buf_tlv_header(o, NV_SWITCH_OPAQUE_LOCK_STATUS, 2);
        sim_buf_le16(o, s->lock_status);
}

int switch_sim_report(const SwitchSim *s, const uint8_t nonce[NV_NONCE_SIZE], uint8_t **ret, size_t *ret_size) {
        uint8_t opaque[1024];
        SimBuf o = { .p = opaque, .cap = sizeof(opaque) };

        put_opaque(&o, s);
        if (o.overflow)
                return -ENOBUFS;
        return sim_spdm_measurements(s->leaf_key, nonce, (const uint8_t(*)[48]) s->measurements, SWITCH_SIM_BLOCKS,
                                     opaque, o.n, ret, ret_size);
}

int switch_sim_chain_pem(const SwitchSim *s, uint8_t **ret, size_t *ret_size) {
        return sim_pem_chain(s->certs, NV_CHAIN_LENGTH, ret, ret_size);
}

/* ---- files ---- */

int switch_sim_board_dir(const char *dir, size_t i, char **ret) {
        char *p = strdup_printf("%s/switch%zu", dir, i);

        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int write_one(const SwitchSim *s, const char *dir) {
        _cleanup_free_ uint8_t *pem = NULL;
        char text[NV_SWITCH_GPU_PDIS * 17 + 1], line[32];
        size_t size;
        int r;

        if ((r = mkdir_p(dir, 0700)) < 0 || (r = switch_sim_chain_pem(s, &pem, &size)) < 0 ||
            (r = sim_write_file(dir, "chain.pem", pem, size, 0644)) < 0 ||
            (r = sim_write_object(dir, "leaf-key.pem", SIM_PEM_KEY, NULL, s->leaf_key)) < 0)
                return r;
        snprintf(line, sizeof(line), "%016llx\n", (unsigned long long) s->pdi);
        if ((r = sim_write_file(dir, "pdi", line, strlen(line), 0644)) < 0)
                return r;
        for (size_t i = 0; i < NV_SWITCH_GPU_PDIS; i++)
                snprintf(text + 17 * i, 18, "%016llx\n", (unsigned long long) s->gpu_pdis[i]);
        if ((r = sim_write_file(dir, "gpu-pdis", text, NV_SWITCH_GPU_PDIS * 17, 0644)) < 0)
                return r;
        snprintf(line, sizeof(line), "%u\n", s->position_id);
        if ((r = sim_write_file(dir, "position", line, strlen(line), 0644)) < 0)
                return r;
        snprintf(line, sizeof(line), "%u\n", s->lock_status);
        return sim_write_file(dir, "lock-status", line, strlen(line), 0644);
}

int switch_sim_write_board(SwitchSim *const *switches, size_t n, const char *dir) {
        _cleanup_free_ char *ocsp = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *sub = NULL;

                if ((r = switch_sim_board_dir(dir, i, &sub)) < 0 || (r = write_one(switches[i], sub)) < 0)
                        return r;
        }
        if (n == 0 || !switches[0]->provisioner_key)
                return 0;
        /* the switches' provisioner CA issued their BROM certificates: its OCSP responder */
        ocsp = strdup_printf("%s/ocsp", dir);
        if (!ocsp)
                return -ENOMEM;
        return sim_write_ocsp_responder(ocsp, "switch-provisioner", switches[0]->certs[2], switches[0]->provisioner_key);
}

/* Lines of 16 hex digits (want of them), or one decimal number up to max (want 0). */
static int read_numbers(const char *dir, const char *name, size_t want, uint64_t *ret, uint64_t max) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t n;
        int r;

        r = sim_read_file(dir, name, &data, &n);
        if (r < 0)
                return r;
        if (want == 0) {
                char buf[8] = {}, *end;
                unsigned long x;

                if (n == 0 || n >= sizeof(buf) || !isdigit(data[0]))
                        return -EBADMSG;
                memcpy(buf, data, n);
                x = strtoul(buf, &end, 10);
                if ((*end != '\n' && *end != 0) || (*end == '\n' && end[1] != 0) || x > max)
                        return -EBADMSG;
                *ret = x;
                return 0;
        }
        if (n != want * 17)
                return -EBADMSG;
        for (size_t i = 0; i < want; i++) {
                uint64_t x = 0;

                if (data[17 * i + 16] != '\n')
                        return -EBADMSG;
                for (size_t k = 0; k < 16; k++) {
                        int c = data[17 * i + k];
                        if (!isxdigit(c) || isupper(c))
                                return -EBADMSG;
                        x = x << 4 | (uint64_t) (isdigit(c) ? c - '0' : c - 'a' + 10);
                }
                ret[i] = x;
        }
        return 0;
}

int switch_sim_load(const char *dir, SwitchSim **ret) {
        _cleanup_(switch_sim_freep) SwitchSim *s = calloc(1, sizeof(SwitchSim));
        uint64_t position, lock;
        int r;

        if (!s)
                return -ENOMEM;
        r = sim_spdm_load_identity(dir, s->certs, &s->leaf_key);
        if (r < 0)
                return r;
        if ((r = read_numbers(dir, "pdi", 1, &s->pdi, 0)) < 0 ||
            (r = read_numbers(dir, "gpu-pdis", NV_SWITCH_GPU_PDIS, s->gpu_pdis, 0)) < 0 ||
            (r = read_numbers(dir, "position", 0, &position, UINT16_MAX)) < 0 ||
            (r = read_numbers(dir, "lock-status", 0, &lock, UINT16_MAX)) < 0)
                return r;
        s->position_id = (uint16_t) position;
        s->lock_status = (uint16_t) lock;
        fill_measurements(s);
        *ret = TAKE_PTR(s);
        return 0;
}
