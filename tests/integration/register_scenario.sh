# The register through ismsd --console: a risk owner runs the whole cycle
# (asset, risk, score, matrix, treatment with a linked control, action,
# acceptance above the appetite approved by the manager); an auditor
# changes nothing, exports the SoA, the risk register and the audit log,
# and the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"
[ "$(sql "$DB" "SELECT COUNT(*) FROM controls")" = 93 ] || fail "93 controls after init"

# 1. the risk owner: asset, risk, matrix, treatment, action
printf '%s\n' \
	'asset add "Laptop fleet" type=hardware classification=confidential c=3 i=2 a=2' \
	'/risk add Stolen laptop exposes customer data likelihood=3 impact=4 asset=AST-1 threat=theft vulnerability="no disk encryption"' \
	'risk matrix' \
	'risk treat RSK-1 mitigate Encrypt every laptop disk controls=8.1,5.15 residual_likelihood=1 residual_impact=4' \
	'action add Roll out BitLocker to every laptop due=2027-01-31 source=RSK-1' \
	'risk show RSK-1' | console "$DB" bob
expect_in "$T/out" "Asset AST-1 added: Laptop fleet (hardware, confidential, C3 I2 A2), owner bob."
expect_in "$T/out" "Risk RSK-1 recorded: Stolen laptop exposes customer data. Score 3 x 4 = 12 (high), above the risk appetite."
expect_in "$T/out" "     3     | L  0  M  0  M  0  H  1  H  0 |"
expect_in "$T/out" "RSK-1 treatment: mitigate. Residual risk 1 x 4 = 4 (low)."
expect_in "$T/out" "Action ACT-1 added for bob, due 2027-01-31, from RSK-1."
expect_in "$T/out" "Controls: 5.15, 8.1."
expect_in "$T/out" "bob controls: 5.15, 8.1"
[ "$(sql "$DB" "SELECT score || '|' || level || '|' || residual_score FROM risks")" = "12|high|4" ] || fail "risk row"

# 2. acceptance above the appetite: pending until the manager approves
printf '%s\n' \
	'risk add Phishing leads to account takeover likelihood=4 impact=4' \
	'risk treat RSK-2 accept MFA for every tool is too costly this year' \
	'risk show RSK-2' 'approve APR-1' | console "$DB" bob
expect_in "$T/out" "requested as APR-1 from dana"
expect_in "$T/out" "Acceptance PENDING: waiting for approval APR-1 by dana."
expect_in "$T/out" "error: not allowed: APR-1 is not yours to decide (you asked for it)"
[ "$(sql "$DB" "SELECT COALESCE(treatment, 'untreated') FROM risks WHERE id = 2")" = untreated ] || fail "accepted before approval"
printf 'approve APR-1\n' | console "$DB" carol # an isms_manager, but not the route
expect_in "$T/out" "error: not allowed: APR-1 is not yours to decide"
printf 'approvals\napprove APR-1 Accepted for one year\n' | console "$DB" dana
expect_in "$T/out" "APR-1 from bob"
expect_in "$T/out" "APR-1 approved"
[ "$(sql "$DB" "SELECT treatment || '|' || accept_approval_id FROM risks WHERE id = 2")" = "accept|1" ] || fail "not accepted"

# 3. the auditor reads everything and changes nothing
before=$(db_digest "$DB")
printf '%s\n' 'risk add Mine likelihood=1 impact=1' 'risk treat RSK-1 avoid Stop' \
	'control set 5.15 status=implemented' 'asset add X type=y classification=public c=1 i=1 a=1' \
	'action done ACT-1 done' 'risk list' 'risk matrix' 'control show 5.15' | console "$DB" grace
[ "$(grep -c '^error: not allowed' "$T/out")" = 5 ] || { cat "$T/out"; fail "auditor refusals"; }
expect_in "$T/out" "RSK-2 [high 16] Phishing leads to account takeover (owner bob; accept until "
expect_in "$T/out" "Residual exposure: 1 of 2 risks above the appetite of 6 after treatment (RSK-2 16); acceptances: 0 pending, 0 expired."
expect_in "$T/out" "RSK-1 [high 12] Stolen laptop exposes customer data (mitigate)"
[ "$(db_digest "$DB")" = "$before" ] || fail "an auditor changed the database"

"$ISMSCTL" --db "$DB" export soa --format csv >"$T/soa.csv"
[ "$(wc -l <"$T/soa.csv")" = 94 ] || fail "SoA: header and 93 controls"
expect_in "$T/soa.csv" "8.1,technological,User end point devices,yes,not_started,,,RSK-1,"
"$ISMSCTL" --db "$DB" export risks --format csv >"$T/risks.csv"
expect_in "$T/risks.csv" "RSK-1,Stolen laptop exposes customer data,AST-1,bob,theft,no disk encryption,3,4,12,high,mitigate"
expect_in "$T/risks.csv" "RSK-2,Phishing leads to account takeover,,bob,,,4,4,16,high,accept"
"$ISMSCTL" --db "$DB" export actions --format md >"$T/actions.md"
expect_in "$T/actions.md" "| ACT-1 | Roll out BitLocker to every laptop | bob | 2027-01-31 | open | RSK-1 |"
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "
import json
rows = json.load(open('$T/audit.json'))
acts = [r['action'] for r in rows]
for a in ('soa.load', 'asset.add', 'risk.add', 'risk.treat', 'action.add', 'approval.request', 'approval.approve'):
    assert a in acts, a
accepted = [r for r in rows if r['action'] == 'risk.treat' and r['object'] == 'RSK-2']
assert json.loads(accepted[0]['details'])['approval'] == 1
" || fail "audit log export"
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "Risks: 2 (critical 0, high 2, medium 0, low 0)"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || fail "audit verify failed"
expect_in "$T/v" "audit log intact"
echo "register scenario ok"
