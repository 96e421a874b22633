/* SPDX-License-Identifier: Apache-2.0 */
/* Launch specs: strict parsing (every error names its field; *ret untouched on error), the
 * defaults, PCI addresses, the keys for real hardware (NVSwitches, a NIC, a capped shared part,
 * the TEE's launch parameters) with their refusals, and the canonical encoding and digest
 * (independent of key order and whitespace, sensitive to every field, unchanged for specs
 * without the later keys). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cvm/keystore.h"
#include "cvm/launch-spec.h"
#include "cvm/util.h"

#define BOOT_DISK "\"boot\":{\"disk\":\"/var/lib/cvmd/images/a.img\"}"
#define MINIMAL "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\"}"

static LaunchSpec *parse_ok(const char *json) {
        LaunchSpec *s = NULL;
        char *reason = NULL;
        int r = launch_spec_parse(json, strlen(json), &s, &reason);

        if (r < 0)
                fail_msg("launch_spec_parse(%s): %d %s", json, r, reason ? reason : "(no reason)");
        assert_null(reason);
        return s;
}

static void parse_fails(const char *json, const char *want) {
        LaunchSpec *sentinel = (LaunchSpec *) 0x1, *s = sentinel;
        _cleanup_free_ char *reason = NULL;

        assert_int_equal(launch_spec_parse(json, strlen(json), &s, &reason), -EINVAL);
        assert_ptr_equal(s, sentinel);
        assert_non_null(reason);
        if (!streq(reason, want))
                fail_msg("%s\n  got:  %s\n  want: %s", json, reason, want);
}

/* A spec with one member replaced or added: {"name":..., <extra>} */
static void field_fails(const char *fields, const char *want) {
        _cleanup_free_ char *json = strdup_printf("{%s}", fields);
        parse_fails(json, want);
}

static void test_minimal_defaults(void **state) {
        _cleanup_(launch_spec_freep) LaunchSpec *s = parse_ok(MINIMAL);

        assert_string_equal(s->name, "job-1");
        assert_int_equal(s->tee, CVM_TEE_SEV_SNP);
        assert_int_equal(s->vcpus, 4);
        assert_int_equal(s->memory_mib, 4096);
        assert_int_equal(s->hugepage_kib, 2048);
        assert_int_equal(s->n_gpus, 0);
        assert_int_equal(s->n_key_ids, 0);
        assert_int_equal(s->vsock_cid, 0);
        assert_string_equal(s->boot.disk, "/var/lib/cvmd/images/a.img");
        assert_int_equal(s->boot.disk_format, LAUNCH_DISK_RAW);
        assert_null(s->boot.kernel);
        assert_false(launch_spec_is_direct_boot(s));
        assert_false(launch_spec_is_development(s));
        assert_string_equal(s->policy, "prod");
}

static void test_full(void **state) {
        _cleanup_(launch_spec_freep) LaunchSpec *s = parse_ok(
                "{\"name\":\"train.llama-70b_3\",\"tee\":\"tdx\",\"vcpus\":96,\"memory_mib\":1048576,"
                "\"hugepage_size\":\"1G\",\"gpus\":[\"0000:1b:00.0\",\"0000:9A:00.0\"],"
                "\"boot\":{\"firmware\":\"/usr/share/ovmf/OVMF.inteltdx.fd\",\"kernel\":\"/img/vmlinuz\","
                "\"initrd\":\"/img/initrd\",\"cmdline\":\"console=hvc0 root=/dev/vda1 ro\",\"disk\":\"/img/root.qcow2\","
                "\"disk_format\":\"qcow2\"},"
                "\"policy\":\"h100-prod\",\"key_ids\":[\"kms.dataset-a\",\"ckpt-key.1\"],\"vsock_cid\":4242}");

        assert_int_equal(s->tee, CVM_TEE_TDX);
        assert_int_equal(s->hugepage_kib, 1048576);
        assert_int_equal(s->n_gpus, 2);
        assert_int_equal(s->gpus[1].domain, 0);
        assert_int_equal(s->gpus[1].bus, 0x9a);
        assert_int_equal(s->gpus[1].slot, 0);
        assert_true(launch_spec_is_direct_boot(s));
        assert_string_equal(s->boot.cmdline, "console=hvc0 root=/dev/vda1 ro");
        assert_int_equal(s->boot.disk_format, LAUNCH_DISK_QCOW2);
        assert_int_equal(s->n_key_ids, 2);
        assert_string_equal(s->key_ids[0], "kms.dataset-a");
        assert_int_equal(s->vsock_cid, 4242);
}

