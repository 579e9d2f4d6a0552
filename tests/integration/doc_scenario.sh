#!/bin/sh
# Document control through ismsd --console: a policy's owner asks for a
# new version, top management approves it (never the author), the old
# version and its acknowledgements are kept and everyone is asked to
# acknowledge the new one (nudged by the scheduler); a document changes
# owner, another is retired and nudged no more; refusals change nothing;
# the documents export and the audit chain.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"

printf '%s\n' \
	'doc add Information security policy owner=@bob review_every=12m url=https://wiki.example.org/isp ack=required' \
	'doc add Clean desk procedure owner=@heidi review_every=6m ack=required' | console "$DB" carol
expect_in "$T/out" "Document DOC-1 added"
expect_in "$T/out" "Document DOC-2 added"
printf 'doc ack DOC-1\n' | console "$DB" alice
printf 'doc ack DOC-1\n' | console "$DB" frank

# 1. refusals change nothing
before=$(db_digest "$DB")
printf '%s\n' 'doc version DOC-1 url=https://x' 'doc retire DOC-2 old' \
	'doc update DOC-1 owner=@alice' | console "$DB" alice
[ "$(grep -c '^error: not allowed' "$T/out")" = 3 ] || { cat "$T/out"; fail "alice refusals"; }
printf '%s\n' 'doc version DOC-1 url=ftp://x' 'doc version DOC-1' 'doc version DOC-9 url=https://x' \
	'doc update DOC-1 owner=@heidi' | console "$DB" bob
expect_in "$T/out" "error: url= must start with https:// or http://"
expect_in "$T/out" "error: missing url="
expect_in "$T/out" "error: no document DOC-9"
expect_in "$T/out" "error: not allowed: only an isms_manager may give a document to another owner"
printf 'doc version DOC-1 url=https://x\n' | console "$DB" grace
expect_in "$T/out" "error: not allowed"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 2. a new version, approved by management, not by its author
printf '%s\n' 'doc version doc-1 url=https://wiki.example.org/isp-v2 note="MFA for every tool"' \
	'approve APR-1' | console "$DB" bob
expect_in "$T/out" "Version 2 of DOC-1 requested as APR-1; waiting for dana (or another isms_manager or member of management) to approve. Version 1 stays in force until then."
expect_in "$T/out" "-> dana: Approval needed APR-1: version 2 of DOC-1 \"Information security policy\": https://wiki.example.org/isp-v2 (MFA for every tool)"
expect_in "$T/out" "error: not allowed: APR-1 is not yours to decide (you asked for it)"
[ "$(sql "$DB" "SELECT version FROM docs WHERE id = 1")" = 1 ] || fail "in force before approval"
printf 'approvals\napprove APR-1 Good\ndoc show DOC-1\n' | console "$DB" dana
expect_in "$T/out" "APR-1 approved"
expect_in "$T/out" "version 2; acknowledged 0/9 required"
today=$(date -u +%F)
expect_in "$T/out" "v2 $today by bob, approved by dana (APR-1): https://wiki.example.org/isp-v2 (MFA for every tool)"
expect_in "$T/out" "v1 $today registered by carol: https://wiki.example.org/isp"
[ "$(sql "$DB" "SELECT group_concat(p.handle || ':' || h.version, ' ') FROM doc_ack_history h JOIN people p ON p.id = h.person_id")" = "alice:1 frank:1" ] || fail "v1 acks kept"
printf 'doc ack DOC-1\n' | console "$DB" frank
expect_in "$T/out" "your acknowledgement of DOC-1 (Information security policy, version 2) is recorded."

# 3. another owner; a retired document
printf '%s\n' 'doc update DOC-1 owner=@heidi review_every=6m' \
	'doc retire DOC-2 Merged into the information security policy' \
	'doc ack DOC-2' 'doc list' | console "$DB" carol
expect_in "$T/out" "DOC-1 updated: Information security policy, owner heidi."
expect_in "$T/out" "-> heidi: You now own document DOC-1: Information security policy"
expect_in "$T/out" "DOC-2 (Clean desk procedure) is retired: Merged into the information security policy."
expect_in "$T/out" "error: DOC-2 was retired on $today"
expect_in "$T/out" "DOC-2 Clean desk procedure (owner heidi; version 1; RETIRED $today: Merged into the information security policy)"

# 4. the scheduler: alice acknowledged version 1 only, so she is asked
# again; frank has acknowledged version 2; nothing about DOC-2
"$ISMSCTL" --db "$DB" run-scheduler --now "2030-07-01 14:00" >"$T/pass" || { cat "$T/pass"; fail "run-scheduler"; }
expect_in "$T/pass" "-> alice: Please read and acknowledge DOC-1: Information security policy (https://wiki.example.org/isp-v2)"
expect_not_in "$T/pass" "-> frank: Please read and acknowledge DOC-1"
expect_not_in "$T/pass" "DOC-2"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE object = 'DOC-2'")" = 0 ] || fail "a retired document was nudged"

# 5. export and audit
"$ISMSCTL" --db "$DB" export documents --format csv >"$T/docs.csv"
expect_in "$T/docs.csv" "id,title,owner,version,url,approver,approved,status,review_every,next_review,acknowledged,retired_reason"
expect_in "$T/docs.csv" "DOC-1,Information security policy,heidi,2,https://wiki.example.org/isp-v2,dana,$today,in force,6m,"
expect_in "$T/docs.csv" ",1/9,"
expect_in "$T/docs.csv" "DOC-2,Clean desk procedure,heidi,1,,,$today,retired,6m,,,Merged into the information security policy"
"$ISMSCTL" --db "$DB" export documents --format md >"$T/docs.md"
expect_in "$T/docs.md" "| DOC-1 | Information security policy | heidi | 2 |"
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "
import json
rows = json.load(open('$T/audit.json'))
acts = [r['action'] for r in rows]
for a in ('doc.add', 'doc.ack', 'approval.request', 'approval.approve', 'doc.version', 'doc.update', 'doc.retire'):
    assert a in acts, a
v = [json.loads(r['details']) for r in rows if r['action'] == 'doc.version'][0]
assert v['version'] == 2 and v['author'] == 'bob' and v['acks_reset'] == 2, v
" || fail "audit log export"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify"; }
expect_in "$T/v" "audit log intact"
expect_in "$T/v" "records intact"
echo "doc scenario ok"
