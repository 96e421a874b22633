/* SPDX-License-Identifier: Apache-2.0 */
/* AMD KDS collateral: the URL builders against the real URLs of spec §10, cache paths, the
 * default cache directory, the offline cache paths of kds_complete_chain(), and http_get()
 * failing cleanly. Contacts nothing but 127.0.0.1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/http.h"
#include "cvm/kds.h"
#include "cvm/snp.h"
#include "cvm/util.h"

static const char milan_chip[] = "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b7"
                                 "6a1936776b564ea464cdce40c05f63c9b610c5068b006b5d";

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Compares two URLs: the same path, and the same query parameters in any order. */
static void assert_url_equal(const char *got, const char *want) {
        _cleanup_free_ char *g = strdup(got), *w = strdup(want);
        char *gq, *wq, *gp[16], *wp[16], *save = NULL;
        size_t gn = 0, wn = 0;

        assert_non_null(g);
        assert_non_null(w);
        gq = strchr(g, '?');
        wq = strchr(w, '?');
        if (gq)
                *gq++ = '\0';
        if (wq)
                *wq++ = '\0';
        assert_string_equal(g, w);
        assert_true(!gq == !wq);
        if (!gq)
                return;
        for (char *t = strtok_r(gq, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
                assert_true(gn < ELEMENTSOF(gp));
                gp[gn++] = t;
        }
        for (char *t = strtok_r(wq, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
                assert_true(wn < ELEMENTSOF(wp));
                wp[wn++] = t;
        }
        assert_int_equal(gn, wn);
        qsort(gp, gn, sizeof(char *), cmp_str);
        qsort(wp, wn, sizeof(char *), cmp_str);
        for (size_t i = 0; i < gn; i++)
                assert_string_equal(gp[i], wp[i]);
}

static void milan_report(SnpReport *r) {
        static const uint8_t tcb[8] = { 2, 0, 0, 0, 0, 0, 5, 68 }; /* bl=2 tee=0 snp=5 ucode=68 */

        memset(r, 0, sizeof(*r));
        r->version = 2;
        assert_int_equal(hex_decode_exact(milan_chip, r->chip_id, sizeof(r->chip_id)), 0);
        snp_tcb_decode(tcb, false, &r->reported_tcb);
}

static void turin_report(SnpReport *r, bool decoded_as_turin) {
        static const uint8_t tcb[8] = { 0, 1, 0, 2, 0, 0, 0, 71 }; /* fmc=0 bl=1 tee=0 snp=2 ucode=71 */

        memset(r, 0, sizeof(*r));
        r->version = 5;
        assert_int_equal(hex_decode_exact("3b42092f69c656d3", r->chip_id, 8), 0);
        memset(r->chip_id + 8, 0, 56);
        snp_tcb_decode(tcb, decoded_as_turin, &r->reported_tcb);
}

static void test_vcek_url_milan(void **state) {
        _cleanup_free_ char *url = NULL, *url2 = NULL;
        SnpReport r;

        milan_report(&r);
        assert_int_equal(kds_vcek_url(NULL, SNP_PRODUCT_MILAN, &r, &url), 0);
        assert_url_equal(url, "https://kdsintf.amd.com/vcek/v1/Milan/3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b"
                              "8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d"
                              "?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68");
        /* lowercase hex, 128 characters */
        for (const char *p = strrchr(url, '/') + 1; *p != '?'; p++)
                assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));

        /* A base with a trailing slash gives no double slash. */
        assert_int_equal(kds_vcek_url("http://127.0.0.1:8080/", SNP_PRODUCT_GENOA, &r, &url2), 0);
        assert_non_null(strstr(url2, "http://127.0.0.1:8080/vcek/v1/Genoa/3ac3fe21"));
}

