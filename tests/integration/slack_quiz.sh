# Quiz answers on Slack, end to end, against a fake that enforces Block Kit
# as Slack does: a campaign's question DM is accepted (no invalid_blocks),
# a click on an answer button records the answer, and after the deadline a
# click is told the quiz closed on which day and changes nothing.
# engines: sqlite pg
. tests/integration/lib.sh
. tests/integration/slack.inc
DB=$(db_path isms.db)
new_db "$DB"
start_fake
register_staff config/demo/staff.csv
cat >"$T/ismsd.conf" <<EOC
[store]
$(store_conf "$DB")
[slack]
enabled = true
app_token = xapp-1-TEST
bot_token = xoxb-TEST
api_base = $FAKE/api
[org]
working_days = mon-sun
working_hours = 00:00-24:00
[quiz]
every = off
EOC
start_ismsd "$T/ismsd.conf"
await open_connections 1

# 1. a campaign for engineering: every question DM reaches Slack, with
#    numbered answer buttons whose action ids are unique
slash U0CAROL C0GENERAL /isms "quiz start questions=2 audience=team:engineering"
acked "$ENV"
expect_in "$T/ack" "QZ-1 started"
N=$(sql "$DB" "SELECT COUNT(*) FROM quiz_participants")
[ "$N" -ge 2 ] || fail "participants: $N"
sql_wait "$DB" "SELECT COUNT(*) FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'quiz' AND d.transport = 'slack' AND d.status = 'sent'" "$N"
[ "$(state "sum(1 for c in d['api_calls'] if c['method'] == 'chat.postMessage' and not c['ok'])")" = 0 ] ||
	fail "Slack refused a message: $(state "[c['response'] for c in d['api_calls'] if not c['ok']]")"
ALICE_DM=$(dm U0ALICE)
# the question message: its buttons, as Slack shows them
curl -sS "$FAKE/_control/state" >"$T/state" || fail "fake state"
$PY - "$T/state" "$ALICE_DM" >"$T/buttons" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
m = [m for m in d["messages"] if m["channel"] == sys.argv[2] and m["blocks"]][-1]
els = [e for b in m["blocks"] if b["type"] == "actions" for e in b["elements"]]
ids = [e["action_id"] for e in els]
assert len(els) == 4 and len(set(ids)) == 4, ids
print(m["ts"], " ".join(ids))
EOP
read -r Q_TS A1 A2 A3 A4 <"$T/buttons"
[ "$A2" = isms_quiz:2 ] || fail "action ids: $A1 $A2 $A3 $A4"
QID=$(sql "$DB" "SELECT i.question_id FROM quiz_items i JOIN people p ON p.id = i.person_id WHERE p.handle = 'alice' AND i.seq = 1")

# 2. alice clicks "2": the answer is recorded, the next question follows
ctl block_action "{\"user_id\":\"U0ALICE\",\"channel_id\":\"$ALICE_DM\",\"message_ts\":\"$Q_TS\",\"action_id\":\"$A2\"}"
sql_wait "$DB" "SELECT answer FROM quiz_items i JOIN people p ON p.id = i.person_id WHERE p.handle = 'alice' AND i.question_id = '$QID'" 2
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'quiz.answer%' AND actor = 'alice'")" -ge 1 ] ||
	fail "answer not audited"
wait_state "any('next question' in (p.get('json') or {}).get('text', '') for p in d['response_posts'])"
wait_state "sum(1 for m in d['messages'] if m['channel'] == '$ALICE_DM' and m['blocks']) == 2"
curl -sS "$FAKE/_control/state" >"$T/state" || fail "fake state"
$PY - "$T/state" "$ALICE_DM" >"$T/buttons" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
m = [m for m in d["messages"] if m["channel"] == sys.argv[2] and m["blocks"]][-1]
print(m["ts"], " ".join(e["action_id"] for b in m["blocks"] if b["type"] == "actions" for e in b["elements"]))
EOP
read -r Q_TS A1 A2 A3 A4 <"$T/buttons"

# 3. the deadline passes before the scheduler closes the campaign: a click
#    on the second question is told when the quiz closed, and nothing changes
sql "$DB" "UPDATE quiz_campaigns SET deadline_at = $(date +%s) - 60"
DAY=$(sql "$DB" "SELECT date(deadline_at, 'unixepoch') FROM quiz_campaigns")
ITEMS="SELECT group_concat(question_id || ':' || COALESCE(CAST(answer AS TEXT), '-') || ':' || COALESCE(CAST(answered_at AS TEXT), '-')) FROM (SELECT * FROM quiz_items ORDER BY campaign_id, person_id, seq) q"
BEFORE=$(sql "$DB" "$ITEMS")
AUDIT=$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE actor = 'alice'")
ctl block_action "{\"user_id\":\"U0ALICE\",\"channel_id\":\"$ALICE_DM\",\"message_ts\":\"$Q_TS\",\"action_id\":\"$A3\"}"
wait_state "any('QZ-1 closed on $DAY' in (p.get('json') or {}).get('text', '') for p in d['response_posts'])"
[ "$(sql "$DB" "$ITEMS")" = "$BEFORE" ] || fail "a click after the deadline changed the answers"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE actor = 'alice'")" = "$AUDIT" ] || fail "a late click was audited"
[ "$(sql "$DB" "SELECT COUNT(*) FROM quiz_items WHERE answered_at IS NOT NULL")" = 1 ] || fail "late answer recorded"

# every answer Slack got was accepted too
[ "$(state "[p['status'] for p in d['response_posts'] if p['status'] != 200]")" = "[]" ] ||
	fail "a response_url post was refused"
stop_ismsd
no_secrets "$T/ismsd.err"
