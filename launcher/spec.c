/* SPDX-License-Identifier: Apache-2.0 */
/* The launch spec: strict JSON parsing with field-naming errors, and the canonical encoding the
 * launch digest is computed over. The format is described in README.md "Launch spec".
 *
 * json-c parses (JSON_TOKENER_STRICT, UTF-8 validated, bounded depth); the input must be one
 * value with nothing after it and no NUL byte. Keys json-c would merge (duplicates) are not
 * detected here. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/json-strict.h"
#include "cvm/launch-spec.h"
#include "cvm/util.h"

#define SPEC_JSON_DEPTH 8
#define SPEC_ID_MAX 255u

DEFINE_CLEANUP(json_tokener *, json_tokener_free)
DEFINE_CLEANUP(json_object *, json_object_put)

static const char *const tee_names[_LAUNCH_TEE_MAX] = {
        [LAUNCH_TEE_SEV_SNP] = "sev-snp",
        [LAUNCH_TEE_TDX] = "tdx",
        [LAUNCH_TEE_NONE] = "none",
};

static const char *const disk_format_names[_LAUNCH_DISK_FORMAT_MAX] = {
        [LAUNCH_DISK_RAW] = "raw",
        [LAUNCH_DISK_QCOW2] = "qcow2",
};

const char *launch_tee_to_string(LaunchTee t) {
        return t >= 0 && t < _LAUNCH_TEE_MAX ? tee_names[t] : NULL;
}

LaunchTee launch_tee_from_string(const char *s) {
        for (int i = 0; s && i < _LAUNCH_TEE_MAX; i++)
                if (streq(s, tee_names[i]))
                        return (LaunchTee) i;
        return _LAUNCH_TEE_INVALID;
}

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
        free(s->boot.firmware);
        free(s->boot.kernel);
        free(s->boot.initrd);
        free(s->boot.cmdline);
        free(s->boot.disk);
        free(s->policy);
        for (size_t i = 0; i < s->n_key_ids; i++)
                free(s->key_ids[i]);
        free(s->key_ids);
        free(s);
        return NULL;
}

/* ---- messages ---- */

_printf_(3, 4) static int spec_error(char **reason, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!msg)
                return -ENOMEM;
        free(*reason);
        *reason = path && path[0] ? strdup_printf("%s: %s", path, msg) : TAKE_PTR(msg);
        return *reason ? -EINVAL : -ENOMEM;
}

/* A printable, shortened copy of untrusted text for a message. */
static char *escape(const char *s) {
        size_t len = strlen(s), show = len > 64 ? 64 : len;
        char *out = malloc(show * 4 + 4), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < show; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
                        o += sprintf(o, "\\x%02x", c);
                else
                        *o++ = (char) c;
        }
        if (show < len)
                o = stpcpy(o, "...");
        *o = '\0';
        return out;
}

/* ---- typed readers ---- */