static void test_vcek_url_turin(void **state) {
        static const char want[] = "https://kdsintf.amd.com/vcek/v1/Turin/3b42092f69c656d3"
                                   "?ucodeSPL=71&snpSPL=2&teeSPL=0&blSPL=1&fmcSPL=0";
        _cleanup_free_ char *url = NULL, *url2 = NULL;
        SnpReport r;

        turin_report(&r, true);
        /* Only the first 8 bytes of CHIP_ID name a Turin chip, whatever follows. */
        memset(r.chip_id + 8, 0xee, 56);
        assert_int_equal(kds_vcek_url(NULL, SNP_PRODUCT_TURIN, &r, &url), 0);
        assert_url_equal(url, want);

        /* A report decoded in the Milan layout (v2 does not say) still gives the Turin SPLs. */
        turin_report(&r, false);
        assert_int_equal(kds_vcek_url("https://kdsintf.amd.com", SNP_PRODUCT_TURIN, &r, &url2), 0);
        assert_url_equal(url2, want);
}

static void test_chain_urls(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        char *untouched = (char *) "x";
        SnpReport r;

        assert_int_equal(kds_cert_chain_url(NULL, SNP_PRODUCT_MILAN, false, &a), 0);
        assert_string_equal(a, "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain");
        assert_int_equal(kds_cert_chain_url("http://127.0.0.1:1234//", SNP_PRODUCT_GENOA, true, &b), 0);
        assert_string_equal(b, "http://127.0.0.1:1234/vlek/v1/Genoa/cert_chain");
        assert_int_equal(kds_crl_url(NULL, SNP_PRODUCT_TURIN, false, &c), 0);
        assert_string_equal(c, "https://kdsintf.amd.com/vcek/v1/Turin/crl");
        assert_int_equal(kds_crl_url(NULL, SNP_PRODUCT_MILAN, true, &d), 0);
        assert_string_equal(d, "https://kdsintf.amd.com/vlek/v1/Milan/crl");

        /* Invalid products are refused and leave the out-parameter alone. */
        milan_report(&r);
        assert_int_equal(kds_cert_chain_url(NULL, _SNP_PRODUCT_MAX, false, &untouched), -EINVAL);
        assert_int_equal(kds_crl_url(NULL, (SnpProduct) -1, false, &untouched), -EINVAL);
        assert_int_equal(kds_vcek_url(NULL, _SNP_PRODUCT_INVALID, &r, &untouched), -EINVAL);
        assert_string_equal(untouched, "x");
}

static void test_cache_path(void **state) {
        _cleanup_free_ char *v = NULL, *t = NULL, *c = NULL, *l = NULL, *crl = NULL;
        SnpReport r;

        milan_report(&r);
        assert_int_equal(kds_cache_path("/c", SNP_PRODUCT_MILAN, KDS_ITEM_VCEK, &r, &v), 0);
        assert_non_null(strstr(v, "/c/snp/Milan/vcek/3ac3fe21"));
        assert_non_null(strstr(v, "6b5d-0200000000000544.der"));
        assert_int_equal(kds_cache_path("/c", SNP_PRODUCT_MILAN, KDS_ITEM_CERT_CHAIN, NULL, &c), 0);
        assert_string_equal(c, "/c/snp/Milan/cert_chain.pem");
        assert_int_equal(kds_cache_path("/c", SNP_PRODUCT_GENOA, KDS_ITEM_VLEK_CERT_CHAIN, NULL, &l), 0);
        assert_string_equal(l, "/c/snp/Genoa/vlek_cert_chain.pem");
        assert_int_equal(kds_cache_path("/c", SNP_PRODUCT_TURIN, KDS_ITEM_CRL, NULL, &crl), 0);
        assert_string_equal(crl, "/c/snp/Turin/crl.der");

        turin_report(&r, true);
        assert_int_equal(kds_cache_path("/c", SNP_PRODUCT_TURIN, KDS_ITEM_VCEK, &r, &t), 0);
        assert_string_equal(t, "/c/snp/Turin/vcek/3b42092f69c656d3-0001000200000047.der");
        assert_int_equal(kds_cache_path("/c", SNP_PRODUCT_TURIN, KDS_ITEM_VCEK, NULL, &t), -EINVAL);
}

