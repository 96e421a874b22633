/* SPDX-License-Identifier: Apache-2.0 */
/* HPKE (RFC 9180 base and auth modes): every encryption and export of the official test vectors for the
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 suites in $CVM_VECTORS/hpke (skipped when absent;
 * the P-256 and P-521 suites are out of scope and are counted, not run), both directions, plus
 * the failure paths: tampering, wrong aad, wrong key, low-order public keys, bad sizes,
 * unsupported suites, sequence numbers, and the key confirmation both ends derive. Auth mode
 * against the RFC's Appendix A.1.3 values (kept here), and its refusals: another sender's key,
 * a base-mode peer, a low-order sender key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "cvm/hpke.h"
#include "cvm/util.h"
#include "cvm/verdict.h" /* json_object_putp */

static const char *vectors_dir(void) {
        const char *v = getenv("CVM_VECTORS");
        return v && *v ? v : "../shared/vectors";
}

static json_object *load_json(const char *path, uint8_t **ret_data, size_t *ret_size) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        json_object *o;

        if (read_file_bounded(path, CVM_INPUT_MAX, &data, &size) < 0)
                return NULL;
        o = json_tokener_parse((const char *) data);
        if (ret_data) {
                *ret_data = TAKE_PTR(data);
                *ret_size = size;
        }
        return o;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                fail_msg("vector lacks string field '%s'", key);
        return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                fail_msg("vector lacks integer field '%s'", key);
        return json_object_get_int64(v);
}

/* Decoded hex; an empty string gives size 0. */
typedef struct Bytes {
        uint8_t *p;
        size_t n;
} Bytes;

static Bytes hex(json_object *o, const char *key) {
        Bytes b = {};

        if (hex_decode(jstr(o, key), &b.p, &b.n) < 0)
                fail_msg("field '%s' is not hex", key);
        return b;
}

static void bytes_done(Bytes *b) {
        free(b->p);
        *b = (Bytes) {};
}

static void assert_bytes_equal(const uint8_t *a, size_t an, const Bytes *b, const char *what) {
        if (an != b->n || memcmp(a, b->p, an) != 0) {
                _cleanup_free_ char *x = hex_encode(a, an), *y = hex_encode(b->p, b->n);
                fail_msg("%s: got %s, expected %s", what, x, y);
        }
}

