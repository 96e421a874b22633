/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd.conf: the documented defaults, drop-in order, empty values restoring defaults, every
 * fatal value with its exact file:line: [Section] Key: message, the bounded reader (NUL,
 * control characters, UTF-8, line and file size, FIFOs, masking), and warnings for what is
 * unknown. Each test works in its own temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/cvmd-config.h"
#include "cvm/util.h"
#include "../common/test-dir.h"

#define ETC "/etc/cvmd/cvmd.conf"

/* ---- helpers ---- */

static CvmdConfig *load_ok(const char *dir, char ***ret_warnings) {
        CvmdConfig *c = NULL;
        _cleanup_free_ char *reason = NULL;
        int r = cvmd_config_load(dir, &c, &reason, ret_warnings);

        if (r < 0)
                fail_msg("cvmd_config_load(%s): %d %s", dir, r, reason ?: "(no reason)");
        assert_null(reason);
        assert_non_null(c);
        return c;
}

/* Loading fails with exactly this reason (with DIR standing for the directory), out-parameters
 * untouched. */
static void load_fails(const char *dir, const char *want) {
        CvmdConfig *sentinel = (CvmdConfig *) 0x1, *c = sentinel;
        char **w_sentinel = (char **) 0x1, **w = w_sentinel;
        _cleanup_free_ char *reason = NULL, *expect = NULL;
        const char *at = strstr(want, "DIR");

        expect = at ? strdup_printf("%.*s%s%s", (int) (at - want), want, dir, at + 3) : strdup(want);
        assert_non_null(expect);
        assert_true(cvmd_config_load(dir, &c, &reason, &w) < 0);
        assert_ptr_equal(c, sentinel);
        assert_ptr_equal(w, w_sentinel);
        assert_non_null(reason);
        assert_string_equal(reason, expect);
}

static CvmdConfig *parse_ok(const char *text) {
        CvmdConfig *c = NULL;
        _cleanup_free_ char *reason = NULL;
        int r = cvmd_config_parse(ETC, text, strlen(text), &c, &reason, NULL);

        if (r < 0)
                fail_msg("cvmd_config_parse(%s): %d %s", text, r, reason ?: "(no reason)");
        assert_non_null(c);
        return c;
}

static void parse_fails_n(const char *text, size_t size, const char *want) {
        CvmdConfig *sentinel = (CvmdConfig *) 0x1, *c = sentinel;
        _cleanup_free_ char *reason = NULL;

        assert_true(cvmd_config_parse(ETC, text, size, &c, &reason, NULL) < 0);
        assert_ptr_equal(c, sentinel);
        assert_non_null(reason);
        assert_string_equal(reason, want);
}

static void parse_fails(const char *text, const char *want) {
        parse_fails_n(text, strlen(text), want);
}

/* got == dir followed by rest. */
static void assert_dir_message(const char *got, const char *dir, const char *rest) {
        _cleanup_free_ char *want = strdup_printf("%s%s", dir, rest);

        assert_non_null(got);
        assert_string_equal(got, want);
}

static size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

/* ---- defaults ---- */

static void assert_defaults(const CvmdConfig *c) {
        assert_string_equal(c->libvirt_uri, "qemu:///system");
        assert_string_equal(c->state_directory, "/var/lib/cvmd");
        assert_string_equal(c->cache_directory, "/var/cache/cvmd");
        assert_string_equal(c->keys_directory, "/var/lib/cvmd/keys");
        assert_string_equal(c->policies_directory, "/etc/cvmd/policies");
        assert_int_equal(c->vsock_port, 4050);
        assert_int_equal(c->boot_timeout_sec, 120);
        assert_int_equal(c->attest_timeout_sec, 30);
        assert_int_equal(c->max_concurrent_launches, 16);
        assert_int_equal(c->max_vms, 1024);
        assert_true(c->http_listen.enabled);
        assert_true(c->http_listen.loopback);
        assert_string_equal(c->http_listen.address, "127.0.0.1:9464");
        assert_int_equal(c->http_listen.sockaddr.ss_family, AF_INET);
        assert_false(c->http_allow_non_loopback);
        assert_int_equal(c->token_lifetime_sec, 1800);
        assert_int_equal(c->token_rotate_sec, 2592000);
        assert_false(c->collateral_offline);
        assert_string_equal(c->kds_url, "https://kdsintf.amd.com");
        assert_string_equal(c->pccs_url, "https://api.trustedservices.intel.com");
        assert_string_equal(c->nvidia_rim_url, "https://rim.attestation.nvidia.com");
        assert_string_equal(c->nvidia_ocsp_url, "https://ocsp.ndis.nvidia.com");
        assert_string_equal(c->collateral_cache_directory, "/var/cache/cvmd");
        assert_int_equal(c->collateral_refresh_sec, 86400);
        assert_int_equal(c->collateral_timeout_sec, 30);
}

