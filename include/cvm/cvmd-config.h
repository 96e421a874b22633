/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cvmd's configuration (man/cvmd.conf.5): systemd-style INI read from <dir>/cvmd.conf, then
 * every <dir>/cvmd.conf.d/NAME.conf in lexical order, a later assignment overriding an earlier one.
 * Unknown sections and keys are warnings; a malformed file or an invalid value is fatal, with a
 * reason naming the file, the line and the key. Nothing here logs: the daemon decides what to
 * say. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cvm/macro.h"

#define CVMD_CONFIG_DIR_DEFAULT "/etc/cvmd"
/* Bounds on what is read: one file, one line, the number of drop-ins. */
#define CVMD_CONFIG_FILE_MAX    (64u * 1024u)
#define CVMD_CONFIG_LINE_MAX    4096u
#define CVMD_CONFIG_DROPINS_MAX 256u

/* [HTTP] Listen=: a numeric IPv4 or IPv6 address and port, or disabled ("no"). */
typedef struct CvmdListen {
        bool enabled;
        bool loopback;
        char address[64]; /* normalised: "127.0.0.1:9464", "[::1]:9464"; "" when disabled */
        struct sockaddr_storage sockaddr;
        socklen_t sockaddr_len;
} CvmdListen;

typedef struct CvmdConfig {
        /* [Daemon] */
        char *libvirt_uri;
        char *state_directory;
        char *cache_directory;
        char *keys_directory; /* default: <state_directory>/keys */
        char *policies_directory;
        unsigned vsock_port;
        unsigned boot_timeout_sec;
        unsigned attest_timeout_sec; /* per guest message */
        unsigned max_concurrent_launches;
        unsigned max_vms;
        /* [HTTP] */
        CvmdListen http_listen;
        bool http_allow_non_loopback;
        /* [Tokens] */
        unsigned token_lifetime_sec;
        unsigned token_rotate_sec;
        /* [Collateral] */
        bool collateral_offline;
        char *kds_url;
        char *pccs_url;                   /* Intel PCS, or a PCCS when it is another URL */
        char *nvidia_rim_url;             /* NVIDIA's RIM service, for the GPUs' RIMs */
        char *nvidia_ocsp_url;            /* NVIDIA's OCSP responder, for the GPU and RIM chains */
        char *collateral_cache_directory; /* default: cache_directory */
        unsigned collateral_refresh_sec;  /* fetch anew what expires within this; 0: only once expired */
        unsigned collateral_timeout_sec;  /* each HTTP request */
} CvmdConfig;

/* Reads the configuration under config_dir (NULL: CVMD_CONFIG_DIR_DEFAULT). A missing cvmd.conf
 * or cvmd.conf.d is not an error: every key has a default. On success *ret is the configuration
 * and *ret_warnings (when not NULL) a NULL-terminated list, NULL when there is nothing to say
 * ("/etc/cvmd/cvmd.conf:3: unknown key [Daemon] Foo, ignoring"). On failure returns a negative
 * errno (-EINVAL for a bad file or value) and a malloc'ed reason
 * ("/etc/cvmd/cvmd.conf:12: [HTTP] Listen: ..."); the out-parameters are left untouched. */
int cvmd_config_load(const char *config_dir, CvmdConfig **ret, char **ret_reason, char ***ret_warnings);

/* The same for one file's text, named `name` in messages, on top of the defaults: for tests and
 * the fuzzer. The text need not be NUL-terminated. */
int cvmd_config_parse(const char *name, const char *text, size_t size, CvmdConfig **ret, char **ret_reason,
                      char ***ret_warnings);

/* Every default, as with no configuration files at all; NULL on OOM. */
CvmdConfig *cvmd_config_new(void);
CvmdConfig *cvmd_config_free(CvmdConfig *c);
DEFINE_CLEANUP(CvmdConfig *, cvmd_config_free)

/* Frees a NULL-terminated warning list from cvmd_config_load(). */
char **cvmd_config_warnings_free(char **l);
DEFINE_CLEANUP(char **, cvmd_config_warnings_free)
