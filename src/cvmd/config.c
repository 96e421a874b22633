/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd.conf and its drop-ins: a bounded line reader, a table of keys with their defaults, and a
 * validation pass over the whole result (checks that span keys or files). Every key is parsed
 * by the same code whether its value comes from a file or from the table's default, so the
 * defaults obey the same rules as what an operator writes. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cvm/cvmd-config.h"
#include "cvm/kds.h"
#include "cvm/nvidia-fetch.h"
#include "cvm/pcs.h"
#include "cvm/util.h"

#define URL_MAX     1024u
#define SECTION_MAX 64u

typedef struct ConfigItem ConfigItem;
/* Parses value into the field at `field`; on -EINVAL *ret_problem says what is wrong with it
 * (without the file, line or key: the caller adds those). value is NULL for "no default". */
typedef int (*ConfigParseFn)(const ConfigItem *item, const char *value, void *field, char **ret_problem);

struct ConfigItem {
        const char *section;
        const char *key;
        ConfigParseFn parse;
        size_t offset;
        const char *default_value;
        unsigned min, max; /* conf_parse_unsigned only */
};

/* Where an item was last assigned, for messages about checks made after every file is read. */
typedef struct ConfigLocation {
        char *file; /* NULL: the default */
        unsigned line;
} ConfigLocation;

typedef enum ConfigItemId {
        ITEM_LIBVIRT_URI,
        ITEM_STATE_DIRECTORY,
        ITEM_CACHE_DIRECTORY,
        ITEM_KEYS_DIRECTORY,
        ITEM_POLICIES_DIRECTORY,
        ITEM_VSOCK_PORT,
        ITEM_BOOT_TIMEOUT,
        ITEM_ATTEST_TIMEOUT,
        ITEM_MAX_CONCURRENT_LAUNCHES,
        ITEM_MAX_VMS,
        ITEM_HTTP_LISTEN,
        ITEM_HTTP_ALLOW_NON_LOOPBACK,
        ITEM_TOKEN_LIFETIME,
        ITEM_TOKEN_ROTATE,
        ITEM_COLLATERAL_OFFLINE,
        ITEM_KDS_URL,
        ITEM_PCCS_URL,
        ITEM_NVIDIA_RIM_URL,
        ITEM_NVIDIA_OCSP_URL,
        ITEM_COLLATERAL_CACHE_DIRECTORY,
        ITEM_COLLATERAL_REFRESH,
        ITEM_COLLATERAL_TIMEOUT,
        _ITEM_MAX,
} ConfigItemId;

static int conf_parse_uri(const ConfigItem *item, const char *value, void *field, char **ret_problem);
static int conf_parse_path(const ConfigItem *item, const char *value, void *field, char **ret_problem);
static int conf_parse_unsigned(const ConfigItem *item, const char *value, void *field, char **ret_problem);
static int conf_parse_bool(const ConfigItem *item, const char *value, void *field, char **ret_problem);
static int conf_parse_listen(const ConfigItem *item, const char *value, void *field, char **ret_problem);
static int conf_parse_url(const ConfigItem *item, const char *value, void *field, char **ret_problem);

#define ITEM(s, k, fn, member, def, ...)                                                                               \
        { s, k, fn, offsetof(CvmdConfig, member), def, __VA_ARGS__ }