static void test_defaults_no_files(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL, *missing = NULL, *fresh = NULL;
        _cleanup_(cvmd_config_warnings_freep) char **w = NULL;
        _cleanup_free_ char *gone = strdup_printf("%s/does-not-exist", (char *) *state);

        c = load_ok(*state, &w);
        assert_defaults(c);
        assert_null(w);

        /* A configuration directory that does not exist reads as empty, too. */
        missing = load_ok(gone, NULL);
        assert_defaults(missing);

        fresh = cvmd_config_new();
        assert_non_null(fresh);
        assert_null(fresh->keys_directory); /* derived only once StateDirectory is final */
        fresh->keys_directory = strdup("/var/lib/cvmd/keys");
        assert_null(fresh->collateral_cache_directory); /* likewise: [Daemon] CacheDirectory's */
        fresh->collateral_cache_directory = strdup("/var/cache/cvmd");
        assert_defaults(fresh);
}

/* examples/cvmd.conf shows every key with its default, commented out: uncommented, it must
 * parse, warn about nothing and give exactly the defaults. */
static void test_example_is_the_defaults(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;
        _cleanup_(cvmd_config_warnings_freep) char **w = NULL;
        _cleanup_free_ uint8_t *text = NULL;
        _cleanup_free_ char *reason = NULL;
        size_t size, keys = 0;

        if (read_file_bounded("examples/cvmd.conf", CVMD_CONFIG_FILE_MAX, &text, &size) < 0) {
                print_message("examples/cvmd.conf not found (not run from the source tree)\n");
                skip();
        }
        for (size_t i = 0; i + 1 < size; i++)
                if (text[i] == '#' && (i == 0 || text[i - 1] == '\n') && text[i + 1] >= 'A' && text[i + 1] <= 'Z') {
                        text[i] = ' ';
                        keys++;
                }
        assert_int_equal(keys, 22);
        assert_int_equal(cvmd_config_parse("examples/cvmd.conf", (char *) text, size, &c, &reason, &w), 0);
        assert_null(w);
        assert_defaults(c);
}

static void test_comments_and_whitespace(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;

        c = parse_ok("\xef\xbb\xbf# a comment\n"
                     "; another\n"
                     "\n"
                     "  [Daemon]  \r\n"
                     "\tVsockPort =  5000\t\r\n"
                     "LibvirtURI=test:///default\n"
                     "StateDirectory=/srv/cvmd//\n"
                     "[Collateral]\n"
                     "KdsURL=http://kds.example:8080/\n"
                     "NvidiaRimURL=http://127.0.0.1:8000\n"
                     "NvidiaOcspURL=http://127.0.0.1:8000/ocsp\n"
                     "Offline=true"); /* no newline at the end */
        assert_int_equal(c->vsock_port, 5000);
        assert_string_equal(c->libvirt_uri, "test:///default");
        assert_string_equal(c->state_directory, "/srv/cvmd");
        assert_string_equal(c->keys_directory, "/srv/cvmd/keys");
        assert_string_equal(c->kds_url, "http://kds.example:8080");
        assert_string_equal(c->nvidia_rim_url, "http://127.0.0.1:8000");
        assert_string_equal(c->nvidia_ocsp_url, "http://127.0.0.1:8000/ocsp");
        assert_true(c->collateral_offline);
}

