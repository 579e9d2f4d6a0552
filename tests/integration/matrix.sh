# The Matrix transport against the fake homeserver: invites judged by
# server, commands and private answers, approvals and quiz answers in the
# DM, a restart without replay, rate limits, idempotent sends, 5xx
# retries, token revocation with and without a password.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
LOG=$T/ismsd.log
PW=pw-Zq83x
TOKEN=syt_tok_Zq83x
BOT=@isms:example.org
new_db "$DB"

. tests/integration/matrix.inc
start_mx_fake --bot-password "$PW" --bot-token "$TOKEN"
conf() {
	cat >"$T/ismsd.conf" <<EOF
[store]
$(store_conf "$DB")
[matrix]
enabled = true
homeserver = $URL/
user_id = $BOT
allowed_servers = example.org
$1
[org]
working_days = mon-sun
working_hours = 00:00-24:00
[quiz]
every = off
[log]
level = debug
EOF
}
DPID=
start_daemon() {
	n=$(mx eval "len(d['requests'])")
	"$ISMSD" -c "$T/ismsd.conf" >>"$LOG" 2>&1 &
	DPID=$!
	PIDS="$PIDS $DPID"
	until_ "polling($n)" 15
}
stop_daemon() {
	t0=$(date +%s)
	kill -TERM "$DPID"
	rc=0
	wait "$DPID" || rc=$?
	[ $rc = 0 ] || { tail -40 "$LOG"; fail "ismsd exited with $rc after SIGTERM"; }
	[ $(($(date +%s) - t0)) -le 5 ] || fail "ismsd took too long to stop during a long-poll"
}

post users '[{"user_id":"@dana:example.org"},{"user_id":"@carol:example.org"},
	{"user_id":"@erik:example.org"},{"user_id":"@bob:example.org"},
	{"user_id":"@alice:example.org"},{"user_id":"@frank:example.org"},
	{"user_id":"@mallory:evil.org"}]' >/dev/null

# 1. password login with the configured device; the first sync skips history
conf "password = env:ISMS_TEST_MX_PW"
export ISMS_TEST_MX_PW=$PW
OLD=$(post room '{"creator":"@alice:example.org","members":["@alice:example.org","@bob:example.org"]}' room_id)
post send "{\"room_id\":\"$OLD\",\"sender\":\"@alice:example.org\",\"body\":\"!incident from before\"}" >/dev/null
post invite "{\"room_id\":\"$OLD\",\"sender\":\"@alice:example.org\"}" >/dev/null
start_daemon
[ "$(mx eval "[(l['ok'], l['device_id']) for l in d['logins']]")" = "[(True, 'ISMSD')]" ] || fail "login"
until_ "member('$OLD', BOT) == 'join'"

# 2. invites: evil.org is ignored, example.org is joined
EVIL=$(post invite '{"sender":"@mallory:evil.org","name":"Evil"}' room_id)
ROOM=$(post room '{"creator":"@alice:example.org","name":"Security","members":["@alice:example.org","@bob:example.org","@frank:example.org"]}' room_id)
post invite "{\"room_id\":\"$ROOM\",\"sender\":\"@alice:example.org\"}" >/dev/null
until_ "member('$ROOM', BOT) == 'join'"
[ "$(mx eval "member('$EVIL', BOT)")" = invite ] || fail "joined a room of a server that is not allowed"
expect_in "$LOG" "ignoring the invite to $EVIL from @mallory:evil.org"
# an encrypted room is told once that it is not supported, then ignored
ENC=$(post invite '{"sender":"@bob:example.org","name":"Secret","encrypted":true,"preset":"private_chat"}' room_id)
until_ "len(bot('$ENC')) == 1"
[ "$(mx eval "'does not support encrypted rooms' in bot('$ENC')[0]['content']['body']")" = True ] || fail "encryption notice"
post send "{\"room_id\":\"$ENC\",\"sender\":\"@bob:example.org\",\"type\":\"m.room.encrypted\",\"content\":{\"algorithm\":\"m.megolm.v1.aes-sha2\",\"ciphertext\":\"AwgA\"}}" >/dev/null