/* Runs one vector file; returns the number of encryptions + exports checked. */
static unsigned run_vector(const char *path, const char *sha256_hex) {
        _cleanup_(json_object_putp) json_object *v = NULL;
        _cleanup_(secret_freep) Secret *sk_e = NULL, *sk_r = NULL;
        _cleanup_(hpke_context_freep) HpkeContext *s = NULL, *r = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        uint8_t pk_e[HPKE_PUBLIC_KEY_SIZE], pk_r[HPKE_PUBLIC_KEY_SIZE], enc[HPKE_ENC_SIZE], digest[32];
        Bytes ikm_e, ikm_r, sk_em, sk_rm, pk_em, pk_rm, enc_v, info;
        json_object *encs, *exps;
        unsigned checked = 0;
        size_t raw_size = 0;
        HpkeSuite suite;

        v = load_json(path, &raw, &raw_size);
        assert_non_null(v);
        /* the file is the one index.json describes */
        assert_int_equal(EVP_Digest(raw, raw_size, digest, NULL, EVP_sha256(), NULL), 1);
        {
                _cleanup_free_ char *d = hex_encode(digest, sizeof(digest));
                assert_string_equal(d, sha256_hex);
        }
        assert_int_equal(jint(v, "mode"), 0);
        suite = (HpkeSuite) { (uint16_t) jint(v, "kem_id"), (uint16_t) jint(v, "kdf_id"), (uint16_t) jint(v, "aead_id") };
        assert_int_equal(hpke_suite_check(suite), 0);

        ikm_e = hex(v, "ikmE"), ikm_r = hex(v, "ikmR"), sk_em = hex(v, "skEm"), sk_rm = hex(v, "skRm");
        pk_em = hex(v, "pkEm"), pk_rm = hex(v, "pkRm"), enc_v = hex(v, "enc"), info = hex(v, "info");

        /* DeriveKeyPair for both key pairs */
        assert_int_equal(hpke_derive_key_pair(suite, ikm_e.p, ikm_e.n, &sk_e, pk_e), 0);
        assert_bytes_equal(secret_data(sk_e), secret_size(sk_e), &sk_em, "skEm");
        assert_bytes_equal(pk_e, sizeof(pk_e), &pk_em, "pkEm");
        assert_int_equal(hpke_derive_key_pair(suite, ikm_r.p, ikm_r.n, &sk_r, pk_r), 0);
        assert_bytes_equal(secret_data(sk_r), secret_size(sk_r), &sk_rm, "skRm");
        assert_bytes_equal(pk_r, sizeof(pk_r), &pk_rm, "pkRm");
        {
                uint8_t pk[HPKE_PUBLIC_KEY_SIZE];
                assert_int_equal(hpke_public_key(suite, sk_r, pk), 0);
                assert_bytes_equal(pk, sizeof(pk), &pk_rm, "pk(skR)");
        }

        /* SetupBaseS with the vector's ephemeral key, SetupBaseR with the encapsulation */
        assert_int_equal(hpke_setup_sender_with_ephemeral(suite, pk_rm.p, pk_rm.n, info.p, info.n, sk_e, enc, &s), 0);
        assert_bytes_equal(enc, sizeof(enc), &enc_v, "enc");
        assert_int_equal(hpke_setup_receiver(suite, enc_v.p, enc_v.n, sk_r, info.p, info.n, &r), 0);

        assert_true(json_object_object_get_ex(v, "encryptions", &encs));
        assert_true(json_object_array_length(encs) > 0);
        for (size_t i = 0; i < json_object_array_length(encs); i++) {
                json_object *e = json_object_array_get_idx(encs, i);
                Bytes aad = hex(e, "aad"), pt = hex(e, "pt"), ct = hex(e, "ct");
                _cleanup_free_ uint8_t *out = NULL;
                _cleanup_(secret_freep) Secret *opened = NULL;
                size_t out_size;
                char what[64];

                assert_int_equal(hpke_context_seq(s), i);
                assert_int_equal(hpke_seal(s, aad.p, aad.n, pt.p, pt.n, &out, &out_size), 0);
                snprintf(what, sizeof(what), "ct[%zu]", i);
                assert_bytes_equal(out, out_size, &ct, what);
                assert_int_equal(hpke_open(r, aad.p, aad.n, ct.p, ct.n, &opened), 0);
                snprintf(what, sizeof(what), "pt[%zu]", i);
                assert_bytes_equal(secret_data(opened), secret_size(opened), &pt, what);
                checked++;
                bytes_done(&aad), bytes_done(&pt), bytes_done(&ct);
        }

        assert_true(json_object_object_get_ex(v, "exports", &exps));
        assert_true(json_object_array_length(exps) > 0);
        for (size_t i = 0; i < json_object_array_length(exps); i++) {
                json_object *e = json_object_array_get_idx(exps, i);
                Bytes ectx = hex(e, "exporter_context"), want = hex(e, "exported_value");
                size_t len = (size_t) jint(e, "L");
                _cleanup_free_ uint8_t *a = malloc(len), *b = malloc(len);

                assert_non_null(a);
                assert_non_null(b);
                assert_int_equal(hpke_export(s, ectx.p, ectx.n, a, len), 0);
                assert_bytes_equal(a, len, &want, "export (sender)");
                assert_int_equal(hpke_export(r, ectx.p, ectx.n, b, len), 0);
                assert_bytes_equal(b, len, &want, "export (receiver)");
                checked++;
                bytes_done(&ectx), bytes_done(&want);
        }

        bytes_done(&ikm_e), bytes_done(&ikm_r), bytes_done(&sk_em), bytes_done(&sk_rm);
        bytes_done(&pk_em), bytes_done(&pk_rm), bytes_done(&enc_v), bytes_done(&info);
        return checked;
}

