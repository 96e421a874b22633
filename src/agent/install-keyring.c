/* SPDX-License-Identifier: Apache-2.0 */
/* Keys in a user's kernel keyring, all of one bundle at once.
 *
 * The user's keys live in a keyring "cvmd" linked from the user's keyring (so
 * `keyctl search @u user cvmd:<kid>` finds them). A child process running as the user builds a
 * complete new "cvmd" keyring (the bundle's keys, plus every key of the current one that the
 * bundle does not replace), held in its own process keyring; nothing the user sees changes until
 * the commit links the new keyring into the user's keyring, which displaces the old one in one
 * step (keyctl_link(3)). A rollback links the old one back. The key bytes reach the child through
 * a socket, never through memory shared across the fork (Secrets are MADV_WIPEONFORK). */
#include <errno.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/util.h"
#include "install.h"

#define RING "cvmd"
#define DESC_PREFIX "cvmd:"
#define MSG_MAX 256u

struct KeyringStage {
        pid_t pid;
        int fd;
        uid_t uid;
};

typedef int32_t KeySerial;

static long keyctl2(int op, unsigned long a, unsigned long b) {
        return syscall(SYS_keyctl, op, a, b, 0UL, 0UL);
}

static long keyctl3(int op, unsigned long a, unsigned long b, unsigned long c) {
        return syscall(SYS_keyctl, op, a, b, c, 0UL);
}

static KeySerial add_key(const char *type, const char *desc, const void *p, size_t n, KeySerial ring) {
        return (KeySerial) syscall(SYS_add_key, type, desc, p, n, ring);
}

/* ---- I/O on the socket between agent and child ---- */

static int read_all(int fd, void *p, size_t n) {
        uint8_t *b = p;

        while (n > 0) {
                ssize_t k = read(fd, b, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EPIPE;
                b += k;
                n -= (size_t) k;
        }
        return 0;
}

/* A status from the child: 'S' staged, 'D' done, 'E' error; then a NUL-terminated message. */
static void child_say(int fd, char code, const char *fmt, ...) _printf_(3, 4);
static void child_say(int fd, char code, const char *fmt, ...) {
        char msg[1 + MSG_MAX] = { code };
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg + 1, MSG_MAX, fmt, ap);
        va_end(ap);
        (void) write_all(fd, msg, sizeof(msg));
}

static int parent_hear(KeyringStage *s, char want, const char *what, char **ret_reason) {
        char msg[1 + MSG_MAX];
        int r = read_all(s->fd, msg, sizeof(msg));

        if (r < 0)
                return set_reason(ret_reason, -EIO, "keyring of uid %u: the helper process ended while %s",
                                  (unsigned) s->uid, what);
        msg[MSG_MAX] = '\0';
        if (msg[0] != want)
                return set_reason(ret_reason, -EIO, "keyring of uid %u: %s", (unsigned) s->uid,
                                  msg[0] == 'E' ? msg + 1 : "the helper process answered out of turn");
        return 0;
}

/* ---- the child, running as the user ---- */

/* The keys (serials) a keyring holds; *ret_n of them. */
static int ring_read(KeySerial ring, KeySerial **ret, size_t *ret_n) {
        KeySerial *ids = NULL;
        long n = 0, k;

        for (;;) {
                k = keyctl3(KEYCTL_READ, (unsigned long) ring, (unsigned long) ids, (unsigned long) n);
                if (k < 0) {
                        free(ids);
                        return -errno;
                }
                if (k <= n)
                        break;
                free(ids);
                n = k;
                ids = malloc((size_t) n);
                if (!ids)
                        return -ENOMEM;
        }
        *ret = ids;
        *ret_n = (size_t) k / sizeof(KeySerial);
        return 0;
}

/* The type and description of a key ("type;uid;gid;perm;description"). */
static bool key_is(KeySerial id, const char *type, const char *desc) {
        char buf[512], *p = buf;
        long k = keyctl3(KEYCTL_DESCRIBE, (unsigned long) id, (unsigned long) buf, sizeof(buf));

        if (k <= 0 || (size_t) k > sizeof(buf))
                return false;
        buf[sizeof(buf) - 1] = '\0';
        if (strncmp(buf, type, strlen(type)) != 0 || buf[strlen(type)] != ';')
                return false;
        for (int i = 0; i < 4 && p; i++)
                p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL;
        return p && streq(p, desc);
}

