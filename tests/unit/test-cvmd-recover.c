/* SPDX-License-Identifier: Apache-2.0 */
/* cvmd after a crash: a manager launches two VMs over libvirt's test driver (one reaches Running
 * with its keys, one hangs in Attesting because its agent never answers), then is dropped
 * without stopping anything, as a SIGKILL would leave it. A second manager over the same
 * libvirt state and state directory recovers: the keyed VM is Running again, the other domain
 * is destroyed, never trusted, and the keyed one can be attested again (its plan rebuilt from
 * the domain's metadata). A tampered audit chain trusts nothing. libvirt's test driver
 * keeps its domains per process, so the "restart" happens within this process. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/agent/agent.h"
#include "../../src/cvmd/cvmd-internal.h"
#include "../common/exchange-fixture.h"
#include "../common/key-fixture.h"
#include "cvm/channel-addr.h"
#include "cvm/kek.h"
#include "cvm/keystore.h"
#include "cvm/launch-predict.h"
#include "cvm/launch-spec.h"
#include "cvm/secret.h"
#include "cvm/util.h"

static char dir[] = "/tmp/cvmd-recover-XXXXXX";
static char guest_keys[] = "/dev/shm/cvmd-recover-keys-XXXXXX";
static char path[512];

static const char caps[] =
        "<capabilities><host><topology><cells num='1'><cell id='0'><memory unit='KiB'>8388608</memory>"
        "<pages unit='KiB' size='2048'>4096</pages><cpus num='8'>"
        "<cpu id='0' socket_id='0' core_id='0' siblings='0,4'/><cpu id='1' socket_id='0' core_id='1' siblings='1,5'/>"
        "<cpu id='2' socket_id='0' core_id='2' siblings='2,6'/><cpu id='3' socket_id='0' core_id='3' siblings='3,7'/>"
        "<cpu id='4' socket_id='0' core_id='0' siblings='0,4'/><cpu id='5' socket_id='0' core_id='1' siblings='1,5'/>"
        "<cpu id='6' socket_id='0' core_id='2' siblings='2,6'/><cpu id='7' socket_id='0' core_id='3' siblings='3,7'/>"
        "</cpus></cell></cells></topology></host></capabilities>";
static const char domcaps[] = "<domainCapabilities><features><sev supported='no'/><tdx supported='no'/></features>"
                              "</domainCapabilities>";

static const char *at(const char *name) {
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return path;
}

static void write_file(const char *p, const char *text) {
        FILE *f = fopen(p, "we");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static int setup(void **state) {
        char ark[65], policy[512];

        assert_non_null(mkdtemp(dir));
        assert_non_null(mkdtemp(guest_keys));
        assert_int_equal(mkdir(at("keys"), 0700), 0);
        assert_int_equal(mkdir(at("agents"), 0700), 0);
        assert_int_equal(mkdir(at("policies"), 0700), 0);
        assert_int_equal(mkdir(at("state"), 0700), 0);
        exchange_fixture_snp_sim(at("sim"), ark);
        snprintf(policy, sizeof(policy),
                 "{\"name\": \"dev\", \"allow_development\": true, \"snp\": {\"require_crl\": false, \"trusted_simulator_arks\": "
                 "[{\"product\": \"Genoa\", \"spki_sha256\": \"%s\"}]}}",
                 ark);
        write_file(at("policies/dev.json"), policy);
        assert_int_equal(key_fixture_wrap(dir, at("keys"), "k1"), 0);
        (void) secret_init();
        return 0;
}

static int teardown(void **state) {
        char cmd[1200];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, guest_keys);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *spec(const char *name);

/* An agent for VM `name`: listens on its socket, serves one exchange with the simulator, whose
 * HOST_DATA is the launch digest binding m's releaser key. */