static void test_official_vectors(void **state) {
        _cleanup_free_ char *dir = strdup_printf("%s/hpke", vectors_dir()), *index = NULL;
        _cleanup_(json_object_putp) json_object *idx = NULL;
        json_object *files;
        unsigned files_run = 0, out_of_scope = 0, checked = 0;

        index = strdup_printf("%s/index.json", dir);
        if (access(index, R_OK) < 0) {
                print_message("no HPKE vectors at %s: skipped\n", dir);
                skip();
        }
        idx = load_json(index, NULL, NULL);
        assert_non_null(idx);
        assert_true(json_object_object_get_ex(idx, "files", &files));
        for (size_t i = 0; i < json_object_array_length(files); i++) {
                json_object *f = json_object_array_get_idx(files, i);
                HpkeSuite suite = { (uint16_t) jint(f, "kem_id"), (uint16_t) jint(f, "kdf_id"),
                                    (uint16_t) jint(f, "aead_id") };
                _cleanup_free_ char *path = strdup_printf("%s/%s", dir, jstr(f, "file"));

                if (suite.kem_id != HPKE_KEM_X25519_HKDF_SHA256) {
                        /* P-256 / P-521 KEMs: out of scope, and refused as such */
                        assert_int_equal(hpke_suite_check(suite), -EOPNOTSUPP);
                        out_of_scope++;
                        continue;
                }
                checked += run_vector(path, jstr(f, "sha256"));
                files_run++;
        }
        print_message("HPKE vectors: %u X25519 suites, %u encryptions+exports checked; %u NIST-curve suites out "
                      "of scope\n", files_run, checked, out_of_scope);
        assert_int_equal(files_run, 3); /* AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 */
        assert_int_equal(checked, 3 * (257 + 3));
}

/* ---- round trips and failure paths with fresh keys ---- */

typedef struct Pair {
        Secret *sk;
        uint8_t pk[HPKE_PUBLIC_KEY_SIZE];
} Pair;

static void test_round_trip_and_confirmation(void **state) {
        static const uint8_t aad[] = "nonce-and-vm-uuid", info[] = "cvmd key release v1";
        static const uint8_t bundle[] = "{\"keys\":[{\"kid\":\"a\",\"key\":\"...\"}]}";
        const HpkeSuite suites[] = {
                HPKE_SUITE_DEFAULT,
                { HPKE_KEM_X25519_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_128_GCM },
                { HPKE_KEM_X25519_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_CHACHA20_POLY1305 },
        };

        for (size_t k = 0; k < ELEMENTSOF(suites); k++) {
                _cleanup_(secret_freep) Secret *sk = NULL, *pt = NULL, *pt2 = NULL;
                _cleanup_(hpke_context_freep) HpkeContext *s = NULL, *r = NULL, *r2 = NULL;
                _cleanup_free_ uint8_t *ct = NULL;
                uint8_t pk[HPKE_PUBLIC_KEY_SIZE], enc[HPKE_ENC_SIZE], c1[HPKE_CONFIRM_SIZE], c2[HPKE_CONFIRM_SIZE];
                size_t ct_size;

                assert_int_equal(hpke_generate_key_pair(suites[k], &sk, pk), 0);
                assert_int_equal(secret_size(sk), HPKE_PRIVATE_KEY_SIZE);
                assert_int_equal(hpke_setup_sender(suites[k], pk, sizeof(pk), info, sizeof(info), enc, &s), 0);
                assert_int_equal(hpke_seal(s, aad, sizeof(aad), bundle, sizeof(bundle), &ct, &ct_size), 0);
                assert_int_equal(ct_size, sizeof(bundle) + HPKE_TAG_SIZE);
                assert_memory_not_equal(ct, bundle, sizeof(bundle));

                assert_int_equal(hpke_setup_receiver(suites[k], enc, sizeof(enc), sk, info, sizeof(info), &r), 0);
                /* the receiver cannot seal, the sender cannot open */
                {
                        _cleanup_free_ uint8_t *x = NULL;
                        _cleanup_(secret_freep) Secret *y = NULL;
                        size_t xn;
                        assert_int_equal(hpke_seal(r, aad, sizeof(aad), bundle, 1, &x, &xn), -EPERM);
                        assert_int_equal(hpke_open(s, aad, sizeof(aad), ct, ct_size, &y), -EPERM);
                }
                /* wrong aad, tampered ciphertext, truncated: -EBADMSG, and the sequence stays */
                for (size_t i = 0; i < ct_size; i += 7) {
                        _cleanup_free_ uint8_t *bad = malloc(ct_size);
                        Secret *sentinel = (Secret *) 0x1, *out = sentinel;
                        memcpy(bad, ct, ct_size);
                        bad[i] ^= 0x01;
                        assert_int_equal(hpke_open(r, aad, sizeof(aad), bad, ct_size, &out), -EBADMSG);
                        assert_ptr_equal(out, sentinel);
                }
                assert_int_equal(hpke_open(r, aad, sizeof(aad) - 1, ct, ct_size, &pt), -EBADMSG);
                assert_int_equal(hpke_open(r, NULL, 0, ct, ct_size, &pt), -EBADMSG);
                assert_int_equal(hpke_open(r, aad, sizeof(aad), ct, ct_size - 1, &pt), -EBADMSG);
                assert_int_equal(hpke_open(r, aad, sizeof(aad), ct, HPKE_TAG_SIZE - 1, &pt), -EBADMSG);
                assert_null(pt);
                assert_int_equal(hpke_context_seq(r), 0);
                assert_int_equal(hpke_open(r, aad, sizeof(aad), ct, ct_size, &pt), 0);
                assert_true(secret_equal_bytes(pt, bundle, sizeof(bundle)));
                assert_int_equal(hpke_context_seq(r), 1);
                /* replaying the same ciphertext at the next sequence number fails */
                assert_int_equal(hpke_open(r, aad, sizeof(aad), ct, ct_size, &pt2), -EBADMSG);

                /* key confirmation: equal on both ends, and differs from a different info */
                assert_int_equal(hpke_key_confirmation(s, c1), 0);
                assert_int_equal(hpke_key_confirmation(r, c2), 0);
                assert_memory_equal(c1, c2, sizeof(c1));
                assert_int_equal(hpke_setup_receiver(suites[k], enc, sizeof(enc), sk, info, sizeof(info) - 1, &r2),
                                 0);
                assert_int_equal(hpke_key_confirmation(r2, c2), 0);
                assert_memory_not_equal(c1, c2, sizeof(c1));
                /* and a different info cannot open */
                assert_int_equal(hpke_open(r2, aad, sizeof(aad), ct, ct_size, &pt2), -EBADMSG);
        }
}

