/* SPDX-License-Identifier: Apache-2.0 */
/* attest/measure: the firmware image parser, the SEV-SNP launch digest and its inputs, the ID
 * block and ID auth, TDX MRTD, and the CC event log replay. Synthetic images and logs built
 * here from the published layouts; the upstream values are checked by the vector runner. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/snp-measure.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"

#define IMG_SIZE 8192u

static const uint8_t guid_footer[16] = OVMF_GUID_BYTES(0x96b582de, 0x1fb2, 0x45f7, 0xba, 0xea, 0xa3, 0x66, 0xc5,
                                                       0x5a, 0x08, 0x2d);
static const uint8_t guid_reset[16] = OVMF_GUID_BYTES(0x00f771de, 0x1a7e, 0x4fcb, 0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f,
                                                      0xb4, 0x4e);
static const uint8_t guid_hashes[16] = OVMF_GUID_BYTES(0x7255371f, 0x3a3b, 0x4b04, 0x92, 0x7b, 0x1d, 0xa6, 0xef,
                                                       0xa8, 0xd4, 0x54);
static const uint8_t guid_sev[16] = OVMF_GUID_BYTES(0xdc886566, 0x984a, 0x4798, 0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf,
                                                    0x67, 0xcc);
static const uint8_t guid_tdx[16] = OVMF_GUID_BYTES(0xe47a6535, 0x984a, 0x4798, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf,
                                                    0x8e, 0xc2);

static void le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* Writes one footer entry (data, u16 length, GUID) ending at *end and moves *end below it. */
static void put_entry(uint8_t *img, size_t *end, const uint8_t guid[16], const uint8_t *data, size_t n) {
        *end -= 16;
        memcpy(img + *end, guid, 16);
        *end -= 2;
        img[*end] = (uint8_t) (n + 18);
        img[*end + 1] = 0;
        *end -= n;
        memcpy(img + *end, data, n);
}

/* An 8 KiB image with a footer table: reset block, hash table, SEV metadata (SEC_MEM,
 * SECRETS, CPUID, and SNP_KERNEL_HASHES when kernel_hashes) and TDVF metadata (a BFV over the
 * image, TempMem, a PAGE_AUG PermMem). */
static void build_image(uint8_t img[IMG_SIZE], bool kernel_hashes) {
        uint8_t d[8];
        size_t end = IMG_SIZE - 32 - 18, table_end = end;
        uint8_t *sev = img + 0x100, *tdvf = img + 0x300;
        uint32_t n = kernel_hashes ? 4 : 3;
        const uint32_t secs[4][3] = { { 0x800000, 0x2000, 1 }, { 0x802000, 0x1000, 2 }, { 0x803000, 0x1000, 3 },
                                      { 0x804000, 0x1000, 0x10 } };

        memset(img, 0, IMG_SIZE);
        memcpy(img + 0x1000, "cvmd measure unit test firmware", 31);
        memcpy(sev, "ASEV", 4);
        le32(sev + 4, 16 + 12 * n);
        le32(sev + 8, 1);
        le32(sev + 12, n);
        for (uint32_t i = 0; i < n; i++)
                for (int k = 0; k < 3; k++)
                        le32(sev + 16 + 12 * i + 4 * k, secs[i][k]);
        memcpy(tdvf, "TDVF", 4);
        le32(tdvf + 4, 16 + 3 * 32);
        le32(tdvf + 8, 1);
        le32(tdvf + 12, 3);
        /* BFV: the whole image at the top of 4 GiB, extended */
        le32(tdvf + 16, 0), le32(tdvf + 20, IMG_SIZE), le64(tdvf + 24, 0x100000000 - IMG_SIZE), le64(tdvf + 32, IMG_SIZE);
        le32(tdvf + 40, TDVF_SECTION_BFV), le32(tdvf + 44, TDVF_ATTR_MR_EXTEND);
        le32(tdvf + 48, 0), le32(tdvf + 52, 0), le64(tdvf + 56, 0x810000), le64(tdvf + 64, 0x2000);
        le32(tdvf + 72, TDVF_SECTION_TEMP_MEM), le32(tdvf + 76, 0);
        le32(tdvf + 80, 0), le32(tdvf + 84, 0), le64(tdvf + 88, 0x900000), le64(tdvf + 96, 0x10000);
        le32(tdvf + 104, TDVF_SECTION_PERM_MEM), le32(tdvf + 108, TDVF_ATTR_PAGE_AUG);

        le32(d, 0xffff0100);
        put_entry(img, &end, guid_reset, d, 4);
        le32(d, 0x804c00), le32(d + 4, 0x400);
        put_entry(img, &end, guid_hashes, d, 8);
        le32(d, IMG_SIZE - 0x100);
        put_entry(img, &end, guid_sev, d, 4);
        le32(d, IMG_SIZE - 0x300);
        put_entry(img, &end, guid_tdx, d, 4);
        img[table_end] = (uint8_t) (table_end - end + 18);
        img[table_end + 1] = 0;
        memcpy(img + table_end + 2, guid_footer, 16);
}

