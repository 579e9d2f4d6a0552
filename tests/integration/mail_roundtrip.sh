# The mail transport against real servers (aiosmtpd SMTP into Maildirs,
# Dovecot IMAP): approval by mail reply with a Reply-To token, refusals
# (spoofed, stranger, no DKIM), a mailed incident, broken MIME, a
# redelivery, a quiz answered by mail, a permanent SMTP failure and a
# clean SIGTERM.
# engines: sqlite pg
. tests/integration/lib.sh
chmod 711 "$T" # the mail peers run as an unprivileged user when we are root
PEERS=tests/peers/mail
M=$T/p # short: Dovecot's sockets live below it
DB=$(db_path isms.db)
mail_cleanup() {
	"$PEERS/stop.sh" "$M" >/dev/null 2>&1 || true
	cleanup
}
trap mail_cleanup EXIT INT TERM

# The peers know the whole demo directory as mailboxes.
mkdir -p "$M"
{
	echo "isms@example.org:isms-pass"
	for u in dana carol erik bob alice frank heidi ivan grace; do
		echo "$u@example.org:$u-pass"
	done
	echo "mallory@evil.example:mallory-pass"
} >"$M/users"
"$PEERS/start.sh" "$M" >"$T/peers.out" 2>&1 || { cat "$T/peers.out"; fail "mail peers did not start"; }
. "$M/env"
new_db "$DB"
# a person whose mailbox the SMTP server refuses for good (550)
printf 'handle,name,email,slack_id,matrix_id,manager,team,timezone,roles\nzed,Zed Bounce,bounce@example.org,,,,eng,,\n' >"$T/zed.csv"
"$ISMSCTL" --db "$DB" staff import "$T/zed.csv" >/dev/null

write_conf() { # write_conf REQUIRE_DKIM
	cat >"$T/ismsd.conf" <<EOF
[store]
$(store_conf "$DB")
[quiz]
every = off
[org]
name = Acme
working_days = mon-sun
working_hours = 00:00-24:00
[mail]
enabled = true
smtp_url = smtp://127.0.0.1:$SMTP_PORT
smtp_user = isms@example.org
smtp_password = file:$T/smtp.secret
starttls = when-available
from = isms@example.org
reply_domain = example.org
imap_url = imap://127.0.0.1:$IMAP_PORT/INBOX
imap_user = isms@example.org
imap_password = env:ISMS_TEST_IMAP_PASSWORD
incident_address = incidents@example.org
require_dkim = $1
authserv_id = $AUTHSERV_ID
poll_seconds = 1
EOF
}
printf 'isms-pass' >"$T/smtp.secret"
chmod 600 "$T/smtp.secret"
export ISMS_TEST_IMAP_PASSWORD=isms-pass
write_conf false
"$ISMSD" --check-config -c "$T/ismsd.conf" >/dev/null || fail "config refused"
"$ISMSD" -c "$T/ismsd.conf" 2>"$T/ismsd.log" &
DPID=$!
PIDS="$PIDS $DPID"

# mq CMD MAILDIR ...: queries a Maildir through mailctl.py's parser.
cat >"$T/mq.py" <<'EOF'
import json, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # grep -q may stop reading
sys.path.insert(0, "tests/peers/mail")
import mailctl
cmd, box = sys.argv[1], sys.argv[2]
msgs = mailctl.list_messages(box)
if cmd == "count":
    print(len(msgs))
    sys.exit(0)
hits = [m for m in msgs if (m["subject"] or "").startswith(sys.argv[3])]
if not hits:
    sys.exit(1)
m = hits[-1]
if cmd == "field":
    f = sys.argv[4]
    v = m.get(f) if f in m else next((v for k, v in m["headers"] if k.lower() == f.lower()), None)
    print(v if isinstance(v, str) else json.dumps(v))
