/* SPDX-License-Identifier: Apache-2.0 */
/* The TDX collateral directory loader (pcs_collateral_load_dir, what --collateral and the cache
 * read): the input's parts become the seven files of a bundle directory, in the order of
 * TdxCollateralFile; an empty part is a missing file. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cvm/pcs.h"
#include "cvm/util.h"
#include "fuzz-split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/cvmd-fuzz-collateral-XXXXXX";

/* A plain write: write_file_atomic()'s fsync would make each run take milliseconds. */
static void put(const char *path, const uint8_t *p, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || write(fd, p, n) != (ssize_t) n)
                abort();
        close(fd);
}

static void remove_dir(void) {
        for (int f = 0; f < _TDX_FILE_MAX; f++) {
                char *p = strdup_printf("%s/%s", dir, tdx_collateral_file_name(f));
                if (p)
                        (void) unlink(p);
                free(p);
        }
        (void) rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool made;
        FuzzPart parts[_TDX_FILE_MAX] = {};
        TdxCollateral *c = NULL;
        char *error = NULL;
        size_t n;

        if (!made) {
                if (!mkdtemp(dir))
                        abort();
                made = true;
                (void) atexit(remove_dir);
        }
        n = fuzz_split(data, size, parts, _TDX_FILE_MAX);
        for (int f = 0; f < _TDX_FILE_MAX; f++) {
                char *p = strdup_printf("%s/%s", dir, tdx_collateral_file_name(f));
                if (!p)
                        abort();
                (void) unlink(p);
                if ((size_t) f < n && parts[f].size > 0)
                        put(p, parts[f].data, parts[f].size);
                free(p);
        }
        if (pcs_collateral_load_dir(dir, &c, &error) >= 0) {
                int64_t from, until;
                (void) tdx_collateral_window(c, &from, &until);
                tdx_collateral_free(c);
        }
        free(error);
        return 0;
}
