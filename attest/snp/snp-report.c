/* SPDX-License-Identifier: Apache-2.0 */
/* ATTESTATION_REPORT parsing (AMD SEV-SNP ABI, Table 23). Every field is read through the
 * bounded Reader at its fixed offset; reserved ranges must be zero. */
#include <stdio.h>
#include <string.h>

#include "cvm/reader.h"
#include "cvm/snp.h"
#include "cvm/util.h"

static const char *const product_names[_SNP_PRODUCT_MAX] = {
        [SNP_PRODUCT_MILAN] = "Milan",
        [SNP_PRODUCT_GENOA] = "Genoa",
        [SNP_PRODUCT_TURIN] = "Turin",
};

const char *snp_product_to_string(SnpProduct p) {
        return p >= 0 && p < _SNP_PRODUCT_MAX ? product_names[p] : NULL;
}

SnpProduct snp_product_from_string(const char *s) {
        for (int p = 0; p < _SNP_PRODUCT_MAX; p++)
                if (s && strcasecmp(s, product_names[p]) == 0)
                        return p;
        return _SNP_PRODUCT_INVALID;
}

/* Decodes a TCB_VERSION; the layout depends on the product family (spec §3). */
void snp_tcb_decode(const uint8_t raw[8], bool turin, SnpTcb *ret) {
        memcpy(ret->raw, raw, 8);
        ret->turin = turin;
        if (turin) {
                ret->fmc = raw[0];
                ret->bl = raw[1];
                ret->tee = raw[2];
                ret->snp = raw[3];
        } else {
                ret->fmc = 0;
                ret->bl = raw[0];
                ret->tee = raw[1];
                ret->snp = raw[6];
        }
        ret->ucode = raw[7];
}

/* Reserved TCB bytes: Milan/Genoa bytes 2-5, Turin bytes 4-6. */
static bool tcb_reserved_zero(const uint8_t raw[8], bool turin) {
        return turin ? memeqzero(raw + 4, 3) : memeqzero(raw + 2, 4);
}

typedef struct ReservedRange {
        size_t start, end; /* [start, end) */
        const char *what;
} ReservedRange;

static int check_reserved(const uint8_t *data, const ReservedRange *ranges, size_t n, char **ret_reason) {
        for (size_t i = 0; i < n; i++)
                for (size_t o = ranges[i].start; o < ranges[i].end; o++)
                        if (data[o] != 0)
                                return set_reason(ret_reason, -EBADMSG,
                                                  "reserved byte 0x%03zx (%s, 0x%03zx-0x%03zx) is 0x%02x, must be zero",
                                                  o, ranges[i].what, ranges[i].start, ranges[i].end - 1, data[o]);
        return 0;
}

static int read_tcb_raw(Reader *rd, uint8_t raw[8]) {
        return reader_copy(rd, raw, 8);
}

