/* SPDX-License-Identifier: Apache-2.0 */
/* The launch spec: strict JSON parsing with field-naming errors, and the canonical encoding the
 * launch digest is computed over. The format is described in README.md "Launch spec".
 *
 * json_parse_strict() parses (RFC 8259 only, no duplicate keys, no NUL, bounded size and depth);
 * the shared typed readers (cvm/json-read.h) check each field and name its path. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/json-read.h"
#include "cvm/keystore.h"
#include "cvm/launch-spec.h"
#include "cvm/util.h"

#define SPEC_JSON_DEPTH 8
#define SPEC_ID_MAX 255u

static const char *const disk_format_names[_LAUNCH_DISK_FORMAT_MAX] = {
        [LAUNCH_DISK_RAW] = "raw",
        [LAUNCH_DISK_QCOW2] = "qcow2",
};

const char *launch_disk_format_to_string(LaunchDiskFormat f) {
        return f >= 0 && f < _LAUNCH_DISK_FORMAT_MAX ? disk_format_names[f] : NULL;
}

const char *pci_address_format(const PciAddress *a, char *buf, size_t size) {
        (void) snprintf(buf, size, "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot, a->function);
        return buf;
}

int pci_address_parse(const char *s, PciAddress *ret) {
        int d[12];

        /* exactly dddd:bb:ss.f */
        if (!s || strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.')
                return -EINVAL;
        for (size_t i = 0, k = 0; i < 12; i++) {
                if (i == 4 || i == 7 || i == 10)
                        continue;
                d[k] = unhex_digit(s[i]);
                if (d[k] < 0)
                        return -EINVAL;
                k++;
        }
        /* d: 4 domain digits, 2 bus, 2 slot, 1 function */
        unsigned slot = (unsigned) (d[6] << 4 | d[7]), function = (unsigned) d[8];
        if (slot > 31 || function > 7)
                return -EINVAL;
        *ret = (PciAddress) {
                .domain = (uint16_t) (d[0] << 12 | d[1] << 8 | d[2] << 4 | d[3]),
                .bus = (uint8_t) (d[4] << 4 | d[5]),
                .slot = (uint8_t) slot,
                .function = (uint8_t) function,
        };
        return 0;
}

bool pci_address_equal(const PciAddress *a, const PciAddress *b) {
        return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot && a->function == b->function;
}

LaunchSpec *launch_spec_free(LaunchSpec *s) {
        if (!s)
                return NULL;
        free(s->name);
        free(s->gpus);
        free(s->nvswitches);
        free(s->network.source);
        free(s->security.id_block);
        free(s->security.id_auth);
        free(s->boot.firmware);
        free(s->boot.kernel);
        free(s->boot.initrd);
        free(s->boot.cmdline);
        free(s->boot.disk);
        free(s->boot.disk_verity_root_hash);
        free(s->policy);
        for (size_t i = 0; i < s->n_key_ids; i++)
                free(s->key_ids[i]);
        free(s->key_ids);
        free(s);
        return NULL;
}

/* ---- typed readers ---- */

/* Every string in a spec is non-empty and bounded (worded as the spec's messages always were);
 * what else it may hold is the field's to say. */
static int read_string(json_object *v, const char *path, size_t max_len, const char **ret, char **reason) {
        size_t len;
        int r;

        r = json_read_string(v, path, SIZE_MAX, ret, &len, reason);
        if (r < 0)
                return r;
        if (len == 0)
                return json_error(reason, path, "must not be empty");
        if (len > max_len)
                return json_error(reason, path, "is %zu bytes long, longer than the maximum of %zu", len, max_len);
        return 0;
}