static void test_development_tee(void **state) {
        _cleanup_(launch_spec_freep) LaunchSpec *s = parse_ok(
                "{\"name\":\"dev\",\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":256," BOOT_DISK ",\"policy\":\"dev\"}");
        assert_true(launch_spec_is_development(s));
}

#define N "\"name\":\"a\","
#define H63 "012345678901234567890123456789012345678901234567890123456789abc"
#define H64 H63 "d"
#define REST "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512," BOOT_DISK ",\"policy\":\"p\""
/* REST without one member, for tests that give that member a bad value (keys are unique). */
#define REST_NO_TEE "\"vcpus\":1,\"memory_mib\":512," BOOT_DISK ",\"policy\":\"p\""
#define REST_NO_VCPUS "\"tee\":\"none\",\"memory_mib\":512," BOOT_DISK ",\"policy\":\"p\""
#define REST_NO_MEMORY "\"tee\":\"none\",\"vcpus\":1," BOOT_DISK ",\"policy\":\"p\""

static void test_errors(void **state) {
        /* syntax and shape */
        parse_fails("", "the launch spec is empty");
        parse_fails("[]", "the launch spec must be a JSON object, got an array");
        parse_fails("{\"name\":\"a\"", "invalid JSON at line 1, column 12 (byte 11): unexpected end of input");
        parse_fails("{\"name\":\"a\",\"name\":\"b\"}", "name: duplicate key (again at line 1, column 13)");
        {
                /* json-c's own wording for trailing data varies by version: check the prefix */
                LaunchSpec *s = NULL;
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(launch_spec_parse(MINIMAL " {}", strlen(MINIMAL) + 3, &s, &reason), -EINVAL);
                assert_null(s);
                assert_true(strncmp(reason, "invalid JSON at line 1", 22) == 0);
                /* trailing whitespace is fine */
                assert_int_equal(launch_spec_parse(MINIMAL " \n", strlen(MINIMAL) + 2, &s, NULL), 0);
                launch_spec_free(s);
        }
        {
                LaunchSpec *s = NULL;
                _cleanup_free_ char *reason = NULL;
                assert_int_equal(launch_spec_parse("{\"a\":\"\0\"}", 9, &s, &reason), -EINVAL);
                assert_string_equal(reason, "invalid JSON at line 1, column 7 (byte 6): NUL byte");
                free(reason);
                reason = NULL;
                _cleanup_free_ char *big = malloc(LAUNCH_SPEC_SIZE_MAX + 1);
                assert_non_null(big);
                memset(big, ' ', LAUNCH_SPEC_SIZE_MAX + 1);
                assert_int_equal(launch_spec_parse(big, LAUNCH_SPEC_SIZE_MAX + 1, &s, &reason), -EFBIG);
                assert_null(s);
        }
        /* required and unknown keys */
        field_fails("\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512," BOOT_DISK ",\"policy\":\"p\"",
                    "name: missing (required)");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"policy\":\"p\"", "boot: missing (required)");
        field_fails(N REST ",\"frob\":1", "frob: unknown key");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"/a\",\"kernal\":\"/k\"},"
                      "\"policy\":\"p\"",
                    "boot.kernal: unknown key");
        /* types and ranges */
        field_fails(N REST_NO_VCPUS ",\"vcpus\":\"4\"", "vcpus: expected an integer from 1 to 512, got a string");
        field_fails(N REST_NO_VCPUS ",\"vcpus\":0", "vcpus: expected an integer from 1 to 512, got 0");
        field_fails(N REST_NO_VCPUS ",\"vcpus\":513", "vcpus: expected an integer from 1 to 512, got 513");
        field_fails(N REST_NO_VCPUS ",\"vcpus\":2.5", "vcpus: expected an integer from 1 to 512, got a number with a fraction or exponent");
        field_fails(N REST_NO_MEMORY ",\"memory_mib\":128", "memory_mib: expected an integer from 256 to 16777216, got 128");
        field_fails(N REST_NO_MEMORY ",\"memory_mib\":1025", "memory_mib: 1025 MiB is not a whole number of 2 MiB pages");
        field_fails(N REST ",\"hugepage_size\":\"1G\"", "memory_mib: 512 MiB is not a whole number of 1 GiB pages");
        field_fails(N REST ",\"hugepage_size\":\"4K\"", "hugepage_size: expected \"2M\" or \"1G\"");
        field_fails(N REST_NO_TEE ",\"tee\":\"sev\"", "tee: expected \"sev-snp\", \"tdx\" or \"none\"");
        field_fails(N REST_NO_TEE ",\"tee\":null", "tee: expected a string, got null");
        field_fails("\"name\":\"-a\"," REST,
                    "name: \"-a\" is not allowed: use letters, digits and '.', '_', '-', starting with a letter or digit");
        field_fails("\"name\":\"a b\"," REST,
                    "name: \"a b\" is not allowed: use letters, digits and '.', '_', '-', starting with a letter or digit");
        field_fails("\"name\":\"\"," REST, "name: must not be empty");
        field_fails("\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"," REST,
                    "name: is 65 bytes long, longer than the maximum of 64");
        field_fails(N REST ",\"vsock_cid\":2", "vsock_cid: expected an integer from 3 to 4294967294, got 2");
        field_fails(N REST ",\"vsock_cid\":4294967295", "vsock_cid: expected an integer from 3 to 4294967294, got 4294967295");
        /* GPUs */
        field_fails(N REST ",\"gpus\":\"0000:1b:00.0\"", "gpus: expected an array, got a string");
        field_fails(N REST ",\"gpus\":[\"0000:1b:00.0\",\"1b:00.0\"]",
                    "gpus[1]: \"1b:00.0\" is not a PCI address of the form dddd:bb:ss.f (slot <= 1f, function <= 7)");
        field_fails(N REST ",\"gpus\":[\"0000:1b:20.0\"]",
                    "gpus[0]: \"0000:1b:20.0\" is not a PCI address of the form dddd:bb:ss.f (slot <= 1f, function <= 7)");
        field_fails(N REST ",\"gpus\":[\"0000:1b:00.0\",\"0000:1B:00.0\"]", "gpus[1]: 0000:1B:00.0 is listed twice");
        field_fails(N REST ",\"gpus\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\","
                           "\"15\",\"16\",\"17\"]",
                    "gpus: has 17 elements, more than the maximum of 16");
        /* boot */
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{},\"policy\":\"p\"",
                    "boot: needs boot.kernel (direct boot) or boot.disk");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"/a\",\"initrd\":\"/i\"},"
                      "\"policy\":\"p\"",
                    "boot.initrd: only valid with boot.kernel (direct kernel boot)");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"a.img\"},\"policy\":\"p\"",
                    "boot.disk: expected an absolute path");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"/a/../etc/shadow\"},"
                      "\"policy\":\"p\"",
                    "boot.disk: must not contain a \"..\" component");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"/a,b\"},\"policy\":\"p\"",
                    "boot.disk: contains a control, non-ASCII or ',' character at offset 2");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"kernel\":\"/k\",\"cmdline\":\"a\\nb\"},"
                      "\"policy\":\"p\"",
                    "boot.cmdline: contains a control or non-ASCII character at offset 1");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"kernel\":\"/k\",\"disk_format\":\"raw\"},"
                      "\"policy\":\"p\"",
                    "boot.disk_format: only valid with boot.disk");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"/a\",\"disk_format\":\"vmdk\"},"
                      "\"policy\":\"p\"",
                    "boot.disk_format: expected \"raw\" or \"qcow2\"");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"kernel\":\"/k\","
                      "\"disk_verity_root_hash\":\"" H64 "\"},\"policy\":\"p\"",
                    "boot.disk_verity_root_hash: only valid with boot.disk");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"/a\","
                      "\"disk_verity_root_hash\":\"abc\"},\"policy\":\"p\"",
                    "boot.disk_verity_root_hash: expected 64 or 128 hex digits (a SHA-256 or SHA-512 root hash), got 3");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"/a\","
                      "\"disk_verity_root_hash\":\"" H63 "g\"},\"policy\":\"p\"",
                    "boot.disk_verity_root_hash: not a hex digit at offset 63");
        field_fails(N "\"tee\":\"none\",\"vcpus\":1,\"memory_mib\":512,\"boot\":{\"disk\":\"/a\",\"kernel\":\"/k\","
                      "\"cmdline\":\"ro roothash=" H63 "0 quiet\",\"disk_verity_root_hash\":\"" H64 "\"},\"policy\":\"p\"",
                    "boot.cmdline: roothash= differs from boot.disk_verity_root_hash");
        /* keys */
        field_fails(N REST ",\"key_ids\":[\"a\",\"a\"]", "key_ids[1]: \"a\" is listed twice");
        field_fails(N REST ",\"key_ids\":[\"a\",7]", "key_ids[1]: expected a string, got an integer");
        /* the key store's grammar (cvm/keystore.h): no ':' or '/', at most 64 characters */
        field_fails(N REST ",\"key_ids\":[\"a b\"]",
                    "key_ids[0]: \"a b\" is not a valid key ID (" KEY_ID_GRAMMAR ")");
        field_fails(N REST ",\"key_ids\":[\"kms:dataset/a\"]",
                    "key_ids[0]: \"kms:dataset/a\" is not a valid key ID (" KEY_ID_GRAMMAR ")");
}