static pid_t spawn_agent(const Manager *m, const char *name, bool answer) {
        _cleanup_(launch_spec_freep) LaunchSpec *ls = NULL;
        uint8_t spec_digest[LAUNCH_DIGEST_SIZE], bound[PROTO_LAUNCH_DIGEST_SIZE];
        char addr[600];
        ChannelAddr a;
        pid_t pid;
        int lfd;

        _cleanup_(launch_boot_files_done) LaunchBootFiles files = {};

        assert_int_equal(launch_spec_parse(spec(name), strlen(spec(name)), &ls, NULL), 0);
        /* what the launch bound: the boot files by their contents */
        assert_int_equal(launch_boot_files_read(ls, &files, NULL), 0);
        assert_int_equal(launch_boot_spec_digest(ls, &files, spec_digest), 0);
        proto_launch_digest(spec_digest, m->releaser.pk, bound);
        snprintf(addr, sizeof(addr), "unix:%s/agents/%s.sock", dir, name);
        assert_int_equal(channel_addr_parse(addr, true, &a), 0);
        lfd = channel_listen(&a);
        assert_true(lfd >= 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char sim[600];
                AgentConfig c = { .source = EVIDENCE_SIM_SNP, .keys_dir = guest_keys, .timeout_usec = 5000000u };
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

                snprintf(sim, sizeof(sim), "%s/sim", dir);
                c.sim_dir = sim;
                memcpy(c.sim_host_data, bound, sizeof(c.sim_host_data));
                if (fd < 0)
                        _exit(1);
                if (!answer) { /* a guest that connects and then never says a word */
                        sleep(30);
                        _exit(0);
                }
                _exit(agent_session_run(&c, fd, NULL) < 0 ? 1 : 0);
        }
        close(lfd);
        return pid;
}

/* The daemon's log line for each change, which makes a failing run readable. */
static void log_state(Manager *m, Vm *vm) {
        cvmd_log(LOG_INFO, vm, "%s%s%s", launch_phase_to_string(vm_run(vm)->phase), vm_run(vm)->reason ? ": " : "",
                 vm_run(vm)->reason ? vm_run(vm)->reason : "");
}

static Manager *new_manager(sd_event *e) {
        ManagerSettings s = {
                .libvirt_uri = "test:///default",
                .keys_dir = NULL,
                .policies_dir = NULL,
                .state_dir = NULL,
                .domain_type = "test",
                .agent_socket_dir = NULL,
                .dev_evidence = CVM_TEE_SEV_SNP,
                .boot_usec = 10u * 1000000u,
                .message_usec = 30u * 1000000u,
                .token_lifetime_sec = 1800,
                .token_rotate_sec = 30 * 24 * 3600,
        };
        static char keys[600], policies[600], statedir[600], agents[600];
        _cleanup_free_ char *reason = NULL;
        Manager *m;

        snprintf(keys, sizeof(keys), "%s/keys", dir);
        snprintf(policies, sizeof(policies), "%s/policies", dir);
        snprintf(statedir, sizeof(statedir), "%s/state", dir);
        snprintf(agents, sizeof(agents), "%s/agents", dir);
        s.keys_dir = keys, s.policies_dir = policies, s.state_dir = statedir, s.agent_socket_dir = agents;
        s.host_caps_xml = (char *) caps, s.host_caps_size = strlen(caps);
        s.domcaps_xml = (char *) domcaps, s.domcaps_size = strlen(domcaps);
        assert_int_equal(manager_new(e, &s, &m), 0);
        m->state_changed = log_state;
        assert_int_equal(manager_reload_policies(m, &reason), 0);
        return m;
}

static void on_done(int r, void *userdata) {
        *(int *) userdata = r;
}

/* Runs the loop until cond(m) or about 15 s. */
static void run_until(sd_event *e, Manager *m, bool (*cond)(Manager *m)) {
        for (int i = 0; i < 1500 && !cond(m); i++)
                assert_true(sd_event_run(e, 10000) >= 0);
        assert_true(cond(m));
}

static int done_flag = 1;
static bool libvirt_done(Manager *m) {
        return done_flag != 1;
}

static void connect_and_recover(sd_event *e, Manager *m) {
        done_flag = 1;
        assert_int_equal(manager_connect_libvirt(m, on_done, &done_flag), 0);
        run_until(e, m, libvirt_done);
        assert_int_equal(done_flag, 0);
        done_flag = 1;
        assert_int_equal(manager_recover(m, on_done, &done_flag), 0);
        run_until(e, m, libvirt_done);
        assert_int_equal(done_flag, 0);
}

static bool first_running_second_attesting(Manager *m) {
        Vm *a = manager_find_vm(m, "keyed"), *b = manager_find_vm(m, "silent");
        return a && b && vm_run(a)->phase == LAUNCH_RUNNING && vm_run(b)->phase == LAUNCH_ATTESTING;
}

static bool keyed_reattested(Manager *m) {
        Vm *a = manager_find_vm(m, "keyed");
        return a && vm_run(a)->phase == LAUNCH_RUNNING && !vm_run(a)->reattesting && vm_run(a)->reason &&
               strstr(vm_run(a)->reason, "re-attestation");
}

/* "keyed" boots a kernel file: its launch binds the file's contents, which recovery must match
 * as recorded and a re-attestation must bind again; the others boot a disk. */
