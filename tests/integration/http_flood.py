#!/usr/bin/python3
"""Drives ismsd's Slack HTTP-mode server the way an attacker and Slack
would at once, against loopback only. Every loop is bounded; prints one
JSON object.

  idle     --port P --secret-file F [--idle N]: N idle connections spread
           over 127.0.0.2-9, then signed reports on new connections from
           127.0.0.1, each timed; how many idle ones the server closed.
  bodies   --port P --pid PID [--count N]: N connections (from 127.0.0.2-9)
           each declaring a 1 MiB body without a signature, the heads
           first, then the bodies; the daemon's VmRSS sampled throughout.
  pipeline --port P --secret-file F [--count N]: N signed reports
           pipelined on one connection, then shutdown(SHUT_WR); the
           answers in order and the time they took.
"""
import argparse, json, os, re, resource, socket, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from slack_load import body_for, signed  # noqa: E402


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return soft if soft != resource.RLIM_INFINITY else want
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def request(body, headers):
    head = "POST /slack/events HTTP/1.1\r\nHost: ismsd\r\n"
    for k, v in headers.items():
        head += "%s: %s\r\n" % (k, v)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode() + body


def responses(data):
    """(status, body) of each complete response at the start of data."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out
        head = data[:end].decode("latin-1")
        n = 0
        for line in head.split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                n = int(v)
        if len(data) < end + 4 + n:
            return out
        out.append((int(head.split(" ")[1]), data[end + 4:end + 4 + n]))
        data = data[end + 4 + n:]


def read_all(s, deadline, want=None):
    data = b""
    while time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not chunk:
            break
        data += chunk
        if want is not None and len(responses(data)) >= want:
            break
    return data


def signed_report(port, secret, k, prefix):
    body = body_for(k, prefix)
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=("127.0.0.1", 0))
    t0 = time.perf_counter()
    s.sendall(request(body, signed(secret, body)))
    r = responses(read_all(s, time.time() + 5, want=1))
    dt = time.perf_counter() - t0
    s.close()
    return (r[0][0] if r else 0), round(dt * 1000, 1)


def cmd_idle(a):
    secret = open(a.secret_file, "rb").read().strip()
    raise_nofile(a.idle + 200)
    idle, failed = [], 0
    for i in range(a.idle):
        src = "127.0.0.%d" % (2 + i % 8)
        try:
            s = socket.create_connection(("127.0.0.1", a.port), timeout=5,
                                         source_address=(src, 0))
            idle.append(s)
        except OSError:
            failed += 1
    time.sleep(0.5)
    legit = [signed_report(a.port, secret, k, "legit") for k in range(5)]
    time.sleep(0.3)
    closed = 0
    for s in idle:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print(json.dumps({"idle": len(idle), "connect_failed": failed,
                      "closed_by_server": closed,
                      "legit": [x[0] for x in legit],
                      "legit_ms": [x[1] for x in legit]}))


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cmd_bodies(a):
    raise_nofile(a.count + 200)
    peak = [vmrss_kib(a.pid)]
    before = peak[0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], vmrss_kib(a.pid))
            time.sleep(0.02)

    th = threading.Thread(target=sample)
    th.start()
    head = (b"POST /slack/events HTTP/1.1\r\nHost: ismsd\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1048576\r\n\r\n")
    body = b"x" * 1048576
    socks = []
    t_end = time.time() + 60
    for i in range(a.count):
        try:
            s = socket.create_connection(
                ("127.0.0.1", a.port), timeout=5,
                source_address=("127.0.0.%d" % (2 + i % 8), 0))
            s.sendall(head)
            socks.append(s)
        except OSError:
            pass
    sent = 0
    for s in socks:
        if time.time() > t_end:
            break
        try:
            s.settimeout(2)
            s.sendall(body)
            sent += 1
        except OSError:
            pass
    status = {}
    for s in socks:
        r = responses(read_all(s, min(t_end, time.time() + 2), want=1))
        k = str(r[0][0]) if r else "none"
        status[k] = status.get(k, 0) + 1
        s.close()
    time.sleep(0.5)
    done.set()
    th.join()
    print(json.dumps({"connections": len(socks), "bodies_sent": sent,
                      "status": status, "rss_before_kib": before,
                      "rss_peak_kib": peak[0]}))


def cmd_pipeline(a):
    secret = open(a.secret_file, "rb").read().strip()
    data = b""
    for k in range(a.count):
        body = body_for(k, "pipelined")
        data += request(body, signed(secret, body))
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    t0 = time.perf_counter()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = read_all(s, time.time() + 20)  # until the server closes
    dt = time.perf_counter() - t0
    s.close()
    r = responses(got)
    incs = []
    for _, b in r:
        m = re.search(r"INC-(\d+)", b.decode("utf-8", "replace"))
        incs.append(int(m.group(1)) if m else 0)
    print(json.dumps({"answers": len(r), "status": [x[0] for x in r],
                      "incidents": incs, "seconds": round(dt, 3)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["idle", "bodies", "pipeline"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret-file")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--count", type=int, default=1000)
    a = ap.parse_args()
    {"idle": cmd_idle, "bodies": cmd_bodies, "pipeline": cmd_pipeline}[
        a.what](a)


if __name__ == "__main__":
    main()
