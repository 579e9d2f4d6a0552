# The rules of docs/register.md ("Rules the register keeps") on the demo
# data through the console: each breaking sequence is refused with the
# database byte-for-byte unchanged, or re-opens what it affects.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"
"$ISMSCTL" --db "$DB" seed config/demo/seed.txt >/dev/null

# refused: run lines as someone, expect one error each, nothing changed
refused() {
	who=$1
	shift
	before=$(db_digest "$DB")
	printf '%s\n' "$@" | console "$DB" "$who" || true
	[ "$(grep -c '^error: ' "$T/out")" = $# ] || { cat "$T/out"; fail "$who: expected $# refusals"; }
	[ "$(db_digest "$DB")" = "$before" ] || fail "$who: a refusal changed the database"
}

# an acceptance holds for the score it was given
printf '%s\n' 'risk add Datacenter fire likelihood=2 impact=3' 'risk treat RSK-5 accept Cheap' \
	'risk update RSK-5 likelihood=5 impact=5' | console "$DB" bob
expect_in "$T/out" "The acceptance was given for a score of 6: it waits for approval again as APR-"
printf 'risk list\nreport\n' | console "$DB" dana
expect_in "$T/out" "RSK-5 [critical 25] Datacenter fire (owner bob; accept pending APR-"
expect_in "$T/out" "2 acceptances pending"
expect_in "$T/out" "acceptances: 2 pending, 0 expired."

# the residual risk never exceeds the risk
printf '%s\n' 'risk update RSK-4 likelihood=3' \
	'risk treat RSK-4 transfer Flood insurance residual_likelihood=3 residual_impact=3' | console "$DB" bob
refused bob 'risk update RSK-4 likelihood=1'
expect_in "$T/out" "first lower residual_likelihood to 1 or less"

# one refusal for "does not exist" and "not yours to see"
refused frank 'incident show INC-1' 'incident show INC-99'
[ "$(sed -n 1p "$T/out" | sed 's/INC-1:/INC-99:/')" = "$(sed -n 2p "$T/out")" ] || { cat "$T/out"; fail "two different refusals"; }

# an auditor changes nothing and is never handler or owner
refused carol 'incident assign INC-1 @grace' 'risk update RSK-1 owner=@grace'
refused grace 'incident severity INC-1 low' 'incident close INC-1 done' 'risk update RSK-1 likelihood=1' \
	'control set 5.15 status=implemented' 'audit close AUD-1' 'review plan date=2030-01-01'
expect_in "$T/out" "error: not allowed: auditors read and change nothing; incident severity is a change"

# personal data found out later: the clock starts at the marking
printf 'incident personal_data INC-1 yes The phishing site harvested customer logins\n' | console "$DB" bob
expect_in "$T/out" "INC-1 involves personal data: the 72-hour clock to notify the authority runs from now"
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE id = 1 AND personal_data_at IS NOT NULL")" = 1 ] || fail "clock start"

# only isms_managers decide applicability
printf 'control set 5.23 owner=@alice\n' | console "$DB" carol
refused alice 'control set 5.23 applicable=no justification="We use no cloud"'

# audits and reviews keep their dates and open work
refused erik 'audit close FND-1' 'audit close AUD-1'
refused carol 'review plan date=2026-01-01' 'review record MR-1 Held early' 'help spaceship'
expect_in "$T/out" 'error: unknown object "spaceship"'

"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
