# make install: PREFIX=/usr with DESTDIR gives a tree whose ismsd runs
# --version and --check-config on the installed configuration and whose
# ismsctl makes a database; the units name the installed paths; an edited
# ismsd.conf survives a second install and make uninstall; PREFIX=/usr/local
# keeps everything under it.
. tests/integration/lib.sh
case $ISMS_BIN in
*/build/san) MK="SAN=1" ;;
*/build/fuzz) MK="FUZZ=1" ;;
*) MK="BUILD=$ISMS_BIN" ;;
esac
mk() { make --no-print-directory -s $MK "$@" >"$T/make.log" 2>&1 || { cat "$T/make.log"; fail "make $*"; }; }
R=$T/root
mk install DESTDIR="$R" PREFIX=/usr
unitdir=$(dirname "$(find "$R" -name ismsd.service)")
case $unitdir in
"$R"/lib/systemd/system | "$R"/usr/lib/systemd/system) ;;
*) fail "units in $unitdir" ;;
esac
for f in usr/sbin/ismsd usr/bin/ismsctl; do
	[ "$(stat -c %a "$R/$f")" = 755 ] || fail "$f mode"
done
for f in etc/ismsd/ismsd.conf.example usr/share/man/man8/ismsd.8 usr/share/man/man8/ismsctl.8 \
	usr/share/man/man5/ismsd.conf.5 usr/share/doc/isms-gateway/README.md usr/share/doc/isms-gateway/slack.md; do
	[ "$(stat -c %a "$R/$f")" = 644 ] || fail "$f missing or its mode"
done
[ "$(stat -c %a "$R/etc/ismsd/ismsd.conf")" = 640 ] || fail "ismsd.conf mode"
cmp -s config/ismsd.conf.example "$R/etc/ismsd/ismsd.conf.example" || fail "example differs"
expect_in "$R/etc/ismsd/ismsd.conf" "path = /var/lib/ismsd/isms.db"
expect_in "$unitdir/ismsd.service" "ExecStart=/usr/sbin/ismsd -c /etc/ismsd/ismsd.conf"
expect_in "$unitdir/ismsd-backup.service" "ExecStart=/usr/bin/ismsctl -c /etc/ismsd/ismsd.conf backup --dir /var/lib/ismsd/backups --keep 14"
! grep -q "@[a-z]*@" "$unitdir"/ismsd*.* || fail "a unit has an unsubstituted @name@"
# the installed programs work
"$R/usr/sbin/ismsd" --version >"$T/out" || fail "ismsd --version"
[ "$(cat "$T/out")" = "ismsd $(scripts/version.sh)" ] || fail "version $(cat "$T/out"), expected $(scripts/version.sh)"
"$R/usr/bin/ismsctl" --version | grep -qx "ismsctl $(scripts/version.sh)" || fail "ismsctl --version"
for c in ismsd.conf.example ismsd.conf; do
	"$R/usr/sbin/ismsd" --check-config -c "$R/etc/ismsd/$c" >"$T/out" || { cat "$T/out"; fail "check-config $c"; }
	expect_in "$T/out" "configuration OK"
done
"$R/usr/bin/ismsctl" --db "$T/isms.db" init >"$T/out" || fail "ismsctl init"
expect_in "$T/out" "database $T/isms.db ready"
"$R/usr/bin/ismsctl" --db "$T/isms.db" audit verify >"$T/out" || fail "verify"
# again: nothing is compiled, an edited configuration stays
echo "# edited" >>"$R/etc/ismsd/ismsd.conf"
mk install DESTDIR="$R" PREFIX=/usr
expect_not_in "$T/make.log" "  CC "
expect_in "$R/etc/ismsd/ismsd.conf" "# edited"
# uninstall leaves the configuration only
mk uninstall DESTDIR="$R" PREFIX=/usr
find "$R" -type f >"$T/left"
[ "$(cat "$T/left")" = "$R/etc/ismsd/ismsd.conf" ] || { cat "$T/left"; fail "uninstall left files"; }
# PREFIX=/usr/local: everything below it, the configuration in PREFIX/etc
L=$T/local
mk install DESTDIR="$L" PREFIX=/usr/local sbindir=/usr/local/libexec/isms
find "$L" -type f | sed "s|^$L/||" | grep -v '^usr/local/' >"$T/out" || true
[ ! -s "$T/out" ] || { cat "$T/out"; fail "PREFIX=/usr/local installed outside it"; }
expect_in "$L/usr/local/lib/systemd/system/ismsd.service" "ExecStart=/usr/local/libexec/isms/ismsd -c /usr/local/etc/ismsd/ismsd.conf"
[ -x "$L/usr/local/libexec/isms/ismsd" ] || fail "sbindir"
# a package build (no .git) takes VERSION: it matches debian/changelog
[ "$(cat VERSION)" = "$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog | sed 's/-[^-]*$//')" ] ||
	fail "VERSION and debian/changelog disagree"
echo "install ok"
