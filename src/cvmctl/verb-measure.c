/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl measure snp|snp-id-block|tdx: what a guest launched from these files will attest
 * (SEV-SNP MEASUREMENT, TDX MRTD), and the SNP ID block that vouches for a measurement. The
 * work is in attest/measure (measure-files.h); this only parses options and prints. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cvm/cleanup.h"
#include "cvm/measure-files.h"
#include "cvm/util.h"

static void help(void) {
        printf("Usage: cvmctl measure snp --firmware OVMF --vcpus N [OPTIONS]\n"
               "       cvmctl measure snp-id-block --measurement HEX --id-key PEM [OPTIONS]\n"
               "       cvmctl measure tdx --firmware TDVF [--json]\n"
               "\n"
               "Predicts what a guest launched from these files will attest, so that a policy can\n"
               "name it. Each subverb takes --help.\n");
}

static void snp_help(void) {
        printf("Usage: cvmctl measure snp --firmware OVMF --vcpus N [OPTIONS]\n"
               "\n"
               "Prints the SEV-SNP launch MEASUREMENT of a guest QEMU starts with this firmware,\n"
               "vCPU count and (for measured direct boot) kernel, initrd and command line.\n"
               "\n"
               "  --firmware FILE        the OVMF image (AmdSev build for direct kernel boot)\n"
               "  --vcpus N              number of vCPUs (one VMSA each)\n"
               "  --vcpu-type NAME       QEMU CPU model giving the CPU signature (EPYC-v4, EPYC-Milan, ...)\n"
               "  --vcpu-sig HEX         the CPU signature itself (CPUID 1 EAX), e.g. 0x800f12\n"
               "  --vmm qemu|ec2|gce     who builds the vCPU state (default qemu; ec2 and gce need no\n"
               "                         CPU signature)\n"
               "  --guest-features HEX   VMSA SEV_FEATURES (default 0x1, SNPActive)\n"
               "  --kernel FILE          measured direct boot: the kernel QEMU loads\n"
               "  --initrd FILE          its initrd (with --kernel)\n"
               "  --append STRING        its command line (with --kernel)\n"
               "  --ovmf-hash HEX        start from this precomputed firmware digest instead of\n"
               "                         measuring the firmware pages (the metadata is still read)\n"
               "  --svsm FILE            a Coconut-SVSM image launched below OVMF\n"
               "  --vars-size N          with --svsm: the size of OVMF's variable store in bytes\n"
               "  --json                 print {\"measurement\", \"ovmf_hash\", ...}\n"
               "  -h --help              this help\n"
               "\n"
               "Exit status: 0 computed, 1 refused (an impossible combination, with its reason),\n"
               "2 usage error or unreadable file.\n");
}

static void id_block_help(void) {
        printf("Usage: cvmctl measure snp-id-block --measurement HEX --id-key PEM [OPTIONS]\n"
               "\n"
               "Prints the SEV-SNP ID block and ID authentication structure for a launch\n"
               "measurement, base64 as libvirt's <idBlock> and <idAuth> take them, and the key\n"
               "digests a report will carry (ID_KEY_DIGEST, AUTHOR_KEY_DIGEST).\n"
               "\n"
               "  --measurement HEX      the expected launch measurement (48 bytes)\n"
               "  --id-key PEM           the ID key: an ECDSA P-384 private key\n"
               "  --author-key PEM       the author key that signs the ID key (optional)\n"
               "  --family-id HEX        16 bytes (default zeros)\n"
               "  --image-id HEX         16 bytes (default zeros)\n"
               "  --version N            ID block version (default 1)\n"
               "  --guest-svn N          guest SVN (default 0)\n"
               "  --policy HEX           guest policy (default 0x30000; bit 17 must be set)\n"
               "  --json                 print {\"id_block\", \"id_auth\", \"id_key_digest\", ...}\n"
               "  -h --help              this help\n"
               "\n"
               "Exit status: 0 done, 1 a key cannot sign (not P-384), 2 usage error or unreadable file.\n");
}

static void tdx_help(void) {
        printf("Usage: cvmctl measure tdx --firmware TDVF [--json]\n"
               "\n"
               "Prints the TDX MRTD of a guest started with this TDVF image (OVMF built for TDX\n"
               "or td-shim), computed from the image's TDVF metadata as KVM adds and extends its\n"
               "pages. RTMR0-3 are not predicted here: replay the guest's event log with\n"
               "'cvmctl eventlog tdx'.\n"
               "\n"
               "  --firmware FILE        the TDVF image\n"
               "  --json                 print {\"mrtd\", \"sections\"}\n"
               "  -h --help              this help\n"
               "\n"
               "Exit status: 0 computed, 1 refused (no or malformed TDVF metadata), 2 usage error\n"
               "or unreadable file.\n");
}

