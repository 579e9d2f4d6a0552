# Leavers through ismsctl: "staff deactivate HANDLE" and "staff import
# --deactivate-missing"; an inactive person runs no command, and the
# isms_managers get what the leaver still holds. Every change is one
# audit row per person (before and after) by the user running ismsctl;
# a handle twice in a file imports nothing; a rename keeps what the
# person holds.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"

printf '/incident Door left open\n' | console "$DB" frank
printf 'incident assign INC-1 @frank\naction add Fix the door owner=@frank due=2030-01-31\n' | console "$DB" carol

"$ISMSCTL" --db "$DB" staff deactivate frank >"$T/out" 2>&1 || { cat "$T/out"; fail "staff deactivate"; }
expect_in "$T/out" "frank deactivated: no more commands, nudges or quizzes. 2 open items to reassign:"
expect_in "$T/out" "INC-1 incident they handle: Door left open -> incident assign INC-1 @..."
[ "$(sql "$DB" "SELECT active FROM people WHERE handle = 'frank'")" = 0 ] || fail "frank still active"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE subject LIKE 'Leaver frank deactivated%'")" = 2 ] ||
	fail "the isms_managers were not told"
if printf 'incident list\n' | "$ISMSD" --console --db "$DB" --as frank >"$T/out" 2>&1; then
	fail "a leaver ran a command"
fi
# unknown or already inactive: refused, nothing changes
before=$(db_digest "$DB")
if "$ISMSCTL" --db "$DB" staff deactivate frank >"$T/out" 2>&1; then fail "deactivated twice"; fi
expect_in "$T/out" "no person @frank in the directory"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refusal changed the database"

# the CSV without ivan (and frank): ivan is deactivated by the import
grep -v '^ivan,\|^frank,' config/demo/staff.csv >"$T/staff.csv"
"$ISMSCTL" --db "$DB" staff import --deactivate-missing "$T/staff.csv" >"$T/out" 2>&1 || { cat "$T/out"; fail "import"; }
expect_in "$T/out" "ivan deactivated"
expect_in "$T/out" "1 deactivated"
[ "$(sql "$DB" "SELECT group_concat(handle) FROM (SELECT handle FROM people WHERE active = 0 ORDER BY handle) p")" = "frank,ivan" ] ||
	fail "inactive people: $(sql "$DB" "SELECT group_concat(handle) FROM people WHERE active = 0")"
ME="ismsctl:$(id -un)"
audit() { # the audit rows of an action as actor|object|details
	sql "$DB" "SELECT actor || '|' || object || '|' || details FROM audit_log WHERE action = '$1' ORDER BY seq"
}
audit staff.deactivate >"$T/deact"
expect_in "$T/deact" "$ME|frank|{\"after\":{\"active\":false},\"before\":{\"active\":true},\"name\":\"Frank Weber\",\"open_items\":2"
expect_in "$T/deact" "$ME|ivan|"
[ "$(audit staff.add | wc -l)" = 9 ] || fail "not one staff.add row per person of the first import"
audit staff.add | grep -q "^$ME|dana|{\"after\":{\"email\":\"dana@example.org\"," || fail "staff.add without what dana is"
# the second import changed nobody: no per-person rows
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'staff.update'")" = 0 ] || fail "rows for unchanged people"

# one changed person, one unchanged: one row, the changed fields only
sed -e 's/^carol,Carol Diaz,\([^,]*\),\([^,]*\),\([^,]*\),dana,security,/carol,Carol Diaz-Lund,\1,\2,\3,erik,security,/' \
	-e 's/^bob,\(.*\),manager;risk_owner$/bob,\1,manager;risk_owner;management/' "$T/staff.csv" >"$T/staff2.csv"
grep -q "^carol,Carol Diaz-Lund,.*,erik,security," "$T/staff2.csv" || fail "the test CSV was not edited"
"$ISMSCTL" --db "$DB" staff import "$T/staff2.csv" >"$T/out" 2>&1 || { cat "$T/out"; fail "import 2"; }
audit staff.update >"$T/upd"
[ "$(wc -l <"$T/upd")" = 2 ] || { cat "$T/upd"; fail "expected 2 staff.update rows"; }
expect_in "$T/upd" "$ME|carol|{\"after\":{\"manager\":\"erik\",\"name\":\"Carol Diaz-Lund\"},\"before\":{\"manager\":\"dana\",\"name\":\"Carol Diaz\"}}"
expect_in "$T/upd" "$ME|bob|{\"after\":{\"roles\":\"staff,manager,risk_owner,management\"},\"before\":{\"roles\":\"staff,manager,risk_owner\"}}"
"$ISMSCTL" --db "$DB" export audit-log --format csv >"$T/log.csv"
expect_in "$T/log.csv" "$ME,staff.update,carol,"