static void test_default_cache_dir(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        assert_int_equal(setenv("CVM_CACHE_DIR", "/srv/cvm-cache", 1), 0);
        assert_int_equal(kds_default_cache_dir(&a), 0);
        assert_string_equal(a, "/srv/cvm-cache");

        assert_int_equal(unsetenv("CVM_CACHE_DIR"), 0);
        assert_int_equal(setenv("XDG_CACHE_HOME", "/tmp/xdg", 1), 0);
        assert_int_equal(setenv("HOME", "/home/someone", 1), 0);
        assert_int_equal(kds_default_cache_dir(&b), 0);
        assert_string_equal(b, geteuid() == 0 ? "/var/cache/cvmd" : "/tmp/xdg/cvmd");

        assert_int_equal(unsetenv("XDG_CACHE_HOME"), 0);
        assert_int_equal(kds_default_cache_dir(&c), 0);
        assert_string_equal(c, geteuid() == 0 ? "/var/cache/cvmd" : "/home/someone/.cache/cvmd");
}

static unsigned n_progress;

static void count_progress(void *userdata, const char *message) {
        assert_non_null(strstr(message, "retrying in"));
        n_progress++;
}

static void test_http_unreachable(void **state) {
        HttpOptions o = {
                .connect_timeout_sec = 2,
                .timeout_sec = 2,
                .max_retries = HTTP_MAX_RETRIES_NONE,
                .progress = count_progress,
        };
        uint8_t *body = (uint8_t *) "untouched";
        size_t size = 42;
        long status = 99;
        char *error = NULL;
        int r;

        n_progress = 0;
        r = http_get(&o, "http://127.0.0.1:1/vcek/v1/Milan/cert_chain", &body, &size, &status, &error);
        assert_true(r < 0);
        assert_int_not_equal(r, -ENOENT);
        assert_non_null(error);
        assert_non_null(strstr(error, "127.0.0.1:1"));
        assert_int_equal(status, 0);
        assert_int_equal(size, 42);
        assert_string_equal((char *) body, "untouched");
        assert_int_equal(n_progress, 0);
        free(error);

        /* Two retries with a short backoff: each is reported, then the error says it gave up. */
        o.max_retries = 2;
        o.backoff_initial_ms = 10;
        error = NULL;
        r = http_get(&o, "http://127.0.0.1:1/", &body, &size, NULL, &error);
        assert_true(r < 0);
        assert_int_equal(n_progress, 2);
        assert_non_null(strstr(error, "3 attempts"));
        free(error);
}

static void test_http_refuses_other_schemes(void **state) {
        uint8_t *body = NULL;
        size_t size = 0;
        char *error = NULL;

        assert_int_equal(http_get(NULL, "file:///etc/passwd", &body, &size, NULL, &error), -EPROTONOSUPPORT);
        assert_non_null(error);
        free(error);
        error = NULL;
        assert_int_equal(http_get(NULL, "ftp://127.0.0.1/x", &body, &size, NULL, &error), -EPROTONOSUPPORT);
        free(error);
        assert_null(body);
        assert_string_equal(http_status_phrase(429), "Too Many Requests");
}

/* ---- http_get() against canned answers from a forked one-shot server on 127.0.0.1 ---- */

typedef struct Canned {
        pid_t pid;
        int port;
} Canned;

/* Serves responses[i] to the i-th connection, then exits. */
static void canned_start(Canned *c, const char *const *responses, size_t n) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t len = sizeof(sa);
        int fd;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 8), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
        c->port = ntohs(sa.sin_port);
        c->pid = fork();
        assert_true(c->pid >= 0);
        if (c->pid == 0) {
                for (size_t i = 0; i < n; i++) {
                        char buf[4096];
                        size_t got = 0;
                        int cfd = accept(fd, NULL, NULL);

                        if (cfd < 0)
                                _exit(1);
                        /* read the request head */
                        while (got < sizeof(buf) - 1) {
                                ssize_t k = read(cfd, buf + got, sizeof(buf) - 1 - got);
                                if (k <= 0)
                                        break;
                                got += (size_t) k;
                                buf[got] = 0;
                                if (strstr(buf, "\r\n\r\n"))
                                        break;
                        }
                        if (write(cfd, responses[i], strlen(responses[i])) < 0)
                                _exit(1);
                        shutdown(cfd, SHUT_WR);
                        close(cfd);
                }
                _exit(0);
        }
        close(fd);
}