static int dup_into(const char *s, char **ret) {
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        free(*ret);
        *ret = copy;
        return 0;
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Names, policy names and key IDs: [A-Za-z0-9], then [A-Za-z0-9._-] (key IDs also ':' and '/'). */
static int read_identifier(json_object *v, const char *path, size_t max_len, const char *extra, char **ret,
                           char **reason) {
        const char *s;
        int r;

        r = read_string(v, path, max_len, &s, reason);
        if (r < 0)
                return r;
        for (const char *p = s; *p; p++) {
                if (is_alnum(*p) || (p != s && (strchr("._-", *p) || (extra && strchr(extra, *p)))))
                        continue;
                _cleanup_free_ char *e = json_escape(s, strlen(s));
                if (!e)
                        return -ENOMEM;
                return json_error(reason, path,
                                  "\"%s\" is not allowed: use letters, digits and %s, starting with a letter or digit",
                                  e, extra ? "'.', '_', '-', ':', '/'" : "'.', '_', '-'");
        }
        return dup_into(s, ret);
}

/* An absolute path of printable ASCII without "..", for images and firmware. */
static int parse_path(json_object *v, const char *path, void *data, char **reason) {
        const char *s;
        int r;

        r = read_string(v, path, LAUNCH_SPEC_PATH_MAX, &s, reason);
        if (r < 0)
                return r;
        if (s[0] != '/')
                return json_error(reason, path, "expected an absolute path");
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f || *p == ',')
                        return json_error(reason, path, "contains a control, non-ASCII or ',' character at offset %zu",
                                          (size_t) (p - s));
        for (const char *p = s; (p = strstr(p, "/..")); p += 3)
                if (p[3] == '/' || p[3] == '\0')
                        return json_error(reason, path, "must not contain a \"..\" component");
        return dup_into(s, data);
}

/* ---- fields ---- */

static int parse_name(json_object *v, const char *path, void *data, char **reason) {
        return read_identifier(v, path, LAUNCH_SPEC_NAME_MAX, NULL, data, reason);
}

static int parse_policy(json_object *v, const char *path, void *data, char **reason) {
        return read_identifier(v, path, SPEC_ID_MAX, NULL, data, reason);
}

static int parse_tee(json_object *v, const char *path, void *data, char **reason) {
        CvmTee *tee = data;
        const char *t;
        int r;

        r = read_string(v, path, 16, &t, reason);
        if (r < 0)
                return r;
        *tee = cvm_tee_from_string(t);
        if (*tee < 0)
                return json_error(reason, path, "expected \"sev-snp\", \"tdx\" or \"none\"");
        return 0;
}

static int parse_vcpus(json_object *v, const char *path, void *data, char **reason) {
        uint64_t u;
        int r;

        r = json_read_uint(v, path, 1, LAUNCH_SPEC_VCPUS_MAX, &u, reason);
        if (r < 0)
                return r;
        *(unsigned *) data = (unsigned) u;
        return 0;
}

static int parse_memory(json_object *v, const char *path, void *data, char **reason) {
        return json_read_uint(v, path, LAUNCH_SPEC_MEMORY_MIB_MIN, LAUNCH_SPEC_MEMORY_MIB_MAX, data, reason);
}

static int parse_vsock_cid(json_object *v, const char *path, void *data, char **reason) {
        uint64_t u;
        int r;

        r = json_read_uint(v, path, LAUNCH_SPEC_VSOCK_CID_MIN, LAUNCH_SPEC_VSOCK_CID_MAX, &u, reason);
        if (r < 0)
                return r;
        *(uint32_t *) data = (uint32_t) u;
        return 0;
}

static int parse_hugepage(json_object *v, const char *path, void *data, char **reason) {
        uint64_t *kib = data;
        const char *h;
        int r;

        r = read_string(v, path, 8, &h, reason);
        if (r < 0)
                return r;
        if (streq(h, "2M"))
                *kib = 2048;
        else if (streq(h, "1G"))
                *kib = 1048576;
        else
                return json_error(reason, path, "expected \"2M\" or \"1G\"");
        return 0;
}

/* An array of distinct PCI addresses, for GPUs and NVSwitches. */
static int parse_pci_list(json_object *v, const char *path, size_t max, PciAddress **ret, size_t *ret_n,
                          char **reason) {
        size_t n;
        int r;

        r = json_read_array(v, path, max, &n, reason);
        if (r < 0)
                return r;
        *ret = calloc(n ? n : 1, sizeof(PciAddress));
        if (!*ret)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index(path, i);
                const char *str;
                PciAddress a;

                if (!p)
                        return -ENOMEM;
                r = read_string(json_object_array_get_idx(v, i), p, 64, &str, reason);
                if (r < 0)
                        return r;
                if (pci_address_parse(str, &a) < 0) {
                        _cleanup_free_ char *es = json_escape(str, strlen(str));
                        if (!es)
                                return -ENOMEM;
                        return json_error(reason, p,
                                          "\"%s\" is not a PCI address of the form dddd:bb:ss.f (slot <= 1f, function <= 7)",
                                          es);
                }
                for (size_t k = 0; k < *ret_n; k++)
                        if (pci_address_equal(&(*ret)[k], &a))
                                return json_error(reason, p, "%s is listed twice", str);
                (*ret)[(*ret_n)++] = a;
        }
        return 0;
}