static const char *spec(const char *name) {
        static char s[1024], kernel[600];
        FILE *f;

        snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
        if (access(kernel, F_OK) < 0) {
                assert_non_null(f = fopen(kernel, "we"));
                assert_true(fputs("not a real kernel: its SHA-384 is what the launch binds\n", f) >= 0);
                assert_int_equal(fclose(f), 0);
        }
        if (strcmp(name, "keyed") == 0)
                snprintf(s, sizeof(s),
                         "{\"name\": \"%s\", \"tee\": \"none\", \"vcpus\": 2, \"memory_mib\": 1024, \"gpus\": [], "
                         "\"boot\": {\"kernel\": \"%s\", \"disk\": \"/img.qcow2\"}, \"policy\": \"dev\", "
                         "\"key_ids\": [\"k1\"]}",
                         name, kernel);
        else
                snprintf(s, sizeof(s),
                         "{\"name\": \"%s\", \"tee\": \"none\", \"vcpus\": 2, \"memory_mib\": 1024, \"gpus\": [], "
                         "\"boot\": {\"disk\": \"/img.qcow2\"}, \"policy\": \"dev\", \"key_ids\": [\"k1\"]}",
                         name);
        return s;
}

/* libvirt's test driver drops its domains when its last connection closes: this one stands for
 * libvirtd, which outlives cvmd. */
static Lifecycle *libvirtd;

static void test_restart(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ char *reason = NULL;
        Manager *m;
        Vm *vm;
        uint8_t releaser_pk[PROTO_RELEASER_KEY_SIZE];
        pid_t keyed, silent;
        int status;

        assert_int_equal(lifecycle_open("test:///default", NULL, NULL, &libvirtd, &reason), 0);
        assert_int_equal(sd_event_new(&e), 0);
        m = new_manager(e);
        connect_and_recover(e, m);
        keyed = spawn_agent(m, "keyed", true);
        silent = spawn_agent(m, "silent", false);
        memcpy(releaser_pk, m->releaser.pk, sizeof(releaser_pk));
        assert_int_equal(manager_launch(m, spec("keyed"), &vm, &reason), 0);
        assert_int_equal(manager_launch(m, spec("silent"), &vm, &reason), 0);
        run_until(e, m, first_running_second_attesting);
        assert_int_equal(waitpid(keyed, &status, 0), keyed);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        /* the crash: nothing is stopped, nothing destroyed; the domains stay in libvirt */
        manager_free(m);
        kill(silent, SIGKILL);
        (void) waitpid(silent, NULL, 0);

        m = new_manager(e);
        /* the releaser key outlives the daemon: the VMs bound to it stay releasable */
        assert_memory_equal(m->releaser.pk, releaser_pk, sizeof(releaser_pk));
        connect_and_recover(e, m);
        vm = manager_find_vm(m, "keyed");
        assert_non_null(vm);
        assert_int_equal(vm_run(vm)->phase, LAUNCH_RUNNING);
        assert_non_null(strstr(vm_run(vm)->reason, "recovered"));
        /* the VM that was mid-attestation is not in the table: its domain was destroyed */
        assert_null(manager_find_vm(m, "silent"));
        assert_true(manager_audit_verifies(m, NULL));

        /* the plan was rebuilt from the domain's metadata: the recovered VM is attested again,
         * with its launch digest computed anew, and gets its keys again */
        assert_non_null(vm_run(vm)->plan);
        assert_memory_equal(vm_run(vm)->plan->releaser_key, releaser_pk, sizeof(releaser_pk));
        keyed = spawn_agent(m, "keyed", true);
        assert_int_equal(launch_run_attest(vm->run, LAUNCH_REATTEST_ON_DEMAND), 0);
        run_until(e, m, keyed_reattested);
        assert_string_equal(vm_run(vm)->reason, "re-attestation: on demand");
        assert_true(vm_run(vm)->result.released && vm_run(vm)->result.confirmed);
        assert_int_equal(waitpid(keyed, &status, 0), keyed);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_true(manager_audit_verifies(m, NULL));
        manager_free(m);
}

/* A row of the chain changed behind cvmd's back: nothing is trusted, every domain destroyed. */
static void test_tampered_chain(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        sqlite3 *db;
        char db_path[600];
        Manager *m;

        snprintf(db_path, sizeof(db_path), "%s/state/audit.db", dir);
        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "UPDATE events SET details = '{}' WHERE id = 1", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);

        assert_int_equal(sd_event_new(&e), 0);
        m = new_manager(e);
        connect_and_recover(e, m);
        assert_null(manager_find_vm(m, "keyed"));
        assert_int_equal(m->n_vms, 0);
        manager_free(m);
        libvirtd = lifecycle_free(libvirtd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_restart),
                cmocka_unit_test(test_tampered_chain),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
