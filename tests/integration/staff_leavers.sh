# Leavers through ismsctl: "staff deactivate HANDLE" and "staff import
# --deactivate-missing"; an inactive person runs no command, and the
# isms_managers get what the leaver still holds.
. tests/integration/lib.sh
DB=$T/isms.db
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
[ "$(sql "$DB" "SELECT group_concat(handle) FROM people WHERE NOT active ORDER BY handle")" = "frank,ivan" ] ||
	fail "inactive people: $(sql "$DB" "SELECT group_concat(handle) FROM people WHERE NOT active")"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