static int parse_gpus(json_object *v, const char *path, void *data, char **reason) {
        LaunchSpec *s = data;

        return parse_pci_list(v, path, LAUNCH_SPEC_GPUS_MAX, &s->gpus, &s->n_gpus, reason);
}

static int parse_nvswitches(json_object *v, const char *path, void *data, char **reason) {
        LaunchSpec *s = data;

        return parse_pci_list(v, path, LAUNCH_SPEC_NVSWITCHES_MAX, &s->nvswitches, &s->n_nvswitches, reason);
}

static int parse_shared_memory(json_object *v, const char *path, void *data, char **reason) {
        uint64_t *mib = data;
        int r;

        r = json_read_uint(v, path, 2, LAUNCH_SPEC_MEMORY_MIB_MAX, mib, reason);
        if (r < 0)
                return r;
        if (*mib % 2 != 0)
                return json_error(reason, path, "%" PRIu64 " MiB is not a whole number of 2 MiB pages", *mib);
        return 0;
}

/* ---- network ---- */

static int parse_network_name(json_object *v, const char *path, void *data, char **reason) {
        /* libvirt network names and Linux interface names: the identifier characters */
        return read_identifier(v, path, LAUNCH_SPEC_NAME_MAX, NULL, data, reason);
}

typedef struct NetworkFields {
        char *network, *bridge;
} NetworkFields;

static const JsonField network_fields[] = {
        { "network", parse_network_name, offsetof(NetworkFields, network) },
        { "bridge", parse_network_name, offsetof(NetworkFields, bridge) },
};

static int parse_network(json_object *v, const char *path, void *data, char **reason) {
        LaunchNetwork *n = data;
        NetworkFields f = {};
        int r;

        r = json_read_object(v, path, network_fields, ELEMENTSOF(network_fields), &f, reason);
        if (r >= 0 && !f.network == !f.bridge)
                r = json_error(reason, path, "needs exactly one of \"network\" (a libvirt network) and \"bridge\"");
        if (r >= 0 && f.bridge && strlen(f.bridge) > 15)
                r = json_error(reason, "network.bridge", "is longer than a Linux interface name (15 bytes)");
        if (r < 0) {
                free(f.network);
                free(f.bridge);
                return r;
        }
        *n = (LaunchNetwork) {
                .kind = f.network ? LAUNCH_NETWORK_LIBVIRT : LAUNCH_NETWORK_BRIDGE,
                .source = f.network ? f.network : f.bridge,
        };
        return 0;
}

/* ---- launch security ---- */

/* "0x" and 1 to 16 hex digits: libvirt writes these policies in hex, and a 64-bit JSON number
 * does not survive every JSON library. */
static int parse_policy_bits(json_object *v, const char *path, void *data, char **reason) {
        LaunchSecurity *ls = data;
        const char *s;
        uint64_t bits = 0;
        int r;

        r = read_string(v, path, 18, &s, reason);
        if (r < 0)
                return r;
        if (strncmp(s, "0x", 2) != 0 || !s[2])
                return json_error(reason, path, "expected a hex number \"0x...\" of at most 16 digits");
        for (const char *p = s + 2; *p; p++) {
                int d = unhex_digit(*p);
                if (d < 0)
                        return json_error(reason, path, "expected a hex number \"0x...\" of at most 16 digits");
                bits = bits << 4 | (uint64_t) d;
        }
        ls->has_policy = true;
        ls->policy = bits;
        return 0;
}

static int parse_fixed_base64(json_object *v, const char *path, size_t n, uint8_t **ret, char **reason) {
        _cleanup_free_ uint8_t *b = NULL;
        size_t size;
        int r;

        r = json_read_base64(v, path, n, &b, &size, reason);
        if (r < 0)
                return r;
        if (size != n)
                return json_error(reason, path, "expected %zu bytes (base64), got %zu", n, size);
        free(*ret);
        *ret = TAKE_PTR(b);
        return 0;
}

