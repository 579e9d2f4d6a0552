# Suppliers through ismsd --console (A.5.19-5.23): an isms_manager registers
# them, refused commands change nothing, the owner updates one and a risk
# names it, the scheduler announces, repeats and escalates its review (a
# leaver's at once to their manager), a review stops the nudges, retiring
# keeps the history; the export, the report and the audit log carry it all
# and the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
CONF=$T/ismsd.conf
cat >"$CONF" <<EOC
[store]
$(store_conf "$DB")
publish_head = false
[org]
working_hours = 00:00-24:00
working_days = mon-sun
[quiz]
every = off
[report]
every = off
[nudge]
repeat_days = 7
escalate_after_days = 7
EOC
new_db "$DB"
ctl() { "$ISMSCTL" -c "$CONF" "$@"; }
# day N: the date N days after the first review date (negative: before)
day() { date -u -d "$DUE $1 days" +%F; }

# 1. the isms_manager registers suppliers; owners are told
printf '%s\n' \
	'supplier add Acme Cloud criticality=critical data=personal owner=@bob service="CRM hosting" contract=https://contracts.example.org/acme review_every=2w' \
	'supplier add Payroll Ltd criticality=high data=personal owner=@heidi dpa=no' \
	'supplier add Frank Tools criticality=low data=none owner=@frank review_every=2w' \
	'supplier list' | console "$DB" carol
DUE=$(sql "$DB" "SELECT date(next_review_at, 'unixepoch') FROM suppliers WHERE id = 1")
expect_in "$T/out" "Supplier SUP-1 added: Acme Cloud (critical, personal data, DPA unknown), owner bob; reviewed every 2w (next $DUE). It processes personal data without a DPA (GDPR Art. 28)"
expect_in "$T/out" "-> bob: You own supplier SUP-1: Acme Cloud (critical; next review $DUE)"
expect_in "$T/out" "Supplier SUP-2 added: Payroll Ltd (high, personal data, no DPA), owner heidi"
expect_in "$T/out" "-> heidi: You own supplier SUP-2"
expect_in "$T/out" "SUP-1 Acme Cloud [critical, personal data] owner bob; CRM hosting; next review $DUE; personal data without a DPA"
[ "$(sql "$DB" "SELECT COUNT(*) FROM suppliers")" = 3 ] || fail "three suppliers"

# 2. refused commands say why and change nothing
before=$(db_digest "$DB")
printf '%s\n' \
	'supplier add X criticality=urgent data=none owner=@bob' \
	'supplier add X criticality=low data=secret owner=@bob' \
	'supplier add X criticality=low data=none owner=@bob contract=ftp://example.org/c' \
	'supplier add X criticality=low data=none owner=@grace' \
	'supplier review SUP-1 Fine next=2020-01-01' \
	'supplier update SUP-9 dpa=yes' | console "$DB" carol
expect_in "$T/out" "error: criticality= must be low, medium, high or critical"
expect_in "$T/out" "error: data= must be none, internal, confidential or personal"
expect_in "$T/out" "error: contract= must be a link starting with https:// or http://"
expect_in "$T/out" "error: not allowed: grace is an auditor"
expect_in "$T/out" "error: next=2020-01-01 is in the past"
expect_in "$T/out" "error: no supplier SUP-9"
printf '%s\n' 'supplier add X criticality=low data=none owner=@bob' \
	'supplier retire SUP-1 Gone' 'supplier update SUP-2 dpa=yes' | console "$DB" bob
[ "$(grep -c '^error: not allowed' "$T/out")" = 3 ] || { cat "$T/out"; fail "bob's refusals"; }
printf 'supplier review SUP-1 Looked fine\nsupplier show SUP-1\n' | console "$DB" grace
expect_in "$T/out" "error: not allowed"
expect_in "$T/out" "SUP-1 Acme Cloud"
printf 'supplier show SUP-1\n' | console "$DB" alice
expect_in "$T/out" "error: SUP-1: no such supplier that you may see"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 3. the owner updates; a risk names the supplier; a retired one is refused
printf '%s\n' \
	'supplier update sup-1 dpa=yes' \
	'risk add CRM outage at the host likelihood=3 impact=4 supplier=SUP-1' \
	'risk add Payroll data leaks likelihood=2 impact=5 supplier=sup-9' \
	'risk show RSK-1' \
	'supplier show SUP-1' | console "$DB" bob
expect_in "$T/out" "SUP-1 updated: Acme Cloud (critical, personal data, DPA signed), owner bob"
expect_in "$T/out" "Risk RSK-1 recorded: CRM outage at the host."
expect_in "$T/out" "error: no supplier SUP-9"
expect_in "$T/out" "Supplier: SUP-1 Acme Cloud."
expect_in "$T/out" "  RSK-1 [high 12] CRM outage at the host"
[ "$(sql "$DB" "SELECT json_extract(details, '$.changes.dpa') FROM audit_log WHERE action = 'supplier.update'")" = '["unknown","yes"]' ] || fail "update diff"

