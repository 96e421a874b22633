/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/util.h"
#include "cvm/verdict.h"

const char *check_status_to_string(CheckStatus s) {
        switch (s) {
        case CHECK_PASS:
                return "pass";
        case CHECK_FAIL:
                return "FAIL";
        case CHECK_SKIP:
                return "skip";
        default:
                return "invalid";
        }
}

int verdict_init(Verdict *v, const char *tee) {
        *v = (Verdict) { .tee = tee };
        v->claims = json_object_new_object();
        return v->claims ? 0 : -ENOMEM;
}

void verdict_done(Verdict *v) {
        for (size_t i = 0; i < v->n_checks; i++) {
                free(v->checks[i].name);
                free(v->checks[i].detail);
        }
        free(v->checks);
        for (size_t i = 0; i < v->n_reasons; i++)
                free(v->reasons[i]);
        free(v->reasons);
        json_object_put(v->claims);
        *v = (Verdict) {};
}

static void verdict_add_reason_owned(Verdict *v, char *s) {
        char **n;

        if (!s) {
                v->oom = true;
                return;
        }
        n = reallocarray(v->reasons, v->n_reasons + 1, sizeof(char *));
        if (!n) {
                free(s);
                v->oom = true;
                return;
        }
        v->reasons = n;
        v->reasons[v->n_reasons++] = s;
}

void verdict_reason(Verdict *v, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        verdict_add_reason_owned(v, strdup_vprintf(fmt, ap));
        va_end(ap);
}

void verdict_check(Verdict *v, const char *name, CheckStatus s, const char *fmt, ...) {
        _cleanup_free_ char *detail = NULL, *copy = NULL;
        Check *n;
        va_list ap;

        va_start(ap, fmt);
        detail = strdup_vprintf(fmt, ap);
        va_end(ap);
        copy = strdup(name);
        n = reallocarray(v->checks, v->n_checks + 1, sizeof(Check));
        if (!detail || !copy || !n) {
                if (n)
                        v->checks = n;
                v->oom = true;
                return;
        }
        v->checks = n;
        if (s == CHECK_FAIL)
                verdict_add_reason_owned(v, strdup_printf("%s: %s", name, detail));
        v->checks[v->n_checks++] = (Check) { .name = TAKE_PTR(copy), .status = s, .detail = TAKE_PTR(detail) };
}

void verdict_pass(VerdictRun *r, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *d = NULL;
        va_list ap;

        va_start(ap, fmt);
        d = strdup_vprintf(fmt, ap);
        va_end(ap);
        verdict_check(r->v, name, CHECK_PASS, "%s", d ? d : "");
}

void verdict_fail(VerdictRun *r, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *d = NULL;
        va_list ap;

        va_start(ap, fmt);
        d = strdup_vprintf(fmt, ap);
        va_end(ap);
        verdict_check(r->v, name, CHECK_FAIL, "%s", d ? d : "(out of memory)");
        r->ok = false;
}

bool verdict_has_failed_check(const Verdict *v) {
        for (size_t i = 0; i < v->n_checks; i++)
                if (v->checks[i].status == CHECK_FAIL)
                        return true;
        return v->oom;
}

const Check *verdict_find_check(const Verdict *v, const char *name) {
        for (size_t i = 0; i < v->n_checks; i++)
                if (streq(v->checks[i].name, name))
                        return &v->checks[i];
        return NULL;
}

json_object *verdict_to_json(const Verdict *v) {
        json_object *o = json_object_new_object(), *reasons = json_object_new_array(),
                    *checks = json_object_new_array();

        if (!o || !reasons || !checks)
                goto oom;
        /* an empty verdict (nothing was verified yet) has no TEE: null */
        json_object_object_add(o, "tee", v->tee ? json_object_new_string(v->tee) : NULL);
        json_object_object_add(o, "authentic", json_object_new_boolean(v->authentic && !v->oom));
        json_object_object_add(o, "accepted", json_object_new_boolean(v->accepted && !v->oom));
        for (size_t i = 0; i < v->n_reasons; i++)
                json_object_array_add(reasons, json_object_new_string(v->reasons[i]));
        if (v->oom)
                json_object_array_add(reasons, json_object_new_string("out of memory while verifying"));
        json_object_object_add(o, "reasons", reasons);
        for (size_t i = 0; i < v->n_checks; i++) {
                json_object *c = json_object_new_object();
                if (!c) {
                        json_object_put(o);
                        return NULL;
                }
                json_object_object_add(c, "name", json_object_new_string(v->checks[i].name));
                json_object_object_add(c, "result",
                                       json_object_new_string(v->checks[i].status == CHECK_PASS   ? "pass"
                                                              : v->checks[i].status == CHECK_FAIL ? "fail"
                                                                                                  : "skip"));
                json_object_object_add(c, "detail", json_object_new_string(v->checks[i].detail));
                json_object_array_add(checks, c);
        }
        json_object_object_add(o, "checks", checks);
        json_object_object_add(o, "claims", json_object_get(v->claims));
        return o;
oom:
        json_object_put(o);
        json_object_put(reasons);
        json_object_put(checks);
        return NULL;
}

static void print_claims(json_object *obj, const char *prefix, FILE *f) {
        json_object_object_foreach(obj, key, val) {
                if (json_object_is_type(val, json_type_object)) {
                        _cleanup_free_ char *p = strdup_printf("%s%s.", prefix, key);
                        if (p)
                                print_claims(val, p, f);
                } else
                        fprintf(f, "  %s%-*s %s\n", prefix, (int) (34 - strlen(prefix)), key,
                                json_object_is_type(val, json_type_null) ? "-"
                                                                         : json_object_get_string(val));
        }
}

void verdict_print(const Verdict *v, FILE *f) {
        fprintf(f, "Checks (%s):\n", v->tee);
        for (size_t i = 0; i < v->n_checks; i++)
                fprintf(f, "  [%-4s] %-28s %s\n", check_status_to_string(v->checks[i].status), v->checks[i].name,
                        v->checks[i].detail);
        fprintf(f, "\nAuthentic: %s\nAccepted:  %s\n", v->authentic && !v->oom ? "yes" : "no",
                v->accepted && !v->oom ? "yes" : "no");
        if (v->n_reasons > 0 || v->oom) {
                fprintf(f, "\nReasons:\n");
                for (size_t i = 0; i < v->n_reasons; i++)
                        fprintf(f, "  - %s\n", v->reasons[i]);
                if (v->oom)
                        fprintf(f, "  - out of memory while verifying\n");
        }
        if (v->claims && json_object_object_length(v->claims) > 0) {
                fprintf(f, "\nClaims:\n");
                print_claims(v->claims, "", f);
        }
}
