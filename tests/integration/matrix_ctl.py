#!/usr/bin/python3
"""Plays the human side of tests/integration/matrix.sh against the fake
homeserver's control API (tests/fakes/matrix/README.md).

  matrix_ctl.py URL post PATH JSON [FIELD]   POST /_control/PATH, print FIELD or the reply
  matrix_ctl.py URL eval EXPR                print EXPR evaluated over the state
  matrix_ctl.py URL until EXPR [SECONDS]     wait until EXPR is true (exit 1 on timeout)

EXPR sees the state as d and the helpers below.
"""
import json
import sys
import time
import urllib.error
import urllib.request

BOT = "@isms:example.org"


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + "/_control/" + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit("control %s %s: %s %s" % (method, path, e.code, e.read().decode()))


def helpers(d):
    def events(room, sender=None, etype="m.room.message"):
        return [e for e in d["rooms"].get(room, {"events": []})["events"]
                if (sender is None or e["sender"] == sender) and e["type"] == etype]

    def bot(room):
        return events(room, BOT)

    def raw(room):
        """every event of the room as stored: what went over the wire"""
        return d["rooms"].get(room, {"events": []})["events"]

    def reqs(method, contains):
        return [r for r in d["requests"] if r["method"] == method and contains in r["path"]]

    def polling(first=0):
        """a /sync with since is waiting: requests[first:] only"""
        return any(r["path"].endswith("/sync") and r.get("since") and r["status"] is None
                   for r in d["requests"][first:])

    def member(room, user):
        return d["rooms"].get(room, {"members": {}})["members"].get(user)

    return {"d": d, "events": events, "bot": bot, "raw": raw, "reqs": reqs,
            "polling": polling, "member": member, "json": json, "BOT": BOT}


def main():
    base, cmd = sys.argv[1], sys.argv[2]
    if cmd == "post":
        r = call(base, "POST", sys.argv[3], json.loads(sys.argv[4]))
        print(r.get(sys.argv[5], "") if len(sys.argv) > 5 else json.dumps(r))
    elif cmd == "eval":
        print(eval(sys.argv[3], helpers(call(base, "GET", "state"))))
    elif cmd == "until":
        deadline = time.monotonic() + float(sys.argv[4] if len(sys.argv) > 4 else 10)
        while not eval(sys.argv[3], helpers(call(base, "GET", "state"))):
            if time.monotonic() > deadline:
                sys.exit("timed out waiting for: " + sys.argv[3])
            time.sleep(0.1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