static void test_ovmf_parse(void **state) {
        uint8_t img[IMG_SIZE];
        _cleanup_free_ char *reason = NULL;
        OvmfImage o;

        build_image(img, true);
        assert_int_equal(ovmf_parse(img, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_SEV | OVMF_WANT_TDVF, &o, &reason), 0);
        assert_true(o.have_table);
        assert_int_equal(o.gpa, OVMF_FOUR_GIB - IMG_SIZE);
        assert_true(o.have_reset_eip);
        assert_int_equal(o.reset_eip, 0xffff0100);
        assert_true(o.have_hashes_table);
        assert_int_equal(o.hashes_table_gpa, 0x804c00);
        assert_int_equal(o.n_sev_sections, 4);
        assert_int_equal(o.sev_sections[3].type, OVMF_SECTION_SNP_KERNEL_HASHES);
        assert_true(ovmf_has_sev_section(&o, OVMF_SECTION_CPUID));
        assert_int_equal(o.n_tdvf_sections, 3);
        assert_int_equal(o.tdvf_sections[0].mem_base, OVMF_FOUR_GIB - IMG_SIZE);

        /* no footer GUID: parses, with nothing found */
        memset(img, 0, IMG_SIZE);
        assert_int_equal(ovmf_parse(img, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_SEV, &o, &reason), 0);
        assert_false(o.have_table);
        /* not whole pages */
        assert_int_equal(ovmf_parse(img, 100, OVMF_FOUR_GIB, OVMF_WANT_SEV, &o, &reason), -EBADMSG);
        assert_non_null(strstr(reason, "4 KiB"));
}

static void test_ovmf_malformed(void **state) {
        uint8_t img[IMG_SIZE], bad[IMG_SIZE];
        size_t footer = IMG_SIZE - 32 - 18;
        OvmfImage o;

        build_image(img, true);
        /* table length pointing below the image */
        memcpy(bad, img, IMG_SIZE);
        bad[footer] = 0xff, bad[footer + 1] = 0xff;
        {
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(ovmf_parse(bad, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_SEV, &o, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "footer table"));
        }
        /* an unknown SEV section type */
        memcpy(bad, img, IMG_SIZE);
        le32(bad + 0x100 + 16 + 8, 9);
        {
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(ovmf_parse(bad, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_SEV, &o, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "unknown type 9"));
                /* the TDX side does not read the SEV metadata */
                assert_int_equal(ovmf_parse(bad, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_TDVF, &o, NULL), 0);
        }
        /* TDVF data outside the image */
        memcpy(bad, img, IMG_SIZE);
        le32(bad + 0x300 + 16, 0x1000);
        {
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(ovmf_parse(bad, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_TDVF, &o, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "outside the image"));
        }
        /* every single-byte change of the table region parses or is refused, never crashes */
        for (size_t i = footer - 120; i < IMG_SIZE; i++) {
                char *reason = NULL;
                memcpy(bad, img, IMG_SIZE);
                bad[i] ^= 0xa5;
                (void) ovmf_parse(bad, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_SEV | OVMF_WANT_TDVF, &o, &reason);
                free(reason);
        }
}