static int parse_id_block(json_object *v, const char *path, void *data, char **reason) {
        return parse_fixed_base64(v, path, LAUNCH_SNP_ID_BLOCK_SIZE, data, reason);
}

static int parse_id_auth(json_object *v, const char *path, void *data, char **reason) {
        return parse_fixed_base64(v, path, LAUNCH_SNP_ID_AUTH_SIZE, data, reason);
}

static int parse_vcek(json_object *v, const char *path, void *data, char **reason) {
        bool vcek;
        int r;

        r = json_read_bool(v, path, &vcek, reason);
        if (r < 0)
                return r;
        *(bool *) data = !vcek;
        return 0;
}

static int parse_mr_owner(json_object *v, const char *path, void *data, char **reason) {
        LaunchSecurity *ls = data;
        int r;

        r = json_read_hex(v, path, ls->mr_owner, LAUNCH_TDX_MR_OWNER_SIZE, reason);
        ls->has_mr_owner = r >= 0;
        return r;
}

static int parse_mr_owner_config(json_object *v, const char *path, void *data, char **reason) {
        LaunchSecurity *ls = data;
        int r;

        r = json_read_hex(v, path, ls->mr_owner_config, LAUNCH_TDX_MR_OWNER_SIZE, reason);
        ls->has_mr_owner_config = r >= 0;
        return r;
}

static const JsonField security_fields[] = {
        { "policy", parse_policy_bits, 0 },
        { "id_block", parse_id_block, offsetof(LaunchSecurity, id_block) },
        { "id_auth", parse_id_auth, offsetof(LaunchSecurity, id_auth) },
        { "author_key", json_field_bool, offsetof(LaunchSecurity, author_key) },
        { "vcek", parse_vcek, offsetof(LaunchSecurity, vlek_only) },
        { "mr_owner", parse_mr_owner, 0 },
        { "mr_owner_config", parse_mr_owner_config, 0 },
};

static int parse_security(json_object *v, const char *path, void *data, char **reason) {
        return json_read_object(v, path, security_fields, ELEMENTSOF(security_fields), data, reason);
}

/* What each TEE accepts: the fields of the other TEE are refused, and so are policy bits the
 * TEE or libvirt reserve. */
static int check_security(json_object *root, const LaunchSpec *s, char **reason) {
        static const char *const snp_only[] = { "id_block", "id_auth", "author_key", "vcek" };
        static const char *const tdx_only[] = { "mr_owner", "mr_owner_config" };
        const LaunchSecurity *ls = &s->security;
        json_object *o;

        if (!json_object_object_get_ex(root, "launch_security", &o))
                return 0;
        if (s->tee == CVM_TEE_NONE)
                return json_error(reason, "launch_security", "only for \"sev-snp\" or \"tdx\"");
        for (size_t i = 0; i < ELEMENTSOF(snp_only); i++)
                if (s->tee != CVM_TEE_SEV_SNP && json_object_object_get_ex(o, snp_only[i], NULL)) {
                        _cleanup_free_ char *p = strdup_printf("launch_security.%s", snp_only[i]);
                        return p ? json_error(reason, p, "only for \"sev-snp\"") : -ENOMEM;
                }
        for (size_t i = 0; i < ELEMENTSOF(tdx_only); i++)
                if (s->tee != CVM_TEE_TDX && json_object_object_get_ex(o, tdx_only[i], NULL)) {
                        _cleanup_free_ char *p = strdup_printf("launch_security.%s", tdx_only[i]);
                        return p ? json_error(reason, p, "only for \"tdx\"") : -ENOMEM;
                }
        if (ls->has_policy && s->tee == CVM_TEE_SEV_SNP) {
                if (!(ls->policy & (1ull << 17)))
                        return json_error(reason, "launch_security.policy", "SEV-SNP policy bit 17 is reserved and must be 1");
                if (ls->policy >> 25)
                        return json_error(reason, "launch_security.policy", "SEV-SNP policy bits 25-63 are reserved");
        }
        if (ls->has_policy && s->tee == CVM_TEE_TDX && (ls->policy & ~((1ull << 28) | 1ull)))
                return json_error(reason, "launch_security.policy",
                                  "libvirt accepts only TD attribute bits 0 (debug) and 28 (SEPT_VE_DISABLE)");
        if (!ls->id_block != !ls->id_auth)
                return json_error(reason, ls->id_block ? "launch_security.id_auth" : "launch_security.id_block",
                                  "missing: id_block and id_auth go together");
        if (ls->author_key && !ls->id_auth)
                return json_error(reason, "launch_security.author_key", "only with id_block and id_auth");
        return 0;
}

