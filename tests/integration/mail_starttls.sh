# TLS of the mail transport against real servers, with a CA made for this
# run (mail.ca_file): STARTTLS required with a verified certificate, AUTH
# offered only after TLS, IMAPS polled. A certificate from an unknown CA,
# one naming another host and a server without STARTTLS keep the message
# pending with a clear error, send nothing and leave the mailbox unread;
# the transport retries later. tls_verify = false warns at start.
# engines: sqlite pg
. tests/integration/lib.sh
chmod 711 "$T" # the mail peers run as an unprivileged user when we are root
PEERS=tests/peers/mail
GOOD=$T/t  # certificate for localhost from our CA
ROGUE=$T/u # certificate for localhost from another CA
WRONG=$T/w # certificate from our CA for another host
PLAIN=$T/c # offers no STARTTLS at all
CA=$T/ca
DB=$(db_path isms.db)
tls_cleanup() {
	for d in "$GOOD" "$ROGUE" "$WRONG" "$PLAIN"; do
		"$PEERS/stop.sh" "$d" >/dev/null 2>&1 || true
	done
	cleanup
}
trap tls_cleanup EXIT INT TERM

# ca NAME: a throwaway CA in $CA/NAME.pem (+ .key)
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$CA/$1.key" -out "$CA/$1.pem" -days 2 -subj "/CN=ISMS test CA $1" \
		>>"$CA/openssl.log" 2>&1 || { cat "$CA/openssl.log"; fail "openssl: CA $1"; }
}
# leaf DIR CA HOST: DIR/tls/{cert,key}.pem for HOST, issued by CA
leaf() {
	mkdir -p "$1/tls"
	printf 'subjectAltName = DNS:%s\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' "$3" >"$1/tls/ext"
	[ "$3" != localhost ] || printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' >"$1/tls/ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$1/tls/key.pem" -out "$1/tls/csr.pem" -subj "/CN=$3" >>"$CA/openssl.log" 2>&1 &&
		openssl x509 -req -in "$1/tls/csr.pem" -CA "$CA/$2.pem" -CAkey "$CA/$2.key" \
			-CAcreateserial -days 2 -extfile "$1/tls/ext" -out "$1/tls/cert.pem" >>"$CA/openssl.log" 2>&1 ||
		{ cat "$CA/openssl.log"; fail "openssl: certificate for $3"; }
}
mkdir -p "$CA"
ca ours
ca other
leaf "$GOOD" ours localhost
leaf "$ROGUE" other localhost
leaf "$WRONG" ours mx.other.example
for d in "$GOOD" "$ROGUE" "$WRONG" "$PLAIN"; do
	mkdir -p "$d"
	{
		echo "isms@example.org:isms-pass"
		for u in dana carol erik bob alice frank heidi ivan grace; do
			echo "$u@example.org:$u-pass"
		done
	} >"$d/users"
done
for d in "$GOOD" "$ROGUE" "$WRONG"; do
	"$PEERS/start.sh" "$d" --tls --require-starttls --auth-require-tls --auth-required \
		>"$d.out" 2>&1 || { cat "$d.out"; fail "TLS peer $d did not start"; }
done
"$PEERS/start.sh" "$PLAIN" --no-imap >"$T/plain.out" 2>&1 || { cat "$T/plain.out"; fail "plain peer did not start"; }
port() { sed -n "s/^$2=//p" "$1/env"; }
new_db "$DB"

# an automatic message (answered by nothing) waiting in each gateway
# mailbox: read and flagged only over
# an IMAPS connection that verified
printf 'From: stranger@elsewhere.example\nTo: isms@example.org\nSubject: Out of office\nAuto-Submitted: auto-replied\nMessage-ID: <tls-probe@elsewhere.example>\n\nhello\n' >"$T/probe.eml"
for d in "$GOOD" "$ROGUE" "$WRONG"; do
	$PY $PEERS/mailctl.py deliver --maildir "$d/mail/isms@example.org" --raw "$T/probe.eml" >/dev/null
done
unread() { # unread DIR: the probe is not flagged done (Dovecot's Maildir keywords)
	$PY - "$1/mail/isms@example.org" <<'PYEOF'
import sys
sys.path.insert(0, "tests/peers/mail")
import mailctl
msgs = mailctl.list_messages(sys.argv[1])
sys.exit(0 if len(msgs) == 1 and "$IsmsDone" not in msgs[0]["flags"] else 1)
PYEOF
}
read_done() { ! unread "$1"; }

start_daemon() { # start_daemon SMTP_URL IMAP_URL [config lines]
	cat >"$T/ismsd.conf" <<EOF
[store]
$(store_conf "$DB")
[quiz]
every = off
[log]
level = debug
[mail]
enabled = true
smtp_url = $1
smtp_user = isms@example.org
smtp_password = isms-pass
starttls = required
from = isms@example.org
reply_domain = example.org
imap_url = $2
imap_user = isms@example.org
imap_password = isms-pass
poll_seconds = 1
${3:-}
EOF
	"$ISMSD" -c "$T/ismsd.conf" 2>"$T/ismsd.log" &
	DPID=$!
	PIDS="$PIDS $DPID"
}
stop_daemon() {
	kill -TERM "$DPID"
	rc=0
	wait "$DPID" || rc=$?
	PIDS=${PIDS%" $DPID"}
	[ "$rc" = 0 ] || { cat "$T/ismsd.log"; fail "ismsd exited with $rc"; }
	expect_not_in "$T/ismsd.log" "isms-pass"
}
until_sql() { # until_sql QUERY VALUE: waits until it says VALUE
	wait_for sql_is "$DB" "$1" "$2" ||
		{ cat "$T/ismsd.log"; fail "waited in vain for: $1 = $2"; }
}
until_log() {
	wait_for grep -qF -- "$1" "$T/ismsd.log" || { cat "$T/ismsd.log"; fail "no \"$1\" in the log"; }
}
delivered() { grep '"event": "delivered"' "$1/smtp-transcript.jsonl" 2>/dev/null | grep -c '"tls": true' || true; }