static SnpMeasureParams params(const uint8_t *img, const SnpKernelHashes *kh) {
        return (SnpMeasureParams) { .vmm = SNP_VMM_QEMU, .vcpus = 2, .vcpu_sig = 0x800f12, .guest_features = 1,
                                    .firmware = img, .firmware_size = IMG_SIZE, .kernel_hashes = kh };
}

static void measure_ok(const SnpMeasureParams *p, SnpMeasurement *m) {
        _cleanup_free_ char *reason = NULL;
        if (snp_measure(p, m, &reason) < 0)
                fail_msg("snp_measure: %s", reason ? reason : "?");
}

static void test_snp_measure_inputs(void **state) {
        uint8_t img[IMG_SIZE];
        SnpKernelHashes kh = {}, kh2;
        SnpMeasurement base, m;
        SnpMeasureParams p;

        build_image(img, true);
        assert_int_equal(snp_cmdline_digest("console=ttyS0", kh.cmdline), 0);
        p = params(img, &kh);
        measure_ok(&p, &base);

        /* each input is measured: vCPUs, CPU signature, features, VMM, command line */
        p.vcpus = 3;
        measure_ok(&p, &m);
        assert_memory_not_equal(m.measurement, base.measurement, SNP_LD_SIZE);
        assert_memory_equal(m.ovmf_hash, base.ovmf_hash, SNP_LD_SIZE);
        p = params(img, &kh);
        p.vcpu_sig = 0xa00f11;
        measure_ok(&p, &m);
        assert_memory_not_equal(m.measurement, base.measurement, SNP_LD_SIZE);
        p = params(img, &kh);
        p.guest_features = 0x21;
        measure_ok(&p, &m);
        assert_memory_not_equal(m.measurement, base.measurement, SNP_LD_SIZE);
        for (SnpVmm v = SNP_VMM_EC2; v < _SNP_VMM_MAX; v++) {
                p = params(img, &kh);
                p.vmm = v;
                measure_ok(&p, &m);
                assert_memory_not_equal(m.measurement, base.measurement, SNP_LD_SIZE);
        }
        kh2 = kh;
        assert_int_equal(snp_cmdline_digest("console=ttyS0 init=/bin/sh", kh2.cmdline), 0);
        p = params(img, &kh2);
        measure_ok(&p, &m);
        assert_memory_not_equal(m.measurement, base.measurement, SNP_LD_SIZE);

        /* no kernel: the hashes page is measured as zero pages, so the digest differs */
        p = params(img, NULL);
        measure_ok(&p, &m);
        assert_memory_not_equal(m.measurement, base.measurement, SNP_LD_SIZE);

        /* a precomputed firmware digest seeds the same result */
        p = params(img, &kh);
        p.ovmf_hash = base.ovmf_hash;
        measure_ok(&p, &m);
        assert_memory_equal(m.measurement, base.measurement, SNP_LD_SIZE);
        {
                uint8_t h[SNP_LD_SIZE];
                assert_int_equal(snp_ovmf_hash(img, IMG_SIZE, h, NULL), 0);
                assert_memory_equal(h, base.ovmf_hash, SNP_LD_SIZE);
        }
        /* a change in the firmware changes both */
        img[0x1000] ^= 1;
        p = params(img, &kh);
        measure_ok(&p, &m);
        assert_memory_not_equal(m.ovmf_hash, base.ovmf_hash, SNP_LD_SIZE);
        assert_memory_not_equal(m.measurement, base.measurement, SNP_LD_SIZE);
}