static int parse_key_ids(json_object *v, const char *path, void *data, char **reason) {
        LaunchSpec *s = data;
        size_t n;
        int r;

        r = json_read_array(v, path, LAUNCH_SPEC_KEY_IDS_MAX, &n, reason);
        if (r < 0)
                return r;
        s->key_ids = calloc(n ? n : 1, sizeof(char *));
        if (!s->key_ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = json_path_index(path, i), *id = NULL;

                if (!p)
                        return -ENOMEM;
                const char *str;

                r = read_string(json_object_array_get_idx(v, i), p, KEY_ID_MAX, &str, reason);
                if (r < 0)
                        return r;
                /* THE key-ID grammar (cvm/keystore.h): a spec names only IDs the key store can hold */
                if (!key_id_is_valid(str)) {
                        _cleanup_free_ char *e = json_escape(str, strlen(str));
                        return e ? json_error(reason, p, "\"%s\" is not a valid key ID (" KEY_ID_GRAMMAR ")", e)
                                 : -ENOMEM;
                }
                id = strdup(str);
                if (!id)
                        return -ENOMEM;
                for (size_t k = 0; k < s->n_key_ids; k++)
                        if (streq(s->key_ids[k], id))
                                return json_error(reason, p, "\"%s\" is listed twice", id);
                s->key_ids[s->n_key_ids++] = TAKE_PTR(id);
        }
        return 0;
}

static int parse_cmdline(json_object *v, const char *path, void *data, char **reason) {
        const char *c;
        int r;

        r = read_string(v, path, LAUNCH_SPEC_CMDLINE_MAX, &c, reason);
        if (r < 0)
                return r;
        for (const char *q = c; *q; q++)
                if ((unsigned char) *q < 0x20 || (unsigned char) *q >= 0x7f)
                        return json_error(reason, path, "contains a control or non-ASCII character at offset %zu",
                                          (size_t) (q - c));
        return dup_into(c, data);
}

static int parse_disk_format(json_object *v, const char *path, void *data, char **reason) {
        LaunchDiskFormat *f = data;
        const char *s;
        int r;

        r = read_string(v, path, 16, &s, reason);
        if (r < 0)
                return r;
        if (streq(s, "raw"))
                *f = LAUNCH_DISK_RAW;
        else if (streq(s, "qcow2"))
                *f = LAUNCH_DISK_QCOW2;
        else
                return json_error(reason, path, "expected \"raw\" or \"qcow2\"");
        return 0;
}

/* A dm-verity root hash: the hash tree's root as veritysetup prints it (SHA-256 or SHA-512),
 * kept in lowercase so one disk has one spelling in the launch digest. */
static int parse_verity_root_hash(json_object *v, const char *path, void *data, char **reason) {
        const char *h;
        size_t n;
        int r;

        r = read_string(v, path, 128, &h, reason);
        if (r < 0)
                return r;
        n = strlen(h);
        if (n != 64 && n != 128)
                return json_error(reason, path, "expected 64 or 128 hex digits (a SHA-256 or SHA-512 root hash), got %zu", n);
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) h[i]))
                        return json_error(reason, path, "not a hex digit at offset %zu", i);
        r = dup_into(h, data);
        if (r < 0)
                return r;
        for (char *q = *(char **) data; *q; q++)
                *q = (char) tolower((unsigned char) *q);
        return 0;
}

/* The kernel command line's roothash= (systemd-veritysetup-generator), when it has one. */
static const char *cmdline_roothash(const char *cmdline, size_t *ret_len) {
        for (const char *p = cmdline; p && *p; p = strchr(p, ' ')) {
                p += strspn(p, " ");
                if (strncmp(p, "roothash=", 9) == 0) {
                        *ret_len = strcspn(p + 9, " ");
                        return p + 9;
                }
        }
        return NULL;
}

