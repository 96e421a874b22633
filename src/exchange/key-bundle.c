/* SPDX-License-Identifier: Apache-2.0 */
/* The data-key bundle sealed to the guest (see cvm/key-bundle.h). It is only ever assembled and
 * read inside Secrets; the host and the agent apply the same limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/key-bundle.h"
#include "cvm/keywrap.h"
#include "cvm/reader.h"
#include "cvm/util.h"

#define HEADER_SIZE 7u /* magic, version, flags, count */

_Static_assert(KEY_BUNDLE_KEY_MAX == KEYWRAP_KEY_MAX, "the bundle carries any key the key store holds");
_Static_assert(KEY_BUNDLE_MAX_KEYS <= UINT8_MAX, "the count is one byte");

int key_bundle_new(Secret **ret) {
        Secret *s;
        int r = secret_new(HEADER_SIZE, &s);

        if (r < 0)
                return r;
        memcpy(secret_data_mut(s), KEY_BUNDLE_MAGIC, 4);
        secret_data_mut(s)[4] = KEY_BUNDLE_VERSION;
        secret_data_mut(s)[5] = KEY_BUNDLE_REPLACE;
        secret_data_mut(s)[6] = 0; /* count */
        *ret = s;
        return 0;
}

void key_bundle_set_replace(Secret *bundle, bool replace) {
        uint8_t *flags = secret_data_mut(bundle) + 5;

        *flags = replace ? (*flags | KEY_BUNDLE_REPLACE) : (*flags & ~KEY_BUNDLE_REPLACE);
}

size_t key_bundle_record_size(const char *kid, const KeyInstall *in, size_t key_size) {
        static const KeyInstall none = {};

        if (!in)
                in = &none;
        return 1 + strlen(kid) + 1 + 1 + strlen(in->owner) + 1 + strlen(in->group) + 2 + 1 + strlen(in->device) + 1 +
               strlen(in->dm_name) + 2 + key_size;
}

static uint8_t *put_string(uint8_t *p, const char *s) {
        size_t n = strlen(s);

        *p++ = (uint8_t) n;
        memcpy(p, s, n);
        return p + n;
}

static uint8_t *put_be16(uint8_t *p, unsigned v) {
        *p++ = (uint8_t) (v >> 8);
        *p++ = (uint8_t) v;
        return p;
}

int key_bundle_add_install(Secret **bundle, const char *kid, const KeyInstall *install, const Secret *key,
                           char **ret_reason) {
        static const KeyInstall none = {};
        _cleanup_free_ KeyBundle *b = NULL;
        _cleanup_free_ char *why = NULL;
        size_t old = secret_size(*bundle), n = secret_size(key), rec;
        Secret *grown;
        uint8_t *p;
        int r;

        if (!install)
                install = &none;
        if (!key_id_is_valid(kid))
                return set_reason(ret_reason, -EINVAL, "'%s' is not a valid key ID (" KEY_ID_GRAMMAR ")", kid);
        r = key_install_validate(install, &why);
        if (r < 0)
                return set_reason(ret_reason, r, "key '%s': install %s", kid, why);
        if (n == 0 || n > KEY_BUNDLE_KEY_MAX)
                return set_reason(ret_reason, -EINVAL, "key '%s' is %zu bytes (1 to %u in a key bundle)", kid, n,
                                  KEY_BUNDLE_KEY_MAX);
        /* what is already there was checked when it was added; parsing it again finds duplicates */
        r = key_bundle_parse(*bundle, &b, ret_reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b->n; i++)
                if (streq(b->entries[i].kid, kid))
                        return set_reason(ret_reason, -EINVAL, "key '%s' is in the bundle twice", kid);
        if (b->n >= KEY_BUNDLE_MAX_KEYS)
                return set_reason(ret_reason, -E2BIG, "more than %u keys in one release", KEY_BUNDLE_MAX_KEYS);
        rec = key_bundle_record_size(kid, install, n);
        if (old + rec > KEY_BUNDLE_SIZE_MAX)
                return set_reason(ret_reason, -E2BIG, "with key '%s' the key bundle would be %zu bytes, over the %u "
                                  "a release may carry", kid, old + rec, KEY_BUNDLE_SIZE_MAX);

        r = secret_new(old + rec, &grown);
        if (r < 0)
                return r;
        p = secret_data_mut(grown);
        memcpy(p, secret_data(*bundle), old);
        p += old;
        p = put_string(p, kid);
        *p++ = (uint8_t) install->target;
        p = put_string(p, install->owner);
        p = put_string(p, install->group);
        p = put_be16(p, install->mode);
        p = put_string(p, install->device);
        p = put_string(p, install->dm_name);
        p = put_be16(p, (unsigned) n);
        memcpy(p, secret_data(key), n);
        secret_data_mut(grown)[6]++;
        secret_free(*bundle);
        *bundle = grown;
        return 0;
}