static void test_snp_measure_refusals(void **state) {
        uint8_t img[IMG_SIZE], plain[IMG_SIZE];
        SnpKernelHashes kh = {};
        SnpMeasurement m;
        SnpMeasureParams p;

        build_image(img, false);
        {
                _cleanup_free_ char *reason = NULL;
                p = params(img, &kh);
                assert_int_equal(snp_measure(&p, &m, &reason), -EINVAL);
                assert_non_null(strstr(reason, "SNP_KERNEL_HASHES"));
        }
        {
                _cleanup_free_ char *reason = NULL;
                p = params(img, NULL);
                p.vcpus = 0;
                assert_int_equal(snp_measure(&p, &m, &reason), -EINVAL);
                assert_non_null(strstr(reason, "vCPUs"));
        }
        {
                _cleanup_free_ char *reason = NULL;
                memset(plain, 0, sizeof(plain));
                p = params(plain, NULL);
                assert_int_equal(snp_measure(&p, &m, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "SEV metadata"));
        }
        {
                /* an SVSM image must name its entry point */
                _cleanup_free_ char *reason = NULL;
                build_image(img, false);
                p = params(img, NULL);
                p.svsm = img;
                p.svsm_size = IMG_SIZE;
                p.vars_size = 0x20000;
                assert_int_equal(snp_measure(&p, &m, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "SVSM info"));
        }
}

static void test_cpu_signature(void **state) {
        uint32_t sig;

        assert_int_equal(snp_cpu_signature(23, 1, 2), 0x800f12);
        assert_int_equal(snp_cpu_signature(14, 1, 2), 0xe12);
        assert_int_equal(snp_cpu_signature(25, 1, 1), 0xa00f11);
        assert_int_equal(snp_cpu_signature_of_model("epyc-v4", &sig), 0);
        assert_int_equal(sig, 0x800f12);
        assert_int_equal(snp_cpu_signature_of_model("EPYC-Genoa", &sig), 0);
        assert_int_equal(sig, 0xa10f10);
        assert_int_equal(snp_cpu_signature_of_model("Pentium", &sig), -ENOENT);
        assert_non_null(snp_cpu_model_name(0));
        assert_null(snp_cpu_model_name(1000));
        assert_int_equal(snp_vmm_from_string("GCE"), SNP_VMM_GCE);
        assert_int_equal(snp_vmm_from_string("azure"), _SNP_VMM_INVALID);
}

static void test_kernel_hashes_page(void **state) {
        static const uint8_t guid_table[16] = OVMF_GUID_BYTES(0x9438d606, 0x4f22, 0x4cc9, 0xb4, 0x79, 0xa7, 0x93,
                                                              0xd4, 0x11, 0xfd, 0x21);
        uint8_t page[OVMF_PAGE_SIZE];
        SnpKernelHashes kh;

        memset(&kh, 0x11, sizeof(kh));
        memset(kh.initrd, 0x22, 32);
        memset(kh.kernel, 0x33, 32);
        assert_int_equal(snp_kernel_hashes_page(&kh, 0xc00, page), 0);
        assert_true(memeqzero(page, 0xc00));
        assert_memory_equal(page + 0xc00, guid_table, 16);
        assert_int_equal(page[0xc00 + 16], 168); /* header + 3 entries of 50 */
        assert_int_equal(page[0xc00 + 18 + 16], 50);
        assert_true(memeqbyte(0x11, page + 0xc00 + 18 + 18, 32)); /* command line first */
        assert_true(memeqbyte(0x22, page + 0xc00 + 18 + 50 + 18, 32));
        assert_true(memeqbyte(0x33, page + 0xc00 + 18 + 100 + 18, 32));
        assert_true(memeqzero(page + 0xc00 + 168, OVMF_PAGE_SIZE - 0xc00 - 168));
        /* the padded table must fit the page */
        assert_int_equal(snp_kernel_hashes_page(&kh, 0xff8, page), -EINVAL);
}

static EVP_PKEY *new_key(int nid) {
        EVP_PKEY *k = EVP_EC_gen(OBJ_nid2sn(nid));
        assert_non_null(k);
        return k;
}

