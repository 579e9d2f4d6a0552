# Obligations through ismsd --console: an isms_manager registers a law
# and a contract (bad input refused, nothing changed), the owner is told
# and nudged ahead of the review and once it is overdue, records the
# review, an auditor reads and exports them, the report names the overdue
# one, and the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"

# "YYYY-MM-DD 10:00" of the first working day (Mon-Fri) at least $1 days
# after today: when the scheduler is run, whatever day the test runs on
weekday_after() {
	d=$1
	while [ "$(date -u -d "@$(($(date +%s) + d * 86400))" +%u)" -gt 5 ]; do
		d=$((d + 1))
	done
	date -u -d "@$(($(date +%s) + d * 86400))" "+%Y-%m-%d 10:00"
}
count_nudges() {
	sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'obligation.review'"
}

# 1. refusals change nothing
before=$(db_digest "$DB")
printf '%s\n' \
	'obligation add NDA source=promise ref=x owner=@bob' \
	'obligation add NDA source=contract ref=x owner=@grace' \
	'obligation add NDA source=contract ref=x owner=@bob controls=5.31,9.99' \
	'obligation add NDA source=contract ref=x owner=@bob review_every=sometimes' \
	'obligation add NDA source=contract ref=x' | console "$DB" carol
expect_in "$T/out" "error: source= must be law, regulation, contract or standard"
expect_in "$T/out" "error: not allowed: grace is an auditor and cannot be made an owner"
expect_in "$T/out" "error: no Annex A control \"9.99\""
expect_in "$T/out" "error: review_every= must be a period like 12m"
expect_in "$T/out" "error: missing owner="
printf 'obligation add NDA source=contract ref=x owner=@bob\n' | console "$DB" bob
expect_in "$T/out" "error: not allowed: obligation add needs the isms_manager role"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 2. add: the owner is told
printf '%s\n' \
	'obligation add GDPR source=law ref="Regulation (EU) 2016/679" controls=5.31,A.5.34 owner=@bob' \
	'obligation add "Customer MSA" source=contract ref="MSA 2026 s.12" owner=@heidi review_every=2w' \
	'party add Customers needs="Their data kept confidential" obligations=OBL-2' \
	'obligation list' | console "$DB" carol
expect_in "$T/out" "Obligation OBL-1 added: GDPR (law, Regulation (EU) 2016/679), owner bob, reviewed every 12m"
expect_in "$T/out" "; controls 5.31, 5.34."
expect_in "$T/out" "-> bob: You own obligation OBL-1: GDPR"
expect_in "$T/out" "-> heidi: You own obligation OBL-2: Customer MSA"
DUE=$(sql "$DB" "SELECT date(next_review_at, 'unixepoch') FROM obligations WHERE id = 2")
expect_in "$T/out" "OBL-2 [contract] Customer MSA (ref MSA 2026 s.12; owner heidi; reviewed every 2w, next $DUE)"

# 3. nudges: once ahead of the date, then from the date on
"$ISMSCTL" --db "$DB" run-scheduler --now "$(weekday_after 1)" >"$T/pass" || { cat "$T/pass"; fail "pass 1"; }
[ "$(count_nudges)" = 1 ] || fail "no announcement of the review"
[ "$(sql "$DB" "SELECT p.handle || ': ' || o.subject FROM outbox o JOIN people p ON p.id = o.person_id WHERE o.subject LIKE 'Obligation review%'")" = "heidi: Obligation review due on $DUE: OBL-2 Customer MSA" ] || fail "announcement"
"$ISMSCTL" --db "$DB" run-scheduler --now "$(weekday_after 2)" >"$T/pass"
[ "$(count_nudges)" = 1 ] || fail "announced twice"
"$ISMSCTL" --db "$DB" run-scheduler --now "$(weekday_after 15)" >"$T/pass"
[ "$(count_nudges)" = 2 ] || fail "no overdue nudge"
expect_in "$T/pass" "heidi: Obligation review overdue (due $DUE): OBL-2 Customer MSA"

# 4. the report counts it; the owner records the review
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "Obligations: 2 registered, 1 due for review in the next 30 days"
printf '%s\n' 'obligation reviewed OBL-1' 'obligation reviewed obl-2 Clauses unchanged' 'obligation show OBL-2' | console "$DB" heidi
expect_in "$T/out" "error: not allowed: only the owner of OBL-1 or an isms_manager may change it"
expect_in "$T/out" "OBL-2 reviewed; next review"
expect_in "$T/out" "Last reviewed: $(date -u +%Y-%m-%d) by heidi: Clauses unchanged."
expect_in "$T/out" "Parties: PTY-1 Customers"
[ "$(sql "$DB" "SELECT COUNT(*) FROM obligation_reviews")" = 1 ] || fail "review row"

# 5. the auditor reads and exports, and changes nothing
before=$(db_digest "$DB")
printf '%s\n' 'obligation list' 'obligation show OBL-1' 'obligation reviewed OBL-1' \
	'obligation add X source=law ref=y owner=@bob' | console "$DB" grace
expect_in "$T/out" "OBL-1 [law] GDPR (ref Regulation (EU) 2016/679; owner bob;"
[ "$(grep -c '^error: not allowed' "$T/out")" = 2 ] || { cat "$T/out"; fail "auditor refusals"; }
[ "$(db_digest "$DB")" = "$before" ] || fail "an auditor changed the database"
"$ISMSCTL" --db "$DB" export obligations --format csv >"$T/obl.csv"
expect_in "$T/obl.csv" "id,title,source,ref,owner,controls,parties,review_every,last_review,next_review,created"
expect_in "$T/obl.csv" "OBL-1,GDPR,law,Regulation (EU) 2016/679,bob,5.31 5.34,,12m,,"
expect_in "$T/obl.csv" "OBL-2,Customer MSA,contract,MSA 2026 s.12,heidi,,PTY-1,2w,$(date -u +%Y-%m-%d),"
"$ISMSCTL" --db "$DB" export obligations --format json >"$T/obl.json"
$PY -c "
import json
rows = json.load(open('$T/obl.json'))
assert [r['id'] for r in rows] == ['OBL-1', 'OBL-2'], rows
" || fail "json export"
"$ISMSCTL" --db "$DB" export obligations --format md >"$T/obl.md"
expect_in "$T/obl.md" "| OBL-1 | GDPR | law |"

# 6. the audit rows and the chain
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "
import json
rows = json.load(open('$T/audit.json'))
acts = [(r['action'], r['object']) for r in rows]
for a in (('obligation.add', 'OBL-1'), ('obligation.add', 'OBL-2'), ('obligation.reviewed', 'OBL-2')):
    assert a in acts, a
rev = [r for r in rows if r['action'] == 'obligation.reviewed'][0]
assert json.loads(rev['details'])['note'] == 'Clauses unchanged'
" || fail "audit rows"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
echo "obligation scenario ok"