int snp_report_parse(const uint8_t *data, size_t size, SnpReport *ret, char **ret_reason) {
        _cleanup_free_ SnpReport *r = NULL;
        uint8_t current[8], reported[8], committed[8], launch[8];
        Reader rd = reader_init(data, size);
        unsigned signing_key;
        bool turin;
        int k = 0;

        if (size == 0)
                return set_reason(ret_reason, -EBADMSG, "report is empty; an SEV-SNP report is exactly %u bytes",
                                  SNP_REPORT_SIZE);
        if (size != SNP_REPORT_SIZE)
                return set_reason(ret_reason, -EBADMSG,
                                  "report is %zu bytes; an SEV-SNP report is exactly %u bytes (%s)", size,
                                  SNP_REPORT_SIZE, size < SNP_REPORT_SIZE ? "truncated" : "trailing data");
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        memcpy(r->raw, data, SNP_REPORT_SIZE);

        /* Sequential reads in layout order; each one bounded. Offsets in comments. */
        k |= reader_le32(&rd, &r->version);              /* 0x000 */
        k |= reader_le32(&rd, &r->guest_svn);            /* 0x004 */
        k |= reader_le64(&rd, &r->policy);               /* 0x008 */
        k |= reader_copy(&rd, r->family_id, 16);         /* 0x010 */
        k |= reader_copy(&rd, r->image_id, 16);          /* 0x020 */
        k |= reader_le32(&rd, &r->vmpl);                 /* 0x030 */
        k |= reader_le32(&rd, &r->signature_algo);       /* 0x034 */
        k |= read_tcb_raw(&rd, current);                 /* 0x038 */
        k |= reader_le64(&rd, &r->platform_info);        /* 0x040 */
        k |= reader_le32(&rd, &r->key_info);             /* 0x048 */
        k |= reader_skip(&rd, 4);                        /* 0x04C reserved */
        k |= reader_copy(&rd, r->report_data, 64);       /* 0x050 */
        k |= reader_copy(&rd, r->measurement, 48);       /* 0x090 */
        k |= reader_copy(&rd, r->host_data, 32);         /* 0x0C0 */
        k |= reader_copy(&rd, r->id_key_digest, 48);     /* 0x0E0 */
        k |= reader_copy(&rd, r->author_key_digest, 48); /* 0x110 */
        k |= reader_copy(&rd, r->report_id, 32);         /* 0x140 */
        k |= reader_copy(&rd, r->report_id_ma, 32);      /* 0x160 */
        k |= read_tcb_raw(&rd, reported);                /* 0x180 */
        k |= reader_u8(&rd, &r->cpuid_fam_id);           /* 0x188 */
        k |= reader_u8(&rd, &r->cpuid_mod_id);           /* 0x189 */
        k |= reader_u8(&rd, &r->cpuid_step);             /* 0x18A */
        k |= reader_skip(&rd, 21);                       /* 0x18B reserved */
        k |= reader_copy(&rd, r->chip_id, 64);           /* 0x1A0 */
        k |= read_tcb_raw(&rd, committed);               /* 0x1E0 */
        k |= reader_u8(&rd, &r->current_build);          /* 0x1E8 */
        k |= reader_u8(&rd, &r->current_minor);          /* 0x1E9 */
        k |= reader_u8(&rd, &r->current_major);          /* 0x1EA */
        k |= reader_skip(&rd, 1);                        /* 0x1EB reserved */
        k |= reader_u8(&rd, &r->committed_build);        /* 0x1EC */
        k |= reader_u8(&rd, &r->committed_minor);        /* 0x1ED */
        k |= reader_u8(&rd, &r->committed_major);        /* 0x1EE */
        k |= reader_skip(&rd, 1);                        /* 0x1EF reserved */
        k |= read_tcb_raw(&rd, launch);                  /* 0x1F0 */
        k |= reader_le64(&rd, &r->launch_mit_vector);    /* 0x1F8 */
        k |= reader_le64(&rd, &r->current_mit_vector);   /* 0x200 */
        k |= reader_seek(&rd, 0x2A0);                    /* 0x208 reserved */
        k |= reader_copy(&rd, r->signature_r, 72);       /* 0x2A0 */
        k |= reader_copy(&rd, r->signature_s, 72);       /* 0x2E8 */
        if (k != 0 || rd.off != 0x330)
                return set_reason(ret_reason, -EBADMSG, "report layout could not be read");

        if (r->version < 2 || r->version > 5)
                return set_reason(ret_reason, -EBADMSG, "unknown report VERSION %u (supported: 2, 3, 5)", r->version);
        if (r->version == 4)
                /* AMD has not published the v4 layout; guessing it would be verifying bytes we
                 * cannot interpret. */
                return set_reason(ret_reason, -EBADMSG,
                                  "report VERSION 4 has no published layout (supported: 2, 3, 5)");
        r->has_cpuid = r->version >= 3;
        r->has_mit_vectors = r->version >= 5;

        if (r->signature_algo != 1)
                return set_reason(ret_reason, -EBADMSG,
                                  "SIGNATURE_ALGO is %u; only 1 (ECDSA P-384 with SHA-384) is defined",
                                  r->signature_algo);
        if (r->vmpl > 3)
                return set_reason(ret_reason, -EBADMSG, "VMPL is %u; valid levels are 0-3", r->vmpl);
        if (!(r->policy & SNP_POLICY_RESERVED_1))
                return set_reason(ret_reason, -EBADMSG, "POLICY 0x%llx: bit 17 is reserved and must be 1",
                                  (unsigned long long) r->policy);
        if (r->policy >> 26)
                return set_reason(ret_reason, -EBADMSG, "POLICY 0x%llx: reserved bits 63:26 must be zero",
                                  (unsigned long long) r->policy);
        if (r->key_info >> 5)
                return set_reason(ret_reason, -EBADMSG, "KEY_INFO 0x%x: reserved bits 31:5 must be zero", r->key_info);
        signing_key = (r->key_info >> 2) & 7;
        if (signing_key != SNP_SIGNING_KEY_VCEK && signing_key != SNP_SIGNING_KEY_VLEK &&
            signing_key != SNP_SIGNING_KEY_NONE)
                return set_reason(ret_reason, -EBADMSG, "KEY_INFO SIGNING_KEY %u is reserved (0 VCEK, 1 VLEK, 7 none)",
                                  signing_key);

        {
                const ReservedRange common[] = {
                        {0x04C, 0x050, "after KEY_INFO"},
                        {0x1EB, 0x1EC, "after CURRENT_MAJOR"},
                        {0x1EF, 0x1F0, "after COMMITTED_MAJOR"},
                        {0x2A0 + 48, 0x2A0 + 72, "SIGNATURE R high bytes"},
                        {0x2E8 + 48, 0x2E8 + 72, "SIGNATURE S high bytes"},
                        {0x330, 0x4A0, "after SIGNATURE"},
                };
                const ReservedRange v2[] = {{0x188, 0x1A0, "v2 CPUID area"}, {0x1F8, 0x2A0, "v2-v4 tail"}};
                const ReservedRange v3[] = {{0x18B, 0x1A0, "after CPUID_STEP"}, {0x1F8, 0x2A0, "v2-v4 tail"}};
                const ReservedRange v5[] = {{0x18B, 0x1A0, "after CPUID_STEP"}, {0x208, 0x2A0, "v5 tail"}};
                int q = check_reserved(data, common, ELEMENTSOF(common), ret_reason);
                if (q < 0)
                        return q;
                q = r->version == 2   ? check_reserved(data, v2, ELEMENTSOF(v2), ret_reason)
                    : r->version == 5 ? check_reserved(data, v5, ELEMENTSOF(v5), ret_reason)
                                      : check_reserved(data, v3, ELEMENTSOF(v3), ret_reason);
                if (q < 0)
                        return q;
        }
        if (!r->has_cpuid)
                r->cpuid_fam_id = r->cpuid_mod_id = r->cpuid_step = 0;

        /* Turin encodes TCB_VERSION differently. v3+ says so through CPUID family 0x1A; a v2
         * report can only hint at it through the 8-byte CHIP_ID Turin uses. */
        if (r->has_cpuid)
                turin = r->cpuid_fam_id == 0x1A;
        else
                turin = !memeqzero(r->chip_id, 8) && memeqzero(r->chip_id + 8, 56);

        {
                const struct {
                        const uint8_t *raw;
                        const char *name;
                } tcbs[] = {{current, "CURRENT_TCB"},
                            {reported, "REPORTED_TCB"},
                            {committed, "COMMITTED_TCB"},
                            {launch, "LAUNCH_TCB"}};
                for (size_t i = 0; i < ELEMENTSOF(tcbs); i++)
                        if (!tcb_reserved_zero(tcbs[i].raw, turin))
                                return set_reason(ret_reason, -EBADMSG, "%s has non-zero reserved bytes (%s layout)",
                                                  tcbs[i].name, turin ? "Turin" : "Milan/Genoa");
        }
        snp_tcb_decode(current, turin, &r->current_tcb);
        snp_tcb_decode(reported, turin, &r->reported_tcb);
        snp_tcb_decode(committed, turin, &r->committed_tcb);
        snp_tcb_decode(launch, turin, &r->launch_tcb);

        *ret = *r;
        return 0;
}

