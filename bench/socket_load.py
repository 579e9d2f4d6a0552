#!/usr/bin/python3
"""Slack Socket Mode load: plays Slack's side for ismsd and counts acks.

Usage: socket_load.py PORT_FILE WINDOW SECONDS PREFIX. Listens on a free
port (written to PORT_FILE) as the Slack Web API (apps.connections.open,
auth.test; any other method answers ok) and the Socket Mode WebSocket.
Once ismsd connects, it keeps WINDOW /incident slash-command envelopes
outstanding, each with its own text and trigger id, sends the next one as
each is acked, and after SECONDS prints
"RESULT acks=N p50_us=.. p99_us=.. rps=..". ismsd acks an envelope only
once its incident is durable.
"""
import asyncio, base64, hashlib, json, os, sys, time, uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "fakes", "slack"))
from slack_fake import WS_GUID, WsClosed, WsConnection, http_response, read_request  # noqa: E402


class Load:
    def __init__(self, window, seconds, prefix):
        self.window, self.seconds, self.prefix = window, seconds, prefix
        self.port, self.sent, self.lat, self.out = None, 0, [], {}
        self.done = asyncio.Event()

    def envelope(self):
        k = self.sent
        self.sent += 1
        eid = str(uuid.uuid4())
        self.out[eid] = time.perf_counter()
        return json.dumps({"envelope_id": eid, "type": "slash_commands", "accepts_response_payload": True,
                           "retry_attempt": 0, "retry_reason": "", "payload": {
                               "token": "x", "team_id": "T0FAKETEAM", "team_domain": "ismstest",
                               "channel_id": "D0ALICE", "channel_name": "directmessage", "user_id": "U0ALICE",
                               "user_name": "alice", "command": "/incident",
                               "text": "%s report %07d" % (self.prefix, k), "api_app_id": "A0FAKEAPP1",
                               "is_enterprise_install": "false",
                               "response_url": "http://127.0.0.1:%d/response/%d" % (self.port, k),
                               "trigger_id": "%s.%d" % (self.prefix, k)}})

    async def drive(self, ws):
        await ws.send_text(json.dumps({"type": "hello", "num_connections": 1,
                                       "connection_info": {"app_id": "A0FAKEAPP1"}}))
        for _ in range(self.window):
            await ws.send_text(self.envelope())
        t0, acks = time.perf_counter(), 0
        while (text := await ws.recv()) is not None:
            t0_env = self.out.pop(json.loads(text).get("envelope_id", ""), None)
            if t0_env is None:
                continue
            now = time.perf_counter()
            if now - t0 >= self.seconds:
                break
            acks += 1
            self.lat.append(now - t0_env)
            await ws.send_text(self.envelope())
        wall = time.perf_counter() - t0
        self.lat.sort()
        pct = lambda p: int(self.lat[min(len(self.lat) - 1, int(p * len(self.lat)))] * 1e6) if self.lat else 0
        print("RESULT acks=%d p50_us=%d p99_us=%d rps=%.1f" % (acks, pct(0.5), pct(0.99), acks / wall), flush=True)
        self.done.set()

    async def client(self, reader, writer):
        try:
            while (req := await read_request(reader, writer)) is not None:
                if req.path.startswith("/link"):
                    key = req.headers.get("sec-websocket-key", "")
                    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
                    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                  f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
                    if self.done.is_set() or self.sent:
                        return  # one measured connection
                    await self.drive(WsConnection(1, reader, writer, lambda *a: None))
                    return
                body = {"ok": True}
                if req.path == "/api/apps.connections.open":
                    body["url"] = "ws://127.0.0.1:%d/link/" % self.port
                elif req.path == "/api/auth.test":
                    body.update(team_id="T0FAKETEAM", team="ismstest", user_id="U0FAKEBOT1",
                                user="isms", bot_id="B0FAKEBOT1", url="https://ismstest.slack.com/")
                writer.write(http_response(200, body, None, req.keep_alive))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, WsClosed):
            pass
        except Exception:  # a malformed request: drop the connection
            pass
        finally:
            writer.close()


async def main():
    port_file, window, seconds, prefix = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    load = Load(window, seconds, prefix)
    server = await asyncio.start_server(load.client, "127.0.0.1", 0)
    load.port = server.sockets[0].getsockname()[1]
    with open(port_file, "w") as f:
        f.write("%d\n" % load.port)
    await asyncio.wait_for(load.done.wait(), seconds + 60)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
