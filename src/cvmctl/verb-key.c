/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl key wrap|list|check: wrapped data keys (RFC 5649 envelopes) under a KEK. Key bytes
 * are read from standard input into a Secret and never printed, logged or put in a message. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cvm/kek.h"
#include "cvm/keystore.h"
#include "cvm/keywrap.h"
#include "cvm/secret.h"
#include "cvm/util.h"
#include "cvm/verdict.h" /* json_object_putp */

static void help(void) {
        printf("Usage: cvmctl key wrap --kek URI --kid ID [--keys-dir DIR] [--force] [--json]\n"
               "                      [--target file|keyring|luks] [INSTALL OPTIONS] < KEY\n"
               "       cvmctl key list [--keys-dir DIR] [--json]\n"
               "       cvmctl key check [--keys-dir DIR] [--json] [ID...]\n"
               "\n"
               "Data keys are stored wrapped (RFC 5649 AES key wrap with padding) under a key-encryption\n"
               "key, one JSON envelope per key: DIR/ID.json = {\"kid\", \"kek\", \"alg\", \"wrapped\"}, plus\n"
               "\"install\" when the key says how the guest agent installs it.\n"
               "\n"
               "  wrap    read one data key (raw bytes, 1 to %u) from standard input, wrap it with the\n"
               "          KEK and write DIR/ID.json (mode 0600, atomically); prints the file's path\n"
               "  list    list the envelopes in DIR\n"
               "  check   unwrap each envelope (or the IDs given) through its KEK and report whether it\n"
               "          works; the key bytes are wiped at once and never shown\n"
               "\n"
               "Options:\n"
               "  --kek URI        the KEK: file:/PATH (raw or hex AES key; the file must be a regular\n"
               "                   file, mode 0600 or 0400, owned by root), cred:NAME (systemd credential\n"
               "                   in $CREDENTIALS_DIRECTORY, same rules), or an RFC 7512 pkcs11: URI,\n"
               "                   e.g. 'pkcs11:token=cvmd;object=kek?module-path=/usr/lib/softhsm/\n"
               "                   libsofthsm2.so&pin-source=/etc/cvmd/hsm-pin' (wrapping runs inside the\n"
               "                   token; the KEK must be sensitive and not extractable)\n"
               "  --kid ID         key ID: " KEY_ID_GRAMMAR "\n"
               "  --keys-dir DIR   key directory (default $CVMD_KEYS_DIR, else " KEYSTORE_DIR_DEFAULT ")\n"
               "  --force          wrap: replace an existing envelope of the same ID\n"
               "\n"
               "Install options (wrap; without them the agent installs the key as it is configured to):\n"
               "  --target TARGET         file (a file in the agent's keys directory), keyring (a \"user\"\n"
               "                          key cvmd:ID in a user's keyring) or luks (open a LUKS volume)\n"
               "  --install-owner USER    file: the key file's owner (default the agent's user, root)\n"
               "  --install-group GROUP   file: its group (default the agent's group, root)\n"
               "  --install-mode MODE     file: octal mode (default 0400; never group/other-writable)\n"
               "  --install-user USER     keyring: whose keyring (default the agent's --keyring-user)\n"
               "  --install-device PATH   luks: the guest's device, /dev/... (required for luks)\n"
               "  --install-dm-name NAME  luks: the device-mapper name (default cvmd-ID)\n"
               "  --json           one JSON object on stdout (wrap: the envelope written; list, check: every key)\n"
               "  -h, --help       show this help\n"
               "\n"
               "A pin-value in the URI is used but never written into the envelope: store PINs in a\n"
               "pin-source file so that cvmd can open the KEK later.\n"
               "Exit status: 0 done, 1 failed (KEK refused, bad envelope, unwrap failed), 2 usage error.\n",
               KEYWRAP_KEY_MAX);
}

typedef struct Args {
        const char *kek, *kid, *dir;
        bool force, json;
        const char *target, *owner, *group, *mode, *user, *device, *dm_name;
} Args;

static bool has_install_options(const Args *a) {
        return a->target || a->owner || a->group || a->mode || a->user || a->device || a->dm_name;
}

