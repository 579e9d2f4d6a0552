# The Debian package: built from the tracked files (no build/), lintian
# finds no error, and installed it makes the ismsd user, /var/lib/ismsd
# (ismsd:ismsd 0750) and /etc/ismsd/ismsd.conf (a conffile, root:ismsd
# 0640) without enabling the service; the service user checks the
# configuration and makes a database. Removing keeps the data, purging
# deletes it. The machine is left as it was found: the test skips when
# the package, the user or its directories are already there.
. tests/integration/lib.sh
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: installing a package needs root"
	exit 0
fi
if dpkg-query -W isms-gateway >/dev/null 2>&1; then
	echo "SKIP: isms-gateway is already known to dpkg on this machine; not touching it"
	exit 0
fi
for p in /var/lib/ismsd /etc/ismsd; do
	if [ -e "$p" ]; then
		echo "SKIP: $p exists on this machine; not touching it"
		exit 0
	fi
done
if getent passwd ismsd >/dev/null || getent group ismsd >/dev/null; then
	echo "SKIP: a user or group ismsd exists on this machine; not touching it"
	exit 0
fi
for c in dpkg-buildpackage dh lintian fakeroot adduser runuser; do
	command -v $c >/dev/null || fail "$c is missing (scripts/deps.sh test)"
done
pkg_cleanup() {
	if dpkg-query -W isms-gateway >/dev/null 2>&1; then
		dpkg --purge isms-gateway >/dev/null 2>&1 || true
	fi
	if getent passwd ismsd >/dev/null; then userdel ismsd || true; fi
	if getent group ismsd >/dev/null; then groupdel ismsd || true; fi
	rm -rf /var/lib/ismsd /etc/ismsd
	cleanup
}
trap pkg_cleanup EXIT INT TERM
# the tracked files only, so the package never sees a local build
S=$T/src/isms-gateway
mkdir -p "$S"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$S"
[ ! -e "$S/build" ] || fail "build/ copied"
(cd "$S" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
	{ tail -60 "$T/build.log"; fail "dpkg-buildpackage"; }
deb=$(ls "$T"/src/isms-gateway_*.deb | grep -v dbgsym)
[ -f "$deb" ] || fail "no .deb"
echo "built $(basename "$deb")"
# built with sd_notify (Type=notify needs it)
dpkg-deb -f "$deb" Depends | grep -q libsystemd0 || fail "the package is built without libsystemd: $(dpkg-deb -f "$deb" Depends)"
lintian "$deb" >"$T/lintian" 2>&1 || true
cat "$T/lintian"
! grep -q '^E:' "$T/lintian" || fail "lintian reports errors"
dpkg -i "$deb" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -i"; }
[ "$(getent passwd ismsd | cut -d: -f6)" = /var/lib/ismsd ] || fail "ismsd's home"
[ "$(stat -c '%U:%G %a' /var/lib/ismsd)" = "ismsd:ismsd 750" ] || fail "/var/lib/ismsd: $(stat -c '%U:%G %a' /var/lib/ismsd)"
[ "$(stat -c '%U:%G %a' /etc/ismsd/ismsd.conf)" = "root:ismsd 640" ] || fail "ismsd.conf: $(stat -c '%U:%G %a' /etc/ismsd/ismsd.conf)"
dpkg-query -W -f='${Conffiles}\n' isms-gateway | grep -q ' /etc/ismsd/ismsd.conf ' || fail "ismsd.conf is not a conffile"
unit=$(dpkg -L isms-gateway | grep '/systemd/system/ismsd.service$')
expect_in "$unit" "ExecStart=/usr/sbin/ismsd -c /etc/ismsd/ismsd.conf"
for w in /etc/systemd/system/multi-user.target.wants/ismsd.service /etc/systemd/system/timers.target.wants/ismsd-backup.timer; do
	[ ! -e "$w" ] || fail "$w: the package enabled a unit"
done
[ -f /usr/share/man/man8/ismsd.8.gz ] && [ -f /usr/share/man/man5/ismsd.conf.5.gz ] || fail "manual pages"
/usr/sbin/ismsd --version | grep -qx "ismsd $(cat VERSION)" || fail "version: $(/usr/sbin/ismsd --version)"
runuser -u ismsd -- ismsd --check-config -c /etc/ismsd/ismsd.conf >"$T/out" 2>&1 || { cat "$T/out"; fail "check-config as ismsd"; }
expect_in "$T/out" "configuration OK"
(cd / && runuser -u ismsd -- ismsctl --db /var/lib/ismsd/test.db init) >"$T/out" 2>&1 || { cat "$T/out"; fail "ismsctl init as ismsd"; }
[ "$(stat -c %U /var/lib/ismsd/test.db)" = ismsd ] || fail "test.db owner"
(cd / && runuser -u ismsd -- ismsctl --db /var/lib/ismsd/test.db backup --dir /var/lib/ismsd) >"$T/out" 2>&1 || { cat "$T/out"; fail "backup as ismsd"; }
# remove keeps the data, purge deletes it
dpkg -r isms-gateway >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -r"; }
[ -f /var/lib/ismsd/test.db ] || fail "dpkg -r removed the data"
[ ! -e /usr/sbin/ismsd ] || fail "dpkg -r left the program"
dpkg --purge isms-gateway >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg --purge"; }
[ ! -e /var/lib/ismsd ] || fail "purge left /var/lib/ismsd"
[ ! -e /etc/ismsd/ismsd.conf ] || fail "purge left the configuration"
echo "deb package ok"