static void canned_stop(Canned *c) {
        (void) kill(c->pid, SIGTERM);
        (void) waitpid(c->pid, NULL, 0);
}

static char last_progress[512];

static void save_progress(void *userdata, const char *message) {
        snprintf(last_progress, sizeof(last_progress), "%s", message);
        n_progress++;
}

static void test_http_retry_after(void **state) {
        static const char *const answers[] = {
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1000\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        };
        HttpOptions o = { .max_retry_after_sec = 1, .backoff_initial_ms = 20, .progress = save_progress };
        _cleanup_free_ char *url = NULL;
        uint8_t *body = NULL;
        size_t size = 0;
        long status = 0;
        char *error = NULL;
        Canned c;

        canned_start(&c, answers, ELEMENTSOF(answers));
        url = strdup_printf("http://127.0.0.1:%d/vcek/v1/Milan/cert_chain", c.port);
        n_progress = 0;
        assert_int_equal(http_get(&o, url, &body, &size, &status, &error), 0);
        canned_stop(&c);
        assert_null(error);
        assert_int_equal(status, 200);
        assert_int_equal(size, 5);
        assert_string_equal((char *) body, "hello");
        free(body);
        assert_int_equal(n_progress, 2);
        /* the second retry: no Retry-After, so the doubled backoff */
        assert_non_null(strstr(last_progress, "answered 503 Service Unavailable; retrying in 40 ms (attempt 3 of 4)"));
}

static void test_http_retry_after_capped(void **state) {
        static const char *const answers[] = {
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1000\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        };
        HttpOptions o = { .max_retry_after_sec = 1, .progress = save_progress };
        _cleanup_free_ char *url = NULL;
        _cleanup_free_ uint8_t *body = NULL;
        size_t size = 0;
        Canned c;

        canned_start(&c, answers, ELEMENTSOF(answers));
        url = strdup_printf("http://127.0.0.1:%d/x", c.port);
        n_progress = 0;
        assert_int_equal(http_get(&o, url, &body, &size, NULL, NULL), 0);
        canned_stop(&c);
        assert_int_equal(n_progress, 1);
        assert_non_null(strstr(last_progress, "answered 429 Too Many Requests; retrying in 1 s (attempt 2 of 4)"));
}

static void test_http_404_is_final(void **state) {
        static const char *const answers[] = {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        };
        HttpOptions o = { .backoff_initial_ms = 10, .progress = save_progress };
        _cleanup_free_ char *url = NULL, *error = NULL;
        uint8_t *body = NULL;
        size_t size = 0;
        long status = 0;
        Canned c;

        canned_start(&c, answers, ELEMENTSOF(answers));
        url = strdup_printf("http://127.0.0.1:%d/vcek/v1/Milan/00", c.port);
        n_progress = 0;
        assert_int_equal(http_get(&o, url, &body, &size, &status, &error), -ENOENT);
        canned_stop(&c);
        assert_int_equal(status, 404);
        assert_int_equal(n_progress, 0);
        assert_null(body);
        assert_non_null(strstr(error, url));
        assert_non_null(strstr(error, "404"));
}

static void test_http_body_limit(void **state) {
        static const char *const answers[] = {
                /* declared too large: refused before reading */
                "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
                "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
                /* undeclared length: refused while reading */
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
        };
        HttpOptions o = { .max_body = 10, .max_retries = HTTP_MAX_RETRIES_NONE };
        _cleanup_free_ char *url = NULL;
        uint8_t *body = NULL;
        size_t size = 0;
        char *error = NULL;
        Canned c;

        canned_start(&c, answers, ELEMENTSOF(answers));
        url = strdup_printf("http://127.0.0.1:%d/big", c.port);
        assert_int_equal(http_get(&o, url, &body, &size, NULL, &error), -EFBIG);
        assert_non_null(strstr(error, "larger than 10 bytes"));
        free(error);
        error = NULL;
        assert_int_equal(http_get(&o, url, &body, &size, NULL, &error), -EFBIG);
        free(error);
        canned_stop(&c);
        assert_null(body);
}

