#!/usr/bin/python3
"""Sends signed Slack HTTP-mode /incident commands one at a time, RATE a
second, until the file STOP exists or SECONDS pass, and prints
RESULT requests=N errors=E p50_us=.. p99_us=.. max_us=..: how quickly
ismsd answers other requests while it works on something else (outbox
delivery). Each command is a new durable incident, as in the main bench.
usage: slash_probe.py SECRET_FILE PORT RATE SECONDS STOP"""
import hashlib, hmac, http.client, os, sys, time, urllib.parse

secret = open(sys.argv[1], "rb").read().strip()
port, rate, seconds, stop = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
lat, errors, k = [], 0, 0
start = time.monotonic()
while time.monotonic() - start < seconds and not os.path.exists(stop):
    due = start + k / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    body = urllib.parse.urlencode({
        "token": "x", "team_id": "T0FAKETEAM", "team_domain": "ismstest",
        "channel_id": "D0PROBE", "channel_name": "directmessage",
        "user_id": "U00000001", "user_name": "u000001", "command": "/incident",
        "text": "probe phishing mail %07d" % k, "api_app_id": "A0FAKEAPP1",
        "response_url": "http://127.0.0.1:9/response/%d" % k,
        "trigger_id": "probe.%07d" % k})
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret, ("v0:%s:%s" % (ts, body)).encode(), hashlib.sha256).hexdigest()
    t0 = time.monotonic()
    try:
        conn.request("POST", "/slack/events", body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            errors += 1
    except OSError:
        errors += 1
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat.append(time.monotonic() - t0)
    k += 1
lat.sort()
pct = lambda p: int(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6) if lat else 0
print("RESULT requests=%d errors=%d p50_us=%d p99_us=%d max_us=%d" % (len(lat), errors, pct(0.5), pct(0.99), pct(1.0)))
