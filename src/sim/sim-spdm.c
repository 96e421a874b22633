/* SPDX-License-Identifier: Apache-2.0 */
/* The signed SPDM envelope NVIDIA devices answer with, GPUs and NVSwitches alike
 * (shared/specs/nvidia-gpu.md §1), and the stored identity they sign it with: the simulators
 * differ only in their blocks and opaque data. */
#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>

#include "cvm/cleanup.h"
#include "cvm/gpu-sim.h"
#include "sim-internal.h"

int sim_spdm_measurements(EVP_PKEY *key, const uint8_t nonce[NV_NONCE_SIZE], const uint8_t (*measurements)[48],
                          unsigned n_blocks, const uint8_t *opaque, size_t opaque_size, uint8_t **ret,
                          size_t *ret_size) {
        const uint32_t rec_len = n_blocks * 55u; /* 4-byte block header, 3-byte DMTF header, 48 bytes */
        _cleanup_free_ uint8_t *out = malloc(NV_REPORT_SIZE_MAX);
        SimBuf b = { .p = out, .cap = NV_REPORT_SIZE_MAX };
        uint8_t responder_nonce[NV_NONCE_SIZE];
        int r;

        if (!out)
                return -ENOMEM;
        if (n_blocks > UINT8_MAX || opaque_size > UINT16_MAX)
                return -EINVAL;
        if (RAND_bytes(responder_nonce, sizeof(responder_nonce)) != 1)
                return openssl_fail(-EIO);
        /* Request: SPDM 1.1 GET_MEASUREMENTS, signature requested, all blocks, slot 0. */
        sim_buf_put(&b, (const uint8_t[]){ 0x11, 0xE0, 0x01, 0xFF }, 4);
        sim_buf_put(&b, nonce, NV_NONCE_SIZE);
        sim_buf_put(&b, (const uint8_t[]){ 0 }, 1);
        /* Response: MEASUREMENTS, the record of DMTF blocks with SHA-384 values. */
        sim_buf_put(&b, (const uint8_t[]){ 0x11, 0x60, 0x00, 0x00, (uint8_t) n_blocks }, 5);
        sim_buf_put(&b, (const uint8_t[]){ (uint8_t) rec_len, (uint8_t) (rec_len >> 8), (uint8_t) (rec_len >> 16) }, 3);
        for (unsigned i = 0; i < n_blocks; i++) {
                sim_buf_put(&b, (const uint8_t[]){ (uint8_t) (i + 1), 0x01 /* DMTF */ }, 2);
                sim_buf_le16(&b, 51);
                sim_buf_put(&b, (const uint8_t[]){ 0x01 }, 1);
                sim_buf_le16(&b, 48);
                sim_buf_put(&b, measurements[i], 48);
        }
        sim_buf_put(&b, responder_nonce, NV_NONCE_SIZE);
        sim_buf_le16(&b, (uint16_t) opaque_size);
        sim_buf_put(&b, opaque, opaque_size);
        if (b.overflow || b.n + NV_SIGNATURE_SIZE > b.cap)
                return -ENOBUFS;
        r = ecdsa_sign_raw(key, EVP_sha384(), out, b.n, out + b.n, 48);
        if (r < 0)
                return r;
        *ret_size = b.n + NV_SIGNATURE_SIZE;
        *ret = TAKE_PTR(out);
        return 0;
}

int sim_spdm_load_identity(const char *dir, X509 *certs[NV_CHAIN_LENGTH], EVP_PKEY **ret_leaf_key) {
        _cleanup_(nv_chain_freep) NvChain *chain = NULL;
        _cleanup_free_ uint8_t *pem = NULL;
        size_t size;
        int r;

        r = sim_read_file(dir, "chain.pem", &pem, &size);
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

                if (!sim_cert_has_org(c, GPU_SIM_ORGANIZATION) || x509_signed_by(c, X509_get0_pubkey(issuer)) != 1)
                        return openssl_fail(-EBADMSG);
                if (!X509_up_ref(c))
                        return openssl_fail(-ENOMEM);
                certs[i] = c;
        }
        r = sim_read_key(dir, "leaf-key.pem", NID_secp384r1, ret_leaf_key);
        if (r < 0)
                return r;
        if (EVP_PKEY_eq(*ret_leaf_key, X509_get0_pubkey(certs[0])) != 1)
                return openssl_fail(-EBADMSG);
        return 0;
}
