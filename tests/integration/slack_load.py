#!/usr/bin/python3
"""Sends signed Slack HTTP-mode /incident slash commands to ismsd.

Used by the crash test and the benchmark. Each report k has a unique text
and trigger_id; with --retry a report is resent (same trigger_id, fresh
signature) until it is answered with HTTP 200, the way a careful client
would, so a report must end up stored exactly once whatever happens to the
daemon. An answer saying "nothing was stored" (the database was busy) is
counted as refused, not answered, and is resent the same way. Prints a
JSON summary; with --acked FILE, writes the numbers of the reports that
were answered 200 and which answers carried an INC id.

--port may be given several times (gateways sharing one database): client
c starts on port c modulo their number and moves to the next one when a
request fails, the way a load balancer in front of them would; --rate
spreads the reports over time (reports per second, all clients together).
"""
import argparse, hashlib, hmac, http.client, json, sys, threading, time
import urllib.parse


def body_for(k, prefix):
    return urllib.parse.urlencode({
        "token": "x", "team_id": "T0FAKETEAM", "team_domain": "ismstest",
        "channel_id": "D0ALICE", "channel_name": "directmessage",
        "user_id": "U0ALICE", "user_name": "alice", "command": "/incident",
        "text": "%s report %06d" % (prefix, k), "api_app_id": "A0FAKEAPP1",
        "is_enterprise_install": "false",
        "response_url": "http://127.0.0.1:9/response/%d" % k,
        "trigger_id": "%s.%d.%06d" % (prefix, k, k)}).encode()


def signed(secret, body):
    ts = str(int(time.time()))
    mac = hmac.new(secret, b"v0:" + ts.encode() + b":" + body,
                   hashlib.sha256).hexdigest()
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, action="append", required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--retry", action="store_true")
    ap.add_argument("--deadline", type=float, default=120.0)
    ap.add_argument("--prefix", default="load")
    ap.add_argument("--acked")
    ap.add_argument("--rate", type=float, default=0.0)
    a = ap.parse_args()
    secret = open(a.secret_file, "rb").read().strip()
    lock = threading.Lock()
    pending = list(range(a.count))
    acked, with_id, lat = {}, set(), []
    errors = {"connect": 0, "status": 0, "refused": 0}
    by_port = dict.fromkeys(a.port, 0)
    stop_at = time.time() + a.deadline
    start = time.time()
    taken = [0]

    def worker(c):
        conn = None
        port = c % len(a.port)
        while True:
            with lock:
                if not pending:
                    return
                k = pending.pop()
                due = start + taken[0] / a.rate if a.rate > 0 else 0
                taken[0] += 1
            if due > time.time():
                time.sleep(due - time.time())
            body = body_for(k, a.prefix)
            while time.time() < stop_at:
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(
                            a.host, a.port[port], timeout=10)
                    t0 = time.perf_counter()
                    conn.request("POST", "/slack/events", body,
                                 signed(secret, body))
                    r = conn.getresponse()
                    text = r.read().decode("utf-8", "replace")
                    dt = time.perf_counter() - t0
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    with lock:
                        errors["connect"] += 1
                    if not a.retry:
                        break
                    port = (port + 1) % len(a.port)
                    time.sleep(0.05)
                    continue
                if r.status == 200 and "nothing was stored" in text:
                    # answered, but refused: the user is told to try again
                    with lock:
                        errors["refused"] += 1
                    if not a.retry:
                        break
                    if len(a.port) > 1:
                        port = (port + 1) % len(a.port)
                    time.sleep(0.05)
                    continue
                if r.status == 200:
                    with lock:
                        acked[k] = True
                        by_port[a.port[port]] += 1
                        lat.append(dt)
                        if "Recorded as INC-" in text:
                            with_id.add(k)
                    break
                with lock:
                    errors["status"] += 1
                if not a.retry:
                    break
                if len(a.port) > 1:
                    conn.close()
                    conn = None
                    port = (port + 1) % len(a.port)
                time.sleep(0.05)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,))
               for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    pct = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else None
    summary = {"sent": a.count, "acked": len(acked), "with_id": len(with_id),
               "errors": errors, "seconds": round(wall, 3),
               "per_second": round(len(acked) / wall, 1) if wall else 0,
               "p50_ms": pct(0.50), "p99_ms": pct(0.99)}
    if len(a.port) > 1:
        summary["acked_by_port"] = {str(p): n for p, n in by_port.items()}
    if a.acked:
        with open(a.acked, "w") as f:
            json.dump({"acked": sorted(acked), "with_id": sorted(with_id)}, f)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