# 3. a command in a shared room: the incident is recorded, the details go to
#    the reporter's DM and the room gets a short notice in reply
post send "{\"room_id\":\"$ROOM\",\"sender\":\"@frank:example.org\",\"body\":\"just chatting\"}" >/dev/null
CMD=$(post send "{\"room_id\":\"$ROOM\",\"sender\":\"@alice:example.org\",\"body\":\"!incident Phishing mail asking for VPN password severity=high\"}" event_id)
until_ "len(bot('$ROOM')) == 1"
[ "$(mx eval "[(e['content']['msgtype'], e['content']['m.relates_to']['m.in_reply_to']['event_id'], e['content']['body']) for e in bot('$ROOM')]")" = \
	"[('m.notice', '$CMD', 'I answered you privately.')]" ] || fail "room answer"
[ "$(sql "$DB" "SELECT title || '|' || severity || '|' || via FROM incidents")" = \
	"Phishing mail asking for VPN password|high|matrix" ] || fail "incident row"
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE title LIKE '%before%'")" = 0 ] || fail "history was replayed"
wait_sql "SELECT COUNT(*) FROM matrix_dm WHERE user_id = '@alice:example.org'" 1
ADM=$(sql "$DB" "SELECT room_id FROM matrix_dm WHERE user_id = '@alice:example.org'")
until_ "len(bot('$ADM')) == 1"
[ "$(mx eval "'Recorded as INC-1' in bot('$ADM')[0]['content']['body'] and 'm.relates_to' not in bot('$ADM')[0]['content']")" = True ] || fail "private answer"
[ "$(mx eval "all(c['request'].get('is_direct') is True and c['request'].get('preset') == 'trusted_private_chat' for c in d['created_rooms'])")" = True ] || fail "createRoom"
until_ "'$ADM' in (d['m_direct'] or {}).get('@alice:example.org', [])"

# 4. approvals: closing INC-1 asks carol; she replies "approve ok" to the
#    request in her DM; a second one she approves without replying
printf '%s\n' 'incident assign INC-1 @bob' | console "$DB" carol
printf '%s\n' 'incident status INC-1 contained' 'incident close INC-1 Mail filter tightened' | console "$DB" bob
expect_in "$T/out" "requested as APR-1"
APRD="SELECT d.id FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'approval' AND d.transport = 'matrix'"
wait_sql "SELECT status FROM outbox_delivery WHERE id = ($APRD)" sent
CDM=$(sql "$DB" "SELECT channel FROM outbox_delivery WHERE id = ($APRD)")
APREV=$(sql "$DB" "SELECT external_id FROM outbox_delivery WHERE id = ($APRD)")
[ "$CDM" = "$(sql "$DB" "SELECT room_id FROM matrix_dm WHERE user_id = '@carol:example.org'")" ] || fail "approval not in carol's DM"
[ "$(mx eval "[e['txn_id'] for e in bot('$CDM') if e['event_id'] == '$APREV']")" = "['isms-d$(sql "$DB" "$APRD")']" ] || fail "txnId"
post send "{\"room_id\":\"$CDM\",\"sender\":\"@carol:example.org\",\"body\":\"> <$BOT> Approval needed\n\napprove ok\",\"in_reply_to\":\"$APREV\"}" >/dev/null
wait_sql "SELECT status || '|' || decided_via || '|' || comment FROM approvals WHERE id = 1" "approved|matrix|ok"
[ "$(sql "$DB" "SELECT status FROM incidents WHERE id = 1")" = closed ] || fail "INC-1 not closed"
printf '%s\n' '/incident USB stick found in the car park' | console "$DB" frank
printf '%s\n' 'incident assign INC-2 @bob' | console "$DB" carol
printf '%s\n' 'incident status INC-2 resolved' 'incident close INC-2 Stick destroyed' | console "$DB" bob
wait_sql "SELECT COUNT(*) FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'approval' AND d.status = 'sent'" 2
post send "{\"room_id\":\"$CDM\",\"sender\":\"@carol:example.org\",\"body\":\"Approve, thanks\"}" >/dev/null
wait_sql "SELECT status || '|' || comment FROM approvals WHERE id = 2" "approved|thanks"

# a quiz campaign's question shows numbered options; a bare number in the
# DM answers it (not the command "2")
printf '%s\n' 'quiz start questions=1 audience=team:engineering' |
	"$ISMSD" --console -c "$T/ismsd.conf" --as carol >"$T/out" 2>>"$LOG"
