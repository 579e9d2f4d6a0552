# Frameworks beside ISO 27001 through ismsd --console and ismsctl: a
# control shows the NIS2 and GDPR points it addresses; the isms_manager
# and a control owner move controls to implemented and add evidence; the
# mapping export follows (controls, state, evidence, gaps) in CSV, JSON
# and Markdown; the evidence owner is nudged before the expiry; refusals
# change nothing; the report counts the articles covered; the audit chain
# verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"
workday() {
	n=$1
	while [ "$(date -u -d "+$n days" +%u)" -gt 5 ]; do n=$((n + 1)); done
	date -u -d "+$n days" +%F
}
EXP=$(date -u -d '+20 days' +%F)

# 1. what a control maps to, for everyone
printf '%s\n' 'control show A.5.24' 'control show 8.24' 'control show 7.4' | console "$DB" alice
expect_in "$T/out" "Maps to: NIS2 Art. 21(2)(b) incident handling; GDPR Art. 32(1)(b) ongoing confidentiality, integrity, availability and resilience of processing systems"
expect_in "$T/out" "Maps to: NIS2 Art. 21(2)(h) cryptography and encryption; GDPR Art. 32(1)(a) pseudonymisation and encryption of personal data"
[ "$(grep -c '^Maps to:' "$T/out")" = 2 ] || { cat "$T/out"; fail "7.4 maps to nothing"; }

# 2. the isms_manager gives 8.24 an owner; the owner implements it and
# adds evidence; 5.24 is implemented but does not apply
printf '%s\n' 'control set 8.24 owner=@heidi' \
	'control set 5.24 status=implemented' \
	'control set 5.24 applicable=no justification="Incident response is outsourced"' | console "$DB" carol
expect_in "$T/out" "-> heidi: You own control A.8.24"
printf '%s\n' 'control set 8.24 status=implemented' \
	"evidence add Key management procedure control=8.24 expires=$EXP" \
	'evidence add Disk encryption report control=A.8.24' | console "$DB" heidi
expect_in "$T/out" "EV-1"
expect_in "$T/out" "EV-2"

# 3. the exports
"$ISMSCTL" --db "$DB" export mapping --framework nis2 --format csv >"$T/nis2.csv"
expect_in "$T/nis2.csv" "framework,article,article_title,control,control_title,applicable,status,evidence,stale_evidence,gap"
expect_in "$T/nis2.csv" "NIS2,21(2)(h),cryptography and encryption,8.24,Use of cryptography,yes,implemented,2,0,no"
expect_in "$T/nis2.csv" "NIS2,21(2)(b),incident handling,5.24,Information security incident management planning and preparation,no,implemented,0,0,yes"
[ "$(grep -c '^NIS2,' "$T/nis2.csv")" = "$(awk -F'\t' 'NR > 1 { n += split($3, a, " ") } END { print n }' config/mappings/nis2.tsv)" ] || fail "one NIS2 row per article and control"
[ "$(tr -d '\r' <"$T/nis2.csv" | grep -c ',no$')" = 1 ] || fail "only 21(2)(h) is covered"
"$ISMSCTL" --db "$DB" export mapping --framework GDPR --format json >"$T/gdpr.json"
$PY -c "
import json
rows = json.load(open('$T/gdpr.json'))
arts = []
for r in rows:
    if r['article'] not in arts:
        arts.append(r['article'])
assert arts == ['32(1)(a)', '32(1)(b)', '32(1)(c)', '32(1)(d)', '32(2)', '32(4)'], arts
gaps = sorted({r['article'] for r in rows if r['gap'] == 'yes'})
assert gaps == ['32(1)(b)', '32(1)(c)', '32(1)(d)', '32(2)', '32(4)'], gaps
r = [x for x in rows if x['control'] == '8.24'][0]
assert r['evidence'] == 2 and r['status'] == 'implemented', r
" || fail "GDPR json export"
"$ISMSCTL" --db "$DB" export mapping --framework=gdpr --format md >"$T/gdpr.md"
expect_in "$T/gdpr.md" "| GDPR | 32(1)(a) | pseudonymisation and encryption of personal data | 8.24 | Use of cryptography | yes | implemented | 2 | 0 | no |"

# 4. refusals change nothing
before=$(db_digest "$DB")
if "$ISMSCTL" --db "$DB" export mapping --format csv >/dev/null 2>"$T/e1"; then fail "mapping without a framework"; fi
expect_in "$T/e1" "export mapping needs --framework nis2|gdpr"
if "$ISMSCTL" --db "$DB" export mapping --framework dora >/dev/null 2>"$T/e2"; then fail "unknown framework"; fi
expect_in "$T/e2" 'unknown framework "dora" (expected nis2|gdpr)'
if "$ISMSCTL" --db "$DB" export risks --framework nis2 >/dev/null 2>"$T/e3"; then fail "framework on risks"; fi
expect_in "$T/e3" "export risks has no --framework"
printf '%s\n' 'control set 8.24 status=done' 'control show 9.99' | console "$DB" heidi
expect_in "$T/out" "error: status= must be"
expect_in "$T/out" "error: no Annex A control"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 5. the evidence owner is nudged before the expiry
"$ISMSCTL" --db "$DB" run-scheduler --now "$(workday 3) 10:00" >"$T/pass"
expect_in "$T/pass" "-> heidi: Evidence EV-1 expires on $EXP: Key management procedure for A.8.24"

# 6. the report
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "Frameworks (articles with an implemented control): NIS2 1 of 10, none for 21(2)(a) 21(2)(b) 21(2)(c) 21(2)(d) 21(2)(e) 21(2)(f) 21(2)(g) 21(2)(i) 21(2)(j); GDPR 1 of 6, none for 32(1)(b) 32(1)(c) 32(1)(d) 32(2) 32(4)."

# 7. the audit rows and the chain
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE object = 'A.8.24'")" -ge 2 ] || fail "control audit rows"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'evidence.%'")" = 2 ] || fail "evidence audit rows"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
echo "mapping scenario ok"
