# The Statement of Applicability through ismsd --console: an isms_manager
# gives reasons, implementation and a custom control; top management
# approves version 1; a later exclusion is a draft until version 2; the
# export of version 1 stays exactly as approved; evidence of a custom
# control is nudged before its expiry; the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"
TODAY=$(date -u +%F)
workday() {
	n=$1
	while [ "$(date -u -d "+$n days" +%u)" -gt 5 ]; do n=$((n + 1)); done
	date -u -d "+$n days" +%F
}
EXP=$(date -u -d '+20 days' +%F)

# 1. the isms_manager: reasons, implementation, a custom control
printf '%s\n' \
	'control set 5.15 reason=legal,risk implementation="SSO with MFA for every tool"' \
	'control add org-1 Supplier security reviews theme=organizational' \
	'control set ORG-1 reason=contract owner=@heidi' \
	"evidence add Supplier review 2026 control=org-1 owner=@heidi expires=$EXP" \
	'control show org-1' 'soa show' | console "$DB" carol
expect_in "$T/out" "Custom control ORG-1 added: Supplier security reviews (organizational)"
expect_in "$T/out" "-> heidi: You own control ORG-1 Supplier security reviews"
expect_in "$T/out" "ORG-1 Supplier security reviews (organizational, custom)"
expect_in "$T/out" "Reason for inclusion: contract"
expect_in "$T/out" "SoA: draft (no approved SoA yet)."
expect_in "$T/out" "no approved version yet"
expect_in "$T/out" "94 controls: 94 applicable, 0 not applicable, 1 custom"

# 2. refusals change nothing
before=$(db_digest "$DB")
printf '%s\n' 'soa approve' 'control add 5.15 Clash' 'control add ORG-1 Again' \
	'control set 5.15 reason=fun' 'control set 7.4 applicable=no justification=Remote reason=legal' | console "$DB" carol
expect_in "$T/out" "error: not allowed: top management approves the Statement of Applicability (now: dana)"
expect_in "$T/out" "error: a custom control's id is a letter"
expect_in "$T/out" "error: control ORG-1 already exists"
expect_in "$T/out" "error: reason= must be risk, legal, contract or business"
expect_in "$T/out" "error: reason= says why an applicable control is included"
printf 'control set ORG-1 reason=business\nsoa approve\n' | console "$DB" heidi
expect_in "$T/out" "error: not allowed: only an isms_manager decides whether ORG-1 applies and why"
[ "$(grep -c '^error: not allowed' "$T/out")" = 2 ] || { cat "$T/out"; fail "owner refusals"; }
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 3. top management approves version 1
printf 'soa approve Initial Statement of Applicability\nsoa approve\n' | console "$DB" dana
expect_in "$T/out" "SoA v1 approved: 94 controls"
expect_in "$T/out" "-> carol: SoA v1 approved by dana: the first version, 94 controls"
expect_in "$T/out" "error: SoA v1 (approved $TODAY by dana) is current: nothing changed since"
"$ISMSCTL" --db "$DB" export soa --version 1 --format csv >"$T/v1.csv"
[ "$(wc -l <"$T/v1.csv")" = 95 ] || fail "SoA v1: header and 94 controls"
expect_in "$T/v1.csv" "control,theme,title,applicable,status,justification,owner,risks,updated,custom,reason,implementation,evidence,soa"
expect_in "$T/v1.csv" "ORG-1,organizational,Supplier security reviews,yes,not_started,,heidi,,"
expect_in "$T/v1.csv" ",yes,contract,,1,approved v1"

# 4. an exclusion after the approval is a draft
printf '%s\n' 'control set 7.4 applicable=no justification="Fully remote company, no premises"' \
	'control show 7.4' 'soa show' | console "$DB" carol
expect_in "$T/out" "SoA: draft (changed since SoA v1); soa approve by top management."
expect_in "$T/out" "SoA: draft (changed since SoA v1)."
expect_in "$T/out" "1 draft change since v1 (soa approve, top management): 7.4 (changed)"
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "SoA v1 approved $TODAY by dana; 1 draft change."
"$ISMSCTL" --db "$DB" export soa --format csv >"$T/cur.csv"
expect_in "$T/cur.csv" '7.4,physical,Physical security monitoring,no,not_started,"Fully remote company, no premises",'
expect_in "$T/cur.csv" ",draft"
expect_in "$T/cur.csv" "5.15,organizational,Access control,yes,not_started,,,,"
"$ISMSCTL" --db "$DB" export soa --version 1 --format csv | cmp -s - "$T/v1.csv" || fail "SoA v1 export changed"

# 5. version 2; version 1 still reproduces; no version 3
printf 'soa approve Remote working\nsoa history\n' | console "$DB" dana
expect_in "$T/out" "SoA v2 approved: 94 controls, 1 new or changed since the last version."
expect_in "$T/out" "v2 approved $TODAY by dana: 94 controls, 1 new or changed; Remote working"
"$ISMSCTL" --db "$DB" export soa --version 1 --format csv | cmp -s - "$T/v1.csv" || fail "SoA v1 export changed after v2"
"$ISMSCTL" --db "$DB" export soa --version 2 --format json >"$T/v2.json"
$PY -c "
import json
rows = json.load(open('$T/v2.json'))
r = [x for x in rows if x['control'] == '7.4'][0]
assert r['applicable'] == 'no' and r['soa'] == 'approved v2', r
assert len(rows) == 94
" || fail "SoA v2 json export"
if "$ISMSCTL" --db "$DB" export soa --version 3 >"$T/v3" 2>"$T/v3.err"; then fail "export of a version that does not exist"; fi
expect_in "$T/v3.err" "no version 3 of soa"
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "SoA v2 approved $TODAY by dana; 0 draft changes."

# 6. the custom control's evidence is nudged to its owner
"$ISMSCTL" --db "$DB" run-scheduler --now "$(workday 3) 10:00" >"$T/pass"
expect_in "$T/pass" "-> heidi: Evidence EV-1 expires on $EXP: Supplier review 2026 for ORG-1"

# 7. the audit rows and the chain
[ "$(sql "$DB" "SELECT group_concat(action || ' ' || object, ', ') FROM audit_log WHERE action IN ('control.add', 'soa.approve')")" = "control.add ORG-1, soa.approve SOA-1, soa.approve SOA-2" ] || fail "soa audit rows"
[ "$(sql "$DB" "SELECT json_extract(details, '\$.changes') FROM audit_log WHERE object = 'SOA-2'")" = '["7.4"]' ] || fail "changes of v2"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
echo "soa scenario ok"