expect_in "$T/out" "QZ-1 started"
QID=$(sql "$DB" "SELECT i.question_id FROM quiz_items i JOIN people p ON p.id = i.person_id WHERE p.handle = 'alice'")
wait_sql "SELECT d.status FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'quiz' AND o.person_id = (SELECT id FROM people WHERE handle = 'alice')" sent
[ "$(mx eval "'1) ' in bot('$ADM')[-1]['content']['formatted_body'] and '4) ' in bot('$ADM')[-1]['content']['formatted_body']")" = True ] || \
	fail "quiz rendering: $(mx eval "bot('$ADM')[-1]['content']['formatted_body']")"
QN=$(mx eval "len(bot('$ADM'))")
ANS=$(post send "{\"room_id\":\"$ADM\",\"sender\":\"@alice:example.org\",\"body\":\"2\"}" event_id)
until_ "len(bot('$ADM')) == $QN + 1"
[ "$(mx eval "bot('$ADM')[-1]['content']['m.relates_to']['m.in_reply_to']['event_id']")" = "$ANS" ] || fail "quiz answer reply"
wait_sql "SELECT answer FROM quiz_items WHERE question_id = '$QID' AND person_id = (SELECT id FROM people WHERE handle = 'alice')" 2
# after the deadline (before the scheduler closes the campaign) a number
# reply is told when the quiz closed and changes nothing
DEADLINE=$(sql "$DB" "SELECT deadline_at FROM quiz_campaigns WHERE id = 1")
sql "$DB" "UPDATE quiz_campaigns SET deadline_at = $(date +%s) - 60 WHERE id = 1"
DAY=$(sql "$DB" "SELECT date(deadline_at, 'unixepoch') FROM quiz_campaigns WHERE id = 1")
QN=$(mx eval "len(bot('$ADM'))")
post send "{\"room_id\":\"$ADM\",\"sender\":\"@alice:example.org\",\"body\":\"3\"}" >/dev/null
until_ "len(bot('$ADM')) == $QN + 1"
[ "$(mx eval "'QZ-1 closed on $DAY' in bot('$ADM')[-1]['content']['body']")" = True ] ||
	fail "late quiz reply: $(mx eval "bot('$ADM')[-1]['content']['body']")"
[ "$(sql "$DB" "SELECT answer FROM quiz_items WHERE question_id = '$QID' AND person_id = (SELECT id FROM people WHERE handle = 'alice')")" = 2 ] ||
	fail "a late reply changed the answer"
sql "$DB" "UPDATE quiz_campaigns SET deadline_at = $DEADLINE WHERE id = 1"

# 5. restart: resumes from the saved next_batch; nothing is replayed, and
#    what was said while it was down is answered once
stop_daemon
BATCH=$(sql "$DB" "SELECT value FROM settings WHERE key = 'matrix.next_batch'")
[ -n "$BATCH" ] || fail "next_batch not saved"
BEFORE=$(mx eval "len(bot('$ROOM'))")
NREQ=$(mx eval "len(d['requests'])")
post send "{\"room_id\":\"$ROOM\",\"sender\":\"@alice:example.org\",\"body\":\"!incident Printer room left unlocked\"}" >/dev/null
start_daemon
until_ "len(bot('$ROOM')) == $BEFORE + 1"
SINCE=$(mx eval "[r['since'] for r in d['requests'][$NREQ:] if r['path'].endswith('/sync')][0]")
[ "$SINCE" = "$BATCH" ] || fail "restart did not resume from next_batch ($SINCE, saved $BATCH)"
sleep 1
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents")" = 3 ] || fail "incidents after restart: $(sql "$DB" "SELECT COUNT(*) FROM incidents")"
[ "$(mx eval "len(bot('$ROOM'))")" = $((BEFORE + 1)) ] || fail "a replayed answer"
[ "$(sql "$DB" "SELECT COUNT(*) FROM approvals WHERE status = 'approved'")" = 2 ] || fail "approvals after restart"
[ "$(mx eval "len(bot('$ENC'))")" = 1 ] || fail "the encrypted room was told more than once"
[ "$(sql "$DB" "SELECT CAST(encrypted AS TEXT) || CAST(warned AS TEXT) FROM matrix_rooms WHERE room_id = '$ENC'")" = 11 ] || fail "encrypted room state"

