#!/bin/sh
# Installs what cvmd needs to build and test on Debian 12. Idempotent: does nothing when every
# package is already installed. Needs root only when something is missing.
set -eu

PACKAGES="build-essential pkg-config clang python3 xxd groff-base libssl-dev libcurl4-openssl-dev libjson-c-dev
libsystemd-dev libvirt-dev libxml2-dev libxml2-utils libxmlsec1-dev libsqlite3-dev
libmicrohttpd-dev libcmocka-dev jq openssl softhsm2 opensc libp11-kit-dev"

missing=""
for p in $PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
                missing="$missing $p"
        fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing Debian packages:$missing" >&2
        echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
        exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
