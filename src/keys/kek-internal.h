/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Between kek.c and its providers (kek-file.c, kek-pkcs11.c); also used by the unit test. */

#include "cvm/kek.h"

typedef struct KekOps {
        int (*wrap)(Kek *k, const Secret *key, uint8_t **ret, size_t *ret_size);
        int (*unwrap)(Kek *k, const uint8_t *wrapped, size_t n, Secret **ret);
        void (*done)(Kek *k);
} KekOps;

struct Kek {
        const KekOps *ops;
        char *reference;
        const char *alg;
        void *data; /* the provider's state */
};

/* Reads a KEK file (raw 16/24/32 bytes or hex) after the ownership and mode checks. */
int kek_file_load(const char *path, Secret **ret, char **ret_reason);
/* Opens path like open(O_RDONLY|O_NOFOLLOW) and refuses anything but a regular file with no
 * group/other bits, owned by root or the effective UID. */
int kek_open_protected_file(const char *path, int *ret_fd, char **ret_reason);

int kek_file_open(const char *path, const char *reference, Kek **ret, char **ret_reason);
int kek_pkcs11_open(const char *uri, const KekOptions *opts, Kek **ret, char **ret_reason);

/* RFC 7512 parsing, exposed for tests. Values are percent-decoded; pin_value is a Secret. */
typedef struct Pkcs11Uri {
        char *token, *manufacturer, *serial, *model, *object, *type;
        uint8_t *id;
        size_t id_size;
        bool has_id;
        bool has_slot_id;
        unsigned long slot_id;
        char *module_path, *module_name, *pin_source;
        Secret *pin_value;
        char *reference; /* the URI without pin-value */
} Pkcs11Uri;

int pkcs11_uri_parse(const char *uri, Pkcs11Uri *ret, char **ret_reason);
void pkcs11_uri_done(Pkcs11Uri *u);
