# A message Slack refuses for good reaches the person over Matrix; one
# that no transport can deliver is in the isms_managers' daily digest
# (queued by `ismsctl run-scheduler`, then delivered over Slack) and
# counted by the report. The Slack and Matrix fakes stand in for the
# platforms; Slack refuses with its own error shape (channel_not_found).
# engines: sqlite pg
. tests/integration/lib.sh
. tests/integration/slack.inc
DB=$(db_path isms.db)
PW=pw-Dl41x
cat >"$T/staff.csv" <<'EOF'
handle,name,email,slack_id,matrix_id,manager,team,timezone,roles
dana,Dana Okafor,,U0DANA,,,management,UTC,manager;admin
carol,Carol Diaz,,U0CAROL,,dana,security,UTC,isms_manager;manager
erik,Erik Lund,,U0ERIK,,carol,security,UTC,isms_manager
bob,Bob Martin,,U0BOB,@bob:example.org,dana,engineering,UTC,manager;risk_owner
frank,Frank Weber,,U0FRANK,,bob,engineering,UTC,
EOF
new_db "$DB" "$T/staff.csv"
start_fake
register_staff "$T/staff.csv"

$PY tests/fakes/matrix/matrix_fake.py --bot-password "$PW" >"$T/mx.out" 2>"$T/mx.err" &
PIDS="$PIDS $!"
wait_for grep -q port "$T/mx.out" || fail "the fake homeserver did not start"
MX=http://127.0.0.1:$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$T/mx.out")
mx() { $PY tests/integration/matrix_ctl.py "$MX" "$@"; }
mx post users '[{"user_id":"@bob:example.org"}]' >/dev/null

# nudges are kept out of the daemon's own passes: its working hour is
# half a day away, so only the scheduler run by hand below makes a digest
H=$(( ($(date -u +%H | sed 's/^0//') + 12) % 24 ))
printf '%s\n' 4b1d2c3e5f60718293a4b5c6d7e8f901 >"$T/secret"
chmod 600 "$T/secret"
cat >"$T/ismsd.conf" <<EOC
[store]
$(store_conf "$DB")
[org]
timezone = UTC
working_hours = $(printf '%02d' $H):00-$(printf '%02d' $H):30
[slack]
enabled = true
mode = http
bot_token = xoxb-TEST
signing_secret = file:$T/secret
listen = 127.0.0.1:0
api_base = $FAKE/api
[matrix]
enabled = true
homeserver = $MX/
user_id = @isms:example.org
password = env:ISMS_TEST_MX_PW
allowed_servers = example.org
[quiz]
every = off
[report]
every = off
[log]
level = info
EOC
export ISMS_TEST_MX_PW=$PW
# the same with every hour a working hour, for the pass by hand
sed "s/^working_hours = .*/working_hours = 00:00-24:00\nworking_days = mon-sun/" \
	"$T/ismsd.conf" >"$T/allday.conf"

# 1. Slack refuses bob's message for good: it goes to him over Matrix
ctl fail '{"method":"chat.postMessage","count":1,"error":"channel_not_found"}'
printf 'action add Rotate the API keys owner=@bob due=2027-01-10\n' | console "$DB" carol
start_ismsd "$T/ismsd.conf"
sql_wait "$DB" "SELECT group_concat(transport || ':' || status || ':' || COALESCE(last_error, ''), ' ') FROM (SELECT * FROM outbox_delivery WHERE outbox_id = 1 ORDER BY id) d" \
	"slack:failed:channel_not_found matrix:sent:"
mx until "any('Rotate the API keys' in e['content'].get('body', '') for r in d['rooms'] for e in bot(r))" 10 ||
	fail "bob did not get the message over Matrix"
[ "$(state "[c['error'] for c in d['api_calls'] if c['method'] == 'chat.postMessage']")" = "['channel_not_found']" ] ||
	fail "Slack was not asked once"