static const ConfigItem config_items[_ITEM_MAX] = {
        [ITEM_LIBVIRT_URI] = ITEM("Daemon", "LibvirtURI", conf_parse_uri, libvirt_uri, "qemu:///system"),
        [ITEM_STATE_DIRECTORY] = ITEM("Daemon", "StateDirectory", conf_parse_path, state_directory, "/var/lib/cvmd"),
        [ITEM_CACHE_DIRECTORY] = ITEM("Daemon", "CacheDirectory", conf_parse_path, cache_directory, "/var/cache/cvmd"),
        /* No default of its own: StateDirectory/keys, filled in once StateDirectory is final. */
        [ITEM_KEYS_DIRECTORY] = ITEM("Daemon", "KeysDirectory", conf_parse_path, keys_directory, NULL),
        [ITEM_POLICIES_DIRECTORY] =
                ITEM("Daemon", "PoliciesDirectory", conf_parse_path, policies_directory, "/etc/cvmd/policies"),
        [ITEM_VSOCK_PORT] = ITEM("Daemon", "VsockPort", conf_parse_unsigned, vsock_port, "4050", 1, 65535),
        [ITEM_BOOT_TIMEOUT] = ITEM("Daemon", "BootTimeoutSec", conf_parse_unsigned, boot_timeout_sec, "120", 1, 3600),
        [ITEM_ATTEST_TIMEOUT] =
                ITEM("Daemon", "AttestTimeoutSec", conf_parse_unsigned, attest_timeout_sec, "30", 1, 600),
        [ITEM_MAX_CONCURRENT_LAUNCHES] =
                ITEM("Daemon", "MaxConcurrentLaunches", conf_parse_unsigned, max_concurrent_launches, "16", 1, 1024),
        [ITEM_MAX_VMS] = ITEM("Daemon", "MaxVMs", conf_parse_unsigned, max_vms, "1024", 1, 65536),
        [ITEM_HTTP_LISTEN] = ITEM("HTTP", "Listen", conf_parse_listen, http_listen, "127.0.0.1:9464"),
        [ITEM_HTTP_ALLOW_NON_LOOPBACK] =
                ITEM("HTTP", "AllowNonLoopback", conf_parse_bool, http_allow_non_loopback, "no"),
        [ITEM_TOKEN_LIFETIME] =
                ITEM("Tokens", "LifetimeSec", conf_parse_unsigned, token_lifetime_sec, "1800", 60, 86400),
        [ITEM_TOKEN_ROTATE] =
                ITEM("Tokens", "RotateSec", conf_parse_unsigned, token_rotate_sec, "2592000", 3600, 31536000),
        [ITEM_COLLATERAL_OFFLINE] = ITEM("Collateral", "Offline", conf_parse_bool, collateral_offline, "no"),
        [ITEM_KDS_URL] = ITEM("Collateral", "KdsURL", conf_parse_url, kds_url, KDS_DEFAULT_URL),
        [ITEM_PCCS_URL] = ITEM("Collateral", "PccsURL", conf_parse_url, pccs_url, PCS_DEFAULT_URL),
        [ITEM_NVIDIA_RIM_URL] =
                ITEM("Collateral", "NvidiaRimURL", conf_parse_url, nvidia_rim_url, NV_RIM_SERVICE_DEFAULT_URL),
        [ITEM_NVIDIA_OCSP_URL] = ITEM("Collateral", "NvidiaOcspURL", conf_parse_url, nvidia_ocsp_url, NV_OCSP_DEFAULT_URL),
        /* No default of its own: [Daemon] CacheDirectory, filled in once that is final. */
        [ITEM_COLLATERAL_CACHE_DIRECTORY] =
                ITEM("Collateral", "CacheDirectory", conf_parse_path, collateral_cache_directory, NULL),
        [ITEM_COLLATERAL_REFRESH] = ITEM("Collateral", "RefreshBeforeSec", conf_parse_unsigned,
                                         collateral_refresh_sec, "86400", 0, 31536000),
        [ITEM_COLLATERAL_TIMEOUT] =
                ITEM("Collateral", "TimeoutSec", conf_parse_unsigned, collateral_timeout_sec, "30", 1, 600),
};
#undef ITEM

typedef struct ConfigParser {
        CvmdConfig *config;
        ConfigLocation where[_ITEM_MAX];
        char **warnings;
        size_t n_warnings;
        /* the section of the line being read: "" before the first header */
        char section[SECTION_MAX];
        bool section_known;
} ConfigParser;

static void config_parser_done(ConfigParser *p) {
        cvmd_config_free(p->config);
        for (size_t i = 0; i < ELEMENTSOF(p->where); i++)
                free(p->where[i].file);
        cvmd_config_warnings_free(p->warnings);
        *p = (ConfigParser){};
}

