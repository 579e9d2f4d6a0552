# matrix-js-sdk with its Rust crypto against the fake homeserver, no ismsd:
# the fake's end-to-end encryption endpoints are faithful enough for a
# real E2EE client. The fake's self-test runs first. alice and bob start an
# encrypted DM and talk both ways; nothing readable is on the wire and
# every to-device message is Olm; bob's second device, added
# mid-conversation, reads the next message; a replayed event is a new
# event with the same ciphertext; the client used no endpoint the fake
# does not know.
. tests/integration/lib.sh
. tests/integration/matrix_js.inc
(cd tests/fakes/matrix && timeout 120 $PY -m unittest test_fake_selftest) \
	>"$T/selftest.log" 2>&1 || {
	cat "$T/selftest.log"
	fail "the fake homeserver's self-test"
}
js_install
A=@alice:example.org
B=@bob:example.org
SECRET="the door code is tulip-4711"
start_mx_fake --no-auto-accept
post users "[{\"user_id\":\"$A\"},{\"user_id\":\"$B\"}]" >/dev/null
start_humans

echo "step: alice and bob log in (device keys and one-time keys uploaded)"
hm login "{\"device\":\"ALICE1\",\"user\":\"$A\"}" >/dev/null
hm login "{\"device\":\"BOB1\",\"user\":\"$B\"}" >/dev/null
[ "$(mx eval "sorted(d['devices']['$A']) + sorted(d['devices']['$B'])")" = "['ALICE1', 'BOB1']" ] || fail "devices"
[ "$(mx eval "all(d['devices'][u][k]['keys'] for u, k in (('$A', 'ALICE1'), ('$B', 'BOB1')))")" = True ] || fail "device keys not uploaded"
[ "$(mx eval "len(d['one_time_keys']['$B|BOB1']) > 0")" = True ] || fail "no one-time keys"

echo "step: alice starts an encrypted DM with bob; bob accepts"
R=$(hm dm "{\"as\":\"ALICE1\",\"with\":\"$B\"}" room_id)
[ "$(mx eval "d['rooms']['$R']['encrypted']")" = True ] || fail "the DM is not encrypted"
hm join "{\"as\":\"BOB1\",\"room\":\"$R\"}" >/dev/null

echo "step: alice -> bob, decrypted"
E1=$(hm send "{\"as\":\"ALICE1\",\"room\":\"$R\",\"body\":\"Hello Bob, $SECRET\"}" event_id)
W=$(hm wait "{\"as\":\"BOB1\",\"room\":\"$R\",\"sender\":\"$A\",\"contains\":\"tulip\"}")
[ "$(jq_ "$W" "[(e['event_id'], e['wire_type'], e['body']) for e in d['events']]")" = \
	"[('$E1', 'm.room.encrypted', 'Hello Bob, $SECRET')]" ] || fail "bob read: $W"
[ "$(mx eval "[c['key_id'].split(':')[0] for c in d['claims'] if c['user_id'] == '$B']")" = "['signed_curve25519']" ] ||
	fail "alice did not claim one of bob's one-time keys"

echo "step: bob -> alice as a reply, decrypted; the relation stays in the clear"
E2=$(hm send "{\"as\":\"BOB1\",\"room\":\"$R\",\"body\":\"Thanks Alice\",\"reply_to\":\"$E1\"}" event_id)
W=$(hm wait "{\"as\":\"ALICE1\",\"room\":\"$R\",\"sender\":\"$B\"}")
[ "$(jq_ "$W" "[(e['event_id'], e['body'], e['in_reply_to'], e['decrypted']) for e in d['events']]")" = \
	"[('$E2', 'Thanks Alice', '$E1', True)]" ] || fail "alice read: $W"
[ "$(mx eval "[e['content']['m.relates_to'] for e in raw('$R') if e['event_id'] == '$E2']")" = \
	"[{'m.in_reply_to': {'event_id': '$E1'}}]" ] || fail "the reply's relation is not in the clear content"

