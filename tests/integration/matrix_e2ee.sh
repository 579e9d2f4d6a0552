# ismsd in end-to-end encrypted rooms, against a real E2EE client that
# nobody here wrote: matrix-js-sdk with its Rust crypto plays the staff
# (tests/integration/matrix_e2ee/human.mjs) through the fake homeserver.
# alice starts an encrypted DM with the bot and reports an incident; the
# answer arrives encrypted and decrypts; carol's approval request arrives
# encrypted and her encrypted reply decides it; a quiz number in an
# encrypted DM answers the quiz; a replayed encrypted event changes
# nothing; alice's second device, added mid-conversation, reads the next
# answer and is read by the bot; after a restart both directions still
# decrypt; neither the pickle key nor a session key reaches the log.
. tests/integration/lib.sh
. tests/integration/matrix_js.inc
js_install
DB=$T/isms.db
LOG=$T/ismsd.log
PW=pw-Ee2W9
BOT=@isms:example.org
A=@alice:example.org
C=@carol:example.org
new_db "$DB"
head -c 32 /dev/urandom | base64 >"$T/pickle.key"
chmod 600 "$T/pickle.key"
PICKLE=$(cat "$T/pickle.key")

start_mx_fake --bot-password "$PW"
post users '[{"user_id":"@alice:example.org"},{"user_id":"@carol:example.org"},
	{"user_id":"@bob:example.org"},{"user_id":"@frank:example.org"}]' >/dev/null
start_humans
cat >"$T/ismsd.conf" <<EOF
[store]
path = $DB
[matrix]
enabled = true
homeserver = $URL/
user_id = $BOT
password = env:ISMS_TEST_MX_PW
allowed_servers = example.org
pickle_key = file:$T/pickle.key
encrypt_dms = yes
trust = tofu
[org]
working_days = mon-sun
working_hours = 00:00-24:00
[quiz]
every = off
[log]
level = debug
EOF
export ISMS_TEST_MX_PW=$PW
DPID=
start_daemon() {
	n=$(mx eval "len(d['requests'])")
	"$ISMSD" -c "$T/ismsd.conf" >>"$LOG" 2>&1 &
	DPID=$!
	PIDS="$PIDS $DPID"
	i=0
	until mx until "polling($n)" 1 2>/dev/null; do
		kill -0 "$DPID" 2>/dev/null || { tail -20 "$LOG"; fail "ismsd exited while starting"; }
		i=$((i + 1))
		[ $i -lt 20 ] || { tail -30 "$LOG"; fail "ismsd does not poll /sync"; }
	done
}
stop_daemon() {
	kill -TERM "$DPID"
	rc=0
	wait "$DPID" || rc=$?
	[ $rc = 0 ] || { tail -40 "$LOG"; fail "ismsd exited with $rc after SIGTERM"; }
}
# encrypted_only ROOM: every message event in ROOM is m.room.encrypted
encrypted_only() {
	[ "$(mx eval "[(e['sender'], e['type']) for e in raw('$1') if 'state_key' not in e and e['type'] != 'm.room.encrypted']")" = "[]" ] ||
		fail "plaintext on the wire in $1: $(mx eval "[(e['sender'], e['type'], e['content']) for e in raw('$1') if 'state_key' not in e and e['type'] != 'm.room.encrypted']")"
}
# bot_answer DEVICE ROOM AFTER [CONTAINS]: the bot's next message in ROOM
# after event AFTER, decrypted by DEVICE; prints its body
bot_answer() {
	W=$(hm wait "{\"as\":\"$1\",\"room\":\"$2\",\"sender\":\"$BOT\",\"after\":\"$3\",\"contains\":\"${4:-}\"}")
	jq_ "$W" "d['events'][0]['body']"
}
count() { sql "$DB" "SELECT COUNT(*) FROM $1"; }

echo "step: the bot logs in and publishes its device keys"
start_daemon
until_ "(d['devices'].get(BOT, {}).get('ISMSD') or {}).get('keys') is not None and len(d['one_time_keys'].get(BOT + '|ISMSD', [])) > 0"
[ "$(mx eval "[l['device_id'] for l in d['logins'] if l['user_id'] == BOT]")" = "['ISMSD']" ] || fail "bot login"

