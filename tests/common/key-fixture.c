/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <unistd.h>

#include "cvm/kek.h"
#include "cvm/keystore.h"
#include "cvm/secret.h"
#include "cvm/util.h"
#include "key-fixture.h"

int key_fixture_wrap(const char *dir, const char *keys_dir, const char *kid) {
        _cleanup_(kek_freep) Kek *kek = NULL;
        _cleanup_(secret_freep) Secret *key = NULL;
        _cleanup_free_ uint8_t *wrapped = NULL;
        _cleanup_free_ char *path = strdup_printf("%s/kek.bin", dir), *uri = NULL, *reason = NULL;
        uint8_t kek_bytes[32], key_bytes[32];
        KeyEnvelope e;
        size_t n;
        int fd;

        if (!path)
                return -1;
        for (size_t i = 0; i < 32; i++)
                kek_bytes[i] = (uint8_t) (0x40 + i), key_bytes[i] = (uint8_t) (0x90 + i);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -1;
        if (write(fd, kek_bytes, 32) != 32) {
                close(fd);
                return -1;
        }
        close(fd);
        uri = strdup_printf("file:%s", path);
        if (!uri || kek_open(uri, &kek, &reason) < 0 || secret_new_copy(key_bytes, 32, &key) < 0 ||
            kek_wrap(kek, key, &wrapped, &n) < 0)
                return -1;
        e = (KeyEnvelope) { .kid = (char *) kid, .kek = (char *) kek_reference(kek), .alg = (char *) kek_alg(kek),
                            .wrapped = wrapped, .wrapped_size = n };
        return keystore_write(keys_dir, &e, false) < 0 ? -1 : 0;
}
