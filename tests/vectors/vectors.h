/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared pieces of the vector runner: one run_<tee>_case() per TEE, each in its own file. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Counts {
        unsigned passed, failed, skipped;
} Counts;

/* Reads a case file (bounded). */
int vector_read(const char *path, uint8_t **ret, size_t *ret_size);
/* Compares every expected field (case.json "fields") with the claim of the same name; on a
 * mismatch writes why and returns false. Strings compare case-insensitively. */
bool vector_fields_match(json_object *fields, json_object *claims, char *why, size_t size);

/* dir: the case folder; id: its name. Each prints one line and counts the outcome. */
void run_snp_case(const char *dir, const char *id, Counts *counts);
void run_nvidia_case(const char *dir, const char *id, Counts *counts);
void run_tdx_case(const char *dir, const char *id, Counts *counts);
/* Every case under root/measure/snp and root/measure/tdx (vectors-measure.c). */
void run_measure(const char *root, Counts *counts);
