# The fake Slack's own self-test: it must refuse every Block Kit message
# Slack refuses (invalid_blocks in Slack's shape), so that the Slack tests
# fail the day a renderer breaks a rule.
. tests/integration/lib.sh
timeout 120 $PY tests/fakes/slack/test_fake_selftest.py >"$T/selftest.log" 2>&1 || {
	tail -60 "$T/selftest.log"
	fail "fake Slack self-test"
}
grep -q '^OK' "$T/selftest.log" || fail "fake Slack self-test did not finish"
