/* SPDX-License-Identifier: Apache-2.0 */
/* Runtime measurement: `cvm-agent measure-workload --digest sha384:HEX` records the image or job
 * the guest is about to start. On TDX the digest is extended into RTMR3 (Linux's
 * /sys/class/misc/tdx_guest/measurements/rtmr3:sha384, or the simulated TD's register) and the
 * event appended to the runtime log that the agent sends with its evidence, so the host can
 * replay RTMR3. On SEV-SNP, with no runtime register, the log is a journal whose digests the
 * agent binds into REPORT_DATA at the next attestation (docs/guest-protocol.md says what that
 * proves). The register only ever moves forward: a log that is edited afterwards no longer
 * replays and is refused by the host. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cvm/tdx-measure.h"
#include "cvm/util.h"
#include "cvm/workload-event.h"
#include "eventlog-write.h"

#define RUNTIME_LOG     "workloads.log"
#define SIM_RTMR3       "sim-rtmr3"
#define TDX_RTMR3_SYSFS "/sys/class/misc/tdx_guest/measurements/rtmr3:sha384"
/* room in the evidence frame for the firmware's log besides it */
#define RUNTIME_LOG_MAX (64u * 1024u)

void workload_log_close(WorkloadLog *l) {
        if (l->lock_fd >= 0)
                close(l->lock_fd);
        free(l->data);
        free(l->digests);
        *l = (WorkloadLog){.lock_fd = -1};
}

/* Every event after the Spec ID event must be a workload event on RTMR3. */
static int log_digests(const uint8_t *data, size_t size, WorkloadLog *l, char **ret_reason) {
        _cleanup_(cc_eventlog_freep) CcEventLog *log = NULL;
        int r;

        r = cc_eventlog_parse(data, size, &log, ret_reason);
        if (r < 0)
                return r;
        l->records = log->n_events > 1 ? log->events[1].offset : log->size;
        l->digests = malloc(log->n_events * TDX_MR_SIZE);
        if (!l->digests)
                return -ENOMEM;
        for (size_t i = 1; i < log->n_events; i++) {
                const CcEvent *ev = &log->events[i];
                if (ev->mr_index != CC_MR_INDEX_RTMR3 || ev->type != TCG_EV_EVENT_TAG)
                        return set_reason(ret_reason, -EBADMSG,
                                          "runtime log: event %zu is not a workload event on RTMR3", i);
                memcpy(l->digests + TDX_MR_SIZE * l->n++, ev->digest, TDX_MR_SIZE);
        }
        return 0;
}

int workload_log_open(const char *runtime_dir, WorkloadLog *ret, char **ret_reason) {
        _cleanup_(workload_log_close) WorkloadLog l = {.lock_fd = -1};
        _cleanup_free_ char *path = NULL;
        int r;

        *ret = (WorkloadLog){.lock_fd = -1};
        if (!runtime_dir)
                return 0;
        path = strdup_printf("%s/%s", runtime_dir, RUNTIME_LOG);
        if (!path)
                return -ENOMEM;
        l.lock_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (l.lock_fd < 0)
                return errno == ENOENT ? 0 : set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
        if (flock(l.lock_fd, LOCK_SH) < 0)
                return set_reason(ret_reason, -errno, "%s: cannot lock: %s", path, strerror(errno));
        r = read_file_bounded(path, RUNTIME_LOG_MAX, &l.data, &l.size);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", path, strerror(-r));
        if (l.size > 0 && (r = log_digests(l.data, l.size, &l, ret_reason)) < 0)
                return r;
        *ret = l;
        l = (WorkloadLog){.lock_fd = -1};
        return 0;
}

int sim_rtmr3_read(const char *runtime_dir, uint8_t ret[48]) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *path = NULL;
        size_t size;
        int r;

        memset(ret, 0, 48);
        if (!runtime_dir)
                return 0;
        path = strdup_printf("%s/%s", runtime_dir, SIM_RTMR3);
        if (!path)
                return -ENOMEM;
        r = read_file_bounded(path, 48, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (size != 48)
                return -EBADMSG;
        memcpy(ret, data, 48);
        return 0;
}

