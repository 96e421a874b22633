/* SPDX-License-Identifier: Apache-2.0 */
/* A LUKS volume opened with a released key (libcryptsetup). The key is the passphrase of one of
 * the volume's key slots, as `cryptsetup luksFormat --key-file KEY` makes it. Staging checks the
 * key against the header without activating anything (crypt_activate_by_passphrase() with no
 * name), so a wrong key or a missing device is refused before any other key is put in place;
 * committing opens /dev/mapper/<name>. */
#include <errno.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <string.h>

#include "cvm/util.h"
#include "install.h"

DEFINE_CLEANUP(struct crypt_device *, crypt_free)

static void quiet(int level, const char *msg, void *usrptr) {
        /* errors become our reasons; libcryptsetup's own words would go to stderr */
}

const char *luks_dm_name(const InstallItem *it, char *buf) {
        if (it->e->install.dm_name[0])
                return it->e->install.dm_name;
        snprintf(buf, KEY_INSTALL_DM_NAME_MAX + 1, "cvmd-%s", it->e->kid);
        return buf;
}

static int luks_open(const InstallItem *it, struct crypt_device **ret, char **ret_reason) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r;

        crypt_set_log_callback(NULL, quiet, NULL);
        r = crypt_init(&cd, it->e->install.device);
        if (r < 0)
                return set_reason(ret_reason, r, "key '%s': cannot open %s: %s", it->e->kid, it->e->install.device,
                                  strerror(-r));
        crypt_set_log_callback(cd, quiet, NULL);
        r = crypt_load(cd, CRYPT_LUKS, NULL);
        if (r < 0)
                return set_reason(ret_reason, r, "key '%s': %s has no LUKS header: %s", it->e->kid,
                                  it->e->install.device, strerror(-r));
        *ret = TAKE_PTR(cd);
        return 0;
}

int luks_stage(InstallItem *it, char **ret_reason) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        char buf[KEY_INSTALL_DM_NAME_MAX + 1];
        const char *name = luks_dm_name(it, buf);
        crypt_status_info st;
        int r;

        r = luks_open(it, &cd, ret_reason);
        if (r < 0)
                return r;
        r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, (const char *) it->e->key, it->e->key_size, 0);
        if (r < 0)
                return set_reason(ret_reason, r == -EPERM ? -EPERM : r, "key '%s': %s", it->e->kid,
                                  r == -EPERM ? "it opens no key slot of the LUKS volume" : strerror(-r));
        /* re-attestation of a running guest: the volume is in use and stays open; the new key
         * was just shown to open it all the same */
        st = crypt_status(NULL, name);
        it->luks_already_open = st == CRYPT_ACTIVE || st == CRYPT_BUSY;
        return 0;
}

int luks_commit(InstallItem *it, char **ret_reason) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        char buf[KEY_INSTALL_DM_NAME_MAX + 1];
        const char *name = luks_dm_name(it, buf);
        int r;

        if (it->luks_already_open)
                return 0;
        r = luks_open(it, &cd, ret_reason);
        if (r < 0)
                return r;
        r = crypt_activate_by_passphrase(cd, name, CRYPT_ANY_SLOT, (const char *) it->e->key, it->e->key_size, 0);
        if (r < 0)
                return set_reason(ret_reason, r, "key '%s': cannot open %s as /dev/mapper/%s: %s", it->e->kid,
                                  it->e->install.device, name,
                                  r == -ENOTSUP || r == -ENODEV || r == -ENOENT
                                          ? "device-mapper is not available"
                                          : strerror(-r));
        it->luks_activated = true;
        return 0;
}

void luks_rollback(InstallItem *it) {
        char buf[KEY_INSTALL_DM_NAME_MAX + 1];

        if (!it->luks_activated)
                return;
        (void) crypt_deactivate(NULL, luks_dm_name(it, buf));
        it->luks_activated = false;
}
