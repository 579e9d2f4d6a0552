#!/usr/bin/python3
"""Protocol-faithful fake of Slack (Web API + Socket Mode) for integration tests.

One asyncio server on 127.0.0.1 serves, on a single port:
  /api/<method>     Slack Web API (form-urlencoded or JSON POST, GET query)
  /link/?ticket=..  Socket Mode WebSocket (hand-written RFC 6455, text frames)
  /response/<id>    response_url endpoint for slash commands / interactions
  /_control/<verb>  test control API (inject traffic and faults, read recordings)

Standard library only. See README.md in this directory.
"""

import argparse
import asyncio
import collections
import base64
import hashlib
import http
import json
import re
import secrets
import signal
import struct
import sys
import time
import urllib.parse
import uuid

MAX_HEADER = 64 * 1024        # request line + headers
MAX_BODY = 4 * 1024 * 1024    # HTTP request body
MAX_WS_MESSAGE = 1024 * 1024  # reassembled WebSocket message
MAX_RECORDS = 10000           # entries kept per recorded list
MAX_TCP_CONNS = 128
IDLE_TIMEOUT = 120.0          # keep-alive HTTP idle timeout, seconds
MAX_WAIT = 60.0               # cap for /_control/wait
MAX_TEXT = 40000              # chat.postMessage text limit (msg_too_long)
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
JSON_CT = "application/json; charset=utf-8"
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")
RECORD_KINDS = ("api_calls", "messages", "updates", "ephemerals", "response_posts", "acks",
                "deliveries", "ws_messages", "ws_rejects", "pongs")


class HttpError(Exception):
    def __init__(self, status, message=""):
        super().__init__(message)
        self.status = status


class ApiError(Exception):
    """A Web API failure: body {"ok": false, "error": ...}, HTTP 200 unless said otherwise."""

    def __init__(self, error, status=200, headers=None, extra=None):
        super().__init__(error)
        self.error, self.status, self.headers = error, status, headers or {}
        self.extra = extra or {}


# ------------------------------------------------------------------ Block Kit

BLOCKS_MAX = 50           # blocks in one message
ACTIONS_ELEMENTS_MAX = 25  # elements of one actions block
CONTEXT_ELEMENTS_MAX = 10
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX, SECTION_FIELD_TEXT_MAX = 10, 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX, BUTTON_VALUE_MAX, BUTTON_URL_MAX = 75, 2000, 3000
ID_MAX = 255              # block_id, action_id
TEXT_OBJECT_TYPES = ("plain_text", "mrkdwn")
BUTTON_STYLES = ("primary", "danger")
# elements that carry an action_id (interactive), by the blocks they may sit in
INTERACTIVE = ("button", "static_select", "external_select", "users_select", "conversations_select",
               "channels_select", "overflow", "datepicker", "timepicker", "checkboxes", "radio_buttons",
               "multi_static_select", "multi_users_select", "multi_conversations_select",
               "multi_channels_select", "multi_external_select", "datetimepicker")


def slack_len(s):
    """Length as Slack counts it (UTF-16 code units: an emoji outside the BMP counts two)."""
    return len(s.encode("utf-16-le")) // 2


class BlockCheck:
    """Validates a blocks array as Slack's chat.* methods do; errors are (message, json-pointer)."""

    def __init__(self):
        self.errors = []

    def err(self, message, pointer):
        self.errors.append((message, pointer))

    def text_obj(self, t, ptr, max_len, plain_only=False):
        if not isinstance(t, dict):
            self.err("must be an object", ptr)
            return
        ttype = t.get("type")
        allowed = ("plain_text",) if plain_only else TEXT_OBJECT_TYPES
        if ttype not in allowed:
            self.err(f"must be one of {', '.join(allowed)}" if ttype is not None else "missing required field: type",
                     ptr + "/type")
        text = t.get("text")
        if not isinstance(text, str):
            self.err("missing required field: text", ptr + "/text")
        elif not text:
            self.err("must be more than 0 characters", ptr + "/text")
        elif slack_len(text) > max_len:
            self.err(f"must be less than {max_len + 1} characters", ptr + "/text")

    def ident(self, value, ptr, seen, what):
        if not isinstance(value, str) or not value:
            self.err("must be a non-empty string", ptr)
        elif slack_len(value) > ID_MAX:
            self.err(f"must be less than {ID_MAX + 1} characters", ptr)
        elif value in seen:
            self.err(f"{what} already exists", ptr)
        else:
            seen.add(value)

    def element(self, el, ptr, action_ids):
        if not isinstance(el, dict) or not isinstance(el.get("type"), str):
            self.err("missing required field: type", ptr + "/type")
            return
        etype = el["type"]
        if etype in INTERACTIVE and "action_id" in el:
            self.ident(el["action_id"], ptr + "/action_id", action_ids, "action_id")
        if etype == "button":
            if "text" not in el:
                self.err("missing required field: text", ptr + "/text")
            else:
                self.text_obj(el["text"], ptr + "/text", BUTTON_TEXT_MAX, plain_only=True)
            if "value" in el and (not isinstance(el["value"], str) or slack_len(el["value"]) > BUTTON_VALUE_MAX):
                self.err(f"must be less than {BUTTON_VALUE_MAX + 1} characters", ptr + "/value")
            if "url" in el and (not isinstance(el["url"], str) or slack_len(el["url"]) > BUTTON_URL_MAX):
                self.err(f"must be less than {BUTTON_URL_MAX + 1} characters", ptr + "/url")
            if "style" in el and el["style"] not in BUTTON_STYLES:
                self.err("must be one of primary, danger", ptr + "/style")
        elif etype == "image":
            for key in ("image_url", "alt_text"):
                if not isinstance(el.get(key), str) or not el[key]:
                    self.err(f"missing required field: {key}", ptr + "/" + key)
        elif etype not in INTERACTIVE and etype not in TEXT_OBJECT_TYPES:
            self.err(f"unsupported type: {etype}", ptr + "/type")

    def block(self, b, ptr, block_ids):
        if not isinstance(b, dict):
            self.err("must be an object", ptr)
            return
        btype = b.get("type")
        if not isinstance(btype, str):
            self.err("missing required field: type", ptr + "/type")
            return
        if "block_id" in b:
            self.ident(b["block_id"], ptr + "/block_id", block_ids, "block_id")
        action_ids = set()  # unique within the block
        if btype == "section":
            if "text" not in b and "fields" not in b:
                self.err("must provide text or fields", ptr)
            if "text" in b:
                self.text_obj(b["text"], ptr + "/text", SECTION_TEXT_MAX)
            fields = b.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or not 0 < len(fields) <= SECTION_FIELDS_MAX:
                    self.err(f"must be between 1 and {SECTION_FIELDS_MAX} items", ptr + "/fields")
                else:
                    for i, f in enumerate(fields):
                        self.text_obj(f, f"{ptr}/fields/{i}", SECTION_FIELD_TEXT_MAX)
            if "accessory" in b:
                self.element(b["accessory"], ptr + "/accessory", action_ids)
        elif btype == "header":
            if "text" not in b:
                self.err("missing required field: text", ptr + "/text")
            else:
                self.text_obj(b["text"], ptr + "/text", HEADER_TEXT_MAX, plain_only=True)
        elif btype in ("actions", "context"):
            els, most = b.get("elements"), ACTIONS_ELEMENTS_MAX if btype == "actions" else CONTEXT_ELEMENTS_MAX
            if not isinstance(els, list) or not els:
                self.err("missing required field: elements", ptr + "/elements")
                return
            if len(els) > most:
                self.err(f"must be less than {most + 1} items", ptr + "/elements")
            for i, el in enumerate(els):
                eptr = f"{ptr}/elements/{i}"
                if btype == "context" and isinstance(el, dict) and el.get("type") in TEXT_OBJECT_TYPES:
                    self.text_obj(el, eptr, SECTION_TEXT_MAX)
                elif btype == "context" and isinstance(el, dict) and el.get("type") != "image":
                    self.err(f"unsupported type: {el.get('type')}", eptr + "/type")
                else:
                    self.element(el, eptr, action_ids)
        elif btype not in ("divider", "image", "rich_text", "input", "file", "video", "markdown"):
            self.err(f"unsupported type: {btype}", ptr + "/type")

    def check(self, blocks, base="/blocks"):
        if not isinstance(blocks, list):
            self.err("must be an array", base)
            return self.errors
        if len(blocks) > BLOCKS_MAX:
            self.err(f"must be less than {BLOCKS_MAX + 1} items", base)
        block_ids = set()  # unique within the message
        for i, b in enumerate(blocks):
            self.block(b, f"{base}/{i}", block_ids)
        return self.errors


