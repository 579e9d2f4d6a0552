#!/usr/bin/python3
"""Self-test of the fake Matrix homeserver: python3 -m unittest test_fake_selftest"""

import base64
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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
BOT, TOKEN, PASSWORD = "@isms:example.org", "syt_TEST", "secret"
ALICE, EVE = "@alice:example.org", "@eve:other.example"
BOB = "@bob:example.org"
OLM, MEGOLM = "m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"


def b64(raw):
    return base64.b64encode(raw).decode().rstrip("=")


class Device:
    """A device's ed25519 signing key, as a client holds it."""

    def __init__(self, user, device):
        self.user, self.device = user, device
        self.sk = Ed25519PrivateKey.generate()
        self.ed = b64(self.sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        self.curve = b64(os.urandom(32))

    def sign(self, obj):
        body = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
        canon = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        out = json.loads(json.dumps(obj))
        out.setdefault("signatures", {}).setdefault(self.user, {})[
            "ed25519:" + self.device] = b64(self.sk.sign(canon.encode()))
        return out

    def device_keys(self):
        return self.sign({"user_id": self.user, "device_id": self.device,
                          "algorithms": [OLM, MEGOLM],
                          "keys": {"ed25519:" + self.device: self.ed,
                                   "curve25519:" + self.device: self.curve}})

    def otk(self, **extra):
        return self.sign({"key": b64(os.urandom(32)), **extra})


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

    def sync(self, token=TOKEN, **query):
        status, obj, _ = self.cs("GET", "/sync", query=query, token=token)
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

    # ---- end-to-end encryption -------------------------------------------
    def login(self, user, device):
        body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
                "password": "password", "device_id": device}
        status, obj, _ = self.cs("POST", "/login", body, token=None)
        self.assertEqual(status, 200, obj)
        return obj["access_token"]

    def upload(self, token, body):
        return self.cs("POST", "/keys/upload", body, token=token)[:2]

    def test_keys_upload_refuses_bad_keys(self):
        self.ctl("POST", "users", [{"user_id": ALICE}])
        tok = self.login(ALICE, "A1")
        dev = Device(ALICE, "A1")
        keys = dev.device_keys()
        forged = json.loads(json.dumps(keys))
        forged["keys"]["curve25519:A1"] = b64(os.urandom(32))      # signed over other keys
        for body, code in (({"device_keys": forged}, "M_INVALID_SIGNATURE"),
                           ({"device_keys": Device(ALICE, "A2").device_keys()}, "M_BAD_JSON"),
                           ({"device_keys": Device(BOB, "A1").device_keys()}, "M_BAD_JSON"),
                           ({"one_time_keys": {"signed_curve25519:AAAA": dev.otk()}},
                            "M_INVALID_SIGNATURE"),          # no device keys yet
                           ({"device_keys": keys, "one_time_keys": {
                               "signed_curve25519:AAAA": Device(ALICE, "A1").otk()}},
                            "M_INVALID_SIGNATURE"),          # signed by another key
                           ({"device_keys": keys, "one_time_keys": {"bad_id": dev.otk()}},
                            "M_BAD_JSON")):
            status, obj = self.upload(tok, body)
            self.assertEqual((status, obj["errcode"]), (400, code), body)
        # a refused upload changed nothing
        status, obj, _ = self.cs("POST", "/keys/query", {"device_keys": {ALICE: []}}, token=tok)
        self.assertEqual((status, obj["device_keys"]), (200, {ALICE: {}}))
        self.assertEqual(self.ctl("GET", "state")["one_time_keys"], {})

        k1, k2 = dev.otk(), dev.otk()
        status, obj = self.upload(tok, {"device_keys": keys, "one_time_keys": {
            "signed_curve25519:AAAA": k1, "signed_curve25519:AAAB": k2}})
        self.assertEqual((status, obj), (200, {"one_time_key_counts": {"signed_curve25519": 2}}))
        # the same key again is a retry; other content under that id is refused (Synapse)
        status, obj = self.upload(tok, {"one_time_keys": {"signed_curve25519:AAAA": k1}})
        self.assertEqual((status, obj["one_time_key_counts"]), (200, {"signed_curve25519": 2}))
        status, obj = self.upload(tok, {"one_time_keys": {
            "signed_curve25519:AAAC": dev.otk(), "signed_curve25519:AAAA": dev.otk()}})
        self.assertEqual((status, obj["errcode"]), (400, "M_UNKNOWN"))
        self.assertEqual(self.sync(token=tok)["device_one_time_keys_count"],
                         {"signed_curve25519": 2})
        status, obj, _ = self.cs("POST", "/keys/query", {"device_keys": {ALICE: ["A1"]}},
                                 token=tok)
        self.assertEqual(obj["device_keys"][ALICE]["A1"]["keys"], keys["keys"])
        self.assertEqual(obj["device_keys"][ALICE]["A1"]["signatures"], keys["signatures"])

    def test_claim_consumes_one_time_keys_then_fallback(self):
        self.ctl("POST", "users", [{"user_id": ALICE}, {"user_id": BOB}])
        atok, btok = self.login(ALICE, "A1"), self.login(BOB, "B1")
        dev = Device(ALICE, "A1")
        fb = dev.otk(fallback=True)
        otk = dev.otk()
        self.assertEqual(self.upload(atok, {
            "device_keys": dev.device_keys(), "one_time_keys": {"signed_curve25519:K1": otk},
            "fallback_keys": {"signed_curve25519:F1": fb}})[0], 200)
        first = self.sync(token=atok)
        self.assertEqual(first["device_unused_fallback_key_types"], ["signed_curve25519"])
        claim = {"one_time_keys": {ALICE: {"A1": "signed_curve25519"}, BOB: {"B9": "x"}}}
        got = [self.cs("POST", "/keys/claim", claim, token=btok)[1] for _ in range(3)]
        self.assertEqual(got[0], {"one_time_keys": {ALICE: {"A1": {"signed_curve25519:K1": otk}}},
                                  "failures": {}})
        for g in got[1:]:      # the one-time key is gone: the fallback key, again and again
            self.assertEqual(g["one_time_keys"], {ALICE: {"A1": {"signed_curve25519:F1": fb}}})
        again = self.sync(token=atok, since=first["next_batch"], timeout="0")
        self.assertEqual(again["device_one_time_keys_count"], {"signed_curve25519": 0})
        self.assertEqual(again["device_unused_fallback_key_types"], [])
        self.assertEqual([c["key_id"] for c in self.ctl("GET", "state")["claims"]],
                         ["signed_curve25519:K1"] + ["signed_curve25519:F1"] * 2)

    def test_to_device_delivered_until_acknowledged(self):
        self.ctl("POST", "users", [{"user_id": ALICE}, {"user_id": BOB}])
        a1, a2 = self.login(ALICE, "A1"), self.login(ALICE, "A2")
        btok = self.login(BOB, "B1")
        s1 = self.sync(token=a1)["next_batch"]
        self.sync(token=a2)
        path = "/sendToDevice/m.room_key_request/txn1"
        body = {"messages": {ALICE: {"A1": {"n": 1}, "*": {"n": 2}}, BOB: {"NOPE": {"n": 3}}}}
        for _ in range(2):                      # the retry of a transaction is a no-op
            status, obj, _ = self.cs("PUT", path, body, token=btok)
            self.assertEqual((status, obj), (200, {}))
        r1 = self.sync(token=a1, since=s1, timeout="1000")
        self.assertEqual(r1["to_device"]["events"], [
            {"type": "m.room_key_request", "sender": BOB, "content": {"n": 1}},
            {"type": "m.room_key_request", "sender": BOB, "content": {"n": 2}}])
        # not acknowledged yet: the same since gets them again
        self.assertEqual(self.sync(token=a1, since=s1)["to_device"], r1["to_device"])
        r2 = self.sync(token=a1, since=r1["next_batch"], timeout="0")
        self.assertNotIn("to_device", r2)
        a2evs = self.sync(token=a2)["to_device"]["events"]
        self.assertEqual([e["content"] for e in a2evs], [{"n": 2}])
        # more than 100 waiting: two batches, none lost or repeated
        msgs = {"messages": {ALICE: {"A1": {}}}}
        for i in range(150):
            msgs["messages"][ALICE]["A1"] = {"i": i}
            self.cs("PUT", "/sendToDevice/m.dummy/t%d" % i, msgs, token=btok)
        b1 = self.sync(token=a1, since=r2["next_batch"])
        b2 = self.sync(token=a1, since=b1["next_batch"])
        b3 = self.sync(token=a1, since=b2["next_batch"], timeout="0")
        seen = [e["content"]["i"] for b in (b1, b2) for e in b["to_device"]["events"]]
        self.assertEqual((len(b1["to_device"]["events"]), seen), (100, list(range(150))))
        self.assertNotIn("to_device", b3)
        status, obj, _ = self.cs("PUT", "/sendToDevice/m.x/t9", {"messages": {ALICE: {"A1": 1}}},
                                 token=btok)
        self.assertEqual((status, obj["errcode"]), (400, "M_BAD_JSON"))

    def test_device_lists_follow_shared_rooms(self):
        self.ctl("POST", "users", [{"user_id": ALICE}, {"user_id": BOB}])
        btok = self.login(BOB, "B1")
        room = self.ctl("POST", "room", {"creator": BOB, "members": [BOB],
                                         "encrypted": True})["room_id"]
        s0 = self.sync(token=btok)["next_batch"]
        self.ctl("POST", "membership", {"room_id": room, "user_id": ALICE,
                                        "membership": "join"})
        r1 = self.sync(token=btok, since=s0, timeout="1000")
        self.assertEqual(r1["device_lists"], {"changed": [ALICE]})      # now shares a room
        # a new device of alice's wakes bob's long-poll and lists her as changed
        result = {}
        th = threading.Thread(target=lambda: result.update(
            self.sync(token=btok, since=r1["next_batch"], timeout="8000")))
        th.start()
        time.sleep(0.3)
        atok = self.login(ALICE, "A1")
        th.join(5)
        self.assertEqual(result.get("device_lists"), {"changed": [ALICE]})
        dev = Device(ALICE, "A1")
        self.assertEqual(self.upload(atok, {"device_keys": dev.device_keys()})[0], 200)
        status, obj, _ = self.cs("GET", "/keys/changes", token=btok,
                                 query={"from": result["next_batch"], "to": "s999999"})
        self.assertEqual((status, obj), (200, {"changed": [ALICE], "left": []}))
        status, obj, _ = self.cs("GET", "/keys/changes", token=btok)
        self.assertEqual((status, obj["errcode"]), (400, "M_MISSING_PARAM"))
        mark = self.sync(token=btok)["next_batch"]
        self.ctl("POST", "membership", {"room_id": room, "user_id": ALICE,
                                        "membership": "leave"})
        r3 = self.sync(token=btok, since=mark, timeout="1000")
        self.assertEqual(r3["device_lists"], {"left": [ALICE]})
        # an unrelated user's devices are not reported
        self.ctl("POST", "users", [{"user_id": EVE}])
        self.login(EVE, "E1")
        r4 = self.sync(token=btok, since=r3["next_batch"], timeout="300")
        self.assertNotIn("device_lists", r4)

    def test_replay_and_raw_events(self):
        room = self.ctl("POST", "room", {"creator": ALICE, "members": [ALICE, BOT],
                                         "encrypted": True})["room_id"]
        content = {"algorithm": MEGOLM, "ciphertext": "AwgAEhAA", "session_id": "S",
                   "sender_key": "K", "device_id": "A1"}
        ev = self.ctl("POST", "send", {"room_id": room, "sender": ALICE,
                                       "type": "m.room.encrypted", "content": content})
        rep = self.ctl("POST", "replay", {"room_id": room, "event_id": ev["event_id"]})
        self.assertNotEqual(rep["event_id"], ev["event_id"])
        raw = self.ctl("GET", "events", query={"room_id": room, "type": "m.room.encrypted"})
        self.assertEqual([(e["event_id"], e["sender"], e["content"]) for e in raw["events"]],
                         [(ev["event_id"], ALICE, content), (rep["event_id"], ALICE, content)])
        status, obj, _ = self.call("POST", "/_control/replay", {"room_id": room,
                                                                "event_id": "$nope"}, token=None)
        self.assertEqual(status, 404)
        status, obj, _ = self.cs("GET", "/room_keys/version")
        self.assertEqual((status, obj["errcode"]), (404, "M_NOT_FOUND"))
        status, obj, _ = self.cs("GET", "/rooms/%s/members" % room,
                                 query={"not_membership": "leave"})
        self.assertEqual(sorted(e["state_key"] for e in obj["chunk"]), sorted([ALICE, BOT]))
        status, obj, _ = self.cs("POST", "/keys/device_signing/upload", {})
        self.assertEqual((status, obj["errcode"]), (404, "M_UNRECOGNIZED"))


if __name__ == "__main__":
    unittest.main()
