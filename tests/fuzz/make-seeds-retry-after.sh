#!/bin/bash
# Regenerates the seed corpus of fuzz-retry-after: Retry-After values in each form RFC 9110
# allows (delay-seconds, IMF-fixdate, RFC 850, asctime) around the target's fixed now
# (2026-01-01T00:00:00Z), at the bounds, and malformed. Run from the repository root.
set -euo pipefail
d=tests/fuzz/corpus/retry-after
rm -rf "$d"
mkdir -p "$d"
seed() { printf '%s' "$2" > "$d/$1"; }
seed delay-seconds '120'
seed zero '0'
seed whitespace $' \t30\t'
seed huge-delay '99999999999999999999999999'
seed imf-fixdate 'Thu, 01 Jan 2026 00:02:00 GMT'
seed imf-fixdate-past 'Wed, 31 Dec 2025 23:00:00 GMT'
seed imf-fixdate-no-feb-29 'Sat, 29 Feb 2025 00:00:00 GMT'
seed imf-fixdate-leap-day 'Thu, 29 Feb 2024 00:00:00 GMT'
seed rfc850 'Thursday, 01-Jan-26 00:10:00 GMT'
seed rfc850-last-century 'Sunday, 06-Nov-94 08:49:37 GMT'
seed asctime 'Thu Jan  1 00:05:00 2026'
seed asctime-two-digit-day 'Thu Jan 15 00:05:00 2026'
seed far-future 'Fri, 31 Dec 9999 23:59:60 GMT'
seed negative '-5'
seed fraction '1.5'
seed bad-hour 'Thu, 01 Jan 2026 24:00:00 GMT'
seed not-gmt 'Thu, 01 Jan 2026 00:02:00 UTC'
seed empty ''
