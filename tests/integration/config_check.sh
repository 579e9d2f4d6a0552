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
rc=0
"$ISMSD" --no-such-flag >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "usage error exit $rc"
"$ISMSD" --version | grep -q '^ismsd [0-9]' || fail "version"
"$ISMSCTL" --version | grep -q '^ismsctl [0-9]' || fail "ismsctl version"
rc=0
"$ISMSCTL" --db "$T/x.db" frobnicate >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "ismsctl unknown command exit $rc"
echo "config checks ok"