static void test_pci_address(void **state) {
        PciAddress a = {}, b;
        char buf[16];

        assert_int_equal(pci_address_parse("abcd:ef:1f.7", &a), 0);
        assert_int_equal(a.domain, 0xabcd);
        assert_int_equal(a.bus, 0xef);
        assert_int_equal(a.slot, 0x1f);
        assert_int_equal(a.function, 7);
        assert_string_equal(pci_address_format(&a, buf, sizeof(buf)), "abcd:ef:1f.7");
        b = a;
        assert_int_equal(pci_address_parse("abcd:ef:1f.8", &b), -EINVAL);
        assert_int_equal(pci_address_parse("abcd:ef:20.0", &b), -EINVAL);
        assert_int_equal(pci_address_parse("abcd:ef:1f", &b), -EINVAL);
        assert_int_equal(pci_address_parse("abcd-ef:1f.0", &b), -EINVAL);
        assert_int_equal(pci_address_parse("abcd:eg:1f.0", &b), -EINVAL);
        assert_int_equal(pci_address_parse(" bcd:ef:1f.0", &b), -EINVAL);
        assert_true(pci_address_equal(&a, &b));
}

/* The documented encoding, built independently: magic, then per field u8 name length, name,
 * u32 big-endian value length, value. */
static size_t put(uint8_t *o, const char *name, const char *value) {
        size_t nl = strlen(name), vl = strlen(value), k = 0;

        o[k++] = (uint8_t) nl;
        memcpy(o + k, name, nl), k += nl;
        o[k++] = 0, o[k++] = 0, o[k++] = (uint8_t) (vl >> 8), o[k++] = (uint8_t) vl;
        memcpy(o + k, value, vl), k += vl;
        return k;
}