EOF
box() { echo "$MAIL_ROOT/$1@example.org"; }
mq() { $PY "$T/mq.py" "$@"; }
has_mail() { mq field "$1" "$2" subject >/dev/null; }
send_raw() { # send_raw FILE [mailctl options]: CRLF, envelope to the gateway
	f=$1
	shift
	sed 's/$/\r/' "$f" >"$f.crlf"
	$PY $PEERS/mailctl.py send --port "$SMTP_PORT" --raw "$f.crlf" --to isms@example.org "$@" >/dev/null ||
		fail "SMTP send of $f failed"
}
reply() { # reply FILE FROM TO MESSAGE-ID FIRST-LINE [SUBJECT]
	printf 'From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\nContent-Type: text/plain; charset=utf-8\n\n%s\n\nOn Mon, Acme ISMS <isms@example.org> wrote:\n> approve or reject\n' \
		"$2" "$3" "${6:-Re: Approval needed}" "$4" "$5" >"$1"
}
all_done() { # every message in the gateway's INBOX carries $IsmsDone
	[ "$($PY $PEERS/mailctl.py imap-flags --port "$IMAP_PORT" --user isms@example.org \
		--password isms-pass --search 'UNKEYWORD $IsmsDone' --format text | wc -l)" = 0 ]
}
wait_done() { wait_for all_done || fail "the gateway did not finish its mailbox: $(tail -5 "$T/ismsd.log")"; }
counts() { sql "$DB" "SELECT (SELECT COUNT(*) FROM audit_log) || '/' || (SELECT COUNT(*) FROM approvals WHERE status = 'pending') || '/' || (SELECT COUNT(*) FROM incidents)"; }

# 1. an approval request goes out by mail with a per-request Reply-To
printf '%s\n' 'incident report Laptop stolen on the train severity=high' 'incident report Tailgating at the back door' |
	console "$DB" alice
printf 'incident assign INC-1 @bob\nincident assign INC-2 @zed\n' | console "$DB" carol
printf 'incident close INC-1 Encrypt all laptops\n' | console "$DB" bob
expect_in "$T/out" "Closure of INC-1 requested as APR-1; waiting for carol"
wait_for has_mail "$(box carol)" "Approval needed APR-1" || fail "no approval mail for carol"
RT=$(mq field "$(box carol)" "Approval needed APR-1" Reply-To | tr -d '<>')
echo "$RT" | grep -Eq '^isms\+[a-z2-7]{39}@example\.org$' || fail "Reply-To is $RT"
REQ_ID=$(mq field "$(box carol)" "Approval needed APR-1" message_id)
echo "$REQ_ID" | grep -Eq '^<isms\.[0-9]+\.[0-9]+@example\.org>$' || fail "Message-ID is $REQ_ID"
mq field "$(box carol)" "Approval needed APR-1" html | grep -q "mailto:$RT" || fail "no HTML part with the reply buttons"
mq field "$(box carol)" "Approval needed APR-1" text | grep -q 'asks you to approve' || fail "no text part"
grep -q '"auth_user": "isms@example.org"' "$SMTP_TRANSCRIPT" || fail "the gateway did not use SMTP AUTH"

# 2. a spoofed reply (another directory member) and a stranger change nothing
before=$(counts)
reply "$T/spoof.eml" "Bob Martin <bob@example.org>" "$RT" spoof-1@example.org "approve"
send_raw "$T/spoof.eml"
reply "$T/stranger.eml" "Mallory <mallory@evil.example>" "$RT" stranger-1@evil.example "approve"
send_raw "$T/stranger.eml"
wait_for has_mail "$(box bob)" "Re: Approval needed" || fail "bob got no refusal"
mq field "$(box bob)" "Re: Approval needed" text | grep -q "sent to someone else" || fail "refusal text"
wait_for has_mail "$(box erik)" "Mail from unknown sender mallory@evil.example" || fail "no triage notice"
wait_done
[ "$(counts)" = "$before" ] || { sql "$DB" "SELECT seq, actor, action, object FROM audit_log ORDER BY seq DESC LIMIT 3"; fail "a refused reply changed the database ($before -> $(counts))"; }
[ "$(mq count "$MAIL_ROOT/mallory@evil.example")" = 0 ] || fail "backscatter to a stranger"
expect_in "$T/ismsd.log" "spoof-1@example.org from bob@example.org: APR-1 was sent to someone else"
expect_not_in "$T/ismsd.log" "On Mon, Acme ISMS"

# 3. the approver's reply decides; the redelivered copy changes nothing
reply "$T/ok.eml" "Carol Diaz <Carol@Example.org>" "$RT" reply-1@example.org "Approve - good lessons"
send_raw "$T/ok.eml"
wait_for sql_is "$DB" "SELECT status FROM approvals WHERE id = 1" approved ||
	fail "APR-1 not approved: $(tail -5 "$T/ismsd.log")"
[ "$(sql "$DB" "SELECT decided_via || '|' || comment FROM approvals WHERE id = 1")" = "mail|good lessons" ] ||
	fail "decision record"