static int copy_name(char *dst, size_t size, const char *src, const char *option) {
        if (!src)
                return 0;
        if (strlen(src) >= size)
                return cli_usage_error("key wrap: %s: longer than %zu characters", option, size - 1);
        memcpy(dst, src, strlen(src) + 1);
        return 0;
}

/* The install metadata the options describe, checked as the agent will check it. */
static int install_from_args(const Args *a, KeyInstall *ret) {
        KeyInstall k = { .target = KEY_TARGET_DEFAULT };
        _cleanup_free_ char *why = NULL;
        int r;

        if (!has_install_options(a)) {
                *ret = k;
                return 0;
        }
        k.target = KEY_TARGET_FILE;
        if (a->target) {
                r = key_target_from_string(a->target);
                if (r < 0)
                        return cli_usage_error("key wrap: --target: '%s' is not file, keyring or luks", a->target);
                k.target = (KeyTarget) r;
        }
        if ((a->owner || a->group || a->mode) && k.target != KEY_TARGET_FILE)
                return cli_usage_error("key wrap: --install-owner, --install-group and --install-mode are for --target file");
        if (a->user && k.target != KEY_TARGET_KEYRING)
                return cli_usage_error("key wrap: --install-user is for --target keyring");
        if ((a->device || a->dm_name) && k.target != KEY_TARGET_LUKS)
                return cli_usage_error("key wrap: --install-device and --install-dm-name are for --target luks");
        if ((r = copy_name(k.owner, sizeof(k.owner), a->owner ? a->owner : a->user,
                           a->owner ? "--install-owner" : "--install-user")) != 0 ||
            (r = copy_name(k.group, sizeof(k.group), a->group, "--install-group")) != 0 ||
            (r = copy_name(k.device, sizeof(k.device), a->device, "--install-device")) != 0 ||
            (r = copy_name(k.dm_name, sizeof(k.dm_name), a->dm_name, "--install-dm-name")) != 0)
                return r;
        if (a->mode) {
                char *end;
                unsigned long m = strtoul(a->mode, &end, 8);
                if (!*a->mode || *end || m == 0 || m > 0777 || !key_install_mode_is_valid((unsigned) m))
                        return cli_usage_error("key wrap: --install-mode: '%s' is not allowed (octal read/write bits, "
                                               "never group- or other-writable, e.g. 0400 or 0440)", a->mode);
                k.mode = (uint16_t) m;
        }
        if (key_install_validate(&k, &why) < 0)
                return cli_usage_error("key wrap: install metadata: %s", why);
        *ret = k;
        return 0;
}

static int parse_args(int argc, char *argv[], Args *a, bool *ret_help) {
        enum { ARG_KEK = 0x100, ARG_KID, ARG_DIR, ARG_FORCE, ARG_JSON, ARG_TARGET, ARG_OWNER, ARG_GROUP, ARG_MODE,
               ARG_USER, ARG_DEVICE, ARG_DM_NAME };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "kek", required_argument, NULL, ARG_KEK },
                { "kid", required_argument, NULL, ARG_KID },
                { "keys-dir", required_argument, NULL, ARG_DIR },
                { "force", no_argument, NULL, ARG_FORCE },
                { "json", no_argument, NULL, ARG_JSON },
                { "target", required_argument, NULL, ARG_TARGET },
                { "install-owner", required_argument, NULL, ARG_OWNER },
                { "install-group", required_argument, NULL, ARG_GROUP },
                { "install-mode", required_argument, NULL, ARG_MODE },
                { "install-user", required_argument, NULL, ARG_USER },
                { "install-device", required_argument, NULL, ARG_DEVICE },
                { "install-dm-name", required_argument, NULL, ARG_DM_NAME },
                {},
        };
        int c;

        *ret_help = false;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        *ret_help = true;
                        return 0;
                case ARG_KEK:
                        a->kek = optarg;
                        break;
                case ARG_KID:
                        a->kid = optarg;
                        break;
                case ARG_DIR:
                        if (!*optarg)
                                return cli_usage_error("key: --keys-dir needs a directory");
                        a->dir = optarg;
                        break;
                case ARG_FORCE:
                        a->force = true;
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                case ARG_TARGET:
                        a->target = optarg;
                        break;
                case ARG_OWNER:
                        a->owner = optarg;
                        break;
                case ARG_GROUP:
                        a->group = optarg;
                        break;
                case ARG_MODE:
                        a->mode = optarg;
                        break;
                case ARG_USER:
                        a->user = optarg;
                        break;
                case ARG_DEVICE:
                        a->device = optarg;
                        break;
                case ARG_DM_NAME:
                        a->dm_name = optarg;
                        break;
                case ':':
                        return cli_usage_error("key: option '%s' needs an argument", argv[optind - 1]);
                default:
                        return cli_usage_error("key: unknown option '%s'", argv[optind - 1]);
                }
        return 0;
}

