/* SPDX-License-Identifier: Apache-2.0 */
/* Install metadata of a data key (see cvm/key-install.h): the one set of rules both the host
 * (when it stores an envelope) and the agent (when it reads a bundle) apply. */
#include <errno.h>
#include <string.h>

#include "cvm/key-install.h"
#include "cvm/util.h"

static const char *const target_names[_KEY_TARGET_MAX] = {
        [KEY_TARGET_DEFAULT] = "default",
        [KEY_TARGET_FILE] = "file",
        [KEY_TARGET_KEYRING] = "keyring",
        [KEY_TARGET_LUKS] = "luks",
};

const char *key_target_to_string(KeyTarget t) {
        return t >= 0 && t < _KEY_TARGET_MAX ? target_names[t] : NULL;
}

int key_target_from_string(const char *s) {
        for (int t = KEY_TARGET_FILE; t < _KEY_TARGET_MAX; t++)
                if (s && streq(s, target_names[t]))
                        return t;
        return -EINVAL;
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool key_install_name_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > KEY_INSTALL_NAME_MAX || !(is_alnum(s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

bool key_install_mode_is_valid(unsigned mode) {
        /* a key file others could change, or run, is never what anyone meant */
        return (mode & ~0777u) == 0 && (mode & 0022u) == 0 && (mode & 0111u) == 0;
}

bool key_install_device_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n <= 5 || n > KEY_INSTALL_DEVICE_MAX || strncmp(s, "/dev/", 5) != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f)
                        return false;
        if (strstr(s, "/../") || strstr(s, "/./") || strstr(s, "//") ||
            (n >= 3 && streq(s + n - 3, "/..")) || (n >= 2 && streq(s + n - 2, "/.")) || s[n - 1] == '/')
                return false;
        return true;
}

bool key_install_dm_name_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > KEY_INSTALL_DM_NAME_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("_.-+", s[i]))
                        return false;
        return true;
}

unsigned key_install_file_mode(const KeyInstall *k) {
        return k->mode ? k->mode : KEY_INSTALL_MODE_DEFAULT;
}

int key_install_validate(const KeyInstall *k, char **ret_reason) {
        bool file = k->target == KEY_TARGET_FILE, keyring = k->target == KEY_TARGET_KEYRING,
             luks = k->target == KEY_TARGET_LUKS;

        if (!key_target_to_string(k->target))
                return set_reason(ret_reason, -EINVAL, "target: unknown install target %d", (int) k->target);
        /* the fixed arrays come from untrusted bytes: each must hold its NUL */
        if (!memchr(k->owner, 0, sizeof(k->owner)) || !memchr(k->group, 0, sizeof(k->group)) ||
            !memchr(k->device, 0, sizeof(k->device)) || !memchr(k->dm_name, 0, sizeof(k->dm_name)))
                return set_reason(ret_reason, -EINVAL, "install metadata: a field is not terminated");
        if (k->owner[0] && !(file || keyring))
                return set_reason(ret_reason, -EINVAL, "owner: only for the file and keyring targets");
        if (k->owner[0] && !key_install_name_is_valid(k->owner))
                return set_reason(ret_reason, -EINVAL,
                                  "owner: not a user name (1 to %u characters A-Z a-z 0-9 _ . -, not starting "
                                  "with '.' or '-')", KEY_INSTALL_NAME_MAX);
        if (k->group[0] && !file)
                return set_reason(ret_reason, -EINVAL, "group: only for the file target");
        if (k->group[0] && !key_install_name_is_valid(k->group))
                return set_reason(ret_reason, -EINVAL,
                                  "group: not a group name (1 to %u characters A-Z a-z 0-9 _ . -, not starting "
                                  "with '.' or '-')", KEY_INSTALL_NAME_MAX);
        if (k->mode && !file)
                return set_reason(ret_reason, -EINVAL, "mode: only for the file target");
        if (k->mode && !key_install_mode_is_valid(k->mode))
                return set_reason(ret_reason, -EINVAL,
                                  "mode: %04o is not allowed (read/write bits only, never group- or "
                                  "other-writable)", (unsigned) k->mode);
        if (k->device[0] && !luks)
                return set_reason(ret_reason, -EINVAL, "device: only for the luks target");
        if (luks && !key_install_device_is_valid(k->device))
                return set_reason(ret_reason, -EINVAL, "device: %s (an absolute path under /dev/)",
                                  k->device[0] ? "not a device path" : "required for the luks target");
        if (k->dm_name[0] && !luks)
                return set_reason(ret_reason, -EINVAL, "name: only for the luks target");
        if (k->dm_name[0] && !key_install_dm_name_is_valid(k->dm_name))
                return set_reason(ret_reason, -EINVAL,
                                  "name: not a device-mapper name (1 to %u characters A-Z a-z 0-9 _ . - +)",
                                  KEY_INSTALL_DM_NAME_MAX);
        return 0;
}
