/* SPDX-License-Identifier: Apache-2.0 */
/* src/engine/launch-predict.c: the boot files read once (regular files only), the spec digest
 * over their contents rather than their paths, the vCPU signature from /proc/cpuinfo, and the
 * predicted SEV-SNP MEASUREMENT and TDX MRTD against upstream values ($CVM_VECTORS/measure,
 * skipped when absent); the policy keys ("predicted", snp.allow_unmeasured_disk_boot), the
 * launch check that refuses an unmeasured SNP disk boot, and the simulated hypervisor's reading
 * of a domain XML (src/sim/sim-boot.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/test-dir.h"
#include "cvm/launch-checks.h"
#include "cvm/launch-predict.h"
#include "cvm/sim-boot.h"
#include "cvm/util.h"

#define SNP_CASE "measure/snp/ssm-snp-cmdline-gf1"
#define SNP_EXPECTED "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"
#define TDX_CASE "measure/tdx/gce-clean-example-2m-mrtd"
#define TDX_EXPECTED "6e540be4917f24f74cc3292b59803d06dc7c38eb4a3c1fd6be9c735ba74bb7a23e25f98da94779d17508b243e4fb582b"

static char *vector(const char *rel) {
        const char *root = getenv("CVM_VECTORS");
        char *p = strdup_printf("%s/%s", root && *root ? root : "../shared/vectors", rel);

        assert_non_null(p);
        return p;
}

static LaunchSpec *spec_of(const char *tee, const char *boot) {
        char json[2048];
        LaunchSpec *s = NULL;
        char *why = NULL;

        snprintf(json, sizeof(json),
                 "{\"name\":\"job\",\"tee\":\"%s\",\"vcpus\":1,\"memory_mib\":1024,\"boot\":{%s},\"policy\":\"p\","
                 "\"key_ids\":[]}", tee, boot);
        if (launch_spec_parse(json, strlen(json), &s, &why) < 0)
                fail_msg("spec: %s", why);
        return s;
}

static Policy *policy_of(const char *json) {
        Policy *p = NULL;
        char *why = NULL;

        if (policy_parse(json, strlen(json), &p, &why) < 0)
                fail_msg("policy: %s", why);
        return p;
}

static char *path_in(const char *dir, const char *name) {
        char *p = strdup_printf("%s/%s", dir, name);

        assert_non_null(p);
        return p;
}

static void assert_hex(const uint8_t *got, const char *want) {
        _cleanup_free_ char *h = hex_encode(got, 48);

        assert_non_null(h);
        assert_string_equal(h, want);
}

/* why is read after r was computed (an argument's order of evaluation is not fixed) */
static void assert_reason(int r, char **why, const char *want) {
        assert_true(r < 0);
        assert_non_null(*why);
        if (!strstr(*why, want))
                fail_msg("reason \"%s\" lacks \"%s\"", *why, want);
}

/* The upstream SNP case (virtee/sev-snp-measure): an OVMF with SNP_KERNEL_HASHES, an empty
 * kernel and initrd, a command line, one EPYC-v4 vCPU. */
