/* SPDX-License-Identifier: Apache-2.0 */
/* KEK providers by URI: dispatch to the file / credential provider (kek-file.c) or PKCS#11
 * (kek-pkcs11.c). */
#include <errno.h>
#include <string.h>

#include "cvm/keywrap.h"
#include "cvm/util.h"
#include "kek-internal.h"

static bool credential_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 255 || streq(s, ".") || streq(s, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] == '/' || (unsigned char) s[i] < 0x21 || (unsigned char) s[i] >= 0x7f)
                        return false;
        return true;
}

int kek_open_full(const char *uri, const KekOptions *opts, Kek **ret, char **ret_reason) {
        if (!uri || !ret)
                return -EINVAL;
        if (strlen(uri) > KEK_URI_MAX)
                return set_reason(ret_reason, -EINVAL, "KEK URI longer than %u bytes", KEK_URI_MAX);

        if (strncmp(uri, "file:", 5) == 0) {
                const char *path = uri + 5;

                if (strncmp(path, "///", 3) == 0)
                        path += 2;
                else if (strncmp(path, "//", 2) == 0)
                        return set_reason(ret_reason, -EINVAL, "file: KEK URI names a host; use file:/PATH");
                if (path[0] != '/' || strchr(path, '%') || strchr(path, '?') || strchr(path, '#'))
                        return set_reason(ret_reason, -EINVAL,
                                          "file: KEK URI needs an absolute path without %%, ? or #: file:/PATH");
                return kek_file_open(path, uri, ret, ret_reason);
        }

        if (strncmp(uri, "cred:", 5) == 0) {
                _cleanup_free_ char *path = NULL;
                const char *name = uri + 5, *dir;

                if (!credential_name_is_valid(name))
                        return set_reason(ret_reason, -EINVAL, "cred: KEK URI needs a credential name without '/'");
                dir = opts && opts->credentials_dir ? opts->credentials_dir : getenv("CREDENTIALS_DIRECTORY");
                if (!dir || dir[0] != '/')
                        return set_reason(ret_reason, -ENOENT,
                                          "cred:%s: $CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the "
                                          "unit)", name);
                path = strdup_printf("%s/%s", dir, name);
                if (!path)
                        return -ENOMEM;
                return kek_file_open(path, uri, ret, ret_reason);
        }

        if (strncmp(uri, "pkcs11:", 7) == 0)
                return kek_pkcs11_open(uri, opts, ret, ret_reason);

        return set_reason(ret_reason, -EINVAL, "unknown KEK URI scheme (expected file:, cred: or pkcs11:)");
}

int kek_open(const char *uri, Kek **ret, char **ret_reason) {
        return kek_open_full(uri, NULL, ret, ret_reason);
}

int kek_wrap(Kek *k, const Secret *key, uint8_t **ret, size_t *ret_size) {
        if (!k || !key || !ret || !ret_size)
                return -EINVAL;
        if (secret_size(key) == 0 || secret_size(key) > KEYWRAP_KEY_MAX)
                return -EINVAL;
        return k->ops->wrap(k, key, ret, ret_size);
}

int kek_unwrap(Kek *k, const uint8_t *wrapped, size_t n, Secret **ret) {
        if (!k || (!wrapped && n > 0) || !ret)
                return -EINVAL;
        if (n < KEYWRAP_WRAPPED_MIN || n % 8 != 0 || n > KEYWRAP_WRAPPED_MAX)
                return -EBADMSG;
        return k->ops->unwrap(k, wrapped, n, ret);
}

Kek *kek_free(Kek *k) {
        if (!k)
                return NULL;
        if (k->ops && k->ops->done)
                k->ops->done(k);
        free(k->reference);
        free(k);
        return NULL;
}

const char *kek_reference(const Kek *k) {
        return k ? k->reference : NULL;
}

const char *kek_alg(const Kek *k) {
        return k ? k->alg : NULL;
}

int kek_unwrap_envelope(const KeyEnvelope *e, const KekOptions *opts, Secret **ret, char **ret_reason) {
        _cleanup_(kek_freep) Kek *k = NULL;
        _cleanup_free_ char *reason = NULL;
        int r;

        if (!e || !e->kid || !e->kek || !e->alg || !ret)
                return -EINVAL;
        r = kek_open_full(e->kek, opts, &k, &reason);
        if (r < 0)
                return set_reason(ret_reason, r, "key '%s': %s", e->kid, reason ? reason : strerror(-r));
        if (!streq(kek_alg(k), e->alg))
                return set_reason(ret_reason, -EINVAL, "key '%s': the envelope says %s, the KEK does %s", e->kid,
                                  e->alg, kek_alg(k));
        r = kek_unwrap(k, e->wrapped, e->wrapped_size, ret);
        if (r == -EBADMSG)
                return set_reason(ret_reason, r, "key '%s': unwrapping failed the integrity check (wrong KEK or a "
                                  "damaged envelope)", e->kid);
        if (r < 0)
                return set_reason(ret_reason, r, "key '%s': unwrapping failed: %s", e->kid, strerror(-r));
        return 0;
}