def block_errors(blocks):
    """Slack's invalid_blocks answer for blocks, or None when they are valid."""
    errors = BlockCheck().check(blocks)
    if not errors:
        return None
    return {"errors": [f"{m} [json-pointer:{p}]" for m, p in errors],
            "response_metadata": {"messages": [f"[ERROR] {m} [json-pointer:{p}]" for m, p in errors]}}


def stamp():
    return {"time": time.time(), "mono": time.monotonic()}


def to_json(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def put(table, key, value):
    """Insert into a dict used as a bounded, insertion-ordered table (oldest entries evicted)."""
    table[key] = value
    while len(table) > MAX_RECORDS:
        del table[next(iter(table))]
    return value


def slack_id(prefix, seed):
    """Deterministic Slack-looking id (uppercase alphanumerics)."""
    return prefix + hashlib.sha1(seed.encode()).hexdigest()[:10].upper()


# --------------------------------------------------------------------------- HTTP


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method, self.version, self.headers, self.body = method, version, headers, body
        parts = urllib.parse.urlsplit(target)
        self.path = parts.path
        self.query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        conn = headers.get("connection", "").lower()
        self.keep_alive = ("keep-alive" in conn) if version == "HTTP/1.0" else ("close" not in conn)
        self.content_type = headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else {}
        except (UnicodeDecodeError, ValueError):
            raise HttpError(400, "invalid JSON")


async def read_request(reader, writer):
    """Read one HTTP/1.x request; None on a clean EOF between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise HttpError(400, "truncated request")
    except asyncio.LimitOverrunError:
        raise HttpError(431, "headers too large")
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise HttpError(400, "bad request line")
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HttpError(505, "unsupported HTTP version")
    headers = {}
    for line in filter(None, lines[1:]):
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, "bad header line")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if "transfer-encoding" in headers:
        raise HttpError(501, "chunked request bodies are not supported; send Content-Length")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise HttpError(400, "bad Content-Length")
    if not 0 <= length <= MAX_BODY:
        raise HttpError(413, "body too large")
    if length and headers.get("expect", "").lower() == "100-continue":  # libcurl does this
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, version, headers, body)


def http_response(status, body=b"", headers=None, keep_alive=True):
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body, headers["Content-Type"] = to_json(body).encode(), JSON_CT
    elif isinstance(body, str):
        body, headers["Content-Type"] = body.encode(), "text/plain; charset=utf-8"
    head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}", f"Content-Length: {len(body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


# ---------------------------------------------------------------------- WebSocket


class WsClosed(Exception):
    pass


class WsConnection:
    """Server side of one RFC 6455 connection carrying text messages."""

    def __init__(self, conn_id, reader, writer, on_pong):
        self.id, self.reader, self.writer, self.on_pong = conn_id, reader, writer, on_pong
        self.open, self.close_sent, self.hello_sent = True, False, False
        self.info = {"id": conn_id, **stamp(), "closed": None, "close_code": None, "how": None}
        self._lock = asyncio.Lock()

    async def send_frame(self, opcode, payload=b""):
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        async with self._lock:
            if self.writer.is_closing():
                raise WsClosed()
            self.writer.write(head + payload)
            await self.writer.drain()

    async def send_text(self, text):
        if not self.open or self.close_sent:
            raise WsClosed()
        await self.send_frame(0x1, text.encode("utf-8"))

    async def close(self, code=1000, reason=""):
        """Send a close frame; the read loop completes the handshake (or we abort in 2 s)."""
        if self.close_sent or not self.open:
            return
        self.close_sent = True
        self.info["close_code"] = code
        try:
            await self.send_frame(0x8, struct.pack("!H", code) + reason.encode()[:120])
        except (WsClosed, ConnectionError):
            pass
        asyncio.get_running_loop().call_later(2.0, self.abort, "close_timeout")

    def abort(self, how="dropped"):
        """Drop the TCP connection without a close frame."""
        if self.open:
            self.info["how"] = self.info["how"] or how
            self.writer.transport.abort()

    async def fail(self, code, reason):
        self.info["how"] = f"protocol_error:{reason}"
        await self.close(code, reason)
        raise WsClosed()

    async def read_frame(self):
        b1, b2 = await self.reader.readexactly(2)
        fin, opcode, length = bool(b1 & 0x80), b1 & 0x0F, b2 & 0x7F
        if b1 & 0x70:
            await self.fail(1002, "reserved bits set")
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        if not b2 & 0x80:
            await self.fail(1002, "client frames must be masked")
        if opcode >= 0x8 and (not fin or length > 125):
            await self.fail(1002, "bad control frame")
        if length > MAX_WS_MESSAGE:
            await self.fail(1009, "frame too big")
        mask = await self.reader.readexactly(4)
        data = await self.reader.readexactly(length)
        if length:
            key = (mask * (length // 4 + 1))[:length]
            data = (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")
        return fin, opcode, data

    async def recv(self):
        """Next complete text message; None once the peer's close frame arrived."""
        parts, total = None, 0
        while True:
            fin, opcode, data = await self.read_frame()
            if opcode == 0x8:
                if not self.close_sent:  # peer-initiated: echo its code
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1000
                    self.info["how"] = "client_close"
                    await self.close(code if 1000 <= code < 5000 and code not in (1005, 1006) else 1000)
                return None
            if opcode == 0x9:
                await self.send_frame(0xA, data)
            elif opcode == 0xA:
                self.on_pong(self, data)
            elif opcode == 0x2:
                await self.fail(1003, "text frames only")
            elif opcode not in (0x0, 0x1):
                await self.fail(1002, "unknown opcode")
            elif (opcode == 0x1) == (parts is not None):
                await self.fail(1002, "bad fragmentation")
            else:
                parts = parts if parts is not None else []
                parts.append(data)
                total += len(data)
                if total > MAX_WS_MESSAGE:
                    await self.fail(1009, "message too big")
                if fin:
                    try:
                        return b"".join(parts).decode("utf-8")
                    except UnicodeDecodeError:
                        await self.fail(1007, "invalid utf-8")


# --------------------------------------------------------------------- the fake


class Envelope:
    def __init__(self, kind, payload, accepts_response_payload):
        self.id, self.type, self.payload = str(uuid.uuid4()), kind, payload
        self.accepts_response_payload = accepts_response_payload
        self.retry_attempt, self.retry_reason = 0, ""
        self.acked = self.gave_up = False
        self.deadline = self.timer = None

    def frame(self):
        return {"envelope_id": self.id, "type": self.type, "accepts_response_payload": self.accepts_response_payload,
                "payload": self.payload, "retry_attempt": self.retry_attempt, "retry_reason": self.retry_reason}

    def summary(self):
        return {**self.frame(), "acked": self.acked, "gave_up": self.gave_up}


class SlackFake:
    def __init__(self, args):
        self.args, self.port = args, None
        self.team = {"id": args.team_id, "domain": args.team_domain}
        self.config = {"ack_timeout": args.ack_timeout, "max_retries": args.max_retries,
                       "retry_types": ["events_api", "slash_commands", "interactive"],
                       "ping_interval": args.ping_interval}
        self.users, self.channels, self.dms = {}, {}, {}  # id -> user; id -> channel; user id -> D id
        self.known = {}              # (channel, ts) -> message, for chat.update and block_actions
        self.ephemeral_ts, self.tickets, self.response_urls = {}, {}, {}
        self.sockets = []            # open WsConnections, oldest first
        self.conn_counter = self.tcp_conns = self.last_ts = 0
        self.changed = asyncio.Condition()
        self.tasks = set()
        self.ratelimits, self.failures, self.revoked = {}, {}, set()
        self.delays = {}
        self.envelopes, self.pending = {}, collections.deque(maxlen=MAX_RECORDS)
        self.reset()

    # ----------------------------------------------------------- bookkeeping

    def reset(self):
        """Forget recordings, envelopes and injected faults; keep users, config, live sockets."""
        self.rec = {k: collections.deque(maxlen=MAX_RECORDS) for k in RECORD_KINDS}
        self.conn_log = collections.deque((ws.info for ws in self.sockets), maxlen=MAX_RECORDS)
        self.ratelimits.clear()
        self.failures.clear()
        self.delays.clear()
        self.revoked.clear()
        for env in self.envelopes.values():
            if env.timer:
                env.timer.cancel()
        self.envelopes.clear()
        self.pending.clear()

    def record(self, kind, item):
        self.rec[kind].append({**stamp(), **item})
        self.notify()

    def notify(self):
        async def wake():
            async with self.changed:
                self.changed.notify_all()
        self.spawn(wake())

    def spawn(self, coro):
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def count(self, what):
        special = {"connections": self.conn_log, "open_connections": self.sockets, "envelopes": self.envelopes}
        if what not in special and what not in self.rec:
            raise HttpError(400, f"unknown 'what': {what}")
        return len(special.get(what, self.rec.get(what)))

    def next_ts(self):
        """Unique, strictly increasing Slack-style ts, e.g. "1700000000.000100"."""
        self.last_ts = max(int(time.time() * 1_000_000), self.last_ts + 1)
        return "%d.%06d" % divmod(self.last_ts, 1_000_000)

    def trigger_id(self):
        return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"

    def new_response_url(self, kind):
        rid = f"{self.team['id']}/{secrets.randbelow(10**12)}/{secrets.token_urlsafe(18)}"
        put(self.response_urls, rid, {"kind": kind, "uses": 0, "envelope_id": None})
        return rid, f"http://127.0.0.1:{self.port}/response/{rid}"

    def user_obj(self, u):
        real = u.get("real_name", u["name"])
        return {"id": u["id"], "team_id": self.team["id"], "name": u["name"], "deleted": False,
                "real_name": real, "tz": "Etc/UTC", "tz_label": "UTC", "tz_offset": 0,
                "is_admin": False, "is_owner": False, "is_bot": bool(u.get("is_bot")), "is_app_user": False,
                "updated": int(time.time()),
                "profile": {"real_name": real, "display_name": u["name"], "email": u.get("email"),
                            "team": self.team["id"]}}

    def user_name(self, user_id):
        return self.users.get(user_id, {}).get("name") or f"user_{user_id.lower()}"

    def channel_name(self, cid):
        if cid in self.channels:
            return self.channels[cid]["name"]
        return {"D": "directmessage", "G": "privategroup"}.get(cid[:1], f"channel_{cid.lower()}")

    def dm_for(self, user_id):
        return self.dms.get(user_id) or put(self.dms, user_id, slack_id("D", user_id))

    def resolve_channel(self, channel):
        """Map a chat.* `channel` argument to a conversation id, or raise channel_not_found."""
        if not isinstance(channel, str) or not channel:
            raise ApiError("channel_not_found")
        by_name = {c["name"]: cid for cid, c in self.channels.items()}
        if channel.lstrip("#") in by_name:
            return by_name[channel.lstrip("#")]
        if channel in self.channels or channel in self.dms.values():
            return channel
        if re.fullmatch(r"[UW][A-Z0-9]{2,}", channel) and (not self.users or channel in self.users):
            return self.dm_for(channel)  # posting to a user id lands in the app's DM with them
        if not self.channels and re.fullmatch(r"[CGD][A-Z0-9]{2,}", channel):
            return channel  # no channel registry configured: any well-formed id exists
        raise ApiError("channel_not_found")

    # --------------------------------------------------------- TCP / dispatch

    async def serve_client(self, reader, writer):
        if self.tcp_conns >= MAX_TCP_CONNS:
            writer.transport.abort()
            return
        self.tcp_conns += 1
        try:
            while True:
                try:
                    req = await asyncio.wait_for(read_request(reader, writer), IDLE_TIMEOUT)
                except HttpError as e:
                    writer.write(http_response(e.status, {"ok": False, "error": str(e)}, keep_alive=False))
                    await writer.drain()
                    break
                if req is None:
                    break
                if req.path.rstrip("/") == "/link":
                    await self.websocket(req, reader, writer)
                    break
                try:
                    status, body, headers = await self.dispatch(req)
                except HttpError as e:
                    status, body, headers = e.status, {"ok": False, "error": str(e)}, {}
                writer.write(http_response(status, body, headers, req.keep_alive))
                await writer.drain()
                if not req.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError):
            pass
        finally:
            self.tcp_conns -= 1
            writer.close()

    async def dispatch(self, req):
        for prefix, handler in (("/api/", self.web_api), ("/response/", self.response_url_post),
                                ("/_control/", self.control)):
            if req.path.startswith(prefix):
                return await handler(req, req.path[len(prefix):])
        return 404, {"ok": False, "error": "not_found"}, {}

    # ---------------------------------------------------------------- Web API

    def api_params(self, req):
        """Merge query string and body (form or JSON), as Slack accepts both."""
        params, warnings = dict(req.query), []
        if req.method not in ("GET", "POST"):
            raise ApiError("invalid_post_type", 405)
        if req.method == "POST" and req.body:
            if req.content_type == "application/x-www-form-urlencoded":
                try:
                    params.update(urllib.parse.parse_qsl(req.body.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError:
                    raise ApiError("invalid_form_data")
            elif req.content_type == "application/json":
                if "charset" not in req.headers.get("content-type", "").lower():
                    warnings.append("missing_charset")
                try:
                    body = json.loads(req.body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise ApiError("invalid_json")
                if not isinstance(body, dict):
                    raise ApiError("json_not_object")
                body.pop("token", None)  # JSON bodies must authenticate via the Authorization header
                params.update(body)
            else:
                raise ApiError("invalid_post_type")
        return params, warnings

    def check_auth(self, req, params, method):
        auth = req.headers.get("authorization", "")
        token = (auth[7:].strip() if auth[:7].lower() == "bearer " else "") or params.get("token")
        if not token:
            raise ApiError("not_authed")
        if token in self.revoked:
            raise ApiError("token_revoked")
        kind = {self.args.app_token: "app", self.args.bot_token: "bot"}.get(token)
        if kind is None:
            raise ApiError("invalid_auth")
        if kind != ("app" if method == "apps.connections.open" else "bot"):
            raise ApiError("not_allowed_token_type")
        return kind

    async def web_api(self, req, method):
        call = {"method": method, "http_method": req.method, "content_type": req.headers.get("content-type"),
                "headers": {k: v for k, v in req.headers.items() if k != "authorization"},
                "has_authorization": "authorization" in req.headers, "auth": None}
        warnings, status, headers = [], 200, {}
        delay = self.delays.get(method)
        if delay and delay["count"] > 0:
            delay["count"] -= 1
            await asyncio.sleep(delay["seconds"])  # a slow platform
        try:
            params, warnings = self.api_params(req)
            call["params"] = {k: v for k, v in params.items() if k != "token"}
            handler = self.API.get(method)
            if handler is None:
                raise ApiError("unknown_method", 404)
            try:
                call["token_kind"], call["auth"] = self.check_auth(req, params, method), "valid"
            except ApiError as e:
                call["auth"] = e.error
                raise
            for rules, make in ((self.ratelimits, lambda r: ApiError(
                    "ratelimited", 429, {"Retry-After": str(r["retry_after"])})),
                    (self.failures, lambda r: ApiError(r["error"], r["http_status"]))):
                rule = rules.get(method)
                if rule and rule["count"] > 0:
                    rule["count"] -= 1
                    raise make(rule)
            body = {"ok": True, **handler(self, params)}
        except ApiError as e:
            body, status, headers = {"ok": False, "error": e.error, **e.extra}, e.status, e.headers
        if warnings:
            body.update(warning=",".join(warnings), response_metadata={"warnings": warnings})
        call.update(status=status, ok=body["ok"], error=body.get("error"), response=body)
        self.record("api_calls", call)
        return status, body, headers

    def api_auth_test(self, p):
        return {"url": f"https://{self.team['domain']}.slack.com/", "team": self.team["domain"],
                "user": self.args.bot_user_name, "team_id": self.team["id"], "user_id": self.args.bot_user_id,
                "bot_id": self.args.bot_id, "is_enterprise_install": False}

    def api_connections_open(self, p):
        ticket = secrets.token_hex(16)
        put(self.tickets, ticket, time.time())
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.args.app_id}"}

    @staticmethod
    def json_arg(p, name, error):
        """blocks/attachments arrive as JSON strings in form bodies, as arrays in JSON bodies."""
        value = p.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else None
            except ValueError:
                raise ApiError(error)
        return value

    def message_fields(self, p, required=True):
        text = p.get("text")
        text = None if text is None else str(text)
        blocks = self.json_arg(p, "blocks", "invalid_blocks_format")
        attachments = self.json_arg(p, "attachments", "invalid_attachments")
        if blocks is not None:
            bad = block_errors(blocks)
            if bad:
                raise ApiError("invalid_blocks", extra=bad)
            # Slack only warns; the fake insists on the fallback text
            # notifications and screen readers need
            if blocks and not text:
                raise ApiError("no_text")
        if required and not text and not blocks and not attachments:
            raise ApiError("no_text")
        if text and slack_len(text) > MAX_TEXT:
            raise ApiError("msg_too_long")
        return text, blocks, attachments

    def bot_message(self, ts, text, blocks, attachments, thread_ts=None):
        a = self.args
        msg = {"type": "message", "text": text or "", "user": a.bot_user_id, "bot_id": a.bot_id,
               "app_id": a.app_id, "team": self.team["id"], "ts": ts,
               "bot_profile": {"id": a.bot_id, "app_id": a.app_id, "name": a.bot_user_name,
                               "deleted": False, "team_id": self.team["id"]}}
        extra = {"blocks": blocks, "attachments": attachments, "thread_ts": thread_ts}
        msg.update({k: v for k, v in extra.items() if v})
        return msg

    def api_post_message(self, p):
        channel = self.resolve_channel(p.get("channel"))
        text, blocks, attachments = self.message_fields(p)
        thread_ts, ts = p.get("thread_ts") or None, self.next_ts()
        msg = put(self.known, (channel, ts), self.bot_message(ts, text, blocks, attachments, thread_ts))
        self.record("messages", {"channel": channel, "ts": ts, "thread_ts": thread_ts, "text": text,
                                 "blocks": blocks, "attachments": attachments, "params": p})
        return {"channel": channel, "ts": ts, "message": msg}

    def api_update(self, p):
        channel = self.resolve_channel(p.get("channel"))
        ts = p.get("ts")
        orig = self.known.get((channel, ts))
        if orig is None:
            raise ApiError("message_not_found")
        if orig.get("bot_id") != self.args.bot_id:
            raise ApiError("cant_update_message")
        text, blocks, attachments = self.message_fields(p, required=False)
        # Omitted blocks/attachments are retained; an empty array removes them.
        blocks = orig.get("blocks") if "blocks" not in p else blocks
        attachments = orig.get("attachments") if "attachments" not in p else attachments
        if not text and not blocks and not attachments:
            raise ApiError("no_text")
        msg = self.bot_message(ts, text, blocks, attachments, orig.get("thread_ts"))
        msg["edited"] = {"user": self.args.bot_user_id, "ts": self.next_ts()}
        put(self.known, (channel, ts), msg)
        self.record("updates", {"channel": channel, "ts": ts, "text": text, "blocks": blocks,
                                "attachments": attachments, "params": p})
        return {"channel": channel, "ts": ts, "text": text or "", "message": msg}

    def api_post_ephemeral(self, p):
        channel = self.resolve_channel(p.get("channel"))
        user = p.get("user")
        if not user or (self.users and user not in self.users):
            raise ApiError("user_not_in_channel")
        text, blocks, _ = self.message_fields(p)
        ts = self.next_ts()
        put(self.ephemeral_ts, (channel, ts), True)
        self.record("ephemerals", {"channel": channel, "user": user, "message_ts": ts, "text": text,
                                   "blocks": blocks, "thread_ts": p.get("thread_ts"), "params": p})
        return {"message_ts": ts}

    def api_conversations_open(self, p):
        users = p.get("users") or ""
        ids = [u.strip() for u in (users if isinstance(users, list) else users.split(",")) if u.strip()]
        if not ids:
            raise ApiError("users_list_not_supplied")
        if self.users and any(u not in self.users for u in ids):
            raise ApiError("user_not_found")
        existed = len(ids) == 1 and ids[0] in self.dms
        cid = self.dm_for(ids[0]) if len(ids) == 1 else slack_id("G", ",".join(sorted(ids)))  # 1:1 DM / MPIM
        return {"channel": {"id": cid}, **({"no_op": True, "already_open": True} if existed else {})}

    def api_users_info(self, p):
        u = self.users.get(p.get("user") or "")
        if not u:
            raise ApiError("user_not_found")
        return {"user": self.user_obj(u)}

    def api_lookup_by_email(self, p):
        email = (p.get("email") or "").strip().lower()
        for u in self.users.values():
            if email and (u.get("email") or "").lower() == email:
                return {"user": self.user_obj(u)}
        raise ApiError("users_not_found")

    API = {"auth.test": api_auth_test, "apps.connections.open": api_connections_open,
           "chat.postMessage": api_post_message, "chat.update": api_update,
           "chat.postEphemeral": api_post_ephemeral, "conversations.open": api_conversations_open,
           "users.info": api_users_info, "users.lookupByEmail": api_lookup_by_email}

    # ------------------------------------------------------------ response_url

    async def response_url_post(self, req, rid):
        entry = self.response_urls.get(rid)
        if req.method != "POST":
            raise HttpError(405, "method not allowed")
        if entry is None:
            return 404, "no_service", {}
        entry["uses"] += 1
        item = {"id": rid, "kind": entry["kind"], "envelope_id": entry["envelope_id"], "use": entry["uses"],
                "content_type": req.headers.get("content-type")}
        try:
            item["json"] = json.loads(req.body.decode("utf-8"))
            status, body = 200, {"ok": True}
        except (UnicodeDecodeError, ValueError):
            item["raw"] = req.body.decode("utf-8", "replace")
            status, body = 400, "invalid_payload"
        if status == 200:
            problem = self.payload_problem(item["json"])
            if problem:
                item["error"] = problem
                status, body = 400, problem[0]
        self.record("response_posts", {**item, "status": status})
        return status, body, {}

    @staticmethod
    def payload_problem(p):
        """Why Slack would refuse a response_url post or an ack payload: (error, details), or None."""
        if not isinstance(p, dict):
            return ("invalid_payload", {})
        if "blocks" in p:
            bad = block_errors(p["blocks"])
            if bad:
                return ("invalid_blocks", bad)
            if p["blocks"] and not p.get("text"):
                return ("no_text", {})
        text = p.get("text")
        if text is not None and (not isinstance(text, str) or slack_len(text) > MAX_TEXT):
            return ("msg_too_long", {})
        return None

    # ------------------------------------------------------------ Socket Mode

    async def websocket(self, req, reader, writer):
        ticket, key = req.query.get("ticket"), req.headers.get("sec-websocket-key", "")
        bad = None
        if req.method != "GET" or req.headers.get("upgrade", "").lower() != "websocket" \
                or "upgrade" not in req.headers.get("connection", "").lower():
            bad = (400, "not a websocket upgrade")
        elif req.headers.get("sec-websocket-version") != "13":
            bad = (426, "unsupported websocket version")
        elif not re.fullmatch(r"[A-Za-z0-9+/]{22}==", key):  # base64 of 16 random bytes
            bad = (400, "bad Sec-WebSocket-Key")
        elif ticket not in self.tickets:
            bad = (401, "invalid_ticket")
        if bad:
            self.record("ws_rejects", {"status": bad[0], "error": bad[1], "ticket": ticket})
            hdrs = {"Sec-WebSocket-Version": "13"} if bad[0] == 426 else {}
            writer.write(http_response(bad[0], {"ok": False, "error": bad[1]}, hdrs, keep_alive=False))
            await writer.drain()
            return
        self.tickets.pop(ticket, None)  # a ticket (URL) is good for one connection
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        self.conn_counter += 1
        ws = WsConnection(self.conn_counter, reader, writer, self.on_pong)
        self.sockets.append(ws)
        self.conn_log.append(ws.info)
        self.notify()
        pinger = self.spawn(self.ping_loop(ws))
        try:
            await ws.send_text(to_json({
                "type": "hello", "num_connections": len(self.sockets),
                "debug_info": {"host": f"applink-fake-{ws.id}", "build_number": 1,
                               "approximate_connection_time": 3600},
                "connection_info": {"app_id": self.args.app_id}}))
            ws.hello_sent = True
            await self.flush_pending()
            while (text := await ws.recv()) is not None:
                self.on_ws_message(ws, text)
        except (WsClosed, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            pinger.cancel()
            ws.open = False
            ws.info.update(closed=time.time(), how=ws.info["how"] or "eof")
            self.sockets.remove(ws)
            self.notify()

    async def ping_loop(self, ws):
        while ws.open and self.config["ping_interval"] > 0:
            await asyncio.sleep(self.config["ping_interval"])
            try:
                await ws.send_frame(0x9, str(int(time.time())).encode())
            except (WsClosed, ConnectionError):
                return

    def on_pong(self, ws, data):
        self.record("pongs", {"conn": ws.id, "data": data.decode("utf-8", "replace")})

    def on_ws_message(self, ws, text):
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("envelope_id"), str):
            self.record("ws_messages", {"conn": ws.id, "text": text[:4096]})
            return
        env = self.envelopes.get(msg["envelope_id"])
        ack = {"conn": ws.id, "envelope_id": msg["envelope_id"], "known": env is not None,
               "has_payload": "payload" in msg, "payload": msg.get("payload")}
        if "payload" in msg:
            # Slack shows the person an error instead of such an answer
            ack["error"] = self.payload_problem(msg["payload"])
        if env is not None:
            ack.update(type=env.type, retry_attempt=env.retry_attempt, duplicate=env.acked,
                       late=env.deadline is not None and time.monotonic() > env.deadline)
            env.acked = True
            if env.timer:
                env.timer.cancel()
        self.record("acks", ack)

    def live_socket(self):
        """Newest open connection that got its hello (real Slack may pick any of them)."""
        for ws in reversed(self.sockets):
            if ws.open and ws.hello_sent and not ws.close_sent:
                return ws
        return None

    async def deliver(self, env):
        """Send env on a live socket and arm its ack timer; queue it if no socket is up."""
        ws = self.live_socket()
        try:
            if ws is None:
                raise WsClosed()
            await ws.send_text(to_json(env.frame()))
        except (WsClosed, ConnectionError):
            if env not in self.pending:
                self.pending.append(env)
            return False
        env.deadline = time.monotonic() + self.config["ack_timeout"]
        self.record("deliveries", {"conn": ws.id, "envelope_id": env.id, "type": env.type,
                                   "retry_attempt": env.retry_attempt, "retry_reason": env.retry_reason})
        if env.timer:
            env.timer.cancel()
        env.timer = self.spawn(self.ack_watch(env))
        return True

    async def flush_pending(self):
        while self.pending and self.live_socket():
            env = self.pending.popleft()
            if not env.acked and env.id in self.envelopes:
                await self.deliver(env)

    async def ack_watch(self, env):
        await asyncio.sleep(self.config["ack_timeout"])
        if env.acked or env.id not in self.envelopes:
            return
        if env.type not in self.config["retry_types"] or env.retry_attempt >= self.config["max_retries"]:
            env.gave_up = True
            self.notify()
            return
        env.retry_attempt, env.retry_reason, env.timer = env.retry_attempt + 1, "timeout", None
        await self.deliver(env)

    async def send_envelope(self, kind, payload, accepts_response_payload, response_id=None):
        env = Envelope(kind, payload, accepts_response_payload)
        put(self.envelopes, env.id, env)
        if response_id:
            self.response_urls[response_id]["envelope_id"] = env.id
        return env, await self.deliver(env)

    # ------------------------------------------------------- payload builders

    def slash_payload(self, b, response_url):
        user, channel = b["user_id"], b["channel_id"]
        payload = {"token": self.args.verification_token, "team_id": self.team["id"],
                   "team_domain": self.team["domain"], "channel_id": channel,
                   "channel_name": self.channel_name(channel), "user_id": user, "user_name": self.user_name(user),
                   "command": b.get("command", "/incident"), "text": b.get("text", ""),
                   "api_app_id": self.args.app_id, "is_enterprise_install": "false",
                   "response_url": response_url, "trigger_id": self.trigger_id()}
        payload.update(b.get("overrides") or {})
        return payload

    @staticmethod
    def find_element(message, action_id):
        """(block_id, element) of the interactive element with action_id in message's blocks."""
        for block in (message or {}).get("blocks") or []:
            elements = block.get("elements") or ([block["accessory"]] if "accessory" in block else [])
            for el in elements:
                if isinstance(el, dict) and el.get("action_id") == action_id:
                    return block.get("block_id"), el
        return None, {}

    def block_action_payload(self, b, response_url):
        user, channel, mts = b["user_id"], b["channel_id"], b["message_ts"]
        message = self.known.get((channel, mts))
        is_ephemeral = bool(b.get("is_ephemeral", (channel, mts) in self.ephemeral_ts))
        block_id, el = self.find_element(message, b["action_id"])
        value = b.get("value", el.get("value", ""))
        action = {"action_id": b["action_id"], "block_id": b.get("block_id") or block_id or "fake_block",
                  "text": el.get("text") or {"type": "plain_text", "text": b.get("text") or str(value), "emoji": True},
                  "value": value, "type": b.get("type", "button"), "action_ts": "%.6f" % time.time()}
        if el.get("style"):
            action["style"] = el["style"]
        payload = {"type": "block_actions",
                   "user": {"id": user, "username": self.user_name(user), "name": self.user_name(user),
                            "team_id": self.team["id"]},
                   "api_app_id": self.args.app_id, "token": self.args.verification_token,
                   "container": {"type": "message", "message_ts": mts, "channel_id": channel,
                                 "is_ephemeral": is_ephemeral},
                   "trigger_id": self.trigger_id(), "team": dict(self.team), "enterprise": None,
                   "is_enterprise_install": False, "channel": {"id": channel, "name": self.channel_name(channel)},
                   "state": {"values": {}}, "response_url": response_url, "actions": [action]}
        if not is_ephemeral:  # Slack omits `message` for ephemeral sources
            payload["message"] = message or {"type": "message", "ts": mts, "text": ""}
        return payload

    def event_payload(self, b):
        channel, ts = b["channel_id"], b.get("ts") or self.next_ts()
        event = {"type": "message", "channel": channel, "text": b.get("text", ""), "ts": ts,
                 "team": self.team["id"], "event_ts": ts,
                 "channel_type": b.get("channel_type") or {"D": "im", "G": "group"}.get(channel[:1], "channel")}
        if b.get("bot_id"):  # bot/app-authored: bot_id (+ user), no client_msg_id
            event.update({"bot_id": b["bot_id"], **({"user": b["user_id"]} if b.get("user_id") else {})})
        else:
            event.update(user=b["user_id"], client_msg_id=str(uuid.uuid4()), blocks=[
                {"type": "rich_text", "block_id": secrets.token_hex(3), "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": b.get("text", "")}]}]}])
        if b.get("subtype"):
            event["subtype"] = b["subtype"]
        if b.get("thread_ts"):
            event["thread_ts"] = b["thread_ts"]
        event.update(b.get("event_overrides") or {})
        put(self.known, (channel, ts), {k: v for k, v in event.items() if k not in ("event_ts", "channel_type")})
        return {"token": self.args.verification_token, "team_id": self.team["id"],
                "context_team_id": self.team["id"], "context_enterprise_id": None,
                "api_app_id": self.args.app_id, "event": event, "type": "event_callback",
                "event_id": "Ev" + secrets.token_hex(5).upper(), "event_time": int(float(ts)),
                "authorizations": [{"enterprise_id": None, "team_id": self.team["id"],
                                    "user_id": self.args.bot_user_id, "is_bot": True,
                                    "is_enterprise_install": False}],
                "is_ext_shared_channel": False, "event_context": f"4-{secrets.token_urlsafe(24)}"}

    # ------------------------------------------------------------ control API

    async def control(self, req, verb):
        verb = verb.strip("/")
        if req.method == "GET" and verb == "state":
            return 200, self.state(), {}
        if req.method == "GET" and verb == "wait":
            return await self.wait(req.query)
        handler = getattr(self, "ctl_" + verb, None)
        if req.method != "POST" or handler is None:
            raise HttpError(404, f"unknown control endpoint {req.method} {verb}")
        try:
            result = await handler(req.json())
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise HttpError(400, f"bad control request: {e!r}")
        return 200, {"ok": True, **(result or {})}, {}

    @staticmethod
    def require(body, *keys):
        missing = [k for k in keys if not body.get(k)]
        if missing:
            raise HttpError(400, f"missing fields: {', '.join(missing)}")

    async def ctl_users(self, body):
        body = {"users": body} if isinstance(body, list) else body
        self.team.update(id=body.get("team_id", self.team["id"]), domain=body.get("team_domain", self.team["domain"]))
        for u in body.get("users", []):
            self.require(u, "id", "name")
            self.users[u["id"]] = dict(u)
        for c in body.get("channels", []):
            self.require(c, "id", "name")
            self.channels[c["id"]] = {"id": c["id"], "name": c["name"]}
        return {"users": len(self.users), "channels": len(self.channels), "team": self.team}

    async def ctl_config(self, body):
        for key in set(body) & set(self.config):
            self.config[key] = body[key]
        return {"config": self.config}

    async def with_response_url(self, kind, build, body):
        rid, url = self.new_response_url(kind)
        payload = build(body, url)
        env, delivered = await self.send_envelope(kind, payload, True, rid)
        return {"envelope_id": env.id, "delivered": delivered, "payload": payload}

    async def ctl_slash(self, body):
        self.require(body, "user_id", "channel_id")
        return await self.with_response_url("slash_commands", self.slash_payload, body)

    async def ctl_block_action(self, body):
        self.require(body, "user_id", "channel_id", "message_ts", "action_id")
        return await self.with_response_url("interactive", self.block_action_payload, body)

    async def ctl_message(self, body):
        self.require(body, "channel_id")
        if not body.get("user_id") and not body.get("bot_id"):
            raise HttpError(400, "missing fields: user_id (or bot_id)")
        payload = self.event_payload(body)
        env, delivered = await self.send_envelope("events_api", payload, False)
        return {"envelope_id": env.id, "event_id": payload["event_id"], "ts": payload["event"]["ts"],
                "delivered": delivered, "payload": payload}

    async def ctl_redeliver(self, body):
        env = self.envelopes.get(body.get("envelope_id"))
        if env is None:
            raise HttpError(404, "unknown envelope_id")
        env.retry_attempt += 1
        env.retry_reason = body.get("retry_reason", "timeout")
        env.acked = env.gave_up = False
        return {"envelope_id": env.id, "retry_attempt": env.retry_attempt, "delivered": await self.deliver(env)}

    def targets(self, body):
        return [ws for ws in self.sockets if ws.open and body.get("conn") in (None, ws.id)]

    async def ctl_disconnect(self, body):
        reason, close_after = body.get("reason", "refresh_requested"), body.get("close_after", 1.0)
        if reason not in DISCONNECT_REASONS:
            raise HttpError(400, f"reason must be one of {DISCONNECT_REASONS}")
        sent = []
        for ws in self.targets(body):
            try:
                await ws.send_text(to_json({"type": "disconnect", "reason": reason,
                                            "debug_info": {"host": f"applink-fake-{ws.id}"}}))
            except (WsClosed, ConnectionError):
                continue
            sent.append(ws.id)
            if close_after is not None:
                async def close_later(ws=ws):
                    await asyncio.sleep(float(close_after))
                    ws.info["how"] = ws.info["how"] or f"disconnect:{reason}"
                    await ws.close(1000, reason)
                self.spawn(close_later())
        return {"connections": sent}

    async def ctl_drop(self, body):
        dropped = self.targets(body)
        for ws in dropped:
            ws.abort("dropped")
        return {"connections": [ws.id for ws in dropped]}

    async def ctl_ratelimit(self, body):
        self.require(body, "method")
        self.ratelimits[body["method"]] = {"count": int(body.get("count", 1)),
                                           "retry_after": int(body.get("retry_after", 1))}
        return {"ratelimits": self.ratelimits}

    async def ctl_fail(self, body):
        self.require(body, "method")
        self.failures[body["method"]] = {"count": int(body.get("count", 1)),
                                         "error": body.get("error", "internal_error"),
                                         "http_status": int(body.get("http_status", 200))}
        return {"failures": self.failures}

    async def ctl_delay(self, body):
        self.require(body, "method")
        self.delays[body["method"]] = {"count": int(body.get("count", 1)),
                                       "seconds": min(float(body.get("seconds", 1)), 30.0)}
        return {"delays": self.delays}

    async def ctl_revoke(self, body):
        self.require(body, "token")
        self.revoked.add(body["token"])
        return {"revoked": sorted(self.revoked)}

    async def ctl_reset(self, body):
        self.reset()
        self.notify()
        return {}

    def state(self):
        out = {k: list(v) for k, v in self.rec.items()}
        out["connections"] = {"open": len(self.sockets), "opened": len(self.conn_log),
                              "closed": sum(1 for c in self.conn_log if c["closed"]), "list": list(self.conn_log)}
        out["envelopes"] = [e.summary() for e in self.envelopes.values()]
        out["pending"] = [e.id for e in self.pending]
        out.update(config=self.config, team=self.team, users=list(self.users.values()),
                   channels=list(self.channels.values()), dms=self.dms, ratelimits=self.ratelimits,
                   failures=self.failures, revoked=sorted(self.revoked))
        return out

    async def wait(self, q):
        what = q.get("what", "messages")
        try:
            count, timeout = int(q.get("count", "1")), min(float(q.get("timeout", "5")), MAX_WAIT)
        except ValueError:
            raise HttpError(400, "bad count/timeout")
        self.count(what)  # validates `what`
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.count(what) >= count), timeout)
            except asyncio.TimeoutError:
                return 408, {"ok": False, "error": "timeout", "what": what, "count": self.count(what)}, {}
        return 200, {"ok": True, "what": what, "count": self.count(what)}, {}

    # --------------------------------------------------------------- lifecycle

    async def run(self):
        server = await asyncio.start_server(self.serve_client, "127.0.0.1", self.args.port, limit=MAX_HEADER)
        self.port = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        sys.stdout.write(to_json({"port": self.port}) + "\n")
        sys.stdout.flush()
        await stop.wait()
        server.close()
        for ws in list(self.sockets):
            await ws.close(1001, "going away")
        await asyncio.sleep(0.1)
        for ws in list(self.sockets):
            ws.abort("shutdown")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Fake Slack (Web API + Socket Mode) for integration tests")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: ephemeral)")
    ap.add_argument("--app-token", default="xapp-1-TEST", help="app-level token for apps.connections.open")
    ap.add_argument("--bot-token", default="xoxb-TEST", help="bot token for every other method")
    ap.add_argument("--signing-secret", default="", help="unused by the server; see slack_sign.py")
    ap.add_argument("--verification-token", default="fakeVerificationTokenXYZ", help="payload `token` field")
    ap.add_argument("--team-id", default="T0FAKETEAM")
    ap.add_argument("--team-domain", default="ismstest")
    ap.add_argument("--app-id", default="A0FAKEAPP1")
    ap.add_argument("--bot-id", default="B0FAKEBOT1")
    ap.add_argument("--bot-user-id", default="U0FAKEBOT1")
    ap.add_argument("--bot-user-name", default="ismsd")
    ap.add_argument("--ack-timeout", type=float, default=3.0, help="seconds before an unacked envelope is redelivered")
    ap.add_argument("--max-retries", type=int, default=3, help="redeliveries per envelope")
    ap.add_argument("--ping-interval", type=float, default=10.0, help="server ping period in seconds; 0 disables")
    return ap.parse_args(argv)


def main(argv=None):
    try:
        asyncio.run(SlackFake(parse_args(argv)).run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
