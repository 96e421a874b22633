/* SPDX-License-Identifier: Apache-2.0 */
/* A new key file is written under a temporary name opened O_EXCL (never into a file or link
 * someone else put there), fsync'ed, then renamed into place, and the directory fsync'ed: after
 * a crash there is the old key or the new one, never half of one. A rotation renames the
 * current key to the previous name before the new one takes its place; a crash between the two
 * renames leaves no current key, and the next start makes one while the previous stays. */
#include <fcntl.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sys/stat.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/secret.h"
#include "cvm/token-keys.h"
#include "cvm/token.h"
#include "cvm/util.h"

#define TOKEN_KEYS_NEW_FILE "token-signing-key.pem.new"
/* A PKCS#8 PEM P-256 key is about 250 bytes. */
#define KEY_FILE_MAX 16384

struct TokenKeys {
        pthread_mutex_t lock;
        char *dir;
        int dir_fd;
        int64_t rotate_sec;
        int64_t overlap_sec;
        EVP_PKEY *current;
        char *current_kid;
        int64_t current_created;
        EVP_PKEY *previous; /* retired at current_created */
};

TokenKeys *token_keys_free(TokenKeys *k) {
        if (!k)
                return NULL;
        EVP_PKEY_free(k->current);
        EVP_PKEY_free(k->previous);
        free(k->current_kid);
        free(k->dir);
        if (k->dir_fd >= 0)
                (void) close(k->dir_fd);
        pthread_mutex_destroy(&k->lock);
        free(k);
        return NULL;
}

/* Never prompt on a terminal for an encrypted key: ours are not, so one that is is refused. */
static int no_password(char *buf, int size, int rwflag, void *userdata) {
        return 0;
}

static int key_file_check(TokenKeys *k, const char *name, const struct stat *st, char **ret_reason) {
        if (!S_ISREG(st->st_mode))
                return set_reason(ret_reason, -EPERM, "%s/%s: not a regular file", k->dir, name);
        if (st->st_uid != geteuid())
                return set_reason(ret_reason, -EPERM, "%s/%s: owned by uid %u, not by us (%u)", k->dir, name,
                                  (unsigned) st->st_uid, (unsigned) geteuid());
        if (st->st_mode & 0077)
                return set_reason(ret_reason, -EPERM, "%s/%s: mode %04o gives group or others access, refusing", k->dir,
                                  name, (unsigned) (st->st_mode & 07777));
        return 0;
}

/* -ENOENT when the file is absent; the caller decides whether that is an error. */
static int key_file_read(TokenKeys *k, const char *name, EVP_PKEY **ret, int64_t *ret_created, char **ret_reason) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        uint8_t buf[KEY_FILE_MAX];
        CLEANUP_ERASE(buf);
        EVP_PKEY *key;
        struct stat st;
        size_t n = 0;
        int r;

        fd = openat(k->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return set_reason(ret_reason, -errno, "%s/%s: %s", k->dir, name, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s/%s: %s", k->dir, name, strerror(errno));
        r = key_file_check(k, name, &st, ret_reason);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t m = read(fd, buf + n, sizeof(buf) - n);

                if (m < 0 && errno == EINTR)
                        continue;
                if (m < 0)
                        return set_reason(ret_reason, -errno, "%s/%s: %s", k->dir, name, strerror(errno));
                if (m == 0)
                        break;
                n += (size_t) m;
                if (n == sizeof(buf))
                        return set_reason(ret_reason, -EFBIG, "%s/%s: larger than %u bytes", k->dir, name,
                                          KEY_FILE_MAX);
        }
        bio = BIO_new_mem_buf(buf, (int) n);
        if (!bio)
                return openssl_fail(-ENOMEM);
        key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
        openssl_clear_errors();
        if (!key)
                return set_reason(ret_reason, -EBADMSG, "%s/%s: not a PEM private key", k->dir, name);
        if (!pkey_is_ec_curve(key, NID_X9_62_prime256v1)) {
                EVP_PKEY_free(key);
                return set_reason(ret_reason, -EBADMSG, "%s/%s: not an EC P-256 key", k->dir, name);
        }
        *ret = key;
        *ret_created = st.st_mtim.tv_sec;
        return 0;
}