char **cvmd_config_warnings_free(char **l) {
        if (!l)
                return NULL;
        for (char **s = l; *s; s++)
                free(*s);
        free(l);
        return NULL;
}

static int config_warn(ConfigParser *p, const char *fmt, ...) _printf_(2, 3);
static int config_warn(ConfigParser *p, const char *fmt, ...) {
        char **l, *s;
        va_list ap;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!s)
                return -ENOMEM;
        l = reallocarray(p->warnings, p->n_warnings + 2, sizeof(char *));
        if (!l) {
                free(s);
                return -ENOMEM;
        }
        l[p->n_warnings++] = s;
        l[p->n_warnings] = NULL;
        p->warnings = l;
        return 0;
}

/* ---- value parsers ---- */

static int problem(char **ret_problem, const char *fmt, ...) _printf_(2, 3);
static int problem(char **ret_problem, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        *ret_problem = strdup_vprintf(fmt, ap);
        va_end(ap);
        return *ret_problem ? -EINVAL : -ENOMEM;
}

static bool has_space_or_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f)
                        return true;
        return false;
}

static int set_string(void *field, const char *value) {
        char **p = field, *s = NULL;

        if (value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        free(*p);
        *p = s;
        return 0;
}

/* A libvirt connection URI: "driver[+transport]://[host]/path" or an alias such as "qemu:".
 * Only the shape is checked here; libvirt itself says whether it can connect. */
static int conf_parse_uri(const ConfigItem *item, const char *value, void *field, char **ret_problem) {
        const char *c;

        if (strlen(value) > URL_MAX)
                return problem(ret_problem, "longer than %u bytes", URL_MAX);
        if (has_space_or_control(value))
                return problem(ret_problem, "\"%s\" contains a space or a control character", value);
        c = strchr(value, ':');
        if (!c || c == value || !strchr("abcdefghijklmnopqrstuvwxyz", value[0]))
                return problem(ret_problem, "\"%s\" is not a URI (driver:///path, e.g. qemu:///system)", value);
        for (const char *s = value; s < c; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+.-", *s))
                        return problem(ret_problem, "\"%s\" is not a URI (driver:///path, e.g. qemu:///system)", value);
        return set_string(field, value);
}

/* An absolute path without "." or ".." components: what it names must not depend on the
 * working directory or on where a symlink above it points. Trailing slashes are dropped. */
static int conf_parse_path(const ConfigItem *item, const char *value, void *field, char **ret_problem) {
        _cleanup_free_ char *copy = NULL;
        size_t len;

        if (!value)
                return set_string(field, NULL);
        len = strlen(value);
        if (len >= PATH_MAX)
                return problem(ret_problem, "longer than %u bytes", PATH_MAX - 1);
        if (value[0] != '/')
                return problem(ret_problem, "\"%s\" is not an absolute path", value);
        for (const char *s = value; *s; s++)
                if ((unsigned char) *s < ' ' || *s == 0x7f)
                        return problem(ret_problem, "the path contains a control character");
        for (const char *s = value; *s;) {
                size_t n;

                s += strspn(s, "/");
                n = strcspn(s, "/");
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return problem(ret_problem, "\"%s\" has a \".\" or \"..\" component", value);
                s += n;
        }
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        while (len > 1 && copy[len - 1] == '/')
                copy[--len] = 0;
        return set_string(field, copy);
}

/* Plain decimal, no sign, no spaces, no leading zeros (a leading 0 reads as octal elsewhere). */
static int conf_parse_unsigned(const ConfigItem *item, const char *value, void *field, char **ret_problem) {
        unsigned long long v = 0;
        size_t len = strlen(value);

        if (len == 0 || len > 10 || strspn(value, "0123456789") != len || (len > 1 && value[0] == '0'))
                return problem(ret_problem, "\"%s\" is not a number between %u and %u", value, item->min, item->max);
        for (const char *s = value; *s; s++)
                v = v * 10 + (unsigned) (*s - '0');
        if (v < item->min || v > item->max)
                return problem(ret_problem, "%s is out of range (%u..%u)", value, item->min, item->max);
        *(unsigned *) field = (unsigned) v;
        return 0;
}

/* Booleans are strict: a misspelt "yes" must not read as "no". */
static int conf_parse_bool(const ConfigItem *item, const char *value, void *field, char **ret_problem) {
        static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off", "0"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(value, yes[i])) {
                        *(bool *) field = true;
                        return 0;
                }
                if (streq(value, no[i])) {
                        *(bool *) field = false;
                        return 0;
                }
        }
        return problem(ret_problem, "\"%s\" is not a boolean (yes/no, true/false, on/off, 1/0)", value);
}