void snp_report_set_turin(SnpReport *r, bool turin) {
        SnpTcb *tcbs[] = {&r->current_tcb, &r->reported_tcb, &r->committed_tcb, &r->launch_tcb};

        for (size_t i = 0; i < ELEMENTSOF(tcbs); i++) {
                uint8_t raw[8];
                memcpy(raw, tcbs[i]->raw, 8);
                snp_tcb_decode(raw, turin, tcbs[i]);
        }
}

SnpSigningKey snp_report_signing_key(const SnpReport *r) {
        return (SnpSigningKey) ((r->key_info >> 2) & 7);
}

bool snp_report_is_turin(const SnpReport *r) {
        return r->reported_tcb.turin;
}

int snp_report_product(const SnpReport *r, SnpProduct *ret) {
        uint8_t fam = r->cpuid_fam_id, mod = r->cpuid_mod_id;

        if (!r->has_cpuid)
                return -ENOENT;
        /* Family/model mapping as used by AMD's KDS product names (spec §7). Bergamo and Siena
         * (Genoa models 0xA0-0xAF) are certified under "Genoa". */
        if (fam == 0x19 && mod <= 0x0F)
                *ret = SNP_PRODUCT_MILAN;
        else if (fam == 0x19 && ((mod >= 0x10 && mod <= 0x1F) || (mod >= 0xA0 && mod <= 0xAF)))
                *ret = SNP_PRODUCT_GENOA;
        else if (fam == 0x1A && mod <= 0x11)
                *ret = SNP_PRODUCT_TURIN;
        else
                return -EOPNOTSUPP;
        return 0;
}

