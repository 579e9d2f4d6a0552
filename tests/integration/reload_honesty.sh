# SIGHUP: settings that apply live do at once; those that need a restart
# are named in one line and keep their running values; a refused reload is
# one line naming every problem. [log] format switches live.
. tests/integration/lib.sh
DB=$T/isms.db
new_db "$DB"
conf() {
	cat >"$T/ismsd.conf" <<EOC
[store]
path = $1
[slack]
mode = $2
[quiz]
every = off
[admin]
listen = $3
[log]
format = $4
EOC
}
conf "$DB" socket 127.0.0.1:0 text
"$ISMSD" -c "$T/ismsd.conf" >"$T/out" 2>"$T/err" &
PID=$!
PIDS="$PIDS $PID"
wait_for grep -q "admin: listening on http://" "$T/err" || { cat "$T/err"; fail "no listener"; }
ADMIN=$(sed -n 's/.*admin: listening on \(http:[^ ]*\) .*/\1/p' "$T/err")
# text lines: TIME LEVEL message
grep -qE '^[0-9-]{10}T[0-9:]{8}Z info admin: listening on' "$T/err" || fail "text line form"

# 1. the store, Slack's mode and the listener need a restart; the log
#    format applies at once
conf "$T/other.db" http 127.0.0.1:1 json
kill -HUP "$PID"
wait_for grep -q "configuration reloaded" "$T/err" || { cat "$T/err"; fail "no reload"; }
expect_in "$T/err" '"level":"warn","msg":"reload: restart needed for store.path, slack.mode, admin.listen; the running values stay until then"}'
expect_in "$T/err" '"msg":"configuration reloaded from '"$T/ismsd.conf"': every other setting applied"}'
[ "$(grep -c 'restart needed' "$T/err")" = 1 ] || fail "more than one restart line"
# the running listener and store are the ones still in use
[ "$(curl -sS -o "$T/health" -w '%{http_code}' "$ADMIN/healthz")" = 200 ] || fail "listener gone"
expect_in "$T/health" "store: writable"
[ ! -e "$T/other.db" ] || fail "the new store path was opened"

# 2. the running values written back: nothing needs a restart
conf "$DB" socket 127.0.0.1:0 json
kill -HUP "$PID"
wait_for grep -q "every setting applied" "$T/err" || { cat "$T/err"; fail "no second reload"; }
[ "$(grep -c 'restart needed' "$T/err")" = 1 ] || fail "a restart named for an unchanged file"

# 3. a file with two problems is refused in one line naming both
printf '[store]\npath = %s\n[org]\nworking_days = funday\n[risk]\nappetite = 99\n' "$DB" >"$T/ismsd.conf"
kill -HUP "$PID"
wait_for grep -q "reload refused" "$T/err" || { cat "$T/err"; fail "no refusal"; }
[ "$(grep -c 'reload refused' "$T/err")" = 1 ] || fail "refusal lines"
grep 'reload refused' "$T/err" | grep -q 'ismsd.conf:4: org.working_days: invalid value \\"funday\\".*; .*ismsd.conf:6: risk.appetite' ||
	{ grep 'reload refused' "$T/err"; fail "refusal line content"; }
# still running with the last good configuration (JSON lines)
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$ADMIN/healthz")" = 200 ] || fail "not healthy after a refusal"

kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
[ $rc = 0 ] || { cat "$T/err"; fail "exit $rc"; }
if grep -q 'Sanitizer\|runtime error' "$T/err"; then fail "sanitizer report"; fi
# every line after the switch is one JSON object
sed -n '/"level"/,$p' "$T/err" | $PY -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    assert set(o) == {"time", "level", "msg"}, line
' || fail "a JSON line does not parse"
echo "reload_honesty: ok"