static void test_predict_snp_vector(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *fw = vector(SNP_CASE "/ovmf_AmdSev_suffix.bin"), *boot = NULL;
        _cleanup_free_ char *kernel = path_in(dir, "vmlinuz"), *initrd = path_in(dir, "initrd");
        _cleanup_(launch_spec_freep) LaunchSpec *s = NULL;
        _cleanup_(launch_boot_files_done) LaunchBootFiles f = {};
        _cleanup_free_ char *why = NULL;
        uint8_t m[LAUNCH_PREDICT_SIZE];

        if (access(fw, R_OK) < 0)
                skip();
        test_dir_write(dir, "vmlinuz", "");
        test_dir_write(dir, "initrd", "");
        boot = strdup_printf("\"firmware\":\"%s\",\"kernel\":\"%s\",\"initrd\":\"%s\",\"cmdline\":\"console=ttyS0 "
                             "loglevel=7\"", fw, kernel, initrd);
        s = spec_of("sev-snp", boot);
        assert_int_equal(launch_boot_files_read(s, &f, &why), 0);
        assert_true(f.has_firmware && f.has_kernel && f.has_initrd);
        assert_int_equal(launch_predict(s, &f, CVM_TEE_SEV_SNP, 0x800f12, m, &why), 0);
        assert_hex(m, SNP_EXPECTED);
        /* another vCPU signature, another measurement (one VMSA per vCPU carries it) */
        assert_int_equal(launch_predict(s, &f, CVM_TEE_SEV_SNP, 0xa00f11, m, &why), 0);
        assert_false(m[0] == 0x6d && m[1] == 0x28 && m[47] == 0xfa);
        /* an OVMF built for SEV has no TDVF metadata: no MRTD to predict */
        assert_reason(launch_predict(s, &f, CVM_TEE_TDX, 0, m, &why), &why, "cannot predict the TDX MRTD");
}

static void test_predict_tdx_vector(void **state) {
        _cleanup_free_ char *fw = vector(TDX_CASE "/clean_example_2m.fd"), *boot = NULL;
        _cleanup_(launch_spec_freep) LaunchSpec *s = NULL;
        _cleanup_(launch_boot_files_done) LaunchBootFiles f = {};
        _cleanup_free_ char *why = NULL;
        uint8_t m[LAUNCH_PREDICT_SIZE];

        if (access(fw, R_OK) < 0)
                skip();
        boot = strdup_printf("\"firmware\":\"%s\",\"disk\":\"/d.img\"", fw);
        s = spec_of("tdx", boot);
        assert_int_equal(launch_boot_files_read(s, &f, &why), 0);
        assert_int_equal(launch_predict(s, &f, CVM_TEE_TDX, 0, m, &why), 0);
        assert_hex(m, TDX_EXPECTED);
}

static void test_predict_refusals(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *kernel = path_in(dir, "k"), *boot = NULL, *why = NULL, *fifo = path_in(dir, "fifo");
        _cleanup_(launch_spec_freep) LaunchSpec *nofw = NULL, *devnull = NULL, *missing = NULL, *fifo_spec = NULL;
        _cleanup_(launch_boot_files_done) LaunchBootFiles f = {};
        uint8_t m[LAUNCH_PREDICT_SIZE];

        test_dir_write(dir, "k", "kernel bytes");
        boot = strdup_printf("\"kernel\":\"%s\"", kernel);
        nofw = spec_of("sev-snp", boot);
        assert_int_equal(launch_boot_files_read(nofw, &f, &why), 0);
        assert_reason(launch_predict(nofw, &f, CVM_TEE_SEV_SNP, 0x800f12, m, &why), &why, "boot.firmware: none given");

        /* regular files only: not /dev/null, not a FIFO (whose open would wait for a writer) */
        free(why);
        why = NULL;
        devnull = spec_of("sev-snp", "\"kernel\":\"/dev/null\"");
        launch_boot_files_done(&f);
        assert_reason(launch_boot_files_read(devnull, &f, &why), &why, "boot.kernel: /dev/null is not a regular file");
        free(why);
        why = NULL;
        assert_int_equal(mkfifo(fifo, 0600), 0);
        free(boot);
        boot = strdup_printf("\"firmware\":\"%s\",\"disk\":\"/d\"", fifo);
        fifo_spec = spec_of("tdx", boot);
        assert_reason(launch_boot_files_read(fifo_spec, &f, &why), &why, "is not a regular file");
        free(why);
        why = NULL;
        missing = spec_of("sev-snp", "\"kernel\":\"/nonexistent/vmlinuz\",\"initrd\":\"/nonexistent/initrd\"");
        assert_reason(launch_boot_files_read(missing, &f, &why), &why, "boot.kernel: cannot read /nonexistent/vmlinuz");
}

/* The spec digest names files by content: the same bytes elsewhere give the same digest, other
 * bytes at the same path another; without files it is launch_spec_digest(). */
