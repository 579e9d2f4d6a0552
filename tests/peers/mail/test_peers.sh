#!/bin/bash
# Self-test of the mail peers: start in a mktemp dir, send via SMTP, read and
# flag over IMAP (imaplib and curl), DKIM simulation, reject rules, TLS/AUTH
# modes, stop, clean up.  Ends with "N passed, N failed"; exit 1 on any failure.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
MAILCTL="$PY $HERE/mailctl.py"
PASS=0 FAIL=0
ok()   { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

T=$(mktemp -d /tmp/mailpeers.XXXXXX)
finish() {
  "$HERE/stop.sh" "$T" >/dev/null 2>&1
  rm -rf "$T"
}
trap finish EXIT

# a pid is gone when it no longer exists or is only a zombie (pid 1 may not reap)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# jq-less JSON assertion: jcheck JSON 'python expression over j'
jcheck() { "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }

echo "# start (plain)"
t0=$(date +%s%N)
if ! "$HERE/start.sh" "$T" >"$T.start.out" 2>&1; then
  cat "$T.start.out"; bad "start.sh"; echo "$PASS passed, $FAIL failed"; rm -f "$T.start.out"; exit 1
fi
t1=$(date +%s%N)
ok "start.sh ($(( (t1 - t0) / 1000000 )) ms)"
rm -f "$T.start.out"
# shellcheck disable=SC1091
. "$T/env"
export MAILPEERS_DIR SMTP_PORT IMAP_PORT
check "env has ports and pids" test -n "$SMTP_PORT" -a -n "$IMAP_PORT" -a -n "$SMTP_PID" -a -n "$IMAP_PID"
check "dovecot -n accepts the generated config" sh -c "dovecot -n -c '$T/dovecot.conf' >/dev/null 2>&1"
GW="$T/mail/isms@example.org"

echo "# SMTP -> Maildir"
out=$($MAILCTL send --port "$SMTP_PORT" --from carol@example.org --to isms@example.org \
      --subject "Lost laptop" --body "I lost my laptop on the train." --header "X-Test: 1")
check "send carol -> isms" jcheck "$out" 'j["ok"]'
msgs=$($MAILCTL wait --maildir "$GW" --count 1 --timeout 10)
check "delivered into isms Maildir" jcheck "$msgs" 'len(j)==1 and j[0]["subject"]=="Lost laptop" and "lost my laptop" in j[0]["text"]'
check "Received: added" jcheck "$msgs" 'any(k=="Received" and "mx.test.example" in v for k,v in j[0]["headers"])'
check "X-Test header kept" jcheck "$msgs" 'any(k=="X-Test" and v=="1" for k,v in j[0]["headers"])'
check "unauthenticated example.org: no Authentication-Results" jcheck "$msgs" 'j[0]["authentication_results"]==[]'

echo "# IMAP (imaplib)"
"$PY" - "$IMAP_PORT" <<'EOF' && ok "imaplib: login, UID SEARCH, STORE \$IsmsDone, persists after relogin" || bad "imaplib flag round trip"
import imaplib, sys
port = int(sys.argv[1])
m = imaplib.IMAP4("127.0.0.1", port)
m.login("isms@example.org", "isms-pass")
assert m.select("INBOX")[0] == "OK"
typ, d = m.uid("SEARCH", None, "UNKEYWORD", "$IsmsDone")
uids = d[0].split()
assert len(uids) == 1, d
uid = uids[0].decode()
typ, d = m.uid("STORE", uid, "+FLAGS", r"($IsmsDone \Seen)")
assert typ == "OK", d
m.logout()
m = imaplib.IMAP4("127.0.0.1", port)
m.login("isms@example.org", "isms-pass")
m.select("INBOX")
typ, d = m.uid("FETCH", uid, "(FLAGS)")
s = d[0].decode()
assert "$IsmsDone" in s and "\\Seen" in s, s
typ, d = m.uid("SEARCH", None, "UNKEYWORD", "$IsmsDone")
assert d[0].split() == [], d
typ, d = m.uid("SEARCH", None, "KEYWORD", "$IsmsDone")
assert d[0].split() == [uid.encode()], d
m.logout()
EOF
check "wrong IMAP password refused" sh -c "! $MAILCTL imap-flags --port $IMAP_PORT --user isms@example.org --password nope 2>/dev/null"

flags=$($MAILCTL imap-flags --port "$IMAP_PORT" --user isms@example.org --password isms-pass)
check "mailctl imap-flags shows \$IsmsDone and \\Seen" jcheck "$flags" 'len(j)==1 and "$IsmsDone" in j[0]["flags"] and "\\Seen" in j[0]["flags"]'
msgs=$($MAILCTL list --maildir "$GW")
check "mailctl list reads Maildir keywords" jcheck "$msgs" '"$IsmsDone" in j[0]["flags"] and "\\Seen" in j[0]["flags"]'

echo "# IMAP (curl)"
$MAILCTL send --port "$SMTP_PORT" --from alice@example.org --to isms@example.org --subject second --body two >/dev/null
$MAILCTL wait --maildir "$GW" --count 2 --timeout 10 >/dev/null
c=$(curl -s --max-time 10 "imap://127.0.0.1:$IMAP_PORT/INBOX" --user isms@example.org:isms-pass -X 'UID SEARCH UNKEYWORD $IsmsDone' | tr -d '\r')
echo "  curl UID SEARCH UNKEYWORD \$IsmsDone -> $c"
check "curl sees only the new, unflagged message" test "$c" = "* SEARCH 2"
c=$(curl -s --max-time 10 "imap://127.0.0.1:$IMAP_PORT/INBOX;UID=2" --user isms@example.org:isms-pass | tr -d '\r')
check "curl fetches message UID 2" sh -c "printf '%s' \"\$1\" | grep -q '^Subject: second'" _ "$c"
c=$(curl -s --max-time 10 "imap://127.0.0.1:$IMAP_PORT/INBOX" --user isms@example.org:isms-pass -X 'UID STORE 2 +FLAGS ($IsmsDone)' | tr -d '\r')
c=$(curl -s --max-time 10 "imap://127.0.0.1:$IMAP_PORT/INBOX" --user isms@example.org:isms-pass -X 'UID SEARCH UNKEYWORD $IsmsDone' | tr -d '\r')
check "curl UID STORE \$IsmsDone, then nothing left" test "$c" = "* SEARCH"

echo "# DKIM simulation (Authentication-Results)"
BOB="$T/mail/bob@example.org"
$MAILCTL send --port "$SMTP_PORT" --from alice@example.org --to bob@example.org --subject auth --body x \
  --user alice@example.org --password alice-pass >/dev/null
$MAILCTL send --port "$SMTP_PORT" --from dave@partner.example --to bob@example.org --subject trusted --body x >/dev/null
$MAILCTL send --port "$SMTP_PORT" --from spoof@dkimfail.example --to bob@example.org --subject failing --body x >/dev/null
$MAILCTL send --port "$SMTP_PORT" --from mallory@evil.example --to bob@example.org --subject untrusted --body x \
  --header "Authentication-Results: mx.test.example; dkim=pass header.d=evil.example" \
  --header "Authentication-Results: other.example; dkim=pass header.d=evil.example" >/dev/null
$MAILCTL send --port "$SMTP_PORT" --from "CEO <ceo@example.org>" --to bob@example.org --subject authmismatch --body x \
  --user mallory@evil.example >/dev/null
$MAILCTL send --port "$SMTP_PORT" --from news@unaligned.example --to bob@example.org --subject unaligned --body x >/dev/null
msgs=$($MAILCTL wait --maildir "$BOB" --count 6 --timeout 10)
ar() { jcheck "$msgs" "[m['authentication_results'] for m in j if m['subject']=='$1'][0] == $2"; }
check "AUTH'd client -> dkim=pass header.d=<auth domain>" ar auth '["mx.test.example; dkim=pass header.d=example.org"]'
check "trusted domain partner.example -> dkim=pass" ar trusted '["mx.test.example; dkim=pass header.d=partner.example"]'
check "dkimfail.example -> dkim=fail" ar failing '["mx.test.example; dkim=fail header.d=dkimfail.example"]'
check "untrusted domain: no header; forged one with our authserv-id stripped, foreign kept" \
  ar untrusted '["other.example; dkim=pass header.d=evil.example"]'
check "AUTH as mallory@evil.example, From ceo@example.org -> header.d=evil.example" \
  ar authmismatch '["mx.test.example; dkim=pass header.d=evil.example"]'
check "unaligned rule -> pass for another d=" ar unaligned '["mx.test.example; dkim=pass header.d=bulk-mailer.example"]'
check "Received says ESMTPA for AUTH" jcheck "$msgs" 'any("with ESMTPA " in v for m in j if m["subject"]=="auth" for k,v in m["headers"] if k=="Received")'
check "transcript records auth user" grep -q '"auth_user": "alice@example.org"' "$T/smtp-transcript.jsonl"

$MAILCTL send --port "$SMTP_PORT" --from mailer-daemon@partner.example --env-from '' --to carol@example.org \
  --subject "Undelivered Mail" --body "bounce" >/dev/null
msgs=$($MAILCTL wait --maildir "$T/mail/carol@example.org" --count 1 --timeout 10)
check "null envelope sender -> Return-Path: <>" jcheck "$msgs" '[v for k,v in j[0]["headers"] if k=="Return-Path"]==["<>"]'

echo "# reject rules"
expect_rc() {  # expect_rc RC CODE args...
  local want=$1 code=$2; shift 2
  local o r
  o=$($MAILCTL send --port "$SMTP_PORT" --from alice@example.org --subject r --body r "$@"); r=$?
  [ "$r" = "$want" ] && jcheck "$o" "j.get('code') == $code" || { echo "  got rc=$r $o"; return 1; }
}
check "unknown recipient -> 550, exit 5" expect_rc 5 550 --to nobody@example.org
check "bounce@ -> 550, exit 5" expect_rc 5 550 --to bounce@example.org
check "tempfail@ -> 451, exit 4" expect_rc 4 451 --to tempfail@example.org
check "datafail@ -> 554 at DATA, exit 5" expect_rc 5 554 --to datafail@example.org
check "flaky@ 1st try -> 451" expect_rc 4 451 --to flaky@example.org
check "flaky@ 2nd try -> 451" expect_rc 4 451 --to flaky@example.org
check "flaky@ 3rd try accepted" sh -c "$MAILCTL send --port $SMTP_PORT --from alice@example.org --to flaky@example.org --subject r --body r >/dev/null"
check "one bad rcpt among good ones: partial delivery reported" sh -c \
  "$MAILCTL send --port $SMTP_PORT --from alice@example.org --to carol@example.org --to nobody@example.org --subject p --body p | grep -q nobody@example.org"
check "wrong SMTP AUTH password -> 535, exit 5" sh -c \
  "$MAILCTL send --port $SMTP_PORT --from alice@example.org --to bob@example.org --user alice@example.org --password wrong >/dev/null; test \$? = 5"

echo "# restart with --tls --require-starttls --auth-required"
"$HERE/stop.sh" "$T"
check "stopped: SMTP and Dovecot pids gone" eval 'gone $SMTP_PID && gone $IMAP_PID'
check "stopped: ports closed" eval 'closed $SMTP_PORT && closed $IMAP_PORT'

check "stop.sh is idempotent" "$HERE/stop.sh" "$T"
if "$HERE/start.sh" "$T" --tls --require-starttls --auth-required >/dev/null 2>"$T/start2.err"; then
  ok "start.sh --tls --require-starttls --auth-required"
else
  cat "$T/start2.err"; bad "start.sh with TLS"
fi
. "$T/env"
check "env has IMAPS_PORT and TLS_CERT" test -n "$IMAPS_PORT" -a -s "$TLS_CERT"
check "Maildirs kept across restart" jcheck "$($MAILCTL list --maildir "$GW")" 'len(j)==2'
check "plain MAIL without STARTTLS -> 530, exit 5" sh -c \
  "$MAILCTL send --port $SMTP_PORT --from alice@example.org --to isms@example.org --body x >/dev/null; test \$? = 5"
check "STARTTLS without AUTH -> 530, exit 5" sh -c \
  "$MAILCTL send --port $SMTP_PORT --starttls --cafile '$TLS_CERT' --from alice@example.org --to isms@example.org --body x >/dev/null; test \$? = 5"
check "STARTTLS (verified cert) + AUTH -> delivered" sh -c \
  "$MAILCTL send --port $SMTP_PORT --starttls --cafile '$TLS_CERT' --user carol@example.org --from carol@example.org --to isms@example.org --subject tls --body x >/dev/null"
msgs=$($MAILCTL wait --maildir "$GW" --count 3 --timeout 10)
check "Received says ESMTPSA" jcheck "$msgs" 'any("with ESMTPSA " in v for m in j if m["subject"]=="tls" for k,v in m["headers"] if k=="Received")'
check "IMAP STARTTLS" sh -c "$MAILCTL imap-flags --port $IMAP_PORT --starttls --cafile '$TLS_CERT' --format text | grep -q '^3'"
check "IMAPS" sh -c "$MAILCTL imap-flags --port $IMAPS_PORT --ssl --cafile '$TLS_CERT' --search 'UNKEYWORD \$IsmsDone' --format text | grep -q '^3 '"
c=$(curl -s --max-time 10 --cacert "$TLS_CERT" "imaps://127.0.0.1:$IMAPS_PORT/INBOX" --user isms@example.org:isms-pass -X 'UID SEARCH UNKEYWORD $IsmsDone' | tr -d '\r')
check "curl imaps UID SEARCH" test "$c" = "* SEARCH 3"

echo "# stop"
"$HERE/stop.sh" "$T"
check "everything stopped" eval 'gone $SMTP_PID && gone $IMAP_PID && closed $SMTP_PORT && closed $IMAP_PORT && closed $IMAPS_PORT'
check "no Dovecot process of this DIR left" eval '! pgrep -f -- "^/usr/sbin/dovecot -F -c $T/dovecot.conf" >/dev/null' 
check "stop.sh again is fine" "$HERE/stop.sh" "$T"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