# a handle twice in one file: both lines named, nothing imported
before=$(db_digest "$DB")
{ cat "$T/staff2.csv"; echo "newbie,New Person,newbie@example.org,,,,eng,,"; grep '^bob,' "$T/staff2.csv" | sed 's/^bob,/BOB,/'; } >"$T/dup.csv"
bobline=$(grep -n '^bob,' "$T/dup.csv" | cut -d: -f1)
lines=$(wc -l <"$T/dup.csv")
if "$ISMSCTL" --db "$DB" staff import "$T/dup.csv" >"$T/out" 2>&1; then fail "a duplicate handle was imported"; fi
expect_in "$T/out" "line $lines: handle @BOB already on line $bobline"
expect_in "$T/out" "nothing was imported"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused import changed the database"

# rename: validated, unused, and what bob holds stays his
printf '/incident Badge reader broken\n' | console "$DB" bob
printf 'incident assign INC-2 @bob\n' | console "$DB" carol
printf 'risk add Laptop theft likelihood=3 impact=3 owner=@bob\n' | console "$DB" carol
expect_in "$T/out" "RSK-1"
bob_id=$(sql "$DB" "SELECT id FROM people WHERE handle = 'bob'")
before=$(db_digest "$DB")
for bad in "bob alice" "bob frank" "bob not/valid" "ghost bobby" "bob bob"; do
	# shellcheck disable=SC2086
	if "$ISMSCTL" --db "$DB" staff rename $bad >"$T/out" 2>&1; then fail "rename $bad accepted"; fi
done
"$ISMSCTL" --db "$DB" staff rename bob alice >"$T/out" 2>&1 || true
expect_in "$T/out" "the handle alice is already someone's"
"$ISMSCTL" --db "$DB" staff rename bob frank >"$T/out" 2>&1 || true
expect_in "$T/out" "the handle frank is already someone's (active or a leaver)"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused rename changed the database"
"$ISMSCTL" --db "$DB" staff rename @bob @robert >"$T/out" 2>&1 || { cat "$T/out"; fail "rename"; }
expect_in "$T/out" "bob is now robert: everything they hold stays theirs"
[ "$(sql "$DB" "SELECT id FROM people WHERE handle = 'robert'")" = "$bob_id" ] || fail "robert is not bob"
[ "$(sql "$DB" "SELECT COUNT(*) FROM people WHERE handle = 'bob'")" = 0 ] || fail "bob is still there"
[ "$(audit staff.rename)" = "$ME|robert|{\"after\":{\"handle\":\"robert\"},\"before\":{\"handle\":\"bob\"},\"via\":\"internal\"}" ] ||
	fail "rename audit row: $(audit staff.rename)"
printf 'risk show RSK-1\nincident show INC-2\n' | console "$DB" carol
expect_in "$T/out" "Owner: robert (Bob Martin)"
expect_in "$T/out" "Handler: robert."
expect_in "$T/out" "Reported by robert (Bob Martin)"
[ "$(sql "$DB" "SELECT owner_id FROM risks WHERE id = 1")" = "$bob_id" ] || fail "the risk is no longer his"
[ "$(sql "$DB" "SELECT handler_id FROM incidents WHERE id = 2")" = "$bob_id" ] || fail "the incident is no longer his"
printf 'incident list\n' | console "$DB" robert || fail "robert cannot run commands"
# the chat command, for an admin
printf 'staff rename @robert @rob\n' | console "$DB" dana
expect_in "$T/out" "robert is now rob"
printf 'staff rename @rob @bob2\n' | console "$DB" carol || true
[ "$(sql "$DB" "SELECT COUNT(*) FROM people WHERE handle = 'bob2'")" = 0 ] || fail "a non-admin renamed"
[ "$(sql "$DB" "SELECT actor FROM audit_log WHERE action = 'staff.rename' ORDER BY seq DESC LIMIT 1")" = dana ] ||
	fail "the chat rename is not dana's"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