static void test_wrong_recipient(void **state) {
        _cleanup_(secret_freep) Secret *sk1 = NULL, *sk2 = NULL, *pt = NULL;
        _cleanup_(hpke_context_freep) HpkeContext *s = NULL, *r = NULL;
        _cleanup_free_ uint8_t *ct = NULL;
        uint8_t pk1[32], pk2[32], enc[32];
        size_t n;

        assert_int_equal(hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &sk1, pk1), 0);
        assert_int_equal(hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &sk2, pk2), 0);
        assert_memory_not_equal(pk1, pk2, 32);
        assert_int_equal(hpke_setup_sender(HPKE_SUITE_DEFAULT, pk1, 32, NULL, 0, enc, &s), 0);
        assert_int_equal(hpke_seal(s, NULL, 0, (const uint8_t *) "k", 1, &ct, &n), 0);
        assert_int_equal(hpke_setup_receiver(HPKE_SUITE_DEFAULT, enc, 32, sk2, NULL, 0, &r), 0);
        assert_int_equal(hpke_open(r, NULL, 0, ct, n, &pt), -EBADMSG);
        assert_null(pt);
}

/* RFC 9180 Appendix A.1.3: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_auth.
 * Not among the base-mode files of $CVM_VECTORS/hpke, so the RFC's values are test data here. */