echo "step: alice logs in with matrix-js-sdk and starts an encrypted DM with the bot"
hm login "{\"device\":\"ALICE1\",\"user\":\"$A\"}" >/dev/null
R=$(hm dm "{\"as\":\"ALICE1\",\"with\":\"$BOT\"}" room_id)
until_ "member('$R', BOT) == 'join'"
hm devices "{\"as\":\"ALICE1\",\"user\":\"$BOT\",\"has\":\"ISMSD\"}" >/dev/null

echo "step: an incident reported in the encrypted DM; the answer decrypts"
CMD=$(hm send "{\"as\":\"ALICE1\",\"room\":\"$R\",\"body\":\"!incident Phishing mail asking for VPN password severity=high\"}" event_id)
ANS=$(bot_answer ALICE1 "$R" "$CMD")
case "$ANS" in *"Recorded as INC-1"*) ;; *) fail "answer: $ANS" ;; esac
[ "$(sql "$DB" "SELECT title || '|' || severity || '|' || via FROM incidents")" = \
	"Phishing mail asking for VPN password|high|matrix" ] || fail "incident row"
encrypted_only "$R"
[ "$(mx eval "len([e for e in raw('$R') if e['sender'] == BOT and e['type'] == 'm.room.encrypted'])")" -ge 1 ] || fail "no encrypted answer"

echo "step: carol's approval request arrives encrypted; her encrypted reply decides it"
hm login "{\"device\":\"CAROL1\",\"user\":\"$C\"}" >/dev/null
printf '%s\n' 'incident assign INC-1 @bob' | console "$DB" carol
printf '%s\n' 'incident status INC-1 contained' 'incident close INC-1 Mail filter tightened' | console "$DB" bob
expect_in "$T/out" "requested as APR-1"
APRD="SELECT d.id FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'approval' AND d.transport = 'matrix'"
wait_sql "SELECT status FROM outbox_delivery WHERE id = ($APRD)" sent 30
CDM=$(sql "$DB" "SELECT channel FROM outbox_delivery WHERE id = ($APRD)")
APREV=$(sql "$DB" "SELECT external_id FROM outbox_delivery WHERE id = ($APRD)")
[ "$(mx eval "d['rooms']['$CDM']['encrypted']")" = True ] || fail "carol's DM is not encrypted"
W=$(hm wait "{\"as\":\"CAROL1\",\"room\":\"$CDM\",\"event_id\":\"$APREV\"}")
case "$(jq_ "$W" "d['events'][0]['body']")" in *APR-1*) ;; *) fail "carol read: $W" ;; esac
encrypted_only "$CDM"
hm send "{\"as\":\"CAROL1\",\"room\":\"$CDM\",\"body\":\"approve ok\",\"reply_to\":\"$APREV\"}" >/dev/null
wait_sql "SELECT status || '|' || decided_via || '|' || comment FROM approvals WHERE id = 1" "approved|matrix|ok"
[ "$(sql "$DB" "SELECT status FROM incidents WHERE id = 1")" = closed ] || fail "INC-1 not closed"

echo "step: a quiz question arrives encrypted; a bare number answers it"
printf '%s\n' 'quiz start questions=1 audience=team:engineering' |
	"$ISMSD" --console -c "$T/ismsd.conf" --as carol >"$T/out" 2>>"$LOG"
expect_in "$T/out" "QZ-1 started"
QD="SELECT d.id FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'quiz' AND d.transport = 'matrix' AND o.person_id = (SELECT id FROM people WHERE handle = 'alice')"
wait_sql "SELECT status FROM outbox_delivery WHERE id = ($QD)" sent 30
ADM=$(sql "$DB" "SELECT channel FROM outbox_delivery WHERE id = ($QD)")
QEV=$(sql "$DB" "SELECT external_id FROM outbox_delivery WHERE id = ($QD)")
W=$(hm wait "{\"as\":\"ALICE1\",\"room\":\"$ADM\",\"event_id\":\"$QEV\"}")
[ "$(jq_ "$W" "d['events'][0]['sender']")" = "$BOT" ] || fail "quiz read: $W"
encrypted_only "$ADM"
QID=$(sql "$DB" "SELECT i.question_id FROM quiz_items i JOIN people p ON p.id = i.person_id WHERE p.handle = 'alice'")
QANS=$(hm send "{\"as\":\"ALICE1\",\"room\":\"$ADM\",\"body\":\"2\"}" event_id)
wait_sql "SELECT answer FROM quiz_items WHERE question_id = '$QID' AND person_id = (SELECT id FROM people WHERE handle = 'alice')" 2
bot_answer ALICE1 "$ADM" "$QANS" >/dev/null