/* The collateral cache follows [Daemon] CacheDirectory unless [Collateral] names its own. */
static void test_collateral_settings(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL, *own = NULL;

        c = parse_ok("[Daemon]\nCacheDirectory=/srv/cache\n[Collateral]\nRefreshBeforeSec=0\nTimeoutSec=5\n");
        assert_string_equal(c->collateral_cache_directory, "/srv/cache");
        assert_int_equal(c->collateral_refresh_sec, 0);
        assert_int_equal(c->collateral_timeout_sec, 5);
        own = parse_ok("[Collateral]\nCacheDirectory=/srv/collateral\n[Daemon]\nCacheDirectory=/srv/cache\n");
        assert_string_equal(own->collateral_cache_directory, "/srv/collateral");
        assert_string_equal(own->cache_directory, "/srv/cache");
}

/* ---- drop-ins ---- */

static void test_dropin_order(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;
        _cleanup_(cvmd_config_warnings_freep) char **w = NULL;
        const char *dir = *state;

        test_dir_write(dir, "cvmd.conf",
                 "[Daemon]\nVsockPort=1000\nMaxVMs=10\nBootTimeoutSec=60\nKeysDirectory=/k\n"
                 "[Tokens]\nLifetimeSec=600\n");
        /* Byte order, not numeric or locale order: "10-" < "9-" < "a" < "b". */
        test_dir_write(dir, "cvmd.conf.d/b.conf", "[Daemon]\nVsockPort=4000\n");
        test_dir_write(dir, "cvmd.conf.d/a.conf", "[Daemon]\nVsockPort=3000\nMaxVMs=30\n");
        test_dir_write(dir, "cvmd.conf.d/9-x.conf", "[Daemon]\nVsockPort=2000\nMaxVMs=20\nMaxConcurrentLaunches=2\n");
        test_dir_write(dir, "cvmd.conf.d/10-x.conf", "[Daemon]\nVsockPort=1500\nMaxConcurrentLaunches=1\n");
        /* An empty value puts the default back. */
        test_dir_write(dir, "cvmd.conf.d/c.conf", "[Daemon]\nBootTimeoutSec=\nKeysDirectory=\n");
        /* Not drop-ins: wrong suffix, hidden, a backup. */
        test_dir_write(dir, "cvmd.conf.d/z.conf.bak", "[Daemon]\nVsockPort=9\n");
        test_dir_write(dir, "cvmd.conf.d/.z.conf", "[Daemon]\nVsockPort=9\n");
        test_dir_write(dir, "cvmd.conf.d/zz.txt", "garbage\n");

        c = load_ok(dir, &w);
        assert_null(w);
        assert_int_equal(c->vsock_port, 4000);
        assert_int_equal(c->max_vms, 30);
        assert_int_equal(c->max_concurrent_launches, 2);
        assert_int_equal(c->boot_timeout_sec, 120);
        assert_string_equal(c->keys_directory, "/var/lib/cvmd/keys");
        assert_int_equal(c->token_lifetime_sec, 600);
}