static const struct {
        const char *info, *ikm_e, *pk_em, *ikm_r, *pk_rm, *ikm_s, *pk_sm, *sk_sm, *enc;
        struct {
                const char *aad, *ct;
        } seal[2];
        struct {
                const char *context, *value;
        } exports[3];
} rfc9180_a13 = {
        .info = "4f6465206f6e2061204772656369616e2055726e",
        .ikm_e = "6e6d8f200ea2fb20c30b003a8b4f433d2f4ed4c2658d5bc8ce2fef718059c9f7",
        .pk_em = "23fb952571a14a25e3d678140cd0e5eb47a0961bb18afcf85896e5453c312e76",
        .ikm_r = "f1d4a30a4cef8d6d4e3b016e6fd3799ea057db4f345472ed302a67ce1c20cdec",
        .pk_rm = "1632d5c2f71c2b38d0a8fcc359355200caa8b1ffdf28618080466c909cb69b2e",
        .ikm_s = "94b020ce91d73fca4649006c7e7329a67b40c55e9e93cc907d282bbbff386f58",
        .pk_sm = "8b0c70873dc5aecb7f9ee4e62406a397b350e57012be45cf53b7105ae731790b",
        .sk_sm = "dc4a146313cce60a278a5323d321f051c5707e9c45ba21a3479fecdf76fc69dd",
        .enc = "23fb952571a14a25e3d678140cd0e5eb47a0961bb18afcf85896e5453c312e76",
        .seal = {
                { "436f756e742d30", "5fd92cc9d46dbf8943e72a07e42f363ed5f721212cd90bcfd072bfd9f44e06b80fd17824947496e21b680c141b" },
                { "436f756e742d31", "d3736bb256c19bfa93d79e8f80b7971262cb7c887e35c26370cfed62254369a1b52e3d505b79dd699f002bc8ed" },
        },
        .exports = {
                { "", "28c70088017d70c896a8420f04702c5a321d9cbf0279fba899b59e51bac72c85" },
                { "00", "25dfc004b0892be1888c3914977aa9c9bbaf2c7471708a49e1195af48a6f29ce" },
                { "54657374436f6e74657874", "5a0131813abc9a522cad678eb6bafaabc43389934adb8097d23c5ff68059eb64" },
        },
};
static const char rfc9180_pt[] = "4265617574792069732074727574682c20747275746820626561757479";

static Bytes unhex(const char *s) {
        Bytes b = {};

        if (!*s)
                return b;
        if (hex_decode(s, &b.p, &b.n) < 0)
                fail_msg("test data '%.16s...' is not hex", s);
        return b;
}