static const JsonField boot_fields[] = {
        { "firmware", parse_path, offsetof(LaunchBoot, firmware) },
        { "kernel", parse_path, offsetof(LaunchBoot, kernel) },
        { "initrd", parse_path, offsetof(LaunchBoot, initrd) },
        { "disk", parse_path, offsetof(LaunchBoot, disk) },
        { "cmdline", parse_cmdline, offsetof(LaunchBoot, cmdline) },
        { "disk_format", parse_disk_format, offsetof(LaunchBoot, disk_format) },
        { "disk_verity_root_hash", parse_verity_root_hash, offsetof(LaunchBoot, disk_verity_root_hash) },
};

static int parse_boot(json_object *v, const char *path, void *data, char **reason) {
        LaunchBoot *b = data;
        int r;

        r = json_read_object(v, path, boot_fields, ELEMENTSOF(boot_fields), b, reason);
        if (r < 0)
                return r;
        if (!b->kernel && (b->initrd || b->cmdline))
                return json_error(reason, b->initrd ? "boot.initrd" : "boot.cmdline",
                                  "only valid with boot.kernel (direct kernel boot)");
        if (!b->kernel && !b->disk)
                return json_error(reason, path, "needs boot.kernel (direct boot) or boot.disk");
        if (json_object_object_get_ex(v, "disk_format", NULL) && !b->disk)
                return json_error(reason, "boot.disk_format", "only valid with boot.disk");
        if (b->disk_verity_root_hash && !b->disk)
                return json_error(reason, "boot.disk_verity_root_hash", "only valid with boot.disk");
        if (b->disk_verity_root_hash && b->cmdline) {
                /* the measured command line and the launch digest must name the same disk */
                size_t n = 0;
                const char *h = cmdline_roothash(b->cmdline, &n);

                if (h && (n != strlen(b->disk_verity_root_hash) || strncasecmp(h, b->disk_verity_root_hash, n) != 0))
                        return json_error(reason, "boot.cmdline", "roothash= differs from boot.disk_verity_root_hash");
        }
        return 0;
}

static const JsonField top_fields[] = {
        { "name", parse_name, offsetof(LaunchSpec, name), JSON_FIELD_REQUIRED },
        { "tee", parse_tee, offsetof(LaunchSpec, tee), JSON_FIELD_REQUIRED },
        { "vcpus", parse_vcpus, offsetof(LaunchSpec, vcpus), JSON_FIELD_REQUIRED },
        { "memory_mib", parse_memory, offsetof(LaunchSpec, memory_mib), JSON_FIELD_REQUIRED },
        { "hugepage_size", parse_hugepage, offsetof(LaunchSpec, hugepage_kib) },
        { "shared_memory_mib", parse_shared_memory, offsetof(LaunchSpec, shared_memory_mib) },
        { "gpus", parse_gpus },
        { "nvswitches", parse_nvswitches },
        { "network", parse_network, offsetof(LaunchSpec, network) },
        { "launch_security", parse_security, offsetof(LaunchSpec, security) },
        { "boot", parse_boot, offsetof(LaunchSpec, boot), JSON_FIELD_REQUIRED },
        { "policy", parse_policy, offsetof(LaunchSpec, policy), JSON_FIELD_REQUIRED },
        { "key_ids", parse_key_ids },
        { "vsock_cid", parse_vsock_cid, offsetof(LaunchSpec, vsock_cid) },
};

static int parse_top(json_object *root, LaunchSpec *s, char **reason) {
        int r;

        r = json_read_object(root, "", top_fields, ELEMENTSOF(top_fields), s, reason);
        if (r < 0)
                return r;
        /* Memory is made of whole hugepages. */
        if ((s->memory_mib * 1024) % s->hugepage_kib != 0)
                return json_error(reason, "memory_mib", "%" PRIu64 " MiB is not a whole number of %s pages",
                                  s->memory_mib, s->hugepage_kib == 2048 ? "2 MiB" : "1 GiB");
        if (s->shared_memory_mib) {
                /* a capped shared part lives in ordinary pages QEMU can give back (man page, "MEMORY") */
                if (s->tee == CVM_TEE_NONE)
                        return json_error(reason, "shared_memory_mib", "only for \"sev-snp\" or \"tdx\" (private memory)");
                if (json_object_object_get_ex(root, "hugepage_size", NULL))
                        return json_error(reason, "shared_memory_mib",
                                          "not with hugepage_size: a capped shared part is not hugepage-backed");
                if (s->shared_memory_mib > s->memory_mib)
                        return json_error(reason, "shared_memory_mib", "%" PRIu64 " MiB is more than memory_mib (%" PRIu64 ")",
                                          s->shared_memory_mib, s->memory_mib);
        }
        for (size_t i = 0; i < s->n_nvswitches; i++)
                for (size_t k = 0; k < s->n_gpus; k++)
                        if (pci_address_equal(&s->nvswitches[i], &s->gpus[k])) {
                                char bdf[16], p[sizeof("nvswitches[]") + 20];
                                snprintf(p, sizeof(p), "nvswitches[%zu]", i);
                                return json_error(reason, p, "%s is also listed in gpus",
                                                  pci_address_format(&s->gpus[k], bdf, sizeof(bdf)));
                        }
        return check_security(root, s, reason);
}