static int parse_port(const char *s, uint16_t *ret) {
        unsigned v = 0;
        size_t len = strlen(s);

        if (len == 0 || len > 5 || strspn(s, "0123456789") != len || s[0] == '0')
                return -EINVAL;
        for (; *s; s++)
                v = v * 10 + (unsigned) (*s - '0');
        if (v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static bool ipv4_is_loopback(const struct in_addr *a) {
        return (ntohl(a->s_addr) >> 24) == 127;
}

/* "no", "A.B.C.D:PORT" or "[IPV6]:PORT", numeric only: no name lookups while reading a file. */
static int conf_parse_listen(const ConfigItem *item, const char *value, void *field, char **ret_problem) {
        CvmdListen l = {};
        char host[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
        const char *colon, *h = value;
        size_t hlen;
        uint16_t port;

        if (streq(value, "no")) {
                *(CvmdListen *) field = l;
                return 0;
        }
        colon = strrchr(value, ':');
        if (!colon)
                return problem(ret_problem, "\"%s\" is not ADDRESS:PORT or \"no\"", value);
        hlen = (size_t) (colon - value);
        if (value[0] == '[') {
                if (hlen < 2 || value[hlen - 1] != ']')
                        return problem(ret_problem, "\"%s\" is not [IPV6]:PORT", value);
                h++;
                hlen -= 2;
        }
        if (hlen == 0 || hlen >= sizeof(host))
                return problem(ret_problem, "\"%s\" is not a numeric IP address and port", value);
        memcpy(host, h, hlen);
        host[hlen] = 0;
        if (parse_port(colon + 1, &port) < 0)
                return problem(ret_problem, "\"%s\" does not end in a port between 1 and 65535", value);

        if (value[0] == '[') {
                struct sockaddr_in6 *sa = (struct sockaddr_in6 *) &l.sockaddr;

                if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
                        return problem(ret_problem, "\"%s\" is not a numeric IPv6 address", host);
                sa->sin6_family = AF_INET6;
                sa->sin6_port = htons(port);
                l.sockaddr_len = sizeof(*sa);
                if (IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr)) {
                        struct in_addr v4;
                        memcpy(&v4, sa->sin6_addr.s6_addr + 12, sizeof(v4));
                        l.loopback = ipv4_is_loopback(&v4);
                } else
                        l.loopback = IN6_IS_ADDR_LOOPBACK(&sa->sin6_addr);
                if (!inet_ntop(AF_INET6, &sa->sin6_addr, text, sizeof(text)))
                        return -errno;
                (void) snprintf(l.address, sizeof(l.address), "[%s]:%u", text, port);
        } else {
                struct sockaddr_in *sa = (struct sockaddr_in *) &l.sockaddr;

                /* inet_pton() takes only dotted quads, unlike inet_aton()'s "127.1" or hex. */
                if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
                        return problem(ret_problem, "\"%s\" is not a numeric IPv4 address (IPv6: [ADDRESS]:PORT)",
                                       host);
                sa->sin_family = AF_INET;
                sa->sin_port = htons(port);
                l.sockaddr_len = sizeof(*sa);
                l.loopback = ipv4_is_loopback(&sa->sin_addr);
                if (!inet_ntop(AF_INET, &sa->sin_addr, text, sizeof(text)))
                        return -errno;
                (void) snprintf(l.address, sizeof(l.address), "%s:%u", text, port);
        }
        l.enabled = true;
        *(CvmdListen *) field = l;
        return 0;
}

/* A collateral server. Plain http is allowed (a PCCS on the local network often has no
 * certificate); what it serves is trusted only after its signatures check out. */
static int conf_parse_url(const ConfigItem *item, const char *value, void *field, char **ret_problem) {
        _cleanup_free_ char *copy = NULL;
        const char *host;
        size_t len = strlen(value);

        if (len > URL_MAX)
                return problem(ret_problem, "longer than %u bytes", URL_MAX);
        if (has_space_or_control(value))
                return problem(ret_problem, "\"%s\" contains a space or a control character", value);
        if (strncmp(value, "https://", 8) == 0)
                host = value + 8;
        else if (strncmp(value, "http://", 7) == 0)
                host = value + 7;
        else
                return problem(ret_problem, "\"%s\" is not an http:// or https:// URL", value);
        if (strchr("/?#", *host))
                return problem(ret_problem, "\"%s\" has no host", value);
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        /* The URL builders add their own '/'. */
        while (len > (size_t) (host - value) + 1 && copy[len - 1] == '/')
                copy[--len] = 0;
        return set_string(field, copy);
}

/* ---- the reader ---- */

static int config_apply(ConfigParser *p, ConfigItemId id, const char *value, char **ret_problem) {
        const ConfigItem *item = &config_items[id];

        return item->parse(item, value, (uint8_t *) p->config + item->offset, ret_problem);
}

static const ConfigItem *config_item_find(const char *section, const char *key, ConfigItemId *ret_id) {
        for (size_t i = 0; i < ELEMENTSOF(config_items); i++)
                if (streq(config_items[i].section, section) && streq(config_items[i].key, key)) {
                        *ret_id = (ConfigItemId) i;
                        return &config_items[i];
                }
        return NULL;
}

static bool config_section_known(const char *section) {
        for (size_t i = 0; i < ELEMENTSOF(config_items); i++)
                if (streq(config_items[i].section, section))
                        return true;
        return false;
}

static char *strip(char *s) {
        char *e;

        s += strspn(s, " \t\r");
        e = s + strlen(s);
        while (e > s && strchr(" \t\r", e[-1]))
                *--e = 0;
        return s;
}

static int config_parse_section(ConfigParser *p, const char *file, unsigned line, char *s, char **ret_reason) {
        size_t len = strlen(s);
        char *name;

        if (len < 3 || s[len - 1] != ']')
                return set_reason(ret_reason, -EINVAL, "%s:%u: malformed section header", file, line);
        s[len - 1] = 0;
        name = s + 1;
        len -= 2;
        if (len >= SECTION_MAX ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != len)
                return set_reason(ret_reason, -EINVAL, "%s:%u: malformed section header", file, line);
        memcpy(p->section, name, len + 1);
        p->section_known = config_section_known(name);
        if (!p->section_known)
                return config_warn(p, "%s:%u: unknown section [%s], ignoring its keys", file, line, name);
        return 0;
}

static int config_parse_assignment(ConfigParser *p, const char *file, unsigned line, char *s, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        const ConfigItem *item;
        ConfigItemId id;
        char *eq, *key, *value, *where;
        int r;

        eq = strchr(s, '=');
        if (!eq)
                return set_reason(ret_reason, -EINVAL, "%s:%u: neither a [Section] nor a Key=Value line", file, line);
        *eq = 0;
        key = strip(s);
        value = strip(eq + 1);
        if (!*key)
                return set_reason(ret_reason, -EINVAL, "%s:%u: no key before '='", file, line);
        if (!*p->section)
                return config_warn(p, "%s:%u: %s= outside any section, ignoring", file, line, key);
        if (!p->section_known)
                return 0; /* said once, at the section header */
        item = config_item_find(p->section, key, &id);
        if (!item)
                return config_warn(p, "%s:%u: unknown key [%s] %s, ignoring", file, line, p->section, key);

        /* An empty value puts the default back, as in systemd: a drop-in can undo an earlier one. */
        r = config_apply(p, id, *value ? value : item->default_value, &why);
        if (r == -EINVAL)
                return set_reason(ret_reason, r, "%s:%u: [%s] %s: %s", file, line, item->section, item->key,
                                  why ? why : "invalid value");
        if (r < 0)
                return r;
        where = strdup(file);
        if (!where)
                return -ENOMEM;
        free(p->where[id].file);
        p->where[id] = (ConfigLocation){.file = where, .line = line};
        return 0;
}

static int config_parse_line(ConfigParser *p, const char *file, unsigned line, char *s, char **ret_reason) {
        s = strip(s);
        if (!*s || *s == '#' || *s == ';')
                return 0;
        if (*s == '[')
                return config_parse_section(p, file, line, s, ret_reason);
        return config_parse_assignment(p, file, line, s, ret_reason);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
        size_t len;
        uint32_t c;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, c = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        return len;
}

/* Control characters (tab and a CR before the newline aside) and broken UTF-8 are refused
 * rather than skipped: they end up in paths, URLs and log lines. */
static const char *line_problem(const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *) s;

        if (memchr(s, 0, n))
                return "NUL byte";
        for (size_t i = 0; i < n;) {
                size_t k;

                if (u[i] == '\t' || (u[i] == '\r' && i + 1 == n)) {
                        i++;
                        continue;
                }
                if (u[i] < ' ' || u[i] == 0x7f)
                        return "control character";
                k = utf8_sequence(u + i, n - i);
                if (k == 0)
                        return "invalid UTF-8";
                i += k;
        }
        return NULL;
}

static int config_parse_text(ConfigParser *p, const char *file, const char *text, size_t size, char **ret_reason) {
        _cleanup_free_ char *buf = NULL;
        unsigned line = 0;
        int r;

        if (size > CVMD_CONFIG_FILE_MAX)
                return set_reason(ret_reason, -EFBIG, "%s: larger than the maximum of %u bytes", file,
                                  CVMD_CONFIG_FILE_MAX);
        buf = malloc(CVMD_CONFIG_LINE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        if (size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) /* a byte order mark */
                text += 3, size -= 3;
        *p->section = 0;
        p->section_known = false;

        while (size > 0) {
                const char *nl = memchr(text, '\n', size);
                size_t n = nl ? (size_t) (nl - text) : size;
                const char *bad;

                line++;
                if (n > CVMD_CONFIG_LINE_MAX)
                        return set_reason(ret_reason, -EINVAL, "%s:%u: line longer than %u bytes", file, line,
                                          CVMD_CONFIG_LINE_MAX);
                bad = line_problem(text, n);
                if (bad)
                        return set_reason(ret_reason, -EINVAL, "%s:%u: %s", file, line, bad);
                memcpy(buf, text, n);
                buf[n] = 0;
                r = config_parse_line(p, file, line, buf, ret_reason);
                if (r < 0)
                        return r;
                text += nl ? n + 1 : n;
                size -= nl ? n + 1 : n;
        }
        return 0;
}

/* Opened without blocking (a FIFO in the directory must not hang the daemon) and read up to one
 * byte past the limit, so a file that grows while being read is still caught. *ret is NULL for a
 * file masked by a symlink to /dev/null, as systemd does. */
static int config_read_file(const char *path, char **ret, size_t *ret_size, char **ret_reason) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT
                                       : set_reason(ret_reason, -errno, "%s: cannot open: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: cannot stat: %s", path, strerror(errno));
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {
                *ret = NULL;
                *ret_size = 0;
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return set_reason(ret_reason, -EBADFD, "%s: not a regular file", path);
        buf = malloc(CVMD_CONFIG_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + size, CVMD_CONFIG_FILE_MAX + 1 - size);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return set_reason(ret_reason, -errno, "%s: cannot read: %s", path, strerror(errno));
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > CVMD_CONFIG_FILE_MAX)
                        return set_reason(ret_reason, -EFBIG, "%s: larger than the maximum of %u bytes", path,
                                          CVMD_CONFIG_FILE_MAX);
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* A missing file is no error: every key has a default. */
static int config_parse_file(ConfigParser *p, const char *path, char **ret_reason) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = config_read_file(path, &text, &size, ret_reason);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!text)
                return 0;
        return config_parse_text(p, path, text, size, ret_reason);
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_dropin_name(const char *name) {
        size_t len = strlen(name);

        return name[0] != '.' && len > 5 && streq(name + len - 5, ".conf");
}

static void names_free(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* The drop-in names of dir in byte order (not the locale's: the order must not change with
 * LANG). A missing directory has none. */
static int config_list_dropins(const char *dir, char ***ret, size_t *ret_n, char **ret_reason) {
        DIR *d;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return set_reason(ret_reason, -errno, "%s: cannot open: %s", dir, strerror(errno));
        }
        while ((errno = 0, de = readdir(d))) {
                char **l;

                if (!is_dropin_name(de->d_name))
                        continue;
                if (n >= CVMD_CONFIG_DROPINS_MAX) {
                        r = set_reason(ret_reason, -E2BIG, "%s: more than %u drop-ins", dir, CVMD_CONFIG_DROPINS_MAX);
                        goto fail;
                }
                l = reallocarray(names, n + 1, sizeof(char *));
                if (!l || !(l[n] = strdup(de->d_name))) {
                        names = l ? l : names;
                        r = -ENOMEM;
                        goto fail;
                }
                names = l;
                n++;
        }
        if (errno != 0) {
                r = set_reason(ret_reason, -errno, "%s: cannot read: %s", dir, strerror(errno));
                goto fail;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(char *), compare_names);
        *ret = names;
        *ret_n = n;
        return 0;
fail:
        closedir(d);
        names_free(names, n);
        return r;
}

/* ---- the whole configuration ---- */

static int config_parser_init(ConfigParser *p) {
        *p = (ConfigParser){};
        p->config = cvmd_config_new();
        return p->config ? 0 : -ENOMEM;
}

static const char *location_file(const ConfigParser *p, ConfigItemId id) {
        return p->where[id].file ?: "(default)";
}

/* Checks that need every file read: AllowNonLoopback= may come after Listen=, or in a later
 * drop-in. The message names where the offending value was set. */
static int config_validate(ConfigParser *p, char **ret_reason) {
        CvmdConfig *c = p->config;

        if (c->http_listen.enabled && !c->http_listen.loopback && !c->http_allow_non_loopback)
                return set_reason(ret_reason, -EINVAL,
                                  "%s:%u: [HTTP] Listen: %s is not a loopback address (AllowNonLoopback=yes allows it)",
                                  location_file(p, ITEM_HTTP_LISTEN), p->where[ITEM_HTTP_LISTEN].line,
                                  c->http_listen.address);
        /* A signing key must outlive the tokens it signs, or a token is unverifiable before it
         * expires. */
        if (c->token_rotate_sec < c->token_lifetime_sec) {
                ConfigItemId id = p->where[ITEM_TOKEN_ROTATE].file ? ITEM_TOKEN_ROTATE : ITEM_TOKEN_LIFETIME;

                return set_reason(ret_reason, -EINVAL,
                                  "%s:%u: [Tokens] %s: RotateSec=%u is shorter than LifetimeSec=%u",
                                  location_file(p, id), p->where[id].line, config_items[id].key, c->token_rotate_sec,
                                  c->token_lifetime_sec);
        }
        if (!c->keys_directory) {
                c->keys_directory =
                        strdup_printf("%s%skeys", c->state_directory, streq(c->state_directory, "/") ? "" : "/");
                if (!c->keys_directory)
                        return -ENOMEM;
        }
        if (!c->collateral_cache_directory) {
                c->collateral_cache_directory = strdup(c->cache_directory);
                if (!c->collateral_cache_directory)
                        return -ENOMEM;
        }
        return 0;
}

static int config_parser_finish(ConfigParser *p, CvmdConfig **ret, char **ret_reason, char ***ret_warnings) {
        int r;

        r = config_validate(p, ret_reason);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p->config);
        if (ret_warnings)
                *ret_warnings = TAKE_PTR(p->warnings);
        return 0;
}

