# shellcheck shell=bash
# Sourced by the integration scripts: searches output and logs for the bytes of a secret.
#
#   no_key_bytes KEYFILE FILE...   prints where the key's hex, base64 or any 8-byte raw window
#                                  occurs; returns 0 when none of FILE holds it, 1 when one does,
#                                  and 2 (loudly) when the key itself is missing or empty: an empty
#                                  needle matches every file and would hide the real cause.
no_key_bytes() {
        local key=$1 hex b64 f found=0
        shift
        if [ ! -s "$key" ]; then
                echo "no_key_bytes: the key file '$key' is missing or empty: nothing to search for" >&2
                return 2
        fi
        hex=$(od -An -tx1 -v "$key" | tr -d ' \n')
        b64=$(base64 -w0 "$key")
        if [ -z "$hex" ] || [ -z "$b64" ]; then
                echo "no_key_bytes: could not encode '$key' (od or base64 failed): nothing to search for" >&2
                return 2
        fi
        for f in "$@"; do
                [ -f "$f" ] || continue
                if grep -qiF -- "$hex" "$f" || grep -qF -- "$b64" "$f" || raw_window_in "$key" "$f"; then
                        echo "bytes of $key found in $f"
                        found=1
                fi
        done
        return "$found"
}

# Whether any 8-byte window of the key occurs in the file. Keys shorter than 8 bytes are searched
# for only as hex and base64: so short a raw needle occurs by chance.
raw_window_in() {
        python3 - "$1" "$2" <<'PY'
import sys
key = open(sys.argv[1], "rb").read()
data = open(sys.argv[2], "rb").read()
w = 8
sys.exit(0 if len(key) >= w and any(key[i:i + w] in data for i in range(len(key) - w + 1)) else 1)
PY
}