expect_in "$T/ismsd.err" "message 1 to bob: trying matrix next"

# 2. frank is reachable on Slack only: refused there, it is undeliverable
ctl fail '{"method":"chat.postMessage","count":1,"error":"channel_not_found"}'
printf 'action add Lock the server room owner=@frank due=2027-01-10\n' | console "$DB" carol
sql_wait "$DB" "SELECT group_concat(transport || ':' || status, ' ') FROM (SELECT * FROM outbox_delivery WHERE outbox_id = 2 ORDER BY id) d" "slack:failed"
wait_for grep -q "message 2 to frank could not be delivered by any transport" "$T/ismsd.err" ||
	fail "no log line for the undeliverable message"
"$ISMSCTL" --db "$DB" report >"$T/report" || fail "report"
expect_in "$T/report" "Undelivered messages: 1 (every transport refused them"
"$ISMSCTL" --db "$DB" outbox failed >"$T/failed"
expect_in "$T/failed" "frank	register	"
expect_in "$T/failed" "	slack:failed	slack: channel_not_found	"
"$ISMSCTL" --db "$DB" outbox all >"$T/all"
expect_in "$T/all" "bob	register	"
expect_in "$T/all" "	slack:failed; matrix:sent	slack: channel_not_found	"
kill -TERM "$ISMSD_PID"
wait "$ISMSD_PID" || fail "ismsd did not stop cleanly"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'digest'")" = 0 ] || fail "the daemon sent a digest out of hours"

# 3. the pass by hand (configuration from ISMSD_CONFIG) queues the digest
# for both isms_managers, once a day
ISMSD_CONFIG=$T/allday.conf "$ISMSCTL" run-scheduler >"$T/pass" || { cat "$T/pass"; fail "run-scheduler"; }
expect_in "$T/pass" "configuration $T/allday.conf; time zone UTC; working hours 00:00-24:00 on mon-sun"
expect_in "$T/pass" "delivery-digest: 2 messages"
expect_in "$T/pass" "-> carol: Undelivered messages: 1 on $(date -u +%F)"
expect_in "$T/pass" "-> erik: Undelivered messages: 1 on"
ISMSD_CONFIG=$T/allday.conf "$ISMSCTL" run-scheduler >"$T/pass2" || fail "second pass"
expect_not_in "$T/pass2" "delivery-digest"

# 4. the daemon delivers the digest over Slack: what, to whom, why
start_ismsd "$T/ismsd.conf"
await messages 2
state "[m['text'] for m in d['messages']]" >"$T/digests"
expect_in "$T/digests" "register to frank"
expect_in "$T/digests" "slack (1 attempt): channel_not_found"
expect_not_in "$T/digests" "register to bob"
expect_not_in "$T/digests" "xoxb-"
sql_wait "$DB" "SELECT COUNT(*) FROM outbox o JOIN outbox_delivery d ON d.outbox_id = o.id WHERE o.kind = 'digest' AND d.status = 'sent'" 2
kill -TERM "$ISMSD_PID"
wait "$ISMSD_PID" || fail "ismsd did not stop cleanly"
# 5. outbox-retry sends frank's again, not bob's (Matrix delivered it),
# and a renewed failure would be in a later digest
"$ISMSCTL" --db "$DB" outbox-retry >"$T/out" || fail "outbox-retry"
expect_in "$T/out" "requeued 1 failed deliveries; 0 messages will be routed again"
[ "$(sql "$DB" "SELECT status FROM outbox_delivery WHERE outbox_id = 1 AND transport = 'slack'")" = failed ] ||
	fail "bob's message, delivered over Matrix, was requeued"
[ "$(sql "$DB" "SELECT status FROM outbox_delivery WHERE outbox_id = 2")" = pending ] || fail "frank's was not requeued"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'delivery.failed'")" = 0 ] ||
	fail "the requeued message is still marked as reported"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
echo "delivery fallback ok"
