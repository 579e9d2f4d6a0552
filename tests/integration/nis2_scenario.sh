# Incident reporting beyond GDPR art. 33 through ismsd --console: the
# handler marks an incident significant (NIS2 art. 23), refused commands
# change nothing, the scheduler nudges each report before and after its
# deadline until it is recorded, in order, and stops when an incident is
# not significant after all; the GDPR art. 34 decision on informing data
# subjects; the export, the report and the audit log carry it all and the
# audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
CONF=$T/ismsd.conf
cat >"$CONF" <<EOC
[store]
$(store_conf "$DB")
publish_head = false
[quiz]
every = off
[report]
every = off
EOC
new_db "$DB"
ctl() { "$ISMSCTL" -c "$CONF" "$@"; }
# at SECONDS: the minute just after the clock's start plus SECONDS (UTC)
at() { date -u -d "@$(($S + $1 + 60))" '+%F %H:%M'; }
pass() {
	ctl run-scheduler --now "$1" >"$T/pass" || { cat "$T/pass"; fail "pass $1"; }
}

# 1. reported, assigned, marked significant by the handler; the
# isms_managers hear at once
printf '%s\n' '/incident Payment API down for all customers severity=critical' | console "$DB" alice
printf '%s\n' 'incident assign INC-1 @bob' | console "$DB" carol
printf '%s\n' 'incident significant inc-1 yes Service to all customers interrupted' | console "$DB" bob
expect_in "$T/out" "INC-1 is significant (NIS2 art. 23); the clock runs from now"
expect_in "$T/out" "-> carol: INC-1 is a significant incident (NIS2): early warning due by"
expect_in "$T/out" "-> erik: INC-1 is a significant incident (NIS2)"
S=$(sql "$DB" "SELECT significant_at FROM incidents WHERE id = 1")
[ -n "$S" ] || fail "no clock start"

# 2. refused commands say why and change nothing
printf '%s\n' '/incident Customer list mailed to a stranger personal_data=yes' \
	'/incident Odd login attempts' | console "$DB" alice
before=$(db_digest "$DB")
printf '%s\n' \
	'incident significant INC-1 maybe' \
	'incident significant INC-1 yes' \
	'incident reported INC-1 soon' \
	'incident reported INC-1 notification' \
	'incident reported INC-3 early' \
	'incident subjects-informed INC-1 yes' \
	'incident subjects-informed INC-2 no' | console "$DB" carol
expect_in "$T/out" "error: usage: incident significant INC-n yes|no [reason] (yes or no)"
expect_in "$T/out" "error: INC-1 is already significant"
expect_in "$T/out" "error: stage must be early, notification or final"
expect_in "$T/out" "error: the early warning of INC-1 is not recorded yet"
expect_in "$T/out" "error: INC-3 is not marked significant"
expect_in "$T/out" "error: INC-1 does not involve personal data: GDPR art. 34 does not apply"
expect_in "$T/out" "error: say why the data subjects are not informed (GDPR art. 34(3))"
printf 'incident reported INC-1 early\nincident significant INC-1 no\n' | console "$DB" alice
[ "$(grep -c '^error: not allowed' "$T/out")" = 2 ] || { cat "$T/out"; fail "alice's refusals"; }
printf 'incident reported INC-1 early\n' | console "$DB" grace
expect_in "$T/out" "error:"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 3. the scheduler: 12 h and 4 h before the early warning, then daily
pass "$(at $((11 * 3600)))"
expect_not_in "$T/pass" "NIS2"
pass "$(at $((12 * 3600)))"
expect_in "$T/pass" "-> bob: NIS2 early warning for INC-1:"
expect_in "$T/pass" "-> carol: NIS2 early warning for INC-1:"
expect_in "$T/pass" "-> erik: NIS2 early warning for INC-1:"
pass "$(at $((12 * 3600 + 600)))"
expect_not_in "$T/pass" "NIS2"
pass "$(at $((20 * 3600)))"
expect_in "$T/pass" "-> bob: NIS2 early warning for INC-1: 3 h 5"
pass "$(at $((24 * 3600)))"
expect_in "$T/pass" "-> bob: NIS2 early warning for INC-1: deadline passed on"
pass "$(at $((48 * 3600 - 120)))"
expect_in "$T/pass" "-> erik: NIS2 early warning for INC-1: deadline passed on"

