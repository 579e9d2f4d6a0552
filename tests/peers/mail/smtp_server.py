#!/usr/bin/python3
"""Real SMTP test peer for ismsd integration tests.

An aiosmtpd server that accepts mail on 127.0.0.1 and delivers every message
into the Maildir of each recipient (DIR/mail/<address>/{tmp,new,cur}), which
Dovecot then serves over IMAP (see start.sh).

What it does to each accepted message (in this order, top of the header):
  Return-Path: <envelope sender>
  Delivered-To: <recipient>
  Authentication-Results: <authserv-id>; dkim=<result> header.d=<domain>   (only per policy)
  Received: from <helo> (<peer> [<ip>]) by <hostname> (ismsd-test-peer) with ESMTP[S][A] ...

The DKIM simulation rule (the policy file is re-read for every transaction,
so a test may rewrite it while the server runs):

  1. Authentication-Results headers already in the message whose authserv-id
     equals ours are removed (RFC 8601 section 5), unless
     "strip_forged_authentication_results" is false.  Headers carrying any
     other authserv-id are left untouched.
  2. The "sender domain" is the domain of the header From: address
     ("dkim.domain_source": "header_from", the default) or of the envelope
     MAIL FROM ("envelope").  If the chosen one is missing, the other is used.
  3. If the client authenticated with SMTP AUTH, the result is
     "dkim.authenticated" (default "pass") and header.d is the domain of the
     AUTH login ("dkim.authenticated_d": "auth_user", the default -- like a
     real submission server signing for its own user) or the sender domain
     ("sender").  The special value "authenticated": "domains" means "treat
     like an unauthenticated client".
  4. Otherwise the result is dkim.domains[<sender domain>] (exact match,
     case-insensitive), else dkim.default (default "omit").
  5. A result "omit" (or null) adds no Authentication-Results header; any other
     value (pass, fail, none, neutral, policy, temperror, permerror) adds
     "Authentication-Results: <authserv-id>; dkim=<result> header.d=<domain>".
     A domain rule may be an object {"result": "pass", "d": "other.example"}
     to claim a signature by another (unaligned) domain.

With --opendkim-conf CONF the simulation above is replaced by Debian's
OpenDKIM: every accepted message, with this server's Received: on top as an
MTA hands it to its milters, goes through OpenDKIM's own filter code
(`opendkim -x CONF -t -`, the verifier run on one message) and the header
changes it asks for (its Authentication-Results with the AuthservID of
CONF, or a removal) are applied, Postfix-like, to the delivered copy.  A
failure to run OpenDKIM answers 451.  Rule 1 (stripping our own authserv-id)
still applies when the policy asks for it.

Recipient handling: rules in "reject" are checked first (at RCPT, or at the
end of DATA with "stage": "data" -- such an address passes RCPT even if it
is no user); a rule with "times": N rejects only the first N attempts and
then lets the recipient through.  Then the recipient
must be a user in the users file (address:password lines, Dovecot
passwd-file compatible); otherwise "550 5.1.1 ... User unknown".
"""

import argparse
import asyncio
import email.utils
import json
import mailbox
import os
import re
import signal
import subprocess
import socket
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DEFAULT_POLICY = {
    "authserv_id": "mx.test.example",
    "strip_forged_authentication_results": True,
    "dkim": {
        "authenticated": "pass",
        "authenticated_d": "auth_user",
        "domain_source": "header_from",
        "domains": {},
        "default": "omit",
    },
    "reject": {},
}

AR_RESULTS = {"pass", "fail", "none", "neutral", "policy", "temperror", "permerror"}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def load_json(path, default):
    if not path:
        return default
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return default
    merged = json.loads(json.dumps(default))
    for k, v in data.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k].update(v)
        else:
            merged[k] = v
    return merged


def load_users(path):
    """users file: one 'address:password' per line ('#' comments).  Extra
    ':'-separated fields (Dovecot passwd-file) are ignored."""
    users = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(":")
            addr = parts[0].strip().lower()
            pw = parts[1] if len(parts) > 1 else ""
            if pw.startswith("{PLAIN}"):
                pw = pw[len("{PLAIN}"):]
            users[addr] = pw
    return users


def domain_of(addr):
    if not addr:
        return ""
    _, a = email.utils.parseaddr(addr)
    if "@" not in a:
        return ""
    return a.rsplit("@", 1)[1].strip().strip(">").lower()


