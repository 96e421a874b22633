/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated platforms' collateral as a host gets it: what AMD KDS would serve for the
 * SEV-SNP simulator (laid out like KDS's URLs, for tests/helpers/kds-server), and both
 * simulators' collateral installed into a collateral cache (the layout of kds.h and pcs.h), as
 * `cvmctl collateral fetch` leaves it. Made while the CA keys are at hand: a loaded simulator
 * has none (-ENOKEY). */
#include <openssl/x509.h>
#include <string.h>

#include "cvm/kds.h"
#include "cvm/pcs.h"
#include "cvm/snp-sim.h"
#include "cvm/tdx-sim.h"
#include "cvm/util.h"
#include "sim-internal.h"

/* The ASK (or ASVK) and ARK in PEM, as KDS's cert_chain: the intermediate first. */
static int cert_chain_pem(const SnpSim *s, uint8_t **ret, size_t *ret_size) {
        X509 *const certs[2] = { s->ask, s->ark };

        return sim_pem_chain(certs, 2, ret, ret_size);
}

static int crl_der(const SnpSim *s, int64_t this_update, int64_t next_update, uint8_t **ret, size_t *ret_size) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        unsigned char *der = NULL;
        int n, r;

        r = snp_sim_make_crl(s, NULL, 0, this_update, next_update, &crl);
        if (r < 0)
                return r;
        n = i2d_X509_CRL(crl, &der);
        if (n <= 0)
                return openssl_fail(-EIO);
        *ret = malloc((size_t) n);
        if (!*ret) {
                OPENSSL_free(der);
                return -ENOMEM;
        }
        memcpy(*ret, der, (size_t) n);
        *ret_size = (size_t) n;
        OPENSSL_free(der);
        return 0;
}

static int leaf_der(const SnpSim *s, uint8_t **ret, size_t *ret_size) {
        unsigned char *der = NULL;
        int n = i2d_X509(s->leaf, &der);

        if (n <= 0)
                return openssl_fail(-EIO);
        *ret = malloc((size_t) n);
        if (!*ret) {
                OPENSSL_free(der);
                return -ENOMEM;
        }
        memcpy(*ret, der, (size_t) n);
        *ret_size = (size_t) n;
        OPENSSL_free(der);
        return 0;
}

/* dir/rel (its folders made), atomically. */
static int write_at(const char *dir, const char *rel, const uint8_t *data, size_t size) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, rel);
        char *slash;
        int r;

        if (!path)
                return -ENOMEM;
        slash = strrchr(path, '/');
        *slash = '\0';
        r = mkdir_p(path, 0755);
        *slash = '/';
        if (r < 0)
                return r;
        return write_file_atomic(path, data, size, 0644);
}

/* A report of this platform, for the cache file names (CHIP_ID and REPORTED_TCB). */
static int sim_report(const SnpSim *s, SnpReport *ret) {
        return snp_sim_report_template(s, 3, ret);
}

int snp_sim_write_kds(const SnpSim *s, const char *dir, int64_t this_update, int64_t next_update) {
        _cleanup_free_ uint8_t *chain = NULL, *crl = NULL, *leaf = NULL;
        _cleanup_free_ char *base = NULL, *hwid = NULL, *rel = NULL;
        const char *kind = s->vlek ? "vlek" : "vcek", *product = snp_product_to_string(s->product);
        size_t chain_size, crl_size, leaf_size;
        int r;

        if (!s->ark_key)
                return -ENOKEY;
        if ((r = cert_chain_pem(s, &chain, &chain_size)) < 0 || (r = crl_der(s, this_update, next_update, &crl, &crl_size)) < 0)
                return r;
        base = strdup_printf("%s/v1/%s", kind, product);
        if (!base)
                return -ENOMEM;
        rel = strdup_printf("%s/cert_chain", base);
        if (!rel)
                return -ENOMEM;
        r = write_at(dir, rel, chain, chain_size);
        if (r < 0)
                return r;
        free(rel);
        rel = strdup_printf("%s/crl", base);
        if (!rel)
                return -ENOMEM;
        r = write_at(dir, rel, crl, crl_size);
        if (r < 0 || s->vlek) /* a VLEK is not served by chip ID */
                return r;
        /* KDS names a Turin chip by the first 8 bytes of CHIP_ID, the others by all 64 */
        hwid = hex_encode(s->chip_id, s->product == SNP_PRODUCT_TURIN ? 8 : 64);
        free(rel);
        rel = hwid ? strdup_printf("%s/%s.der", base, hwid) : NULL;
        if (!rel)
                return -ENOMEM;
        r = leaf_der(s, &leaf, &leaf_size);
        if (r < 0)
                return r;
        return write_at(dir, rel, leaf, leaf_size);
}

/* cache_dir's file for one KDS item of this platform. */
static int cache_write(const SnpSim *s, const char *cache_dir, KdsItem item, const uint8_t *data, size_t size) {
        _cleanup_free_ char *path = NULL;
        SnpReport rep;
        char *slash;
        int r;

        r = sim_report(s, &rep);
        if (r < 0)
                return r;
        r = kds_cache_path(cache_dir, s->product, item, &rep, &path);
        if (r < 0)
                return r;
        slash = strrchr(path, '/');
        *slash = '\0';
        r = mkdir_p(path, 0755);
        *slash = '/';
        if (r < 0)
                return r;
        return write_file_atomic(path, data, size, 0644);
}

int snp_sim_write_cache(const SnpSim *s, const char *cache_dir, int64_t this_update, int64_t next_update) {
        _cleanup_free_ uint8_t *chain = NULL, *crl = NULL, *leaf = NULL;
        size_t chain_size, crl_size, leaf_size;
        int r;

        if (!s->ark_key)
                return -ENOKEY;
        if ((r = cert_chain_pem(s, &chain, &chain_size)) < 0 ||
            (r = crl_der(s, this_update, next_update, &crl, &crl_size)) < 0)
                return r;
        r = cache_write(s, cache_dir, s->vlek ? KDS_ITEM_VLEK_CERT_CHAIN : KDS_ITEM_CERT_CHAIN, chain, chain_size);
        if (r >= 0)
                r = cache_write(s, cache_dir, s->vlek ? KDS_ITEM_VLEK_CRL : KDS_ITEM_CRL, crl, crl_size);
        if (r < 0 || s->vlek)
                return r;
        r = leaf_der(s, &leaf, &leaf_size);
        if (r < 0)
                return r;
        return cache_write(s, cache_dir, KDS_ITEM_VCEK, leaf, leaf_size);
}

int tdx_sim_write_cache(const TdxSim *s, const char *cache_dir, int64_t issue, int64_t next_update) {
        _cleanup_(tdx_sim_collateral_done) TdxSimCollateral c = {};
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!s->root_key)
                return -ENOKEY;
        r = tdx_sim_make_collateral(s, issue, next_update, NULL, 0, &c);
        if (r < 0)
                return r;
        r = pcs_cache_path(cache_dir, s->pck_info.fmspc, s->pck_info.ca, &dir);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0755);
        for (int f = 0; f < _TDX_FILE_MAX && r >= 0; f++)
                r = sim_write_file(dir, tdx_collateral_file_name(f), c.data[f], c.size[f], 0644);
        return r;
}
