/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The structured result every verifier returns: the checks it ran, whether the evidence is
 * authentic, whether the policy accepts it, the reasons for any refusal, and the claims. The
 * verifiers fill it; nothing in here prints or logs. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "cvm/cleanup.h"
#include "cvm/macro.h"

typedef enum CheckStatus {
        CHECK_PASS,
        CHECK_FAIL,
        CHECK_SKIP, /* not applicable or not possible; the verifier decides whether that is fatal */
        _CHECK_STATUS_MAX,
        _CHECK_STATUS_INVALID = -EINVAL,
} CheckStatus;

typedef struct Check {
        char *name;
        CheckStatus status;
        char *detail;
} Check;

typedef struct Verdict {
        const char *tee; /* "sev-snp", "tdx", "nvidia-gpu" */
        bool authentic;
        bool accepted;
        Check *checks;
        size_t n_checks;
        char **reasons;
        size_t n_reasons;
        json_object *claims;
        bool oom; /* an allocation failed while recording: the verdict must be treated as a refusal */
} Verdict;

const char *check_status_to_string(CheckStatus s);

int verdict_init(Verdict *v, const char *tee);
void verdict_done(Verdict *v);

/* Records a check; a failing check also becomes a reason ("<name>: <detail>"). */
void verdict_check(Verdict *v, const char *name, CheckStatus s, const char *fmt, ...) _printf_(4, 5);
/* Records a reason that is not tied to one check (policy denials use "policy.<rule>: ..."). */
void verdict_reason(Verdict *v, const char *fmt, ...) _printf_(2, 3);

/* A verifier's pass over its checks: records each one and remembers whether every required
 * check so far passed, so a missing or failed check can never leave the evidence authentic. */
typedef struct VerdictRun {
        Verdict *v;
        bool ok;
} VerdictRun;

static inline VerdictRun verdict_run(Verdict *v) {
        return (VerdictRun) { .v = v, .ok = true };
}
void verdict_pass(VerdictRun *r, const char *name, const char *fmt, ...) _printf_(3, 4);
void verdict_fail(VerdictRun *r, const char *name, const char *fmt, ...) _printf_(3, 4);

bool verdict_has_failed_check(const Verdict *v);
const Check *verdict_find_check(const Verdict *v, const char *name);

/* {"tee", "authentic", "accepted", "reasons", "checks", "claims"}; NULL on OOM. */
json_object *verdict_to_json(const Verdict *v);
/* Human output: one line per check, then the reasons, then the claims. */
void verdict_print(const Verdict *v, FILE *f);