static void test_canonical(void **state) {
        _cleanup_(launch_spec_freep) LaunchSpec *s = parse_ok(
                "{\"vsock_cid\":7,\"key_ids\":[\"k2\",\"k1\"],\"policy\":\"prod\",\"gpus\":[\"0000:1B:00.0\"],"
                "\"boot\":{\"kernel\":\"/k\",\"cmdline\":\"quiet\"},\"memory_mib\":2048,\"vcpus\":2,\"tee\":\"sev-snp\","
                "\"name\":\"j\"}");
        _cleanup_free_ uint8_t *enc = NULL;
        uint8_t want[512], digest[48], want_digest[48];
        size_t n, k = 0;
        unsigned len;

        memcpy(want, "CVMD-LAUNCH-SPEC-1", 18), k = 18;
        k += put(want + k, "name", "j");
        k += put(want + k, "tee", "sev-snp");
        k += put(want + k, "vcpus", "2");
        k += put(want + k, "memory_mib", "2048");
        k += put(want + k, "hugepage_size", "2M");
        k += put(want + k, "gpu", "0000:1b:00.0");
        k += put(want + k, "boot.kernel", "/k");
        k += put(want + k, "boot.cmdline", "quiet");
        k += put(want + k, "policy", "prod");
        k += put(want + k, "key_id", "k2");
        k += put(want + k, "key_id", "k1");
        k += put(want + k, "vsock_cid", "7");
        assert_int_equal(launch_spec_canonical(s, &enc, &n), 0);
        assert_int_equal(n, k);
        assert_memory_equal(enc, want, k);

        assert_int_equal(launch_spec_digest(s, digest), 0);
        assert_int_equal(EVP_Digest(want, k, want_digest, &len, EVP_sha384(), NULL), 1);
        assert_memory_equal(digest, want_digest, 48);
}

