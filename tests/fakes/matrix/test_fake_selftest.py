#!/usr/bin/python3
"""Self-test of the fake Matrix homeserver: python3 -m unittest test_fake_selftest"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
BOT, TOKEN, PASSWORD = "@isms:example.org", "syt_TEST", "secret"
ALICE, EVE = "@alice:example.org", "@eve:other.example"


class FakeMatrixTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "matrix_fake.py"), "--server-name",
             "example.org", "--bot-user", BOT, "--bot-password", PASSWORD,
             "--bot-token", TOKEN], stdout=subprocess.PIPE, text=True)
        cls.base = "http://127.0.0.1:%d" % json.loads(cls.proc.stdout.readline())["port"]

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        rc = cls.proc.wait(timeout=5)
        cls.proc.stdout.close()
        assert rc == 0, "fake exited with %r on SIGTERM" % rc

    def setUp(self):
        self.ctl("POST", "reset")

    # ---- helpers -------------------------------------------------------
    def call(self, method, path, body=None, token=TOKEN, query=None):
        """-> (status, json body, headers)"""
        url = self.base + path + ("?" + urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return r.status, json.loads(r.read()), r.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw.startswith(b"{") else raw, e.headers

    def cs(self, method, path, body=None, **kw):
        return self.call(method, "/_matrix/client/v3" + path, body, **kw)

    def ctl(self, method, path, body=None, query=None):
        status, obj, _ = self.call(method, "/_control/" + path, body, token=None, query=query)
        self.assertLess(status, 300, obj)
        return obj

    def sync(self, **query):
        status, obj, _ = self.cs("GET", "/sync", query=query)
        self.assertEqual(status, 200, obj)
        return obj

    # ---- tests ---------------------------------------------------------
    def test_versions_login_whoami(self):
        status, obj, _ = self.call("GET", "/_matrix/client/versions", token=None)
        self.assertEqual(status, 200)
        self.assertIn("v1.1", obj["versions"])
        login = {"type": "m.login.password",
                 "identifier": {"type": "m.id.user", "user": "isms"}, "password": "nope"}
        status, obj, _ = self.cs("POST", "/login", login, token=None)
        self.assertEqual((status, obj["errcode"]), (403, "M_FORBIDDEN"))
        login.update(password=PASSWORD, device_id="ISMSD")
        status, obj, _ = self.cs("POST", "/login", login, token=None)
        self.assertEqual(status, 200, obj)
        self.assertEqual((obj["user_id"], obj["device_id"]), (BOT, "ISMSD"))
        status, who, _ = self.cs("GET", "/account/whoami", token=obj["access_token"])
        self.assertEqual(who, {"user_id": BOT, "device_id": "ISMSD", "is_guest": False})
        status, obj, _ = self.cs("GET", "/account/whoami", token=None)
        self.assertEqual((status, obj["errcode"]), (401, "M_MISSING_TOKEN"))
        status, obj, _ = self.cs("GET", "/account/whoami", token=None,
                                 query={"access_token": TOKEN})
        self.assertEqual(status, 200)

    def test_initial_sync_invite_and_join(self):
        room = self.ctl("POST", "room", {"creator": ALICE, "members": [ALICE, BOT],
                                         "name": "ops"})["room_id"]
        for i in range(12):
            self.ctl("POST", "send", {"room_id": room, "sender": ALICE, "body": "m%d" % i})
        first = self.sync(filter=json.dumps({"room": {"timeline": {"limit": 5}}}))
        tl = first["rooms"]["join"][room]["timeline"]
        self.assertEqual(len(tl["events"]), 5)
        self.assertTrue(tl["limited"])
        self.assertEqual(tl["events"][-1]["content"]["body"], "m11")
        for key in ("event_id", "type", "sender", "origin_server_ts", "content", "unsigned"):
            self.assertIn(key, tl["events"][-1])
        state_types = {e["type"] for e in first["rooms"]["join"][room]["state"]["events"]}
        self.assertTrue({"m.room.create", "m.room.name", "m.room.member"} <= state_types)

        inv = self.ctl("POST", "invite", {"sender": EVE, "invitee": BOT, "is_direct": True})
        s2 = self.sync(since=first["next_batch"], timeout="1000")
        events = s2["rooms"]["invite"][inv["room_id"]]["invite_state"]["events"]
        mine = [e for e in events if e["type"] == "m.room.member" and e["state_key"] == BOT]
        self.assertEqual(mine[0]["content"]["membership"], "invite")
        self.assertEqual(mine[0]["sender"], EVE)
        self.assertIn("m.room.create", {e["type"] for e in events})
        self.assertNotIn("join", s2.get("rooms", {}))

        status, obj, _ = self.cs("POST", "/join/" + quote(inv["room_id"], safe=""), {})
        self.assertEqual((status, obj), (200, {"room_id": inv["room_id"]}))
        s3 = self.sync(since=s2["next_batch"], timeout="1000")
        joined = s3["rooms"]["join"][inv["room_id"]]
        self.assertEqual(joined["timeline"]["events"][-1]["content"]["membership"], "join")
        self.assertNotIn("invite", s3["rooms"])
        self.assertEqual(self.ctl("GET", "state")["joins"][0]["room_id"], inv["room_id"])
        status, obj, _ = self.cs("GET", "/rooms/%s/state/m.room.encryption" % inv["room_id"])
        self.assertEqual((status, obj["errcode"]), (404, "M_NOT_FOUND"))

    def test_long_poll_wakes_on_control_send(self):
        room = self.ctl("POST", "room", {"creator": ALICE, "members": [ALICE, BOT]})["room_id"]
        since = self.sync()["next_batch"]
        t0 = time.monotonic()
        empty = self.sync(since=since, timeout="300")
        self.assertGreaterEqual(time.monotonic() - t0, 0.28)
        self.assertNotIn("rooms", empty)
        result = {}
        th = threading.Thread(target=lambda: result.update(
            self.sync(since=empty["next_batch"], timeout="8000")))
        th.start()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:   # wait until the fake sees the sync in flight
            reqs = self.ctl("GET", "state")["requests"]
            if any(r["path"].endswith("/sync") and r["status"] is None for r in reqs):
                break
            time.sleep(0.02)
        t1 = time.monotonic()
        ev = self.ctl("POST", "send", {"room_id": room, "sender": ALICE, "body": "!status",
                                       "in_reply_to": "$abc"})
        th.join(5)
        self.assertLess(time.monotonic() - t1, 2)
        got = result["rooms"]["join"][room]["timeline"]["events"]
        self.assertEqual([e["event_id"] for e in got], [ev["event_id"]])
        self.assertEqual(got[0]["content"]["m.relates_to"]["m.in_reply_to"]["event_id"], "$abc")

    def test_idempotent_send_and_direct_room(self):
        status, obj, _ = self.cs("POST", "/createRoom", {
            "is_direct": True, "invite": [ALICE], "preset": "trusted_private_chat"})
        room = obj["room_id"]
        status, members, _ = self.cs("GET", "/rooms/%s/joined_members" % room)
        self.assertEqual(set(members["joined"]), {BOT, ALICE})
        path = "/rooms/%s/send/m.room.message/txn1" % quote(room, safe="")
        r1 = self.cs("PUT", path, {"msgtype": "m.text", "body": "hi"})
        r2 = self.cs("PUT", path, {"msgtype": "m.text", "body": "hi"})
        self.assertEqual(r1[0], 200)
        self.assertEqual(r1[1], r2[1])
        st = self.ctl("GET", "state")
        msgs = [e for e in st["rooms"][room]["events"] if e["type"] == "m.room.message"]
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["txn_id"], "txn1")
        tl = self.sync()["rooms"]["join"][room]["timeline"]["events"]
        self.assertEqual(tl[-1]["unsigned"]["transaction_id"], "txn1")
        # another device: the same txnId is a distinct transaction
        login = {"type": "m.login.password", "password": PASSWORD,
                 "identifier": {"type": "m.id.user", "user": BOT}}
        other = self.cs("POST", "/login", login, token=None)[1]["access_token"]
        r3 = self.cs("PUT", path, {"msgtype": "m.text", "body": "hi"}, token=other)
        self.assertNotEqual(r3[1]["event_id"], r1[1]["event_id"])
        # not joined -> 403
        lonely = self.ctl("POST", "room", {"creator": ALICE, "members": [ALICE]})["room_id"]
        status, obj, _ = self.cs("PUT", "/rooms/%s/send/m.room.message/t2" % lonely, {"body": "x"})
        self.assertEqual((status, obj["errcode"]), (403, "M_FORBIDDEN"))
        # m.direct round trip
        direct = {ALICE: [room]}
        self.assertEqual(self.cs("PUT", "/user/%s/account_data/m.direct" % BOT, direct)[0], 200)
        self.assertEqual(self.cs("GET", "/user/%s/account_data/m.direct" % BOT)[1], direct)
        self.assertEqual(self.ctl("GET", "state")["m_direct"], direct)
        waited = self.ctl("GET", "wait", query={"room_id": room, "sender": BOT, "count": 2,
                                                "timeout": 1})
        self.assertEqual(len(waited["events"]), 2)
        status, obj, _ = self.call("GET", "/_control/wait", token=None, query={
            "room_id": room, "sender": BOT, "count": 3, "timeout": 0.2})
        self.assertEqual(status, 408)

    def test_rate_limit_and_failures(self):
        room = self.ctl("POST", "room", {"creator": ALICE, "members": [ALICE, BOT]})["room_id"]
        self.ctl("POST", "ratelimit", {"path_contains": "/send/", "count": 2,
                                       "retry_after_ms": 1500, "header": True})
        path = "/rooms/%s/send/m.room.message/" % room
        for i in range(2):
            status, obj, headers = self.cs("PUT", path + "a%d" % i, {"body": "x"})
            self.assertEqual(status, 429)
            self.assertEqual(obj, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests",
                                   "retry_after_ms": 1500})
            self.assertEqual(headers["Retry-After"], "2")
        self.assertEqual(self.cs("PUT", path + "a2", {"body": "x"})[0], 200)
        self.assertEqual(len(self.ctl("GET", "state")["ratelimited"]), 2)
        self.ctl("POST", "fail", {"path_contains": "/sync", "count": 1, "status": 502})
        self.assertEqual(self.cs("GET", "/sync")[0], 502)
        self.assertEqual(self.cs("GET", "/sync")[0], 200)

    def test_revoked_token(self):
        self.assertEqual(self.cs("GET", "/account/whoami")[0], 200)
        self.ctl("POST", "revoke_token", {"token": TOKEN})
        status, obj, _ = self.cs("GET", "/sync")
        self.assertEqual(status, 401)
        self.assertEqual(obj, {"errcode": "M_UNKNOWN_TOKEN", "soft_logout": False,
                               "error": obj["error"]})


if __name__ == "__main__":
    unittest.main()
