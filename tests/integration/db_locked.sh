# A database locked by another process never freezes the daemon: while
# a BEGIN EXCLUSIVE holds it for 15 s, the loop answers a 404 at once,
# every signed report is answered within Slack's 3 seconds (stored, or
# "not stored, please try again"), nothing answered "not stored" is in
# the database, and once the lock is gone reports are stored again.
. tests/integration/lib.sh
. tests/integration/slack.inc
DB=$T/isms.db
SIGNING_SECRET=4e2b8d1f6a9c3e5b7d0f2a4c6e8b1d3f
new_db "$DB"
start_fake
register_staff config/demo/staff.csv
printf '%s\n' "$SIGNING_SECRET" >"$T/secret"
chmod 600 "$T/secret"
cat >"$T/ismsd.conf" <<EOC
[store]
path = $DB
[quiz]
every = off
[slack]
enabled = true
mode = http
bot_token = xoxb-TEST
signing_secret = file:$T/secret
listen = 127.0.0.1:0
api_base = $FAKE/api
EOC
start_ismsd "$T/ismsd.conf"
wait_for grep -q "listening on http://" "$T/ismsd.err" || { cat "$T/ismsd.err"; fail "no listener"; }
URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T/ismsd.err")
BASE=${URL%/slack/events}

$PY - "$URL" "$BASE" "$SIGNING_SECRET" "$DB" >"$T/result.json" <<'EOP'
import json, sqlite3, sys, threading, time, urllib.request, urllib.error
sys.path.insert(0, "tests/fakes/slack")
from slack_sign import post, signed_headers, slash_body
url, base, secret, db = sys.argv[1:]

def report(text):
    body = slash_body(command="/incident", text=text, user_id="U0ALICE",
                      channel_id="C0GENERAL")
    t0 = time.monotonic()
    status, answer = post(url, body, signed_headers(secret, body), timeout=20)
    return {"text": text, "status": status, "answer": answer,
            "seconds": time.monotonic() - t0}

def not_found():
    t0 = time.monotonic()
    try:
        urllib.request.urlopen(base + "/nope", timeout=20)
        code = 200
    except urllib.error.HTTPError as e:
        code = e.code
    return code, time.monotonic() - t0

before = report("Before the lock")
lock = sqlite3.connect(db, timeout=30, isolation_level=None)
lock.execute("BEGIN EXCLUSIVE")
held_at = time.monotonic()
during, probes = [], []
results = []
threads = []
i = 0
while time.monotonic() - held_at < 15:
    t = threading.Thread(target=lambda n=i: results.append(report(f"During the lock {n}")))
    t.start()
    threads.append(t)
    probes.append(not_found())
    i += 1
    time.sleep(0.5)
for t in threads:
    t.join()
lock.execute("ROLLBACK")
lock.close()
after = report("After the lock")
print(json.dumps({"before": before, "during": results, "after": after,
                  "probes": probes}))
EOP

$PY - "$T/result.json" "$DB" <<'EOP' || fail "see above"
import json, sqlite3, sys
r = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
bad = []
titles = {row[0] for row in db.execute("SELECT title FROM incidents")}
assert "Recorded as INC-" in r["before"]["answer"], r["before"]
assert "Recorded as INC-" in r["after"]["answer"], r["after"]
assert "Before the lock" in titles and "After the lock" in titles
stored = refused = 0
for x in r["during"]:
    if x["seconds"] >= 3.0:
        bad.append(f"answered after {x['seconds']:.2f} s: {x['text']}")
    if x["status"] != 200:
        bad.append(f"HTTP {x['status']}: {x['text']}")
    if "nothing was stored" in x["answer"]:
        refused += 1
        if x["text"] in titles:
            bad.append(f"told 'not stored' but stored: {x['text']}")
    elif "Recorded as INC-" in x["answer"]:
        stored += 1
        if x["text"] not in titles:
            bad.append(f"told stored but missing: {x['text']}")
    else:
        bad.append(f"unexpected answer: {x['answer'][:200]}")
worst = max(s for _, s in r["probes"])
if any(code != 404 for code, _ in r["probes"]):
    bad.append(f"probe codes: {[c for c, _ in r['probes']]}")
if worst >= 0.1:
    bad.append(f"a 404 took {worst * 1000:.0f} ms while the database was locked")
print(f"{len(r['during'])} reports during the lock: {refused} answered "
      f"'not stored', {stored} stored; slowest answer "
      f"{max(x['seconds'] for x in r['during']):.2f} s; slowest 404 "
      f"{worst * 1000:.1f} ms")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOP
expect_in "$T/ismsd.err" "the database is locked by another process"
expect_in "$T/ismsd.err" "the database lock was released"
# every alert went out once: nothing sent whose outcome was not recorded
outbox_settled "$DB" || fail "deliveries never settled"
[ "$(state "sum('Before the lock' in m.get('text', '') for m in d['messages'])")" = 2 ] ||
	fail "the alert for the first report was not sent exactly once to each isms_manager"
[ "$(state "sum('After the lock' in m.get('text', '') for m in d['messages'])")" = 2 ] ||
	fail "the alert for the last report was not sent exactly once to each isms_manager"

# a send in flight when the lock begins: its outcome waits for the lock,
# and the message is not sent again
ctl delay '{"method":"chat.postMessage","count":2,"seconds":2}'
$PY - "$URL" "$SIGNING_SECRET" "$DB" >"$T/slow.txt" <<'EOP'
import sqlite3, sys, time
sys.path.insert(0, "tests/fakes/slack")
from slack_sign import post, signed_headers, slash_body
url, secret, db = sys.argv[1:]
body = slash_body(command="/incident", text="Slow delivery", user_id="U0ALICE",
                  channel_id="C0GENERAL")
print(post(url, body, signed_headers(secret, body), timeout=20)[1])
time.sleep(0.5)
lock = sqlite3.connect(db, timeout=30, isolation_level=None)
lock.execute("BEGIN EXCLUSIVE")
time.sleep(4)
lock.execute("ROLLBACK")
EOP
expect_in "$T/slow.txt" "Recorded as INC-"
outbox_settled "$DB" || fail "deliveries never settled after the slow sends"
[ "$(state "sum('Slow delivery' in m.get('text', '') for m in d['messages'])")" = 2 ] ||
	fail "the alert sent while the lock began was not sent exactly once to each isms_manager"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.body LIKE '%Slow delivery%' AND d.status = 'sent' AND d.attempts = 1")" = 2 ] ||
	fail "the outcomes of the sends in flight were not recorded as one attempt each"
[ "$(state "sum('Slow delivery' in m.get('text', '') for m in d['messages'])")" = 2 ] ||
	fail "a message sent while the database was locked was sent again"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.subject LIKE '%Slow delivery%' AND d.status = 'sent'")" = 2 ] ||
	fail "the outcomes kept during the lock were not recorded"
stop_ismsd
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
echo "locked database ok"
