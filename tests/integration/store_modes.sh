# The store's files are the owner's alone (0600) whatever the umask: the
# database, -wal, -shm, the lock, the audit key and backups, after init,
# while the daemon and the console write, and after a backup; with
# [store] group they are 0640 in that group; an unknown group, or one the
# process may not use, is refused.
. tests/integration/lib.sh
cd "$T"
W=$OLDPWD
umask 022
GROUP=$(id -gn)

# check_modes MODE FILE...: each file exists with MODE and, for 0640,
# the group
check_modes() {
	mode=$1
	shift
	for f in "$@"; do
		[ -e "$f" ] || fail "$f missing"
		got=$(stat -c %a "$f")
		[ "$got" = "$mode" ] || fail "$f is mode $got, expected $mode"
		if [ "$mode" = 640 ]; then
			[ "$(stat -c %G "$f")" = "$GROUP" ] || fail "$f is not in group $GROUP"
		fi
	done
}

# run MODE CONF DB BACKUP: init, the daemon and the console writing, a
# backup, each checked
run() {
	mode=$1 conf=$2 db=$3 bak=$4
	ISMSD_CONFIG=$conf "$ISMSCTL" init >/dev/null || fail "init"
	ISMSD_CONFIG=$conf "$ISMSCTL" staff import "$W/config/demo/staff.csv" >/dev/null || fail "import"
	check_modes "$mode" "$db" "$db.audit-key"
	"$ISMSD" -c "$conf" 2>"$db.err" &
	PID=$!
	PIDS="$PIDS $PID"
	wait_for test -s "$db.lock" || fail "no lock file"
	printf '/incident Tailgating at the side door\n' |
		"$ISMSD" --console -c "$conf" --as alice >out 2>err || { cat err; fail "console"; }
	check_modes "$mode" "$db" "$db-wal" "$db-shm" "$db.lock" "$db.audit-key"
	ISMSD_CONFIG=$conf "$ISMSCTL" backup "$bak" >/dev/null || fail "backup"
	check_modes "$mode" "$bak" "$bak.audit-key"
	kill -TERM $PID
	wait $PID || fail "ismsd did not stop cleanly"
}

printf '[store]\npath = %s/a.db\n[quiz]\nevery = off\n' "$T" >plain.conf
run 600 plain.conf a.db a-backup.db

# the same database given a group: every file follows on the next start
printf '[store]\npath = %s/a.db\ngroup = %s\n[quiz]\nevery = off\n' "$T" "$GROUP" >group.conf
run 640 group.conf a.db a-backup2.db
# and a database made with the group from the start
printf '[store]\npath = %s/g.db\ngroup = %s\n[quiz]\nevery = off\n' "$T" "$GROUP" >g.conf
run 640 g.conf g.db g-backup.db

# back to no group: the owner's alone again
"$ISMSCTL" -c plain.conf init >/dev/null || fail "init without group"
check_modes 600 a.db a.db.audit-key

# a group that does not exist: a clear error, exit 2, nothing made
printf '[store]\npath = %s/n.db\ngroup = no-such-group-isms\n' "$T" >bad.conf
set +e
"$ISMSCTL" -c bad.conf init >out 2>err
rc=$?
set -e
[ "$rc" = 2 ] || fail "init with an unknown group: exit $rc"
expect_in err 'store.group: no such group "no-such-group-isms"'
[ ! -e n.db ] || fail "a database was made with an unknown group"
set +e
"$ISMSD" -c bad.conf 2>err
rc=$?
set -e
[ "$rc" = 2 ] || fail "ismsd with an unknown group: exit $rc"
expect_in err "no such group"
# a group the process may not give files to (not a member): refused,
# nothing left behind
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod o+x "$T"
	mkdir np
	chmod 777 np
	printf '[store]\npath = %s/np/n.db\ngroup = daemon\n' "$T" >np/c.conf
	chmod 644 np/c.conf
	if setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$ISMSCTL" -c np/c.conf init >out 2>err; then
		fail "init gave files to a group the user is not in"
	fi
	expect_in err "np/n.db: cannot give it to group daemon (store.group): Operation not permitted"
	[ ! -e np/n.db ] || fail "a database was left behind"
fi
echo "store modes ok"