/* A hex number option ("0x800f12" or "800f12") up to max. */
static int parse_hex_u64(const char *opt, const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 16);
        if (!*s || *s == '-' || *end || errno != 0 || v > max)
                return cli_usage_error("%s: '%s' is not a hex number up to 0x%" PRIx64, opt, s, max);
        *ret = v;
        return 0;
}

static int add_hex(json_object *o, const char *key, const uint8_t *p, size_t n) {
        _cleanup_free_ char *s = hex_encode(p, n);
        json_object *v = s ? json_object_new_string(s) : NULL;
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_string(json_object *o, const char *key, char *s /* taken */) {
        json_object *v = s ? json_object_new_string(s) : NULL;
        free(s);
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

enum {
        ARG_FIRMWARE = 0x100,
        ARG_VCPUS,
        ARG_VCPU_TYPE,
        ARG_VCPU_SIG,
        ARG_VMM,
        ARG_GUEST_FEATURES,
        ARG_KERNEL,
        ARG_INITRD,
        ARG_APPEND,
        ARG_OVMF_HASH,
        ARG_SVSM,
        ARG_VARS_SIZE,
        ARG_MEASUREMENT,
        ARG_ID_KEY,
        ARG_AUTHOR_KEY,
        ARG_FAMILY_ID,
        ARG_IMAGE_ID,
        ARG_VERSION,
        ARG_GUEST_SVN,
        ARG_POLICY,
        ARG_JSON,
};

typedef struct SnpArgs {
        SnpMeasureFiles f;
        const char *vcpu_type;
        bool have_vcpus, have_sig, have_vars_size, json;
        uint8_t ovmf_hash[SNP_LD_SIZE];
} SnpArgs;

static int snp_option(void *args, int c, const char *arg) {
        SnpArgs *a = args;
        uint64_t v;
        int r;

        switch (c) {
        case ARG_FIRMWARE:
                a->f.firmware = arg;
                return 0;
        case ARG_VCPUS:
                r = cli_parse_uint("--vcpus", arg, 1, SNP_VCPUS_MAX, &v);
                a->f.vcpus = (unsigned) v;
                a->have_vcpus = true;
                return r;
        case ARG_VCPU_TYPE:
                a->vcpu_type = arg;
                return 0;
        case ARG_VCPU_SIG:
                r = parse_hex_u64("--vcpu-sig", arg, UINT32_MAX, &v);
                a->f.vcpu_sig = (uint32_t) v;
                a->have_sig = true;
                return r;
        case ARG_VMM:
                a->f.vmm = snp_vmm_from_string(arg);
                return a->f.vmm < 0 ? cli_usage_error("--vmm: '%s' is not qemu, ec2 or gce", arg) : 0;
        case ARG_GUEST_FEATURES:
                return parse_hex_u64("--guest-features", arg, UINT64_MAX, &a->f.guest_features);
        case ARG_KERNEL:
                a->f.kernel = arg;
                return 0;
        case ARG_INITRD:
                a->f.initrd = arg;
                return 0;
        case ARG_APPEND:
                a->f.append = arg;
                return 0;
        case ARG_OVMF_HASH:
                if (hex_decode_exact(arg, a->ovmf_hash, sizeof(a->ovmf_hash)) < 0)
                        return cli_usage_error("--ovmf-hash: '%s' is not 48 bytes of hex", arg);
                a->f.ovmf_hash = a->ovmf_hash;
                return 0;
        case ARG_SVSM:
                a->f.svsm = arg;
                return 0;
        case ARG_VARS_SIZE:
                a->have_vars_size = true;
                return cli_parse_uint("--vars-size", arg, 0, OVMF_FOUR_GIB / 2, &a->f.vars_size);
        case ARG_JSON:
                a->json = true;
                return 0;
        }
        return 0;
}

static int print_snp(const SnpArgs *a, const SnpMeasurement *m, const SnpKernelHashes *kh) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *k = NULL;

        if (!a->json) {
                _cleanup_free_ char *meas = hex_encode(m->measurement, SNP_LD_SIZE),
                                    *ovmf = hex_encode(m->ovmf_hash, SNP_LD_SIZE);
                if (!meas || !ovmf)
                        return cli_error(EXIT_REJECTED, "out of memory");
                printf("measurement: %s\novmf_hash:   %s\n", meas, ovmf);
                return cli_finish_stdout(EXIT_ACCEPTED);
        }
        o = json_object_new_object();
        if (!o || add_hex(o, "measurement", m->measurement, SNP_LD_SIZE) < 0 ||
            add_hex(o, "ovmf_hash", m->ovmf_hash, SNP_LD_SIZE) < 0 ||
            json_object_object_add(o, "vmm", json_object_new_string(snp_vmm_to_string(a->f.vmm))) < 0 ||
            json_object_object_add(o, "vcpus", json_object_new_int64(a->f.vcpus)) < 0 ||
            add_string(o, "vcpu_sig", strdup_printf("0x%" PRIx32, a->f.vcpu_sig)) < 0 ||
            add_string(o, "guest_features", strdup_printf("0x%" PRIx64, a->f.guest_features)) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (a->f.kernel) {
                k = json_object_new_object();
                if (!k || json_object_object_add(o, "kernel_hashes", k) < 0 || add_hex(k, "kernel", kh->kernel, 32) < 0 ||
                    add_hex(k, "initrd", kh->initrd, 32) < 0 || add_hex(k, "cmdline", kh->cmdline, 32) < 0)
                        return cli_error(EXIT_REJECTED, "out of memory");
        }
        return cli_print_json(o, true) < 0 ? cli_error(EXIT_REJECTED, "cannot write the output") : EXIT_ACCEPTED;
}

static int measure_snp_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "firmware", required_argument, NULL, ARG_FIRMWARE },
                { "vcpus", required_argument, NULL, ARG_VCPUS },
                { "vcpu-type", required_argument, NULL, ARG_VCPU_TYPE },
                { "vcpu-sig", required_argument, NULL, ARG_VCPU_SIG },
                { "vmm", required_argument, NULL, ARG_VMM },
                { "guest-features", required_argument, NULL, ARG_GUEST_FEATURES },
                { "kernel", required_argument, NULL, ARG_KERNEL },
                { "initrd", required_argument, NULL, ARG_INITRD },
                { "append", required_argument, NULL, ARG_APPEND },
                { "ovmf-hash", required_argument, NULL, ARG_OVMF_HASH },
                { "svsm", required_argument, NULL, ARG_SVSM },
                { "vars-size", required_argument, NULL, ARG_VARS_SIZE },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        SnpArgs a = { .f = { .vmm = SNP_VMM_QEMU, .guest_features = 0x1 } };
        const CliParser p = { .options = options, .help = snp_help, .verb = "measure snp", .own = snp_option, .args = &a };
        _cleanup_free_ char *reason = NULL;
        SnpKernelHashes kh = {};
        SnpMeasurement m;
        int r;

        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        if (optind < argc)
                return cli_usage_error("measure snp: unexpected argument '%s'", argv[optind]);
        if (!a.f.firmware || !a.have_vcpus)
                return cli_usage_error("measure snp: --firmware and --vcpus are required");
        if (a.vcpu_type && a.have_sig)
                return cli_usage_error("measure snp: give --vcpu-type or --vcpu-sig, not both");
        if (a.vcpu_type && snp_cpu_signature_of_model(a.vcpu_type, &a.f.vcpu_sig) < 0)
                return cli_usage_error("measure snp: --vcpu-type: unknown CPU model '%s' (give --vcpu-sig)", a.vcpu_type);
        /* QEMU (and an SVSM launch) put the CPU signature into every VMSA: without it the value
         * would be a guess */
        if (a.f.vmm == SNP_VMM_QEMU && !a.vcpu_type && !a.have_sig)
                return cli_usage_error("measure snp: --vmm qemu needs --vcpu-type or --vcpu-sig");
        if (!a.f.kernel && (a.f.initrd || a.f.append))
                return cli_usage_error("measure snp: --initrd and --append need --kernel");
        if (!!a.f.svsm != a.have_vars_size)
                return cli_usage_error("measure snp: --svsm and --vars-size go together");

        r = snp_measure_files(&a.f, &m, &kh, &reason);
        if (r == -ENOENT || r == -EACCES || r == -EISDIR || r == -EBADFD || r == -EFBIG)
                return cli_error(EXIT_USAGE, "%s", reason ? reason : strerror(-r));
        if (r < 0)
                return cli_error(EXIT_REJECTED, "refused: %s", reason ? reason : strerror(-r));
        return print_snp(&a, &m, &kh);
}

