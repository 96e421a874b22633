/* SPDX-License-Identifier: Apache-2.0 */
/* Guest channel: frames, strict message decoding, the state table, socket I/O limits
 * (timeout, oversized frame, peer hang-up), nonces and the binding derivations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cvm/guest-proto.h"
#include "cvm/nonce.h"
#include "cvm/util.h"

static void fill(uint8_t *p, size_t n, uint8_t start) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (start + i);
}

static void blob_set(ProtoBlob *b, const void *p, size_t n) {
        b->data = malloc(n ? n : 1);
        assert_non_null(b->data);
        memcpy(b->data, p, n);
        b->size = n;
}

static void make_evidence(ProtoMsg *m, size_t gpus) {
        uint8_t report[1184];

        *m = (ProtoMsg) { .type = PROTO_EVIDENCE };
        m->tee = CVM_TEE_SEV_SNP;
        fill(report, sizeof(report), 7);
        blob_set(&m->report, report, sizeof(report));
        blob_set(&m->cert_table, "", 0);
        for (size_t i = 0; i < gpus; i++) {
                blob_set(&m->gpu_reports[i], report, 100 + i);
                blob_set(&m->gpu_chains[i], "-----BEGIN CERTIFICATE-----", 27);
                snprintf(m->gpu_pci[i], sizeof(m->gpu_pci[i]), "0000:%02zx:00.0", i + 1);
                m->gpu_cc[i] = i == 1 ? PROTO_GPU_CC_DEVTOOLS : PROTO_GPU_CC_ON;
        }
        m->n_gpus = gpus;
        fill(m->pubkey, sizeof(m->pubkey), 0x20);
}

static void roundtrip(const ProtoMsg *in, ProtoMsg *out) {
        _cleanup_free_ uint8_t *frame = NULL;
        char *reason = NULL;
        size_t size;

        assert_int_equal(proto_frame_encode(in, &frame, &size), 0);
        assert_int_equal(proto_frame_decode(frame, size, out, &reason), 0);
        assert_null(reason);
        assert_int_equal(out->type, in->type);
}

static void test_roundtrip_every_message(void **state) {
        ProtoMsg in = {}, out = {};

        in = (ProtoMsg) { .type = PROTO_HELLO, .version = PROTO_VERSION };
        roundtrip(&in, &out);
        assert_int_equal(out.version, PROTO_VERSION);
        proto_msg_done(&out);

        in = (ProtoMsg) { .type = PROTO_CHALLENGE, .gpus = 8 };
        fill(in.nonce, sizeof(in.nonce), 1);
        fill(in.spec_digest, sizeof(in.spec_digest), 2);
        fill(in.releaser_key, sizeof(in.releaser_key), 3);
        in.tee = CVM_TEE_TDX;
        roundtrip(&in, &out);
        assert_memory_equal(out.nonce, in.nonce, sizeof(in.nonce));
        assert_memory_equal(out.spec_digest, in.spec_digest, sizeof(in.spec_digest));
        assert_memory_equal(out.releaser_key, in.releaser_key, sizeof(in.releaser_key));
        assert_int_equal(out.tee, CVM_TEE_TDX);
        assert_int_equal(out.gpus, 8);
        proto_msg_done(&out);

        make_evidence(&in, 8);
        roundtrip(&in, &out);
        assert_int_equal(out.report.size, 1184);
        assert_memory_equal(out.report.data, in.report.data, 1184);
        assert_int_equal(out.cert_table.size, 0);
        assert_int_equal(out.n_gpus, 8);
        assert_int_equal(out.gpu_reports[7].size, 107);
        assert_string_equal(out.gpu_pci[7], "0000:08:00.0");
        assert_int_equal(out.gpu_cc[1], PROTO_GPU_CC_DEVTOOLS);
        assert_int_equal(out.gpu_cc[7], PROTO_GPU_CC_ON);
        assert_memory_equal(out.pubkey, in.pubkey, 32);
        proto_msg_done(&in);
        proto_msg_done(&out);

        in = (ProtoMsg) { .type = PROTO_KEY_RELEASE };
        {
                uint8_t enc[32], ct[48];
                fill(enc, 32, 3);
                fill(ct, 48, 9);
                blob_set(&in.enc, enc, 32);
                blob_set(&in.ciphertext, ct, 48);
                in.token = strdup("eyJ0b2tlbiI6MX0");
        }
        roundtrip(&in, &out);
        assert_int_equal(out.ciphertext.size, 48);
        assert_string_equal(out.token, "eyJ0b2tlbiI6MX0");
        proto_msg_done(&in);
        proto_msg_done(&out);

        in = (ProtoMsg) { .type = PROTO_ERROR, .reason = strdup("no GPU") };
        roundtrip(&in, &out);
        assert_string_equal(out.reason, "no GPU");
        proto_msg_done(&in);
        proto_msg_done(&out);
}

static int decode_text(const char *json, char **ret_reason) {
        size_t n = strlen(json);
        _cleanup_free_ uint8_t *f = malloc(n + 4);
        ProtoMsg m = {};
        int r;

        assert_non_null(f);
        f[0] = (uint8_t) (n >> 24);
        f[1] = (uint8_t) (n >> 16);
        f[2] = (uint8_t) (n >> 8);
        f[3] = (uint8_t) n;
        memcpy(f + 4, json, n);
        r = proto_frame_decode(f, n + 4, &m, ret_reason);
        proto_msg_done(&m);
        return r;
}

static void expect_refused(const char *json, const char *needle) {
        char *reason = NULL;

        assert_int_equal(decode_text(json, &reason), -EBADMSG);
        assert_non_null(reason);
        if (!strstr(reason, needle))
                fail_msg("reason '%s' lacks '%s'", reason, needle);
        free(reason);
}

static void test_strict_decoding(void **state) {
        static const char nonce[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        char buf[512];

        expect_refused("[1]", "not a JSON object");
        expect_refused("{\"type\":\"hello\"}", "missing 'version'");
        expect_refused("{\"type\":\"hello\",\"version\":1,\"x\":1}", "unknown key");
        expect_refused("{\"type\":\"hello\",\"version\":\"1\"}", "wrong type");
        expect_refused("{\"type\":\"shutdown\"}", "unknown message type");
        expect_refused("{\"type\":\"error\",\"reason\":\"\\u001b[2Jgone\"}", "control character");
        expect_refused("{\"version\":1}", "no \"type\"");
        expect_refused("{\"type\":\"hello\",\"version\":1} x", "exactly one JSON object");
        /* strict JSON: a duplicate member (json-c alone keeps the last), overlong or invalid UTF-8 */
        expect_refused("{\"type\":\"hello\",\"version\":1,\"version\":1}", "duplicate key");
        expect_refused("{\"type\":\"error\",\"type\":\"hello\",\"version\":1}", "duplicate key");
        expect_refused("{\"type\":\"error\",\"reason\":\"\xc0\xaf\"}", "UTF-8");
        expect_refused("{\"type\":\"error\",\"reason\":\"\xed\xa0\x80\"}", "UTF-8");
        expect_refused("{\"type\":\"error\",\"reason\":\"\xe0\x80\xaf\"}", "UTF-8");
        assert_int_equal(decode_text("{\"type\":\"error\",\"reason\":\"caf\xc3\xa9\"}", NULL), 0);
        snprintf(buf, sizeof(buf), "{\"type\":\"challenge\",\"nonce\":\"%s\",\"vm_uuid\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"spec_digest\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"releaser_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"tee\":\"sgx\",\"gpus\":1}", nonce);
        expect_refused(buf, "not sev-snp or tdx");
        snprintf(buf, sizeof(buf), "{\"type\":\"challenge\",\"nonce\":\"%s\",\"vm_uuid\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"spec_digest\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"releaser_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"tee\":\"tdx\",\"gpus\":17}", nonce);
        expect_refused(buf, "gpus");
        /* the releaser's members: both required, each of its exact size */
        expect_refused("{\"type\":\"challenge\",\"nonce\":\"AAEC\",\"vm_uuid\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
                       "\"tee\":\"tdx\",\"gpus\":1}", "missing 'spec_digest'");
        snprintf(buf, sizeof(buf), "{\"type\":\"challenge\",\"nonce\":\"%s\",\"vm_uuid\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
                 "\"spec_digest\":\"%s\",\"releaser_key\":\"AAAA\",\"tee\":\"tdx\",\"gpus\":1}", nonce,
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        expect_refused(buf, "challenge.releaser_key: 3 bytes");
        snprintf(buf, sizeof(buf), "{\"type\":\"challenge\",\"nonce\":\"%s\",\"vm_uuid\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
                 "\"spec_digest\":\"AAAA\",\"releaser_key\":\"%s\",\"tee\":\"tdx\",\"gpus\":1}", nonce,
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        expect_refused(buf, "challenge.spec_digest: 3 bytes");
        expect_refused("{\"type\":\"challenge\",\"nonce\":\"AAEC\",\"vm_uuid\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"spec_digest\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"releaser_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"tee\":\"tdx\",\"gpus\":1}", "3 bytes");
        expect_refused("{\"type\":\"challenge\",\"nonce\":\"A A=\",\"vm_uuid\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"spec_digest\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"releaser_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"tee\":\"tdx\",\"gpus\":1}", "not base64");
        expect_refused("{\"type\":\"evidence\",\"tee\":\"tdx\",\"report\":\"AA==\",\"cert_table\":\"\","
                       "\"gpu_reports\":[\"AA==\"],\"gpu_chains\":[],\"gpu_pci\":[],\"gpu_cc\":[],"
                       "\"pubkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}",
                       "1 GPU reports but 0 GPU chains");
        /* the GPU claims: one valid address and one known mode per report */
#define EV_ONE_GPU(pci, cc)                                                                                            \
        "{\"type\":\"evidence\",\"tee\":\"tdx\",\"report\":\"AA==\",\"cert_table\":\"\",\"gpu_reports\":[\"AA==\"],"           \
        "\"gpu_chains\":[\"AA==\"],\"gpu_pci\":[" pci "],\"gpu_cc\":[" cc "],"                                               \
        "\"pubkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}"
        assert_int_equal(decode_text(EV_ONE_GPU("\"0000:1f:00.7\"", "\"on\""), NULL), 0);
        expect_refused(EV_ONE_GPU("", "\"on\""), "1 GPU reports but 0 gpu_pci");
        expect_refused(EV_ONE_GPU("\"0000:1F:00.0\"", "\"on\""), "gpu_pci[0]: not a PCI address");
        expect_refused(EV_ONE_GPU("\"00000000:1f:00.0\"", "\"on\""), "gpu_pci[0]: not a PCI address");
        expect_refused(EV_ONE_GPU("\"0000:1f:20.0\"", "\"on\""), "gpu_pci[0]: not a PCI address");
        expect_refused(EV_ONE_GPU("\"0000:1f:00.8\"", "\"on\""), "gpu_pci[0]: not a PCI address");
        expect_refused(EV_ONE_GPU("1", "\"on\""), "gpu_pci[0]: not a PCI address");
        expect_refused(EV_ONE_GPU("\"0000:1f:00.0\"", "\"ON\""), "gpu_cc[0]");
        /* an escaped NUL, which would cut the string short, goes no further than the JSON */
        expect_refused(EV_ONE_GPU("\"0000:1f:00.0\"", "\"on\\u0000x\""), "(NUL) is not allowed");
#undef EV_ONE_GPU
        snprintf(buf, sizeof(buf), "{\"type\":\"challenge\",\"nonce\":\"%s\",\"vm_uuid\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"spec_digest\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"releaser_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"tee\":\"tdx\",\"gpus\":1}", nonce);
        assert_int_equal(decode_text(buf, NULL), 0);
}

static void test_frame_limits(void **state) {
        uint8_t hdr[8] = { 0x00, 0x10, 0x00, 0x01, '{', '}', 0, 0 }; /* 1 MiB + 1 */
        ProtoMsg m = {};
        char *reason = NULL;

        assert_int_equal(proto_frame_decode(hdr, sizeof(hdr), &m, &reason), -EMSGSIZE);
        free(reason);
        hdr[1] = 0;
        hdr[3] = 5; /* declares 5 bytes, carries 4 */
        reason = NULL;
        assert_int_equal(proto_frame_decode(hdr, sizeof(hdr), &m, &reason), -EBADMSG);
        free(reason);
        assert_int_equal(proto_frame_decode(hdr, 3, &m, NULL), -EBADMSG);
        hdr[3] = 0;
        assert_int_equal(proto_frame_decode(hdr, 4, &m, NULL), -EBADMSG); /* empty */
}

static void test_socket_io(void **state) {
        int sv[2];
        ProtoMsg in = { .type = PROTO_HELLO, .version = 1 }, out = {};
        char *reason = NULL;
        uint64_t t0;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(proto_send(sv[0], &in, proto_now_usec() + 1000000), 0);
        assert_int_equal(proto_recv(sv[1], proto_now_usec() + 1000000, &out, NULL), 0);
        assert_int_equal(out.type, PROTO_HELLO);
        proto_msg_done(&out);

        /* nothing arrives: the deadline ends the wait */
        t0 = proto_now_usec();
        assert_int_equal(proto_recv(sv[1], t0 + 100000, &out, &reason), -ETIMEDOUT);
        assert_true(proto_now_usec() - t0 >= 100000);
        free(reason);

        /* an oversized header is refused before any body is read */
        assert_int_equal(write(sv[0], "\x7f\xff\xff\xff", 4), 4);
        reason = NULL;
        assert_int_equal(proto_recv(sv[1], proto_now_usec() + 1000000, &out, &reason), -EMSGSIZE);
        assert_non_null(strstr(reason, "exceeds"));
        free(reason);

        /* the peer hangs up in the middle of a frame */
        assert_int_equal(write(sv[0], "\x00\x00\x00\x10{\"ty", 8), 8);
        close(sv[0]);
        reason = NULL;
        assert_int_equal(proto_recv(sv[1], proto_now_usec() + 1000000, &out, &reason), -ECONNRESET);
        free(reason);
        close(sv[1]);
}

static void test_state_table(void **state) {
        ProtoState h = proto_state_init(PROTO_ROLE_HOST), a = proto_state_init(PROTO_ROLE_AGENT);
        char *reason = NULL;

        assert_int_equal(proto_state_receive(&h, PROTO_HELLO, NULL), 0);
        assert_int_equal(proto_state_receive(&h, PROTO_EVIDENCE, NULL), 0);
        assert_false(proto_state_done(&h));
        assert_int_equal(proto_state_receive(&h, PROTO_ACK, NULL), 0);
        assert_true(proto_state_done(&h));
        /* nothing more is permitted */
        assert_int_equal(proto_state_receive(&h, PROTO_ACK, &reason), -EPROTO);
        free(reason);

        /* evidence before hello: out of order, and the channel stays closed */
        h = proto_state_init(PROTO_ROLE_HOST);
        reason = NULL;
        assert_int_equal(proto_state_receive(&h, PROTO_EVIDENCE, &reason), -EPROTO);
        assert_non_null(strstr(reason, "expected hello"));
        free(reason);
        assert_int_equal(proto_state_receive(&h, PROTO_HELLO, NULL), -EPROTO);

        /* a repeated message is out of order too */
        assert_int_equal(proto_state_receive(&a, PROTO_CHALLENGE, NULL), 0);
        assert_int_equal(proto_state_receive(&a, PROTO_CHALLENGE, NULL), -EPROTO);

        a = proto_state_init(PROTO_ROLE_AGENT);
        assert_int_equal(proto_state_receive(&a, PROTO_ERROR, NULL), -ECONNABORTED);
        assert_false(proto_state_done(&a));
}

static void test_bindings_known_answers(void **state) {
        uint8_t nonce[32], pub[32], rd[64], gn[32], want_rd[64], want_gn[32];

        fill(nonce, 32, 0);
        fill(pub, 32, 32);
        /* python3: hashlib.sha512(b"cvmd-attest-v1" + bytes(range(64))) */
        assert_int_equal(hex_decode_exact("94f9810677c9961e24ab3bd29d365eba530ac4bb69d66029261ba3bf8b497902719ab891"
                                          "b87a80df6f440bf1b540eb1b38ecca35048cf4b60753992e8e5e1d41",
                                          want_rd, 64),
                         0);
        /* hashlib.sha256(b"cvmd-gpu-v2" + bytes(range(64)) + (3).to_bytes(4, "big") + b"0000:41:00.0" + bytes([1])) */
        assert_int_equal(hex_decode_exact("5a9d6767a8f8fe53c681016f0eda241f77c1b1450224bda5a5aa4688d1cb0c1a", want_gn, 32),
                         0);
        /* hashlib.sha384(b"cvmd-launch-v2" + bytes(range(48)) + bytes(range(100, 132))) */
        {
                uint8_t spec[48], releaser[32], ld[48], want_ld[48];
                fill(spec, 48, 0);
                fill(releaser, 32, 100);
                assert_int_equal(hex_decode_exact("3d4e9c3a1aa94df1e635015a944b52d488d982757720f4c587f70963da9bbd49"
                                                  "1d4c49077014539b7050cce86d2ff923",
                                                  want_ld, 48),
                                 0);
                proto_launch_digest(spec, releaser, ld);
                assert_memory_equal(ld, want_ld, 48);
        }
        proto_report_data(nonce, pub, rd);
        proto_gpu_nonce(nonce, pub, 3, "0000:41:00.0", PROTO_GPU_CC_ON, gn);
        assert_memory_equal(rd, want_rd, 64);
        assert_memory_equal(gn, want_gn, 32);
}

static void test_nonce_single_use_and_expiry(void **state) {
        static NonceStore s;
        uint8_t a[32], b[32], c[32];

        memset(&s, 0, sizeof(s));
        assert_int_equal(nonce_issue(&s, 1000, 500, a), 0);
        assert_int_equal(nonce_issue(&s, 1000, 500, b), 0);
        assert_memory_not_equal(a, b, 32);
        assert_int_equal(nonce_consume(&s, a, 1200), 0);
        assert_int_equal(nonce_consume(&s, a, 1201), -ENOENT); /* replay */
        assert_int_equal(nonce_consume(&s, b, 1500), -ESTALE); /* expired */
        assert_int_equal(nonce_consume(&s, b, 1200), -ENOENT); /* and gone */
        memset(c, 0x5a, 32);
        assert_int_equal(nonce_consume(&s, c, 1200), -ENOENT); /* never issued */
        for (size_t i = 0; i < NONCE_STORE_MAX; i++)
                assert_int_equal(nonce_issue(&s, 2000, 500, c), 0);
        assert_int_equal(nonce_issue(&s, 2000, 500, c), -EBUSY);
        assert_int_equal(nonce_issue(&s, 2600, 500, c), 0); /* expired slots are reused */
}

static void test_base64(void **state) {
        uint8_t *out = NULL;
        size_t n;

        assert_int_equal(b64_decode("aGk=", 4, SIZE_MAX, &out, &n), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(out, "hi", 2);
        free(out);
        assert_int_equal(b64_decode("aGk", 3, SIZE_MAX, &out, &n), -EINVAL);
        assert_int_equal(b64_decode("a=k=", 4, SIZE_MAX, &out, &n), -EINVAL);
        assert_int_equal(b64_decode("aG\nk", 4, SIZE_MAX, &out, &n), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip_every_message),
                cmocka_unit_test(test_strict_decoding),
                cmocka_unit_test(test_frame_limits),
                cmocka_unit_test(test_socket_io),
                cmocka_unit_test(test_state_table),
                cmocka_unit_test(test_bindings_known_answers),
                cmocka_unit_test(test_nonce_single_use_and_expiry),
                cmocka_unit_test(test_base64),
        };
        return cmocka_run_group_tests_name("guest-proto", tests, NULL, NULL);
}
