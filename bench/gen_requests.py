#!/usr/bin/python3
"""Writes N signed Slack HTTP-mode /incident slash commands for wrk, one
per line: timestamp TAB signature TAB form body. Each has its own text and
trigger_id, so every request is a new durable incident. Signatures are
made now: use the file within Slack's five-minute window."""
import hashlib, hmac, sys, time, urllib.parse

secret = open(sys.argv[1], "rb").read().strip()
n = int(sys.argv[2])
tag = sys.argv[3] if len(sys.argv) > 3 else "bench"
ts = str(int(time.time()))
out = sys.stdout
for k in range(n):
    body = urllib.parse.urlencode({
        "token": "x", "team_id": "T0FAKETEAM", "team_domain": "ismstest",
        "channel_id": "D0ALICE", "channel_name": "directmessage",
        "user_id": "U0ALICE", "user_name": "alice", "command": "/incident",
        "text": "%s phishing mail %07d" % (tag, k), "api_app_id": "A0FAKEAPP1",
        "response_url": "http://127.0.0.1:9/response/%d" % k,
        "trigger_id": "%s.%07d" % (tag, k)})
    mac = hmac.new(secret, ("v0:%s:%s" % (ts, body)).encode(),
                   hashlib.sha256).hexdigest()
    out.write("%s\tv0=%s\t%s\n" % (ts, mac, body))
