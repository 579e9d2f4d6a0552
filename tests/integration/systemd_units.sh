# The systemd units: systemd-analyze verify finds nothing to say about them
# as installed, and the services' exposure (systemd-analyze security
# --offline) is at most 2.0.
. tests/integration/lib.sh
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: systemd-analyze is not installed (package systemd)"
	exit 0
fi
case $ISMS_BIN in
*/build/san) MK="SAN=1" ;;
*/build/fuzz) MK="FUZZ=1" ;;
*) MK="BUILD=$ISMS_BIN" ;;
esac
# installed for real under $T, so that ExecStart names existing programs
P=$T/prefix
make --no-print-directory -s $MK install PREFIX="$P" >"$T/make.log" 2>&1 || { cat "$T/make.log"; fail "make install"; }
U=$P/lib/systemd/system
systemd-analyze verify --man=no "$U/ismsd.service" "$U/ismsd-backup.service" "$U/ismsd-backup.timer" >"$T/verify" 2>&1 ||
	{ cat "$T/verify"; fail "systemd-analyze verify"; }
[ ! -s "$T/verify" ] || { cat "$T/verify"; fail "systemd-analyze verify has warnings"; }
for unit in ismsd.service ismsd-backup.service; do
	systemd-analyze security --offline=yes "$U/$unit" >"$T/sec" 2>&1 || { cat "$T/sec"; fail "security $unit"; }
	level=$(sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p" "$T/sec")
	[ -n "$level" ] || { cat "$T/sec"; fail "no exposure level for $unit"; }
	awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || { cat "$T/sec"; fail "$unit exposure $level above 2.0"; }
	echo "$unit: exposure $level"
done
expect_in "$U/ismsd.service" "Type=notify"
expect_in "$U/ismsd.service" "WatchdogSec="
expect_in "$U/ismsd.service" 'ExecReload=/bin/kill -HUP $MAINPID'
expect_in "$U/ismsd-backup.timer" "OnCalendar=daily"
# a broken unit is caught (the check is not vacuous)
sed 's/^ExecStart=.*/ExecStart=relative-program/' "$U/ismsd.service" >"$T/broken.service"
if systemd-analyze verify --man=no "$T/broken.service" >"$T/verify" 2>&1 && [ ! -s "$T/verify" ]; then
	fail "verify accepted a relative ExecStart"
fi
echo "systemd units ok"
