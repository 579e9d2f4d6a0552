#!/usr/bin/python3
# http_peer.py - loopback HTTP/1.1 peer for tests/unit/test_http.c.
# Binds 127.0.0.1 on an ephemeral port, prints the port on stdout, serves
# until killed (or stdin closes). Stdlib only.
import email.utils
import http.server
import os
import socketserver
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", ctype="text/plain", extra=None):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        body = self.read_body()
        if u.path == "/hello":
            self.reply(200, b"hello world")
        elif u.path == "/echo":
            self.reply(200, body,
                       self.headers.get("Content-Type") or "application/octet-stream",
                       {"X-Method": self.command})
        elif u.path == "/hdr":
            self.reply(200, (self.headers.get("X-Test") or "").encode())
        elif u.path == "/retry":
            self.reply(429, b"slow down", extra={"Retry-After": "7"})
        elif u.path == "/retrydate":
            when = email.utils.formatdate(time.time() + 100, usegmt=True)
            self.reply(503, b"", extra={"Retry-After": when})
        elif u.path == "/big":
            n = int(q.get("n", ["0"])[0])
            self.reply(200, b"x" * n)
        elif u.path == "/bigchunked":
            n = int(q.get("n", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"y" * 65536
            sent = 0
            try:
                while sent < n:
                    c = chunk[: min(len(chunk), n - sent)]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                    sent += len(c)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
        elif u.path == "/slow":
            time.sleep(float(q.get("s", ["3"])[0]))
            try:
                self.reply(200, b"late")
            except OSError:
                pass
        elif u.path == "/status":
            self.reply(int(q.get("code", ["200"])[0]), b"")
        else:
            self.reply(404, b"not found")

    do_GET = route
    do_POST = route
    do_PUT = route
    do_DELETE = route
    do_HEAD = route


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients aborting on purpose (caps, timeouts) are expected


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)

    def watch_stdin():
        # exit when the test closes our stdin (or dies)
        try:
            sys.stdin.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