static void add_hex(json_object *o, const char *key, const void *p, size_t n) {
        _cleanup_free_ char *h = hex_encode(p, n);

        json_object_object_add(o, key, h ? json_object_new_string(h) : NULL);
}

static void add_hex_u64(json_object *o, const char *key, uint64_t v) {
        char buf[24];

        snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long) v);
        json_object_object_add(o, key, json_object_new_string(buf));
}

static json_object *tcb_claims(const SnpTcb *t) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (t->turin)
                json_object_object_add(o, "fmc", json_object_new_int(t->fmc));
        json_object_object_add(o, "bl", json_object_new_int(t->bl));
        json_object_object_add(o, "tee", json_object_new_int(t->tee));
        json_object_object_add(o, "snp", json_object_new_int(t->snp));
        json_object_object_add(o, "ucode", json_object_new_int(t->ucode));
        add_hex(o, "raw", t->raw, 8);
        return o;
}

static json_object *bits_claims(const char *const names[], size_t n, uint64_t value) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (names[i])
                        json_object_object_add(o, names[i], json_object_new_boolean((value >> i) & 1));
        return o;
}

json_object *snp_report_claims(const SnpReport *r) {
        static const char *const policy_bits[] = {
                [16] = "smt",           [18] = "migrate_ma",        [19] = "debug",
                [20] = "single_socket", [21] = "cxl_allow",         [22] = "mem_aes_256_xts",
                [23] = "rapl_dis",      [24] = "ciphertext_hiding", [25] = "page_swap_disable",
        };
        static const char *const platform_bits[] = {
                "smt_en",
                "tsme_en",
                "ecc_en",
                "rapl_dis",
                "ciphertext_hiding_en",
                "alias_check_complete",
                NULL /* bit 6: reserved in ABI 1.58, set on Turin */,
                "tio_en",
        };
        static const char *const signing_keys[8] = {[0] = "VCEK", [1] = "VLEK", [7] = "NONE"};
        json_object *o = json_object_new_object();
        char fw[16];

        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_int64(r->version));
        json_object_object_add(o, "guest_svn", json_object_new_int64(r->guest_svn));
        add_hex_u64(o, "policy", r->policy);
        {
                json_object *p = bits_claims(policy_bits, ELEMENTSOF(policy_bits), r->policy);
                if (p) {
                        json_object_object_add(p, "abi_major", json_object_new_int((int) ((r->policy >> 8) & 0xff)));
                        json_object_object_add(p, "abi_minor", json_object_new_int((int) (r->policy & 0xff)));
                }
                json_object_object_add(o, "policy_flags", p);
        }
        add_hex(o, "family_id", r->family_id, 16);
        add_hex(o, "image_id", r->image_id, 16);
        json_object_object_add(o, "vmpl", json_object_new_int64(r->vmpl));
        json_object_object_add(o, "signature_algo", json_object_new_int64(r->signature_algo));
        json_object_object_add(o, "current_tcb", tcb_claims(&r->current_tcb));
        add_hex_u64(o, "platform_info", r->platform_info);
        json_object_object_add(o, "platform_flags",
                               bits_claims(platform_bits, ELEMENTSOF(platform_bits), r->platform_info));
        add_hex_u64(o, "key_info", r->key_info);
        json_object_object_add(o, "author_key_en", json_object_new_boolean(r->key_info & 1));
        json_object_object_add(o, "mask_chip_key", json_object_new_boolean((r->key_info >> 1) & 1));
        {
                const char *sk = signing_keys[snp_report_signing_key(r)];
                json_object_object_add(o, "signing_key", json_object_new_string(sk ? sk : "reserved"));
        }
        add_hex(o, "report_data", r->report_data, 64);
        add_hex(o, "measurement", r->measurement, 48);
        add_hex(o, "host_data", r->host_data, 32);
        add_hex(o, "id_key_digest", r->id_key_digest, 48);
        add_hex(o, "author_key_digest", r->author_key_digest, 48);
        add_hex(o, "report_id", r->report_id, 32);
        add_hex(o, "report_id_ma", r->report_id_ma, 32);
        json_object_object_add(o, "reported_tcb", tcb_claims(&r->reported_tcb));
        if (r->has_cpuid) {
                json_object_object_add(o, "cpuid_fam_id", json_object_new_int(r->cpuid_fam_id));
                json_object_object_add(o, "cpuid_mod_id", json_object_new_int(r->cpuid_mod_id));
                json_object_object_add(o, "cpuid_step", json_object_new_int(r->cpuid_step));
        }
        add_hex(o, "chip_id", r->chip_id, 64);
        json_object_object_add(o, "committed_tcb", tcb_claims(&r->committed_tcb));
        snprintf(fw, sizeof(fw), "%u.%u.%u", r->current_major, r->current_minor, r->current_build);
        json_object_object_add(o, "current_firmware", json_object_new_string(fw));
        snprintf(fw, sizeof(fw), "%u.%u.%u", r->committed_major, r->committed_minor, r->committed_build);
        json_object_object_add(o, "committed_firmware", json_object_new_string(fw));
        json_object_object_add(o, "launch_tcb", tcb_claims(&r->launch_tcb));
        if (r->has_mit_vectors) {
                add_hex_u64(o, "launch_mit_vector", r->launch_mit_vector);
                add_hex_u64(o, "current_mit_vector", r->current_mit_vector);
        }
        add_hex(o, "signature_r", r->signature_r, 72);
        add_hex(o, "signature_s", r->signature_s, 72);
        return o;
}