typedef enum MeasureTarget {
        MEASURE_TDX,     /* the kernel's RTMR3 */
        MEASURE_SIM_TDX, /* the simulated TD's RTMR3 */
        MEASURE_SNP,     /* no register: bound into REPORT_DATA later */
} MeasureTarget;

static int extend_sim(const char *runtime_dir, const uint8_t digest[48], char **ret_reason) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", runtime_dir, SIM_RTMR3);
        uint8_t buf[96];
        int r;

        if (!path)
                return -ENOMEM;
        r = sim_rtmr3_read(runtime_dir, buf);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", path, strerror(-r));
        memcpy(buf + 48, digest, 48);
        if (!EVP_Digest(buf, sizeof(buf), buf, NULL, EVP_sha384(), NULL))
                return set_reason(ret_reason, -EIO, "SHA-384 failed");
        r = write_file_atomic(path, buf, 48, 0600);
        return r < 0 ? set_reason(ret_reason, r, "%s: %s", path, strerror(-r)) : 0;
}

static int extend_tdx(const uint8_t digest[48], char **ret_reason) {
        _cleanup_close_ int fd = open(TDX_RTMR3_SYSFS, O_WRONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return set_reason(ret_reason, -errno, "%s: %s (Linux 6.16 or later extends RTMR3 there)",
                                  TDX_RTMR3_SYSFS, strerror(errno));
        /* one write of exactly the digest: the kernel extends with what one write gives it */
        r = write_all(fd, digest, 48);
        return r < 0 ? set_reason(ret_reason, r, "extending RTMR3: %s", strerror(-r)) : 0;
}

/* Appends the event under the exclusive lock, then extends; a failed extension takes the
 * event back out, so the log never holds what the register does not. */
static int measure(const char *runtime_dir, MeasureTarget t, const uint8_t digest[48], const char *description,
                   char **ret_reason) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", runtime_dir, RUNTIME_LOG);
        _cleanup_(workload_log_close) WorkloadLog cur = {.lock_fd = -1};
        _cleanup_close_ int fd = -EBADF;
        LogBuf b = {};
        struct stat st;
        int r;

        if (!path)
                return -ENOMEM;
        r = mkdir_p(runtime_dir, 0700);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", runtime_dir, strerror(-r));
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return set_reason(ret_reason, -EBADFD, "%s: not a regular file", path);
        if (st.st_size > 0) {
                r = read_file_bounded(path, RUNTIME_LOG_MAX, &cur.data, &cur.size);
                if (r >= 0)
                        r = log_digests(cur.data, cur.size, &cur, ret_reason);
                if (r < 0)
                        return set_reason(ret_reason, r, "%s: the runtime log cannot be read: %s", path,
                                          ret_reason && *ret_reason ? *ret_reason : strerror(-r));
                if (cur.n >= PROTO_WORKLOADS_MAX)
                        return set_reason(ret_reason, -ENOSPC, "%s: already %u workloads measured", path,
                                          PROTO_WORKLOADS_MAX);
        } else
                logbuf_spec_id(&b);
        logbuf_tagged(&b, CC_MR_INDEX_RTMR3, CVM_WORKLOAD_EVENT_TAG, digest, description);
        if (b.oom)
                return -ENOMEM;
        if ((uint64_t) st.st_size + b.n > RUNTIME_LOG_MAX) {
                free(b.p);
                return set_reason(ret_reason, -ENOSPC, "%s: the runtime log is full", path);
        }
        r = lseek(fd, 0, SEEK_END) < 0 ? -errno : write_all(fd, b.p, b.n);
        free(b.p);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                int k = ftruncate(fd, st.st_size);
                return set_reason(ret_reason, r, "%s: %s%s", path, strerror(-r),
                                  k < 0 ? " (and a partial event may remain)" : "");
        }
        r = t == MEASURE_TDX       ? extend_tdx(digest, ret_reason)
            : t == MEASURE_SIM_TDX ? extend_sim(runtime_dir, digest, ret_reason)
                                   : 0;
        if (r < 0 && ftruncate(fd, st.st_size) < 0)
                return set_reason(ret_reason, r, "%s; and the event could not be taken out of %s",
                                  ret_reason && *ret_reason ? *ret_reason : strerror(-r), path);
        return r;
}

