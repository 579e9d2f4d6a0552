# Approval by mail with real DKIM: the approver's reply is signed by
# Debian's OpenDKIM with a key made for this run, the receiving SMTP
# server has OpenDKIM verify it and add its Authentication-Results
# (authserv-id mx.test.example), Dovecot stores it, ismsd reads it over
# IMAP with require_dkim = true. An unsigned reply, a reply altered after
# signing, a reply signed by another domain and an unsigned reply carrying
# a forged Authentication-Results below the server's are refused and
# change nothing; the signed reply decides.
# engines: sqlite pg
. tests/integration/lib.sh
chmod 711 "$T" # the mail peers run as an unprivileged user when we are root
PEERS=tests/peers/mail
M=$T/p # short: Dovecot's sockets live below it
K=$T/k
DB=$(db_path isms.db)
AUTHSERV=mx.test.example
dkim_cleanup() {
	"$PEERS/stop.sh" "$M" >/dev/null 2>&1 || true
	cleanup
}
trap dkim_cleanup EXIT INT TERM
[ -x /usr/sbin/opendkim ] && command -v opendkim-genkey >/dev/null ||
	fail "OpenDKIM is not installed (apt-get install opendkim opendkim-tools)"

# Keys for example.org (the approver's domain) and evil.example; the
# verifier reads their public keys from a file instead of DNS.
mkdir -p "$K"
: >"$K/public"
for d in example.org evil.example; do
	mkdir -p "$K/$d"
	opendkim-genkey -b 2048 -d "$d" -s s2026 -D "$K/$d" || fail "opendkim-genkey for $d"
	$PY -c 'import re, sys
rec = "".join(re.findall(r"\"([^\"]*)\"", open(sys.argv[1]).read()))
print("s2026._domainkey.%s %s" % (sys.argv[2], rec))' "$K/$d/s2026.txt" "$d" >>"$K/public"
	echo "key $d:s2026:$K/$d/s2026.private" >"$K/$d/keytable"
	echo "* key" >"$K/$d/signingtable"
	cat >"$K/$d/sign.conf" <<EOF
Mode s
KeyTable $K/$d/keytable
SigningTable refile:$K/$d/signingtable
Canonicalization relaxed/relaxed
RequireSafeKeys no
Syslog no
EOF
done
# OpenDKIM removes Authentication-Results naming its own authserv-id by
# default; RemoveARFrom names another host here so that a forged one
# reaches the gateway, as it does behind the many servers that keep them.
cat >"$K/verify.conf" <<EOF
Mode v
AuthservID $AUTHSERV
TestPublicKeys $K/public
AlwaysAddARHeader yes
RemoveARFrom nothing.invalid
Syslog no
EOF
chmod -R a+rX "$K/public" "$K/verify.conf"

# sign FILE DOMAIN: FILE gets OpenDKIM's DKIM-Signature of DOMAIN on top
sign() {
	/usr/sbin/opendkim -x "$K/$2/sign.conf" -t "$1" >"$1.out" 2>"$1.err" ||
		{ cat "$1.err"; fail "opendkim could not sign $1"; }
	tail -n +2 "$1.out" | tr -d '\r' >"$1.sig"
	head -n 1 "$1.sig" | grep -q "^DKIM-Signature: .*d=$2;" || { cat "$1.out"; fail "no signature by $2"; }
	cat "$1.sig" "$1" >"$1.signed"
	mv "$1.signed" "$1"
}

mkdir -p "$M"
{
	echo "isms@example.org:isms-pass"
	for u in dana carol erik bob alice frank heidi ivan grace; do
		echo "$u@example.org:$u-pass"
	done
} >"$M/users"
# like many receiving servers: sender-supplied Authentication-Results stay
printf '{"authserv_id": "%s", "strip_forged_authentication_results": false}\n' "$AUTHSERV" >"$M/policy.json"
"$PEERS/start.sh" "$M" --opendkim-conf "$K/verify.conf" >"$T/peers.out" 2>&1 ||
	{ cat "$T/peers.out"; fail "mail peers did not start"; }
