/* SPDX-License-Identifier: Apache-2.0 */
/* The named policies of the policies directory. A reload builds a whole new set beside the one
 * in force and swaps only when every file loaded: a broken file can never leave half a set (or
 * none) behind, and launches that hold the old set keep a consistent view of it. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/policy-set.h"
#include "cvm/util.h"

typedef struct PolicySetEntry {
        Policy *policy; /* policy->name is the key */
        char *path;
} PolicySetEntry;

struct PolicySet {
        unsigned n_ref;
        uint64_t generation;
        char *directory;
        PolicySetEntry *entries; /* sorted by name */
        size_t n_entries;
};

static PolicySet *policy_set_free(PolicySet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++) {
                policy_free(s->entries[i].policy);
                free(s->entries[i].path);
        }
        free(s->entries);
        free(s->directory);
        free(s);
        return NULL;
}
DEFINE_CLEANUP(PolicySet *, policy_set_free)

PolicySet *policy_set_ref(PolicySet *s) {
        if (s)
                (void) __atomic_add_fetch(&s->n_ref, 1, __ATOMIC_RELAXED);
        return s;
}

PolicySet *policy_set_unref(PolicySet *s) {
        if (s && __atomic_sub_fetch(&s->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
                policy_set_free(s);
        return NULL;
}

static bool is_policy_name(const char *name) {
        size_t len = strlen(name);

        return name[0] != '.' && len > 5 && streq(name + len - 5, ".json");
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int compare_entries(const void *a, const void *b) {
        return strcmp(((const PolicySetEntry *) a)->policy->name, ((const PolicySetEntry *) b)->policy->name);
}

static void names_free(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* The "*.json" names in dir, in byte order, so that errors come out the same way every time. */
static int list_policy_files(const char *dir, char ***ret, size_t *ret_n, char **ret_reason) {
        DIR *d;
        struct dirent *de;
        char **names = NULL;
        size_t n = 0;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return set_reason(ret_reason, -errno, "%s: cannot open: %s", dir, strerror(errno));
        while ((errno = 0, de = readdir(d))) {
                char **l;

                if (!is_policy_name(de->d_name))
                        continue;
                if (n >= POLICY_SET_FILES_MAX) {
                        r = set_reason(ret_reason, -E2BIG, "%s: more than %u policy files", dir, POLICY_SET_FILES_MAX);
                        break;
                }
                l = reallocarray(names, n + 1, sizeof(char *));
                if (!l) {
                        r = -ENOMEM;
                        break;
                }
                names = l;
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        if (r == 0 && errno != 0)
                r = set_reason(ret_reason, -errno, "%s: cannot read: %s", dir, strerror(errno));
        closedir(d);
        if (r < 0) {
                names_free(names, n);
                return r;
        }
        if (n > 0)
                qsort(names, n, sizeof(char *), compare_strings);
        *ret = names;
        *ret_n = n;
        return 0;
}

/* Checked before policy_load() opens it: opening a FIFO would block the daemon's loop. */
static int load_entry(const char *path, PolicySetEntry *ret, char **ret_reason) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *copy = NULL;
        struct stat st;
        int r;

        if (stat(path, &st) < 0)
                return set_reason(ret_reason, -errno, "%s: cannot stat: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return set_reason(ret_reason, -EBADFD, "%s: not a regular file", path);
        r = policy_load(path, &p, ret_reason);
        if (r < 0)
                return r;
        if (!p->name)
                return set_reason(ret_reason, -EINVAL, "%s: the policy has no \"name\"", path);
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        *ret = (PolicySetEntry){.policy = TAKE_PTR(p), .path = TAKE_PTR(copy)};
        return 0;
}

static int check_duplicates(const PolicySet *s, char **ret_reason) {
        for (size_t i = 1; i < s->n_entries; i++) {
                const PolicySetEntry *a = &s->entries[i - 1], *b = &s->entries[i];

                if (streq(a->policy->name, b->policy->name)) {
                        /* Name the files in directory order, whatever order the sort left them in. */
                        if (strcmp(a->path, b->path) > 0) {
                                const PolicySetEntry *t = a;
                                a = b;
                                b = t;
                        }
                        return set_reason(ret_reason, -EEXIST, "%s and %s both name the policy \"%s\"", a->path,
                                          b->path, a->policy->name);
                }
        }
        return 0;
}

static int policy_set_fill(PolicySet *s, char **names, size_t n, char **ret_reason) {
        int r;

        if (n == 0)
                return 0;
        s->entries = calloc(n, sizeof(PolicySetEntry));
        if (!s->entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = strdup_printf("%s/%s", s->directory, names[i]);

                if (!path)
                        return -ENOMEM;
                r = load_entry(path, &s->entries[s->n_entries], ret_reason);
                if (r < 0)
                        return r;
                s->n_entries++;
        }
        qsort(s->entries, s->n_entries, sizeof(PolicySetEntry), compare_entries);
        return check_duplicates(s, ret_reason);
}

int policy_set_load(const char *dir, PolicySet **ret, char **ret_reason) {
        _cleanup_(policy_set_freep) PolicySet *s = NULL;
        _cleanup_free_ char *reason = NULL;
        char **names = NULL;
        size_t n = 0, len;
        int r;

        if (!dir || !*dir || !ret)
                return -EINVAL;
        s = calloc(1, sizeof(PolicySet));
        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        s->generation = 1;
        s->directory = strdup(dir);
        if (!s->directory)
                return -ENOMEM;
        len = strlen(s->directory);
        while (len > 1 && s->directory[len - 1] == '/')
                s->directory[--len] = 0;

        r = list_policy_files(s->directory, &names, &n, &reason);
        if (r >= 0) {
                r = policy_set_fill(s, names, n, &reason);
                names_free(names, n);
        }
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = TAKE_PTR(reason);
                return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int policy_set_reload(PolicySet **current, const char *dir, char **ret_reason) {
        PolicySet *s = NULL;
        int r;

        if (!current)
                return -EINVAL;
        r = policy_set_load(dir, &s, ret_reason);
        if (r < 0)
                return r;
        if (*current)
                s->generation = (*current)->generation + 1;
        policy_set_unref(*current);
        *current = s;
        return 0;
}

static const PolicySetEntry *policy_set_lookup(const PolicySet *s, const char *name) {
        size_t lo = 0, hi;

        if (!s || !name)
                return NULL;
        hi = s->n_entries;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(name, s->entries[mid].policy->name);

                if (c == 0)
                        return &s->entries[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

const Policy *policy_set_find(const PolicySet *s, const char *name) {
        const PolicySetEntry *e = policy_set_lookup(s, name);

        return e ? e->policy : NULL;
}

const char *policy_set_path(const PolicySet *s, const char *name) {
        const PolicySetEntry *e = policy_set_lookup(s, name);

        return e ? e->path : NULL;
}

size_t policy_set_size(const PolicySet *s) {
        return s ? s->n_entries : 0;
}

const Policy *policy_set_get(const PolicySet *s, size_t i) {
        return s && i < s->n_entries ? s->entries[i].policy : NULL;
}

uint64_t policy_set_generation(const PolicySet *s) {
        return s ? s->generation : 0;
}

const char *policy_set_directory(const PolicySet *s) {
        return s ? s->directory : NULL;
}
