#!/usr/bin/python3
"""mailctl -- drive the mail test peers (see README.md).  CLI and importable module.

  send        send a message over SMTP (smtplib)
  list        print the messages of a Maildir as JSON
  wait        wait until a Maildir holds at least N messages, then print them
  imap-flags  print UIDs and flags of an IMAP mailbox (imaplib)
  deliver     drop a raw message straight into a Maildir (no SMTP, no added headers)

Exit codes: 0 ok; 1 error/timeout; 2 usage; for `send`: 4 = SMTP 4xx (temporary),
5 = SMTP 5xx (permanent).  `send` prints a JSON result on stdout in every case.

Host/port/user defaults come from the environment written by start.sh when it
is sourced (SMTP_PORT, IMAP_PORT, MAILPEERS_DIR), so `--port` may be omitted.
"""

import argparse
import email
import email.header
import email.policy
import email.utils
import imaplib
import json
import os
import re
import smtplib
import ssl
import sys
import time
from email.message import EmailMessage

# ------------------------------------------------------------------ helpers


def _users_file(explicit=None):
    if explicit:
        return explicit
    d = os.environ.get("MAILPEERS_DIR")
    if d and os.path.exists(os.path.join(d, "users")):
        return os.path.join(d, "users")
    return None


def password_for(user, users_file=None):
    """Look a user's password up in the peers' users file (address:password)."""
    path = _users_file(users_file)
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(":")
            if parts[0].strip().lower() == user.lower() and len(parts) > 1:
                return parts[1]
    return None


def _tls_context(cafile=None):
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
    if not cafile:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _decode_header(v):
    if v is None:
        return None
    try:
        return str(email.header.make_header(email.header.decode_header(str(v))))
    except Exception:
        return str(v)


# ------------------------------------------------------------------ send


def build_message(mail_from, to, subject="", body="", html=None, headers=(), in_reply_to=None,
                  references=None, message_id=None, cc=(), attachments=()):
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=True)
    dom = mail_from.rsplit("@", 1)[-1].strip(">") if "@" in mail_from else "test.invalid"
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain=dom)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    elif references:
        msg["References"] = references
    for h in headers:
        k, sep, v = h.partition(":")
        if not sep:
            raise ValueError("--header must look like 'Name: value': %r" % h)
        k = k.strip()
        if k.lower() in ("from", "to", "cc", "subject", "date", "message-id"):
            del msg[k]
        msg[k] = v.strip()
    msg.set_content(body or "")
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for path in attachments:
        with open(path, "rb") as f:
            data = f.read()
        msg.add_attachment(data, maintype="application", subtype="octet-stream",
                           filename=os.path.basename(path))
    return msg


def send(port=None, host="127.0.0.1", mail_from=None, to=(), subject="", body="", html=None,
         headers=(), in_reply_to=None, references=None, message_id=None, cc=(), bcc=(),
         attachments=(), raw=None, env_from=None, starttls=False, ssl_on_connect=False,
         cafile=None, user=None, password=None, helo=None, timeout=15):
    """Send one message.  Returns a dict; raises smtplib exceptions on failure.
    `raw` (bytes) is sent as-is; otherwise a message is built from the fields."""
    port = int(port or os.environ.get("SMTP_PORT") or 25)
    if raw is not None:
        data = raw
        parsed = email.message_from_bytes(raw)
        if not mail_from:
            mail_from = email.utils.parseaddr(parsed.get("From", ""))[1]
        if not to:
            to = [a for _, a in email.utils.getaddresses(
                parsed.get_all("To", []) + parsed.get_all("Cc", []))]
        msgid = parsed.get("Message-ID")
    else:
        msg = build_message(mail_from, list(to), subject, body, html, headers, in_reply_to,
                            references, message_id, cc, attachments)
        data = msg.as_bytes(policy=email.policy.SMTP)
        msgid = msg["Message-ID"]
    rcpts = list(to) + list(cc) + list(bcc) if raw is None else list(to) + list(bcc)
    envelope_from = env_from if env_from is not None else \
        (email.utils.parseaddr(mail_from)[1] if mail_from else "")
    cls = smtplib.SMTP_SSL if ssl_on_connect else smtplib.SMTP
    kw = {"context": _tls_context(cafile)} if ssl_on_connect else {}
    with cls(host, port, local_hostname=helo, timeout=timeout, **kw) as s:
        s.ehlo()
        if starttls:
            s.starttls(context=_tls_context(cafile))
            s.ehlo()
        if user:
            if password is None:
                password = password_for(user)
            s.login(user, password or "")
        refused = s.sendmail(envelope_from, [email.utils.parseaddr(r)[1] or r for r in rcpts], data)
    return {"ok": True, "message_id": msgid, "refused": {k: [v[0], v[1].decode("utf-8", "replace")]
                                                        for k, v in refused.items()}}