static int read_uint(json_object *v, const char *path, uint64_t min, uint64_t max, uint64_t *ret, char **reason) {
        int64_t i;

        if (!json_object_is_type(v, json_type_int))
                return spec_error(reason, path, "expected an integer from %" PRIu64 " to %" PRIu64 ", got %s", min,
                                  max, json_type_name(v));
        i = json_object_get_int64(v);
        if (i < 0 || (uint64_t) i < min || (uint64_t) i > max)
                return spec_error(reason, path, "expected an integer from %" PRIu64 " to %" PRIu64 ", got %s", min,
                                  max, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        *ret = (uint64_t) i;
        return 0;
}

static int read_string(json_object *v, const char *path, size_t max_len, const char **ret, char **reason) {
        const char *s;
        size_t len;

        if (!json_object_is_type(v, json_type_string))
                return spec_error(reason, path, "expected a string, got %s", json_type_name(v));
        s = json_object_get_string(v);
        len = (size_t) json_object_get_string_len(v);
        if (len == 0)
                return spec_error(reason, path, "must not be empty");
        if (len > max_len)
                return spec_error(reason, path, "is %zu bytes long, longer than the maximum of %zu", len, max_len);
        if (strlen(s) != len)
                return spec_error(reason, path, "contains a NUL character");
        *ret = s;
        return 0;
}

/* Names, policy names and key IDs: [A-Za-z0-9], then [A-Za-z0-9._-] (key IDs also ':' and '/'). */
static int read_identifier(json_object *v, const char *path, size_t max_len, const char *extra, char **ret,
                           char **reason) {
        const char *s;
        char *copy;
        int r;

        r = read_string(v, path, max_len, &s, reason);
        if (r < 0)
                return r;
        for (const char *p = s; *p; p++) {
                bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
                if (alnum || (p != s && (strchr("._-", *p) || (extra && strchr(extra, *p)))))
                        continue;
                _cleanup_free_ char *e = escape(s);
                if (!e)
                        return -ENOMEM;
                return spec_error(reason, path,
                                  "\"%s\" is not allowed: use letters, digits and %s, starting with a letter or digit",
                                  e, extra ? "'.', '_', '-', ':', '/'" : "'.', '_', '-'");
        }
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

/* An absolute path of printable ASCII without "..", for images and firmware. */
static int read_path(json_object *v, const char *path, char **ret, char **reason) {
        const char *s;
        char *copy;
        int r;

        r = read_string(v, path, LAUNCH_SPEC_PATH_MAX, &s, reason);
        if (r < 0)
                return r;
        if (s[0] != '/')
                return spec_error(reason, path, "expected an absolute path");
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f || *p == ',')
                        return spec_error(reason, path,
                                          "contains a control, non-ASCII or ',' character at offset %zu",
                                          (size_t) (p - s));
        for (const char *p = s; (p = strstr(p, "/..")); p += 3)
                if (p[3] == '/' || p[3] == '\0')
                        return spec_error(reason, path, "must not contain a \"..\" component");
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static int read_array(json_object *v, const char *path, size_t max_n, size_t *ret_n, char **reason) {
        size_t n;

        if (!json_object_is_type(v, json_type_array))
                return spec_error(reason, path, "expected an array, got %s", json_type_name(v));
        n = json_object_array_length(v);
        if (n > max_n)
                return spec_error(reason, path, "has %zu elements, more than the maximum of %zu", n, max_n);
        *ret_n = n;
        return 0;
}

static int expect_object(json_object *v, const char *path, char **reason) {
        if (!json_object_is_type(v, json_type_object))
                return spec_error(reason, path, "expected an object, got %s", json_type_name(v));
        return 0;
}

static char *path_key(const char *path, const char *key) {
        _cleanup_free_ char *k = escape(key);

        if (!k)
                return NULL;
        return path[0] ? strdup_printf("%s.%s", path, k) : TAKE_PTR(k);
}

/* ---- fields ---- */

static int parse_gpus(json_object *v, LaunchSpec *s, char **reason) {
        size_t n;
        int r;

        r = read_array(v, "gpus", LAUNCH_SPEC_GPUS_MAX, &n, reason);
        if (r < 0)
                return r;
        s->gpus = calloc(n ? n : 1, sizeof(PciAddress));
        if (!s->gpus)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = strdup_printf("gpus[%zu]", i);
                json_object *e = json_object_array_get_idx(v, i);
                const char *str;
                PciAddress a;

                if (!p)
                        return -ENOMEM;
                r = read_string(e, p, 64, &str, reason);
                if (r < 0)
                        return r;
                if (pci_address_parse(str, &a) < 0) {
                        _cleanup_free_ char *es = escape(str);
                        if (!es)
                                return -ENOMEM;
                        return spec_error(reason, p,
                                          "\"%s\" is not a PCI address of the form dddd:bb:ss.f (slot <= 1f, function <= 7)",
                                          es);
                }
                for (size_t k = 0; k < s->n_gpus; k++)
                        if (pci_address_equal(&s->gpus[k], &a))
                                return spec_error(reason, p, "%s is listed twice", str);
                s->gpus[s->n_gpus++] = a;
        }
        return 0;
}

static int parse_key_ids(json_object *v, LaunchSpec *s, char **reason) {
        size_t n;
        int r;

        r = read_array(v, "key_ids", LAUNCH_SPEC_KEY_IDS_MAX, &n, reason);
        if (r < 0)
                return r;
        s->key_ids = calloc(n ? n : 1, sizeof(char *));
        if (!s->key_ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = strdup_printf("key_ids[%zu]", i);
                char *id = NULL;

                if (!p)
                        return -ENOMEM;
                r = read_identifier(json_object_array_get_idx(v, i), p, SPEC_ID_MAX, ":/", &id, reason);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < s->n_key_ids; k++)
                        if (streq(s->key_ids[k], id)) {
                                r = spec_error(reason, p, "\"%s\" is listed twice", id);
                                free(id);
                                return r;
                        }
                s->key_ids[s->n_key_ids++] = id;
        }
        return 0;
}