# 4. the early warning recorded (in the past of those passes: on time);
# the notification is nudged, the early warning no more
printf 'incident reported INC-1 early CSIRT case 4711\n' | console "$DB" bob
expect_in "$T/out" "INC-1: NIS2 early warning recorded as sent at"
expect_in "$T/out" "by bob (on time). Next: the incident notification, due by"
pass "$(at $((48 * 3600)))"
expect_in "$T/pass" "-> carol: NIS2 incident notification for INC-1: 23 h 5"
expect_not_in "$T/pass" "early warning"
printf 'incident reported INC-1 notification\nincident show INC-1\n' | console "$DB" carol
expect_in "$T/out" "INC-1: NIS2 incident notification recorded as sent at"
expect_in "$T/out" "NIS2: significant incident since"
expect_in "$T/out" "  early warning: sent "
expect_in "$T/out" ", recorded by bob: CSIRT case 4711"
expect_in "$T/out" "  final report: due by "
FINAL=$(sed -n 's/^  final report: due by \([^ ]*\) .*/\1/p' "$T/out")
[ -n "$FINAL" ] || fail "no final report deadline"
F=$(date -u -d "$FINAL" +%s)
pass "$(at $((72 * 3600)))"
expect_not_in "$T/pass" "NIS2"
# the final report: one month after the notification
S=$F
pass "$(at $((-7 * 86400)))"
expect_in "$T/pass" "-> bob: NIS2 final report for INC-1: 6 days 23 h left (due $FINAL)"
pass "$(at 0)"
expect_in "$T/pass" "-> carol: NIS2 final report for INC-1: deadline passed on $FINAL"
printf 'incident reported INC-1 final Root cause: expired certificate\n' | console "$DB" bob
expect_in "$T/out" "All NIS2 reports are recorded."
pass "$(at 86400)"
expect_not_in "$T/pass" "NIS2"

# 5. not significant after all: no nudges
printf '%s\n' 'incident significant INC-3 yes' \
	'incident significant INC-3 no Blocked at the edge; no impact' | console "$DB" erik
expect_in "$T/out" "INC-3 is not significant; its NIS2 clock is stopped."
S=$(sql "$DB" "SELECT significant_at FROM incidents WHERE id = 3")
pass "$(at $((30 * 3600)))"
expect_not_in "$T/pass" "INC-3"

# 6. GDPR art. 34 for the personal-data breach
printf '%s\n' 'incident subjects-informed INC-2 no The list was encrypted; the key was not disclosed' \
	'incident show INC-2' | console "$DB" carol
expect_in "$T/out" "INC-2: data subjects not informed (GDPR art. 34) recorded."
expect_in "$T/out" "Data subjects (GDPR art. 34): not informed, decided by carol at"
expect_in "$T/out" ": The list was encrypted; the key was not disclosed."

# 7. export, report, audit log
"$ISMSCTL" --db "$DB" export incidents --format csv >"$T/inc.csv"
expect_in "$T/inc.csv" ",breach_outcome,description,significant,significant_since,early_warning,notification,final_report,subjects_informed,subjects_reason"
expect_in "$T/inc.csv" ",no,The list was encrypted; the key was not disclosed"
"$ISMSCTL" --db "$DB" export incidents --format json >"$T/inc.json"
$PY -c "
import json
rows = json.load(open('$T/inc.json'))
r = rows[0]
assert r['id'] == 'INC-1' and r['significant'] == 'yes', r
assert r['early_warning'].endswith('Z bob'), r
assert r['notification'].endswith('Z carol'), r
assert r['final_report'].endswith('Z bob'), r
assert rows[1]['subjects_informed'] == 'no', rows[1]
assert rows[2]['significant'] == 'no' and rows[2]['early_warning'] == '', rows[2]
" || fail "json export"
"$ISMSCTL" --db "$DB" export incidents --format md >"$T/inc.md"
expect_in "$T/inc.md" "| significant | significant_since | early_warning |"
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "NIS2 significant incidents: 0 with reports outstanding, 0 reports overdue."
expect_in "$T/report" "Personal-data breaches without a GDPR art. 34 decision: 0 open."
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "
import json
rows = json.load(open('$T/audit.json'))
acts = [(r['action'], r['object']) for r in rows]
for a in [('incident.significant', 'INC-1'), ('incident.reported', 'INC-1'), ('incident.significant', 'INC-3'), ('incident.subjects_informed', 'INC-2')]:
    assert a in acts, a
st = [json.loads(r['details'])['stage'] for r in rows if r['action'] == 'incident.reported']
assert st == ['early', 'notification', 'final'], st
fin = [json.loads(r['details']) for r in rows if r['action'] == 'incident.reported'][2]
assert fin['late'] is False and fin['note'] == 'Root cause: expired certificate', fin
" || fail "audit log export"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'nis2' AND object = 'INC-3'")" = 0 ] || fail "INC-3 nudged"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
expect_in "$T/v" "records intact"
echo "nis2 scenario ok"