[ "$(sql "$DB" "SELECT status FROM incidents WHERE id = 1")" = closed ] || fail "INC-1 not closed"
wait_done
wait_for has_mail "$(box carol)" "Re: Approval needed" || fail "no confirmation to carol"
[ "$(mq field "$(box carol)" "Re: Approval needed" in_reply_to)" = "<reply-1@example.org>" ] || fail "In-Reply-To"
mq field "$(box carol)" "Re: Approval needed" Auto-Submitted | grep -q auto-replied || fail "Auto-Submitted"
before=$(counts)
outbox=$(sql "$DB" "SELECT COUNT(*) FROM outbox")
send_raw "$T/ok.eml"
sleep 1
wait_done
[ "$(counts)" = "$before" ] || fail "a redelivery changed the database"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox")" = "$outbox" ] || fail "a redelivery was answered"

# 4. with require_dkim (reloaded by SIGHUP) a reply without dkim=pass is refused
write_conf true
kill -HUP "$DPID"
wait_for grep -q "configuration reloaded" "$T/ismsd.log" || fail "no reload"
printf 'incident close INC-2 Badge readers at every door\n' | console "$DB" carol
expect_in "$T/out" "requested as APR-2; waiting for erik"
wait_for has_mail "$(box erik)" "Approval needed APR-2" || fail "no approval mail for erik"
RT2=$(mq field "$(box erik)" "Approval needed APR-2" Reply-To | tr -d '<>')
reply "$T/nodkim.eml" "erik@example.org" "$RT2" nodkim-1@example.org "approve"
send_raw "$T/nodkim.eml"
wait_for has_mail "$(box erik)" "Re: Approval needed" || fail "erik got no refusal"
mq field "$(box erik)" "Re: Approval needed" text >"$T/r.txt"
expect_in "$T/r.txt" "could not be verified"
[ "$(sql "$DB" "SELECT status FROM approvals WHERE id = 2")" = pending ] || fail "decided without DKIM"
# sent through the submission server as erik: dkim=pass header.d=example.org
reply "$T/dkim.eml" "erik@example.org" "$RT2" dkim-1@example.org "reject needs a risk assessment first"
send_raw "$T/dkim.eml" --user erik@example.org --password erik-pass
wait_for sql_is "$DB" "SELECT status FROM approvals WHERE id = 2" rejected ||
	fail "APR-2 not rejected with DKIM: $(tail -5 "$T/ismsd.log")"

# 5. an incident by mail from staff; a broken message does nothing
cat >"$T/inc.eml" <<'EOF'
From: Alice Example <alice@example.org>
To: incidents@example.org
Subject: =?UTF-8?Q?USB_stick_=E2=80=9CSalaries=E2=80=9D_found?=
Message-ID: <inc-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

I found it near reception and did not plug it in.
--b
Content-Type: image/jpeg
Content-Disposition: attachment; filename="stick.jpg"
Content-Transfer-Encoding: base64

/9j/4AAQSkZJRg==
--b--
EOF
send_raw "$T/inc.eml"
printf 'From: alice@example.org\nTo: incidents@example.org\nSubject: broken\nMessage-ID: <broken-1@example.org>\nContent-Type: multipart/mixed; boundary="nowhere"\n\nno delimiter at all\n' >"$T/broken.eml"
send_raw "$T/broken.eml"
$PY -c 'import base64, os, sys
sys.stdout.write("From: alice@example.org\nTo: incidents@example.org\nSubject: huge\nMessage-ID: <huge-1@example.org>\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
sys.stdout.write(base64.encodebytes(os.urandom(1700000)).decode())' >"$T/huge.eml"
send_raw "$T/huge.eml"
wait_for has_mail "$(box alice)" "Re: USB stick" || fail "no incident confirmation: $(tail -5 "$T/ismsd.log")"
mq field "$(box alice)" "Re: USB stick" text | grep -q "Recorded as INC-3" || fail "confirmation names INC-3"
[ "$(sql "$DB" "SELECT title || '|' || severity || '|' || via FROM incidents WHERE id = 3")" = \
	"USB stick “Salaries” found|medium|mail" ] || fail "incident row"
sql "$DB" "SELECT description FROM incidents WHERE id = 3" | grep -q "stick.jpg (10 bytes)" || fail "attachment noted"
wait_done
expect_in "$T/ismsd.log" "is unreadable (multipart body without its boundary)"
[ "$(sql "$DB" "SELECT COUNT(*) FROM inbox WHERE event_id = 'broken-1@example.org'")" = 0 ] || fail "broken mail recorded"
expect_in "$T/ismsd.log" "is larger than 2097152 bytes; flagged done without processing"
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents")" = 3 ] || fail "a broken or huge mail made an incident"
kill -0 "$DPID" || fail "ismsd died"

