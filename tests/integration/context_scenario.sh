# Context issues through ismsd --console: an isms_manager records internal
# and external issues linked to risks, bad input is refused with nothing
# changed, an issue is retired and stays listed with its reason, a
# scheduler pass runs with them present, the auditor reads and exports
# them, and the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"

printf '%s\n' 'risk add Supplier breach likelihood=2 impact=4' | console "$DB" bob

# 1. refusals change nothing
before=$(db_digest "$DB")
printf '%s\n' 'context add sideways Foo' 'context add internal' \
	'context add external NIS2 risks=RSK-7' 'context retire CTX-1 Gone' | console "$DB" carol
expect_in "$T/out" "error: an issue is internal or external, got \"sideways\""
expect_in "$T/out" "error: usage: context add internal|external <text> [risks=RSK-n,...] (a description of the issue is required)"
expect_in "$T/out" "error: no risk RSK-7"
expect_in "$T/out" "error: no context issue CTX-1"
printf 'context add internal Growth\ncontext list\n' | console "$DB" bob
expect_in "$T/out" "error: not allowed: context add needs the isms_manager role"
printf 'context list\n' | console "$DB" alice
expect_in "$T/out" "error: not allowed: context list needs the"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 2. add, then retire (an update of its status)
printf '%s\n' \
	'context add external Regulators tighten NIS2 requirements risks=rsk-1' \
	'context add internal Team grows from 10 to 40 people' \
	'context retire ctx-2 Hiring freeze announced' \
	'context retire 2 again' \
	'context list' | console "$DB" carol
expect_in "$T/out" "Context issue CTX-1 recorded (external): Regulators tighten NIS2 requirements; risks RSK-1."
expect_in "$T/out" "CTX-2 retired: Hiring freeze announced"
expect_in "$T/out" "error: CTX-2 is already retired ($(date -u +%Y-%m-%d): Hiring freeze announced)"
expect_in "$T/out" "CTX-1 [external] Regulators tighten NIS2 requirements (risks RSK-1)"
expect_in "$T/out" "CTX-2 [internal] Team grows from 10 to 40 people RETIRED $(date -u +%Y-%m-%d) by carol: Hiring freeze announced"
expect_in "$T/out" "1 current issue, 1 retired."

# 3. issues are not nudged: a scheduler pass runs with them, sends none
"$ISMSCTL" --db "$DB" run-scheduler --now "$(date -u -d '+3 days' '+%Y-%m-%d') 10:00" >"$T/pass" || { cat "$T/pass"; fail "scheduler pass"; }
expect_not_in "$T/pass" "CTX-"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE object LIKE 'CTX-%'")" = 0 ] || fail "an issue was nudged"

# 4. the auditor reads and exports them, and changes nothing
before=$(db_digest "$DB")
printf '%s\n' 'context list' 'context add internal X' 'context retire CTX-1 X' | console "$DB" grace
expect_in "$T/out" "CTX-1 [external] Regulators tighten NIS2 requirements"
[ "$(grep -c '^error: not allowed' "$T/out")" = 2 ] || { cat "$T/out"; fail "auditor refusals"; }
[ "$(db_digest "$DB")" = "$before" ] || fail "an auditor changed the database"
"$ISMSCTL" --db "$DB" export context --format csv >"$T/ctx.csv"
expect_in "$T/ctx.csv" "id,kind,text,status,risks,retired_reason,retired_by,retired,created_by,created"
expect_in "$T/ctx.csv" "CTX-1,external,Regulators tighten NIS2 requirements,active,RSK-1,,,,carol,"
expect_in "$T/ctx.csv" "CTX-2,internal,Team grows from 10 to 40 people,retired,,Hiring freeze announced,carol,"
"$ISMSCTL" --db "$DB" export context --format md >"$T/ctx.md"
expect_in "$T/ctx.md" "| CTX-2 | internal | Team grows from 10 to 40 people | retired |"

# 5. the audit rows and the chain
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "
import json
rows = json.load(open('$T/audit.json'))
acts = [(r['action'], r['object']) for r in rows]
for a in (('context.add', 'CTX-1'), ('context.add', 'CTX-2'), ('context.retire', 'CTX-2')):
    assert a in acts, a
assert acts.count(('context.retire', 'CTX-2')) == 1
ret = [r for r in rows if r['action'] == 'context.retire'][0]
assert json.loads(ret['details'])['reason'] == 'Hiring freeze announced'
" || fail "audit rows"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
echo "context scenario ok"