static json_object *install_json(const KeyInstall *k) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "target", json_object_new_string(key_target_to_string(k->target)));
        if (k->target == KEY_TARGET_FILE) {
                json_object_object_add(o, "owner", k->owner[0] ? json_object_new_string(k->owner) : NULL);
                json_object_object_add(o, "group", k->group[0] ? json_object_new_string(k->group) : NULL);
                char mode[8];
                snprintf(mode, sizeof(mode), "%04o", key_install_file_mode(k));
                json_object_object_add(o, "mode", json_object_new_string(mode));
        } else if (k->target == KEY_TARGET_KEYRING)
                json_object_object_add(o, "user", k->owner[0] ? json_object_new_string(k->owner) : NULL);
        else if (k->target == KEY_TARGET_LUKS) {
                json_object_object_add(o, "device", json_object_new_string(k->device));
                json_object_object_add(o, "dm_name", k->dm_name[0] ? json_object_new_string(k->dm_name) : NULL);
        }
        return o;
}

static int key_wrap(const Args *a, const KeyInstall *install) {
        _cleanup_(secret_freep) Secret *key = NULL;
        _cleanup_(kek_freep) Kek *kek = NULL;
        _cleanup_free_ char *reason = NULL, *path = NULL;
        _cleanup_free_ uint8_t *wrapped = NULL;
        KeyEnvelope e = {};
        size_t n;
        int r;

        if (isatty(STDIN_FILENO))
                return cli_usage_error("key wrap: refusing to read a key from a terminal; pipe or redirect it in");
        r = secret_read_fd(STDIN_FILENO, KEYWRAP_KEY_MAX, &key);
        if (r == -ENODATA)
                return cli_error(EXIT_USAGE, "key wrap: no key on standard input");
        if (r == -EFBIG)
                return cli_error(EXIT_USAGE, "key wrap: the key on standard input is longer than %u bytes",
                                 KEYWRAP_KEY_MAX);
        if (r < 0)
                return cli_error(EXIT_USAGE, "key wrap: cannot read standard input: %s", strerror(-r));

        r = kek_open(a->kek, &kek, &reason);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "key wrap: cannot use KEK: %s", reason ? reason : strerror(-r));
        r = kek_wrap(kek, key, &wrapped, &n);
        if (r == -EPERM)
                return cli_error(EXIT_REJECTED, "key wrap: the KEK may not wrap (CKA_WRAP is false)");
        if (r == -EPROTO)
                return cli_error(EXIT_REJECTED, "key wrap: the token's key wrap is not RFC 5649 for a key of %zu "
                                 "bytes (SoftHSM2 2.6 zero-pads keys to a multiple of 8 bytes first); refusing to "
                                 "store it: use a key whose length is a multiple of 8", secret_size(key));
        if (r < 0)
                return cli_error(EXIT_REJECTED, "key wrap: wrapping failed: %s", strerror(-r));

        e = (KeyEnvelope) {
                .kid = (char *) a->kid,
                .kek = (char *) kek_reference(kek),
                .alg = (char *) kek_alg(kek),
                .wrapped = wrapped,
                .wrapped_size = n,
                .install = *install,
        };
        free(reason);
        reason = NULL;
        r = keystore_write_full(a->dir, &e, a->force, &reason);
        if (r == -EEXIST)
                return cli_error(EXIT_REJECTED, "key wrap: key '%s' exists already in %s (use --force to replace it)",
                                 a->kid, keystore_dir(a->dir));
        if (r < 0)
                return cli_error(EXIT_REJECTED, "key wrap: cannot write the envelope to %s: %s", keystore_dir(a->dir),
                                 reason ? reason : strerror(-r));
        r = keystore_path(a->dir, a->kid, &path);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();

                if (!o)
                        return cli_error(EXIT_REJECTED, "out of memory");
                json_object_object_add(o, "ok", json_object_new_boolean(true));
                json_object_object_add(o, "kid", json_object_new_string(a->kid));
                json_object_object_add(o, "kek", json_object_new_string(kek_reference(kek)));
                json_object_object_add(o, "alg", json_object_new_string(kek_alg(kek)));
                json_object_object_add(o, "path", json_object_new_string(path));
                if (install->target != KEY_TARGET_DEFAULT)
                        json_object_object_add(o, "install", install_json(install));
                if (cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write to standard output");
        } else
                printf("%s\n", path);
        return EXIT_ACCEPTED;
}