echo "step: on the wire everything is m.room.encrypted (Megolm) and to-device is Olm"
[ "$(mx eval "sorted({(e['type'], e['content'].get('algorithm')) for e in raw('$R') if 'state_key' not in e})")" = \
	"[('m.room.encrypted', 'm.megolm.v1.aes-sha2')]" ] || fail "a message in the clear: $(mx eval "raw('$R')")"
[ "$(mx eval "sorted({(t['type'], t['content'].get('algorithm')) for t in d['to_device']})")" = \
	"[('m.room.encrypted', 'm.olm.v1.curve25519-aes-sha2')]" ] || fail "to-device: $(mx eval "d['to_device']")"
curl -sS "$URL/_control/state" >"$T/state.json"
expect_not_in "$T/state.json" "tulip"
expect_not_in "$T/state.json" "Thanks Alice"
[ "$(mx eval "d['to_device_pending']")" = "{}" ] || fail "to-device messages not acknowledged"

echo "step: bob adds a second device; alice's next message reaches both"
hm login "{\"device\":\"BOB2\",\"user\":\"$B\"}" >/dev/null
hm wait "{\"as\":\"BOB2\",\"room\":\"$R\",\"count\":0}" >/dev/null
hm devices "{\"as\":\"ALICE1\",\"user\":\"$B\",\"has\":\"BOB2\"}" >/dev/null
E3=$(hm send "{\"as\":\"ALICE1\",\"room\":\"$R\",\"body\":\"Both of your devices read this\"}" event_id)
for dev in BOB1 BOB2; do
	W=$(hm wait "{\"as\":\"$dev\",\"room\":\"$R\",\"sender\":\"$A\",\"contains\":\"Both\"}")
	[ "$(jq_ "$W" "d['events'][0]['event_id']")" = "$E3" ] || fail "$dev read: $W"
done
[ "$(mx eval "sorted({(t['user_id'], t['device_id']) for t in d['to_device'] if t['sender'] == '$A'})")" = \
	"[('$B', 'BOB1'), ('$B', 'BOB2')]" ] || fail "room keys for bob's devices"
[ "$(hm devices "{\"as\":\"ALICE1\",\"user\":\"$B\"}" devices)" = '["BOB1","BOB2"]' ] || fail "alice's view of bob's devices"
W=$(hm wait "{\"as\":\"BOB1\",\"room\":\"$R\",\"sender\":\"$B\",\"contains\":\"Thanks\"}")

echo "step: bob's second device answers; alice and bob's first device read it"
E4=$(hm send "{\"as\":\"BOB2\",\"room\":\"$R\",\"body\":\"Sent from my second device\"}" event_id)
for dev in ALICE1 BOB1; do
	W=$(hm wait "{\"as\":\"$dev\",\"room\":\"$R\",\"sender\":\"$B\",\"contains\":\"second device\"}")
	[ "$(jq_ "$W" "d['events'][0]['event_id']")" = "$E4" ] || fail "$dev read: $W"
done

echo "step: a replayed event is a new event id with the same ciphertext and sender"
E5=$(post replay "{\"room_id\":\"$R\",\"event_id\":\"$E3\"}" event_id)
[ "$(mx eval "(lambda a, b: a['content'] == b['content'] and a['sender'] == b['sender'] and a['event_id'] != b['event_id'])(*[e for e in raw('$R') if e['event_id'] in ('$E3', '$E5')])")" = True ] ||
	fail "replay"
hm wait "{\"as\":\"BOB1\",\"room\":\"$R\",\"after\":\"$E4\",\"sender\":\"$A\"}" >/dev/null

echo "step: the client asked for nothing the fake does not know"
[ "$(mx eval "sorted({(r['method'], r['path']) for r in d['requests'] if r['errcode'] == 'M_UNRECOGNIZED'})")" = "[]" ] ||
	fail "unknown endpoints: $(mx eval "sorted({(r['method'], r['path']) for r in d['requests'] if r['errcode'] == 'M_UNRECOGNIZED'})")"
echo "matrix_js_fake ok"
