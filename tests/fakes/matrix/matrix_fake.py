#!/usr/bin/python3
"""A small, protocol-faithful fake Matrix homeserver for integration tests.

It speaks the subset of the Client-Server API v3 that a bot needs (login,
/sync long-poll, join/leave, send with transaction ids, createRoom, m.direct
account data, filters) and exposes a JSON control API under /_control/ that
lets tests act as the human side, inject faults and inspect what happened.

Standard library only.  See README.md next to this file.
"""

import argparse
import base64
import hashlib
import json
import re
import secrets
import signal
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

SPEC_VERSIONS = ["r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6",
                 "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"]
DEFAULT_TIMELINE_LIMIT = 10          # Synapse's default when no filter is given
STRIPPED_INVITE_STATE = ("m.room.create", "m.room.join_rules", "m.room.name",
                         "m.room.encryption", "m.room.canonical_alias",
                         "m.room.avatar", "m.room.topic")


class MatrixError(Exception):
    def __init__(self, status, errcode, error, headers=None, raw=None, **extra):
        super().__init__(error)
        self.status, self.headers, self.raw = status, headers or {}, raw
        self.body = {"errcode": errcode, "error": error, **extra}


def now_ms():
    return int(time.time() * 1000)


def rand_id(n, alphabet=string.ascii_letters):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def localpart(user_id):
    return user_id[1:].split(":", 1)[0]


def valid_user_id(u):
    return isinstance(u, str) and re.fullmatch(r"@[^:\s]+:[^\s]+", u) is not None


def type_matches(patterns, value):
    """Matrix filter matching: '*' is the only wildcard."""
    for p in patterns:
        if re.fullmatch(re.escape(p).replace(r"\*", ".*"), value):
            return True
    return False


def allowed(flt, value, key, not_key):
    if not isinstance(flt, dict):
        return True
    if not_key in flt and type_matches(flt[not_key], value):
        return False
    return key not in flt or type_matches(flt[key], value)