typedef struct Row {
        const char *kid;
        KeyEnvelope e;
        int r;
        char *reason;
} Row;

static void rows_free(Row *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                key_envelope_done(&rows[i].e);
                free(rows[i].reason);
        }
        free(rows);
}

static json_object *row_json(const Row *row, const char *dir, bool check, int check_r, const char *check_reason) {
        json_object *o = json_object_new_object();
        _cleanup_free_ char *path = NULL;

        if (!o)
                return NULL;
        (void) keystore_path(dir, row->kid, &path);
        json_object_object_add(o, "kid", json_object_new_string(row->kid));
        json_object_object_add(o, "path", path ? json_object_new_string(path) : NULL);
        if (row->r >= 0) {
                json_object_object_add(o, "kek", json_object_new_string(row->e.kek));
                json_object_object_add(o, "alg", json_object_new_string(row->e.alg));
                json_object_object_add(o, "wrapped_size", json_object_new_int64((int64_t) row->e.wrapped_size));
                json_object_object_add(o, "install", install_json(&row->e.install));
        }
        json_object_object_add(o, "valid", json_object_new_boolean(row->r >= 0));
        if (row->r < 0)
                json_object_object_add(o, "error",
                                       json_object_new_string(row->reason ? row->reason : strerror(-row->r)));
        if (check) {
                json_object_object_add(o, "unwraps", json_object_new_boolean(row->r >= 0 && check_r >= 0));
                if (row->r >= 0 && check_r < 0)
                        json_object_object_add(o, "error", json_object_new_string(check_reason ? check_reason : "?"));
        }
        return o;
}

