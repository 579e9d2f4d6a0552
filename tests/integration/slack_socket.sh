# Slack Socket Mode against the fake: commands, DMs, approvals by button and
# thread reply, linking, reconnects, redelivery, 429, kill -9, revocation;
# nothing lost or doubled, SIGTERM clean.
# engines: sqlite pg
. tests/integration/lib.sh
. tests/integration/slack.inc
DB=$(db_path isms.db)
# ivan and heidi have no Slack id in the directory; the fake knows ivan
sed -e 's/,U0IVAN,/,,/' -e 's/,U0HEIDI,/,,/' config/demo/staff.csv >"$T/staff.csv"
grep -v '^heidi,' config/demo/staff.csv >"$T/workspace.csv"
new_db "$DB" "$T/staff.csv"
start_fake
register_staff "$T/workspace.csv"
cat >"$T/ismsd.conf" <<EOC
[store]
$(store_conf "$DB")
[slack]
enabled = true
app_token = xapp-1-TEST
bot_token = xoxb-TEST
api_base = $FAKE/api
EOC
start_ismsd "$T/ismsd.conf"
await open_connections 1
wait_for grep -q "slack: connected (Socket Mode" "$T/ismsd.err" || fail "no hello"

# 1. people without a Slack id are linked by e-mail, audited
sql_wait "$DB" "SELECT slack_id FROM people WHERE handle = 'ivan'" U0IVAN
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'person.slack_link' AND object = 'ivan'")" = 1 ] || fail "link not audited"

# 2. a slash command in a channel: incident row, private answer on the ack,
#    DMs to both isms_managers
slash U0ALICE C0GENERAL /incident "Phishing mail asking for my VPN password severity=high"
ENV_INC1=$ENV
acked "$ENV"
expect_in "$T/ack" "Recorded as INC-1 (severity high)"
[ "$(state "[a['payload']['response_type'] for a in d['acks']][-1]")" = ephemeral ] || fail "answer not ephemeral"
[ "$(sql "$DB" "SELECT title || '|' || via FROM incidents")" = "Phishing mail asking for my VPN password|slack" ] || fail "incident row"
wait_state "sorted(m['channel'] for m in d['messages'] if 'INC-1' in m['text']) == sorted([d['dms'].get('U0CAROL'), d['dms'].get('U0ERIK')])"
sql_wait "$DB" "SELECT COUNT(*) FROM outbox_delivery WHERE transport = 'slack' AND status = 'sent' AND channel LIKE 'D%' AND external_id IS NOT NULL" 2

# 3. a mention in a channel is answered privately when confidential;
#    chatter without a mention is left alone; a DM is answered in thread
say U0ALICE C0GENERAL "<@U0FAKEBOT1> incident show INC-1"
wait_state "any('Phishing mail' in e['text'] and e['user'] == 'U0ALICE' for e in d['ephemerals'])"
say U0ALICE C0GENERAL "lunch anyone?"
acked "$ENV"
say U0ALICE D0ALICEDM "incident list"
ENV_DM=$ENV
DM_TS=$TS
wait_state "any(m['channel'] == 'D0ALICEDM' and m['thread_ts'] == '$DM_TS' and 'INC-1' in m['text'] for m in d['messages'])"
[ "$(state "sum(1 for m in d['messages'] if m['channel'] == 'C0GENERAL')")" = 0 ] || fail "answered in the channel"

# 4. an approval by button: DM with buttons, click, decided, message updated
slash U0CAROL C0GENERAL /isms "incident assign INC-1 @bob"
slash U0BOB C0GENERAL /isms "incident status INC-1 contained"
slash U0BOB C0GENERAL /isms "incident close INC-1 Add a phishing button to the mail client"
acked "$ENV"
expect_in "$T/ack" "requested as APR-1; waiting for carol"
wait_state "any(m['blocks'] and 'APR-1' in m['text'] and m['channel'] == d['dms']['U0CAROL'] for m in d['messages'])"
APR_CH=$(state "[m['channel'] for m in d['messages'] if m['blocks'] and 'APR-1' in m['text']][0]")
APR_TS=$(state "[m['ts'] for m in d['messages'] if m['blocks'] and 'APR-1' in m['text']][0]")
ctl block_action "{\"user_id\":\"U0CAROL\",\"channel_id\":\"$APR_CH\",\"message_ts\":\"$APR_TS\",\"action_id\":\"isms_approve\"}"
sql_wait "$DB" "SELECT status || '|' || decided_via FROM approvals WHERE id = 1" "approved|slack"
[ "$(sql "$DB" "SELECT status FROM incidents WHERE id = 1")" = closed ] || fail "not closed"
wait_state "any('APR-1 approved' in (p.get('json') or {}).get('text', '') for p in d['response_posts'])"
wait_state "any(u['ts'] == '$APR_TS' and u['blocks'] and not any(b['type'] == 'actions' for b in u['blocks']) and 'approved' in u['text'] for u in d['updates'])"