static void test_digest_sensitivity(void **state) {
        static const char *const variants[] = {
                "{\"name\":\"job-2\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\"}",
                "{\"name\":\"job-1\",\"tee\":\"tdx\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\"}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":5,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\"}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4098," BOOT_DISK ",\"policy\":\"prod\"}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096,\"hugepage_size\":\"1G\"," BOOT_DISK ",\"policy\":\"prod\"}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod2\"}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"key_ids\":[\"a\"]}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"vsock_cid\":3}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"gpus\":[\"0000:01:00.0\"]}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096,\"boot\":{\"disk\":\"/var/lib/cvmd/images/a.img\",\"disk_format\":\"qcow2\"},\"policy\":\"prod\"}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096,\"boot\":{\"disk\":\"/var/lib/cvmd/images/a.img\",\"firmware\":\"/f\"},\"policy\":\"prod\"}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"nvswitches\":[\"0000:05:00.0\"]}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"network\":{\"bridge\":\"br0\"}}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"network\":{\"network\":\"br0\"}}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"shared_memory_mib\":1024}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"launch_security\":{\"policy\":\"0x70000\"}}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK ",\"policy\":\"prod\",\"launch_security\":{\"vcek\":false}}",
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096,\"boot\":{\"disk\":\"/var/lib/cvmd/images/a.img\",\"disk_verity_root_hash\":\"" H64 "\"},\"policy\":\"prod\"}",
        };
        _cleanup_(launch_spec_freep) LaunchSpec *base = parse_ok(MINIMAL);
        _cleanup_(launch_spec_freep) LaunchSpec *same = parse_ok(
                " {\n \"policy\" : \"prod\", \"boot\":{\"disk\":\"/var/lib/cvmd/images/a.img\",\"disk_format\":\"raw\"},"
                "\"memory_mib\":4096,\"vcpus\":4,\"tee\":\"sev-snp\",\"name\":\"job-1\",\"hugepage_size\":\"2M\"}\n");
        _cleanup_(launch_spec_freep) LaunchSpec *spelled = parse_ok(
                "{\"name\":\"job-1\",\"tee\":\"sev-snp\",\"vcpus\":4,\"memory_mib\":4096," BOOT_DISK
                ",\"policy\":\"prod\",\"launch_security\":{\"policy\":\"0x30000\"}}");
        uint8_t d0[48], d1[48], d2[48], dv[ELEMENTSOF(variants)][48];

        assert_int_equal(launch_spec_digest(base, d0), 0);
        assert_int_equal(launch_spec_digest(same, d1), 0);
        /* key order, whitespace and spelled-out defaults do not change it */
        assert_memory_equal(d0, d1, 48);
        assert_int_equal(launch_spec_digest(spelled, d2), 0);
        assert_memory_equal(d0, d2, 48);
        for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                _cleanup_(launch_spec_freep) LaunchSpec *v = parse_ok(variants[i]);
                assert_int_equal(launch_spec_digest(v, dv[i]), 0);
                if (memcmp(dv[i], d0, 48) == 0)
                        fail_msg("variant %zu has the base digest", i);
                for (size_t k = 0; k < i; k++)
                        assert_memory_not_equal(dv[i], dv[k], 48);
        }
}

#define HEAD "\"name\":\"j\",\"vcpus\":2,\"memory_mib\":2048," BOOT_DISK ",\"policy\":\"p\""