int launch_spec_parse(const char *json, size_t size, LaunchSpec **ret, char **ret_reason) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(launch_spec_freep) LaunchSpec *s = NULL;
        _cleanup_free_ char *reason = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        /* Strict: duplicate keys, NUL bytes and anything json-c tolerates beyond RFC 8259 are
         * refused, so the spec that is launched and digested is exactly the file. */
        r = json_parse_strict(json, size, LAUNCH_SPEC_SIZE_MAX, SPEC_JSON_DEPTH, "launch spec", &root, &reason);
        if (r < 0)
                goto fail;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->hugepage_kib = 2048;
        s->boot.disk_format = LAUNCH_DISK_RAW;
        s->tee = _CVM_TEE_INVALID;
        r = parse_top(root, s, &reason);
        if (r < 0)
                goto fail;
        *ret = TAKE_PTR(s);
        return 0;

fail:
        if (r == -ENOMEM)
                return r;
        if (ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}

int launch_spec_load(const char *path, LaunchSpec **ret, char **ret_reason) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = read_file_bounded(path, LAUNCH_SPEC_SIZE_MAX, &data, &size);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: cannot read: %s", path, strerror(-r));
        return launch_spec_parse((const char *) data, size, ret, ret_reason);
}

/* ---- canonical encoding ---- */

typedef struct Buf {
        uint8_t *p;
        size_t n, allocated;
        bool oom;
} Buf;

static void buf_put(Buf *b, const void *p, size_t n) {
        if (b->oom)
                return;
        if (b->n + n > b->allocated) {
                size_t a = (b->allocated ? b->allocated * 2 : 256) + n;
                uint8_t *q = realloc(b->p, a);
                if (!q) {
                        b->oom = true;
                        return;
                }
                b->p = q;
                b->allocated = a;
        }
        memcpy(b->p + b->n, p, n);
        b->n += n;
}

/* One field: u8 name length, name, u32 big-endian value length, value. */
static void put_field(Buf *b, const char *name, const char *value) {
        size_t nl = strlen(name), vl = strlen(value);
        uint8_t l8 = (uint8_t) nl, l32[4] = { (uint8_t) (vl >> 24), (uint8_t) (vl >> 16), (uint8_t) (vl >> 8),
                                               (uint8_t) vl };

        buf_put(b, &l8, 1);
        buf_put(b, name, nl);
        buf_put(b, l32, 4);
        buf_put(b, value, vl);
}

static void put_uint(Buf *b, const char *name, uint64_t v) {
        char s[24];

        (void) snprintf(s, sizeof(s), "%" PRIu64, v);
        put_field(b, name, s);
}

static void put_opt(Buf *b, const char *name, const char *value) {
        if (value)
                put_field(b, name, value);
}

static void put_hex(Buf *b, const char *name, const uint8_t *p, size_t n) {
        _cleanup_free_ char *h = hex_encode(p, n);

        if (!h)
                b->oom = true;
        else
                put_field(b, name, h);
}

static void put_base64(Buf *b, const char *name, const uint8_t *p, size_t n) {
        _cleanup_free_ char *e = b64_encode(p, n);

        if (!e)
                b->oom = true;
        else
                put_field(b, name, e);
}