/* Writes key as TOKEN_KEYS_NEW_FILE, mode 0600, mtime `created`, fsync'ed. */
static int key_file_stage(TokenKeys *k, EVP_PKEY *key, int64_t created, char **ret_reason) {
        _cleanup_(BIO_freep) BIO *bio = NULL; /* secure memory: wiped when freed */
        _cleanup_close_ int fd = -EBADF;
        const struct timespec times[2] = {{.tv_sec = created}, {.tv_sec = created}};
        char *pem;
        long n;
        int r;

        bio = BIO_new(BIO_s_secmem());
        if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
                return openssl_fail(-ENOMEM);
        n = BIO_get_mem_data(bio, &pem);
        if (n <= 0)
                return openssl_fail(-EIO);

        /* A leftover from a crash is ours to replace; O_EXCL then makes sure the file we write
         * is one we just made, with our mode. */
        if (unlinkat(k->dir_fd, TOKEN_KEYS_NEW_FILE, 0) < 0 && errno != ENOENT)
                return set_reason(ret_reason, -errno, "%s/%s: %s", k->dir, TOKEN_KEYS_NEW_FILE, strerror(errno));
        fd = openat(k->dir_fd, TOKEN_KEYS_NEW_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return set_reason(ret_reason, -errno, "%s/%s: %s", k->dir, TOKEN_KEYS_NEW_FILE, strerror(errno));
        r = fchmod(fd, 0600) < 0 ? -errno : 0; /* whatever the umask */
        if (r >= 0)
                r = write_all(fd, pem, (size_t) n);
        if (r >= 0 && futimens(fd, times) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(k->dir_fd, TOKEN_KEYS_NEW_FILE, 0);
                return set_reason(ret_reason, r, "%s/%s: %s", k->dir, TOKEN_KEYS_NEW_FILE, strerror(-r));
        }
        return 0;
}

/* Makes a new key the current one; with keep_previous the current file becomes the previous. */
static int key_install_new(TokenKeys *k, int64_t now, bool keep_previous, char **ret_reason) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ char *kid = NULL;
        int r;

        r = token_key_generate(&key);
        if (r < 0)
                return set_reason(ret_reason, r, "generating a P-256 key failed");
        r = token_key_id(key, &kid);
        if (r < 0)
                return set_reason(ret_reason, r, "computing the key ID failed");
        r = key_file_stage(k, key, now, ret_reason);
        if (r < 0)
                return r;
        if (keep_previous && renameat(k->dir_fd, TOKEN_KEYS_FILE, k->dir_fd, TOKEN_KEYS_PREVIOUS_FILE) < 0 &&
            errno != ENOENT) {
                r = -errno;
                (void) unlinkat(k->dir_fd, TOKEN_KEYS_NEW_FILE, 0);
                return set_reason(ret_reason, r, "%s/%s: %s", k->dir, TOKEN_KEYS_PREVIOUS_FILE, strerror(-r));
        }
        if (renameat(k->dir_fd, TOKEN_KEYS_NEW_FILE, k->dir_fd, TOKEN_KEYS_FILE) < 0)
                return set_reason(ret_reason, -errno, "%s/%s: %s", k->dir, TOKEN_KEYS_FILE, strerror(errno));
        if (fsync(k->dir_fd) < 0)
                return set_reason(ret_reason, -errno, "%s: fsync: %s", k->dir, strerror(errno));

        if (keep_previous) {
                EVP_PKEY_free(k->previous);
                k->previous = TAKE_PTR(k->current);
        }
        EVP_PKEY_free(k->current);
        k->current = TAKE_PTR(key);
        free(k->current_kid);
        k->current_kid = TAKE_PTR(kid);
        k->current_created = now;
        return 0;
}

static bool previous_is_published(TokenKeys *k, int64_t now) {
        return k->previous && now < k->current_created + k->overlap_sec;
}

/* Removes a previous key whose tokens have all expired. */
static int drop_expired_previous(TokenKeys *k, int64_t now, char **ret_reason) {
        if (!k->previous || previous_is_published(k, now))
                return 0;
        k->previous = (EVP_PKEY_free(k->previous), NULL);
        if (unlinkat(k->dir_fd, TOKEN_KEYS_PREVIOUS_FILE, 0) < 0 && errno != ENOENT)
                return set_reason(ret_reason, -errno, "%s/%s: %s", k->dir, TOKEN_KEYS_PREVIOUS_FILE, strerror(errno));
        return 0;
}