static void test_spec_digest_by_content(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *a = path_in(dir, "a"), *b = path_in(dir, "b"), *ba = NULL, *bb = NULL;
        _cleanup_(launch_spec_freep) LaunchSpec *sa = NULL, *sb = NULL, *disk = NULL;
        _cleanup_(launch_boot_files_done) LaunchBootFiles fa = {}, fb = {}, fc = {}, none = {};
        uint8_t da[LAUNCH_DIGEST_SIZE], db[LAUNCH_DIGEST_SIZE], dc[LAUNCH_DIGEST_SIZE], plain[LAUNCH_DIGEST_SIZE];
        _cleanup_free_ char *why = NULL;

        test_dir_write(dir, "a", "the same kernel");
        test_dir_write(dir, "b", "the same kernel");
        ba = strdup_printf("\"kernel\":\"%s\",\"cmdline\":\"quiet\"", a);
        bb = strdup_printf("\"kernel\":\"%s\",\"cmdline\":\"quiet\"", b);
        sa = spec_of("sev-snp", ba);
        sb = spec_of("sev-snp", bb);
        assert_int_equal(launch_boot_files_read(sa, &fa, &why), 0);
        assert_int_equal(launch_boot_files_read(sb, &fb, &why), 0);
        assert_int_equal(launch_boot_spec_digest(sa, &fa, da), 0);
        assert_int_equal(launch_boot_spec_digest(sb, &fb, db), 0);
        assert_memory_equal(da, db, sizeof(da));
        assert_int_equal(launch_spec_digest(sa, plain), 0);
        assert_memory_not_equal(da, plain, sizeof(da));

        test_dir_write(dir, "a", "another kernel");
        assert_int_equal(launch_boot_files_read(sa, &fc, &why), 0);
        assert_int_equal(launch_boot_spec_digest(sa, &fc, dc), 0);
        assert_memory_not_equal(da, dc, sizeof(da));
        /* files that were not read cannot stand for their contents */
        assert_int_equal(launch_boot_spec_digest(sa, &none, dc), -EINVAL);

        disk = spec_of("sev-snp", "\"disk\":\"/d.img\"");
        assert_false(launch_spec_has_boot_files(disk));
        assert_int_equal(launch_boot_spec_digest(disk, &none, dc), 0);
        assert_int_equal(launch_spec_digest(disk, plain), 0);
        assert_memory_equal(dc, plain, sizeof(dc));
}

static void test_host_vcpu_sig(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *why = NULL, *empty = path_in(dir, "empty");
        uint32_t sig = 0;

        /* "model name" must not be taken for "model"; only the first processor counts */
        test_dir_write(dir, "proc/cpuinfo",
                       "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC 7763\n"
                       "model\t\t: 1\nstepping\t: 1\n\nprocessor\t: 1\ncpu family\t: 23\nmodel\t\t: 49\nstepping\t: 0\n");
        assert_int_equal(launch_predict_host_vcpu_sig(dir, &sig, &why), 0);
        assert_int_equal(sig, 0xa00f11); /* EPYC-Milan */
        assert_int_equal(mkdir(empty, 0700), 0);
        test_dir_write(dir, "empty/proc/cpuinfo", "processor\t: 0\nmodel name\t: something\n");
        assert_reason(launch_predict_host_vcpu_sig(empty, &sig, &why), &why, "no cpu family, model and stepping");
}