echo "step: replayed encrypted events change nothing"
N_INC=$(count incidents)
N_APR=$(count approvals)
N_QZ=$(sql "$DB" "SELECT COUNT(*) FROM quiz_items WHERE answer IS NOT NULL")
BOTMSGS="len([e for r in {'$R', '$ADM'} for e in raw(r) if e['sender'] == BOT and 'state_key' not in e])"
N_BOT=$(mx eval "$BOTMSGS")
post replay "{\"room_id\":\"$R\",\"event_id\":\"$CMD\"}" >/dev/null
post replay "{\"room_id\":\"$ADM\",\"event_id\":\"$QANS\"}" >/dev/null
# a later message is answered only after the replays were read
MARK=$(hm send "{\"as\":\"ALICE1\",\"room\":\"$R\",\"body\":\"!isms help incident\"}" event_id)
bot_answer ALICE1 "$R" "$MARK" >/dev/null
[ "$(count incidents)|$(count approvals)|$(sql "$DB" "SELECT COUNT(*) FROM quiz_items WHERE answer IS NOT NULL")" = \
	"$N_INC|$N_APR|$N_QZ" ] || fail "a replay changed the database"
[ "$(mx eval "$BOTMSGS")" = $((N_BOT + 1)) ] || fail "a replay was answered"

echo "step: alice's second device, added mid-conversation, reads the next answer and is read"
hm login "{\"device\":\"ALICE2\",\"user\":\"$A\"}" >/dev/null
hm wait "{\"as\":\"ALICE2\",\"room\":\"$R\",\"count\":0}" >/dev/null
CMD2=$(hm send "{\"as\":\"ALICE1\",\"room\":\"$R\",\"body\":\"!incident Laptop left on the train severity=medium\"}" event_id)
for dev in ALICE1 ALICE2; do
	ANS=$(bot_answer $dev "$R" "$CMD2")
	case "$ANS" in *"Recorded as INC-"*) ;; *) fail "$dev read: $ANS" ;; esac
done
CMD3=$(hm send "{\"as\":\"ALICE2\",\"room\":\"$R\",\"body\":\"!incident Badge lost near reception severity=low\"}" event_id)
ANS=$(bot_answer ALICE2 "$R" "$CMD3")
case "$ANS" in *"Recorded as INC-"*) ;; *) fail "answer to the second device: $ANS" ;; esac
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE title = 'Badge lost near reception'")" = 1 ] || fail "second device's incident"
encrypted_only "$R"

echo "step: after a restart the next messages decrypt both ways"
stop_daemon
CMD4=$(hm send "{\"as\":\"ALICE1\",\"room\":\"$R\",\"body\":\"!incident Printer room left unlocked\"}" event_id)
start_daemon
ANS=$(bot_answer ALICE1 "$R" "$CMD4")
case "$ANS" in *"Recorded as INC-"*) ;; *) fail "answer after the restart: $ANS" ;; esac
bot_answer ALICE2 "$R" "$CMD4" >/dev/null
CMD5=$(hm send "{\"as\":\"CAROL1\",\"room\":\"$CDM\",\"body\":\"incident list\"}" event_id)
bot_answer CAROL1 "$CDM" "$CMD5" >/dev/null
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE title = 'Printer room left unlocked'")" = 1 ] || fail "incident after the restart"
for pair in "ALICE1 $R" "ALICE1 $ADM" "ALICE2 $R" "CAROL1 $CDM"; do
	set -- $pair
	encrypted_only "$2"
	[ "$(jq_ "$(hm messages "{\"as\":\"$1\",\"room\":\"$2\"}")" "[(e['event_id'], e['body']) for e in d['events'] if e['sender'] == '$BOT' and (e['decrypted'] is not True and not (e['failure'] or '').startswith('HISTORICAL_MESSAGE') or 'could not decrypt' in (e['body'] or ''))]")" = "[]" ] ||
		fail "$1 in $2: a message of the bot that did not decrypt, or the bot could not decrypt"
