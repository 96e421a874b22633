#!/bin/sh
# Installs what cvmd needs to build and test on Debian 12. Idempotent: does nothing when every
# package is already installed. Needs root only when something is missing.
#
#   tools/install-deps.sh            the packages below, then promtool (see install_promtool)
#   tools/install-deps.sh promtool   promtool only
set -eu

PACKAGES="build-essential pkg-config clang python3 xxd groff-base libssl-dev libcurl4-openssl-dev libjson-c-dev
libsystemd-dev libvirt-dev libxml2-dev libxml2-utils libxmlsec1-dev libsqlite3-dev
libmicrohttpd-dev libcmocka-dev jq openssl sqlite3 procps softhsm2 opensc libp11-kit-dev curl python3-jwt
python3-cryptography systemd dbus-daemon dbus-bin polkitd libcryptsetup-dev cryptsetup-bin keyutils"

# promtool checks the scraped /metrics (tests/integration/test-metrics.sh). It ships only in
# Debian's prometheus package, whose installation would start a Prometheus server; so the .deb
# is downloaded and only usr/bin/promtool is taken out of it, into PROMTOOL_DIR. Optional here
# (a non-root run just says so); the test fails without it.
PROMTOOL_DIR=/var/cache/cvmd-tools

install_promtool() {
        if command -v promtool >/dev/null 2>&1 || [ -x "$PROMTOOL_DIR/promtool" ]; then
                return 0
        fi
        if [ "$(id -u)" -ne 0 ]; then
                echo "install-deps: no promtool; run as root to put it at $PROMTOOL_DIR/promtool" >&2
                return 0
        fi
        tmp=$(mktemp -d)
        # shellcheck disable=SC2064
        trap "rm -rf '$tmp'" EXIT
        mkdir -p "$PROMTOOL_DIR"
        if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
                apt-get update -qq
                (cd "$tmp" && apt-get download -qq prometheus >/dev/null)
        fi
        deb=$(ls "$tmp"/prometheus_*.deb)
        dpkg-deb -x "$deb" "$tmp/root"
        install -m 0755 "$tmp/root/usr/bin/promtool" "$PROMTOOL_DIR/promtool.new"
        mv "$PROMTOOL_DIR/promtool.new" "$PROMTOOL_DIR/promtool"
        echo "install-deps: promtool at $PROMTOOL_DIR/promtool" >&2
}

if [ "${1:-}" = promtool ]; then
        install_promtool
        exit 0
fi

missing=""
for p in $PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
                missing="$missing $p"
        fi
done
if [ -z "$missing" ]; then
        install_promtool
        exit 0
fi

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
install_promtool
