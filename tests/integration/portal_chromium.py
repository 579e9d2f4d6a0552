#!/usr/bin/env python3
"""Drives Debian's headless Chromium through chromedriver (WebDriver over
urllib) against a running ismsd portal. Arguments: base URL, database,
artifacts folder, then the links: carol's from the console, grace's and
alice's from ismsctl, an expired one, a leaver's. Exits non-zero with a
message on the first failed check."""
import base64
import hashlib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base, db, artifacts, carol_link, grace_link, alice_link, expired_link, \
    leaver_link, workdir = sys.argv[1:10]
origin = urllib.parse.urlsplit(base).netloc


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def q(sql, *args):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def http(method, url, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


def fetch(path, cookie=None, method="GET", headers=None):
    """The portal without the browser: status, headers, body."""
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = "isms_session=" + cookie
    req = urllib.request.Request(base + path, method=method, headers=h,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


port = free_port()
drv = subprocess.Popen(["/usr/bin/chromedriver", "--port=%d" % port],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wd = "http://127.0.0.1:%d" % port
sid = None
try:
    for _ in range(100):
        try:
            if http("GET", wd + "/status", timeout=2)["value"].get("ready"):
                break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        fail("chromedriver did not start")
    caps = {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--no-first-run", "--disable-extensions",
                     "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--user-data-dir=" + os.path.join(workdir, "chrome"),
                     # nothing but the portal resolves
                     "--host-resolver-rules=MAP * ~NOTFOUND, "
                     "EXCLUDE 127.0.0.1"],
        },
        "goog:loggingPrefs": {"performance": "ALL"},
    }}}
    sid = http("POST", wd + "/session", caps, timeout=60)["value"]["sessionId"]
    s = wd + "/session/" + sid

    def go(url):
        http("POST", s + "/url", {"url": url})
        return http("GET", s + "/url")["value"]

    def source():
        return http("GET", s + "/source")["value"]

    def shot(name):
        png = base64.b64decode(http("GET", s + "/screenshot")["value"])
        with open(os.path.join(artifacts, name), "wb") as f:
            f.write(png)

    def click(selector):
        el = http("POST", s + "/element", {"using": "css selector",
                                            "value": selector})["value"]
        http("POST", s + "/element/%s/click" % list(el.values())[0], {})

    def signin(link, handle):
        """Opens a link (its sign-in page) and clicks its button."""
        go(link)
        page = source()
        if ('id="signin-as">@%s<' % handle) not in page or \
           "<script" in page:
            fail("no sign-in page for %s: %s" % (handle, page[-400:]))
        if handle == "carol":
            shot("portal-signin.png")
        click("#signin")
        for _ in range(50):
            url = http("GET", s + "/url")["value"]
            if url == base + "/":
                return
            time.sleep(0.1)
        fail("signing in as %s did not land on the dashboard: %s" %
             (handle, url))

    def link_state(link):
        """(used, portal audit rows about its person) of a link."""
        h = hashlib.sha256(link.rsplit("/", 1)[1].encode()).hexdigest()
        used, person = q("SELECT COALESCE(used_at, 0), p.handle FROM "
                         "portal_tokens t JOIN people p ON p.id = "
                         "t.person_id WHERE hash = ?", h)[0]
        rows = q("SELECT COUNT(*) FROM audit_log WHERE action LIKE "
                 "'portal.%' AND action != 'portal.link' AND (actor = ? "
                 "OR object = ?)", person, person)[0][0]
        return used, rows

    def cookie():
        for c in http("GET", s + "/cookie")["value"]:
            if c["name"] == "isms_session":
                if not c.get("httpOnly"):
                    fail("the session cookie is not HttpOnly")
                if c.get("sameSite") != "Strict":
                    fail("the session cookie is not SameSite=Strict")
                return c["value"]
        return None

    # 1. carol's link from the console. A link preview (two GETs, as an
    # unfurler or a mail scanner makes) shows the sign-in page and uses
    # nothing up: no session, no audit row
    carol_path = urllib.parse.urlsplit(carol_link).path
    before = link_state(carol_link)
    for _ in range(2):
        st, hdr, body = fetch(carol_path)
        if st != 200 or "Sign in to the" not in body or \
           "set-cookie" in (k.lower() for k in hdr.keys()):
            fail("a GET of a link answered %d or set a cookie" % st)
    if link_state(carol_link) != before or before[0] != 0:
        fail("looking at a link used it or wrote an audit row")
    # a POST from another site, or saying nothing of where it comes
    # from, is refused and leaves the link usable
    for h in ({"Origin": "http://evil.example"}, {},
              {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
              {"Origin": base, "Sec-Fetch-Site": "cross-site"}):
        st, hdr, body = fetch(carol_path, method="POST", headers=h)
        if st != 403 or "only accepted from the portal" not in body:
            fail("a sign-in POST with %r answered %d" % (h, st))
    if link_state(carol_link)[0] != 0:
        fail("a refused POST used the link")
    # the browser: the sign-in page, its button, the dashboard
    signin(carol_link, "carol")
    page = source()
    if "<h1>Dashboard</h1>" not in page or "Carol" not in page:
        fail("no dashboard for carol")
    risks = q("SELECT COUNT(*) FROM risks")[0][0]
    m = re.search(r'id="risk-count">(\d+)<', page)
    if not m or int(m.group(1)) != risks:
        fail("dashboard risk count %s, database %d" % (m and m.group(1), risks))
    for sev in ("low", "medium", "high", "critical"):
        n = q("SELECT COUNT(*) FROM incidents WHERE status != 'closed' AND "
              "severity = ?", sev)[0][0]
        if ('id="inc-%s">%d<' % (sev, n)) not in page:
            fail("dashboard open %s incidents differ from %d" % (sev, n))
    shot("portal-dashboard.png")

    # 2. the SoA against the database
    go(base + "/soa")
    page = source()
    n = q("SELECT COUNT(*) FROM controls")[0][0]
    if ('id="soa-count">%d<' % n) not in page:
        fail("the SoA does not show the %d controls" % n)
    status = q("SELECT status FROM controls WHERE id = '5.15'")[0][0]
    if not re.search(r"<td>5\.15</td><td>[^<]*</td><td>[^<]*</td>"
                     r"<td>[^<]*</td><td>%s</td>" % status, page):
        fail("control 5.15 is not shown as %s" % status)
    shot("portal-soa.png")
    # the approved versions, each a link to its page
    for vid, in q("SELECT id FROM soa_versions"):
        if ('<a href="/soa?version=%d">v%d</a> approved' % (vid, vid)) \
           not in page:
            fail("SoA version %d is not listed" % vid)
    click('#soa-versions a[href="/soa?version=1"]')
    for _ in range(50):
        if "Statement of Applicability, version 1" in source():
            break
        time.sleep(0.1)
    else:
        fail("the link to SoA version 1 did not open it")
    go(base + "/soa?theme=people")
    n = q("SELECT COUNT(*) FROM controls WHERE theme = 'people'")[0][0]
    if ('id="soa-count">%d<' % n) not in source():
        fail("the people filter does not show %d controls" % n)

    # 3. a risk and its history
    title, lik, imp = q("SELECT title, likelihood, impact FROM risks "
                        "WHERE id = 1")[0]
    go(base + "/risks/RSK-1")
    page = source()
    if title.replace("&", "&amp;").replace("<", "&lt;") not in page:
        fail("RSK-1's title is not shown")
    if ("<dt>likelihood</dt><dd>%d</dd>" % lik) not in page or \
       ("<dt>impact</dt><dd>%d</dd>" % imp) not in page:
        fail("RSK-1's likelihood and impact differ from the database")
    if "risk.add" not in page:
        fail("RSK-1's history is missing")

    # 4. the same link again is refused, with the same page as any other;
    # a replayed POST too, even from the portal's own origin
    go(carol_link)
    if "Link expired or invalid" not in source():
        fail("a used link was accepted again")
    st, _, _ = fetch(carol_path)
    if st != 403:
        fail("a used link answered %d" % st)
    st, hdr, body = fetch(carol_path, method="POST",
                          headers={"Origin": base,
                                   "Sec-Fetch-Site": "same-origin"})
    if st != 403 or "Link expired or invalid" not in body or \
       hdr.get("Set-Cookie") is not None:
        fail("a replayed POST answered %d" % st)
    # an expired link, a made-up one, a leaver's
    for name, link in (("expired", expired_link), ("leaver", leaver_link),
                       ("made up", base + "/l/" + "A" * 43)):
        st, _, body = fetch(urllib.parse.urlsplit(link).path)
        if st != 403 or "Link expired or invalid" not in body:
            fail("the %s link answered %d" % (name, st))

    # a flood of made-up links is refused every time but audited once a
    # minute, not once each
    flood = "SELECT COUNT(*) FROM audit_log WHERE action = 'portal.refused'"
    before = q(flood)[0][0]
    for _ in range(6):
        if fetch("/l/" + "B" * 43)[0] != 403:
            fail("a made-up link was not refused")
    if q(flood)[0][0] - before > 1:
        fail("each refusal of a made-up link wrote an audit row")

    # 5. grace (auditor): the audit log verifies; a download matches
    signin(grace_link, "grace")
    go(base + "/audit-log")
    if "hash chain verified" not in source():
        fail("the audit log page does not say it verified")
    gc = cookie()
    st, hdr, body = fetch("/export/risks.csv", gc)
    out = subprocess.run([os.environ["ISMSCTL"], "--db", db, "export", "risks",
                          "--format", "csv"], capture_output=True, text=True,
                         timeout=30).stdout
    if st != 200 or body.replace("\r\n", "\n") != out.replace("\r\n", "\n"):
        fail("the risks download differs from ismsctl export")
    # the audit pack checks itself
    req = urllib.request.Request(base + "/export/audit-pack.tar.gz",
                                 headers={"Cookie": "isms_session=" + gc})
    with urllib.request.urlopen(req, timeout=60) as r:
        pack = r.read()
    with open(os.path.join(workdir, "pack.tar.gz"), "wb") as f:
        f.write(pack)
    subprocess.run(["tar", "xzf", "pack.tar.gz"], cwd=workdir, check=True,
                   timeout=30)
    if subprocess.run(["sha256sum", "--quiet", "-c", "MANIFEST.sha256"],
                      cwd=os.path.join(workdir, "audit-pack"),
                      timeout=30).returncode != 0:
        fail("the downloaded audit pack does not check")
    # headers on every answer
    for path in ("/", "/soa", "/nope", "/style.css"):
        st, hdr, _ = fetch(path, gc)
        csp = hdr.get("Content-Security-Policy", "")
        if "default-src 'none'" not in csp or "frame-ancestors 'none'" not in csp:
            fail("no CSP on " + path)
        if hdr.get("X-Content-Type-Options") != "nosniff" or \
           hdr.get("Referrer-Policy") != "no-referrer" or \
           hdr.get("Cache-Control") != "no-store":
            fail("security headers missing on " + path)
    if fetch("/nope", gc)[0] != 404 or fetch("/soa?theme=evil", gc)[0] != 400:
        fail("unknown pages or bad parameters not refused")
    if fetch("/", gc, method="DELETE")[0] != 405:
        fail("a DELETE was not refused")

    # 6. alice (staff): her incident, not someone else's
    signin(alice_link, "alice")
    ac = cookie()
    mine = q("SELECT i.id FROM incidents i JOIN people p ON p.id = "
             "i.reporter_id WHERE p.handle = 'alice'")[0][0]
    other = q("SELECT i.id FROM incidents i JOIN people p ON p.id = "
              "i.reporter_id LEFT JOIN people h ON h.id = i.handler_id "
              "WHERE p.handle != 'alice' AND COALESCE(h.handle, '') != "
              "'alice'")[0][0]
    go(base + "/incidents/INC-%d" % mine)
    if ("<h1>INC-%d</h1>" % mine) not in source():
        fail("alice cannot open her own incident")
    go(base + "/incidents/INC-%d" % other)
    if "no such incident that you may see" not in source():
        fail("alice opened someone else's incident")
    if fetch("/incidents/INC-%d" % other, ac)[0] != 404 or \
       fetch("/incidents/INC-999", ac)[0] != 404:
        fail("another's incident is not the same 404 as none")
    if fetch("/audit-log", ac)[0] != 403 or \
       fetch("/export/incidents.csv", ac)[0] != 403:
        fail("staff reached the audit log or a download")
    # signing out from the page (a same-origin POST) ends the session
    go(base + "/")
    click("form.who button")
    for _ in range(50):
        page = source()
        if "You are signed out" in page:
            break
        time.sleep(0.1)
    else:
        fail("signing out did not work: " + re.sub(r"\s+", " ", page)[-600:])
    if fetch("/", ac)[0] != 403:
        fail("the session still works after signing out")
    # a POST from elsewhere is refused
    if fetch("/logout", gc, "POST", {"Origin": "http://evil.example"})[0] != 403:
        fail("a cross-origin POST was accepted")

    # 7. every request the browser made went to the portal
    logs = http("POST", s + "/se/log", {"type": "performance"})["value"]
    seen = 0
    for entry in logs:
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") != "Network.requestWillBeSent":
            continue
        u = msg["params"]["request"]["url"]
        # the browser's own pages (chrome://, about:) are not the network
        if urllib.parse.urlsplit(u).scheme not in ("http", "https", "ws",
                                                   "wss", "ftp"):
            continue
        seen += 1
        if not u.startswith(base + "/"):
            fail("the browser asked another host: " + u)
    if seen < 10:
        fail("too few requests recorded (%d)" % seen)
    print("portal: %d browser requests, all to %s" % (seen, origin))
finally:
    if sid:
        try:
            http("DELETE", wd + "/session/" + sid, timeout=30)
        except OSError:
            pass
    drv.terminate()
    try:
        drv.wait(timeout=10)
    except subprocess.TimeoutExpired:
        drv.kill()
