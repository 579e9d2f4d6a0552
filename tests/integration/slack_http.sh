# Slack in HTTP mode: signed slash commands, interactivity and events on
# /slack/events; forged, stale and unsigned requests get 401 and change
# nothing; the url_verification challenge; answers within the request.
# engines: sqlite pg
. tests/integration/lib.sh
. tests/integration/slack.inc
DB=$(db_path isms.db)
SIGNING_SECRET=7f3a1c9e0b2d4f6a8c1e3b5d7f9a2c4e
FORM=application/x-www-form-urlencoded
JSON="application/json"
new_db "$DB"
start_fake
register_staff config/demo/staff.csv
# IPv6 loopback when the machine has it
if $PY -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	LISTEN="[::1]:0"
else
	LISTEN="127.0.0.1:0"
fi
cat >"$T/ismsd.conf" <<EOC
[store]
$(store_conf "$DB")
[slack]
enabled = true
mode = http
bot_token = xoxb-TEST
signing_secret = file:$T/secret
listen = $LISTEN
api_base = $FAKE/api
[quiz]
# no automatic campaign racing the "nothing changed" checks below
every = off
EOC
printf '%s\n' "$SIGNING_SECRET" >"$T/secret"
chmod 600 "$T/secret"
start_ismsd "$T/ismsd.conf"
wait_for grep -q "listening on http://" "$T/ismsd.err" || { cat "$T/ismsd.err"; fail "no listener"; }
URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T/ismsd.err")

# 1. the url_verification challenge
printf '%s' '{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}' >"$T/body"
post_signed "$JSON"
expect_in "$T/http" "HTTP 200"
expect_in "$T/http" '"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"'

# 2. a signed slash command: incident row, the answer is the response
slash U0ALICE C0GENERAL /incident "Phishing mail asking for my VPN password severity=high"
to_http slash
post_signed "$FORM"
expect_in "$T/http" "HTTP 200"
expect_in "$T/http" '"response_type":"ephemeral"'
expect_in "$T/http" "Recorded as INC-1 (severity high)"
[ "$(sql "$DB" "SELECT COUNT(*) || '|' || MIN(via) FROM incidents")" = "1|slack" ] || fail "incident row"
await messages 2

# 3. forged, stale (both ways), wrongly keyed and unsigned requests: 401,
#    nothing changes; one warning line for all of them, without the body
slash U0ALICE C0GENERAL /incident "Forged report MARKER-BODY"
to_http slash
outbox_settled "$DB" || fail "deliveries never settled"
before=$(db_digest "$DB")
for forgery in --forge "--stale 301" "--timestamp $(($(date +%s) + 400))" --wrong-secret --unsigned; do
	# shellcheck disable=SC2086
	post_signed "$FORM" $forgery
	expect_in "$T/http" "HTTP 401"
done
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused request changed the database"
# the first refusal at once, the others counted for a line a minute later
wait_for grep -q "slack: refused 1 request without a valid signature (0 missing, 0 stale, 1 forged)" "$T/ismsd.err" ||
	fail "no line for the first refusal: $(grep refused "$T/ismsd.err")"
[ "$(grep -c 'slack: refused' "$T/ismsd.err")" = 1 ] || fail "more than one refusal line"
expect_not_in "$T/ismsd.err" "MARKER-BODY"
expect_not_in "$T/ismsd.err" "clock may be off"
# the same request, rightly signed, goes through; altered after signing not
post_signed "$FORM"
expect_in "$T/http" "HTTP 200"
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE title LIKE 'Forged report%'")" = 1 ] || fail "signed report"
sed 's/Forged/Altered/' "$T/body" >"$T/body2"
$PY - "$URL" "$SIGNING_SECRET" "$T/body" "$T/body2" >"$T/http" <<'EOP'
import sys
sys.path.insert(0, "tests/fakes/slack")
from slack_sign import post, signed_headers
url, secret, signed, sent = sys.argv[1:]
h = signed_headers(secret, open(signed).read())
print("HTTP %d" % post(url, open(sent).read(), h)[0])
EOP
expect_in "$T/http" "HTTP 401"
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE title LIKE 'Altered%'")" = 0 ] || fail "altered body accepted"
# rightly signed but stale, as when the local clock is off: counted within
# the minute, logged (at the latest at shutdown) with a hint at the clock
for i in 1 2 3; do
	post_signed "$FORM" --stale 400
	expect_in "$T/http" "HTTP 401"
done
[ "$(grep -c 'slack: refused' "$T/ismsd.err")" = 1 ] || fail "a refusal line within the minute"

# 4. interactivity: an approval by button
for c in "incident assign INC-1 @bob:U0CAROL" "incident status INC-1 contained:U0BOB" \
	"incident close INC-1 Add a phishing button to the mail client:U0BOB"; do
	slash "${c##*:}" C0GENERAL /isms "${c%:*}"
	to_http slash
	post_signed "$FORM"
	expect_in "$T/http" "HTTP 200"
done
expect_in "$T/http" "requested as APR-1"
wait_state "any(m['blocks'] and 'APR-1' in m['text'] for m in d['messages'])"
APR_CH=$(state "[m['channel'] for m in d['messages'] if m['blocks'] and 'APR-1' in m['text']][0]")
APR_TS=$(state "[m['ts'] for m in d['messages'] if m['blocks'] and 'APR-1' in m['text']][0]")
ctl block_action "{\"user_id\":\"U0CAROL\",\"channel_id\":\"$APR_CH\",\"message_ts\":\"$APR_TS\",\"action_id\":\"isms_approve\"}"
to_http interactive
post_signed "$FORM"
expect_in "$T/http" "HTTP 200"
sql_wait "$DB" "SELECT status || '|' || decided_via FROM approvals WHERE id = 1" "approved|slack"
wait_state "any('APR-1 approved' in (p.get('json') or {}).get('text', '') for p in d['response_posts'])"
wait_state "any(u['ts'] == '$APR_TS' and 'approved' in u['text'] for u in d['updates'])"

# 5. Events API: a DM is answered in its thread; Slack's retry of the same
#    event changes nothing and is not answered again
say U0ALICE D0ALICEDM "incident list"
to_http event
post_signed "$JSON"
expect_in "$T/http" "HTTP 200"
wait_state "any(m['channel'] == 'D0ALICEDM' and m['thread_ts'] == '$TS' for m in d['messages'])"
post_signed "$JSON"
expect_in "$T/http" "HTTP 200"
sleep 0.5
[ "$(state "sum(1 for m in d['messages'] if m['channel'] == 'D0ALICEDM')")" = 1 ] || fail "retry answered twice"

# 6. wrong path and method
code=$(curl -sS -o /dev/null -w '%{http_code}' -g "${URL%/slack/events}/other")
[ "$code" = 404 ] || fail "other path: $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -g "$URL")
[ "$code" = 405 ] || fail "GET: $code"

stop_ismsd
expect_in "$T/ismsd.err" "slack: refused 8 requests without a valid signature (1 missing, 5 stale, 2 forged); 5 correctly signed but stale (the latest 400 s behind the local clock): the local clock may be off"
[ "$(grep -c 'slack: refused' "$T/ismsd.err")" = 2 ] || fail "refusal lines: $(grep refused "$T/ismsd.err")"
no_secrets "$T/ismsd.err" "$T/ismsd.out"
echo "slack http mode ok"