/* ---- kds_complete_chain() from the cache alone (offline) ---- */

static char *make_tmpdir(void) {
        char *d = strdup("/tmp/test-kds.XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void rm_rf(const char *dir) {
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);

        assert_non_null(cmd);
        assert_int_equal(system(cmd), 0);
}

static void test_offline_empty_cache(void **state) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_free_ char *dir = make_tmpdir(), *error = NULL, *error2 = NULL;
        KdsOptions o = { .cache_dir = dir, .offline = true };
        SnpReport r;

        milan_report(&r);
        assert_int_equal(kds_complete_chain(&o, &r, SNP_PRODUCT_MILAN, 1700000000, false, chain, &error), -ENOENT);
        assert_non_null(error);
        assert_non_null(strstr(error, "VCEK"));
        assert_non_null(strstr(error, dir));
        assert_null(snp_chain_leaf(chain));

        /* v2, product unknown: both Milan and Genoa are looked for and named. */
        assert_int_equal(kds_complete_chain(&o, &r, -1, 1700000000, false, chain, &error2), -ENOENT);
        assert_non_null(strstr(error2, "snp/Milan/vcek/"));
        assert_non_null(strstr(error2, "snp/Genoa/vcek/"));
        rm_rf(dir);
}

static void test_offline_corrupt_cache(void **state) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_free_ char *dir = make_tmpdir(), *path = NULL, *vdir = NULL, *error = NULL;
        KdsOptions o = { .cache_dir = dir, .offline = true };
        SnpReport r;

        milan_report(&r);
        assert_int_equal(kds_cache_path(dir, SNP_PRODUCT_MILAN, KDS_ITEM_VCEK, &r, &path), 0);
        vdir = strdup_printf("%s/snp/Milan/vcek", dir);
        assert_int_equal(mkdir_p(vdir, 0755), 0);
        assert_int_equal(write_file_atomic(path, "junk", 4, 0644), 0);
        assert_int_equal(kds_complete_chain(&o, &r, SNP_PRODUCT_MILAN, 1700000000, false, chain, &error), -ESTALE);
        assert_non_null(strstr(error, path));
        assert_non_null(strstr(error, "does not parse"));
        rm_rf(dir);
}

static void test_vlek_not_fetchable(void **state) {
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        _cleanup_free_ char *error = NULL;
        KdsOptions o = { .offline = true };
        SnpReport r;

        milan_report(&r);
        memset(r.chip_id, 0, sizeof(r.chip_id));
        r.key_info = SNP_SIGNING_KEY_VLEK << 2;
        assert_int_equal(kds_complete_chain(&o, &r, -1, 1700000000, false, chain, &error), -EOPNOTSUPP);
        assert_non_null(strstr(error, "VLEK"));
        assert_non_null(strstr(error, "certificate table"));
}

