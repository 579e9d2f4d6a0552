#!/usr/bin/python3
# ws_peer.py - hand-written asyncio WebSocket echo server (RFC 6455 subset,
# stdlib only) for tests/unit/test_ws.c; prints its ephemeral port.
# Usage: ws_peer.py [--tls CERT KEY]; exits when killed or stdin closes.

# Binds 127.0.0.1, and ::1 on the same port when possible.
# Text commands: "frag:N:TEXT" send TEXT as N fragments; "close" server
# closes (1000); "ping" ping then "pong-ok" once answered; "big:N" send N
# bytes; "drop" abort TCP; "binary" binary frame then "after-binary";
# "badutf8" a text frame that is not UTF-8;
# anything else is echoed. Path "/reject..." gets 403, "/hang..." no answer;
# "?greet=1" makes the server speak first ("hello PATH").
import asyncio
import base64
import hashlib
import os
import ssl
import struct
import sys
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, data, fin=True):
    b0 = (0x80 if fin else 0) | op
    n = len(data)
    if n < 126:
        hdr = struct.pack("!BB", b0, n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, 127, n)
    return hdr + data


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    fin, op = bool(b0 & 0x80), b0 & 0x0F
    masked, n = bool(b1 & 0x80), b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    if not masked:
        raise ValueError("client frame not masked")
    mask = await reader.readexactly(4)
    data = await reader.readexactly(n)
    if n:
        key = (mask * (n // 4 + 1))[:n]
        data = (int.from_bytes(data, "big") ^
                int.from_bytes(key, "big")).to_bytes(n, "big")
    return fin, op, data


async def handshake(reader, writer):
    first = await reader.readexactly(1)
    if first == b"\x16":                        # a TLS ClientHello
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        return None
    head = first + await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    if path.startswith("/hang"):                # never answer
        await asyncio.sleep(30)
        return None
    if path.startswith("/reject") or "sec-websocket-key" not in hdrs:
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")
        await writer.drain()
        return None
    accept = base64.b64encode(
        hashlib.sha1(hdrs["sec-websocket-key"].encode() + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\n"
                 b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    await writer.drain()
    return path


async def serve(reader, writer):
    try:
        path = await handshake(reader, writer)
        if path is None:
            return
        if "greet=1" in path:
            writer.write(frame(0x1, ("hello " + path).encode()))
        msg, msg_op, want_pong = b"", 0, False
        while True:
            fin, op, data = await read_frame(reader)
            if op == 0x8:                       # close: answer, hang up
                writer.write(frame(0x8, data[:2]))
                await writer.drain()
                return
            if op == 0x9:                       # ping
                writer.write(frame(0xA, data))
                continue
            if op == 0xA:                       # pong
                if want_pong and data == b"hb":
                    want_pong = False
                    writer.write(frame(0x1, b"pong-ok"))
                continue
            if op in (0x1, 0x2):
                msg, msg_op = data, op
            elif op == 0x0:
                msg += data
            if not fin:
                continue
            if msg_op == 0x2:
                writer.write(frame(0x2, msg))
                continue
            text = msg.decode("utf-8")
            if text.startswith("frag:"):
                _, n, body = text.split(":", 2)
                n = max(1, int(n))
                b = body.encode()
                step = max(1, -(-len(b) // n))
                parts = [b[i:i + step] for i in range(0, len(b), step)] or [b""]
                for i, p in enumerate(parts):
                    writer.write(frame(0x1 if i == 0 else 0x0, p,
                                       fin=(i == len(parts) - 1)))
            elif text == "close":
                writer.write(frame(0x8, struct.pack("!H", 1000) + b"bye"))
                await writer.drain()
                try:                            # wait for the client's echo
                    while True:
                        _, op, _ = await asyncio.wait_for(read_frame(reader), 2)
                        if op == 0x8:
                            break
                except (asyncio.TimeoutError, asyncio.IncompleteReadError):
                    pass
                return
            elif text == "ping":
                want_pong = True
                writer.write(frame(0x9, b"hb"))
            elif text.startswith("big:"):
                writer.write(frame(0x1, b"z" * int(text[4:])))
            elif text == "drop":
                writer.transport.abort()
                return
            elif text == "badutf8":
                writer.write(frame(0x1, b"bad \xff\xfe utf8"))
            elif text == "binary":
                writer.write(frame(0x2, b"\x00\x01\x02"))
                writer.write(frame(0x1, b"after-binary"))
            else:
                writer.write(frame(0x1, msg))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError,
            UnicodeDecodeError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ctx = None
    if len(sys.argv) >= 4 and sys.argv[1] == "--tls":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ctx)
    port = srv.sockets[0].getsockname()[1]
    servers = [srv]
    try:
        servers.append(await asyncio.start_server(serve, "::1", port, ssl=ctx))
    except OSError:
        pass
    print(port, flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def watch_stdin():
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