typedef struct IdBlockArgs {
        SnpIdBlock b;
        const char *id_key, *author_key;
        bool have_measurement, json;
} IdBlockArgs;

static int id_block_option(void *args, int c, const char *arg) {
        IdBlockArgs *a = args;
        uint64_t v;
        int r;

        switch (c) {
        case ARG_MEASUREMENT:
                if (hex_decode_exact(arg, a->b.ld, sizeof(a->b.ld)) < 0)
                        return cli_usage_error("--measurement: '%s' is not 48 bytes of hex", arg);
                a->have_measurement = true;
                return 0;
        case ARG_ID_KEY:
                a->id_key = arg;
                return 0;
        case ARG_AUTHOR_KEY:
                a->author_key = arg;
                return 0;
        case ARG_FAMILY_ID:
                return hex_decode_exact(arg, a->b.family_id, 16) < 0
                               ? cli_usage_error("--family-id: '%s' is not 16 bytes of hex", arg)
                               : 0;
        case ARG_IMAGE_ID:
                return hex_decode_exact(arg, a->b.image_id, 16) < 0
                               ? cli_usage_error("--image-id: '%s' is not 16 bytes of hex", arg)
                               : 0;
        case ARG_VERSION:
                r = cli_parse_uint("--version", arg, 1, UINT32_MAX, &v);
                a->b.version = (uint32_t) v;
                return r;
        case ARG_GUEST_SVN:
                r = cli_parse_uint("--guest-svn", arg, 0, UINT32_MAX, &v);
                a->b.guest_svn = (uint32_t) v;
                return r;
        case ARG_POLICY:
                return parse_hex_u64("--policy", arg, UINT64_MAX, &a->b.policy);
        case ARG_JSON:
                a->json = true;
                return 0;
        }
        return 0;
}

