# Interested parties through ismsd --console: an isms_manager records a
# party with its needs and obligations, bad input is refused with nothing
# changed, the needs change (kept with old and new text), the linked
# obligation is nudged by the scheduler, the auditor reads and exports
# them, and the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"

printf '%s\n' 'obligation add "Customer MSA" source=contract ref="MSA s.12" owner=@heidi review_every=1w' | console "$DB" carol

# 1. refusals change nothing
before=$(db_digest "$DB")
printf '%s\n' 'party add Customers' 'party add Customers needs=Confidentiality obligations=OBL-5' \
	'party update PTY-1 needs=X' | console "$DB" carol
expect_in "$T/out" "error: missing needs="
expect_in "$T/out" "error: no obligation OBL-5"
expect_in "$T/out" "error: no interested party PTY-1"
printf 'party add Customers needs=X\n' | console "$DB" bob
expect_in "$T/out" "error: not allowed: party add needs the isms_manager role"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 2. add and update
printf '%s\n' \
	'party add Customers needs="Their data kept confidential"' \
	'party update pty-1' \
	'party update PTY-1 needs="Confidentiality and an ISO 27001 certificate" obligations=obl-1' \
	'party show 1' 'party list' | console "$DB" carol
expect_in "$T/out" "Interested party PTY-1 added: Customers. Needs: Their data kept confidential."
expect_in "$T/out" "error: nothing to change"
expect_in "$T/out" "PTY-1 updated: needs now: Confidentiality and an ISO 27001 certificate (before: Their data kept confidential). obligations now: OBL-1."
expect_in "$T/out" "  OBL-1 [contract] Customer MSA (MSA s.12; owner heidi; next review"
expect_in "$T/out" "Needs changed:"
expect_in "$T/out" "by carol; before: Their data kept confidential"
[ "$(sql "$DB" "SELECT old_needs || ' -> ' || new_needs FROM party_needs_history")" = "Their data kept confidential -> Confidentiality and an ISO 27001 certificate" ] || fail "needs history"

# 3. the party's obligation is nudged to its owner
d=8
while [ "$(date -u -d "@$(($(date +%s) + d * 86400))" +%u)" -gt 5 ]; do d=$((d + 1)); done
"$ISMSCTL" --db "$DB" run-scheduler --now "$(date -u -d "@$(($(date +%s) + d * 86400))" '+%Y-%m-%d') 10:00" >"$T/pass" || { cat "$T/pass"; fail "scheduler pass"; }
expect_in "$T/pass" "heidi: Obligation review overdue"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'obligation.review' AND object = 'OBL-1'")" = 1 ] || fail "nudge ledger"

# 4. the auditor reads and exports, and changes nothing
before=$(db_digest "$DB")
printf '%s\n' 'party list' 'party show PTY-1' 'party update PTY-1 needs=Y' | console "$DB" grace
expect_in "$T/out" "PTY-1 Customers: needs Confidentiality and an ISO 27001 certificate (obligations OBL-1)"
[ "$(grep -c '^error: not allowed' "$T/out")" = 1 ] || { cat "$T/out"; fail "auditor refusals"; }
[ "$(db_digest "$DB")" = "$before" ] || fail "an auditor changed the database"
"$ISMSCTL" --db "$DB" export parties --format csv >"$T/pty.csv"
expect_in "$T/pty.csv" "id,name,needs,obligations,needs_changes,created_by,created,updated"
expect_in "$T/pty.csv" "PTY-1,Customers,Confidentiality and an ISO 27001 certificate,OBL-1,1,carol,"
"$ISMSCTL" --db "$DB" export parties --format json >"$T/pty.json"
$PY -c "
import json
rows = json.load(open('$T/pty.json'))
assert rows[0]['id'] == 'PTY-1' and rows[0]['needs_changes'] == 1, rows
" || fail "json export"

# 5. the audit rows (the update with old and new needs) and the chain
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "
import json
rows = json.load(open('$T/audit.json'))
upd = [r for r in rows if r['action'] == 'party.update' and r['object'] == 'PTY-1']
assert len(upd) == 1, upd
ch = json.loads(upd[0]['details'])['changes']
assert ch['needs'] == ['Their data kept confidential', 'Confidentiality and an ISO 27001 certificate'], ch
assert ch['obligations'] == ['', 'OBL-1'], ch
assert ('party.add', 'PTY-1') in [(r['action'], r['object']) for r in rows]
" || fail "audit rows"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
echo "party scenario ok"