static void test_dropin_masked_and_special(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;
        _cleanup_free_ char *link = NULL, *fifo = NULL, *sub = NULL;
        const char *dir = *state;

        test_dir_write(dir, "cvmd.conf.d/50-port.conf", "[Daemon]\nVsockPort=7\n");
        link = strdup_printf("%s/cvmd.conf.d/50-port.conf", dir);
        assert_int_equal(unlink(link), 0);
        /* Masked, as in systemd: a symlink to /dev/null. */
        assert_int_equal(symlink("/dev/null", link), 0);
        c = load_ok(dir, NULL);
        assert_int_equal(c->vsock_port, 4050);

        /* A FIFO is refused, not opened for a read that would never return. */
        fifo = strdup_printf("%s/cvmd.conf.d/60-fifo.conf", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        load_fails(dir, "DIR/cvmd.conf.d/60-fifo.conf: not a regular file");
        assert_int_equal(unlink(fifo), 0);

        sub = strdup_printf("%s/cvmd.conf.d/70-dir.conf", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        load_fails(dir, "DIR/cvmd.conf.d/70-dir.conf: not a regular file");
}

/* A broken drop-in is named by its own path and line. */
static void test_dropin_error_names_file(void **state) {
        const char *dir = *state;

        test_dir_write(dir, "cvmd.conf", "[HTTP]\nListen=127.0.0.1:9000\n");
        test_dir_write(dir, "cvmd.conf.d/20-http.conf", "# open it up\n[HTTP]\nListen=0.0.0.0:9464\n");
        load_fails(dir, "DIR/cvmd.conf.d/20-http.conf:3: [HTTP] Listen: 0.0.0.0:9464 is not a loopback address "
                        "(AllowNonLoopback=yes allows it)");

        /* Allowed by a later drop-in. */
        test_dir_write(dir, "cvmd.conf.d/30-allow.conf", "[HTTP]\nAllowNonLoopback=yes\n");
        {
                _cleanup_(cvmd_config_freep) CvmdConfig *c = load_ok(dir, NULL);
                assert_true(c->http_listen.enabled);
                assert_false(c->http_listen.loopback);
                assert_string_equal(c->http_listen.address, "0.0.0.0:9464");
        }

        /* ... and the main file's line is named when the main file is at fault. */
        test_dir_write(dir, "cvmd.conf", "[Daemon]\n\n\nPoliciesDirectory=etc/cvmd/policies\n");
        load_fails(dir, "DIR/cvmd.conf:4: [Daemon] PoliciesDirectory: \"etc/cvmd/policies\" is not an absolute "
                        "path");
}

/* "DIR//" names its files "DIR/cvmd.conf". */
static void test_trailing_slash_dir(void **state) {
        CvmdConfig *c = NULL;
        _cleanup_free_ char *slashed = strdup_printf("%s//", (char *) *state), *reason = NULL,
                            *want = strdup_printf("%s/cvmd.conf:2: [Daemon] MaxVMs: 0 is out of range (1..65536)",
                                                  (char *) *state);

        test_dir_write(*state, "cvmd.conf", "[Daemon]\nMaxVMs=0\n");
        assert_int_equal(cvmd_config_load(slashed, &c, &reason, NULL), -EINVAL);
        assert_null(c);
        assert_string_equal(reason, want);
}

/* ---- values ---- */

static void test_fatal_values(void **state) {
        static const struct {
                const char *text, *want;
        } cases[] = {
                {"[HTTP]\nListen=0.0.0.0:9464\n",
                 ETC ":2: [HTTP] Listen: 0.0.0.0:9464 is not a loopback address (AllowNonLoopback=yes allows it)"},
                {"[HTTP]\nAllowNonLoopback=no\nListen=[::]:80\n",
                 ETC ":3: [HTTP] Listen: [::]:80 is not a loopback address (AllowNonLoopback=yes allows it)"},
                {"[HTTP]\nListen=[::ffff:10.0.0.1]:80\n",
                 ETC ":2: [HTTP] Listen: [::ffff:10.0.0.1]:80 is not a loopback address (AllowNonLoopback=yes "
                     "allows it)"},
                {"[HTTP]\nListen=localhost:9464\n",
                 ETC ":2: [HTTP] Listen: \"localhost\" is not a numeric IPv4 address (IPv6: [ADDRESS]:PORT)"},
                {"[HTTP]\nListen=127.1:9464\n",
                 ETC ":2: [HTTP] Listen: \"127.1\" is not a numeric IPv4 address (IPv6: [ADDRESS]:PORT)"},
                {"[HTTP]\nListen=::1:9464\n",
                 ETC ":2: [HTTP] Listen: \"::1\" is not a numeric IPv4 address (IPv6: [ADDRESS]:PORT)"},
                {"[HTTP]\nListen=127.0.0.1\n", ETC ":2: [HTTP] Listen: \"127.0.0.1\" is not ADDRESS:PORT or \"no\""},
                {"[HTTP]\nListen=127.0.0.1:0\n",
                 ETC ":2: [HTTP] Listen: \"127.0.0.1:0\" does not end in a port between 1 and 65535"},
                {"[HTTP]\nListen=127.0.0.1:65536\n",
                 ETC ":2: [HTTP] Listen: \"127.0.0.1:65536\" does not end in a port between 1 and 65535"},
                {"[HTTP]\nListen=[::1:9464\n", ETC ":2: [HTTP] Listen: \"[::1:9464\" is not [IPV6]:PORT"},
                {"[HTTP]\nListen=off\n", ETC ":2: [HTTP] Listen: \"off\" is not ADDRESS:PORT or \"no\""},
                {"[HTTP]\nAllowNonLoopback=Yes\n",
                 ETC ":2: [HTTP] AllowNonLoopback: \"Yes\" is not a boolean (yes/no, true/false, on/off, 1/0)"},
                {"[Collateral]\nOffline=y\n",
                 ETC ":2: [Collateral] Offline: \"y\" is not a boolean (yes/no, true/false, on/off, 1/0)"},
                {"[Daemon]\nStateDirectory=var/lib/cvmd\n",
                 ETC ":2: [Daemon] StateDirectory: \"var/lib/cvmd\" is not an absolute path"},
                {"[Daemon]\nCacheDirectory=/var/cache/../../tmp\n",
                 ETC ":2: [Daemon] CacheDirectory: \"/var/cache/../../tmp\" has a \".\" or \"..\" component"},
                {"[Daemon]\nKeysDirectory=/var/./keys\n",
                 ETC ":2: [Daemon] KeysDirectory: \"/var/./keys\" has a \".\" or \"..\" component"},
                {"[Daemon]\nVsockPort=0\n", ETC ":2: [Daemon] VsockPort: 0 is out of range (1..65535)"},
                {"[Daemon]\nVsockPort=65536\n", ETC ":2: [Daemon] VsockPort: 65536 is out of range (1..65535)"},
                {"[Daemon]\nVsockPort=-1\n", ETC ":2: [Daemon] VsockPort: \"-1\" is not a number between 1 and 65535"},
                {"[Daemon]\nVsockPort=0x10\n",
                 ETC ":2: [Daemon] VsockPort: \"0x10\" is not a number between 1 and 65535"},
                {"[Daemon]\nVsockPort=010\n",
                 ETC ":2: [Daemon] VsockPort: \"010\" is not a number between 1 and 65535"},
                {"[Daemon]\nVsockPort=4050 # port\n",
                 ETC ":2: [Daemon] VsockPort: \"4050 # port\" is not a number between 1 and 65535"},
                {"[Daemon]\nBootTimeoutSec=99999999999\n",
                 ETC ":2: [Daemon] BootTimeoutSec: \"99999999999\" is not a number between 1 and 3600"},
                {"[Daemon]\nBootTimeoutSec=3601\n", ETC ":2: [Daemon] BootTimeoutSec: 3601 is out of range (1..3600)"},
                {"[Daemon]\nAttestTimeoutSec=0\n", ETC ":2: [Daemon] AttestTimeoutSec: 0 is out of range (1..600)"},
                {"[Daemon]\nMaxConcurrentLaunches=5000\n",
                 ETC ":2: [Daemon] MaxConcurrentLaunches: 5000 is out of range (1..1024)"},
                {"[Daemon]\nMaxVMs=1e3\n", ETC ":2: [Daemon] MaxVMs: \"1e3\" is not a number between 1 and 65536"},
                {"[Tokens]\nLifetimeSec=59\n", ETC ":2: [Tokens] LifetimeSec: 59 is out of range (60..86400)"},
                {"[Tokens]\nRotateSec=3600\nLifetimeSec=7200\n",
                 ETC ":2: [Tokens] RotateSec: RotateSec=3600 is shorter than LifetimeSec=7200"},
                {"[Daemon]\nLibvirtURI=system\n",
                 ETC ":2: [Daemon] LibvirtURI: \"system\" is not a URI (driver:///path, e.g. qemu:///system)"},
                {"[Daemon]\nLibvirtURI=Qemu:///system\n",
                 ETC ":2: [Daemon] LibvirtURI: \"Qemu:///system\" is not a URI (driver:///path, e.g. "
                     "qemu:///system)"},
                {"[Daemon]\nLibvirtURI=qemu:///system ro\n",
                 ETC ":2: [Daemon] LibvirtURI: \"qemu:///system ro\" contains a space or a control character"},
                {"[Collateral]\nKdsURL=ftp://kds\n",
                 ETC ":2: [Collateral] KdsURL: \"ftp://kds\" is not an http:// or https:// URL"},
                {"[Collateral]\nPccsURL=https:///path\n",
                 ETC ":2: [Collateral] PccsURL: \"https:///path\" has no host"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                parse_fails(cases[i].text, cases[i].want);
}

/* The RotateSec/LifetimeSec check runs once everything is read, so the order of the two lines
 * does not matter; the message names where RotateSec was set. */
static void test_rotate_vs_lifetime(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;

        parse_fails("[Tokens]\n\nLifetimeSec=7200\nRotateSec=3600\n",
                    ETC ":4: [Tokens] RotateSec: RotateSec=3600 is shorter than LifetimeSec=7200");
        c = parse_ok("[Tokens]\nRotateSec=7200\nLifetimeSec=7200\n");
        assert_int_equal(c->token_rotate_sec, 7200);
}

static void test_good_values(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *a = NULL, *b = NULL, *d = NULL, *e = NULL;

        a = parse_ok("[HTTP]\nListen=no\n");
        assert_false(a->http_listen.enabled);
        assert_string_equal(a->http_listen.address, "");

        b = parse_ok("[HTTP]\nListen=[::1]:9100\n");
        assert_true(b->http_listen.enabled);
        assert_true(b->http_listen.loopback);
        assert_string_equal(b->http_listen.address, "[::1]:9100");
        assert_int_equal(b->http_listen.sockaddr.ss_family, AF_INET6);
        assert_int_equal(b->http_listen.sockaddr_len, sizeof(struct sockaddr_in6));

        d = parse_ok("[HTTP]\nListen=127.8.9.10:65535\n[Daemon]\nVsockPort=65535\nMaxVMs=65536\n"
                     "[Collateral]\nOffline=on\nPccsURL=https://pccs.local:8081/sgx/certification/v4\n");
        assert_true(d->http_listen.loopback);
        assert_string_equal(d->http_listen.address, "127.8.9.10:65535");
        assert_int_equal(d->vsock_port, 65535);
        assert_int_equal(d->max_vms, 65536);
        assert_true(d->collateral_offline);
        assert_string_equal(d->pccs_url, "https://pccs.local:8081/sgx/certification/v4");

        /* Later lines win within one file too. */
        e = parse_ok("[Daemon]\nMaxVMs=1\nMaxVMs=2\n[HTTP]\nListen=[::ffff:127.0.0.1]:1\n");
        assert_int_equal(e->max_vms, 2);
        assert_true(e->http_listen.loopback);
}

/* ---- the reader ---- */

static void test_syntax_errors(void **state) {
        _cleanup_free_ char *long_line = NULL, *big = NULL;

        parse_fails("[Daemon]\nVsockPort\n", ETC ":2: neither a [Section] nor a Key=Value line");
        parse_fails("[Daemon]\n=5\n", ETC ":2: no key before '='");
        parse_fails("[Daemon\n", ETC ":1: malformed section header");
        parse_fails("[]\n", ETC ":1: malformed section header");
        parse_fails("[Dae mon]\n", ETC ":1: malformed section header");
        parse_fails_n("[Daemon]\nVsockPort=40\0"
                      "50\n",
                      22, ETC ":2: NUL byte");
        parse_fails("[Daemon]\nLibvirtURI=qemu:///sys\x1btem\n", ETC ":2: control character");
        parse_fails("[Daemon]\rVsockPort=1\n", ETC ":1: control character");
        parse_fails("# caf\xc3\n", ETC ":1: invalid UTF-8");
        parse_fails("# \xc0\xaf\n", ETC ":1: invalid UTF-8");     /* overlong '/' */
        parse_fails("# \xed\xa0\x80\n", ETC ":1: invalid UTF-8"); /* a surrogate */
        parse_fails("# \xf4\x90\x80\x80\n", ETC ":1: invalid UTF-8");

        long_line = malloc(CVMD_CONFIG_LINE_MAX + 3);
        assert_non_null(long_line);
        memset(long_line, '#', CVMD_CONFIG_LINE_MAX + 1);
        strcpy(long_line + CVMD_CONFIG_LINE_MAX + 1, "\n");
        parse_fails(long_line, ETC ":1: line longer than 4096 bytes");
        long_line[CVMD_CONFIG_LINE_MAX] = '\n';
        long_line[CVMD_CONFIG_LINE_MAX + 1] = 0;
        { _cleanup_(cvmd_config_freep) CvmdConfig *c = parse_ok(long_line); }

        big = malloc(CVMD_CONFIG_FILE_MAX + 2);
        assert_non_null(big);
        memset(big, '\n', CVMD_CONFIG_FILE_MAX + 1);
        big[CVMD_CONFIG_FILE_MAX + 1] = 0;
        parse_fails(big, ETC ": larger than the maximum of 65536 bytes");
}

static void test_file_too_big(void **state) {
        _cleanup_free_ char *big = malloc(CVMD_CONFIG_FILE_MAX + 2);

        assert_non_null(big);
        memset(big, '#', CVMD_CONFIG_FILE_MAX + 1);
        for (size_t i = 100; i < CVMD_CONFIG_FILE_MAX; i += 100)
                big[i] = '\n';
        big[CVMD_CONFIG_FILE_MAX + 1] = 0;
        test_dir_write(*state, "cvmd.conf", big);
        load_fails(*state, "DIR/cvmd.conf: larger than the maximum of 65536 bytes");
}

static void test_utf8_accepted(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;

        c = parse_ok("# Grüße — 設定 🔒\n[Daemon]\nStateDirectory=/srv/état\n");
        assert_string_equal(c->state_directory, "/srv/état");
}

/* ---- warnings ---- */

static void test_warnings(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;
        _cleanup_(cvmd_config_warnings_freep) char **w = NULL;
        const char *dir = *state;

        test_dir_write(dir, "cvmd.conf",
                 "Stray=1\n"
                 "[Daemon]\n"
                 "VsockPrt=4051\n"
                 "vsockport=4052\n"
                 "[Frobnicator]\n"
                 "Speed=11\n"
                 "Listen=0.0.0.0:1\n" /* in an unknown section: not [HTTP] Listen */
                 "[Daemon]\n"
                 "MaxVMs=7\n");
        test_dir_write(dir, "cvmd.conf.d/x.conf", "[Tokens]\nLifetime=5\n");
        c = load_ok(dir, &w);
        assert_int_equal(c->max_vms, 7);
        assert_true(c->http_listen.loopback);
        assert_int_equal(strv_length(w), 5);
        assert_dir_message(w[0], dir, "/cvmd.conf:1: Stray= outside any section, ignoring");
        assert_dir_message(w[1], dir, "/cvmd.conf:3: unknown key [Daemon] VsockPrt, ignoring");
        assert_dir_message(w[2], dir, "/cvmd.conf:4: unknown key [Daemon] vsockport, ignoring");
        assert_dir_message(w[3], dir, "/cvmd.conf:5: unknown section [Frobnicator], ignoring its keys");
        assert_dir_message(w[4], dir, "/cvmd.conf.d/x.conf:2: unknown key [Tokens] Lifetime, ignoring");
}

static void test_warnings_optional(void **state) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = NULL;

        /* Callers that do not ask for warnings do not get them (and nothing leaks). */
        test_dir_write(*state, "cvmd.conf", "[Nope]\nX=1\n");
        c = load_ok(*state, NULL);
        assert_defaults(c);
}

static void test_bad_arguments(void **state) {
        CvmdConfig *c = NULL;

        assert_int_equal(cvmd_config_load(*state, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(cvmd_config_parse(ETC, NULL, 1, &c, NULL, NULL), -EINVAL);
        assert_int_equal(cvmd_config_parse(ETC, "", 0, &c, NULL, NULL), 0);
        c = cvmd_config_free(c);
        assert_null(cvmd_config_free(NULL));
        assert_null(cvmd_config_warnings_free(NULL));
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, test_dir_setup, test_dir_teardown)
        const struct CMUnitTest tests[] = {
                T(test_defaults_no_files),
                T(test_example_is_the_defaults),
                T(test_comments_and_whitespace),
                T(test_collateral_settings),
                T(test_dropin_order),
                T(test_dropin_masked_and_special),
                T(test_dropin_error_names_file),
                T(test_trailing_slash_dir),
                T(test_fatal_values),
                T(test_rotate_vs_lifetime),
                T(test_good_values),
                T(test_syntax_errors),
                T(test_file_too_big),
                T(test_utf8_accepted),
                T(test_warnings),
                T(test_warnings_optional),
                T(test_bad_arguments),
        };
#undef T
        return cmocka_run_group_tests(tests, NULL, NULL);
}