static int measure_id_block_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "measurement", required_argument, NULL, ARG_MEASUREMENT },
                { "id-key", required_argument, NULL, ARG_ID_KEY },
                { "author-key", required_argument, NULL, ARG_AUTHOR_KEY },
                { "family-id", required_argument, NULL, ARG_FAMILY_ID },
                { "image-id", required_argument, NULL, ARG_IMAGE_ID },
                { "version", required_argument, NULL, ARG_VERSION },
                { "guest-svn", required_argument, NULL, ARG_GUEST_SVN },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        IdBlockArgs a = { .b = { .version = 1, .policy = 0x30000 } };
        const CliParser p = { .options = options, .help = id_block_help, .verb = "measure snp-id-block",
                              .own = id_block_option, .args = &a };
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *id_key = NULL, *author_key = NULL;
        _cleanup_free_ char *reason = NULL, *block_b64 = NULL, *auth_b64 = NULL, *id_b64 = NULL,
                            *author_b64 = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        uint8_t block[SNP_ID_BLOCK_SIZE];
        SnpIdAuth auth;
        int r;

        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        if (optind < argc)
                return cli_usage_error("measure snp-id-block: unexpected argument '%s'", argv[optind]);
        if (!a.have_measurement || !a.id_key)
                return cli_usage_error("measure snp-id-block: --measurement and --id-key are required");
        /* SNP ABI: policy bit 17 is reserved and must be one, or SNP_LAUNCH_START fails */
        if (!(a.b.policy & (UINT64_C(1) << 17)))
                return cli_usage_error("--policy: 0x%" PRIx64 " lacks bit 17, which SEV-SNP requires to be set",
                                       a.b.policy);
        if (measure_load_private_key(a.id_key, &id_key, &reason) < 0 ||
            (a.author_key && measure_load_private_key(a.author_key, &author_key, &reason) < 0))
                return cli_error(EXIT_USAGE, "%s", reason);

        snp_id_block_encode(&a.b, block);
        r = snp_id_auth_build(block, id_key, author_key, &auth, &reason);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "%s", reason ? reason : strerror(-r));
        block_b64 = b64_encode(block, sizeof(block));
        auth_b64 = b64_encode(auth.id_auth, sizeof(auth.id_auth));
        id_b64 = b64_encode(auth.id_key_digest, SNP_LD_SIZE);
        author_b64 = auth.have_author_key ? b64_encode(auth.author_key_digest, SNP_LD_SIZE) : NULL;
        if (!block_b64 || !auth_b64 || !id_b64 || (auth.have_author_key && !author_b64))
                return cli_error(EXIT_REJECTED, "out of memory");
        if (!a.json) {
                printf("id_block:          %s\nid_auth:           %s\nid_key_digest:     %s\n", block_b64, auth_b64,
                       id_b64);
                if (author_b64)
                        printf("author_key_digest: %s\n", author_b64);
                return cli_finish_stdout(EXIT_ACCEPTED);
        }
        o = json_object_new_object();
        if (!o || json_object_object_add(o, "id_block", json_object_new_string(block_b64)) < 0 ||
            json_object_object_add(o, "id_auth", json_object_new_string(auth_b64)) < 0 ||
            json_object_object_add(o, "id_key_digest", json_object_new_string(id_b64)) < 0 ||
            json_object_object_add(o, "author_key_digest", author_b64 ? json_object_new_string(author_b64) : NULL) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        return cli_print_json(o, true) < 0 ? cli_error(EXIT_REJECTED, "cannot write the output") : EXIT_ACCEPTED;
}

