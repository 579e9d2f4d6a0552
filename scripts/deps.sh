#!/bin/sh
# Installs the Debian packages a target needs, only when something is
# missing; with --check it only names what is missing (exit 1).
# Usage: scripts/deps.sh build|test|bench [--check]
set -eu
need_build="pkg-config gcc make libsystemd-dev libcurl4-openssl-dev libwebsockets-dev libuv1-dev libjansson-dev libsqlite3-dev libpq-dev libesmtp-dev libssl-dev libarchive-dev libolm-dev libcmocka-dev tzdata"
need_test="chromium chromium-driver dovecot-imapd python3-aiosmtpd python3-cryptography opendkim opendkim-tools python3 openssl curl sqlite3 postgresql-15 valgrind clang libclang-rt-14-dev clang-format cppcheck mandoc systemd debhelper dpkg-dev fakeroot lintian adduser"
need_bench="wrk time"
case "${1:-build}" in
build) pkgs="$need_build" ;;
test) pkgs="$need_build $need_test" ;;
bench)
	pkgs="$need_build $need_test $need_bench"
	# a Node.js already on the PATH (with npm) serves the baseline
	command -v node >/dev/null && command -v npm >/dev/null ||
		pkgs="$pkgs nodejs npm"
	;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "${2:-}" = "--check" ]; then
	echo "missing packages:$missing" >&2
	echo "install them with: make deps (as root or with sudo)" >&2
	exit 1
fi
echo "installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
	command -v sudo >/dev/null || {
		echo "missing packages:$missing (run as root or install them)" >&2
		exit 1
	}
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
