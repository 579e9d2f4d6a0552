# The whole incident scenario through ismsd --console over a pipe: report,
# assign, status, close, approval by another isms_manager; refusals leave
# the database unchanged; the audit log verifies and catches tampering.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"

# 1. an employee reports
printf '/incident Phishing mail asking for my VPN password severity=high category=phishing\n' | console "$DB" alice
expect_in "$T/out" "Recorded as INC-1 (severity high)"
[ "$(sql "$DB" "SELECT title || '|' || severity || '|' || status FROM incidents")" = \
  "Phishing mail asking for my VPN password|high|new" ] || fail "incident row"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind='incident'")" = 2 ] || fail "isms_managers alerted"

# 2. refusals change nothing
before=$(db_digest "$DB")
printf 'incident assign INC-1 @bob\nincident status INC-1 resolved\n' | console "$DB" grace
expect_in "$T/out" "error: not allowed: incident assign needs the isms_manager role"
expect_in "$T/out" "error: not allowed: auditors read and change nothing; incident status is a change"
printf 'incident status INC-1 resolved\n' | console "$DB" alice # the reporter, not the handler
expect_in "$T/out" "error: not allowed: only the handler of INC-1 or an isms_manager may change it"
printf 'incident show INC-1\nincident note INC-1 curious\nincident show INC-99\n' | console "$DB" frank
# the same refusal whether the incident exists or not
expect_in "$T/out" "error: INC-1: no such incident that you may see (incidents are visible to their reporter"
expect_in "$T/out" "error: INC-99: no such incident that you may see (incidents are visible to their reporter"
printf 'incident show INC-1\n' | console "$DB" bob # a manager, not the handler
expect_in "$T/out" "error: INC-1: no such incident that you may see"
printf '%s\n' 'incident frobnicate INC-1' 'incident status INC-1 closed' \
	'incident severity INC-99 high' 'incident report' 'incident report x severity=extreme' \
	'/isms nothing here' 'incident assign INC-1' '/isms incident report a b=c' \
	'approve APR-1' 'incident show INC-abc' | console "$DB" carol
expect_in "$T/out" 'error: unknown verb "frobnicate" for incident'
expect_in "$T/out" "error: usage: incident status INC-n triaged|investigating|contained|resolved"
expect_in "$T/out" "error: INC-99: no such incident that you may see"
expect_in "$T/out" "error: usage: incident report <what happened>"
expect_in "$T/out" "error: severity must be low, medium, high or critical"
expect_in "$T/out" 'error: unknown object "nothing"'
expect_in "$T/out" "error: unknown option b= for incident report"
expect_in "$T/out" "error: no approval request APR-1"
expect_in "$T/out" 'error: expected an id like INC-1, got "INC-abc"'
[ "$(grep -c '^error: ' "$T/out")" = 10 ] || { cat "$T/out"; fail "every malformed line gets one error"; }
if printf 'incident list\n' | "$ISMSD" --console --db "$DB" --as mallory >"$T/out" 2>"$T/err"; then
	fail "unknown handle accepted"
fi
expect_in "$T/err" 'no person with handle "mallory"'
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 3. the ISMS manager assigns; the handler works it; closing needs approval
printf 'incident assign INC-1 @bob\n' | console "$DB" carol
expect_in "$T/out" "INC-1 assigned to bob."
printf '%s\n' 'incident status INC-1 investigating' 'incident note INC-1 Blocked the sender domain' \
	'incident status inc-1 contained' 'incident close INC-1 Add a phishing button to the mail client' | console "$DB" bob
expect_in "$T/out" "INC-1 is now contained."
expect_in "$T/out" "Closure of INC-1 requested as APR-1; waiting for carol"
[ "$(sql "$DB" "SELECT status FROM incidents WHERE id=1")" = contained ] || fail "closed before approval"

# the requester cannot approve; a staff member cannot either
printf 'approve APR-1\n' | console "$DB" alice
expect_in "$T/out" "error: not allowed: APR-1 is not yours to decide"
# another isms_manager (erik, not the routed carol) approves
printf 'approvals\napprove APR-1 Good lessons\n' | console "$DB" erik
expect_in "$T/out" "APR-1 from bob"
expect_in "$T/out" "APR-1 approved"
[ "$(sql "$DB" "SELECT status || '|' || lessons FROM incidents WHERE id=1")" = \
  "closed|Add a phishing button to the mail client" ] || fail "incident not closed"
[ "$(sql "$DB" "SELECT decided_by FROM approvals WHERE id=1")" = "$(sql "$DB" "SELECT id FROM people WHERE handle='erik'")" ] || fail "decider"
# both sides are told: requester bob and routed approver carol
[ "$(sql "$DB" "SELECT group_concat(handle) FROM (SELECT p.handle FROM outbox o JOIN people p ON p.id=o.person_id WHERE o.kind='decision' ORDER BY p.handle) d")" = "bob,carol" ] || fail "decision notices"
# the first decision wins
printf 'reject APR-1 too late\n' | console "$DB" carol
expect_in "$T/out" "error: APR-1 was already approved by erik"

# 4. the audit log verifies, exports work, tampering is caught
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || fail "audit verify failed on an intact log"
expect_in "$T/v" "audit log intact"
"$ISMSCTL" --db "$DB" export incidents --format csv >"$T/inc.csv"
expect_in "$T/inc.csv" "INC-1,Phishing mail asking for my VPN password,high,closed"
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "import json,sys; d=json.load(open('$T/audit.json')); assert any(r['action']=='approval.approve' for r in d)" || fail "audit json"
seq=$(sql "$DB" "SELECT seq FROM audit_log WHERE action='incident.assign'")
sql "$DB" "UPDATE audit_log SET actor='mallory' WHERE seq=$seq"
if "$ISMSCTL" --db "$DB" audit verify >"$T/v"; then fail "tampering not detected"; fi
expect_in "$T/v" "BROKEN at sequence $seq"
echo "console scenario ok"
