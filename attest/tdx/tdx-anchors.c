/* SPDX-License-Identifier: Apache-2.0 */
/* The Intel SGX Root CA, pinned by the SHA-256 of its SubjectPublicKeyInfo. Both issuances of
 * the root (notAfter 2049-12-31, the one every real PCK chain ends in, and an older one with
 * notAfter 2033-05-21) share serial 22650cd6...06ac and this key, so pinning the key accepts
 * either, while a root merely taken from the evidence proves nothing. Computed with:
 *   openssl x509 -inform DER -in intel_sgx_root_ca.der -pubkey -noout |
 *           openssl pkey -pubin -outform DER | sha256sum */
#include "cvm/tdx.h"

static const TdxAnchor builtin_anchors[] = {
        { { 0xa0, 0xaf, 0x03, 0x12, 0x89, 0xf5, 0xd5, 0xd4, 0x13, 0x2f, 0x91, 0x86, 0x06, 0x8a, 0x7f, 0xc1,
            0x36, 0x28, 0x63, 0x3b, 0xa2, 0x35, 0x77, 0x74, 0x72, 0xe2, 0x9b, 0x6b, 0x6c, 0x67, 0xa4, 0x9e },
          "Intel SGX Root CA" },
};

const TdxAnchor *tdx_builtin_anchors(size_t *ret_n) {
        *ret_n = ELEMENTSOF(builtin_anchors);
        return builtin_anchors;
}