static void test_policy_keys(void **state) {
        _cleanup_(policy_freep) Policy *snp = policy_of("{\"snp\": {\"measurements\": \"predicted\", "
                                                        "\"allow_unmeasured_disk_boot\": true}}");
        _cleanup_(policy_freep) Policy *tdx = policy_of("{\"tdx\": {\"mrtds\": \"predicted\"}}");
        _cleanup_(policy_freep) Policy *list = policy_of("{\"snp\": {\"measurements\": []}, \"tdx\": {\"mrtds\": []}}");
        const char *bad[][2] = {
                { "{\"snp\": {\"measurements\": \"predict\"}}", "snp.measurements: expected an array, got a string" },
                { "{\"tdx\": {\"mrtds\": \"PREDICTED\"}}", "tdx.mrtds: expected an array, got a string" },
                { "{\"snp\": {\"measurements\": 1}}", "snp.measurements:" },
                { "{\"snp\": {\"allow_unmeasured_disk_boot\": \"yes\"}}", "snp.allow_unmeasured_disk_boot:" },
        };

        assert_true(snp->snp.measurements_predicted && !snp->snp.measurements.set);
        assert_true(snp->snp.allow_unmeasured_disk_boot);
        assert_true(launch_policy_predicts(snp, CVM_TEE_SEV_SNP));
        assert_false(launch_policy_predicts(snp, CVM_TEE_TDX));
        assert_true(tdx->tdx.mrtds_predicted && launch_policy_predicts(tdx, CVM_TEE_TDX));
        assert_false(list->snp.measurements_predicted || list->tdx.mrtds_predicted);
        assert_true(list->snp.measurements.set);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Policy *p = NULL;
                _cleanup_free_ char *why = NULL;
                assert_reason(policy_parse(bad[i][0], strlen(bad[i][0]), &p, &why), &why, bad[i][1]);
                assert_null(p);
        }
}

/* "predicted": the report's MEASUREMENT against the prediction, or refused without one. */
static void test_policy_evaluate_predicted(void **state) {
        _cleanup_(policy_freep) Policy *p = policy_of("{\"snp\": {\"measurements\": \"predicted\"}}");
        SnpAppraisal a = { .parsed = true };
        uint8_t other[48];
        Verdict v;

        memset(a.report.measurement, 0x5a, 48);
        memset(other, 0x5b, 48);
        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        policy_evaluate_snp_predicted(p, &a, a.report.measurement, &v);
        for (size_t i = 0; i < v.n_reasons; i++)
                assert_null(strstr(v.reasons[i], "measurements"));
        verdict_done(&v);

        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        policy_evaluate_snp_predicted(p, &a, other, &v);
        assert_true(v.n_reasons >= 1);
        assert_non_null(strstr(v.reasons[0], "policy.snp.measurements: MEASUREMENT 5a5a"));
        assert_non_null(strstr(v.reasons[0], "predicted at launch from the files booted, 5b5b"));
        verdict_done(&v);

        /* the verifier without a launch: no prediction, no acceptance */
        assert_int_equal(verdict_init(&v, "sev-snp"), 0);
        policy_evaluate_snp(p, &a, &v);
        assert_true(v.n_reasons >= 1);
        assert_non_null(strstr(v.reasons[0], "no MEASUREMENT was predicted for this guest"));
        verdict_done(&v);
}

