/* SPDX-License-Identifier: Apache-2.0 */
/* Installing the released data keys, all of a bundle or none of it.
 *
 * 1. Plan: the whole bundle is parsed and every key's target resolved (users, groups, the keys
 *    directory's file system, owner and mode, swap) before anything is written.
 * 2. Stage: key files are written under random temporary names, each user's keys go into a new
 *    keyring that no one sees yet, LUKS keys are checked against their volume's header.
 * 3. Commit, in this order: LUKS volumes are opened, key files renamed into place (a link to each
 *    file replaced is kept), then each user's new keyring replaces the old in one link.
 * A failure in 1 or 2 leaves nothing behind. A failure in 3 undoes what 3 did so far, in
 * reverse: volumes closed, earlier files renamed back, earlier keyrings linked back. What this
 * cannot undo is a crash of the agent between two commit steps; then some keys are the new ones
 * and the rest the old, and the next exchange replaces them.
 *
 * The key bytes go from the bundle's Secret to the kernel and nowhere else; nothing is logged. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cvm/util.h"
#include "install.h"

typedef struct Install {
        const AgentConfig *c;
        KeyBundle *bundle;
        InstallItem items[KEY_BUNDLE_MAX_KEYS];
        size_t n;
        int dfd;
        KeyringStage *rings[KEY_BUNDLE_MAX_KEYS];
        size_t n_rings;
} Install;

static int lookup_user(const char *kid, const char *what, const char *name, uid_t *ret_uid, gid_t *ret_gid,
                       char **ret_reason) {
        struct passwd *pw = getpwnam(name);

        if (!pw)
                return set_reason(ret_reason, -ENOENT, "key '%s': %s: no user '%s' in this guest", kid, what, name);
        *ret_uid = pw->pw_uid;
        if (ret_gid)
                *ret_gid = pw->pw_gid;
        return 0;
}

/* What each key needs, from its metadata or the agent's configuration. */
static int plan_item(Install *x, InstallItem *it, char **ret_reason) {
        const KeyInstall *m = &it->e->install;
        const char *kid = it->e->kid;
        int r;

        switch (m->target) {
        case KEY_TARGET_DEFAULT:
                it->to_file = x->c->keys_dir;
                it->to_keyring = x->c->keyring_user;
                if (!it->to_file && !it->to_keyring)
                        return set_reason(ret_reason, -EINVAL,
                                          "key '%s': nowhere to install it (no keys directory, no keyring user)", kid);
                break;
        case KEY_TARGET_FILE:
                if (!x->c->keys_dir)
                        return set_reason(ret_reason, -EINVAL, "key '%s' is for a file, and the agent has no --keys-dir",
                                          kid);
                it->to_file = true;
                break;
        case KEY_TARGET_KEYRING:
                if (!m->owner[0] && !x->c->keyring_user)
                        return set_reason(ret_reason, -EINVAL,
                                          "key '%s' is for a keyring, names no user, and the agent has no --keyring-user",
                                          kid);
                it->to_keyring = true;
                break;
        case KEY_TARGET_LUKS:
                it->to_luks = true;
                break;
        default:
                return set_reason(ret_reason, -EINVAL, "key '%s': unknown target", kid);
        }
        if (it->to_file) {
                it->file_uid = geteuid();
                it->file_gid = getegid();
                it->file_mode = key_install_file_mode(m);
                if (m->target == KEY_TARGET_FILE && m->owner[0]) {
                        r = lookup_user(kid, "owner", m->owner, &it->file_uid, NULL, ret_reason);
                        if (r < 0)
                                return r;
                }
                if (m->target == KEY_TARGET_FILE && m->group[0]) {
                        struct group *gr = getgrnam(m->group);
                        if (!gr)
                                return set_reason(ret_reason, -ENOENT, "key '%s': group: no group '%s' in this guest",
                                                  kid, m->group);
                        it->file_gid = gr->gr_gid;
                }
        }
        if (it->to_keyring) {
                const char *user = m->target == KEY_TARGET_KEYRING && m->owner[0] ? m->owner : x->c->keyring_user;
                r = lookup_user(kid, "keyring", user, &it->ring_uid, &it->ring_gid, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void rollback(Install *x) {
        for (size_t i = x->n_rings; i > 0; i--)
                keyring_rollback(x->rings[i - 1]);
        for (size_t i = x->n; i > 0; i--) {
                if (x->dfd >= 0)
                        install_file_rollback(x->dfd, &x->items[i - 1]);
                luks_rollback(&x->items[i - 1]);
        }
}

static void install_done(Install *x) {
        for (size_t i = 0; i < x->n_rings; i++)
                keyring_stage_free(x->rings[i]);
        if (x->dfd >= 0)
                close(x->dfd);
        free(x->bundle);
}

static int stage(Install *x, char **ret_reason) {
        bool files = false;
        int r;

        for (size_t i = 0; i < x->n; i++)
                files = files || x->items[i].to_file;
        if (files) {
                r = install_dir_open(x->c, &x->dfd, ret_reason);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < x->n; i++) {
                InstallItem *it = &x->items[i];
                if (it->to_luks && (r = luks_stage(it, ret_reason)) < 0)
                        return r;
                if (it->to_file && (r = install_file_stage(x->dfd, it, ret_reason)) < 0)
                        return r;
        }
        /* one staged keyring per user, in the order the bundle first names them */
        for (size_t i = 0; i < x->n; i++) {
                bool seen = false;

                if (!x->items[i].to_keyring)
                        continue;
                for (size_t k = 0; k < i && !seen; k++)
                        seen = x->items[k].to_keyring && x->items[k].ring_uid == x->items[i].ring_uid;
                if (seen)
                        continue;
                r = keyring_stage(x->items[i].ring_uid, x->items[i].ring_gid, x->items, x->n, x->bundle->replace,
                                  &x->rings[x->n_rings], ret_reason);
                if (r < 0)
                        return r;
                x->n_rings++;
        }
        return 0;
}

static int commit(Install *x, char **ret_reason) {
        int r;

        for (size_t i = 0; i < x->n; i++)
                if (x->items[i].to_luks && (r = luks_commit(&x->items[i], ret_reason)) < 0)
                        return r;
        for (size_t i = 0; i < x->n; i++)
                if (x->items[i].to_file && (r = install_file_commit(x->dfd, &x->items[i], x->bundle->replace,
                                                                    ret_reason)) < 0)
                        return r;
        for (size_t i = 0; i < x->n_rings; i++)
                if ((r = keyring_commit(x->rings[i], ret_reason)) < 0)
                        return r;
        return 0;
}

int keys_install(const AgentConfig *c, const Secret *bundle, char **ret_reason) {
        Install x = { .c = c, .dfd = -EBADF };
        int r;

        r = key_bundle_parse(bundle, &x.bundle, ret_reason);
        if (r < 0)
                return r;
        x.n = x.bundle->n;
        for (size_t i = 0; i < x.n; i++) {
                x.items[i].e = &x.bundle->entries[i];
                r = plan_item(&x, &x.items[i], ret_reason);
                if (r < 0)
                        goto fail;
        }
        r = stage(&x, ret_reason);
        if (r >= 0)
                r = commit(&x, ret_reason);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < x.n; i++)
                if (x.items[i].to_file)
                        install_file_finish(x.dfd, &x.items[i]);
        install_done(&x);
        return (int) x.n;
fail:
        rollback(&x);
        install_done(&x);
        return r;
}
