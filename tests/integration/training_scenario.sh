#!/bin/sh
# Training and competence through ismsd --console: a manager records the
# courses of their team, people see what they may, refusals change
# nothing, the scheduler nudges whoever misses a required course (once),
# the report counts them, the export lists the records (awareness quizzes
# too) and the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"
printf '[store]\n%s\n' "$(store_conf "$DB")" >"$T/ismsd.conf"
cat >>"$T/ismsd.conf" <<'CONF'
[training]
required = staff: Security basics; isms_manager: Lead implementer
[quiz]
questions = 1
CONF
ISMSD_CONFIG=$T/ismsd.conf
export ISMSD_CONFIG

# 1. bob records his team's training; carol an isms_manager's
printf '%s\n' 'help training' \
	'training record @alice Security basics date=2026-11-01 expires=2030-06-30' \
	'training record frank Security basics date=2026-11-02' \
	'training list' | console "$DB" bob
expect_in "$T/out" "/isms training record @handle <course> date=YYYY-MM-DD [expires=YYYY-MM-DD]"
expect_in "$T/out" "Training TRN-1 recorded: alice completed Security basics on 2026-11-01, valid until 2030-06-30."
expect_in "$T/out" "-> alice: Your training is on record: TRN-1 Security basics, completed 2026-11-01, valid until 2030-06-30"
expect_in "$T/out" "TRN-2 frank: Security basics, completed 2026-11-02"
printf '%s\n' 'training record @erik Lead implementer date=2026-10-01' \
	'training record @erik Security basics date=2026-10-01' | console "$DB" carol
expect_in "$T/out" "Training TRN-3 recorded: erik completed Lead implementer on 2026-10-01."
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'training.record'")" = 4 ] || fail "audit rows"

# 2. refusals change nothing
before=$(db_digest "$DB")
printf '%s\n' 'training record @alice Security basics date=2026-11-01' \
	'training record @bob Security basics date=2099-01-01' \
	'training record @ivan Security basics date=yesterday' \
	'training list @frank' | console "$DB" alice
expect_in "$T/out" "error: not allowed: only alice's manager or an isms_manager may record their training"
expect_in "$T/out" "error: not allowed: only bob's manager or an isms_manager may record their training"
expect_in "$T/out" "error: not allowed: frank (training records are visible to the person, their manager, isms_managers and auditors)"
printf '%s\n' 'training record @bob Security basics date=2099-01-01' \
	'training record @bob Security basics date=2026-01-01 expires=2026-02-01' \
	'training record @bob Security basics date=2026-11-01 level=expert' | console "$DB" carol
expect_in "$T/out" "error: date=2099-01-01 is in the future"
expect_in "$T/out" "error: expires=2026-02-01 is in the past"
printf '%s\n' 'training record @alice X date=2026-11-01' 'training list' | console "$DB" grace
expect_in "$T/out" "error: not allowed"
expect_in "$T/out" "TRN-3 erik: Lead implementer"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 3. what each sees
printf 'training list\ntraining list overdue\n' | console "$DB" alice
expect_in "$T/out" "TRN-1 alice: Security basics"
expect_not_in "$T/out" "frank"
expect_in "$T/out" "Nobody you may see is missing a required course."
printf 'training list overdue\n' | console "$DB" erik
expect_in "$T/out" "bob (staff): Security basics (none on record)"
expect_in "$T/out" "carol (isms_manager): Lead implementer (none on record)"
expect_not_in "$T/out" "erik ("

# 4. the scheduler after alice's course expired: nudges once per
# person and course, in their working hours
"$ISMSCTL" --db "$DB" run-scheduler --now "2030-07-01 14:00" >"$T/pass" || { cat "$T/pass"; fail "run-scheduler"; }
expect_in "$T/pass" "training-due:"
expect_in "$T/pass" "-> alice: Training due: Security basics (yours expired 2030-06-30)"
expect_in "$T/pass" "-> bob: Training due: Security basics"
n=$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'training.due'")
[ "$n" -ge 8 ] || fail "training nudges: $n"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges n JOIN people p ON p.id = n.person_id WHERE n.kind = 'training.due' AND p.handle = 'erik'")" = 0 ] || fail "erik has both"
"$ISMSCTL" --db "$DB" run-scheduler --now "2030-07-01 14:30" >"$T/pass2"
expect_not_in "$T/pass2" "training-due"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'training.due'")" = "$n" ] || fail "nudged twice"

# 5. the pass also started an awareness quiz: frank's completion is a
# record; then the report and the export
expect_in "$T/pass" "-> frank: Security quiz QZ-1: question 1 of 1"
printf '1\ntraining list\n' | console "$DB" frank
expect_in "$T/out" "That was the last question of QZ-1"
today=$(date -u +%F)
expect_in "$T/out" "QZ-1 frank: Awareness quiz, completed $today"
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "Training overdue: 6 of 9 people missing a required course (training list overdue)."
"$ISMSCTL" --db "$DB" export training --format csv >"$T/training.csv"
expect_in "$T/training.csv" "id,person,course,completed,expires,recorded_by"
expect_in "$T/training.csv" "TRN-1,alice,Security basics,2026-11-01,2030-06-30,bob"
expect_in "$T/training.csv" "QZ-1,frank,Awareness quiz,$today,"
"$ISMSCTL" --db "$DB" export training --format json >"$T/training.json"
$PY -c "
import json
rows = json.load(open('$T/training.json'))
assert len(rows) == 5, rows
assert {r['id'] for r in rows} == {'TRN-1', 'TRN-2', 'TRN-3', 'TRN-4', 'QZ-1'}
" || fail "training export json"
"$ISMSCTL" --db "$DB" export training --format md >"$T/training.md"
expect_in "$T/training.md" "| TRN-3 | erik | Lead implementer | 2026-10-01 |  | carol |"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify"; }
expect_in "$T/v" "audit log intact"
expect_in "$T/v" "records intact"
echo "training scenario ok"