static void test_auth_mode_vector(void **state) {
        const HpkeSuite suite = { HPKE_KEM_X25519_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_128_GCM };
        _cleanup_(secret_freep) Secret *sk_e = NULL, *sk_r = NULL, *sk_s = NULL, *other = NULL;
        _cleanup_(hpke_context_freep) HpkeContext *s = NULL, *r = NULL, *wrong = NULL;
        uint8_t pk_e[32], pk_r[32], pk_s[32], pk_other[32], enc[HPKE_ENC_SIZE];
        Bytes info = unhex(rfc9180_a13.info), ikm_e = unhex(rfc9180_a13.ikm_e), ikm_r = unhex(rfc9180_a13.ikm_r),
              ikm_s = unhex(rfc9180_a13.ikm_s), pk_em = unhex(rfc9180_a13.pk_em), pk_rm = unhex(rfc9180_a13.pk_rm),
              pk_sm = unhex(rfc9180_a13.pk_sm), sk_sm = unhex(rfc9180_a13.sk_sm), enc_v = unhex(rfc9180_a13.enc),
              pt = unhex(rfc9180_pt);

        assert_int_equal(hpke_derive_key_pair(suite, ikm_e.p, ikm_e.n, &sk_e, pk_e), 0);
        assert_bytes_equal(pk_e, 32, &pk_em, "pkEm");
        assert_int_equal(hpke_derive_key_pair(suite, ikm_r.p, ikm_r.n, &sk_r, pk_r), 0);
        assert_bytes_equal(pk_r, 32, &pk_rm, "pkRm");
        assert_int_equal(hpke_derive_key_pair(suite, ikm_s.p, ikm_s.n, &sk_s, pk_s), 0);
        assert_bytes_equal(secret_data(sk_s), secret_size(sk_s), &sk_sm, "skSm");
        assert_bytes_equal(pk_s, 32, &pk_sm, "pkSm");

        /* SetupAuthS with the vector's ephemeral key; SetupAuthR naming the sender's public key */
        assert_int_equal(hpke_setup_auth_sender_with_ephemeral(suite, pk_r, 32, info.p, info.n, sk_s, sk_e, enc, &s), 0);
        assert_bytes_equal(enc, sizeof(enc), &enc_v, "enc");
        assert_int_equal(hpke_setup_auth_receiver(suite, enc_v.p, enc_v.n, sk_r, info.p, info.n, pk_s, 32, &r), 0);
        for (size_t i = 0; i < ELEMENTSOF(rfc9180_a13.seal); i++) {
                Bytes aad = unhex(rfc9180_a13.seal[i].aad), ct = unhex(rfc9180_a13.seal[i].ct);
                _cleanup_free_ uint8_t *out = NULL;
                _cleanup_(secret_freep) Secret *opened = NULL;
                size_t out_size;

                assert_int_equal(hpke_seal(s, aad.p, aad.n, pt.p, pt.n, &out, &out_size), 0);
                assert_bytes_equal(out, out_size, &ct, "auth ct");
                assert_int_equal(hpke_open(r, aad.p, aad.n, ct.p, ct.n, &opened), 0);
                assert_bytes_equal(secret_data(opened), secret_size(opened), &pt, "auth pt");
                bytes_done(&aad), bytes_done(&ct);
        }
        for (size_t i = 0; i < ELEMENTSOF(rfc9180_a13.exports); i++) {
                Bytes ctx = unhex(rfc9180_a13.exports[i].context), want = unhex(rfc9180_a13.exports[i].value);
                uint8_t a[32], b[32];

                assert_int_equal(hpke_export(s, ctx.p, ctx.n, a, sizeof(a)), 0);
                assert_bytes_equal(a, sizeof(a), &want, "auth export (sender)");
                assert_int_equal(hpke_export(r, ctx.p, ctx.n, b, sizeof(b)), 0);
                assert_bytes_equal(b, sizeof(b), &want, "auth export (receiver)");
                bytes_done(&ctx), bytes_done(&want);
        }

        /* a receiver that expects another sender derives other keys: the first ciphertext does
         * not open, and the exported values (cvmd's key confirmation) differ */
        assert_int_equal(hpke_generate_key_pair(suite, &other, pk_other), 0);
        assert_int_equal(hpke_setup_auth_receiver(suite, enc_v.p, enc_v.n, sk_r, info.p, info.n, pk_other, 32, &wrong), 0);
        {
                Bytes aad = unhex(rfc9180_a13.seal[0].aad), ct = unhex(rfc9180_a13.seal[0].ct);
                _cleanup_(secret_freep) Secret *opened = NULL;
                uint8_t x[32];

                assert_int_equal(hpke_open(wrong, aad.p, aad.n, ct.p, ct.n, &opened), -EBADMSG);
                assert_null(opened);
                assert_int_equal(hpke_export(wrong, NULL, 0, x, sizeof(x)), 0);
                {
                        Bytes want = unhex(rfc9180_a13.exports[0].value);
                        assert_memory_not_equal(x, want.p, sizeof(x));
                        bytes_done(&want);
                }
                bytes_done(&aad), bytes_done(&ct);
        }
        bytes_done(&info), bytes_done(&ikm_e), bytes_done(&ikm_r), bytes_done(&ikm_s), bytes_done(&pk_em);
        bytes_done(&pk_rm), bytes_done(&pk_sm), bytes_done(&sk_sm), bytes_done(&enc_v), bytes_done(&pt);
}

/* The key release's use of auth mode: a sender with another static key, a base-mode sender, and
 * a receiver in base mode all fail to agree with an auth-mode peer; bad arguments are refused. */
