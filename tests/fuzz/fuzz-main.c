/* SPDX-License-Identifier: Apache-2.0 */
/* Corpus replay without libFuzzer: feeds every file named on the command line (directories
 * are walked one level) to LLVMFuzzerTestOneInput, so `make check` runs each corpus under the
 * suite's compiler and sanitizers. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned *count) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = read_file_bounded(path, CVM_INPUT_MAX, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        /* A private copy of exactly `size` bytes so ASan sees any read past the end. */
        {
                _cleanup_free_ uint8_t *exact = malloc(size ? size : 1);
                if (!exact)
                        return -ENOMEM;
                memcpy(exact, data, size);
                (void) LLVMFuzzerTestOneInput(exact, size);
        }
        (*count)++;
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned count = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (S_ISDIR(st.st_mode)) {
                        struct dirent **names;
                        int n = scandir(argv[i], &names, NULL, alphasort);
                        if (n < 0) {
                                perror(argv[i]);
                                return 1;
                        }
                        for (int k = 0; k < n; k++) {
                                _cleanup_free_ char *p = NULL;
                                if (names[k]->d_name[0] != '.' && (p = strdup_printf("%s/%s", argv[i], names[k]->d_name)))
                                        if (run_file(p, &count) < 0)
                                                return 1;
                                free(names[k]);
                        }
                        free(names);
                } else if (run_file(argv[i], &count) < 0)
                        return 1;
        }
        printf("%s: replayed %u inputs\n", argc > 0 ? argv[0] : "fuzz", count);
        return 0;
}