done
expect_not_in "$LOG" "could not decrypt"
expect_not_in "$LOG" "no key for"

echo "step: a message the bot holds no key for gets one answer and one key request"
AKEY=$(mx eval "d['devices']['$A']['ALICE1']['keys']['keys']['curve25519:ALICE1']")
NOKEY="{\"room_id\":\"$R\",\"sender\":\"$A\",\"type\":\"m.room.encrypted\",\"content\":{\"algorithm\":\"m.megolm.v1.aes-sha2\",\"sender_key\":\"$AKEY\",\"ciphertext\":\"AwgAEhAAAAAAAAAAAAAAAAAAAAAA\",\"session_id\":\"NoSuchSessionAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"device_id\":\"ALICE1\"}}"
KEYREQ="len([m for m in d['to_device'] if m['type'] == 'm.room_key_request' and m['sender'] == BOT and m['user_id'] == '$A' and m['content'].get('action') == 'request' and m['content']['body'].get('session_id') == 'NoSuchSessionAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'])"
N_INC=$(count incidents)
for i in 1 2; do
	UNK=$(jq_ "$(post send "$NOKEY")" "d['event_id']")
	ANS=$(bot_answer ALICE1 "$R" "$UNK" "could not decrypt")
	case "$ANS" in *"I could not decrypt that message; please send it again."*) ;; *) fail "undecryptable answer: $ANS" ;; esac
done
# one request to each of alice's two devices, not one per message
until_ "$KEYREQ == 2"
[ "$(mx eval "$KEYREQ")" = 2 ] || fail "key requests: $(mx eval "$KEYREQ")"
[ "$(count incidents)" = "$N_INC" ] || fail "an undecryptable message changed the database"
stop_daemon

echo "step: without encrypt_dms, a direct chat the server encrypts by default is written encrypted"
sed -i 's/^encrypt_dms = yes$/encrypt_dms = no/' "$T/ismsd.conf"
grep -q '^encrypt_dms = no$' "$T/ismsd.conf" || fail "config not changed"
post config '{"encrypt_new_rooms": true}' >/dev/null
start_daemon
printf '%s\n' 'quiz start questions=1 audience=team:management' |
	"$ISMSD" --console -c "$T/ismsd.conf" --as carol >"$T/out" 2>>"$LOG"
expect_in "$T/out" "started"
DQ="SELECT d.id FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'quiz' AND d.transport = 'matrix' AND o.person_id = (SELECT id FROM people WHERE handle = 'dana')"
wait_sql "SELECT status FROM outbox_delivery WHERE id = ($DQ)" sent 30
DDM=$(sql "$DB" "SELECT channel FROM outbox_delivery WHERE id = ($DQ)")
[ "$(mx eval "[r['request'].get('initial_state') for r in d['created_rooms'] if r['room_id'] == '$DDM']")" = "[None]" ] ||
	fail "the bot asked for encryption itself"
[ "$(mx eval "d['rooms']['$DDM']['encrypted']")" = True ] || fail "dana's DM is not encrypted"
[ "$(mx eval "len([e for e in raw('$DDM') if e['sender'] == BOT and e['type'] == 'm.room.encrypted'])")" -ge 1 ] || fail "no encrypted quiz"
encrypted_only "$DDM"
stop_daemon

echo "step: no key material in the log or the database"
expect_not_in "$LOG" "$PICKLE"
expect_not_in "$LOG" "$PW"
sqlite3 "$DB" .dump >"$T/dump.sql"
expect_not_in "$T/dump.sql" "$PICKLE"
for dev in ALICE1 CAROL1; do
	hm room_keys "{\"as\":\"$dev\"}" keys >"$T/keys.json"
	[ "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/keys.json")" -ge 1 ] || fail "$dev holds no room keys"
	# the ratchet part of each key: the same in the exported and in the
	# m.room_key form of a session
	for part in $($PY -c 'import json,sys; print(" ".join(k["session_key"][8:56] for k in json.load(open(sys.argv[1]))))' "$T/keys.json"); do
		expect_not_in "$LOG" "$part"
		expect_not_in "$T/dump.sql" "$part"
	done
done
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit verify"
echo "matrix_e2ee ok"