# 1. our CA: verified STARTTLS then AUTH, both alerts out encrypted; the
# mailbox is read over verified IMAPS
printf 'incident report Ransomware note on a file share severity=critical\n' | console "$DB" alice
start_daemon "smtp://localhost:$(port "$GOOD" SMTP_PORT)" "imaps://localhost:$(port "$GOOD" IMAPS_PORT)/INBOX" \
	"ca_file = $CA/ours.pem"
until_sql "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'sent'" 2
wait_for read_done "$GOOD" || { cat "$T/ismsd.log"; fail "the mailbox was not read over IMAPS"; }
expect_not_in "$T/ismsd.log" "tls_verify"
# turning verification off by a reload is warned about as well
echo "tls_verify = false" >>"$T/ismsd.conf"
kill -HUP "$DPID"
until_log "configuration reloaded"
until_log "warn mail: mail.tls_verify = false"
stop_daemon
[ "$(delivered "$GOOD")" = 2 ] || { cat "$GOOD/smtp-transcript.jsonl" "$GOOD/smtp.log"; fail "not two deliveries over TLS"; }
[ "$(grep -c '"auth_user": "isms@example.org"' "$GOOD/smtp-transcript.jsonl")" = 2 ] || fail "no AUTH"

# 2. a certificate from a CA not in ca_file: nothing sent, nothing read,
# a clear reason, retried
printf 'incident report Second ransomware note\n' | console "$DB" alice
start_daemon "smtp://localhost:$(port "$ROGUE" SMTP_PORT)" "imaps://localhost:$(port "$ROGUE" IMAPS_PORT)/INBOX" \
	"ca_file = $CA/ours.pem"
until_sql "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'pending' AND last_error LIKE '%the server''s certificate did not verify (unable to get local issuer certificate) against mail.ca_file%'" 2
until_log "SSL certificate problem: unable to get local issuer certificate (retrying every poll)"
polled_twice() { [ "$(grep -c 'mail: IMAP poll fetched 0 messages' "$T/ismsd.log")" -ge 2 ]; }
wait_for polled_twice || { cat "$T/ismsd.log"; fail "the IMAP poll was not retried"; }
stop_daemon
[ "$(delivered "$ROGUE")" = 0 ] || fail "mail sent to a server whose certificate did not verify"
unread "$ROGUE" || fail "the mailbox was read over an unverified connection"
[ "$(sql "$DB" "SELECT CASE WHEN MIN(attempts) >= 1 AND MIN(next_at) > $(date +%s) - 5 THEN 1 ELSE 0 END FROM outbox_delivery WHERE status = 'pending'")" = 1 ] ||
	fail "no retry scheduled"

# 3. our CA, but the certificate names another host
sql "$DB" "UPDATE outbox_delivery SET next_at = 0 WHERE status = 'pending'"
start_daemon "smtp://localhost:$(port "$WRONG" SMTP_PORT)" "imaps://localhost:$(port "$WRONG" IMAPS_PORT)/INBOX" \
	"ca_file = $CA/ours.pem"
until_sql "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'pending' AND last_error LIKE '%the server''s certificate names another host than localhost:%'" 2
until_log "no alternative certificate subject name matches target host name 'localhost' (retrying every poll)"
stop_daemon
[ "$(delivered "$WRONG")" = 0 ] || fail "mail sent to a server of another name"
unread "$WRONG" || fail "the mailbox of a server of another name was read"

# 4. a server without STARTTLS while it is required: nothing sent
sql "$DB" "UPDATE outbox_delivery SET next_at = 0 WHERE status = 'pending'"
start_daemon "smtp://127.0.0.1:$(port "$PLAIN" SMTP_PORT)" "" "ca_file = $CA/ours.pem"
until_sql "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'pending' AND last_error LIKE '%does not offer STARTTLS%'" 2
stop_daemon
[ ! -s "$PLAIN/smtp-transcript.jsonl" ] || fail "mail sent in clear although STARTTLS is required"

# 5. tls_verify = false: a warning at start, and the waiting mail goes out
# (to the server of the unknown CA) at the next try
sql "$DB" "UPDATE outbox_delivery SET next_at = 0 WHERE status = 'pending'"
start_daemon "smtp://localhost:$(port "$ROGUE" SMTP_PORT)" "imaps://localhost:$(port "$ROGUE" IMAPS_PORT)/INBOX" \
	"tls_verify = false"
until_log "mail: mail.tls_verify = false: the SMTP and IMAP servers' certificates and host names are not checked"
until_sql "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'sent'" 4
wait_for read_done "$ROGUE" || { cat "$T/ismsd.log"; fail "IMAPS without verification did not read"; }
stop_daemon
[ "$(delivered "$ROGUE")" = 2 ] || fail "the retried mail did not reach the server"
grep -q "warn mail: mail.tls_verify = false" "$T/ismsd.log" || fail "the warning is not at warn level"

# 6. a ca_file that cannot be read is refused at start, with its name
printf '[mail]\nenabled = true\nsmtp_url = smtp://localhost\nfrom = isms@example.org\nreply_domain = example.org\nca_file = %s\n' \
	"$CA/missing.pem" >"$T/bad.conf"
if "$ISMSD" --check-config -c "$T/bad.conf" >"$T/out" 2>&1; then fail "an unreadable ca_file was accepted"; fi
expect_in "$T/out" "mail.ca_file $CA/missing.pem cannot be read: No such file or directory"
echo "mail starttls ok"
