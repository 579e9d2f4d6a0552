# The admin listener against a fake Slack: /metrics is a valid Prometheus
# exposition whose counters follow the slash commands; /healthz is 200,
# then 503 with the reason once the token is revoked, and the daemon exits
# with status 3 after admin.exit_when_down. A stop while sends are in
# flight counts no attempt. Every log line is a JSON object.
# engines: sqlite pg
. tests/integration/lib.sh
. tests/integration/slack.inc
DB=$(db_path isms.db)
new_db "$DB"
start_fake
register_staff config/demo/staff.csv
cat >"$T/ismsd.conf" <<EOC
[store]
$(store_conf "$DB")
publish_head = false
[slack]
enabled = true
app_token = xapp-1-TEST
bot_token = xoxb-TEST
api_base = $FAKE/api
[quiz]
every = off
[report]
every = off
[admin]
listen = 127.0.0.1:0
exit_when_down = 1h
[log]
format = json
EOC

# admin_url: the listener's base URL from the log
admin_url() {
	# the whole address: a line may be read while it is being written
	wait_for grep -q "admin: listening on http:[^ ]* " "$T/ismsd.err" || { cat "$T/ismsd.err"; fail "no admin listener"; }
	ADMIN=$(sed -n 's/.*admin: listening on \(http:[^ ]*\) .*/\1/p' "$T/ismsd.err" | head -1)
}

# get PATH: status in $T/code, body in $T/body
get() {
	curl -sS -o "$T/body" -w '%{http_code}' "$ADMIN$1" >"$T/code" || fail "GET $1"
}

# every line of the log is one JSON object with time, level and msg
json_log() {
	$PY - "$1" <<'EOP' || fail "a log line is not a JSON object"
import json, re, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    assert set(o) == {"time", "level", "msg"}, line
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", o["time"]), line
    assert o["level"] in ("error", "warn", "info", "debug", "fatal"), line
    n += 1
assert n > 3
EOP
}

start_ismsd "$T/ismsd.conf"
admin_url
await open_connections 1
wait_for grep -q "slack: connected (Socket Mode" "$T/ismsd.err" || fail "no hello"

# 1. health: the store takes a write, Slack is connected
get /healthz
[ "$(cat "$T/code")" = 200 ] || { cat "$T/body"; fail "healthz not 200"; }
expect_in "$T/body" "ok"
expect_in "$T/body" "store: writable"
expect_in "$T/body" "slack: connected"
# GET and HEAD only; unknown paths are 404
[ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$ADMIN/healthz")" = 405 ] || fail "POST not 405"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -I "$ADMIN/metrics")" = 200 ] || fail "HEAD not 200"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$ADMIN/nothing")" = 404 ] || fail "unknown path not 404"

# 2. three slash commands, then the exposition: valid, and counting them
get /metrics
cp "$T/body" "$T/metrics0"
slash U0ALICE C0GENERAL /incident "Lost badge at the front desk"
acked "$ENV"
expect_in "$T/ack" "Recorded as INC-1"
slash U0ALICE C0GENERAL /isms "incident list"
acked "$ENV"
slash U0BOB C0GENERAL /isms "incident list"
acked "$ENV"
get /metrics
[ "$(cat "$T/code")" = 200 ] || fail "metrics not 200"
cp "$T/body" "$T/metrics1"
$PY - "$T/metrics0" "$T/metrics1" <<'EOP' || fail "the exposition"
import math, re, sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"(%s)(\{(?:%s(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))

def labels(s):
    out = {}
    for m in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', s or ""):
        assert m.group(1) not in out, "repeated label " + m.group(1)
        out[m.group(1)] = m.group(2)
    return out

def value(s):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", s), "value " + s
    return float(s)

def parse(path):
    text = open(path).read()
    assert text.endswith("\n")
    fams, cur, seen = {}, None, set()
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert re.fullmatch(NAME, name), line
            assert name not in fams, "family twice: " + name
            fams[name] = {"type": None, "samples": []}
            cur = name
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert name == cur and fams[name]["type"] is None, "TYPE without its HELP: " + line
            assert typ in ("counter", "gauge", "histogram"), line
            fams[name]["type"] = typ
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, "malformed sample: " + line
        name, lab, val = m.group(1), labels(m.group(2)), value(m.group(3))
        assert cur is not None and fams[cur]["type"] is not None, "sample before TYPE: " + line
        typ = fams[cur]["type"]
        if typ == "histogram":
            assert name in (cur + "_bucket", cur + "_sum", cur + "_count"), line
            assert (name == cur + "_bucket") == ("le" in lab), line
        else:
            assert name == cur, "sample outside its family: " + line
        if typ == "counter":
            assert cur.endswith("_total") and val >= 0, line
        key = (name, tuple(sorted(lab.items())))
        assert key not in seen, "sample twice: " + line
        seen.add(key)
        fams[cur]["samples"].append((name, lab, val))
    for name, f in fams.items():
        assert f["type"] is not None, "HELP without TYPE: " + name
        if f["type"] != "histogram":
            continue
        series = {}
        for n, lab, v in f["samples"]:
            rest = tuple(sorted((k, x) for k, x in lab.items() if k != "le"))
            series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
            s = series[rest]
            if n.endswith("_bucket"):
                s["buckets"].append((value(lab["le"]), v))
            elif n.endswith("_sum"):
                s["sum"] = v
            else:
                s["count"] = v
        for rest, s in series.items():
            les = [le for le, _ in s["buckets"]]
            assert les == sorted(les) and len(set(les)) == len(les), name + " buckets out of order"
            assert les and math.isinf(les[-1]), name + " lacks +Inf"
            counts = [c for _, c in s["buckets"]]
            assert all(a <= b for a, b in zip(counts, counts[1:])), name + " buckets not cumulative"
            assert s["count"] is not None and s["sum"] is not None, name + " lacks _sum or _count"
            assert counts[-1] == s["count"], name + " +Inf != _count"
    return fams