static bool description_ok(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > WORKLOAD_DESCRIPTION_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e)
                        return false;
        return true;
}

static void measure_help(void) {
        printf("Usage: cvm-agent measure-workload --digest sha384:HEX [OPTIONS]\n"
               "\n"
               "Measures the image or job this guest is about to start, before it starts. On TDX the digest\n"
               "is extended into RTMR3 and logged; the agent sends the log with its next evidence and the\n"
               "host replays RTMR3. On SEV-SNP the digest is logged and bound into REPORT_DATA at the next\n"
               "attestation. A policy's workload_digests then says which workloads may run.\n"
               "\n"
               "Options:\n"
               "  --digest sha384:HEX    the workload's SHA-384 (96 hex digits)\n"
               "  --description TEXT     what it is, printable ASCII, at most %u characters\n"
               "  --runtime-dir DIR      the agent's runtime directory (default %s)\n"
               "  --tee tdx|snp          which register; default: TDX when %s exists, else SEV-SNP\n"
               "  --simulate tdx|snp     the simulated guest: its RTMR3 lives in the runtime directory\n"
               "  -h, --help             show this help\n",
               WORKLOAD_DESCRIPTION_MAX, AGENT_RUNTIME_DIR_DEFAULT, TDX_RTMR3_SYSFS);
}

int agent_measure_main(int argc, char *argv[]) {
        enum { ARG_DIGEST = 0x100, ARG_DESCRIPTION, ARG_RUNTIME_DIR, ARG_TEE, ARG_SIMULATE };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"digest", required_argument, NULL, ARG_DIGEST},
                {"description", required_argument, NULL, ARG_DESCRIPTION},
                {"runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR},
                {"tee", required_argument, NULL, ARG_TEE},
                {"simulate", required_argument, NULL, ARG_SIMULATE},
                {},
        };
        const char *dir = AGENT_RUNTIME_DIR_DEFAULT, *description = "workload";
        _cleanup_free_ char *reason = NULL, *hex = NULL;
        int target = -1, opt, r;
        bool have_digest = false;
        uint8_t digest[48];

        optind = 1;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        measure_help();
                        return 0;
                case ARG_DIGEST:
                        if (strncmp(optarg, "sha384:", 7) != 0 || hex_decode_exact(optarg + 7, digest, 48) < 0) {
                                fprintf(stderr,
                                        "cvm-agent measure-workload: --digest: expected sha384: and 96 hex digits\n");
                                return 2;
                        }
                        have_digest = true;
                        break;
                case ARG_DESCRIPTION:
                        if (!description_ok(optarg)) {
                                fprintf(stderr,
                                        "cvm-agent measure-workload: --description: 1..%u printable ASCII characters\n",
                                        WORKLOAD_DESCRIPTION_MAX);
                                return 2;
                        }
                        description = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        dir = optarg;
                        break;
                case ARG_TEE:
                case ARG_SIMULATE:
                        if (!streq(optarg, "tdx") && !streq(optarg, "snp")) {
                                fprintf(stderr, "cvm-agent measure-workload: --%s: '%s' is not tdx or snp\n",
                                        opt == ARG_TEE ? "tee" : "simulate", optarg);
                                return 2;
                        }
                        target = streq(optarg, "snp") ? MEASURE_SNP : opt == ARG_TEE ? MEASURE_TDX : MEASURE_SIM_TDX;
                        break;
                default:
                        fprintf(stderr, "Try 'cvm-agent measure-workload --help'.\n");
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "cvm-agent measure-workload: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (!have_digest) {
                fprintf(stderr, "cvm-agent measure-workload: --digest is required\n");
                return 2;
        }
        if (target < 0)
                target = access(TDX_RTMR3_SYSFS, F_OK) == 0 ? MEASURE_TDX : MEASURE_SNP;
        r = measure(dir, target, digest, description, &reason);
        if (r < 0) {
                fprintf(stderr, "cvm-agent measure-workload: %s\n", reason ? reason : strerror(-r));
                return 1;
        }
        hex = hex_encode(digest, 48);
        printf("workload sha384:%s %s\n", hex ? hex : "",
               target == MEASURE_SNP ? "logged; bound into REPORT_DATA at the next attestation"
                                     : "extended into RTMR3 and logged");
        return 0;
}