# 6. 429 M_LIMIT_EXCEEDED on /send/: the retry waits Retry-After; a send
#    repeated after a "crash" (delivery reset) reuses its txnId: one event
post ratelimit '{"path_contains":"/send/","count":1,"retry_after_ms":2500,"header":true}' >/dev/null
printf '%s\n' 'incident assign INC-3 @erik' | console "$DB" carol
NOTE="SELECT d.id FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.subject LIKE 'INC-3 assigned%'"
wait_sql "SELECT COUNT(*) FROM ($NOTE) n" 1
ND=$(sql "$DB" "$NOTE" | head -1)
wait_sql "SELECT status FROM outbox_delivery WHERE id = $ND" sent 25
[ "$(sql "$DB" "SELECT attempts FROM outbox_delivery WHERE id = $ND")" = 2 ] || fail "attempts after a 429"
[ "$(mx eval "(lambda ok, lim: ok[0]['time'] - lim[0]['time'] >= 2.5)([r for r in reqs('PUT', '/isms-d$ND') if r['status'] == 200], d['ratelimited'])")" = True ] || \
	fail "the retry did not wait for Retry-After"
NROOM=$(sql "$DB" "SELECT channel FROM outbox_delivery WHERE id = $ND")
sql "$DB" "UPDATE outbox_delivery SET status = 'pending', next_at = 0 WHERE id = $ND"
until_ "len([r for r in reqs('PUT', '/isms-d$ND') if r['status'] == 200]) == 2"
wait_sql "SELECT status FROM outbox_delivery WHERE id = $ND" sent
[ "$(mx eval "len([e for e in bot('$NROOM') if e['txn_id'] == 'isms-d$ND'])")" = 1 ] || fail "a retried send was duplicated"

# network trouble: 5xx on /sync and on a send are retried with backoff
post fail '{"path_contains":"/sync","count":2,"status":502}' >/dev/null
post fail '{"path_contains":"/send/","count":1,"status":503}' >/dev/null
BEFORE=$(mx eval "len(bot('$ROOM'))")
post send "{\"room_id\":\"$ROOM\",\"sender\":\"@alice:example.org\",\"body\":\"!isms help incident\"}" >/dev/null
until_ "len(d['failed']) == 3 and len(bot('$ROOM')) == $BEFORE + 1" 15
expect_in "$LOG" "/sync failed (HTTP 502"

# 7. a revoked token with a password: log in again (same device), go on
OLDTOK=$(mx eval "d['logins'][-1]['access_token']")
NLOGIN=$(mx eval "len(d['logins'])")
NREQ=$(mx eval "len(d['requests'])")
post revoke_token "{\"token\":\"$OLDTOK\"}" >/dev/null
BEFORE=$(mx eval "len(bot('$ROOM'))")
post send "{\"room_id\":\"$ROOM\",\"sender\":\"@alice:example.org\",\"body\":\"!isms help\"}" >/dev/null
until_ "len(bot('$ROOM')) == $BEFORE + 1" 15
until_ "polling($NREQ)"
[ "$(mx eval "[l['device_id'] for l in d['logins'][$NLOGIN:]]")" = "['ISMSD']" ] || fail "re-login"
expect_in "$LOG" "access token was rejected; logging in again"
stop_daemon

# 8. a revoked token and no password: the adapter stops, the daemon runs on
conf "access_token = env:ISMS_TEST_MX_TOKEN"
export ISMS_TEST_MX_TOKEN=$TOKEN
post config '{"max_sync_timeout_ms":500}' >/dev/null
start_daemon
post revoke_token "{\"token\":\"$TOKEN\"}" >/dev/null
wait_for grep -q "matrix: stopped: the homeserver rejected the access token" "$LOG" || { tail "$LOG"; fail "no clear log line"; }
sleep 1
kill -0 "$DPID" || fail "the daemon died with the adapter"
NREQ=$(mx eval "len(d['requests'])")
sleep 1
[ "$(mx eval "len(d['requests'])")" = "$NREQ" ] || fail "the stopped adapter still talks to the homeserver"
stop_daemon

# 9. secrets never reach the log, and the audit chain is intact
expect_not_in "$LOG" "Zq83x"
expect_not_in "$LOG" "syt_"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit verify"
echo "matrix ok"