/* A cache filled from real vectors completes the chain offline, valid at the case's time. */
static void test_offline_from_vectors(void **state) {
        const char *root = getenv("CVM_VECTORS");
        _cleanup_free_ char *vdir = NULL, *report = NULL, *vcek = NULL, *ask = NULL, *ark = NULL;
        _cleanup_free_ uint8_t *data = NULL, *vcek_der = NULL, *ask_pem = NULL, *ark_pem = NULL, *bundle = NULL;
        _cleanup_free_ char *dir = NULL, *vpath = NULL, *cpath = NULL, *pdir = NULL, *error = NULL;
        _cleanup_(snp_chain_freep) SnpChain *chain = snp_chain_new();
        size_t size, vsize, asize, rsize;
        KdsOptions o = { .offline = true };
        int64_t at;
        SnpReport r;

        vdir = strdup_printf("%s/snp/cmc-milan-v2", root && *root ? root : "../shared/vectors");
        report = strdup_printf("%s/report.bin", vdir);
        if (read_file_bounded(report, CVM_INPUT_MAX, &data, &size) < 0) {
                skip();
                return;
        }
        vcek = strdup_printf("%s/certs/vcek.der", vdir);
        ask = strdup_printf("%s/certs/ask.pem", vdir);
        ark = strdup_printf("%s/certs/ark.pem", vdir);
        assert_int_equal(read_file_bounded(vcek, CVM_INPUT_MAX, &vcek_der, &vsize), 0);
        assert_int_equal(read_file_bounded(ask, CVM_INPUT_MAX, &ask_pem, &asize), 0);
        assert_int_equal(read_file_bounded(ark, CVM_INPUT_MAX, &ark_pem, &rsize), 0);
        assert_int_equal(snp_report_parse(data, size, &r, NULL), 0);

        dir = make_tmpdir();
        o.cache_dir = dir;
        pdir = strdup_printf("%s/snp/Milan/vcek", dir);
        assert_int_equal(mkdir_p(pdir, 0755), 0);
        assert_int_equal(kds_cache_path(dir, SNP_PRODUCT_MILAN, KDS_ITEM_VCEK, &r, &vpath), 0);
        assert_int_equal(write_file_atomic(vpath, vcek_der, vsize, 0644), 0);
        assert_int_equal(kds_cache_path(dir, SNP_PRODUCT_MILAN, KDS_ITEM_CERT_CHAIN, NULL, &cpath), 0);
        bundle = malloc(asize + rsize);
        assert_non_null(bundle);
        memcpy(bundle, ask_pem, asize);
        memcpy(bundle + asize, ark_pem, rsize);
        assert_int_equal(write_file_atomic(cpath, bundle, asize + rsize, 0644), 0);

        assert_int_equal(parse_rfc3339("2022-04-28T00:00:00Z", &at), 0);
        /* v2 report: the product is found by probing, Milan first. */
        assert_int_equal(kds_complete_chain(&o, &r, -1, at, false, chain, &error), 0);
        assert_null(error);
        assert_non_null(chain->cert[SNP_ROLE_VCEK]);
        assert_non_null(chain->cert[SNP_ROLE_ASK]);
        assert_non_null(chain->cert[SNP_ROLE_ARK]);

        /* Long after the VCEK expired, the cache is stale, and offline says so. */
        snp_chain_free(chain);
        chain = snp_chain_new();
        assert_int_equal(kds_complete_chain(&o, &r, SNP_PRODUCT_MILAN, at + 20LL * 365 * 86400, false, chain, &error),
                         -ESTALE);
        assert_non_null(strstr(error, vpath));
        assert_non_null(strstr(error, "expired"));

        /* want_crl with no CRL cached fails, naming the CRL. */
        error = mfree_str(error);
        snp_chain_free(chain);
        chain = snp_chain_new();
        assert_int_equal(kds_complete_chain(&o, &r, SNP_PRODUCT_MILAN, at, true, chain, &error), -ENOENT);
        assert_non_null(strstr(error, "crl.der"));
        rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vcek_url_milan),
                cmocka_unit_test(test_vcek_url_turin),
                cmocka_unit_test(test_chain_urls),
                cmocka_unit_test(test_cache_path),
                cmocka_unit_test(test_default_cache_dir),
                cmocka_unit_test(test_http_unreachable),
                cmocka_unit_test(test_http_refuses_other_schemes),
                cmocka_unit_test(test_http_retry_after),
                cmocka_unit_test(test_http_retry_after_capped),
                cmocka_unit_test(test_http_404_is_final),
                cmocka_unit_test(test_http_body_limit),
                cmocka_unit_test(test_offline_empty_cache),
                cmocka_unit_test(test_offline_corrupt_cache),
                cmocka_unit_test(test_vlek_not_fetchable),
                cmocka_unit_test(test_offline_from_vectors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
