# SMTP security of the mail transport against real servers: STARTTLS
# required with a verified certificate and AUTH offered only after TLS;
# an unverifiable certificate and a server without STARTTLS both keep the
# message pending with a clear error and send nothing in clear.
. tests/integration/lib.sh
chmod 711 "$T" # the mail peers run as an unprivileged user when we are root
PEERS=tests/peers/mail
TLS=$T/t   # requires STARTTLS, AUTH only after it
PLAIN=$T/c # offers no STARTTLS at all
DB=$T/isms.db
tls_cleanup() {
	"$PEERS/stop.sh" "$TLS" >/dev/null 2>&1 || true
	"$PEERS/stop.sh" "$PLAIN" >/dev/null 2>&1 || true
	cleanup
}
trap tls_cleanup EXIT INT TERM

for d in "$TLS" "$PLAIN"; do
	mkdir -p "$d"
	{
		echo "isms@example.org:isms-pass"
		for u in dana carol erik bob alice frank heidi ivan grace; do
			echo "$u@example.org:$u-pass"
		done
	} >"$d/users"
done
"$PEERS/start.sh" "$TLS" --require-starttls --auth-require-tls --auth-required --no-imap \
	>"$T/tls.out" 2>&1 || { cat "$T/tls.out"; fail "TLS peer did not start"; }
TLS_PORT=$(sed -n 's/^SMTP_PORT=//p' "$TLS/env")
"$PEERS/start.sh" "$PLAIN" --no-imap >"$T/plain.out" 2>&1 || { cat "$T/plain.out"; fail "plain peer did not start"; }
PLAIN_PORT=$(sed -n 's/^SMTP_PORT=//p' "$PLAIN/env")
new_db "$DB"

run_daemon() { # run_daemon SMTP_URL UNTIL-SQL [env...]: until the query says 1
	url=$1
	until=$2
	shift 2
	cat >"$T/ismsd.conf" <<EOF
[store]
path = $DB
[quiz]
every = off
[mail]
enabled = true
smtp_url = $url
smtp_user = isms@example.org
smtp_password = isms-pass
starttls = required
from = isms@example.org
reply_domain = example.org
EOF
	env "$@" "$ISMSD" -c "$T/ismsd.conf" 2>"$T/ismsd.log" &
	DPID=$!
	PIDS="$PIDS $DPID"
	wait_for sh -c "[ \"\$(sqlite3 '$DB' \"$until\")\" = 1 ]" ||
		{ cat "$T/ismsd.log"; fail "waited in vain for: $until"; }
	kill -TERM "$DPID"
	rc=0
	wait "$DPID" || rc=$?
	PIDS=${PIDS%" $DPID"}
	[ "$rc" = 0 ] || { cat "$T/ismsd.log"; fail "ismsd exited with $rc"; }
	expect_not_in "$T/ismsd.log" "isms-pass"
}

# 1. verified STARTTLS, then AUTH: both alerts go out encrypted
printf 'incident report Ransomware note on a file share severity=critical\n' | console "$DB" alice
run_daemon "smtp://localhost:$TLS_PORT" \
	"SELECT COUNT(*) = 2 FROM outbox_delivery WHERE status = 'sent'" \
	SSL_CERT_FILE="$TLS/tls/cert.pem"
[ "$(grep -c '"event": "delivered"' "$TLS/smtp-transcript.jsonl")" = 2 ] || fail "two deliveries"
[ "$(grep '"event": "delivered"' "$TLS/smtp-transcript.jsonl" | grep -c '"tls": true')" = 2 ] || fail "not over TLS"
[ "$(grep -c '"auth_user": "isms@example.org"' "$TLS/smtp-transcript.jsonl")" = 2 ] || fail "no AUTH"

# 2. a certificate that does not verify: nothing sent, retried later
printf 'incident report Second ransomware note\n' | console "$DB" alice
run_daemon "smtp://localhost:$TLS_PORT" \
	"SELECT COUNT(*) = 2 FROM outbox_delivery WHERE status = 'pending' AND last_error LIKE '%certificate did not verify%'" \
	SSL_CERT_FILE="$T/nothing.pem"
[ "$(grep -c '"event": "delivered"' "$TLS/smtp-transcript.jsonl")" = 2 ] || fail "sent without a verified certificate"

# 3. a server without STARTTLS while it is required: nothing sent
sql "$DB" "UPDATE outbox_delivery SET next_at = 0 WHERE status = 'pending'"
run_daemon "smtp://127.0.0.1:$PLAIN_PORT" \
	"SELECT COUNT(*) = 2 FROM outbox_delivery WHERE status = 'pending' AND last_error LIKE '%does not offer STARTTLS%'"
[ ! -s "$PLAIN/smtp-transcript.jsonl" ] || fail "mail sent in clear although STARTTLS is required"
echo "mail starttls ok"