def split_message(raw):
    """Return (header_lines, body) with LF line endings; header lines are
    unfolded into logical header entries (list of bytes, each possibly
    multi-line)."""
    raw = raw.replace(b"\r\n", b"\n")
    idx = raw.find(b"\n\n")
    if raw.startswith(b"\n"):
        head, body = b"", raw[1:]
    elif idx < 0:
        head, body = raw, b""
    else:
        head, body = raw[: idx + 1], raw[idx + 2:]
    entries = []
    for line in head.split(b"\n"):
        if line == b"":
            continue
        if line[:1] in (b" ", b"\t") and entries:
            entries[-1] += b"\n" + line
        else:
            entries.append(line)
    return entries, body


def header_value(entries, name):
    lname = name.lower().encode()
    for e in entries:
        k, _, v = e.partition(b":")
        if k.strip().lower() == lname:
            return v.decode("utf-8", "replace").replace("\n", " ").strip()
    return None


class Handler:
    def __init__(self, args):
        self.args = args
        self.reject_counts = {}
        self.seq = 0

    # -- helpers ---------------------------------------------------------
    def policy(self):
        return load_json(self.args.policy, DEFAULT_POLICY)

    def reject_rule(self, policy, addr, stage, consume=True):
        """The reply of an active reject rule for addr at stage, else None.
        consume=False only peeks (does not count against "times")."""
        rules = {k.lower(): v for k, v in (policy.get("reject") or {}).items()}
        rule = rules.get(addr.lower())
        if rule is None:
            return None
        if isinstance(rule, str):
            rule = {"reply": rule}
        if rule.get("stage", "rcpt") != stage:
            return None
        times = rule.get("times")
        key = (addr.lower(), stage)
        if times is not None:
            n = self.reject_counts.get(key, 0)
            if n >= int(times):
                return None
            if consume:
                self.reject_counts[key] = n + 1
        reply = rule.get("reply") or rule.get("code") or "550 5.7.1 Rejected by test policy"
        return str(reply)

    def transcript(self, rec):
        if not self.args.transcript:
            return
        rec["time"] = time.time()
        with open(self.args.transcript, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")

    # -- SMTP hooks ------------------------------------------------------
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        policy = self.policy()
        reply = self.reject_rule(policy, address, "rcpt")
        if reply:
            log("RCPT", address, "->", reply)
            self.transcript({"event": "rcpt_rejected", "rcpt": address, "reply": reply,
                             "mail_from": envelope.mail_from})
            return reply
        users = load_users(self.args.users)
        # An address with an active DATA-stage rule passes RCPT even if it is
        # not a user, so that the rejection really happens at end of DATA.
        if address.lower() not in users and not self.reject_rule(policy, address, "data", consume=False):
            reply = "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
            log("RCPT", address, "->", reply)
            self.transcript({"event": "rcpt_rejected", "rcpt": address, "reply": reply,
                             "mail_from": envelope.mail_from})
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def dkim_header(self, policy, session, envelope, entries):
        dk = policy.get("dkim") or {}
        src = dk.get("domain_source", "header_from")
        hdr_dom = domain_of(header_value(entries, "From") or "")
        env_dom = domain_of(envelope.mail_from or "")
        if src == "envelope":
            dom = env_dom or hdr_dom
        else:
            dom = hdr_dom or env_dom
        result = None
        d = dom
        if session.authenticated and dk.get("authenticated", "pass") != "domains":
            result = dk.get("authenticated", "pass")
            if dk.get("authenticated_d", "auth_user") == "auth_user" and \
                    isinstance(session.auth_data, LoginPassword):
                d = domain_of(session.auth_data.login.decode("utf-8", "replace")) or dom
        else:
            domains = {k.lower(): v for k, v in (dk.get("domains") or {}).items()}
            rule = domains.get(dom, dk.get("default", "omit"))
            if isinstance(rule, dict):
                result = rule.get("result", "omit")
                d = rule.get("d", dom)
            else:
                result = rule
        if result is None or result == "omit" or not d:
            return None, result or "omit", dom
        if result not in AR_RESULTS:
            log("policy: unknown dkim result %r, treating as omit" % result)
            return None, "omit", dom
        authserv = policy.get("authserv_id", "mx.test.example")
        return ("Authentication-Results: %s; dkim=%s header.d=%s" % (authserv, result, d)), result, dom

    async def handle_DATA(self, server, session, envelope):
        policy = self.policy()
        for rcpt in envelope.rcpt_tos:
            reply = self.reject_rule(policy, rcpt, "data")
            if reply:
                log("DATA", rcpt, "->", reply)
                self.transcript({"event": "data_rejected", "rcpt": rcpt, "reply": reply,
                                 "mail_from": envelope.mail_from})
                return reply

        entries, body = split_message(envelope.original_content or b"")
        authserv = policy.get("authserv_id", "mx.test.example")
        if policy.get("strip_forged_authentication_results", True):
            kept = []
            for e in entries:
                k, _, v = e.partition(b":")
                if k.strip().lower() == b"authentication-results":
                    sid = v.decode("utf-8", "replace").strip().split(";", 1)[0].strip()
                    sid = sid.split()[0] if sid else ""
                    if sid.lower() == authserv.lower():
                        log("stripped forged", e[:80])
                        continue
                kept.append(e)
            entries = kept
        if self.args.opendkim_conf:
            ar, dom = None, domain_of(header_value(entries, "From") or "")
        else:
            ar, dkim_result, dom = self.dkim_header(policy, session, envelope, entries)

        self.seq += 1
        qid = "%X%04X" % (int(time.time()), self.seq)
        tls = session.ssl is not None
        auth = bool(session.authenticated)
        proto = "ESMTP" if session.extended_smtp else "SMTP"
        if tls:
            proto += "S"
        if auth:
            proto += "A"
        peer_ip = session.peer[0] if session.peer else "unknown"
        helo = session.host_name or "unknown"
        auth_user = None
        if auth and isinstance(session.auth_data, LoginPassword):
            auth_user = session.auth_data.login.decode("utf-8", "replace")
        now = email.utils.formatdate(localtime=True)
        msgid = header_value(entries, "Message-ID")

        using = ""
        if tls:
            sslobj = session.ssl.get("ssl_object") if isinstance(session.ssl, dict) else None
            using = "\n\t(using %s)" % (sslobj.version() if sslobj else "TLS")
        ops = []
        if self.args.opendkim_conf:
            received = ("Received: from %s (localhost [%s])%s\n\tby %s (ismsd-test-peer) with %s id %s;"
                        " %s" % (helo, peer_ip, using, self.args.hostname, proto, qid, now))
            try:
                ops, summary = opendkim_filter(self.args.opendkim_conf,
                                               [received.encode()] + entries, body)
            except RuntimeError as e:
                log("DATA opendkim:", e)
                self.transcript({"event": "data_rejected", "reply": "451 " + str(e),
                                 "mail_from": envelope.mail_from})
                return "451 4.7.5 DKIM verification unavailable (test: %s)" % str(e)[:200]
            log("opendkim:", summary)
            ars = [v for op, _, n, v in ops if n.lower() == "authentication-results" and v]
            m = re.search(r"\bdkim=(\w+)", ars[0]) if ars else None
            dkim_result = m.group(1) if m else "omit"

        for rcpt in envelope.rcpt_tos:
            top = []
            top.append("Return-Path: <%s>" % (envelope.mail_from or "").strip("<>"))
            top.append("Delivered-To: %s" % rcpt)
            if ar:
                top.append(ar)
            received = ("Received: from %s (localhost [%s])%s\n\tby %s (ismsd-test-peer) with %s id %s\n"
                        "\tfor <%s>; %s" % (helo, peer_ip, using, self.args.hostname, proto, qid, rcpt, now))
            if self.args.opendkim_conf:
                hdrs = apply_header_ops([received.encode()] + entries, ops)
            else:
                top.append(received)
                hdrs = entries
            data = ("\n".join(top) + "\n").encode() + b"\n".join(hdrs) + b"\n\n" + body
            md = os.path.join(self.args.maildir_root, rcpt.lower())
            box = mailbox.Maildir(md, factory=None, create=True)
            key = box.add(data)
            log("delivered", qid, "from", envelope.mail_from, "to", rcpt, "as", key,
                "dkim=%s" % dkim_result, "tls=%s auth=%s" % (tls, auth_user))
        self.transcript({
            "event": "delivered", "queue_id": qid, "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos), "tls": tls, "auth_user": auth_user,
            "helo": helo, "dkim": dkim_result, "sender_domain": dom,
            "message_id": msgid, "size": len(envelope.original_content or b""),
        })
        return "250 2.0.0 Ok: queued as %s" % qid


OPENDKIM = os.environ.get("OPENDKIM", "/usr/sbin/opendkim")


def opendkim_filter(conf, entries, body):
    """Runs OpenDKIM's filter on one message (header entries with LF line
    ends, body); returns (operations, summary): operations are
    (op, idx, name, value) for INSHEADER / ADDHEADER / CHGHEADER, summary
    OpenDKIM's own verdict line.  Raises RuntimeError when OpenDKIM fails
    or asks for something this server does not do."""
    raw = b"\r\n".join(e.replace(b"\n", b"\r\n") for e in entries) + b"\r\n\r\n" + \
        body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    try:
        p = subprocess.run([OPENDKIM, "-x", conf, "-t", "-", "-vv"], input=raw,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError("cannot run %s: %s" % (OPENDKIM, e))
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError("opendkim exited with %d: %s" % (p.returncode, (err or [out])[-1]))
    ops, summary = [], ""
    for rec in re.findall(r"^(?:### |opendkim: ).*?(?=^### |^opendkim: |\Z)", out, re.M | re.S):
        rec = rec.rstrip("\n")
        if rec.startswith("opendkim: "):
            summary = rec[len("opendkim: "):]
            continue
        m = re.match(r"### (\w+): (.*)$", rec, re.S)
        op, rest = m.group(1), m.group(2)
        if op == "PROGRESS":
            continue
        if op not in ("INSHEADER", "ADDHEADER", "CHGHEADER"):
            raise RuntimeError("opendkim asked for %s, which this server does not do" % op)
        idx = re.search(r"idx=(\d+)", rest)
        name = re.search(r"hname='([^']*)'", rest)
        value = re.search(r"hvalue='(.*)'$", rest, re.S)
        if not name or not value:
            raise RuntimeError("unreadable opendkim output: %r" % rec[:200])
        ops.append((op, int(idx.group(1)) if idx else 0, name.group(1), value.group(1)))
    return ops, summary


def apply_header_ops(entries, ops):
    """The milter header changes on a copy of entries (bytes, LF)."""
    out = list(entries)
    for op, idx, name, value in ops:
        line = ("%s: %s" % (name, value)).encode()
        if op == "INSHEADER":
            out.insert(min(idx, len(out)), line)
        elif op == "ADDHEADER":
            out.append(line)
        else:  # CHGHEADER: the idx-th (from 1) header of that name
            n = 0
            for i, e in enumerate(out):
                if e.partition(b":")[0].strip().lower() == name.lower().encode():
                    n += 1
                    if n == max(idx, 1):
                        if value in ("", "(null)"):  # how test mode prints a removal
                            del out[i]
                        else:
                            out[i] = line
                        break
    return out


def make_authenticator(users_path):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        users = load_users(users_path)
        login = auth_data.login.decode("utf-8", "replace").lower()
        pw = auth_data.password.decode("utf-8", "replace")
        ok = login in users and users[login] == pw and pw != ""
        log("AUTH", mechanism, login, "ok" if ok else "FAILED")
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return authenticator


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = ephemeral (default)")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--pid-file")
    ap.add_argument("--users", required=True, help="address:password file")
    ap.add_argument("--policy", help="JSON policy file (re-read per transaction)")
    ap.add_argument("--maildir-root", required=True, help="Maildirs go to ROOT/<address>")
    ap.add_argument("--transcript", help="append one JSON line per transaction here")
    ap.add_argument("--hostname", default="mx.test.example", help="name in banner/Received")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--require-starttls", action="store_true",
                    help="reject MAIL/AUTH etc. before STARTTLS (530)")
    ap.add_argument("--auth-required", action="store_true",
                    help="reject MAIL before successful AUTH (530)")
    ap.add_argument("--auth-require-tls", action="store_true",
                    help="only offer AUTH after STARTTLS (default: AUTH allowed in clear)")
    ap.add_argument("--opendkim-conf",
                    help="verify DKIM with OpenDKIM using this opendkim.conf instead of the policy")
    ap.add_argument("--max-size", type=int, default=10 * 1024 * 1024)
    args = ap.parse_args()

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    if args.require_starttls and not tls_context:
        ap.error("--require-starttls needs --tls-cert/--tls-key")

    handler = Handler(args)
    authenticator = make_authenticator(args.users)

    def factory():
        return SMTP(handler, hostname=args.hostname, ident="ismsd-test-peer ESMTP",
                    tls_context=tls_context, require_starttls=args.require_starttls,
                    auth_required=args.auth_required,
                    auth_require_tls=args.auth_require_tls,
                    authenticator=authenticator, enable_SMTPUTF8=True,
                    decode_data=False, data_size_limit=args.max_size, timeout=60)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(factory, host=args.host, port=args.port,
                           family=socket.AF_INET, reuse_address=True))
    port = server.sockets[0].getsockname()[1]
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    log("listening on %s:%d (tls=%s require_starttls=%s auth_required=%s)" % (
        args.host, port, bool(tls_context), args.require_starttls, args.auth_required))

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    server.close()
    loop.run_until_complete(server.wait_closed())
    log("stopped")


if __name__ == "__main__":
    main()
