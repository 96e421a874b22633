/* SPDX-License-Identifier: Apache-2.0 */
/* Launch-measurement cases ($CVM_VECTORS/measure, its README says which must match): SEV-SNP
 * launch digests, refusals, OVMF hashes, ID blocks and the digest's building blocks; TDX MRTD,
 * CC event log replays (against the quote where one is given) and event digests. Cases marked
 * runnable false, and the SEV and SEV-ES modes cvmd does not launch, are counted as skipped. */
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>

#include "cvm/cleanup.h"
#include "cvm/measure-files.h"
#include "cvm/tdx.h"
#include "cvm/util.h"
#include "vectors.h"

typedef enum Outcome {
        OUTCOME_PASS,
        OUTCOME_FAIL,
        OUTCOME_SKIP,
} Outcome;

typedef struct Case {
        const char *dir;
        json_object *inputs;
        json_object *expected;
        char why[1024];
} Case;

static const char *in_str(const Case *c, const char *key) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(c->inputs, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* An integer input given as a number or as a "0x..." string; false when absent or null. */
static bool in_u64(const Case *c, const char *key, uint64_t *ret) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(c->inputs, key, &v) || !v)
                return false;
        if (json_object_is_type(v, json_type_int)) {
                *ret = (uint64_t) json_object_get_int64(v);
                return true;
        }
        if (json_object_is_type(v, json_type_string)) {
                char *end;
                errno = 0;
                *ret = strtoull(json_object_get_string(v), &end, 0);
                return errno == 0 && *end == 0;
        }
        return false;
}