# 5. an approval by a reply in its thread (after a Reject click without a
#    reason, which asks for one)
say U0ALICE D0ALICEDM "incident report Lost my badge at the station severity=low"
wait_state "any(m['thread_ts'] == '$TS' and 'INC-2' in m['text'] for m in d['messages'])"
slash U0ERIK C0GENERAL /isms "incident close INC-2 Badges now need a PIN"
acked "$ENV"
expect_in "$T/ack" "requested as APR-2; waiting for carol"
wait_state "any(m['blocks'] and 'APR-2' in m['text'] for m in d['messages'])"
APR_TS=$(state "[m['ts'] for m in d['messages'] if m['blocks'] and 'APR-2' in m['text']][0]")
ctl block_action "{\"user_id\":\"U0CAROL\",\"channel_id\":\"$APR_CH\",\"message_ts\":\"$APR_TS\",\"action_id\":\"isms_reject\"}"
wait_state "any('reply in this message' in (p.get('json') or {}).get('text', '') for p in d['response_posts'])"
[ "$(sql "$DB" "SELECT status FROM approvals WHERE id = 2")" = pending ] || fail "rejected without a reason"
say U0CAROL "$APR_CH" "Reject: need more detail on the badge" "$APR_TS"
sql_wait "$DB" "SELECT status || '|' || comment FROM approvals WHERE id = 2" "rejected|need more detail on the badge"
wait_state "any(m['thread_ts'] == '$APR_TS' and 'APR-2 rejected' in m['text'] for m in d['messages'])"

# 6. redelivered envelopes are acked again and otherwise ignored
incidents=$(sql "$DB" "SELECT COUNT(*) FROM incidents")
dm_msgs=$(state "sum(1 for m in d['messages'] if m['channel'] == 'D0ALICEDM')")
ctl redeliver "{\"envelope_id\":\"$ENV_INC1\"}"
ctl redeliver "{\"envelope_id\":\"$ENV_DM\"}"
wait_state "sum(1 for a in d['acks'] if a['envelope_id'] in ('$ENV_INC1', '$ENV_DM')) == 4"
[ "$(state "[a['has_payload'] for a in d['acks'] if a['envelope_id'] == '$ENV_INC1']")" = "[True, False]" ] || fail "redelivery answered"
sleep 0.5
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents")" = "$incidents" ] || fail "redelivery applied twice"
[ "$(state "sum(1 for m in d['messages'] if m['channel'] == 'D0ALICEDM')")" = "$dm_msgs" ] || fail "redelivery answered again"

# 7. refresh_requested, then a dropped socket, with traffic meanwhile: no
#    loss, no duplicates; the new connection opens before the old closes
ctl disconnect '{"reason":"refresh_requested","close_after":1.0}'
REFRESH_ENVS=""
for i in 1 2 3; do
	slash U0ALICE C0GENERAL /incident "Refresh test $i"
	REFRESH_ENVS="$REFRESH_ENVS '$ENV',"
done
await connections 2
wait_state "d['connections']['list'][1]['time'] < (d['connections']['list'][0]['closed'] or 1e18)"
ctl drop '{}'
for i in 4 5 6; do slash U0ALICE C0GENERAL /incident "Drop test $i"; done
await connections 3
sql_wait "$DB" "SELECT COUNT(*) FROM incidents" $((incidents + 6))
[ "$(sql "$DB" "SELECT COUNT(DISTINCT title) FROM incidents WHERE title LIKE '% test %'")" = 6 ] || fail "lost or doubled"
wait_state "all(e['acked'] for e in d['envelopes'])"
# a refresh loses no answer either: the old connection closes after its acks
[ "$(state "all(any('Recorded as' in ((a.get('payload') or {}).get('text') or '') for a in d['acks'] if a['envelope_id'] == e) for e in [$REFRESH_ENVS])")" = True ] || fail "an answer was lost in the refresh"