# ------------------------------------------------------------------ Maildir


def _keywords_map(maildir):
    """Dovecot stores Maildir keywords as letters a..z in the file name; the
    letter->name map is in dovecot-keywords ('<index> <name>' lines)."""
    m = {}
    try:
        with open(os.path.join(maildir, "dovecot-keywords"), encoding="utf-8") as f:
            for line in f:
                idx, _, name = line.strip().partition(" ")
                if idx.isdigit() and name:
                    m[chr(ord("a") + int(idx))] = name
    except FileNotFoundError:
        pass
    return m


SYSTEM_FLAGS = {"S": "\\Seen", "R": "\\Answered", "F": "\\Flagged", "T": "\\Deleted",
                "D": "\\Draft", "P": "$Forwarded"}


def _flags_from_name(name, kwmap, subdir):
    flags = []
    if ":2," in name:
        info = name.split(":2,", 1)[1]
        for ch in info:
            if ch in SYSTEM_FLAGS:
                flags.append(SYSTEM_FLAGS[ch])
            elif "a" <= ch <= "z":
                flags.append(kwmap.get(ch, "keyword:" + ch))
    if subdir == "new":
        flags.append("\\Recent")
    return flags


def parse_message(data):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    text, html, attachments = [], [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disp = part.get_content_disposition()
        if disp == "attachment" or (part.get_filename() and ctype not in ("text/plain", "text/html")):
            payload = part.get_payload(decode=True) or b""
            attachments.append({"filename": part.get_filename(), "content_type": ctype,
                                "size": len(payload)})
            continue
        try:
            content = part.get_content()
        except Exception:
            content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        if ctype == "text/plain":
            text.append(content)
        elif ctype == "text/html":
            html.append(content)
    headers = [[k, _decode_header(v)] for k, v in msg.raw_items()]

    def h(name):
        v = msg.get(name)
        return _decode_header(v) if v is not None else None
    return {
        "from": h("From"), "to": h("To"), "cc": h("Cc"), "subject": h("Subject"),
        "date": h("Date"), "message_id": h("Message-ID"), "in_reply_to": h("In-Reply-To"),
        "references": h("References"),
        "authentication_results": [_decode_header(v) for v in msg.get_all("Authentication-Results", [])],
        "headers": headers,
        "text": "\n".join(text), "html": "\n".join(html) if html else None,
        "text_parts": text, "html_parts": html, "attachments": attachments,
    }


def list_messages(maildir, folder=None, with_raw=False):
    """All messages of a Maildir (new/ and cur/), oldest first."""
    if folder and folder.upper() != "INBOX":
        maildir = os.path.join(maildir, "." + folder.replace("/", "."))
    kwmap = _keywords_map(maildir)
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(d, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
                st = os.stat(path)
            except FileNotFoundError:   # moved new/ -> cur/ by Dovecot meanwhile
                continue
            rec = parse_message(data)
            rec.update({"file": path, "subdir": sub, "size": len(data),
                        "flags": _flags_from_name(name, kwmap, sub), "mtime": st.st_mtime})
            if with_raw:
                rec["raw"] = data.decode("utf-8", "replace")
            out.append(rec)
    # Maildir unique names start with the delivery time; dedupe files renamed in between.
    seen, uniq = set(), []
    for r in sorted(out, key=lambda r: (os.path.basename(r["file"]).split(":")[0])):
        base = os.path.basename(r["file"]).split(":")[0]
        if base in seen:
            continue
        seen.add(base)
        uniq.append(r)
    return uniq


def wait_for(maildir, count=1, timeout=10.0, folder=None, poll=0.1):
    """Wait until the Maildir holds >= count messages; returns them or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = list_messages(maildir, folder)
        if len(msgs) >= count:
            return msgs
        if time.monotonic() >= deadline:
            raise TimeoutError("%s: %d message(s) after %.1fs, wanted %d"
                               % (maildir, len(msgs), timeout, count))
        time.sleep(poll)


def deliver(maildir, raw):
    """Put a raw message into maildir/new without any SMTP processing."""
    import mailbox
    box = mailbox.Maildir(maildir, factory=None, create=True)
    return box.add(raw.replace(b"\r\n", b"\n"))


# ------------------------------------------------------------------ IMAP


def imap_flags(port=None, user="isms@example.org", password=None, host="127.0.0.1",
               mailbox="INBOX", starttls=False, ssl_on_connect=False, cafile=None, search="ALL"):
    """[(uid, [flags...]), ...] for the mailbox, using a read-only EXAMINE."""
    port = int(port or os.environ.get("IMAP_PORT") or 143)
    if password is None:
        password = password_for(user)
    if ssl_on_connect:
        m = imaplib.IMAP4_SSL(host, port, ssl_context=_tls_context(cafile))
    else:
        m = imaplib.IMAP4(host, port)
        if starttls:
            m.starttls(ssl_context=_tls_context(cafile))
    try:
        m.login(user, password or "")
        typ, _ = m.select(mailbox, readonly=True)
        if typ != "OK":
            raise RuntimeError("cannot select %s" % mailbox)
        typ, data = m.uid("SEARCH", None, search)
        uids = data[0].split() if data and data[0] else []
        result = []
        if uids:
            typ, data = m.uid("FETCH", b",".join(uids).decode(), "(FLAGS)")
            for item in data:
                if not item:
                    continue
                line = item if isinstance(item, bytes) else item[0]
                s = line.decode("utf-8", "replace")
                mu = re.search(r"UID (\d+)", s)
                mf = re.search(r"FLAGS \(([^)]*)\)", s)
                if mu:
                    result.append((int(mu.group(1)), mf.group(1).split() if mf else []))
        m.logout()
        return sorted(result)
    except Exception:
        try:
            m.logout()
        except Exception:
            pass
        raise


# ------------------------------------------------------------------ CLI


def main(argv=None):
    ap = argparse.ArgumentParser(prog="mailctl.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("send", help="send a message via SMTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, help="default $SMTP_PORT")
    p.add_argument("--from", dest="mail_from", help="From: (and envelope sender)")
    p.add_argument("--env-from", help="envelope MAIL FROM if different from --from ('' = null sender)")
    p.add_argument("--to", action="append", default=[], help="repeatable")
    p.add_argument("--cc", action="append", default=[])
    p.add_argument("--bcc", action="append", default=[], help="envelope only")
    p.add_argument("--subject", default="")
    p.add_argument("--body", default="")
    p.add_argument("--body-file", help="read the text body from a file")
    p.add_argument("--html", help="add a text/html alternative")
    p.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    p.add_argument("--in-reply-to")
    p.add_argument("--references")
    p.add_argument("--message-id")
    p.add_argument("--attach", action="append", default=[], help="file to attach, repeatable")
    p.add_argument("--raw", help="send this RFC 5322 file as-is (--from/--to default to its headers)")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--ssl", action="store_true", help="implicit TLS")
    p.add_argument("--cafile", help="verify the server certificate against this file")
    p.add_argument("--user", help="SMTP AUTH login (password from --password or the users file)")
    p.add_argument("--password")
    p.add_argument("--helo")
    p.add_argument("--timeout", type=float, default=15)

    p = sub.add_parser("list", help="print a Maildir's messages as JSON")
    p.add_argument("--maildir", required=True, help="DIR/mail/<address>")
    p.add_argument("--folder", help="Maildir++ subfolder, e.g. Archive")
    p.add_argument("--raw", action="store_true", help="include the raw message text")

    p = sub.add_parser("wait", help="wait for >= N messages in a Maildir, then list them")
    p.add_argument("--maildir", required=True)
    p.add_argument("--folder")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=10)

    p = sub.add_parser("imap-flags", help="print UIDs and flags via IMAP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, help="default $IMAP_PORT")
    p.add_argument("--user", default="isms@example.org")
    p.add_argument("--password", help="default: from the users file")
    p.add_argument("--mailbox", default="INBOX")
    p.add_argument("--search", default="ALL", help="IMAP SEARCH criteria, e.g. 'UNKEYWORD $IsmsDone'")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--ssl", action="store_true")
    p.add_argument("--cafile")
    p.add_argument("--format", choices=("json", "text"), default="json")

    p = sub.add_parser("deliver", help="drop a raw message file into a Maildir (bypasses SMTP)")
    p.add_argument("--maildir", required=True)
    p.add_argument("--raw", required=True)

    a = ap.parse_args(argv)

    if a.cmd == "send":
        body = a.body
        if a.body_file:
            with open(a.body_file, encoding="utf-8") as f:
                body = f.read()
        raw = None
        if a.raw:
            with open(a.raw, "rb") as f:
                raw = f.read()
        elif not a.mail_from or not a.to:
            ap.error("send needs --from and --to (or --raw)")
        try:
            res = send(port=a.port, host=a.host, mail_from=a.mail_from, to=a.to, subject=a.subject,
                       body=body, html=a.html, headers=a.header, in_reply_to=a.in_reply_to,
                       references=a.references, message_id=a.message_id, cc=a.cc, bcc=a.bcc,
                       attachments=a.attach, raw=raw, env_from=a.env_from, starttls=a.starttls,
                       ssl_on_connect=a.ssl, cafile=a.cafile, user=a.user, password=a.password,
                       helo=a.helo, timeout=a.timeout)
        except smtplib.SMTPRecipientsRefused as e:
            codes = {k: [v[0], v[1].decode("utf-8", "replace")] for k, v in e.recipients.items()}
            first = min(v[0] for v in codes.values())
            print(json.dumps({"ok": False, "error": "recipients refused", "code": first,
                              "refused": codes}))
            return 4 if 400 <= first < 500 else 5
        except smtplib.SMTPResponseException as e:
            msg = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
            print(json.dumps({"ok": False, "error": type(e).__name__, "code": e.smtp_code,
                              "message": msg}))
            return 4 if 400 <= e.smtp_code < 500 else (5 if 500 <= e.smtp_code < 600 else 1)
        except (OSError, smtplib.SMTPException) as e:
            print(json.dumps({"ok": False, "error": type(e).__name__, "message": str(e)}))
            return 1
        print(json.dumps(res))
        return 0

    if a.cmd == "list":
        print(json.dumps(list_messages(a.maildir, a.folder, with_raw=a.raw), indent=1))
        return 0

    if a.cmd == "wait":
        try:
            msgs = wait_for(a.maildir, a.count, a.timeout, a.folder)
        except TimeoutError as e:
            print("mailctl wait: timeout: %s" % e, file=sys.stderr)
            print(json.dumps(list_messages(a.maildir, a.folder), indent=1))
            return 1
        print(json.dumps(msgs, indent=1))
        return 0

    if a.cmd == "imap-flags":
        try:
            res = imap_flags(port=a.port, user=a.user, password=a.password, host=a.host,
                             mailbox=a.mailbox, starttls=a.starttls, ssl_on_connect=a.ssl,
                             cafile=a.cafile, search=a.search)
        except (OSError, imaplib.IMAP4.error, RuntimeError) as e:
            print("mailctl imap-flags: %s: %s" % (type(e).__name__, e), file=sys.stderr)
            return 1
        if a.format == "text":
            for uid, flags in res:
                print(uid, " ".join(flags))
        else:
            print(json.dumps([{"uid": u, "flags": f} for u, f in res]))
        return 0

    if a.cmd == "deliver":
        with open(a.raw, "rb") as f:
            key = deliver(a.maildir, f.read())
        print(json.dumps({"ok": True, "key": key}))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
