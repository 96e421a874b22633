/* SPDX-License-Identifier: Apache-2.0 */
/* The data-key bundle sealed to the guest. It is only ever assembled and read inside Secrets. */
#include <string.h>

#include "cvm/exchange.h"
#include "cvm/reader.h"

int key_bundle_new(Secret **ret) {
        Secret *s;
        int r = secret_new(6, &s);

        if (r < 0)
                return r;
        memcpy(secret_data_mut(s), KEY_BUNDLE_MAGIC, 4);
        secret_data_mut(s)[4] = 1; /* version */
        secret_data_mut(s)[5] = 0; /* count */
        *ret = s;
        return 0;
}

int key_bundle_add(Secret **bundle, const char *kid, const Secret *key) {
        size_t old = secret_size(*bundle), kl = strlen(kid), n = secret_size(key);
        Secret *grown;
        uint8_t *p;
        int r;

        if (kl == 0 || kl > 255 || n == 0 || n > UINT16_MAX || secret_data(*bundle)[5] >= KEY_BUNDLE_MAX_KEYS)
                return -EINVAL;
        r = secret_new(old + 1 + kl + 2 + n, &grown);
        if (r < 0)
                return r;
        p = secret_data_mut(grown);
        memcpy(p, secret_data(*bundle), old);
        p += old;
        *p++ = (uint8_t) kl;
        memcpy(p, kid, kl);
        p += kl;
        *p++ = (uint8_t) (n >> 8);
        *p++ = (uint8_t) n;
        memcpy(p, secret_data(key), n);
        secret_data_mut(grown)[5]++;
        secret_free(*bundle);
        *bundle = grown;
        return 0;
}

int key_bundle_foreach(const Secret *bundle,
                       int (*cb)(void *userdata, const char *kid, const uint8_t *key, size_t size),
                       void *userdata) {
        Reader rd = reader_init(secret_data(bundle), secret_size(bundle));
        const uint8_t *magic;
        uint8_t version, count;
        int r;

        if (reader_take(&rd, 4, &magic) < 0 || memcmp(magic, KEY_BUNDLE_MAGIC, 4) != 0 ||
            reader_u8(&rd, &version) < 0 || version != 1 || reader_u8(&rd, &count) < 0 ||
            count > KEY_BUNDLE_MAX_KEYS)
                return -EBADMSG;
        for (unsigned i = 0; i < count; i++) {
                char kid[256];
                const uint8_t *k, *key;
                uint8_t kl;
                uint16_t n;

                if (reader_u8(&rd, &kl) < 0 || kl == 0 || reader_take(&rd, kl, &k) < 0 || memchr(k, 0, kl) ||
                    reader_be16(&rd, &n) < 0 || n == 0 || reader_take(&rd, n, &key) < 0)
                        return -EBADMSG;
                memcpy(kid, k, kl);
                kid[kl] = '\0';
                r = cb(userdata, kid, key, n);
                explicit_bzero(kid, sizeof(kid));
                if (r < 0)
                        return r;
        }
        return reader_remaining(&rd) == 0 ? 0 : -EBADMSG;
}
