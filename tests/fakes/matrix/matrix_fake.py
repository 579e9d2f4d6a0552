#!/usr/bin/python3
"""A small, protocol-faithful fake Matrix homeserver for integration tests.

It speaks the subset of the Client-Server API v3 that a bot needs (login,
/sync long-poll, join/leave, send with transaction ids, createRoom, m.direct
account data, filters), the end-to-end encryption endpoints (device and
one-time keys, to-device messages, device list tracking) that an E2EE client
such as matrix-js-sdk needs, and a JSON control API under /_control/ that
lets tests act as the human side, inject faults and inspect what happened.

Standard library plus python3-cryptography (ed25519 signature checks).
See README.md next to this file.
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

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:                      # pragma: no cover - a setup error
    sys.exit("matrix_fake: python3-cryptography is needed (scripts/deps.sh test)")

SPEC_VERSIONS = ["r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6",
                 "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"]
DEFAULT_TIMELINE_LIMIT = 10          # Synapse's default when no filter is given
TO_DEVICE_LIMIT = 100               # to-device events per /sync, as in Synapse
STRIPPED_INVITE_STATE = ("m.room.create", "m.room.join_rules", "m.room.name",
                         "m.room.encryption", "m.room.canonical_alias",
                         "m.room.avatar", "m.room.topic")


class MatrixError(Exception):
    def __init__(self, status, errcode, error, headers=None, raw=None, **extra):
        super().__init__(error)
        self.status, self.headers, self.raw = status, headers or {}, raw
        self.body = {"errcode": errcode, "error": error, **extra}


def new_device(display_name=None):
    return {"display_name": display_name, "keys": None, "created": time.time()}


def now_ms():
    return int(time.time() * 1000)


def rand_id(n, alphabet=string.ascii_letters):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def localpart(user_id):
    return user_id[1:].split(":", 1)[0]


def valid_user_id(u):
    return isinstance(u, str) and re.fullmatch(r"@[^:\s]+:[^\s]+", u) is not None


def unb64(s):
    """Unpadded (or padded) standard base64 -> bytes; ValueError otherwise."""
    if not isinstance(s, str) or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", s):
        raise ValueError("not base64")
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)


def canonical_json(obj):
    """Matrix canonical JSON: sorted keys, no whitespace, UTF-8, no floats."""
    def check(v):
        if isinstance(v, float):
            raise ValueError("floats are not allowed in canonical JSON")
        if isinstance(v, dict):
            for x in v.values():
                check(x)
        elif isinstance(v, list):
            for x in v:
                check(x)
    check(obj)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


def verify_signed(obj, user_id, key_id, ed25519_b64):
    """True when obj carries a valid signature by user_id's key_id over its
    canonical JSON without "signatures" and "unsigned" (spec: signing JSON)."""
    sigs = obj.get("signatures")
    sig = sigs.get(user_id, {}).get(key_id) if isinstance(sigs, dict) else None
    if not isinstance(sig, str) or not isinstance(sigs.get(user_id), dict):
        return False
    signed = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    try:
        Ed25519PublicKey.from_public_bytes(unb64(ed25519_b64)).verify(
            unb64(sig), canonical_json(signed))
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


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
            self.encrypt_new_rooms = False
            # end-to-end encryption
            self.devices = {self.bot_user: {"FAKEBOTDEVICE": new_device()}}
            self.otks = {}                   # (user, device) -> {"alg:id": key}, oldest first
            self.fallbacks = {}              # (user, device) -> {alg: {key_id, key, used}}
            self.device_changes = []         # [(pos, user)]: a device or its keys changed
            self.inbox = {}                  # (user, device) -> [{"pos", "event"}]
            self.to_device_log, self.claims, self.key_uploads = [], [], []
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

    def members_at(self, room_id, at=None):
        """{user: membership} of room_id at stream position at (None: now)."""
        if at is None:
            return {sk: ev["content"]["membership"]
                    for (t, sk), ev in self.rooms[room_id]["state"].items() if t == "m.room.member"}
        out = {}
        for ev in self.rooms[room_id]["events"]:
            if ev["pos"] > at:
                break
            if ev["type"] == "m.room.member":
                out[ev["state_key"]] = ev["content"]["membership"]
        return out

    def shared_users(self, user, at=None):
        """Users who are joined to or invited into a room that user is joined to
        (at stream position at, None: now); user itself is left out."""
        out = set()
        for room_id in self.rooms:
            members = self.members_at(room_id, at)
            if members.get(user) == "join":
                out.update(u for u, m in members.items() if m in ("join", "invite"))
        out.discard(user)
        return out

    def device_lists(self, user, since):
        """(changed, left) since stream position since, as /sync device_lists
        and /keys/changes report them: users sharing a room whose devices or
        keys changed (and user itself), users who newly share a room, and
        users who no longer share any."""
        now, then = self.shared_users(user), self.shared_users(user, since)
        changed = {u for p, u in self.device_changes
                   if p > since and (u in now or u == user)}
        changed |= now - then
        return sorted(changed), sorted(then - now)

    def device_changed(self, user):
        self.device_changes.append((self._bump(), user))
        self.cond.notify_all()

    def add_device(self, user, device_id, display_name=None):
        devs = self.devices.setdefault(user, {})
        if device_id not in devs:
            devs[device_id] = new_device(display_name)
            self.device_changed(user)

    def delete_device(self, user, device_id):
        if self.devices.get(user, {}).pop(device_id, None) is not None:
            for store in (self.otks, self.fallbacks, self.inbox):
                store.pop((user, device_id), None)
            for info in self.tokens.values():
                if info["user_id"] == user and info["device_id"] == device_id:
                    info["valid"] = False
            self.device_changed(user)

    def otk_counts(self, user, device):
        counts = {"signed_curve25519": 0}          # always there, as in Synapse
        for kid in self.otks.get((user, device), {}):
            alg = kid.split(":", 1)[0]
            counts[alg] = counts.get(alg, 0) + 1
        return counts

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

    def _sync_once(self, user, device, since, flt, full_state, since_td=None):
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
        # to-device: what the device acknowledged by syncing with a later
        # since is deleted; the rest is delivered (at most TO_DEVICE_LIMIT)
        box = self.inbox.get((user, device), [])
        acked = since_td if since_td is not None else since
        if acked is not None:
            box[:] = [m for m in box if m["pos"] > acked]
        batch = box[:TO_DEVICE_LIMIT]
        if len(box) > len(batch):
            resp = {"next_batch": "s%d_%d" % (self.pos, batch[-1]["pos"])}
        else:
            resp = {"next_batch": "s%d" % self.pos}
        rooms = {k: v for k, v in (("join", join), ("invite", invite), ("leave", leave)) if v}
        if rooms:
            resp["rooms"] = rooms
        if acct:
            resp["account_data"] = {"events": acct}
        if batch:
            resp["to_device"] = {"events": [json.loads(json.dumps(m["event"])) for m in batch]}
        dl = {}
        if since is not None:
            changed, left = self.device_lists(user, since)
            dl = {k: v for k, v in (("changed", changed), ("left", left)) if v}
            if dl:
                resp["device_lists"] = dl
        # Synapse always sends these two (element-android relies on it)
        resp["device_one_time_keys_count"] = self.otk_counts(user, device)
        resp["device_unused_fallback_key_types"] = sorted(
            alg for alg, fb in self.fallbacks.get((user, device), {}).items() if not fb["used"])
        return resp, bool(rooms or acct or batch or dl)

    def sync(self, user, device, since, timeout_ms, flt, full_state, since_td=None):
        deadline = time.monotonic() + min(timeout_ms, self.max_sync_ms) / 1000.0
        with self.lock:
            while True:
                resp, nonempty = self._sync_once(user, device, since, flt, full_state,
                                                 since_td)
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
                "tokens": {t: dict(i) for t, i in self.tokens.items()},
                "devices": self.devices,
                "one_time_keys": {"%s|%s" % k: list(v) for k, v in self.otks.items()},
                "fallback_keys": {"%s|%s" % k: v for k, v in self.fallbacks.items()},
                "to_device": self.to_device_log,
                "to_device_pending": {"%s|%s" % k: [m["pos"] for m in v]
                                      for k, v in self.inbox.items() if v},
                "claims": self.claims, "key_uploads": self.key_uploads,
                "device_changes": self.device_changes}))


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
    hs.add_device(user, device, req.get("initial_device_display_name"))
    return {"user_id": user, "access_token": token, "device_id": device,
            "home_server": hs.server_name}


def h_logout(hs, auth, args, q, body, path):
    hs.tokens[auth[2]]["valid"] = False
    hs.delete_device(auth[0], auth[1])       # as Synapse: the device goes with it
    return {}


def h_whoami(hs, auth, args, q, body, path):
    return {"user_id": auth[0], "device_id": auth[1], "is_guest": False}


def parse_token(hs, token, name="since"):
    """A stream token "sPOS" or "sPOS_TD" (TD: the last to-device message
    delivered when more were waiting) -> (pos, td)."""
    m = re.fullmatch(r"s(\d+)(?:_(\d+))?", token or "")
    if not m:
        raise MatrixError(400, "M_INVALID_PARAM", "Invalid %s token" % name)
    pos = min(int(m.group(1)), hs.pos)
    return pos, (min(int(m.group(2)), pos) if m.group(2) else pos)


def h_sync(hs, auth, args, q, body, path):
    since = q.get("since")
    since_pos = since_td = None
    if since:
        since_pos, since_td = parse_token(hs, since)
    try:
        timeout = max(0, int(q.get("timeout") or 0))
    except ValueError:
        raise MatrixError(400, "M_INVALID_PARAM", "timeout must be an integer")
    flt = hs.resolve_filter(auth[0], q.get("filter"))
    full_state = q.get("full_state") == "true"
    return hs.sync(auth[0], auth[1], since_pos, timeout, flt, full_state, since_td)


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
    initial_state = req.get("initial_state", [])
    # Synapse's encryption_enabled_by_default_for_room_type: the server
    # adds m.room.encryption to every room it creates without one
    if hs.encrypt_new_rooms and not any(
            isinstance(e, dict) and e.get("type") == "m.room.encryption"
            for e in initial_state):
        initial_state = list(initial_state) + [{
            "type": "m.room.encryption", "state_key": "",
            "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
    room_id = hs.new_room(auth[0], preset=preset, name=req.get("name"),
                          topic=req.get("topic"), alias=alias,
                          initial_state=initial_state,
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


# ---- end-to-end encryption ------------------------------------------------

def bad_json(msg):
    return MatrixError(400, "M_BAD_JSON", msg)


def is_str_map(v, depth=1):
    """A JSON object of strings (depth 1) or of such objects (depth 2)."""
    return isinstance(v, dict) and all(
        isinstance(k, str) and (isinstance(x, str) if depth == 1 else is_str_map(x, depth - 1))
        for k, x in v.items())


def check_device_keys(dk, user, device):
    """-> the ed25519 key of valid device_keys, else MatrixError (like Synapse,
    plus the self-signature check Synapse leaves to clients)."""
    if not isinstance(dk, dict):
        raise bad_json("device_keys must be an object")
    if not (isinstance(dk.get("user_id"), str) and isinstance(dk.get("device_id"), str)
            and isinstance(dk.get("algorithms"), list)
            and all(isinstance(a, str) for a in dk["algorithms"])
            and is_str_map(dk.get("keys")) and is_str_map(dk.get("signatures"), 2)):
        raise bad_json("device_keys needs user_id, device_id, algorithms, keys and signatures")
    if dk["user_id"] != user:
        raise bad_json("Provided `user_id` in `device_keys` does not match that of the "
                       "authenticated user")
    if dk["device_id"] != device:
        raise bad_json("Provided `device_id` in `device_keys` does not match that of the "
                       "authenticated user device")
    ed, cu = dk["keys"].get("ed25519:" + device), dk["keys"].get("curve25519:" + device)
    for name, k in (("ed25519", ed), ("curve25519", cu)):
        try:
            if len(unb64(k)) != 32:
                raise ValueError
        except ValueError:
            raise bad_json("device_keys.keys needs a 32-byte %s:%s" % (name, device))
    if not verify_signed(dk, user, "ed25519:" + device, ed):
        raise MatrixError(400, "M_INVALID_SIGNATURE",
                          "Invalid signature on device_keys of %s" % device)
    return ed


def check_key_map(keys, field, user, device, ed):
    """one_time_keys / fallback_keys: {"alg:id": "key" | {key, signatures,
    fallback?}}; signed_* keys must carry the device's signature."""
    if keys is None:
        return {}
    if not isinstance(keys, dict):
        raise bad_json("%s must be an object" % field)
    seen_algs = set()
    for kid, key in keys.items():
        parts = kid.split(":")
        if len(parts) != 2 or not all(parts):
            raise bad_json('Invalid %s key %r. Expected "<algorithm>:<key_id>".' % (field, kid))
        alg = parts[0]
        if field == "fallback_keys":
            if alg in seen_algs:
                raise MatrixError(400, "M_INVALID_PARAM",
                                  "At most one fallback key per algorithm")
            seen_algs.add(alg)
        if isinstance(key, str):
            if alg.startswith("signed_"):
                raise bad_json("%s %s must be a signed key object" % (field, kid))
            continue
        if not (isinstance(key, dict) and isinstance(key.get("key"), str)
                and is_str_map(key.get("signatures"), 2)
                and isinstance(key.get("fallback", False), bool)):
            raise bad_json("%s %s needs key and signatures" % (field, kid))
        if alg.startswith("signed_"):
            if ed is None:
                raise MatrixError(400, "M_INVALID_SIGNATURE",
                                  "%s %s: the device has no keys to check it against"
                                  % (field, kid))
            if not verify_signed(key, user, "ed25519:" + device, ed):
                raise MatrixError(400, "M_INVALID_SIGNATURE",
                                  "Invalid signature on %s %s" % (field, kid))
    return keys