static void test_id_block(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *id_key = new_key(NID_secp384r1), *author = new_key(NID_secp384r1),
                                            *p256 = new_key(NID_X9_62_prime256v1);
        uint8_t block[SNP_ID_BLOCK_SIZE], digest[SNP_LD_SIZE];
        SnpIdBlock b = { .version = 1, .guest_svn = 7, .policy = 0x30000 };
        SnpIdAuth a;

        memset(b.ld, 0xab, sizeof(b.ld));
        memset(b.family_id, 0x01, 16);
        memset(b.image_id, 0x02, 16);
        snp_id_block_encode(&b, block);
        assert_true(memeqbyte(0xab, block, 48));
        assert_true(memeqbyte(0x01, block + 48, 16));
        assert_int_equal(block[80], 1);
        assert_int_equal(block[84], 7);
        assert_int_equal(block[90], 3); /* policy 0x30000, little-endian */

        assert_int_equal(snp_id_auth_build(block, id_key, author, &a, NULL), 0);
        assert_true(a.have_author_key);
        assert_int_equal(snp_id_auth_verify(block, a.id_auth), 1);
        assert_int_equal(snp_pubkey_digest(id_key, digest), 0);
        assert_memory_equal(digest, a.id_key_digest, SNP_LD_SIZE);
        assert_int_equal(snp_pubkey_digest(author, digest), 0);
        assert_memory_equal(digest, a.author_key_digest, SNP_LD_SIZE);
        /* another block, or a changed ID key signature, does not verify */
        block[0] ^= 1;
        assert_int_equal(snp_id_auth_verify(block, a.id_auth), 0);
        block[0] ^= 1;
        a.id_auth[0x680] ^= 1;
        assert_int_equal(snp_id_auth_verify(block, a.id_auth), 0);

        /* without an author key */
        assert_int_equal(snp_id_auth_build(block, id_key, NULL, &a, NULL), 0);
        assert_false(a.have_author_key);
        assert_true(memeqzero(a.author_key_digest, SNP_LD_SIZE));
        assert_int_equal(snp_id_auth_verify(block, a.id_auth), 1);
        /* only P-384 keys sign */
        {
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(snp_id_auth_build(block, p256, NULL, &a, &reason), -EINVAL);
                assert_non_null(strstr(reason, "P-384"));
        }
}

static void test_mrtd(void **state) {
        uint8_t img[IMG_SIZE], m1[TDX_MR_SIZE], m2[TDX_MR_SIZE];
        OvmfImage o;

        build_image(img, true);
        assert_int_equal(ovmf_parse(img, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_TDVF, &o, NULL), 0);
        assert_int_equal(tdx_mrtd(&o, m1, NULL), 0);
        /* the PAGE_AUG section is not measured: changing its size changes nothing */
        o.tdvf_sections[2].mem_size = 0x20000;
        assert_int_equal(tdx_mrtd(&o, m2, NULL), 0);
        assert_memory_equal(m1, m2, TDX_MR_SIZE);
        /* TempMem pages are added: their size counts */
        o.tdvf_sections[1].mem_size = 0x3000;
        assert_int_equal(tdx_mrtd(&o, m2, NULL), 0);
        assert_memory_not_equal(m1, m2, TDX_MR_SIZE);
        /* the BFV's bytes are extended */
        img[0x1000] ^= 1;
        assert_int_equal(ovmf_parse(img, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_TDVF, &o, NULL), 0);
        assert_int_equal(tdx_mrtd(&o, m2, NULL), 0);
        assert_memory_not_equal(m1, m2, TDX_MR_SIZE);
        /* no TDVF metadata: refused */
        memset(img, 0, IMG_SIZE);
        assert_int_equal(ovmf_parse(img, IMG_SIZE, OVMF_FOUR_GIB, OVMF_WANT_TDVF, &o, NULL), 0);
        {
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(tdx_mrtd(&o, m2, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "TDVF"));
        }
}