# 8. a sender the directory lacks is linked through users.info; a stranger
#    is refused politely and changes nothing
wait_state "sum(1 for c in d['api_calls'] if c['method'] == 'users.lookupByEmail') >= 2"
ctl users '{"users":[{"id":"U0HEIDI","name":"heidi","email":"heidi@example.org"},{"id":"U0MALLORY","name":"mallory","email":"mallory@evil.example"}]}'
slash U0HEIDI C0GENERAL /isms approvals
acked "$ENV"
expect_in "$T/ack" "Nothing is waiting for your approval."
[ "$(sql "$DB" "SELECT slack_id FROM people WHERE handle = 'heidi'")" = U0HEIDI ] || fail "heidi not linked"
expect_in "$T/ismsd.err" "linked heidi to Slack user U0HEIDI (users.info)"
before=$(db_digest "$DB")
slash U0MALLORY C0GENERAL /incident "I am not staff"
acked "$ENV"
expect_in "$T/ack" "you are not in the ISMS directory"
sleep 0.3
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE title LIKE 'I am not%'")" = 0 ] || fail "stranger reported"

# 9. 429 with Retry-After: the method pauses for that channel, then resumes;
#    chat.postMessage keeps to about one a second per channel
sql_wait "$DB" "SELECT COUNT(*) FROM outbox o LEFT JOIN outbox_delivery d ON d.outbox_id = o.id WHERE o.routed = 0 OR d.status = 'pending'" 0
ctl ratelimit '{"method":"chat.postMessage","count":1,"retry_after":2}'
slash U0ALICE C0GENERAL /incident "USB stick found in the car park"
wait_state "sum(1 for m in d['messages'] if 'USB stick' in m['text']) == 2"
state "[(c['mono'], c['params'].get('channel'), c['status']) for c in d['api_calls'] if c['method'] == 'chat.postMessage']" >"$T/posts"
$PY - "$T/posts" <<'EOP' || fail "429 or pacing not honoured"
import ast, sys
calls = ast.literal_eval(open(sys.argv[1]).read())
limited = [c for c in calls if c[2] == 429]
assert len(limited) == 1, limited
t, ch, _ = limited[0]
after = [c for c in calls if c[1] == ch and c[0] > t]
assert after and after[0][0] - t >= 2.0, (t, after[:1])
last = {}
for mono, ch, _ in calls:
    # paced from the start of each request; the fake stamps them on arrival
    assert ch not in last or mono - last[ch] >= 0.8, ("pace", ch, mono - last[ch])
    last[ch] = mono
EOP

# 10. kill -9 in the middle of a burst, then a restart: Slack redelivers
#     what was not acked, and every report is recorded exactly once
for i in 1 2 3 4 5 6 7 8; do
	slash U0ALICE C0GENERAL /incident "Crash test $i"
	if [ $i = 4 ]; then
		kill -9 "$ISMSD_PID"
		wait "$ISMSD_PID" 2>/dev/null || true
	fi
done
mv "$T/ismsd.err" "$T/ismsd.1.err"
start_ismsd "$T/ismsd.conf"
sql_wait "$DB" "SELECT COUNT(DISTINCT title) || '|' || COUNT(*) FROM incidents WHERE title LIKE 'Crash test %'" "8|8"
wait_state "all(e['acked'] for e in d['envelopes'])"
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE title LIKE 'Crash test %'")" = 8 ] || fail "doubled after the crash"
# SIGTERM while connected: exit 0, no leak; then up again
wait_for grep -q "slack: connected (Socket Mode" "$T/ismsd.err" || fail "no hello"
stop_ismsd
mv "$T/ismsd.err" "$T/ismsd.2.err"
start_ismsd "$T/ismsd.conf"
wait_for grep -q "slack: connected (Socket Mode" "$T/ismsd.err" || fail "no hello"

# 11. a revoked bot token stops the transport with a clear line; the
#     daemon keeps running and the messages wait in the outbox
ctl revoke '{"token":"xoxb-TEST"}'
slash U0ALICE C0GENERAL /incident "Reported after the revocation"
acked "$ENV"
expect_in "$T/ack" "Recorded as INC-"
wait_for grep -q "slack: stopped: Slack refused the bot token (slack.bot_token) (token_revoked)" "$T/ismsd.err" || { cat "$T/ismsd.err"; fail "no clear line"; }
wait_state "d['connections']['open'] == 0"
sleep 0.5
kill -0 "$ISMSD_PID" || fail "the daemon died"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox_delivery WHERE transport = 'slack' AND status = 'pending'")" -ge 1 ] || fail "messages lost"

stop_ismsd
no_secrets "$T/ismsd.1.err" "$T/ismsd.2.err" "$T/ismsd.err" "$T/ismsd.out"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
echo "slack socket mode ok"