static const char *want_str(const Case *c, const char *key) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(c->expected, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* A case's own file, or "/dev/null" as upstream passed it. */
static char *case_file(const Case *c, const char *name) {
        if (!name)
                return NULL;
        if (streq(name, "/dev/null"))
                return strdup(name);
        return strdup_printf("%s/%s", c->dir, name);
}

/* Compares bytes with the expected hex of key (absent: nothing to compare). */
static Outcome match_hex(Case *c, const char *key, const uint8_t *got, size_t n) {
        _cleanup_free_ char *hex = hex_encode(got, n);
        const char *want = want_str(c, key);

        if (!want)
                return OUTCOME_PASS;
        if (hex && strcasecmp(hex, want) == 0)
                return OUTCOME_PASS;
        snprintf(c->why, sizeof(c->why), "%s is %s, expected %s", key, hex ? hex : "?", want);
        return OUTCOME_FAIL;
}

static Outcome fail(Case *c, const char *what, const char *reason) {
        snprintf(c->why, sizeof(c->why), "%s: %s", what, reason ? reason : "failed");
        return OUTCOME_FAIL;
}

static Outcome skip(Case *c, const char *why) {
        snprintf(c->why, sizeof(c->why), "%s", why);
        return OUTCOME_SKIP;
}

/* The SNP inputs as the launch would give them. */
static Outcome snp_files(Case *c, SnpMeasureFiles *f, char **paths /* 4 to free */) {
        const char *vmm = in_str(c, "vmm"), *type = in_str(c, "vcpu_type");
        uint64_t v;

        f->vmm = snp_vmm_from_string(vmm ? vmm : "qemu");
        if (f->vmm < 0)
                return fail(c, "vmm", vmm);
        f->vcpus = in_u64(c, "vcpus", &v) ? (unsigned) v : 1;
        if (in_u64(c, "vcpu_sig", &v))
                f->vcpu_sig = (uint32_t) v;
        else if (type && snp_cpu_signature_of_model(type, &f->vcpu_sig) < 0)
                return fail(c, "vcpu_type", type);
        f->guest_features = in_u64(c, "guest_features", &v) ? v : 1;
        paths[0] = case_file(c, in_str(c, "firmware"));
        paths[1] = case_file(c, in_str(c, "kernel"));
        paths[2] = case_file(c, in_str(c, "initrd"));
        paths[3] = case_file(c, in_str(c, "svsm"));
        f->firmware = paths[0];
        f->kernel = paths[1];
        f->initrd = paths[2];
        f->append = f->kernel ? in_str(c, "append") : NULL;
        f->svsm = paths[3];
        f->vars_size = in_u64(c, "ovmf_vars_size", &v) ? v : 0;
        return f->firmware ? OUTCOME_PASS : fail(c, "inputs", "no firmware");
}

/* dstack-mr's precomputed style: a seed, the metadata sections and hashes as numbers. */
static Outcome snp_precomputed(Case *c) {
        const char *cmdline = in_str(c, "base_cmdline"), *seed_hex = in_str(c, "ovmf_hash");
        _cleanup_free_ char *reason = NULL, *trimmed = NULL;
        uint8_t seed[SNP_LD_SIZE], bsp[OVMF_PAGE_SIZE], ap[OVMF_PAGE_SIZE];
        json_object *sections = NULL;
        SnpKernelHashes kh = {};
        OvmfImage img = {};
        uint64_t v, vcpus, features, eip;
        uint32_t sig;
        SnpGctx g;

        if (!cmdline || !seed_hex || hex_decode_exact(seed_hex, seed, sizeof(seed)) < 0 ||
            !in_str(c, "kernel_hash") || hex_decode_exact(in_str(c, "kernel_hash"), kh.kernel, 32) < 0 ||
            !in_str(c, "initrd_hash") || hex_decode_exact(in_str(c, "initrd_hash"), kh.initrd, 32) < 0 ||
            !in_u64(c, "sev_hashes_table_gpa", &v) || !in_u64(c, "vcpus", &vcpus) ||
            !in_u64(c, "guest_features", &features) || !in_u64(c, "sev_es_reset_eip", &eip) ||
            !json_object_object_get_ex(c->inputs, "ovmf_sections", &sections) ||
            snp_cpu_signature_of_model(in_str(c, "vcpu_type"), &sig) < 0)
                return fail(c, "inputs", "precomputed inputs incomplete");
        img.have_hashes_table = true;
        img.hashes_table_gpa = (uint32_t) v;
        for (size_t i = 0; i < json_object_array_length(sections) && i < OVMF_SECTIONS_MAX; i++) {
                json_object *s = json_object_array_get_idx(sections, i), *gpa, *size, *type;
                if (!json_object_object_get_ex(s, "gpa", &gpa) || !json_object_object_get_ex(s, "size", &size) ||
                    !json_object_object_get_ex(s, "section_type", &type))
                        return fail(c, "inputs", "section incomplete");
                img.sev_sections[i] = (OvmfSevSection) { (uint32_t) json_object_get_int64(gpa),
                                                         (uint32_t) json_object_get_int64(size),
                                                         (uint32_t) json_object_get_int64(type) };
                img.n_sev_sections = i + 1;
        }
        /* dstack trims the command line before QEMU appends its NUL */
        trimmed = strdup(cmdline);
        if (!trimmed)
                return fail(c, "inputs", "out of memory");
        for (size_t n = strlen(trimmed); n > 0 && (trimmed[n - 1] == ' ' || trimmed[n - 1] == '\n'); n--)
                trimmed[n - 1] = 0;
        if (snp_cmdline_digest(trimmed, kh.cmdline) < 0)
                return fail(c, "cmdline", "digest failed");
        snp_gctx_init(&g, seed);
        if (snp_measure_metadata(&g, &img, SNP_VMM_QEMU, &kh, &reason) < 0)
                return fail(c, "metadata", reason);
        snp_vmsa_build(SNP_VMM_QEMU, SNP_BSP_EIP, sig, features, false, bsp);
        snp_vmsa_build(SNP_VMM_QEMU, (uint32_t) eip, sig, features, false, ap);
        for (uint64_t i = 0; i < vcpus; i++)
                if (snp_gctx_update_vmsa(&g, i == 0 ? bsp : ap) < 0)
                        return fail(c, "vmsa", "digest failed");
        return match_hex(c, "measurement", g.ld, SNP_LD_SIZE);
}

static Outcome snp_launch(Case *c, bool expect_error) {
        const char *mode = in_str(c, "mode"), *input_style = in_str(c, "input_style"),
                   *ovmf_hash = in_str(c, "snp_ovmf_hash");
        _cleanup_free_ char *reason = NULL;
        char *paths[4] = {};
        uint8_t seed[SNP_LD_SIZE];
        SnpMeasureFiles f = {};
        SnpMeasurement m;
        Outcome o;
        int r;

        if (input_style && streq(input_style, "precomputed"))
                return snp_precomputed(c);
        if (!expect_error && (!mode || (!streq(mode, "snp") && !streq(mode, "snp:svsm"))))
                return skip(c, "SEV and SEV-ES launches are outside cvmd's scope");
        o = snp_files(c, &f, paths);
        if (o == OUTCOME_PASS && ovmf_hash) {
                if (hex_decode_exact(ovmf_hash, seed, sizeof(seed)) < 0)
                        o = fail(c, "snp_ovmf_hash", ovmf_hash);
                f.ovmf_hash = seed;
        }
        if (o == OUTCOME_PASS) {
                r = snp_measure_files(&f, &m, NULL, &reason);
                if (expect_error) {
                        if (r >= 0)
                                o = fail(c, "expected a refusal", "the measurement was computed");
                        else
                                snprintf(c->why, sizeof(c->why), "refused: %s", reason ? reason : "?");
                } else if (r < 0)
                        o = fail(c, "measure", reason);
                else {
                        o = match_hex(c, "measurement", m.measurement, SNP_LD_SIZE);
                        if (o == OUTCOME_PASS)
                                o = match_hex(c, "ovmf_hash", m.ovmf_hash, SNP_LD_SIZE);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                free(paths[i]);
        return o;
}

static Outcome snp_ovmf_hash_case(Case *c) {
        _cleanup_free_ char *path = case_file(c, in_str(c, "firmware")), *reason = NULL;
        _cleanup_free_ uint8_t *fw = NULL;
        json_object *parsed = NULL, *sections = NULL, *want;
        uint8_t hash[SNP_LD_SIZE];
        OvmfImage img;
        size_t size;
        Outcome o;

        if (!path || measure_read_firmware(path, &fw, &size, &reason) < 0 || snp_ovmf_hash(fw, size, hash, &reason) < 0)
                return fail(c, "firmware", reason);
        o = match_hex(c, "ovmf_hash", hash, sizeof(hash));
        if (o != OUTCOME_PASS || !json_object_object_get_ex(c->expected, "parsed", &parsed))
                return o;
        /* what the parser must extract from the same image */
        if (ovmf_parse(fw, size, OVMF_FOUR_GIB, OVMF_WANT_SEV, &img, &reason) < 0)
                return fail(c, "parse", reason);
        if (json_object_object_get_ex(parsed, "gpa", &want) && strtoull(json_object_get_string(want), NULL, 0) != img.gpa)
                return fail(c, "parsed.gpa", "differs");
        if (json_object_object_get_ex(parsed, "sev_hashes_table_gpa", &want) &&
            strtoull(json_object_get_string(want), NULL, 0) != img.hashes_table_gpa)
                return fail(c, "parsed.sev_hashes_table_gpa", "differs");
        if (json_object_object_get_ex(parsed, "sev_es_reset_eip", &want) &&
            strtoull(json_object_get_string(want), NULL, 0) != img.reset_eip)
                return fail(c, "parsed.sev_es_reset_eip", "differs");
        if (json_object_object_get_ex(parsed, "sections", &sections)) {
                if (json_object_array_length(sections) != img.n_sev_sections)
                        return fail(c, "parsed.sections", "count differs");
                for (size_t i = 0; i < img.n_sev_sections; i++) {
                        json_object *s = json_object_array_get_idx(sections, i);
                        if (strtoull(json_object_get_string(json_object_array_get_idx(s, 0)), NULL, 0) !=
                                    img.sev_sections[i].gpa ||
                            strtoull(json_object_get_string(json_object_array_get_idx(s, 1)), NULL, 0) !=
                                    img.sev_sections[i].size ||
                            (uint64_t) json_object_get_int64(json_object_array_get_idx(s, 2)) != img.sev_sections[i].type)
                                return fail(c, "parsed.sections", "differ");
                }
        }
        return OUTCOME_PASS;
}

static Outcome snp_id_block_case(Case *c) {
        _cleanup_free_ char *id_path = case_file(c, in_str(c, "id_key")),
                            *author_path = case_file(c, in_str(c, "author_key")), *reason = NULL, *block_b64 = NULL,
                            *id_b64 = NULL, *author_b64 = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *id_key = NULL, *author_key = NULL;
        _cleanup_free_ uint8_t *ld = NULL;
        const char *ld_b64 = in_str(c, "launch_digest_base64"), *want;
        uint8_t block[SNP_ID_BLOCK_SIZE];
        SnpIdBlock b = {};
        SnpIdAuth auth;
        size_t n;
        uint64_t v;

        if (!ld_b64 || b64_decode(ld_b64, strlen(ld_b64), SNP_LD_SIZE, &ld, &n) < 0 || n != SNP_LD_SIZE ||
            !in_str(c, "family_id") || hex_decode_exact(in_str(c, "family_id"), b.family_id, 16) < 0 ||
            !in_str(c, "image_id") || hex_decode_exact(in_str(c, "image_id"), b.image_id, 16) < 0)
                return fail(c, "inputs", "launch digest, family or image ID malformed");
        memcpy(b.ld, ld, SNP_LD_SIZE);
        b.version = in_u64(c, "version", &v) ? (uint32_t) v : 1;
        b.guest_svn = in_u64(c, "guest_svn", &v) ? (uint32_t) v : 0;
        b.policy = in_u64(c, "policy", &v) ? v : 0x30000;
        if (!id_path || !author_path || measure_load_private_key(id_path, &id_key, &reason) < 0 ||
            measure_load_private_key(author_path, &author_key, &reason) < 0)
                return fail(c, "keys", reason);
        snp_id_block_encode(&b, block);
        if (snp_id_auth_build(block, id_key, author_key, &auth, &reason) < 0)
                return fail(c, "id auth", reason);
        if (snp_id_auth_verify(block, auth.id_auth) != 1)
                return fail(c, "id auth", "its signatures do not verify");
        block_b64 = b64_encode(block, sizeof(block));
        id_b64 = b64_encode(auth.id_key_digest, SNP_LD_SIZE);
        author_b64 = b64_encode(auth.author_key_digest, SNP_LD_SIZE);
        if (!block_b64 || !id_b64 || !author_b64)
                return fail(c, "base64", "out of memory");
        if ((want = want_str(c, "id_block_base64")) && !streq(want, block_b64))
                return fail(c, "id_block_base64 differs", block_b64);
        if ((want = want_str(c, "id_key_digest_base64")) && !streq(want, id_b64))
                return fail(c, "id_key_digest_base64 differs", id_b64);
        if ((want = want_str(c, "author_key_digest_base64")) && !streq(want, author_b64))
                return fail(c, "author_key_digest_base64 differs", author_b64);
        return OUTCOME_PASS;
}

/* One GCTX update as the unit case describes it. */
static Outcome snp_gctx_case(Case *c) {
        const char *initial = in_str(c, "initial_ld"), *digest = in_str(c, "contents_digest"), *data = in_str(c, "data");
        uint8_t ld[SNP_LD_SIZE], contents[SNP_LD_SIZE] = {};
        uint64_t type, gpa, length = OVMF_PAGE_SIZE;
        SnpGctx g;
        int r;

        if (!initial || hex_decode_exact(initial, ld, sizeof(ld)) < 0 || !in_u64(c, "page_type", &type) ||
            !in_u64(c, "gpa", &gpa))
                return fail(c, "inputs", "malformed");
        (void) in_u64(c, "length", &length);
        snp_gctx_init(&g, ld);
        if (data) {
                _cleanup_free_ char *path = case_file(c, data);
                _cleanup_free_ uint8_t *bytes = NULL;
                size_t n;
                if (!path || vector_read(path, &bytes, &n) < 0)
                        return fail(c, "data", "unreadable");
                r = snp_gctx_update_normal(&g, gpa, bytes, n);
        } else if (digest && streq(digest, "48 zero bytes"))
                r = snp_gctx_update_empty(&g, (SnpPageType) type, gpa, length);
        else if (digest && strncmp(digest, "sha384(b'", 9) == 0 && strlen(digest) > 11) {
                /* sha384 of a short literal, as the upstream test writes it */
                unsigned n = 0;
                if (!EVP_Digest(digest + 9, strlen(digest) - 11, contents, &n, EVP_sha384(), NULL))
                        return fail(c, "digest", "failed");
                r = snp_gctx_update_page(&g, (SnpPageType) type, gpa, contents);
        } else
                return fail(c, "contents_digest", digest ? digest : "missing");
        if (r < 0)
                return fail(c, "update", strerror(-r));
        return match_hex(c, "ld", g.ld, SNP_LD_SIZE);
}

static Outcome snp_vcpu_sig_case(Case *c) {
        json_object *vectors = NULL, *want = NULL;

        if (!json_object_object_get_ex(c->inputs, "vectors", &vectors) ||
            !json_object_object_get_ex(c->expected, "vcpu_sig", &want) ||
            json_object_array_length(vectors) != json_object_array_length(want))
                return fail(c, "inputs", "malformed");
        for (size_t i = 0; i < json_object_array_length(vectors); i++) {
                json_object *v = json_object_array_get_idx(vectors, i), *f, *m, *s;
                uint32_t sig;
                if (!json_object_object_get_ex(v, "family", &f) || !json_object_object_get_ex(v, "model", &m) ||
                    !json_object_object_get_ex(v, "stepping", &s))
                        return fail(c, "inputs", "malformed");
                sig = snp_cpu_signature((unsigned) json_object_get_int(f), (unsigned) json_object_get_int(m),
                                        (unsigned) json_object_get_int(s));
                if (strtoul(json_object_get_string(json_object_array_get_idx(want, i)), NULL, 0) != sig) {
                        snprintf(c->why, sizeof(c->why), "vector %zu gives 0x%x", i, sig);
                        return OUTCOME_FAIL;
                }
        }
        return OUTCOME_PASS;
}

static Outcome tdx_mrtd_case(Case *c) {
        _cleanup_free_ char *path = case_file(c, in_str(c, "firmware")), *reason = NULL;
        uint8_t mrtd[TDX_MR_SIZE];

        if (!path || tdx_mrtd_file(path, mrtd, &reason) < 0)
                return fail(c, "mrtd", reason);
        return match_hex(c, "mrtd", mrtd, sizeof(mrtd));
}

static Outcome tdx_ccel_case(Case *c) {
        _cleanup_free_ char *data_path = case_file(c, in_str(c, "ccel_data")),
                            *table_path = case_file(c, in_str(c, "ccel_table")),
                            *quote_path = case_file(c, in_str(c, "quote")), *reason = NULL;
        _cleanup_free_ uint8_t *data = NULL, *table = NULL, *quote = NULL;
        _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
        size_t size, table_size, quote_size;
        Outcome o = OUTCOME_PASS;

        if (!data_path || vector_read(data_path, &data, &size) < 0)
                return fail(c, "ccel_data", "unreadable");
        if (table_path) {
                CcelTable t;
                if (vector_read(table_path, &table, &table_size) < 0 ||
                    ccel_table_parse(table, table_size, &t, &reason) < 0)
                        return fail(c, "ccel_table", reason);
                if (t.laml < size)
                        size = (size_t) t.laml;
        }
        if (cc_eventlog_parse(data, size, &log, &reason) < 0)
                return fail(c, "event log", reason);
        for (unsigned i = 0; i < TDX_RTMRS && o == OUTCOME_PASS; i++) {
                char key[8];
                snprintf(key, sizeof(key), "rtmr%u", i);
                o = match_hex(c, key, log->rtmr[i], TDX_MR_SIZE);
        }
        if (o == OUTCOME_PASS && quote_path) {
                _cleanup_(cc_eventlog_freep) CcEventLog *again = NULL;
                TdxQuote q;
                if (vector_read(quote_path, &quote, &quote_size) < 0 || tdx_quote_parse(quote, quote_size, &q, &reason) < 0)
                        return fail(c, "quote", reason);
                if (tdx_eventlog_replay_quote(data, size, &q, &again, &reason) != 1)
                        return fail(c, "against the quote", reason);
        }
        if (o == OUTCOME_PASS)
                snprintf(c->why, sizeof(c->why), "%zu events", log->n_events);
        return o;
}

static Outcome tdx_event_digest_case(Case *c) {
        const char *param = in_str(c, "param");
        uint8_t digest[TDX_MR_SIZE];
        uint64_t size;

        if (!param || !in_u64(c, "size", &size) ||
            tdx_padded_digest((const uint8_t *) param, strlen(param), (size_t) size, digest) < 0)
                return fail(c, "inputs", "malformed");
        return match_hex(c, "sha384", digest, sizeof(digest));
}

static Outcome run_case(Case *c, const char *tee, const char *kind) {
        if (streq(tee, "snp")) {
                if (streq(kind, "launch_measurement"))
                        return snp_launch(c, false);
                if (streq(kind, "expected_error"))
                        return snp_launch(c, true);
                if (streq(kind, "ovmf_hash"))
                        return snp_ovmf_hash_case(c);
                if (streq(kind, "id_block"))
                        return snp_id_block_case(c);
                if (streq(kind, "gctx_unit"))
                        return snp_gctx_case(c);
                if (streq(kind, "vcpu_sig_unit"))
                        return snp_vcpu_sig_case(c);
        } else {
                if (streq(kind, "mrtd"))
                        return tdx_mrtd_case(c);
                if (streq(kind, "ccel_replay"))
                        return tdx_ccel_case(c);
                if (streq(kind, "event_digest"))
                        return tdx_event_digest_case(c);
        }
        return fail(c, "kind", kind);
}

static void run_measure_case(const char *dir, const char *tee, const char *id, Counts *counts) {
        _cleanup_free_ char *path = strdup_printf("%s/case.json", dir);
        _cleanup_(json_object_putp) json_object *kase = path ? json_object_from_file(path) : NULL;
        json_object *kind = NULL, *runnable = NULL;
        Case c = { .dir = dir };
        Outcome o;

        if (!kase || !json_object_object_get_ex(kase, "kind", &kind) ||
            !json_object_object_get_ex(kase, "inputs", &c.inputs) ||
            !json_object_object_get_ex(kase, "expected", &c.expected)) {
                printf("measure/%s/%s: FAIL (case.json unreadable or malformed)\n", tee, id);
                counts->failed++;
                return;
        }
        if (json_object_object_get_ex(kase, "runnable", &runnable) && !json_object_get_boolean(runnable))
                o = skip(&c, "not runnable offline (see its case.json)");
        else
                o = run_case(&c, tee, json_object_get_string(kind));
        switch (o) {
        case OUTCOME_PASS:
                printf("measure/%s/%s: ok (%s%s%s)\n", tee, id, json_object_get_string(kind), c.why[0] ? ": " : "",
                       c.why);
                counts->passed++;
                break;
        case OUTCOME_SKIP:
                printf("measure/%s/%s: skipped (%s)\n", tee, id, c.why);
                counts->skipped++;
                break;
        default:
                printf("measure/%s/%s: FAIL (%s)\n", tee, id, c.why);
                counts->failed++;
        }
}

static int case_filter(const struct dirent *d) {
        return d->d_name[0] != '.';
}

void run_measure(const char *root, Counts *counts) {
        static const char *const tees[] = { "snp", "tdx" };

        for (size_t t = 0; t < ELEMENTSOF(tees); t++) {
                _cleanup_free_ char *dir = strdup_printf("%s/measure/%s", root, tees[t]);
                struct dirent **names = NULL;
                int n = dir ? scandir(dir, &names, case_filter, alphasort) : -1;

                if (n < 0) {
                        printf("measure/%s: no cases at %s\n", tees[t], dir ? dir : "?");
                        continue;
                }
                for (int i = 0; i < n; i++) {
                        _cleanup_free_ char *sub = strdup_printf("%s/%s", dir, names[i]->d_name);
                        struct stat st;
                        if (sub && stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                                run_measure_case(sub, tees[t], names[i]->d_name, counts);
                        free(names[i]);
                }
                free(names);
        }
}
