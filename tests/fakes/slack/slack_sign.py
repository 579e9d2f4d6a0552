#!/usr/bin/python3
"""Build (and optionally send) Slack HTTP-mode signed requests, for testing a receiver.

Slack signs every request it sends to an app's Request URL:
    X-Slack-Request-Timestamp: <unix seconds>
    X-Slack-Signature: "v0=" + hex(HMAC-SHA256(signing_secret, "v0:" + timestamp + ":" + raw_body))

Library use:
    from slack_sign import sign, signed_headers, slash_body
CLI:
    slack_sign.py selfcheck
    slack_sign.py sign --secret S [--timestamp T] (--body STR | --body-file F)
    slack_sign.py slash URL --secret S [--command /incident] [--text ...] [--user-id U..] [--channel-id C..]
                      [--stale SECONDS | --timestamp T] [--forge | --wrong-secret | --unsigned]
    slack_sign.py post URL --secret S (--body STR | --body-file F) [--content-type CT] [forgery flags]
`slash` and `post` print "HTTP <status>" then the response body; exit 0 whenever a response arrived.
"""

import argparse
import hashlib
import hmac
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Slack's documented example ("Verifying requests from Slack"). Note the token: the body must be
# byte-exact, and with token=xyzz0WbapA4vBCDEFasx0q6G it hashes to the documented signature.
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def sign(signing_secret, body, timestamp):
    """Return the X-Slack-Signature value for raw body bytes/str at timestamp."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def verify(signing_secret, body, timestamp, signature, now=None, max_age=300):
    """Receiver-side check, as Slack recommends (5-minute replay window, constant-time compare)."""
    try:
        if abs((time.time() if now is None else now) - int(timestamp)) > max_age:
            return False
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(sign(signing_secret, body, timestamp), signature or "")


def signed_headers(signing_secret, body, timestamp=None, content_type="application/x-www-form-urlencoded"):
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(signing_secret, body, ts)}


def slash_body(command="/incident", text="", user_id="U0TESTUSR1", user_name="tester",
               channel_id="C0TESTCHN1", channel_name="incidents", team_id="T0FAKETEAM", team_domain="ismstest",
               api_app_id="A0FAKEAPP1", token="fakeVerificationTokenXYZ",
               response_url="http://127.0.0.1:9/response/none", trigger_id=None):
    """URL-encoded slash command body with Slack's field names and order."""
    fields = [("token", token), ("team_id", team_id), ("team_domain", team_domain),
              ("channel_id", channel_id), ("channel_name", channel_name), ("user_id", user_id),
              ("user_name", user_name), ("command", command), ("text", text), ("api_app_id", api_app_id),
              ("is_enterprise_install", "false"), ("response_url", response_url),
              ("trigger_id", trigger_id or f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**11)}."
                                           f"{secrets.token_hex(16)}")]
    return urllib.parse.urlencode(fields)  # spaces as "+", "/" as %2F, like Slack


def post(url, body, headers, timeout=10.0):
    """POST body; return (status, response text) even for 4xx/5xx answers."""
    req = urllib.request.Request(url, data=body.encode("utf-8"), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def selfcheck():
    got = sign(DOC_SECRET, DOC_BODY, DOC_TIMESTAMP)
    ok = got == DOC_SIGNATURE
    ok &= verify(DOC_SECRET, DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE, now=int(DOC_TIMESTAMP))
    ok &= not verify(DOC_SECRET, DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)  # stale today
    ok &= not verify(DOC_SECRET, DOC_BODY + "x", DOC_TIMESTAMP, DOC_SIGNATURE, now=int(DOC_TIMESTAMP))
    print(f"{'OK' if ok else 'FAIL'}: computed {got}, documented {DOC_SIGNATURE}")
    return 0 if ok else 1


def build_headers(args, body, content_type):
    """Signed headers, then apply the requested forgery."""
    ts = args.timestamp if args.timestamp is not None else int(time.time()) - args.stale
    secret = args.secret + "-wrong" if args.wrong_secret else args.secret
    headers = signed_headers(secret, body, ts, content_type)
    if args.forge:  # well-formed but wrong: flip the last hex digit
        sig = headers["X-Slack-Signature"]
        headers["X-Slack-Signature"] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    if args.unsigned:
        del headers["X-Slack-Signature"], headers["X-Slack-Request-Timestamp"]
    return headers


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("selfcheck", help="verify against Slack's documented example")
    p_sign = sub.add_parser("sign", help="print signature headers for a body")
    p_slash = sub.add_parser("slash", help="POST a signed slash command body to URL")
    p_post = sub.add_parser("post", help="POST an arbitrary signed body to URL")
    for p in (p_sign, p_slash, p_post):
        p.add_argument("--secret", required=True, help="signing secret")
        p.add_argument("--timestamp", type=int, help="X-Slack-Request-Timestamp (default: now)")
        p.add_argument("--stale", type=int, default=0, help="backdate the timestamp by SECONDS")
    for p in (p_slash, p_post):
        p.add_argument("url")
        forgery = p.add_mutually_exclusive_group()
        forgery.add_argument("--forge", action="store_true", help="send a wrong signature")
        forgery.add_argument("--wrong-secret", action="store_true", help="sign with a different secret")
        forgery.add_argument("--unsigned", action="store_true", help="omit both Slack headers")
        p.add_argument("--timeout", type=float, default=10.0)
    for p in (p_sign, p_post):
        src = p.add_mutually_exclusive_group(required=True)
        src.add_argument("--body")
        src.add_argument("--body-file")
        p.add_argument("--content-type", default="application/x-www-form-urlencoded")
    p_slash.add_argument("--command", default="/incident")
    p_slash.add_argument("--text", default="")
    p_slash.add_argument("--user-id", default="U0TESTUSR1")
    p_slash.add_argument("--user-name", default="tester")
    p_slash.add_argument("--channel-id", default="C0TESTCHN1")
    p_slash.add_argument("--channel-name", default="incidents")
    p_slash.add_argument("--team-id", default="T0FAKETEAM")
    p_slash.add_argument("--response-url", default="http://127.0.0.1:9/response/none")
    args = ap.parse_args(argv)

    if args.cmd == "selfcheck":
        return selfcheck()
    if args.cmd == "slash":
        body = slash_body(args.command, args.text, args.user_id, args.user_name, args.channel_id,
                          args.channel_name, args.team_id, response_url=args.response_url)
        content_type = "application/x-www-form-urlencoded"
    else:
        body = args.body if args.body is not None else open(args.body_file, encoding="utf-8").read()
        content_type = args.content_type
    if args.cmd == "sign":
        ts = args.timestamp if args.timestamp is not None else int(time.time()) - args.stale
        for k, v in signed_headers(args.secret, body, ts, content_type).items():
            print(f"{k}: {v}")
        return 0
    status, text = post(args.url, body, build_headers(args, body, content_type), args.timeout)
    print(f"HTTP {status}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
