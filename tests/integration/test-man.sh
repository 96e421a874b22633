#!/bin/bash
# The manual and the program agree: every verb and subverb that `cvmctl --help` lists has a
# section in man/cvmctl.1 (a `.SS "cvmctl VERB ..."` heading naming each of its words), and every
# long option its `--help` prints is written in that section the way groff wants it (`\-\-json`,
# every '-' as '\-'). Then every man page renders with groff, all warnings on, without one.
# (groff's -w NAME enables warnings and -W NAME disables them, so `-Wall` would silence them;
# `-wall` leaves out undefined macros, strings and registers; `-ww` is every warning. Widths:
# groff's default, and 80 and 100 columns as man(1) may use.)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
CVMCTL="$BUILD/cvmctl"
MAN=man/cvmctl.1
. tests/lib/check.sh
CHECK_QUIET_OK=1
check_init man

[ -x "$CVMCTL" ] || give_up "$CVMCTL is not built"
[ -f "$MAN" ] || give_up "$MAN is missing"

# groff spells '-' as '\-' in the page source.
man_escape() { printf '%s' "$1" | sed 's/-/\\-/g'; }

# The text of the sections whose heading names every word of a command path ("key wrap"):
# from such a `.SS "cvmctl ..."` line to the next .SS or .SH.
sections_for() { # words...
        awk -v words="$*" '
                BEGIN { n = split(words, w, " ") }
                /^\.S[SH] / {
                        on = 0
                        if ($0 ~ /^\.SS "?cvmctl /) {
                                h = $0
                                gsub(/\\-/, "-", h)
                                gsub(/[^A-Za-z0-9-]+/, " ", h)
                                m = split(h, hw, " ")
                                on = 1
                                for (i = 1; i <= n; i++) {
                                        found = 0
                                        for (k = 1; k <= m; k++) if (hw[k] == w[i]) found = 1
                                        if (!found) on = 0
                                }
                        }
                }
                on { print }' "$MAN"
}

# --- (a) verbs, subverbs and their options
"$CVMCTL" --help > "$tmp/help" 2>&1 || bad "cvmctl --help exited $?"
# Top-level options: the usage line.
for opt in $(grep -m1 '^Usage:' "$tmp/help" | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
        if grep -qF -- "$(man_escape "$opt")" "$MAN"; then ok; else bad "$MAN lacks the option $opt of cvmctl"; fi
done

# The verb lines: "  verify snp|tdx|gpu EVIDENCE...   summary". A command path is the verb and
# the lower-case words after it (alternatives split on '|'), up to the first argument or option.
paths=()
while read -r line; do
        # the usage column ends where two spaces start the summary
        # shellcheck disable=SC2046
        set -- $(printf '%s\n' "$line" | sed -E 's/ {2,}.*$//')
        verb=$1
        shift
        paths+=("$verb")
        prefix=$verb
        while [ $# -gt 0 ] && [[ $1 =~ ^[a-z][a-z0-9|-]*$ ]]; do
                if [[ $1 == *"|"* ]]; then
                        IFS='|' read -ra alts <<< "$1"
                        for a in "${alts[@]}"; do paths+=("$prefix $a"); done
                        break
                fi
                prefix="$prefix $1"
                paths+=("$prefix")
                shift
        done
done < <(sed -n '/^Verbs:/,/^$/p' "$tmp/help" | grep -E '^  [a-z]')

[ "${#paths[@]}" -ge 8 ] && ok || bad "found only ${#paths[@]} commands in cvmctl --help: ${paths[*]}"

missing=()
for p in "${paths[@]}"; do
        # shellcheck disable=SC2086
        if ! "$CVMCTL" $p --help > "$tmp/vhelp" 2>&1; then
                bad "cvmctl $p --help exited non-zero"
                continue
        fi
        # shellcheck disable=SC2086
        sections_for $p > "$tmp/section"
        if [ ! -s "$tmp/section" ]; then
                missing+=("section for 'cvmctl $p'")
                continue
        fi
        ok
        for opt in $(grep -oE -- '--[a-z0-9][a-z0-9-]*' "$tmp/vhelp" | sort -u); do
                if grep -qF -- "$(man_escape "$opt")" "$tmp/section"; then
                        ok
                else
                        missing+=("$opt of 'cvmctl $p'")
                fi
        done
done
if [ "${#missing[@]}" -gt 0 ]; then
        bad "$MAN lacks ${#missing[@]} verb(s) or option(s) that --help prints:"
        printf '        %s\n' "${missing[@]}"
fi

# --- (b) every man page renders without a warning
if ! command -v groff > /dev/null; then
        give_up "groff is not installed (Debian package groff-base): cannot check the man pages"
fi
pages=(man/*.[0-9])
[ -f "${pages[0]}" ] && [ "${#pages[@]}" -ge 4 ] && ok || bad "expected at least 4 man pages in man/, found: ${pages[*]}"
for page in "${pages[@]}"; do
        [ -f "$page" ] || continue
        for width in "" -rLL=80n -rLL=100n; do
                # shellcheck disable=SC2086
                groff -man -ww $width -Tutf8 "$page" > "$tmp/out" 2> "$tmp/warn"
                rc=$?
                if [ "$rc" -ne 0 ] || [ -s "$tmp/warn" ]; then
                        bad "$page: groff -man -ww $width: exit $rc, warnings: $(head -5 "$tmp/warn")"
                elif [ ! -s "$tmp/out" ]; then
                        bad "$page renders to nothing"
                else
                        ok
                fi
        done
done

check_finish
