/* SPDX-License-Identifier: Apache-2.0 */
/* Simulated SEV-SNP evidence: a real-format report signed by the simulator's VCEK, with the
 * simulator's chain in a real-format GHCB certificate table (none when the sim dir says the host
 * supplies none). Verifiers trust it only when a
 * policy names the simulator's ARK. */
#include <openssl/pem.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cvm/crypto.h"
#include "cvm/launch-predict.h"
#include "cvm/sim-boot.h"
#include "cvm/snp-sim.h"
#include "cvm/util.h"

static int pem_of(X509 *x, uint8_t **ret, size_t *ret_size) {
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        char *p;
        long n;

        if (!b || PEM_write_bio_X509(b, x) != 1)
                return -ENOMEM;
        n = BIO_get_mem_data(b, &p);
        if (n <= 0 || !(*ret = malloc((size_t) n)))
                return -ENOMEM;
        memcpy(*ret, p, (size_t) n);
        *ret_size = (size_t) n;
        return 0;
}

/* GUIDs in RFC 4122 byte order. */
static const uint8_t guid_ark[16] = { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                      0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae };
static const uint8_t guid_ask[16] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                      0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };
static const uint8_t guid_vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                       0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
static const uint8_t guid_vlek[16] = { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                                       0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 };

static void put_le32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static int cert_table(const SnpSim *s, ProtoBlob *ret) {
        X509 *certs[3] = { s->ark, s->ask, s->leaf };
        const uint8_t *guids[3] = { guid_ark, guid_ask, s->vlek ? guid_vlek : guid_vcek };
        uint8_t *blob[3] = {};
        size_t size[3] = {}, total = 4 * 24, off = 4 * 24;
        uint8_t *t;
        int r = 0;

        for (size_t i = 0; i < 3 && r >= 0; i++) {
                r = pem_of(certs[i], &blob[i], &size[i]);
                total += size[i];
        }
        if (r < 0 || !(t = calloc(1, total))) {
                for (size_t i = 0; i < 3; i++)
                        free(blob[i]);
                return -ENOMEM;
        }
        for (size_t i = 0; i < 3; i++) {
                memcpy(t + 24 * i, guids[i], 16);
                put_le32(t + 24 * i + 16, (uint32_t) off);
                put_le32(t + 24 * i + 20, (uint32_t) size[i]);
                memcpy(t + off, blob[i], size[i]);
                off += size[i];
                free(blob[i]);
        }
        *ret = (ProtoBlob) { .data = t, .size = total };
        return 0;
}

static bool sim_no_cert_table(const char *dir) {
        _cleanup_free_ char *marker = strdup_printf("%s/no-cert-table", dir);

        return marker && access(marker, F_OK) == 0;
}

/* What the simulated hypervisor booted, when the simulator directory holds the domain XML the
 * launch defined (sim-boot.h): the MEASUREMENT of those files, with this host's vCPU signature
 * (the domain's vCPUs are host-passthrough). Otherwise the template's fixed value stays. */
static int booted_measurement(const char *dir, uint8_t measurement[48], char **ret_reason) {
        _cleanup_(sim_boot_done) SimBoot b = {};
        uint32_t vcpu_sig;
        int r = sim_boot_load(dir, &b, ret_reason);

        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = launch_predict_host_vcpu_sig(NULL, &vcpu_sig, ret_reason);
        if (r >= 0)
                r = sim_boot_snp_measurement(&b, vcpu_sig, measurement, ret_reason);
        return r;
}

int evidence_sim_snp(const char *dir, const uint8_t host_data[32], const uint8_t report_data[64],
                     ProtoBlob *ret_report, ProtoBlob *ret_cert_table, char **ret_reason) {
        _cleanup_(snp_sim_freep) SnpSim *s = NULL;
        SnpReport rep;
        uint8_t *raw;
        int r;

        r = snp_sim_load(dir, &s);
        if (r < 0)
                return set_reason(ret_reason, r, "cannot load the SEV-SNP simulator from %s: %s", dir, strerror(-r));
        r = snp_sim_report_template(s, 3, &rep);
        if (r < 0)
                return set_reason(ret_reason, r, "simulator report template: %s", strerror(-r));
        memcpy(rep.report_data, report_data, 64);
        memcpy(rep.host_data, host_data, 32);
        r = booted_measurement(dir, rep.measurement, ret_reason);
        if (r < 0)
                return r;
        r = snp_sim_sign_report(s, &rep);
        if (r < 0)
                return set_reason(ret_reason, r, "simulator signing: %s", strerror(-r));
        raw = malloc(SNP_REPORT_SIZE);
        if (!raw)
                return -ENOMEM;
        memcpy(raw, rep.raw, SNP_REPORT_SIZE);
        /* `cvmctl sim init --no-cert-table`: a host that supplies no certificate table, as most do
         * by default; the verifier then needs the VCEK and its chain from its cache or KDS */
        if (sim_no_cert_table(dir))
                *ret_cert_table = (ProtoBlob) {};
        else {
                r = cert_table(s, ret_cert_table);
                if (r < 0) {
                        free(raw);
                        return r;
                }
        }
        *ret_report = (ProtoBlob) { .data = raw, .size = SNP_REPORT_SIZE };
        return 0;
}