def otks_match(old, new):
    """Synapse's rule: the same key again (signatures aside) is a retry."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return old == new
    strip = lambda k: {a: b for a, b in k.items() if a != "signatures"}
    return strip(old) == strip(new)


def h_keys_upload(hs, auth, args, q, body, path):
    req = body_obj(body)
    user, device = auth[0], auth[1]
    dev = hs.devices.get(user, {}).get(device)
    if dev is None:
        raise MatrixError(400, "M_UNKNOWN", "Unknown device %s" % device)
    # check everything first: a refused upload changes nothing
    ed = None
    if "device_keys" in req:
        ed = check_device_keys(req["device_keys"], user, device)
    elif dev["keys"]:
        ed = dev["keys"]["keys"].get("ed25519:" + device)
    otks = check_key_map(req.get("one_time_keys"), "one_time_keys", user, device, ed)
    fallbacks = check_key_map(req.get("fallback_keys"), "fallback_keys", user, device, ed)
    mine = hs.otks.get((user, device), {})
    for kid, key in otks.items():
        if kid in mine and not otks_match(mine[kid], key):
            # Synapse: SynapseError(400, ...) without an errcode, so M_UNKNOWN
            raise MatrixError(400, "M_UNKNOWN", "One time key %s already exists." % kid)
    if "device_keys" in req:
        new = json.loads(json.dumps(req["device_keys"]))
        if dev["keys"] != new:
            dev["keys"] = new
            hs.device_changed(user)
    mine = hs.otks.setdefault((user, device), {})
    added = [kid for kid in otks if kid not in mine]
    for kid in added:
        mine[kid] = json.loads(json.dumps(otks[kid]))
    fb = hs.fallbacks.setdefault((user, device), {})
    for kid, key in fallbacks.items():
        alg = kid.split(":")[0]
        old = fb.get(alg)
        if not (old and old["key_id"] == kid and old["key"] == key):
            fb[alg] = {"key_id": kid, "key": json.loads(json.dumps(key)), "used": False}
    hs.key_uploads.append({"user_id": user, "device_id": device, "time": time.time(),
                           "device_keys": "device_keys" in req, "one_time_keys": added,
                           "fallback_keys": list(fallbacks)})
    return {"one_time_key_counts": hs.otk_counts(user, device)}


def h_keys_query(hs, auth, args, q, body, path):
    req = body_obj(body)
    wanted = req.get("device_keys")
    if not isinstance(wanted, dict):
        raise bad_json("'device_keys' must be a JSON object")
    if not all(isinstance(v, list) and all(isinstance(d, str) for d in v)
               for v in wanted.values()):
        raise bad_json("'device_keys' values must be a list of strings")
    out = {}
    for user, devs in wanted.items():
        if not valid_user_id(user):
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid user ID: %s" % user)
        found = {}
        for d, info in hs.devices.get(user, {}).items():
            if info["keys"] is None or (devs and d not in devs):
                continue
            keys = json.loads(json.dumps(info["keys"]))
            if info["display_name"]:
                keys["unsigned"] = {"device_display_name": info["display_name"]}
            found[d] = keys
        out[user] = found
    # no cross-signing keys are kept: /keys/device_signing/upload is unknown
    return {"device_keys": out, "failures": {}, "master_keys": {},
            "self_signing_keys": {}, "user_signing_keys": {}}


def h_keys_claim(hs, auth, args, q, body, path):
    req = body_obj(body)
    wanted = req.get("one_time_keys")
    if not is_str_map(wanted, 2):
        raise bad_json("one_time_keys must map user ids to {device id: algorithm}")
    out = {}
    for user, devs in wanted.items():
        for device, alg in devs.items():
            keys = hs.otks.get((user, device), {})
            kid = next((k for k in keys if k.split(":")[0] == alg), None)   # oldest first
            fallback = False
            if kid is not None:
                key = keys.pop(kid)
            else:
                fb = hs.fallbacks.get((user, device), {}).get(alg)
                if fb is None:
                    continue
                fb["used"], fallback = True, True
                kid, key = fb["key_id"], fb["key"]
            out.setdefault(user, {})[device] = {kid: key}
            hs.claims.append({"by": auth[0], "by_device": auth[1], "user_id": user,
                              "device_id": device, "key_id": kid, "fallback": fallback,
                              "time": time.time()})
    return {"one_time_keys": out, "failures": {}}


def h_keys_changes(hs, auth, args, q, body, path):
    if not q.get("from"):
        raise MatrixError(400, "M_MISSING_PARAM", "Missing string query parameter 'from'")
    since, _ = parse_token(hs, q["from"], "from")
    changed, left = hs.device_lists(auth[0], since)
    return {"changed": changed, "left": left}


def h_send_to_device(hs, auth, args, q, body, path):
    etype, txn = args
    key = (auth[0], auth[1], path)          # spec: scope is (device, endpoint)
    if key in hs.txns:
        return {}
    req = body_obj(body)
    msgs = req.get("messages")
    if not (isinstance(msgs, dict) and all(
            isinstance(devs, dict) and all(isinstance(c, dict) for c in devs.values())
            for devs in msgs.values())):
        raise bad_json("messages must map user ids to {device id: content}")
    for user in msgs:
        if not valid_user_id(user):
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid user ID: %s" % user)
    for user, devs in msgs.items():
        known = hs.devices.get(user, {})
        for device, content in devs.items():
            targets = list(known) if device == "*" else [device] if device in known else []
            for t in targets:
                ev = {"type": etype, "sender": auth[0], "content": json.loads(json.dumps(content))}
                pos = hs._bump()
                hs.inbox.setdefault((user, t), []).append({"pos": pos, "event": ev})
                hs.to_device_log.append({"pos": pos, "type": etype, "sender": auth[0],
                                         "sender_device": auth[1], "user_id": user,
                                         "device_id": t, "txn_id": txn, "content": ev["content"],
                                         "time": time.time()})
    hs.txns[key] = True
    hs.cond.notify_all()
    return {}


def h_members(hs, auth, args, q, body, path):
    room_id = args[0]
    if room_id not in hs.rooms:
        raise MatrixError(403, "M_FORBIDDEN", "User %s not in room %s" % (auth[0], room_id))
    at = parse_token(hs, q["at"], "at")[0] if q.get("at") else None
    if hs.membership(room_id, auth[0]) not in ("join", "leave", "ban"):
        raise MatrixError(403, "M_FORBIDDEN", "User %s not in room %s" % (auth[0], room_id))
    chunk = []
    evs = hs.rooms[room_id]["events"]
    latest = {}
    for ev in evs:
        if ev["type"] == "m.room.member" and (at is None or ev["pos"] <= at):
            latest[ev["state_key"]] = ev
    for ev in latest.values():
        m = ev["content"].get("membership")
        if q.get("membership") and m != q["membership"]:
            continue
        if q.get("not_membership") and m == q["not_membership"]:
            continue
        chunk.append(hs.client_event(ev, auth[0], auth[1]))
    return {"chunk": chunk}


def h_room_keys_version(hs, auth, args, q, body, path):
    raise MatrixError(404, "M_NOT_FOUND", "No current backup version")


def h_pushrules(hs, auth, args, q, body, path):
    return {"global": {"override": [], "content": [], "room": [], "sender": [],
                       "underride": []}}


def h_capabilities(hs, auth, args, q, body, path):
    return {"capabilities": {
        "m.change_password": {"enabled": False},
        "m.room_versions": {"default": "10", "available": {
            v: "stable" for v in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")}},
        "m.set_displayname": {"enabled": False}, "m.set_avatar_url": {"enabled": False},
        "m.3pid_changes": {"enabled": False}}}


def h_profile(hs, auth, args, q, body, path):
    user = args[0]
    if user not in hs.users and user not in hs.devices:
        raise MatrixError(404, "M_NOT_FOUND", "Profile was not found")
    prof = {"displayname": localpart(user)}
    if len(args) > 1:
        if args[1] != "displayname":
            raise MatrixError(404, "M_NOT_FOUND", "Profile field was not found")
        return {"displayname": prof["displayname"]}
    return prof


def h_devices(hs, auth, args, q, body, path):
    devs = hs.devices.get(auth[0], {})
    out = [{"device_id": d, "display_name": i["display_name"], "last_seen_ts": None}
           for d, i in devs.items()]
    if args:
        for d in out:
            if d["device_id"] == args[0]:
                return d
        raise MatrixError(404, "M_NOT_FOUND", "Device not found")
    return {"devices": out}


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
    ("GET", "v3/rooms/{}/members", h_members, True),
    ("POST", "v3/keys/upload", h_keys_upload, True),
    ("POST", "v3/keys/query", h_keys_query, True),
    ("POST", "v3/keys/claim", h_keys_claim, True),
    ("GET", "v3/keys/changes", h_keys_changes, True),
    ("PUT", "v3/sendToDevice/{}/{}", h_send_to_device, True),
    ("GET", "v3/room_keys/version", h_room_keys_version, True),
    ("GET", "v3/pushrules/", h_pushrules, True),
    ("GET", "v3/capabilities", h_capabilities, True),
    ("GET", "v3/profile/{}", h_profile, False),
    ("GET", "v3/profile/{}/{}", h_profile, False),
    ("GET", "v3/devices", h_devices, True),
    ("GET", "v3/devices/{}", h_devices, True),
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


def c_replay(hs, q, req):
    """Re-injects an existing event's type and content as a new event from
    the same sender (a replayed, e.g. encrypted, message)."""
    room_id = req["room_id"]
    if room_id not in hs.rooms:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown room %s" % room_id)
    orig = next((e for e in hs.rooms[room_id]["events"] if e["event_id"] == req["event_id"]),
                None)
    if orig is None:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown event %s" % req["event_id"])
    if "state_key" in orig:
        raise MatrixError(400, "M_INVALID_PARAM", "Only message events can be replayed")
    require_joined(hs, orig["sender"], room_id)
    ev = hs._event(room_id, orig["sender"], orig["type"],
                   json.loads(json.dumps(orig["content"])))
    return {"event_id": ev["event_id"]}


def c_events(hs, q, req):
    """The raw events of a room as stored (what went over the wire)."""
    room_id = q.get("room_id")
    if room_id not in hs.rooms:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown room %s" % room_id)
    return {"events": [{k: v for k, v in e.items() if k != "unsigned"}
                       for e in hs.rooms[room_id]["events"]
                       if q.get("type", "*") in ("*", e["type"])
                       and q.get("sender") in (None, "", e["sender"])]}


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
    if "encrypt_new_rooms" in req:
        hs.encrypt_new_rooms = bool(req["encrypt_new_rooms"])
    return {"auto_accept_invites": hs.auto_accept, "max_sync_timeout_ms": hs.max_sync_ms,
            "encrypt_new_rooms": hs.encrypt_new_rooms}


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
    ("POST", "replay"): c_replay, ("GET", "events"): c_events,
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
