# shellcheck shell=bash
# Sourced by the integration scripts: releaser keys and launch digests, computed here with the
# openssl CLI and sha384sum, independently of cvmd's own code (so that a test compares two
# implementations, not one with itself).
#
#   new_releaser_key FILE              32 random bytes, mode 0600: an X25519 private key
#   releaser_pub FILE                  its public key, 64 hex digits
#   bound_digest SPEC_HEX PUB_HEX      SHA-384("cvmd-launch-v2" || spec digest || public key), 96 hex
#   zero_spec                          the all-zero spec digest (96 hex zeros): attest-guest's default

new_releaser_key() {
        (umask 077 && head -c 32 /dev/urandom > "$1")
}

releaser_pub() {
        # a raw X25519 private key wrapped as PKCS#8 DER (RFC 8410), so that openssl reads it
        { printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x6e\x04\x22\x04\x20'; cat "$1"; } |
                openssl pkey -inform DER -pubout -outform DER | tail -c 32 | od -An -tx1 -v | tr -d ' \n'
}

bound_digest() {
        { printf 'cvmd-launch-v2'; printf '%s%s' "$1" "$2" | xxd -r -p; } | sha384sum | cut -d' ' -f1
}

zero_spec() {
        printf '0%.0s' $(seq 96)
}