static void test_auth_mode_refusals(void **state) {
        static const uint8_t aad[] = "nonce||uuid", info[] = "cvmd key release v1", msg[] = "bundle";
        _cleanup_(secret_freep) Secret *sk_r = NULL, *sk_s = NULL, *sk_x = NULL;
        uint8_t pk_r[32], pk_s[32], pk_x[32], zero[32] = {};
        struct {
                const Secret *sender; /* NULL: base mode */
                bool receiver_auth;
                bool opens;
        } cases[4];

        assert_int_equal(hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &sk_r, pk_r), 0);
        assert_int_equal(hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &sk_s, pk_s), 0);
        assert_int_equal(hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &sk_x, pk_x), 0);
        cases[0] = (typeof(cases[0])) { NULL, true, false }; /* base-mode sealing, auth-mode opening */
        cases[1] = (typeof(cases[0])) { NULL, false, true }; /* base both ends still works as such */
        cases[2] = (typeof(cases[0])) { sk_x, true, false }; /* an impostor with a static key of its own */
        cases[3] = (typeof(cases[0])) { sk_s, true, true };  /* the releaser the receiver expects */
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(hpke_context_freep) HpkeContext *s = NULL, *r = NULL;
                _cleanup_(secret_freep) Secret *pt = NULL;
                _cleanup_free_ uint8_t *ct = NULL;
                uint8_t enc[32], c1[HPKE_CONFIRM_SIZE], c2[HPKE_CONFIRM_SIZE];
                size_t n;

                if (cases[i].sender)
                        assert_int_equal(hpke_setup_auth_sender(HPKE_SUITE_DEFAULT, pk_r, 32, info, sizeof(info),
                                                                cases[i].sender, enc, &s), 0);
                else
                        assert_int_equal(hpke_setup_sender(HPKE_SUITE_DEFAULT, pk_r, 32, info, sizeof(info), enc, &s), 0);
                assert_int_equal(hpke_seal(s, aad, sizeof(aad), msg, sizeof(msg), &ct, &n), 0);
                if (cases[i].receiver_auth)
                        assert_int_equal(hpke_setup_auth_receiver(HPKE_SUITE_DEFAULT, enc, 32, sk_r, info, sizeof(info),
                                                                  pk_s, 32, &r), 0);
                else
                        assert_int_equal(hpke_setup_receiver(HPKE_SUITE_DEFAULT, enc, 32, sk_r, info, sizeof(info), &r), 0);
                assert_int_equal(hpke_open(r, aad, sizeof(aad), ct, n, &pt), cases[i].opens ? 0 : -EBADMSG);
                assert_int_equal(hpke_key_confirmation(s, c1), 0);
                assert_int_equal(hpke_key_confirmation(r, c2), 0);
                if (cases[i].opens) {
                        assert_true(secret_equal_bytes(pt, msg, sizeof(msg)));
                        assert_memory_equal(c1, c2, sizeof(c1));
                } else
                        assert_memory_not_equal(c1, c2, sizeof(c1));
        }
        {
                HpkeContext *ctx = NULL;
                uint8_t enc[32];
                assert_int_equal(hpke_setup_auth_sender(HPKE_SUITE_DEFAULT, pk_r, 32, NULL, 0, NULL, enc, &ctx), -EINVAL);
                assert_int_equal(hpke_setup_auth_receiver(HPKE_SUITE_DEFAULT, pk_x, 32, sk_r, NULL, 0, NULL, 32, &ctx),
                                 -EINVAL);
                assert_int_equal(hpke_setup_auth_receiver(HPKE_SUITE_DEFAULT, pk_x, 32, sk_r, NULL, 0, pk_s, 31, &ctx),
                                 -EINVAL);
                /* a low-order sender key makes DH(skR, pkS) all zero: refused */
                assert_int_equal(hpke_setup_auth_receiver(HPKE_SUITE_DEFAULT, pk_x, 32, sk_r, NULL, 0, zero, 32, &ctx),
                                 -EPROTO);
                assert_null(ctx);
        }
}

static void test_low_order_and_sizes(void **state) {
        /* X25519 points of small order: the DH result is all zero and must be refused */
        static const uint8_t zero[32] = {}, one[32] = { 1 };
        _cleanup_(secret_freep) Secret *sk = NULL, *short_sk = NULL;
        HpkeContext *sentinel = (HpkeContext *) 0x1, *ctx = sentinel;
        uint8_t pk[32], enc[32] = {}, enc_before[32];
        uint8_t big_info[HPKE_INFO_MAX + 1] = {};

        assert_int_equal(hpke_generate_key_pair(HPKE_SUITE_DEFAULT, &sk, pk), 0);
        memcpy(enc_before, enc, sizeof(enc));
        assert_int_equal(hpke_setup_sender(HPKE_SUITE_DEFAULT, zero, 32, NULL, 0, enc, &ctx), -EPROTO);
        assert_int_equal(hpke_setup_sender(HPKE_SUITE_DEFAULT, one, 32, NULL, 0, enc, &ctx), -EPROTO);
        assert_int_equal(hpke_setup_receiver(HPKE_SUITE_DEFAULT, zero, 32, sk, NULL, 0, &ctx), -EPROTO);
        assert_ptr_equal(ctx, sentinel);
        assert_memory_equal(enc, enc_before, sizeof(enc));

        /* sizes */
        assert_int_equal(hpke_setup_sender(HPKE_SUITE_DEFAULT, pk, 31, NULL, 0, enc, &ctx), -EINVAL);
        assert_int_equal(hpke_setup_sender(HPKE_SUITE_DEFAULT, pk, 33, NULL, 0, enc, &ctx), -EINVAL);
        assert_int_equal(hpke_setup_receiver(HPKE_SUITE_DEFAULT, pk, 31, sk, NULL, 0, &ctx), -EINVAL);
        assert_int_equal(hpke_setup_sender(HPKE_SUITE_DEFAULT, pk, 32, big_info, sizeof(big_info), enc, &ctx),
                         -EINVAL);
        assert_int_equal(secret_new_copy(one, 31, &short_sk), 0);
        assert_int_equal(hpke_setup_receiver(HPKE_SUITE_DEFAULT, pk, 32, short_sk, NULL, 0, &ctx), -EINVAL);
        assert_ptr_equal(ctx, sentinel);
        {
                Secret *s2 = NULL;
                uint8_t p2[32];
                assert_int_equal(hpke_derive_key_pair(HPKE_SUITE_DEFAULT, one, HPKE_IKM_MIN - 1, &s2, p2), -EINVAL);
                assert_null(s2);
        }
}