. "$M/env"
new_db "$DB"
cat >"$T/ismsd.conf" <<EOF
[store]
$(store_conf "$DB")
[log]
level = debug
[quiz]
every = off
[mail]
enabled = true
smtp_url = smtp://127.0.0.1:$SMTP_PORT
smtp_user = isms@example.org
smtp_password = isms-pass
starttls = when-available
from = isms@example.org
reply_domain = example.org
imap_url = imap://127.0.0.1:$IMAP_PORT/INBOX
imap_user = isms@example.org
imap_password = isms-pass
require_dkim = true
authserv_id = $AUTHSERV
poll_seconds = 1
EOF
"$ISMSD" -c "$T/ismsd.conf" 2>"$T/ismsd.log" &
DPID=$!
PIDS="$PIDS $DPID"

box() { echo "$MAIL_ROOT/$1@example.org"; }
# mails BOX SUBJECT-PREFIX: how many messages in BOX have such a subject
mails() {
	$PY - "$1" "$2" <<'EOF'
import sys
sys.path.insert(0, "tests/peers/mail")
import mailctl
print(sum(1 for m in mailctl.list_messages(sys.argv[1]) if (m["subject"] or "").startswith(sys.argv[2])))
EOF
}
# field BOX SUBJECT-PREFIX HEADER: that header of the newest such message
field() {
	$PY - "$1" "$2" "$3" <<'EOF'
import sys
sys.path.insert(0, "tests/peers/mail")
import mailctl
m = [m for m in mailctl.list_messages(sys.argv[1]) if (m["subject"] or "").startswith(sys.argv[2])][-1]
print(next(v for k, v in m["headers"] if k.lower() == sys.argv[3].lower()))
EOF
}
# stored MESSAGE-ID: the gateway's stored copy of a message, as delivered
stored() {
	grep -l "^Message-ID: <$1>" "$GATEWAY_MAILDIR"/new/* "$GATEWAY_MAILDIR"/cur/* 2>/dev/null | head -n 1
}
send_raw() { # send_raw FILE: CRLF, envelope to the gateway, no SMTP AUTH
	sed 's/$/\r/' "$1" >"$1.crlf"
	$PY $PEERS/mailctl.py send --port "$SMTP_PORT" --raw "$1.crlf" --to isms@example.org >/dev/null ||
		fail "SMTP send of $1 failed"
}
reply() { # reply FILE MESSAGE-ID FIRST-LINE [EXTRA-HEADER]
	{
		[ -z "${4:-}" ] || echo "$4"
		printf 'From: Carol Diaz <carol@example.org>\nTo: %s\nSubject: Re: Approval needed APR-1\nMessage-ID: <%s>\nDate: Sun, 06 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n\nOn Sun, Acme ISMS <isms@example.org> wrote:\n> approve or reject\n' \
			"$RT" "$2" "$3"
	} >"$1"
}
all_done() {
	[ "$($PY $PEERS/mailctl.py imap-flags --port "$IMAP_PORT" --user isms@example.org \
		--password isms-pass --search 'UNKEYWORD $IsmsDone' --format text | wc -l)" = 0 ]
}
state() { # what a refused reply must not change
	db_digest "$DB" approvals incidents audit_log
}

# an approval request for carol, by mail with its Reply-To token
printf 'incident report Laptop stolen on the train severity=high\n' | console "$DB" alice
printf 'incident assign INC-1 @bob\n' | console "$DB" carol
printf 'incident close INC-1 Encrypt all laptops\n' | console "$DB" bob
expect_in "$T/out" "Closure of INC-1 requested as APR-1; waiting for carol"
has_request() { [ "$(mails "$(box carol)" "Approval needed APR-1")" = 1 ]; }
wait_for has_request || fail "no approval mail for carol: $(tail -5 "$T/ismsd.log")"
RT=$(field "$(box carol)" "Approval needed APR-1" Reply-To | tr -d '<> ')
echo "$RT" | grep -Eq '^isms\+[a-z2-7]{39}@example\.org$' || fail "Reply-To is $RT"
before=$(state)

# 1. unsigned: the server says dkim=none
reply "$T/unsigned.eml" unsigned-1@example.org "approve"
send_raw "$T/unsigned.eml"
# 2. signed by example.org, then the body changed on the way
reply "$T/altered.eml" altered-1@example.org "reject needs more work"
sign "$T/altered.eml" example.org
sed -i 's/^reject needs more work$/approve/' "$T/altered.eml"
grep -q '^approve$' "$T/altered.eml" || fail "the body was not altered"
send_raw "$T/altered.eml"
# 3. signed, but by another domain than the From's
reply "$T/evil.eml" evil-1@example.org "approve"
sign "$T/evil.eml" evil.example
send_raw "$T/evil.eml"
# 4. unsigned, with its own "pass" for our authserv-id under the server's
reply "$T/forged.eml" forged-1@example.org "approve" \
	"Authentication-Results: $AUTHSERV; dkim=pass header.d=example.org header.s=s2026"
send_raw "$T/forged.eml"

wait_for sh -c "[ \"\$(grep -c 'could not be verified' '$T/ismsd.log')\" -ge 4 ]" ||
	{ cat "$T/ismsd.log"; fail "not all four forgeries were refused"; }
wait_for all_done || fail "the gateway did not finish its mailbox"
[ "$(state)" = "$before" ] || fail "a refused reply changed approvals, incidents or the audit log"
[ "$(sql "$DB" "SELECT status || '|' || CASE WHEN decided_at IS NULL THEN 1 ELSE 0 END FROM approvals WHERE id = 1")" = "pending|1" ] ||
	fail "APR-1 was decided by a forgery"

# what the verifier said, as stored by Dovecot (the top header is the server's)
ar_top() { grep -m 1 -A 2 '^Authentication-Results:' "$(stored "$1")" | tr -d '\n\t'; }
ar_top unsigned-1@example.org | grep -q "^Authentication-Results: $AUTHSERV; dkim=none" || fail "unsigned: $(ar_top unsigned-1@example.org)"
ar_top altered-1@example.org | grep -q "dkim=fail .*header.d=example.org" || fail "altered: $(ar_top altered-1@example.org)"
ar_top evil-1@example.org | grep -q "dkim=pass .*header.d=evil.example" || fail "evil: $(ar_top evil-1@example.org)"
ar_top forged-1@example.org | grep -q "^Authentication-Results: $AUTHSERV; dkim=none" || fail "forged: $(ar_top forged-1@example.org)"
[ "$(grep -c '^Authentication-Results:' "$(stored forged-1@example.org)")" = 2 ] ||
	fail "the forged header is not kept below the server's"
for id in unsigned-1 altered-1 evil-1 forged-1; do
	expect_in "$T/ismsd.log" "message $id@example.org from carol@example.org: your mail could not be verified"
done
expect_in "$T/ismsd.log" "message forged-1@example.org: ignored an Authentication-Results header of $AUTHSERV below the 1 trusted one(s) at the top"
wait_for sh -c "[ \"\$(ls '$(box carol)/new' '$(box carol)/cur' | grep -c .)\" -ge 5 ]" || fail "carol was not told of the refusals"

# 5. signed by example.org as sent: the approval counts
reply "$T/signed.eml" signed-1@example.org "Approve - good lessons"
sign "$T/signed.eml" example.org
send_raw "$T/signed.eml"
wait_for sql_is "$DB" "SELECT status FROM approvals WHERE id = 1" approved ||
	{ tail -5 "$T/ismsd.log"; fail "the signed reply did not approve APR-1"; }
ar_top signed-1@example.org | grep -q "^Authentication-Results: $AUTHSERV;.*dkim=pass .*header.d=example.org" ||
	fail "signed: $(ar_top signed-1@example.org)"
[ "$(sql "$DB" "SELECT decided_via || '|' || comment FROM approvals WHERE id = 1")" = "mail|good lessons" ] ||
	fail "decision record"
[ "$(sql "$DB" "SELECT status FROM incidents WHERE id = 1")" = closed ] || fail "INC-1 not closed"

kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
PIDS=${PIDS%" $DPID"}
[ "$rc" = 0 ] || { cat "$T/ismsd.log"; fail "ismsd exited with $rc"; }
expect_not_in "$T/ismsd.log" "isms-pass"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
echo "mail dkim ok"