int key_bundle_add(Secret **bundle, const char *kid, const Secret *key) {
        return key_bundle_add_install(bundle, kid, NULL, key, NULL);
}

int key_bundle_check_keys(const char *keys_dir, char *const *kids, size_t n, char **ret_reason) {
        size_t total = HEADER_SIZE;

        if (n > KEY_BUNDLE_MAX_KEYS)
                return set_reason(ret_reason, -E2BIG, "%zu keys: at most %u keys go in one release", n,
                                  KEY_BUNDLE_MAX_KEYS);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(key_envelope_done) KeyEnvelope e = {};
                _cleanup_free_ char *why = NULL;
                int r;

                if (!key_id_is_valid(kids[i]))
                        return set_reason(ret_reason, -EINVAL, "'%s' is not a valid key ID (" KEY_ID_GRAMMAR ")",
                                          kids[i]);
                for (size_t k = 0; k < i; k++)
                        if (streq(kids[k], kids[i]))
                                return set_reason(ret_reason, -EINVAL, "key '%s' is named twice", kids[i]);
                r = keystore_read(keys_dir, kids[i], &e, &why);
                if (r == -ENOENT)
                        return set_reason(ret_reason, r, "key '%s' is not in the key store %s", kids[i],
                                          keystore_dir(keys_dir));
                if (r < 0)
                        return set_reason(ret_reason, r, "key '%s': %s", kids[i], why ? why : strerror(-r));
                /* RFC 5649: the wrapped key is the key padded to 8 bytes plus 8; counting the
                 * padded length errs towards refusing here, never towards the agent refusing */
                total += key_bundle_record_size(kids[i], &e.install, e.wrapped_size - 8);
                if (e.wrapped_size - 8 > KEY_BUNDLE_KEY_MAX)
                        return set_reason(ret_reason, -E2BIG, "key '%s' is larger than the %u bytes a release carries",
                                          kids[i], KEY_BUNDLE_KEY_MAX);
        }
        if (total > KEY_BUNDLE_SIZE_MAX)
                return set_reason(ret_reason, -E2BIG,
                                  "the %zu keys would make a key bundle of up to %zu bytes, over the %u a release may "
                                  "carry", n, total, KEY_BUNDLE_SIZE_MAX);
        return 0;
}

/* ---- the agent's side: untrusted bytes ---- */

static int read_string(Reader *rd, char *dst, size_t size) {
        const uint8_t *s;
        uint8_t n;

        if (reader_u8(rd, &n) < 0 || n >= size || reader_take(rd, n, &s) < 0 || memchr(s, 0, n))
                return -EBADMSG;
        memcpy(dst, s, n);
        dst[n] = '\0';
        return 0;
}

static int bad(char **ret_reason, size_t i, const char *what) {
        return set_reason(ret_reason, -EBADMSG, "key bundle: key %zu: %s", i + 1, what);
}