CvmdConfig *cvmd_config_new(void) {
        _cleanup_(cvmd_config_freep) CvmdConfig *c = calloc(1, sizeof(CvmdConfig));
        ConfigParser p = {.config = NULL};

        if (!c)
                return NULL;
        p.config = c;
        for (size_t i = 0; i < ELEMENTSOF(config_items); i++) {
                _cleanup_free_ char *why = NULL;

                /* The defaults are valid by construction; only OOM can fail here. */
                if (config_apply(&p, (ConfigItemId) i, config_items[i].default_value, &why) < 0)
                        return NULL;
        }
        return TAKE_PTR(c);
}

CvmdConfig *cvmd_config_free(CvmdConfig *c) {
        if (!c)
                return NULL;
        free(c->libvirt_uri);
        free(c->state_directory);
        free(c->cache_directory);
        free(c->keys_directory);
        free(c->policies_directory);
        free(c->kds_url);
        free(c->pccs_url);
        free(c->nvidia_rim_url);
        free(c->nvidia_ocsp_url);
        free(c->collateral_cache_directory);
        free(c);
        return NULL;
}

int cvmd_config_parse(const char *name, const char *text, size_t size, CvmdConfig **ret, char **ret_reason,
                      char ***ret_warnings) {
        _cleanup_(config_parser_done) ConfigParser p = {};
        _cleanup_free_ char *reason = NULL;
        int r;

        if (!name || (!text && size > 0) || !ret)
                return -EINVAL;
        r = config_parser_init(&p);
        if (r < 0)
                return r;
        r = config_parse_text(&p, name, text, size, &reason);
        if (r >= 0)
                r = config_parser_finish(&p, ret, &reason, ret_warnings);
        if (r < 0 && ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}

static int config_load_dir(ConfigParser *p, const char *dir, char **ret_reason) {
        _cleanup_free_ char *main_path = NULL, *dropin_dir = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        main_path = strdup_printf("%s/cvmd.conf", dir);
        dropin_dir = strdup_printf("%s/cvmd.conf.d", dir);
        if (!main_path || !dropin_dir)
                return -ENOMEM;
        r = config_parse_file(p, main_path, ret_reason);
        if (r < 0)
                return r;
        r = config_list_dropins(dropin_dir, &names, &n, ret_reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *path = strdup_printf("%s/%s", dropin_dir, names[i]);

                r = path ? config_parse_file(p, path, ret_reason) : -ENOMEM;
        }
        names_free(names, n);
        return r;
}

int cvmd_config_load(const char *config_dir, CvmdConfig **ret, char **ret_reason, char ***ret_warnings) {
        _cleanup_(config_parser_done) ConfigParser p = {};
        _cleanup_free_ char *dir = NULL, *reason = NULL;
        size_t len;
        int r;

        if (!ret)
                return -EINVAL;
        /* "/etc/cvmd/" names its files "/etc/cvmd/cvmd.conf", not "/etc/cvmd//cvmd.conf". */
        dir = strdup(config_dir ?: CVMD_CONFIG_DIR_DEFAULT);
        if (!dir)
                return -ENOMEM;
        len = strlen(dir);
        while (len > 1 && dir[len - 1] == '/')
                dir[--len] = 0;
        if (len == 0)
                return set_reason(ret_reason, -EINVAL, "the configuration directory is empty");

        r = config_parser_init(&p);
        if (r < 0)
                return r;
        r = config_load_dir(&p, streq(dir, "/") ? "" : dir, &reason);
        if (r >= 0)
                r = config_parser_finish(&p, ret, &reason, ret_warnings);
        if (r < 0 && ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}