def get(fams, name, **lab):
    for f in fams.values():
        for n, l, v in f["samples"]:
            if n == name and l == lab:
                return v
    return 0.0

before, after = parse(sys.argv[1]), parse(sys.argv[2])
names = set(after)
for want in ("isms_requests_total", "isms_commands_total", "isms_group_commit_batch_size",
             "isms_group_commit_seconds", "isms_outbox_deliveries", "isms_transport_state",
             "isms_transport_reconnects_total", "isms_scheduler_last_pass_timestamp_seconds",
             "isms_scheduler_messages_queued_total", "isms_breach_clocks_running",
             "process_start_time_seconds", "isms_build_info"):
    assert want in names, "missing " + want
def moved(name, **lab):
    return get(after, name, **lab) - get(before, name, **lab)
assert moved("isms_requests_total", transport="slack", result="accepted") == 3, "requests"
assert moved("isms_commands_total", transport="slack", result="ok") == 3, "commands"
assert moved("isms_group_commit_batch_size_sum") == 3, "batch sizes"
assert moved("isms_group_commit_seconds_count") == moved("isms_group_commit_batch_size_count") >= 1
assert get(after, "isms_transport_state", transport="slack") == 2, "slack state"
assert get(after, "isms_transport_reconnects_total", transport="slack") == 0
assert get(after, "isms_build_info", version=[l for n, l, v in after["isms_build_info"]["samples"]][0]["version"]) == 1
assert get(after, "process_start_time_seconds") > 1.5e9
assert get(after, "isms_outbox_deliveries", transport="slack", status="failed") == 0
EOP

# 3. a stop while both DMs about a new incident are in flight to a slow
#    Slack: no attempt is counted, nothing fails; after the restart they
#    go out with one attempt each
outbox_settled "$DB" || fail "deliveries never settled"
ctl delay '{"method":"chat.postMessage","count":4,"seconds":20}'
slash U0ALICE C0GENERAL /incident "Tailgating at the side door"
acked "$ENV"
sql_wait "$DB" "SELECT COUNT(*) FROM outbox o JOIN outbox_delivery d ON d.outbox_id = o.id WHERE o.body LIKE '%INC-2%' AND d.transport = 'slack'" 2
sleep 1
stop_ismsd
[ "$(sql "$DB" "SELECT COUNT(*) || '|' || SUM(attempts) || '|' || SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) || '|' || SUM(CASE WHEN last_error IS NULL THEN 1 ELSE 0 END) FROM outbox o JOIN outbox_delivery d ON d.outbox_id = o.id WHERE o.body LIKE '%INC-2%'")" = "2|0|2|2" ] ||
	fail "a stop counted as an attempt: $(sql "$DB" "SELECT transport, status, attempts, last_error FROM outbox_delivery")"
expect_in "$T/ismsd.err" "cut off by the stop"
json_log "$T/ismsd.err"
cp "$T/ismsd.err" "$T/ismsd.err.1"
ctl reset '{}'
start_ismsd "$T/ismsd.conf"
admin_url
sql_wait "$DB" "SELECT COUNT(*) || '|' || SUM(attempts) FROM outbox o JOIN outbox_delivery d ON d.outbox_id = o.id WHERE o.body LIKE '%INC-2%' AND d.status = 'sent'" "2|2"

# 4. the app token is revoked and the connection drops: Slack is down for
#    good, /healthz says why with 503, and with every transport down the
#    daemon exits with status 3 after admin.exit_when_down (shortened by a
#    reload while the countdown runs)
await open_connections 1
ctl revoke '{"token":"xapp-1-TEST"}'
ctl drop '{}'
wait_for grep -q "every transport is down for good: exiting in 3600 s" "$T/ismsd.err" || { cat "$T/ismsd.err"; fail "no countdown line"; }
get /healthz
[ "$(cat "$T/code")" = 503 ] || { cat "$T/body"; fail "healthz not 503"; }
expect_in "$T/body" "unhealthy"
expect_in "$T/body" "slack: down: Slack refused the app-level token (slack.app_token) (token_revoked)"
expect_in "$T/body" "exit: every transport is down for good"
get /metrics
grep -qx 'isms_transport_state{transport="slack"} 0' "$T/body" || fail "state gauge not 0"
sed 's/exit_when_down = 1h/exit_when_down = 3s/' "$T/ismsd.conf" >"$T/conf2"
cat "$T/conf2" >"$T/ismsd.conf"
kill -HUP "$ISMSD_PID"
rc=0
i=0
while kill -0 "$ISMSD_PID" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 150 ] && fail "ismsd did not exit after exit_when_down"
	sleep 0.1
done
wait "$ISMSD_PID" || rc=$?
[ $rc = 3 ] || { tail -20 "$T/ismsd.err"; fail "exit status $rc, not 3"; }
expect_in "$T/ismsd.err" "(admin.exit_when_down): exiting with status 3"
[ "$(grep -c 'exiting' "$T/ismsd.err")" = 2 ] || fail "countdown lines"
if grep -q 'Sanitizer\|runtime error' "$T/ismsd.err"; then fail "sanitizer report"; fi
json_log "$T/ismsd.err"
no_secrets "$T/ismsd.err" "$T/ismsd.err.1"
echo "admin_metrics: ok"