static int parse_boot(json_object *v, LaunchSpec *s, char **reason) {
        LaunchBoot *b = &s->boot;
        int r;

        r = expect_object(v, "boot", reason);
        if (r < 0)
                return r;
        json_object_object_foreach(v, key, val) {
                _cleanup_free_ char *p = path_key("boot", key);
                if (!p)
                        return -ENOMEM;
                if (streq(key, "firmware"))
                        r = read_path(val, p, &b->firmware, reason);
                else if (streq(key, "kernel"))
                        r = read_path(val, p, &b->kernel, reason);
                else if (streq(key, "initrd"))
                        r = read_path(val, p, &b->initrd, reason);
                else if (streq(key, "disk"))
                        r = read_path(val, p, &b->disk, reason);
                else if (streq(key, "cmdline")) {
                        const char *c;
                        r = read_string(val, p, LAUNCH_SPEC_CMDLINE_MAX, &c, reason);
                        if (r < 0)
                                return r;
                        for (const char *q = c; *q; q++)
                                if ((unsigned char) *q < 0x20 || (unsigned char) *q >= 0x7f)
                                        return spec_error(reason, p,
                                                          "contains a control or non-ASCII character at offset %zu",
                                                          (size_t) (q - c));
                        b->cmdline = strdup(c);
                        if (!b->cmdline)
                                return -ENOMEM;
                } else if (streq(key, "disk_format")) {
                        const char *f;
                        r = read_string(val, p, 16, &f, reason);
                        if (r < 0)
                                return r;
                        if (streq(f, "raw"))
                                b->disk_format = LAUNCH_DISK_RAW;
                        else if (streq(f, "qcow2"))
                                b->disk_format = LAUNCH_DISK_QCOW2;
                        else
                                return spec_error(reason, p, "expected \"raw\" or \"qcow2\"");
                } else
                        return spec_error(reason, p, "unknown key");
                if (r < 0)
                        return r;
        }
        if (!b->kernel && (b->initrd || b->cmdline))
                return spec_error(reason, b->initrd ? "boot.initrd" : "boot.cmdline",
                                  "only valid with boot.kernel (direct kernel boot)");
        if (!b->kernel && !b->disk)
                return spec_error(reason, "boot", "needs boot.kernel (direct boot) or boot.disk");
        if (json_object_object_get_ex(v, "disk_format", NULL) && !b->disk)
                return spec_error(reason, "boot.disk_format", "only valid with boot.disk");
        return 0;
}

static int parse_top(json_object *root, LaunchSpec *s, char **reason) {
        static const char *const required[] = { "name", "tee", "vcpus", "memory_mib", "boot", "policy" };
        uint64_t u;
        int r;

        r = expect_object(root, "", reason);
        if (r < 0)
                return spec_error(reason, NULL, "the launch spec must be a JSON object, got %s", json_type_name(root));

        json_object_object_foreach(root, key, val) {
                if (streq(key, "name"))
                        r = read_identifier(val, "name", LAUNCH_SPEC_NAME_MAX, NULL, &s->name, reason);
                else if (streq(key, "tee")) {
                        const char *t;
                        r = read_string(val, "tee", 16, &t, reason);
                        if (r < 0)
                                return r;
                        s->tee = launch_tee_from_string(t);
                        if (s->tee < 0)
                                return spec_error(reason, "tee", "expected \"sev-snp\", \"tdx\" or \"none\"");
                } else if (streq(key, "vcpus")) {
                        r = read_uint(val, "vcpus", 1, LAUNCH_SPEC_VCPUS_MAX, &u, reason);
                        s->vcpus = (unsigned) u;
                } else if (streq(key, "memory_mib"))
                        r = read_uint(val, "memory_mib", LAUNCH_SPEC_MEMORY_MIB_MIN, LAUNCH_SPEC_MEMORY_MIB_MAX,
                                      &s->memory_mib, reason);
                else if (streq(key, "hugepage_size")) {
                        const char *h;
                        r = read_string(val, "hugepage_size", 8, &h, reason);
                        if (r < 0)
                                return r;
                        if (streq(h, "2M"))
                                s->hugepage_kib = 2048;
                        else if (streq(h, "1G"))
                                s->hugepage_kib = 1048576;
                        else
                                return spec_error(reason, "hugepage_size", "expected \"2M\" or \"1G\"");
                } else if (streq(key, "gpus"))
                        r = parse_gpus(val, s, reason);
                else if (streq(key, "boot"))
                        r = parse_boot(val, s, reason);
                else if (streq(key, "policy"))
                        r = read_identifier(val, "policy", SPEC_ID_MAX, NULL, &s->policy, reason);
                else if (streq(key, "key_ids"))
                        r = parse_key_ids(val, s, reason);
                else if (streq(key, "vsock_cid")) {
                        r = read_uint(val, "vsock_cid", LAUNCH_SPEC_VSOCK_CID_MIN, LAUNCH_SPEC_VSOCK_CID_MAX, &u,
                                      reason);
                        s->vsock_cid = (uint32_t) u;
                } else {
                        _cleanup_free_ char *p = path_key("", key);
                        return p ? spec_error(reason, p, "unknown key") : -ENOMEM;
                }
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!json_object_object_get_ex(root, required[i], NULL))
                        return spec_error(reason, required[i], "missing (required)");
        /* Memory is made of whole hugepages. */
        if ((s->memory_mib * 1024) % s->hugepage_kib != 0)
                return spec_error(reason, "memory_mib", "%" PRIu64 " MiB is not a whole number of %s pages",
                                  s->memory_mib, s->hugepage_kib == 2048 ? "2 MiB" : "1 GiB");
        return 0;
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
        s->tee = _LAUNCH_TEE_INVALID;
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

int launch_spec_canonical(const LaunchSpec *s, uint8_t **ret, size_t *ret_size) {
        Buf b = {};
        char bdf[16];

        if (!s || !s->name || !s->policy || !launch_tee_to_string(s->tee))
                return -EINVAL;
        buf_put(&b, LAUNCH_SPEC_CANONICAL_MAGIC, strlen(LAUNCH_SPEC_CANONICAL_MAGIC));
        put_field(&b, "name", s->name);
        put_field(&b, "tee", launch_tee_to_string(s->tee));
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