static void test_padded_digest(void **state) {
        /* td-shim's payload parameter example (td-payload-reference-calculator README) */
        static const char param[] = "root=/dev/vda1 console=hvc0 rw";
        uint8_t d[TDX_MR_SIZE], want[TDX_MR_SIZE];

        assert_int_equal(hex_decode_exact("64ed1e5a47e8632f80faf428465bd987af3e8e4ceb10a5a9f387b6302e30f499"
                                          "3bded2331f0691c4a38ad34e4cbbc627",
                                          want, sizeof(want)),
                         0);
        assert_int_equal(tdx_padded_digest((const uint8_t *) param, strlen(param), 0x1000, d), 0);
        assert_memory_equal(d, want, TDX_MR_SIZE);
        assert_int_equal(tdx_padded_digest((const uint8_t *) param, strlen(param), 4, d), -EINVAL);
}

/* A log: Spec ID event (SHA-256 and SHA-384), then events as (mr, type, data). */
typedef struct LogBuf {
        uint8_t p[4096];
        size_t n;
} LogBuf;

static void put(LogBuf *b, const void *p, size_t n) {
        assert_true(b->n + n <= sizeof(b->p));
        memcpy(b->p + b->n, p, n);
        b->n += n;
}

static void put32(LogBuf *b, uint32_t v) {
        uint8_t x[4];
        le32(x, v);
        put(b, x, 4);
}

static void spec_id(LogBuf *b) {
        static const uint8_t algs[] = { 0x0b, 0, 32, 0, 0x0c, 0, 48, 0 };
        put32(b, 0);
        put32(b, TCG_EV_NO_ACTION);
        put(b, (uint8_t[20]) {}, 20);
        put32(b, 16 + 4 + 4 + 4 + sizeof(algs) + 1);
        put(b, "Spec ID Event03", 16);
        put32(b, 0);
        put(b, (uint8_t[4]) { 0, 2, 0, 2 }, 4);
        put32(b, 2);
        put(b, algs, sizeof(algs));
        put(b, (uint8_t[1]) { 0 }, 1);
}

static void event(LogBuf *b, uint32_t mr, uint32_t type, const char *data, uint8_t sha384[TDX_MR_SIZE]) {
        uint8_t d256[32];
        unsigned n;

        assert_true(EVP_Digest(data, strlen(data), d256, &n, EVP_sha256(), NULL));
        assert_true(EVP_Digest(data, strlen(data), sha384, &n, EVP_sha384(), NULL));
        put32(b, mr);
        put32(b, type);
        put32(b, 2);
        put(b, (uint8_t[2]) { 0x0b, 0 }, 2);
        put(b, d256, 32);
        put(b, (uint8_t[2]) { 0x0c, 0 }, 2);
        put(b, sha384, TDX_MR_SIZE);
        put32(b, (uint32_t) strlen(data));
        put(b, data, strlen(data));
}

static void extend(uint8_t mr[TDX_MR_SIZE], const uint8_t d[TDX_MR_SIZE]) {
        uint8_t buf[2 * TDX_MR_SIZE];
        unsigned n;
        memcpy(buf, mr, TDX_MR_SIZE);
        memcpy(buf + TDX_MR_SIZE, d, TDX_MR_SIZE);
        assert_true(EVP_Digest(buf, sizeof(buf), mr, &n, EVP_sha384(), NULL));
}