static KeySerial ring_find(KeySerial ring, const char *type, const char *desc) {
        _cleanup_free_ KeySerial *ids = NULL;
        size_t n;

        if (ring_read(ring, &ids, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (key_is(ids[i], type, desc))
                        return ids[i];
        return 0;
}

static int child_main(int fd) {
        KeySerial hold, stage, old;
        char kids[KEY_BUNDLE_MAX_KEYS][KEY_ID_MAX + 1];
        size_t n_kids = 0;
        uint8_t replace, cmd;

        if (read_all(fd, &replace, 1) < 0)
                return 1;
        /* possess the user's keyring (and so the keys in it) through a session of our own */
        if (keyctl2(KEYCTL_JOIN_SESSION_KEYRING, 0, 0) < 0 ||
            keyctl2(KEYCTL_LINK, (unsigned long) KEY_SPEC_USER_KEYRING, (unsigned long) KEY_SPEC_SESSION_KEYRING) < 0) {
                child_say(fd, 'E', "cannot reach the user keyring: %s", strerror(errno));
                return 1;
        }
        old = ring_find(KEY_SPEC_USER_KEYRING, "keyring", RING);
        hold = add_key("keyring", "cvmd-hold", NULL, 0, KEY_SPEC_PROCESS_KEYRING);
        stage = add_key("keyring", RING, NULL, 0, KEY_SPEC_PROCESS_KEYRING);
        if (hold < 0 || stage < 0 ||
            (old > 0 && keyctl2(KEYCTL_LINK, (unsigned long) old, (unsigned long) hold) < 0)) {
                child_say(fd, 'E', "cannot make a keyring: %s", strerror(errno));
                return 1;
        }
        for (;;) {
                uint8_t kl, len[2], key[KEY_BUNDLE_KEY_MAX];
                char desc[sizeof(DESC_PREFIX) + KEY_ID_MAX];
                KeySerial prev;
                size_t n;
                int r;

                if (read_all(fd, &kl, 1) < 0)
                        return 1;
                if (kl == 0)
                        break;
                if (kl > KEY_ID_MAX || n_kids >= KEY_BUNDLE_MAX_KEYS || read_all(fd, kids[n_kids], kl) < 0 ||
                    read_all(fd, len, 2) < 0)
                        return 1;
                kids[n_kids][kl] = '\0';
                n = (size_t) len[0] << 8 | len[1];
                if (n == 0 || n > sizeof(key) || read_all(fd, key, n) < 0) {
                        explicit_bzero(key, sizeof(key));
                        return 1;
                }
                snprintf(desc, sizeof(desc), DESC_PREFIX "%.*s", (int) KEY_ID_MAX, kids[n_kids]);
                prev = old > 0 && !replace ? ring_find(old, "user", desc) : 0;
                r = prev > 0 ? (int) keyctl2(KEYCTL_LINK, (unsigned long) prev, (unsigned long) stage)
                             : (int) add_key("user", desc, key, n, stage);
                explicit_bzero(key, sizeof(key));
                if (r < 0) {
                        child_say(fd, 'E', "key '%s': %s: %s", kids[n_kids], prev > 0 ? "keyctl link" : "add_key",
                                  strerror(errno));
                        return 1;
                }
                n_kids++;
        }
        /* keys of earlier exchanges that this bundle does not name stay */
        if (old > 0) {
                _cleanup_free_ KeySerial *ids = NULL;
                size_t n;

                if (ring_read(old, &ids, &n) < 0) {
                        child_say(fd, 'E', "cannot read the current keyring: %s", strerror(errno));
                        return 1;
                }
                for (size_t i = 0; i < n; i++) {
                        bool named = false;
                        for (size_t k = 0; k < n_kids && !named; k++) {
                                char desc[sizeof(DESC_PREFIX) + KEY_ID_MAX];
                                snprintf(desc, sizeof(desc), DESC_PREFIX "%.*s", (int) KEY_ID_MAX, kids[k]);
                                named = key_is(ids[i], "user", desc);
                        }
                        if (!named && keyctl2(KEYCTL_LINK, (unsigned long) ids[i], (unsigned long) stage) < 0) {
                                child_say(fd, 'E', "cannot keep an earlier key: %s", strerror(errno));
                                return 1;
                        }
                }
        }
        child_say(fd, 'S', "staged");
        if (read_all(fd, &cmd, 1) < 0 || cmd != 'C')
                return 0; /* abort: the staged keyring dies with this process */
        if (keyctl2(KEYCTL_LINK, (unsigned long) stage, (unsigned long) KEY_SPEC_USER_KEYRING) < 0) {
                child_say(fd, 'E', "cannot link the new keyring: %s", strerror(errno));
                return 1;
        }
        child_say(fd, 'D', "committed");
        if (read_all(fd, &cmd, 1) < 0 || cmd != 'R')
                return 0;
        /* rollback: the old keyring back in its place, or none as before */
        if (old > 0)
                (void) keyctl2(KEYCTL_LINK, (unsigned long) old, (unsigned long) KEY_SPEC_USER_KEYRING);
        else
                (void) keyctl2(KEYCTL_UNLINK, (unsigned long) stage, (unsigned long) KEY_SPEC_USER_KEYRING);
        child_say(fd, 'D', "rolled back");
        return 0;
}

/* ---- the agent's side ---- */

KeyringStage *keyring_stage_free(KeyringStage *s) {
        int status;

        if (!s)
                return NULL;
        if (s->fd >= 0)
                close(s->fd); /* EOF: the child ends, keeping a committed keyring */
        if (s->pid > 0)
                while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
                        ;
        free(s);
        return NULL;
}

static int send_items(int fd, InstallItem *items, size_t n, uid_t uid, bool replace) {
        uint8_t flag = replace, end = 0;
        int r = write_all(fd, &flag, 1);

        for (size_t i = 0; i < n && r >= 0; i++) {
                const KeyBundleEntry *e = items[i].e;
                uint8_t kl = (uint8_t) strlen(e->kid), len[2] = { (uint8_t) (e->key_size >> 8), (uint8_t) e->key_size };

                if (!items[i].to_keyring || items[i].ring_uid != uid)
                        continue;
                if ((r = write_all(fd, &kl, 1)) < 0 || (r = write_all(fd, e->kid, kl)) < 0 ||
                    (r = write_all(fd, len, 2)) < 0 || (r = write_all(fd, e->key, e->key_size)) < 0)
                        break;
        }
        return r < 0 ? r : write_all(fd, &end, 1);
}

int keyring_stage(uid_t uid, gid_t gid, InstallItem *items, size_t n, bool replace, KeyringStage **ret,
                  char **ret_reason) {
        KeyringStage *s;
        int sp[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return set_reason(ret_reason, -errno, "socketpair: %s", strerror(errno));
        s = calloc(1, sizeof(*s));
        if (!s) {
                close(sp[0]);
                close(sp[1]);
                return -ENOMEM;
        }
        s->uid = uid;
        s->fd = sp[0];
        s->pid = fork();
        if (s->pid < 0) {
                r = -errno;
                close(sp[1]);
                keyring_stage_free(s);
                return set_reason(ret_reason, r, "fork: %s", strerror(-r));
        }
        if (s->pid == 0) {
                /* only our end of our socket: a sibling's socket held open here would keep that
                 * sibling from ever seeing the agent hang up */
                if (dup2(sp[1], 3) < 0)
                        _exit(1);
                (void) close_range(4, ~0U, 0);
                sp[1] = 3;
                if (uid != geteuid() &&
                    (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)) {
                        child_say(sp[1], 'E', "cannot become uid %u: %s", (unsigned) uid, strerror(errno));
                        _exit(1);
                }
                _exit(child_main(sp[1]));
        }
        close(sp[1]);
        r = send_items(s->fd, items, n, uid, replace);
        if (r >= 0)
                r = parent_hear(s, 'S', "staging", ret_reason);
        else
                (void) parent_hear(s, 'S', "staging", ret_reason); /* its reason, when it said one */
        if (r < 0) {
                if (ret_reason && !*ret_reason)
                        (void) set_reason(ret_reason, r, "keyring of uid %u: %s", (unsigned) uid, strerror(-r));
                keyring_stage_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int keyring_commit(KeyringStage *s, char **ret_reason) {
        uint8_t cmd = 'C';
        int r = write_all(s->fd, &cmd, 1);

        if (r < 0)
                return set_reason(ret_reason, r, "keyring of uid %u: the helper process is gone", (unsigned) s->uid);
        return parent_hear(s, 'D', "committing", ret_reason);
}

void keyring_rollback(KeyringStage *s) {
        uint8_t cmd = 'R';

        /* before a commit closing the socket is the abort; after it, 'R' links the old one back */
        if (write_all(s->fd, &cmd, 1) >= 0)
                (void) parent_hear(s, 'D', "rolling back", NULL);
}