class Homeserver:
    """All server state.  Methods assume the caller holds self.lock (an RLock);
    sync() waits on self.cond, which every new event notifies."""

    def __init__(self, server_name, bot_user, bot_password, bot_token,
                 max_sync_ms=30000, auto_accept=True):
        self.server_name = server_name
        self.bot_user, self.bot_password, self.bot_token = bot_user, bot_password, bot_token
        self.max_sync_ms = max_sync_ms
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.pos = 0                 # global stream position; never reset
        self.auto_accept_default = auto_accept
        self.reset()

    # ---- state ---------------------------------------------------------
    def reset(self):
        with self.lock:
            self.users = {self.bot_user: self.bot_password}
            self.tokens = {self.bot_token: {"user_id": self.bot_user,
                                            "device_id": "FAKEBOTDEVICE", "valid": True}}
            self.rooms = {}                  # room_id -> {"events", "state", "alias"}
            self.aliases = {}
            self.txns = {}                   # (user, device, path) -> event_id
            self.filters = {}                # (user, filter_id) -> filter
            self.account_data = {}           # user -> {type: (content, pos)}
            self.ratelimits, self.failures = [], []
            self.requests, self.logins, self.joins, self.created_rooms = [], [], [], []
            self.ratelimited, self.failed = [], []
            self.auto_accept = self.auto_accept_default
            self.cond.notify_all()

    def _bump(self):
        self.pos += 1
        return self.pos

    def _event(self, room_id, sender, etype, content, state_key=None,
               txn_id=None, device_id=None):
        room = self.rooms[room_id]
        ev = {"event_id": "$" + base64.urlsafe_b64encode(
                  hashlib.sha256(secrets.token_bytes(32)).digest()).decode().rstrip("="),
              "room_id": room_id, "type": etype, "sender": sender,
              "origin_server_ts": now_ms(), "content": content, "unsigned": {},
              "pos": self._bump(), "txn_id": txn_id, "device_id": device_id}
        if state_key is not None:
            ev["state_key"] = state_key
            prev = room["state"].get((etype, state_key))
            if prev:
                ev["unsigned"] = {"replaces_state": prev["event_id"],
                                  "prev_content": prev["content"]}
            room["state"][(etype, state_key)] = ev
        room["events"].append(ev)
        self.cond.notify_all()
        return ev

    def _member(self, room_id, sender, user, membership, **extra):
        content = {"membership": membership, **extra}
        if membership == "join":
            content.setdefault("displayname", localpart(user))
        return self._event(room_id, sender, "m.room.member", content, state_key=user)

    def membership(self, room_id, user, at=None):
        room = self.rooms.get(room_id)
        if not room:
            return None
        if at is None:
            ev = room["state"].get(("m.room.member", user))
            return ev["content"]["membership"] if ev else None
        for ev in reversed(room["events"]):
            if ev["pos"] <= at and ev["type"] == "m.room.member" and ev.get("state_key") == user:
                return ev["content"]["membership"]
        return None

    def _member_changes(self, room_id, user, after):
        return [e for e in self.rooms[room_id]["events"]
                if e["pos"] > after and e["type"] == "m.room.member" and e.get("state_key") == user]

    def joined(self, room_id):
        room = self.rooms.get(room_id, {"state": {}})
        return [sk for (t, sk), ev in room["state"].items()
                if t == "m.room.member" and ev["content"].get("membership") == "join"]

    def new_room(self, creator, preset="private_chat", name=None, topic=None,
                 encrypted=False, room_id=None, alias=None, initial_state=(),
                 power_users=()):
        room_id = room_id or "!%s:%s" % (rand_id(18), self.server_name)
        if room_id in self.rooms:
            raise MatrixError(400, "M_ROOM_IN_USE", "Room id already in use")
        self.rooms[room_id] = {"events": [], "state": {}, "alias": None}
        self._event(room_id, creator, "m.room.create",
                    {"creator": creator, "room_version": "10"}, state_key="")
        self._member(room_id, creator, creator, "join")
        users = {creator: 100, **{u: 100 for u in power_users}}
        self._event(room_id, creator, "m.room.power_levels", {
            "users": users, "users_default": 0, "events_default": 0,
            "state_default": 50, "ban": 50, "kick": 50, "redact": 50, "invite": 0,
            "events": {"m.room.name": 50, "m.room.power_levels": 100}}, state_key="")
        if alias:
            self.aliases[alias] = room_id
            self.rooms[room_id]["alias"] = alias
            self._event(room_id, creator, "m.room.canonical_alias", {"alias": alias}, state_key="")
        join_rule = "public" if preset == "public_chat" else "invite"
        self._event(room_id, creator, "m.room.join_rules", {"join_rule": join_rule}, state_key="")
        self._event(room_id, creator, "m.room.history_visibility",
                    {"history_visibility": "shared"}, state_key="")
        for st in initial_state:
            self._event(room_id, creator, st["type"], st.get("content", {}),
                        state_key=st.get("state_key", ""))
        if encrypted and ("m.room.encryption", "") not in self.rooms[room_id]["state"]:
            self._event(room_id, creator, "m.room.encryption",
                        {"algorithm": "m.megolm.v1.aes-sha2"}, state_key="")
        if name:
            self._event(room_id, creator, "m.room.name", {"name": name}, state_key="")
        if topic:
            self._event(room_id, creator, "m.room.topic", {"topic": topic}, state_key="")
        return room_id

    def invite(self, room_id, sender, invitee, is_direct=False):
        if self.membership(room_id, sender) != "join":
            raise MatrixError(403, "M_FORBIDDEN", "You are not in room %s" % room_id)
        if self.membership(room_id, invitee) == "join":
            raise MatrixError(403, "M_FORBIDDEN", "%s is already in the room." % invitee)
        extra = {"is_direct": True} if is_direct else {}
        ev = self._member(room_id, sender, invitee, "invite", **extra)
        if self.auto_accept and invitee != self.bot_user:
            self._member(room_id, invitee, invitee, "join")   # the human's client accepts
        return ev

    def join(self, user, room_id_or_alias, via):
        room_id = room_id_or_alias
        if room_id.startswith("#"):
            room_id = self.aliases.get(room_id_or_alias)
            if not room_id:
                raise MatrixError(404, "M_NOT_FOUND", "Room alias %s not found" % room_id_or_alias)
        if room_id not in self.rooms:
            raise MatrixError(404, "M_NOT_FOUND", "No known servers")
        cur = self.membership(room_id, user)
        rule = self.rooms[room_id]["state"].get(("m.room.join_rules", ""))
        public = rule is not None and rule["content"].get("join_rule") == "public"
        if cur == "ban":
            raise MatrixError(403, "M_FORBIDDEN", "You are banned from this room")
        if cur not in ("invite", "join") and not public:
            raise MatrixError(403, "M_FORBIDDEN", "You are not invited to this room.")
        if cur != "join":
            self._member(room_id, user, user, "join")
        self.joins.append({"room_id": room_id, "user_id": user, "via": via,
                           "time": time.time(), "previous_membership": cur})
        return room_id

    # ---- /sync ---------------------------------------------------------
    def client_event(self, ev, user, device, full=True):
        out = {k: ev[k] for k in ("type", "sender", "content")}
        if "state_key" in ev:
            out["state_key"] = ev["state_key"]
        if not full:
            return out                                  # stripped state event
        out.update(event_id=ev["event_id"], origin_server_ts=ev["origin_server_ts"])
        unsigned = dict(ev["unsigned"], age=max(0, now_ms() - ev["origin_server_ts"]))
        if ev["txn_id"] and ev["sender"] == user and ev["device_id"] == device:
            unsigned["transaction_id"] = ev["txn_id"]
        out["unsigned"] = unsigned
        return out

    def _timeline(self, room_id, after, upto, tf):
        tf = tf if isinstance(tf, dict) else {}
        evs = [e for e in self.rooms[room_id]["events"]
               if (after is None or e["pos"] > after) and e["pos"] <= upto
               and allowed(tf, e["type"], "types", "not_types")
               and allowed(tf, e["sender"], "senders", "not_senders")]
        limit = max(0, int(tf.get("limit", DEFAULT_TIMELINE_LIMIT)))
        limited = len(evs) > limit
        evs = evs[len(evs) - limit:] if limit else []
        prev = "s%d" % ((evs[0]["pos"] - 1) if evs else upto)
        return evs, limited, prev

    def _sync_once(self, user, device, since, flt, full_state):
        rf = flt.get("room", {}) if isinstance(flt, dict) else {}
        tf, sf = rf.get("timeline", {}), rf.get("state", {})
        join, invite, leave = {}, {}, {}
        ce = lambda evs, full=True: [self.client_event(e, user, device, full) for e in evs]
        for room_id, room in self.rooms.items():
            if not allowed(rf, room_id, "rooms", "not_rooms"):
                continue
            cur = self.membership(room_id, user)
            changed = since is not None and bool(self._member_changes(room_id, user, since))
            if cur == "join":
                newly = since is None or full_state or (
                    changed and self.membership(room_id, user, since) != "join")
                evs, limited, prev = self._timeline(room_id, since, self.pos, tf)
                ids = {e["event_id"] for e in evs}
                cutoff = evs[0]["pos"] if evs else self.pos + 1
                state = [e for e in room["state"].values()
                         if e["event_id"] not in ids and allowed(sf, e["type"], "types", "not_types")
                         and (newly or (limited and since < e["pos"] < cutoff))]
                if not (evs or state or newly):
                    continue
                join[room_id] = {
                    "timeline": {"events": ce(evs), "limited": limited, "prev_batch": prev},
                    "state": {"events": ce(sorted(state, key=lambda e: e["pos"]))},
                    "account_data": {"events": []}, "ephemeral": {"events": []},
                    "unread_notifications": {"notification_count": 0, "highlight_count": 0},
                    "summary": {"m.joined_member_count": len(self.joined(room_id))}}
            elif cur == "invite" and (since is None or changed):
                inv = room["state"][("m.room.member", user)]
                stripped = [room["state"][(t, "")] for t in STRIPPED_INVITE_STATE
                            if (t, "") in room["state"]]
                sender_ev = room["state"].get(("m.room.member", inv["sender"]))
                stripped += [sender_ev] if sender_ev else []
                invite[room_id] = {"invite_state": {
                    "events": ce(stripped, full=False) + ce([inv])}}
            elif cur in ("leave", "ban") and (changed or (since is None and rf.get("include_leave"))):
                left_at = room["state"][("m.room.member", user)]["pos"]
                evs, limited, prev = self._timeline(room_id, since, left_at, tf)
                leave[room_id] = {"timeline": {"events": ce(evs), "limited": limited,
                                               "prev_batch": prev},
                                  "state": {"events": []}, "account_data": {"events": []}}
        af = flt.get("account_data", {}) if isinstance(flt, dict) else {}
        acct = [{"type": t, "content": c}
                for t, (c, p) in self.account_data.get(user, {}).items()
                if (since is None or p > since) and allowed(af, t, "types", "not_types")]
        resp = {"next_batch": "s%d" % self.pos}
        rooms = {k: v for k, v in (("join", join), ("invite", invite), ("leave", leave)) if v}
        if rooms:
            resp["rooms"] = rooms
        if acct:
            resp["account_data"] = {"events": acct}
        resp["device_one_time_keys_count"] = {"signed_curve25519": 0}
        resp["device_unused_fallback_key_types"] = []
        return resp, bool(rooms or acct)

    def sync(self, user, device, since, timeout_ms, flt, full_state):
        deadline = time.monotonic() + min(timeout_ms, self.max_sync_ms) / 1000.0
        with self.lock:
            while True:
                resp, nonempty = self._sync_once(user, device, since, flt, full_state)
                remaining = deadline - time.monotonic()
                # Like Synapse: initial and full_state syncs never wait.
                if nonempty or since is None or full_state or remaining <= 0:
                    return resp
                self.cond.wait(remaining)

    def resolve_filter(self, user, raw):
        if raw is None or raw == "":
            return {}
        if raw.lstrip().startswith("{"):
            try:
                flt = json.loads(raw)
            except ValueError:
                raise MatrixError(400, "M_INVALID_PARAM", "Invalid filter JSON")
            if not isinstance(flt, dict):
                raise MatrixError(400, "M_INVALID_PARAM", "Filter must be an object")
            return flt
        flt = self.filters.get((user, raw))
        if flt is None:
            raise MatrixError(400, "M_INVALID_PARAM", "No such filter: %s" % raw)
        return flt

    # ---- fault injection -----------------------------------------------
    def inject(self, method, path):
        with self.lock:
            for rule in self.failures:
                if rule["count"] > 0 and rule["path_contains"] in path \
                        and rule.get("method", method) == method:
                    rule["count"] -= 1
                    self.failed.append({"method": method, "path": path, "time": time.time(),
                                        "status": rule["status"]})
                    raise MatrixError(rule["status"], "M_UNKNOWN", "Injected failure",
                                      raw=rule.get("body"))
            for rule in self.ratelimits:
                if rule["count"] > 0 and rule["path_contains"] in path \
                        and rule.get("method", method) == method:
                    rule["count"] -= 1
                    ms = int(rule["retry_after_ms"])
                    self.ratelimited.append({"method": method, "path": path,
                                             "time": time.time(), "retry_after_ms": ms})
                    hdr = {"Retry-After": str(max(1, -(-ms // 1000)))} if rule.get("header") else {}
                    raise MatrixError(429, "M_LIMIT_EXCEEDED", "Too many requests",
                                      headers=hdr, retry_after_ms=ms)

    def authenticate(self, token):
        if not token:
            raise MatrixError(401, "M_MISSING_TOKEN", "Missing access token")
        with self.lock:
            info = self.tokens.get(token)
            if not info or not info["valid"]:
                raise MatrixError(401, "M_UNKNOWN_TOKEN",
                                  "Unknown access token or the token has been revoked",
                                  soft_logout=False)
            return info["user_id"], info["device_id"]

    def snapshot(self):
        with self.lock:
            rooms = {}
            for rid, room in self.rooms.items():
                rooms[rid] = {
                    "events": [{k: v for k, v in e.items() if k != "unsigned"}
                               for e in room["events"]],
                    "members": {sk: ev["content"]["membership"]
                                for (t, sk), ev in room["state"].items() if t == "m.room.member"},
                    "encrypted": ("m.room.encryption", "") in room["state"],
                    "alias": room["alias"]}
            acct = {u: {t: c for t, (c, p) in d.items()} for u, d in self.account_data.items()}
            return json.loads(json.dumps({
                "server_name": self.server_name, "bot_user": self.bot_user,
                "stream_position": self.pos, "rooms": rooms, "requests": self.requests,
                "logins": self.logins, "joins": self.joins,
                "created_rooms": self.created_rooms, "account_data": acct,
                "m_direct": acct.get(self.bot_user, {}).get("m.direct"),
                "ratelimited": self.ratelimited, "failed": self.failed,
                "tokens": {t: dict(i) for t, i in self.tokens.items()}}))


# ==== Client-Server API handlers (hs lock held by the caller) ============

def body_obj(body):
    try:
        obj = json.loads(body.decode("utf-8") if body else "")
    except ValueError:
        raise MatrixError(400, "M_NOT_JSON", "Content not JSON.")
    if not isinstance(obj, dict):
        raise MatrixError(400, "M_BAD_JSON", "Content must be a JSON object.")
    return obj


def require_self(auth, user_id, what):
    if user_id != auth[0]:
        raise MatrixError(403, "M_FORBIDDEN", "Cannot %s for other users." % what)


def require_joined(hs, user, room_id):
    if hs.membership(room_id, user) != "join":
        raise MatrixError(403, "M_FORBIDDEN", "User %s not in room %s" % (user, room_id))


def h_versions(hs, auth, args, q, body, path):
    return {"versions": SPEC_VERSIONS, "unstable_features": {}}


def h_login(hs, auth, args, q, body, path):
    req = body_obj(body)
    if req.get("type") != "m.login.password":
        raise MatrixError(400, "M_UNKNOWN", "Unknown login type %s" % req.get("type"))
    ident = req.get("identifier") or {"type": "m.id.user", "user": req.get("user")}
    if ident.get("type") != "m.id.user" or not isinstance(ident.get("user"), str):
        raise MatrixError(400, "M_UNKNOWN", "Unsupported identifier")
    if not isinstance(req.get("password"), str):
        raise MatrixError(400, "M_BAD_JSON", "Missing password")
    user = ident["user"]
    if not user.startswith("@"):
        user = "@%s:%s" % (user, hs.server_name)
    ok = user in hs.users and secrets.compare_digest(hs.users[user], req["password"])
    hs.logins.append({"user_id": user, "ok": ok, "time": time.time(),
                      "device_id": req.get("device_id"),
                      "initial_device_display_name": req.get("initial_device_display_name")})
    if not ok:
        raise MatrixError(403, "M_FORBIDDEN", "Invalid username or password")
    device = req.get("device_id") or rand_id(10, string.ascii_uppercase)
    token = "syt_%s_%s_%s" % (base64.b64encode(localpart(user).encode()).decode().rstrip("="),
                              rand_id(20), rand_id(6, string.ascii_letters + string.digits))
    hs.tokens[token] = {"user_id": user, "device_id": device, "valid": True}
    hs.logins[-1].update(access_token=token, device_id=device)
    return {"user_id": user, "access_token": token, "device_id": device,
            "home_server": hs.server_name}


def h_logout(hs, auth, args, q, body, path):
    hs.tokens[auth[2]]["valid"] = False
    return {}


def h_whoami(hs, auth, args, q, body, path):
    return {"user_id": auth[0], "device_id": auth[1], "is_guest": False}


def h_sync(hs, auth, args, q, body, path):
    since = q.get("since")
    since_pos = None
    if since:
        m = re.fullmatch(r"s(\d+)", since)
        if not m:
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid since token")
        since_pos = min(int(m.group(1)), hs.pos)
    try:
        timeout = max(0, int(q.get("timeout") or 0))
    except ValueError:
        raise MatrixError(400, "M_INVALID_PARAM", "timeout must be an integer")
    flt = hs.resolve_filter(auth[0], q.get("filter"))
    full_state = q.get("full_state") == "true"
    return hs.sync(auth[0], auth[1], since_pos, timeout, flt, full_state)


def h_filter_post(hs, auth, args, q, body, path):
    require_self(auth, args[0], "create filters")
    fid = str(1 + sum(1 for (u, _) in hs.filters if u == auth[0]))
    hs.filters[(auth[0], fid)] = body_obj(body)
    return {"filter_id": fid}


def h_filter_get(hs, auth, args, q, body, path):
    require_self(auth, args[0], "get filters")
    if (auth[0], args[1]) not in hs.filters:
        raise MatrixError(404, "M_NOT_FOUND", "No such filter")
    return hs.filters[(auth[0], args[1])]


def h_account_data_get(hs, auth, args, q, body, path):
    require_self(auth, args[0], "get account data")
    item = hs.account_data.get(auth[0], {}).get(args[1])
    if item is None:
        raise MatrixError(404, "M_NOT_FOUND", "Account data not found")
    return item[0]


def h_account_data_put(hs, auth, args, q, body, path):
    require_self(auth, args[0], "add account data")
    hs.account_data.setdefault(auth[0], {})[args[1]] = (body_obj(body), hs._bump())
    hs.cond.notify_all()
    return {}


def h_join(hs, auth, args, q, body, path):
    return {"room_id": hs.join(auth[0], args[0], path)}


def h_leave(hs, auth, args, q, body, path):
    room_id = args[0]
    if room_id not in hs.rooms:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown room")
    if hs.membership(room_id, auth[0]) in ("join", "invite"):
        hs._member(room_id, auth[0], auth[0], "leave")
    return {}


def h_invite(hs, auth, args, q, body, path):
    req = body_obj(body)
    if not valid_user_id(req.get("user_id")):
        raise MatrixError(400, "M_INVALID_PARAM", "Invalid user_id")
    hs.invite(args[0], auth[0], req["user_id"])
    return {}


def h_send(hs, auth, args, q, body, path):
    room_id, etype, txn = args
    key = (auth[0], auth[1], path)          # spec: scope is (device, endpoint)
    if key in hs.txns:
        return {"event_id": hs.txns[key]}
    content = body_obj(body)
    require_joined(hs, auth[0], room_id)
    ev = hs._event(room_id, auth[0], etype, content, txn_id=txn, device_id=auth[1])
    hs.txns[key] = ev["event_id"]
    return {"event_id": ev["event_id"]}


def h_create_room(hs, auth, args, q, body, path):
    req = body_obj(body)
    invites = req.get("invite", [])
    if not isinstance(invites, list) or not all(valid_user_id(u) for u in invites):
        raise MatrixError(400, "M_INVALID_PARAM", "invite must be a list of user ids")
    preset = req.get("preset") or ("public_chat" if req.get("visibility") == "public"
                                   else "private_chat")
    alias = None
    if req.get("room_alias_name"):
        alias = "#%s:%s" % (req["room_alias_name"], hs.server_name)
        if alias in hs.aliases:
            raise MatrixError(400, "M_ROOM_IN_USE", "Room alias already taken")
    room_id = hs.new_room(auth[0], preset=preset, name=req.get("name"),
                          topic=req.get("topic"), alias=alias,
                          initial_state=req.get("initial_state", []),
                          power_users=invites if preset == "trusted_private_chat" else ())
    for u in invites:
        hs.invite(room_id, auth[0], u, is_direct=bool(req.get("is_direct")))
    hs.created_rooms.append({"room_id": room_id, "creator": auth[0], "request": req,
                             "time": time.time()})
    return {"room_id": room_id}


def h_joined_rooms(hs, auth, args, q, body, path):
    return {"joined_rooms": [r for r in hs.rooms if hs.membership(r, auth[0]) == "join"]}


def h_joined_members(hs, auth, args, q, body, path):
    require_joined(hs, auth[0], args[0])
    out = {}
    for u in hs.joined(args[0]):
        c = hs.rooms[args[0]]["state"][("m.room.member", u)]["content"]
        out[u] = {k2: c[k1] for k1, k2 in (("displayname", "display_name"),
                                           ("avatar_url", "avatar_url")) if k1 in c}
    return {"joined": out}


def h_state_get(hs, auth, args, q, body, path):
    require_joined(hs, auth[0], args[0])
    state = hs.rooms[args[0]]["state"]
    if len(args) == 1:
        return [hs.client_event(e, auth[0], auth[1]) for e in state.values()]
    ev = state.get((args[1], args[2] if len(args) > 2 else ""))
    if ev is None:
        raise MatrixError(404, "M_NOT_FOUND", "Event not found.")
    return ev["content"]


ROUTES = [  # (method, path after /_matrix/client/, handler, needs auth)
    ("GET", "versions", h_versions, False),
    ("GET", "v3/login", lambda *a: {"flows": [{"type": "m.login.password"}]}, False),
    ("POST", "v3/login", h_login, False),
    ("POST", "v3/logout", h_logout, True),
    ("GET", "v3/account/whoami", h_whoami, True),
    ("GET", "v3/sync", h_sync, True),
    ("POST", "v3/user/{}/filter", h_filter_post, True),
    ("GET", "v3/user/{}/filter/{}", h_filter_get, True),
    ("GET", "v3/user/{}/account_data/{}", h_account_data_get, True),
    ("PUT", "v3/user/{}/account_data/{}", h_account_data_put, True),
    ("POST", "v3/join/{}", h_join, True),
    ("POST", "v3/rooms/{}/join", h_join, True),
    ("POST", "v3/rooms/{}/leave", h_leave, True),
    ("POST", "v3/rooms/{}/invite", h_invite, True),
    ("PUT", "v3/rooms/{}/send/{}/{}", h_send, True),
    ("POST", "v3/createRoom", h_create_room, True),
    ("GET", "v3/joined_rooms", h_joined_rooms, True),
    ("GET", "v3/rooms/{}/joined_members", h_joined_members, True),
    ("GET", "v3/rooms/{}/state", h_state_get, True),
    ("GET", "v3/rooms/{}/state/{}", h_state_get, True),
    ("GET", "v3/rooms/{}/state/{}/{}", h_state_get, True),
    ("PUT", "v3/rooms/{}/typing/{}", lambda *a: {}, True),
    ("POST", "v3/rooms/{}/receipt/{}/{}", lambda *a: {}, True),
    ("POST", "v3/rooms/{}/read_markers", lambda *a: {}, True),
]


def route(method, segs):
    """segs: decoded path segments after /_matrix/client/. -> (handler, auth, args)"""
    if segs and segs[0] == "r0":
        segs = ["v3"] + segs[1:]
    path_known = False
    for m, pattern, handler, needs_auth in ROUTES:
        pat = pattern.split("/")
        if len(pat) != len(segs) or any(p != "{}" and p != s for p, s in zip(pat, segs)):
            continue
        path_known = True
        if m == method:
            return handler, needs_auth, [s for p, s in zip(pat, segs) if p == "{}"]
    if path_known:
        raise MatrixError(405, "M_UNRECOGNIZED", "Unrecognized request")
    raise MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request")


# ==== Control API =========================================================

def c_users(hs, q, req):
    items = req if isinstance(req, list) else [req]
    for u in items:
        if not valid_user_id(u.get("user_id")):
            raise MatrixError(400, "M_INVALID_PARAM", "bad user_id")
        hs.users[u["user_id"]] = u.get("password", "password")
    return {"registered": [u["user_id"] for u in items]}


def c_room(hs, q, req):
    creator = req["creator"]
    room_id = hs.new_room(creator, preset=req.get("preset", "private_chat"),
                          name=req.get("name"), topic=req.get("topic"),
                          encrypted=bool(req.get("encrypted")), room_id=req.get("room_id"),
                          alias=req.get("alias"))
    for u in req.get("members", []):
        if u != creator:
            hs._member(room_id, u, u, "join")
    return {"room_id": room_id}


def c_invite(hs, q, req):
    sender, invitee = req["sender"], req.get("invitee", hs.bot_user)
    room_id = req.get("room_id")
    if not room_id or room_id not in hs.rooms:
        room_id = hs.new_room(sender, preset=req.get("preset", "trusted_private_chat"),
                              name=req.get("name"), encrypted=bool(req.get("encrypted")),
                              room_id=room_id)
    ev = hs.invite(room_id, sender, invitee, is_direct=bool(req.get("is_direct")))
    return {"room_id": room_id, "event_id": ev["event_id"]}


def c_send(hs, q, req):
    room_id, sender = req["room_id"], req["sender"]
    if room_id not in hs.rooms:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown room %s" % room_id)
    require_joined(hs, sender, room_id)
    content = req.get("content")
    if content is None:
        content = {"msgtype": req.get("msgtype", "m.text"), "body": req.get("body", "")}
        if req.get("formatted_body") is not None:
            content.update(format="org.matrix.custom.html",
                           formatted_body=req["formatted_body"])
        if req.get("in_reply_to"):
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": req["in_reply_to"]}}
    ev = hs._event(room_id, sender, req.get("type", "m.room.message"), content)
    return {"event_id": ev["event_id"]}


def c_membership(hs, q, req):
    room_id, user = req["room_id"], req["user_id"]
    if room_id not in hs.rooms:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown room %s" % room_id)
    ev = hs._member(room_id, req.get("sender", user), user, req["membership"])
    return {"event_id": ev["event_id"]}


def c_rule(target, defaults):
    def handler(hs, q, req):
        if "path_contains" not in req:
            raise MatrixError(400, "M_BAD_JSON", "path_contains is required")
        rule = dict(defaults, **req)
        rule["count"] = int(rule["count"])
        getattr(hs, target).append(rule)
        return {}
    return handler


def c_revoke(hs, q, req):
    if req["token"] not in hs.tokens:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown token")
    hs.tokens[req["token"]]["valid"] = False
    return {}


def c_config(hs, q, req):
    if "auto_accept_invites" in req:
        hs.auto_accept = bool(req["auto_accept_invites"])
    if "max_sync_timeout_ms" in req:
        hs.max_sync_ms = int(req["max_sync_timeout_ms"])
    return {"auto_accept_invites": hs.auto_accept, "max_sync_timeout_ms": hs.max_sync_ms}


def c_wait(hs, q, req):
    room_id, sender = q.get("room_id"), q.get("sender")
    count, etype = int(q.get("count", 1)), q.get("type", "m.room.message")
    deadline = time.monotonic() + float(q.get("timeout", 5))

    def found():
        return [{k: v for k, v in e.items() if k != "unsigned"}
                for e in hs.rooms.get(room_id, {"events": []})["events"]
                if (not sender or e["sender"] == sender) and etype in ("*", e["type"])]
    while len(found()) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MatrixError(408, "M_TIMEOUT", "Timed out waiting for events",
                              events=found())
        hs.cond.wait(remaining)
    return {"events": found()}


CONTROL = {
    ("POST", "users"): c_users, ("POST", "room"): c_room, ("POST", "invite"): c_invite,
    ("POST", "send"): c_send, ("POST", "membership"): c_membership,
    ("POST", "ratelimit"): c_rule("ratelimits", {"count": 1, "retry_after_ms": 1000,
                                                 "header": False}),
    ("POST", "fail"): c_rule("failures", {"count": 1, "status": 502}),
    ("POST", "revoke_token"): c_revoke, ("POST", "config"): c_config,
    ("POST", "reset"): lambda hs, q, req: hs.reset() or {},
    ("GET", "state"): lambda hs, q, req: hs.snapshot(), ("GET", "wait"): c_wait,
}


# ==== HTTP plumbing =======================================================

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MatrixFake/1.0"

    def dispatch(self):
        hs, method = self.server.hs, self.command
        url = urlsplit(self.path)
        segs = [unquote(s) for s in url.path.split("/")[1:]]
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self.read_body()
        rec = {"method": method, "path": url.path, "time": time.time(), "status": None,
               "user_id": None, "device_id": None, "errcode": None, "duration": None}
        if url.path.endswith("/sync"):
            rec.update(since=q.get("since"), timeout=q.get("timeout"), filter=q.get("filter"))
        headers, status = {}, 200
        try:
            if segs[:1] == ["_control"]:
                result = self.control(hs, method, segs[1:], q, body)
            elif url.path == "/.well-known/matrix/client":
                host = "http://%s:%d" % self.server.server_address[:2]
                result = {"m.homeserver": {"base_url": host}}
            elif segs[:2] == ["_matrix", "client"]:
                with hs.lock:
                    hs.requests.append(rec)
                hs.inject(method, url.path)
                handler, needs_auth, args = route(method, segs[2:])
                auth = None
                token = self.bearer() or q.get("access_token")
                if needs_auth:
                    auth = hs.authenticate(token) + (token,)
                    with hs.lock:
                        rec["user_id"], rec["device_id"] = auth[0], auth[1]
                endpoint = "/".join(["v3"] + segs[3:])      # r0 and v3 are one endpoint
                with hs.lock:
                    result = handler(hs, auth, args, q, body, endpoint)
            else:
                raise MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request")
            data = json.dumps(result).encode()
        except MatrixError as e:
            status, headers = e.status, e.headers
            data = e.raw.encode() if e.raw is not None else json.dumps(e.body).encode()
            rec["errcode"] = e.body["errcode"]
        except Exception as e:        # a bug in the fake: make it loud, not silent
            import traceback
            traceback.print_exc()
            status, rec["errcode"] = 500, "M_UNKNOWN"
            data = json.dumps({"errcode": "M_UNKNOWN", "error": "Internal error: %r" % e}).encode()
        with hs.lock:
            rec["status"], rec["duration"] = status, time.time() - rec["time"]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def control(self, hs, method, segs, q, body):
        fn = CONTROL.get((method, "/".join(segs)))
        if not fn:
            raise MatrixError(404, "M_UNRECOGNIZED", "Unknown control endpoint")
        try:
            req = json.loads(body) if body.strip() else {}
            with hs.lock:
                return fn(hs, q, req)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise MatrixError(400, "M_BAD_JSON", "Bad control request: %r" % e)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass                                # skip trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    do_GET = do_POST = do_PUT = do_DELETE = dispatch

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("matrix_fake: %s\n" % (fmt % args))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--server-name", default="example.org")
    ap.add_argument("--bot-user", default=None, help="default @isms:<server-name>")
    ap.add_argument("--bot-password", default="secret")
    ap.add_argument("--bot-token", default="syt_TEST")
    ap.add_argument("--max-sync-timeout-ms", type=int, default=30000)
    ap.add_argument("--no-auto-accept", action="store_true",
                    help="invitees of createRoom/invite do not auto-join")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    hs = Homeserver(a.server_name, a.bot_user or "@isms:%s" % a.server_name,
                    a.bot_password, a.bot_token, a.max_sync_timeout_ms,
                    auto_accept=not a.no_auto_accept)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.hs, server.verbose = hs, a.verbose

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