# 4. the scheduler: announced 14 days ahead, due, repeated, escalated
ismsctl_pass() {
	ctl run-scheduler --now "$1 10:00" >"$T/pass" || { cat "$T/pass"; fail "pass $1"; }
}
# frank leaves: the isms_managers are told what he still holds
ctl staff deactivate frank >"$T/leaver"
expect_in "$T/leaver" "SUP-3 supplier: Frank Tools -> supplier update SUP-3 owner=@..."
ismsctl_pass "$(day -13)"
expect_in "$T/pass" "-> bob: Supplier review due on $DUE: SUP-1 Acme Cloud [critical]"
expect_not_in "$T/pass" "frank"
ismsctl_pass "$(day -12)"
expect_not_in "$T/pass" "Supplier review"
ismsctl_pass "$DUE"
expect_in "$T/pass" "-> bob: Supplier review due today ($DUE): SUP-1 Acme Cloud [critical]"
expect_in "$T/pass" "-> bob: Overdue supplier review of frank (due $DUE): SUP-3 Frank Tools [low]"
ismsctl_pass "$(day 3)"
expect_not_in "$T/pass" "SUP-1"
ismsctl_pass "$(day 8)"
expect_in "$T/pass" "-> bob: Supplier review overdue (due $DUE): SUP-1 Acme Cloud [critical]"
expect_in "$T/pass" "-> dana: Overdue supplier review of bob (due $DUE): SUP-1 Acme Cloud [critical]"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'supplier.escalate'")" = 2 ] || fail "escalations"

# 5. a review stops the nudges; retiring keeps the history
NEXT=$(day 200)
printf '%s\n' "supplier review SUP-1 SOC 2 report checked; DPA on file next=$NEXT" \
	'supplier list due' | console "$DB" bob
expect_in "$T/out" "SUP-1 reviewed: SOC 2 report checked; DPA on file. Next review $NEXT."
ismsctl_pass "$(day 15)"
expect_not_in "$T/pass" "SUP-1"
printf '%s\n' 'supplier retire SUP-3 Tools replaced by the open source ones' \
	'supplier list all' 'supplier show SUP-1' | console "$DB" carol
expect_in "$T/out" "SUP-3 retired: Frank Tools."
expect_in "$T/out" "SUP-3 Frank Tools [low, no data] owner frank; retired"
expect_in "$T/out" "bob: SOC 2 report checked; DPA on file (next $NEXT)"
printf 'risk update RSK-1 supplier=SUP-3\n' | console "$DB" bob
expect_in "$T/out" "error: SUP-3 (Frank Tools) is retired: a risk cannot name it"
ismsctl_pass "$(day 30)"
expect_not_in "$T/pass" "SUP-3"

# 6. export, report, audit log
"$ISMSCTL" --db "$DB" export suppliers --format csv >"$T/sup.csv"
expect_in "$T/sup.csv" "id,name,status,criticality,data,service,owner,contract,dpa,review_every,last_review,reviewer,result,next_review,risks,retired_reason,created"
expect_in "$T/sup.csv" "SUP-1,Acme Cloud,active,critical,personal,CRM hosting,bob,https://contracts.example.org/acme,yes,2w,$(date -u +%F),bob,SOC 2 report checked; DPA on file,$NEXT,RSK-1,,"
expect_in "$T/sup.csv" "SUP-2,Payroll Ltd,active,high,personal,,heidi,,no,12m,,,,"
expect_in "$T/sup.csv" "SUP-3,Frank Tools,retired,low,none,,frank,,unknown,2w,,,,,,Tools replaced by the open source ones,"
"$ISMSCTL" --db "$DB" export suppliers --format json >"$T/sup.json"
$PY -c "
import json
rows = json.load(open('$T/sup.json'))
assert [r['id'] for r in rows] == ['SUP-1', 'SUP-2', 'SUP-3'], rows
assert rows[0]['next_review'] == '$NEXT'
" || fail "json export"
"$ISMSCTL" --db "$DB" export suppliers --format md >"$T/sup.md"
expect_in "$T/sup.md" "| SUP-2 | Payroll Ltd | active | high | personal |"
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "Suppliers: 2 active, 0 due for review within 14 days or overdue."
expect_in "$T/report" "  SUP-2 Payroll Ltd processes personal data without a DPA (GDPR Art. 28)"
expect_not_in "$T/report" "SUP-1 Acme Cloud processes"
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "
import json
rows = json.load(open('$T/audit.json'))
acts = [(r['action'], r['object']) for r in rows]
for a in [('supplier.add', 'SUP-1'), ('supplier.add', 'SUP-2'), ('supplier.add', 'SUP-3'), ('supplier.update', 'SUP-1'), ('supplier.review', 'SUP-1'), ('supplier.retire', 'SUP-3')]:
    assert a in acts, a
review = [r for r in rows if r['action'] == 'supplier.review'][0]
assert json.loads(review['details'])['next_review'] == ['$(day 0)', '$NEXT'], review
add = [r for r in rows if r['action'] == 'risk.add'][0]
assert json.loads(add['details'])['supplier'] == 'SUP-1', add
" || fail "audit log export"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
expect_in "$T/v" "records intact"
echo "supplier scenario ok"