static void put_security(Buf *b, const LaunchSpec *s) {
        const LaunchSecurity *ls = &s->security;
        uint64_t def = s->tee == CVM_TEE_TDX ? LAUNCH_TDX_ATTRIBUTES_DEFAULT : LAUNCH_SNP_POLICY_DEFAULT;
        char hex[24];

        /* a spelled-out default is the default */
        if (ls->has_policy && ls->policy != def) {
                (void) snprintf(hex, sizeof(hex), "0x%" PRIx64, ls->policy);
                put_field(b, "launch_security.policy", hex);
        }
        if (ls->id_block)
                put_base64(b, "launch_security.id_block", ls->id_block, LAUNCH_SNP_ID_BLOCK_SIZE);
        if (ls->id_auth)
                put_base64(b, "launch_security.id_auth", ls->id_auth, LAUNCH_SNP_ID_AUTH_SIZE);
        if (ls->author_key)
                put_field(b, "launch_security.author_key", "true");
        if (ls->vlek_only)
                put_field(b, "launch_security.vcek", "false");
        if (ls->has_mr_owner)
                put_hex(b, "launch_security.mr_owner", ls->mr_owner, LAUNCH_TDX_MR_OWNER_SIZE);
        if (ls->has_mr_owner_config)
                put_hex(b, "launch_security.mr_owner_config", ls->mr_owner_config, LAUNCH_TDX_MR_OWNER_SIZE);
}

int launch_spec_canonical(const LaunchSpec *s, uint8_t **ret, size_t *ret_size) {
        Buf b = {};
        char bdf[16];

        if (!s || !s->name || !s->policy || !cvm_tee_to_string(s->tee))
                return -EINVAL;
        buf_put(&b, LAUNCH_SPEC_CANONICAL_MAGIC, strlen(LAUNCH_SPEC_CANONICAL_MAGIC));
        put_field(&b, "name", s->name);
        put_field(&b, "tee", cvm_tee_to_string(s->tee));
        put_uint(&b, "vcpus", s->vcpus);
        put_uint(&b, "memory_mib", s->memory_mib);
        put_field(&b, "hugepage_size", s->hugepage_kib == 1048576 ? "1G" : "2M");
        for (size_t i = 0; i < s->n_gpus; i++)
                put_field(&b, "gpu", pci_address_format(&s->gpus[i], bdf, sizeof(bdf)));
        put_opt(&b, "boot.firmware", s->boot.firmware);
        put_opt(&b, "boot.kernel", s->boot.kernel);
        put_opt(&b, "boot.initrd", s->boot.initrd);
        put_opt(&b, "boot.cmdline", s->boot.cmdline);
        put_opt(&b, "boot.disk", s->boot.disk);
        if (s->boot.disk)
                put_field(&b, "boot.disk_format", launch_disk_format_to_string(s->boot.disk_format));
        put_field(&b, "policy", s->policy);
        for (size_t i = 0; i < s->n_key_ids; i++)
                put_field(&b, "key_id", s->key_ids[i]);
        if (s->vsock_cid != 0)
                put_uint(&b, "vsock_cid", s->vsock_cid);
        /* later keys, each only when given, so that the digests of specs without them stay */
        for (size_t i = 0; i < s->n_nvswitches; i++)
                put_field(&b, "nvswitch", pci_address_format(&s->nvswitches[i], bdf, sizeof(bdf)));
        if (s->shared_memory_mib)
                put_uint(&b, "shared_memory_mib", s->shared_memory_mib);
        if (s->network.kind != LAUNCH_NETWORK_NONE)
                put_field(&b, s->network.kind == LAUNCH_NETWORK_LIBVIRT ? "network.network" : "network.bridge",
                          s->network.source);
        put_security(&b, s);
        put_opt(&b, "boot.disk_verity_root_hash", s->boot.disk_verity_root_hash);
        if (b.oom) {
                free(b.p);
                return -ENOMEM;
        }
        *ret = b.p;
        *ret_size = b.n;
        return 0;
}

int launch_spec_digest(const LaunchSpec *s, uint8_t ret[LAUNCH_DIGEST_SIZE]) {
        _cleanup_free_ uint8_t *enc = NULL;
        unsigned len = 0;
        size_t n;
        int r;

        r = launch_spec_canonical(s, &enc, &n);
        if (r < 0)
                return r;
        if (EVP_Digest(enc, n, ret, &len, EVP_sha384(), NULL) != 1 || len != LAUNCH_DIGEST_SIZE)
                return -EIO;
        return 0;
}