typedef struct TdxArgs {
        const char *firmware;
        bool json;
} TdxArgs;

static int tdx_option(void *args, int c, const char *arg) {
        TdxArgs *a = args;
        if (c == ARG_FIRMWARE)
                a->firmware = arg;
        else if (c == ARG_JSON)
                a->json = true;
        return 0;
}

static json_object *tdvf_sections_json(const OvmfImage *img) {
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array();

        for (size_t i = 0; arr && i < img->n_tdvf_sections; i++) {
                const TdvfSection *s = &img->tdvf_sections[i];
                json_object *o = json_object_new_object();
                if (!o || json_object_array_add(arr, o) < 0) {
                        json_object_put(o);
                        return NULL;
                }
                if (json_object_object_add(o, "type", json_object_new_string(tdvf_section_type_to_string(s->type))) < 0 ||
                    add_string(o, "base", strdup_printf("0x%" PRIx64, s->mem_base)) < 0 ||
                    add_string(o, "size", strdup_printf("0x%" PRIx64, s->mem_size)) < 0 ||
                    json_object_object_add(o, "extended", json_object_new_boolean(s->attributes & TDVF_ATTR_MR_EXTEND)) < 0 ||
                    json_object_object_add(o, "page_aug", json_object_new_boolean(s->attributes & TDVF_ATTR_PAGE_AUG)) < 0)
                        return NULL;
        }
        return TAKE_PTR(arr);
}

static int measure_tdx_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "firmware", required_argument, NULL, ARG_FIRMWARE },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        TdxArgs a = {};
        const CliParser p = { .options = options, .help = tdx_help, .verb = "measure tdx", .own = tdx_option, .args = &a };
        _cleanup_free_ char *reason = NULL, *hex = NULL;
        _cleanup_free_ uint8_t *fw = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        uint8_t mrtd[TDX_MR_SIZE];
        json_object *sections;
        OvmfImage img;
        size_t size;
        int r;

        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        if (optind < argc)
                return cli_usage_error("measure tdx: unexpected argument '%s'", argv[optind]);
        if (!a.firmware)
                return cli_usage_error("measure tdx: --firmware is required");
        if (measure_read_firmware(a.firmware, &fw, &size, &reason) < 0)
                return cli_error(EXIT_USAGE, "%s", reason);
        r = ovmf_parse(fw, size, OVMF_FOUR_GIB, OVMF_WANT_TDVF, &img, &reason);
        if (r >= 0)
                r = tdx_mrtd(&img, mrtd, &reason);
        if (r < 0)
                return cli_error(EXIT_REJECTED, "refused: %s", reason ? reason : strerror(-r));
        hex = hex_encode(mrtd, sizeof(mrtd));
        if (!hex)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (!a.json) {
                printf("mrtd: %s\n", hex);
                return cli_finish_stdout(EXIT_ACCEPTED);
        }
        o = json_object_new_object();
        sections = tdvf_sections_json(&img);
        if (!o || !sections || json_object_object_add(o, "mrtd", json_object_new_string(hex)) < 0 ||
            json_object_object_add(o, "sections", sections) < 0)
                return cli_error(EXIT_REJECTED, "out of memory");
        return cli_print_json(o, true) < 0 ? cli_error(EXIT_REJECTED, "cannot write the output") : EXIT_ACCEPTED;
}

int verb_measure(int argc, char *argv[]) {
        static const struct {
                const char *name;
                int (*run)(int argc, char *argv[]);
        } subs[] = {
                { "snp", measure_snp_main },
                { "snp-id-block", measure_id_block_main },
                { "tdx", measure_tdx_main },
        };

        if (argc < 2 || argv[1][0] == '-') {
                if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                        help();
                        return cli_finish_stdout(EXIT_ACCEPTED);
                }
                return cli_usage_error("measure: missing kind (one of: snp, snp-id-block, tdx)");
        }
        for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                if (streq(argv[1], subs[i].name)) {
                        char verb[32];

                        snprintf(verb, sizeof(verb), "measure %s", subs[i].name);
                        cli_set_verb(verb);
                        optind = 0;
                        return subs[i].run(argc - 1, argv + 1);
                }
        return cli_usage_error("measure: unknown kind '%s' (snp, snp-id-block or tdx)", argv[1]);
}
