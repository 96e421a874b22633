/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 5649 AES key wrap with padding through OpenSSL's wrap-pad ciphers. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/keywrap.h"

static const EVP_CIPHER *wrap_cipher(size_t kek_size) {
        switch (kek_size) {
        case 16:
                return EVP_aes_128_wrap_pad();
        case 24:
                return EVP_aes_192_wrap_pad();
        case 32:
                return EVP_aes_256_wrap_pad();
        default:
                return NULL;
        }
}

const char *keywrap_alg_for_kek_size(size_t kek_size) {
        switch (kek_size) {
        case 16:
                return "A128KWP";
        case 24:
                return "A192KWP";
        case 32:
                return "A256KWP";
        default:
                return NULL;
        }
}

int keywrap_alg_kek_size(const char *alg) {
        if (!alg)
                return -EINVAL;
        if (streq(alg, "A128KWP"))
                return 16;
        if (streq(alg, "A192KWP"))
                return 24;
        if (streq(alg, "A256KWP"))
                return 32;
        return -EOPNOTSUPP;
}

/* One pass of the wrap cipher; out must hold in_size + 16 bytes. */
static int wrap_run(const Secret *kek, bool encrypt, const uint8_t *in, size_t in_size, uint8_t *out,
                    size_t *ret_out_size) {
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = NULL;
        const EVP_CIPHER *cipher;
        int outl = 0, finl = 0;

        cipher = wrap_cipher(secret_size(kek));
        if (!cipher)
                return -EINVAL;
        c = EVP_CIPHER_CTX_new();
        if (!c)
                return -ENOMEM;
        EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        if (EVP_CipherInit_ex(c, cipher, NULL, secret_data(kek), NULL, encrypt ? 1 : 0) != 1) {
                openssl_clear_errors();
                return -EIO;
        }
        /* The whole input in one update: the wrap modes do not stream. */
        if (EVP_CipherUpdate(c, out, &outl, in, (int) in_size) != 1 || outl <= 0) {
                openssl_clear_errors();
                return encrypt ? -EIO : -EBADMSG;
        }
        if (EVP_CipherFinal_ex(c, out + outl, &finl) != 1) {
                openssl_clear_errors();
                return encrypt ? -EIO : -EBADMSG;
        }
        *ret_out_size = (size_t) outl + (size_t) finl;
        return 0;
}

int keywrap_wrap(const Secret *kek, const Secret *key, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t n, want;
        int r;

        if (!kek || !key || !ret || !ret_size || !wrap_cipher(secret_size(kek)))
                return -EINVAL;
        n = secret_size(key);
        if (n == 0 || n > KEYWRAP_KEY_MAX)
                return -EINVAL;
        want = keywrap_wrapped_size(n);
        out = malloc(n + 16);
        if (!out)
                return -ENOMEM;
        r = wrap_run(kek, true, secret_data(key), n, out, &n);
        if (r < 0)
                return r;
        if (n != want)
                return -EIO;
        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}

int keywrap_unwrap(const Secret *kek, const uint8_t *wrapped, size_t n, Secret **ret) {
        _cleanup_(secret_freep) Secret *buf = NULL, *key = NULL;
        size_t out_size;
        int r;

        if (!kek || (!wrapped && n > 0) || !ret || !wrap_cipher(secret_size(kek)))
                return -EINVAL;
        if (n < KEYWRAP_WRAPPED_MIN || n % 8 != 0 || n > KEYWRAP_WRAPPED_MAX)
                return -EBADMSG;
        r = secret_new(n + 16, &buf);
        if (r < 0)
                return r;
        r = wrap_run(kek, false, wrapped, n, secret_data_mut(buf), &out_size);
        if (r < 0)
                return r;
        /* RFC 5649 §3: the padding is 0..7 bytes, so the key is n-15 .. n-8 bytes long. */
        if (out_size == 0 || out_size > n - 8 || out_size + 15 < n)
                return -EBADMSG;
        r = secret_new_copy(secret_data(buf), out_size, &key);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(key);
        return 0;
}