static int parse_entry(Reader *rd, size_t i, KeyBundleEntry *e, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        uint8_t target;
        uint16_t mode, n;

        if (read_string(rd, e->kid, sizeof(e->kid)) < 0)
                return bad(ret_reason, i, "truncated or malformed key ID");
        if (!key_id_is_valid(e->kid))
                return bad(ret_reason, i, "not a valid key ID (" KEY_ID_GRAMMAR ")");
        if (reader_u8(rd, &target) < 0 || read_string(rd, e->install.owner, sizeof(e->install.owner)) < 0 ||
            read_string(rd, e->install.group, sizeof(e->install.group)) < 0 || reader_be16(rd, &mode) < 0 ||
            read_string(rd, e->install.device, sizeof(e->install.device)) < 0 ||
            read_string(rd, e->install.dm_name, sizeof(e->install.dm_name)) < 0)
                return set_reason(ret_reason, -EBADMSG, "key bundle: key '%s': truncated or malformed install metadata",
                                  e->kid);
        if (target >= _KEY_TARGET_MAX)
                return set_reason(ret_reason, -EBADMSG, "key bundle: key '%s': unknown install target %u", e->kid,
                                  (unsigned) target);
        e->install.target = (KeyTarget) target;
        e->install.mode = mode;
        if (key_install_validate(&e->install, &why) < 0)
                return set_reason(ret_reason, -EBADMSG, "key bundle: key '%s': %s", e->kid, why);
        if (reader_be16(rd, &n) < 0 || n == 0 || n > KEY_BUNDLE_KEY_MAX || reader_take(rd, n, &e->key) < 0)
                return set_reason(ret_reason, -EBADMSG, "key bundle: key '%s': the key is missing, truncated or over %u "
                                  "bytes", e->kid, KEY_BUNDLE_KEY_MAX);
        e->key_size = n;
        return 0;
}

int key_bundle_parse(const Secret *bundle, KeyBundle **ret, char **ret_reason) {
        Reader rd = reader_init(secret_data(bundle), secret_size(bundle));
        _cleanup_free_ KeyBundle *b = NULL;
        const uint8_t *magic;
        uint8_t version, flags, count;
        int r;

        if (secret_size(bundle) > KEY_BUNDLE_SIZE_MAX)
                return set_reason(ret_reason, -EBADMSG, "key bundle: %zu bytes, over the limit of %u",
                                  secret_size(bundle), KEY_BUNDLE_SIZE_MAX);
        if (reader_take(&rd, 4, &magic) < 0 || memcmp(magic, KEY_BUNDLE_MAGIC, 4) != 0 || reader_u8(&rd, &version) < 0)
                return set_reason(ret_reason, -EBADMSG, "key bundle: not a key bundle (no \"CVMK\" header)");
        if (version != KEY_BUNDLE_VERSION)
                return set_reason(ret_reason, -EPROTONOSUPPORT,
                                  "key bundle: version %u is not supported (this agent reads version %u)",
                                  (unsigned) version, KEY_BUNDLE_VERSION);
        if (reader_u8(&rd, &flags) < 0 || reader_u8(&rd, &count) < 0)
                return set_reason(ret_reason, -EBADMSG, "key bundle: truncated header");
        if (flags & ~KEY_BUNDLE_REPLACE)
                return set_reason(ret_reason, -EBADMSG, "key bundle: unknown flags 0x%02x", (unsigned) flags);
        if (count > KEY_BUNDLE_MAX_KEYS)
                return set_reason(ret_reason, -EBADMSG, "key bundle: %u keys, over the limit of %u", (unsigned) count,
                                  KEY_BUNDLE_MAX_KEYS);
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->replace = flags & KEY_BUNDLE_REPLACE;
        for (size_t i = 0; i < count; i++) {
                KeyBundleEntry *e = &b->entries[i];

                r = parse_entry(&rd, i, e, ret_reason);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < i; k++)
                        if (streq(b->entries[k].kid, e->kid))
                                return set_reason(ret_reason, -EBADMSG, "key bundle: key '%s' appears twice", e->kid);
                b->n++;
        }
        if (reader_remaining(&rd) != 0)
                return set_reason(ret_reason, -EBADMSG, "key bundle: %zu bytes of trailing data",
                                  reader_remaining(&rd));
        *ret = TAKE_PTR(b);
        return 0;
}