static void test_unsupported_suites(void **state) {
        const HpkeSuite bad[] = {
                { 0x0010, 0x0001, 0x0001 }, /* P-256 */
                { 0x0011, 0x0002, 0x0002 }, /* P-384 */
                { 0x0012, 0x0003, 0x0002 }, /* P-521 */
                { 0x0021, 0x0003, 0x0002 }, /* X448 */
                { 0x0020, 0x0003, 0x0002 }, /* X25519 with HKDF-SHA512 */
                { 0x0020, 0x0001, 0x0004 }, /* unknown AEAD */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Secret *sk = NULL;
                uint8_t pk[32];
                assert_int_equal(hpke_suite_check(bad[i]), -EOPNOTSUPP);
                assert_int_equal(hpke_generate_key_pair(bad[i], &sk, pk), -EOPNOTSUPP);
                assert_null(sk);
        }
}

static void test_export_only_and_limits(void **state) {
        const HpkeSuite eo = { HPKE_KEM_X25519_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_EXPORT_ONLY };
        _cleanup_(secret_freep) Secret *sk = NULL;
        _cleanup_(hpke_context_freep) HpkeContext *s = NULL, *r = NULL;
        _cleanup_free_ uint8_t *ct = NULL, *big = malloc(255 * 32 + 1);
        uint8_t pk[32], enc[32], a[64], b[64];
        size_t n;

        assert_non_null(big);
        assert_int_equal(hpke_generate_key_pair(eo, &sk, pk), 0);
        assert_int_equal(hpke_setup_sender(eo, pk, 32, NULL, 0, enc, &s), 0);
        assert_int_equal(hpke_setup_receiver(eo, enc, 32, sk, NULL, 0, &r), 0);
        assert_int_equal(hpke_seal(s, NULL, 0, (const uint8_t *) "x", 1, &ct, &n), -EOPNOTSUPP);
        assert_int_equal(hpke_export(s, (const uint8_t *) "ctx", 3, a, sizeof(a)), 0);
        assert_int_equal(hpke_export(r, (const uint8_t *) "ctx", 3, b, sizeof(b)), 0);
        assert_memory_equal(a, b, sizeof(a));
        assert_int_equal(hpke_export(r, (const uint8_t *) "ctY", 3, b, sizeof(b)), 0);
        assert_memory_not_equal(a, b, sizeof(a));
        /* L up to 255 * Nh */
        assert_int_equal(hpke_export(s, NULL, 0, big, 255 * 32), 0);
        assert_int_equal(hpke_export(s, NULL, 0, big, 255 * 32 + 1), -EINVAL);
        assert_int_equal(hpke_export(s, NULL, 0, big, 0), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_official_vectors),
                cmocka_unit_test(test_round_trip_and_confirmation),
                cmocka_unit_test(test_wrong_recipient),
                cmocka_unit_test(test_auth_mode_vector),
                cmocka_unit_test(test_auth_mode_refusals),
                cmocka_unit_test(test_low_order_and_sizes),
                cmocka_unit_test(test_unsupported_suites),
                cmocka_unit_test(test_export_only_and_limits),
        };

        secret_init();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
