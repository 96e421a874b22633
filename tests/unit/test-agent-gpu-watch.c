/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's GPU driver reload watch (src/agent/agent-gpu-watch.c): which kernel uevents are a
 * reload (a bind of the nvidia driver, nothing else), and the simulated switch end to end: the
 * trigger file renamed into place makes the agent connect to the host's socket (the whole
 * message) and removes the file, so that the next one is seen too. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/agent/agent.h"
#include "cvm/channel-addr.h"

static bool is_reload(const char *s, size_t n) {
        return gpu_watch_uevent_is_reload((const uint8_t *) s, n);
}

#define UEVENT(lit) lit, sizeof(lit) /* the literal's own terminating NUL included */

static void test_uevents(void **state) {
        assert_true(is_reload(UEVENT("bind@/devices/pci0000:00/0000:00:05.0\0ACTION=bind\0DEVPATH=/devices/pci0000:00/"
                                     "0000:00:05.0\0SUBSYSTEM=pci\0DRIVER=nvidia\0SEQNUM=1234")));
        /* an unbind, another driver, a prefix of the name, the two keys apart: none */
        assert_false(is_reload(UEVENT("unbind@/devices/x\0ACTION=unbind\0SUBSYSTEM=pci\0DRIVER=nvidia")));
        assert_false(is_reload(UEVENT("bind@/devices/x\0ACTION=bind\0SUBSYSTEM=pci\0DRIVER=nvidia_uvm")));
        assert_false(is_reload(UEVENT("bind@/devices/x\0ACTION=bind\0SUBSYSTEM=pci\0DRIVER=nouveau")));
        assert_false(is_reload(UEVENT("add@/devices/x\0ACTION=add\0DRIVER=nvidia")));
        assert_false(is_reload(UEVENT("bind@/devices/x\0ACTION=bind")));
        /* a last string without its NUL is not read */
        assert_false(is_reload("ACTION=bind\0DRIVER=nvidia", strlen("ACTION=bind") + 1 + strlen("DRIVER=nvidia")));
        assert_false(is_reload("", 0));
}

static bool accepted_within(int lfd, int ms) {
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        int c;

        if (poll(&p, 1, ms) != 1)
                return false;
        c = accept(lfd, NULL, NULL);
        if (c < 0)
                return false;
        close(c);
        return true;
}

static void trigger(const char *dir) {
        char tmp[600], path[600];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s/.reload", dir);
        snprintf(path, sizeof(path), "%s/reload", dir);
        f = fopen(tmp, "we");
        assert_non_null(f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(rename(tmp, path), 0);
}

static void test_simulated_switch(void **state) {
        char dir[] = "/tmp/gpu-watch-XXXXXX", addr[600], file[600], cmd[700];
        ChannelAddr host;
        int lfd;

        assert_non_null(mkdtemp(dir));
        snprintf(addr, sizeof(addr), "unix:%s/host.sock", dir);
        snprintf(file, sizeof(file), "%s/reload", dir);
        assert_int_equal(channel_addr_parse(addr, true, &host), 0);
        lfd = channel_listen(&host);
        assert_true(lfd >= 0);
        assert_int_equal(channel_addr_parse(addr, false, &host), 0);
        assert_int_equal(gpu_watch_start(&host, file, NULL), 0);
        /* nothing happened yet: no connection */
        assert_false(accepted_within(lfd, 200));
        trigger(dir);
        assert_true(accepted_within(lfd, 10000));
        for (int i = 0; i < 100 && access(file, F_OK) == 0; i++)
                usleep(10000);
        assert_int_not_equal(access(file, F_OK), 0); /* consumed */
        /* and the next reload is seen again */
        trigger(dir);
        assert_true(accepted_within(lfd, 10000));
        close(lfd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

static void test_bad_trigger(void **state) {
        ChannelAddr host;
        char *reason = NULL;

        assert_int_equal(channel_addr_parse("unix:/nonexistent/host.sock", false, &host), 0);
        assert_true(gpu_watch_start(&host, "no-slash", &reason) < 0);
        assert_non_null(reason);
        free(reason);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uevents),
                cmocka_unit_test(test_simulated_switch),
                cmocka_unit_test(test_bad_trigger),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