# 5b. a decision taken elsewhere is threaded under the approver's request
printf 'incident assign INC-3 @bob\n' | console "$DB" carol
printf 'incident close INC-3 Never plug in found media\n' | console "$DB" bob
expect_in "$T/out" "requested as APR-3; waiting for carol"
wait_for has_mail "$(box carol)" "Approval needed APR-3" || fail "no approval mail for APR-3"
printf 'approve APR-3 agreed\n' | console "$DB" erik
wait_for has_mail "$(box carol)" "APR-3 approved by erik" || fail "carol not told of APR-3"
[ "$(mq field "$(box carol)" "APR-3 approved by erik" in_reply_to)" = \
	"$(mq field "$(box carol)" "Approval needed APR-3" message_id)" ] || fail "decision not threaded"

# 5c. a quiz question by mail, answered by reply (DKIM is still required)
QZ="Security quiz QZ-1: question"
printf 'quiz start questions=2 audience=team:people\n' |
	"$ISMSD" --console -c "$T/ismsd.conf" --as carol >"$T/out" 2>"$T/err"
expect_in "$T/out" "QZ-1 started: 2 questions each for 2 people"
wait_for has_mail "$(box heidi)" "$QZ 1 of 2" || fail "no quiz question for heidi"
QRT=$(mq field "$(box heidi)" "$QZ 1 of 2" Reply-To | tr -d '<>')
echo "$QRT" | grep -Eq '^isms\+[a-z2-7]{39}@example\.org$' || fail "quiz Reply-To is $QRT"
mq field "$(box heidi)" "$QZ 1 of 2" text | grep -q "reply to this message with the number of your answer (1-4)" ||
	fail "the quiz mail does not say how to answer by mail"
mq field "$(box heidi)" "$QZ 1 of 2" html | grep -q "mailto:$QRT?subject=.*body=2" || fail "no reply buttons"
right() { # right SEQ: the right answer to heidi's question SEQ
	q=$(sql "$DB" "SELECT question_id FROM quiz_items i JOIN people p ON p.id = i.person_id WHERE p.handle = 'heidi' AND i.seq = $1")
	awk -F '\t' -v q="$q" '$1 == q { print $8 }' config/quiz/questions.tsv
}
heidi_answers() { sql "$DB" "SELECT COUNT(answer) FROM quiz_items i JOIN people p ON p.id = i.person_id WHERE p.handle = 'heidi'"; }
# no number on the first line: refused by mail, nothing recorded
reply "$T/q0.eml" "heidi@example.org" "$QRT" quiz-0@example.org "I am not sure, maybe 2?" "Re: quiz question"
send_raw "$T/q0.eml" --user heidi@example.org --password heidi-pass
wait_for has_mail "$(box heidi)" "Re: quiz question" || fail "no refusal for a reply without a number"
mq field "$(box heidi)" "Re: quiz question" text | grep -q "must start with the number of your answer to question 1 of QZ-1, 1 to 4" ||
	fail "quiz refusal text"
[ "$(heidi_answers)" = 0 ] || fail "a reply without a number was recorded"
# the number: recorded, answered, and the next question follows by mail
reply "$T/q1.eml" "Heidi Novak <heidi@example.org>" "$QRT" quiz-1@example.org "$(right 1))" "Re: $QZ 1 of 2"
send_raw "$T/q1.eml" --user heidi@example.org --password heidi-pass
wait_for has_mail "$(box heidi)" "Re: $QZ 1 of 2" || fail "no answer to the quiz reply: $(tail -5 "$T/ismsd.log")"
mq field "$(box heidi)" "Re: $QZ 1 of 2" text >"$T/q1.txt"
expect_in "$T/q1.txt" "Correct!"
expect_in "$T/q1.txt" "The next question follows."
[ "$(sql "$DB" "SELECT answer || '|' || correct FROM quiz_items i JOIN people p ON p.id = i.person_id WHERE p.handle = 'heidi' AND i.seq = 1")" = "$(right 1)|1" ] ||
	fail "the answer is not in quiz_items"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'quiz.answer' AND actor = 'heidi' AND details LIKE '%\"via\":\"mail\"%'")" = 1 ] ||
	fail "no audit row for the answer by mail"