static void test_eventlog_replay(void **state) {
        uint8_t want[TDX_RTMRS][TDX_MR_SIZE] = {}, d[TDX_MR_SIZE];
        _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
        _cleanup_free_ char *reason = NULL;
        LogBuf b = {};

        spec_id(&b);
        event(&b, 1, 0x80000008, "firmware", d);
        extend(want[0], d);
        event(&b, 2, 0x80000007, "Calling EFI Application from Boot Option", d);
        extend(want[1], d);
        /* the same separator twice, as real firmware writes it: both are extended */
        event(&b, 1, TCG_EV_SEPARATOR, "\1\1\1\1", d);
        extend(want[0], d);
        event(&b, 1, TCG_EV_SEPARATOR, "\1\1\1\1", d);
        extend(want[0], d);
        event(&b, 3, 0xd, "kernel_cmdline: console=ttyS0", d);
        extend(want[2], d);
        memset(b.p + b.n, 0xff, 200); /* an erased log area */
        b.n += 200;

        assert_int_equal(cc_eventlog_parse(b.p, b.n, &log, &reason), 0);
        assert_int_equal(log->n_events, 6);
        assert_memory_equal(log->rtmr, want, sizeof(want));
        assert_int_equal(cc_eventlog_match(log, (const uint8_t(*)[TDX_MR_SIZE]) want, NULL), 1);
        want[2][0] ^= 1;
        assert_int_equal(cc_eventlog_match(log, (const uint8_t(*)[TDX_MR_SIZE]) want, &reason), 0);
        assert_non_null(strstr(reason, "RTMR2"));
        assert_null(strstr(reason, "RTMR0"));
        {
                _cleanup_(json_object_putp) json_object *o = cc_eventlog_to_json(log);
                json_object *events, *e, *v;
                assert_non_null(o);
                assert_true(json_object_object_get_ex(o, "events", &events));
                e = json_object_array_get_idx(events, 5);
                assert_true(json_object_object_get_ex(e, "data", &v));
                assert_string_equal(json_object_get_string(v), "kernel_cmdline: console=ttyS0");
                assert_true(json_object_object_get_ex(e, "mr", &v));
                assert_string_equal(json_object_get_string(v), "rtmr2");
        }
}

static void test_eventlog_malformed(void **state) {
        uint8_t d[TDX_MR_SIZE];
        LogBuf b = {}, bad;
        size_t start;

        spec_id(&b);
        start = b.n;
        event(&b, 1, TCG_EV_SEPARATOR, "sep", d);
        /* garbage after the fill is not a fill */
        bad = b;
        memset(bad.p + bad.n, 0xff, 16);
        bad.p[bad.n + 16] = 1;
        bad.n += 17;
        {
                _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(cc_eventlog_parse(bad.p, bad.n, &log, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "event 2"));
        }
        /* an MR index beyond RTMR3 */
        bad = b;
        le32(bad.p + start, 5);
        {
                _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(cc_eventlog_parse(bad.p, bad.n, &log, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "MR index"));
        }
        /* every truncation parses (at an event boundary) or is refused */
        for (size_t n = 0; n < b.n; n++) {
                CcEventLog *log = NULL;
                char *reason = NULL;
                int r = cc_eventlog_parse(b.p, n, &log, &reason);
                assert_true(r == 0 || r == -EBADMSG);
                cc_eventlog_free(log);
                free(reason);
        }
}

static void test_ccel_table(void **state) {
        uint8_t t[56] = "CCEL";
        uint8_t sum = 0;
        CcelTable c;

        le32(t + 4, 56);
        t[8] = 1;
        t[36] = CCEL_CC_TYPE_TDX;
        le64(t + 40, 0x10000);
        le64(t + 48, 0x7fff0000);
        for (size_t i = 0; i < sizeof(t); i++)
                sum = (uint8_t) (sum + t[i]);
        t[9] = (uint8_t) -sum;
        assert_int_equal(ccel_table_parse(t, sizeof(t), &c, NULL), 0);
        assert_int_equal(c.laml, 0x10000);
        assert_int_equal(c.lasa, 0x7fff0000);
        t[9] ^= 1;
        {
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(ccel_table_parse(t, sizeof(t), &c, &reason), -EBADMSG);
                assert_non_null(strstr(reason, "checksum"));
        }
        assert_int_equal(ccel_table_parse(t, 40, &c, NULL), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ovmf_parse),
                cmocka_unit_test(test_ovmf_malformed),
                cmocka_unit_test(test_snp_measure_inputs),
                cmocka_unit_test(test_snp_measure_refusals),
                cmocka_unit_test(test_cpu_signature),
                cmocka_unit_test(test_kernel_hashes_page),
                cmocka_unit_test(test_id_block),
                cmocka_unit_test(test_mrtd),
                cmocka_unit_test(test_padded_digest),
                cmocka_unit_test(test_eventlog_replay),
                cmocka_unit_test(test_eventlog_malformed),
                cmocka_unit_test(test_ccel_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