static int key_list(const Args *a, bool check, int n_ids, char **ids) {
        _cleanup_(json_object_putp) json_object *arr = NULL;
        char **kids = NULL;
        size_t n = 0;
        Row *rows;
        int r, ret = EXIT_ACCEPTED;

        if (n_ids > 0) {
                kids = calloc((size_t) n_ids, sizeof(char *));
                if (!kids)
                        return cli_error(EXIT_REJECTED, "out of memory");
                for (int i = 0; i < n_ids; i++) {
                        if (!key_id_is_valid(ids[i])) {
                                keystore_list_free(kids, n);
                                return cli_usage_error("key check: '%s' is not a valid key ID", ids[i]);
                        }
                        kids[n] = strdup(ids[i]);
                        if (!kids[n++]) {
                                keystore_list_free(kids, n);
                                return cli_error(EXIT_REJECTED, "out of memory");
                        }
                }
        } else {
                r = keystore_list(a->dir, &kids, &n);
                if (r < 0)
                        return cli_error(EXIT_REJECTED, "cannot list %s: %s", keystore_dir(a->dir), strerror(-r));
        }
        rows = calloc(n ? n : 1, sizeof(Row));
        if (!rows) {
                keystore_list_free(kids, n);
                return cli_error(EXIT_REJECTED, "out of memory");
        }
        if (a->json && !(arr = json_object_new_array())) {
                rows_free(rows, n), keystore_list_free(kids, n);
                return cli_error(EXIT_REJECTED, "out of memory");
        }
        if (!a->json && n > 0)
                printf("%-32s %-8s %s\n", "KID", "ALG", check ? "KEK / CHECK" : "KEK");

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *check_reason = NULL;
                int check_r = 0;

                rows[i].kid = kids[i];
                rows[i].r = keystore_read(a->dir, kids[i], &rows[i].e, &rows[i].reason);
                if (rows[i].r < 0)
                        ret = EXIT_REJECTED;
                if (check && rows[i].r >= 0) {
                        _cleanup_(secret_freep) Secret *key = NULL;
                        check_r = kek_unwrap_envelope(&rows[i].e, NULL, &key, &check_reason);
                        if (check_r < 0)
                                ret = EXIT_REJECTED;
                }
                if (a->json) {
                        json_object *o = row_json(&rows[i], keystore_dir(a->dir), check, check_r, check_reason);
                        if (!o || json_object_array_add(arr, o) < 0) {
                                json_object_put(o);
                                ret = EXIT_REJECTED;
                        }
                } else if (rows[i].r < 0)
                        printf("%-32s %-8s invalid envelope: %s\n", kids[i], "-",
                               rows[i].reason ? rows[i].reason : strerror(-rows[i].r));
                else if (check)
                        printf("%-32s %-8s %s: %s\n", kids[i], rows[i].e.alg, rows[i].e.kek,
                               check_r >= 0 ? "ok" : check_reason ? check_reason : strerror(-check_r));
                else
                        printf("%-32s %-8s %s\n", kids[i], rows[i].e.alg, rows[i].e.kek);
        }
        if (a->json) {
                /* one object, like every verb: {"ok", "keys_dir", "keys": [...]} */
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();

                if (o) {
                        json_object_object_add(o, "ok", json_object_new_boolean(ret == EXIT_ACCEPTED));
                        json_object_object_add(o, "keys_dir", json_object_new_string(keystore_dir(a->dir)));
                        json_object_object_add(o, "keys", json_object_get(arr));
                }
                if (!o || cli_print_json(o, true) < 0)
                        ret = EXIT_REJECTED;
        } else if (n == 0)
                fprintf(stderr, "cvmctl: no keys in %s\n", keystore_dir(a->dir));
        rows_free(rows, n);
        keystore_list_free(kids, n);
        return ret;
}

int verb_key(int argc, char *argv[]) {
        Args a = {};
        bool want_help;
        const char *sub;
        int r;

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                if (argc >= 2) {
                        help();
                        return EXIT_ACCEPTED;
                }
                return cli_usage_error("key: missing command (wrap, list or check)");
        }
        sub = argv[1];
        cli_set_verb(streq(sub, "wrap") ? "key wrap" : streq(sub, "list") ? "key list" : streq(sub, "check") ? "key check" : "key");
        if (!streq(sub, "wrap") && !streq(sub, "list") && !streq(sub, "check"))
                return cli_usage_error("key: unknown command '%s' (wrap, list or check)", sub);

        secret_init(); /* the secure heap for the key and the KEK; failure falls back to locked mappings */
        optind = 0;
        r = parse_args(argc - 1, argv + 1, &a, &want_help);
        if (r != 0)
                return r;
        if (want_help) {
                help();
                return EXIT_ACCEPTED;
        }
        if (streq(sub, "wrap")) {
                if (optind < argc - 1)
                        return cli_usage_error("key wrap: unexpected argument '%s'", argv[1 + optind]);
                if (!a.kek)
                        return cli_usage_error("key wrap: --kek URI is required");
                if (!a.kid)
                        return cli_usage_error("key wrap: --kid ID is required");
                if (!key_id_is_valid(a.kid))
                        return cli_usage_error("key wrap: '%s' is not a valid key ID (" KEY_ID_GRAMMAR ")", a.kid);
                {
                        KeyInstall install;
                        r = install_from_args(&a, &install);
                        if (r != 0)
                                return r;
                        return key_wrap(&a, &install);
                }
        }
        if (a.kek || a.kid || a.force || has_install_options(&a))
                return cli_usage_error("key %s: --kek, --kid, --force and the install options are for 'key wrap'", sub);
        if (streq(sub, "list")) {
                if (optind < argc - 1)
                        return cli_usage_error("key list: unexpected argument '%s'", argv[1 + optind]);
                return key_list(&a, false, 0, NULL);
        }
        return key_list(&a, true, argc - 1 - optind, argv + 1 + optind);
}