wait_for has_mail "$(box heidi)" "$QZ 2 of 2" || fail "no second question"
QRT2=$(mq field "$(box heidi)" "$QZ 2 of 2" Reply-To | tr -d '<>')
[ -n "$QRT2" ] && [ "$QRT2" != "$QRT" ] || fail "the second question has the Reply-To $QRT2"
# the same mail again (a redelivery) changes nothing and is not answered
wait_done
before=$(db_digest "$DB")
send_raw "$T/q1.eml" --user heidi@example.org --password heidi-pass
sleep 1
wait_done
[ "$(db_digest "$DB")" = "$before" ] || fail "a replayed quiz answer changed the database"
# the last question, wrong on purpose: the result comes back
wrong=$(($(right 2) % 4 + 1))
reply "$T/q2.eml" "heidi@example.org" "$QRT2" quiz-2@example.org "answer $wrong" "Re: $QZ 2 of 2"
send_raw "$T/q2.eml" --user heidi@example.org --password heidi-pass
wait_for has_mail "$(box heidi)" "Re: $QZ 2 of 2" || fail "no result mail"
mq field "$(box heidi)" "Re: $QZ 2 of 2" text | grep -q "That was the last question of QZ-1: you got 1 of 2 right" ||
	fail "result text"
[ "$(sql "$DB" "SELECT COUNT(*) FROM quiz_participants p JOIN people pe ON pe.id = p.person_id WHERE pe.handle = 'heidi' AND p.completed_at IS NOT NULL")" = 1 ] ||
	fail "heidi's quiz is not complete"
[ "$(heidi_answers)" = 2 ] || fail "answers recorded: $(heidi_answers)"

# 6. a permanent SMTP failure is recorded with its reason and counted as
# undelivered (the isms_managers' daily digest lists it; no notice each)
wait_for sql_is "$DB" "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'failed' AND last_error LIKE 'RCPT TO: 550%'" 1 ||
	fail "the 550 was not recorded as a failure"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE subject LIKE 'Undeliverable mail to%'")" = 0 ] ||
	fail "a notice per failure"
"$ISMSCTL" --db "$DB" report | grep -q "Undelivered messages: 1 " || fail "the report does not count the undelivered mail"

# 7. SIGTERM stops cleanly; no secret in the log
stop_daemon() {
	kill -TERM "$DPID"
	rc=0
	wait "$DPID" || rc=$?
	PIDS=${PIDS%" $DPID"}
	[ "$rc" = 0 ] || { cat "$T/ismsd.log"; fail "ismsd exited with $rc"; }
	expect_in "$T/ismsd.log" "stopped"
}
stop_daemon
expect_not_in "$T/ismsd.log" "isms-pass"
expect_not_in "$T/ismsd.log" "erik-pass"

# 8. SIGTERM while a send and a poll are in flight (each new connection
# held for 2 s by a proxy): the send finishes and is recorded, the poll
# is abandoned (read again next time), the daemon exits 0 at once
$PY tests/integration/slow_proxy.py "$SMTP_PORT" "$T/slow-smtp.log" >"$T/slow-smtp.port" &
PIDS="$PIDS $!"
$PY tests/integration/slow_proxy.py "$IMAP_PORT" "$T/slow-imap.log" >"$T/slow-imap.port" &
PIDS="$PIDS $!"
wait_for test -s "$T/slow-smtp.port" && wait_for test -s "$T/slow-imap.port" || fail "proxies"
SMTP_PORT=$(cat "$T/slow-smtp.port") IMAP_PORT=$(cat "$T/slow-imap.port") write_conf false
printf 'incident assign INC-2 @bob\n' | console "$DB" carol
# bob's notice (zed, the handler until now, is told too)
OUTBOX=$(sql "$DB" "SELECT MAX(o.id) FROM outbox o JOIN people p ON p.id = o.person_id WHERE p.handle = 'bob'")
"$ISMSD" -c "$T/ismsd.conf" 2>"$T/ismsd.log" &
DPID=$!
PIDS="$PIDS $DPID"
wait_for test -s "$T/slow-smtp.log" || fail "no SMTP connection"
wait_for test -s "$T/slow-imap.log" || fail "no IMAP connection"
start=$(date +%s)
stop_daemon
[ $(($(date +%s) - start)) -le 5 ] || fail "the stop took too long"
expect_in "$T/ismsd.log" "mail: stopping after the send in flight"
[ "$(sql "$DB" "SELECT status FROM outbox_delivery WHERE outbox_id = $OUTBOX")" = sent ] ||
	fail "the send in flight was not recorded: $(cat "$T/ismsd.log")"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
echo "mail roundtrip ok"