static void test_hardware_keys(void **state) {
        _cleanup_free_ char *id_block = NULL, *id_auth = NULL, *snp_json = NULL;
        _cleanup_(launch_spec_freep) LaunchSpec *s = NULL, *t = NULL;
        _cleanup_free_ uint8_t *enc = NULL;
        uint8_t block[LAUNCH_SNP_ID_BLOCK_SIZE], auth[LAUNCH_SNP_ID_AUTH_SIZE], want[16384];
        size_t n, k;
        char owner[97];

        memset(block, 0xb1, sizeof(block));
        memset(auth, 0xa7, sizeof(auth));
        id_block = b64_encode(block, sizeof(block));
        id_auth = b64_encode(auth, sizeof(auth));
        snp_json = strdup_printf("{" HEAD ",\"tee\":\"sev-snp\",\"gpus\":[\"0000:1b:00.0\"],\"nvswitches\":[\"0000:05:00.0\","
                                 "\"0000:06:00.0\"],\"network\":{\"bridge\":\"br0\"},\"shared_memory_mib\":512,"
                                 "\"launch_security\":{\"policy\":\"0x70000\",\"id_block\":\"%s\",\"id_auth\":\"%s\","
                                 "\"author_key\":true,\"vcek\":false}}",
                                 id_block, id_auth);
        s = parse_ok(snp_json);
        assert_int_equal(s->n_nvswitches, 2);
        assert_int_equal(s->nvswitches[1].bus, 6);
        assert_int_equal(s->network.kind, LAUNCH_NETWORK_BRIDGE);
        assert_string_equal(s->network.source, "br0");
        assert_int_equal(s->shared_memory_mib, 512);
        assert_true(s->security.has_policy);
        assert_int_equal(launch_spec_tee_policy(s), 0x70000);
        assert_memory_equal(s->security.id_block, block, sizeof(block));
        assert_memory_equal(s->security.id_auth, auth, sizeof(auth));
        assert_true(s->security.author_key);
        assert_true(s->security.vlek_only);

        memset(owner, 'a', 96);
        owner[96] = '\0';
        {
                _cleanup_free_ char *j = strdup_printf("{" HEAD ",\"tee\":\"tdx\",\"network\":{\"network\":\"default\"},"
                                                       "\"launch_security\":{\"policy\":\"0x10000001\",\"mr_owner\":\"%s\","
                                                       "\"mr_owner_config\":\"%s\"}}",
                                                       owner, owner);
                t = parse_ok(j);
        }
        assert_int_equal(t->network.kind, LAUNCH_NETWORK_LIBVIRT);
        assert_int_equal(launch_spec_tee_policy(t), 0x10000001);
        assert_true(t->security.has_mr_owner && t->security.has_mr_owner_config);
        assert_int_equal(t->security.mr_owner[47], 0xaa);

        /* the later keys come after vsock_cid, each only when given */
        assert_int_equal(launch_spec_canonical(s, &enc, &n), 0);
        memcpy(want, "CVMD-LAUNCH-SPEC-1", 18), k = 18;
        k += put(want + k, "name", "j");
        k += put(want + k, "tee", "sev-snp");
        k += put(want + k, "vcpus", "2");
        k += put(want + k, "memory_mib", "2048");
        k += put(want + k, "hugepage_size", "2M");
        k += put(want + k, "gpu", "0000:1b:00.0");
        k += put(want + k, "boot.disk", "/var/lib/cvmd/images/a.img");
        k += put(want + k, "boot.disk_format", "raw");
        k += put(want + k, "policy", "p");
        k += put(want + k, "nvswitch", "0000:05:00.0");
        k += put(want + k, "nvswitch", "0000:06:00.0");
        k += put(want + k, "shared_memory_mib", "512");
        k += put(want + k, "network.bridge", "br0");
        k += put(want + k, "launch_security.policy", "0x70000");
        k += put(want + k, "launch_security.id_block", id_block);
        k += put(want + k, "launch_security.id_auth", id_auth);
        k += put(want + k, "launch_security.author_key", "true");
        k += put(want + k, "launch_security.vcek", "false");
        assert_int_equal(n, k);
        assert_memory_equal(enc, want, k);

        /* refusals, each naming its field */
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"gpus\":[\"0000:05:00.0\"],\"nvswitches\":[\"0000:05:00.0\"]",
                    "nvswitches[0]: 0000:05:00.0 is also listed in gpus");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"nvswitches\":[\"0000:05:00.0\",\"0000:05:00.0\"]",
                    "nvswitches[1]: 0000:05:00.0 is listed twice");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"network\":{}",
                    "network: needs exactly one of \"network\" (a libvirt network) and \"bridge\"");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"network\":{\"network\":\"a\",\"bridge\":\"b\"}",
                    "network: needs exactly one of \"network\" (a libvirt network) and \"bridge\"");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"network\":{\"bridge\":\"a-very-long-bridge-name\"}",
                    "network.bridge: is longer than a Linux interface name (15 bytes)");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"network\":{\"bridge\":\"br0;x\"}",
                    "network.bridge: \"br0;x\" is not allowed: use letters, digits and '.', '_', '-', starting with a "
                    "letter or digit");
        field_fails(HEAD ",\"tee\":\"none\",\"shared_memory_mib\":512",
                    "shared_memory_mib: only for \"sev-snp\" or \"tdx\" (private memory)");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"shared_memory_mib\":4096",
                    "shared_memory_mib: 4096 MiB is more than memory_mib (2048)");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"shared_memory_mib\":3", "shared_memory_mib: 3 MiB is not a whole number of 2 MiB pages");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"shared_memory_mib\":512,\"hugepage_size\":\"2M\"",
                    "shared_memory_mib: not with hugepage_size: a capped shared part is not hugepage-backed");
        field_fails(HEAD ",\"tee\":\"none\",\"launch_security\":{}", "launch_security: only for \"sev-snp\" or \"tdx\"");
        field_fails(HEAD ",\"tee\":\"tdx\",\"launch_security\":{\"vcek\":false}",
                    "launch_security.vcek: only for \"sev-snp\"");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"launch_security\":{\"mr_owner\":\"00\"}",
                    "launch_security.mr_owner: expected 48 bytes (96 hex digits), got 1");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"launch_security\":{\"policy\":\"0x10000\"}",
                    "launch_security.policy: SEV-SNP policy bit 17 is reserved and must be 1");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"launch_security\":{\"policy\":\"0x2030000\"}",
                    "launch_security.policy: SEV-SNP policy bits 25-63 are reserved");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"launch_security\":{\"policy\":\"196608\"}",
                    "launch_security.policy: expected a hex number \"0x...\" of at most 16 digits");
        field_fails(HEAD ",\"tee\":\"tdx\",\"launch_security\":{\"policy\":\"0x2\"}",
                    "launch_security.policy: libvirt accepts only TD attribute bits 0 (debug) and 28 (SEPT_VE_DISABLE)");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"launch_security\":{\"id_block\":\"AAAA\"}",
                    "launch_security.id_block: expected 96 bytes (base64), got 3");
        {
                _cleanup_free_ char *f = strdup_printf(HEAD ",\"tee\":\"sev-snp\",\"launch_security\":{\"id_block\":\"%s\"}",
                                                       id_block);
                field_fails(f, "launch_security.id_auth: missing: id_block and id_auth go together");
        }
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"launch_security\":{\"author_key\":true}",
                    "launch_security.author_key: only with id_block and id_auth");
        field_fails(HEAD ",\"tee\":\"sev-snp\",\"launch_security\":{\"debug\":true}", "launch_security.debug: unknown key");
}

static void test_load(void **state) {
        char path[] = "/tmp/test-spec-XXXXXX";
        int fd = mkstemp(path);
        LaunchSpec *s = NULL;
        _cleanup_free_ char *reason = NULL;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, MINIMAL, strlen(MINIMAL)), (ssize_t) strlen(MINIMAL));
        close(fd);
        assert_int_equal(launch_spec_load(path, &s, &reason), 0);
        assert_string_equal(s->name, "job-1");
        launch_spec_free(s);
        s = NULL;
        unlink(path);
        assert_int_equal(launch_spec_load(path, &s, &reason), -ENOENT);
        assert_non_null(strstr(reason, path));
        assert_null(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal_defaults), cmocka_unit_test(test_full),
                cmocka_unit_test(test_development_tee),  cmocka_unit_test(test_errors),
                cmocka_unit_test(test_pci_address),      cmocka_unit_test(test_canonical),
                cmocka_unit_test(test_digest_sensitivity), cmocka_unit_test(test_load),
                cmocka_unit_test(test_hardware_keys),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