static void test_check_boot(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *fw = path_in(dir, "fw"), *boot = NULL, *why = NULL;
        _cleanup_(launch_spec_freep) LaunchSpec *disk = spec_of("sev-snp", "\"disk\":\"/d.img\"");
        _cleanup_(launch_spec_freep) LaunchSpec *tdx_disk = spec_of("tdx", "\"disk\":\"/d.img\"");
        _cleanup_(launch_spec_freep) LaunchSpec *dev_disk = spec_of("none", "\"disk\":\"/d.img\"");
        _cleanup_(launch_spec_freep) LaunchSpec *direct = NULL;
        _cleanup_(policy_freep) Policy *plain = policy_of("{\"name\": \"p\"}");
        _cleanup_(policy_freep) Policy *optin = policy_of("{\"name\": \"p\", \"snp\": {\"allow_unmeasured_disk_boot\": true}}");
        _cleanup_(policy_freep) Policy *predicted = policy_of("{\"name\": \"p\", \"snp\": {\"measurements\": \"predicted\", "
                                                              "\"allow_unmeasured_disk_boot\": true}}");

        boot = strdup_printf("\"firmware\":\"%s\",\"kernel\":\"%s\"", fw, fw);
        direct = spec_of("sev-snp", boot);
        assert_reason(launch_check_boot(disk, plain, CVM_TEE_SEV_SNP, &why), &why,
                      "policy 'p' does not allow that (snp.allow_unmeasured_disk_boot)");
        assert_int_equal(launch_check_boot(disk, optin, CVM_TEE_SEV_SNP, NULL), 0);
        assert_int_equal(launch_check_boot(direct, plain, CVM_TEE_SEV_SNP, NULL), 0);
        /* TDX measures no kernel into MRTD; a development launch attests nothing it booted */
        assert_int_equal(launch_check_boot(tdx_disk, plain, CVM_TEE_TDX, NULL), 0);
        assert_int_equal(launch_check_boot(dev_disk, plain, CVM_TEE_SEV_SNP, NULL), 0);
        /* a prediction needs the firmware to predict from */
        free(why);
        why = NULL;
        assert_reason(launch_check_boot(disk, predicted, CVM_TEE_SEV_SNP, &why), &why,
                      "boot.firmware: none given, and policy 'p' compares the measurement");
        assert_int_equal(launch_check_boot(direct, predicted, CVM_TEE_SEV_SNP, NULL), 0);
        assert_int_equal(launch_check_boot(dev_disk, predicted, CVM_TEE_TDX, NULL), 0);
}

/* The simulated hypervisor's view of a domain XML: the files it boots, the vCPU count; a
 * command line keeps its spaces; external entities are never read. */
static void test_sim_boot_parse(void **state) {
        static const char xml[] =
                "<domain type='test'><vcpu placement='static'>4</vcpu><os><type>hvm</type>"
                "<loader readonly='yes' type='pflash'>/fw.fd</loader><kernel>/vmlinuz</kernel>"
                "<cmdline> console=ttyS0  ro</cmdline></os></domain>";
        static const char entity[] =
                "<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><domain><vcpu>1</vcpu><os>"
                "<kernel>/k&e;</kernel></os></domain>";
        const char *bad[][2] = {
                { "<domain><vcpu>0</vcpu><os/></domain>", "<vcpu>: expected 1 to 512" },
                { "<domain><vcpu>2</vcpu></domain>", "no <domain> with an <os> element" },
                { "<domain><vcpu>2</vcpu><os><cmdline>x</cmdline></os></domain>", "without a <kernel>" },
                { "<domain><vcpu>2</vcpu><os>", "not well-formed" },
        };
        _cleanup_(sim_boot_done) SimBoot b = {}, e = {};
        _cleanup_free_ char *why = NULL;

        assert_int_equal(sim_boot_parse(xml, strlen(xml), &b, &why), 0);
        assert_int_equal(b.vcpus, 4);
        assert_string_equal(b.firmware, "/fw.fd");
        assert_string_equal(b.kernel, "/vmlinuz");
        assert_null(b.initrd);
        assert_string_equal(b.cmdline, " console=ttyS0  ro");
        assert_int_equal(sim_boot_parse(entity, strlen(entity), &e, &why), 0);
        assert_string_equal(e.kernel, "/k");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                SimBoot x = {};
                _cleanup_free_ char *r = NULL;
                assert_reason(sim_boot_parse(bad[i][0], strlen(bad[i][0]), &x, &r), &r, bad[i][1]);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_predict_snp_vector, test_dir_setup, test_dir_teardown),
                cmocka_unit_test(test_predict_tdx_vector),
                cmocka_unit_test_setup_teardown(test_predict_refusals, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_spec_digest_by_content, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_host_vcpu_sig, test_dir_setup, test_dir_teardown),
                cmocka_unit_test(test_policy_keys),
                cmocka_unit_test(test_policy_evaluate_predicted),
                cmocka_unit_test_setup_teardown(test_check_boot, test_dir_setup, test_dir_teardown),
                cmocka_unit_test(test_sim_boot_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
