# ismsctl backup --dir DIR --keep N: copies named after the database and
# the time, the audit key beside each; N + 2 backups leave the newest N
# (with their keys), each one verifies, and other files in DIR stay.
# Bad arguments change nothing.
. tests/integration/lib.sh
DB=$T/isms.db
new_db "$DB"
mkdir "$T/b"
echo keep me >"$T/b/notes.txt"
touch "$T/b/isms-old.db"
for i in 1 2 3 4 5; do
	"$ISMSCTL" --db "$DB" backup --dir "$T/b" --keep 3 >"$T/out$i" || fail "backup $i"
	expect_in "$T/out$i" "backup written to $T/b/isms-"
done
ls "$T/b" >"$T/ls"
[ "$(grep -c '^isms-[0-9]\{8\}T[0-9]\{6\}Z\(-[0-9]*\)\?\.db$' "$T/ls")" = 3 ] || { cat "$T/ls"; fail "expected 3 copies"; }
[ "$(grep -c '\.db\.audit-key$' "$T/ls")" = 3 ] || { cat "$T/ls"; fail "expected 3 keys"; }
expect_in "$T/ls" notes.txt
expect_in "$T/ls" isms-old.db
# the newest three are the ones left: those written by runs 3, 4 and 5
for i in 3 4 5; do
	f=$(sed -n 's/^backup written to //p' "$T/out$i")
	[ -f "$f" ] || fail "copy of run $i removed"
	[ "$(stat -c %a "$f")" = 600 ] || fail "copy mode"
	"$ISMSCTL" --db "$f" audit verify >"$T/v" || { cat "$T/v"; fail "copy $i does not verify"; }
done
for i in 1 2; do
	f=$(sed -n 's/^backup written to //p' "$T/out$i")
	[ ! -e "$f" ] && [ ! -e "$f.audit-key" ] || fail "copy of run $i kept"
done
expect_in "$T/out4" "removed $(sed -n 's/^backup written to //p' "$T/out1")"
# a copy made in a second that already has copies takes the number after
# the highest there, even when a lower one was pruned (here copy 1 of
# each coming second is gone and copy 2 stays): it sorts after them all,
# so the newest is never the one pruned. Copies of the next 30 seconds
# are laid out first, so the test does not depend on how fast it runs.
mkdir "$T/fast"
now=$(date -u +%s)
for k in $(seq 0 30); do
	: >"$T/fast/isms-$(date -u -d "@$((now + k))" +%Y%m%dT%H%M%SZ)-2.db"
done
"$ISMSCTL" --db "$DB" backup --dir "$T/fast" --keep 100 >"$T/fast1" || fail "fast backup"
f=$(sed -n 's/^backup written to //p' "$T/fast1")
s1=$(echo "$f" | sed -n 's/.*isms-\([0-9T]*Z\)-3\.db$/\1/p')
[ -n "$s1" ] || fail "the copy took a freed number: $f"
[ -f "$T/fast/isms-$s1-2.db" ] || fail "copy 2 of its second is gone"
"$ISMSCTL" --db "$f" audit verify >/dev/null || fail "the numbered copy does not verify"
# the default keeps 14
for i in 1 2 3; do "$ISMSCTL" --db "$DB" backup --dir "$T/b" >/dev/null || fail "default keep"; done
[ "$(ls "$T/b" | grep -c 'Z\(-[0-9]*\)\?\.db$')" = 6 ] || fail "default keep removed copies"
# the FILE form stays
"$ISMSCTL" --db "$DB" backup "$T/one.db" >"$T/out" || fail "backup FILE"
[ -f "$T/one.db" ] && [ -f "$T/one.db.audit-key" ] || fail "backup FILE copy"
ls "$T/b" >"$T/before"
for args in "--dir $T/b --keep 0" "--dir $T/b --keep x" "--keep 3 $T/two.db" "--dir $T/missing" "--dir $T/b $T/two.db" "--dir"; do
	rc=0
	# shellcheck disable=SC2086
	"$ISMSCTL" --db "$DB" backup $args >"$T/out" 2>&1 || rc=$?
	[ $rc = 2 ] || { cat "$T/out"; fail "backup $args: exit $rc"; }
done
ls "$T/b" | diff "$T/before" - || fail "a refused backup changed the directory"
[ ! -e "$T/two.db" ] || fail "a refused backup wrote a file"
echo "backup retention ok"
