# ismsd's command line: the example configuration is current, --check-config
# reports every problem with file:line and never a secret, exit codes.
. tests/integration/lib.sh
"$ISMSD" --print-config | diff -u config/ismsd.conf.example - || fail "config/ismsd.conf.example is stale: regenerate with ismsd --print-config"
"$ISMSD" --check-config -c config/ismsd.conf.example >"$T/out" || fail "example does not check"
expect_in "$T/out" "configuration OK"
cat >"$T/bad.conf" <<'EOC'
[org]
working_days = someday
[slack]
enabled = true
mode = http
bot_token = xoxb-very-secret-token
signing_secret = env:ISMS_TEST_NOT_SET
[mail]
poll_seconds = 0
EOC
rc=0
"$ISMSD" --check-config -c "$T/bad.conf" >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "bad config exit code $rc"
expect_in "$T/out" "bad.conf:2: org.working_days: invalid value"
expect_in "$T/out" "bad.conf:7: signing_secret: environment variable ISMS_TEST_NOT_SET is not set"
expect_in "$T/out" "bad.conf:9: mail.poll_seconds: expected a whole number"
expect_not_in "$T/out" "xoxb-very-secret-token"
rc=0
"$ISMSD" -c "$T/bad.conf" >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "daemon with bad config: exit $rc"
expect_not_in "$T/out" "xoxb-very-secret-token"
# what start-up refuses, --check-config reports first, in the same words
cat >"$T/forms.conf" <<EOF
[store]
path = $T/forms.db
[mail]
enabled = true
smtp_url = smtps://mail.example.org:465
from = ISMS <isms@example.org>
reply_domain = example.org
imap_url = ftp://mail.example.org
[matrix]
enabled = true
homeserver = matrix.example.org
user_id = isms-bot
access_token = syt_secret_value
[slack]
listen = 127.0.0.1:3000 ; or [::1]:3000
EOF
rc=0
"$ISMSD" --check-config -c "$T/forms.conf" >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "check-config of bad forms: exit $rc"
for m in 'matrix.homeserver "matrix.example.org" must start with https://' \
	'matrix.user_id "isms-bot" must be a Matrix id' \
	'mail.from "ISMS <isms@example.org>" is not a plain address' \
	'mail.smtp_url must be smtp://host[:port]' \
	'mail.imap_url must be imap[s]://host[:port][/MAILBOX]' \
	'slack.listen: expected host:port'; do
	expect_in "$T/out" "$m"
done
expect_not_in "$T/out" "syt_secret_value"
sed -i '/^listen/d' "$T/forms.conf"
"$ISMSCTL" --db "$T/forms.db" init >/dev/null
rc=0
"$ISMSD" -c "$T/forms.conf" >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "daemon with bad forms: exit $rc"
expect_in "$T/out" 'forms.conf: mail.smtp_url must be smtp://host[:port]'
expect_in "$T/out" 'forms.conf: matrix.user_id "isms-bot" must be a Matrix id'
rc=0
"$ISMSD" --no-such-flag >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "usage error exit $rc"
"$ISMSD" --version | grep -q '^ismsd [0-9]' || fail "version"
"$ISMSCTL" --version | grep -q '^ismsctl [0-9]' || fail "ismsctl version"
rc=0
"$ISMSCTL" --db "$T/x.db" frobnicate >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "ismsctl unknown command exit $rc"
echo "config checks ok"
