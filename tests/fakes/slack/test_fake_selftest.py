#!/usr/bin/python3
"""Self-test for slack_fake.py: run with `/usr/bin/python3 tests/fakes/slack/test_fake_selftest.py`.

Starts the fake, talks to it over real HTTP and a minimal hand-written WebSocket client.
"""

import base64
import hashlib
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import slack_sign  # noqa: E402

APP_TOKEN, BOT_TOKEN = "xapp-1-TEST", "xoxb-TEST"


class MiniWs:
    """Just enough RFC 6455 client: handshake, masked frames, fragmentation, ping/pong, close."""

    def __init__(self, url, timeout=5.0):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.sock.sendall((f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during handshake")
            head += chunk
        self.status_line = head.split(b"\r\n")[0].decode()
        if " 101 " not in self.status_line:
            self.sock.close()
            raise ConnectionError(self.status_line)
        want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        assert b"Sec-WebSocket-Accept: " + want in head, head

    def send_frame(self, opcode, payload, fin=True):
        mask = secrets.token_bytes(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_json(self, obj):
        self.send_frame(0x1, json.dumps(obj).encode())

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("eof")
            buf += chunk
        return buf

    def recv_frame(self):
        b1, b2 = self._exact(2)
        assert not b2 & 0x80, "server frames must not be masked"
        n = b2 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._exact(8))
        return b1 & 0x0F, self._exact(n)

    def recv_json(self):
        """Next text message as JSON; answers pings, returns None on a close frame."""
        while True:
            opcode, data = self.recv_frame()
            if opcode == 0x1:
                return json.loads(data)
            if opcode == 0x9:
                self.send_frame(0xA, data)
            elif opcode == 0x8:
                self.close_code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                return None

    def close(self):
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class FakeSlackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "slack_fake.py"), "--app-token", APP_TOKEN,
                                     "--bot-token", BOT_TOKEN, "--ping-interval", "0"],
                                    stdout=subprocess.PIPE, text=True)
        cls.port = json.loads(cls.proc.stdout.readline())["port"]
        cls.base = f"http://127.0.0.1:{cls.port}"

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.rc = cls.proc.wait(timeout=5)
        cls.proc.stdout.close()
        assert cls.rc == 0, f"fake exited with {cls.rc} on SIGTERM"

    def setUp(self):
        self.sockets = []
        self.ctl("reset")
        self.ctl("config", ack_timeout=3.0, max_retries=3)
        self.ctl("users", team_id="T0FAKETEAM", users=[
            {"id": "U0ALICE001", "name": "alice", "email": "alice@example.com"},
            {"id": "U0BOB00001", "name": "bob", "email": "bob@example.com"}])

    def tearDown(self):
        for ws in self.sockets:
            ws.close()

    # -- helpers
    def http(self, path, body=None, headers=None, method=None):
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"null")

    def ctl(self, verb, **body):
        status, _, out = self.http(f"/_control/{verb}", body, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, out)
        return out

    def api(self, method, token=BOT_TOKEN, form=None, **params):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return self.http(f"/api/{method}", urllib.parse.urlencode(form).encode(), headers)
        headers["Content-Type"] = "application/json; charset=utf-8"
        return self.http(f"/api/{method}", params, headers)

    def connect(self):
        status, _, out = self.api("apps.connections.open", token=APP_TOKEN, form={})
        self.assertTrue(out["ok"], out)
        self.assertRegex(out["url"], rf"^ws://127\.0\.0\.1:{self.port}/link/\?ticket=")
        ws = MiniWs(out["url"])
        ws.url = out["url"]
        self.sockets.append(ws)
        hello = ws.recv_json()
        self.assertEqual(hello["type"], "hello")
        self.assertEqual(hello["connection_info"]["app_id"], "A0FAKEAPP1")
        self.assertIn("num_connections", hello)
        return ws

    # -- tests
    def test_signing_documented_example(self):
        self.assertEqual(slack_sign.sign(slack_sign.DOC_SECRET, slack_sign.DOC_BODY, slack_sign.DOC_TIMESTAMP),
                         slack_sign.DOC_SIGNATURE)
        self.assertEqual(slack_sign.selfcheck(), 0)

    def test_auth_errors(self):
        self.assertEqual(self.api("auth.test", token=None)[2]["error"], "not_authed")
        self.assertEqual(self.api("auth.test", token="xoxb-nope")[2]["error"], "invalid_auth")
        self.assertEqual(self.api("chat.postMessage", token=APP_TOKEN, channel="C1", text="x")[2]["error"],
                         "not_allowed_token_type")
        self.assertEqual(self.api("apps.connections.open", token=BOT_TOKEN)[2]["error"], "not_allowed_token_type")
        self.ctl("revoke", token=BOT_TOKEN)
        status, headers, out = self.api("auth.test")
        self.assertEqual((status, out), (200, {"ok": False, "error": "token_revoked"}))
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        calls = self.ctl_state()["api_calls"]
        self.assertEqual([c["auth"] for c in calls][:2], ["not_authed", "invalid_auth"])
        self.assertNotIn("authorization", calls[-1]["headers"])
        self.assertTrue(calls[-1]["has_authorization"])
        self.ctl("reset")  # also lifts revocations
        self.assertTrue(self.api("auth.test", form={})[2]["ok"])

    def ctl_state(self):
        status, _, state = self.http("/_control/state")
        self.assertEqual(status, 200)
        return state

    def test_end_to_end_flow(self):
        ws = self.connect()
        sent = self.ctl("slash", user_id="U0ALICE001", channel_id="C0INCIDENT", command="/incident",
                        text="open disk full on db1")
        env = ws.recv_json()
        self.assertEqual(env["envelope_id"], sent["envelope_id"])
        self.assertEqual((env["type"], env["accepts_response_payload"], env["retry_attempt"]),
                         ("slash_commands", True, 0))
        p = env["payload"]
        self.assertEqual((p["command"], p["text"], p["user_name"]), ("/incident", "open disk full on db1", "alice"))
        for field in ("token", "team_id", "team_domain", "channel_id", "channel_name", "api_app_id",
                      "is_enterprise_install", "response_url", "trigger_id"):
            self.assertIn(field, p)
        ws.send_json({"envelope_id": env["envelope_id"], "payload": {"text": "working on it"}})
        self.assertEqual(self.http("/_control/wait?what=acks&count=1&timeout=3")[0], 200)

        # response_url accepts JSON posts
        status, _, out = self.http(urllib.parse.urlsplit(p["response_url"]).path,
                                   {"text": "done", "response_type": "ephemeral"},
                                   {"Content-Type": "application/json"})
        self.assertEqual((status, out), (200, {"ok": True}))

        # users / DMs
        out = self.api("users.lookupByEmail", form={"email": "bob@example.com"})[2]
        self.assertEqual(out["user"]["id"], "U0BOB00001")
        self.assertEqual(self.http("/api/users.info?user=U0ALICE001",
                                   headers={"Authorization": f"Bearer {BOT_TOKEN}"})[2]["user"]["name"], "alice")
        dm1 = self.api("conversations.open", users="U0BOB00001")[2]["channel"]["id"]
        dm2 = self.api("conversations.open", form={"users": "U0BOB00001"})[2]
        self.assertTrue(dm1.startswith("D"))
        self.assertEqual((dm2["channel"]["id"], dm2.get("already_open")), (dm1, True))

        # messages: JSON with blocks, form with text, update, ephemeral
        blocks = [{"type": "actions", "block_id": "inc_actions", "elements": [
            {"type": "button", "action_id": "ack_incident", "value": "INC-1",
             "text": {"type": "plain_text", "text": "Acknowledge"}}]}]
        m1 = self.api("chat.postMessage", channel="C0INCIDENT", text="Incident INC-1", blocks=blocks)[2]
        self.assertTrue(m1["ok"], m1)
        self.assertRegex(m1["ts"], r"^\d{10}\.\d{6}$")
        m2 = self.api("chat.postMessage", form={"channel": dm1, "text": "you are on call",
                                                "thread_ts": m1["ts"]})[2]
        self.assertGreater(float(m2["ts"]), float(m1["ts"]))
        self.assertEqual(self.api("chat.postMessage", channel="C0INCIDENT")[2]["error"], "no_text")
        self.assertEqual(self.api("chat.postMessage", text="x")[2]["error"], "channel_not_found")
        up = self.api("chat.update", channel="C0INCIDENT", ts=m1["ts"], text="Incident INC-1 (acked)")[2]
        self.assertEqual((up["ok"], up["ts"]), (True, m1["ts"]))
        eph = self.api("chat.postEphemeral", channel="C0INCIDENT", user="U0ALICE001", text="only you")[2]
        self.assertIn("message_ts", eph)

        # block action on the posted message: button text/block_id come from the message's blocks
        sent = self.ctl("block_action", user_id="U0BOB00001", channel_id="C0INCIDENT", message_ts=m1["ts"],
                        action_id="ack_incident", value="INC-1")
        env = ws.recv_json()
        self.assertEqual((env["envelope_id"], env["type"]), (sent["envelope_id"], "interactive"))
        p = env["payload"]
        self.assertEqual(p["type"], "block_actions")
        self.assertEqual(p["container"], {"type": "message", "message_ts": m1["ts"], "channel_id": "C0INCIDENT",
                                          "is_ephemeral": False})
        self.assertEqual(p["actions"][0]["block_id"], "inc_actions")
        self.assertEqual(p["actions"][0]["text"]["text"], "Acknowledge")
        self.assertEqual(p["message"]["text"], "Incident INC-1 (acked)")
        self.assertEqual(p["user"]["username"], "bob")
        ws.send_json({"envelope_id": env["envelope_id"]})

        # rate limit: 429 + Retry-After, then success
        self.ctl("ratelimit", method="chat.postMessage", count=1, retry_after=2)
        status, headers, out = self.api("chat.postMessage", channel="C0INCIDENT", text="again")
        self.assertEqual((status, headers.get("Retry-After"), out), (429, "2", {"ok": False, "error": "ratelimited"}))
        self.assertTrue(self.api("chat.postMessage", channel="C0INCIDENT", text="again")[2]["ok"])
        self.ctl("fail", method="chat.update", count=1, error="internal_error", http_status=500)
        self.assertEqual(self.api("chat.update", channel="C0INCIDENT", ts=m1["ts"], text="y")[0], 500)

        self.assertEqual(self.http("/_control/wait?what=acks&count=2&timeout=3")[0], 200)
        state = self.ctl_state()
        self.assertEqual([m["text"] for m in state["messages"]], ["Incident INC-1", "you are on call", "again"])
        self.assertEqual(state["messages"][1]["thread_ts"], m1["ts"])
        self.assertEqual(len(state["updates"]), 1)
        self.assertEqual(len(state["ephemerals"]), 1)
        self.assertEqual(state["response_posts"][0]["json"]["text"], "done")
        self.assertEqual(state["acks"][0]["payload"], {"text": "working on it"})
        self.assertEqual(state["connections"]["open"], 1)
        rl = [c for c in state["api_calls"] if c["status"] == 429]
        self.assertEqual(len(rl), 1)
        self.assertIn("time", rl[0])

    def test_redelivery_fragmentation_and_ping(self):
        ws = self.connect()
        self.ctl("config", ack_timeout=0.3)
        sent = self.ctl("message", user_id="U0ALICE001", channel_id="D0ALICEDM1", text="status?",
                        channel_type="im")
        first = ws.recv_json()
        self.assertEqual(first["payload"]["type"], "event_callback")
        self.assertEqual(first["payload"]["event"]["channel_type"], "im")
        again = ws.recv_json()  # not acked within 0.3 s -> redelivered
        self.assertEqual((again["envelope_id"], again["retry_attempt"], again["retry_reason"]),
                         (sent["envelope_id"], 1, "timeout"))
        self.assertEqual(again["payload"]["event_id"], first["payload"]["event_id"])
        ack = json.dumps({"envelope_id": sent["envelope_id"]}).encode()  # fragmented ack
        ws.send_frame(0x1, ack[:5], fin=False)
        ws.send_frame(0x9, b"hi")  # control frame interleaved in a fragmented message
        ws.send_frame(0x0, ack[5:], fin=True)
        self.assertEqual(ws.recv_frame(), (0xA, b"hi"))
        self.assertEqual(self.http("/_control/wait?what=acks&count=1&timeout=3")[0], 200)
        self.ctl("redeliver", envelope_id=sent["envelope_id"])
        self.assertEqual(ws.recv_json()["retry_attempt"], 2)

    def test_disconnect_drop_and_wait_timeout(self):
        ws = self.connect()
        self.ctl("disconnect", reason="refresh_requested", close_after=0.1)
        msg = ws.recv_json()
        self.assertEqual((msg["type"], msg["reason"]), ("disconnect", "refresh_requested"))
        self.assertIn("host", msg["debug_info"])
        self.assertIsNone(ws.recv_json())  # then a close frame
        ws2 = self.connect()
        self.ctl("drop")
        with self.assertRaises((ConnectionError, OSError)):
            ws2.recv_frame()
        t0 = time.monotonic()
        status, _, out = self.http("/_control/wait?what=messages&count=1&timeout=0.3")
        self.assertEqual(status, 408)
        self.assertLess(time.monotonic() - t0, 2)
        conns = self.ctl_state()["connections"]
        self.assertEqual((conns["opened"], conns["open"]), (2, 0))
        for url in (ws.url, f"ws://127.0.0.1:{self.port}/link/?ticket=bogus"):  # tickets are single-use
            with self.assertRaisesRegex(ConnectionError, "401"):
                MiniWs(url)
        self.assertEqual([r["error"] for r in self.ctl_state()["ws_rejects"]], ["invalid_ticket"] * 2)


    # -- Block Kit: the fake refuses what Slack refuses, in Slack's shape

    @staticmethod
    def button(action_id, text="Go", value="v", **extra):
        return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text},
                "value": value, **extra}

    def refused(self, blocks, message, pointer, method="chat.postMessage", text="fallback"):
        """Posts blocks; asserts Slack's invalid_blocks answer naming message at pointer."""
        args = {"channel": "C0INCIDENT", "blocks": blocks}
        if method == "chat.postEphemeral":
            args["user"] = "U0ALICE001"
        if text is not None:
            args["text"] = text
        status, _, out = self.api(method, **args)
        self.assertEqual(status, 200)
        self.assertEqual((out["ok"], out["error"]), (False, "invalid_blocks"), out)
        want = f"{message} [json-pointer:{pointer}]"
        self.assertIn(want, out["errors"])
        self.assertIn(f"[ERROR] {want}", out["response_metadata"]["messages"])
        return out

    def test_block_kit_limits(self):
        ok = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}},
              {"type": "actions", "block_id": "b1", "elements": [self.button(f"a:{i}") for i in range(25)]},
              {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}]}, {"type": "divider"}]
        out = self.api("chat.postMessage", channel="C0INCIDENT", text="t", blocks=ok)[2]
        self.assertTrue(out["ok"], out)
        # the quiz message the issue was about: one action_id twice in a block
        self.refused([{"type": "section", "text": {"type": "mrkdwn", "text": "Q?"}},
                      {"type": "actions", "block_id": "isms_quiz",
                       "elements": [self.button("isms_quiz"), self.button("isms_quiz")]}],
                     "action_id already exists", "/blocks/1/elements/1/action_id")
        # the same action_id in two blocks is fine, a block_id twice is not
        two = [{"type": "actions", "block_id": "x", "elements": [self.button("a")]},
               {"type": "actions", "block_id": "x", "elements": [self.button("a")]}]
        self.refused(two, "block_id already exists", "/blocks/1/block_id")
        two[1]["block_id"] = "y"
        self.assertTrue(self.api("chat.postMessage", channel="C0INCIDENT", text="t", blocks=two)[2]["ok"])
        sect = lambda n: {"type": "section", "text": {"type": "mrkdwn", "text": "x" * n}}  # noqa: E731
        self.refused([sect(3001)], "must be less than 3001 characters", "/blocks/0/text/text")
        # counted as Slack counts: an emoji outside the BMP is two
        self.refused([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2999 + "\U0001F600"}}],
                     "must be less than 3001 characters", "/blocks/0/text/text")
        self.refused([sect(1)] * 51, "must be less than 51 items", "/blocks")
        self.refused([{"type": "actions", "elements": [self.button(f"a{i}") for i in range(26)]}],
                     "must be less than 26 items", "/blocks/0/elements")
        self.refused([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
                     "must be less than 151 characters", "/blocks/0/text/text")
        self.refused([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
                     "must be one of plain_text", "/blocks/0/text/type")
        self.refused([{"type": "actions", "elements": [self.button("a", text="b" * 76)]}],
                     "must be less than 76 characters", "/blocks/0/elements/0/text/text")
        self.refused([{"type": "actions", "elements": [self.button("a", value="v" * 2001)]}],
                     "must be less than 2001 characters", "/blocks/0/elements/0/value")
        self.refused([{"type": "actions", "elements": [self.button("a" * 256)]}],
                     "must be less than 256 characters", "/blocks/0/elements/0/action_id")
        self.refused([{"type": "actions", "block_id": "b" * 256, "elements": [self.button("a")]}],
                     "must be less than 256 characters", "/blocks/0/block_id")
        btn = self.button("a")
        btn["text"]["type"] = "mrkdwn"
        self.refused([{"type": "actions", "elements": [btn]}],
                     "must be one of plain_text", "/blocks/0/elements/0/text/type")
        self.refused([{"type": "actions", "elements": [{"type": "button", "action_id": "a"}]}],
                     "missing required field: text", "/blocks/0/elements/0/text")
        self.refused([{"text": {"type": "mrkdwn", "text": "x"}}], "missing required field: type", "/blocks/0/type")
        self.refused([{"type": "section", "text": {"type": "markdown", "text": "x"}}],
                     "must be one of plain_text, mrkdwn", "/blocks/0/text/type")
        self.refused([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}],
                     "must be more than 0 characters", "/blocks/0/text/text")
        self.refused([{"type": "section"}], "must provide text or fields", "/blocks/0")
        self.refused([{"type": "actions", "elements": []}], "missing required field: elements", "/blocks/0/elements")
        self.refused([{"type": "bogus"}], "unsupported type: bogus", "/blocks/0/type")
        # every method that takes blocks checks them
        self.refused([sect(3001)], "must be less than 3001 characters", "/blocks/0/text/text",
                     method="chat.postEphemeral")
        ts = self.api("chat.postMessage", channel="C0INCIDENT", text="t", blocks=[sect(1)])[2]["ts"]
        status, _, out = self.api("chat.update", channel="C0INCIDENT", ts=ts, text="t",
                                  blocks=[sect(1), sect(3001)])
        self.assertEqual(out["error"], "invalid_blocks")
        self.assertIn("must be less than 3001 characters [json-pointer:/blocks/1/text/text]", out["errors"])
        # form bodies carry blocks as a JSON string
        out = self.api("chat.postMessage", form={"channel": "C0INCIDENT", "text": "t",
                                                 "blocks": json.dumps([sect(3001)])})[2]
        self.assertEqual(out["error"], "invalid_blocks")
        # blocks without a fallback text, and an over-long text
        out = self.api("chat.postMessage", channel="C0INCIDENT", blocks=[sect(1)])[2]
        self.assertEqual(out["error"], "no_text")
        out = self.api("chat.postMessage", channel="C0INCIDENT", text="\U0001F600" * 20001)[2]
        self.assertEqual(out["error"], "msg_too_long")
        calls = [c for c in self.ctl_state()["api_calls"] if c["error"] == "invalid_blocks"]
        self.assertTrue(calls and all(not c["ok"] for c in calls))

    def test_block_kit_response_url_and_ack(self):
        ws = self.connect()
        self.ctl("slash", user_id="U0ALICE001", channel_id="C0INCIDENT", command="/isms", text="x")
        env = ws.recv_json()
        path = urllib.parse.urlsplit(env["payload"]["response_url"]).path
        bad = {"text": "t", "blocks": [{"type": "actions", "elements": [self.button("a"), self.button("a")]}]}
        req = urllib.request.Request(self.base + path, json.dumps(bad).encode(),
                                     {"Content-Type": "application/json"})
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual((refused.exception.code, refused.exception.read()), (400, b"invalid_blocks"))
        refused.exception.close()
        post = self.ctl_state()["response_posts"][-1]
        self.assertEqual(post["error"][0], "invalid_blocks")
        self.assertIn("action_id already exists [json-pointer:/blocks/0/elements/1/action_id]",
                      post["error"][1]["errors"])
        ws.send_json({"envelope_id": env["envelope_id"], "payload": bad})
        self.assertEqual(self.http("/_control/wait?what=acks&count=1&timeout=3")[0], 200)
        ack = self.ctl_state()["acks"][-1]
        self.assertEqual(ack["error"][0], "invalid_blocks")
        good = {"text": "t", "blocks": [{"type": "actions", "elements": [self.button("a:1"), self.button("a:2")]}]}
        self.assertEqual(self.http(path, good, {"Content-Type": "application/json"})[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