int token_keys_open(const char *dir, int64_t rotate_sec, int64_t overlap_sec, int64_t now, TokenKeys **ret,
                    char **ret_reason) {
        _cleanup_(token_keys_freep) TokenKeys *k = NULL;
        int64_t unused;
        int r;

        if (!dir || rotate_sec <= 0 || overlap_sec < 0)
                return set_reason(ret_reason, -EINVAL, "invalid token key settings");
        k = calloc(1, sizeof(TokenKeys));
        if (!k)
                return -ENOMEM;
        k->dir_fd = -EBADF;
        pthread_mutex_init(&k->lock, NULL);
        k->rotate_sec = rotate_sec;
        k->overlap_sec = overlap_sec;
        k->dir = strdup(dir);
        if (!k->dir)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", dir, strerror(-r));
        k->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (k->dir_fd < 0)
                return set_reason(ret_reason, -errno, "%s: %s", dir, strerror(errno));

        r = key_file_read(k, TOKEN_KEYS_FILE, &k->current, &k->current_created, ret_reason);
        if (r == -ENOENT)
                r = key_install_new(k, now, false, ret_reason);
        else if (r >= 0)
                r = token_key_id(k->current, &k->current_kid);
        if (r < 0)
                return r;
        r = key_file_read(k, TOKEN_KEYS_PREVIOUS_FILE, &k->previous, &unused, ret_reason);
        if (r < 0 && r != -ENOENT)
                return r;
        r = drop_expired_previous(k, now, ret_reason);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

int token_keys_rotate(TokenKeys *k, int64_t now, char **ret_reason) {
        int r;

        pthread_mutex_lock(&k->lock);
        r = key_install_new(k, now, true, ret_reason);
        pthread_mutex_unlock(&k->lock);
        return r;
}

int token_keys_rotate_if_due(TokenKeys *k, int64_t now, char **ret_reason) {
        int r = 0;

        pthread_mutex_lock(&k->lock);
        if (now >= k->current_created + k->rotate_sec) {
                r = key_install_new(k, now, true, ret_reason);
                if (r >= 0)
                        r = 1;
        }
        if (r >= 0) {
                int q = drop_expired_previous(k, now, ret_reason);
                if (q < 0)
                        r = q;
        }
        pthread_mutex_unlock(&k->lock);
        return r;
}

int token_keys_sign(TokenKeys *k, json_object *claims, char **ret) {
        int r;

        pthread_mutex_lock(&k->lock);
        r = token_sign(k->current, k->current_kid, claims, ret);
        pthread_mutex_unlock(&k->lock);
        return r;
}

int token_keys_current(TokenKeys *k, EVP_PKEY **ret_key, char **ret_kid) {
        char *kid;

        pthread_mutex_lock(&k->lock);
        kid = strdup(k->current_kid);
        if (kid && EVP_PKEY_up_ref(k->current) != 1)
                kid = mfree_str(kid);
        if (kid)
                *ret_key = k->current;
        pthread_mutex_unlock(&k->lock);
        if (!kid)
                return -ENOMEM;
        *ret_kid = kid;
        return 0;
}

int token_keys_current_kid(TokenKeys *k, char **ret) {
        char *s;

        pthread_mutex_lock(&k->lock);
        s = strdup(k->current_kid);
        pthread_mutex_unlock(&k->lock);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int jwks_add(json_object *keys, EVP_PKEY *key) {
        json_object *jwk;
        int r;

        r = token_jwk(key, &jwk);
        if (r < 0)
                return r;
        if (json_object_array_add(keys, jwk) < 0) {
                json_object_put(jwk);
                return -ENOMEM;
        }
        return 0;
}

int token_keys_jwks_json(TokenKeys *k, int64_t now, char **ret) {
        _cleanup_(json_object_putp) json_object *doc = json_object_new_object();
        json_object *keys = json_object_new_array();
        const char *s;
        int r;

        if (!doc || !keys || json_object_object_add(doc, "keys", keys) < 0) {
                json_object_put(keys);
                return -ENOMEM;
        }
        pthread_mutex_lock(&k->lock);
        r = jwks_add(keys, k->current);
        if (r >= 0 && previous_is_published(k, now))
                r = jwks_add(keys, k->previous);
        pthread_mutex_unlock(&k->lock);
        if (r < 0)
                return r;
        s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}
